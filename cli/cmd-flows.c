// SPDX-License-Identifier: Apache-2.0
/*
 * podwall flows: the flow records of one or more stores (lib/flow/store.h),
 * filtered as hubble observe filters, merged by end_time; --follow prints
 * those added while it runs.  --import writes a store from JSON lines (for
 * tests and migrations), with retention as of --now.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/flow/store.h"
#include "cli.h"

static const char flows_usage[] =
	"usage: podwall flows --store SPEC [--store SPEC ...] [filters] [options]\n"
	"       podwall flows --agent SOCKET|URL [filters] [options]\n"
	"       podwall flows --lab NAME [filters] [options]\n"
	"\n"
	"Print the flow records kept in stores, or by running agents (started\n"
	"with a flow store): oldest first, merged by end_time when there are several.\n"
	"Each names the tier, policy and rule that decided it, and what the staged\n"
	"policies would.  Fields and names are Calico's flow logs'.\n"
	"\n"
	"      --agent SOCKET|URL  a running agent (what it holds for the current\n"
	"                          interval is flushed first); repeatable\n"
	"      --lab NAME          every node of lab NAME: its agent, or its store\n"
	"                          file when the agent does not answer\n"
	"      --store SPEC        sqlite:FILE, jsonl:DIR, or a path (a directory or\n"
	"                          *.jsonl: JSON lines; another: SQLite); repeatable\n"
	"filters (all must hold; an END is NS/POD, NS/WORKLOAD-*, a name alone, an\n"
	"address or a CIDR):\n"
	"  -n, --namespace NS      either end in NS (a bare --pod name: in NS)\n"
	"      --pod END           either end\n"
	"      --from END          the source\n"
	"      --to END            the destination\n"
	"      --verdict V         allowed or denied\n"
	"      --policy NAME       a policy (enforced or pending) that decided: NAME\n"
	"                          or TIER|NAME\n"
	"      --port N            the destination port\n"
	"      --since T           ended at or after T: a duration ago (30s, 5m, 2h,\n"
	"                          1d), RFC 3339 (2026-05-28T10:00:00Z) or Unix seconds\n"
	"      --until T           started at or before T\n"
	"options:\n"
	"      --last N            the newest N matching records only\n"
	"      --follow            then print matching records as they are added\n"
	"                          (every 200 ms), until SIGINT or SIGTERM\n"
	"      --follow-for D      with --follow: stop after the duration D (10s)\n"
	"  -o, --output FORMAT     table (default), json (one object a line) or csv\n"
	"writing a store (tests, migrations):\n"
	"      --import FILE       append the records of FILE (JSON lines as -o json\n"
	"                          prints; - for stdin) to the first --store, all or\n"
	"                          nothing, then apply retention, and exit\n"
	"      --max-age D         retention: remove records that ended before D ago\n"
	"      --max-bytes N       retention: remove the oldest records past N bytes\n"
	"                          (k, M, G suffixes: 1024s)\n"
	"      --rotate-bytes N    jsonl: rotate flows.jsonl past N bytes\n"
	"      --keep-files N      jsonl: rotated files kept (default 5)\n"
	"      --now T             the time retention counts from (default: now)\n"
	"\n"
	"Exit status: 0 done, 2 bad usage or input (a store that cannot be read).\n";

/* ---- times, durations, sizes ---------------------------------------------------- */

/* "500ms", "30s", "5m", "2h", "1d" into milliseconds; -1 when malformed */
int64_t cli_duration_ms(const char *s)
{
	int64_t ms;
	return s && pw_duration_parse_ms(s, false, &ms) == 0 ? ms : -1;
}

/* T: a duration ago, RFC 3339, or Unix seconds; -1 when malformed */
int64_t cli_time_arg(const char *s, int64_t now)
{
	char *end;
	if (!s || !*s)
		return -1;
	int64_t d = cli_duration_ms(s);
	if (d >= 0)
		return now - d / 1000;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*end && *s >= '0' && *s <= '9')
		return errno ? -1 : v;
	/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm, n = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5 || hh > 23 || mm > 59)
			return -1;
		off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	return (int64_t)timegm(&tm) - off;
}

