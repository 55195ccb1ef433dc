// SPDX-License-Identifier: Apache-2.0
/*
 * The differential test of the fast engine (lib/reach.c) against the
 * per-connection evaluation (lib/engine.c), which stays the reference.
 *
 * For every input (a file or a directory of manifests): build both, then
 * compare, for every pair of endpoints (every pod, and an address of every
 * address class plus a few fixed ones), everything that may flow
 * (pw_reach_conns against pw_engine_conns) and single verdicts on sample
 * ports (pw_reach_allowed against pw_engine_eval).  Then apply --changes
 * random changes, each followed by the incremental updates of engine and
 * reach, and compare the updated reach with a reference engine built from
 * scratch on the changed cluster.  Changes: relabel a pod (another pod's
 * labels, or one value changed), delete, restore, mutate (another
 * policy's selector or rules) or add (a copy) a policy of any kind.
 *
 * usage: reach-diff [--changes N] [--seed S] [--flags F] PATH[+PATH...]...
 * (paths joined with '+' load into one cluster; inputs with errors are
 * skipped and counted).
 * Ends with "reach-diff: N passed, M failed" (one check per cluster state).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/world.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

static int passed, failed, skipped;
static unsigned flags;

static const char *const fixed_addrs[] = {
	"192.0.2.1", "198.51.100.7", "203.0.113.200", "10.0.0.1", "8.8.8.8",
	"0.0.0.0", "255.255.255.255", "2001:db8::1", "::1",
};

/* Compare reach r with a reference engine ref on every endpoint pair. */
static void compare(const struct pw_cluster *c, const struct pw_reach *r,
		    const struct pw_engine *ref, const char *what)
{
	struct pw_ep *eps = pw_xcalloc(c->npods + r->nbounds + 16, sizeof(*eps));
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->npods; i++)
		eps[n++] = pw_ep_pod(c, i);
	for (uint32_t i = 0; i < r->nbounds && i < 64; i++)
		eps[n++] = pw_ep_addr(&r->bounds[i]);
	for (size_t i = 0; i < PW_ARRAY_SIZE(fixed_addrs); i++) {
		struct pw_addr a;
		if (!pw_addr_parse(fixed_addrs[i], &a))
			eps[n++] = pw_ep_addr(&a);
	}
	struct pw_conns fast, slow;
	pw_conns_init(&fast);
	pw_conns_init(&slow);
	uint32_t bad = 0, pairs = 0;
	static const int ports[] = { 1, 53, 80, 443, 8000, 8042, 8080, 9090, 65535 };
	for (uint32_t i = 0; i < n && bad < 5; i++)
		for (uint32_t k = 0; k < n && bad < 5; k++) {
			if (eps[i].pod < 0 && eps[k].pod < 0)
				continue;
			pairs++;
			if (!pw_reach_conns(r, &eps[i], &eps[k], &fast)) {
				printf("FAIL %s: pair %u,%u not answered by reach\n", what, i, k);
				bad++;
				continue;
			}
			pw_engine_conns(ref, &eps[i], &eps[k], &slow);
			if (!pw_conns_equal(&fast, &slow)) {
				struct pw_buf b1, b2;
				pw_buf_init(&b1);
				pw_buf_init(&b2);
				pw_conns_format(&fast, &b1);
				pw_conns_format(&slow, &b2);
				printf("FAIL %s: %s%s%s -> %s%s%s: reach [%s], reference [%s]\n",
				       what, eps[i].pod >= 0 ? c->pods[eps[i].pod].name : "",
				       eps[i].pod >= 0 ? "" : "addr", "",
				       eps[k].pod >= 0 ? c->pods[eps[k].pod].name : "",
				       eps[k].pod >= 0 ? "" : "addr", "", b1.s, b2.s);
				pw_buf_release(&b1);
				pw_buf_release(&b2);
				bad++;
				continue;
			}
			int proto = (int)rnd(PW_NPROTO);
			struct pw_query q = pw_query_port(proto, ports[rnd(PW_ARRAY_SIZE(ports))]);
			struct pw_verdict v;
			pw_engine_eval(ref, &eps[i], &eps[k], &q, &v);
			int fa = pw_reach_allowed(r, &eps[i], &eps[k], &q);
			if (fa != (int)v.allowed) {
				printf("FAIL %s: pair %u,%u %s/%d: reach %d, reference %d\n",
				       what, i, k, pw_proto_name(proto), q.port, fa, v.allowed);
				bad++;
			}
		}
	pw_conns_release(&fast);
	pw_conns_release(&slow);
	free(eps);
	if (bad)
		failed++;
	else
		passed++;
}

