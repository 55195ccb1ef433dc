// SPDX-License-Identifier: Apache-2.0
/* Reachability at cluster scale.  See reach.h for the model. */
#include "reach.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pw_acpods {
	uint64_t *bits; /* pod atoms whose address is in the class */
};

/* (identity, address class) -> atom, open addressing */
struct pw_amap {
	uint64_t *keys; /* key + 1; 0 = empty */
	uint32_t *vals;
	size_t n, cap;
};

struct pw_pcache { /* the atoms a rule's peer side matches */
	uint64_t *bits;	 /* when dense */
	uint32_t *list;	 /* when sparse: sorted */
	uint32_t n, cap;
	uint32_t natoms; /* atoms it was computed for */
	uint32_t members; /* a unit's: its rules */
	bool done;
};

/* Row contents, shared between rows that hold the same (reference
   counted): many classes allow the same peers. */
struct pw_blob {
	struct pw_blob *next;
	uint64_t hash;
	uint32_t refs, len;
	uint64_t data[];
};

/* per rule uid: the rule and the classes whose chains hold it */
struct pw_rev {
	const struct pw_grule *gr;
	uint32_t *cls;
	uint32_t n, cap;
};

enum { ROW_LIST, ROW_COLIST, ROW_BITS };
#define NONE UINT32_MAX

/* ---- bitsets ------------------------------------------------------------- */

static bool bit(const uint64_t *b, uint32_t i)
{
	return b[i >> 6] >> (i & 63) & 1;
}

static void bit_set(uint64_t *b, uint32_t i)
{
	b[i >> 6] |= 1ull << (i & 63);
}

static void bit_put(uint64_t *b, uint32_t i, bool v)
{
	if (v)
		b[i >> 6] |= 1ull << (i & 63);
	else
		b[i >> 6] &= ~(1ull << (i & 63));
}

/* bits [lo, hi] */
static void set_range(uint64_t *b, uint32_t lo, uint32_t hi)
{
	for (uint32_t i = lo; i <= hi && i % 64; i++)
		bit_set(b, i);
	uint32_t i = lo % 64 ? lo + (64 - lo % 64) : lo;
	for (; i + 63 <= hi; i += 64)
		b[i >> 6] = ~0ull;
	for (; i <= hi; i++)
		bit_set(b, i);
}

static size_t words(const struct pw_reach *r)
{
	return (r->natoms + 63) / 64;
}

static void b_all(const struct pw_reach *r, uint64_t *b)
{
	memset(b, 0, r->nwords * 8);
	if (r->natoms)
		set_range(b, 0, r->natoms - 1);
}

static void b_zero(const struct pw_reach *r, uint64_t *b)
{
	memset(b, 0, words(r) * 8);
}

static void b_and(const struct pw_reach *r, uint64_t *a, const uint64_t *b)
{
	for (size_t w = 0, n = words(r); w < n; w++)
		a[w] &= b[w];
}

static void b_andnot(const struct pw_reach *r, uint64_t *a, const uint64_t *b)
{
	for (size_t w = 0, n = words(r); w < n; w++)
		a[w] &= ~b[w];
}

static void b_or(const struct pw_reach *r, uint64_t *a, const uint64_t *b)
{
	for (size_t w = 0, n = words(r); w < n; w++)
		a[w] |= b[w];
}

static bool b_empty(const struct pw_reach *r, const uint64_t *a)
{
	for (size_t w = 0, n = words(r); w < n; w++)
		if (a[w])
			return false;
	return true;
}

/* ---- addresses ------------------------------------------------------------ */

