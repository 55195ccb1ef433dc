/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The flow log of one dataplane: what the agent runs to see what its
 * policies do to real traffic.  It owns the pipeline
 *
 *   rule ids (ids.h) -> the kernel's reports (capture.h) -> records
 *   (aggr.h) -> the store (store.h) -> GlobalAlerts (alert.h), and
 *   /metrics
 *
 * The dataplane renders with pw_flowlog_ids() so that the rules carry the
 * ids the reports are read back with.  Reports are named against the
 * engine in force when they are read; what the staged policies would
 * decide comes from an engine of the same cluster with them enforced,
 * built when the cluster has staged policies (again after each change).
 */
#ifndef PW_FLOW_LOG_H
#define PW_FLOW_LOG_H

#include "aggr.h"
#include "store.h"

struct pw_flowlog_opts {
	const char *store;	/* a store spec (store.h); NULL: none */
	const char *ids_path;	/* where rule ids are kept; NULL: memory */
	enum pw_flow_level level;
	int interval;		/* flush interval, seconds (0: 15) */
	int64_t max_age;	/* retention (0: forever) */
	uint64_t max_bytes;	/* (0: no bound) */
	int netns_fd;		/* capture in this namespace (-1: this thread's) */
	bool no_capture;	/* ids and store only (a dry-run dataplane) */
};

struct pw_flowlog;
/* NULL with the reason in err (the ids or the store).  A capture that
   cannot open (the NFLOG group is held by another process) does not stop
   it: pw_flowlog_capture_error says why, and tick tries again every 5 s. */
struct pw_flowlog *pw_flowlog_open(const struct pw_flowlog_opts *o, struct pw_buf *err);
const char *pw_flowlog_capture_error(const struct pw_flowlog *f);
void pw_flowlog_close(struct pw_flowlog *f);
struct pw_flow_ids *pw_flowlog_ids(struct pw_flowlog *f);
/* The descriptors to poll for reading; their count. */
size_t pw_flowlog_fds(const struct pw_flowlog *f, int fds[2]);
/* Read what the kernel reported, named against e. */
void pw_flowlog_read(struct pw_flowlog *f, const struct pw_engine *e);
/* Flush what is due (or everything, when force) to the store.  Returns
   the milliseconds until the next flush is due.  Errors of the store are
   appended to err (records are then counted as dropped). */
int pw_flowlog_tick(struct pw_flowlog *f, int64_t now, bool force, struct pw_buf *err);
/*
 * Run the GlobalAlerts of c that are due at now (by their period) over the
 * stored records of their lookback; each event raised goes to the store.
 * Returns the events raised; errors are appended to err.
 */
size_t pw_flowlog_alerts(struct pw_flowlog *f, const struct pw_cluster *c, int64_t now,
			 struct pw_buf *err);
/* Prometheus text. */
void pw_flowlog_metrics(const struct pw_flowlog *f, struct pw_buf *out);
/* The store (NULL: none). */
struct pw_flowstore *pw_flowlog_store(struct pw_flowlog *f);

#endif