static void compare_fresh(struct pw_cluster *c, const struct pw_world *w,
			  const char *what)
{
	struct pw_engine ref;
	int rc = pw_engine_build(&ref, c, flags);
	(void)rc;
	compare(c, w->reach, &ref, what);
	pw_engine_release(&ref);
}

/* ---- changes ---------------------------------------------------------------- */

static bool relabel(struct pw_cluster *c, uint32_t *pod)
{
	if (!c->npods)
		return false;
	uint32_t p = rnd(c->npods), q = rnd(c->npods);
	const struct pw_labels *from = &c->pods[q].labels;
	struct pw_labels l;
	l.n = from->n;
	l.v = pw_arena_alloc(&c->arena, (from->n + 1) * sizeof(*l.v));
	if (from->n)
		memcpy(l.v, from->v, from->n * sizeof(*l.v));
	if (l.n && rnd(2)) { /* one value from yet another pod */
		const struct pw_labels *o = &c->pods[rnd(c->npods)].labels;
		if (o->n)
			l.v[rnd(l.n)].value = o->v[rnd(o->n)].value;
	}
	if (rnd(4) == 0) /* a label nobody selects */
		l.v[l.n++] = (struct pw_label){ "zz-diff", "x" };
	if (pw_labels_sort(&l))
		return false; /* a duplicate key: skip */
	((struct pw_pod *)&c->pods[p])->labels = l;
	*pod = p;
	return true;
}

/* The changes every kind has: op 0 delete, 1 restore, 3 take the donor d's
   rules, 4 add a copy of d (its index to *k).  Op 2 (the selector) and
   what else goes with the rules are the caller's, per kind. */
#define COMMON_OPS(c, arr, n, cap, p, d, op, k)                               \
	do {                                                                  \
		if ((op) == 0) {                                              \
			(p)->deleted = true;                                  \
		} else if ((op) == 1) {                                       \
			(p)->deleted = false;                                 \
		} else if ((op) == 3) {                                       \
			for (int x_ = 0; x_ < 2; x_++) {                      \
				(p)->rules[x_] = (d)->rules[x_];              \
				(p)->nrules[x_] = (d)->nrules[x_];            \
			}                                                     \
		} else if ((op) == 4) {                                       \
			__typeof__(*(d)) cp_ = *(d);                          \
			cp_.name = pw_arena_printf(&(c)->arena, "diff-%u", (n)); \
			cp_.deleted = false;                                  \
			*PW_PUSH(&(c)->arena, arr, n, cap) = cp_;             \
			*(k) = (n) - 1;                                       \
		}                                                             \
	} while (0)