/* N with an optional k, M, G (1024s); 0 and false when malformed */
static bool size_arg(const char *s, uint64_t *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	int shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10, end++;
	else if (*end == 'M')
		shift = 20, end++;
	else if (*end == 'G')
		shift = 30, end++;
	if (*end || errno || v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

/* ---- reading the stores --------------------------------------------------------- */

static int take(void *arg, const struct pw_flow *r)
{
	struct flows_recs *rs = arg;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = pw_xrealloc(rs->v, rs->cap * sizeof(*rs->v));
	}
	rs->v[rs->n++] = *r;
	return 0;
}

/* stable by end_time: merge sort (qsort is not stable) */
static void sort_recs(struct pw_flow *v, size_t n, struct pw_flow *tmp)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	sort_recs(v, h, tmp);
	sort_recs(v + h, n - h, tmp);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = v[j].end_time < v[i].end_time ? v[j++] : v[i++];
	while (i < h)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

void flows_release(struct flows_stores *st)
{
	for (size_t i = 0; i < st->n; i++)
		pw_flowstore_close(st->v[i]);
	free(st->v);
	st->v = NULL;
	st->n = 0;
	for (size_t i = 0; i < st->nagents; i++)
		free(st->agents[i]);
	free(st->agents);
	st->agents = NULL;
	st->nagents = 0;
}

/*
 * HOOK for --lab NAME and --agent SOCKET (the capture side adds them): the
 * stores a query reads, from their specs.  A lab's records are in its state
 * directory's store; give that spec here.  An agent that answers over its
 * socket is not a store: read its records there and merge them as
 * flows_collect() merges stores'.  Prints its errors; 0 or -1.
 */
int flows_open_stores(const char *const *specs, size_t n, struct flows_stores *out)
{
	struct pw_buf err;
	pw_buf_init(&err);
	out->v = pw_xcalloc(n ? n : 1, sizeof(*out->v));
	out->n = 0;
	for (size_t i = 0; i < n; i++) {
		struct pw_flowstore_opts o;
		if (pw_flowstore_spec(specs[i], &o) < 0) {
			cli_error("--store %s: want sqlite:FILE, jsonl:DIR or a path",
				  cli_q(specs[i]));
			goto fail;
		}
		o.read_only = true;
		pw_buf_reset(&err);
		struct pw_flowstore *s = pw_flowstore_open(&o, &err);
		if (!s) {
			cli_error("--store %s: %s", cli_q(specs[i]), err.s);
			goto fail;
		}
		out->v[out->n++] = s;
	}
	pw_buf_release(&err);
	return 0;
fail:
	pw_buf_release(&err);
	flows_release(out);
	return -1;
}

int flows_open_sources(const char *const *specs, size_t n, const char *lab,
		       struct flows_stores *st)
{
	/* the agents given stay: the stores are added to them */
	struct flows_stores opened = { 0 };
	if (flows_open_stores(specs, n, &opened) < 0)
		return -1;
	st->v = opened.v;
	st->n = opened.n;
	return lab ? flows_lab_sources(lab, st) : 0;
}

/* The matching records of every store, by end_time (then store, then
   insertion); the newest last ones when last.  0 or -1 (printed). */
int flows_collect(struct flows_stores *st, const struct pw_flow_filter *f, size_t last,
		  struct flows_recs *out)
{
	struct pw_buf err;
	pw_buf_init(&err);
	out->n = 0;
	for (size_t i = 0; i < st->n; i++) {
		pw_buf_reset(&err);
		if (pw_flowstore_query(st->v[i], f, last, last > 0, take, out, &err) < 0) {
			fprintf(stderr, "%s\n", err.s);
			pw_buf_release(&err);
			return -1;
		}
	}
	for (size_t i = 0; i < st->nagents; i++) {
		pw_buf_reset(&err);
		if (flows_agent_query(st->agents[i], f, take, out, &err) < 0) {
			cli_error("flows: agent %s: %s", st->agents[i], err.s);
			pw_buf_release(&err);
			return -1;
		}
	}
	pw_buf_release(&err);
	if (st->n + st->nagents > 1 && out->n > 1) {
		struct pw_flow *tmp = pw_xmalloc(out->n * sizeof(*tmp));
		sort_recs(out->v, out->n, tmp);
		free(tmp);
	}
	if (last && out->n > last) {
		memmove(out->v, out->v + (out->n - last), last * sizeof(*out->v));
		out->n = last;
	}
	return 0;
}

/* ---- --follow ------------------------------------------------------------------------ */

static volatile sig_atomic_t stop_follow;

static void on_signal(int sig)
{
	(void)sig;
	stop_follow = 1;
}

/* The records printed at the newest end_time so far, as JSON: a record
   seen again at that time is not printed again. */
struct seen {
	int64_t t;
	char **v;
	size_t n, cap;
};

static void seen_reset(struct seen *s, int64_t t)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	s->n = 0;
	s->t = t;
}

