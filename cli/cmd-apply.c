// SPDX-License-Identifier: Apache-2.0
/*
 * podwall apply, delete, get: change or read a running agent's source, as
 * kubectl and calicoctl do with a cluster.  apply and delete return when
 * the agent reports the change in force (or rejected).
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/agent/http.h"
#include "cli.h"

static const char apply_usage[] =
	"usage: podwall apply -f FILE|DIR|- [-f ...] --agent SOCKET|URL [-n NS]\n"
	"       podwall delete -f FILE|DIR|- [-f ...] --agent SOCKET|URL [-n NS]\n"
	"       podwall get KIND [NAME] --agent SOCKET|URL [-n NS] [-o yaml]\n"
	"\n"
	"apply adds or replaces the objects of the files in the agent's source,\n"
	"as kubectl apply does; delete removes the objects the files name.  Both\n"
	"wait until the agent has the change in force, and print each object.  A\n"
	"change with an error is rejected whole (FILE:LINE:COL) and nothing\n"
	"changes.  get prints the documents of the objects of a kind (Kind,\n"
	"kind, plural, or kind.group; NAME narrows) as the source holds them.\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"      --agent SOCKET|URL    the agent's unix socket, or http://HOST:PORT\n"
	"  -n, --namespace NS        namespace of objects that give none (apply,\n"
	"                            delete) or to list (get; default: all)\n"
	"  -o, --output yaml         get: the output format\n"
	"\n"
	"Exit status: 0 done, 1 rejected or not found, 2 bad usage or no agent.\n";

struct apply_args {
	const char *agent, *ns, *output;
	const char **files;
	int nfiles;
	const char *pos[2];
	int npos;
};

/* Only the options these commands take: the engine's do not matter here. */
static int apply_parse(const char *cmd, int argc, char **argv, struct apply_args *a)
{
	for (int i = 1; i < argc; i++) {
		int err = 0;
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(apply_usage, stdout);
			return 1;
		}
		if ((v = cli_optval(argc, argv, &i, NULL, "--agent", &err))) {
			a->agent = v;
		} else if (!err && (v = cli_optval(argc, argv, &i, "-f", "--filename", &err))) {
			a->files = pw_xrealloc(a->files, (size_t)(a->nfiles + 1) * sizeof(char *));
			a->files[a->nfiles++] = v;
		} else if (!err && (v = cli_optval(argc, argv, &i, "-n", "--namespace", &err))) {
			a->ns = v;
		} else if (!err && (v = cli_optval(argc, argv, &i, "-o", "--output", &err))) {
			a->output = v;
		} else if (err) {
			return -1;
		} else if (argv[i][0] != '-' && a->npos < 2) {
			a->pos[a->npos++] = argv[i];
		} else {
			cli_error("%s: unknown option %s", cmd, cli_q(argv[i]));
			fputs(apply_usage, stderr);
			return -1;
		}
	}
	return 0;
}

/* The agent's answer printed, as its exit status: 0 done, 1 refused or
   not found, 2 no answer (reported when say_unreached). */
static int answer(int rc, long status, const struct pw_buf *out,
		  const struct pw_buf *err, bool say_unreached)
{
	if (rc < 0) {
		if (say_unreached)
			cli_error("cannot reach the agent: %s", err->s);
		return EXIT_USAGE;
	}
	fputs(out->s ? out->s : "", status == 200 ? stdout : stderr);
	if (status == 200)
		return 0;
	return status == 404 || status == 422 ? EXIT_FINDINGS : EXIT_USAGE;
}

static int call(const char *agent, const char *method, const char *path,
		const struct pw_buf *body)
{
	struct pw_buf out, err;
	pw_buf_init(&out);
	pw_buf_init(&err);
	long status = 0;
	int rc = pw_http_call(agent, method, path, body ? body->s : NULL,
			      body ? body->len : 0, 0, &status, &out, &err);
	rc = answer(rc, status, &out, &err, true);
	pw_buf_release(&out);
	pw_buf_release(&err);
	return rc;
}

static int run(const char *cmd, int argc, char **argv)
{
	struct apply_args a = { 0 };
	int r = apply_parse(cmd, argc, argv, &a);
	if (r) {
		free(a.files);
		return r > 0 ? 0 : EXIT_USAGE;
	}
	struct apply_args o = a; /* the names the code below reads */
	bool get = !strcmp(cmd, "get");
	int rc = EXIT_USAGE;
	struct pw_buf path;
	pw_buf_init(&path);
	if (!a.agent) {
		cli_error("%s: give the agent with --agent SOCKET|URL", cmd);
		goto out;
	}
	if (get) {
		if (!a.npos || o.nfiles) {
			cli_error("get: give a KIND (and optionally a NAME)");
			goto out;
		}
		if (o.output && strcmp(o.output, "yaml")) {
			cli_error("get: -o %s: only yaml", cli_q(o.output));
			goto out;
		}
		pw_buf_puts(&path, "/v1/objects?kind=");
		pw_http_escape(a.pos[0], &path);
		if (a.npos > 1) {
			pw_buf_puts(&path, "&name=");
			pw_http_escape(a.pos[1], &path);
		}
		if (o.ns) {
			pw_buf_puts(&path, "&namespace=");
			pw_http_escape(o.ns, &path);
		}
		rc = call(a.agent, "GET", path.s, NULL);
		goto out;
	}
	if (a.npos) {
		cli_error("%s: unexpected argument %s", cmd, cli_q(a.pos[0]));
		goto out;
	}
	if (!o.nfiles) {
		cli_error("%s: give the objects with -f FILE|DIR|-", cmd);
		goto out;
	}
	/* one request: the change is one transaction */
	struct pw_diags d;
	struct pw_buf out, err;
	long status = 0;
	pw_diags_init(&d);
	pw_buf_init(&out);
	pw_buf_init(&err);
	int r2 = pw_agent_send_files(a.agent, cmd, o.files, (size_t)o.nfiles, o.ns, &status,
				     &out, &d, &err);
	for (size_t i = 0; i < d.n; i++) {
		struct pw_buf l;
		pw_buf_init(&l);
		pw_diag_format(&d.v[i], &l);
		fprintf(stderr, "%s\n", l.s);
		pw_buf_release(&l);
	}
	rc = answer(r2, status, &out, &err, !d.errors);
	pw_buf_release(&out);
	pw_buf_release(&err);
	pw_diags_release(&d);
out:
	pw_buf_release(&path);
	free(a.files);
	return rc;
}

int cmd_apply(int argc, char **argv)
{
	return run("apply", argc, argv);
}

int cmd_delete(int argc, char **argv)
{
	return run("delete", argc, argv);
}

int cmd_get(int argc, char **argv)
{
	return run("get", argc, argv);
}
