// SPDX-License-Identifier: Apache-2.0
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calsel.h"

/* ---- identities and label views ---------------------------------------- */

static bool pod_governed(unsigned flags, const struct pw_pod *p)
{
	return !p->host_network || (flags & PW_ENGINE_HOSTNET_AS_PODS);
}

/* The identity key: everything a selector or a named port can look at. */
static const char *identity_key(struct pw_arena *a, const struct pw_pod *p,
				struct pw_buf *b)
{
	pw_buf_reset(b);
	pw_buf_printf(b, "%u\x1f%s\x1f%d\x1f", p->ns, p->sa, p->host_network);
	for (uint32_t i = 0; i < p->labels.n; i++)
		pw_buf_printf(b, "%s=%s\x1e", p->labels.v[i].key,
			      p->labels.v[i].value);
	pw_buf_putc(b, '\x1f');
	for (uint32_t i = 0; i < p->nports; i++)
		if (p->ports[i].name)
			pw_buf_printf(b, "%s/%d/%d\x1e", p->ports[i].name,
				      p->ports[i].proto, p->ports[i].port);
	return pw_arena_strndup(a, b->s, b->len);
}

/* labels plus extra pairs, sorted, in the arena */
static struct pw_labels labels_plus(struct pw_arena *a,
				    const struct pw_labels *base,
				    const struct pw_label *extra, uint32_t n)
{
	struct pw_labels l;
	l.v = pw_arena_alloc(a, (base->n + n) * sizeof(*l.v));
	l.n = 0;
	for (uint32_t i = 0; i < n; i++)
		l.v[l.n++] = extra[i];
	for (uint32_t i = 0; i < base->n; i++) {
		bool dup = false;
		for (uint32_t k = 0; k < n && !dup; k++)
			dup = !strcmp(base->v[i].key, extra[k].key);
		if (!dup)
			l.v[l.n++] = base->v[i];
	}
	pw_labels_sort(&l);
	return l;
}

/* What Calico selectors see. */
struct views {
	struct pw_labels *pod;	  /* per identity */
	struct pw_labels *ns;	  /* per namespace */
	struct pw_labels *sa;	  /* per identity: its service account's */
	struct pw_labels *netset; /* per network set */
};

static const struct pw_labels *sa_labels(const struct pw_cluster *c,
					 uint32_t ns, const char *name)
{
	for (uint32_t i = 0; i < c->nsas; i++)
		if (c->sas[i].ns == ns && !strcmp(c->sas[i].name, name))
			return &c->sas[i].labels;
	return NULL;
}

static void build_views(struct pw_engine *e, struct views *v)
{
	const struct pw_cluster *c = e->c;
	struct pw_arena *a = &e->arena;
	static const struct pw_labels none = { NULL, 0 };
	v->ns = pw_arena_alloc(a, c->nns * sizeof(*v->ns));
	for (uint32_t i = 0; i < c->nns; i++) {
		struct pw_label x[] = { { "projectcalico.org/name", c->nss[i].name } };
		v->ns[i] = labels_plus(a, &c->nss[i].labels, x, 1);
	}
	v->pod = pw_arena_alloc(a, e->nids * sizeof(*v->pod));
	v->sa = pw_arena_alloc(a, e->nids * sizeof(*v->sa));
	for (uint32_t i = 0; i < e->nids; i++) {
		const struct pw_pod *p = &c->pods[e->ids[i].pod];
		struct pw_label x[] = {
			{ "projectcalico.org/namespace", c->nss[p->ns].name },
			{ "projectcalico.org/orchestrator", "k8s" },
			{ "projectcalico.org/serviceaccount", p->sa },
		};
		v->pod[i] = labels_plus(a, &p->labels, x, 3);
		const struct pw_labels *sl = sa_labels(c, p->ns, p->sa);
		struct pw_label y[] = { { "projectcalico.org/name", p->sa } };
		v->sa[i] = labels_plus(a, sl ? sl : &none, y, 1);
	}
	v->netset = pw_arena_alloc(a, c->nnetsets * sizeof(*v->netset));
	for (uint32_t i = 0; i < c->nnetsets; i++) {
		const struct pw_netset *s = &c->netsets[i];
		struct pw_label x[] = { { "projectcalico.org/namespace",
					  s->ns >= 0 ? c->nss[s->ns].name : "" } };
		v->netset[i] = s->ns >= 0 ? labels_plus(a, &s->labels, x, 1)
					  : s->labels;
	}
}

static uint64_t *bits_new(struct pw_engine *e)
{
	return pw_arena_alloc(&e->arena, e->nwords * sizeof(uint64_t));
}

static void bit_set(uint64_t *bs, uint32_t i)
{
	bs[i >> 6] |= 1ull << (i & 63);
}

static bool bit(const uint64_t *bs, uint32_t i)
{
	return bs[i >> 6] >> (i & 63) & 1;
}

bool pw_engine_has_id(const struct pw_engine *e, const uint64_t *bits,
		      uint32_t pod)
{
	return bits && bit(bits, e->pod_identity[pod]);
}

static const struct pw_pod *rep(const struct pw_engine *e, uint32_t id)
{
	return &e->c->pods[e->ids[id].pod];
}

/* The identities of governed pods in a namespace that ns_sel selects (NULL:
   namespace ns only; ns < 0: any) whose labels pod_sel selects (NULL: any):
   Kubernetes label selectors, evaluated once per identity. */
static uint64_t *ids_where(struct pw_engine *e, const struct pw_lsel *ns_sel,
			   int ns, const struct pw_lsel *pod_sel)
{
	const struct pw_cluster *c = e->c;
	uint64_t *bs = bits_new(e);
	for (uint32_t i = 0; i < e->nids; i++) {
		const struct pw_pod *p = rep(e, i);
		if (!pod_governed(e->flags, p))
			continue;
		if (ns_sel ? !pw_lsel_match(ns_sel, &c->nss[p->ns].labels)
			   : (ns >= 0 && (int)p->ns != ns))
			continue;
		if (pod_sel && !pw_lsel_match(pod_sel, &p->labels))
			continue;
		bit_set(bs, i);
	}
	return bs;
}

