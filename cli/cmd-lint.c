// SPDX-License-Identifier: Apache-2.0
/*
 * podwall lint: the library's checks (lib/lint.h) over the input, printed
 * as a table, JSON or YAML.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/lint.h"

static const char lint_usage[] =
	"usage: podwall lint -f FILE|DIR|- [-f ...] [options]\n"
	"\n"
	"Report problems in a policy set of any kind (Kubernetes, Calico, admin\n"
	"policies): namespaces with no default deny, policies that select no\n"
	"pod, peers that match nothing, egress-isolated workloads that cannot\n"
	"reach DNS (now, or once the staged policies are enforced), ingress open\n"
	"to the whole internet, and rules shadowed by earlier ones.\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"  -n, --namespace NS        only findings about namespace NS\n"
	"      --ipblock-excludes-pods  ipBlocks match only addresses outside\n"
	"                            the cluster\n"
	"  -o, --output FORMAT       table (default), json or yaml\n"
	"      --hostnetwork-as-pods treat hostNetwork pods like other pods\n"
	"      --staged              no effect: lint checks the enforced policies\n"
	"      --stats               timings and peak memory on stderr\n"
	"  -v, --verbose             also list the objects that were skipped\n"
	"\n"
	"Exit status: 0 no findings, 1 findings, 2 bad usage or input.\n";

static int lint_prepare(struct pw_cluster *c, void *arg)
{
	(void)arg;
	(void)pw_lint_model_dns(c);
	return 0;
}

int cmd_lint(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	int rc = EXIT_USAGE;
	int parsed = cli_parse("lint", lint_usage, argc, argv, &o, NULL, NULL);
	if (parsed) {
		rc = parsed > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	static const char *const outs[] = { "table", "json", "yaml", NULL };
	const char *fmt = o.output ? o.output : "table";
	if (!cli_output_ok(fmt, outs)) {
		cli_error("lint: -o must be table, json or yaml");
		goto out;
	}
	o.prepare = lint_prepare;
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	int nsf = o.ns ? pw_cluster_find_ns(&w.c, o.ns) : -1;
	struct pw_lint l;
	if (o.ns && nsf < 0)
		nsf = (int)w.c.nns; /* no such namespace: no findings */
	if (pw_lint_run(&l, &w.e, nsf) < 0) {
		cli_error("lint: cannot build the staged policy engine");
		pw_lint_release(&l);
		cli_world_release(&w);
		goto out;
	}
	if (!strcmp(fmt, "table")) {
		for (size_t i = 0; i < l.n; i++)
			printf("%s:%d:%d: %s: %s\n", l.v[i].pos.file ? l.v[i].pos.file : "-",
			       l.v[i].pos.line, l.v[i].pos.col, l.v[i].check, l.v[i].msg);
		printf("%zu finding%s\n", l.n, l.n == 1 ? "" : "s");
	} else {
		struct pw_doc *r = pw_doc_arr();
		for (size_t i = 0; i < l.n; i++) {
			struct pw_doc *x = pw_doc_add(r, NULL, pw_doc_obj());
			pw_doc_add(x, "check", pw_doc_str(l.v[i].check));
			pw_doc_add(x, "file", pw_doc_str(l.v[i].pos.file));
			pw_doc_add(x, "line", pw_doc_int(l.v[i].pos.line));
			pw_doc_add(x, "column", pw_doc_int(l.v[i].pos.col));
			pw_doc_add(x, "namespace", l.v[i].ns >= 0
				? pw_doc_str(w.c.nss[l.v[i].ns].name) : pw_doc_null());
			pw_doc_add(x, "message", pw_doc_str(l.v[i].msg));
		}
		cli_print_doc(r, fmt);
		pw_doc_free(r);
	}
	rc = l.n ? EXIT_FINDINGS : 0;
	pw_lint_release(&l);
	cli_world_release(&w);
out:
	cli_opts_release(&o);
	return rc;
}
