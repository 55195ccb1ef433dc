// SPDX-License-Identifier: Apache-2.0
/*
 * podwall connlist: netpol-analyzer's `list` text output, exactly.
 * One line per ordered pair of endpoints with at least one allowed
 * connection: "SRC => DST : CONNS", sorted bytewise by SRC then DST.
 * Outside addresses are IPv4 only, as there.
 * Endpoints are workloads (pods collapsed to their owner; a pair is allowed
 * where every replica pair is, as in matrix and eval) and ranges of
 * addresses outside the cluster.
 *
 * The ranges come from the engine's address classes, so that every address
 * of a range is decided alike.  netpol-analyzer names fewer ranges: sources
 * cut only by ingress ipBlocks, destinations only by egress ipBlocks.  To
 * print its lines, adjacent classes are joined into one range where the
 * join is not at one of those cuts and the two classes have the same
 * connections with every workload; where they differ (Calico nets, network
 * sets), the classes stay apart.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/pairs.h"

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
	"      --services            also lines to Services: what may reach each\n"
	"                            service port, through every backend\n"
	"  -o, --output FORMAT       txt (default) or csv\n"
	"      --hostnetwork-as-pods treat hostNetwork pods like other pods\n"
	"      --staged              no effect: the enforced policies are listed\n"
	"      --stats               timings and peak memory on stderr\n"
	"  -v, --verbose             also list the objects that were skipped\n";

struct cl_line {
	char *src, *dst;
	char *conns;
};

struct cl_lines {
	struct cl_line *v;
	size_t n, cap;
};

static int line_cmp(const void *x, const void *y)
{
	const struct cl_line *a = x, *b = y;
	int c = strcmp(a->src, b->src);
	return c ? c : strcmp(a->dst, b->dst);
}

static void line_add(struct cl_lines *l, const char *src, const char *dst,
		     const struct pw_conns *cs, struct pw_buf *b)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = pw_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	pw_buf_reset(b);
	pw_conns_format(cs, b);
	l->v[l->n++] = (struct cl_line){ pw_xstrdup(src), pw_xstrdup(dst),
					  pw_xstrdup(b->s) };
}

/* netpol-analyzer's cuts on one side: the bounds of the intervals of each
   ipBlock's cidr minus its excepts (touching excepts make one hole), and
   of AdminNetworkPolicy networks, of the rules of direction d; IPv4. */
struct cuts {
	struct pw_addr *v;
	size_t n, cap;
};

static void cut_at(struct cuts *c, const struct pw_addr *a)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = pw_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = *a;
}

static void cut_end(struct cuts *c, struct pw_addr last)
{
	if (pw_addr_inc(&last))
		cut_at(c, &last);
}

static int cidr_lo_cmp(const void *x, const void *y)
{
	const struct pw_cidr *a = x, *b = y;
	return pw_addr_cmp(&a->addr, &b->addr);
}

static void cut_block(struct cuts *c, const struct pw_cidr *cidr,
		      const struct pw_cidr *except, uint32_t nexcept)
{
	if (cidr->addr.family != 4)
		return;
	struct pw_cidr *ex = pw_xmalloc((nexcept + 1) * sizeof(*ex));
	if (nexcept)
		memcpy(ex, except, nexcept * sizeof(*ex));
	qsort(ex, nexcept, sizeof(*ex), cidr_lo_cmp);
	struct pw_addr cur = cidr->addr, end = pw_cidr_last(cidr);
	bool more = true; /* cur is still within the cidr */
	for (uint32_t i = 0; i < nexcept && more; i++) {
		if (pw_addr_cmp(&ex[i].addr, &cur) > 0) {
			cut_at(c, &cur);
			cut_at(c, &ex[i].addr);
		}
		struct pw_addr hi = pw_cidr_last(&ex[i]);
		if (pw_addr_cmp(&hi, &cur) >= 0) {
			cur = hi;
			more = pw_addr_inc(&cur) && pw_addr_cmp(&cur, &end) <= 0;
		}
	}
	if (more) {
		cut_at(c, &cur);
		cut_end(c, end);
	}
	free(ex);
}

static int addr_qcmp(const void *x, const void *y)
{
	return pw_addr_cmp(x, y);
}

static void npa_cuts(const struct pw_cluster *c, int d, struct cuts *out)
{
	for (uint32_t k = 0; k < c->npols; k++)
		for (uint32_t r = 0; r < c->pols[k].nrules[d]; r++) {
			const struct pw_rule *rule = &c->pols[k].rules[d][r];
			for (uint32_t q = 0; q < rule->npeers; q++)
				if (rule->peers[q].ipblock)
					cut_block(out, &rule->peers[q].cidr,
						  rule->peers[q].except,
						  rule->peers[q].nexcept);
		}
	for (uint32_t k = 0; k < c->napols && d == PW_EGRESS; k++)
		for (uint32_t r = 0; r < c->apols[k].nrules[PW_EGRESS]; r++) {
			const struct pw_arule *ar = &c->apols[k].rules[PW_EGRESS][r];
			for (uint32_t q = 0; q < ar->npeers; q++)
				for (uint32_t x = 0; x < ar->peers[q].nnets; x++)
					cut_block(out, &ar->peers[q].nets[x], NULL, 0);
		}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), addr_qcmp);
}

