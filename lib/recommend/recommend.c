// SPDX-License-Identifier: Apache-2.0
/*
 * Policies recommended from observed flows: lib/recommend/recommend.h.
 */
#include <stdlib.h>
#include <string.h>

#include "../doc.h"
#include "../netaddr.h"
#include "recommend.h"

#define IPPROTO_NUM_TCP 6
#define IPPROTO_NUM_UDP 17
#define IPPROTO_NUM_SCTP 132

/* ---- the ends of a record ------------------------------------------------------ */

/* Labels that differ between the pods of one workload, or name one pod:
   never part of what identifies a workload. */
static bool volatile_label(const char *key)
{
	static const char *const v[] = {
		"pod-template-hash", "controller-revision-hash",
		"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
		"batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name",
		"controller-uid", "job-name", "pod-template-generation",
	};
	for (size_t i = 0; i < PW_ARRAY_SIZE(v); i++)
		if (!strcmp(key, v[i]))
			return true;
	return false;
}

/* Is "key=value" one of the record's labels ("k=v,k=v")? */
static bool rec_has_label(const char *labels, const struct pw_label *l)
{
	size_t kl = strlen(l->key), vl = strlen(l->value);
	for (const char *p = labels; *p;) {
		size_t n = strcspn(p, ",");
		if (n == kl + 1 + vl && !strncmp(p, l->key, kl) && p[kl] == '=' &&
		    !strncmp(p + kl + 1, l->value, vl))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static const struct pw_pod *group_pod(const struct pw_cluster *c, uint32_t g)
{
	return &c->pods[c->groups[g].pods[0]];
}

/* The group of ns whose identifying labels are all in the record's, the
   one with most; -1 when none has any. */
static int group_by_labels(const struct pw_cluster *c, uint32_t ns, const char *labels)
{
	int best = -1;
	uint32_t best_n = 0;
	for (uint32_t g = 0; g < c->ngroups; g++) {
		if (c->groups[g].ns != ns || !c->groups[g].npods)
			continue;
		const struct pw_labels *l = &group_pod(c, g)->labels;
		uint32_t n = 0;
		bool all = true;
		for (uint32_t i = 0; i < l->n && all; i++) {
			if (volatile_label(l->v[i].key))
				continue;
			all = rec_has_label(labels, &l->v[i]);
			n++;
		}
		if (all && n > best_n)
			best = (int)g, best_n = n;
	}
	return best;
}

bool pw_rec_flow_ep(const struct pw_cluster *c, const struct pw_flow_end *end,
		    struct pw_ep *ep)
{
	struct pw_addr a = { 0 };
	bool have_addr = end->ip[0] && pw_addr_parse(end->ip, &a) == 0;
	if (strcmp(end->type, "wep")) {
		if (!have_addr)
			return false;
		*ep = pw_ep_addr(&a);
		return true;
	}
	int ns = pw_cluster_find_ns(c, end->ns);
	if (ns < 0)
		return false;
	if (strcmp(end->name, "-"))
		for (uint32_t i = 0; i < c->npods; i++)
			if (c->pods[i].ns == (uint32_t)ns && !c->pods[i].template &&
			    !strcmp(c->pods[i].name, end->name)) {
				*ep = pw_ep_pod(c, i);
				return true;
			}
	int g = group_by_labels(c, (uint32_t)ns, end->labels);
	if (g >= 0) {
		*ep = pw_ep_pod(c, c->groups[g].pods[0]);
		return true;
	}
	if (have_addr)
		for (uint32_t i = 0; i < c->npods; i++)
			for (uint32_t k = 0; k < c->pods[i].naddrs; k++)
				if (c->pods[i].ns == (uint32_t)ns &&
				    !pw_addr_cmp(&c->pods[i].addrs[k], &a)) {
					*ep = pw_ep_pod(c, i);
					return true;
				}
	return false;
}

/* ---- building ------------------------------------------------------------------ */

struct seen_port {
	int proto, port;
	bool observed; /* else added (DNS) */
};

struct brule {
	char *key;
	struct pw_rec_peer peer;
	int peer_group; /* the peer's group, or -1 */
	int port_group; /* the destination's group, for named ports; or -1 */
	struct seen_port *ports;
	size_t nports, pcap;
	char **seen; /* distinct peers seen */
	size_t nseen, scap;
	uint64_t records;
	bool dns;
};

struct bpol {
	uint32_t group;
	struct brule *r[2];
	size_t n[2], cap[2];
};

/* The identifying labels of group g, in the arena. */
static const struct pw_label *group_labels(struct pw_arena *a, const struct pw_cluster *c,
					   uint32_t g, uint32_t *n)
{
	const struct pw_labels *l = &group_pod(c, g)->labels;
	struct pw_label *v = pw_arena_alloc(a, (l->n + 1) * sizeof(*v));
	*n = 0;
	for (uint32_t i = 0; i < l->n; i++)
		if (!volatile_label(l->v[i].key))
			v[(*n)++] = l->v[i];
	return v;
}

static void labels_text(const struct pw_label *v, uint32_t n, struct pw_buf *b)
{
	for (uint32_t i = 0; i < n; i++)
		pw_buf_printf(b, "%s%s=%s", i ? "," : "", v[i].key, v[i].value);
}

static struct brule *brule_get(struct bpol *p, enum pw_dir d, const char *key)
{
	for (size_t i = 0; i < p->n[d]; i++)
		if (!strcmp(p->r[d][i].key, key))
			return &p->r[d][i];
	if (p->n[d] == p->cap[d]) {
		p->cap[d] = p->cap[d] ? p->cap[d] * 2 : 8;
		p->r[d] = pw_xrealloc(p->r[d], p->cap[d] * sizeof(*p->r[d]));
	}
	struct brule *r = &p->r[d][p->n[d]++];
	memset(r, 0, sizeof(*r));
	r->key = pw_xstrdup(key);
	r->peer_group = -1;
	r->port_group = -1;
	return r;
}

static void brule_port(struct brule *r, int proto, int port, bool observed)
{
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i].proto == proto && r->ports[i].port == port) {
			r->ports[i].observed |= observed;
			return;
		}
	if (r->nports == r->pcap) {
		r->pcap = r->pcap ? r->pcap * 2 : 8;
		r->ports = pw_xrealloc(r->ports, r->pcap * sizeof(*r->ports));
	}
	r->ports[r->nports++] = (struct seen_port){ proto, port, observed };
}

