// SPDX-License-Identifier: Apache-2.0
/*
 * Where flow records and alerts are kept (lib/flow/store.h): SQLite in WAL
 * mode (a reader reads while the agent writes), or JSON lines with
 * rotation.
 *
 * SQLite: table flows, one row a record, indexed by end_time, each end's
 * namespace and name_aggr, and action; table flow_policies, one row per
 * entry of policies and pending_policies (tier, name), indexed by name, so
 * that a policy filter is an index lookup; table alerts.  Queries narrow
 * with SQL on the indexed fields, then pw_flow_match() decides exactly.
 *
 * JSON lines: DIR/flows.jsonl, rotated to flows.jsonl.1 (the newest) ...
 * .N; DIR/alerts.jsonl.  One write(2) per pw_flowstore_add, with O_APPEND,
 * so that a reader sees whole lines (a last line without its newline is
 * being written and is skipped).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "store.h"

#define ROTATE_DEFAULT (64ull << 20)
#define KEEP_DEFAULT 5
#define RETAIN_EVERY_S 60 /* pw_flowstore_add retains this often by itself */

struct pw_flowstore {
	struct pw_flowstore_opts o;
	char *path;
	struct pw_flowstore_stats st;
	int64_t last_retain;
	/* sqlite */
	sqlite3 *db;
	sqlite3_stmt *ins, *ins_pol, *ins_alert;
	/* jsonl */
	char *flows, *alerts; /* file names */
};

