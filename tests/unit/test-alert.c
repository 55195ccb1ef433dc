// SPDX-License-Identifier: Apache-2.0
/* GlobalAlert (lib/flow/alert.h): the query language's parser and matcher,
   durations, loading with positions, evaluation and the scheduler. */
#include <stdlib.h>

#include "../../lib/flow/alert.h"
#include "../../lib/model.h"
#include "t.h"

static struct pw_flow rec(void)
{
	struct pw_flow r;
	memset(&r, 0, sizeof(r));
	r.start_time = 990;
	r.end_time = 1000;
	r.action = PW_FLOW_DENY;
	r.reporter = PW_FLOW_DST;
	strcpy(r.src.type, "ns");
	strcpy(r.src.ns, "-");
	strcpy(r.src.name, "ip-address-list");
	strcpy(r.src.name_aggr, "ip-address-list");
	strcpy(r.src.ip, "198.51.100.77");
	r.src.port = 40000;
	strcpy(r.dst.type, "wep");
	strcpy(r.dst.ns, "hipstershop");
	strcpy(r.dst.name, "frontend-7d9c-abcde");
	strcpy(r.dst.name_aggr, "frontend-7d9c-*");
	strcpy(r.dst.labels, "app=frontend,tier=web");
	strcpy(r.dst.ip, "10.0.0.5");
	r.dst.port = 8080;
	r.proto = 6;
	strcpy(r.policies, "security|security.blockep-ips|0|deny;default|x|-|allow");
	r.num_flows = 3;
	r.bytes_in = 1200;
	return r;
}

static const struct {
	const char *q;
	int match; /* 1, 0; -1: a parse error at off */
	size_t off;
} queries[] = {
	{ "", 1, 0 },
	{ "source_name = \"ip-address-list\"", 1, 0 },
	{ "(source_name = \"ip-address-list\")", 1, 0 },
	{ "source_name = 'ip-address-list'", 1, 0 },
	{ "source_name = ip-address-list", 1, 0 },
	{ "source_name != \"ip-address-list\"", 0, 0 },
	{ "source_name = \"other\"", 0, 0 },
	{ "action=deny", 1, 0 },
	{ "action = allow", 0, 0 },
	{ "reporter = dst", 1, 0 },
	{ "dest_port = 8080", 1, 0 },
	{ "dest_port != 8080", 0, 0 },
	{ "dest_port < 8080", 0, 0 },
	{ "dest_port <= 8080", 1, 0 },
	{ "dest_port > 8079", 1, 0 },
	{ "dest_port >= 8081", 0, 0 },
	{ "num_flows > 2 AND bytes_in >= 1200", 1, 0 },
	{ "num_flows > 3 OR bytes_in < 1000", 0, 0 },
	{ "NOT action = allow", 1, 0 },
	{ "not action = deny", 0, 0 },
	{ "NOT (action = deny AND dest_port = 1)", 1, 0 },
	{ "action = allow OR action = deny AND dest_port = 1", 0, 0 },
	{ "(action = allow OR action = deny) AND dest_port = 8080", 1, 0 },
	{ "source_ip = \"198.51.100.*\"", 1, 0 },
	{ "source_ip = 198.51.100.7?", 1, 0 },
	{ "source_ip = \"198.51.100.?\"", 0, 0 },
	{ "source_ip != \"10.*\"", 1, 0 },
	{ "dest_name_aggr = \"frontend-*\"", 1, 0 },
	{ "dest_namespace IN {\"default\", \"hipster*\"}", 1, 0 },
	{ "dest_namespace IN {\"default\"}", 0, 0 },
	{ "dest_namespace NOT IN {\"default\", \"kube-system\"}", 1, 0 },
	{ "dest_namespace not in {\"hipstershop\"}", 0, 0 },
	{ "dest_port IN {80, 8080}", 1, 0 },
	{ "dest_labels = \"app=frontend\"", 1, 0 },
	{ "dest_labels = \"tier=*\"", 1, 0 },
	{ "dest_labels = \"app=backend\"", 0, 0 },
	{ "dest_labels != \"app=backend\"", 1, 0 },
	{ "source_labels = \"*\"", 0, 0 },
	{ "policies = \"security|*|deny\"", 1, 0 },
	{ "policies = \"*|allow\"", 1, 0 },
	{ "pending_policies = \"*\"", 0, 0 },
	{ "proto = tcp", 1, 0 },
	{ "proto = TCP", 1, 0 },
	{ "proto = 6", 1, 0 },
	{ "proto = udp", 0, 0 },
	{ "source_type = ns AND dest_type = wep", 1, 0 },
	/* errors, at the byte they are about */
	{ "nosuch = 1", -1, 0 },
	{ "source_name = \"x", -1, 14 },
	{ "source_name =", -1, 13 },
	{ "source_name", -1, 0 },
	{ "source_name \"x\"", -1, 12 },
	{ "(action = deny", -1, 0 },
	{ "action = deny)", -1, 13 },
	{ "action = deny AND", -1, 17 },
	{ "action = deny foo", -1, 14 },
	{ "dest_port = abc", -1, 12 },
	{ "dest_port IN {80 8080}", -1, 17 },
	{ "dest_port NOT 80", -1, 14 },
	{ "source_ip > \"10.*\"", -1, 0 },
	{ "action = deny & x", -1, 14 },
	{ "AND action = deny", -1, 0 },
};