/* ---- compiling sides ---------------------------------------------------- */

static void push_nets(struct pw_engine *e, struct pw_cidr **v, uint32_t *n,
		      size_t *cap, const struct pw_cidr *src, uint32_t m)
{
	for (uint32_t i = 0; i < m; i++)
		*PW_PUSH(&e->arena, *v, *n, *cap) = src[i];
}

/* Kubernetes NetworkPolicy peer -> side */
static void k8s_peer_side(struct pw_engine *e, const struct pw_policy *pol,
			  const struct pw_peer *peer, struct pw_gside *s)
{
	if (peer->ipblock) {
		s->nets = (struct pw_cidr *)&peer->cidr;
		s->nnets = 1;
		s->not_nets = peer->except;
		s->nnot_nets = peer->nexcept;
		s->nets_pods = !(e->flags & PW_ENGINE_IPBLOCK_EXCLUDES_PODS);
		return;
	}
	s->pods_only = true;
	s->ids = ids_where(e, peer->ns_sel, (int)pol->ns, peer->pod_sel);
}

static bool sa_ok(const struct pw_cside *cs, const struct pw_pod *p,
		  const struct pw_labels *sal)
{
	if (!cs->has_sa)
		return true;
	if (cs->nsa_names) {
		bool found = false;
		for (uint32_t i = 0; i < cs->nsa_names && !found; i++)
			found = !strcmp(cs->sa_names[i], p->sa);
		if (!found)
			return false;
	}
	return !cs->sa_sel || pw_csel_match(cs->sa_sel, sal);
}

/*
 * Calico EntityRule -> side.  Scoping as Calico does it: in a namespaced
 * policy, once selector, serviceAccounts or namespaceSelector is given the
 * side matches only endpoints of the policy's namespace (or of the
 * namespaces namespaceSelector picks); `namespaceSelector: global()` picks
 * the non-namespaced resources (global network sets).  notSelector is
 * applied unscoped.
 */
static void calico_side(struct pw_engine *e, const struct views *v, int pns,
			const struct pw_cside *cs, bool dst, struct pw_gside *s)
{
	const struct pw_cluster *c = e->c;
	size_t cap = 0;
	s->nets = cs->nets;
	s->nnets = cs->nnets;
	s->not_nets = cs->not_nets;
	s->nnot_nets = cs->nnot_nets;
	s->nets_pods = true;
	if (dst) {
		s->ports = cs->ports;
		s->nports = cs->nports;
		s->not_ports = cs->not_ports;
		s->nnot_ports = cs->nnot_ports;
		s->domains = cs->domains;
		s->ndomains = cs->ndomains;
	}
	if (cs->sel || cs->ns_sel || cs->has_sa || (cs->not_sel && pns >= 0)) {
		bool global_ns = cs->ns_sel && pw_csel_is_global(cs->ns_sel);
		s->ids = bits_new(e);
		for (uint32_t i = 0; i < e->nids && !global_ns; i++) {
			const struct pw_pod *p = rep(e, i);
			if (!pod_governed(e->flags, p))
				continue;
			if (cs->ns_sel ? !pw_csel_match(cs->ns_sel, &v->ns[p->ns])
				       : (pns >= 0 && (int)p->ns != pns))
				continue;
			if (cs->sel && !pw_csel_match(cs->sel, &v->pod[i]))
				continue;
			if (!sa_ok(cs, p, &v->sa[i]))
				continue;
			bit_set(s->ids, i);
		}
		size_t dcap = 0;
		for (uint32_t k = 0; k < c->nnetsets && !cs->has_sa; k++) {
			const struct pw_netset *ns = &c->netsets[k];
			bool in_scope;
			if (global_ns)
				in_scope = ns->ns < 0;
			else if (cs->ns_sel)
				in_scope = ns->ns >= 0 &&
					   pw_csel_match(cs->ns_sel, &v->ns[ns->ns]);
			else if (pns >= 0)
				in_scope = ns->ns == pns;
			else
				in_scope = true; /* global policies see every set */
			if (!in_scope || (cs->sel && !pw_csel_match(cs->sel, &v->netset[k])))
				continue;
			push_nets(e, &s->set_nets, &s->nset_nets, &cap, ns->nets, ns->nnets);
			for (uint32_t d = 0; d < ns->ndomains; d++)
				*PW_PUSH(&e->arena, s->set_domains, s->nset_domains, dcap) =
					ns->domains[d];
		}
	}
	if (cs->not_sel) {
		size_t ncap = 0;
		s->not_ids = bits_new(e);
		for (uint32_t i = 0; i < e->nids; i++)
			if (pw_csel_match(cs->not_sel, &v->pod[i]))
				bit_set(s->not_ids, i);
		for (uint32_t k = 0; k < c->nnetsets; k++)
			if (pw_csel_match(cs->not_sel, &v->netset[k]))
				push_nets(e, &s->not_set_nets, &s->nnot_set_nets, &ncap,
					  c->netsets[k].nets, c->netsets[k].nnets);
	}
}

/* AdminNetworkPolicy peer -> side */
static void admin_peer_side(struct pw_engine *e, const struct pw_apeer *peer,
			    struct pw_gside *s)
{
	if (peer->kind == PW_AP_NETWORKS) {
		s->nets = peer->nets;
		s->nnets = peer->nnets;
		s->nets_pods = !(e->flags & PW_ENGINE_IPBLOCK_EXCLUDES_PODS);
		return;
	}
	s->pods_only = true;
	if (peer->kind == PW_AP_NODES)
		s->ids = bits_new(e); /* nodes are not modelled: matches nothing */
	else
		s->ids = ids_where(e, peer->ns_sel, -1, peer->pod_sel);
}

