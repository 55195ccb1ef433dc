// SPDX-License-Identifier: Apache-2.0
/*
 * The agent (lib/agent/agent.h): the poll loop, the change log, the
 * metrics and the API's handlers.  One thread: a change and a request
 * never run at the same time, so concurrent clients are serialised.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../explain.h"
#include "../matrix-out.h"
#include "../objects.h"
#include "../flow/log.h"
#include "../source/source.h"
#include "agent.h"
#include "http.h"

#define LOG_KEEP 1000 /* change log entries kept */

struct change {
	uint64_t seq;
	double wall; /* seconds since the epoch */
	enum pw_commit_kind kind;
	char *what;   /* the documents, comma-separated */
	char *errors; /* rejected: the diagnostics, one per line */
	char *why;    /* rebuild: why */
	uint32_t objects;
	struct pw_commit c;
};

/* Programming latency buckets, seconds. */
static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02,
				  0.05,	  0.1,	 0.25,	 0.5,	1,    2.5 };
#define NBUCKETS PW_ARRAY_SIZE(buckets)

struct agent {
	const struct pw_agent_opts *o;
	struct pw_world w;
	struct pw_dp dp;
	bool have_dp;
	struct pw_source src;
	struct pw_http *http;
	bool ready;
	struct change *log;
	size_t nlog, log_head; /* ring */
	uint64_t seq;
	uint64_t applied, rejected, incremental, rebuilds;
	uint64_t hist[NBUCKETS + 1];
	double hist_sum;
	uint64_t hist_count;
	struct pw_flowlog *flows; /* NULL: no flow log */
};

