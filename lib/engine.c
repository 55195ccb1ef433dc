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
static void identity_key(const struct pw_pod *p, struct pw_buf *b)
{
	pw_buf_reset(b);
	pw_buf_u32(b, p->ns);
	pw_buf_putc(b, '\x1f');
	pw_buf_puts(b, p->sa);
	pw_buf_putc(b, p->host_network ? '1' : '0');
	for (uint32_t i = 0; i < p->labels.n; i++) {
		pw_buf_putc(b, '\x1f');
		pw_buf_puts(b, p->labels.v[i].key);
		pw_buf_putc(b, '=');
		pw_buf_puts(b, p->labels.v[i].value);
	}
	pw_buf_putc(b, '\x1e');
	for (uint32_t i = 0; i < p->nports; i++)
		if (p->ports[i].name) {
			pw_buf_puts(b, p->ports[i].name);
			pw_buf_putc(b, '/');
			pw_buf_u32(b, (uint32_t)p->ports[i].proto);
			pw_buf_putc(b, '/');
			pw_buf_u32(b, (uint32_t)p->ports[i].port);
			pw_buf_putc(b, '\x1e');
		}
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

static const struct pw_labels *sa_labels(const struct pw_cluster *c,
					 uint32_t ns, const char *name)
{
	for (uint32_t i = 0; i < c->nsas; i++)
		if (c->sas[i].ns == ns && !strcmp(c->sas[i].name, name))
			return &c->sas[i].labels;
	return NULL;
}

static const struct pw_pod *rep(const struct pw_engine *e, uint32_t id)
{
	return &e->ids[id].snap;
}

static void posting_key(struct pw_buf *b, uint32_t ns, const char *key,
			const char *val)
{
	pw_buf_reset(b);
	pw_buf_u32(b, ns);
	pw_buf_putc(b, '\x1f');
	pw_buf_puts(b, key);
	pw_buf_putc(b, '\x1f');
	pw_buf_puts(b, val);
}

static void idvec_push(struct pw_engine *e, struct pw_idvec *v, uint32_t x)
{
	*PW_PUSH(&e->arena, v->v, v->n, v->cap) = x;
}

/* What Calico selectors see of identity i. */
static void identity_views(struct pw_engine *e, uint32_t i)
{
	const struct pw_cluster *c = e->c;
	struct pw_arena *a = &e->arena;
	static const struct pw_labels none = { NULL, 0 };
	const struct pw_pod *p = rep(e, i);
	struct pw_label x[] = {
		{ "projectcalico.org/namespace", c->nss[p->ns].name },
		{ "projectcalico.org/orchestrator", "k8s" },
		{ "projectcalico.org/serviceaccount", p->sa },
	};
	e->vpod[i] = labels_plus(a, &p->labels, x, 3);
	const struct pw_labels *sl = sa_labels(c, p->ns, p->sa);
	struct pw_label y[] = { { "projectcalico.org/name", p->sa } };
	e->vsa[i] = labels_plus(a, sl ? sl : &none, y, 1);
}

/* Calico's views of every identity, made when the first Calico policy
   needs them. */
static void need_views(struct pw_engine *e)
{
	if (e->views_ready)
		return;
	e->views_ready = true;
	for (uint32_t i = 0; i < e->nids; i++)
		identity_views(e, i);
}

/* Identity i in the indexes (and its views, once they exist). */
static void index_identity(struct pw_engine *e, uint32_t i, struct pw_buf *b)
{
	struct pw_arena *a = &e->arena;
	const struct pw_pod *p = rep(e, i);
	if (e->views_ready)
		identity_views(e, i);
	idvec_push(e, &e->ns_ids[p->ns], i);
	for (uint32_t k = 0; k < p->labels.n; k++)
		for (int all = 0; all < 2; all++) {
			posting_key(b, all ? UINT32_MAX : p->ns, p->labels.v[k].key,
				    p->labels.v[k].value);
			uintptr_t v = (uintptr_t)pw_strmap_get(&e->post, b->s);
			if (!v) {
				struct pw_idvec *pv =
					PW_PUSH(a, e->posts, e->nposts, e->posts_cap);
				memset(pv, 0, sizeof(*pv));
				v = e->nposts;
				pw_strmap_put(&e->post, pw_arena_strndup(a, b->s, b->len),
					      (void *)v);
			}
			idvec_push(e, &e->posts[v - 1], i);
		}
}

static void build_views(struct pw_engine *e)
{
	const struct pw_cluster *c = e->c;
	struct pw_arena *a = &e->arena;
	struct pw_buf b;
	pw_buf_init(&b);
	e->vns = pw_arena_alloc(a, (c->nns + 1) * sizeof(*e->vns));
	for (uint32_t i = 0; i < c->nns; i++) {
		struct pw_label x[] = { { "projectcalico.org/name", c->nss[i].name } };
		e->vns[i] = labels_plus(a, &c->nss[i].labels, x, 1);
	}
	e->ns_ids = pw_arena_alloc(a, (c->nns + 1) * sizeof(*e->ns_ids));
	e->sels_ns = pw_arena_alloc(a, (c->nns + 1) * sizeof(*e->sels_ns));
	e->vpod = pw_arena_alloc(a, e->ids_cap * sizeof(*e->vpod));
	e->vsa = pw_arena_alloc(a, e->ids_cap * sizeof(*e->vsa));
	for (uint32_t i = 0; i < e->nids; i++)
		index_identity(e, i, &b);
	if (c->ncpols)
		need_views(e);
	e->vnetset = pw_arena_alloc(a, (c->nnetsets + 1) * sizeof(*e->vnetset));
	for (uint32_t i = 0; i < c->nnetsets; i++) {
		const struct pw_netset *s = &c->netsets[i];
		struct pw_label x[] = { { "projectcalico.org/namespace",
					  s->ns >= 0 ? c->nss[s->ns].name : "" } };
		e->vnetset[i] = s->ns >= 0 ? labels_plus(a, &s->labels, x, 1)
					   : s->labels;
	}
	pw_buf_release(&b);
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

bool pw_engine_bit(const uint64_t *bits, uint32_t i)
{
	return bit(bits, i);
}

bool pw_idset_has(const struct pw_idset *s, uint32_t id)
{
	return s->bits ? bit(s->bits, id) : pw_sorted_has(s->v, s->n, id);
}

bool pw_engine_has_id(const struct pw_engine *e, const struct pw_idset *ids,
		      uint32_t pod)
{
	return ids && pw_idset_has(ids, e->pod_identity[pod]);
}

/* Add identity id, larger than every member when the set is a list. */
static void idset_add(struct pw_engine *e, struct pw_idset *s, uint32_t id)
{
	if (s->bits)
		bit_set(s->bits, id);
	else if (!s->n || s->v[s->n - 1] < id)
		*PW_PUSH(&e->arena, s->v, s->n, s->cap) = id;
}

/* Calls f(arg, id) for every member, in ascending order. */
#define IDSET_EACH(s, id, body)                                              \
	do {                                                                 \
		if ((s)->bits) {                                             \
			for (size_t w_ = 0; w_ < e->nwords; w_++)            \
				for (uint64_t m_ = (s)->bits[w_]; m_; m_ &= m_ - 1) { \
					uint32_t id = (uint32_t)(w_ * 64 +   \
						(size_t)__builtin_ctzll(m_)); \
					body;                                \
				}                                            \
		} else {                                                     \
			for (uint32_t i_ = 0; i_ < (s)->n; i_++) {           \
				uint32_t id = (s)->v[i_];                    \
				body;                                        \
			}                                                    \
		}                                                            \
	} while (0)

bool pw_idset_empty(const struct pw_engine *e, const struct pw_idset *s)
{
	IDSET_EACH(s, x, { (void)x; return false; });
	return true;
}

bool pw_idset_subset(const struct pw_engine *e, const struct pw_idset *a,
		     const struct pw_idset *b)
{
	IDSET_EACH(a, x, {
		if (!pw_idset_has(b, x))
			return false;
	});
	return true;
}

static int u32_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

/* The set of the n identities in v (any order, no duplicates). */
static struct pw_idset *idset_of(struct pw_engine *e, uint32_t *v, uint32_t n)
{
	struct pw_idset *s = pw_arena_alloc(&e->arena, sizeof(*s));
	if ((size_t)n * 32 > (size_t)e->ids_cap) {
		s->bits = bits_new(e);
		for (uint32_t i = 0; i < n; i++)
			bit_set(s->bits, v[i]);
		return s;
	}
	s->cap = n + 1;
	s->v = pw_arena_alloc(&e->arena, s->cap * sizeof(uint32_t));
	if (n) {
		qsort(v, n, sizeof(*v), u32_cmp);
		memcpy(s->v, v, n * sizeof(uint32_t));
	}
	s->n = n;
	return s;
}

/* ---- selector parts over identities ------------------------------------ */

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

static bool gsel_match(const struct pw_engine *e, const struct pw_gsel *g,
		       uint32_t i)
{
	const struct pw_cluster *c = e->c;
	const struct pw_pod *p = rep(e, i);
	const struct pw_cside *cs = g->cs;
	switch (g->kind) {
	case PW_GS_K8S:
		if (!pod_governed(e->flags, p))
			return false;
		if (g->ns_sel ? !pw_lsel_match(g->ns_sel, &c->nss[p->ns].labels)
			      : (g->ns >= 0 && (int)p->ns != g->ns))
			return false;
		return !g->pod_sel || pw_lsel_match(g->pod_sel, &p->labels);
	case PW_GS_CSIDE:
		if (!pod_governed(e->flags, p) ||
		    (cs->ns_sel && pw_csel_is_global(cs->ns_sel)))
			return false;
		if (cs->ns_sel ? !pw_csel_match(cs->ns_sel, &e->vns[p->ns])
			       : (g->ns >= 0 && (int)p->ns != g->ns))
			return false;
		if (cs->sel && !pw_csel_match(cs->sel, &e->vpod[i]))
			return false;
		return sa_ok(cs, p, &e->vsa[i]);
	case PW_GS_CNOT:
		return pw_csel_match(cs->not_sel, &e->vpod[i]);
	case PW_GS_CPOL:
		if (!pod_governed(e->flags, p))
			return false;
		if (g->ns >= 0 && (int)p->ns != g->ns)
			return false;
		if (g->csel && !pw_csel_match(g->csel, &e->vpod[i]))
			return false;
		if (g->cns_sel && !pw_csel_match(g->cns_sel, &e->vns[p->ns]))
			return false;
		return !g->csa_sel || pw_csel_match(g->csa_sel, &e->vsa[i]);
	default:
		return false;
	}
}

/* A label every identity the part matches carries (for the index);
   keys Calico adds to its views are not in the index. */
static bool gsel_required(const struct pw_gsel *g, const char **key,
			  const char *const **vals, uint32_t *nvals)
{
	bool ok = false;
	if (g->kind == PW_GS_K8S && g->pod_sel) {
		for (uint32_t i = 0; i < g->pod_sel->n && !ok; i++) {
			const struct pw_req *r = &g->pod_sel->reqs[i];
			if (r->op == PW_OP_IN) {
				*key = r->key;
				*vals = r->values;
				*nvals = r->nvalues;
				ok = true;
			}
		}
	} else if (g->kind == PW_GS_CSIDE && g->cs->sel) {
		ok = pw_csel_required(g->cs->sel, key, vals, nvals);
	} else if (g->kind == PW_GS_CPOL && g->csel) {
		ok = pw_csel_required(g->csel, key, vals, nvals);
	}
	return ok && strncmp(*key, "projectcalico.org/", 18);
}

/* Could part g match identities of namespace n at all? */
static bool gsel_ns_ok(const struct pw_engine *e, const struct pw_gsel *g,
		       uint32_t n)
{
	switch (g->kind) {
	case PW_GS_K8S:
		return g->ns_sel ? pw_lsel_match(g->ns_sel, &e->c->nss[n].labels)
				 : (g->ns < 0 || (int)n == g->ns);
	case PW_GS_CSIDE:
		if (g->cs->ns_sel)
			return !pw_csel_is_global(g->cs->ns_sel) &&
			       pw_csel_match(g->cs->ns_sel, &e->vns[n]);
		return g->ns < 0 || (int)n == g->ns;
	case PW_GS_CPOL:
		return (g->ns < 0 || (int)n == g->ns) &&
		       (!g->cns_sel || pw_csel_match(g->cns_sel, &e->vns[n]));
	case PW_GS_CNOT:
		return true;
	default:
		return false;
	}
}

static const struct pw_idvec *posting(const struct pw_engine *e, uint32_t ns,
				      const char *key, const char *val,
				      struct pw_buf *b)
{
	posting_key(b, ns, key, val);
	uintptr_t v = (uintptr_t)pw_strmap_get(&e->post, b->s);
	return v ? &e->posts[v - 1] : NULL;
}

/* A key that parts matching the same identities share. */
static void gsel_key(const struct pw_gsel *g, struct pw_buf *b)
{
	const struct pw_cside *cs = g->cs;
	/* the namespace matters only when no namespace selector is given */
	bool ns_free = (g->kind == PW_GS_K8S && g->ns_sel) ||
		       (g->kind == PW_GS_CSIDE && cs->ns_sel) || g->kind == PW_GS_CNOT;
	pw_buf_reset(b);
	pw_buf_u32(b, (uint32_t)g->kind);
	pw_buf_putc(b, '|');
	if (!ns_free && g->ns >= 0)
		pw_buf_u32(b, (uint32_t)g->ns);
	pw_buf_putc(b, '|');
	switch (g->kind) {
	case PW_GS_K8S:
		if (g->ns_sel)
			pw_lsel_format(g->ns_sel, b);
		pw_buf_putc(b, '|');
		if (g->pod_sel)
			pw_lsel_format(g->pod_sel, b);
		break;
	case PW_GS_CSIDE:
		if (cs->sel)
			pw_csel_format(cs->sel, b);
		pw_buf_putc(b, '|');
		if (cs->ns_sel)
			pw_csel_format(cs->ns_sel, b);
		pw_buf_printf(b, "|%d|", cs->has_sa);
		for (uint32_t i = 0; i < cs->nsa_names; i++)
			pw_buf_printf(b, "%s,", cs->sa_names[i]);
		pw_buf_putc(b, '|');
		if (cs->sa_sel)
			pw_csel_format(cs->sa_sel, b);
		break;
	case PW_GS_CNOT:
		pw_csel_format(cs->not_sel, b);
		break;
	case PW_GS_CPOL:
		if (g->csel)
			pw_csel_format(g->csel, b);
		pw_buf_putc(b, '|');
		if (g->cns_sel)
			pw_csel_format(g->cns_sel, b);
		pw_buf_putc(b, '|');
		if (g->csa_sel)
			pw_csel_format(g->csa_sel, b);
		break;
	default:
		break;
	}
}

/* The identities part g matches, as a bitset shared by every part with the
   same key.  Candidates: the label index when g requires a label, else the
   identities of the namespaces it can match; each is then matched in full. */
struct idv {
	uint32_t *v;
	uint32_t n;
};

/* The namespaces part g can match, from a cache keyed by the namespace
   selector (few distinct ones: teams, environments). */
static const struct pw_idvec *gsel_namespaces(struct pw_engine *e,
					      const struct pw_gsel *g,
					      struct pw_buf *b)
{
	pw_buf_reset(b);
	if (g->kind == PW_GS_K8S && g->ns_sel) {
		pw_buf_puts(b, "K");
		pw_lsel_format(g->ns_sel, b);
	} else if (g->kind == PW_GS_CSIDE && g->cs->ns_sel) {
		pw_buf_puts(b, "C");
		pw_csel_format(g->cs->ns_sel, b);
	} else if (g->kind == PW_GS_CPOL && g->cns_sel && g->ns < 0) {
		pw_buf_puts(b, "C");
		pw_csel_format(g->cns_sel, b);
	} else {
		pw_buf_puts(b, "*"); /* any namespace */
	}
	uintptr_t v = (uintptr_t)pw_strmap_get(&e->ns_cache, b->s);
	if (v)
		return &e->ns_lists[v - 1];
	struct pw_idvec *l = PW_PUSH(&e->arena, e->ns_lists, e->nns_lists, e->ns_lists_cap);
	memset(l, 0, sizeof(*l));
	pw_strmap_put(&e->ns_cache, pw_arena_strndup(&e->arena, b->s, b->len),
		      (void *)(uintptr_t)e->nns_lists);
	for (uint32_t n = 0; n < e->c->nns; n++)
		if (gsel_ns_ok(e, g, n))
			idvec_push(e, l, n);
	return l;
}

/* The identities part g matches, shared by every part with the same key.
   Candidates: the part's namespaces, narrowed through the label index
   when it requires a label (one global posting when the namespaces are
   most of them); each candidate is then matched in full. */
static struct pw_idset *gsel_fill(struct pw_engine *e, const struct pw_gsel *g,
				  struct pw_buf *b)
{
	gsel_key(g, b);
	uintptr_t cached = (uintptr_t)pw_strmap_get(&e->sel_cache, b->s);
	if (cached)
		return e->sels[cached - 1].set;
	struct pw_gselset *gs = PW_PUSH(&e->arena, e->sels, e->nsels, e->sels_cap);
	gs->g = *g;
	pw_strmap_put(&e->sel_cache, pw_arena_strndup(&e->arena, b->s, b->len),
		      (void *)(uintptr_t)e->nsels);
	struct idv bs = { e->tmp, 0 };
	int only = g->kind == PW_GS_K8S && !g->ns_sel ? g->ns
		 : g->kind == PW_GS_CSIDE && !g->cs->ns_sel ? g->ns
		 : g->kind == PW_GS_CPOL ? g->ns : -1;
	/* by namespace, for identities that appear later */
	idvec_push(e, only >= 0 ? &e->sels_ns[only] : &e->sels_any, e->nsels - 1);
	if (g->kind == PW_GS_NONE)
		return gs->set = idset_of(e, bs.v, 0);
	const char *key;
	const char *const *vals;
	uint32_t nvals;
	bool req = gsel_required(g, &key, &vals, &nvals);
	uint32_t one = (uint32_t)only;
	const uint32_t *nsv = &one;
	uint32_t nns = 1;
	if (only < 0) {
		const struct pw_idvec *l = gsel_namespaces(e, g, b);
		nsv = l->v;
		nns = l->n;
	} else if (!gsel_ns_ok(e, g, one)) {
		nns = 0;
	}
	if (req && nns * 2 > e->c->nns && nns > 1) {
		for (uint32_t k = 0; k < nvals; k++) {
			const struct pw_idvec *v = posting(e, UINT32_MAX, key, vals[k], b);
			for (uint32_t i = 0; v && i < v->n; i++)
				if (gsel_match(e, g, v->v[i]))
					bs.v[bs.n++] = v->v[i];
		}
		return gs->set = idset_of(e, bs.v, bs.n);
	}
	for (uint32_t x = 0; x < nns; x++) {
		uint32_t n = nsv[x];
		for (uint32_t k = 0; k < (req ? nvals : 1); k++) {
			const struct pw_idvec *v = req ? posting(e, n, key, vals[k], b)
						       : &e->ns_ids[n];
			for (uint32_t i = 0; v && i < v->n; i++)
				if (gsel_match(e, g, v->v[i]))
					bs.v[bs.n++] = v->v[i];
		}
	}
	return gs->set = idset_of(e, bs.v, bs.n);
}

/* ---- compiling sides ---------------------------------------------------- */

static void push_nets(struct pw_engine *e, struct pw_cidr **v, uint32_t *n,
		      size_t *cap, const struct pw_cidr *src, uint32_t m)
{
	for (uint32_t i = 0; i < m; i++)
		*PW_PUSH(&e->arena, *v, *n, *cap) = src[i];
}

static struct pw_gsel k8s_gsel(const struct pw_lsel *ns_sel, int ns,
			       const struct pw_lsel *pod_sel)
{
	struct pw_gsel g = { .kind = PW_GS_K8S, .ns = ns, .ns_sel = ns_sel,
			     .pod_sel = pod_sel };
	return g;
}

/* Kubernetes NetworkPolicy peer -> side */
static void k8s_peer_side(struct pw_engine *e, const struct pw_policy *pol,
			  const struct pw_peer *peer, struct pw_gside *s,
			  struct pw_buf *b)
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
	struct pw_gsel g = k8s_gsel(peer->ns_sel, (int)pol->ns, peer->pod_sel);
	s->ids = gsel_fill(e, &g, b);
}

/*
 * Calico EntityRule -> side.  Scoping as Calico does it: in a namespaced
 * policy, once selector, serviceAccounts or namespaceSelector is given the
 * side matches only endpoints of the policy's namespace (or of the
 * namespaces namespaceSelector picks); `namespaceSelector: global()` picks
 * the non-namespaced resources (global network sets).  notSelector is
 * applied unscoped.
 */
static void calico_side(struct pw_engine *e, int pns, const struct pw_cside *cs,
			bool dst, struct pw_gside *s, struct pw_buf *b)
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
		struct pw_gsel g = { .kind = PW_GS_CSIDE, .ns = pns, .cs = cs };
		s->ids = gsel_fill(e, &g, b);
		size_t dcap = 0;
		for (uint32_t k = 0; k < c->nnetsets && !cs->has_sa; k++) {
			const struct pw_netset *ns = &c->netsets[k];
			bool in_scope;
			if (global_ns)
				in_scope = ns->ns < 0;
			else if (cs->ns_sel)
				in_scope = ns->ns >= 0 &&
					   pw_csel_match(cs->ns_sel, &e->vns[ns->ns]);
			else if (pns >= 0)
				in_scope = ns->ns == pns;
			else
				in_scope = true; /* global policies see every set */
			if (!in_scope || (cs->sel && !pw_csel_match(cs->sel, &e->vnetset[k])))
				continue;
			push_nets(e, &s->set_nets, &s->nset_nets, &cap, ns->nets, ns->nnets);
			for (uint32_t d = 0; d < ns->ndomains; d++)
				*PW_PUSH(&e->arena, s->set_domains, s->nset_domains, dcap) =
					ns->domains[d];
		}
	}
	if (cs->not_sel) {
		size_t ncap = 0;
		struct pw_gsel g = { .kind = PW_GS_CNOT, .ns = pns, .cs = cs };
		s->not_ids = gsel_fill(e, &g, b);
		for (uint32_t k = 0; k < c->nnetsets; k++)
			if (pw_csel_match(cs->not_sel, &e->vnetset[k]))
				push_nets(e, &s->not_set_nets, &s->nnot_set_nets, &ncap,
					  c->netsets[k].nets, c->netsets[k].nnets);
	}
}

