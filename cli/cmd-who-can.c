// SPDX-License-Identifier: Apache-2.0
/*
 * podwall who-can: every subject that may do it, with the binding and rule
 * that grant it (the API server's subject locator; lib/rbac/rbac.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char who_can_usage[] =
	"usage: podwall who-can VERB RESOURCE[/SUBRESOURCE] [NAME] -f FILE|DIR|- [options]\n"
	"       podwall who-can VERB /NON-RESOURCE-URL -f FILE|DIR|- [options]\n"
	"\n"
	"List every subject (users, groups, service accounts, EKS access entries)\n"
	"that RBAC allows the request, each with the binding, role and rule that\n"
	"grant it, as the API server's subject locator does: Group system:masters\n"
	"first, then the subjects of ClusterRoleBindings, then of RoleBindings of\n"
	"the namespace.  Implicit groups (system:authenticated,\n"
	"system:serviceaccounts, system:serviceaccounts:NS) say who is in them.\n"
	"RESOURCE is as for 'podwall can-i'.\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"  -n, --namespace NS        the request's namespace (default 'default');\n"
	"                            the input is read whatever its namespaces\n"
	"  -A, --all-namespaces      ask without a namespace (ClusterRoleBindings only)\n"
	"      --subresource SUB     the subresource (as RESOURCE/SUB)\n"
	"      --superuser NAME      a user the API server is configured to allow\n"
	"                            anything (listed second, as upstream does)\n"
	"  -o, --output FORMAT       table (default), json or yaml\n"
	"\n"
	"Exit status: 0, or 2 on bad usage or input.\n";

static void print_table(const struct pw_rbac_req *r, const struct pw_rbac_who *w, size_t n)
{
	struct pw_buf b;
	pw_buf_init(&b);
	pw_rbac_req_format(r, &b);
	printf("who can %s:\n", b.s);
	printf("%-15s %-40s %s\n", "KIND", "SUBJECT", "GRANTED BY");
	for (size_t i = 0; i < n; i++) {
		pw_buf_reset(&b);
		if (w[i].ns)
			pw_buf_printf(&b, "%s/", w[i].ns);
		pw_buf_puts(&b, w[i].name);
		printf("%-15s %-40s ", w[i].kind_name, b.s);
		pw_buf_reset(&b);
		if (w[i].grant.privileged) {
			pw_buf_puts(&b, w[i].note);
		} else {
			pw_rbac_grant_format(&w[i].grant, &b);
			if (w[i].note)
				pw_buf_printf(&b, "\n  (%s)", w[i].note);
		}
		/* continuation lines under GRANTED BY */
		for (const char *p = b.s; *p; p++) {
			putchar(*p);
			if (*p == '\n')
				printf("%57s", "");
		}
		putchar('\n');
	}
	pw_buf_release(&b);
}

int cmd_who_can(int argc, char **argv)
{
	static const char *const formats[] = { "table", "json", "yaml", NULL };
	struct cli_opts o = { 0 };
	struct cli_scratch s;
	const char *pos[3], *ns = NULL, *sub = NULL, *superuser = NULL;
	int npos = 0, rc = EXIT_USAGE;
	bool all_ns = false;
	cli_scratch_init(&s);
	for (int i = 1; i < argc; i++) {
		int bad = 0;
		const char *v;
		if (cli_is_help(argv[i])) {
			fputs(who_can_usage, stdout);
			rc = 0;
			goto out;
		}
		if (cli_file_opt(&o, argc, argv, &i, &bad)) {
			continue;
		} else if (!bad && (v = cli_optval(argc, argv, &i, "-n", "--namespace", &bad))) {
			ns = v;
		} else if (!bad && (v = cli_optval(argc, argv, &i, "-o", "--output", &bad))) {
			o.output = v;
		} else if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--subresource", &bad))) {
			sub = v;
		} else if (!bad && (v = cli_optval(argc, argv, &i, NULL, "--superuser", &bad))) {
			superuser = v;
		} else if (bad) {
			goto out;
		} else if (!strcmp(argv[i], "-A") || !strcmp(argv[i], "--all-namespaces")) {
			all_ns = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("who-can: unknown option %s", cli_q(argv[i]));
			fputs(who_can_usage, stderr);
			goto out;
		} else if (npos == 3) {
			cli_error("who-can: unexpected argument %s (want VERB RESOURCE [NAME])",
				  cli_q(argv[i]));
			goto out;
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (o.output && !cli_output_ok(o.output, formats)) {
		cli_error("who-can: -o %s: want table, json or yaml", cli_q(o.output));
		goto out;
	}
	struct pw_rbac_req r;
	if (npos < 2) {
		cli_error("who-can: want VERB RESOURCE [NAME] (or VERB /URL)");
		goto out;
	}
	if (pw_rbac_parse_request(&s.a, pos[0], pos[1], npos > 2 ? pos[2] : NULL, sub, ns, all_ns,
				  &r, &s.warn, &s.err) < 0) {
		cli_error("who-can: %s", s.err.s);
		goto out;
	}
	struct cli_world w;
	struct pw_authz az;
	if (cli_authz_load(&w, &az, &o) == 0) {
		if (s.warn.len)
			fprintf(stderr, "Warning: %s\n", s.warn.s);
		struct pw_rbac_who *who;
		size_t n = pw_authz_who_can(&az, &r, superuser, &who);
		if (o.output && strcmp(o.output, "table")) {
			struct pw_doc *d = pw_rbac_who_doc(&r, who, n);
			cli_print_doc(d, o.output);
			pw_doc_free(d);
		} else {
			print_table(&r, who, n);
		}
		rc = 0;
		free(who);
	}
	pw_authz_release(&az);
	cli_world_release(&w);
out:
	cli_scratch_release(&s);
	cli_opts_release(&o);
	return rc;
}
