// SPDX-License-Identifier: Apache-2.0
#include "nft.h"
#include "flow/ids.h"

#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pw_nft_init(struct pw_nft *t)
{
	memset(t, 0, sizeof(*t));
	pw_strmap_init(&t->index);
}

void pw_nft_release(struct pw_nft *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].kind);
		free(t->v[i].name);
		free(t->v[i].body);
		free(t->v[i].key);
	}
	free(t->v);
	pw_strmap_release(&t->index);
	pw_nft_init(t);
}

/* objects by "kind\x1fname" */
static struct pw_nft_obj *find(const struct pw_nft *t, const char *kind,
			       const char *name)
{
	char key[256];
	size_t kl = strlen(kind), nl = strlen(name);
	if (kl + nl + 2 > sizeof(key)) {
		for (size_t i = 0; i < t->n; i++)
			if (!strcmp(t->v[i].kind, kind) && !strcmp(t->v[i].name, name))
				return &t->v[i];
		return NULL;
	}
	memcpy(key, kind, kl);
	key[kl] = '\x1f';
	memcpy(key + kl + 1, name, nl + 1);
	uintptr_t v = (uintptr_t)pw_strmap_get(&t->index, key);
	return v ? &t->v[v - 1] : NULL;
}

static void add_obj(struct pw_nft *t, const char *kind, const char *name,
		    const char *body)
{
	if (find(t, kind, name))
		return; /* sets and tier chains are shared by content */
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->v = pw_xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	struct pw_nft_obj *o = &t->v[t->n++];
	struct pw_buf k;
	pw_buf_init(&k);
	pw_buf_printf(&k, "%s\x1f%s", kind, name);
	*o = (struct pw_nft_obj){ pw_xstrdup(kind), pw_xstrdup(name),
				  body ? pw_xstrdup(body) : NULL, k.s };
	pw_strmap_put(&t->index, o->key, (void *)(uintptr_t)t->n);
}

void pw_nft_add_obj(struct pw_nft *t, const char *kind, const char *name,
		    const char *body)
{
	add_obj(t, kind, name, body);
}

/* ---- sets --------------------------------------------------------------- */

struct render {
	struct pw_nft_cache *cache; /* NULL: none */
	const struct pw_engine *e;
	const struct pw_dp_port *ports;
	size_t nports;
	struct pw_nft *t;
	struct pw_buf elems; /* scratch */
	size_t nelems;
	bool linear; /* one rule per peer and port, no sets (bench baseline) */
	/* a run of consecutive rules with one action that are all a lookup of
	   (peer address . protocol . port): rendered as one rule */
	struct box *run;
	size_t nrun, run_cap;
	int run_action;
	const char *run_field;
	enum pw_dir run_dir;
	uint32_t seq; /* rules pushed into runs, in order */
	/* rule ids (lib/flow/ids.h): the cache's, or the render's own */
	struct pw_flow_ids *ids;
};