/* AdminNetworkPolicy peer -> side */
static void admin_peer_side(struct pw_engine *e, const struct pw_apeer *peer,
			    struct pw_gside *s, struct pw_buf *b)
{
	if (peer->kind == PW_AP_NETWORKS) {
		s->nets = peer->nets;
		s->nnets = peer->nnets;
		s->nets_pods = !(e->flags & PW_ENGINE_IPBLOCK_EXCLUDES_PODS);
		return;
	}
	s->pods_only = true;
	/* nodes are not modelled: they match nothing */
	struct pw_gsel g = peer->kind == PW_AP_NODES ? (struct pw_gsel){ .kind = PW_GS_NONE }
			   : k8s_gsel(peer->ns_sel, -1, peer->pod_sel);
	s->ids = gsel_fill(e, &g, b);
}

/* ---- compiling policies ------------------------------------------------- */

/* Room for n rules in direction d, in one block (of exactly n when it is
   the first: a policy of many rules takes no more than it needs). */
static void rules_reserve(struct pw_engine *e, struct pw_gpolicy *g, int d,
			  size_t n, size_t *cap)
{
	if (!*cap && n) {
		g->rules[d] = pw_arena_alloc(&e->arena, n * sizeof(*g->rules[d]));
		*cap = n;
		return;
	}
	g->rules[d] = pw_arena_grow(&e->arena, g->rules[d], g->nrules[d], cap, n,
				    sizeof(*g->rules[d]));
}