static void brule_seen(struct brule *r, const char *name)
{
	for (size_t i = 0; i < r->nseen; i++)
		if (!strcmp(r->seen[i], name))
			return;
	if (r->nseen == r->scap) {
		r->scap = r->scap ? r->scap * 2 : 8;
		r->seen = pw_xrealloc(r->seen, r->scap * sizeof(*r->seen));
	}
	r->seen[r->nseen++] = pw_xstrdup(name);
}

/* The narrowest network set with labels that contains a (Calico). */
static int netset_of(const struct pw_cluster *c, int ns, const struct pw_addr *a)
{
	int best = -1, best_len = -1;
	for (uint32_t i = 0; i < c->nnetsets; i++) {
		const struct pw_netset *s = &c->netsets[i];
		if (!s->labels.n || (s->ns >= 0 && s->ns != ns))
			continue;
		for (uint32_t k = 0; k < s->nnets; k++)
			if (pw_cidr_contains(&s->nets[k], a) && s->nets[k].len > best_len)
				best = (int)i, best_len = s->nets[k].len;
	}
	return best;
}

/* The peer of a rule for the other end of a record, and its key; false
   when it cannot be named. */
static bool peer_of(struct pw_rec *rec, const struct pw_cluster *c, const struct pw_ep *ep,
		    int policy_ns, struct pw_rec_peer *peer, int *group, struct pw_buf *key)
{
	memset(peer, 0, sizeof(*peer));
	*group = -1;
	pw_buf_reset(key);
	if (ep->pod >= 0) {
		uint32_t g = c->pods[ep->pod].group;
		peer->kind = PW_REC_PODS;
		peer->ns = c->nss[c->groups[g].ns].name;
		peer->labels = group_labels(&rec->arena, c, g, &peer->nlabels);
		*group = (int)g;
		pw_buf_printf(key, "pods|%s|", peer->ns);
		labels_text(peer->labels, peer->nlabels, key);
		return true;
	}
	if (!ep->addr.family)
		return false;
	int s = rec->o.kind == PW_REC_CALICO ? netset_of(c, policy_ns, &ep->addr) : -1;
	if (s >= 0) {
		const struct pw_netset *n = &c->netsets[s];
		peer->kind = PW_REC_NETSET;
		peer->labels = n->labels.v;
		peer->nlabels = n->labels.n;
		peer->global = n->ns < 0;
		pw_buf_printf(key, "netset|%s|%s", peer->global ? "" : c->nss[n->ns].name,
			      n->name);
		return true;
	}
	peer->kind = PW_REC_NET;
	peer->cidr.addr = ep->addr;
	peer->cidr.len = ep->addr.family == 4 ? 32 : 128;
	char t[52];
	pw_cidr_format(&peer->cidr, t);
	pw_buf_printf(key, "net|%s", t);
	return true;
}

static bool has_ports(int proto)
{
	return proto == IPPROTO_NUM_TCP || proto == IPPROTO_NUM_UDP || proto == IPPROTO_NUM_SCTP;
}