/* the address class of a: the last start <= a */
static uint32_t aclass_of(const struct pw_reach *r, const struct pw_addr *a)
{
	uint32_t lo = 0, hi = r->nbounds;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (pw_addr_cmp(&r->bounds[mid], a) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static bool is_bound(const struct pw_reach *r, const struct pw_addr *a)
{
	return !pw_addr_cmp(&r->bounds[aclass_of(r, a)], a);
}

static bool cidr_aligned(const struct pw_reach *r, const struct pw_cidr *c)
{
	struct pw_addr end = pw_cidr_last(c);
	return is_bound(r, &c->addr) && (!pw_addr_inc(&end) || is_bound(r, &end));
}

static void build_bounds(struct pw_reach *r)
{
	r->nbounds = (uint32_t)pw_engine_addr_bounds(r->e, &r->bounds);
}

/* ---- atoms ---------------------------------------------------------------- */

static size_t amap_slot(const struct pw_amap *m, uint64_t key);
static uint32_t amap_get64(const struct pw_amap *m, uint64_t key)
{
	if (!m->cap)
		return UINT32_MAX;
	size_t i = amap_slot(m, key);
	return m->keys[i] ? m->vals[i] : UINT32_MAX;
}
static void amap_put64(struct pw_amap *m, uint64_t key, uint32_t val);

static uint64_t amap_key(uint32_t id, uint32_t ac)
{
	return ((uint64_t)id << 32 | ac) + 1;
}

static size_t amap_slot(const struct pw_amap *m, uint64_t key)
{
	size_t i = (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static uint32_t amap_get(const struct pw_amap *m, uint32_t id, uint32_t ac)
{
	if (!m->cap)
		return NONE;
	size_t i = amap_slot(m, amap_key(id, ac));
	return m->keys[i] ? m->vals[i] : NONE;
}

static void amap_put64(struct pw_amap *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct pw_amap old = *m;
		m->cap = m->cap ? m->cap * 2 : 64;
		m->keys = pw_xcalloc(m->cap, sizeof(*m->keys));
		m->vals = pw_xcalloc(m->cap, sizeof(*m->vals));
		m->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.keys[i]) {
				size_t s = amap_slot(m, old.keys[i]);
				m->keys[s] = old.keys[i];
				m->vals[s] = old.vals[i];
				m->n++;
			}
		free(old.keys);
		free(old.vals);
	}
	size_t s = amap_slot(m, key);
	if (!m->keys[s])
		m->n++;
	m->keys[s] = key;
	m->vals[s] = val;
}

static void amap_put(struct pw_amap *m, uint32_t id, uint32_t ac, uint32_t atom)
{
	amap_put64(m, amap_key(id, ac), atom);
}

static struct pw_ivec *ivec_at(struct pw_reach *r, struct pw_strmap *m,
			       const char *key)
{
	uintptr_t v = (uintptr_t)pw_strmap_get(m, key);
	if (!v) {
		struct pw_ivec *iv = PW_PUSH(&r->arena, r->nvecs, r->nnvecs, r->nvecs_cap);
		memset(iv, 0, sizeof(*iv));
		v = r->nnvecs;
		pw_strmap_put(m, pw_arena_strdup(&r->arena, key), (void *)v);
	}
	return &r->nvecs[v - 1];
}

static const struct pw_ivec *ivec_get(const struct pw_reach *r,
				      const struct pw_strmap *m, const char *key)
{
	uintptr_t v = (uintptr_t)pw_strmap_get(m, key);
	return v ? &r->nvecs[v - 1] : NULL;
}

static const struct pw_pod *id_pod(const struct pw_reach *r, uint32_t id)
{
	return &r->e->ids[id].snap;
}

/* What bitsets and indexes know of a pod atom. */
static void index_atom(struct pw_reach *r, uint32_t a)
{
	const struct pw_atom *at = &r->atoms[a];
	char key[300];
	bit_put(r->fam[0], a, at->addr.family != 6);
	bit_put(r->fam[1], a, at->addr.family != 4);
	if (at->identity == NONE)
		return;
	bit_set(r->pods, a);
	if (at->aclass != NONE) {
		struct pw_acpods *ap = &r->acpods[at->aclass];
		if (!ap->bits)
			ap->bits = pw_xcalloc(r->nwords, 8);
		bit_set(ap->bits, a);
	}
	const struct pw_pod *p = id_pod(r, at->identity);
	for (uint32_t i = 0; i < p->nports; i++) {
		const struct pw_cport *cp = &p->ports[i];
		if (!cp->name || cp->proto < 0 || cp->proto >= PW_NPROTO)
			continue;
		snprintf(key, sizeof(key), "%s\x1f%d\x1f%d", cp->name, cp->proto, cp->port);
		struct pw_ivec *v = ivec_at(r, &r->named, key);
		*PW_PUSH(&r->arena, v->v, v->n, v->cap) = a;
		snprintf(key, sizeof(key), "%s\x1f%d", cp->name, cp->proto);
		v = ivec_at(r, &r->named_ports, key);
		bool seen = false;
		for (uint32_t k = 0; k < v->n && !seen; k++)
			seen = v->v[k] == (uint32_t)cp->port;
		if (!seen)
			*PW_PUSH(&r->arena, v->v, v->n, v->cap) = (uint32_t)cp->port;
	}
}

static uint32_t atom_new(struct pw_reach *r, uint32_t id, uint32_t ac,
			 const struct pw_addr *addr)
{
	if (r->nwords && r->natoms == r->atoms_cap)
		return NONE; /* the bitsets have no room */
	if (!r->nwords && r->natoms % 1024 == 0) /* building: grow */
		r->atoms = pw_xrealloc(r->atoms, (r->natoms + 1024) * sizeof(*r->atoms));
	struct pw_atom *at = &r->atoms[r->natoms];
	memset(at, 0, sizeof(*at));
	at->identity = id;
	at->aclass = ac;
	if (addr)
		at->addr = *addr;
	at->cls[0] = at->cls[1] = PW_NO_CLASS;
	if (id != NONE && (id >= r->nid0 || r->atoms[id].aclass != ac))
		amap_put(r->extra, id, ac, r->natoms);
	return r->natoms++;
}

static const struct pw_addr *pod_addr(const struct pw_pod *p)
{
	static const struct pw_addr none = { 0 };
	return p->naddrs ? &p->addrs[0] : &none;
}

/* The atom of (identity, address), NONE if it has none yet. */
static uint32_t find_atom(const struct pw_reach *r, uint32_t id,
			  const struct pw_addr *a, uint32_t *ac)
{
	*ac = a->family ? aclass_of(r, a) : NONE;
	if (id < r->nid0 && r->atoms[id].aclass == *ac)
		return id;
	return amap_get(r->extra, id, *ac);
}

/* ---- sides as atom sets ---------------------------------------------------- */

static bool atom_in_side(const struct pw_reach *r, const struct pw_gside *s,
			 uint32_t a)
{
	const struct pw_atom *at = &r->atoms[a];
	return pw_engine_side_match_id(r->e, s, at->identity != NONE, at->identity,
				       &at->addr, NULL);
}

static void nets_bits(const struct pw_reach *r, const struct pw_cidr *c,
		      uint32_t n, bool pods, uint64_t *out)
{
	for (uint32_t i = 0; i < n; i++) {
		struct pw_addr end = pw_cidr_last(&c[i]);
		uint32_t lo = aclass_of(r, &c[i].addr), hi = aclass_of(r, &end);
		set_range(out, r->ext_base + lo, r->ext_base + hi);
		for (uint32_t k = lo; pods && k <= hi; k++)
			if (r->acpods[k].bits)
				b_or(r, out, r->acpods[k].bits);
	}
}

static void ids_bits(const struct pw_reach *r, const struct pw_idset *ids,
		     uint64_t *out)
{
	size_t w = (r->nid0 + 63) / 64;
	if (ids->bits) {
		memcpy(out, ids->bits, w * 8);
		if (r->nid0 % 64)
			out[w - 1] &= (1ull << (r->nid0 % 64)) - 1;
		memset(out + w, 0, (words(r) - w) * 8);
	} else {
		memset(out, 0, words(r) * 8);
		for (uint32_t i = 0; i < ids->n && ids->v[i] < r->nid0; i++)
			bit_set(out, ids->v[i]);
	}
	for (uint32_t a = r->ext_base + r->next; a < r->natoms; a++)
		if (pw_idset_has(ids, r->atoms[a].identity))
			bit_set(out, a);
}

/* The atoms side s matches (ports aside); atoms have no DNS names. */
static void side_atoms(const struct pw_reach *r, const struct pw_gside *s,
		       uint64_t *out)
{
	uint64_t *t = r->scratch, *t2 = r->scratch + r->nwords;
	b_all(r, out);
	if (s->ndomains) {
		b_zero(r, out);
		return;
	}
	if (s->nnets) {
		b_zero(r, t);
		nets_bits(r, s->nets, s->nnets, s->nets_pods, t);
		b_and(r, out, t);
	}
	if (s->nnot_nets) {
		b_zero(r, t);
		nets_bits(r, s->not_nets, s->nnot_nets, true, t);
		b_andnot(r, out, t);
	}
	if (s->pods_only)
		b_and(r, out, r->pods);
	if (s->ids) {
		ids_bits(r, s->ids, t);
		b_zero(r, t2);
		nets_bits(r, s->set_nets, s->nset_nets, true, t2);
		b_or(r, t, t2);
		b_and(r, out, t);
	}
	if (s->not_ids) {
		ids_bits(r, s->not_ids, t);
		b_zero(r, t2);
		nets_bits(r, s->not_set_nets, s->nnot_set_nets, true, t2);
		b_or(r, t, t2);
		b_andnot(r, out, t);
	}
}

static bool fam_ok(const struct pw_grule *gr, const struct pw_atom *at)
{
	return !gr->ip_version || !at->addr.family || at->addr.family == gr->ip_version;
}

/* pc holds the atoms of bitset t (a list when sparse) */
static void pcache_store(const struct pw_reach *r, struct pw_pcache *pc,
			 const uint64_t *t)
{
	uint32_t pop = 0;
	for (size_t w = 0, nw = words(r); w < nw; w++)
		pop += (uint32_t)__builtin_popcountll(t[w]);
	if ((size_t)pop * 32 <= r->natoms) {
		pc->cap = pop + 8;
		pc->list = pw_xmalloc(pc->cap * sizeof(uint32_t));
		for (size_t w = 0, nw = words(r); w < nw; w++)
			for (uint64_t m = t[w]; m; m &= m - 1)
				pc->list[pc->n++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m));
	} else {
		pc->bits = pw_xmalloc(r->nwords * 8);
		memcpy(pc->bits, t, r->nwords * 8);
	}
	pc->natoms = r->natoms;
	pc->done = true;
}

/* atom a (the next one) is in pc or not */
static void pcache_put(struct pw_pcache *pc, uint32_t a, bool in)
{
	if (pc->bits) {
		bit_put(pc->bits, a, in);
	} else if (in) {
		if (pc->n == pc->cap) {
			pc->cap = pc->cap * 2 + 8;
			pc->list = pw_xrealloc(pc->list, pc->cap * sizeof(uint32_t));
		}
		pc->list[pc->n++] = a;
	}
}

/* The peer atoms of rule gr in direction d, cached per compiled rule. */
static const struct pw_pcache *peer_set(struct pw_reach *r,
					const struct pw_grule *gr, int d)
{
	const struct pw_gside *s = d == PW_INGRESS ? &gr->src : &gr->dst;
	if (gr->uid >= r->npeers) {
		uint32_t n = r->e->next_uid + 64;
		r->peers = pw_xrealloc(r->peers, n * sizeof(*r->peers));
		memset(r->peers + r->npeers, 0, (n - r->npeers) * sizeof(*r->peers));
		r->npeers = n;
	}
	struct pw_pcache *pc = &r->peers[gr->uid];
	if (!pc->done) {
		uint64_t *t = r->scratch + 7 * r->nwords;
		side_atoms(r, s, t);
		if (gr->ip_version)
			b_and(r, t, r->fam[gr->ip_version == 6]);
		pcache_store(r, pc, t);
	}
	for (; pc->natoms < r->natoms; pc->natoms++)
		pcache_put(pc, pc->natoms,
			   atom_in_side(r, s, pc->natoms) && fam_ok(gr, &r->atoms[pc->natoms]));
	return pc;
}

/* The peer atoms of the unit of n rules from gr (see struct unit): their
   union, cached per first rule. */
static const struct pw_pcache *unit_peer_set(struct pw_reach *r,
					     const struct pw_grule *gr, uint32_t n, int d)
{
	if (n == 1)
		return peer_set(r, gr, d);
	if (gr->uid >= r->nupeers) {
		uint32_t m = r->e->next_uid + 64;
		r->upeers = pw_xrealloc(r->upeers, m * sizeof(*r->upeers));
		memset(r->upeers + r->nupeers, 0, (m - r->nupeers) * sizeof(*r->upeers));
		r->nupeers = m;
	}
	struct pw_pcache *pc = &r->upeers[gr->uid];
	if (pc->done && pc->members != n) {
		free(pc->bits);
		free(pc->list);
		memset(pc, 0, sizeof(*pc));
	}
	if (!pc->done) {
		uint64_t *u = pw_xcalloc(r->nwords, 8), *t = pw_xmalloc(r->nwords * 8);
		for (uint32_t i = 0; i < n; i++) {
			side_atoms(r, d == PW_INGRESS ? &gr[i].src : &gr[i].dst, t);
			if (gr[i].ip_version)
				b_and(r, t, r->fam[gr[i].ip_version == 6]);
			b_or(r, u, t);
		}
		pcache_store(r, pc, u);
		pc->members = n;
		free(u);
		free(t);
	}
	for (; pc->natoms < r->natoms; pc->natoms++) {
		bool in = false;
		for (uint32_t i = 0; i < n && !in; i++)
			in = atom_in_side(r, d == PW_INGRESS ? &gr[i].src : &gr[i].dst,
					  pc->natoms) &&
			     fam_ok(&gr[i], &r->atoms[pc->natoms]);
		pcache_put(pc, pc->natoms, in);
	}
	return pc;
}

/* out |= the peer set */
static void peer_or(const struct pw_reach *r, const struct pw_pcache *pc,
		    uint64_t *out)
{
	if (pc->bits)
		b_or(r, out, pc->bits);
	else
		for (uint32_t i = 0; i < pc->n; i++)
			bit_set(out, pc->list[i]);
}

/* ---- ports ---------------------------------------------------------------- */

static int named_port(const struct pw_reach *r, uint32_t id, const char *name,
		      int proto)
{
	if (id == NONE)
		return 0;
	const struct pw_pod *p = id_pod(r, id);
	for (uint32_t i = 0; i < p->nports; i++)
		if (p->ports[i].name && p->ports[i].proto == proto &&
		    !strcmp(p->ports[i].name, name))
			return p->ports[i].port;
	return 0;
}

/* Does an entry of v match port x of proto p at a destination of identity
   id (NONE: outside)? */
static bool port_in(const struct pw_reach *r, const struct pw_np_port *v,
		    uint32_t n, int p, uint32_t x, uint32_t id)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_np_port *pp = &v[i];
		if (pp->proto != p && pp->proto != PW_ANY)
			continue;
		if (pp->name) {
			if (named_port(r, id, pp->name, p) == (int)x)
				return true;
		} else if (!pp->port ||
			   (x >= (uint32_t)pp->port &&
			    x <= (uint32_t)(pp->end_port ? pp->end_port : pp->port))) {
			return true;
		}
	}
	return false;
}