/* true when r is new (and remember it) */
static bool seen_add(struct seen *s, const struct pw_flow *r, struct pw_buf *b)
{
	if (r->end_time < s->t)
		return false;
	if (r->end_time > s->t)
		seen_reset(s, r->end_time);
	pw_buf_reset(b);
	pw_flow_json(r, b);
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], b->s))
			return false;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = pw_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = pw_xstrdup(b->s);
	return true;
}

/*
 * Print what is added, polling every 200 ms: the records that end at or
 * after the newest printed.  (A record added later with an older end_time
 * than one already printed is not shown; the agent writes in time order.)
 */
static int follow(struct flows_stores *st, struct pw_flow_filter f, enum pw_format fmt,
		  struct seen *seen, int64_t for_ms, const struct pw_out *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	double t0 = cli_now_ms();
	struct flows_recs rs = { 0 };
	struct pw_buf b;
	int rc = 0;
	pw_buf_init(&b);
	while (!stop_follow) {
		if (for_ms >= 0 && cli_now_ms() - t0 >= (double)for_ms)
			break;
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (stop_follow)
			break;
		struct pw_flow_filter g = f;
		if (seen->t > g.since)
			g.since = seen->t;
		if (flows_collect(st, &g, 0, &rs) < 0) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < rs.n; i++)
			if (seen_add(seen, &rs.v[i], &b))
				pw_flow_write(&rs.v[i], fmt, o);
		fflush(stdout);
	}
	free(rs.v);
	pw_buf_release(&b);
	return rc;
}

/* ---- --import -------------------------------------------------------------------------- */

struct import_opts {
	const char *file;
	int64_t max_age, now;
	uint64_t max_bytes, rotate_bytes;
	uint32_t keep_files;
	bool have_now;
};

/* Every line of FILE parsed (all or nothing), then added in one
   transaction, then retention as of --now. */
static int flows_import(const char *spec, const struct import_opts *io)
{
	FILE *f = strcmp(io->file, "-") ? fopen(io->file, "r") : stdin;
	const char *name = strcmp(io->file, "-") ? io->file : "<stdin>";
	if (!f)
		return cli_error("--import %s: %s", cli_q(io->file), strerror(errno));
	struct flows_recs rs = { 0 };
	struct pw_buf err;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rc = -1;
	pw_buf_init(&err);
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		size_t k = 0;
		while (k < (size_t)len && (line[k] == ' ' || line[k] == '\t'))
			k++;
		if (k == (size_t)len)
			continue;
		struct pw_flow r;
		int col;
		pw_buf_reset(&err);
		if (pw_flow_parse_json_at(line, (size_t)len, &r, &col, &err) < 0) {
			fprintf(stderr, "%s:%zu:%d: error: %s\n", name, lineno, col, err.s);
			goto out;
		}
		take(&rs, &r);
	}
	if (ferror(f)) {
		cli_error("--import %s: %s", cli_q(io->file), strerror(errno));
		goto out;
	}
	struct pw_flowstore_opts o;
	if (pw_flowstore_spec(spec, &o) < 0) {
		cli_error("--store %s: want sqlite:FILE, jsonl:DIR or a path", cli_q(spec));
		goto out;
	}
	o.max_age = io->max_age;
	o.max_bytes = io->max_bytes;
	o.rotate_bytes = io->rotate_bytes;
	o.keep_files = io->keep_files;
	o.manual_retain = true;
	pw_buf_reset(&err);
	struct pw_flowstore *s = pw_flowstore_open(&o, &err);
	if (!s) {
		cli_error("--store %s: %s", cli_q(spec), err.s);
		goto out;
	}
	/* jsonl rotates between adds: one add per record there, so that
	   --rotate-bytes cuts where it says; SQLite: one transaction */
	size_t step = o.kind == PW_FLOWSTORE_JSONL && io->rotate_bytes ? 1 : rs.n;
	rc = 0;
	for (size_t i = 0; i < rs.n && rc == 0; i += step) {
		pw_buf_reset(&err);
		rc = pw_flowstore_add(s, rs.v + i, rs.n - i < step ? rs.n - i : step, &err);
	}
	if (rc == 0 && (io->max_age || io->max_bytes)) {
		pw_buf_reset(&err);
		rc = pw_flowstore_retain(s, io->have_now ? io->now : (int64_t)time(NULL), &err) < 0
			     ? -1
			     : 0;
	}
	if (rc < 0)
		cli_error("--store %s: %s", cli_q(spec), err.s);
	pw_flowstore_close(s);