static void elem(struct render *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void elem(struct render *r, const char *fmt, ...)
{
	va_list ap;
	char tmp[160];
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	pw_buf_printf(&r->elems, "%s%s", r->nelems++ ? ", " : "", tmp);
}

/* Emit the collected elements as a named set of the given type; returns
   its name (static buffer, valid until the next call) or NULL if empty. */
static const char *emit_set(struct render *r, const char *type, bool interval,
			    char name[static 24])
{
	if (!r->nelems)
		return NULL;
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_printf(&b, "type %s; %selements = { %s }", type,
		      interval ? "flags interval; auto-merge; " : "", r->elems.s);
	uint64_t h = pw_hash_bytes(b.s, b.len, 0x70777331);
	snprintf(name, 24, "s_%016llx", (unsigned long long)h);
	add_obj(r->t, "set", name, b.s);
	pw_buf_release(&b);
	pw_buf_reset(&r->elems);
	r->nelems = 0;
	return name;
}

static void begin_set(struct render *r)
{
	pw_buf_reset(&r->elems);
	r->nelems = 0;
}

static void elem_addr(struct render *r, const struct pw_addr *a)
{
	char s[48];
	if (a->family != 4)
		return;
	pw_addr_format(a, s);
	elem(r, "%s", s);
}

static void elem_cidr(struct render *r, const struct pw_cidr *c)
{
	char s[52];
	if (c->addr.family != 4)
		return;
	pw_cidr_format(c, s);
	elem(r, "%s", s);
}

static const char *l4name(int pproto)
{
	switch (pproto) {
	case PW_TCP: return "tcp";
	case PW_UDP: return "udp";
	case PW_SCTP: return "sctp";
	default: return "udplite";
	}
}


/* ---- runs: (address . protocol . port) boxes ----------------------------- */

/* An element of a run: addresses [lo, hi] (IPv4, host order), a protocol
   (index into l4name) and ports [plo, phi]. */
struct box {
	uint32_t lo, hi;
	int proto;
	unsigned plo, phi;
	uint32_t seq;	/* the rule's place in the run: the first one decides */
	char to[16];	/* the chain of what the rule does (a_e_7), "" in a set */
};

static void push_box(struct render *r, struct box b)
{
	if (r->nrun == r->run_cap) {
		r->run_cap = r->run_cap ? r->run_cap * 2 : 64;
		r->run = pw_xrealloc(r->run, r->run_cap * sizeof(*r->run));
	}
	r->run[r->nrun++] = b;
}

static int u32_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

static int box_lo_cmp(const void *x, const void *y)
{
	const struct box *a = x, *b = y;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static int range_cmp(const void *x, const void *y)
{
	const struct box *a = x, *b = y;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return a->plo < b->plo ? -1 : a->plo > b->plo;
}

/* The elements of addresses [lo, hi] and each "\x1fproto . ports" of ports */
static void emit_piece(struct pw_buf *out, size_t *n, uint32_t lo, uint32_t hi,
		       const struct pw_buf *ports)
{
	if (!ports->len)
		return;
	struct pw_addr a = pw_addr_from_v4(lo), b = pw_addr_from_v4(hi);
	char as[48], bs[48];
	pw_addr_format(&a, as);
	pw_addr_format(&b, bs);
	char *save, *copy = pw_xstrdup(ports->s);
	for (char *t = strtok_r(copy, "\x1f", &save); t; t = strtok_r(NULL, "\x1f", &save)) {
		if (lo == hi)
			pw_buf_printf(out, "%s%s . %s", (*n)++ ? ", " : "", as, t);
		else
			pw_buf_printf(out, "%s%s-%s . %s", (*n)++ ? ", " : "", as, bs, t);
	}
	free(copy);
}

/*
 * A verdict map's elements for one piece of the address line: per protocol,
 * the port line is cut at the bounds of the boxes that cover the piece and
 * each segment goes to the first rule (lowest seq) that covers it, so that
 * the element names the rule that decides, as the rules in order would.
 * pr holds the m boxes, sorted by protocol and first port.
 */
static void verdict_elem(struct pw_buf *cur, int proto, unsigned lo, unsigned hi,
			 const char *to)
{
	if (lo == hi)
		pw_buf_printf(cur, "\x1f%s . %u : goto %s", l4name(proto), lo, to);
	else
		pw_buf_printf(cur, "\x1f%s . %u-%u : goto %s", l4name(proto), lo, hi, to);
}

static void piece_verdicts(const struct box *pr, size_t m, struct pw_buf *cur)
{
	unsigned *cut = pw_xmalloc(2 * m * sizeof(*cut));
	for (size_t i = 0; i < m;) {
		size_t j = i, nc = 0;
		while (j < m && pr[j].proto == pr[i].proto) {
			cut[nc++] = pr[j].plo;
			cut[nc++] = pr[j].phi + 1;
			j++;
		}
		qsort(cut, nc, sizeof(*cut), u32_cmp);
		const char *run_to = NULL;
		unsigned run_lo = 0, run_hi = 0;
		for (size_t c = 0; c + 1 < nc; c++) {
			unsigned a = cut[c], b = cut[c + 1] - 1;
			if (cut[c + 1] == cut[c])
				continue;
			const struct box *best = NULL;
			for (size_t k = i; k < j; k++)
				if (pr[k].plo <= a && pr[k].phi >= b &&
				    (!best || pr[k].seq < best->seq))
					best = &pr[k];
			const char *to = best ? best->to : NULL;
			if (run_to && to && !strcmp(run_to, to) && run_hi + 1 == a) {
				run_hi = b;
				continue;
			}
			if (run_to)
				verdict_elem(cur, pr[i].proto, run_lo, run_hi, run_to);
			run_to = to;
			run_lo = a;
			run_hi = b;
		}
		if (run_to)
			verdict_elem(cur, pr[i].proto, run_lo, run_hi, run_to);
		i = j;
	}
	free(cut);
}

/*
 * The elements of a run, disjoint: an interval set of concatenations may
 * not hold two elements that overlap (the kernel refuses it), and rules of
 * one action add up.  The address line is cut at every box's bounds; each
 * piece gets the union of the port ranges of the boxes that cover it, and
 * neighbouring pieces with the same ports are joined again.
 */
static void run_elements(struct render *r, struct pw_buf *out)
{
	size_t nc = 0;
	uint32_t *cuts = pw_xmalloc((2 * r->nrun + 1) * sizeof(*cuts));
	bool top = false; /* some box ends at 255.255.255.255 */
	for (size_t i = 0; i < r->nrun; i++) {
		cuts[nc++] = r->run[i].lo;
		if (r->run[i].hi == UINT32_MAX)
			top = true;
		else
			cuts[nc++] = r->run[i].hi + 1;
	}
	qsort(cuts, nc, sizeof(*cuts), u32_cmp);
	size_t u = 0;
	for (size_t i = 0; i < nc; i++)
		if (!u || cuts[u - 1] != cuts[i])
			cuts[u++] = cuts[i];
	struct box *pr = pw_xmalloc((r->nrun + 1) * sizeof(*pr));
	size_t *act = pw_xmalloc((r->nrun + 1) * sizeof(*act)), nact = 0, next = 0;
	qsort(r->run, r->nrun, sizeof(*r->run), box_lo_cmp);
	struct pw_buf cur, prev;
	pw_buf_init(&cur);
	pw_buf_init(&prev);
	uint32_t prev_lo = 0, prev_hi = 0;
	bool have_prev = false;
	size_t n = 0;
	for (size_t c = 0; c < u; c++) {
		uint32_t a = cuts[c];
		uint32_t b = c + 1 < u ? cuts[c + 1] - 1 : UINT32_MAX;
		if (c + 1 == u && !top)
			break; /* past the last box */
		/* the port ranges of the boxes covering [a, b], merged: boxes
		   (by start) join the active ones as the sweep reaches them and
		   leave once they end before a */
		while (next < r->nrun && r->run[next].lo <= a)
			act[nact++] = next++;
		size_t m = 0, keep = 0;
		for (size_t i = 0; i < nact; i++)
			if (r->run[act[i]].hi >= a) {
				act[keep++] = act[i];
				pr[m++] = r->run[act[i]];
			}
		nact = keep;
		qsort(pr, m, sizeof(*pr), range_cmp);
		pw_buf_reset(&cur);
		if (m && pr[0].to[0]) {
			piece_verdicts(pr, m, &cur);
			goto joined;
		}
		for (size_t i = 0; i < m;) {
			struct box x = pr[i++];
			while (i < m && pr[i].proto == x.proto && pr[i].plo <= x.phi + 1) {
				if (pr[i].phi > x.phi)
					x.phi = pr[i].phi;
				i++;
			}
			if (x.plo == x.phi)
				pw_buf_printf(&cur, "\x1f%s . %u", l4name(x.proto), x.plo);
			else
				pw_buf_printf(&cur, "\x1f%s . %u-%u", l4name(x.proto), x.plo, x.phi);
		}
joined:
		if (have_prev && prev_hi + 1 == a && cur.len == prev.len &&
		    (!cur.len || !strcmp(cur.s, prev.s))) {
			prev_hi = b;
			continue;
		}
		if (have_prev)
			emit_piece(out, &n, prev_lo, prev_hi, &prev);
		pw_buf_reset(&prev);
		if (cur.len)
			pw_buf_add(&prev, cur.s, cur.len);
		prev_lo = a;
		prev_hi = b;
		have_prev = true;
	}
	if (have_prev)
		emit_piece(out, &n, prev_lo, prev_hi, &prev);
	pw_buf_release(&cur);
	pw_buf_release(&prev);
	free(pr);
	free(act);
	free(cuts);
}

/* ---- rules ------------------------------------------------------------- */

/* The other end's part of a rule: expressions on field F ("ip saddr" or
   "ip daddr").  False when it can match nothing. */
static bool remote_side(struct render *r, const struct pw_gside *s,
			const char *f, struct pw_buf *m)
{
	const struct pw_engine *e = r->e;
	char name[24];
	const char *set;
	if (s->ndomains)
		return false; /* needs addresses learnt from DNS */
	if (s->nnets) {
		begin_set(r);
		for (uint32_t i = 0; i < s->nnets; i++)
			elem_cidr(r, &s->nets[i]);
		if (!(set = emit_set(r, "ipv4_addr", true, name)))
			return false;
		pw_buf_printf(m, " %s @%s", f, set);
		if (!s->nets_pods)
			pw_buf_printf(m, " %s != @pods", f);
	}
	if (s->nnot_nets) {
		begin_set(r);
		for (uint32_t i = 0; i < s->nnot_nets; i++)
			elem_cidr(r, &s->not_nets[i]);
		if ((set = emit_set(r, "ipv4_addr", true, name)))
			pw_buf_printf(m, " %s != @%s", f, set);
	}
	if (s->pods_only)
		pw_buf_printf(m, " %s @pods", f);
	if (s->ids) {
		begin_set(r);
		for (uint32_t p = 0; p < e->c->npods; p++) {
			if (pw_engine_has_id(e, s->ids, p) && e->c->pods[p].naddrs)
				elem_addr(r, &e->c->pods[p].addrs[0]);
		}
		for (uint32_t i = 0; i < s->nset_nets; i++)
			elem_cidr(r, &s->set_nets[i]);
		if (!(set = emit_set(r, "ipv4_addr", true, name)))
			return false;
		pw_buf_printf(m, " %s @%s", f, set);
	}
	if (s->not_ids) {
		begin_set(r);
		for (uint32_t p = 0; p < e->c->npods; p++) {
			if (pw_engine_has_id(e, s->not_ids, p) && e->c->pods[p].naddrs)
				elem_addr(r, &e->c->pods[p].addrs[0]);
		}
		for (uint32_t i = 0; i < s->nnot_set_nets; i++)
			elem_cidr(r, &s->not_set_nets[i]);
		if ((set = emit_set(r, "ipv4_addr", true, name)))
			pw_buf_printf(m, " %s != @%s", f, set);
	}
	return true;
}

/* Numeric ports (proto . port ranges) of a port list; named ports resolved
   against the pod `at` when at >= 0, or collected as (addr . proto . port)
   over every pod of the cluster when at < 0.  Returns false if the list names ports
   and none can match. */
static void port_sets(struct render *r, const struct pw_np_port *v, uint32_t n,
		      int at, const char **numeric, const char **named,
		      char nbuf[static 24], char xbuf[static 24])
{
	const struct pw_engine *e = r->e;
	*numeric = *named = NULL;
	begin_set(r);
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_np_port *pp = &v[i];
		for (int p = 0; p <= PW_NPROTO; p++) {
			if (pp->proto != p && pp->proto != PW_ANY)
				continue;
			if (pp->proto == PW_ANY && p == PW_NPROTO)
				continue;
			if (pp->name) {
				if (at < 0 || p == PW_NPROTO)
					continue;
				struct pw_ep ep = pw_ep_pod(e->c, (uint32_t)at);
				int port = pw_engine_resolve_named(e, pp, p, &ep);
				if (port)
					elem(r, "%s . %d", l4name(p), port);
			} else if (!pp->port) {
				elem(r, "%s . 1-65535", l4name(p));
			} else if (pp->end_port && pp->end_port != pp->port) {
				elem(r, "%s . %d-%d", l4name(p), pp->port, pp->end_port);
			} else {
				elem(r, "%s . %d", l4name(p), pp->port);
			}
		}
	}
	*numeric = emit_set(r, "inet_proto . inet_service", true, nbuf);
	if (at >= 0)
		return;
	begin_set(r);
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_np_port *pp = &v[i];
		if (!pp->name)
			continue;
		for (uint32_t pod = 0; pod < e->c->npods; pod++) {
			const struct pw_pod *pd = &e->c->pods[pod];
			if (!pd->naddrs || pd->addrs[0].family != 4)
				continue;
			struct pw_ep ep = pw_ep_pod(e->c, pod);
			for (int p = 0; p < PW_NPROTO; p++) {
				if (pp->proto != p && pp->proto != PW_ANY)
					continue;
				int port = pw_engine_resolve_named(e, pp, p, &ep);
				char a[48];
				pw_addr_format(&pd->addrs[0], a);
				if (port)
					elem(r, "%s . %s . %d", a, l4name(p), port);
			}
		}
	}
	*named = emit_set(r, "ipv4_addr . inet_proto . inet_service", false, xbuf);
}