/* ---- compiling policies ------------------------------------------------- */

struct plist {
	struct pw_gpolicy *v;
	uint32_t n;
	size_t cap;
};

static struct pw_grule *grule_new(struct pw_engine *e, struct pw_gpolicy *g,
				  int d, size_t *cap)
{
	struct pw_grule *r = PW_PUSH(&e->arena, g->rules[d], g->nrules[d], *cap);
	r->proto = r->not_proto = PW_ANY;
	r->icmp_type = r->icmp_code = PW_ANY;
	r->not_icmp_type = r->not_icmp_code = PW_ANY;
	r->peer = -1;
	return r;
}

static void compile_k8s(struct pw_engine *e, uint32_t k, struct plist *out)
{
	const struct pw_cluster *c = e->c;
	const struct pw_policy *pol = &c->pols[k];
	struct pw_gpolicy *g = PW_PUSH(&e->arena, out->v, out->n, out->cap);
	g->name = pw_arena_printf(&e->arena, "knp.default.%s", pol->name);
	g->display = pw_arena_printf(&e->arena, "NetworkPolicy %s/%s",
				     c->nss[pol->ns].name, pol->name);
	g->src = PW_SRC_K8S;
	g->src_index = k;
	g->has_order = true;
	g->order = 1000;
	g->types = pol->types;
	g->pos = pol->pos;
	g->tier = UINT32_MAX; /* "default", resolved later */
	g->ids = ids_where(e, NULL, (int)pol->ns, &pol->sel);
	for (int d = 0; d < 2; d++) {
		size_t cap = 0;
		if (!(pol->types & (1u << d)))
			continue;
		for (uint32_t r = 0; r < pol->nrules[d]; r++) {
			const struct pw_rule *rule = &pol->rules[d][r];
			uint32_t n = rule->npeers ? rule->npeers : 1;
			for (uint32_t q = 0; q < n; q++) {
				struct pw_grule *gr = grule_new(e, g, d, &cap);
				gr->action = PW_ACT_ALLOW;
				gr->index = r;
				gr->pos = rule->pos;
				gr->dst.ports = rule->ports;
				gr->dst.nports = rule->nports;
				if (!rule->npeers)
					continue;
				gr->peer = (int)q;
				k8s_peer_side(e, pol, &rule->peers[q],
					      d == PW_INGRESS ? &gr->src : &gr->dst);
			}
		}
	}
}

static void compile_calico(struct pw_engine *e, const struct views *v,
			   uint32_t k, struct plist *out)
{
	const struct pw_cluster *c = e->c;
	const struct pw_cpolicy *pol = &c->cpols[k];
	struct pw_gpolicy *g = PW_PUSH(&e->arena, out->v, out->n, out->cap);
	const char *kind = pol->kind;
	if (!strncmp(kind, "Staged", 6))
		kind += 6;
	g->name = pw_arena_printf(&e->arena, "%s.%s", pol->tier, pol->name);
	if (pol->ns >= 0)
		g->display = pw_arena_printf(&e->arena, "%s %s/%s.%s", kind,
					     c->nss[pol->ns].name, pol->tier, pol->name);
	else
		g->display = pw_arena_printf(&e->arena, "%s %s.%s", kind,
					     pol->tier, pol->name);
	g->src = PW_SRC_CALICO;
	g->src_index = k;
	g->has_order = pol->has_order;
	g->order = pol->order;
	g->types = pol->types;
	g->pos = pol->pos;
	g->tier = UINT32_MAX;
	g->ids = bits_new(e);
	for (uint32_t i = 0; i < e->nids; i++) {
		const struct pw_pod *p = rep(e, i);
		if (!pod_governed(e->flags, p))
			continue;
		if (pol->ns >= 0 && (int)p->ns != pol->ns)
			continue;
		if (pol->sel && !pw_csel_match(pol->sel, &v->pod[i]))
			continue;
		if (pol->ns_sel && !pw_csel_match(pol->ns_sel, &v->ns[p->ns]))
			continue;
		if (pol->sa_sel && !pw_csel_match(pol->sa_sel, &v->sa[i]))
			continue;
		bit_set(g->ids, i);
	}
	for (int d = 0; d < 2; d++) {
		size_t cap = 0;
		if (!(pol->types & (1u << d)))
			continue;
		for (uint32_t r = 0; r < pol->nrules[d]; r++) {
			const struct pw_crule *cr = &pol->rules[d][r];
			struct pw_grule *gr = grule_new(e, g, d, &cap);
			gr->action = cr->action;
			gr->proto = cr->proto;
			gr->not_proto = cr->not_proto;
			gr->icmp_type = cr->icmp_type;
			gr->icmp_code = cr->icmp_code;
			gr->not_icmp_type = cr->not_icmp_type;
			gr->not_icmp_code = cr->not_icmp_code;
			gr->ip_version = cr->ip_version;
			gr->index = r;
			gr->pos = cr->pos;
			calico_side(e, v, pol->ns, &cr->src, false, &gr->src);
			calico_side(e, v, pol->ns, &cr->dst, true, &gr->dst);
		}
	}
}