/* The destination atoms at which an entry of v matches port x of proto p. */
static void port_atoms(const struct pw_reach *r, const struct pw_np_port *v,
		       uint32_t n, int p, uint32_t x, uint64_t *out)
{
	if (port_in(r, v, n, p, x, NONE)) { /* a number or a range: everyone */
		b_all(r, out);
		return;
	}
	b_zero(r, out);
	char key[300];
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_np_port *pp = &v[i];
		if (!pp->name || (pp->proto != p && pp->proto != PW_ANY))
			continue;
		snprintf(key, sizeof(key), "%s\x1f%d\x1f%u", pp->name, p, x);
		const struct pw_ivec *iv = ivec_get(r, &r->named, key);
		for (uint32_t k = 0; iv && k < iv->n; k++)
			bit_set(out, iv->v[k]);
	}
}

static bool rule_proto_ok(const struct pw_grule *gr, int p)
{
	int ip = pw_proto_ip(p);
	return gr->icmp_type == PW_ANY && (gr->proto == PW_ANY || gr->proto == ip) &&
	       gr->not_proto != ip;
}

/* Does the rule's condition on the class's own endpoint hold? */
static bool self_ok(const struct pw_reach *r, const struct pw_grule *gr, int d,
		    uint32_t self)
{
	return fam_ok(gr, &r->atoms[self]) &&
	       atom_in_side(r, d == PW_INGRESS ? &gr->dst : &gr->src, self);
}

static bool side_trivial(const struct pw_gside *s)
{
	return !s->nnets && !s->nnot_nets && !s->pods_only && !s->ids &&
	       !s->not_ids && !s->ndomains;
}

/* ---- classes ---------------------------------------------------------------- */

struct cutv {
	uint32_t *v;
	uint32_t n, cap;
};

static void cut_add(struct cutv *c, uint32_t x)
{
	if (x < 1 || x > PW_PORT_MAX)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->v = pw_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = x;
}

static int u32_cmp(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

static void cut_entries(const struct pw_reach *r, const struct pw_np_port *v,
			uint32_t n, int p, int d, uint32_t id, struct cutv *c)
{
	char key[300];
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_np_port *pp = &v[i];
		if (pp->proto != p && pp->proto != PW_ANY)
			continue;
		if (pp->name && d == PW_INGRESS) {
			uint32_t x = (uint32_t)named_port(r, id, pp->name, p);
			cut_add(c, x);
			cut_add(c, x + 1);
		} else if (pp->name) {
			snprintf(key, sizeof(key), "%s\x1f%d", pp->name, p);
			const struct pw_ivec *iv = ivec_get(r, &r->named_ports, key);
			for (uint32_t k = 0; iv && k < iv->n; k++) {
				cut_add(c, iv->v[k]);
				cut_add(c, iv->v[k] + 1);
			}
		} else if (pp->port) {
			cut_add(c, (uint32_t)pp->port);
			cut_add(c, (uint32_t)(pp->end_port ? pp->end_port : pp->port) + 1);
		}
	}
}

static void *blob_get(struct pw_reach *r, const void *p, size_t len)
{
	uint64_t h = pw_hash_bytes(p, len, 0x51ed);
	if ((r->nblobs + 1) * 2 > r->blob_cap) {
		size_t cap = r->blob_cap ? r->blob_cap * 2 : 1024;
		struct pw_blob **tab = pw_xcalloc(cap, sizeof(*tab));
		for (size_t i = 0; i < r->blob_cap; i++)
			for (struct pw_blob *b = r->blobs[i], *nx; b; b = nx) {
				nx = b->next;
				b->next = tab[b->hash & (cap - 1)];
				tab[b->hash & (cap - 1)] = b;
			}
		free(r->blobs);
		r->blobs = tab;
		r->blob_cap = cap;
	}
	struct pw_blob **head = &r->blobs[h & (r->blob_cap - 1)];
	for (struct pw_blob *b = *head; b; b = b->next)
		if (b->hash == h && b->len == len && !memcmp(b->data, p, len)) {
			b->refs++;
			return b->data;
		}
	struct pw_blob *b = pw_xmalloc(sizeof(*b) + len);
	b->hash = h;
	b->refs = 1;
	b->len = (uint32_t)len;
	memcpy(b->data, p, len);
	b->next = *head;
	*head = b;
	r->nblobs++;
	r->blob_bytes += len;
	return b->data;
}

static struct pw_blob *blob_of(void *data)
{
	return (struct pw_blob *)((char *)data - offsetof(struct pw_blob, data));
}

static void *blob_ref(void *data)
{
	if (data)
		blob_of(data)->refs++;
	return data;
}

static void blob_put(struct pw_reach *r, void *data)
{
	if (!data)
		return;
	struct pw_blob *b = blob_of(data);
	if (--b->refs)
		return;
	struct pw_blob **pp = &r->blobs[b->hash & (r->blob_cap - 1)];
	while (*pp != b)
		pp = &(*pp)->next;
	*pp = b->next;
	r->nblobs--;
	r->blob_bytes -= b->len;
	free(b);
}

