// SPDX-License-Identifier: Apache-2.0
/*
 * podwall can-i: may a user do it, as the API server's RBAC decides (one
 * question, or many with --batch).  The library decides (lib/rbac/rbac.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char can_i_usage[] =
	"usage: podwall can-i VERB RESOURCE[/SUBRESOURCE] [NAME] -f FILE|DIR|- --as USER [options]\n"
	"       podwall can-i VERB /NON-RESOURCE-URL -f FILE|DIR|- --as USER [options]\n"
	"       podwall can-i -f FILE|DIR|- --batch FILE|-\n"
	"\n"
	"Answer yes or no as the API server's RBAC authorizer would, from the\n"
	"Roles, ClusterRoles (aggregation computed), bindings, aws-auth and EKS\n"
	"access entries of the input.  RESOURCE is plural.group (taken literally;\n"
	"'pods.' is the core group) or a common resource by name (pods, po, deploy,\n"
	"netpol, ...: see README), resolved to its group; cluster-scoped ones are\n"
	"asked without a namespace.\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"  -n, --namespace NS        the request's namespace (default 'default');\n"
	"                            the input is read whatever its namespaces\n"
	"  -A, --all-namespaces      ask without a namespace (cluster-wide)\n"
	"      --as USER             the user (system:serviceaccount:NS:NAME gets the\n"
	"                            service account groups; every user but\n"
	"                            system:anonymous gets system:authenticated)\n"
	"      --as-group GROUP      a group of the user (repeatable)\n"
	"      --as-iam ARN          an IAM user, role or assumed-role ARN, mapped to\n"
	"                            a user and groups by EKS access entries or aws-auth\n"
	"      --subresource SUB     the subresource (as RESOURCE/SUB)\n"
	"  -v, --explain             name the binding and rule that allowed it, and\n"
	"                            the user and groups asked as\n"
	"  -q, --quiet               print nothing: the exit status answers\n"
	"      --batch FILE|-        lines of the arguments above but -f ('VERB\n"
	"                            RESOURCE [NAME] [-n NS] [--as U] ...', up to\n"
	"                            a tab: the rest is not read); prints each line\n"
	"                            with a tab and yes or no appended\n"
	"\n"
	"Exit status (kubectl's): 0 yes, 1 no, 2 bad usage or input (batch: 0\n"
	"unless an input line is malformed).\n";

/* One question's arguments (the command line's, or a batch line's). */
struct question {
	const char *pos[3];
	int npos;
	const char *ns, *sub, *as, *iam;
	bool all_ns, as_set;
	const char **groups;
	uint32_t ngroups;
	size_t groups_cap;
};

/* A question's option or argument at argv[*i]: 1 taken, 0 not one, -1 an
   error (in err). */
static int question_arg(struct question *q, struct pw_arena *a, int argc, char **argv,
			int *i, struct pw_buf *err)
{
	int bad = 0;
	const char *v;
	if ((v = cli_optval(argc, argv, i, "-n", "--namespace", &bad))) {
		q->ns = v;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--as", &bad))) {
		q->as = v;
		q->as_set = true;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--as-group", &bad))) {
		*PW_PUSH(a, q->groups, q->ngroups, q->groups_cap) = v;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--as-iam", &bad))) {
		q->iam = v;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--subresource", &bad))) {
		q->sub = v;
		return 1;
	}
	if (bad) {
		pw_buf_printf(err, "option %s needs a value", argv[*i]);
		return -1;
	}
	if (!strcmp(argv[*i], "-A") || !strcmp(argv[*i], "--all-namespaces")) {
		q->all_ns = true;
		return 1;
	}
	if (argv[*i][0] == '-' && argv[*i][1])
		return 0;
	if (q->npos == 3) {
		pw_buf_printf(err, "unexpected argument %s (want VERB RESOURCE [NAME])", argv[*i]);
		return -1;
	}
	q->pos[q->npos++] = argv[*i];
	return 1;
}

/* The request and the user of a question; 0 or -1 (err). */
static int question_resolve(const struct question *q, const struct pw_authz *az,
			    struct pw_arena *a, struct pw_rbac_req *r, struct pw_rbac_user *u,
			    struct pw_buf *warn, struct pw_buf *err)
{
	if (q->npos < 2) {
		pw_buf_puts(err, "want VERB RESOURCE [NAME] (or VERB /URL)");
		return -1;
	}
	if (!q->as_set && !q->iam) {
		pw_buf_puts(err, "who asks? give --as USER or --as-iam ARN");
		return -1;
	}
	if (q->as_set && q->iam) {
		pw_buf_puts(err, "--as and --as-iam name the user twice: give one");
		return -1;
	}
	if (q->iam && q->ngroups) {
		pw_buf_puts(err, "--as-group goes with --as: an IAM identity's groups come from its mapping");
		return -1;
	}
	if (pw_rbac_parse_request(a, q->pos[0], q->pos[1], q->npos > 2 ? q->pos[2] : NULL, q->sub,
				  q->ns, q->all_ns, r, warn, err) < 0)
		return -1;
	if (q->iam)
		return pw_authz_resolve_iam(az, a, q->iam, u, err);
	pw_rbac_impersonate(a, q->as, q->groups, q->ngroups, u);
	return 0;
}

static void print_user(const struct pw_rbac_user *u)
{
	printf("as user %s, groups [", *u->name ? u->name : "\"\"");
	for (uint32_t i = 0; i < u->ngroups; i++)
		printf("%s%s", i ? " " : "", u->groups[i]);
	printf("]%s%s\n", u->via ? ", mapped by " : "", u->via ? u->via : "");
}