static void logf_(struct agent *a, const char *fmt, ...) PW_PRINTF(2, 3);
static void logf_(struct agent *a, const char *fmt, ...)
{
	if (!a->o->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s = pw_xvasprintf(fmt, ap);
	va_end(ap);
	a->o->log(a->o->log_arg, s);
	free(s);
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void change_free(struct change *c)
{
	free(c->what);
	free(c->errors);
	free(c->why);
}

static const char *kind_name(enum pw_commit_kind k)
{
	switch (k) {
	case PW_COMMIT_INCREMENTAL:
		return "incremental";
	case PW_COMMIT_REBUILD:
		return "rebuild";
	case PW_COMMIT_REJECTED:
		return "rejected";
	default:
		return "none";
	}
}

/* Record a commit: the change log, the counters, the agent's log. */
static void record(struct agent *a, const char *what, const struct pw_commit *c,
		   const struct pw_diags *d)
{
	if (c->kind == PW_COMMIT_NONE)
		return;
	if (!a->log)
		a->log = pw_xcalloc(LOG_KEEP, sizeof(*a->log));
	struct change *e;
	if (a->nlog < LOG_KEEP) {
		e = &a->log[(a->log_head + a->nlog++) % LOG_KEEP];
	} else {
		e = &a->log[a->log_head];
		change_free(e);
		a->log_head = (a->log_head + 1) % LOG_KEEP;
	}
	memset(e, 0, sizeof(*e));
	e->seq = ++a->seq;
	e->wall = wall_now();
	e->kind = c->kind;
	e->what = pw_xstrdup(what);
	e->why = c->why_rebuild ? pw_xstrdup(c->why_rebuild) : NULL;
	e->objects = c->objects_changed;
	e->c = *c;
	struct pw_buf b, line;
	pw_buf_init(&b);
	pw_buf_init(&line);
	for (size_t i = 0; i < d->n; i++) {
		pw_buf_reset(&line);
		pw_diag_format(&d->v[i], &line);
		/* the change log keeps the first errors (the log has all) */
		if (c->kind == PW_COMMIT_REJECTED && d->v[i].sev == PW_ERROR &&
		    b.len < 1024) {
			pw_buf_puts(&b, line.s);
			pw_buf_putc(&b, '\n');
		}
		logf_(a, "%s", line.s);
	}
	e->errors = b.s;
	pw_buf_release(&line);
	if (c->kind == PW_COMMIT_REJECTED) {
		a->rejected++;
		logf_(a, "change %llu rejected (%s): the previous state stays in force",
		      (unsigned long long)e->seq, what);
		return;
	}
	a->applied++;
	if (c->kind == PW_COMMIT_INCREMENTAL)
		a->incremental++;
	else
		a->rebuilds++;
	double s = c->ms_total / 1e3;
	size_t k = 0;
	while (k < NBUCKETS && s > buckets[k])
		k++;
	a->hist[k]++;
	a->hist_sum += s;
	a->hist_count++;
	logf_(a,
	      "change %llu in force in %.2f ms (%s%s%s; load %.2f, engine %.2f, render %.2f, "
	      "dataplane %.2f ms; %u created, %u changed, %u deleted): %s",
	      (unsigned long long)e->seq, c->ms_total, kind_name(c->kind),
	      c->why_rebuild ? ": " : "", c->why_rebuild ? c->why_rebuild : "",
	      c->ms_load, c->ms_engine, c->ms_render, c->ms_dataplane,
	      c->delta.created, c->delta.changed, c->delta.deleted, what);
}

/* Commit what is staged; names says what for the log. */
static int commit(struct agent *a, const char *what)
{
	struct pw_diags d;
	struct pw_commit c;
	pw_diags_init(&d);
	int rc = pw_world_commit(&a->w, &d, &c);
	record(a, what, &c, &d);
	if (rc == 0 && c.kind != PW_COMMIT_NONE && a->o->after_commit)
		a->o->after_commit(a->o->hook_arg, &a->w);
	if (rc == 0 && a->w.loaded)
		a->ready = true;
	pw_diags_release(&d);
	return rc;
}

static char *pending_names(const struct pw_world *w)
{
	struct pw_buf b;
	pw_buf_init(&b);
	for (size_t i = 0; i < w->npending; i++) {
		if (i == 5) {
			pw_buf_printf(&b, ", and %zu more", w->npending - 5);
			break;
		}
		pw_buf_printf(&b, "%s%s%s", i ? ", " : "", w->pending[i].bytes ? "" : "-",
			      w->pending[i].name);
	}
	return b.s ? b.s : pw_xstrdup("");
}

/* ---- JSON --------------------------------------------------------------- */

static void jstr(struct pw_buf *b, const char *s)
{
	pw_buf_putc(b, '"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			pw_buf_printf(b, "\\%c", ch);
		else if (ch == '\n')
			pw_buf_puts(b, "\\n");
		else if (ch < 0x20)
			pw_buf_printf(b, "\\u%04x", ch);
		else
			pw_buf_putc(b, (char)ch);
	}
	pw_buf_putc(b, '"');
}

/* ---- handlers ----------------------------------------------------------- */

static int h_changes(struct agent *a, const struct pw_http_req *r, struct pw_buf *out)
{
	const char *since = pw_http_arg(r, "since");
	unsigned long long from = since ? strtoull(since, NULL, 10) : 0;
	pw_buf_puts(out, "[");
	bool first = true;
	for (size_t i = 0; i < a->nlog; i++) {
		const struct change *e = &a->log[(a->log_head + i) % LOG_KEEP];
		if (e->seq <= from)
			continue;
		pw_buf_printf(out, "%s\n  {\"seq\": %llu, \"time\": %.6f, \"result\": ",
			      first ? "" : ",", (unsigned long long)e->seq, e->wall);
		first = false;
		jstr(out, e->kind == PW_COMMIT_REJECTED ? "rejected" : "applied");
		pw_buf_puts(out, ", \"kind\": ");
		jstr(out, kind_name(e->kind));
		pw_buf_puts(out, ", \"documents\": ");
		jstr(out, e->what);
		if (e->why) {
			pw_buf_puts(out, ", \"why\": ");
			jstr(out, e->why);
		}
		if (e->kind == PW_COMMIT_REJECTED) {
			pw_buf_puts(out, ", \"errors\": ");
			jstr(out, e->errors ? e->errors : "");
		} else {
			pw_buf_printf(out,
				      ", \"objects\": %u, \"enforced_ms\": %.3f, \"load_ms\": %.3f, "
				      "\"engine_ms\": %.3f, \"render_ms\": %.3f, \"dataplane_ms\": %.3f, "
				      "\"created\": %u, \"changed\": %u, \"deleted\": %u",
				      e->objects, e->c.ms_total, e->c.ms_load, e->c.ms_engine,
				      e->c.ms_render, e->c.ms_dataplane, e->c.delta.created,
				      e->c.delta.changed, e->c.delta.deleted);
		}
		pw_buf_puts(out, "}");
	}
	pw_buf_puts(out, first ? "]\n" : "\n]\n");
	return 200;
}

static int h_policies(struct agent *a, struct pw_buf *out)
{
	const struct pw_engine *e = a->w.e;
	pw_buf_puts(out, "[");
	bool first = true;
	for (uint32_t k = 0; e && k < e->npols; k++) {
		const struct pw_gpolicy *g = &e->pols[k];
		if (!strcmp(g->name, "(deleted)"))
			continue;
		pw_buf_printf(out, "%s\n  {\"policy\": ", first ? "" : ",");
		first = false;
		jstr(out, g->display);
		pw_buf_puts(out, ", \"tier\": ");
		jstr(out, e->tiers[g->tier].name);
		pw_buf_printf(out, ", \"ingress_rules\": %u, \"egress_rules\": %u, \"file\": ",
			      g->nrules[PW_INGRESS], g->nrules[PW_EGRESS]);
		jstr(out, g->pos.file ? g->pos.file : "");
		pw_buf_printf(out, ", \"line\": %d}", g->pos.line);
	}
	pw_buf_puts(out, first ? "]\n" : "\n]\n");
	return 200;
}

static void metric(struct pw_buf *b, const char *name, const char *type,
		   const char *help)
{
	pw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int h_metrics(struct agent *a, struct pw_buf *out)
{
	metric(out, "podwall_ready", "gauge", "1 after the first full sync");
	pw_buf_printf(out, "podwall_ready %d\n", a->ready);
	metric(out, "podwall_changes_total", "counter",
	       "Changes committed (applied) or refused (rejected)");
	pw_buf_printf(out, "podwall_changes_total{result=\"applied\"} %llu\n",
		      (unsigned long long)a->applied);
	pw_buf_printf(out, "podwall_changes_total{result=\"rejected\"} %llu\n",
		      (unsigned long long)a->rejected);
	metric(out, "podwall_commits_total", "counter",
	       "Applied changes by how they were applied");
	pw_buf_printf(out, "podwall_commits_total{kind=\"incremental\"} %llu\n",
		      (unsigned long long)a->incremental);
	pw_buf_printf(out, "podwall_commits_total{kind=\"rebuild\"} %llu\n",
		      (unsigned long long)a->rebuilds);
	metric(out, "podwall_programming_seconds", "histogram",
	       "From a change read from the source until it is in force in the dataplane");
	uint64_t cum = 0;
	for (size_t k = 0; k < NBUCKETS; k++) {
		cum += a->hist[k];
		pw_buf_printf(out, "podwall_programming_seconds_bucket{le=\"%g\"} %llu\n",
			      buckets[k], (unsigned long long)cum);
	}
	cum += a->hist[NBUCKETS];
	pw_buf_printf(out, "podwall_programming_seconds_bucket{le=\"+Inf\"} %llu\n",
		      (unsigned long long)cum);
	pw_buf_printf(out, "podwall_programming_seconds_sum %.6f\n", a->hist_sum);
	pw_buf_printf(out, "podwall_programming_seconds_count %llu\n",
		      (unsigned long long)a->hist_count);
	const struct pw_cluster *c = a->w.c;
	metric(out, "podwall_objects", "gauge", "Objects in force, by kind");
	if (c) {
		uint32_t pols = 0, cpols = 0, apols = 0;
		for (uint32_t i = 0; i < c->npols; i++)
			pols += !c->pols[i].deleted;
		for (uint32_t i = 0; i < c->ncpols; i++)
			cpols += !c->cpols[i].deleted;
		for (uint32_t i = 0; i < c->napols; i++)
			apols += !c->apols[i].deleted;
		pw_buf_printf(out,
			      "podwall_objects{kind=\"namespace\"} %u\npodwall_objects{kind=\"pod\"} %u\n"
			      "podwall_objects{kind=\"service\"} %u\n"
			      "podwall_objects{kind=\"networkpolicy\"} %u\n"
			      "podwall_objects{kind=\"calico_policy\"} %u\n"
			      "podwall_objects{kind=\"admin_policy\"} %u\n"
			      "podwall_objects{kind=\"tier\"} %u\npodwall_objects{kind=\"networkset\"} %u\n",
			      c->nns, c->npods, c->nsvcs, pols, cpols, apols, c->ntiers,
			      c->nnetsets);
	}
	metric(out, "podwall_documents", "gauge", "Documents of the source in force");
	pw_buf_printf(out, "podwall_documents %zu\n", a->w.ndocs);
	const struct pw_dp_delta *d = NULL;
	for (size_t i = a->nlog; i-- > 0;) {
		const struct change *e = &a->log[(a->log_head + i) % LOG_KEEP];
		if (e->kind != PW_COMMIT_REJECTED) {
			d = &e->c.delta;
			break;
		}
	}
	if (d && a->have_dp) {
		metric(out, "podwall_dataplane_rules", "gauge", "Rules in the dataplane's table");
		pw_buf_printf(out, "podwall_dataplane_rules %u\n", d->rules);
		metric(out, "podwall_dataplane_sets", "gauge", "Sets in the dataplane's table");
		pw_buf_printf(out, "podwall_dataplane_sets %u\n", d->sets);
		metric(out, "podwall_dataplane_chains", "gauge", "Chains in the dataplane's table");
		pw_buf_printf(out, "podwall_dataplane_chains %u\n", d->chains);
		metric(out, "podwall_dataplane_last_transaction_bytes", "gauge",
		       "Size of the last transaction sent to the dataplane");
		pw_buf_printf(out, "podwall_dataplane_last_transaction_bytes %zu\n", d->bytes);
	}
	metric(out, "podwall_state_bytes", "gauge",
	       "Memory held by the cluster, engine and matrix arenas");
	pw_buf_printf(out, "podwall_state_bytes %zu\n", pw_world_bytes(&a->w));
	if (a->flows) {
		/* what the kernel reported up to now counts */
		pw_flowlog_read(a->flows, a->w.e);
		pw_flowlog_metrics(a->flows, out);
	}
	return 200;
}

static const char *type_of(enum pw_format f)
{
	return f == PW_FORMAT_JSON ? "application/json"
	       : f == PW_FORMAT_YAML ? "application/yaml"
				     : "text/plain; charset=utf-8";
}

/* /v1/eval?src=&dst=&port=[&namespace=][&output=]: podwall eval's answer */
static int h_eval(struct agent *a, const struct pw_http_req *r, struct pw_buf *out,
		  const char **type, const char **exit)
{
	const char *fmt = pw_http_arg(r, "output");
	int f = pw_format_parse(fmt ? fmt : "json");
	struct pw_eval_req q = { pw_http_arg(r, "src"), pw_http_arg(r, "dst"),
				 pw_http_arg(r, "port"), pw_http_arg(r, "namespace"),
				 (enum pw_format)f };
	if (!q.src || !q.dst || !q.port) {
		pw_buf_puts(out, "give src, dst and port\n");
		return 400;
	}
	if (f != PW_FORMAT_TABLE && f != PW_FORMAT_JSON && f != PW_FORMAT_YAML) {
		pw_buf_puts(out, "output: table, json or yaml\n");
		return 400;
	}
	struct pw_view v;
	struct pw_buf err;
	pw_view_init(&v, a->w.c, a->w.e);
	v.reach = a->w.reach;
	pw_buf_init(&err);
	struct pw_out o = pw_out_buf(out);
	int rc = pw_eval_write(&v, &q, &o, &err);
	int status = 200;
	if (rc == PW_EVAL_ERROR) {
		pw_buf_reset(out);
		pw_buf_printf(out, "%s\n", err.s ? err.s : "error");
		status = 400;
	} else {
		*type = type_of(q.fmt);
		*exit = rc == PW_EVAL_ALLOW ? "0" : "1";
	}
	pw_buf_release(&err);
	pw_view_release(&v);
	return status;
}

/* /v1/matrix[?namespace=][&output=][&services=1]: podwall matrix's answer;
   the fast engine is built on the first ask and kept up to date */
static int h_matrix(struct agent *a, const struct pw_http_req *r, struct pw_buf *out,
		    const char **type)
{
	const char *fmt = pw_http_arg(r, "output"), *svc = pw_http_arg(r, "services");
	int f = pw_format_parse(fmt ? fmt : "json");
	if (f < 0) {
		pw_buf_puts(out, "output: table, csv, json, yaml or md\n");
		return 400;
	}
	struct pw_matrix_req q = { (enum pw_format)f, pw_http_arg(r, "namespace"),
				   svc && !strcmp(svc, "1"), NULL, 0 };
	pw_world_want_reach(&a->w);
	struct pw_view v;
	struct pw_buf err;
	pw_view_init(&v, a->w.c, a->w.e);
	v.reach = a->w.reach;
	pw_buf_init(&err);
	struct pw_out o = pw_out_buf(out);
	int status = 200;
	if (pw_matrix_write(&v, &q, &o, &err) < 0) {
		pw_buf_reset(out);
		pw_buf_printf(out, "%s\n", err.s ? err.s : "error");
		status = 400;
	} else {
		*type = type_of(q.fmt);
	}
	pw_buf_release(&err);
	pw_view_release(&v);
	return status;
}

static bool is(const struct pw_http_req *r, const char *method, const char *path)
{
	return !strcmp(r->method, method) && !strcmp(r->path, path);
}

static int h_objects_change(struct agent *a, const struct pw_http_req *r,
			    bool del, struct pw_buf *out);
static int h_objects_get(struct agent *a, const struct pw_http_req *r,
			 struct pw_buf *out, const char **type);

static int flow_line(void *arg, const struct pw_flow *r)
{
	struct pw_buf *out = arg;
	pw_flow_json(r, out);
	pw_buf_putc(out, '\n');
	return 0;
}

/* GET /v1/flows[?since=UNIX][&last=N]: stored records as JSON lines,
   oldest first (the command line filters). */
static int h_flows(struct agent *a, const struct pw_http_req *r, struct pw_buf *out,
		   const char **type)
{
	struct pw_flowstore *st = a->flows ? pw_flowlog_store(a->flows) : NULL;
	if (!st) {
		pw_buf_puts(out, "no flow log: start the agent with --flows\n");
		return 404;
	}
	/* what is held for the interval is flushed first */
	struct pw_buf err;
	pw_buf_init(&err);
	pw_flowlog_read(a->flows, a->w.e);
	pw_flowlog_tick(a->flows, (int64_t)time(NULL), true, &err);
	struct pw_flow_filter f = { .action = -1 };
	const char *since = pw_http_arg(r, "since"), *last = pw_http_arg(r, "last");
	if (since)
		f.since = strtoll(since, NULL, 10);
	size_t limit = last ? strtoul(last, NULL, 10) : 0;
	int rc = pw_flowstore_query(st, &f, limit, limit > 0, flow_line, out, &err);
	if (rc < 0) {
		pw_buf_reset(out);
		pw_buf_printf(out, "%s\n", err.s ? err.s : "the flow store cannot be read");
		pw_buf_release(&err);
		return 500;
	}
	pw_buf_release(&err);
	*type = "application/x-ndjson";
	return 200;
}

static int handle(void *ctx, const struct pw_http_req *r, struct pw_buf *out,
		  const char **type, const char **exit)
{
	struct agent *a = ctx;
	if (is(r, "GET", "/healthz")) {
		pw_buf_puts(out, "ok\n");
		return 200;
	}
	if (is(r, "GET", "/readyz")) {
		pw_buf_puts(out, a->ready ? "ok\n" : "not ready: no full sync yet\n");
		return a->ready ? 200 : 503;
	}
	if (is(r, "GET", "/metrics")) {
		*type = "text/plain; version=0.0.4; charset=utf-8";
		return h_metrics(a, out);
	}
	if (is(r, "GET", "/v1/flows"))
		return h_flows(a, r, out, type);
	if (!a->ready && strncmp(r->path, "/v1/changes", 11)) {
		pw_buf_puts(out, "not ready: no full sync yet\n");
		return 503;
	}
	int status = 404;
	if (is(r, "GET", "/v1/changes")) {
		*type = "application/json";
		status = h_changes(a, r, out);
	} else if (is(r, "GET", "/v1/policies")) {
		*type = "application/json";
		status = h_policies(a, out);
	} else if (is(r, "GET", "/v1/eval")) {
		status = h_eval(a, r, out, type, exit);
	} else if (is(r, "GET", "/v1/matrix")) {
		status = h_matrix(a, r, out, type);
	} else if (is(r, "GET", "/v1/state")) {
		/* what is in force, in brief: agents that hold the same
		   documents give the same digest */
		*type = "application/json";
		uint64_t h = 0x7374617465;
		for (size_t i = 0; i < a->w.ndocs; i++) {
			h = pw_hash_bytes(a->w.docs[i].name, strlen(a->w.docs[i].name), h);
			h = pw_hash_bytes(&a->w.docs[i].hash, sizeof(a->w.docs[i].hash), h);
		}
		pw_buf_printf(out,
			      "{\"documents\": %zu, \"digest\": \"%016llx\", \"generation\": %llu}\n",
			      a->w.ndocs, (unsigned long long)h,
			      (unsigned long long)a->w.generation);
		status = 200;
	} else if (is(r, "GET", "/v1/dataplane")) {
		/* what the dataplane holds, as commands that create it */
		if (a->have_dp && a->dp.ops->dump)
			a->dp.ops->dump(&a->dp, out);
		status = 200;
	} else if (is(r, "POST", "/v1/rebuild")) {
		struct pw_diags d;
		struct pw_commit c;
		pw_diags_init(&d);
		int rc = pw_world_rebuild(&a->w, &d, &c);
		record(a, "rebuild asked", &c, &d);
		pw_diags_release(&d);
		pw_buf_printf(out, "%s in %.2f ms\n", rc ? "rejected" : "rebuilt", c.ms_total);
		status = rc ? 422 : 200;
	} else if (is(r, "POST", "/v1/apply")) {
		status = h_objects_change(a, r, false, out);
	} else if (is(r, "POST", "/v1/delete")) {
		status = h_objects_change(a, r, true, out);
	} else if (is(r, "GET", "/v1/objects")) {
		status = h_objects_get(a, r, out, type);
	} else {
		pw_buf_printf(out, "no such endpoint: %s %s\n", r->method, r->path);
	}
	return status;
}

/* ---- objects: apply, delete, get ------------------------------------------- */

/*
 * A request's files: "FILE <name length> <content length>\n<name><content>"
 * one after another, so that each keeps its own name and positions.
 */
static int request_objects(const char *body, size_t len, const char *ns,
			   struct pw_objects *out, struct pw_diags *d)
{
	int rc = 0;
	size_t off = 0;
	while (off < len) {
		unsigned long nl, cl;
		int used = 0;
		const char *p = body + off;
		const char *eol = memchr(p, '\n', len - off);
		if (!eol || sscanf(p, "FILE %lu %lu%n", &nl, &cl, &used) != 2 ||
		    p + used != eol || nl > len || cl > len ||
		    (size_t)(eol + 1 - body) + nl + cl > len) {
			struct pw_pos at = { "<request>", 1, 1 };
			pw_error(d, at, "a malformed request");
			rc = -1;
			break;
		}
		char *name = pw_xmalloc(nl + 1);
		memcpy(name, eol + 1, nl);
		name[nl] = 0;
		const unsigned char *content = (const unsigned char *)eol + 1 + nl;
		if (pw_objects_split(out, pw_arena_strdup(&out->files, name), ns, content,
				     cl, d) < 0)
			rc = -1;
		free(name);
		off = (size_t)(eol + 1 - body) + nl + cl;
	}
	return rc;
}

static void doc_copy(struct pw_world_doc *to, const char *name, const unsigned char *bytes,
		     size_t len)
{
	memset(to, 0, sizeof(*to));
	to->name = pw_xstrdup(name);
	if (bytes) {
		to->bytes = pw_xmalloc(len + 1);
		memcpy(to->bytes, bytes, len);
		to->len = len;
	}
}

static const struct pw_world_doc *doc_in_force(const struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->w.ndocs; i++)
		if (!strcmp(a->w.docs[i].name, name))
			return &a->w.docs[i];
	return NULL;
}

/* The document that holds object key in the world, or NULL. */
static const char *doc_of(const struct agent *a, const char *key)
{
	const struct pw_cluster *c = a->w.c;
	const struct pw_pos *at = c ? pw_strmap_get(&c->objects, key) : NULL;
	return at ? at->file : NULL;
}

/* name's bytes in force without the document of object key (a multi-object
   file an object moves out of); *empty when nothing is left. */
static void without(const struct agent *a, const char *name, const char *key,
		    struct pw_buf *rest, bool *empty)
{
	const struct pw_world_doc *doc = NULL;
	for (size_t i = 0; i < a->w.ndocs; i++)
		if (!strcmp(a->w.docs[i].name, name))
			doc = &a->w.docs[i];
	const struct pw_pos *at = pw_strmap_get(&a->w.c->objects, key);
	*empty = true;
	if (!doc || !at)
		return;
	struct pw_span *sp;
	size_t n = pw_split_documents(doc->bytes, doc->len, &sp);
	int line = 1;
	size_t x = 0;
	for (size_t i = 0; i < n; i++) {
		/* the document's lines: [first, first of the next) */
		for (; x < sp[i].start; x++)
			line += doc->bytes[x] == '\n';
		int first = line, next = line;
		for (size_t y = sp[i].start; y < sp[i].end; y++)
			next += doc->bytes[y] == '\n';
		if (at->line >= first && (at->line < next || i + 1 == n))
			continue; /* the object's document */
		const unsigned char *p = doc->bytes + sp[i].start;
		size_t len = sp[i].end - sp[i].start;
		if (len >= 3 && !memcmp(p, "---", 3)) {
			p += 3;
			len -= 3;
		}
		bool blank = true;
		for (size_t y = 0; y < len && blank; y++)
			blank = p[y] == ' ' || p[y] == '\n' || p[y] == '\t' || p[y] == '\r';
		if (blank)
			continue;
		*empty = false;
		pw_buf_puts(rest, "---");
		pw_buf_add(rest, (const char *)p, len);
		pw_buf_putc(rest, '\n');
	}
	free(sp);
}

static int h_objects_change(struct agent *a, const struct pw_http_req *r,
			    bool del, struct pw_buf *out)
{
	const char *ns = pw_http_arg(r, "namespace");
	struct pw_diags d;
	pw_diags_init(&d);
	struct pw_objects ob;
	pw_objects_init(&ob);
	const struct pw_object *objs = NULL;
	size_t n = 0;
	int status = 200;
	if (!a->src.ops->write) {
		/* nothing is staged */
		pw_buf_printf(out, "source %s: read-only, change %s\n", a->src.ops->scheme,
			      !strcmp(a->src.ops->scheme, "kube") ? "the cluster with kubectl"
								 : "it where it comes from");
		status = 405;
		goto done;
	}
	int split = request_objects(r->body, r->body_len, ns, &ob, &d);
	objs = ob.v;
	n = ob.n;
	if (split < 0) {
		for (size_t i = 0; i < d.n; i++) {
			pw_diag_format(&d.v[i], out);
			pw_buf_putc(out, '\n');
		}
		status = 422;
		goto done;
	}
	/* what changes: staged in the world first, written to the source
	   only once the world took it */
	pw_world_discard(&a->w);
	struct pw_buf *names = pw_xcalloc(n + 1, sizeof(*names));
	size_t missing = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pw_object *o = &objs[i];
		pw_buf_init(&names[i]);
		a->src.ops->object_name(&a->src, o->group, o->kind, o->ns, o->name,
					&names[i]);
		const char *at = doc_of(a, o->key);
		if (del && !at) {
			pw_buf_printf(out, "%s %s%s%s not found\n", o->kind, o->ns,
				      *o->ns ? "/" : "", o->name);
			missing++;
			continue;
		}
		if (at && strcmp(at, names[i].s)) {
			/* it moves out of another document */
			struct pw_buf rest;
			bool empty;
			pw_buf_init(&rest);
			without(a, at, o->key, &rest, &empty);
			if (empty)
				pw_world_remove(&a->w, at);
			else
				pw_world_put(&a->w, at, (unsigned char *)rest.s, rest.len);
			pw_buf_release(&rest);
		}
		if (del)
			pw_world_remove(&a->w, names[i].s);
		else
			pw_world_put(&a->w, names[i].s, o->bytes, o->len);
	}
	if (missing && del && missing == n) {
		status = 404;
		pw_world_discard(&a->w);
	} else {
		/* remember what goes to the source before the commit adopts it,
		   and what it replaces (old: put back if the source refuses) */
		size_t np = a->w.npending;
		struct pw_world_doc *p = pw_xcalloc(np + 1, sizeof(*p));
		struct pw_world_doc *old = pw_xcalloc(np + 1, sizeof(*old));
		for (size_t i = 0; i < np; i++) {
			doc_copy(&p[i], a->w.pending[i].name, a->w.pending[i].bytes,
				 a->w.pending[i].len);
			const struct pw_world_doc *was = doc_in_force(a, p[i].name);
			doc_copy(&old[i], p[i].name, was ? was->bytes : NULL, was ? was->len : 0);
		}
		char *what = pending_names(&a->w);
		struct pw_diags cd;
		struct pw_commit c;
		pw_diags_init(&cd);
		int rc = pw_world_commit(&a->w, &cd, &c);
		record(a, what, &c, &cd);
		free(what);
		if (rc < 0) {
			for (size_t i = 0; i < cd.n; i++)
				if (cd.v[i].sev == PW_ERROR) {
					pw_diag_format(&cd.v[i], out);
					pw_buf_putc(out, '\n');
				}
			status = 422;
		} else {
			if (c.kind != PW_COMMIT_NONE && a->o->after_commit)
				a->o->after_commit(a->o->hook_arg, &a->w);
			struct pw_buf err;
			pw_buf_init(&err);
			if (a->src.ops->write(&a->src, p, np, &err) < 0) {
				/* never in force here and not in the source (another
				   agent of the same datastore would not follow): put
				   back what was */
				for (size_t i = 0; i < np; i++)
					if (old[i].bytes)
						pw_world_put(&a->w, old[i].name, old[i].bytes,
							     old[i].len);
					else
						pw_world_remove(&a->w, old[i].name);
				struct pw_diags rd;
				struct pw_commit rc2;
				pw_diags_init(&rd);
				int back = pw_world_commit(&a->w, &rd, &rc2);
				record(a, "put back: the source refused the change", &rc2, &rd);
				if (back == 0 && rc2.kind != PW_COMMIT_NONE && a->o->after_commit)
					a->o->after_commit(a->o->hook_arg, &a->w);
				pw_diags_release(&rd);
				pw_buf_printf(out, "the source refused the change, nothing changed: %s\n",
					      err.s ? err.s : "");
				status = 503;
				pw_buf_release(&err);
				goto written;
			}
			pw_buf_release(&err);
			for (size_t i = 0; i < n; i++)
				if (!(del && !doc_of(a, objs[i].key) && missing))
					pw_buf_printf(out, "%s %s%s%s %s\n", objs[i].kind,
						      objs[i].ns, *objs[i].ns ? "/" : "",
						      objs[i].name,
						      c.kind == PW_COMMIT_NONE ? "unchanged"
						      : del		       ? "deleted"
									       : "configured");
			pw_buf_printf(out, "# change %llu in force after %.2f ms\n",
				      (unsigned long long)a->seq, c.ms_total);
		}
	written:
		for (size_t i = 0; i < np; i++) {
			free(p[i].name);
			free(p[i].bytes);
			free(old[i].name);
			free(old[i].bytes);
		}
		free(p);
		free(old);
		pw_diags_release(&cd);
	}
	for (size_t i = 0; i < n; i++)
		pw_buf_release(&names[i]);
	free(names);
done:
	pw_objects_release(&ob);
	pw_diags_release(&d);
	return status;
}

static int h_objects_get(struct agent *a, const struct pw_http_req *r,
			 struct pw_buf *out, const char **type)
{
	const char *kind = pw_http_arg(r, "kind"), *name = pw_http_arg(r, "name");
	const char *ns = pw_http_arg(r, "namespace");
	size_t found = 0;
	for (size_t i = 0; i < a->w.ndocs; i++) {
		const struct pw_world_doc *doc = &a->w.docs[i];
		struct pw_objects ob;
		struct pw_diags d;
		pw_objects_init(&ob);
		pw_diags_init(&d);
		pw_objects_split(&ob, doc->name, a->w.o.apply_ns, doc->bytes, doc->len, &d);
		for (size_t k = 0; k < ob.n; k++)
			if (pw_object_selected(&ob.v[k], kind, name, ns)) {
				pw_object_yaml(&ob.v[k], out);
				found++;
			}
		pw_diags_release(&d);
		pw_objects_release(&ob);
	}
	*type = "application/yaml";
	if (!found) {
		pw_buf_printf(out, "no %s found\n", kind && *kind ? kind : "objects");
		return 404;
	}
	return 200;
}

/* ---- the loop ------------------------------------------------------------- */

static void log_diags(struct agent *a, const struct pw_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct pw_buf line;
		pw_buf_init(&line);
		pw_diag_format(&d->v[i], &line);
		logf_(a, "%s", line.s);
		pw_buf_release(&line);
	}
}