/*
 * What a rule of action a does, carrying its rule id (lib/flow/ids.h):
 * Allow records the id in its direction's half of the conntrack mark, sets
 * the allow bit and returns; Deny logs the packet to the flow group with
 * the id, then drops; Pass sets the pass bit and returns; Log logs.
 */
static void action_text(enum pw_dir dir, enum pw_action a, uint16_t id,
			struct pw_buf *out)
{
	char d = dir == PW_INGRESS ? 'i' : 'e';
	switch (a) {
	case PW_ACT_ALLOW:
		if (!id) /* rendered without ids: no flow log */
			pw_buf_puts(out, "meta mark set meta mark | 0x1 return");
		else if (dir == PW_INGRESS)
			pw_buf_printf(out, "ct mark set ct mark & 0xffff0000 | 0x%08x "
				      "meta mark set meta mark | 0x1 return", id);
		else
			pw_buf_printf(out, "ct mark set ct mark & 0x0000ffff | 0x%08x "
				      "meta mark set meta mark | 0x1 return",
				      (unsigned)id << 16);
		break;
	case PW_ACT_DENY:
		if (!id)
			pw_buf_puts(out, "drop");
		else
			pw_buf_printf(out, "log prefix \"pw D %c %u \" group %u drop", d, id,
				      PW_FLOW_NFLOG_GROUP);
		break;
	case PW_ACT_PASS: /* the rest of the tier is skipped */
		pw_buf_puts(out, "meta mark set meta mark | 0x2 return");
		break;
	default:
		pw_buf_puts(out, "log prefix \"podwall: \"");
		break;
	}
}

/* The id of the step "rule gr of policy g decides", for port k. */
static uint16_t rule_id(struct render *r, size_t k, enum pw_dir dir,
			const struct pw_gpolicy *g, const struct pw_grule *gr)
{
	if (!r->ids)
		return 0;
	struct pw_step st = { .kind = PW_STEP_RULE, .tier = g->tier,
			      .policy = (int)(g - r->e->pols),
			      .rule = (int)(gr - g->rules[dir]), .action = gr->action };
	struct pw_buf b;
	pw_buf_init(&b);
	pw_flow_step_entry(r->e, r->ports[k].pod, dir, &st, &b);
	uint16_t id = pw_flow_ids_get(r->ids, dir, b.s);
	pw_buf_release(&b);
	return id;
}

/* The chain a verdict map's element goes to: the action with its id,
   named by both (a_e_7, d_i_12), so its content follows from its name. */
static const char *action_chain(struct render *r, enum pw_dir dir,
				enum pw_action a, uint16_t id)
{
	char name[24];
	snprintf(name, sizeof(name), "%c_%c_%u", a == PW_ACT_ALLOW ? 'a' : 'd',
		 dir == PW_INGRESS ? 'i' : 'e', id);
	const struct pw_nft_obj *o = find(r->t, "chain", name);
	if (o)
		return o->name;
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_puts(&b, "\t\t");
	action_text(dir, a, id, &b);
	pw_buf_putc(&b, '\n');
	add_obj(r->t, "chain", name, b.s);
	pw_buf_release(&b);
	return find(r->t, "chain", name)->name;
}

static void flush_run(struct render *r, struct pw_buf *chain)
{
	if (!r->nrun)
		return;
	struct pw_buf b, el;
	pw_buf_init(&b);
	pw_buf_init(&el);
	run_elements(r, &el);
	bool vmap = r->run[0].to[0] != 0;
	/* a counter per element: per peer and port */
	pw_buf_printf(&b, "type ipv4_addr . inet_proto . inet_service%s; flags interval; "
		      "counter; elements = { %s }", vmap ? " : verdict" : "",
		      el.s ? el.s : "");
	pw_buf_release(&el);
	uint64_t h = pw_hash_bytes(b.s, b.len, 0x72756e31);
	char name[24];
	snprintf(name, sizeof(name), "%c_%016llx", vmap ? 'm' : 's', (unsigned long long)h);
	add_obj(r->t, vmap ? "map" : "set", name, b.s);
	/* the chains its elements go to (a rule that no element needs, all
	   of whose boxes earlier rules cover, gets none) */
	for (const char *q = vmap ? b.s : ""; (q = strstr(q, "goto "));) {
		q += 5;
		size_t l = strcspn(q, " ,}");
		char cn[24];
		snprintf(cn, sizeof(cn), "%.*s", (int)l, q);
		unsigned id = 0;
		char act = cn[0], d = cn[2];
		sscanf(cn + 4, "%u", &id);
		action_chain(r, d == 'i' ? PW_INGRESS : PW_EGRESS,
			     act == 'a' ? PW_ACT_ALLOW : PW_ACT_DENY, (uint16_t)id);
		q += l;
	}
	if (vmap) {
		pw_buf_printf(chain, "\t\t%s . meta l4proto . th dport vmap @%s\n",
			      r->run_field, name);
	} else {
		struct pw_buf act;
		pw_buf_init(&act);
		action_text(r->run_dir, (enum pw_action)r->run_action, 0, &act);
		pw_buf_printf(chain, "\t\t%s . meta l4proto . th dport @%s counter %s\n",
			      r->run_field, name, act.s);
		pw_buf_release(&act);
	}
	r->t->rules++;
	pw_buf_release(&b);
	r->nrun = 0;
}

/* Address elements of a remote side that is only a set of addresses (no
   negation, no other predicate); false if it is more than that. */
static bool remote_addrs(struct render *r, const struct pw_gside *s,
			 struct pw_buf *out, size_t *n)
{
	const struct pw_engine *e = r->e;
	char as[52];
	if (s->ndomains || s->nnot_nets || s->not_ids || (s->nnets && s->ids) ||
	    (s->nnets && !s->nets_pods))
		return false;
	if (s->nnets) {
		for (uint32_t i = 0; i < s->nnets; i++)
			if (s->nets[i].addr.family == 4) {
				pw_cidr_format(&s->nets[i], as);
				pw_buf_printf(out, "%s%s", (*n)++ ? "\x1f" : "", as);
			}
		return true;
	}
	if (s->ids) {
		for (uint32_t p = 0; p < e->c->npods; p++) {
			if (pw_engine_has_id(e, s->ids, p) && e->c->pods[p].naddrs &&
			    e->c->pods[p].addrs[0].family == 4) {
				pw_addr_format(&e->c->pods[p].addrs[0], as);
				pw_buf_printf(out, "%s%s", (*n)++ ? "\x1f" : "", as);
			}
		}
		for (uint32_t i = 0; i < s->nset_nets; i++)
			if (s->set_nets[i].addr.family == 4) {
				pw_cidr_format(&s->set_nets[i], as);
				pw_buf_printf(out, "%s%s", (*n)++ ? "\x1f" : "", as);
			}
		return true;
	}
	if (s->pods_only)
		return false;
	pw_buf_printf(out, "%s0.0.0.0/0", (*n)++ ? "\x1f" : "");
	return true;
}