/* Decide a resolved question; prints the answer unless quiet. */
static bool decide(const struct pw_authz *az, const struct pw_rbac_req *r,
		   const struct pw_rbac_user *u, bool explain, bool quiet)
{
	struct pw_rbac_grant g;
	bool yes = pw_authz_allows(az, u, r, &g);
	if (quiet)
		return yes;
	puts(yes ? "yes" : "no");
	if (!explain)
		return yes;
	struct pw_buf b;
	pw_buf_init(&b);
	pw_rbac_req_format(r, &b);
	printf("%s\n", b.s);
	print_user(u);
	pw_buf_reset(&b);
	if (yes)
		pw_rbac_grant_format(&g, &b);
	else
		pw_buf_puts(&b, "no binding grants it: RBAC has no opinion, so the request is denied");
	printf("%s %s\n", yes ? "allowed by" : "denied:", b.s);
	pw_buf_release(&b);
	return yes;
}

static int batch(const struct pw_authz *az, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		cli_error("cannot open %s: %s", cli_q(path), strerror(errno));
		return EXIT_USAGE;
	}
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;
	struct pw_buf warn, err;
	pw_buf_init(&warn);
	pw_buf_init(&err);
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *copy = pw_xstrdup(line), *save, *argv[64];
		int argc = 1;
		/* a tab ends the arguments: what follows (an expected answer) is
		   not read */
		if (strchr(copy, '\t'))
			*strchr(copy, '\t') = 0;
		argv[0] = "can-i";
		for (char *t = strtok_r(copy, " \t", &save); t && argc < 64;
		     t = strtok_r(NULL, " \t", &save))
			argv[argc++] = t;
		struct pw_arena a;
		struct question q = { 0 };
		struct pw_rbac_req r;
		struct pw_rbac_user u;
		pw_arena_init(&a);
		pw_buf_reset(&warn);
		pw_buf_reset(&err);
		int ok = argc > 1 && argv[1][0] != '#' ? 0 : 1; /* 1: blank or comment */
		for (int i = 1; i < argc && !ok; i++) {
			int t = question_arg(&q, &a, argc, argv, &i, &err);
			if (t == 0)
				pw_buf_printf(&err, "unknown option %s", argv[i]);
			if (t <= 0)
				ok = -1;
		}
		if (!ok && question_resolve(&q, az, &a, &r, &u, &warn, &err) < 0)
			ok = -1;
		if (ok < 0) {
			fflush(stdout);
			fprintf(stderr, "%s:%ld: error: %s\n", name, lineno, err.s);
			rc = EXIT_USAGE;
		} else if (!ok) {
			if (warn.len)
				fprintf(stderr, "%s:%ld: warning: %s\n", name, lineno, warn.s);
			printf("%s\t%s\n", line, decide(az, &r, &u, false, true) ? "yes" : "no");
		}
		pw_arena_release(&a);
		free(copy);
	}
	free(line);
	pw_buf_release(&warn);
	pw_buf_release(&err);
	if (f != stdin)
		fclose(f);
	return rc;
}

int cmd_can_i(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	struct question q = { 0 };
	struct cli_scratch s;
	const char *batch_file = NULL;
	bool explain = false, quiet = false;
	int rc = EXIT_USAGE;
	cli_scratch_init(&s);
	for (int i = 1; i < argc; i++) {
		int bad = 0;
		const char *v;
		if (cli_is_help(argv[i])) {
			fputs(can_i_usage, stdout);
			rc = 0;
			goto out;
		}
		if (cli_file_opt(&o, argc, argv, &i, &bad))
			continue;
		if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--batch", &bad))) {
			batch_file = v;
			continue;
		}
		if (bad)
			goto out;
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--explain")) {
			explain = true;
			continue;
		}
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
			quiet = true;
			continue;
		}
		int t = question_arg(&q, &s.a, argc, argv, &i, &s.err);
		if (t < 0) {
			cli_error("can-i: %s", s.err.s);
			goto out;
		}
		if (t == 0) {
			cli_error("can-i: unknown option %s", cli_q(argv[i]));
			fputs(can_i_usage, stderr);
			goto out;
		}
	}
	if (batch_file && (q.npos || q.as_set || q.iam || q.ns || q.all_ns || q.sub || q.ngroups)) {
		cli_error("can-i: --batch takes the questions from its lines: give no other question");
		goto out;
	}
	struct cli_world w;
	struct pw_authz az;
	if (cli_authz_load(&w, &az, &o) < 0) {
		pw_authz_release(&az);
		cli_world_release(&w);
		goto out;
	}
	if (batch_file) {
		rc = batch(&az, batch_file);
	} else {
		struct pw_rbac_req r;
		struct pw_rbac_user u;
		if (question_resolve(&q, &az, &s.a, &r, &u, &s.warn, &s.err) < 0) {
			cli_error("can-i: %s", s.err.s);
		} else {
			if (s.warn.len)
				fprintf(stderr, "Warning: %s\n", s.warn.s);
			rc = decide(&az, &r, &u, explain, quiet) ? 0 : EXIT_FINDINGS;
		}
	}
	pw_authz_release(&az);
	cli_world_release(&w);
out:
	cli_scratch_release(&s);
	cli_opts_release(&o);
	return rc;
}