static const char *const good_alert =
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalAlert\n"
	"metadata:\n"
	"  name: blocked-ips\n"
	"spec:\n"
	"  description: \"A connection attempt from a blocked ip address just happened.\"\n"
	"  summary: \"[blocked-ip] ${source_ip} from ${source_name_aggr} networkset attempted to access ${dest_namespace}/${dest_name_aggr}\"\n"
	"  severity: 100\n"
	"  dataSet: flows\n"
	"  period: 1m\n"
	"  lookback: 1m\n"
	"  query: '(source_name = \"ip-address-list\")'\n"
	"  aggregateBy: [dest_namespace, dest_name_aggr, source_name_aggr, source_ip]\n"
	"  field: num_flows\n"
	"  metric: sum\n"
	"  condition: gt\n"
	"  threshold: 0\n";

static const struct {
	const char *name, *spec; /* the spec's lines after "spec:\n" */
	int line, col;		 /* of the first error; 0: none */
	const char *msg;
} loads[] = {
	{ "minimal", "  description: d\n  severity: 1\n  dataSet: flows\n", 0, 0, NULL },
	{ "query plain", "  description: d\n  severity: 1\n  dataSet: flows\n  query: action = dney AND nope = 1\n",
	  9, 28, "unknown field \"nope\"" },
	{ "query single", "  description: d\n  severity: 1\n  dataSet: flows\n  query: 'a = ''x'' AND nope = 1'\n",
	  9, 11, "unknown field \"a\"" },
	{ "query single later", "  description: d\n  severity: 1\n  dataSet: flows\n  query: 'action = ''x'' AND nope = 1'\n",
	  9, 30, "unknown field \"nope\"" },
	{ "query double", "  description: d\n  severity: 1\n  dataSet: flows\n  query: \"action = \\\"x\\\" AND (\"\n",
	  9, 31, "expected a field name" },
	{ "query block", "  description: d\n  severity: 1\n  dataSet: flows\n  query: |\n    action = deny AND\n      nope = 1\n",
	  11, 7, "unknown field" },
	{ "severity", "  description: d\n  severity: 101\n  dataSet: flows\n", 7, 13, "out of range 1-100" },
	{ "no severity", "  description: d\n  dataSet: flows\n", 6, 3, "needs spec.severity" },
	{ "dataSet dns", "  description: d\n  severity: 1\n  dataSet: dns\n", 8, 12, "flow logs only" },
	{ "dataSet other", "  description: d\n  severity: 1\n  dataSet: foo\n", 8, 12, "unknown dataSet" },
	{ "metric", "  description: d\n  severity: 1\n  dataSet: flows\n  metric: median\n", 9, 11, "unknown metric" },
	{ "sum no field", "  description: d\n  severity: 1\n  dataSet: flows\n  metric: sum\n  condition: gt\n  threshold: 1\n",
	  9, 11, "needs a field" },
	{ "sum string field", "  description: d\n  severity: 1\n  dataSet: flows\n  metric: max\n  field: source_name\n  condition: gt\n  threshold: 1\n",
	  10, 10, "numeric field" },
	{ "count no field", "  description: d\n  severity: 1\n  dataSet: flows\n  metric: count\n  condition: gte\n  threshold: 2\n",
	  0, 0, NULL },
	{ "condition", "  description: d\n  severity: 1\n  dataSet: flows\n  metric: count\n  condition: ge\n  threshold: 1\n",
	  10, 14, "unknown condition" },
	{ "no threshold", "  description: d\n  severity: 1\n  dataSet: flows\n  metric: count\n  condition: gt\n",
	  9, 11, "needs a threshold" },
	{ "period", "  description: d\n  severity: 1\n  dataSet: flows\n  period: 5 minutes\n", 9, 11, "not a duration" },
	{ "template", "  description: 'x ${source_ip}'\n  severity: 1\n  dataSet: flows\n", 6, 19, "${source_ip}" },
	{ "aggregateBy", "  description: d\n  severity: 1\n  dataSet: flows\n  aggregateBy: [dest_namespace, nope]\n",
	  9, 33, "unknown field" },
};

