/* SPDX-License-Identifier: Apache-2.0 */
/*
 * From the kernel's reports (lib/flow/capture.h) to flow records
 * (lib/flow/flow.h): each report is named against the cluster in force
 * (which pod, workload, network set or Service each address is), its
 * rule ids are read back as the engine's steps (lib/flow/ids.h), and what
 * the staged policies would decide is asked of a staged engine.  Reports
 * that agree on every field the aggregation level keeps add up into one
 * record until the flush interval ends, as Calico's flow logs do:
 *
 *   pod        one record per source pod (or address) and destination pod
 *              (or address) and port; the source port is aggregated away
 *   workload   pods of one workload together, and the addresses of one
 *              network set (or pub, or pvt): names "-", ips ""
 *   namespace  every endpoint of a namespace together
 *
 * num_flows counts the distinct connections (or, denied, the distinct
 * 5-tuples) a record covers; started and completed count conntrack's new
 * and destroy events.  Counters per deciding step feed /metrics.
 */
#ifndef PW_FLOW_AGGR_H
#define PW_FLOW_AGGR_H

#include "capture.h"
#include "flow.h"
#include "ids.h"

/* Records an interval holds at most: more flush it early (memory stays
   bounded under any traffic). */
#define PW_FLOW_AGGR_MAX 8192

enum pw_flow_level { PW_FLOW_PER_POD, PW_FLOW_PER_WORKLOAD, PW_FLOW_PER_NS };
/* "pod", "workload", "namespace"; -1 for another */
int pw_flow_level_parse(const char *s);

struct pw_flow_aggr;
struct pw_flow_aggr *pw_flow_aggr_new(enum pw_flow_level level, int interval_s);
void pw_flow_aggr_free(struct pw_flow_aggr *a);
/* One report, named against e (the engine in force), staged (the engine
   with the staged policies enforced, or NULL when there are none) and ids
   (what the dataplane's rules carry). */
void pw_flow_aggr_add(struct pw_flow_aggr *a, const struct pw_engine *e,
		      const struct pw_engine *staged, const struct pw_flow_ids *ids,
		      const struct pw_flow_ev *ev);
/* When the interval has ended at now (or when force): the records (valid
   until the next add or flush); their count.  0 and NULL before. */
size_t pw_flow_aggr_flush(struct pw_flow_aggr *a, int64_t now, bool force,
			  const struct pw_flow **out);
/* Seconds until the next flush is due (0: now). */
int pw_flow_aggr_due_in(const struct pw_flow_aggr *a, int64_t now);

struct pw_flow_aggr_stats {
	uint64_t events, denied, started, completed;
	uint64_t unattributed; /* reports whose rule id named no step */
	uint64_t records;      /* flushed */
};
void pw_flow_aggr_stats(const struct pw_flow_aggr *a, struct pw_flow_aggr_stats *s);
/* Prometheus text: packets, bytes and flows per deciding step and
   reporter (allowed connections count once they end). */
void pw_flow_aggr_metrics(const struct pw_flow_aggr *a, struct pw_buf *out);

#endif
