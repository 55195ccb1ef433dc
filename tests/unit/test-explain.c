// SPDX-License-Identifier: Apache-2.0
/*
 * The library's answers on a view (lib/explain.h, lib/matrix-out.h) against
 * the command line's: each question is asked of pw_eval_write or
 * pw_matrix_write and of `$PODWALL eval|matrix` (default ./podwall) on the
 * same input, and the bytes and exit status must be equal.  An error's
 * text must be what the command line prints after "podwall: ".
 */
#include <stdlib.h>
#include <sys/wait.h>

#include "../../lib/explain.h"
#include "../../lib/matrix-out.h"
#include "t.h"

static const char *const svc_dir = "tests/cli/0069-eval-service";
static const char *const port_dir = "tests/cli/0087-eval-named-port";
static const char *const seed_dir = "tests/cases/000-seed000";

static const struct {
	const char *dir;
	bool staged;
	const char *ns, *src, *dst, *port, *fmt;
} evals[] = {
	{ seed_dir, false, NULL, "miztiik-automation-ns/k-shop-blue",
	  "miztiik-automation-ns/k-shop-red", "TCP/80", "json" },
	{ seed_dir, false, "miztiik-automation-ns", "k-shop-red", "k-shop-blue",
	  "UDP/53", "yaml" },
	{ seed_dir, false, NULL, "miztiik-automation-ns/k-shop-red",
	  "198.51.100.7", "UDP/53", "json" },
	{ seed_dir, false, NULL, "miztiik-automation-ns/k-shop-red",
	  "miztiik-automation-ns/k-shop-red", "TCP/80", "table" },
	{ svc_dir, false, NULL, "dev/centos", "kube-dns.kube-system", "TCP/53", "json" },
	{ svc_dir, true, NULL, "dev/centos", "kube-dns.kube-system", "UDP/53", "json" },
	{ svc_dir, true, NULL, "dev/centos", "svc/nginx-svc", "TCP/80", "yaml" },
	{ svc_dir, true, NULL, "dev/centos", "dev/nginx-svc", "TCP/80", "table" },
	{ svc_dir, false, NULL, "dev/centos", "10.96.20.10", "TCP/8080", "json" },
	{ svc_dir, true, NULL, "dev/centos", "api.example.com=203.0.113.20", "TCP/443", "json" },
	{ svc_dir, true, NULL, "dev/centos", "API.example.com", "TCP/443", "table" },
	{ port_dir, false, NULL, "app/cli", "app/web", "http", "json" },
	{ port_dir, false, NULL, "app/cli", "app/web", "TCP/http", "yaml" },
	{ port_dir, false, NULL, "app/cli", "app/web", "http", "table" },
	/* errors */
	{ svc_dir, false, NULL, "svc/nginx-svc", "dev/centos", "TCP/80", "json" },
	{ svc_dir, false, NULL, "dev/nope", "dev/centos", "TCP/80", "json" },
	{ svc_dir, false, NULL, "10.0.0.256", "dev/centos", "TCP/80", "json" },
	{ svc_dir, false, NULL, "dev/centos", "kube-dns.kube-system", "ICMP/8", "json" },
	{ svc_dir, false, NULL, "dev/centos", "svc/nginx-svc", "http", "json" },
	{ port_dir, false, NULL, "app/cli", "app/web", "nope", "json" },
	{ port_dir, false, NULL, "app/cli", "1.2.3.4", "http", "json" },
};

static const struct {
	const char *dir;
	bool staged, services;
	const char *ns, *fmt, *port;
} matrices[] = {
	{ seed_dir, false, false, NULL, "json", NULL },
	{ seed_dir, false, false, NULL, "yaml", "TCP/80" },
	{ seed_dir, false, false, "miztiik-automation-ns", "table", NULL },
	{ svc_dir, true, true, NULL, "json", NULL },
	{ svc_dir, true, true, NULL, "csv", NULL },
	{ svc_dir, true, false, NULL, "md", "UDP/53" },
	{ svc_dir, false, true, NULL, "table", NULL },
};

/* A loaded input, as `podwall` loads it (cli_world_load), and what one
   question writes. */
struct state {
	struct pw_cluster c;
	struct pw_engine e, s;
	struct pw_reach r, sr;
	struct pw_view v;
	struct pw_buf lib, err, args, cli; /* outputs, podwall's arguments */
};

static void state_release(struct state *st);

static int state_build(struct state *st, const char *dir, bool staged,
		       const char *ns)
{
	struct pw_diags d;
	pw_diags_init(&d);
	pw_cluster_init(&st->c);
	st->c.apply_ns = ns;
	pw_cluster_load_path(&st->c, dir, &d);
	pw_cluster_finish(&st->c, &d);
	size_t errors = d.errors;
	pw_diags_release(&d);
	if (errors || pw_engine_build(&st->e, &st->c, 0) < 0 ||
	    pw_reach_build(&st->r, &st->e) < 0)
		return -1;
	pw_view_init(&st->v, &st->c, &st->e);
	st->v.reach = &st->r;
	if (staged) {
		if (pw_engine_build(&st->s, &st->c, PW_ENGINE_STAGED) < 0 ||
		    pw_reach_build(&st->sr, &st->s) < 0)
			return -1;
		st->v.staged = &st->s;
		st->v.staged_reach = &st->sr;
	}
	return 0;
}