static int cmp_seen_port(const void *a, const void *b)
{
	const struct seen_port *x = a, *y = b;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

static const char *named_port(const struct pw_cluster *c, int group, int proto, int port)
{
	if (group < 0)
		return NULL;
	int want = proto == IPPROTO_NUM_TCP ? PW_TCP : proto == IPPROTO_NUM_UDP ? PW_UDP : PW_SCTP;
	const struct pw_pod *p = group_pod(c, (uint32_t)group);
	for (uint32_t i = 0; i < p->nports; i++)
		if (p->ports[i].name && p->ports[i].proto == want && p->ports[i].port == port)
			return p->ports[i].name;
	return NULL;
}

static void ports_seen_text(const struct brule *b, struct pw_buf *out)
{
	char pb[12];
	size_t n = 0;
	for (size_t i = 0; i < b->nports; i++) {
		if (!b->ports[i].observed)
			continue;
		if (n < 8)
			pw_buf_printf(out, "%s%s/%d", n ? ", " : "",
				      pw_flow_proto_name(b->ports[i].proto, pb), b->ports[i].port);
		n++;
	}
	if (n > 8)
		pw_buf_printf(out, ", ... (%zu in all)", n);
}

/* The rule of b: its ports (ranges past max_ports), its comment. */
static void finish_rule(struct pw_rec *rec, const struct pw_cluster *c, struct brule *b,
			struct pw_rec_rule *out)
{
	struct pw_arena *a = &rec->arena;
	qsort(b->ports, b->nports, sizeof(*b->ports), cmp_seen_port);
	out->peer = b->peer;
	out->records = b->records;
	out->ports = pw_arena_alloc(a, (b->nports + 1) * sizeof(*out->ports));
	struct pw_buf t, beyond;
	pw_buf_init(&t);
	pw_buf_init(&beyond);
	char pb[12];
	for (size_t i = 0; i < b->nports;) {
		size_t k = i;
		while (k < b->nports && b->ports[k].proto == b->ports[i].proto)
			k++;
		int proto = b->ports[i].proto;
		if (k - i > rec->o.max_ports) {
			int lo = b->ports[i].port, hi = b->ports[k - 1].port;
			out->ports[out->nports++] = (struct pw_rec_port){ proto, lo, hi, NULL };
			pw_buf_printf(&beyond, "; the port range %s/%d-%d because %zu ports were "
				      "seen (more than %u): %d ports never seen",
				      pw_flow_proto_name(proto, pb), lo, hi, k - i,
				      rec->o.max_ports, hi - lo + 1 - (int)(k - i));
		} else {
			for (size_t z = i; z < k; z++) {
				int port = b->ports[z].port;
				const char *name = named_port(c, b->port_group, proto, port);
				out->ports[out->nports++] =
					(struct pw_rec_port){ proto, name ? 0 : port, 0, name };
				if (name)
					pw_buf_printf(&beyond, "; the named port %s (%s/%d on the "
						      "pods seen; wherever a selected pod names it)",
						      name, pw_flow_proto_name(proto, pb), port);
			}
		}
		i = k;
	}
	if (b->dns)
		pw_buf_puts(&t, "DNS to kube-dns, always kept; ");
	pw_buf_printf(&t, "covers %llu observed record%s", (unsigned long long)b->records,
		      b->records == 1 ? "" : "s");
	if (b->records) {
		pw_buf_puts(&t, ": ");
		for (size_t i = 0; i < b->nseen; i++) {
			if (i == 5) {
				pw_buf_printf(&t, ", ... (%zu peers)", b->nseen);
				break;
			}
			pw_buf_printf(&t, "%s%s", i ? ", " : "", b->seen[i]);
		}
		pw_buf_puts(&t, " on ");
		ports_seen_text(b, &t);
	}
	pw_buf_puts(&t, ". Beyond them it allows: ");
	switch (b->peer.kind) {
	case PW_REC_PODS:
		if (b->peer.nlabels) {
			pw_buf_puts(&t, "every pod labelled ");
			labels_text(b->peer.labels, b->peer.nlabels, &t);
		} else {
			pw_buf_puts(&t, "every pod");
		}
		pw_buf_printf(&t, " in namespace %s", b->peer.ns);
		if (b->peer_group >= 0) {
			const struct pw_group *g = &c->groups[b->peer_group];
			pw_buf_printf(&t, " (all replicas of %s %s, and any pod given these labels)",
				      g->kind, g->name);
		}
		break;
	case PW_REC_NET:
		pw_buf_puts(&t, "no other address (one address)");
		break;
	case PW_REC_NETSET:
		pw_buf_puts(&t, "every address of the network set labelled ");
		labels_text(b->peer.labels, b->peer.nlabels, &t);
		break;
	}
	if (beyond.len)
		pw_buf_puts(&t, beyond.s);
	out->covers = pw_arena_strdup(a, t.s);
	pw_buf_release(&t);
	pw_buf_release(&beyond);
}

static void brule_free(struct brule *b)
{
	free(b->key);
	free(b->ports);
	for (size_t i = 0; i < b->nseen; i++)
		free(b->seen[i]);
	free(b->seen);
}

int pw_recommend(const struct pw_cluster *c, const struct pw_flow *v, size_t n,
		 const struct pw_rec_opts *o, struct pw_rec *out, struct pw_buf *err)
{
	memset(out, 0, sizeof(*out));
	pw_arena_init(&out->arena);
	out->o = *o;
	if (!out->o.max_ports)
		out->o.max_ports = 10;
	out->tier = o->tier ? o->tier : "default";
	int ns = pw_cluster_find_ns(c, o->ns);
	if (ns < 0) {
		pw_buf_printf(err, "namespace %s is not in the manifests", o->ns);
		return -1;
	}
	if (o->kind == PW_REC_CALICO && strcmp(out->tier, "default")) {
		out->need_tier = true;
		for (uint32_t i = 0; i < c->ntiers; i++)
			if (!strcmp(c->tiers[i].name, out->tier))
				out->need_tier = false;
	}
	/* the subjects */
	struct bpol *bp = pw_xcalloc(c->ngroups + 1, sizeof(*bp));
	int *pol_of = pw_xcalloc(c->ngroups + 1, sizeof(*pol_of));
	size_t nbp = 0;
	for (uint32_t g = 0; g < c->ngroups; g++) {
		pol_of[g] = -1;
		if (c->groups[g].ns != (uint32_t)ns || !c->groups[g].npods)
			continue;
		if (o->workload && strcmp(c->groups[g].name, o->workload))
			continue;
		pol_of[g] = (int)nbp;
		bp[nbp++].group = g;
	}
	if (!nbp) {
		if (o->workload)
			pw_buf_printf(err, "no workload %s in namespace %s", o->workload, o->ns);
		else
			pw_buf_printf(err, "namespace %s has no pods or workloads", o->ns);
		free(bp);
		free(pol_of);
		return -1;
	}
	struct pw_buf key;
	pw_buf_init(&key);
	for (size_t i = 0; i < n; i++) {
		const struct pw_flow *r = &v[i];
		if (strcmp(r->src.ns, o->ns) && strcmp(r->dst.ns, o->ns))
			continue;
		out->nrecords++;
		if (r->action != PW_FLOW_ALLOW)
			continue;
		struct pw_ep s, d;
		bool src_rep = r->reporter == PW_FLOW_SRC;
		const struct pw_ep *self = src_rep ? &s : &d, *other = src_rep ? &d : &s;
		if (!pw_rec_flow_ep(c, &r->src, &s) || !pw_rec_flow_ep(c, &r->dst, &d) ||
		    self->pod < 0) {
			out->skipped++;
			continue;
		}
		int pi = pol_of[c->pods[self->pod].group];
		if (pi < 0)
			continue; /* another namespace's, or another workload's */
		if (!has_ports(r->proto) || r->dst.port <= 0) {
			out->skipped++;
			continue;
		}
		struct pw_rec_peer peer;
		int pg;
		if (!peer_of(out, c, other, ns, &peer, &pg, &key)) {
			out->skipped++;
			continue;
		}
		enum pw_dir dir = src_rep ? PW_EGRESS : PW_INGRESS;
		struct brule *b = brule_get(&bp[pi], dir, key.s);
		b->peer = peer;
		/* named ports: the destination's */
		b->peer_group = pg;
		b->port_group = dir == PW_EGRESS ? pg : (int)c->pods[self->pod].group;
		brule_port(b, r->proto, r->dst.port, true);
		const struct pw_flow_end *oe = src_rep ? &r->dst : &r->src;
		if (other->pod >= 0) {
			pw_buf_reset(&key);
			pw_buf_printf(&key, "%s/%s", oe->ns,
				      oe->name_aggr[0] ? oe->name_aggr : oe->name);
			brule_seen(b, key.s);
		} else {
			brule_seen(b, oe->ip);
		}
		b->records++;
		out->used++;
	}
	/* DNS, always */
	static const struct pw_label dns_label[] = { { "k8s-app", "kube-dns" } };
	int dns_ns = pw_cluster_find_ns(c, "kube-system");
	int dns_group = -1;
	if (dns_ns >= 0)
		dns_group = group_by_labels(c, (uint32_t)dns_ns, "k8s-app=kube-dns");
	for (size_t i = 0; i < nbp; i++) {
		struct brule *b = brule_get(&bp[i], PW_EGRESS, "pods|kube-system|k8s-app=kube-dns");
		b->dns = true;
		b->peer = (struct pw_rec_peer){ .kind = PW_REC_PODS, .ns = "kube-system",
						.labels = dns_label, .nlabels = 1 };
		b->peer_group = b->port_group = dns_group;
		brule_port(b, IPPROTO_NUM_UDP, 53, false);
		brule_port(b, IPPROTO_NUM_TCP, 53, false);
	}
	/* the policies */
	out->pols = pw_arena_alloc(&out->arena, (nbp + 1) * sizeof(*out->pols));
	for (size_t i = 0; i < nbp; i++) {
		struct pw_rec_policy *p = &out->pols[out->npols++];
		const struct pw_group *g = &c->groups[bp[i].group];
		p->name = pw_arena_printf(&out->arena, "recommended-%s", g->name);
		p->labels = group_labels(&out->arena, c, bp[i].group, &p->nlabels);
		pw_buf_reset(&key);
		labels_text(p->labels, p->nlabels, &key);
		p->covers = pw_arena_printf(&out->arena,
					    "%s %s/%s: selects %s%s in namespace %s",
					    g->kind, o->ns, g->name, p->nlabels ? "every pod labelled " : "every pod",
					    key.s, o->ns);
		for (int d = 0; d < 2; d++) {
			p->rules[d] = pw_arena_alloc(&out->arena,
						     (bp[i].n[d] + 1) * sizeof(*p->rules[d]));
			for (size_t k = 0; k < bp[i].n[d]; k++) {
				finish_rule(out, c, &bp[i].r[d][k], &p->rules[d][p->nrules[d]++]);
				brule_free(&bp[i].r[d][k]);
			}
			free(bp[i].r[d]);
		}
	}
	if (!o->workload) {
		struct pw_rec_policy *p = &out->pols[out->npols++];
		p->name = "default-deny";
		p->deny_all = true;
		p->covers = pw_arena_printf(&out->arena,
					    "default deny of namespace %s, both directions: what "
					    "the rules above do not allow", o->ns);
	}
	pw_buf_release(&key);
	free(bp);
	free(pol_of);
	return 0;
}

void pw_rec_release(struct pw_rec *r)
{
	pw_arena_release(&r->arena);
	memset(r, 0, sizeof(*r));
}

/* ---- as manifests -------------------------------------------------------------- */

static struct pw_doc *match_labels(const struct pw_label *v, uint32_t n)
{
	struct pw_doc *s = pw_doc_obj();
	if (!n)
		return s;
	struct pw_doc *m = pw_doc_add(s, "matchLabels", pw_doc_obj());
	for (uint32_t i = 0; i < n; i++)
		pw_doc_add(m, v[i].key, pw_doc_str(v[i].value));
	return s;
}

static void calico_sel(const struct pw_label *v, uint32_t n, struct pw_buf *b)
{
	pw_buf_reset(b);
	if (!n)
		pw_buf_puts(b, "all()");
	for (uint32_t i = 0; i < n; i++)
		pw_buf_printf(b, "%s%s == '%s'", i ? " && " : "", v[i].key, v[i].value);
}

static const char *proto_upper(int proto, char buf[static 12])
{
	const char *s = pw_flow_proto_name(proto, buf);
	if (s != buf)
		snprintf(buf, 12, "%s", s);
	for (char *p = buf; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return buf;
}

static void k8s_rule(const struct pw_rec_rule *r, enum pw_dir d, struct pw_doc *arr)
{
	struct pw_doc *x = pw_doc_add(arr, NULL, pw_doc_obj());
	pw_doc_add(x, "covers", pw_doc_str(r->covers));
	struct pw_doc *peers = pw_doc_add(x, d == PW_INGRESS ? "from" : "to", pw_doc_arr());
	struct pw_doc *peer = pw_doc_add(peers, NULL, pw_doc_obj());
	if (r->peer.kind == PW_REC_PODS) {
		struct pw_label nsl = { "kubernetes.io/metadata.name", r->peer.ns };
		pw_doc_add(peer, "namespaceSelector", match_labels(&nsl, 1));
		pw_doc_add(peer, "podSelector", match_labels(r->peer.labels, r->peer.nlabels));
	} else {
		char t[52];
		pw_cidr_format(&r->peer.cidr, t);
		struct pw_doc *ib = pw_doc_add(peer, "ipBlock", pw_doc_obj());
		pw_doc_add(ib, "cidr", pw_doc_str(t));
	}
	struct pw_doc *ports = pw_doc_add(x, "ports", pw_doc_arr());
	char pb[12];
	for (uint32_t i = 0; i < r->nports; i++) {
		const struct pw_rec_port *p = &r->ports[i];
		struct pw_doc *y = pw_doc_add(ports, NULL, pw_doc_obj());
		pw_doc_add(y, "protocol", pw_doc_str(proto_upper(p->proto, pb)));
		if (p->name)
			pw_doc_add(y, "port", pw_doc_str(p->name));
		else if (p->port)
			pw_doc_add(y, "port", pw_doc_int(p->port));
		if (p->end_port)
			pw_doc_add(y, "endPort", pw_doc_int(p->end_port));
	}
}

static void calico_rule(const struct pw_rec_rule *r, enum pw_dir d, struct pw_doc *arr)
{
	/* one rule a protocol */
	struct pw_buf b;
	pw_buf_init(&b);
	char pb[12];
	for (uint32_t i = 0; i < r->nports;) {
		uint32_t k = i;
		while (k < r->nports && r->ports[k].proto == r->ports[i].proto)
			k++;
		struct pw_doc *x = pw_doc_add(arr, NULL, pw_doc_obj());
		if (i) {
			/* Calico takes one protocol a rule: the rest of the same one */
			pw_buf_reset(&b);
			pw_buf_printf(&b, "the rule above, for %s",
				      proto_upper(r->ports[i].proto, pb));
			pw_doc_add(x, "covers", pw_doc_str(b.s));
		} else {
			pw_doc_add(x, "covers", pw_doc_str(r->covers));
		}
		pw_doc_add(x, "action", pw_doc_str("Allow"));
		pw_doc_add(x, "protocol", pw_doc_str(proto_upper(r->ports[i].proto, pb)));
		struct pw_doc *peer = pw_doc_obj(), *dst;
		if (d == PW_INGRESS) {
			pw_doc_add(x, "source", peer);
			dst = pw_doc_add(x, "destination", pw_doc_obj());
		} else {
			dst = pw_doc_add(x, "destination", peer);
		}
		if (r->peer.kind == PW_REC_PODS) {
			pw_buf_reset(&b);
			pw_buf_printf(&b, "projectcalico.org/name == '%s'", r->peer.ns);
			pw_doc_add(peer, "namespaceSelector", pw_doc_str(b.s));
			calico_sel(r->peer.labels, r->peer.nlabels, &b);
			pw_doc_add(peer, "selector", pw_doc_str(b.s));
		} else if (r->peer.kind == PW_REC_NETSET) {
			if (r->peer.global)
				pw_doc_add(peer, "namespaceSelector", pw_doc_str("global()"));
			calico_sel(r->peer.labels, r->peer.nlabels, &b);
			pw_doc_add(peer, "selector", pw_doc_str(b.s));
		} else {
			char t[52];
			pw_cidr_format(&r->peer.cidr, t);
			pw_doc_add(pw_doc_add(peer, "nets", pw_doc_arr()), NULL, pw_doc_str(t));
		}
		struct pw_doc *ports = NULL;
		for (uint32_t z = i; z < k; z++) {
			const struct pw_rec_port *p = &r->ports[z];
			if (!p->name && !p->port)
				continue;
			if (!ports)
				ports = pw_doc_add(dst, "ports", pw_doc_arr());
			if (p->name) {
				pw_doc_add(ports, NULL, pw_doc_str(p->name));
			} else if (p->end_port) {
				pw_buf_reset(&b);
				pw_buf_printf(&b, "%d:%d", p->port, p->end_port);
				pw_doc_add(ports, NULL, pw_doc_str(b.s));
			} else {
				pw_doc_add(ports, NULL, pw_doc_int(p->port));
			}
		}
		i = k;
	}
	pw_buf_release(&b);
}

static struct pw_doc *meta(struct pw_doc *m, const char *name, const char *ns)
{
	struct pw_doc *x = pw_doc_add(m, "metadata", pw_doc_obj());
	pw_doc_add(x, "name", pw_doc_str(name));
	if (ns)
		pw_doc_add(x, "namespace", pw_doc_str(ns));
	return x;
}

static void types(struct pw_doc *spec, const char *key)
{
	struct pw_doc *t = pw_doc_add(spec, key, pw_doc_arr());
	pw_doc_add(t, NULL, pw_doc_str("Ingress"));
	pw_doc_add(t, NULL, pw_doc_str("Egress"));
}

struct pw_doc *pw_rec_doc(const struct pw_rec *r)
{
	struct pw_doc *all = pw_doc_arr();
	bool calico = r->o.kind == PW_REC_CALICO;
	struct pw_buf b;
	pw_buf_init(&b);
	if (r->need_tier) {
		struct pw_doc *m = pw_doc_add(all, NULL, pw_doc_obj());
		pw_buf_printf(&b, "the tier %s is not in the manifests: made here, order 400",
			      r->tier);
		pw_doc_add(m, "covers", pw_doc_str(b.s));
		pw_doc_add(m, "apiVersion", pw_doc_str("projectcalico.org/v3"));
		pw_doc_add(m, "kind", pw_doc_str("Tier"));
		meta(m, r->tier, NULL);
		pw_doc_add(pw_doc_add(m, "spec", pw_doc_obj()), "order", pw_doc_int(400));
	}
	for (uint32_t i = 0; i < r->npols; i++) {
		const struct pw_rec_policy *p = &r->pols[i];
		struct pw_doc *m = pw_doc_add(all, NULL, pw_doc_obj());
		pw_doc_add(m, "covers", pw_doc_str(p->covers));
		struct pw_doc *spec;
		if (calico) {
			pw_doc_add(m, "apiVersion", pw_doc_str("projectcalico.org/v3"));
			pw_doc_add(m, "kind", pw_doc_str(r->o.staged ? "StagedNetworkPolicy"
								     : "NetworkPolicy"));
			pw_buf_reset(&b);
			pw_buf_printf(&b, "%s.%s", r->tier, p->name);
			meta(m, b.s, r->o.ns);
			spec = pw_doc_add(m, "spec", pw_doc_obj());
			if (r->o.staged)
				pw_doc_add(spec, "stagedAction", pw_doc_str("Set"));
			pw_doc_add(spec, "tier", pw_doc_str(r->tier));
			pw_doc_add(spec, "order", pw_doc_int(p->deny_all ? 10000 : 100));
			calico_sel(p->labels, p->nlabels, &b);
			pw_doc_add(spec, "selector", pw_doc_str(b.s));
			types(spec, "types");
		} else {
			pw_doc_add(m, "apiVersion", pw_doc_str(r->o.staged ? "projectcalico.org/v3"
									  : "networking.k8s.io/v1"));
			pw_doc_add(m, "kind", pw_doc_str(r->o.staged ? "StagedKubernetesNetworkPolicy"
								     : "NetworkPolicy"));
			meta(m, p->name, r->o.ns);
			spec = pw_doc_add(m, "spec", pw_doc_obj());
			if (r->o.staged)
				pw_doc_add(spec, "stagedAction", pw_doc_str("Set"));
			pw_doc_add(spec, "podSelector", match_labels(p->labels, p->nlabels));
			types(spec, "policyTypes");
		}
		for (int d = 0; d < 2; d++) {
			struct pw_doc *arr = pw_doc_add(spec, d == PW_INGRESS ? "ingress" : "egress",
							pw_doc_arr());
			if (p->deny_all && calico) {
				struct pw_doc *x = pw_doc_add(arr, NULL, pw_doc_obj());
				pw_doc_add(x, "action", pw_doc_str("Deny"));
			}
			for (uint32_t k = 0; k < p->nrules[d]; k++)
				(calico ? calico_rule : k8s_rule)(&p->rules[d][k], (enum pw_dir)d, arr);
		}
	}
	pw_buf_release(&b);
	return all;
}

/* ---- YAML with the comments ---------------------------------------------------- */

static bool plain_ok(const char *s)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off",
					     "null", "y", "n", "~" };
	if (!*s)
		return false;
	for (size_t i = 0; i < PW_ARRAY_SIZE(words); i++)
		if (!strcasecmp(s, words[i]))
			return false;
	bool digits = true;
	for (const char *p = s; *p; p++) {
		char ch = *p;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '/' || ch == '_' ||
		      ch == '-'))
			return false;
		if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_'))
			digits = false;
	}
	/* YAML 1.1 reads 0x50, 0o12, 1e3 as numbers: quote what starts
	   with a digit */
	return !digits && !(s[0] >= '0' && s[0] <= '9') && s[0] != '-' && s[0] != '.';
}

