// SPDX-License-Identifier: Apache-2.0
/* Flow records (lib/flow/record.c): filters, JSON escaping and reading
   back; the stores' API (lib/flow/store.c): spec, alerts, limits, stats. */
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/flow/store.h"
#include "t.h"

static void set_end(struct pw_flow_end *e, const char *type, const char *ns, const char *name,
		    const char *aggr, const char *ip, int port)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->type, sizeof(e->type), "%s", type);
	snprintf(e->ns, sizeof(e->ns), "%s", ns);
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->name_aggr, sizeof(e->name_aggr), "%s", aggr);
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->port = port;
}

static void base(struct pw_flow *r)
{
	memset(r, 0, sizeof(*r));
	r->start_time = 1000;
	r->end_time = 1010;
	r->action = PW_FLOW_ALLOW;
	r->reporter = PW_FLOW_DST;
	set_end(&r->src, "wep", "dev", "frontend-abc12-xyz", "frontend-abc12-*", "10.0.1.5", 40000);
	set_end(&r->dst, "wep", "prod", "db-0", "db-*", "10.0.2.7", 5432);
	r->proto = 6;
	strcpy(r->svc_ns, "-");
	strcpy(r->svc_name, "-");
	strcpy(r->svc_port_name, "-");
	strcpy(r->policies, "default|knp.prod.allow-db|0|allow");
	strcpy(r->pending, "security|security.lockdown|-|deny");
}

static const struct {
	const char *ns, *pod, *from, *to, *policy;
	int action, port;
	int64_t since, until;
	bool want;
} cases[] = {
	{ .action = -1, .want = true },
	{ .ns = "dev", .action = -1, .want = true },
	{ .ns = "prod", .action = -1, .want = true },
	{ .ns = "kube-system", .action = -1, .want = false },
	{ .pod = "dev/frontend-abc12-xyz", .action = -1, .want = true },
	{ .pod = "dev/frontend-abc12-*", .action = -1, .want = true },
	{ .pod = "dev/frontend-*", .action = -1, .want = true }, /* a prefix of the pod */
	{ .pod = "dev/front", .action = -1, .want = false },
	{ .pod = "prod/db-0", .action = -1, .want = true },
	{ .pod = "dev/db-0", .action = -1, .want = false },
	{ .pod = "db-0", .action = -1, .want = true },
	{ .ns = "prod", .pod = "db-0", .action = -1, .want = true },
	{ .ns = "dev", .pod = "db-0", .action = -1, .want = false },
	{ .pod = "-", .action = -1, .want = false },
	{ .ns = "dev", .from = "frontend-abc12-xyz", .action = -1, .want = true },
	{ .ns = "prod", .from = "frontend-abc12-xyz", .action = -1, .want = false },
	{ .ns = "prod", .to = "db-0", .action = -1, .want = true },
	{ .from = "dev/frontend-abc12-xyz", .action = -1, .want = true },
	{ .from = "prod/db-0", .action = -1, .want = false },
	{ .to = "prod/db-0", .action = -1, .want = true },
	{ .to = "db-*", .action = -1, .want = true },
	{ .from = "10.0.1.0/24", .action = -1, .want = true },
	{ .from = "10.0.1.5", .action = -1, .want = true },
	{ .from = "10.0.1.6", .action = -1, .want = false },
	{ .to = "10.0.0.0/8", .action = -1, .want = true },
	{ .to = "2001:db8::/32", .action = -1, .want = false },
	{ .policy = "knp.prod.allow-db", .action = -1, .want = true },
	{ .policy = "default|knp.prod.allow-db", .action = -1, .want = true },
	{ .policy = "security|knp.prod.allow-db", .action = -1, .want = false },
	{ .policy = "security.lockdown", .action = -1, .want = true }, /* pending */
	{ .policy = "knp.prod", .action = -1, .want = false },
	{ .policy = "allow", .action = -1, .want = false },
	{ .action = PW_FLOW_ALLOW, .want = true },
	{ .action = PW_FLOW_DENY, .want = false },
	{ .action = -1, .port = 5432, .want = true },
	{ .action = -1, .port = 40000, .want = false },
	{ .action = -1, .since = 1010, .want = true },
	{ .action = -1, .since = 1011, .want = false },
	{ .action = -1, .until = 1000, .want = true },
	{ .action = -1, .until = 999, .want = false },
};

