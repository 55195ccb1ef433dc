// SPDX-License-Identifier: Apache-2.0
/*
 * What changes between two states: lib/diff.h.
 */
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "explain.h"
#include "pairs.h"

struct dend {
	char *name;
	int ga, gb; /* group in before / after, -1 if none (or external) */
	bool ext;
	struct pw_addr addr;
};

/* A short account of why a representative pair got its verdict. */
static void why(const struct pw_cluster *c, const struct pw_engine *e,
		const struct dend *a, int ga, const struct dend *b, int gb,
		int proto, unsigned port, struct pw_buf *out)
{
	if ((!a->ext && ga < 0) || (!b->ext && gb < 0)) {
		pw_buf_puts(out, "endpoint absent");
		return;
	}
	struct pw_ep src = a->ext ? pw_ep_addr(&a->addr)
				  : pw_ep_pod(c, c->groups[ga].pods[0]);
	struct pw_ep dst = b->ext ? pw_ep_addr(&b->addr)
				  : pw_ep_pod(c, c->groups[gb].pods[0]);
	struct pw_query q = pw_query_port(proto, (int)port);
	pw_explain_brief(e, &src, &dst, &q, out);
}

/* Ports of one pair whose verdict changed the same way for the same
   reasons (the reasons are those of the first port of each range). */
struct change {
	size_t src, dst;
	struct pw_conns ports;
	bool now_allowed; /* after */
	char *before, *after;
};

static bool in_ns(const struct dend *q, const struct pw_cluster *ca, int nsf_a,
		  const struct pw_cluster *cb, int nsf_b)
{
	return (q->ga >= 0 && (int)ca->groups[q->ga].ns == nsf_a) ||
	       (q->gb >= 0 && (int)cb->groups[q->gb].ns == nsf_b);
}