static bool is_cut(const struct cuts *c, const struct pw_addr *a)
{
	return c->n && bsearch(a, c->v, c->n, sizeof(*c->v), addr_qcmp);
}

/* What may flow from a group (or an address) to Service k */
static void svc_conns(const struct cli_world *w, int g, const struct pw_addr *a,
		      uint32_t k, struct pw_conns *out)
{
	const struct pw_cluster *c = &w->c;
	uint32_t n = g < 0 ? 1 : c->groups[g].npods;
	struct pw_ep *src = pw_xmalloc(n * sizeof(*src));
	for (uint32_t i = 0; i < n; i++)
		src[i] = g < 0 ? pw_ep_addr(a) : pw_ep_pod(c, c->groups[g].pods[i]);
	pw_service_conns(&w->e, w->reach, src, (int)n, &c->svcs[k], out);
	free(src);
}

/* What may flow between a workload and an outside address, in the
   direction of side d (PW_INGRESS: from the address to the workload);
   g past the groups: from the address to a Service (--services). */
static void ext_conns(const struct cli_world *w, int d, uint32_t g,
		      const struct pw_addr *a, struct pw_conns *out)
{
	if (g >= w->c.ngroups)
		svc_conns(w, -1, a, g - w->c.ngroups, out);
	else if (d == PW_INGRESS)
		pw_pair_conns(&w->c, &w->e, w->reach, -1, a, (int)g, NULL, out);
	else
		pw_pair_conns(&w->c, &w->e, w->reach, (int)g, NULL, -1, a, out);
}

/*
 * The lines between the workloads and the outside ranges of side d, with
 * the engine's classes joined as netpol-analyzer names them (see the top).
 */
static void ext_lines(const struct cli_world *w, int d, char **gname,
		      int ctl, bool services, int nsfilter, struct cl_lines *l,
		      struct pw_buf *b)
{
	const struct pw_cluster *c = &w->c;
	const struct pw_engine *e = &w->e;
	struct pw_extclass *x;
	size_t nx = pw_ext_classes(&e, 1, false, &x);
	struct cuts cuts = { NULL, 0, 0 };
	npa_cuts(c, d, &cuts);
	/* the columns: workloads, then Services as destinations */
	uint32_t ng = c->ngroups + (services && d == PW_INGRESS ? c->nsvcs : 0);
	struct pw_conns *run = pw_xcalloc(ng + 1, sizeof(*run));
	struct pw_conns *next = pw_xcalloc(ng + 1, sizeof(*next));
	for (uint32_t g = 0; g < ng; g++) {
		pw_conns_init(&run[g]);
		pw_conns_init(&next[g]);
	}
	for (size_t i = 0; i < nx;) {
		struct pw_addr lo = x[i].lo, hi = x[i].hi;
		if (lo.family != 4) { /* netpol-analyzer lists IPv4 only */
			i++;
			continue;
		}
		for (uint32_t g = 0; g < ng; g++)
			ext_conns(w, d, g, &lo, &run[g]);
		size_t k = i + 1;
		for (; k < nx && x[k].lo.family == lo.family &&
		       !is_cut(&cuts, &x[k].lo); k++) {
			bool same = true;
			for (uint32_t g = 0; g < ng && same; g++) {
				ext_conns(w, d, g, &x[k].lo, &next[g]);
				same = pw_conns_equal(&run[g], &next[g]);
			}
			if (!same)
				break;
			hi = x[k].hi;
		}
		char name[PW_RANGE_NAME_MAX + 16];
		pw_addr_range_name(&lo, &hi, false, name);
		strcat(name, "[External]");
		for (uint32_t g = 0; g < ng; g++) {
			uint32_t gns = g < c->ngroups ? c->groups[g].ns
						       : c->svcs[g - c->ngroups].ns;
			if (pw_conns_empty(&run[g]) || (int)g == ctl ||
			    (nsfilter != -2 && (int)gns != nsfilter))
				continue;
			if (d == PW_INGRESS)
				line_add(l, name, gname[g], &run[g], b);
			else
				line_add(l, gname[g], name, &run[g], b);
		}
		i = k;
	}
	for (uint32_t g = 0; g < ng; g++) {
		pw_conns_release(&run[g]);
		pw_conns_release(&next[g]);
	}
	free(run);
	free(next);
	free(cuts.v);
	free(x);
}

/*
 * "{ingress-controller} => WORKLOAD : CONNS": what the Ingresses and Routes
 * expose on each workload that the policies let the controller reach
 * (lib/service.h); a workload they expose but the policies close to it
 * gets a warning, as netpol-analyzer gives.
 */
