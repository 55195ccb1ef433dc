// SPDX-License-Identifier: Apache-2.0
/* The flow log of one dataplane (lib/flow/log.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "log.h"

struct pw_flowlog {
	struct pw_flowlog_opts o;
	struct pw_flow_ids *ids;
	struct pw_flow_capture *cap;
	struct pw_flow_aggr *aggr;
	struct pw_flowstore *store;
	/* the staged view of the cluster reports were last named against */
	const struct pw_engine *e; /* that engine (its serial tells a change) */
	uint64_t staged_for;	   /* serial the staged engine was built for */
	struct pw_engine staged;
	bool have_staged;
	uint64_t written, dropped;
	/* the capture could not open: why, and when to try again */
	struct pw_buf cap_err;
	int64_t cap_retry;
	/* when each GlobalAlert last ran, by name */
	struct pw_strmap alert_last; /* name -> index + 1 into last */
	char **alert_names;
	int64_t *last;
	size_t nlast;
	uint64_t raised;
};

struct pw_flowlog *pw_flowlog_open(const struct pw_flowlog_opts *o, struct pw_buf *err)
{
	struct pw_flowlog *f = pw_xcalloc(1, sizeof(*f));
	f->o = *o;
	/* the ids beside the records they name: FILE.ids, DIR/rule-ids */
	char idp[1024];
	const char *ids_path = o->ids_path;
	struct pw_flowstore_opts so = { 0 };
	if (o->store && pw_flowstore_spec(o->store, &so) < 0) {
		pw_buf_printf(err, "%s: not a flow store (sqlite:FILE or jsonl:DIR)", o->store);
		goto fail;
	}
	if (!ids_path && o->store) {
		snprintf(idp, sizeof(idp), so.kind == PW_FLOWSTORE_JSONL ? "%s/rule-ids" : "%s.ids",
			 so.path);
		ids_path = idp;
	}
	f->ids = pw_flow_ids_new(ids_path, err);
	if (!f->ids)
		goto fail;
	if (!o->no_capture && !(f->cap = pw_flow_capture_open(o->netns_fd, &f->cap_err)))
		f->cap_retry = (int64_t)time(NULL) + 5; /* the agent goes on; tick retries */
	if (o->store) {
		so.max_age = o->max_age;
		so.max_bytes = o->max_bytes;
		f->store = pw_flowstore_open(&so, err);
		if (!f->store)
			goto fail;
	}
	f->aggr = pw_flow_aggr_new(o->level, o->interval ? o->interval : 15);
	pw_strmap_init(&f->alert_last);
	return f;
fail:
	pw_flowlog_close(f);
	return NULL;
}

void pw_flowlog_close(struct pw_flowlog *f)
{
	if (!f)
		return;
	if (f->aggr) {
		struct pw_buf err;
		pw_buf_init(&err);
		pw_flowlog_tick(f, (int64_t)time(NULL), true, &err);
		pw_buf_release(&err);
	}
	pw_flow_aggr_free(f->aggr);
	pw_flowstore_close(f->store);
	pw_flow_capture_close(f->cap);
	pw_buf_release(&f->cap_err);
	pw_flow_ids_free(f->ids);
	if (f->have_staged)
		pw_engine_release(&f->staged);
	pw_strmap_release(&f->alert_last);
	for (size_t i = 0; i < f->nlast; i++)
		free(f->alert_names[i]);
	free(f->alert_names);
	free(f->last);
	free(f);
}

const char *pw_flowlog_capture_error(const struct pw_flowlog *f)
{
	return f->cap ? NULL : f->cap_err.s;
}

struct pw_flow_ids *pw_flowlog_ids(struct pw_flowlog *f)
{
	return f->ids;
}

struct pw_flowstore *pw_flowlog_store(struct pw_flowlog *f)
{
	return f->store;
}

size_t pw_flowlog_fds(const struct pw_flowlog *f, int fds[2])
{
	if (!f->cap)
		return 0;
	pw_flow_capture_fds(f->cap, fds);
	return 2;
}

static bool has_staged(const struct pw_cluster *c)
{
	for (uint32_t i = 0; i < c->npols; i++)
		if (c->pols[i].staged != PW_ENFORCED)
			return true;
	for (uint32_t i = 0; i < c->ncpols; i++)
		if (c->cpols[i].staged != PW_ENFORCED)
			return true;
	return false;
}

/* The staged view of e's cluster, or NULL when it has no staged policy. */
static const struct pw_engine *staged_of(struct pw_flowlog *f, const struct pw_engine *e)
{
	if (f->have_staged && f->staged_for == e->serial)
		return &f->staged;
	if (f->have_staged) {
		pw_engine_release(&f->staged);
		f->have_staged = false;
	}
	f->staged_for = e->serial;
	if (!has_staged(e->c))
		return NULL;
	if (pw_engine_build(&f->staged, e->c, e->flags | PW_ENGINE_STAGED) < 0)
		return NULL;
	f->have_staged = true;
	return &f->staged;
}

struct read_ctx {
	struct pw_flowlog *f;
	const struct pw_engine *e, *staged;
};

static void on_ev(void *arg, const struct pw_flow_ev *ev)
{
	struct read_ctx *r = arg;
	pw_flow_aggr_add(r->f->aggr, r->e, r->staged, r->f->ids, ev);
}

