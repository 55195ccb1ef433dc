/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Calico's GlobalAlert (projectcalico.org/v3, crd.projectcalico.org/v1) on
 * flow records (flow.h).
 *
 * GlobalAlerts are read by the manifest loader with every other kind, from
 * the same files and directories: a bad one is an error of the load
 * (FILE:LINE:COL), exactly as a bad policy is, and a good one is in the
 * cluster's alerts[] (lib/model.h), parsed and checked.  The spec:
 *
 *   description  required; summary: defaults to the description.  Both are
 *                templates: ${FIELD} is an aggregateBy field's value,
 *                ${count}, ${sum}, ${avg}, ${max}, ${min} the metric's
 *   severity     1 to 100, required
 *   dataSet      flows (audit, dns and l7 are Calico Enterprise's other
 *                logs: refused)
 *   type         RuleBased (the default) only
 *   period       how often it runs: a duration "1h2m3s" (default 5m;
 *                Calico's minimum is 1m, podwall takes down to 1s so that
 *                tests need not wait)
 *   lookback     the records it reads: end_time in (now - lookback, now]
 *                (default 10m; at least 1s)
 *   query        which records (below); empty or absent: all
 *   aggregateBy  field names: one group per distinct set of values
 *   metric       count, sum, avg, max, min; absent: every group raises
 *   field        a numeric field: required by sum, avg, max and min
 *   condition    eq, not_eq, lt, lte, gt, gte; required with a metric
 *   threshold    a number; required with a metric
 *
 * The query language (Calico's, for flow logs): FIELD OP VALUE with OP one
 * of = != < <= > >=, FIELD IN {V, ...} and FIELD NOT IN {V, ...}, joined by
 * AND, OR, NOT and parentheses (NOT binds tightest, then AND, then OR;
 * keywords in any case).  A value is "quoted" ('single' or "double", \
 * escapes the next character), a number or a bare word; in a string value
 * * matches any run of characters and ? any one, for =, != and IN.  Fields
 * are those of Calico's flow logs (flow.h); source_labels and dest_labels
 * are lists of "k=v", dest_domains of names, policies and pending_policies
 * of "tier|policy|rule|action": = and IN match when any entry matches,
 * != and NOT IN when none does.  A numeric field takes only numbers;
 * proto takes a name ("tcp") or a number (6); dest_service_port (Calico's
 * name) is also dest_service_port_name (podwall's JSON).
 *
 * Loaded alerts are the cluster's alerts[0..nalerts) (lib/model.h): there
 * is no separate load step, so that every command refuses a bad one.
 */
#ifndef PW_FLOW_ALERT_H
#define PW_FLOW_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"

enum pw_alert_metric {
	PW_ALERT_NONE, /* no metric: every group raises */
	PW_ALERT_COUNT,
	PW_ALERT_SUM,
	PW_ALERT_AVG,
	PW_ALERT_MAX,
	PW_ALERT_MIN,
};

enum pw_alert_cond {
	PW_ALERT_EQ,
	PW_ALERT_NOT_EQ,
	PW_ALERT_LT,
	PW_ALERT_LTE,
	PW_ALERT_GT,
	PW_ALERT_GTE,
};

/* A parsed query (opaque; NULL matches every record). */
struct pw_aq;

struct pw_alert {
	const char *name;
	struct pw_pos pos;
	const char *description, *summary; /* templates */
	int severity;
	int64_t period, lookback; /* seconds */
	const struct pw_aq *query; /* NULL: every record */
	const char *query_text;
	int *aggr; /* field ids (pw_alert_field()) */
	uint32_t naggr;
	enum pw_alert_metric metric;
	int field; /* -1: none */
	enum pw_alert_cond cond;
	double threshold;
};

/*
 * The query q parsed into arena a: 0 with *out set (NULL for an empty
 * query), or -1 with the reason in err and the byte offset in q it is about
 * in *err_off.
 */
int pw_alert_query_parse(struct pw_arena *a, const char *q,
			 const struct pw_aq **out, size_t *err_off,
			 struct pw_buf *err);
bool pw_alert_query_match(const struct pw_aq *q, const struct pw_flow *r);
/* A flow field's id by its name, or -1; its name back. */
int pw_alert_field(const char *name);
const char *pw_alert_field_name(int id);
/* "5m", "1h30m", "90s", "1h 2m 3s" (h, m, s) in seconds; -1 if malformed. */
int64_t pw_alert_duration(const char *s);

/*
 * The events a raises over the records v[0..n) as of now: of the records
 * with end_time in (now - lookback, now] that match the query, one event
 * per aggregateBy group whose metric meets the condition (every group
 * when there is no metric), in the order the groups were first met.
 * Returns their number; *out is a heap array (free()), NULL for none.
 */
size_t pw_alert_eval(const struct pw_alert *a, const struct pw_flow *v,
		     size_t n, int64_t now, struct pw_alert_event **out);
/*
 * Is a due at now, by its period?  *last is when it last ran (0: never);
 * true updates it to now.
 */
bool pw_alert_due(const struct pw_alert *a, int64_t now, int64_t *last);
#endif
