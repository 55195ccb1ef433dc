// SPDX-License-Identifier: Apache-2.0
/*
 * The engine at cluster scale, on one input (from `podwall gen`): prints
 * "key value" lines that bench/engine.sh turns into figures and ratios.
 *
 *   load_ms         parsing and checking the manifests
 *   engine_ms       identities, selectors, compiled policies
 *   reach_ms        the whole matrix (every atom, every port class)
 *   rss_mib         peak resident memory after the matrix
 *   ref_matrix_ms   the same matrix by per-connection evaluation
 *                   (pw_engine_conns on every atom pair), extrapolated
 *                   from a random sample of pairs
 *   fast_qps, ref_qps   single verdicts per second (random pod pairs,
 *                   random ports), fast and reference
 *   policy_p50_us, policy_p99_us   one policy changed (100 changes)
 *   relabel_p50_us, relabel_p99_us one pod relabelled (100 changes)
 *   rebuild_ms      what a change costs without incremental updates
 *   checked         changes whose result was checked against a rebuild
 *
 * usage: engine-bench FILE [--queries N] [--sample N] [--changes N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../lib/world.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

static int dbl_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), dbl_cmp);
	int i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

static struct pw_ep atom_ep(const struct pw_reach *r, const struct pw_cluster *c,
			    uint32_t a, const uint32_t *atom_pod)
{
	if (r->atoms[a].identity == UINT32_MAX)
		return pw_ep_addr(&r->atoms[a].addr);
	return pw_ep_pod(c, atom_pod[a]);
}

/* A sample of verdicts from a rebuilt reference against the updated reach. */
static int spot_check(const struct pw_cluster *c, const struct pw_reach *r,
		      unsigned flags)
{
	struct pw_engine ref;
	if (pw_engine_build(&ref, c, flags) < 0)
		return -1;
	int bad = 0;
	for (int i = 0; i < 2000; i++) {
		struct pw_ep s = pw_ep_pod(c, rnd(c->npods)), d = pw_ep_pod(c, rnd(c->npods));
		struct pw_query q = pw_query_port(PW_TCP, 8000 + (int)rnd(100));
		struct pw_verdict v;
		pw_engine_eval(&ref, &s, &d, &q, &v);
		if (pw_reach_allowed(r, &s, &d, &q) != (int)v.allowed)
			bad++;
	}
	pw_engine_release(&ref);
	return bad;
}

int main(int argc, char **argv)
{
	long queries = 1000000, sample = 20000, changes = 100;
	const char *file = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--queries") && i + 1 < argc)
			queries = atol(argv[++i]);
		else if (!strcmp(argv[i], "--sample") && i + 1 < argc)
			sample = atol(argv[++i]);
		else if (!strcmp(argv[i], "--changes") && i + 1 < argc)
			changes = atol(argv[++i]);
		else
			file = argv[i];
	}
	if (!file || changes < 1 || changes > 100000) {
		fprintf(stderr, "usage: engine-bench FILE [--queries N] [--sample N] [--changes N]\n");
		return 2;
	}
	struct pw_cluster c;
	struct pw_diags d;
	double t0 = now_ms();
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_cluster_load_path(&c, file, &d);
	pw_cluster_finish(&c, &d);
	if (d.errors) {
		fprintf(stderr, "engine-bench: %zu errors in %s\n", d.errors, file);
		return 2;
	}
	pw_diags_release(&d);
	double t1 = now_ms();
	struct pw_engine e;
	if (pw_engine_build(&e, &c, 0) < 0)
		return 2;
	double t2 = now_ms();
	struct pw_reach r;
	if (pw_reach_build(&r, &e) < 0)
		return 2;
	double t3 = now_ms();
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	struct pw_reach_stats st;
	pw_reach_stats(&r, &st);
	printf("pods %u\nidentities %u\npolicies %u\natoms %u\nclasses %u\nrows %u\nreach_mib %.1f\n",
	       c.npods, e.nids, e.npols, st.atoms, st.classes, st.rows,
	       st.bytes / 1048576.0);
	printf("load_ms %.1f\nengine_ms %.1f\nreach_ms %.1f\nrss_mib %.1f\n", t1 - t0,
	       t2 - t1, t3 - t2, ru.ru_maxrss / 1024.0);

	/* the reference matrix, on a sample of atom pairs */
	uint32_t *atom_pod = pw_xmalloc((r.natoms + 1) * sizeof(*atom_pod));
	for (uint32_t p = 0; p < c.npods; p++)
		atom_pod[r.pod_atom[p]] = p;
	struct pw_conns cs, cf;
	pw_conns_init(&cs);
	pw_conns_init(&cf);
	/* outside-to-outside pairs are not part of the matrix */
	uint64_t npairs = (uint64_t)r.natoms * r.natoms - (uint64_t)r.next * r.next;
	int mismatch = 0;
	double s0 = now_ms();
	for (long i = 0; i < sample; i++) {
		uint32_t a = rnd(r.natoms), b = rnd(r.natoms);
		struct pw_ep x = atom_ep(&r, &c, a, atom_pod), y = atom_ep(&r, &c, b, atom_pod);
		if (x.pod < 0 && y.pod < 0)
			continue;
		pw_engine_conns(&e, &x, &y, &cs);
	}
	double s1 = now_ms();
	for (long i = 0; i < sample; i++) { /* and the same pairs, checked */
		uint32_t a = rnd(r.natoms), b = rnd(r.natoms);
		struct pw_ep x = atom_ep(&r, &c, a, atom_pod), y = atom_ep(&r, &c, b, atom_pod);
		if (x.pod < 0 && y.pod < 0)
			continue;
		pw_engine_conns(&e, &x, &y, &cs);
		if (!pw_reach_conns(&r, &x, &y, &cf) || !pw_conns_equal(&cs, &cf))
			mismatch++;
	}
	printf("ref_matrix_ms %.1f\nmatrix_pairs %llu\nsample_mismatches %d\n",
	       (s1 - s0) / (double)sample * (double)npairs, (unsigned long long)npairs,
	       mismatch);

	/* single verdicts */
	struct pw_ep *src = pw_xmalloc(4096 * sizeof(*src)), *dst = pw_xmalloc(4096 * sizeof(*dst));
	struct pw_query *qs = pw_xmalloc(4096 * sizeof(*qs));
	for (int i = 0; i < 4096; i++) {
		src[i] = pw_ep_pod(&c, rnd(c.npods));
		dst[i] = pw_ep_pod(&c, rnd(c.npods));
		qs[i] = pw_query_port(PW_TCP, 8000 + (int)rnd(100));
	}
	long allowed = 0;
	double q0 = now_ms();
	for (long i = 0; i < queries; i++)
		allowed += pw_reach_allowed(&r, &src[i & 4095], &dst[i & 4095], &qs[i & 4095]);
	double q1 = now_ms();
	long refq = queries / 10;
	struct pw_verdict v;
	for (long i = 0; i < refq; i++) {
		pw_engine_eval(&e, &src[i & 4095], &dst[i & 4095], &qs[i & 4095], &v);
		allowed += v.allowed;
	}
	double q2 = now_ms();
	printf("fast_qps %.0f\nref_qps %.0f\nallowed_checksum %ld\n", queries / ((q1 - q0) / 1e3),
	       refq / ((q2 - q1) / 1e3), allowed);

	/* one change at a time: policies (edits of Kubernetes policies), then
	   relabels; the rebuild they save is timed once */
	double rb0 = now_ms();
	{
		struct pw_engine e2;
		struct pw_reach r2;
		if (pw_engine_build(&e2, &c, 0) < 0 || pw_reach_build(&r2, &e2) < 0)
			return 2;
		pw_reach_release(&r2);
		pw_engine_release(&e2);
	}
	double rb1 = now_ms();
	printf("rebuild_ms %.1f\n", rb1 - rb0);
	double *tp = pw_xmalloc((size_t)changes * sizeof(double));
	double *tr = pw_xmalloc((size_t)changes * sizeof(double));
	double *tre = pw_xcalloc((size_t)changes, sizeof(double));
	int rebuilds = 0, bad = 0, checked = 0;
	/* the changes go through the world (lib/world.h), which owns the
	   update protocol; it takes the cluster and builds its own engine */
	pw_reach_release(&r);
	pw_engine_release(&e);
	struct pw_cluster *cp = pw_xmalloc(sizeof(*cp));
	*cp = c;
	struct pw_world w;
	struct pw_world_opts wo = { .reach = true };
	struct pw_commit res;
	pw_world_init(&w, &wo);
	pw_diags_init(&d);
	if (pw_world_adopt(&w, cp, &d) < 0 || !w.reach)
		return 2;
	pw_diags_release(&d);
