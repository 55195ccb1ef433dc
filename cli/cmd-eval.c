// SPDX-License-Identifier: Apache-2.0
/*
 * podwall eval: one verdict with its reasons, or many (--batch) fast.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "../lib/explain.h"

static const char eval_usage[] =
	"usage: podwall eval -f FILE|DIR|- [-f ...] --src A --dst B --port PROTO/N\n"
	"       podwall eval -f FILE|DIR|- --batch FILE|-\n"
	"       podwall eval --agent SOCKET|URL --src A --dst B --port PROTO/N\n"
	"\n"
	"Decide whether A may open a connection to B, and say which tier, policy\n"
	"and rule decided it.  The port is TCP/N, UDP/N, SCTP/N, UDPLite/N,\n"
	"ICMP/TYPE[/CODE], ICMPv6/TYPE[/CODE], N (TCP), or the name of one of B's\n"
	"containerPorts (http, or TCP/http).  A and B are ns/name (a\n"
	"pod, or a workload by its name), name (in the namespace given by -n,\n"
	"default 'default'), an IPv4/IPv6 address, or for a destination a DNS\n"
	"name, optionally with its address: api.example.com=203.0.113.20.\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"  -n, --namespace NS        namespace of names given without one\n"
	"      --src A, --dst B      the two ends\n"
	"  -p, --port PROTO/N|NAME   the destination port; a NAME (or PROTO/NAME)\n"
	"                            is one of the destination pod's containerPorts\n"
	"      --batch FILE|-        lines 'SRC DST PROTO/PORT' (then up to two\n"
	"                            expected verdicts, ignored); prints each line\n"
	"                            with ALLOW or DENY appended, in input order\n"
	"      --staged              also give the verdict if the staged policies\n"
	"                            were enforced (batch: a fifth column)\n"
	"      --ipblock-excludes-pods  ipBlocks match only addresses outside\n"
	"                            the cluster (netpol-analyzer, Cilium reading)\n"
	"      --hostnetwork-as-pods treat hostNetwork pods like other pods\n"
	"  -o, --output FORMAT       table (default), json or yaml\n"
	"      --agent SOCKET|URL    ask a running agent (podwall agent) instead of\n"
	"                            loading files: the same answer on its state\n"
	"      --stats               timings and peak memory on stderr\n"
	"  -v, --verbose             also list the objects that were skipped\n"
	"\n"
	"Exit status: 0 ALLOW, 1 DENY, 2 bad usage or input (batch: 0 unless an\n"
	"input line is malformed).\n";

/* One question, decided and explained by the library. */
static int eval_one(const struct cli_world *w, const struct cli_opts *o,
		    const char *src, const char *dst, const char *port)
{
	struct pw_eval_req q = { src, dst, port, o->ns, pw_format_parse(o->output) };
	struct pw_out out = pw_out_file(stdout);
	struct pw_buf err;
	pw_buf_init(&err);
	int rc = pw_eval_write(&w->view, &q, &out, &err);
	if (rc == PW_EVAL_ERROR)
		cli_error("%s", err.s);
	pw_buf_release(&err);
	return rc;
}

/* An end of a batch line, resolved once per spelling. */
static const struct pw_end *batch_resolve(const struct cli_world *w,
					  const struct cli_opts *o,
					  struct pw_strmap *cache,
					  struct pw_arena *a, const char *spec,
					  bool as_dst)
{
	struct pw_end *r = pw_strmap_get(cache, spec);
	if (r)
		return r;
	r = pw_arena_alloc(a, sizeof(*r));
	pw_resolve_end(&w->view, a, spec, o->ns, as_dst, r);
	pw_strmap_put(cache, pw_arena_strdup(a, spec), r);
	return r;
}

static bool is_verdict(const char *s)
{
	return !strcasecmp(s, "allow") || !strcasecmp(s, "deny");
}