static void test_loads(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(loads); i++) {
		struct pw_cluster c;
		struct pw_diags d;
		struct pw_buf y;
		pw_cluster_init(&c);
		pw_diags_init(&d);
		pw_buf_init(&y);
		pw_buf_printf(&y, "apiVersion: crd.projectcalico.org/v1\nkind: GlobalAlert\n"
				  "metadata:\n  name: a\nspec:\n%s", loads[i].spec);
		pw_cluster_load_buffer(&c, "t.yaml", (const unsigned char *)y.s, y.len, &d);
		if (!loads[i].line) {
			T_CHECK(d.errors == 0 && c.nalerts == 1, "%s: %zu errors, %u alerts (%s)",
				loads[i].name, d.errors, c.nalerts, d.n ? d.v[0].msg : "");
			T_CHECK(c.nskipped == 0, "%s: skipped", loads[i].name);
		} else {
			T_CHECK(d.errors >= 1 && c.nalerts == 0, "%s: %zu errors", loads[i].name,
				d.errors);
			if (d.n) {
				T_CHECK(d.v[0].pos.line == loads[i].line && d.v[0].pos.col == loads[i].col,
					"%s: at %d:%d, want %d:%d (%s)", loads[i].name, d.v[0].pos.line,
					d.v[0].pos.col, loads[i].line, loads[i].col, d.v[0].msg);
				T_CHECK(strstr(d.v[0].msg, loads[i].msg) != NULL, "%s: %s",
					loads[i].name, d.v[0].msg);
			}
		}
		pw_buf_release(&y);
		pw_diags_release(&d);
		pw_cluster_release(&c);
	}
}

