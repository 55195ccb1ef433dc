// SPDX-License-Identifier: Apache-2.0
/*
 * The flow pipeline without the kernel: reports as lib/flow/capture.c
 * delivers them, named against a cluster from `podwall gen` (aggregation,
 * rule ids read back, the staged view absent), flushed every second of
 * report time into a SQLite store (lib/flow/store.c).  Prints "key value"
 * lines for bench/flows.sh:
 *
 *   reports            reports fed
 *   reports_per_s      reports named, aggregated and stored per second
 *   records            records written
 *   records_per_s      records written per second
 *   store_ms           of which in the store
 *   rss_mib            peak resident memory
 *
 * usage: flows-bench CLUSTER.yaml STORE.db [--reports N] [--per-second N]
 *                    [--no-store]   (the pipeline up to the store only)
 *                    [--pairs N]    (the reports are N conversations)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../lib/flow/aggr.h"
#include "../lib/flow/store.h"
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

int main(int argc, char **argv)
{
	long reports = 1000000, rate = 100000;
	bool nostore = false;
	long npairs = 0; /* 0: every report between a random pair */
	const char *file = NULL, *db = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reports") && i + 1 < argc)
			reports = atol(argv[++i]);
		else if (!strcmp(argv[i], "--pairs") && i + 1 < argc)
			npairs = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-store"))
			nostore = true;
		else if (!strcmp(argv[i], "--per-second") && i + 1 < argc)
			rate = atol(argv[++i]);
		else if (!file)
			file = argv[i];
		else
			db = argv[i];
	}
	if (!file || !db || reports < 1 || rate < 1) {
		fprintf(stderr, "usage: flows-bench CLUSTER.yaml STORE.db [--reports N] [--per-second N]\n");
		return 2;
	}
	struct pw_cluster c;
	struct pw_diags d;
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_cluster_load_path(&c, file, &d);
	pw_cluster_finish(&c, &d);
	if (d.errors) {
		fprintf(stderr, "flows-bench: %zu errors in %s\n", d.errors, file);
		return 2;
	}
	pw_diags_release(&d);
	struct pw_engine e;
	if (pw_engine_build(&e, &c, 0) < 0)
		return 2;
	uint32_t *pods = malloc((c.npods + 1) * sizeof(*pods)), np = 0;
	for (uint32_t p = 0; p < c.npods; p++)
		if (c.pods[p].naddrs && c.pods[p].addrs[0].family == 4)
			pods[np++] = p;
	if (np < 2) {
		fprintf(stderr, "flows-bench: the cluster has fewer than 2 pods with addresses\n");
		return 2;
	}
	/* the steps the rules would carry: every rule of every policy */
	struct pw_flow_ids *ids = pw_flow_ids_new(NULL, NULL);
	uint16_t nid[2] = { 0, 0 };
	for (uint32_t s = 0; s < e.npols; s++)
		for (int dir = 0; dir < 2; dir++)
			for (uint32_t r = 0; r < e.pols[s].nrules[dir]; r++) {
				struct pw_step st = { .kind = PW_STEP_RULE, .tier = e.pols[s].tier,
						      .policy = (int)s, .rule = (int)r,
						      .action = e.pols[s].rules[dir][r].action };
				struct pw_buf b;
				pw_buf_init(&b);
				pw_flow_step_entry(&e, pods[0], (enum pw_dir)dir, &st, &b);
				nid[dir] = pw_flow_ids_get(ids, (enum pw_dir)dir, b.s);
				pw_buf_release(&b);
			}
	struct pw_flowstore_opts so = { .kind = PW_FLOWSTORE_SQLITE, .path = db };
	struct pw_buf err;
	pw_buf_init(&err);
	remove(db);
	struct pw_flowstore *store = pw_flowstore_open(&so, &err);
	if (!store) {
		fprintf(stderr, "flows-bench: %s\n", err.s);
		return 2;
	}
	struct pw_flow_aggr *a = pw_flow_aggr_new(PW_FLOW_PER_POD, 1);
	int64_t t0 = 1800000000;
	size_t written = 0;
	double store_ms = 0, start = now_ms();
	for (long i = 0; i < reports; i++) {
		struct pw_flow_ev ev = { 0 };
		ev.time = t0 + i / rate;
		uint32_t si = rnd(np), ti = rnd(np), port = rnd(20), pick = (uint32_t)rng;
		if (npairs > 0) {
			/* one of npairs conversations, fixed by its number */
			uint32_t k = rnd((uint32_t)npairs);
			si = (k * 2654435761u) % np;
			ti = (k * 40503u + 7) % np;
			port = k % 20;
			pick = k;
		}
		const struct pw_pod *s = &c.pods[pods[si]], *t = &c.pods[pods[ti]];
		ev.src = s->addrs[0];
		ev.dst = ev.to = t->addrs[0];
		ev.proto = 6;
		ev.sport = 32768 + (int)rnd(28000);
		ev.dport = ev.to_port = 8000 + (int)port;
		ev.ct_id = (uint32_t)i;
		switch (i % 3) {
		case 0:
			ev.kind = PW_FEV_DENY;
			ev.dir = pick & 1 ? PW_INGRESS : PW_EGRESS;
			ev.id = (uint16_t)(1 + pick % (nid[ev.dir] ? nid[ev.dir] : 1));
			ev.packets[0] = 1;
			ev.bytes[0] = 60;
			break;
		default:
			ev.kind = i % 3 == 1 ? PW_FEV_NEW : PW_FEV_END;
			ev.eg_id = (uint16_t)(1 + pick % (nid[1] ? nid[1] : 1));
			ev.in_id = (uint16_t)(1 + pick % (nid[0] ? nid[0] : 1));
			ev.packets[0] = ev.packets[1] = 10;
			ev.bytes[0] = ev.bytes[1] = 1500;
			break;
		}
		pw_flow_aggr_add(a, &e, NULL, ids, &ev);
		const struct pw_flow *v;
		size_t n = pw_flow_aggr_flush(a, ev.time, false, &v);
		if (n) {
			double t1 = now_ms();
			if (!nostore && pw_flowstore_add(store, v, n, &err) < 0) {
				fprintf(stderr, "flows-bench: %s\n", err.s);
				return 2;
			}
			store_ms += now_ms() - t1;
			written += n;
		}
	}
	const struct pw_flow *v;
	size_t n = pw_flow_aggr_flush(a, t0 + reports / rate + 1, true, &v);
	double t1 = now_ms();
	if (n && pw_flowstore_add(store, v, n, &err) < 0)
		return 2;
	store_ms += now_ms() - t1;
	written += n;
	double ms = now_ms() - start;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("pods %u\nreports %ld\nreports_per_s %.0f\nrecords %zu\nrecords_per_s %.0f\n"
	       "store_ms %.0f\nrss_mib %.1f\n",
	       np, reports, reports / (ms / 1e3), written, written / (ms / 1e3), store_ms,
	       ru.ru_maxrss / 1024.0);
	pw_flow_aggr_free(a);
	pw_flowstore_close(store);
	pw_flow_ids_free(ids);
	pw_buf_release(&err);
	free(pods);
	pw_engine_release(&e);
	pw_cluster_release(&c);
	return 0;
}