static int eval_batch(const struct cli_world *w, const struct cli_opts *o,
		      const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		cli_error("cannot open %s: %s", cli_q(path), strerror(errno));
		return EXIT_USAGE;
	}
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	struct pw_strmap cache[2]; /* sources, destinations */
	struct pw_arena a;
	pw_strmap_init(&cache[0]);
	pw_strmap_init(&cache[1]);
	pw_arena_init(&a);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;
	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *save, *fv[6];
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		int nf = 0;
		for (char *t = strtok_r(p, " \t", &save); t && nf < 6;
		     t = strtok_r(NULL, " \t", &save))
			fv[nf++] = t;
		char *f1 = fv[0], *f2 = fv[1], *f3 = fv[2];
		struct pw_query q;
		if (nf < 3 || nf > 5) {
			fprintf(stderr, "%s:%ld: error: want 'SRC DST PROTO/PORT' (and at most two expected verdicts), not %s%d field%s\n",
				name, lineno, nf > 5 ? "more than " : "", nf > 5 ? 5 : nf,
				nf == 1 ? "" : "s");
			rc = EXIT_USAGE;
			continue;
		}
		if ((nf > 3 && !is_verdict(fv[3])) || (nf > 4 && !is_verdict(fv[4]))) {
			fprintf(stderr, "%s:%ld: error: field %d is %s: after 'SRC DST PROTO/PORT' only expected verdicts (ALLOW or DENY, ignored) may follow\n",
				name, lineno, !is_verdict(fv[3]) ? 4 : 5,
				cli_q(!is_verdict(fv[3]) ? fv[3] : fv[4]));
			rc = EXIT_USAGE;
			continue;
		}
		bool numeric = pw_query_parse(f3, &q) == 0;
		if (!numeric && pw_port_name_invalid(strchr(f3, '/') ? strchr(f3, '/') + 1 : f3)) {
			fprintf(stderr, "%s:%ld: error: invalid port %s (want PROTO/N, e.g. TCP/80, or a port name)\n",
				name, lineno, cli_q(f3));
			rc = EXIT_USAGE;
			continue;
		}
		const struct pw_end *s = batch_resolve(w, o, &cache[0], &a, f1, false);
		const struct pw_end *d = batch_resolve(w, o, &cache[1], &a, f2, true);
		if (s->svc) {
			fprintf(stderr, "%s:%ld: error: a Service cannot be a source: %s\n",
				name, lineno, cli_q(f1));
			printf("%s %s %s ERROR\n", f1, f2, f3);
			rc = EXIT_USAGE;
			continue;
		}
		if (s->n <= 0 || d->n <= 0) {
			if (s->n < 0 || d->n < 0)
				fprintf(stderr, "%s:%ld: error: %s %s: %s\n", name, lineno,
					s->n < 0 ? "source" : "destination",
					cli_q(s->n < 0 ? f1 : f2), s->n < 0 ? s->why : d->why);
			else
				fprintf(stderr, "%s:%ld: error: unknown endpoint %s\n",
					name, lineno, cli_q(s->n ? f2 : f1));
			printf("%s %s %s ERROR\n", f1, f2, f3);
			rc = EXIT_USAGE;
			continue;
		}
		const char *why_p;
		if (!numeric && (why_p = pw_resolve_port(&w->view, f3, d, &q, NULL))) {
			fprintf(stderr, "%s:%ld: error: port %s: %s\n", name, lineno,
				cli_q(f3), why_p);
			printf("%s %s %s ERROR\n", f1, f2, f3);
			rc = EXIT_USAGE;
			continue;
		}
		bool ok = pw_eval_allowed(&w->e, w->reach, s, d, &q);
		if (w->staged)
			printf("%s %s %s %s %s\n", f1, f2, f3, ok ? "ALLOW" : "DENY",
			       pw_eval_allowed(w->staged, w->staged_reach, s, d, &q)
				       ? "ALLOW" : "DENY");
		else
			printf("%s %s %s %s\n", f1, f2, f3, ok ? "ALLOW" : "DENY");
	}
	fflush(stdout);
	setvbuf(stdout, NULL, _IOLBF, 0);
	free(line);
	if (f != stdin)
		fclose(f);
	pw_strmap_release(&cache[0]);
	pw_strmap_release(&cache[1]);
	pw_arena_release(&a);
	return rc;
}

struct eval_args {
	const char *src, *dst, *port, *batch, *agent;
};

static int eval_opt(void *ctx, int argc, char **argv, int *i)
{
	struct eval_args *ea = ctx;
	int err = 0;
	const char *v;
	if ((v = cli_optval(argc, argv, i, NULL, "--src", &err)))
		ea->src = v;
	else if (!err && (v = cli_optval(argc, argv, i, NULL, "--dst", &err)))
		ea->dst = v;
	else if (!err && (v = cli_optval(argc, argv, i, "-p", "--port", &err)))
		ea->port = v;
	else if (!err && (v = cli_optval(argc, argv, i, NULL, "--batch", &err)))
		ea->batch = v;
	else if (!err && (v = cli_optval(argc, argv, i, NULL, "--agent", &err)))
		ea->agent = v;
	return err ? -1 : v ? 1 : 0;
}

int cmd_eval(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	const char *src = NULL, *dst = NULL, *port = NULL, *batch = NULL;
	int rc = EXIT_USAGE;
	struct eval_args ea = { NULL, NULL, NULL, NULL, NULL };
	int parsed = cli_parse("eval", eval_usage, argc, argv, &o, eval_opt, &ea);
	if (parsed) {
		rc = parsed > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	src = ea.src;
	dst = ea.dst;
	port = ea.port;
	batch = ea.batch;
	static const char *const outs[] = { "table", "json", "yaml", NULL };
	if (o.output && !cli_output_ok(o.output, outs)) {
		cli_error("eval: -o must be table, json or yaml");
		goto out;
	}
	if (!batch && (!src || !dst || !port)) {
		cli_error("eval: need --src, --dst and --port (or --batch)");
		fputs(eval_usage, stderr);
		goto out;
	}
	for (int i = 0; batch && !strcmp(batch, "-") && i < o.nfiles; i++)
		if (!strcmp(o.files[i], "-")) {
			cli_error("eval: -f - and --batch - cannot both read standard input");
			goto out;
		}
	if (ea.agent) {
		/* the agent's state answers, as the files would */
		if (batch || o.nfiles || o.staged) {
			cli_error("eval: --agent answers one question on the agent's state (no -f, --batch or --staged)");
			goto out;
		}
		struct pw_buf q;
		pw_buf_init(&q);
		pw_buf_puts(&q, "/v1/eval");
		cli_query_arg(&q, "src", src);
		cli_query_arg(&q, "dst", dst);
		cli_query_arg(&q, "port", port);
		cli_query_arg(&q, "namespace", o.ns);
		cli_query_arg(&q, "output", o.output ? o.output : "table");
		rc = cli_ask_agent(ea.agent, q.s);
		pw_buf_release(&q);
		goto out;
	}
	/* verdicts from the matrix; one question is also explained by the
	   per-connection walk */
	o.reach = true;
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	rc = batch ? eval_batch(&w, &o, batch) : eval_one(&w, &o, src, dst, port);
	cli_world_release(&w);
out:
	cli_opts_release(&o);
	return rc;
}