static void yaml_scalar(const char *s, struct pw_buf *out)
{
	if (plain_ok(s)) {
		pw_buf_puts(out, s);
		return;
	}
	pw_buf_putc(out, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			pw_buf_putc(out, '\\');
		if ((unsigned char)*p < 0x20)
			pw_buf_printf(out, "\\x%02x", (unsigned char)*p);
		else
			pw_buf_putc(out, *p);
	}
	pw_buf_putc(out, '"');
}

static void indent(int n, struct pw_buf *out)
{
	for (int i = 0; i < n; i++)
		pw_buf_putc(out, ' ');
}

static const char *covers_of(const struct pw_doc *d)
{
	if (d->type != PW_DOC_OBJ)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->keys[i], "covers"))
			return d->kids[i]->s;
	return NULL;
}

static void comment(const char *s, int ind, struct pw_buf *out)
{
	/* wrapped at about 90 columns */
	while (*s) {
		indent(ind, out);
		pw_buf_puts(out, "# ");
		size_t n = strlen(s), cut = n;
		if (n > 86) {
			cut = 86;
			while (cut > 20 && s[cut] != ' ')
				cut--;
			if (s[cut] != ' ')
				cut = 86;
		}
		pw_buf_add(out, s, cut);
		pw_buf_putc(out, '\n');
		s += cut;
		while (*s == ' ')
			s++;
	}
}