static void discard(void *arg, const struct pw_flow_ev *ev)
{
}

void pw_flowlog_read(struct pw_flowlog *f, const struct pw_engine *e)
{
	if (!f->cap)
		return;
	if (!e) {
		/* no cluster yet: nothing to name reports against */
		pw_flow_capture_read(f->cap, discard, NULL);
		return;
	}
	struct read_ctx r = { f, e, staged_of(f, e) };
	pw_flow_capture_read(f->cap, on_ev, &r);
}

int pw_flowlog_tick(struct pw_flowlog *f, int64_t now, bool force, struct pw_buf *err)
{
	if (f->cap_retry && now >= f->cap_retry) {
		pw_buf_printf(err, "capture: %s", f->cap_err.s ? f->cap_err.s : "?");
		pw_buf_reset(&f->cap_err);
		f->cap = pw_flow_capture_open(f->o.netns_fd, &f->cap_err);
		f->cap_retry = f->cap ? 0 : now + 5;
		if (f->cap)
			pw_buf_puts(err, "; open now");
		else
			pw_buf_puts(err, " (the flow log has no reports until it opens; again in 5 s)");
	}
	const struct pw_flow *v;
	size_t n = pw_flow_aggr_flush(f->aggr, now, force, &v);
	if (n && f->store) {
		if (pw_flowstore_add(f->store, v, n, err) < 0)
			f->dropped += n;
		else
			f->written += n;
		pw_flowstore_retain(f->store, now, err);
	} else if (n) {
		f->dropped += n; /* nowhere to keep them */
	}
	return pw_flow_aggr_due_in(f->aggr, now) * 1000;
}

struct recs {
	struct pw_flow *v;
	size_t n, cap;
};

static int take(void *arg, const struct pw_flow *r)
{
	struct recs *rs = arg;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = pw_xrealloc(rs->v, rs->cap * sizeof(*rs->v));
	}
	rs->v[rs->n++] = *r;
	return 0;
}

size_t pw_flowlog_alerts(struct pw_flowlog *f, const struct pw_cluster *c, int64_t now,
			 struct pw_buf *err)
{
	size_t raised = 0;
	for (uint32_t i = 0; c && f->store && i < c->nalerts; i++) {
		const struct pw_alert *a = &c->alerts[i];
		void *x = pw_strmap_get(&f->alert_last, a->name);
		if (!x) {
			f->alert_names = pw_xrealloc(f->alert_names, (f->nlast + 1) * sizeof(char *));
			f->last = pw_xrealloc(f->last, (f->nlast + 1) * sizeof(*f->last));
			f->alert_names[f->nlast] = pw_xstrdup(a->name);
			f->last[f->nlast] = 0;
			x = (void *)(uintptr_t)++f->nlast;
			pw_strmap_put(&f->alert_last, f->alert_names[f->nlast - 1], x);
		}
		if (!pw_alert_due(a, now, &f->last[(uintptr_t)x - 1]))
			continue;
		/* the records of its lookback */
		struct pw_flow_filter flt = { .action = -1, .since = now - a->lookback + 1 };
		struct recs rs = { 0 };
		if (pw_flowstore_query(f->store, &flt, 0, false, take, &rs, err) < 0) {
			free(rs.v);
			continue;
		}
		struct pw_alert_event *ev = NULL;
		size_t n = pw_alert_eval(a, rs.v, rs.n, now, &ev);
		for (size_t k = 0; k < n; k++)
			if (pw_flowstore_add_alert(f->store, &ev[k], err) == 0)
				raised++;
		free(ev);
		free(rs.v);
	}
	f->raised += raised;
	return raised;
}

void pw_flowlog_metrics(const struct pw_flowlog *f, struct pw_buf *out)
{
	pw_flow_aggr_metrics(f->aggr, out);
	struct pw_flow_aggr_stats st;
	pw_flow_aggr_stats(f->aggr, &st);
	pw_buf_printf(out,
		      "# HELP podwall_flow_records_total Flow records flushed, by outcome\n"
		      "# TYPE podwall_flow_records_total counter\n"
		      "podwall_flow_records_total{outcome=\"written\"} %llu\n"
		      "podwall_flow_records_total{outcome=\"dropped\"} %llu\n"
		      "# HELP podwall_flow_reports_lost_total Kernel reports lost (socket full)\n"
		      "# TYPE podwall_flow_reports_lost_total counter\n"
		      "podwall_flow_reports_lost_total %llu\n"
		      "# HELP podwall_alerts_raised_total GlobalAlert events raised\n"
		      "# TYPE podwall_alerts_raised_total counter\n"
		      "podwall_alerts_raised_total %llu\n"
		      "# HELP podwall_flow_rule_ids Rule ids given, per direction\n"
		      "# TYPE podwall_flow_rule_ids gauge\n"
		      "podwall_flow_rule_ids{direction=\"egress\"} %u\n"
		      "podwall_flow_rule_ids{direction=\"ingress\"} %u\n",
		      (unsigned long long)f->written, (unsigned long long)f->dropped,
		      (unsigned long long)(f->cap ? pw_flow_capture_lost(f->cap) : 0),
		      (unsigned long long)f->raised,
		      pw_flow_ids_count(f->ids, PW_EGRESS),
		      pw_flow_ids_count(f->ids, PW_INGRESS));
}
