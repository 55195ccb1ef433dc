// SPDX-License-Identifier: Apache-2.0
/*
 * podwall diff: what changes between two policy sets (or between the
 * enforced and the staged view of one): every source, destination and range
 * of ports whose verdict changes, with the deciding rule before and after.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/explain.h"
#include "../lib/pairs.h"

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

struct dend {
	char *name;
	int ga, gb; /* group in before / after, -1 if none (or external) */
	bool ext;
	struct pw_addr addr;
};

struct side {
	const struct cli_world *w;
	const struct pw_engine *e;
};

/* A short account of why a representative pair got its verdict. */
static void why(const struct side *s, const struct dend *a, int ga,
		const struct dend *b, int gb, int proto, unsigned port,
		struct pw_buf *out)
{
	const struct pw_cluster *c = &s->w->c;
	if ((!a->ext && ga < 0) || (!b->ext && gb < 0)) {
		pw_buf_puts(out, "endpoint absent");
		return;
	}
	struct pw_ep src = a->ext ? pw_ep_addr(&a->addr)
				  : pw_ep_pod(c, c->groups[ga].pods[0]);
	struct pw_ep dst = b->ext ? pw_ep_addr(&b->addr)
				  : pw_ep_pod(c, c->groups[gb].pods[0]);
	struct pw_query q = pw_query_port(proto, (int)port);
	pw_explain_brief(s->e, &src, &dst, &q, out);
}

/* Ports of one pair whose verdict changed the same way for the same
   reasons (the reasons are those of the first port of each range). */