/* Can rule gr be part of a run?  Then add its elements and return true. */
static bool try_run(struct render *r, size_t k, enum pw_dir dir,
		    const struct pw_gpolicy *g, const struct pw_grule *gr,
		    struct pw_buf *chain)
{
	const struct pw_engine *e = r->e;
	const struct pw_gside *remote = dir == PW_EGRESS ? &gr->dst : &gr->src;
	const struct pw_gside *d = &gr->dst;
	if (r->linear || gr->action == PW_ACT_LOG || gr->not_proto != PW_ANY ||
	    gr->icmp_type != PW_ANY || gr->not_icmp_type != PW_ANY ||
	    gr->ip_version || !d->nports || d->nnot_ports)
		return false;
	/* named destination ports: only when the destination is P */
	for (uint32_t i = 0; i < d->nports; i++)
		if (d->ports[i].name && dir == PW_EGRESS)
			return false;
	struct pw_buf addrs;
	size_t na = 0;
	pw_buf_init(&addrs);
	if (!remote_addrs(r, remote, &addrs, &na)) {
		pw_buf_release(&addrs);
		return false;
	}
	const char *f = dir == PW_EGRESS ? "ip daddr" : "ip saddr";
	if (r->nrun && (r->run_action != (int)gr->action || strcmp(r->run_field, f)))
		flush_run(r, chain);
	r->run_action = (int)gr->action;
	r->run_field = f;
	r->run_dir = dir;
	uint32_t seq = r->seq++;
	char to[16] = "";
	if (r->ids && (gr->action == PW_ACT_ALLOW || gr->action == PW_ACT_DENY))
		snprintf(to, sizeof(to), "%c_%c_%u", gr->action == PW_ACT_ALLOW ? 'a' : 'd',
			 dir == PW_INGRESS ? 'i' : 'e', rule_id(r, k, dir, g, gr));
	/* ports, named ones resolved against P (the destination) */
	struct pw_ep self = pw_ep_pod(e->c, r->ports[k].pod);
	char *save, *tok;
	for (uint32_t i = 0; i < d->nports; i++) {
		const struct pw_np_port *pp = &d->ports[i];
		for (int p = 0; p <= PW_NPROTO; p++) {
			if (pp->proto != p && pp->proto != PW_ANY)
				continue;
			if (pp->proto == PW_ANY && p == PW_NPROTO)
				continue;
			char ports[24];
			if (gr->proto != PW_ANY && pw_proto_ip(p) != gr->proto)
				continue;
			if (pp->name) {
				int v = p < PW_NPROTO ? pw_engine_resolve_named(e, pp, p, &self) : 0;
				if (!v)
					continue;
				snprintf(ports, sizeof(ports), "%d", v);
			} else if (!pp->port) {
				snprintf(ports, sizeof(ports), "1-65535");
			} else if (pp->end_port && pp->end_port != pp->port) {
				snprintf(ports, sizeof(ports), "%d-%d", pp->port, pp->end_port);
			} else {
				snprintf(ports, sizeof(ports), "%d", pp->port);
			}
			unsigned plo, phi;
			if (sscanf(ports, "%u-%u", &plo, &phi) != 2)
				plo = phi = (unsigned)atoi(ports);
			char *copy = pw_xstrdup(addrs.s ? addrs.s : "");
			for (tok = strtok_r(copy, "\x1f", &save); tok;
			     tok = strtok_r(NULL, "\x1f", &save)) {
				struct pw_cidr c;
				if (pw_cidr_parse(tok, &c) < 0) {
					if (pw_addr_parse(tok, &c.addr) < 0)
						continue;
					c.len = 32;
				}
				uint32_t lo, hi;
				pw_cidr_v4_range(&c, &lo, &hi);
				struct box bx = { lo, hi, p, plo, phi, seq, "" };
				memcpy(bx.to, to, sizeof(bx.to));
				push_box(r, bx);
			}
			free(copy);
		}
	}
	pw_buf_release(&addrs);
	return true;
}

/* One compiled rule of endpoint P (port index k) in direction dir. */
static void render_rule(struct render *r, size_t k, enum pw_dir dir,
			const struct pw_gpolicy *g, const struct pw_grule *gr,
			struct pw_buf *chain)
{
	const struct pw_engine *e = r->e;
	uint32_t pod = r->ports[k].pod;
	struct pw_ep self = pw_ep_pod(e->c, pod);
	const struct pw_gside *local = dir == PW_EGRESS ? &gr->src : &gr->dst;
	const struct pw_gside *remote = dir == PW_EGRESS ? &gr->dst : &gr->src;
	const char *f = dir == PW_EGRESS ? "ip daddr" : "ip saddr";
	if (!pw_engine_side_match(e, local, &self))
		return;
	if (gr->ip_version == 6)
		return; /* the dataplane is IPv4 */
	if (try_run(r, k, dir, g, gr, chain))
		return;
	flush_run(r, chain);
	struct pw_buf m;
	pw_buf_init(&m);
	if (gr->proto != PW_ANY)
		pw_buf_printf(&m, " meta l4proto %d", gr->proto);
	if (gr->not_proto != PW_ANY)
		pw_buf_printf(&m, " meta l4proto != %d", gr->not_proto);
	if (gr->icmp_type != PW_ANY) {
		const char *ic = gr->proto == PW_IPPROTO_ICMPV6 ? "icmpv6" : "icmp";
		pw_buf_printf(&m, " %s type %d", ic, gr->icmp_type);
		if (gr->icmp_code != PW_ANY)
			pw_buf_printf(&m, " %s code %d", ic, gr->icmp_code);
	}
	if (gr->not_icmp_type != PW_ANY) {
		if (gr->not_icmp_code != PW_ANY)
			pw_buf_printf(&m, " icmp type . icmp code != { %d . %d }",
				      gr->not_icmp_type, gr->not_icmp_code);
		else
			pw_buf_printf(&m, " icmp type != %d", gr->not_icmp_type);
	}
	if (!remote_side(r, remote, f, &m)) {
		pw_buf_release(&m);
		return;
	}
	/* ports are the destination's: named ones resolve against P when P is
	   the destination, against the other end's address otherwise */
	char nb[24], xb[24], nnb[24], nxb[24];
	const char *num = NULL, *named = NULL, *nnum = NULL, *nnamed = NULL;
	int at = dir == PW_INGRESS ? (int)pod : -1;
	const struct pw_gside *d = &gr->dst;
	if (d->nports) {
		port_sets(r, d->ports, d->nports, at, &num, &named, nb, xb);
		if (!num && !named) {
			pw_buf_release(&m);
			return;
		}
	}
	if (d->nnot_ports) {
		port_sets(r, d->not_ports, d->nnot_ports, at, &nnum, &nnamed, nnb, nxb);
		if (nnum)
			pw_buf_printf(&m, " meta l4proto . th dport != @%s", nnum);
		if (nnamed)
			pw_buf_printf(&m, " ip daddr . meta l4proto . th dport != @%s",
				      nnamed);
	}
	struct pw_buf actb;
	pw_buf_init(&actb);
	action_text(dir, gr->action,
		    gr->action == PW_ACT_ALLOW || gr->action == PW_ACT_DENY
			    ? rule_id(r, k, dir, g, gr) : 0, &actb);
	const char *act = actb.s;
	/* numeric and named ports are alternatives: two rules, one action */
	if (!d->nports) {
		pw_buf_printf(chain, "\t\t%s counter %s comment \"%s %s[%u]\"\n",
			      m.s ? m.s : "", act, g->name,
			      dir == PW_INGRESS ? "ingress" : "egress", gr->index);
		r->t->rules++;
	}
	if (num) {
		pw_buf_printf(chain, "\t\t%s meta l4proto . th dport @%s counter %s comment \"%s %s[%u]\"\n",
			      m.s ? m.s : "", num, act, g->name,
			      dir == PW_INGRESS ? "ingress" : "egress", gr->index);
		r->t->rules++;
	}
	if (named) {
		pw_buf_printf(chain, "\t\t%s ip daddr . meta l4proto . th dport @%s counter %s comment \"%s %s[%u]\"\n",
			      m.s ? m.s : "", named, act, g->name,
			      dir == PW_INGRESS ? "ingress" : "egress", gr->index);
		r->t->rules++;
	}
	pw_buf_release(&actb);
	pw_buf_release(&m);
}

/* The kind of a table object by its name: sets s_*, verdict maps m_*,
   chains. */
static const char *kind_of(const char *name)
{
	if (name[1] == '_' && (name[0] == 's' || name[0] == 'm'))
		return name[0] == 's' ? "set" : "map";
	return "chain";
}

/* ---- policy chains, and their cache ---------------------------------------- */

struct centry {
	char *key;
	char *chain; /* its name; NULL: a marker (the render depends on the
			endpoint's address: look again with it) */
	char **sets; /* names of the sets it looks up */
	size_t nsets;
	size_t rules;
	uint32_t slot, gen;
};

/* What one endpoint (port, direction) rendered: the objects it uses. */
struct epc {
	char *sig; /* what it was rendered from */
	char **kinds, **names;
	size_t n;
	size_t rules;
};