static void compile_admin(struct pw_engine *e, uint32_t k, struct plist *out)
{
	const struct pw_cluster *c = e->c;
	const struct pw_apolicy *pol = &c->apols[k];
	struct pw_gpolicy *g = PW_PUSH(&e->arena, out->v, out->n, out->cap);
	g->name = pol->name;
	g->display = pw_arena_printf(&e->arena, "%s %s", pol->kind, pol->name);
	g->src = PW_SRC_ADMIN;
	g->src_index = k;
	g->has_order = true;
	g->order = pol->priority;
	g->pos = pol->pos;
	g->tier = UINT32_MAX - (pol->baseline ? 2 : 1);
	g->ids = ids_where(e, pol->subj_ns, -1, pol->subj_pod);
	for (int d = 0; d < 2; d++) {
		size_t cap = 0;
		if (pol->nrules[d])
			g->types |= 1u << d;
		for (uint32_t r = 0; r < pol->nrules[d]; r++) {
			const struct pw_arule *ar = &pol->rules[d][r];
			for (uint32_t q = 0; q < ar->npeers; q++) {
				struct pw_grule *gr = grule_new(e, g, d, &cap);
				gr->action = ar->action;
				gr->index = r;
				gr->peer = (int)q;
				gr->pos = ar->pos;
				gr->dst.ports = ar->ports;
				gr->dst.nports = ar->nports;
				admin_peer_side(e, &ar->peers[q],
						d == PW_INGRESS ? &gr->src : &gr->dst);
			}
		}
	}
}

/* ---- the staged view ---------------------------------------------------- */

static bool same_calico(const struct pw_cpolicy *a, const struct pw_cpolicy *b)
{
	const char *ka = a->kind, *kb = b->kind;
	if (!strncmp(ka, "Staged", 6))
		ka += 6;
	if (!strncmp(kb, "Staged", 6))
		kb += 6;
	return !strcmp(ka, kb) && a->ns == b->ns && !strcmp(a->tier, b->tier) &&
	       !strcmp(a->name, b->name);
}

/* Which Calico and Kubernetes policies are in force in this view. */
static void select_view(const struct pw_engine *e, bool *ck, bool *kk)
{
	const struct pw_cluster *c = e->c;
	bool staged = e->flags & PW_ENGINE_STAGED;
	for (uint32_t i = 0; i < c->ncpols; i++)
		ck[i] = c->cpols[i].staged == PW_ENFORCED;
	for (uint32_t i = 0; i < c->npols; i++)
		kk[i] = c->pols[i].staged == PW_ENFORCED;
	if (!staged)
		return;
	for (uint32_t i = 0; i < c->ncpols; i++) {
		const struct pw_cpolicy *s = &c->cpols[i];
		if (s->staged == PW_ENFORCED)
			continue;
		for (uint32_t k = 0; k < c->ncpols; k++)
			if (c->cpols[k].staged == PW_ENFORCED && same_calico(s, &c->cpols[k]))
				ck[k] = false;
		ck[i] = s->staged == PW_STAGED_SET;
	}
	for (uint32_t i = 0; i < c->npols; i++) {
		const struct pw_policy *s = &c->pols[i];
		if (s->staged == PW_ENFORCED)
			continue;
		for (uint32_t k = 0; k < c->npols; k++)
			if (c->pols[k].staged == PW_ENFORCED && c->pols[k].ns == s->ns &&
			    !strcmp(c->pols[k].name, s->name))
				kk[k] = false;
		kk[i] = s->staged == PW_STAGED_SET;
	}
}

/* ---- tiers and order ---------------------------------------------------- */

static void build_tiers(struct pw_engine *e)
{
	const struct pw_cluster *c = e->c;
	size_t cap = 0;
	static const struct pw_gtier builtin[] = {
		{ "adminnetworkpolicy", 1000, PW_ACT_PASS },
		{ "default", 1000000, PW_ACT_DENY },
		{ "baselineadminnetworkpolicy", 10000000, PW_ACT_PASS },
	};
	for (size_t i = 0; i < PW_ARRAY_SIZE(builtin); i++)
		*PW_PUSH(&e->arena, e->tiers, e->ntiers, cap) = builtin[i];
	for (uint32_t i = 0; i < c->ntiers; i++) {
		const struct pw_tier *t = &c->tiers[i];
		bool known = false;
		for (uint32_t k = 0; k < e->ntiers && !known; k++)
			known = !strcmp(e->tiers[k].name, t->name);
		if (known)
			continue;
		struct pw_gtier *g = PW_PUSH(&e->arena, e->tiers, e->ntiers, cap);
		g->name = t->name;
		g->order = t->has_order ? t->order : 1e300;
		g->default_action = t->default_action;
	}
}

static int tier_cmp(const void *x, const void *y)
{
	const struct pw_gtier *a = x, *b = y;
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->name, b->name);
}

static uint32_t tier_index(const struct pw_engine *e, const char *name)
{
	for (uint32_t i = 0; i < e->ntiers; i++)
		if (!strcmp(e->tiers[i].name, name))
			return i;
	return UINT32_MAX;
}

static int pol_cmp(const void *x, const void *y)
{
	const struct pw_gpolicy *a = x, *b = y;
	if (a->tier != b->tier)
		return a->tier < b->tier ? -1 : 1;
	if (a->has_order != b->has_order)
		return a->has_order ? -1 : 1;
	if (a->has_order && a->order != b->order)
		return a->order < b->order ? -1 : 1;
	int c = strcmp(a->name, b->name);
	if (c)
		return c;
	return strcmp(a->display, b->display);
}

/* ---- build -------------------------------------------------------------- */