static void row_store(struct pw_reach *r, struct pw_row *row, const uint64_t *b)
{
	uint32_t pop = 0;
	size_t nw = words(r);
	for (size_t w = 0; w < nw; w++)
		pop += (uint32_t)__builtin_popcountll(b[w]);
	memset(row, 0, sizeof(*row));
	row->natoms = r->natoms;
	row->id = r->nrowids++;
	if ((size_t)pop * 32 <= (size_t)r->natoms) {
		row->mode = ROW_LIST;
	} else if ((size_t)(r->natoms - pop) * 32 <= (size_t)r->natoms) {
		row->mode = ROW_COLIST;
	} else {
		row->mode = ROW_BITS;
		row->bits = blob_get(r, b, nw * 8);
		return;
	}
	bool want = row->mode == ROW_LIST;
	row->n = want ? pop : r->natoms - pop;
	uint32_t *v = row->n ? r->listbuf : NULL;
	uint32_t k = 0;
	for (size_t w = 0; w < nw; w++) {
		uint64_t m = want ? b[w] : ~b[w];
		if (w == nw - 1 && r->natoms % 64)
			m &= (1ull << (r->natoms % 64)) - 1;
		for (; m; m &= m - 1)
			v[k++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(m));
	}
	row->v = v ? blob_get(r, v, row->n * sizeof(uint32_t)) : NULL;
}

static bool row_has(const struct pw_reach *r, const struct pw_row *row, uint32_t a)
{
	if (a >= row->natoms) { /* the patch holds where it differs from fall */
		const struct pw_atom *at = &r->atoms[a];
		return (row->id < at->npatch && bit(at->patch, row->id)) != row->fall;
	}
	if (row->mode == ROW_BITS)
		return bit(row->bits, a);
	bool in = pw_sorted_has(row->v, row->n, a);
	return row->mode == ROW_LIST ? in : !in;
}

/* Can rule gr of class k match at port x of proto p, for some peer? */
/* self_ok() for the class being computed, once per rule (r->epoch) */
static bool self_ok_once(struct pw_reach *r, const struct pw_rclass *k,
			 const struct pw_grule *gr)
{
	if (gr->uid >= r->nself) {
		uint32_t n = r->e->next_uid + 64;
		r->self_stamp = pw_xrealloc(r->self_stamp, n * sizeof(*r->self_stamp));
		r->self_val = pw_xrealloc(r->self_val, n);
		memset(r->self_stamp + r->nself, 0, (n - r->nself) * sizeof(*r->self_stamp));
		r->nself = n;
	}
	if (r->self_stamp[gr->uid] != r->epoch) {
		r->self_stamp[gr->uid] = r->epoch;
		r->self_val[gr->uid] = self_ok(r, gr, k->dir, k->self);
	}
	return r->self_val[gr->uid];
}

static bool rule_may_match(struct pw_reach *r, const struct pw_rclass *k,
			   const struct pw_grule *gr, int p, uint32_t x)
{
	int d = k->dir;
	uint32_t id = r->atoms[k->self].identity;
	const struct pw_gside *ds = &gr->dst;
	if (gr->action == PW_ACT_LOG || !rule_proto_ok(gr, p) || !self_ok_once(r, k, gr))
		return false;
	if (d == PW_INGRESS)
		return (!ds->nports || port_in(r, ds->ports, ds->nports, p, x, id)) &&
		       (!ds->nnot_ports || !port_in(r, ds->not_ports, ds->nnot_ports, p, x, id));
	if (!ds->nports || port_in(r, ds->ports, ds->nports, p, x, UINT32_MAX))
		return true;
	char key[300];
	for (uint32_t i = 0; i < ds->nports; i++) {
		const struct pw_np_port *pp = &ds->ports[i];
		if (!pp->name || (pp->proto != p && pp->proto != PW_ANY))
			continue;
		snprintf(key, sizeof(key), "%s\x1f%d\x1f%u", pp->name, p, x);
		if (ivec_get(r, &r->named, key))
			return true;
	}
	return false;
}

/*
 * A unit: consecutive rules of one policy that differ only in their peers
 * (a Kubernetes rule compiles to one rule per peer).  The walk takes a unit
 * as one rule whose peers are the union of theirs: exact, since the first
 * of them to match decides as any other would (same action, protocol,
 * ports, and answer on the class's own endpoint).  So a rule of P peers and
 * Q port ranges costs P + Q per class, not P x Q.
 */
struct unit {
	const struct pw_grule *gr;
	uint32_t n;	/* rules: gr[0 .. n - 1] */
	uint32_t pi;	/* its policy: k->pols[pi] */
	bool base;	/* action, protocol family aside, self: may match at all */
	uint64_t *rows; /* rows whose ports it matches, when they are plain
			   numbers (else NULL: ask rule_may_match) */
};

static bool same_unit(struct pw_reach *r, const struct pw_rclass *k,
		      const struct pw_grule *a, const struct pw_grule *b)
{
	return a->action == b->action && a->proto == b->proto &&
	       a->not_proto == b->not_proto && a->icmp_type == b->icmp_type &&
	       a->icmp_code == b->icmp_code && a->not_icmp_type == b->not_icmp_type &&
	       a->not_icmp_code == b->not_icmp_code && a->ip_version == b->ip_version &&
	       a->dst.ports == b->dst.ports && a->dst.nports == b->dst.nports &&
	       a->dst.not_ports == b->dst.not_ports &&
	       a->dst.nnot_ports == b->dst.nnot_ports &&
	       self_ok_once(r, k, a) == self_ok_once(r, k, b);
}

/* Class k's units, in walk order (after its cuts are known). */
static struct unit *units_build(struct pw_reach *r, const struct pw_rclass *k,
				uint32_t *nu)
{
	const struct pw_engine *e = r->e;
	struct unit *u = NULL;
	size_t n = 0, cap = 0;
	int d = k->dir;
	for (uint32_t i = 0; i < k->npols; i++) {
		const struct pw_gpolicy *g = &e->pols[k->pols[i]];
		for (uint32_t q = 0; q < g->nrules[d]; q++) {
			const struct pw_grule *gr = &g->rules[d][q];
			if (q && same_unit(r, k, &g->rules[d][q - 1], gr)) {
				u[n - 1].n++;
				continue;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				u = pw_xrealloc(u, cap * sizeof(*u));
			}
			u[n++] = (struct unit){ gr, 1, i, gr->action != PW_ACT_LOG &&
							  self_ok_once(r, k, gr), NULL };
		}
	}
	/* the rows of plain port lists: each entry's range covers whole rows */
	for (size_t i = 0; i < n; i++) {
		const struct pw_gside *ds = &u[i].gr->dst;
		bool plain = !ds->nnot_ports;
		for (uint32_t x = 0; x < ds->nports && plain; x++)
			plain = !ds->ports[x].name;
		if (!plain || !u[i].base)
			continue;
		u[i].rows = pw_xcalloc(k->nrows / 64 + 1, 8);
		uint32_t base = 0;
		for (int p = 0; p < PW_NPROTO; base += k->ncuts[p], p++) {
			const uint32_t *cv = k->cuts[p];
			uint32_t nc = k->ncuts[p];
			if (!ds->nports) {
				for (uint32_t j = 0; j < nc; j++)
					bit_set(u[i].rows, base + j);
				continue;
			}
			for (uint32_t x = 0; x < ds->nports; x++) {
				const struct pw_np_port *pp = &ds->ports[x];
				if (pp->proto != p && pp->proto != PW_ANY)
					continue;
				uint32_t lo = pp->port ? (uint32_t)pp->port : 1;
				uint32_t hi = !pp->port ? PW_PORT_MAX
					      : (uint32_t)(pp->end_port ? pp->end_port : pp->port);
				uint32_t a = 0, b = nc; /* first cut >= lo */
				while (a < b) {
					uint32_t m = a + (b - a) / 2;
					if (cv[m] < lo)
						a = m + 1;
					else
						b = m;
				}
				for (; a < nc && cv[a] <= hi; a++)
					bit_set(u[i].rows, base + a);
			}
		}
	}
	*nu = (uint32_t)n;
	return u;
}

static void units_free(struct unit *u, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(u[i].rows);
	free(u);
}