static void yaml_node(const struct pw_doc *d, int ind, struct pw_buf *out);

/* the members of an object, the first at the current column */
static void yaml_members(const struct pw_doc *d, int ind, bool first_inline, struct pw_buf *out)
{
	bool first = true;
	for (size_t i = 0; i < d->n; i++) {
		if (!strcmp(d->keys[i], "covers"))
			continue;
		if (!(first && first_inline))
			indent(ind, out);
		first = false;
		const struct pw_doc *k = d->kids[i];
		yaml_scalar(d->keys[i], out);
		pw_buf_putc(out, ':');
		if ((k->type == PW_DOC_OBJ || k->type == PW_DOC_ARR) && k->n) {
			pw_buf_putc(out, '\n');
			yaml_node(k, k->type == PW_DOC_ARR ? ind : ind + 2, out);
		} else {
			pw_buf_putc(out, ' ');
			yaml_node(k, ind, out);
		}
	}
}

static void yaml_node(const struct pw_doc *d, int ind, struct pw_buf *out)
{
	switch (d->type) {
	case PW_DOC_STR:
		yaml_scalar(d->s, out);
		pw_buf_putc(out, '\n');
		break;
	case PW_DOC_INT:
		pw_buf_printf(out, "%lld\n", d->i);
		break;
	case PW_DOC_BOOL:
		pw_buf_puts(out, d->i ? "true\n" : "false\n");
		break;
	case PW_DOC_NULL:
		pw_buf_puts(out, "null\n");
		break;
	case PW_DOC_ARR:
		if (!d->n) {
			pw_buf_puts(out, "[]\n");
			break;
		}
		for (size_t i = 0; i < d->n; i++) {
			const struct pw_doc *k = d->kids[i];
			const char *cv = covers_of(k);
			if (cv)
				comment(cv, ind, out);
			indent(ind, out);
			pw_buf_puts(out, "- ");
			if (k->type == PW_DOC_OBJ && k->n)
				yaml_members(k, ind + 2, true, out);
			else
				yaml_node(k, ind + 2, out);
		}
		break;
	case PW_DOC_OBJ:
		if (!d->n) {
			pw_buf_puts(out, "{}\n");
			break;
		}
		yaml_members(d, ind, false, out);
		break;
	}
}