struct pw_nft_cache {
	/* endpoints: per port and direction (k * 2 + dir), and the objects
	   they use, counted */
	struct epc *eps;
	size_t neps;
	struct pw_nft store;
	uint32_t *refs;
	size_t dead;
	uint64_t serial; /* the engine build it holds renders of */
	struct pw_strmap map; /* key -> struct centry * */
	struct centry **v;
	size_t n, cap;
	struct pw_nft objs; /* the chains and sets of the entries */
	size_t hits, misses;
	struct pw_flow_ids *ids; /* rule ids; NULL: rendered without */
	/* policy chains an endpoint being rendered took from the cache */
	const struct centry **took;
	size_t ntook, took_cap;
};

struct pw_nft_cache *pw_nft_cache_new(void)
{
	struct pw_nft_cache *c = pw_xcalloc(1, sizeof(*c));
	pw_strmap_init(&c->map);
	pw_nft_init(&c->objs);
	pw_nft_init(&c->store);
	return c;
}

static void epc_release(struct epc *x)
{
	free(x->sig);
	for (size_t i = 0; i < x->n; i++) {
		free(x->kinds[i]);
		free(x->names[i]);
	}
	free(x->kinds);
	free(x->names);
	memset(x, 0, sizeof(*x));
}

static void centry_free(struct centry *x)
{
	free(x->key);
	free(x->chain);
	for (size_t i = 0; i < x->nsets; i++)
		free(x->sets[i]);
	free(x->sets);
	free(x);
}

static void cache_clear(struct pw_nft_cache *c)
{
	for (size_t i = 0; i < c->neps; i++)
		epc_release(&c->eps[i]);
	free(c->eps);
	c->eps = NULL;
	c->neps = 0;
	pw_nft_release(&c->store);
	pw_nft_init(&c->store);
	free(c->refs);
	c->refs = NULL;
	c->dead = 0;
	for (size_t i = 0; i < c->n; i++)
		centry_free(c->v[i]);
	free(c->took);
	c->took = NULL;
	c->ntook = c->took_cap = 0;
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
	pw_strmap_release(&c->map);
	pw_strmap_init(&c->map);
	pw_nft_release(&c->objs);
	pw_nft_init(&c->objs);
}

void pw_nft_cache_free(struct pw_nft_cache *c)
{
	if (!c)
		return;
	cache_clear(c);
	free(c);
}

void pw_nft_cache_set_ids(struct pw_nft_cache *c, struct pw_flow_ids *ids)
{
	c->ids = ids;
}

struct pw_flow_ids *pw_nft_cache_ids(const struct pw_nft_cache *c)
{
	return c->ids;
}

void pw_nft_cache_stats(const struct pw_nft_cache *c, size_t *hits, size_t *misses)
{
	*hits = c->hits;
	*misses = c->misses;
}

/* Drop the entries of policies recompiled since (and their objects, when
   enough went). */
static void cache_trim(struct pw_nft_cache *c, const struct pw_engine *e)
{
	/* stale entries are unreachable (their key has the old generation):
	   they go when they are a quarter of all */
	size_t stale = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct centry *x = c->v[i];
		stale += x->slot >= e->npols || e->pols[x->slot].gen != x->gen;
	}
	if (!stale || stale * 4 < c->n)
		return;
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct centry *x = c->v[i];
		if (x->slot >= e->npols || e->pols[x->slot].gen != x->gen)
			centry_free(x);
		else
			c->v[n++] = x;
	}
	c->n = n;
	pw_strmap_release(&c->map);
	pw_strmap_init(&c->map);
	struct pw_nft keep;
	pw_nft_init(&keep);
	for (size_t i = 0; i < n; i++) {
		const struct centry *x = c->v[i];
		pw_strmap_put(&c->map, x->key, c->v[i]);
		const struct pw_nft_obj *o = x->chain ? find(&c->objs, "chain", x->chain) : NULL;
		if (o)
			add_obj(&keep, "chain", o->name, o->body);
		for (size_t k = 0; k < x->nsets; k++)
			if ((o = find(&c->objs, kind_of(x->sets[k]), x->sets[k])))
				add_obj(&keep, kind_of(x->sets[k]), o->name, o->body);
	}
	pw_nft_release(&c->objs);
	c->objs = keep;
}

/* The objects a chain body uses: the sets and maps it looks up ("@s_",
   "@m_"), and the chains the maps' elements go to (t holds the maps). */
static void referenced_sets(const struct pw_nft *t, const char *body,
			    struct centry *x)
{
	for (const char *p = body; (p = strchr(p, '@'));) {
		p++;
		if (!(p[0] == 's' || p[0] == 'm') || p[1] != '_')
			continue;
		if (p[0] == 'm') {
			char mn[24];
			snprintf(mn, sizeof(mn), "%.18s", p);
			const struct pw_nft_obj *m = find(t, "map", mn);
			for (const char *q = m && m->body ? m->body : ""; (q = strstr(q, "goto "));) {
				q += 5;
				size_t l = strcspn(q, " ,}");
				char *cn = strndup(q, l);
				bool have = false;
				for (size_t i = 0; i < x->nsets && !have; i++)
					have = !strcmp(x->sets[i], cn);
				if (have) {
					free(cn);
				} else {
					x->sets = pw_xrealloc(x->sets, (x->nsets + 1) * sizeof(char *));
					x->sets[x->nsets++] = cn;
				}
				q += l;
			}
		}
		size_t len = 0;
		while (p[len] && p[len] != ' ' && p[len] != '\n' && p[len] != ',')
			len++;
		char *name = strndup(p, len);
		bool dup = false;
		for (size_t i = 0; i < x->nsets && !dup; i++)
			dup = !strcmp(x->sets[i], name);
		if (dup) {
			free(name);
		} else {
			x->sets = pw_xrealloc(x->sets, (x->nsets + 1) * sizeof(char *));
			x->sets[x->nsets++] = name;
		}
		p += len;
	}
}

/*
 * The chain of policy g for port k in direction dir: its rules, in order;
 * Allow sets the allow bit and returns, Pass sets the pass bit and
 * returns, Deny drops.  Named by its content.  Returns its name (in the
 * table).
 */
static const char *policy_chain(struct render *r, size_t k, enum pw_dir dir,
				uint32_t slot)
{
	const struct pw_engine *e = r->e;
	const struct pw_gpolicy *g = &e->pols[slot];
	uint32_t pod = r->ports[k].pod;
	/* what the render depends on: the policy's compilation, and the
	   endpoint's identity (labels, namespace, service account, named
	   ports), and its address when a rule's own side has nets */
	struct pw_buf key;
	pw_buf_init(&key);
	pw_buf_u32(&key, slot);
	pw_buf_putc(&key, ':');
	pw_buf_u32(&key, g->gen);
	pw_buf_putc(&key, dir == PW_INGRESS ? 'i' : 'e');
	pw_buf_u32(&key, e->pod_identity[pod]);
	struct centry *x = r->cache ? pw_strmap_get(&r->cache->map, key.s) : NULL;
	if (x && !x->chain) {
		char a[48];
		const struct pw_pod *p = &e->c->pods[pod];
		if (p->naddrs)
			pw_addr_format(&p->addrs[0], a);
		else
			strcpy(a, "-");
		pw_buf_printf(&key, "@%s", a);
		x = pw_strmap_get(&r->cache->map, key.s);
	}
	if (x) {
		struct pw_nft_cache *c = r->cache;
		c->hits++;
		if (c->ntook == c->took_cap) {
			c->took_cap = c->took_cap ? c->took_cap * 2 : 64;
			c->took = pw_xrealloc(c->took, c->took_cap * sizeof(*c->took));
		}
		c->took[c->ntook++] = x;
		r->t->rules += x->rules;
		pw_buf_release(&key);
		return x->chain;
	}
	bool by_addr = false;
	for (uint32_t i = 0; i < g->nrules[dir] && !by_addr; i++) {
		const struct pw_gside *l = dir == PW_EGRESS ? &g->rules[dir][i].src
							    : &g->rules[dir][i].dst;
		by_addr = l->nnets || l->nnot_nets || l->nset_nets || l->nnot_set_nets;
	}
	if (by_addr && r->cache) {
		/* a marker under the key without the address */
		struct centry *m = pw_xcalloc(1, sizeof(*m));
		m->key = pw_xstrdup(key.s);
		m->slot = slot;
		m->gen = g->gen;
		if (r->cache->n == r->cache->cap) {
			r->cache->cap = r->cache->cap ? r->cache->cap * 2 : 64;
			r->cache->v = pw_xrealloc(r->cache->v, r->cache->cap * sizeof(*r->cache->v));
		}
		r->cache->v[r->cache->n++] = m;
		pw_strmap_put(&r->cache->map, m->key, m);
		char a[48];
		const struct pw_pod *p = &e->c->pods[pod];
		if (p->naddrs)
			pw_addr_format(&p->addrs[0], a);
		else
			strcpy(a, "-");
		pw_buf_printf(&key, "@%s", a);
	}
	size_t rules0 = r->t->rules;
	struct pw_buf ch, name;
	pw_buf_init(&ch);
	pw_buf_init(&name);
	for (uint32_t i = 0; i < g->nrules[dir]; i++)
		render_rule(r, k, dir, g, &g->rules[dir][i], &ch);
	flush_run(r, &ch);
	const char *body = ch.s ? ch.s : "";
	pw_buf_printf(&name, "p_%016llx",
		      (unsigned long long)pw_hash_bytes(body, strlen(body), 0x706f6c696379));
	add_obj(r->t, "chain", name.s, body);
	if (r->cache) {
		r->cache->misses++;
		x = pw_xcalloc(1, sizeof(*x));
		x->key = pw_xstrdup(key.s);
		x->chain = pw_xstrdup(name.s);
		x->rules = r->t->rules - rules0;
		x->slot = slot;
		x->gen = g->gen;
		referenced_sets(r->t, body, x);
		add_obj(&r->cache->objs, "chain", name.s, body);
		for (size_t i = 0; i < x->nsets; i++) {
			const char *kd = kind_of(x->sets[i]);
			const struct pw_nft_obj *o = find(r->t, kd, x->sets[i]);
			if (o)
				add_obj(&r->cache->objs, kd, o->name, o->body);
		}
		if (r->cache->n == r->cache->cap) {
			r->cache->cap = r->cache->cap ? r->cache->cap * 2 : 64;
			r->cache->v = pw_xrealloc(r->cache->v, r->cache->cap * sizeof(*r->cache->v));
		}
		r->cache->v[r->cache->n++] = x;
		pw_strmap_put(&r->cache->map, x->key, x);
	}
	const char *res = find(r->t, "chain", name.s)->name;
	pw_buf_release(&ch);
	pw_buf_release(&name);
	pw_buf_release(&key);
	return res;
}