static void test_eval(void)
{
	struct pw_cluster c;
	struct pw_diags d;
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_cluster_load_buffer(&c, "a.yaml", (const unsigned char *)good_alert,
			       strlen(good_alert), &d);
	T_CHECK(d.n == 0 && c.nalerts == 1, "seed alert: %zu diags", d.n);
	if (c.nalerts != 1)
		goto out;
	const struct pw_alert *a = &c.alerts[0];
	T_CHECK(a->period == 60 && a->lookback == 60 && a->severity == 100, "seed alert fields");
	struct pw_flow v[4];
	v[0] = rec();
	v[1] = rec(); /* same group */
	v[1].num_flows = 2;
	v[2] = rec(); /* another source */
	strcpy(v[2].src.name, "other");
	v[3] = rec(); /* another address, same set */
	strcpy(v[3].src.ip, "198.51.100.78");
	struct pw_alert_event *e;
	size_t n = pw_alert_eval(a, v, 4, 1000, &e);
	T_CHECK(n == 2, "seed: %zu events", n);
	if (n == 2) {
		T_CHECK(e[0].value == 5, "sum %g", e[0].value);
		T_CHECK(!strcmp(e[0].summary, "[blocked-ip] 198.51.100.77 from ip-address-list networkset attempted to access hipstershop/frontend-7d9c-*"),
			"summary %s", e[0].summary);
		T_CHECK(!strcmp(e[0].record, "{\"dest_namespace\":\"hipstershop\",\"dest_name_aggr\":\"frontend-7d9c-*\",\"source_name_aggr\":\"ip-address-list\",\"source_ip\":\"198.51.100.77\",\"sum\":5}"),
			"record %s", e[0].record);
		T_CHECK(strstr(e[1].summary, "198.51.100.78 ") && e[1].value == 3, "second group %s",
			e[1].summary);
	}
	free(e);
	/* the window: (now - 60, now] */
	T_CHECK(pw_alert_eval(a, v, 1, 1059, &e) == 1, "window end - 1");
	free(e);
	T_CHECK(pw_alert_eval(a, v, 1, 1060, &e) == 0 && !e, "window: lookback reached");
	T_CHECK(pw_alert_eval(a, v, 1, 999, &e) == 0, "window: record after now");
	T_CHECK(pw_alert_eval(a, v, 1, 1000, &e) == 1, "window: end_time == now");
	free(e);
	/* the period */
	int64_t last = 0;
	T_CHECK(pw_alert_due(a, 1000, &last) && last == 1000, "due first");
	T_CHECK(!pw_alert_due(a, 1059, &last) && last == 1000, "not due");
	T_CHECK(pw_alert_due(a, 1060, &last) && last == 1060, "due again");
out:
	pw_diags_release(&d);
	pw_cluster_release(&c);
}

int main(void)
{
	struct pw_arena a;
	struct pw_buf err;
	pw_arena_init(&a);
	pw_buf_init(&err);
	struct pw_flow r = rec();
	for (size_t i = 0; i < PW_ARRAY_SIZE(queries); i++) {
		const struct pw_aq *q;
		size_t off = 99;
		pw_buf_reset(&err);
		int rc = pw_alert_query_parse(&a, queries[i].q, &q, &off, &err);
		if (queries[i].match < 0) {
			T_CHECK(rc < 0, "%s: parsed", queries[i].q);
			T_CHECK(rc >= 0 || off == queries[i].off, "%s: error at %zu, want %zu (%s)",
				queries[i].q, off, queries[i].off, err.s);
			continue;
		}
		T_CHECK(rc == 0, "%s: %s", queries[i].q, err.s ? err.s : "");
		if (rc == 0)
			T_CHECK(pw_alert_query_match(q, &r) == (queries[i].match == 1),
				"%s: want %s", queries[i].q, queries[i].match ? "match" : "no match");
	}
	static const struct {
		const char *s;
		int64_t v;
	} durs[] = { { "5m", 300 }, { "1h30m", 5400 }, { "90s", 90 }, { "1h 2m 3s", 3723 },
		     { "1s", 1 }, { "", -1 }, { "5", -1 }, { "5ms", -1 }, { "m", -1 }, { "1d", -1 } };
	for (size_t i = 0; i < PW_ARRAY_SIZE(durs); i++)
		T_CHECK(pw_alert_duration(durs[i].s) == durs[i].v, "duration %s: %lld",
			durs[i].s, (long long)pw_alert_duration(durs[i].s));
	T_CHECK(pw_alert_field("source_labels") >= 0 && pw_alert_field("nope") < 0, "fields");
	T_CHECK(pw_alert_field("dest_service_port_name") == pw_alert_field("dest_service_port"),
		"dest_service_port_name");
	T_CHECK(!strcmp(pw_alert_field_name(pw_alert_field("bytes_out")), "bytes_out"), "field name");
	test_loads();
	test_eval();
	pw_buf_release(&err);
	pw_arena_release(&a);
	return T_DONE("alert");
}