static void test_match(void)
{
	struct pw_flow r;
	base(&r);
	for (size_t i = 0; i < PW_ARRAY_SIZE(cases); i++) {
		struct pw_flow_filter f = { cases[i].ns,     cases[i].pod,    cases[i].from,
					    cases[i].to,     cases[i].policy, cases[i].action,
					    cases[i].port,   cases[i].since,  cases[i].until };
		T_CHECK(pw_flow_match(&f, &r) == cases[i].want, "match case %zu: want %d", i,
			cases[i].want);
	}
	/* an aggregated end: no address, no name; the workload still matches */
	set_end(&r.src, "wep", "dev", "-", "frontend-abc12-*", "", -1);
	struct pw_flow_filter f = { .from = "10.0.0.0/8", .action = -1 };
	T_CHECK(!pw_flow_match(&f, &r), "an aggregated address matches no CIDR");
	f.from = "dev/frontend-abc12-*";
	T_CHECK(pw_flow_match(&f, &r), "an aggregated end matches its workload");
	f.from = "dev/frontend-abc12-xyz";
	T_CHECK(!pw_flow_match(&f, &r), "an aggregated end matches no pod");
	T_CHECK(pw_flow_match(NULL, &r), "no filter matches");
}

static const struct {
	const char *in, *json;
} escapes[] = {
	{ "plain", "\"plain\"" },
	{ "a\"b", "\"a\\\"b\"" },
	{ "back\\slash", "\"back\\\\slash\"" },
	{ "tab\tnl\ncr\r", "\"tab\\tnl\\ncr\\r\"" },
	{ "\b\f", "\"\\b\\f\"" },
	{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\"" },
	{ "bad\xff", "\"bad\\u00ff\"" },	  /* not UTF-8 */
	{ "\xc0\xaf", "\"\\u00c0\\u00af\"" },	  /* overlong */
	{ "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"" }, /* a surrogate */
	{ "</script>", "\"</script>\"" },
	{ "", "\"\"" },
};

static void test_escape(void)
{
	struct pw_buf b;
	pw_buf_init(&b);
	for (size_t i = 0; i < PW_ARRAY_SIZE(escapes); i++) {
		pw_buf_reset(&b);
		pw_flow_json_str(&b, escapes[i].in, strlen(escapes[i].in));
		T_CHECK(!strcmp(b.s, escapes[i].json), "escape %zu: got %s, want %s", i, b.s,
			escapes[i].json);
	}
	/* nasty strings survive write, parse, write */
	struct pw_flow r, back;
	base(&r);
	strcpy(r.src.name, "we\"ird\\pod\t\x01\xc3\xa9");
	strcpy(r.svc_port_name, "p\"n");
	strcpy(r.dst.labels, "app=db,quote=a\"b,slash=c\\d");
	strcpy(r.dest_domains, "db.example,db2.example");
	r.src.port = -1;
	r.src.ip[0] = 0;
	r.proto = 47;
	r.bytes_out = UINT64_MAX;
	r.svc_port_num = 5432;
	pw_buf_reset(&b);
	pw_flow_json(&r, &b);
	struct pw_buf err, b2;
	pw_buf_init(&err);
	pw_buf_init(&b2);
	int rc = pw_flow_parse_json(b.s, b.len, &back, &err);
	T_CHECK(rc == 0, "parse back: %s", err.s ? err.s : "");
	T_CHECK(!strcmp(back.src.name, r.src.name), "name: %s", back.src.name);
	T_CHECK(!strcmp(back.dst.labels, r.dst.labels), "labels: %s", back.dst.labels);
	T_CHECK(back.src.port == -1 && !back.src.ip[0], "null port and ip");
	T_CHECK(back.proto == 47 && back.bytes_out == UINT64_MAX, "proto %d, bytes_out", back.proto);
	pw_flow_json(&back, &b2);
	T_CHECK(b.len == b2.len && !memcmp(b.s, b2.s, b.len), "write, parse, write:\n%s\n%s", b.s,
		b2.s);
	T_CHECK(strstr(b.s, "\"source_port\":null") && strstr(b.s, "\"proto\":\"47\"") &&
			strstr(b.s, "\"dest_labels\":[\"app=db\",\"quote=a\\\"b\",\"slash=c\\\\d\"]"),
		"fields: %s", b.s);
	/* JSON's surrogate pairs, and an escaped backslash before "ud83d" */
	static const char sp[] =
		"{\"start_time\": 1, \"end_time\": 2, \"action\": \"allow\", \"reporter\": "
		"\"src\", \"source_name\": \"\\ud83d\\udc33x\\u00e9\", \"dest_name\": "
		"\"\\\\ud83d\\\\udc33\"}";
	pw_buf_reset(&err);
	rc = pw_flow_parse_json(sp, strlen(sp), &back, &err);
	T_CHECK(rc == 0, "surrogates: %s", err.s ? err.s : "");
	T_CHECK(!strcmp(back.src.name, "\xf0\x9f\x90\xb3x\xc3\xa9"), "surrogates: %s", back.src.name);
	T_CHECK(!strcmp(back.dst.name, "\\ud83d\\udc33"), "escaped backslashes: %s", back.dst.name);
	pw_buf_release(&b);
	pw_buf_release(&b2);
	pw_buf_release(&err);
}

static const struct {
	const char *line;
	int col;
	const char *msg;
} bad[] = {
	{ "", 1, "want a JSON object" },
	{ "  [1]", 3, "want a JSON object" },
	{ "{\"start_time\": 1,, }", 18, "not JSON" },
	{ "{\"start_time\": 1, \"end_time\": 2, \"action\": \"allow\"}", 1, "no reporter" },
	{ "{\"start_time\": \"1\", \"end_time\": 2, \"action\": \"allow\", \"reporter\": \"src\"}", 16,
	  "start_time: want a number" },
	{ "{\"start_time\": 3, \"end_time\": 2, \"action\": \"allow\", \"reporter\": \"src\"}", 1,
	  "end_time is before start_time" },
	{ "{\"start_time\": 1, \"end_time\": 2, \"action\": \"allow\", \"reporter\": \"src\", "
	  "\"source_ip\": \"10.0.0.300\"}",
	  85, "source_ip: not an IPv4 or IPv6 address" },
	{ "{\"start_time\": 1, \"end_time\": 2, \"action\": \"allow\", \"reporter\": \"both\"}", 65,
	  "reporter: want" },
	{ "{\"start_time\": 1, \"end_time\": 2, \"action\": \"allow\", \"reporter\": \"src\", "
	  "\"policies\": [\"a;b\"]}",
	  85, "policies: an item may not" },
	{ "{\"start_time\": 1, \"end_time\": 2, \"action\": \"allow\", \"reporter\": \"src\"} {}", 1,
	  "" },
};

static void test_parse_errors(void)
{
	struct pw_buf err;
	struct pw_flow r;
	pw_buf_init(&err);
	for (size_t i = 0; i < PW_ARRAY_SIZE(bad); i++) {
		int col = 0;
		pw_buf_reset(&err);
		int rc = pw_flow_parse_json_at(bad[i].line, strlen(bad[i].line), &r, &col, &err);
		T_CHECK(rc < 0, "bad %zu: accepted", i);
		T_CHECK(err.s && strstr(err.s, bad[i].msg), "bad %zu: %s", i, err.s ? err.s : "");
		if (*bad[i].msg)
			T_CHECK(col == bad[i].col, "bad %zu: column %d, want %d", i, col, bad[i].col);
	}
	pw_buf_release(&err);
}

static void test_spec(void)
{
	struct pw_flowstore_opts o;
	T_CHECK(pw_flowstore_spec("sqlite:/x/y", &o) == 0 && o.kind == PW_FLOWSTORE_SQLITE &&
			!strcmp(o.path, "/x/y"),
		"sqlite:");
	T_CHECK(pw_flowstore_spec("jsonl:/x/y", &o) == 0 && o.kind == PW_FLOWSTORE_JSONL, "jsonl:");
	T_CHECK(pw_flowstore_spec("/tmp", &o) == 0 && o.kind == PW_FLOWSTORE_JSONL, "a directory");
	T_CHECK(pw_flowstore_spec("a/flows.jsonl", &o) == 0 && o.kind == PW_FLOWSTORE_JSONL,
		"*.jsonl");
	T_CHECK(pw_flowstore_spec("flows.db", &o) == 0 && o.kind == PW_FLOWSTORE_SQLITE, "a file");
	T_CHECK(pw_flowstore_spec("sqlite:", &o) < 0 && pw_flowstore_spec("", &o) < 0, "empty");
}

struct got {
	int64_t t[16];
	size_t n;
};

static int got_flow(void *arg, const struct pw_flow *r)
{
	struct got *g = arg;
	if (g->n < 16)
		g->t[g->n++] = r->end_time;
	return 0;
}

static int got_alert(void *arg, const struct pw_alert_event *a)
{
	struct got *g = arg;
	if (g->n < 16)
		g->t[g->n++] = a->time;
	return 0;
}

static void test_store(enum pw_flowstore_kind kind, const char *path)
{
	struct pw_buf err;
	pw_buf_init(&err);
	struct pw_flowstore_opts o = { .kind = kind, .path = path, .manual_retain = true };
	struct pw_flowstore *s = pw_flowstore_open(&o, &err);
	T_CHECK(s, "open %s: %s", path, err.s ? err.s : "");
	if (!s)
		return;
	struct pw_flow v[5];
	for (int i = 0; i < 5; i++) {
		base(&v[i]);
		/* out of order: the query sorts by end_time */
		v[i].end_time = 2000 + (i * 3) % 5;
		v[i].start_time = v[i].end_time - 1;
	}
	T_CHECK(pw_flowstore_add(s, v, 5, &err) == 0, "add: %s", err.s ? err.s : "");
	struct got g = { 0 };
	T_CHECK(pw_flowstore_query(s, NULL, 0, false, got_flow, &g, &err) == 0, "query");
	T_CHECK(g.n == 5 && g.t[0] == 2000 && g.t[4] == 2004, "order: %zu", g.n);
	g.n = 0;
	pw_flowstore_query(s, NULL, 2, true, got_flow, &g, &err);
	T_CHECK(g.n == 2 && g.t[0] == 2003 && g.t[1] == 2004, "tail 2: %zu", g.n);
	g.n = 0;
	pw_flowstore_query(s, NULL, 2, false, got_flow, &g, &err);
	T_CHECK(g.n == 2 && g.t[0] == 2000 && g.t[1] == 2001, "head 2: %zu", g.n);
	struct pw_alert_event a = { .time = 3000, .severity = 100, .value = 2.5 };
	strcpy(a.name, "scan");
	strcpy(a.summary, "a \"scan\"\nfrom dev");
	strcpy(a.record, "{\"count\":2}");
	T_CHECK(pw_flowstore_add_alert(s, &a, &err) == 0, "add alert: %s", err.s ? err.s : "");
	a.time = 3100;
	pw_flowstore_add_alert(s, &a, &err);
	g.n = 0;
	T_CHECK(pw_flowstore_alerts(s, 3050, got_alert, &g, &err) == 0 && g.n == 1 &&
			g.t[0] == 3100,
		"alerts since: %zu", g.n);
	struct pw_flowstore_stats st;
	pw_flowstore_stats(s, &st);
	T_CHECK(st.written == 5 && st.removed == 0 && st.bytes > 0, "stats: %llu written",
		(unsigned long long)st.written);
	/* retention by age: as of 2010, 8 s: before 2002 goes, and the alerts
	   are younger */
	pw_flowstore_close(s);
	o.max_age = 8;
	s = pw_flowstore_open(&o, &err);
	T_CHECK(pw_flowstore_retain(s, 2010, &err) == 2, "retain: %s", err.s ? err.s : "");
	pw_flowstore_stats(s, &st);
	T_CHECK(st.removed == 2, "stats: removed %llu", (unsigned long long)st.removed);
	pw_flowstore_close(s);
	/* read-only: reads, and refuses to write */
	o.read_only = true;
	o.max_age = 0;
	s = pw_flowstore_open(&o, &err);
	T_CHECK(s, "open read-only: %s", err.s ? err.s : "");
	if (s) {
		g.n = 0;
		pw_flowstore_query(s, NULL, 0, false, got_flow, &g, &err);
		T_CHECK(g.n == 3, "read-only query: %zu", g.n);
		g.n = 0;
		pw_flowstore_alerts(s, 0, got_alert, &g, &err);
		T_CHECK(g.n == 2, "read-only alerts: %zu", g.n);
		pw_buf_reset(&err);
		T_CHECK(pw_flowstore_add(s, v, 1, &err) < 0 && strstr(err.s, "read-only"),
			"read-only add");
		pw_flowstore_close(s);
	}
	pw_buf_release(&err);
}

int main(void)
{
	char dir[] = "/tmp/pw-test-flow.XXXXXX";
	test_match();
	test_escape();
	test_parse_errors();
	test_spec();
	if (mkdtemp(dir)) {
		char p[64];
		snprintf(p, sizeof(p), "%s/f.db", dir);
		test_store(PW_FLOWSTORE_SQLITE, p);
		snprintf(p, sizeof(p), "%s/jl", dir);
		test_store(PW_FLOWSTORE_JSONL, p);
		char cmd[96];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			printf("could not remove %s\n", dir);
	}
	return T_DONE("flow");
}