/* Can unit u match at row j (port x of proto p), for some peer? */
static bool unit_may_match(struct pw_reach *r, const struct pw_rclass *k,
			   const struct unit *u, uint32_t j, int p, uint32_t x)
{
	if (!u->base || !rule_proto_ok(u->gr, p))
		return false;
	return u->rows ? bit(u->rows, j) : rule_may_match(r, k, u->gr, p, x);
}

/* The peers unit u lets through at row j (p, x), into m. */
static bool unit_peers(struct pw_reach *r, const struct pw_rclass *k,
		       const struct unit *u, uint32_t j, int p, uint32_t x, uint64_t *m)
{
	int d = k->dir;
	uint64_t *pt = r->scratch + 5 * r->nwords;
	const struct pw_gside *ds = &u->gr->dst;
	if (!unit_may_match(r, k, u, j, p, x))
		return false;
	b_zero(r, m);
	peer_or(r, unit_peer_set(r, u->gr, u->n, d), m);
	if (d == PW_EGRESS && ds->nports) {
		port_atoms(r, ds->ports, ds->nports, p, x, pt);
		b_and(r, m, pt);
	}
	if (d == PW_EGRESS && ds->nnot_ports) {
		port_atoms(r, ds->not_ports, ds->nnot_ports, p, x, pt);
		b_andnot(r, m, pt);
	}
	return true;
}

/* Walk class k's units for row j (port x of proto p): the allowed peers. */
static void row_compute(struct pw_reach *r, const struct pw_rclass *k,
			const struct unit *u, uint32_t nu, uint32_t j, int p,
			uint32_t x, uint64_t *allowed)
{
	const struct pw_engine *e = r->e;
	uint64_t *live = r->scratch + 2 * r->nwords, *pass = r->scratch + 3 * r->nwords;
	uint64_t *m = r->scratch + 4 * r->nwords;
	int d = k->dir;
	b_zero(r, allowed);
	if (k->simple) { /* one Deny tier of Allow rules: the union */
		for (uint32_t i = 0; i < nu; i++) {
			const struct pw_gside *ds = &u[i].gr->dst;
			if (d == PW_EGRESS && (ds->nports || ds->nnot_ports)) {
				if (unit_peers(r, k, &u[i], j, p, x, m))
					b_or(r, allowed, m);
			} else if (unit_may_match(r, k, &u[i], j, p, x)) {
				peer_or(r, unit_peer_set(r, u[i].gr, u[i].n, d), allowed);
			}
		}
		return;
	}
	b_all(r, live);
	uint32_t i = 0, pi = 0;
	while (pi < k->npols && !b_empty(r, live)) {
		uint32_t tier = e->pols[k->pols[pi]].tier;
		b_zero(r, pass);
		bool left = true; /* some peer has not been decided in this tier */
		for (; pi < k->npols && e->pols[k->pols[pi]].tier == tier; pi++)
			for (; i < nu && u[i].pi == pi; i++) {
				if (!left || !unit_peers(r, k, &u[i], j, p, x, m))
					continue;
				b_and(r, m, live);
				if (u[i].gr->action == PW_ACT_ALLOW)
					b_or(r, allowed, m);
				else if (u[i].gr->action == PW_ACT_PASS)
					b_or(r, pass, m);
				b_andnot(r, live, m);
				left = !b_empty(r, live);
			}
		if (e->tiers[tier].default_action == PW_ACT_DENY)
			memcpy(live, pass, words(r) * 8);
		else
			b_or(r, live, pass);
	}
	b_or(r, allowed, live); /* the profile allows the rest */
}

/* The same walk for one peer atom b, over row j's steps (the rules that
   may match there, and the ends of tiers); in[uid] caches whether b is in
   each rule's peer side (-1: not known yet). */
static bool single(const struct pw_reach *r, const struct pw_rclass *k,
		   uint32_t j, int p, uint32_t x, uint32_t b, int8_t *in)
{
	const struct pw_rstep *st = k->steps + k->step_off[j];
	const struct pw_rstep *end = k->steps + k->step_off[j + 1];
	const struct pw_atom *bt = &r->atoms[b];
	int d = k->dir;
	while (st < end) {
		const struct pw_grule *gr = st->gr;
		if (!gr) { /* the end of a tier in which nothing matched */
			if (st->deny)
				return false;
			st++;
			continue;
		}
		bool m = false;
		for (uint32_t i = 0; i < st->n && !m; i++) {
			uint32_t uid = gr[i].uid;
			if (in[uid] < 0)
				in[uid] = fam_ok(&gr[i], bt) &&
					  atom_in_side(r, d == PW_INGRESS ? &gr[i].src : &gr[i].dst, b);
			m = in[uid] > 0;
		}
		const struct pw_gside *ds = &gr->dst;
		if (m && d == PW_EGRESS)
			m = (!ds->nports || port_in(r, ds->ports, ds->nports, p, x, bt->identity)) &&
			    (!ds->nnot_ports ||
			     !port_in(r, ds->not_ports, ds->nnot_ports, p, x, bt->identity));
		if (!m) {
			st++;
			continue;
		}
		if (gr->action == PW_ACT_ALLOW)
			return true;
		if (gr->action == PW_ACT_DENY)
			return false;
		while (st->gr) /* Pass: on to the next tier */
			st++;
		st++;
	}
	return true; /* the profile */
}

static void step_push(struct pw_rclass *k, const struct pw_grule *gr, uint32_t n,
		      bool deny, size_t *cap)
{
	if (k->nsteps == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		k->steps = pw_xrealloc(k->steps, *cap * sizeof(*k->steps));
	}
	k->steps[k->nsteps++] = (struct pw_rstep){ gr, n, deny };
}

/* Row j's steps: per tier, the units that may match at (p, x), then the
   tier's end. */
static void steps_add(struct pw_reach *r, struct pw_rclass *k, const struct unit *u,
		      uint32_t nu, uint32_t j, int p, uint32_t x, size_t *cap)
{
	const struct pw_engine *e = r->e;
	uint32_t i = 0, pi = 0;
	while (pi < k->npols) {
		uint32_t tier = e->pols[k->pols[pi]].tier;
		for (; pi < k->npols && e->pols[k->pols[pi]].tier == tier; pi++)
			for (; i < nu && u[i].pi == pi; i++)
				if (unit_may_match(r, k, &u[i], j, p, x))
					step_push(k, u[i].gr, u[i].n, false, cap);
		step_push(k, NULL, 0, e->tiers[tier].default_action == PW_ACT_DENY, cap);
	}
}

static void rev_add(struct pw_reach *r, const struct pw_grule *gr, uint32_t k)
{
	if (gr->uid >= r->nrev) {
		uint32_t n = r->e->next_uid + 64;
		r->rev = pw_xrealloc(r->rev, n * sizeof(*r->rev));
		memset(r->rev + r->nrev, 0, (n - r->nrev) * sizeof(*r->rev));
		r->nrev = n;
	}
	struct pw_rev *v = &r->rev[gr->uid];
	if (!v->gr) { /* first seen: how a newcomer can be one of its peers */
		const struct pw_gside *s = r->cls[k].dir == PW_INGRESS ? &gr->src : &gr->dst;
		bool pure = s->ids && !s->nnets && !s->nnot_nets && !s->nset_nets &&
			    !s->not_ids && !s->nnot_set_nets && !s->ndomains &&
			    !s->nset_domains && gr->action != PW_ACT_LOG;
		struct pw_ivec *l = &r->other_uids;
		if (pure) { /* only through its identity set */
			uint64_t key = (uint64_t)(uintptr_t)s->ids;
			uint32_t x = amap_get64(r->by_set, key);
			if (x == UINT32_MAX) {
				x = r->nset_uids++;
				r->set_uids = pw_xrealloc(r->set_uids, r->nset_uids * sizeof(*r->set_uids));
				memset(&r->set_uids[x], 0, sizeof(*r->set_uids));
				amap_put64(r->by_set, key, x);
			}
			l = &r->set_uids[x];
		}
		*PW_PUSH(&r->arena, l->v, l->n, l->cap) = gr->uid;
	}
	v->gr = gr;
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 4;
		v->cls = pw_xrealloc(v->cls, v->cap * sizeof(*v->cls));
	}
	v->cls[v->n++] = k;
}