/* a + b + c + d + e5 in the arena (NULL parts are skipped) */
static char *cat(struct pw_arena *a, const char *s1, const char *s2,
		 const char *s3, const char *s4, const char *s5)
{
	const char *v[] = { s1, s2, s3, s4, s5 };
	size_t len[5], n = 0;
	for (int i = 0; i < 5; i++)
		n += len[i] = v[i] ? strlen(v[i]) : 0;
	char *out = pw_arena_alloc(a, n + 1), *p = out;
	for (int i = 0; i < 5; i++) {
		memcpy(p, v[i] ? v[i] : "", len[i]);
		p += len[i];
	}
	*p = 0;
	return out;
}

static struct pw_grule *grule_new(struct pw_engine *e, struct pw_gpolicy *g,
				  int d, size_t *cap)
{
	struct pw_grule *r = PW_PUSH(&e->arena, g->rules[d], g->nrules[d], *cap);
	r->proto = r->not_proto = PW_ANY;
	r->icmp_type = r->icmp_code = PW_ANY;
	r->not_icmp_type = r->not_icmp_code = PW_ANY;
	r->peer = -1;
	r->uid = e->next_uid++;
	return r;
}

static void compile_k8s(struct pw_engine *e, uint32_t k, struct pw_gpolicy *g,
			struct pw_buf *b)
{
	const struct pw_cluster *c = e->c;
	const struct pw_policy *pol = &c->pols[k];
	g->name = cat(&e->arena, "knp.default.", pol->name, NULL, NULL, NULL);
	g->display = cat(&e->arena, "NetworkPolicy ", c->nss[pol->ns].name, "/",
			 pol->name, NULL);
	g->src = PW_SRC_K8S;
	g->src_index = k;
	g->has_order = true;
	g->order = 1000;
	g->types = pol->types;
	g->pos = pol->pos;
	g->tier = UINT32_MAX; /* "default", resolved later */
	struct pw_lsel *sel = pw_arena_alloc(&e->arena, sizeof(*sel));
	*sel = pol->sel; /* the cluster's array of policies may move */
	g->subj = k8s_gsel(NULL, (int)pol->ns, sel);
	g->ids = gsel_fill(e, &g->subj, b);
	for (int d = 0; d < 2; d++) {
		size_t cap = 0, total = 0;
		if (!(pol->types & (1u << d)))
			continue;
		for (uint32_t r = 0; r < pol->nrules[d]; r++)
			total += pol->rules[d][r].npeers ? pol->rules[d][r].npeers : 1;
		rules_reserve(e, g, d, total, &cap);
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
					      d == PW_INGRESS ? &gr->src : &gr->dst, b);
			}
		}
	}
}