/* ---- the spec ----------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

int pw_flowstore_spec(const char *spec, struct pw_flowstore_opts *o)
{
	struct stat st;
	memset(o, 0, sizeof(*o));
	if (!spec || !*spec)
		return -1;
	if (!strncmp(spec, "sqlite:", 7)) {
		o->kind = PW_FLOWSTORE_SQLITE;
		o->path = spec + 7;
	} else if (!strncmp(spec, "jsonl:", 6)) {
		o->kind = PW_FLOWSTORE_JSONL;
		o->path = spec + 6;
	} else {
		o->path = spec;
		o->kind = (stat(spec, &st) == 0 && S_ISDIR(st.st_mode)) || ends_with(spec, ".jsonl") ||
					  ends_with(spec, "/")
				  ? PW_FLOWSTORE_JSONL
				  : PW_FLOWSTORE_SQLITE;
	}
	return *o->path ? 0 : -1;
}

/* ---- SQLite -------------------------------------------------------------------------- */

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS flows ("
	" id INTEGER PRIMARY KEY,"
	" start_time INTEGER NOT NULL, end_time INTEGER NOT NULL,"
	" action INTEGER NOT NULL, reporter INTEGER NOT NULL,"
	" src_type TEXT, src_ns TEXT, src_name TEXT, src_aggr TEXT, src_labels TEXT,"
	" src_ip TEXT, src_port INTEGER,"
	" dst_type TEXT, dst_ns TEXT, dst_name TEXT, dst_aggr TEXT, dst_labels TEXT,"
	" dst_ip TEXT, dst_port INTEGER,"
	" proto INTEGER, svc_ns TEXT, svc_name TEXT, svc_port_name TEXT, svc_port_num INTEGER,"
	" dest_domains TEXT, policies TEXT, pending TEXT,"
	" num_flows INTEGER, num_flows_started INTEGER, num_flows_completed INTEGER,"
	" packets_in INTEGER, packets_out INTEGER, bytes_in INTEGER, bytes_out INTEGER);"
	"CREATE INDEX IF NOT EXISTS flows_end ON flows(end_time);"
	/* namespace, and workload in it */
	"CREATE INDEX IF NOT EXISTS flows_src ON flows(src_ns, src_aggr);"
	"CREATE INDEX IF NOT EXISTS flows_dst ON flows(dst_ns, dst_aggr);"
	"CREATE INDEX IF NOT EXISTS flows_action ON flows(action);"
	"CREATE TABLE IF NOT EXISTS flow_policies ("
	" flow INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,"
	" tier TEXT NOT NULL, name TEXT NOT NULL, pending INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS flow_policies_name ON flow_policies(name, tier);"
	"CREATE INDEX IF NOT EXISTS flow_policies_flow ON flow_policies(flow);"
	"CREATE TABLE IF NOT EXISTS alerts ("
	" id INTEGER PRIMARY KEY, time INTEGER NOT NULL, name TEXT NOT NULL,"
	" severity INTEGER, description TEXT, summary TEXT, record TEXT, value REAL);"
	"CREATE INDEX IF NOT EXISTS alerts_time ON alerts(time);";

#define FLOW_COLS                                                                        \
	"start_time, end_time, action, reporter, src_type, src_ns, src_name, src_aggr, "  \
	"src_labels, src_ip, src_port, dst_type, dst_ns, dst_name, dst_aggr, dst_labels, " \
	"dst_ip, dst_port, proto, svc_ns, svc_name, svc_port_name, svc_port_num, "         \
	"dest_domains, policies, pending, num_flows, num_flows_started, "                  \
	"num_flows_completed, packets_in, packets_out, bytes_in, bytes_out"
#define FLOW_NCOLS 33

static int sq_fail(struct pw_flowstore *s, struct pw_buf *err, const char *what)
{
	pw_buf_printf(err, "%s: %s: %s", s->path, what, s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return -1;
}

static int sq_exec(struct pw_flowstore *s, const char *sql, struct pw_buf *err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	pw_buf_printf(err, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return -1;
}

static int64_t sq_int(struct pw_flowstore *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int sq_open(struct pw_flowstore *s, struct pw_buf *err)
{
	int flags = s->o.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return sq_fail(s, err, "cannot open");
	sqlite3_busy_timeout(s->db, 5000);
	if (sq_exec(s, "PRAGMA foreign_keys=ON", err) < 0)
		return -1;
	if (s->o.read_only) {
		/* a file that is no store is refused here, not at the first query */
		if (sq_int(s, "SELECT count(*) FROM sqlite_master WHERE name='flows'") != 1) {
			pw_buf_printf(err, "%s: not a flow store (no table flows)", s->path);
			return -1;
		}
		return 0;
	}
	/* auto_vacuum takes effect on a new database only: before the tables */
	if (sq_exec(s, "PRAGMA auto_vacuum=INCREMENTAL", err) < 0 ||
	    sq_exec(s, "PRAGMA journal_mode=WAL", err) < 0 ||
	    sq_exec(s, "PRAGMA synchronous=NORMAL", err) < 0 ||
	    sq_exec(s, "PRAGMA cache_size=-32768", err) < 0 ||
	    sq_exec(s, "PRAGMA wal_autocheckpoint=16384", err) < 0 || sq_exec(s, schema, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO flows (" FLOW_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
			       "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &s->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO flow_policies (flow, tier, name, pending) VALUES (?,?,?,?)",
			       -1, &s->ins_pol, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO alerts (time, name, severity, description, summary, "
			       "record, value) VALUES (?,?,?,?,?,?,?)",
			       -1, &s->ins_alert, NULL) != SQLITE_OK)
		return sq_fail(s, err, "cannot prepare");
	return 0;
}

static void bind_end(sqlite3_stmt *st, int i, const struct pw_flow_end *e)
{
	sqlite3_bind_text(st, i, e->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i + 1, e->ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i + 2, e->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i + 3, e->name_aggr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i + 4, e->labels, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, i + 5, e->ip, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, i + 6, e->port);
}

/* each "tier|name|rule|action" of entries as a row of flow_policies */
static int add_policies(struct pw_flowstore *s, int64_t id, const char *entries, int pending)
{
	struct pw_flow_policy_ref e;
	for (const char *p = entries; pw_flow_policy_next(&p, &e);) {
		sqlite3_reset(s->ins_pol);
		sqlite3_bind_int64(s->ins_pol, 1, id);
		sqlite3_bind_text(s->ins_pol, 2, e.tier, (int)e.tier_len, SQLITE_STATIC);
		sqlite3_bind_text(s->ins_pol, 3, e.name, (int)e.name_len, SQLITE_STATIC);
		sqlite3_bind_int(s->ins_pol, 4, pending);
		if (sqlite3_step(s->ins_pol) != SQLITE_DONE)
			return -1;
	}
	return 0;
}

static int sq_add(struct pw_flowstore *s, const struct pw_flow *v, size_t n, struct pw_buf *err)
{
	if (sq_exec(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		const struct pw_flow *r = &v[k];
		sqlite3_stmt *st = s->ins;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, r->start_time);
		sqlite3_bind_int64(st, 2, r->end_time);
		sqlite3_bind_int(st, 3, r->action);
		sqlite3_bind_int(st, 4, r->reporter);
		bind_end(st, 5, &r->src);
		bind_end(st, 12, &r->dst);
		sqlite3_bind_int(st, 19, r->proto);
		sqlite3_bind_text(st, 20, r->svc_ns, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 21, r->svc_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 22, r->svc_port_name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 23, r->svc_port_num);
		sqlite3_bind_text(st, 24, r->dest_domains, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 25, r->policies, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 26, r->pending, -1, SQLITE_STATIC);
		const uint64_t c[] = { r->num_flows,  r->num_flows_started, r->num_flows_completed,
				       r->packets_in, r->packets_out,	    r->bytes_in,
				       r->bytes_out };
		for (int i = 0; i < 7; i++)
			sqlite3_bind_int64(st, 27 + i, (sqlite3_int64)c[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
		int64_t id = sqlite3_last_insert_rowid(s->db);
		/* pending 2: the entry is both (no staged policy changes it) */
		bool same = !strcmp(r->policies, r->pending);
		if (add_policies(s, id, r->policies, same ? 2 : 0) < 0 ||
		    (!same && add_policies(s, id, r->pending, 1) < 0))
			goto fail;
	}
	if (sq_exec(s, "COMMIT", err) < 0)
		goto rollback;
	return 0;
fail:
	sq_fail(s, err, "cannot add");
rollback:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static void col_str(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void row_end(sqlite3_stmt *st, int i, struct pw_flow_end *e)
{
	col_str(st, i, e->type, sizeof(e->type));
	col_str(st, i + 1, e->ns, sizeof(e->ns));
	col_str(st, i + 2, e->name, sizeof(e->name));
	col_str(st, i + 3, e->name_aggr, sizeof(e->name_aggr));
	col_str(st, i + 4, e->labels, sizeof(e->labels));
	col_str(st, i + 5, e->ip, sizeof(e->ip));
	e->port = sqlite3_column_int(st, i + 6);
}

static void row_flow(sqlite3_stmt *st, struct pw_flow *r)
{
	memset(r, 0, sizeof(*r));
	r->start_time = sqlite3_column_int64(st, 0);
	r->end_time = sqlite3_column_int64(st, 1);
	r->action = sqlite3_column_int(st, 2) ? PW_FLOW_DENY : PW_FLOW_ALLOW;
	r->reporter = sqlite3_column_int(st, 3) ? PW_FLOW_DST : PW_FLOW_SRC;
	row_end(st, 4, &r->src);
	row_end(st, 11, &r->dst);
	r->proto = sqlite3_column_int(st, 18);
	col_str(st, 19, r->svc_ns, sizeof(r->svc_ns));
	col_str(st, 20, r->svc_name, sizeof(r->svc_name));
	col_str(st, 21, r->svc_port_name, sizeof(r->svc_port_name));
	r->svc_port_num = sqlite3_column_int(st, 22);
	col_str(st, 23, r->dest_domains, sizeof(r->dest_domains));
	col_str(st, 24, r->policies, sizeof(r->policies));
	col_str(st, 25, r->pending, sizeof(r->pending));
	uint64_t *c[] = { &r->num_flows,  &r->num_flows_started, &r->num_flows_completed,
			  &r->packets_in, &r->packets_out,	 &r->bytes_in,
			  &r->bytes_out };
	for (int i = 0; i < 7; i++)
		*c[i] = (uint64_t)sqlite3_column_int64(st, 26 + i);
}

/* The namespace of an end filter "NS/NAME" (not a CIDR), for SQL. */
static const char *spec_ns(const char *spec, char *buf, size_t cap)
{
	const char *slash = strchr(spec, '/');
	if (!slash || strchr(spec, ':') || (size_t)(slash - spec) >= cap)
		return NULL;
	for (const char *p = spec; p < slash; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return NULL; /* a CIDR (10.0.0.0/8) has dots */
	memcpy(buf, spec, (size_t)(slash - spec));
	buf[slash - spec] = 0;
	return buf;
}

struct hits {
	struct pw_flow *v;
	size_t n, cap, head; /* tail: a ring of the newest cap */
};

static int sq_query(struct pw_flowstore *s, const struct pw_flow_filter *f, size_t limit,
		    bool tail, int (*cb)(void *, const struct pw_flow *), void *arg,
		    struct pw_buf *err)
{
	struct pw_buf q;
	char fns[PW_FLOW_NS], tns[PW_FLOW_NS];
	const char *binds[8];
	int nb = 0;
	pw_buf_init(&q);
	pw_buf_puts(&q, "SELECT " FLOW_COLS " FROM flows WHERE 1");
	if (f->since)
		pw_buf_printf(&q, " AND end_time >= %" PRId64, f->since);
	if (f->until)
		pw_buf_printf(&q, " AND start_time <= %" PRId64, f->until);
	if (f->action >= 0)
		pw_buf_printf(&q, " AND action = %d", f->action);
	if (f->port)
		pw_buf_printf(&q, " AND dst_port = %d", f->port);
	if (f->ns) {
		pw_buf_puts(&q, " AND (src_ns = ?1 OR dst_ns = ?1)");
		binds[nb++] = f->ns;
	}
	const char *from_ns = f->from ? spec_ns(f->from, fns, sizeof(fns)) : NULL;
	const char *to_ns = f->to ? spec_ns(f->to, tns, sizeof(tns)) : NULL;
	if (from_ns) {
		pw_buf_printf(&q, " AND src_ns = ?%d", nb + 1);
		binds[nb++] = from_ns;
	}
	if (to_ns) {
		pw_buf_printf(&q, " AND dst_ns = ?%d", nb + 1);
		binds[nb++] = to_ns;
	}
	char tier[PW_FLOW_NAME + 1];
	if (f->policy) {
		const char *bar = strchr(f->policy, '|');
		if (bar && (size_t)(bar - f->policy) < sizeof(tier)) {
			memcpy(tier, f->policy, (size_t)(bar - f->policy));
			tier[bar - f->policy] = 0;
			pw_buf_printf(&q,
				      " AND id IN (SELECT flow FROM flow_policies WHERE name = ?%d AND "
				      "tier = ?%d)",
				      nb + 1, nb + 2);
			binds[nb++] = bar + 1;
			binds[nb++] = tier;
		} else {
			pw_buf_printf(&q,
				      " AND id IN (SELECT flow FROM flow_policies WHERE name = ?%d)",
				      nb + 1);
			binds[nb++] = f->policy;
		}
	}
	pw_buf_puts(&q, tail ? " ORDER BY end_time DESC, id DESC" : " ORDER BY end_time, id");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, q.s, -1, &st, NULL) != SQLITE_OK) {
		pw_buf_release(&q);
		return sq_fail(s, err, "cannot query");
	}
	pw_buf_release(&q);
	for (int i = 0; i < nb; i++)
		sqlite3_bind_text(st, i + 1, binds[i], -1, SQLITE_STATIC);
	struct pw_flow *r = pw_xmalloc(sizeof(*r));
	struct hits h = { 0 };
	size_t got = 0;
	int rc, res = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_flow(st, r);
		if (!pw_flow_match(f, r))
			continue;
		if (tail && limit) {
			/* newest first: keep them, then give oldest first */
			if (h.n == h.cap) {
				h.cap = h.cap ? h.cap * 2 : 16;
				h.v = pw_xrealloc(h.v, h.cap * sizeof(*h.v));
			}
			h.v[h.n++] = *r;
			if (h.n == limit)
				break;
			continue;
		}
		if (cb(arg, r)) {
			res = 0;
			goto done;
		}
		if (limit && ++got == limit)
			goto done;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		res = sq_fail(s, err, "cannot query");
		goto done;
	}
	for (size_t i = h.n; i-- > 0;)
		if (cb(arg, &h.v[i]))
			break;
done:
	free(h.v);
	free(r);
	sqlite3_finalize(st);
	return res;
}

/* the database's bytes in use (its pages less the free ones) */
static uint64_t sq_used(struct pw_flowstore *s)
{
	int64_t pc = sq_int(s, "PRAGMA page_count"), ps = sq_int(s, "PRAGMA page_size"),
		fl = sq_int(s, "PRAGMA freelist_count");
	if (pc < 0 || ps < 0)
		return 0;
	return (uint64_t)((pc - (fl > 0 ? fl : 0)) * ps);
}

/* sql with ?1 bound to v, run: the rows it changed, or -1 */
static long sq_run_int(struct pw_flowstore *s, const char *sql, int64_t v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, v);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? (long)sqlite3_changes(s->db) : -1;
}

static long sq_retain(struct pw_flowstore *s, int64_t now, struct pw_buf *err)
{
	long removed = 0, n;
	if (s->o.max_age) {
		int64_t cut = now - s->o.max_age;
		if (sq_exec(s, "BEGIN IMMEDIATE", err) < 0)
			return -1;
		if ((n = sq_run_int(s, "DELETE FROM flows WHERE end_time < ?1", cut)) < 0 ||
		    sq_run_int(s, "DELETE FROM alerts WHERE time < ?1", cut) < 0) {
			sq_fail(s, err, "cannot remove");
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (sq_exec(s, "COMMIT", err) < 0)
			return -1;
		removed += n;
	}
	/* the oldest rows beyond max_bytes: a share of the rows as large as
	   the share of bytes over, at least one, until under or empty */
	while (s->o.max_bytes) {
		uint64_t used = sq_used(s);
		if (used <= s->o.max_bytes)
			break;
		int64_t rows = sq_int(s, "SELECT count(*) FROM flows");
		if (rows <= 0)
			break;
		int64_t k = (int64_t)((double)rows * (double)(used - s->o.max_bytes) / (double)used) + 1;
		n = sq_run_int(s,
			       "DELETE FROM flows WHERE id IN (SELECT id FROM flows ORDER BY end_time, "
			       "id LIMIT ?1)",
			       k);
		if (n < 0)
			return sq_fail(s, err, "cannot remove");
		removed += n;
		if (sq_exec(s, "PRAGMA incremental_vacuum", err) < 0)
			return -1;
	}
	if (removed && sq_exec(s, "PRAGMA incremental_vacuum", err) < 0)
		return -1;
	return removed;
}

static int sq_add_alert(struct pw_flowstore *s, const struct pw_alert_event *a, struct pw_buf *err)
{
	sqlite3_stmt *st = s->ins_alert;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, a->time);
	sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, a->severity);
	sqlite3_bind_text(st, 4, a->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->record, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 7, a->value);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sq_fail(s, err, "cannot add the alert");
	return 0;
}

static int sq_alerts(struct pw_flowstore *s, int64_t since,
		     int (*cb)(void *, const struct pw_alert_event *), void *arg, struct pw_buf *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT time, name, severity, description, summary, record, value "
			       "FROM alerts WHERE time >= ? ORDER BY time, id",
			       -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, err, "cannot query alerts");
	sqlite3_bind_int64(st, 1, since);
	struct pw_alert_event *a = pw_xmalloc(sizeof(*a));
	int rc, res = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(a, 0, sizeof(*a));
		a->time = sqlite3_column_int64(st, 0);
		col_str(st, 1, a->name, sizeof(a->name));
		a->severity = sqlite3_column_int(st, 2);
		col_str(st, 3, a->description, sizeof(a->description));
		col_str(st, 4, a->summary, sizeof(a->summary));
		col_str(st, 5, a->record, sizeof(a->record));
		a->value = sqlite3_column_double(st, 6);
		if (cb(arg, a))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = sq_fail(s, err, "cannot query alerts");
	free(a);
	sqlite3_finalize(st);
	return res;
}

/* ---- JSON lines ------------------------------------------------------------------------ */

static uint64_t file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static char *rotated(const struct pw_flowstore *s, uint32_t i)
{
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_printf(&b, "%s.%u", s->flows, i);
	return b.s;
}

static uint32_t keep_files(const struct pw_flowstore *s)
{
	return s->o.keep_files ? s->o.keep_files : KEEP_DEFAULT;
}

/* The whole file in a heap buffer (NUL-terminated), NULL when absent. */
static char *slurp(const char *path, size_t *len, int *errn)
{
	FILE *f = fopen(path, "rb");
	*len = 0;
	*errn = 0;
	if (!f) {
		*errn = errno;
		return NULL;
	}
	struct pw_buf b;
	pw_buf_init(&b);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		pw_buf_add(&b, chunk, n);
	if (ferror(f))
		*errn = errno ? errno : EIO;
	fclose(f);
	if (!b.s)
		pw_buf_add(&b, "", 0);
	if (!b.s)
		b.s = pw_xstrdup("");
	*len = b.len;
	return b.s;
}

static int jl_write(const char *path, const char *s, size_t n, const char *root, struct pw_buf *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		pw_buf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	off_t before = fstat(fd, &st) == 0 ? st.st_size : -1;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, s + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			pw_buf_printf(err, "%s: %s", path, w < 0 ? strerror(errno) : "short write");
			/* nothing written: take back what part went */
			if (before >= 0 && ftruncate(fd, before) < 0)
				pw_buf_puts(err, " (and a part of the write stays)");
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	(void)root;
	if (close(fd) < 0) {
		pw_buf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int jl_rotate(struct pw_flowstore *s, struct pw_buf *err)
{
	uint32_t keep = keep_files(s);
	char *last = rotated(s, keep);
	unlink(last);
	free(last);
	for (uint32_t i = keep; i > 1; i--) {
		char *from = rotated(s, i - 1), *to = rotated(s, i);
		if (rename(from, to) < 0 && errno != ENOENT) {
			pw_buf_printf(err, "%s: %s", from, strerror(errno));
			free(from);
			free(to);
			return -1;
		}
		free(from);
		free(to);
	}
	char *one = rotated(s, 1);
	int rc = rename(s->flows, one);
	if (rc < 0 && errno != ENOENT)
		pw_buf_printf(err, "%s: %s", s->flows, strerror(errno));
	free(one);
	return rc < 0 && errno != ENOENT ? -1 : 0;
}

static int jl_add(struct pw_flowstore *s, const struct pw_flow *v, size_t n, struct pw_buf *err)
{
	struct pw_buf b;
	pw_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		pw_flow_json(&v[i], &b);
		pw_buf_putc(&b, '\n');
	}
	uint64_t rot = s->o.rotate_bytes ? s->o.rotate_bytes : ROTATE_DEFAULT;
	uint64_t cur = file_size(s->flows);
	int rc = 0;
	if (cur && cur + b.len > rot)
		rc = jl_rotate(s, err);
	if (rc == 0 && b.len)
		rc = jl_write(s->flows, b.s, b.len, s->path, err);
	pw_buf_release(&b);
	return rc;
}

/* One line of a jsonl file: where it is, to be read again in order. */
struct jline {
	int64_t end_time;
	size_t seq;
	size_t off, len; /* in the text */
};

static int jline_cmp(const void *a, const void *b)
{
	const struct jline *x = a, *y = b;
	if (x->end_time != y->end_time)
		return x->end_time < y->end_time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The files of a jsonl store, oldest first (heap names; NULL ended). */
static char **jl_files(const struct pw_flowstore *s)
{
	uint32_t keep = keep_files(s);
	char **v = pw_xcalloc(keep + 2, sizeof(*v));
	size_t n = 0;
	/* rotated ones beyond keep_files may linger after keep_files shrank */
	for (uint32_t i = keep; i >= 1; i--) {
		char *p = rotated(s, i);
		if (access(p, F_OK) == 0)
			v[n++] = p;
		else
			free(p);
	}
	v[n++] = pw_xstrdup(s->flows);
	return v;
}

static void free_files(char **v)
{
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

/*
 * Every complete line of the files, parsed, in the files' order; fn gets
 * each (its file and line number for messages).  A line being written (no
 * newline yet, the last of the newest file) is skipped.
 */
static int jl_scan(struct pw_flowstore *s, char **files,
		   int (*fn)(void *ctx, const char *file, size_t fileno, const char *line,
			     size_t len, const struct pw_flow *r),
		   void *ctx, struct pw_buf *err)
{
	struct pw_flow *r = pw_xmalloc(sizeof(*r));
	struct pw_buf perr;
	int res = 0;
	pw_buf_init(&perr);
	for (size_t fi = 0; files[fi] && !res; fi++) {
		size_t len;
		int errn;
		char *text = slurp(files[fi], &len, &errn);
		if (!text) {
			if (errn == ENOENT)
				continue;
			pw_buf_printf(err, "%s: %s", files[fi], strerror(errn));
			res = -1;
			break;
		}
		size_t lineno = 0;
		for (size_t off = 0; off < len;) {
			char *nl = memchr(text + off, '\n', len - off);
			lineno++;
			if (!nl)
				break;
			size_t l = (size_t)(nl - (text + off));
			if (l) {
				int col;
				pw_buf_reset(&perr);
				if (pw_flow_parse_json_at(text + off, l, r, &col, &perr) < 0) {
					pw_buf_printf(err, "%s:%zu:%d: error: %s", files[fi], lineno, col,
						      perr.s);
					res = -1;
					break;
				}
				int x = fn(ctx, files[fi], fi, text + off, l, r);
				if (x) {
					res = x < 0 ? -1 : 1;
					break;
				}
			}
			off += l + 1;
		}
		free(text);
	}
	pw_buf_release(&perr);
	free(r);
	return res < 0 ? -1 : 0;
}

struct jq {
	const struct pw_flow_filter *f;
	struct pw_buf text;
	struct jline *v;
	size_t n, cap;
};

static int jq_take(void *ctx, const char *file, size_t fileno, const char *line, size_t len,
		   const struct pw_flow *r)
{
	struct jq *q = ctx;
	if (!pw_flow_match(q->f, r))
		return 0;
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->v = pw_xrealloc(q->v, q->cap * sizeof(*q->v));
	}
	q->v[q->n] = (struct jline){ r->end_time, q->n, q->text.len, len };
	q->n++;
	pw_buf_add(&q->text, line, len);
	return 0;
}

static int jl_query(struct pw_flowstore *s, const struct pw_flow_filter *f, size_t limit,
		    bool tail, int (*cb)(void *, const struct pw_flow *), void *arg,
		    struct pw_buf *err)
{
	struct jq q = { .f = f };
	pw_buf_init(&q.text);
	char **files = jl_files(s);
	int res = jl_scan(s, files, jq_take, &q, err);
	free_files(files);
	if (res == 0 && q.n) {
		qsort(q.v, q.n, sizeof(*q.v), jline_cmp);
		size_t from = 0, to = q.n;
		if (limit && limit < q.n) {
			if (tail)
				from = q.n - limit;
			else
				to = limit;
		}
		struct pw_flow *r = pw_xmalloc(sizeof(*r));
		struct pw_buf perr;
		pw_buf_init(&perr);
		for (size_t i = from; i < to; i++) {
			if (pw_flow_parse_json(q.text.s + q.v[i].off, q.v[i].len, r, &perr) < 0 ||
			    cb(arg, r))
				break;
		}
		pw_buf_release(&perr);
		free(r);
	}
	free(q.v);
	pw_buf_release(&q.text);
	return res;
}

/* Rewrite path keeping the lines keep() says (a temporary file renamed
   over it); the lines dropped are counted in *removed. */
static int jl_rewrite(const char *path, bool (*keep)(void *ctx, const char *line, size_t len),
		      void *ctx, long *removed, struct pw_buf *err)
{
	size_t len;
	int errn;
	char *text = slurp(path, &len, &errn);
	if (!text)
		return errn == ENOENT ? 0 : (pw_buf_printf(err, "%s: %s", path, strerror(errn)), -1);
	struct pw_buf out;
	pw_buf_init(&out);
	long dropped = 0;
	for (size_t off = 0; off < len;) {
		char *nl = memchr(text + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - (text + off)) + 1 : len - off;
		if (l > 1 && nl && !keep(ctx, text + off, l - 1))
			dropped++;
		else
			pw_buf_add(&out, text + off, l);
		off += l;
	}
	free(text);
	int rc = 0;
	if (dropped) {
		struct pw_buf tmp;
		pw_buf_init(&tmp);
		pw_buf_printf(&tmp, "%s.tmp", path);
		unlink(tmp.s);
		rc = out.len ? jl_write(tmp.s, out.s, out.len, NULL, err) : 0;
		if (rc == 0 && !out.len)
			rc = unlink(path) < 0 ? (pw_buf_printf(err, "%s: %s", path, strerror(errno)), -1) : 0;
		else if (rc == 0 && rename(tmp.s, path) < 0) {
			pw_buf_printf(err, "%s: %s", path, strerror(errno));
			rc = -1;
		}
		pw_buf_release(&tmp);
	}
	pw_buf_release(&out);
	if (rc == 0)
		*removed += dropped;
	return rc;
}

struct age_ctx {
	int64_t cut;
	const char *field;
};

/* end_time (or an alert's time) of a line, read by name: lines pw_flow_json
   and the alert writer wrote start with it or carry it early */
static int64_t line_time(const char *line, size_t len, const char *field)
{
	char key[32];
	int kl = snprintf(key, sizeof(key), "\"%s\":", field);
	for (size_t i = 0; i + (size_t)kl <= len; i++)
		if (!memcmp(line + i, key, (size_t)kl))
			return strtoll(line + i + kl, NULL, 10);
	return INT64_MAX; /* unknown: kept */
}

static bool keep_young(void *ctx, const char *line, size_t len)
{
	struct age_ctx *a = ctx;
	return line_time(line, len, a->field) >= a->cut;
}

struct drop_ctx {
	uint64_t drop, dropped;
};

static bool keep_after(void *ctx, const char *line, size_t len)
{
	struct drop_ctx *d = ctx;
	if (d->dropped >= d->drop)
		return true;
	d->dropped += len + 1;
	return false;
}

static uint64_t jl_bytes(const struct pw_flowstore *s)
{
	char **files = jl_files(s);
	uint64_t t = file_size(s->alerts);
	for (size_t i = 0; files[i]; i++)
		t += file_size(files[i]);
	free_files(files);
	return t;
}

static long count_lines(const char *path)
{
	size_t len;
	int errn;
	char *t = slurp(path, &len, &errn);
	long n = 0;
	for (size_t i = 0; t && i < len; i++)
		n += t[i] == '\n';
	free(t);
	return n;
}

static long jl_retain(struct pw_flowstore *s, int64_t now, struct pw_buf *err)
{
	long removed = 0;
	char **files = jl_files(s);
	int rc = 0;
	if (s->o.max_age) {
		struct age_ctx a = { now - s->o.max_age, "end_time" };
		for (size_t i = 0; files[i] && rc == 0; i++)
			rc = jl_rewrite(files[i], keep_young, &a, &removed, err);
		long ignored = 0;
		struct age_ctx al = { now - s->o.max_age, "time" };
		if (rc == 0)
			rc = jl_rewrite(s->alerts, keep_young, &al, &ignored, err);
	}
	if (rc == 0 && s->o.max_bytes) {
		/* whole rotated files first, oldest first; then the oldest
		   lines of flows.jsonl */
		for (size_t i = 0; files[i + 1] && rc == 0; i++) {
			uint64_t total = jl_bytes(s);
			if (total <= s->o.max_bytes)
				break;
			long n = count_lines(files[i]);
			if (unlink(files[i]) < 0 && errno != ENOENT) {
				pw_buf_printf(err, "%s: %s", files[i], strerror(errno));
				rc = -1;
			} else {
				removed += n;
			}
		}
		uint64_t total = jl_bytes(s);
		if (rc == 0 && total > s->o.max_bytes) {
			struct drop_ctx d = { total - s->o.max_bytes, 0 };
			rc = jl_rewrite(s->flows, keep_after, &d, &removed, err);
		}
	}
	free_files(files);
	return rc < 0 ? -1 : removed;
}

void pw_flowstore_alert_json(const struct pw_alert_event *a, struct pw_buf *b)
{
	pw_buf_printf(b, "{\"time\":%" PRId64 ",\"name\":", a->time);
	pw_flow_json_str(b, a->name, strlen(a->name));
	pw_buf_printf(b, ",\"severity\":%d,\"description\":", a->severity);
	pw_flow_json_str(b, a->description, strlen(a->description));
	pw_buf_puts(b, ",\"summary\":");
	pw_flow_json_str(b, a->summary, strlen(a->summary));
	pw_buf_puts(b, ",\"record\":");
	pw_flow_json_str(b, a->record, strlen(a->record));
	pw_buf_printf(b, ",\"value\":%.17g}", a->value);
}

static int alert_parse(const char *line, size_t len, struct pw_alert_event *a)
{
	yaml_parser_t p;
	yaml_document_t d;
	int rc = -1;
	memset(a, 0, sizeof(*a));
	if (!yaml_parser_initialize(&p))
		return -1;
	yaml_parser_set_input_string(&p, (const unsigned char *)line, len);
	if (!yaml_parser_load(&p, &d)) {
		yaml_parser_delete(&p);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(&d);
	if (root && root->type == YAML_MAPPING_NODE) {
		rc = 0;
		for (yaml_node_pair_t *kv = root->data.mapping.pairs.start;
		     kv < root->data.mapping.pairs.top; kv++) {
			yaml_node_t *k = yaml_document_get_node(&d, kv->key);
			yaml_node_t *v = yaml_document_get_node(&d, kv->value);
			if (!k || !v || k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE)
				continue;
			const char *ks = (const char *)k->data.scalar.value;
			const char *vs = (const char *)v->data.scalar.value;
			if (!strcmp(ks, "time"))
				a->time = strtoll(vs, NULL, 10);
			else if (!strcmp(ks, "severity"))
				a->severity = atoi(vs);
			else if (!strcmp(ks, "value"))
				a->value = strtod(vs, NULL);
			else if (!strcmp(ks, "name"))
				snprintf(a->name, sizeof(a->name), "%s", vs);
			else if (!strcmp(ks, "description"))
				snprintf(a->description, sizeof(a->description), "%s", vs);
			else if (!strcmp(ks, "summary"))
				snprintf(a->summary, sizeof(a->summary), "%s", vs);
			else if (!strcmp(ks, "record"))
				snprintf(a->record, sizeof(a->record), "%s", vs);
		}
	}
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	return rc;
}

static int jl_alerts(struct pw_flowstore *s, int64_t since,
		     int (*cb)(void *, const struct pw_alert_event *), void *arg, struct pw_buf *err)
{
	size_t len;
	int errn;
	char *text = slurp(s->alerts, &len, &errn);
	if (!text) {
		if (errn == ENOENT)
			return 0;
		pw_buf_printf(err, "%s: %s", s->alerts, strerror(errn));
		return -1;
	}
	struct pw_alert_event *a = pw_xmalloc(sizeof(*a));
	size_t lineno = 0;
	int res = 0;
	for (size_t off = 0; off < len;) {
		char *nl = memchr(text + off, '\n', len - off);
		lineno++;
		if (!nl)
			break;
		size_t l = (size_t)(nl - (text + off));
		if (l && alert_parse(text + off, l, a) < 0) {
			pw_buf_printf(err, "%s:%zu:1: error: not a JSON object", s->alerts, lineno);
			res = -1;
			break;
		}
		if (l && a->time >= since && cb(arg, a))
			break;
		off += l + 1;
	}
	free(a);
	free(text);
	return res;
}

/* ---- the interface ------------------------------------------------------------------------ */

struct pw_flowstore *pw_flowstore_open(const struct pw_flowstore_opts *o, struct pw_buf *err)
{
	struct pw_flowstore *s = pw_xcalloc(1, sizeof(*s));
	s->o = *o;
	s->path = pw_xstrdup(o->path ? o->path : "");
	s->o.path = s->path;
	if (!*s->path) {
		pw_buf_puts(err, "no store path");
		goto fail;
	}
	if (o->kind == PW_FLOWSTORE_SQLITE) {
		struct stat st;
		if (o->read_only && stat(s->path, &st) < 0) {
			pw_buf_printf(err, "%s: %s", s->path, strerror(errno));
			goto fail;
		}
		if (sq_open(s, err) < 0)
			goto fail;
	} else {
		struct stat st;
		struct pw_buf b;
		size_t n = strlen(s->path);
		while (n > 1 && s->path[n - 1] == '/')
			s->path[--n] = 0;
		pw_buf_init(&b);
		if (stat(s->path, &st) == 0 && S_ISDIR(st.st_mode)) {
			pw_buf_printf(&b, "%s/flows.jsonl", s->path);
			s->flows = b.s;
			pw_buf_init(&b);
			pw_buf_printf(&b, "%s/alerts.jsonl", s->path);
			s->alerts = b.s;
		} else if (ends_with(s->path, ".jsonl")) {
			/* the flows file itself; alerts beside it */
			s->flows = pw_xstrdup(s->path);
			const char *slash = strrchr(s->path, '/');
			pw_buf_printf(&b, "%.*salerts.jsonl", slash ? (int)(slash - s->path + 1) : 0,
				      s->path);
			s->alerts = b.s;
			if (o->read_only && stat(s->path, &st) < 0) {
				pw_buf_printf(err, "%s: %s", s->path, strerror(errno));
				goto fail;
			}
		} else if (o->read_only) {
			pw_buf_printf(err, "%s: %s", s->path,
				      stat(s->path, &st) < 0 ? strerror(errno) : "not a directory");
			goto fail;
		} else if (mkdir(s->path, 0755) < 0) {
			pw_buf_printf(err, "%s: %s", s->path, strerror(errno));
			goto fail;
		} else {
			pw_buf_printf(&b, "%s/flows.jsonl", s->path);
			s->flows = b.s;
			pw_buf_init(&b);
			pw_buf_printf(&b, "%s/alerts.jsonl", s->path);
			s->alerts = b.s;
		}
	}
	return s;
fail:
	pw_flowstore_close(s);
	return NULL;
}

void pw_flowstore_close(struct pw_flowstore *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->ins);
	sqlite3_finalize(s->ins_pol);
	sqlite3_finalize(s->ins_alert);
	if (s->db)
		sqlite3_close(s->db);
	free(s->flows);
	free(s->alerts);
	free(s->path);
	free(s);
}

static bool writable(struct pw_flowstore *s, struct pw_buf *err)
{
	if (!s->o.read_only)
		return true;
	pw_buf_printf(err, "%s: opened read-only", s->path);
	return false;
}

int pw_flowstore_add(struct pw_flowstore *s, const struct pw_flow *v, size_t n, struct pw_buf *err)
{
	if (!writable(s, err)) {
		s->st.failed += n;
		return -1;
	}
	int rc = s->o.kind == PW_FLOWSTORE_SQLITE ? sq_add(s, v, n, err) : jl_add(s, v, n, err);
	if (rc < 0) {
		s->st.failed += n;
		return -1;
	}
	s->st.written += n;
	if ((s->o.max_age || s->o.max_bytes) && !s->o.manual_retain) {
		int64_t now = (int64_t)time(NULL);
		if (now - s->last_retain >= RETAIN_EVERY_S) {
			struct pw_buf e;
			pw_buf_init(&e);
			/* the records are in; a retention problem is for the
			   next time (and the counters) */
			pw_flowstore_retain(s, now, &e);
			pw_buf_release(&e);
		}
	}
	return 0;
}

int pw_flowstore_query(struct pw_flowstore *s, const struct pw_flow_filter *f, size_t limit,
		       bool tail, int (*cb)(void *arg, const struct pw_flow *r), void *arg,
		       struct pw_buf *err)
{
	struct pw_flow_filter any = { .action = -1 };
	if (!f)
		f = &any;
	return s->o.kind == PW_FLOWSTORE_SQLITE ? sq_query(s, f, limit, tail, cb, arg, err)
						: jl_query(s, f, limit, tail, cb, arg, err);
}

long pw_flowstore_retain(struct pw_flowstore *s, int64_t now, struct pw_buf *err)
{
	if (!writable(s, err))
		return -1;
	s->last_retain = now;
	long n = s->o.kind == PW_FLOWSTORE_SQLITE ? sq_retain(s, now, err) : jl_retain(s, now, err);
	if (n > 0)
		s->st.removed += (uint64_t)n;
	return n;
}

int pw_flowstore_add_alert(struct pw_flowstore *s, const struct pw_alert_event *a,
			   struct pw_buf *err)
{
	if (!writable(s, err))
		return -1;
	if (s->o.kind == PW_FLOWSTORE_SQLITE)
		return sq_add_alert(s, a, err);
	struct pw_buf b;
	pw_buf_init(&b);
	pw_flowstore_alert_json(a, &b);
	pw_buf_putc(&b, '\n');
	int rc = jl_write(s->alerts, b.s, b.len, s->path, err);
	pw_buf_release(&b);
	return rc;
}

int pw_flowstore_alerts(struct pw_flowstore *s, int64_t since,
			int (*cb)(void *arg, const struct pw_alert_event *a), void *arg,
			struct pw_buf *err)
{
	return s->o.kind == PW_FLOWSTORE_SQLITE ? sq_alerts(s, since, cb, arg, err)
						: jl_alerts(s, since, cb, arg, err);
}

void pw_flowstore_stats(const struct pw_flowstore *s, struct pw_flowstore_stats *out)
{
	*out = s->st;
	if (s->o.kind == PW_FLOWSTORE_SQLITE) {
		struct pw_buf b;
		pw_buf_init(&b);
		pw_buf_printf(&b, "%s-wal", s->path);
		out->bytes = file_size(s->path) + file_size(b.s);
		pw_buf_release(&b);
	} else {
		out->bytes = jl_bytes(s);
	}
}