void pw_rec_yaml(const struct pw_rec *r, struct pw_buf *out)
{
	struct pw_doc *all = pw_rec_doc(r);
	pw_buf_printf(out, "# Recommended by podwall for namespace %s from %llu flow records "
		      "(%llu used, %llu skipped).\n", r->o.ns, (unsigned long long)r->nrecords,
		      (unsigned long long)r->used, (unsigned long long)r->skipped);
	for (size_t i = 0; i < all->n; i++) {
		const struct pw_doc *m = all->kids[i];
		pw_buf_puts(out, "---\n");
		const char *cv = covers_of(m);
		if (cv)
			comment(cv, 0, out);
		yaml_members(m, 0, false, out);
	}
	pw_doc_free(all);
}

/* ---- the proof ----------------------------------------------------------------- */

void pw_rec_prove(const struct pw_engine *e, const struct pw_flow *v, size_t n,
		  struct pw_rec_proof *out)
{
	memset(out, 0, sizeof(*out));
	size_t cap = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pw_flow *r = &v[i];
		struct pw_ep s, d;
		if (!pw_rec_flow_ep(e->c, &r->src, &s) || !pw_rec_flow_ep(e->c, &r->dst, &d)) {
			out->skipped++;
			continue;
		}
		struct pw_query q = { r->proto, 0, PW_ANY, PW_ANY };
		if (has_ports(r->proto)) {
			if (r->dst.port <= 0) {
				out->skipped++;
				continue;
			}
			q.port = r->dst.port;
		}
		struct pw_verdict vd;
		pw_engine_eval(e, &s, &d, &q, &vd);
		enum pw_dir dir = r->reporter == PW_FLOW_SRC ? PW_EGRESS : PW_INGRESS;
		bool now = vd.self || vd.dir[dir].allowed;
		bool was = r->action == PW_FLOW_ALLOW;
		if (was)
			out->allowed++;
		else
			out->denied++;
		if (now == was)
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 8;
			out->v = pw_xrealloc(out->v, cap * sizeof(*out->v));
		}
		out->v[out->n++] = (struct pw_rec_change){ i, was };
	}
}

void pw_rec_proof_release(struct pw_rec_proof *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}