out:
	if (f != stdin)
		fclose(f);
	free(line);
	free(rs.v);
	pw_buf_release(&err);
	return rc;
}

/* --since or --until T into *t (0 is "open": the epoch itself as 1) */
static int time_opt(const char *opt, const char *v, int64_t now, int64_t *t)
{
	int64_t x = cli_time_arg(v, now);
	if (x < 0)
		return cli_error("flows: --%s %s: want a duration ago (30s, 5m, 2h, 1d), RFC 3339 "
				 "or Unix seconds",
				 opt, cli_q(v));
	*t = x ? x : 1;
	return 0;
}

/* ---- the command ----------------------------------------------------------------------- */

int cmd_flows(int argc, char **argv)
{
	struct pw_flow_filter f = { .action = -1 };
	struct import_opts io = { 0 };
	const char **specs = pw_xcalloc((size_t)argc + 1, sizeof(*specs));
	size_t nspecs = 0, last = 0;
	const char *output = NULL;
	bool follow_on = false;
	const char *lab = NULL;
	int64_t follow_for = -1, now = (int64_t)time(NULL);
	int rc = EXIT_USAGE;
	struct flows_stores st = { 0 };
	for (int i = 1; i < argc; i++) {
		int bad = 0;
		const char *v;
		if (cli_is_help(argv[i])) {
			fputs(flows_usage, stdout);
			rc = 0;
			goto out;
		}
		if ((v = cli_optval(argc, argv, &i, NULL, "--store", &bad))) {
			specs[nspecs++] = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--agent", &bad))) {
			st.agents = pw_xrealloc(st.agents, (st.nagents + 1) * sizeof(char *));
			st.agents[st.nagents++] = pw_xstrdup(v);
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--lab", &bad))) {
			lab = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, "-n", "--namespace", &bad))) {
			f.ns = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--pod", &bad))) {
			f.pod = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--from", &bad))) {
			f.from = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--to", &bad))) {
			f.to = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--policy", &bad))) {
			if (!*v || v[strlen(v) - 1] == '|') {
				cli_error("flows: --policy %s: want NAME or TIER|NAME", cli_q(v));
				goto out;
			}
			f.policy = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--verdict", &bad))) {
			if (!strcmp(v, "allowed") || !strcmp(v, "allow")) {
				f.action = PW_FLOW_ALLOW;
			} else if (!strcmp(v, "denied") || !strcmp(v, "deny")) {
				f.action = PW_FLOW_DENY;
			} else {
				cli_error("flows: --verdict %s: want allowed or denied", cli_q(v));
				goto out;
			}
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--port", &bad))) {
			char *end;
			long p = strtol(v, &end, 10);
			if (*v < '0' || *v > '9' || *end || p < 1 || p > 65535) {
				cli_error("flows: --port %s: want 1 to 65535", cli_q(v));
				goto out;
			}
			f.port = (int)p;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--since", &bad))) {
			if (time_opt("since", v, now, &f.since) < 0)
				goto out;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--until", &bad))) {
			if (time_opt("until", v, now, &f.until) < 0)
				goto out;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--last", &bad))) {
			char *end;
			unsigned long long n = strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || *end || n < 1 || n > 100000000) {
				cli_error("flows: --last %s: want a number from 1", cli_q(v));
				goto out;
			}
			last = (size_t)n;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--follow-for", &bad))) {
			if ((follow_for = cli_duration_ms(v)) < 0) {
				cli_error("flows: --follow-for %s: want a duration (500ms, 10s, 5m)",
					  cli_q(v));
				goto out;
			}
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, "-o", "--output", &bad))) {
			output = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--import", &bad))) {
			io.file = v;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--max-age", &bad))) {
			int64_t ms = cli_duration_ms(v);
			if (ms < 1000) {
				cli_error("flows: --max-age %s: want a duration (30s, 5m, 2h, 1d)",
					  cli_q(v));
				goto out;
			}
			io.max_age = ms / 1000;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--max-bytes", &bad))) {
			if (!size_arg(v, &io.max_bytes) || !io.max_bytes) {
				cli_error("flows: --max-bytes %s: want a size (4096, 64k, 1M)", cli_q(v));
				goto out;
			}
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--rotate-bytes", &bad))) {
			if (!size_arg(v, &io.rotate_bytes) || !io.rotate_bytes) {
				cli_error("flows: --rotate-bytes %s: want a size (4096, 64k, 1M)",
					  cli_q(v));
				goto out;
			}
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--keep-files", &bad))) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (*v < '0' || *v > '9' || *end || n < 1 || n > 1000) {
				cli_error("flows: --keep-files %s: want 1 to 1000", cli_q(v));
				goto out;
			}
			io.keep_files = (uint32_t)n;
			continue;
		}
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--now", &bad))) {
			if ((io.now = cli_time_arg(v, now)) < 0) {
				cli_error("flows: --now %s: want RFC 3339 or Unix seconds", cli_q(v));
				goto out;
			}
			io.have_now = true;
			continue;
		}
		if (bad)
			goto out;
		if (!strcmp(argv[i], "--follow")) {
			follow_on = true;
			continue;
		}
		cli_error("flows: unknown %s %s", argv[i][0] == '-' ? "option" : "argument",
			  cli_q(argv[i]));
		fputs(flows_usage, stderr);
		goto out;
	}
	static const char *const formats[] = { "table", "json", "csv", NULL };
	if (output && !cli_output_ok(output, formats)) {
		cli_error("flows: -o %s: want table, json or csv", cli_q(output));
		goto out;
	}
	if (!nspecs && !st.nagents && !lab) {
		cli_error("flows: give the records' store with --store SPEC, --agent or --lab");
		fputs(flows_usage, stderr);
		goto out;
	}
	if (io.file) {
		if (!nspecs) {
			cli_error("flows: --import writes to the first --store");
			goto out;
		}
		rc = flows_import(specs[0], &io) < 0 ? EXIT_USAGE : 0;
		goto out;
	}
	if (io.max_age || io.max_bytes || io.rotate_bytes || io.keep_files || io.have_now) {
		cli_error("flows: --max-age, --max-bytes, --rotate-bytes, --keep-files and --now "
			  "go with --import");
		goto out;
	}
	if (follow_for >= 0 && !follow_on) {
		cli_error("flows: --follow-for goes with --follow");
		goto out;
	}
	enum pw_format fmt = (enum pw_format)pw_format_parse(output);
	if (flows_open_sources(specs, nspecs, lab, &st) < 0)
		goto out;
	struct flows_recs rs = { 0 };
	if (flows_collect(&st, &f, last, &rs) < 0) {
		free(rs.v);
		goto out;
	}
	struct pw_out o = pw_out_file(stdout);
	struct seen seen = { 0 };
	struct pw_buf b;
	pw_buf_init(&b);
	pw_flow_write_begin(fmt, &o);
	for (size_t i = 0; i < rs.n; i++) {
		pw_flow_write(&rs.v[i], fmt, &o);
		if (follow_on)
			seen_add(&seen, &rs.v[i], &b);
	}
	free(rs.v);
	fflush(stdout);
	rc = 0;
	if (follow_on && follow(&st, f, fmt, &seen, follow_for, &o) < 0)
		rc = EXIT_USAGE;
	seen_reset(&seen, 0);
	free(seen.v);
	pw_buf_release(&b);
out:
	flows_release(&st);
	free(specs);
	return rc;
}