static void compile_calico(struct pw_engine *e, uint32_t k,
			   struct pw_gpolicy *g, struct pw_buf *b)
{
	const struct pw_cluster *c = e->c;
	const struct pw_cpolicy *pol = &c->cpols[k];
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
	g->subj = (struct pw_gsel){ .kind = PW_GS_CPOL, .ns = pol->ns,
				    .csel = pol->sel, .cns_sel = pol->ns_sel,
				    .csa_sel = pol->sa_sel };
	g->ids = gsel_fill(e, &g->subj, b);
	for (int d = 0; d < 2; d++) {
		size_t cap = 0;
		if (!(pol->types & (1u << d)))
			continue;
		rules_reserve(e, g, d, pol->nrules[d], &cap);
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
			calico_side(e, pol->ns, &cr->src, false, &gr->src, b);
			calico_side(e, pol->ns, &cr->dst, true, &gr->dst, b);
		}
	}
}

static void compile_admin(struct pw_engine *e, uint32_t k, struct pw_gpolicy *g,
			  struct pw_buf *b)
{
	const struct pw_cluster *c = e->c;
	const struct pw_apolicy *pol = &c->apols[k];
	g->name = pol->name;
	g->display = pw_arena_printf(&e->arena, "%s %s", pol->kind, pol->name);
	g->src = PW_SRC_ADMIN;
	g->src_index = k;
	g->has_order = true;
	g->order = pol->priority;
	g->pos = pol->pos;
	g->tier = UINT32_MAX - (pol->baseline ? 2 : 1);
	g->subj = k8s_gsel(pol->subj_ns, -1, pol->subj_pod);
	g->ids = gsel_fill(e, &g->subj, b);
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
						d == PW_INGRESS ? &gr->src : &gr->dst, b);
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
		ck[i] = c->cpols[i].staged == PW_ENFORCED && !c->cpols[i].deleted;
	for (uint32_t i = 0; i < c->npols; i++)
		kk[i] = c->pols[i].staged == PW_ENFORCED && !c->pols[i].deleted;
	if (!staged)
		return;
	for (uint32_t i = 0; i < c->ncpols; i++) {
		const struct pw_cpolicy *s = &c->cpols[i];
		if (s->staged == PW_ENFORCED || s->deleted)
			continue;
		for (uint32_t k = 0; k < c->ncpols; k++)
			if (c->cpols[k].staged == PW_ENFORCED && same_calico(s, &c->cpols[k]))
				ck[k] = false;
		ck[i] = s->staged == PW_STAGED_SET;
	}
	for (uint32_t i = 0; i < c->npols; i++) {
		const struct pw_policy *s = &c->pols[i];
		if (s->staged == PW_ENFORCED || s->deleted)
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

/* Evaluation order: tier, order (none: last), name. */
static int pol_cmp(const struct pw_gpolicy *a, const struct pw_gpolicy *b)
{
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

static const struct pw_gpolicy *sort_base;
static int slot_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	int c = pol_cmp(&sort_base[a], &sort_base[b]);
	return c ? c : (a < b ? -1 : a > b);
}

static void resolve_tier(struct pw_engine *e, struct pw_gpolicy *g)
{
	if (g->tier == UINT32_MAX - 1)
		g->tier = tier_index(e, "adminnetworkpolicy");
	else if (g->tier == UINT32_MAX - 2)
		g->tier = tier_index(e, "baselineadminnetworkpolicy");
	else if (g->src == PW_SRC_CALICO) {
		g->tier = tier_index(e, e->c->cpols[g->src_index].tier);
		if (g->tier == UINT32_MAX) /* reported by the loader */
			g->tier = tier_index(e, "default");
	} else
		g->tier = tier_index(e, "default");
}

static void slot_map_set(struct pw_engine *e, enum pw_gsrc src, uint32_t k,
			 int slot)
{
	while (e->nslot_of[src] <= k)
		*PW_PUSH(&e->arena, e->slot_of[src], e->nslot_of[src],
			 e->slot_of_cap[src]) = -1;
	e->slot_of[src][k] = slot;
}

static int slot_map_get(const struct pw_engine *e, enum pw_gsrc src, uint32_t k)
{
	return k < e->nslot_of[src] ? e->slot_of[src][k] : -1;
}

static struct pw_gpolicy *slot_new(struct pw_engine *e)
{
	struct pw_gpolicy *g = PW_PUSH(&e->arena, e->pols, e->npols, e->pols_cap);
	memset(g, 0, sizeof(*g));
	return g;
}

/* ---- build -------------------------------------------------------------- */

/* A new identity for pod i (its key already known absent), or UINT32_MAX
   when the bitsets have no room. */
static uint32_t identity_new(struct pw_engine *e, uint32_t i, const char *key)
{
	const struct pw_cluster *c = e->c;
	if (e->nids == e->ids_cap)
		return UINT32_MAX;
	struct pw_identity *id = &e->ids[e->nids];
	memset(id, 0, sizeof(*id));
	id->pod = i;
	id->snap = c->pods[i];
	id->ns = c->pods[i].ns;
	pw_strmap_put(&e->id_index, key, (void *)(uintptr_t)(e->nids + 1));
	return e->nids++;
}

int pw_engine_build(struct pw_engine *e, const struct pw_cluster *c,
		    unsigned flags)
{
	static uint64_t serial;
	memset(e, 0, sizeof(*e));
	e->c = c;
	e->flags = flags;
	e->serial = ++serial;
	pw_arena_init(&e->arena);
	struct pw_arena *a = &e->arena;
	struct pw_buf b;
	pw_strmap_init(&e->id_index);
	pw_strmap_init(&e->post);
	pw_strmap_init(&e->sel_cache);
	pw_strmap_init(&e->ns_cache);
	pw_buf_init(&b);
	/* room for new identities: incremental relabels */
	e->ids_cap = c->npods + c->npods / 4 + 64;
	e->ids = pw_arena_alloc(a, e->ids_cap * sizeof(*e->ids));
	e->pod_identity = pw_arena_alloc(a, (c->npods + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < c->npods; i++) {
		identity_key(&c->pods[i], &b);
		uintptr_t v = (uintptr_t)pw_strmap_get(&e->id_index, b.s);
		uint32_t id = v ? (uint32_t)(v - 1)
				: identity_new(e, i, pw_arena_strndup(a, b.s, b.len));
		e->pod_identity[i] = id;
	}
	/* bitsets: room for an eighth more identities (relabels) */
	if (e->nids + e->nids / 8 + 64 < e->ids_cap)
		e->ids_cap = e->nids + e->nids / 8 + 64;
	e->nwords = (e->ids_cap + 63) / 64;
	e->tmp = pw_arena_alloc(a, (e->ids_cap + 1) * sizeof(uint32_t));

	build_views(e);
	build_tiers(e);
	qsort(e->tiers, e->ntiers, sizeof(*e->tiers), tier_cmp);

	bool *ck = pw_xcalloc(c->ncpols + 1, sizeof(bool));
	bool *kk = pw_xcalloc(c->npols + 1, sizeof(bool));
	select_view(e, ck, kk);
	for (uint32_t k = 0; k < c->npols; k++) {
		slot_map_set(e, PW_SRC_K8S, k, -1);
		if (kk[k]) {
			slot_map_set(e, PW_SRC_K8S, k, (int)e->npols);
			compile_k8s(e, k, slot_new(e), &b);
		}
	}
	for (uint32_t k = 0; k < c->ncpols; k++) {
		slot_map_set(e, PW_SRC_CALICO, k, -1);
		if (ck[k]) {
			slot_map_set(e, PW_SRC_CALICO, k, (int)e->npols);
			compile_calico(e, k, slot_new(e), &b);
		}
	}
	for (uint32_t k = 0; k < c->napols; k++) {
		slot_map_set(e, PW_SRC_ADMIN, k, -1);
		if (!c->apols[k].deleted) {
			slot_map_set(e, PW_SRC_ADMIN, k, (int)e->npols);
			compile_admin(e, k, slot_new(e), &b);
		}
	}
	free(ck);
	free(kk);
	for (uint32_t i = 0; i < e->npols; i++)
		resolve_tier(e, &e->pols[i]);

	/* per identity, per direction: applicable policies in order */
	uint32_t *order = pw_xmalloc((e->npols + 1) * sizeof(*order));
	for (uint32_t i = 0; i < e->npols; i++)
		order[i] = i;
	sort_base = e->pols;
	if (e->npols)
		qsort(order, e->npols, sizeof(*order), slot_cmp);
	size_t (*pcap)[2] = pw_xcalloc(e->nids + 1, sizeof(*pcap));
	for (uint32_t o = 0; o < e->npols; o++) {
		const struct pw_gpolicy *g = &e->pols[order[o]];
		IDSET_EACH(g->ids, x, {
			struct pw_identity *id = &e->ids[x];
			for (int d = 0; d < 2; d++)
				if (g->types & (1u << d))
					*PW_PUSH(a, id->pols[d], id->npols[d], pcap[x][d]) =
						order[o];
		});
	}
	free(pcap);
	free(order);
	pw_buf_release(&b);
	return 0;
}

void pw_engine_release(struct pw_engine *e)
{
	pw_strmap_release(&e->id_index);
	pw_strmap_release(&e->post);
	pw_strmap_release(&e->sel_cache);
	pw_strmap_release(&e->ns_cache);
	pw_arena_release(&e->arena);
	memset(e, 0, sizeof(*e));
}

/* ---- incremental updates ------------------------------------------------ */

/* Remove slot from identity i's list for d, and insert it again when it
   applies, in evaluation order. */
static void relist(struct pw_engine *e, uint32_t i, uint32_t slot)
{
	struct pw_identity *id = &e->ids[i];
	const struct pw_gpolicy *g = &e->pols[slot];
	for (int d = 0; d < 2; d++) {
		uint32_t n = id->npols[d];
		bool in = pw_idset_has(g->ids, i) && (g->types & (1u << d));
		uint32_t *v = pw_arena_alloc(&e->arena, (n + 1) * sizeof(*v));
		uint32_t m = 0;
		bool placed = !in;
		for (uint32_t k = 0; k < n; k++) {
			uint32_t s = id->pols[d][k];
			if (s == slot)
				continue;
			if (!placed && pol_cmp(g, &e->pols[s]) < 0) {
				v[m++] = slot;
				placed = true;
			}
			v[m++] = s;
		}
		if (!placed)
			v[m++] = slot;
		id->pols[d] = v;
		id->npols[d] = m;
	}
}

static bool model_present(const struct pw_cluster *c, enum pw_gsrc src,
			  uint32_t k, bool *staged)
{
	*staged = false;
	switch (src) {
	case PW_SRC_K8S:
		*staged = k < c->npols && c->pols[k].staged != PW_ENFORCED;
		return k < c->npols && !c->pols[k].deleted && !*staged;
	case PW_SRC_CALICO:
		*staged = k < c->ncpols && c->cpols[k].staged != PW_ENFORCED;
		return k < c->ncpols && !c->cpols[k].deleted && !*staged;
	default:
		return k < c->napols && !c->apols[k].deleted;
	}
}

int pw_engine_update_policy(struct pw_engine *e, enum pw_gsrc src, uint32_t k,
			    uint64_t *affected)
{
	bool staged;
	bool present = model_present(e->c, src, k, &staged);
	if ((e->flags & PW_ENGINE_STAGED) || staged)
		return -1;
	int slot = slot_map_get(e, src, k);
	if (slot < 0 && !present)
		return 0;
	if (slot >= 0)
		IDSET_EACH(e->pols[slot].ids, x, bit_set(affected, x));
	if (slot < 0) {
		slot = (int)e->npols;
		slot_new(e);
		slot_map_set(e, src, k, slot);
	}
	struct pw_gpolicy *g = &e->pols[slot];
	uint32_t gen = g->gen + 1;
	memset(g, 0, sizeof(*g));
	g->gen = gen;
	if (present) {
		struct pw_buf b;
		pw_buf_init(&b);
		if (src == PW_SRC_K8S)
			compile_k8s(e, k, g, &b);
		else if (src == PW_SRC_CALICO) {
			need_views(e);
			compile_calico(e, k, g, &b);
		}
		else
			compile_admin(e, k, g, &b);
		pw_buf_release(&b);
		resolve_tier(e, g);
	} else {
		g->name = g->display = "(deleted)";
		g->src = src;
		g->src_index = k;
		g->ids = idset_of(e, NULL, 0);
		g->subj.kind = PW_GS_NONE;
	}
	IDSET_EACH(g->ids, x, bit_set(affected, x));
	for (size_t w = 0; w < e->nwords; w++)
		for (uint64_t m = affected[w]; m; m &= m - 1)
			relist(e, (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m)),
			       (uint32_t)slot);
	return 0;
}

int pw_engine_update_pod(struct pw_engine *e, uint32_t pod)
{
	const struct pw_cluster *c = e->c;
	struct pw_buf b;
	pw_buf_init(&b);
	identity_key(&c->pods[pod], &b);
	uintptr_t v = (uintptr_t)pw_strmap_get(&e->id_index, b.s);
	uint32_t id;
	e->added_for = UINT32_MAX;
	if (v) {
		id = (uint32_t)(v - 1);
	} else {
		id = identity_new(e, pod, pw_arena_strndup(&e->arena, b.s, b.len));
		if (id == UINT32_MAX) {
			pw_buf_release(&b);
			return -1;
		}
		index_identity(e, id, &b);
		/* every distinct selector part that can see its namespace,
		   once, for the newcomer; the ones it joins are noted */
		e->added.n = 0;
		e->added_for = id;
		for (int any = 0; any < 2; any++) {
			const struct pw_idvec *sv = any ? &e->sels_any
							: &e->sels_ns[e->ids[id].ns];
			for (uint32_t x = 0; x < sv->n; x++) {
				uint32_t k = sv->v[x];
				if (gsel_match(e, &e->sels[k].g, id)) {
					idset_add(e, e->sels[k].set, id);
					idvec_push(e, &e->added, k);
				}
			}
		}
		uint32_t *mine = pw_xmalloc((e->npols + 1) * sizeof(*mine));
		uint32_t n = 0;
		for (uint32_t k = 0; k < e->npols; k++)
			if (pw_idset_has(e->pols[k].ids, id))
				mine[n++] = k;
		sort_base = e->pols;
		if (n)
			qsort(mine, n, sizeof(*mine), slot_cmp);
		struct pw_identity *ident = &e->ids[id];
		for (int d = 0; d < 2; d++) {
			ident->pols[d] = pw_arena_alloc(&e->arena, (n + 1) * sizeof(uint32_t));
			for (uint32_t k = 0; k < n; k++)
				if (e->pols[mine[k]].types & (1u << d))
					ident->pols[d][ident->npols[d]++] = mine[k];
		}
		free(mine);
	}
	e->pod_identity[pod] = id;
	pw_buf_release(&b);
	return 0;
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

/* A destination known by a DNS name that every domain pattern matches
   (compared by address): what a rule could match once names are known. */
static const char any_name[] = "*";

static bool in_domains(const char *const *v, uint32_t n, const char *name)
{
	if (name == any_name)
		return n > 0;
	for (uint32_t i = 0; name && i < n; i++)
		if (pw_domain_match(v[i], name))
			return true;
	return false;
}

/* Does side s match an endpoint (ports aside)?  A pod is known by its
   identity; addr (family 0: none) and name (NULL: none) as given. */
bool pw_engine_side_match_id(const struct pw_engine *e, const struct pw_gside *s,
			     bool pod, uint32_t identity,
			     const struct pw_addr *addr, const char *name)
{
	(void)e;
	if (s->nnets) {
		if (!addr->family || (pod && !s->nets_pods) ||
		    !in_nets(s->nets, s->nnets, addr))
			return false;
	}
	if (s->nnot_nets && addr->family && in_nets(s->not_nets, s->nnot_nets, addr))
		return false;
	if (!pod && s->pods_only)
		return false;
	if (s->ids) {
		if (pod) {
			if (!pw_idset_has(s->ids, identity) &&
			    !(addr->family && in_nets(s->set_nets, s->nset_nets, addr)))
				return false;
		} else if (!(addr->family && in_nets(s->set_nets, s->nset_nets, addr)) &&
			   !in_domains(s->set_domains, s->nset_domains, name)) {
			return false;
		}
	}
	if (s->not_ids) {
		if (pod && pw_idset_has(s->not_ids, identity))
			return false;
		if (addr->family && in_nets(s->not_set_nets, s->nnot_set_nets, addr))
			return false;
	}
	if (s->ndomains && (pod || !in_domains(s->domains, s->ndomains, name)))
		return false;
	return true;
}

bool pw_engine_side_match(const struct pw_engine *e, const struct pw_gside *s,
			  const struct pw_ep *ep)
{
	bool pod = ep->pod >= 0;
	return pw_engine_side_match_id(e, s, pod, pod ? e->pod_identity[ep->pod] : 0,
				       &ep->addr, ep->name);
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

/* The port condition of the last rule asked, for the rules after it that
   share its port lists (a Kubernetes rule's peers do, and so do rules that
   alias one list in YAML): one walk then costs rules + ports, not their
   product.  Valid for one destination and query. */
struct port_memo {
	const struct pw_np_port *ports, *not_ports;
	uint32_t nports, nnot_ports;
	bool known, ok;
};

static bool rule_ports_match(const struct pw_engine *e, const struct pw_grule *r,
			     const struct pw_ep *dst, const struct pw_query *q,
			     struct port_memo *m)
{
	if (m && m->known && m->ports == r->dst.ports && m->nports == r->dst.nports &&
	    m->not_ports == r->dst.not_ports && m->nnot_ports == r->dst.nnot_ports)
		return m->ok;
	int pp = pw_proto_of_ip(q->ipproto);
	bool ok = !(r->dst.nports &&
		    (pp < 0 || !port_in(e, r->dst.ports, r->dst.nports, pp, q->port, dst))) &&
		  !(r->dst.nnot_ports && pp >= 0 &&
		    port_in(e, r->dst.not_ports, r->dst.nnot_ports, pp, q->port, dst));
	if (m)
		*m = (struct port_memo){ r->dst.ports, r->dst.not_ports, r->dst.nports,
					 r->dst.nnot_ports, true, ok };
	return ok;
}

static bool rule_match(const struct pw_engine *e, const struct pw_grule *r,
		       const struct pw_ep *src, const struct pw_ep *dst,
		       const struct pw_query *q, struct port_memo *m)
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
	if (!rule_ports_match(e, r, dst, q, m))
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

bool pw_engine_rule_match(const struct pw_engine *e, const struct pw_grule *r,
			  const struct pw_ep *src, const struct pw_ep *dst,
			  const struct pw_query *q)
{
	return rule_match(e, r, src, dst, q, NULL);
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
	struct port_memo memo = { 0 };
	while (i < n) {
		uint32_t tier = e->pols[id->pols[dir][i]].tier;
		bool passed = false;
		for (; i < n && e->pols[id->pols[dir][i]].tier == tier && !passed; i++) {
			uint32_t k = id->pols[dir][i];
			const struct pw_gpolicy *g = &e->pols[k];
			for (uint32_t r = 0; r < g->nrules[dir]; r++) {
				const struct pw_grule *gr = &g->rules[dir][r];
				if (!rule_match(e, gr, src, dst, q, &memo))
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

/* The verdicts direction dir of the walk could reach from position i of
   id's applicable policies (1: allow, 2: deny) when rules that match only
   with a DNS name (any) may or may not match.  memo: per position, its
   answer + 4 once known (only tier starts are asked). */
static unsigned outcomes_from(const struct pw_engine *e, enum pw_dir dir,
			      const struct pw_identity *id, uint32_t i,
			      const struct pw_ep *src, const struct pw_ep *dst,
			      const struct pw_ep *any, const struct pw_query *q,
			      unsigned char *memo)
{
	uint32_t n = id->npols[dir], start = i;
	unsigned acc = 0;
	struct port_memo pm = { 0 };
	if (memo[start])
		return memo[start] - 4u;
	while (i < n) {
		uint32_t tier = e->pols[id->pols[dir][i]].tier, next = i;
		while (next < n && e->pols[id->pols[dir][next]].tier == tier)
			next++;
		bool decided = false;
		for (; i < next && !decided; i++) {
			const struct pw_gpolicy *g = &e->pols[id->pols[dir][i]];
			for (uint32_t r = 0; r < g->nrules[dir] && !decided; r++) {
				const struct pw_grule *gr = &g->rules[dir][r];
				if (gr->action == PW_ACT_LOG)
					continue;
				bool sure = rule_match(e, gr, src, dst, q, &pm);
				if (!sure && !rule_match(e, gr, src, any, q, &pm))
					continue;
				if (gr->action == PW_ACT_PASS)
					acc |= outcomes_from(e, dir, id, next, src, dst, any, q, memo);
				else
					acc |= gr->action == PW_ACT_ALLOW ? 1u : 2u;
				decided = sure;
			}
		}
		if (decided) {
			memo[start] = (unsigned char)(acc + 4);
			return acc;
		}
		if (e->tiers[tier].default_action == PW_ACT_DENY) {
			acc |= 2;
			memo[start] = (unsigned char)(acc + 4);
			return acc;
		}
		i = next;
	}
	acc |= 1; /* the profile */
	memo[start] = (unsigned char)(acc + 4);
	return acc;
}

bool pw_engine_name_dependent(const struct pw_engine *e, const struct pw_ep *src,
			      const struct pw_ep *dst, const struct pw_query *q)
{
	if (dst->pod >= 0 || dst->name)
		return false;
	struct pw_ep any = *dst;
	any.name = any_name;
	unsigned out[2];
	for (int d = 0; d < 2; d++) {
		const struct pw_ep *self = d == PW_EGRESS ? src : dst;
		out[d] = 1;
		if (!pw_engine_governed(e, self))
			continue;
		const struct pw_identity *id = &e->ids[e->pod_identity[self->pod]];
		unsigned char *memo = pw_xcalloc(id->npols[d] + 1, 1);
		out[d] = outcomes_from(e, (enum pw_dir)d, id, 0, src, dst, &any, q, memo);
		free(memo);
	}
	bool can_allow = (out[0] & 1) && (out[1] & 1);
	bool can_deny = (out[0] & 2) || (out[1] & 2);
	return can_allow && can_deny;
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
	int g = slot_map_get(e, PW_SRC_K8S, k);
	return g >= 0 && pw_idset_has(e->pols[g].ids, e->pod_identity[pod]);
}

const struct pw_idset *pw_engine_k8s_peer_ids(const struct pw_engine *e, uint32_t k,
				       enum pw_dir dir, uint32_t r, uint32_t q)
{
	int g = slot_map_get(e, PW_SRC_K8S, k);
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

/* ---- address classes ---------------------------------------------------- */

struct addrv {
	struct pw_addr *v;
	size_t n, cap;
};

static void addrv_push(struct addrv *v, const struct pw_addr *a)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->v = pw_xrealloc(v->v, v->cap * sizeof(*v->v));
	}
	v->v[v->n++] = *a;
}

static void cut_cidrs(struct addrv *v, const struct pw_cidr *c, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct pw_addr end = pw_cidr_last(&c[i]);
		addrv_push(v, &c[i].addr);
		if (pw_addr_inc(&end))
			addrv_push(v, &end);
	}
}

static void cut_side(struct addrv *v, const struct pw_gside *s)
{
	cut_cidrs(v, s->nets, s->nnets);
	cut_cidrs(v, s->not_nets, s->nnot_nets);
	cut_cidrs(v, s->set_nets, s->nset_nets);
	cut_cidrs(v, s->not_set_nets, s->nnot_set_nets);
}

static int addr_qcmp(const void *x, const void *y)
{
	return pw_addr_cmp(x, y);
}

size_t pw_engine_addr_bounds(const struct pw_engine *e, struct pw_addr **out)
{
	struct addrv v = { NULL, 0, 0 };
	struct pw_addr z4 = { .family = 4 }, z6 = { .family = 6 };
	addrv_push(&v, &z4);
	addrv_push(&v, &z6);
	for (uint32_t k = 0; k < e->npols; k++)
		for (int d = 0; d < 2; d++)
			for (uint32_t i = 0; i < e->pols[k].nrules[d]; i++) {
				cut_side(&v, &e->pols[k].rules[d][i].src);
				cut_side(&v, &e->pols[k].rules[d][i].dst);
			}
	qsort(v.v, v.n, sizeof(*v.v), addr_qcmp);
	size_t n = 0;
	for (size_t i = 0; i < v.n; i++)
		if (!n || pw_addr_cmp(&v.v[n - 1], &v.v[i]))
			v.v[n++] = v.v[i];
	*out = v.v;
	return n;
}

/* ---- port classes -------------------------------------------------------- */

void pw_engine_port_cuts(const struct pw_engine *e,
			 unsigned char *cut[PW_NPROTO])
{
	for (uint32_t k = 0; k < e->npols; k++)
		for (int d = 0; d < 2; d++)
			for (uint32_t r = 0; r < e->pols[k].nrules[d]; r++) {
				const struct pw_grule *gr = &e->pols[k].rules[d][r];
				/* a rule's peers share its port lists: once */
				if (r && gr->dst.ports == gr[-1].dst.ports &&
				    gr->dst.nports == gr[-1].dst.nports &&
				    gr->dst.not_ports == gr[-1].dst.not_ports &&
				    gr->dst.nnot_ports == gr[-1].dst.nnot_ports)
					continue;
				cut_ports(e, gr->dst.ports, gr->dst.nports, cut);
				cut_ports(e, gr->dst.not_ports, gr->dst.nnot_ports, cut);
			}
}
