/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flow records: what the dataplane saw, named as the engine names its
 * decisions.  Fields and meanings follow Calico's flow logs, so that a
 * Calico user reads them without a guide:
 *
 *   start_time, end_time   the interval the record covers (Unix seconds)
 *   action                 allow or deny
 *   reporter               src (the source's node decided its egress) or
 *                          dst (the destination's node, its ingress)
 *   source_*, dest_*       each end: type (wep: a pod; ns: a network set's
 *                          address; net: any other address), namespace,
 *                          name (the pod; "-" once aggregated away),
 *                          name_aggr (the workload "frontend-*", the
 *                          network set's name, or "pub"/"pvt" for other
 *                          addresses), labels, ip ("" once aggregated
 *                          away), port (-1 once aggregated away)
 *   proto                  IP protocol number ("tcp", "udp", ... in output)
 *   dest_service_*         the Service the destination was reached through
 *   dest_domains           DNS names known for the destination
 *   policies               the deciding step at the reporter, as
 *                          "tier|policy|rule|action" ("rule" is the rule's
 *                          index in its direction, "-" for the end of a
 *                          tier or a profile); "unattributed|...|-|action"
 *                          when the dataplane could not name it
 *   pending_policies       the same, were the staged policies enforced
 *   num_flows*, packets_*, bytes_*   counts over the interval; "in" and
 *                          "out" are from the reporter's endpoint's view
 *
 * The modules of lib/flow/:
 *   record.c   one record as JSON (one line), CSV, a table row; a record
 *              back from JSON; filters
 *   store.c    SQLite (the default) and JSON lines with rotation;
 *              retention by age and size
 *   ids.c      rule ids: the numbers the dataplane's rules carry
 *   capture.c  NFLOG (denied packets) and conntrack events (allowed
 *              connections) decoded into records
 *   aggr.c     aggregation per pod, workload or namespace, and the flush
 *              interval
 *   alert.c    GlobalAlert: parsing, the query language, evaluation
 */
#ifndef PW_FLOW_H
#define PW_FLOW_H

#include <stdint.h>

#include "../base.h"
#include "../doc.h"

enum pw_flow_action { PW_FLOW_ALLOW, PW_FLOW_DENY };
enum pw_flow_reporter { PW_FLOW_SRC, PW_FLOW_DST };

#define PW_FLOW_NAME 254
#define PW_FLOW_NS 64
#define PW_FLOW_LABELS 512
#define PW_FLOW_POLICY 1024 /* "entry;entry;..." */

struct pw_flow_end {
	char type[4];			/* "wep", "ns", "net" */
	char ns[PW_FLOW_NS];		/* "-" when none (outside addresses) */
	char name[PW_FLOW_NAME];	/* "-" when aggregated away */
	char name_aggr[PW_FLOW_NAME];
	char labels[PW_FLOW_LABELS];	/* "k=v,k=v", sorted; "" for none */
	char ip[48];			/* "" when aggregated away */
	int port;			/* -1 when aggregated away (or none) */
};

struct pw_flow {
	int64_t start_time, end_time;
	enum pw_flow_action action;
	enum pw_flow_reporter reporter;
	struct pw_flow_end src, dst;
	int proto;
	char svc_ns[PW_FLOW_NS], svc_name[PW_FLOW_NAME], svc_port_name[64];
	int svc_port_num; /* 0: none */
	char dest_domains[256]; /* "a,b"; "" for none */
	char policies[PW_FLOW_POLICY]; /* entries joined by ';' */
	char pending[PW_FLOW_POLICY];
	uint64_t num_flows, num_flows_started, num_flows_completed;
	uint64_t packets_in, packets_out, bytes_in, bytes_out;
};

/* "allow"/"deny", "src"/"dst"; -1 for another word */
const char *pw_flow_action_name(enum pw_flow_action a);
const char *pw_flow_reporter_name(enum pw_flow_reporter r);
int pw_flow_action_parse(const char *s);
int pw_flow_reporter_parse(const char *s);
/* "tcp", "udp", "icmp", "icmp6", "sctp", else the number (in buf) */
const char *pw_flow_proto_name(int proto, char buf[static 12]);
/* a name above or 0..255; -1 for another */
int pw_flow_proto_parse(const char *s);

/*
 * What `podwall flows` asks (hubble observe's filters).  NULL / -1 / 0:
 * any.  An end is "NS/NAME" (a pod, or a workload "NS/NAME-*"), a name
 * alone (in ns, else any namespace), an address or a CIDR.
 *   ns       either end's namespace
 *   pod      either end
 *   from, to the source, the destination
 *   policy   a policy (enforced or pending) named in the record: "NAME"
 *            or "TIER|NAME"
 */
struct pw_flow_filter {
	const char *ns, *pod, *from, *to, *policy;
	int action; /* -1: any */
	int port;   /* destination port; 0: any */
	int64_t since, until; /* end_time >= since, start_time <= until; 0: open */
};
bool pw_flow_match(const struct pw_flow_filter *f, const struct pw_flow *r);
/* One entry of policies or pending: its tier and policy name (pointing
   into the string, not NUL-terminated). */
struct pw_flow_policy_ref {
	const char *tier, *name;
	size_t tier_len, name_len;
};
/* The next entry at *p (advanced past it); false at the end.  Text
   without a '|' is no entry and is passed over. */
bool pw_flow_policy_next(const char **p, struct pw_flow_policy_ref *e);

/* One record as one line of JSON (no newline), Calico's field names. */
void pw_flow_json(const struct pw_flow *r, struct pw_buf *out);
/* s[0..n) as a JSON string: quoted, escaped, invalid UTF-8 as \u00XX */
void pw_flow_json_str(struct pw_buf *out, const char *s, size_t n);
/* A record back from one line of JSON (as pw_flow_json writes it).  0, or
   -1 with the reason in err. */
int pw_flow_parse_json(const char *line, size_t len, struct pw_flow *r,
		       struct pw_buf *err);
/* The same, with the 1-based column of the problem in *col (NULL: not
   wanted). */
int pw_flow_parse_json_at(const char *line, size_t len, struct pw_flow *r,
			  int *col, struct pw_buf *err);
/* Output of many records (podwall flows): table, json (one object per
   line), csv (a header, then one line per record). */
void pw_flow_write_begin(enum pw_format fmt, const struct pw_out *o);
void pw_flow_write(const struct pw_flow *r, enum pw_format fmt,
		   const struct pw_out *o);

/* A raised alert (lib/flow/alert.c raises, lib/flow/store.c keeps). */
struct pw_alert_event {
	int64_t time;	 /* when it was raised */
	char name[PW_FLOW_NAME]; /* the GlobalAlert's */
	int severity;
	char description[1024], summary[1024]; /* templates filled in */
	char record[2048]; /* the aggregated fields and the metric, JSON */
	double value;	   /* the metric's value */
};

#endif