struct change {
	size_t src, dst;
	struct pw_conns ports;
	bool now_allowed; /* after */
	char *before, *after;
	char *ports_text;
};

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
	struct side sa = { &wa, &wa.e };
	struct side sb = { pb, have_b ? &wb.e : wa.staged };
	const struct pw_cluster *ca = &wa.c, *cb = &pb->c;

	/* endpoints: the groups of either side, by name, then the outside */
	struct dend *eps = NULL;
	size_t n = 0, cap = 0;
	struct pw_buf b;
	pw_buf_init(&b);
	struct pw_strmap names;
	pw_strmap_init(&names);
	for (int side = 0; side < 2; side++) {
		const struct pw_cluster *c = side ? cb : ca;
		for (uint32_t i = 0; i < c->ngroups; i++) {
			pw_buf_reset(&b);
			pw_group_kind_name(c, &c->groups[i], &b);
			uintptr_t at = (uintptr_t)pw_strmap_get(&names, b.s);
			if (!at) {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					eps = pw_xrealloc(eps, cap * sizeof(*eps));
				}
				eps[n] = (struct dend){ pw_xstrdup(b.s), -1, -1, false, { 0 } };
				pw_strmap_put(&names, eps[n].name, (void *)(uintptr_t)(n + 1));
				at = ++n;
			}
			if (side)
				eps[at - 1].gb = (int)i;
			else
				eps[at - 1].ga = (int)i;
		}
	}
	size_t ngroups = n;
	struct pw_extclass *xm;
	const struct pw_engine *both[2] = { sa.e, sb.e };
	size_t nxm = pw_ext_classes(both, 2, true, &xm);
	eps = pw_xrealloc(eps, (n + nxm + 1) * sizeof(*eps));
	for (size_t i = 0; i < nxm; i++) {
		pw_buf_reset(&b);
		pw_buf_printf(&b, "%s[External]", xm[i].name);
		eps[n++] = (struct dend){ pw_xstrdup(b.s), -1, -1, true, xm[i].lo };
	}
	free(xm);

	int nsf_a = o.ns ? pw_cluster_find_ns(ca, o.ns) : -2;
	int nsf_b = o.ns ? pw_cluster_find_ns(cb, o.ns) : -2;
	struct change *ch = NULL;
	size_t nch = 0, chcap = 0;
	struct pw_conns ba, af, x;
	pw_conns_init(&ba);
	pw_conns_init(&af);
	pw_conns_init(&x);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++) {
			const struct dend *s = &eps[i], *d = &eps[k];
			if (s->ext && d->ext)
				continue;
			if (o.ns) {
				bool in = false;
				const struct dend *ends[2] = { s, d };
				for (int z = 0; z < 2; z++) {
					const struct dend *q = ends[z];
					if (q->ga >= 0 && (int)ca->groups[q->ga].ns == nsf_a)
						in = true;
					if (q->gb >= 0 && (int)cb->groups[q->gb].ns == nsf_b)
						in = true;
				}
				if (!in)
					continue;
			}
			pw_conns_clear(&ba);
			pw_conns_clear(&af);
			if ((s->ext || s->ga >= 0) && (d->ext || d->ga >= 0))
				pw_pair_conns(ca, sa.e, NULL, s->ga, &s->addr, d->ga, &d->addr, &ba);
			if ((s->ext || s->gb >= 0) && (d->ext || d->gb >= 0))
				pw_pair_conns(cb, sb.e, NULL, s->gb, &s->addr, d->gb, &d->addr, &af);
			for (int dirn = 0; dirn < 2; dirn++) {
				pw_conns_copy(&x, dirn ? &af : &ba);
				pw_conns_subtract(&x, dirn ? &ba : &af);
				size_t first = nch;
				for (int p = 0; p < PW_NPROTO; p++)
					for (uint32_t r = 0; r < x.p[p].n; r++) {
						unsigned lo = x.p[p].r[r].lo, hi = x.p[p].r[r].hi;
						struct pw_buf bb;
						pw_buf_init(&bb);
						pw_buf_reset(&b);
						why(&sa, s, s->ga, d, d->ga, p, lo, &b);
						why(&sb, s, s->gb, d, d->gb, p, lo, &bb);
						struct change *c1 = NULL;
						for (size_t z = first; z < nch && !c1; z++)
							if (!strcmp(ch[z].before, b.s) &&
							    !strcmp(ch[z].after, bb.s))
								c1 = &ch[z];
						if (!c1) {
							if (nch == chcap) {
								chcap = chcap ? chcap * 2 : 16;
								ch = pw_xrealloc(ch, chcap * sizeof(*ch));
							}
							c1 = &ch[nch++];
							c1->src = i;
							c1->dst = k;
							pw_conns_init(&c1->ports);
							c1->now_allowed = dirn == 1;
							c1->before = pw_xstrdup(b.s);
							c1->after = pw_xstrdup(bb.s);
						}
						pw_conns_add(&c1->ports, p, lo, hi);
						pw_buf_release(&bb);
					}
			}
		}
	(void)ngroups;
	pw_conns_release(&ba);
	pw_conns_release(&af);
	pw_conns_release(&x);
	for (size_t i = 0; i < nch; i++) {
		pw_buf_reset(&b);
		pw_conns_format(&ch[i].ports, &b);
		pw_conns_release(&ch[i].ports);
		ch[i].ports_text = pw_xstrdup(b.s);
	}
	if (!strcmp(fmt, "table")) {
		for (size_t i = 0; i < nch; i++) {
			const struct change *c1 = &ch[i];
			printf("%s => %s : %s: %s -> %s\n", eps[c1->src].name,
			       eps[c1->dst].name, c1->ports_text,
			       c1->now_allowed ? "DENY" : "ALLOW",
			       c1->now_allowed ? "ALLOW" : "DENY");
			printf("  before: %s\n  after:  %s\n", c1->before, c1->after);
		}
		printf("%zu change%s\n", nch, nch == 1 ? "" : "s");
	} else if (!strcmp(fmt, "csv")) {
		printf("src,dst,ports,before,after,before_rule,after_rule\n");
		for (size_t i = 0; i < nch; i++) {
			const struct change *c1 = &ch[i];
			printf("%s,%s,\"%s\",%s,%s,\"%s\",\"%s\"\n", eps[c1->src].name,
			       eps[c1->dst].name, c1->ports_text,
			       c1->now_allowed ? "deny" : "allow",
			       c1->now_allowed ? "allow" : "deny", c1->before, c1->after);
		}
	} else {
		struct pw_doc *r = pw_doc_arr();
		for (size_t i = 0; i < nch; i++) {
			const struct change *c1 = &ch[i];
			struct pw_doc *y = pw_doc_add(r, NULL, pw_doc_obj());
			pw_doc_add(y, "src", pw_doc_str(eps[c1->src].name));
			pw_doc_add(y, "dst", pw_doc_str(eps[c1->dst].name));
			pw_doc_add(y, "ports", pw_doc_str(c1->ports_text));
			pw_doc_add(y, "before", pw_doc_str(c1->now_allowed ? "DENY" : "ALLOW"));
			pw_doc_add(y, "after", pw_doc_str(c1->now_allowed ? "ALLOW" : "DENY"));
			pw_doc_add(y, "beforeRule", pw_doc_str(c1->before));
			pw_doc_add(y, "afterRule", pw_doc_str(c1->after));
		}
		cli_print_doc(r, fmt);
		pw_doc_free(r);
	}
	rc = nch ? EXIT_FINDINGS : 0;
	for (size_t i = 0; i < nch; i++) {
		free(ch[i].before);
		free(ch[i].after);
		free(ch[i].ports_text);
	}
	free(ch);
	for (size_t i = 0; i < n; i++)
		free(eps[i].name);
	free(eps);
	pw_strmap_release(&names);
	pw_buf_release(&b);
	if (have_b)
		cli_world_release(&wb);
	cli_world_release(&wa);
out:
	cli_opts_release(&o);
	cli_opts_release(&to);
	return rc;
}