int pw_engine_build(struct pw_engine *e, const struct pw_cluster *c,
		    unsigned flags)
{
	memset(e, 0, sizeof(*e));
	e->c = c;
	e->flags = flags;
	pw_arena_init(&e->arena);
	struct pw_arena *a = &e->arena;
	struct pw_strmap idx;
	struct pw_buf b;
	pw_strmap_init(&idx);
	pw_buf_init(&b);
	size_t cap = 0;
	e->pod_identity = pw_arena_alloc(a, c->npods * sizeof(uint32_t));
	for (uint32_t i = 0; i < c->npods; i++) {
		const char *key = identity_key(a, &c->pods[i], &b);
		uintptr_t v = (uintptr_t)pw_strmap_get(&idx, key);
		if (!v) {
			struct pw_identity *id = PW_PUSH(a, e->ids, e->nids, cap);
			id->pod = i;
			id->ns = c->pods[i].ns;
			v = e->nids;
			pw_strmap_put(&idx, key, (void *)v);
		}
		e->pod_identity[i] = (uint32_t)(v - 1);
		((struct pw_pod *)&c->pods[i])->identity = (uint32_t)(v - 1);
	}
	pw_strmap_release(&idx);
	pw_buf_release(&b);
	e->nwords = (e->nids + 63) / 64;

	struct views v;
	build_views(e, &v);
	build_tiers(e);
	qsort(e->tiers, e->ntiers, sizeof(*e->tiers), tier_cmp);

	bool *ck = pw_xcalloc(c->ncpols + 1, sizeof(bool));
	bool *kk = pw_xcalloc(c->npols + 1, sizeof(bool));
	select_view(e, ck, kk);
	struct plist pl = { NULL, 0, 0 };
	for (uint32_t k = 0; k < c->npols; k++)
		if (kk[k])
			compile_k8s(e, k, &pl);
	for (uint32_t k = 0; k < c->ncpols; k++)
		if (ck[k])
			compile_calico(e, &v, k, &pl);
	for (uint32_t k = 0; k < c->napols; k++)
		compile_admin(e, k, &pl);
	free(ck);
	free(kk);
	uint32_t t_default = tier_index(e, "default");
	uint32_t t_anp = tier_index(e, "adminnetworkpolicy");
	uint32_t t_banp = tier_index(e, "baselineadminnetworkpolicy");
	for (uint32_t i = 0; i < pl.n; i++) {
		struct pw_gpolicy *g = &pl.v[i];
		if (g->tier == UINT32_MAX - 1)
			g->tier = t_anp;
		else if (g->tier == UINT32_MAX - 2)
			g->tier = t_banp;
		else if (g->src == PW_SRC_CALICO) {
			g->tier = tier_index(e, c->cpols[g->src_index].tier);
			if (g->tier == UINT32_MAX)
				g->tier = t_default; /* reported by the loader */
		} else
			g->tier = t_default;
	}
	if (pl.n)
		qsort(pl.v, pl.n, sizeof(*pl.v), pol_cmp);
	e->pols = pl.v;
	e->npols = pl.n;
	e->k8s_pol = pw_arena_alloc(a, (c->npols + 1) * sizeof(int));
	for (uint32_t k = 0; k < c->npols; k++)
		e->k8s_pol[k] = -1;
	for (uint32_t i = 0; i < e->npols; i++)
		if (e->pols[i].src == PW_SRC_K8S)
			e->k8s_pol[e->pols[i].src_index] = (int)i;

	/* per identity, per direction: applicable policies in order */
	for (uint32_t i = 0; i < e->nids; i++) {
		struct pw_identity *id = &e->ids[i];
		size_t pcap[2] = { 0, 0 };
		for (uint32_t k = 0; k < e->npols; k++) {
			const struct pw_gpolicy *g = &e->pols[k];
			if (!bit(g->ids, i))
				continue;
			for (int d = 0; d < 2; d++)
				if (g->types & (1u << d))
					*PW_PUSH(a, id->pols[d], id->npols[d], pcap[d]) = k;
		}
	}
	return 0;
}

void pw_engine_release(struct pw_engine *e)
{
	pw_arena_release(&e->arena);
	memset(e, 0, sizeof(*e));
}

/* ---- endpoints and queries --------------------------------------------- */

struct pw_ep pw_ep_pod(const struct pw_cluster *c, uint32_t pod)
{
	struct pw_ep ep = { (int)pod, { 0 }, NULL };
	if (c->pods[pod].naddrs)
		ep.addr = c->pods[pod].addrs[0];
	return ep;
}

struct pw_ep pw_ep_addr(const struct pw_addr *a)
{
	struct pw_ep ep = { -1, *a, NULL };
	return ep;
}

struct pw_query pw_query_port(int proto, int port)
{
	struct pw_query q = { pw_proto_ip(proto), port, PW_ANY, PW_ANY };
	return q;
}

static bool num(const char *s, size_t n, long max, long *out)
{
	long v = 0;
	if (!n || n > 6)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return v <= max;
}

int pw_query_parse(const char *s, struct pw_query *q)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	long v;
	q->ipproto = -1;
	q->port = 0;
	q->icmp_type = q->icmp_code = PW_ANY;
	if (!slash) {
		if (!num(s, n, 65535, &v))
			return -1;
		if (v < 1)
			return -1;
		/* a bare number is a TCP port */
		q->ipproto = PW_IPPROTO_TCP;
		q->port = (int)v;
		return 0;
	}
	q->ipproto = pw_ipproto_parse(s, n);
	if (q->ipproto < 0) {
		if (!num(s, n, 255, &v) || v < 1)
			return -1;
		q->ipproto = (int)v;
	}
	const char *rest = slash + 1;
	if (q->ipproto == PW_IPPROTO_ICMP || q->ipproto == PW_IPPROTO_ICMPV6) {
		const char *s2 = strchr(rest, '/');
		size_t n1 = s2 ? (size_t)(s2 - rest) : strlen(rest);
		if (!num(rest, n1, 255, &v))
			return -1;
		q->icmp_type = (int)v;
		q->icmp_code = 0;
		if (s2) {
			if (!num(s2 + 1, strlen(s2 + 1), 255, &v))
				return -1;
			q->icmp_code = (int)v;
		}
		return 0;
	}
	if (pw_proto_of_ip(q->ipproto) < 0)
		return *rest ? -1 : 0; /* protocols without ports: "47/" */
	if (!num(rest, strlen(rest), 65535, &v) || v < 1)
		return -1;
	q->port = (int)v;
	return 0;
}