/* An object an endpoint uses: into the store, counted. */
static void store_ref(struct pw_nft_cache *c, const struct pw_nft_obj *o)
{
	struct pw_nft_obj *x = find(&c->store, o->kind, o->name);
	size_t i;
	if (x && x->body) {
		i = (size_t)(x - c->store.v);
	} else if (x) { /* dead: alive again */
		x->body = pw_xstrdup(o->body);
		i = (size_t)(x - c->store.v);
		c->dead--;
	} else {
		add_obj(&c->store, o->kind, o->name, o->body);
		i = c->store.n - 1;
		c->refs = pw_xrealloc(c->refs, c->store.cap * sizeof(*c->refs));
		c->refs[i] = 0;
	}
	c->refs[i]++;
}

static void store_unref(struct pw_nft_cache *c, const char *kind, const char *name)
{
	struct pw_nft_obj *x = find(&c->store, kind, name);
	if (!x || !x->body)
		return;
	size_t i = (size_t)(x - c->store.v);
	if (--c->refs[i] == 0) {
		free(x->body);
		x->body = NULL;
		c->dead++;
	}
}

/* Drop the dead objects of the store when they are many. */
static void store_compact(struct pw_nft_cache *c)
{
	if (c->dead < 1024 || c->dead * 2 < c->store.n)
		return;
	struct pw_nft keep;
	pw_nft_init(&keep);
	uint32_t *refs = pw_xcalloc(c->store.n + 1, sizeof(*refs));
	for (size_t i = 0; i < c->store.n; i++)
		if (c->store.v[i].body) {
			add_obj(&keep, c->store.v[i].kind, c->store.v[i].name, c->store.v[i].body);
			refs[keep.n - 1] = c->refs[i];
		}
	pw_nft_release(&c->store);
	free(c->refs);
	c->store = keep;
	c->refs = pw_xrealloc(refs, (keep.cap + 1) * sizeof(*refs));
	c->dead = 0;
}

static void render_endpoint(struct render *r, size_t k, enum pw_dir dir);

/* Endpoint k in direction dir, from the cache when nothing it depends on
   changed: its pod, interface and index, and the generation of each of
   its applicable policies. */
static void cached_endpoint(struct render *r, size_t k, enum pw_dir dir, bool render)
{
	struct pw_nft_cache *c = r->cache;
	size_t slot = k * 2 + (size_t)dir;
	if (slot >= c->neps) {
		size_t n = slot + 1 > c->neps * 2 ? slot + 1 : c->neps * 2;
		c->eps = pw_xrealloc(c->eps, n * sizeof(*c->eps));
		memset(c->eps + c->neps, 0, (n - c->neps) * sizeof(*c->eps));
		c->neps = n;
	}
	struct epc *x = &c->eps[slot];
	struct pw_buf sig;
	pw_buf_init(&sig);
	pw_buf_printf(&sig, "%u|%s|%d|", r->ports[k].pod, r->ports[k].ifname, render);
	uint32_t n = 0;
	const uint32_t *pols = render ? pw_engine_applicable(r->e, r->ports[k].pod, dir, &n) : NULL;
	for (uint32_t i = 0; i < n; i++) {
		pw_buf_u32(&sig, pols[i]);
		pw_buf_putc(&sig, ':');
		pw_buf_u32(&sig, r->e->pols[pols[i]].gen);
		pw_buf_putc(&sig, ',');
	}
	if (x->sig && !strcmp(x->sig, sig.s)) {
		r->t->rules += x->rules;
		pw_buf_release(&sig);
		return;
	}
	for (size_t i = 0; i < x->n; i++)
		store_unref(c, x->kinds[i], x->names[i]);
	epc_release(x);
	x->sig = sig.s;
	if (!render)
		return;
	struct pw_nft tmp, *out = r->t;
	pw_nft_init(&tmp);
	r->t = &tmp;
	c->ntook = 0;
	render_endpoint(r, k, dir);
	r->t = out;
	x->rules = tmp.rules;
	out->rules += tmp.rules;
	/* what it rendered, and what it took from the policy cache; an
	   object taken twice is used once */
	for (size_t i = 0; i < c->ntook; i++) {
		const struct centry *t = c->took[i];
		if (!find(&tmp, "chain", t->chain))
			add_obj(&tmp, "chain", t->chain, NULL);
		for (size_t j = 0; j < t->nsets; j++)
			if (!find(&tmp, kind_of(t->sets[j]), t->sets[j]))
				add_obj(&tmp, kind_of(t->sets[j]), t->sets[j], NULL);
	}
	x->kinds = pw_xcalloc(tmp.n + 1, sizeof(char *));
	x->names = pw_xcalloc(tmp.n + 1, sizeof(char *));
	for (size_t i = 0; i < tmp.n; i++) {
		const struct pw_nft_obj *o = &tmp.v[i];
		if (!o->body) /* taken: its content is in the policy cache */
			o = find(&c->objs, o->kind, o->name);
		store_ref(c, o);
		x->kinds[i] = pw_xstrdup(tmp.v[i].kind);
		x->names[i] = pw_xstrdup(tmp.v[i].name);
	}
	x->n = tmp.n;
	c->ntook = 0;
	pw_nft_release(&tmp);
}

/* "The profile allowed": the profile's id in dir's half of the conntrack
   mark (no allow bit: nothing follows).  In a chain named by it, x_e_ID,
   for pods no policy applies to; the statement is returned. */
static uint16_t profile_stmt(struct render *r, size_t k, enum pw_dir dir,
			     char stmt[static 64])
{
	struct pw_buf en;
	pw_buf_init(&en);
	pw_flow_step_entry(r->e, r->ports[k].pod, dir, NULL, &en);
	uint16_t id = pw_flow_ids_get(r->ids, dir, en.s);
	pw_buf_release(&en);
	if (dir == PW_INGRESS)
		snprintf(stmt, 64, "ct mark set ct mark & 0xffff0000 | 0x%08x", id);
	else
		snprintf(stmt, 64, "ct mark set ct mark & 0x0000ffff | 0x%08x",
			 (unsigned)id << 16);
	return id;
}