static void class_compute(struct pw_reach *r, struct pw_rclass *k)
{
	const struct pw_engine *e = r->e;
	uint32_t id = r->atoms[k->self].identity;
	k->nrows = 0;
	r->epoch++; /* self_ok_once() answers anew */
	for (int p = 0; p < PW_NPROTO; p++) {
		struct cutv c = { NULL, 0, 0 };
		cut_add(&c, 1);
		for (uint32_t i = 0; i < k->npols; i++) {
			const struct pw_gpolicy *g = &e->pols[k->pols[i]];
			for (uint32_t q = 0; q < g->nrules[k->dir]; q++) {
				const struct pw_grule *gr = &g->rules[k->dir][q];
				if (gr->action == PW_ACT_LOG || !rule_proto_ok(gr, p))
					continue;
				/* a rule's peers share its port lists: cut them once */
				if (q && gr->dst.ports == gr[-1].dst.ports &&
				    gr->dst.nports == gr[-1].dst.nports &&
				    gr->dst.not_ports == gr[-1].dst.not_ports &&
				    gr->dst.nnot_ports == gr[-1].dst.nnot_ports &&
				    gr[-1].action != PW_ACT_LOG && rule_proto_ok(&gr[-1], p))
					continue;
				cut_entries(r, gr->dst.ports, gr->dst.nports, p, k->dir, id, &c);
				cut_entries(r, gr->dst.not_ports, gr->dst.nnot_ports, p,
					    k->dir, id, &c);
			}
		}
		qsort(c.v, c.n, sizeof(*c.v), u32_cmp);
		uint32_t n = 0;
		for (uint32_t i = 0; i < c.n; i++)
			if (!n || c.v[n - 1] != c.v[i])
				c.v[n++] = c.v[i];
		k->cuts[p] = c.v;
		k->ncuts[p] = n;
		k->nrows += n;
	}
	k->rows = pw_xmalloc(k->nrows * sizeof(*k->rows));
	/* what a peer no rule matches gets: the tiers' default actions */
	k->fall = true;
	for (uint32_t i = 0; i < k->npols; i++) {
		uint32_t t = e->pols[k->pols[i]].tier;
		if (e->tiers[t].default_action == PW_ACT_DENY) {
			k->fall = false;
			break;
		}
	}
	for (uint32_t i = 0; i < k->npols; i++) {
		const struct pw_gpolicy *g = &e->pols[k->pols[i]];
		for (uint32_t q = 0; q < g->nrules[k->dir]; q++)
			rev_add(r, &g->rules[k->dir][q], (uint32_t)(k - r->cls));
	}
	k->simple = k->npols > 0;
	for (uint32_t i = 0; i < k->npols && k->simple; i++) {
		const struct pw_gpolicy *g = &e->pols[k->pols[i]];
		k->simple = g->tier == e->pols[k->pols[0]].tier &&
			    e->tiers[g->tier].default_action == PW_ACT_DENY;
		for (uint32_t q = 0; q < g->nrules[k->dir] && k->simple; q++)
			k->simple = g->rules[k->dir][q].action == PW_ACT_ALLOW ||
				    g->rules[k->dir][q].action == PW_ACT_LOG;
	}
	uint64_t *allowed = r->scratch + 6 * r->nwords;
	uint32_t nu;
	struct unit *u = units_build(r, k, &nu);
	uint32_t j = 0, none = UINT32_MAX;
	for (int p = 0; p < PW_NPROTO; p++)
		for (uint32_t i = 0; i < k->ncuts[p]; i++, j++) {
			uint32_t x = k->cuts[p][i];
			bool any = false;
			for (uint32_t n = 0; n < nu && !any; n++)
				any = unit_may_match(r, k, &u[n], j, p, x);
			if (!any && none != UINT32_MAX) { /* the same as before */
				const struct pw_row *o = &k->rows[none];
				struct pw_row *nr = &k->rows[j];
				*nr = *o;
				nr->id = r->nrowids++;
				nr->v = blob_ref(o->v);
				nr->bits = blob_ref(o->bits);
				continue;
			}
			row_compute(r, k, u, nu, j, p, x, allowed);
			row_store(r, &k->rows[j], allowed);
			k->rows[j].nomatch = !any;
			k->rows[j].fall = k->fall;
			if (!any)
				none = j;
		}
	/* what a later atom needs to find its own answers */
	size_t cap = 0;
	k->steps = NULL;
	k->nsteps = 0;
	k->step_off = pw_xmalloc((k->nrows + 1) * sizeof(uint32_t));
	j = 0;
	for (int p = 0; p < PW_NPROTO; p++)
		for (uint32_t i = 0; i < k->ncuts[p]; i++, j++) {
			k->step_off[j] = k->nsteps;
			if (!k->rows[j].nomatch)
				steps_add(r, k, u, nu, j, p, k->cuts[p][i], &cap);
		}
	k->step_off[j] = k->nsteps;
	units_free(u, nu);
}

static void class_free_rows(struct pw_reach *r, struct pw_rclass *k)
{
	for (uint32_t i = 0; i < k->nrows; i++) {
		blob_put(r, k->rows[i].v);
		blob_put(r, k->rows[i].bits);
	}
	free(k->rows);
	k->rows = NULL;
	k->nrows = 0;
	free(k->step_off);
	k->step_off = NULL;
	free(k->steps);
	k->steps = NULL;
	k->nsteps = 0;
	for (int p = 0; p < PW_NPROTO; p++) {
		free(k->cuts[p]);
		k->cuts[p] = NULL;
		k->ncuts[p] = 0;
	}
	free(k->pols);
	k->pols = NULL;
	k->npols = 0;
}

static bool governed(const struct pw_reach *r, uint32_t id)
{
	return !id_pod(r, id)->host_network || (r->e->flags & PW_ENGINE_HOSTNET_AS_PODS);
}


/* The class of atom a in direction d, found or made; PW_NO_CLASS if
   nothing can govern it. */
static uint32_t class_for(struct pw_reach *r, uint32_t a, int d)
{
	const struct pw_engine *e = r->e;
	const struct pw_atom *at = &r->atoms[a];
	uint32_t id = at->identity;
	if (id == NONE || !governed(r, id))
		return PW_NO_CLASS;
	const struct pw_identity *ident = &e->ids[id];
	struct pw_buf *b = &r->kb;
	pw_buf_reset(b);
	pw_buf_putc(b, (char)('0' + d));
	pw_buf_putc(b, (char)('0' + at->addr.family));
	for (uint32_t i = 0; i < ident->npols[d]; i++) {
		const struct pw_gpolicy *g = &e->pols[ident->pols[d][i]];
		pw_buf_u32(b, ident->pols[d][i]);
		pw_buf_putc(b, '.');
		pw_buf_u32(b, g->gen);
		pw_buf_putc(b, ':');
		for (uint32_t q = 0; q < g->nrules[d]; q++) {
			const struct pw_grule *gr = &g->rules[d][q];
			const struct pw_gside *self = d == PW_INGRESS ? &gr->dst : &gr->src;
			if (!side_trivial(self) || gr->ip_version)
				pw_buf_putc(b, self_ok(r, gr, d, a) ? '1' : '0');
			for (int pass = 0; pass < 2 && d == PW_INGRESS; pass++) {
				const struct pw_np_port *v = pass ? gr->dst.not_ports : gr->dst.ports;
				uint32_t n = pass ? gr->dst.nnot_ports : gr->dst.nports;
				for (uint32_t k = 0; k < n; k++)
					if (v[k].name)
						for (int p = 0; p < PW_NPROTO; p++) {
							pw_buf_putc(b, '=');
							pw_buf_u32(b, (uint32_t)named_port(r, id, v[k].name, p));
						}
			}
		}
		pw_buf_putc(b, ';');
	}
	uintptr_t v = (uintptr_t)pw_strmap_get(&r->cls_index, b->s);
	uint32_t k;
	if (v) {
		k = (uint32_t)(v - 1);
	} else {
		struct pw_rclass *c = PW_PUSH(&r->arena, r->cls, r->ncls, r->cls_cap);
		memset(c, 0, sizeof(*c));
		c->key = pw_arena_strndup(&r->arena, b->s, b->len);
		c->dir = (uint8_t)d;
		k = r->ncls - 1;
		pw_strmap_put(&r->cls_index, c->key, (void *)(uintptr_t)r->ncls);
	}
	struct pw_rclass *c = &r->cls[k];
	if (!c->live) {
		c->live = true;
		c->self = a;
		c->npols = ident->npols[d];
		c->pols = pw_xmalloc((c->npols + 1) * sizeof(uint32_t));
		if (c->npols)
			memcpy(c->pols, ident->pols[d], c->npols * sizeof(uint32_t));
		class_compute(r, c);
	}
	c->members++;
	return k;
}

