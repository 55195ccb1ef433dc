// SPDX-License-Identifier: Apache-2.0
#include "engine.h"

#include <string.h>

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

static bool bit(const uint64_t *bs, uint32_t i)
{
	return bs[i >> 6] >> (i & 63) & 1;
}

static bool selector_part_match(const struct pw_cluster *c, unsigned flags,
				const struct pw_policy *pol,
				const struct pw_peer *peer,
				const struct pw_pod *p)
{
	if (!pod_governed(flags, p))
		return false;
	if (peer->ns_sel) {
		if (!pw_lsel_match(peer->ns_sel, &c->nss[p->ns].labels))
			return false;
	} else if (p->ns != pol->ns) {
		return false;
	}
	return !peer->pod_sel || pw_lsel_match(peer->pod_sel, &p->labels);
}

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
	for (uint32_t i = 0; i < c->npods; i++) {
		struct pw_pod *p = &c->pods[i];
		const char *key = identity_key(a, p, &b);
		uintptr_t v = (uintptr_t)pw_strmap_get(&idx, key);
		if (!v) {
			struct pw_identity *id = PW_PUSH(a, e->ids, e->nids, cap);
			id->pod = i;
			id->ns = p->ns;
			v = e->nids;
			pw_strmap_put(&idx, key, (void *)v);
		}
		/* the model is the caller's; identity is engine state kept
		   on the pod for speed */
		((struct pw_pod *)p)->identity = (uint32_t)(v - 1);
	}
	pw_strmap_release(&idx);
	pw_buf_release(&b);

	/* policies isolating each identity */
	size_t pcap[2];
	for (uint32_t i = 0; i < e->nids; i++) {
		struct pw_identity *id = &e->ids[i];
		const struct pw_pod *rep = &c->pods[id->pod];
		pcap[0] = pcap[1] = 0;
		if (!pod_governed(flags, rep))
			continue;
		for (uint32_t k = 0; k < c->npols; k++) {
			const struct pw_policy *pol = &c->pols[k];
			if (pol->ns != id->ns || !pw_lsel_match(&pol->sel, &rep->labels))
				continue;
			for (int d = 0; d < 2; d++)
				if (pol->types & (1u << d))
					*PW_PUSH(a, id->pols[d], id->npols[d],
						 pcap[d]) = k;
		}
	}

	/* selector part of each peer, once per identity */
	e->nwords = (e->nids + 63) / 64;
	e->rule_base = pw_arena_alloc(a, 2 * c->npols * sizeof(*e->rule_base));
	uint32_t np = 0;
	for (uint32_t k = 0; k < c->npols; k++)
		for (int d = 0; d < 2; d++) {
			const struct pw_policy *pol = &c->pols[k];
			uint32_t *base = pw_arena_alloc(
				a, pol->nrules[d] * sizeof(*base));
			e->rule_base[2 * k + d] = base;
			for (uint32_t r = 0; r < pol->nrules[d]; r++) {
				base[r] = np;
				np += pol->rules[d][r].npeers;
			}
		}
	e->npeers = np;
	e->peer_bits = pw_arena_alloc(a, np * sizeof(*e->peer_bits));
	for (uint32_t k = 0; k < c->npols; k++)
		for (int d = 0; d < 2; d++) {
			const struct pw_policy *pol = &c->pols[k];
			for (uint32_t r = 0; r < pol->nrules[d]; r++) {
				const struct pw_rule *rule = &pol->rules[d][r];
				for (uint32_t q = 0; q < rule->npeers; q++) {
					const struct pw_peer *peer = &rule->peers[q];
					if (peer->ipblock)
						continue;
					uint64_t *bs = pw_arena_alloc(
						a, e->nwords * sizeof(uint64_t));
					for (uint32_t i = 0; i < e->nids; i++)
						if (selector_part_match(
							    c, flags, pol, peer,
							    &c->pods[e->ids[i].pod]))
							bs[i >> 6] |= 1ull << (i & 63);
					e->peer_bits[e->rule_base[2 * k + d][r] + q] = bs;
				}
			}
		}
	return 0;
}