void pw_query_format(const struct pw_query *q, char out[static 32])
{
	const char *name = pw_ipproto_name(q->ipproto);
	char p[8];
	snprintf(p, sizeof(p), "%d", q->ipproto);
	if (q->icmp_type != PW_ANY)
		snprintf(out, 32, "%s/%d/%d", name, q->icmp_type, q->icmp_code);
	else if (q->port)
		snprintf(out, 32, "%s/%d", name ? name : p, q->port);
	else
		snprintf(out, 32, "%s", name ? name : p);
}

const char *pw_action_name(enum pw_action a)
{
	static const char *const n[] = { "Allow", "Deny", "Pass", "Log" };
	return n[a];
}

/* ---- matching ----------------------------------------------------------- */

/* Does the label at p (up to '.' or end) equal the one at n? */
static bool label_eq(const char *p, const char *n, size_t *plen, size_t *nlen)
{
	*plen = strcspn(p, ".");
	*nlen = strcspn(n, ".");
	return *plen == *nlen && !strncmp(p, n, *plen);
}

bool pw_domain_match(const char *pattern, const char *name)
{
	size_t pl, nl;
	if (!*pattern || !*name)
		return !*pattern && !*name;
	if (pattern[0] == '*' && (pattern[1] == '.' || !pattern[1])) {
		/* "*" stands for one or more whole labels */
		const char *rest = pattern[1] ? pattern + 2 : "";
		for (const char *n = name;;) {
			nl = strcspn(n, ".");
			n += nl;
			if (!*n)
				return !*rest;
			n++;
			if (*rest && pw_domain_match(rest, n))
				return true;
		}
	}
	if (!label_eq(pattern, name, &pl, &nl))
		return false;
	pattern += pl;
	name += nl;
	if (!*pattern || !*name)
		return !*pattern && !*name;
	return pw_domain_match(pattern + 1, name + 1);
}

static bool in_nets(const struct pw_cidr *v, uint32_t n, const struct pw_addr *a)
{
	for (uint32_t i = 0; i < n; i++)
		if (pw_cidr_contains(&v[i], a))
			return true;
	return false;
}

static bool in_domains(const char *const *v, uint32_t n, const char *name)
{
	for (uint32_t i = 0; name && i < n; i++)
		if (pw_domain_match(v[i], name))
			return true;
	return false;
}

/* Does side s match endpoint ep (ports aside)? */
bool pw_engine_side_match(const struct pw_engine *e, const struct pw_gside *s,
		       const struct pw_ep *ep)
{
	bool pod = ep->pod >= 0;
	if (s->nnets) {
		if (!ep->addr.family || (pod && !s->nets_pods) ||
		    !in_nets(s->nets, s->nnets, &ep->addr))
			return false;
	}
	if (s->nnot_nets && ep->addr.family &&
	    in_nets(s->not_nets, s->nnot_nets, &ep->addr))
		return false;
	if (!pod && s->pods_only)
		return false;
	if (s->ids) {
		if (pod) {
			if (!bit(s->ids, e->pod_identity[ep->pod]) &&
			    !(ep->addr.family &&
			      in_nets(s->set_nets, s->nset_nets, &ep->addr)))
				return false;
		} else if (!(ep->addr.family &&
			     in_nets(s->set_nets, s->nset_nets, &ep->addr)) &&
			   !in_domains(s->set_domains, s->nset_domains, ep->name)) {
			return false;
		}
	}
	if (s->not_ids) {
		if (pod && bit(s->not_ids, e->pod_identity[ep->pod]))
			return false;
		if (ep->addr.family &&
		    in_nets(s->not_set_nets, s->nnot_set_nets, &ep->addr))
			return false;
	}
	if (s->ndomains && (pod || !in_domains(s->domains, s->ndomains, ep->name)))
		return false;
	return true;
}

static bool family_ok(const struct pw_grule *r, const struct pw_ep *a,
		      const struct pw_ep *b)
{
	if (!r->ip_version)
		return true;
	if (a->addr.family && a->addr.family != r->ip_version)
		return false;
	return !b->addr.family || b->addr.family == r->ip_version;
}

/* Resolve a named port against the destination; 0 when it does not. */
int pw_engine_resolve_named(const struct pw_engine *e, const struct pw_np_port *pp,
			 int proto, const struct pw_ep *dst)
{
	if (dst->pod < 0)
		return 0;
	const struct pw_pod *p = &e->c->pods[dst->pod];
	for (uint32_t i = 0; i < p->nports; i++)
		if (p->ports[i].name && p->ports[i].proto == proto &&
		    !strcmp(p->ports[i].name, pp->name))
			return p->ports[i].port;
	return 0;
}

static bool port_in(const struct pw_engine *e, const struct pw_np_port *v,
		    uint32_t n, int pproto, int port, const struct pw_ep *dst)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_np_port *pp = &v[i];
		if (pp->proto != pproto && pp->proto != PW_ANY)
			continue;
		if (pp->name) {
			if (pproto < PW_NPROTO && pw_engine_resolve_named(e, pp, pproto, dst) == port)
				return true;
		} else if (!pp->port) {
			return true;
		} else if (port >= pp->port &&
			   port <= (pp->end_port ? pp->end_port : pp->port)) {
			return true;
		}
	}
	return false;
}

static bool rule_match(const struct pw_engine *e, const struct pw_grule *r,
		       const struct pw_ep *src, const struct pw_ep *dst,
		       const struct pw_query *q)
{
	if (r->proto != PW_ANY && r->proto != q->ipproto)
		return false;
	if (r->not_proto != PW_ANY && r->not_proto == q->ipproto)
		return false;
	if (r->icmp_type != PW_ANY &&
	    (q->icmp_type != r->icmp_type ||
	     (r->icmp_code != PW_ANY && q->icmp_code != r->icmp_code)))
		return false;
	if (r->not_icmp_type != PW_ANY && q->icmp_type == r->not_icmp_type &&
	    (r->not_icmp_code == PW_ANY || q->icmp_code == r->not_icmp_code))
		return false;
	int pp = pw_proto_of_ip(q->ipproto);
	if (r->dst.nports &&
	    (pp < 0 || !port_in(e, r->dst.ports, r->dst.nports, pp, q->port, dst)))
		return false;
	if (r->dst.nnot_ports && pp >= 0 &&
	    port_in(e, r->dst.not_ports, r->dst.nnot_ports, pp, q->port, dst))
		return false;
	return family_ok(r, src, dst) && pw_engine_side_match(e, &r->src, src) &&
	       pw_engine_side_match(e, &r->dst, dst);
}

