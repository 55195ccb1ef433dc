// SPDX-License-Identifier: Apache-2.0
/*
 * podwall diff: what changes between two policy sets (or between the
 * enforced and the staged view of one): every source, destination and range
 * of ports whose verdict changes, with the deciding rule before and after.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/diff.h"

static const char diff_usage[] =
	"usage: podwall diff -f BEFORE [-f ...] --to AFTER [--to ...] [options]\n"
	"       podwall diff -f FILES --staged [options]\n"
	"\n"
	"List every pair of endpoints and range of ports whose verdict differs\n"
	"between two sets of manifests (or, with --staged, between the policies in\n"
	"force and the same with the staged policies enforced), with the rule that\n"
	"decides before and after.\n"
	"\n"
	"  -f, --filename PATH       the manifests before (file, directory or -)\n"
	"      --to PATH             the manifests after (repeatable)\n"
	"      --staged              compare with the staged policies enforced\n"
	"  -n, --namespace NS        only pairs with an endpoint in NS\n"
	"      --ipblock-excludes-pods  ipBlocks match only addresses outside\n"
	"                            the cluster\n"
	"      --hostnetwork-as-pods treat hostNetwork pods like other pods\n"
	"  -o, --output FORMAT       table (default), csv, json or yaml\n"
	"      --stats               timings and peak memory on stderr\n"
	"  -v, --verbose             also list the objects that were skipped\n"
	"\n"
	"Exit status: 0 no change, 1 changes, 2 bad usage or input.\n";

/* The changes in -o's format (table, csv, json or yaml) on stdout. */
void cli_diff_print(const struct pw_diff *d, const char *fmt)
{
	if (!strcmp(fmt, "table")) {
		struct pw_buf b;
		pw_buf_init(&b);
		pw_diff_table(d, "", &b);
		fputs(b.s, stdout);
		pw_buf_release(&b);
	} else if (!strcmp(fmt, "csv")) {
		printf("src,dst,ports,before,after,before_rule,after_rule\n");
		for (size_t i = 0; i < d->n; i++) {
			const struct pw_diff_change *c1 = &d->v[i];
			printf("%s,%s,\"%s\",%s,%s,\"%s\",\"%s\"\n", c1->src, c1->dst,
			       c1->ports, c1->now_allowed ? "deny" : "allow",
			       c1->now_allowed ? "allow" : "deny", c1->before, c1->after);
		}
	} else {
		struct pw_doc *r = cli_diff_doc(d);
		cli_print_doc(r, fmt);
		pw_doc_free(r);
	}
}

/* The changes as a document: an array of {src, dst, ports, before, after,
   beforeRule, afterRule}. */
struct pw_doc *cli_diff_doc(const struct pw_diff *d)
{
	struct pw_doc *r = pw_doc_arr();
	for (size_t i = 0; i < d->n; i++) {
		const struct pw_diff_change *c1 = &d->v[i];
		struct pw_doc *y = pw_doc_add(r, NULL, pw_doc_obj());
		pw_doc_add(y, "src", pw_doc_str(c1->src));
		pw_doc_add(y, "dst", pw_doc_str(c1->dst));
		pw_doc_add(y, "ports", pw_doc_str(c1->ports));
		pw_doc_add(y, "before", pw_doc_str(c1->now_allowed ? "DENY" : "ALLOW"));
		pw_doc_add(y, "after", pw_doc_str(c1->now_allowed ? "ALLOW" : "DENY"));
		pw_doc_add(y, "beforeRule", pw_doc_str(c1->before));
		pw_doc_add(y, "afterRule", pw_doc_str(c1->after));
	}
	return r;
}

/* --to PATH, repeatable: the manifests after */
static int to_opt(void *ctx, int argc, char **argv, int *i)
{
	struct cli_opts *to = ctx;
	int err = 0;
	const char *v = cli_optval(argc, argv, i, NULL, "--to", &err);
	if (err)
		return -1;
	if (!v)
		return 0;
	to->files = pw_xrealloc(to->files, (size_t)(to->nfiles + 1) * sizeof(*to->files));
	to->files[to->nfiles++] = v;
	return 1;
}

int cmd_diff(int argc, char **argv)
{
	struct cli_opts o = { 0 }, to = { 0 };
	int rc = EXIT_USAGE;
	int parsed = cli_parse("diff", diff_usage, argc, argv, &o, to_opt, &to);
	if (parsed) {
		rc = parsed > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	static const char *const outs[] = { "table", "csv", "json", "yaml", NULL };
	const char *fmt = o.output ? o.output : "table";
	if (!cli_output_ok(fmt, outs)) {
		cli_error("diff: -o must be table, csv, json or yaml");
		goto out;
	}
	if (!!to.nfiles == o.staged) {
		cli_error("diff: give either --to AFTER or --staged");
		fputs(diff_usage, stderr);
		goto out;
	}
	to.engine_flags = o.engine_flags;
	struct cli_world wa, wb;
	bool have_b = false;
	if (cli_world_load(&wa, &o) < 0) {
		cli_world_release(&wa);
		goto out;
	}
	if (to.nfiles) {
		if (cli_world_load(&wb, &to) < 0) {
			cli_world_release(&wb);
			cli_world_release(&wa);
			goto out;
		}
		have_b = true;
	}
	const struct cli_world *pb = have_b ? &wb : &wa;
	struct pw_diff d;
	pw_diff_states(&wa.c, &wa.e, &pb->c, have_b ? &wb.e : wa.staged, o.ns, &d);
	cli_diff_print(&d, fmt);
	rc = d.n ? EXIT_FINDINGS : 0;
	pw_diff_release(&d);
	if (have_b)
		cli_world_release(&wb);
	cli_world_release(&wa);
out:
	cli_opts_release(&o);
	cli_opts_release(&to);
	return rc;
}