void pw_diff_states(const struct pw_cluster *ca, const struct pw_engine *ea,
		    const struct pw_cluster *cb, const struct pw_engine *eb,
		    const char *ns, struct pw_diff *out)
{
	/* endpoints: the groups of either side, by name, then the outside */
	struct dend *eps = NULL;
	size_t n = 0, cap = 0;
	struct pw_buf b;
	pw_buf_init(&b);
	struct pw_strmap names;
	pw_strmap_init(&names);
	for (int side = 0; side < 2; side++) {
		const struct pw_cluster *c = side ? cb : ca;
		for (uint32_t i = 0; i < c->ngroups; i++) {
			pw_buf_reset(&b);
			pw_group_kind_name(c, &c->groups[i], &b);
			uintptr_t at = (uintptr_t)pw_strmap_get(&names, b.s);
			if (!at) {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					eps = pw_xrealloc(eps, cap * sizeof(*eps));
				}
				eps[n] = (struct dend){ pw_xstrdup(b.s), -1, -1, false, { 0 } };
				pw_strmap_put(&names, eps[n].name, (void *)(uintptr_t)(n + 1));
				at = ++n;
			}
			if (side)
				eps[at - 1].gb = (int)i;
			else
				eps[at - 1].ga = (int)i;
		}
	}
	struct pw_extclass *xm;
	const struct pw_engine *both[2] = { ea, eb };
	size_t nxm = pw_ext_classes(both, 2, true, &xm);
	eps = pw_xrealloc(eps, (n + nxm + 1) * sizeof(*eps));
	for (size_t i = 0; i < nxm; i++) {
		pw_buf_reset(&b);
		pw_buf_printf(&b, "%s[External]", xm[i].name);
		eps[n++] = (struct dend){ pw_xstrdup(b.s), -1, -1, true, xm[i].lo };
	}
	free(xm);

	int nsf_a = ns ? pw_cluster_find_ns(ca, ns) : -2;
	int nsf_b = ns ? pw_cluster_find_ns(cb, ns) : -2;
	struct change *ch = NULL;
	size_t nch = 0, chcap = 0;
	struct pw_conns ba, af, x;
	pw_conns_init(&ba);
	pw_conns_init(&af);
	pw_conns_init(&x);
	struct pw_buf bb;
	pw_buf_init(&bb);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++) {
			const struct dend *s = &eps[i], *d = &eps[k];
			if (s->ext && d->ext)
				continue;
			if (ns && !in_ns(s, ca, nsf_a, cb, nsf_b) &&
			    !in_ns(d, ca, nsf_a, cb, nsf_b))
				continue;
			pw_conns_clear(&ba);
			pw_conns_clear(&af);
			if ((s->ext || s->ga >= 0) && (d->ext || d->ga >= 0))
				pw_pair_conns(ca, ea, NULL, s->ga, &s->addr, d->ga, &d->addr, &ba);
			if ((s->ext || s->gb >= 0) && (d->ext || d->gb >= 0))
				pw_pair_conns(cb, eb, NULL, s->gb, &s->addr, d->gb, &d->addr, &af);
			for (int dirn = 0; dirn < 2; dirn++) {
				pw_conns_copy(&x, dirn ? &af : &ba);
				pw_conns_subtract(&x, dirn ? &ba : &af);
				size_t first = nch;
				for (int p = 0; p < PW_NPROTO; p++)
					for (uint32_t r = 0; r < x.p[p].n; r++) {
						unsigned lo = x.p[p].r[r].lo, hi = x.p[p].r[r].hi;
						pw_buf_reset(&b);
						pw_buf_reset(&bb);
						why(ca, ea, s, s->ga, d, d->ga, p, lo, &b);
						why(cb, eb, s, s->gb, d, d->gb, p, lo, &bb);
						struct change *c1 = NULL;
						for (size_t z = first; z < nch && !c1; z++)
							if (!strcmp(ch[z].before, b.s) &&
							    !strcmp(ch[z].after, bb.s))
								c1 = &ch[z];
						if (!c1) {
							if (nch == chcap) {
								chcap = chcap ? chcap * 2 : 16;
								ch = pw_xrealloc(ch, chcap * sizeof(*ch));
							}
							c1 = &ch[nch++];
							c1->src = i;
							c1->dst = k;
							pw_conns_init(&c1->ports);
							c1->now_allowed = dirn == 1;
							c1->before = pw_xstrdup(b.s);
							c1->after = pw_xstrdup(bb.s);
						}
						pw_conns_add(&c1->ports, p, lo, hi);
					}
			}
		}
	pw_buf_release(&bb);
	pw_conns_release(&ba);
	pw_conns_release(&af);
	pw_conns_release(&x);
	out->v = pw_xcalloc(nch ? nch : 1, sizeof(*out->v));
	out->n = nch;
	for (size_t i = 0; i < nch; i++) {
		pw_buf_reset(&b);
		pw_conns_format(&ch[i].ports, &b);
		pw_conns_release(&ch[i].ports);
		out->v[i] = (struct pw_diff_change){
			.src = pw_xstrdup(eps[ch[i].src].name),
			.dst = pw_xstrdup(eps[ch[i].dst].name),
			.ports = pw_xstrdup(b.s),
			.now_allowed = ch[i].now_allowed,
			.before = ch[i].before,
			.after = ch[i].after,
		};
	}
	free(ch);
	for (size_t i = 0; i < n; i++)
		free(eps[i].name);
	free(eps);
	pw_strmap_release(&names);
	pw_buf_release(&b);
}

void pw_diff_release(struct pw_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].src);
		free(d->v[i].dst);
		free(d->v[i].ports);
		free(d->v[i].before);
		free(d->v[i].after);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

void pw_diff_table(const struct pw_diff *d, const char *prefix, struct pw_buf *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct pw_diff_change *c1 = &d->v[i];
		pw_buf_printf(out, "%s%s => %s : %s: %s -> %s\n", prefix, c1->src, c1->dst,
			      c1->ports, c1->now_allowed ? "DENY" : "ALLOW",
			      c1->now_allowed ? "ALLOW" : "DENY");
		pw_buf_printf(out, "%s  before: %s\n%s  after:  %s\n", prefix, c1->before,
			      prefix, c1->after);
	}
	pw_buf_printf(out, "%s%zu change%s\n", prefix, d->n, d->n == 1 ? "" : "s");
}