/* The TCP/UDP/SCTP ports rule r matches toward dst, ends aside. */
static void rule_ports(const struct pw_engine *e, const struct pw_grule *r,
		       const struct pw_ep *dst, struct pw_conns *out,
		       struct pw_conns *tmp)
{
	pw_conns_clear(out);
	if (r->icmp_type != PW_ANY)
		return;
	for (int p = 0; p < PW_NPROTO; p++) {
		int ip = pw_proto_ip(p);
		if ((r->proto != PW_ANY && r->proto != ip) || r->not_proto == ip)
			continue;
		if (!r->dst.nports) {
			pw_conns_add(out, p, 1, PW_PORT_MAX);
			continue;
		}
		for (uint32_t i = 0; i < r->dst.nports; i++) {
			const struct pw_np_port *pp = &r->dst.ports[i];
			if (pp->proto != p && pp->proto != PW_ANY)
				continue;
			if (pp->name) {
				int v = pw_engine_resolve_named(e, pp, p, dst);
				if (v)
					pw_conns_add(out, p, (unsigned)v, (unsigned)v);
			} else if (!pp->port) {
				pw_conns_add(out, p, 1, PW_PORT_MAX);
			} else {
				pw_conns_add(out, p, (unsigned)pp->port,
					     (unsigned)(pp->end_port ? pp->end_port : pp->port));
			}
		}
	}
	if (r->dst.nnot_ports) {
		pw_conns_clear(tmp);
		for (uint32_t i = 0; i < r->dst.nnot_ports; i++) {
			const struct pw_np_port *pp = &r->dst.not_ports[i];
			for (int p = 0; p < PW_NPROTO; p++) {
				if (pp->proto != p && pp->proto != PW_ANY)
					continue;
				if (pp->name) {
					int v = pw_engine_resolve_named(e, pp, p, dst);
					if (v)
						pw_conns_add(tmp, p, (unsigned)v, (unsigned)v);
				} else {
					pw_conns_add(tmp, p, (unsigned)(pp->port ? pp->port : 1),
						     (unsigned)(pp->end_port ? pp->end_port
							       : pp->port ? pp->port : PW_PORT_MAX));
				}
			}
		}
		pw_conns_subtract(out, tmp);
	}
}

static bool rule_ends_match(const struct pw_engine *e, const struct pw_grule *r,
			    const struct pw_ep *src, const struct pw_ep *dst)
{
	return family_ok(r, src, dst) && pw_engine_side_match(e, &r->src, src) &&
	       pw_engine_side_match(e, &r->dst, dst);
}

/* ---- evaluation --------------------------------------------------------- */

bool pw_engine_governed(const struct pw_engine *e, const struct pw_ep *ep)
{
	return ep->pod >= 0 && pod_governed(e->flags, &e->c->pods[ep->pod]);
}

const uint32_t *pw_engine_applicable(const struct pw_engine *e, uint32_t pod,
				     enum pw_dir dir, uint32_t *n)
{
	const struct pw_identity *id = &e->ids[e->pod_identity[pod]];
	*n = id->npols[dir];
	return id->pols[dir];
}

static void step(struct pw_why_dir *w, enum pw_step_kind k, uint32_t tier,
		 int pol, int rule, enum pw_action a)
{
	if (w->nsteps == PW_MAX_STEPS) {
		w->truncated = true;
		return;
	}
	w->steps[w->nsteps++] = (struct pw_step){ k, tier, pol, rule, a };
}

static void eval_dir(const struct pw_engine *e, enum pw_dir dir,
		     const struct pw_ep *src, const struct pw_ep *dst,
		     const struct pw_query *q, struct pw_why_dir *w)
{
	const struct pw_ep *self = dir == PW_EGRESS ? src : dst;
	memset(w, 0, sizeof(*w));
	w->allowed = true;
	if (!pw_engine_governed(e, self))
		return;
	w->governed = true;
	const struct pw_identity *id = &e->ids[e->pod_identity[self->pod]];
	uint32_t n = id->npols[dir], i = 0;
	while (i < n) {
		uint32_t tier = e->pols[id->pols[dir][i]].tier;
		bool passed = false;
		for (; i < n && e->pols[id->pols[dir][i]].tier == tier && !passed; i++) {
			uint32_t k = id->pols[dir][i];
			const struct pw_gpolicy *g = &e->pols[k];
			for (uint32_t r = 0; r < g->nrules[dir]; r++) {
				const struct pw_grule *gr = &g->rules[dir][r];
				if (!rule_match(e, gr, src, dst, q))
					continue;
				step(w, PW_STEP_RULE, tier, (int)k, (int)r, gr->action);
				if (gr->action == PW_ACT_LOG)
					continue;
				if (gr->action == PW_ACT_PASS) {
					passed = true;
					break;
				}
				w->allowed = gr->action == PW_ACT_ALLOW;
				return;
			}
		}
		while (i < n && e->pols[id->pols[dir][i]].tier == tier)
			i++;
		if (passed)
			continue;
		step(w, PW_STEP_END_OF_TIER, tier, -1, -1, e->tiers[tier].default_action);
		if (e->tiers[tier].default_action == PW_ACT_DENY) {
			w->allowed = false;
			return;
		}
	}
	step(w, PW_STEP_PROFILE, 0, -1, -1, PW_ACT_ALLOW);
}