static const char *profile_chain(struct render *r, size_t k, enum pw_dir dir)
{
	char stmt[64];
	unsigned id = profile_stmt(r, k, dir, stmt);
	char name[24];
	snprintf(name, sizeof(name), "x_%c_%u", dir == PW_INGRESS ? 'i' : 'e', id);
	if (!find(r->t, "chain", name)) {
		char body[80];
		snprintf(body, sizeof(body), "\t\t%s\n", stmt);
		add_obj(r->t, "chain", name, body);
	}
	return find(r->t, "chain", name)->name;
}

static void render_endpoint(struct render *r, size_t k, enum pw_dir dir)
{
	const struct pw_engine *e = r->e;
	uint32_t pod = r->ports[k].pod;
	const char *dn = dir == PW_EGRESS ? "eg" : "in";
	uint32_t n;
	const uint32_t *pols = pw_engine_applicable(e, pod, dir, &n);
	struct pw_buf top, ch, name;
	pw_buf_init(&top);
	pw_buf_init(&ch);
	pw_buf_init(&name);
	uint32_t i = 0;
	while (i < n) {
		uint32_t tier = e->pols[pols[i]].tier;
		uint32_t first = pols[i];
		pw_buf_reset(&ch);
		for (; i < n && e->pols[pols[i]].tier == tier; i++) {
			const char *pc = policy_chain(r, k, dir, pols[i]);
			/* allowed or passed: the tier is done */
			pw_buf_printf(&ch, "\t\tjump %s\n\t\tmeta mark & 0x3 != 0x0 return\n", pc);
		}
		if (e->tiers[tier].default_action == PW_ACT_DENY) {
			struct pw_step st = { .kind = PW_STEP_END_OF_TIER, .tier = tier,
					      .policy = (int)first, .rule = -1,
					      .action = PW_ACT_DENY };
			struct pw_buf en;
			pw_buf_init(&en);
			pw_flow_step_entry(e, pod, dir, &st, &en);
			pw_buf_puts(&ch, "\t\tcounter ");
			action_text(dir, PW_ACT_DENY, r->ids ? pw_flow_ids_get(r->ids, dir, en.s) : 0,
				    &ch);
			pw_buf_printf(&ch, " comment \"end of tier %s\"\n", e->tiers[tier].name);
			pw_buf_release(&en);
			r->t->rules++;
		}
		/* named by content: pods whose rules are alike share it */
		const char *body = ch.s ? ch.s : "";
		pw_buf_reset(&name);
		pw_buf_printf(&name, "t_%016llx",
			      (unsigned long long)pw_hash_bytes(body, strlen(body), 0x7469657263686e));
		add_obj(r->t, "chain", name.s, body);
		pw_buf_printf(&top,
			      "\t\tjump %s\n\t\tmeta mark & 0x1 == 0x1 return\n"
			      "\t\tmeta mark set meta mark & 0xfffffffd\n",
			      name.s);
	}
	/* no tier decided: the namespace's profile allows */
	char stmt[64] = "return";
	if (r->ids)
		profile_stmt(r, k, dir, stmt);
	pw_buf_printf(&top, "\t\t%s\n", stmt);
	pw_buf_reset(&name);
	pw_buf_printf(&name, "%s_%zu", dn, k);
	add_obj(r->t, "chain", name.s, top.s);
	pw_buf_release(&top);
	pw_buf_release(&ch);
	pw_buf_release(&name);
}

/* Egress rules whose destination names DNS domains: directly (Calico
   `domains`), or through the network sets a selector picks
   (`allowedEgressDomains`).  Ingress rules need none: their destination is
   the pod itself, which no domain matches. */
void pw_nft_unenforced(const struct pw_engine *e, struct pw_diags *d)
{
	size_t first = d->n;
	for (uint32_t k = 0; k < e->npols; k++) {
		const struct pw_gpolicy *g = &e->pols[k];
		int last = -1;
		for (uint32_t i = 0; i < g->nrules[PW_EGRESS]; i++) {
			const struct pw_grule *gr = &g->rules[PW_EGRESS][i];
			if ((int)gr->index == last)
				continue;
			if (gr->dst.ndomains) {
				pw_warn(d, gr->pos,
					"%s egress[%u]: destination domains are not enforced in "
					"the lab (its dataplane learns no addresses from DNS): the "
					"rule is left out of the ruleset, and lab probe counts "
					"the connections it may decide as untested",
					g->display, gr->index);
				last = (int)gr->index;
			} else if (gr->dst.ids && gr->dst.nset_domains) {
				pw_warn(d, gr->pos,
					"%s egress[%u]: the allowedEgressDomains of the network "
					"sets its destination selects are not enforced in the lab "
					"(its dataplane learns no addresses from DNS): only their "
					"nets and the pods match, and lab probe counts the "
					"connections the domains may decide as untested",
					g->display, gr->index);
				last = (int)gr->index;
			}
		}
	}
	/* by file and position */
	for (size_t i = first + 1; i < d->n; i++) {
		struct pw_diag x = d->v[i];
		size_t j = i;
		while (j > first && pw_pos_cmp(&d->v[j - 1].pos, &x.pos) > 0) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = x;
	}
}

void pw_nft_build(const struct pw_engine *e, const struct pw_dp_port *ports,
		  size_t nports, struct pw_nft *out)
{
	pw_nft_build_opts(e, ports, nports, false, out);
}

void pw_nft_build_opts(const struct pw_engine *e, const struct pw_dp_port *ports,
		       size_t nports, bool linear, struct pw_nft *out)
{
	pw_nft_build_cached(e, ports, nports, linear, NULL, out);
}

void pw_nft_build_cached(const struct pw_engine *e, const struct pw_dp_port *ports,
			 size_t nports, bool linear, struct pw_nft_cache *cache,
			 struct pw_nft *out)
{
	struct render r = { 0 };
	if (cache && cache->serial != e->serial) {
		cache_clear(cache);
		cache->serial = e->serial;
	}
	r.cache = cache;
	r.e = e;
	r.ports = ports;
	r.nports = nports;
	r.t = out;
	r.linear = linear;
	/* ids when a registry is given (an agent with a flow log); a render
	   of its own (lab render) has ids as the lab's agents have them */
	struct pw_flow_ids *own = NULL;
	r.ids = cache ? cache->ids : (own = pw_flow_ids_new(NULL, NULL));
	pw_buf_init(&r.elems);
	r.run = NULL;
	r.nrun = r.run_cap = 0;
	/* the cluster's pods: peers are every pod, wherever it runs (an
	   agent enforces for its node's pods only, against all) */
	begin_set(&r);
	for (uint32_t k = 0; k < e->c->npods; k++) {
		const struct pw_pod *p = &e->c->pods[k];
		if (p->naddrs)
			elem_addr(&r, &p->addrs[0]);
	}
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_printf(&b, "type ipv4_addr; flags interval; %s%s%s",
		      r.nelems ? "elements = { " : "", r.nelems ? r.elems.s : "",
		      r.nelems ? " }" : "");
	add_obj(out, "set", "pods", b.s);
	pw_buf_reset(&r.elems);
	r.nelems = 0;
	struct pw_buf fw, egm, inm;
	pw_buf_init(&fw);
	pw_buf_init(&egm);
	pw_buf_init(&inm);
	size_t ne = 0, ni = 0;
	for (size_t k = 0; k < nports; k++) {
		struct pw_ep ep = pw_ep_pod(e->c, ports[k].pod);
		bool governed = pw_engine_governed(e, &ep);
		for (int d = 0; d < 2; d++) {
			uint32_t n = 0;
			if (governed)
				pw_engine_applicable(e, ports[k].pod, (enum pw_dir)d, &n);
			if (cache)
				cached_endpoint(&r, k, (enum pw_dir)d, n > 0);
			if (!n && governed && r.ids) {
				/* nothing applies: the profile allows */
				const char *x = profile_chain(&r, k, (enum pw_dir)d);
				if (d == PW_EGRESS)
					pw_buf_printf(&egm, "%s\"%s\" : jump %s", ne++ ? ", " : "",
						      ports[k].ifname, x);
				else
					pw_buf_printf(&inm, "%s\"%s\" : jump %s", ni++ ? ", " : "",
						      ports[k].ifname, x);
			}
			if (!n)
				continue;
			if (!cache)
				render_endpoint(&r, k, (enum pw_dir)d);
			if (d == PW_EGRESS)
				pw_buf_printf(&egm, "%s\"%s\" : jump eg_%zu", ne++ ? ", " : "",
					      ports[k].ifname, k);
			else
				pw_buf_printf(&inm, "%s\"%s\" : jump in_%zu", ni++ ? ", " : "",
					      ports[k].ifname, k);
		}
	}
	pw_buf_puts(&fw, "\t\ttype filter hook forward priority filter; policy accept;\n"
			 "\t\tct state established,related accept\n"
			 "\t\tct state invalid drop\n");
	/* a pod reaching itself through a Service (lib/nft-svc.c) */
	pw_buf_printf(&fw, "\t\tmeta mark & 0x%x == 0x%x accept\n",
		      PW_NFT_MARK_HAIRPIN, PW_NFT_MARK_HAIRPIN);
	if (ne)
		pw_buf_printf(&fw, "\t\tiifname vmap { %s }\n", egm.s);
	pw_buf_puts(&fw, "\t\tmeta mark set meta mark & 0xfffffffe\n");
	if (ni)
		pw_buf_printf(&fw, "\t\toifname vmap { %s }\n", inm.s);
	pw_buf_puts(&fw, "\t\tmeta mark set meta mark & 0xfffffffe accept\n");
	add_obj(out, "chain", "forward", fw.s);
	pw_buf_release(&fw);
	pw_buf_release(&egm);
	pw_buf_release(&inm);
	pw_buf_release(&b);
	pw_buf_release(&r.elems);
	free(r.run);
	pw_flow_ids_free(own);
	if (cache) {
		/* ports that are gone */
		for (size_t i = nports * 2; i < cache->neps; i++) {
			for (size_t x = 0; x < cache->eps[i].n; x++)
				store_unref(cache, cache->eps[i].kinds[x], cache->eps[i].names[x]);
			epc_release(&cache->eps[i]);
		}
		if (cache->neps > nports * 2)
			cache->neps = nports * 2;
		for (size_t i = 0; i < cache->store.n; i++)
			if (cache->store.v[i].body)
				add_obj(out, cache->store.v[i].kind, cache->store.v[i].name,
					cache->store.v[i].body);
		store_compact(cache);
		cache_trim(cache, e);
	}
}

