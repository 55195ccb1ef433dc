/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where flow records and raised alerts are kept.
 *
 *   sqlite   one SQLite database (the default): table flows, indexed by
 *            time, namespace, workload (name_aggr), policy and action;
 *            table alerts.  Writes are batched, one transaction per
 *            pw_flowstore_add.
 *   jsonl    JSON lines (lib/flow/flow.h's pw_flow_json), flows.jsonl in a
 *            directory, rotated to flows.jsonl.1 ... .N when it passes a
 *            size; alerts in alerts.jsonl.
 *
 * Retention by age and by size: records older than max_age, and the
 * oldest records beyond max_bytes, are removed (pw_flowstore_retain; the
 * writer calls it every so often by itself).
 */
#ifndef PW_FLOW_STORE_H
#define PW_FLOW_STORE_H

#include "flow.h"

enum pw_flowstore_kind { PW_FLOWSTORE_SQLITE, PW_FLOWSTORE_JSONL };

struct pw_flowstore_opts {
	enum pw_flowstore_kind kind;
	const char *path;   /* sqlite: the database file; jsonl: a directory */
	int64_t max_age;    /* seconds; 0: keep forever */
	uint64_t max_bytes; /* 0: no bound */
	uint64_t rotate_bytes; /* jsonl: rotate past this (0: 64 MiB) */
	uint32_t keep_files;   /* jsonl: rotated files kept (0: 5) */
	bool read_only;
	/* pw_flowstore_add does not call pw_flowstore_retain by itself (the
	   caller does, with its own clock: an import, a test) */
	bool manual_retain;
};

struct pw_flowstore;

/* "sqlite:PATH", "jsonl:DIR", or a path (a directory or *.jsonl: jsonl;
   else sqlite) into o (path points into spec).  0, or -1. */
int pw_flowstore_spec(const char *spec, struct pw_flowstore_opts *o);
/* NULL with the reason in err. */
struct pw_flowstore *pw_flowstore_open(const struct pw_flowstore_opts *o,
				       struct pw_buf *err);
void pw_flowstore_close(struct pw_flowstore *s);
/* All n records, in one transaction.  0, or -1 with the reason in err
   (nothing written). */
int pw_flowstore_add(struct pw_flowstore *s, const struct pw_flow *v, size_t n,
		     struct pw_buf *err);
/* The records matching f, oldest first (by end_time, then insertion);
   at most limit (0: all; the newest limit ones when tail).  cb returns
   non-zero to stop.  0, or -1 with the reason in err. */
int pw_flowstore_query(struct pw_flowstore *s, const struct pw_flow_filter *f,
		       size_t limit, bool tail,
		       int (*cb)(void *arg, const struct pw_flow *r), void *arg,
		       struct pw_buf *err);
/* Remove what retention asks for, as of now (Unix seconds).  Returns the
   number of records removed, or -1. */
long pw_flowstore_retain(struct pw_flowstore *s, int64_t now, struct pw_buf *err);
/* Raised alerts. */
int pw_flowstore_add_alert(struct pw_flowstore *s, const struct pw_alert_event *a,
			   struct pw_buf *err);
int pw_flowstore_alerts(struct pw_flowstore *s, int64_t since,
			int (*cb)(void *arg, const struct pw_alert_event *a),
			void *arg, struct pw_buf *err);
/* One alert as one line of JSON (no newline): time, name, severity,
   description, summary, record (the JSON text, as a string), value. */
void pw_flowstore_alert_json(const struct pw_alert_event *a, struct pw_buf *out);
/* Counters since open. */
struct pw_flowstore_stats {
	uint64_t written, removed, failed; /* records */
	uint64_t bytes; /* of the store now (sqlite: the file; jsonl: all files) */
};
void pw_flowstore_stats(const struct pw_flowstore *s, struct pw_flowstore_stats *out);

#endif