static int state_load(struct state *st, const char *dir, bool staged,
		      const char *ns)
{
	memset(st, 0, sizeof(*st));
	pw_buf_init(&st->lib);
	pw_buf_init(&st->err);
	pw_buf_init(&st->args);
	pw_buf_init(&st->cli);
	if (state_build(st, dir, staged, ns) == 0)
		return 0;
	T_CHECK(0, "cannot load %s", dir);
	state_release(st);
	return -1;
}

/* Also after a failed state_load: every part was zeroed first. */
static void state_release(struct state *st)
{
	pw_view_release(&st->v);
	pw_reach_release(&st->r);
	pw_reach_release(&st->sr);
	pw_engine_release(&st->e);
	pw_engine_release(&st->s);
	pw_cluster_release(&st->c);
	pw_buf_release(&st->lib);
	pw_buf_release(&st->err);
	pw_buf_release(&st->args);
	pw_buf_release(&st->cli);
}

/* `$PODWALL args` (a shell command line): its stdout, or with err its
   stderr, and its exit status */
static int podwall(const char *args, bool err, struct pw_buf *out)
{
	const char *bin = getenv("PODWALL");
	char *cmd;
	if (asprintf(&cmd, err ? "'%s' %s 2>&1 >/dev/null" : "'%s' %s 2>/dev/null",
		     bin ? bin : "./podwall", args) < 0)
		return -1;
	FILE *f = popen(cmd, "r");
	free(cmd);
	if (!f)
		return -1;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		pw_buf_add(out, chunk, n);
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool same(const struct pw_buf *a, const struct pw_buf *b)
{
	return a->len == b->len && !memcmp(a->s, b->s, a->len);
}

/* The common flags of a question on the command line. */
static void cli_args(struct pw_buf *b, const char *cmd, const char *dir,
		     bool staged, const char *ns, const char *fmt)
{
	pw_buf_printf(b, "%s -f '%s'%s -o %s", cmd, dir, staged ? " --staged" : "",
		      fmt);
	if (ns)
		pw_buf_printf(b, " -n '%s'", ns);
}

static void check_eval(size_t i)
{
	struct state st;
	if (state_load(&st, evals[i].dir, evals[i].staged, evals[i].ns) < 0)
		return;
	struct pw_eval_req q = { evals[i].src, evals[i].dst, evals[i].port,
				 evals[i].ns, pw_format_parse(evals[i].fmt) };
	struct pw_out o = pw_out_buf(&st.lib);
	int rc = pw_eval_write(&st.v, &q, &o, &st.err);
	cli_args(&st.args, "eval", evals[i].dir, evals[i].staged, evals[i].ns,
		 evals[i].fmt);
	pw_buf_printf(&st.args, " --src '%s' --dst '%s' --port '%s'",
		      evals[i].src, evals[i].dst, evals[i].port);
	int crc = podwall(st.args.s, rc == PW_EVAL_ERROR, &st.cli);
	T_CHECK(rc == crc, "%s: the library returns %d, podwall %d", st.args.s,
		rc, crc);
	if (rc == PW_EVAL_ERROR) {
		T_CHECK(!st.lib.len, "%s: output on an error", st.args.s);
		pw_buf_printf(&st.lib, "podwall: %s\n", st.err.s);
	}
	T_CHECK(same(&st.lib, &st.cli), "%s: the library writes\n%s\npodwall\n%s",
		st.args.s, st.lib.s, st.cli.s);
	/* asked again, the same: nothing of a question stays in the view */
	size_t len = st.lib.len;
	pw_buf_reset(&st.err);
	int rc2 = pw_eval_write(&st.v, &q, &o, &st.err);
	if (rc2 == PW_EVAL_ERROR)
		pw_buf_printf(&st.lib, "podwall: %s\n", st.err.s);
	T_CHECK(rc2 == rc && st.lib.len == 2 * len &&
			!memcmp(st.lib.s, st.lib.s + len, len),
		"%s: asked twice, answered otherwise", st.args.s);
	state_release(&st);
}

static void check_matrix(size_t i)
{
	struct state st;
	if (state_load(&st, matrices[i].dir, matrices[i].staged,
		       matrices[i].ns) < 0)
		return;
	struct pw_matrix_port port;
	struct pw_matrix_req q = { pw_format_parse(matrices[i].fmt), matrices[i].ns,
				   matrices[i].services, NULL, 0 };
	int proto, n;
	if (matrices[i].port && pw_protoport_parse(matrices[i].port, &proto, &n) == 0) {
		port = (struct pw_matrix_port){ proto, (unsigned)n };
		q.ports = &port;
		q.nports = 1;
	}
	struct pw_out o = pw_out_buf(&st.lib);
	int rc = pw_matrix_write(&st.v, &q, &o, &st.err);
	cli_args(&st.args, "matrix", matrices[i].dir, matrices[i].staged,
		 matrices[i].ns, matrices[i].fmt);
	if (matrices[i].services)
		pw_buf_puts(&st.args, " --services");
	if (matrices[i].port)
		pw_buf_printf(&st.args, " --port %s", matrices[i].port);
	int crc = podwall(st.args.s, false, &st.cli);
	T_CHECK(rc == 0 && crc == 0, "%s: the library returns %d, podwall %d",
		st.args.s, rc, crc);
	T_CHECK(st.lib.len > 0 && same(&st.lib, &st.cli),
		"%s: the library writes\n%s\npodwall\n%s", st.args.s, st.lib.s,
		st.cli.s);
	state_release(&st);
}

int main(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(evals); i++)
		check_eval(i);
	for (size_t i = 0; i < PW_ARRAY_SIZE(matrices); i++)
		check_matrix(i);
	return T_DONE("explain");
}