void pw_engine_release(struct pw_engine *e)
{
	pw_arena_release(&e->arena);
	memset(e, 0, sizeof(*e));
}

struct pw_ep pw_ep_pod(const struct pw_cluster *c, uint32_t pod)
{
	struct pw_ep ep = { (int)pod, { 0 } };
	if (c->pods[pod].naddrs)
		ep.addr = c->pods[pod].addrs[0];
	return ep;
}

struct pw_ep pw_ep_addr(const struct pw_addr *a)
{
	struct pw_ep ep = { -1, *a };
	return ep;
}

static bool ipblock_match(const struct pw_peer *peer, const struct pw_addr *a)
{
	if (!a->family || !pw_cidr_contains(&peer->cidr, a))
		return false;
	for (uint32_t i = 0; i < peer->nexcept; i++)
		if (pw_cidr_contains(&peer->except[i], a))
			return false;
	return true;
}

bool pw_engine_peer_match(const struct pw_engine *e, uint32_t pol,
			  enum pw_dir dir, uint32_t rule, uint32_t q,
			  const struct pw_ep *ep)
{
	const struct pw_peer *peer = &e->c->pols[pol].rules[dir][rule].peers[q];
	if (peer->ipblock) {
		if (ep->pod >= 0 && (e->flags & PW_ENGINE_IPBLOCK_EXCLUDES_PODS))
			return false;
		return ipblock_match(peer, &ep->addr);
	}
	if (ep->pod < 0)
		return false;
	const struct pw_pod *p = &e->c->pods[ep->pod];
	return bit(e->peer_bits[e->rule_base[2 * pol + dir][rule] + q],
		   p->identity);
}

static bool rule_peer_match(const struct pw_engine *e, uint32_t pol,
			    enum pw_dir dir, uint32_t r, const struct pw_ep *ep)
{
	const struct pw_rule *rule = &e->c->pols[pol].rules[dir][r];
	if (!rule->npeers)
		return true;
	for (uint32_t q = 0; q < rule->npeers; q++)
		if (pw_engine_peer_match(e, pol, dir, r, q, ep))
			return true;
	return false;
}

/* Resolve a named port against the destination; 0 when it does not. */
static int resolve_named(const struct pw_engine *e, const struct pw_np_port *pp,
			 const struct pw_ep *dst)
{
	if (dst->pod < 0)
		return 0;
	const struct pw_pod *p = &e->c->pods[dst->pod];
	for (uint32_t i = 0; i < p->nports; i++)
		if (p->ports[i].name && p->ports[i].proto == pp->proto &&
		    !strcmp(p->ports[i].name, pp->name))
			return p->ports[i].port;
	return 0;
}

static bool rule_port_match(const struct pw_engine *e, const struct pw_rule *r,
			    const struct pw_ep *dst, int proto, int port)
{
	if (!r->nports)
		return true;
	for (uint32_t i = 0; i < r->nports; i++) {
		const struct pw_np_port *pp = &r->ports[i];
		if (pp->proto != proto)
			continue;
		if (pp->name) {
			if (resolve_named(e, pp, dst) == port)
				return true;
		} else if (!pp->port) {
			return true;
		} else if (pp->end_port ? (port >= pp->port && port <= pp->end_port)
					: port == pp->port) {
			return true;
		}
	}
	return false;
}

void pw_engine_rule_ports(const struct pw_engine *e, const struct pw_rule *r,
			  const struct pw_ep *dst, struct pw_conns *out)
{
	if (!r->nports) {
		pw_conns_add_all(out);
		return;
	}
	for (uint32_t i = 0; i < r->nports; i++) {
		const struct pw_np_port *pp = &r->ports[i];
		if (pp->name) {
			int v = resolve_named(e, pp, dst);
			if (v)
				pw_conns_add(out, pp->proto, (unsigned)v,
					     (unsigned)v);
		} else if (!pp->port) {
			pw_conns_add(out, pp->proto, 1, PW_PORT_MAX);
		} else {
			pw_conns_add(out, pp->proto, (unsigned)pp->port,
				     (unsigned)(pp->end_port ? pp->end_port
							     : pp->port));
		}
	}
}