/* A base chain's body starts with its "type ... hook ..." line. */
static size_t hook_line(const struct pw_nft_obj *o, const char **start)
{
	const char *p = o->body;
	while (*p == '\t' || *p == ' ')
		p++;
	*start = p;
	if (strcmp(o->kind, "chain") || strncmp(p, "type ", 5))
		return 0;
	const char *nl = strchr(p, '\n');
	return nl ? (size_t)(nl - p) : strlen(p);
}

static void obj_decl(const struct pw_nft_obj *o, const char *table,
		     struct pw_buf *out)
{
	const char *hook;
	size_t hl = hook_line(o, &hook);
	if (strcmp(o->kind, "chain"))
		pw_buf_printf(out, "add %s inet %s %s { %s }\n", o->kind, table,
			      o->name, o->body);
	else
		pw_buf_printf(out, "add chain inet %s %s { %.*s }\n", table,
			      o->name, (int)hl, hook);
}

/* Rules of a chain body, one "add rule" each; a base chain's "type"
   line is its declaration, not a rule. */
static void chain_rules(const struct pw_nft_obj *o, const char *table,
			struct pw_buf *out)
{
	const char *p = o->body;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		while (len && (*p == '\t' || *p == ' ')) {
			p++;
			len--;
		}
		if (len && strncmp(p, "type ", 5))
			pw_buf_printf(out, "add rule inet %s %s %.*s\n", table,
				      o->name, (int)len, p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

void pw_nft_script_full(const struct pw_nft *t, const char *table,
			struct pw_buf *out)
{
	pw_buf_printf(out, "add table inet %s\ndelete table inet %s\nadd table inet %s\n",
		      table, table, table);
	/* sets first, chains declared before any rule jumps to them */
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].kind, "set"))
			obj_decl(&t->v[i], table, out);
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].kind, "chain"))
			obj_decl(&t->v[i], table, out);
	/* verdict maps go to chains: after them */
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].kind, "map"))
			obj_decl(&t->v[i], table, out);
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].kind, "chain"))
			chain_rules(&t->v[i], table, out);
}

/* Named by a hash of its content: the name says what it holds. */
static bool content_named(const struct pw_nft_obj *o)
{
	/* sets, tier and policy chains by a hash of their content; maps too;
	   action chains (a_, d_, x_) by the action and id they hold */
	return strchr("stpmadx", o->name[0]) && o->name[1] == '_';
}

/* Does old's copy of o (NULL: none) hold what o holds? */
static bool same(const struct pw_nft_obj *was, const struct pw_nft_obj *o)
{
	if (!was)
		return false;
	if (content_named(o))
		return true;
	return was->body && !strcmp(was->body, o->body);
}

void pw_nft_delta_count(const struct pw_nft *old, const struct pw_nft *t,
			uint32_t *created, uint32_t *changed, uint32_t *deleted)
{
	*created = *changed = *deleted = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct pw_nft_obj *was = find(old, t->v[i].kind, t->v[i].name);
		if (!was)
			++*created;
		else if (!same(was, &t->v[i]))
			++*changed;
	}
	for (size_t i = 0; i < old->n; i++)
		if (!find(t, old->v[i].kind, old->v[i].name))
			++*deleted;
}

void pw_nft_script_delta(const struct pw_nft *old, const struct pw_nft *t,
			 const char *table, struct pw_buf *out)
{
	/* new sets and chains first, so rules may refer to them, then the
	   new verdict maps (whose elements go to chains) */
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].kind, "map") && !find(old, t->v[i].kind, t->v[i].name))
			obj_decl(&t->v[i], table, out);
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].kind, "map") && !find(old, "map", t->v[i].name))
			obj_decl(&t->v[i], table, out);
	/* sets named by their role whose content changed (only "pods") */
	for (size_t i = 0; i < t->n; i++) {
		const struct pw_nft_obj *o = &t->v[i];
		if (strcmp(o->kind, "set"))
			continue;
		const struct pw_nft_obj *was = find(old, "set", o->name);
		if (!was || same(was, o))
			continue;
		pw_buf_printf(out, "flush set inet %s %s\n", table, o->name);
		const char *el = strstr(o->body, "elements = {");
		if (el)
			pw_buf_printf(out, "add element inet %s %s %s\n", table,
				      o->name, el + strlen("elements = "));
	}
	/* chains whose rules changed, or that are new */
	for (size_t i = 0; i < t->n; i++) {
		const struct pw_nft_obj *o = &t->v[i];
		if (strcmp(o->kind, "chain"))
			continue;
		const struct pw_nft_obj *was = find(old, "chain", o->name);
		if (same(was, o))
			continue;
		if (was)
			pw_buf_printf(out, "flush chain inet %s %s\n", table, o->name);
		chain_rules(o, table, out);
	}
	/* what is gone: chains emptied, then maps (which go to chains),
	   then chains, then sets */
	for (size_t i = 0; i < old->n; i++)
		if (!strcmp(old->v[i].kind, "chain") &&
		    !find(t, "chain", old->v[i].name))
			pw_buf_printf(out, "flush chain inet %s %s\n", table,
				      old->v[i].name);
	for (size_t i = 0; i < old->n; i++)
		if (!strcmp(old->v[i].kind, "map") && !find(t, "map", old->v[i].name))
			pw_buf_printf(out, "delete map inet %s %s\n", table,
				      old->v[i].name);
	for (size_t i = 0; i < old->n; i++)
		if (!strcmp(old->v[i].kind, "chain") &&
		    !find(t, "chain", old->v[i].name))
			pw_buf_printf(out, "delete chain inet %s %s\n", table,
				      old->v[i].name);
	for (size_t i = 0; i < old->n; i++)
		if (!strcmp(old->v[i].kind, "set") && !find(t, "set", old->v[i].name))
			pw_buf_printf(out, "delete set inet %s %s\n", table,
				      old->v[i].name);
}

int pw_nft_run(const char *script, struct pw_buf *err)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		pw_buf_puts(err, "cannot create an nftables context");
		return -1;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	int rc = nft_run_cmd_from_buffer(ctx, script);
	if (rc) {
		const char *msg = nft_ctx_get_error_buffer(ctx);
		pw_buf_puts(err, msg && *msg ? msg : "nftables refused the ruleset");
	}
	nft_ctx_free(ctx);
	return rc ? -1 : 0;
}

int pw_nft_delete(const char *table, struct pw_buf *err)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "add table inet %s\ndelete table inet %s\n",
		 table, table);
	return pw_nft_run(cmd, err);
}