void pw_engine_eval(const struct pw_engine *e, const struct pw_ep *src,
		    const struct pw_ep *dst, const struct pw_query *q,
		    struct pw_verdict *out)
{
	out->self = src->pod >= 0 && src->pod == dst->pod;
	out->allowed = true;
	for (int d = 0; d < 2; d++) {
		eval_dir(e, (enum pw_dir)d, src, dst, q, &out->dir[d]);
		out->allowed &= out->dir[d].allowed;
	}
	out->allowed |= out->self;
}

static void dir_conns(const struct pw_engine *e, enum pw_dir dir,
		      const struct pw_ep *src, const struct pw_ep *dst,
		      struct pw_conns *allowed)
{
	const struct pw_ep *self = dir == PW_EGRESS ? src : dst;
	pw_conns_clear(allowed);
	if (!pw_engine_governed(e, self)) {
		pw_conns_add_all(allowed);
		return;
	}
	const struct pw_identity *id = &e->ids[e->pod_identity[self->pod]];
	struct pw_conns live, pass, r, tmp;
	pw_conns_init(&live);
	pw_conns_init(&pass);
	pw_conns_init(&r);
	pw_conns_init(&tmp);
	pw_conns_add_all(&live);
	uint32_t n = id->npols[dir], i = 0;
	while (i < n && !pw_conns_empty(&live)) {
		uint32_t tier = e->pols[id->pols[dir][i]].tier;
		pw_conns_clear(&pass);
		for (; i < n && e->pols[id->pols[dir][i]].tier == tier; i++) {
			const struct pw_gpolicy *g = &e->pols[id->pols[dir][i]];
			for (uint32_t k = 0; k < g->nrules[dir]; k++) {
				const struct pw_grule *gr = &g->rules[dir][k];
				if (gr->action == PW_ACT_LOG ||
				    !rule_ends_match(e, gr, src, dst))
					continue;
				rule_ports(e, gr, dst, &r, &tmp);
				pw_conns_intersect(&r, &live);
				if (pw_conns_empty(&r))
					continue;
				if (gr->action == PW_ACT_ALLOW)
					pw_conns_union(allowed, &r);
				else if (gr->action == PW_ACT_PASS)
					pw_conns_union(&pass, &r);
				pw_conns_subtract(&live, &r);
			}
		}
		if (e->tiers[tier].default_action == PW_ACT_DENY)
			pw_conns_copy(&live, &pass);
		else
			pw_conns_union(&live, &pass);
	}
	pw_conns_union(allowed, &live); /* the profile allows the rest */
	pw_conns_release(&live);
	pw_conns_release(&pass);
	pw_conns_release(&r);
	pw_conns_release(&tmp);
}

void pw_engine_conns(const struct pw_engine *e, const struct pw_ep *src,
		     const struct pw_ep *dst, struct pw_conns *out)
{
	struct pw_conns in;
	if (src->pod >= 0 && src->pod == dst->pod) {
		pw_conns_clear(out);
		pw_conns_add_all(out);
		return;
	}
	pw_conns_init(&in);
	dir_conns(e, PW_EGRESS, src, dst, out);
	if (!pw_conns_empty(out)) {
		dir_conns(e, PW_INGRESS, src, dst, &in);
		pw_conns_intersect(out, &in);
	}
	pw_conns_release(&in);
}

bool pw_engine_policy_selects(const struct pw_engine *e, uint32_t k,
			      uint32_t pod)
{
	int g = e->k8s_pol[k];
	return g >= 0 && bit(e->pols[g].ids, e->pod_identity[pod]);
}

const uint64_t *pw_engine_k8s_peer_ids(const struct pw_engine *e, uint32_t k,
				       enum pw_dir dir, uint32_t r, uint32_t q)
{
	int g = e->k8s_pol[k];
	if (g < 0)
		return NULL;
	const struct pw_gpolicy *gp = &e->pols[g];
	for (uint32_t i = 0; i < gp->nrules[dir]; i++) {
		const struct pw_grule *gr = &gp->rules[dir][i];
		if (gr->index == r && gr->peer == (int)q)
			return dir == PW_INGRESS ? gr->src.ids : gr->dst.ids;
	}
	return NULL;
}

static void cut_port(unsigned char *cut[PW_NPROTO], int proto, unsigned lo,
		     unsigned hi)
{
	cut[proto][lo] = 1;
	cut[proto][hi + 1] = 1;
}

static void cut_ports(const struct pw_engine *e, const struct pw_np_port *v,
		      uint32_t n, unsigned char *cut[PW_NPROTO])
{
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_np_port *pp = &v[i];
		for (int p = 0; p < PW_NPROTO; p++) {
			if (pp->proto != p && pp->proto != PW_ANY)
				continue;
			if (pp->name) {
				for (uint32_t k = 0; k < e->c->npods; k++) {
					struct pw_ep ep = pw_ep_pod(e->c, k);
					int v2 = pw_engine_resolve_named(e, pp, p, &ep);
					if (v2)
						cut_port(cut, p, (unsigned)v2, (unsigned)v2);
				}
			} else if (pp->port) {
				cut_port(cut, p, (unsigned)pp->port,
					 (unsigned)(pp->end_port ? pp->end_port : pp->port));
			}
		}
	}
}

void pw_engine_port_cuts(const struct pw_engine *e,
			 unsigned char *cut[PW_NPROTO])
{
	for (uint32_t k = 0; k < e->npols; k++)
		for (int d = 0; d < 2; d++)
			for (uint32_t r = 0; r < e->pols[k].nrules[d]; r++) {
				const struct pw_grule *gr = &e->pols[k].rules[d][r];
				cut_ports(e, gr->dst.ports, gr->dst.nports, cut);
				cut_ports(e, gr->dst.not_ports, gr->dst.nnot_ports, cut);
			}
}