#define c (*w.c)
	for (long i = 0; i < changes && c.npols; i++) {
		uint32_t k = rnd(c.npols), j = rnd(c.npols);
		struct pw_policy *p = &c.pols[k];
		if (i % 2) { /* take another policy's rules */
			for (int x = 0; x < 2; x++) {
				p->rules[x] = c.pols[j].rules[x];
				p->nrules[x] = c.pols[j].nrules[x];
			}
			p->types = c.pols[j].types;
		} else { /* or its pod selector */
			p->sel = c.pols[j].sel;
		}
		double a0 = now_ms();
		if (pw_world_update_policy(&w, PW_SRC_K8S, k, &res) < 0)
			return 2;
		rebuilds += res.kind == PW_COMMIT_REBUILD;
		tp[i] = (now_ms() - a0) * 1e3;
		if (i % 25 == 24) {
			bad += spot_check(&c, w.reach, 0);
			checked++;
		}
	}
	for (long i = 0; i < changes; i++) {
		uint32_t p = rnd(c.npods), q = rnd(c.npods);
		((struct pw_pod *)&c.pods[p])->labels = c.pods[q].labels;
		double a0 = now_ms();
		if (pw_world_update_pod(&w, p, &res) < 0)
			return 2;
		rebuilds += res.kind == PW_COMMIT_REBUILD;
		tre[i] = res.ms_engine * 1e3;
		tr[i] = (now_ms() - a0) * 1e3;
		if (i % 25 == 24) {
			bad += spot_check(&c, w.reach, 0);
			checked++;
		}
	}
	printf("policy_p50_us %.1f\npolicy_p99_us %.1f\n", pct(tp, (int)changes, 0.5),
	       pct(tp, (int)changes, 0.99));
	printf("relabel_p50_us %.1f\nrelabel_p99_us %.1f\n", pct(tr, (int)changes, 0.5),
	       pct(tr, (int)changes, 0.99));
	printf("relabel_engine_p50_us %.1f\n", pct(tre, (int)changes, 0.5));
	printf("change_rebuilds %d\nchecked %d\ncheck_mismatches %d\n", rebuilds, checked, bad);
#undef c
	free(tp);
	free(tr);
	free(tre);
	free(src);
	free(dst);
	free(qs);
	free(atom_pod);
	pw_conns_release(&cs);
	pw_conns_release(&cf);
	pw_world_release(&w);
	return mismatch || bad ? 1 : 0;
}