static void class_put(struct pw_reach *r, uint32_t k)
{
	if (k == PW_NO_CLASS)
		return;
	struct pw_rclass *c = &r->cls[k];
	if (--c->members == 0) {
		c->live = false;
		class_free_rows(r, c);
	}
}

/* ---- build ------------------------------------------------------------------ */

int pw_reach_build(struct pw_reach *r, const struct pw_engine *e)
{
	const struct pw_cluster *c = e->c;
	memset(r, 0, sizeof(*r));
	r->e = e;
	pw_arena_init(&r->arena);
	pw_strmap_init(&r->named);
	pw_strmap_init(&r->named_ports);
	pw_strmap_init(&r->cls_index);
	pw_buf_init(&r->kb);
	r->extra = pw_xcalloc(1, sizeof(*r->extra));
	r->by_set = pw_xcalloc(1, sizeof(*r->by_set));
	build_bounds(r);
	r->acpods = pw_xcalloc(r->nbounds, sizeof(*r->acpods));
	r->nacpods = r->nbounds;
	r->nid0 = e->nids;
	for (uint32_t i = 0; i < e->nids; i++) {
		const struct pw_addr *a = pod_addr(id_pod(r, i));
		atom_new(r, i, a->family ? aclass_of(r, a) : NONE, a);
	}
	r->ext_base = r->natoms;
	r->next = r->nbounds;
	for (uint32_t i = 0; i < r->nbounds; i++)
		atom_new(r, NONE, i, &r->bounds[i]);
	r->pod_atom = pw_xmalloc((c->npods + 1) * sizeof(uint32_t));
	for (uint32_t p = 0; p < c->npods; p++) {
		const struct pw_addr *a = pod_addr(&c->pods[p]);
		uint32_t ac, id = e->pod_identity[p];
		uint32_t at = find_atom(r, id, a, &ac);
		r->pod_atom[p] = at != NONE ? at : atom_new(r, id, ac, a);
	}
	/* room for an eighth more atoms (relabels) */
	r->atoms_cap = r->natoms + r->natoms / 8 + 64;
	r->atoms = pw_xrealloc(r->atoms, r->atoms_cap * sizeof(*r->atoms));
	r->nwords = (r->atoms_cap + 63) / 64;
	r->pods = pw_xcalloc(r->nwords, 8);
	r->fam[0] = pw_xcalloc(r->nwords, 8);
	r->fam[1] = pw_xcalloc(r->nwords, 8);
	r->scratch = pw_xcalloc(8 * r->nwords, 8);
	r->listbuf = pw_xmalloc((r->atoms_cap + 1) * sizeof(uint32_t));
	for (uint32_t a = 0; a < r->natoms; a++)
		index_atom(r, a);
	for (uint32_t a = 0; a < r->natoms; a++)
		for (int d = 0; d < 2; d++)
			r->atoms[a].cls[d] = class_for(r, a, d);
	r->uid_seen = e->next_uid;
	return 0;
}

void pw_reach_release(struct pw_reach *r)
{
	for (uint32_t k = 0; k < r->ncls; k++)
		class_free_rows(r, &r->cls[k]);
	for (uint32_t a = 0; a < r->natoms; a++)
		free(r->atoms[a].patch);
	for (uint32_t i = 0; i < r->nacpods; i++)
		free(r->acpods[i].bits);
	for (uint32_t i = 0; i < r->npeers; i++) {
		free(r->peers[i].bits);
		free(r->peers[i].list);
	}
	for (uint32_t i = 0; i < r->nupeers; i++) {
		free(r->upeers[i].bits);
		free(r->upeers[i].list);
	}
	free(r->upeers);
	free(r->blobs);
	for (uint32_t i = 0; i < r->nrev; i++)
		free(r->rev[i].cls);
	free(r->rev);
	free(r->peers);
	free(r->self_stamp);
	free(r->self_val);
	free(r->acpods);
	free(r->atoms);
	free(r->pod_atom);
	free(r->bounds);
	free(r->pods);
	free(r->fam[0]);
	free(r->fam[1]);
	free(r->scratch);
	free(r->listbuf);
	struct pw_amap *maps[] = { r->extra, r->by_set };
	for (int i = 0; i < 2; i++)
		if (maps[i]) {
			free(maps[i]->keys);
			free(maps[i]->vals);
			free(maps[i]);
		}
	free(r->set_uids);
	pw_strmap_release(&r->named);
	pw_strmap_release(&r->named_ports);
	pw_strmap_release(&r->cls_index);
	pw_buf_release(&r->kb);
	pw_arena_release(&r->arena);
	memset(r, 0, sizeof(*r));
}

/* ---- questions ---------------------------------------------------------------- */

static uint32_t ep_atom(const struct pw_reach *r, const struct pw_ep *ep)
{
	if (ep->name)
		return NONE;
	if (ep->pod >= 0) {
		const struct pw_addr *a = pod_addr(&r->e->c->pods[ep->pod]);
		if (a->family != ep->addr.family ||
		    (a->family && pw_addr_cmp(a, &ep->addr)))
			return NONE; /* another address of the pod */
		return r->pod_atom[ep->pod];
	}
	if (!ep->addr.family)
		return NONE;
	return r->ext_base + aclass_of(r, &ep->addr);
}

static uint32_t local_class(const struct pw_rclass *k, int p, uint32_t port)
{
	uint32_t base = 0;
	for (int q = 0; q < p; q++)
		base += k->ncuts[q];
	const uint32_t *v = k->cuts[p];
	uint32_t lo = 0, hi = k->ncuts[p];
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if (v[mid] <= port)
			lo = mid;
		else
			hi = mid;
	}
	return base + lo;
}

static bool dir_allows(const struct pw_reach *r, uint32_t self, uint32_t peer,
		       int d, int p, uint32_t port)
{
	uint32_t k = r->atoms[self].cls[d];
	if (k == PW_NO_CLASS)
		return true;
	const struct pw_rclass *c = &r->cls[k];
	return row_has(r, &c->rows[local_class(c, p, port)], peer);
}

int pw_reach_allowed(const struct pw_reach *r, const struct pw_ep *src,
		     const struct pw_ep *dst, const struct pw_query *q)
{
	int p = pw_proto_of_ip(q->ipproto);
	if (p < 0 || p >= PW_NPROTO || q->icmp_type != PW_ANY || q->port < 1 ||
	    q->port > PW_PORT_MAX)
		return -1;
	uint32_t s = ep_atom(r, src), d = ep_atom(r, dst);
	if (s == NONE || d == NONE)
		return -1;
	if (src->pod >= 0 && src->pod == dst->pod)
		return 1;
	return dir_allows(r, s, d, PW_EGRESS, p, (uint32_t)q->port) &&
	       dir_allows(r, d, s, PW_INGRESS, p, (uint32_t)q->port);
}