/* The endpoint whose policies govern direction dir, and the other end. */
static const struct pw_ep *subject(enum pw_dir dir, const struct pw_ep *src,
				   const struct pw_ep *dst)
{
	return dir == PW_EGRESS ? src : dst;
}

static const struct pw_identity *governed_identity(const struct pw_engine *e,
						   const struct pw_ep *ep)
{
	if (ep->pod < 0)
		return NULL;
	const struct pw_pod *p = &e->c->pods[ep->pod];
	if (!pod_governed(e->flags, p))
		return NULL;
	return &e->ids[p->identity];
}

static void eval_dir(const struct pw_engine *e, enum pw_dir dir,
		     const struct pw_ep *src, const struct pw_ep *dst,
		     int proto, int port, struct pw_why_dir *w)
{
	const struct pw_ep *self = subject(dir, src, dst);
	const struct pw_ep *other = dir == PW_EGRESS ? dst : src;
	const struct pw_identity *id = governed_identity(e, self);
	memset(w, 0, sizeof(*w));
	w->policy = w->rule = -1;
	if (!id)
		return;
	w->governed = true;
	w->isolating = id->pols[dir];
	w->nisolating = id->npols[dir];
	for (uint32_t i = 0; i < id->npols[dir]; i++) {
		uint32_t k = id->pols[dir][i];
		const struct pw_policy *pol = &e->c->pols[k];
		for (uint32_t r = 0; r < pol->nrules[dir]; r++) {
			if (rule_port_match(e, &pol->rules[dir][r], dst, proto,
					    port) &&
			    rule_peer_match(e, k, dir, r, other)) {
				w->policy = (int)k;
				w->rule = (int)r;
				return;
			}
		}
	}
}

void pw_engine_eval(const struct pw_engine *e, const struct pw_ep *src,
		    const struct pw_ep *dst, int proto, int port,
		    struct pw_verdict *out)
{
	bool ok = true;
	out->self = src->pod >= 0 && src->pod == dst->pod;
	for (int d = 0; d < 2; d++) {
		struct pw_why_dir *w = &out->dir[d];
		eval_dir(e, (enum pw_dir)d, src, dst, proto, port, w);
		if (w->governed && w->nisolating && w->rule < 0)
			ok = false;
	}
	out->allowed = ok || out->self;
}

void pw_engine_dir_conns(const struct pw_engine *e, enum pw_dir dir,
			 const struct pw_ep *src, const struct pw_ep *dst,
			 struct pw_conns *out)
{
	const struct pw_ep *self = subject(dir, src, dst);
	const struct pw_ep *other = dir == PW_EGRESS ? dst : src;
	const struct pw_identity *id = governed_identity(e, self);
	pw_conns_clear(out);
	if (!id || !id->npols[dir]) {
		pw_conns_add_all(out);
		return;
	}
	for (uint32_t i = 0; i < id->npols[dir]; i++) {
		uint32_t k = id->pols[dir][i];
		const struct pw_policy *pol = &e->c->pols[k];
		for (uint32_t r = 0; r < pol->nrules[dir]; r++)
			if (rule_peer_match(e, k, dir, r, other))
				pw_engine_rule_ports(e, &pol->rules[dir][r],
						     dst, out);
	}
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
	pw_engine_dir_conns(e, PW_EGRESS, src, dst, out);
	if (!pw_conns_empty(out)) {
		pw_engine_dir_conns(e, PW_INGRESS, src, dst, &in);
		pw_conns_intersect(out, &in);
	}
	pw_conns_release(&in);
}

bool pw_engine_policy_selects(const struct pw_engine *e, uint32_t pol,
			      uint32_t pod)
{
	const struct pw_pod *p = &e->c->pods[pod];
	const struct pw_policy *pl = &e->c->pols[pol];
	return pod_governed(e->flags, p) && p->ns == pl->ns &&
	       pw_lsel_match(&pl->sel, &p->labels);
}