/* Stage the whole source and commit it. */
static void full_sync(struct agent *a, const char *what)
{
	struct pw_diags d;
	pw_diags_init(&d);
	int rc = a->src.ops->load(&a->src, &a->w, &d);
	log_diags(a, &d);
	pw_diags_release(&d);
	if (rc < 0 && !a->w.npending && !a->w.loaded) {
		/* nothing could be read (the API did not answer): no empty
		   first state; the source reports a change once it can */
		logf_(a, "not ready: the source could not be read");
		return;
	}
	commit(a, what);
	if (a->ready)
		logf_(a, "ready: %zu documents, %u pods, %u policies", a->w.ndocs,
		      a->w.c ? a->w.c->npods : 0, a->w.e ? a->w.e->npols : 0);
}

int pw_agent_run(const struct pw_agent_opts *o, volatile sig_atomic_t *stop)
{
	struct agent a = { .o = o };
	struct pw_buf err;
	pw_buf_init(&err);
	struct pw_world_opts wo = { 0 };
	wo.engine_flags = o->engine_flags;
	wo.replicas = o->replicas;
	wo.node = o->node;
	wo.prepare = o->prepare;
	wo.prepare_arg = o->hook_arg;
	wo.port_of = o->port_of;
	wo.port_arg = o->hook_arg;
	wo.reach = false; /* built when a matrix is asked for */
	pw_world_init(&a.w, &wo);
	int rc = 2;
	const char *backend = o->backend ? o->backend : "nftables";
	if (strcmp(backend, "none")) {
		if (pw_dp_open(&a.dp, backend, o->table ? o->table : "podwall", o->netns,
			       &err) < 0) {
			logf_(&a, "dataplane: %s", err.s);
			goto out;
		}
		a.have_dp = true;
		a.dp.services = o->services;
		a.dp.linear = o->linear;
		if (o->flows) {
			struct pw_flowlog_opts fo = { .store = o->flows,
						      .level = (enum pw_flow_level)o->flow_level,
						      .interval = o->flow_interval,
						      .max_age = o->flow_max_age,
						      .max_bytes = o->flow_max_bytes,
						      .netns_fd = a.dp.netns_fd };
			a.flows = pw_flowlog_open(&fo, &err);
			if (!a.flows) {
				logf_(&a, "flow log: %s", err.s);
				goto out;
			}
			/* the rules carry the ids the reports are read with */
			a.dp.ids = pw_flowlog_ids(a.flows);
			if (pw_flowlog_capture_error(a.flows))
				logf_(&a, "flow log: capture: %s (enforcing goes on; trying again "
				      "every 5 s)", pw_flowlog_capture_error(a.flows));
		}
		/* what the kernel holds: a restarted agent changes only what
		   differs */
		if (pw_dp_read(&a.dp, &err) < 0) {
			logf_(&a, "dataplane: cannot read what the kernel holds: %s", err.s);
			goto out;
		}
		pw_world_set_dataplane(&a.w, &a.dp);
	}
	if (pw_source_open(&a.src, o->source, &err) < 0) {
		logf_(&a, "source: %s", err.s);
		goto out;
	}
	a.src.log = o->log;
	a.src.log_arg = o->log_arg;
	if (o->socket || o->listen) {
		a.http = pw_http_start(o->socket, o->listen, handle, &a, &err);
		if (!a.http) {
			logf_(&a, "api: %s", err.s);
			goto out;
		}
	}
	full_sync(&a, "initial sync");
	rc = 0;
	while (!*stop) {
		struct pollfd p[5];
		int hf[2], ff[2];
		size_t nh = a.http ? pw_http_fds(a.http, hf) : 0;
		size_t nf = a.flows ? pw_flowlog_fds(a.flows, ff) : 0;
		p[0] = (struct pollfd){ a.src.ops->fd(&a.src), POLLIN, 0 };
		for (size_t i = 0; i < nh; i++)
			p[1 + i] = (struct pollfd){ hf[i], POLLIN, 0 };
		for (size_t i = 0; i < nf; i++)
			p[1 + nh + i] = (struct pollfd){ ff[i], POLLIN, 0 };
		/* waste to reclaim: when nothing is waiting */
		bool reclaim = pw_world_wants_reclaim(&a.w);
		int wait = reclaim ? 20 : 1000;
		int ht = a.http ? pw_http_timeout(a.http) : -1;
		if (ht >= 0 && ht < wait)
			wait = ht;
		if (a.flows) {
			struct pw_buf ferr;
			pw_buf_init(&ferr);
			int64_t now = (int64_t)time(NULL);
			int ft = pw_flowlog_tick(a.flows, now, false, &ferr);
			size_t raised = pw_flowlog_alerts(a.flows, a.w.c, now, &ferr);
			if (raised)
				logf_(&a, "alerts: %zu raised", raised);
			if (a.w.c && a.w.c->nalerts && ft > 1000)
				ft = 1000; /* alerts are due by the second */
			if (ferr.len)
				logf_(&a, "flow log: %s", ferr.s);
			pw_buf_release(&ferr);
			if (ft < wait)
				wait = ft > 0 ? ft : 1;
		}
		int n = poll(p, 1 + (nfds_t)(nh + nf), wait);
		if (n < 0 && errno != EINTR)
			break;
		bool reported = false;
		for (size_t i = 0; n > 0 && i < nf; i++)
			reported |= (p[1 + nh + i].revents & POLLIN) != 0;
		if (reported)
			pw_flowlog_read(a.flows, a.w.e);
		if (n == 0 && reclaim && wait == 20) {
			struct pw_diags d;
			struct pw_commit c;
			pw_diags_init(&d);
			pw_world_reclaim(&a.w, &d, &c);
			logf_(&a, "memory reclaimed in %.1f ms: %zu bytes held", c.ms_total,
			      pw_world_bytes(&a.w));
			pw_diags_release(&d);
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			struct pw_diags d;
			pw_diags_init(&d);
			int staged = a.src.ops->changes(&a.src, &a.w, &d);
			log_diags(&a, &d);
			pw_diags_release(&d);
			if (staged > 0 && !a.w.loaded) {
				/* no full sync yet: the source whole, again */
				pw_world_discard(&a.w);
				full_sync(&a, "full sync");
			} else if (staged > 0) {
				char *what = pending_names(&a.w);
				commit(&a, what);
				free(what);
			}
		}
		if (a.http)
			pw_http_run(a.http);
	}
out:
	pw_http_stop(a.http);
	/* what the interval held goes to the store */
	pw_flowlog_close(a.flows);
	pw_source_close(&a.src);
	pw_world_release(&a.w);
	if (a.have_dp)
		pw_dp_close(&a.dp);
	for (size_t i = 0; i < a.nlog; i++)
		change_free(&a.log[(a.log_head + i) % LOG_KEEP]);
	free(a.log);
	pw_buf_release(&err);
	return rc;
}
