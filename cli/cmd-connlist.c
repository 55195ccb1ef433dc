// SPDX-License-Identifier: Apache-2.0
/*
 * podwall connlist: netpol-analyzer's `list` text output, exactly.
 * One line per ordered pair of endpoints with at least one allowed
 * connection: "SRC => DST : CONNS", sorted bytewise by SRC then DST.
 * Endpoints are workloads (pods collapsed to their owner) and the IPv4
 * intervals that the policies' ipBlocks cut the address space into.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char connlist_usage[] =
	"usage: podwall connlist -f FILE|DIR|- [-f ...] [options]\n"
	"\n"
	"List every pair of endpoints (workloads and external address ranges)\n"
	"with the connections allowed between them, in netpol-analyzer's text\n"
	"format: 'ns/name[Kind] => ns/name[Kind] : All Connections'.\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"  -n, --namespace NS        only lines with an endpoint in NS\n"
	"      --ipblock-excludes-pods  ipBlocks match only addresses outside\n"
	"                            the cluster (netpol-analyzer's reading)\n"
	"  -o, --output FORMAT       txt (default) or csv\n"
	"      --hostnetwork-as-pods treat hostNetwork pods like other pods\n"
	"      --staged              no effect: the enforced policies are listed\n"
	"      --stats               timings and peak memory on stderr\n"
	"  -v, --verbose             also list the objects that were skipped\n";

struct cl_ep {
	char *name;
	int group; /* -1: external */
	struct pw_addr addr;
	bool ext;
};

struct cl_line {
	const char *src, *dst;
	char *conns;
};

static int line_cmp(const void *x, const void *y)
{
	const struct cl_line *a = x, *b = y;
	int c = strcmp(a->src, b->src);
	return c ? c : strcmp(a->dst, b->dst);
}

/* What may flow between two endpoints; a workload's pods are collapsed. */
static void ep_conns(const struct cli_world *w, const struct cl_ep *a,
		     const struct cl_ep *b, struct pw_conns *out)
{
	const struct pw_cluster *c = &w->c;
	uint32_t na = a->ext ? 1 : c->groups[a->group].npods;
	uint32_t nb = b->ext ? 1 : c->groups[b->group].npods;
	struct pw_conns one;
	pw_conns_init(&one);
	pw_conns_clear(out);
	for (uint32_t i = 0; i < na; i++)
		for (uint32_t k = 0; k < nb; k++) {
			struct pw_ep s = a->ext ? pw_ep_addr(&a->addr)
						: pw_ep_pod(c, c->groups[a->group].pods[i]);
			struct pw_ep d = b->ext ? pw_ep_addr(&b->addr)
						: pw_ep_pod(c, c->groups[b->group].pods[k]);
			cli_conns(&w->e, w->reach, &s, &d, &one);
			pw_conns_union(out, &one);
		}
	pw_conns_release(&one);
}

int cmd_connlist(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	int rc = EXIT_USAGE;
	int parsed = cli_parse("connlist", connlist_usage, argc, argv, &o, NULL, NULL);
	o.reach = true;
	if (parsed) {
		rc = parsed > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	static const char *const outs[] = { "txt", "csv", NULL };
	if (o.output && !cli_output_ok(o.output, outs)) {
		cli_error("connlist: -o must be txt or csv");
		goto out;
	}
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	const struct pw_cluster *c = &w.c;
	/* netpol-analyzer cuts sources by ingress ipBlocks and destinations
	   by egress ipBlocks, separately */
	struct cl_ep *side[2];
	size_t nside[2];
	struct pw_buf b;
	pw_buf_init(&b);
	for (int d = 0; d < 2; d++) {
		struct cli_extclass *ext;
		size_t next = cli_ext_classes(c, true, 1u << d, &ext);
		nside[d] = c->ngroups + next;
		struct cl_ep *eps = side[d] = pw_xcalloc(nside[d], sizeof(*eps));
		for (uint32_t i = 0; i < c->ngroups; i++) {
			pw_buf_reset(&b);
			eps[i].name = pw_xstrdup(pw_group_kind_name(c, &c->groups[i], &b));
			eps[i].group = (int)i;
		}
		for (size_t i = 0; i < next; i++) {
			struct cl_ep *e = &eps[c->ngroups + i];
			pw_buf_reset(&b);
			pw_buf_printf(&b, "%s[External]", ext[i].name);
			e->name = pw_xstrdup(b.s);
			e->group = -1;
			e->ext = true;
			e->addr = ext[i].lo;
		}
		free(ext);
	}
	int nsfilter = o.ns ? pw_cluster_find_ns(c, o.ns) : -2;
	struct cl_line *lines = NULL;
	size_t nl = 0, lcap = 0;
	struct pw_conns cs;
	pw_conns_init(&cs);
	const struct cl_ep *srcs = side[PW_INGRESS], *dsts = side[PW_EGRESS];
	for (size_t i = 0; i < nside[PW_INGRESS]; i++)
		for (size_t k = 0; k < nside[PW_EGRESS]; k++) {
			const struct cl_ep *s = &srcs[i], *d = &dsts[k];
			if (s->ext && d->ext)
				continue;
			if (!s->ext && !d->ext && s->group == d->group)
				continue;
			if (nsfilter != -2 &&
			    !(!s->ext && (int)c->groups[s->group].ns == nsfilter) &&
			    !(!d->ext && (int)c->groups[d->group].ns == nsfilter))
				continue;
			ep_conns(&w, s, d, &cs);
			if (pw_conns_empty(&cs))
				continue;
			if (nl == lcap) {
				lcap = lcap ? lcap * 2 : 64;
				lines = pw_xrealloc(lines, lcap * sizeof(*lines));
			}
			pw_buf_reset(&b);
			pw_conns_format(&cs, &b);
			lines[nl++] = (struct cl_line){ s->name, d->name,
							 pw_xstrdup(b.s) };
		}
	if (nl)
		qsort(lines, nl, sizeof(*lines), line_cmp);
	bool csv = o.output && !strcmp(o.output, "csv");
	if (csv)
		printf("src,dst,conn\n");
	for (size_t i = 0; i < nl; i++) {
		if (csv)
			printf("%s,%s,\"%s\"\n", lines[i].src, lines[i].dst,
			       lines[i].conns);
		else
			printf("%s => %s : %s\n", lines[i].src, lines[i].dst,
			       lines[i].conns);
		free(lines[i].conns);
	}
	free(lines);
	pw_conns_release(&cs);
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < nside[d]; i++)
			free(side[d][i].name);
		free(side[d]);
	}
	pw_buf_release(&b);
	cli_world_release(&w);
	rc = 0;
out:
	cli_opts_release(&o);
	return rc;
}