static void ingress_lines(const struct cli_world *w, char **gname, int ctl,
			  int nsfilter, struct cl_lines *l, struct pw_buf *b)
{
	const struct pw_cluster *c = &w->c;
	struct pw_conns *exp = pw_xcalloc(c->ngroups + 1, sizeof(*exp)), ok;
	for (uint32_t g = 0; g < c->ngroups; g++)
		pw_conns_init(&exp[g]);
	pw_conns_init(&ok);
	for (uint32_t i = 0; i < c->nings; i++)
		pw_ingress_exposure(c, &c->ings[i], exp);
	for (uint32_t g = 0; g < c->ngroups; g++) {
		if ((int)g == ctl || pw_conns_empty(&exp[g]) ||
		    (nsfilter != -2 && (int)c->groups[g].ns != nsfilter))
			continue;
		pw_pair_conns(c, &w->e, w->reach, ctl, NULL, (int)g, NULL, &ok);
		pw_conns_intersect(&ok, &exp[g]);
		if (pw_conns_empty(&ok))
			fprintf(stderr,
				"podwall: warning: an Ingress or Route exposes %s, but the "
				"network policies block ingress from an arbitrary in-cluster "
				"source to it: no line for the ingress controller\n",
				gname[g]);
		else
			line_add(l, "{ingress-controller}", gname[g], &ok, b);
	}
	for (uint32_t g = 0; g < c->ngroups; g++)
		pw_conns_release(&exp[g]);
	free(exp);
	pw_conns_release(&ok);
}

static int services_opt(void *ctx, int argc, char **argv, int *i)
{
	(void)argc;
	if (strcmp(argv[*i], "--services"))
		return 0;
	*(bool *)ctx = true;
	return 1;
}

int cmd_connlist(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	int rc = EXIT_USAGE;
	bool services = false;
	int parsed = cli_parse("connlist", connlist_usage, argc, argv, &o,
			       services_opt, &services);
	o.reach = true;
	o.ingress_controller = true;
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
	struct pw_buf b;
	pw_buf_init(&b);
	char **gname = pw_xcalloc(c->ngroups + c->nsvcs + 1, sizeof(*gname));
	for (uint32_t i = 0; i < c->ngroups; i++) {
		pw_buf_reset(&b);
		gname[i] = pw_xstrdup(pw_group_kind_name(c, &c->groups[i], &b));
	}
	for (uint32_t i = 0; i < c->nsvcs; i++) {
		pw_buf_reset(&b);
		pw_buf_printf(&b, "%s/%s[Service]", c->nss[c->svcs[i].ns].name,
			      c->svcs[i].name);
		gname[c->ngroups + i] = pw_xstrdup(b.s);
	}
	int nsfilter = o.ns ? pw_cluster_find_ns(c, o.ns) : -2;
	struct cl_lines l = { NULL, 0, 0 };
	struct pw_conns cs;
	pw_conns_init(&cs);
	int32_t ip = w.view.ingress_pod;
	int ctl = ip >= 0 ? (int)c->pods[ip].group : -1;
	for (uint32_t i = 0; i < c->ngroups; i++)
		for (uint32_t k = 0; k < c->ngroups; k++) {
			if (i == k || (int)i == ctl || (int)k == ctl)
				continue;
			if (nsfilter != -2 && (int)c->groups[i].ns != nsfilter &&
			    (int)c->groups[k].ns != nsfilter)
				continue;
			pw_pair_conns(c, &w.e, w.reach, (int)i, NULL, (int)k,
				      NULL, &cs);
			if (!pw_conns_empty(&cs))
				line_add(&l, gname[i], gname[k], &cs, &b);
		}
	for (uint32_t k = 0; services && k < c->nsvcs; k++) {
		/* --services: what each workload may reach through each Service */
		for (uint32_t i = 0; i < c->ngroups; i++) {
			if ((int)i == ctl || (nsfilter != -2 && (int)c->groups[i].ns != nsfilter &&
					      (int)c->svcs[k].ns != nsfilter))
				continue;
			svc_conns(&w, (int)i, NULL, k, &cs);
			if (!pw_conns_empty(&cs))
				line_add(&l, gname[i], gname[c->ngroups + k], &cs, &b);
		}
	}
	ext_lines(&w, PW_INGRESS, gname, ctl, services, nsfilter, &l, &b);
	ext_lines(&w, PW_EGRESS, gname, ctl, services, nsfilter, &l, &b);
	if (ctl >= 0)
		ingress_lines(&w, gname, ctl, nsfilter, &l, &b);
	struct cl_line *lines = l.v;
	size_t nl = l.n;
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
		free(lines[i].src);
		free(lines[i].dst);
		free(lines[i].conns);
	}
	free(lines);
	pw_conns_release(&cs);
	for (uint32_t i = 0; i < c->ngroups + c->nsvcs; i++)
		free(gname[i]);
	free(gname);
	pw_buf_release(&b);
	cli_world_release(&w);
	rc = 0;
out:
	cli_opts_release(&o);
	return rc;
}
