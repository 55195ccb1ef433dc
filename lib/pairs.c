// SPDX-License-Identifier: Apache-2.0
#include "pairs.h"

#include <stdlib.h>
#include <string.h>

/* ---- external address classes ----------------------------------------- */

static int addr_qcmp(const void *x, const void *y)
{
	return pw_addr_cmp(x, y);
}

size_t pw_ext_classes(const struct pw_engine *const *es, size_t ne,
		      bool cidr_names, struct pw_extclass **out)
{
	struct pw_addr *starts = NULL;
	size_t n = 0;
	for (size_t i = 0; i < ne; i++) {
		struct pw_addr *v;
		size_t m = pw_engine_addr_bounds(es[i], &v);
		starts = pw_xrealloc(starts, (n + m) * sizeof(*starts));
		memcpy(starts + n, v, m * sizeof(*v));
		n += m;
		free(v);
	}
	qsort(starts, n, sizeof(*starts), addr_qcmp);
	size_t u = 0, n6 = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || pw_addr_cmp(&starts[u - 1], &starts[i])) {
			starts[u++] = starts[i];
			n6 += starts[i].family == 6;
		}
	/* IPv6 outside the cluster only where the policies or pods use it */
	bool v6 = n6 > 1;
	for (size_t e = 0; e < ne && !v6; e++) {
		const struct pw_cluster *c = es[e]->c;
		for (uint32_t i = 0; i < c->npods && !v6; i++)
			for (uint32_t k = 0; k < c->pods[i].naddrs; k++)
				v6 |= c->pods[i].addrs[k].family == 6;
	}
	if (!v6)
		u -= n6;
	struct pw_addr_class *ac;
	size_t nc = pw_addr_classes(starts, u, &ac);
	free(starts);
	*out = pw_xcalloc(nc + 1, sizeof(**out));
	for (size_t i = 0; i < nc; i++) {
		(*out)[i].lo = ac[i].lo;
		(*out)[i].hi = ac[i].hi;
		pw_addr_range_name(&ac[i].lo, &ac[i].hi, cidr_names,
				   (*out)[i].name);
	}
	free(ac);
	return nc;
}

/* What may flow from s to d: r when it can answer, else e. */
static void ep_conns(const struct pw_engine *e, const struct pw_reach *r,
		     const struct pw_ep *s, const struct pw_ep *d,
		     struct pw_conns *out)
{
	if (!r || !pw_reach_conns(r, s, d, out))
		pw_engine_conns(e, s, d, out);
}

/* A group's pods, one per atom of the fast engine (two when the atom has
   two pods: the pair of them is a pair of distinct pods). */
struct rep {
	int pod, pod2;
	uint32_t atom;
};

static uint32_t group_reps(const struct pw_cluster *c, const struct pw_reach *r,
			   int g, struct rep *out)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->groups[g].npods; i++) {
		uint32_t pod = c->groups[g].pods[i];
		uint32_t atom = r ? r->pod_atom[pod] : pod;
		uint32_t k = 0;
		while (k < n && out[k].atom != atom)
			k++;
		if (k == n)
			out[n++] = (struct rep){ (int)pod, -1, atom };
		else if (out[k].pod2 < 0)
			out[k].pod2 = (int)pod;
	}
	return n;
}

void pw_pair_conns(const struct pw_cluster *c, const struct pw_engine *e,
		   const struct pw_reach *r, int ga, const struct pw_addr *aa,
		   int gb, const struct pw_addr *ab, struct pw_conns *out)
{
	uint32_t na = ga < 0 ? 1 : c->groups[ga].npods;
	uint32_t nb = gb < 0 ? 1 : c->groups[gb].npods;
	struct rep bufa[16], bufb[16];
	struct rep *ra = na < 16 ? bufa : pw_xmalloc((na + 1) * sizeof(*ra));
	struct rep *rb = nb < 16 ? bufb : pw_xmalloc((nb + 1) * sizeof(*rb));
	uint32_t ua = ga < 0 ? 1 : group_reps(c, r, ga, ra);
	uint32_t ub = gb < 0 ? 1 : group_reps(c, r, gb, rb);
	struct pw_conns one;
	bool first = true;
	pw_conns_init(&one);
	pw_conns_clear(out);
	/* a workload pair is allowed only where every replica pair is; pods
	   of one atom behave alike, so one pair per pair of atoms */
	for (uint32_t i = 0; i < ua; i++)
		for (uint32_t k = 0; k < ub; k++) {
			struct pw_ep s = ga < 0 ? pw_ep_addr(aa) : pw_ep_pod(c, (uint32_t)ra[i].pod);
			struct pw_ep d = gb < 0 ? pw_ep_addr(ab) : pw_ep_pod(c, (uint32_t)rb[k].pod);
			if (s.pod >= 0 && s.pod == d.pod && (na > 1 || nb > 1)) {
				if (ra[i].pod2 < 0)
					continue; /* a pod and itself */
				d = pw_ep_pod(c, (uint32_t)ra[i].pod2);
			}
			ep_conns(e, r, &s, &d, &one);
			if (first)
				pw_conns_copy(out, &one);
			else
				pw_conns_intersect(out, &one);
			first = false;
		}
	if (first) /* a single pod to itself */
		pw_conns_add_all(out);
	pw_conns_release(&one);
	if (ra != bufa)
		free(ra);
	if (rb != bufb)
		free(rb);
}