/* Pick a policy change; returns the kind and index, or false. */
static bool change_policy(struct pw_cluster *c, enum pw_gsrc *src, uint32_t *k)
{
	uint32_t n[3] = { c->npols, c->ncpols, c->napols };
	uint32_t total = n[0] + n[1] + n[2];
	if (!total)
		return false;
	uint32_t pick = rnd(total);
	*src = pick < n[0] ? PW_SRC_K8S : pick < n[0] + n[1] ? PW_SRC_CALICO : PW_SRC_ADMIN;
	uint32_t m = n[*src];
	*k = rnd(m);
	uint32_t j = rnd(m); /* a donor */
	uint32_t op = rnd(5);
	switch (*src) {
	case PW_SRC_K8S: {
		struct pw_policy *p = &c->pols[*k], *d = &c->pols[j];
		if (op == 2)
			p->sel = d->sel;
		else if (op == 3)
			p->types = d->types;
		COMMON_OPS(c, c->pols, c->npols, c->npols_cap, p, d, op, k);
		break;
	}
	case PW_SRC_CALICO: {
		struct pw_cpolicy *p = &c->cpols[*k], *d = &c->cpols[j];
		if (op == 2) {
			p->sel = d->sel;
		} else if (op == 3) {
			p->types = d->types;
			p->order = d->order;
			p->has_order = d->has_order;
		}
		COMMON_OPS(c, c->cpols, c->ncpols, c->ncpols_cap, p, d, op, k);
		break;
	}
	default: {
		struct pw_apolicy *p = &c->apols[*k], *d = &c->apols[j];
		if (op == 2) {
			p->subj_ns = d->subj_ns;
			p->subj_pod = d->subj_pod;
		}
		COMMON_OPS(c, c->apols, c->napols, c->napols_cap, p, d, op, k);
		if (op == 4)
			c->apols[*k].priority = (int)rnd(1000);
		break;
	}
	}
	return true;
}

static void run(const char *path, uint32_t changes)
{
	struct pw_cluster *c = pw_xcalloc(1, sizeof(*c));
	struct pw_diags d;
	pw_cluster_init(c);
	pw_diags_init(&d);
	char *paths = pw_xstrdup(path), *save = NULL;
	for (char *t = strtok_r(paths, "+", &save); t; t = strtok_r(NULL, "+", &save))
		pw_cluster_load_path(c, t, &d);
	free(paths);
	pw_cluster_finish(c, &d);
	if (d.errors) { /* bad inputs are other suites' business */
		skipped++;
		pw_diags_release(&d);
		pw_cluster_release(c);
		free(c);
		return;
	}
	/* the update protocol is the world's (lib/world.h) */
	struct pw_world w;
	struct pw_world_opts o = { .engine_flags = flags, .reach = true };
	struct pw_commit res;
	pw_world_init(&w, &o);
	if (pw_world_adopt(&w, c, &d) < 0 || !w.reach) {
		printf("FAIL %s: cannot build\n", path);
		failed++;
		pw_world_release(&w);
		pw_diags_release(&d);
		return;
	}
	pw_diags_release(&d);
	char what[600];
	snprintf(what, sizeof(what), "%s (built)", path);
	compare(c, w.reach, w.e, what);
	for (uint32_t i = 0; i < changes; i++) {
		uint32_t pod, k;
		enum pw_gsrc src;
		int rc;
		if (rnd(2)) {
			if (!relabel(c, &pod))
				continue;
			snprintf(what, sizeof(what), "%s (change %u: relabel pod %s)", path,
				 i + 1, c->pods[pod].name);
			rc = pw_world_update_pod(&w, pod, &res);
		} else {
			if (!change_policy(c, &src, &k))
				continue;
			snprintf(what, sizeof(what), "%s (change %u: policy %d/%u)", path,
				 i + 1, (int)src, k);
			rc = pw_world_update_policy(&w, src, k, &res);
		}
		if (rc < 0 || !w.reach) {
			printf("FAIL %s: the update failed\n", what);
			failed++;
			break;
		}
		compare_fresh(c, &w, what);
	}
	pw_world_release(&w);
}

int main(int argc, char **argv)
{
	uint32_t changes = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--changes") && i + 1 < argc)
			changes = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			rng ^= (uint64_t)atoll(argv[++i]) * 0x9e3779b97f4a7c15ull;
		else if (!strcmp(argv[i], "--flags") && i + 1 < argc)
			flags = (unsigned)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: reach-diff [--changes N] [--seed S] [--flags F] PATH...\n");
			return 2;
		}
	}
	if (!rng)
		rng = 1;
	for (; i < argc; i++)
		run(argv[i], changes);
	printf("reach-diff: %d inputs skipped (input errors)\n", skipped);
	printf("reach-diff: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