bool pw_reach_conns(const struct pw_reach *r, const struct pw_ep *src,
		    const struct pw_ep *dst, struct pw_conns *out)
{
	uint32_t s = ep_atom(r, src), d = ep_atom(r, dst);
	if (s == NONE || d == NONE)
		return false;
	pw_conns_clear(out);
	if (src->pod >= 0 && src->pod == dst->pod) {
		pw_conns_add_all(out);
		return true;
	}
	uint32_t ke = r->atoms[s].cls[PW_EGRESS], ki = r->atoms[d].cls[PW_INGRESS];
	const struct pw_rclass *ce = ke == PW_NO_CLASS ? NULL : &r->cls[ke];
	const struct pw_rclass *ci = ki == PW_NO_CLASS ? NULL : &r->cls[ki];
	uint32_t be = 0, bi = 0;
	for (int p = 0; p < PW_NPROTO; p++) {
		/* walk the two cut lists together */
		uint32_t ie = 0, ii = 0, ne = ce ? ce->ncuts[p] : 1,
			 ni = ci ? ci->ncuts[p] : 1;
		uint32_t lo = 1;
		while (lo <= PW_PORT_MAX) {
			uint32_t nxe = ie + 1 < ne ? ce->cuts[p][ie + 1] : PW_PORT_MAX + 1;
			uint32_t nxi = ii + 1 < ni ? ci->cuts[p][ii + 1] : PW_PORT_MAX + 1;
			uint32_t hi = (nxe < nxi ? nxe : nxi) - 1;
			bool ok = (!ce || row_has(r, &ce->rows[be + ie], d)) &&
				  (!ci || row_has(r, &ci->rows[bi + ii], s));
			if (ok)
				pw_conns_add(out, p, lo, hi);
			lo = hi + 1;
			if (lo == nxe)
				ie++;
			if (lo == nxi)
				ii++;
		}
		be += ce ? ce->ncuts[p] : 0;
		bi += ci ? ci->ncuts[p] : 0;
	}
	return true;
}

/* ---- updates ---------------------------------------------------------------- */

static bool rules_aligned(const struct pw_reach *r, const struct pw_gpolicy *g)
{
	for (int d = 0; d < 2; d++)
		for (uint32_t i = 0; i < g->nrules[d]; i++)
			for (int s = 0; s < 2; s++) {
				const struct pw_gside *sd = s ? &g->rules[d][i].dst
							     : &g->rules[d][i].src;
				const struct {
					const struct pw_cidr *v;
					uint32_t n;
				} l[] = { { sd->nets, sd->nnets },
					  { sd->not_nets, sd->nnot_nets },
					  { sd->set_nets, sd->nset_nets },
					  { sd->not_set_nets, sd->nnot_set_nets } };
				for (size_t k = 0; k < PW_ARRAY_SIZE(l); k++)
					for (uint32_t j = 0; j < l[k].n; j++)
						if (!cidr_aligned(r, &l[k].v[j]))
							return false;
			}
	return true;
}

int pw_reach_update_policy(struct pw_reach *r, const uint64_t *affected)
{
	const struct pw_engine *e = r->e;
	/* every recompiled policy applies to some affected identity or to
	   none; check the ones whose rules are new to us */
	for (uint32_t k = 0; k < e->npols; k++) {
		const struct pw_gpolicy *g = &e->pols[k];
		bool fresh = false;
		for (int d = 0; d < 2 && !fresh; d++)
			fresh = g->nrules[d] && g->rules[d][0].uid >= r->uid_seen;
		if (fresh && !rules_aligned(r, g))
			return -1;
	}
	for (uint32_t a = 0; a < r->natoms; a++) {
		struct pw_atom *at = &r->atoms[a];
		if (at->identity == NONE || !pw_engine_bit(affected, at->identity))
			continue;
		for (int d = 0; d < 2; d++) {
			uint32_t old = at->cls[d];
			at->cls[d] = class_for(r, a, d);
			class_put(r, old);
		}
	}
	r->uid_seen = e->next_uid;
	return 0;
}

int pw_reach_update_pod(struct pw_reach *r, uint32_t pod)
{
	const struct pw_engine *e = r->e;
	const struct pw_addr *addr = pod_addr(&e->c->pods[pod]);
	uint32_t ac, id = e->pod_identity[pod];
	uint32_t a = find_atom(r, id, addr, &ac);
	if (a != NONE) {
		r->pod_atom[pod] = a;
		return 0;
	}
	a = atom_new(r, id, ac, addr);
	if (a == NONE)
		return -1;
	index_atom(r, a);
	/* its answer as a peer in every row computed before it existed: the
	   patch marks where it differs from what a peer no rule of the class
	   matches gets, so only the classes of rules it is a peer of matter */
	struct pw_atom *at = &r->atoms[a];
	at->npatch = r->nrowids;
	at->patch = pw_xcalloc((r->nrowids + 63) / 64 + 1, 8);
	int8_t *in = pw_xmalloc(e->next_uid + 1);
	memset(in, -1, e->next_uid + 1);
	uint8_t *seen = pw_xcalloc(r->ncls + 1, 1);
	/* which rules can have it as a peer: for a new identity, the rules
	   whose peers are an identity set it joined, and the others; else
	   every rule */
	uint32_t *cand = NULL, ncand = r->nrev;
	bool listed = e->added_for == at->identity;
	if (listed) {
		memset(in, 0, e->next_uid + 1);
		size_t cap = 0;
		ncand = 0;
		for (int pass = 0; pass < 2; pass++) {
			const struct pw_ivec *l = &r->other_uids;
			for (uint32_t x = 0; x < (pass ? e->added.n : 1); x++) {
				if (pass) {
					uint64_t key = (uint64_t)(uintptr_t)e->sels[e->added.v[x]].set;
					uint32_t i = amap_get64(r->by_set, key);
					if (i == UINT32_MAX)
						continue;
					l = &r->set_uids[i];
				}
				if (!l->n)
					continue;
				if (ncand + l->n > cap) {
					cap = (ncand + l->n) * 2;
					cand = pw_xrealloc(cand, cap * sizeof(*cand));
				}
				memcpy(cand + ncand, l->v, l->n * sizeof(*cand));
				ncand += l->n;
			}
		}
	}
	for (uint32_t ci = 0; ci < ncand; ci++) {
		uint32_t u = listed ? cand[ci] : ci;
		const struct pw_rev *v = &r->rev[u];
		if (!v->n)
			continue;
		int d = v->gr->action == PW_ACT_LOG ? -1 : -2;
		for (uint32_t i = 0; i < v->n && d == -2; i++)
			if (r->cls[v->cls[i]].live)
				d = r->cls[v->cls[i]].dir;
		if (d < 0)
			continue;
		in[u] = fam_ok(v->gr, at) &&
			atom_in_side(r, d == PW_INGRESS ? &v->gr->src : &v->gr->dst, a);
	}
	/* then the classes of the rules it is a peer of */
	for (uint32_t ci = 0; ci < ncand; ci++) {
		uint32_t u = listed ? cand[ci] : ci;
		const struct pw_rev *v = &r->rev[u];
		for (uint32_t i = 0; i < v->n && in[u] > 0; i++) {
			const struct pw_rclass *c = &r->cls[v->cls[i]];
			if (!c->live || seen[v->cls[i]])
				continue;
			seen[v->cls[i]] = 1;
			uint32_t j = 0;
			for (int p = 0; p < PW_NPROTO; p++)
				for (uint32_t x = 0; x < c->ncuts[p]; x++, j++) {
					const struct pw_row *row = &c->rows[j];
					if (!row->nomatch &&
					    single(r, c, j, p, c->cuts[p][x], a, in) != row->fall)
						bit_set(at->patch, row->id);
				}
		}
	}
	free(seen);
	free(in);
	free(cand);
	for (int d = 0; d < 2; d++)
		r->atoms[a].cls[d] = class_for(r, a, d);
	r->pod_atom[pod] = a;
	return 0;
}

void pw_reach_stats(const struct pw_reach *r, struct pw_reach_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->atoms = r->natoms;
	s->bytes = (size_t)r->atoms_cap * sizeof(*r->atoms) + 10 * r->nwords * 8;
	for (uint32_t k = 0; k < r->ncls; k++) {
		const struct pw_rclass *c = &r->cls[k];
		if (!c->live)
			continue;
		s->classes++;
		s->rows += c->nrows;
		s->bytes += c->nrows * sizeof(struct pw_row);
	}
	s->bytes += r->blob_bytes + r->nblobs * sizeof(struct pw_blob);
	for (uint32_t i = 0; i < r->npeers; i++)
		s->bytes += (r->peers[i].bits ? r->nwords * 8 : 0) + r->peers[i].cap * 4;
	for (uint32_t i = 0; i < r->nacpods; i++)
		if (r->acpods[i].bits)
			s->bytes += r->nwords * 8;
}
