// SPDX-License-Identifier: Apache-2.0
/*
 * podwall lint: problems in a policy set, each with the FILE:LINE of the
 * object to fix.  Checks (ids as printed):
 *   no-default-deny     namespace with pods but no default-deny policy
 *                       (podSelector {} isolating ingress, or egress)
 *   selects-nothing     policy whose podSelector matches no pod
 *   peer-matches-nothing  selector peer that matches no pod
 *   dns-blocked         egress-isolated workload that cannot reach DNS
 *                       (UDP/53, TCP/53 to kube-dns or anywhere)
 *   open-to-world       ingress allowed from 0.0.0.0/0 or ::/0 (an ipBlock,
 *                       or a rule without `from`)
 *   shadowed-rule       rule whose peers and ports an earlier rule of the
 *                       same policy already allows
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "doc.h"

static const char lint_usage[] =
	"usage: podwall lint -f FILE|DIR|- [-f ...] [options]\n"
	"\n"
	"Report problems in a policy set: namespaces with no default deny,\n"
	"policies that select no pod, peers that match nothing, egress-isolated\n"
	"workloads that cannot reach DNS, ingress open to the whole internet,\n"
	"and rules shadowed by earlier ones.\n"
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

struct finding {
	const char *check;
	struct pw_pos pos;
	char *msg;
	uint32_t ns;
};

struct lint {
	const struct cli_world *w;
	struct finding *v;
	size_t n, cap;
};

static void add(struct lint *l, const char *check, struct pw_pos pos,
		uint32_t ns, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add(struct lint *l, const char *check, struct pw_pos pos,
		uint32_t ns, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = pw_xvasprintf(fmt, ap);
	va_end(ap);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = pw_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct finding){ check, pos, msg, ns };
}

static const char *ns_name(const struct lint *l, uint32_t ns)
{
	return l->w->c.nss[ns].name;
}

static void check_default_deny(struct lint *l)
{
	const struct pw_cluster *c = &l->w->c;
	for (uint32_t ns = 0; ns < c->nns; ns++) {
		uint32_t npods = 0;
		struct pw_pos pos = c->nss[ns].pos;
		for (uint32_t i = 0; i < c->npods; i++)
			if (c->pods[i].ns == ns && !c->pods[i].host_network) {
				if (!npods && !pos.file)
					pos = c->pods[i].pos;
				npods++;
			}
		if (!npods)
			continue;
		unsigned have = 0;
		for (uint32_t k = 0; k < c->npols; k++)
			if (c->pols[k].ns == ns && !c->pols[k].sel.n && !c->pols[k].staged)
				have |= c->pols[k].types;
		static const char *const dn[2] = { "ingress", "egress" };
		for (int d = 0; d < 2; d++)
			if (!(have & (1u << d)))
				add(l, "no-default-deny", pos, ns,
				    "namespace %s has %u pod%s and no policy with podSelector {} isolating %s (default deny)",
				    ns_name(l, ns), npods, npods == 1 ? "" : "s", dn[d]);
	}
}

static void check_selects_nothing(struct lint *l)
{
	const struct pw_cluster *c = &l->w->c;
	for (uint32_t k = 0; k < c->npols; k++) {
		if (c->pols[k].staged)
			continue;
		bool any = false;
		for (uint32_t i = 0; i < c->npods && !any; i++)
			any = pw_engine_policy_selects(&l->w->e, k, i);
		if (!any) {
			struct pw_buf b;
			pw_buf_init(&b);
			pw_lsel_format(&c->pols[k].sel, &b);
			add(l, "selects-nothing", c->pols[k].pos, c->pols[k].ns,
			    "policy %s/%s selects no pod (podSelector %s)",
			    ns_name(l, c->pols[k].ns), c->pols[k].name, b.s);
			pw_buf_release(&b);
		}
	}
}

static const struct pw_idset *peer_bits(const struct pw_engine *e, uint32_t k,
				 int d, uint32_t r, uint32_t q)
{
	return pw_engine_k8s_peer_ids(e, k, (enum pw_dir)d, r, q);
}

/* The namespaces of the input that a peer's namespace part selects. */
static uint32_t peer_namespaces(const struct pw_cluster *c,
				const struct pw_policy *pol,
				const struct pw_peer *p)
{
	if (!p->ns_sel)
		return 1; /* the policy's own namespace */
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->nns; i++)
		n += pw_lsel_match(p->ns_sel, &c->nss[i].labels);
	return n;
}

static void check_peers(struct lint *l)
{
	const struct pw_cluster *c = &l->w->c;
	const struct pw_engine *e = &l->w->e;
	struct pw_label sys[] = { { "kubernetes.io/metadata.name", "kube-system" } };
	struct pw_labels sysl = { sys, 1 };
	for (uint32_t k = 0; k < c->npols; k++)
		for (int d = 0; d < 2 && !c->pols[k].staged; d++)
			for (uint32_t r = 0; r < c->pols[k].nrules[d]; r++) {
				const struct pw_rule *rule = &c->pols[k].rules[d][r];
				for (uint32_t q = 0; q < rule->npeers; q++) {
					const struct pw_peer *p = &rule->peers[q];
					const struct pw_idset *bs = peer_bits(e, k, d, r, q);
					if (p->ipblock || !bs || !pw_idset_empty(e, bs))
						continue;
					uint32_t nns = peer_namespaces(c, &c->pols[k], p);
					/* kube-system (cluster DNS) is seldom part of the
					   input: a peer there is not a mistake */
					if (!nns && pw_lsel_match(p->ns_sel, &sysl))
						continue;
					struct pw_buf b;
					pw_buf_init(&b);
					if (p->ns_sel) {
						pw_buf_puts(&b, "namespaceSelector ");
						pw_lsel_format(p->ns_sel, &b);
						pw_buf_puts(&b, p->pod_sel ? " and " : "");
					}
					if (p->pod_sel) {
						pw_buf_puts(&b, "podSelector ");
						pw_lsel_format(p->pod_sel, &b);
					}
					add(l, "peer-matches-nothing", p->pos, c->pols[k].ns,
					    "policy %s/%s: %s peer (%s) matches no %s",
					    ns_name(l, c->pols[k].ns), c->pols[k].name,
					    d == PW_INGRESS ? "ingress" : "egress", b.s,
					    nns ? "pod" : "namespace");
					pw_buf_release(&b);
				}
			}
}

/* ---- DNS ------------------------------------------------------------- */

/* Could this egress rule reach a DNS server on proto/53?  Peers: no peers,
   any ipBlock, a real pod in the input, or (when the input has no kube-dns
   pod) a CoreDNS pod as EKS runs it: kube-system, k8s-app=kube-dns. */
static bool rule_reaches_dns(const struct lint *l, uint32_t k, uint32_t r,
			     int proto, const struct pw_labels *dns_ns,
			     const struct pw_labels *dns_pod)
{
	const struct pw_cluster *c = &l->w->c;
	const struct pw_engine *e = &l->w->e;
	const struct pw_rule *rule = &c->pols[k].rules[PW_EGRESS][r];
	bool port_ok = !rule->nports;
	for (uint32_t i = 0; i < rule->nports && !port_ok; i++) {
		const struct pw_np_port *pp = &rule->ports[i];
		if (pp->proto != proto)
			continue;
		if (pp->name)
			port_ok = !strcmp(pp->name, "dns") ||
				  !strcmp(pp->name, "dns-tcp");
		else
			port_ok = !pp->port || (pp->port <= 53 &&
				(pp->end_port ? pp->end_port : pp->port) >= 53);
	}
	if (!port_ok)
		return false;
	if (!rule->npeers)
		return true;
	for (uint32_t q = 0; q < rule->npeers; q++) {
		const struct pw_peer *p = &rule->peers[q];
		if (p->ipblock)
			return true;
		/* a kube-dns pod of the input */
		const struct pw_idset *bs = peer_bits(e, k, PW_EGRESS, r, q);
		for (uint32_t i = 0; i < c->npods; i++) {
			const char *v = pw_labels_get(&c->pods[i].labels, "k8s-app");
			if (v && !strcmp(v, "kube-dns") && pw_engine_has_id(e, bs, i))
				return true;
		}
		/* the cluster's DNS, when the input does not describe it */
		bool ns_ok = p->ns_sel ? pw_lsel_match(p->ns_sel, dns_ns)
				       : !strcmp(ns_name(l, c->pols[k].ns), "kube-system");
		if (ns_ok && (!p->pod_sel || pw_lsel_match(p->pod_sel, dns_pod)))
			return true;
	}
	return false;
}

static void check_dns(struct lint *l)
{
	const struct pw_cluster *c = &l->w->c;
	const struct pw_engine *e = &l->w->e;
	struct pw_label nl[] = { { "kubernetes.io/metadata.name", "kube-system" } };
	struct pw_label pl[] = { { "k8s-app", "kube-dns" } };
	struct pw_labels dns_ns = { nl, 1 }, dns_pod = { pl, 1 };
	for (uint32_t g = 0; g < c->ngroups; g++) {
		const struct pw_group *gr = &c->groups[g];
		const struct pw_pod *p = &c->pods[gr->pods[0]];
		if (p->host_network)
			continue;
		/* the Kubernetes policies isolating it for egress */
		uint32_t iso[64], niso = 0;
		for (uint32_t k = 0; k < c->npols && niso < 64; k++)
			if ((c->pols[k].types & PW_TYPE_EGRESS) &&
			    pw_engine_policy_selects(e, k, gr->pods[0]))
				iso[niso++] = k;
		if (!niso)
			continue;
		const char *v = pw_labels_get(&p->labels, "k8s-app");
		if (v && !strcmp(v, "kube-dns"))
			continue; /* the DNS server itself */
		bool ok[2] = { false, false };
		static const int protos[2] = { PW_UDP, PW_TCP };
		for (int x = 0; x < 2; x++)
			for (uint32_t i = 0; i < niso && !ok[x]; i++) {
				uint32_t k = iso[i];
				for (uint32_t r = 0; r < c->pols[k].nrules[PW_EGRESS] && !ok[x]; r++)
					ok[x] = rule_reaches_dns(l, k, r, protos[x],
								 &dns_ns, &dns_pod);
			}
		if (ok[0] && ok[1])
			continue;
		const struct pw_policy *pol = &c->pols[iso[0]];
		struct pw_buf b;
		pw_buf_init(&b);
		add(l, "dns-blocked", pol->pos, gr->ns,
		    "%s is egress-isolated (by %s/%s) and cannot reach DNS on %s",
		    pw_group_kind_name(c, gr, &b), ns_name(l, pol->ns), pol->name,
		    !ok[0] && !ok[1] ? "UDP/53 and TCP/53" : !ok[0] ? "UDP/53" : "TCP/53");
		pw_buf_release(&b);
	}
}

static void check_open(struct lint *l)
{
	const struct pw_cluster *c = &l->w->c;
	for (uint32_t k = 0; k < c->npols; k++) {
		if (c->pols[k].staged)
			continue;
		const struct pw_policy *pol = &c->pols[k];
		if (!(pol->types & PW_TYPE_INGRESS))
			continue;
		for (uint32_t r = 0; r < pol->nrules[PW_INGRESS]; r++) {
			const struct pw_rule *rule = &pol->rules[PW_INGRESS][r];
			if (!rule->npeers)
				add(l, "open-to-world", rule->pos, pol->ns,
				    "policy %s/%s: ingress[%u] has no `from`, so it allows every source, the internet included",
				    ns_name(l, pol->ns), pol->name, r);
			for (uint32_t q = 0; q < rule->npeers; q++) {
				const struct pw_peer *p = &rule->peers[q];
				if (p->ipblock && p->cidr.len == 0) {
					char cs[52];
					pw_cidr_format(&p->cidr, cs);
					add(l, "open-to-world", p->pos, pol->ns,
					    "policy %s/%s: ingress[%u] allows %s%s",
					    ns_name(l, pol->ns), pol->name, r, cs,
					    p->nexcept ? " (with exceptions)" : "");
				}
			}
		}
	}
}

/* ---- shadowed rules --------------------------------------------------- */

static bool cidr_within(const struct pw_cidr *in, const struct pw_cidr *out)
{
	return in->addr.family == out->addr.family && in->len >= out->len &&
	       pw_cidr_contains(out, &in->addr);
}

static bool cidr_overlap(const struct pw_cidr *a, const struct pw_cidr *b)
{
	return cidr_within(a, b) || cidr_within(b, a);
}

static bool peer_covered(const struct pw_engine *e, uint32_t k, int d,
			 uint32_t rj, uint32_t qj, uint32_t ri)
{
	const struct pw_rule *i = &e->c->pols[k].rules[d][ri];
	const struct pw_peer *pj = &e->c->pols[k].rules[d][rj].peers[qj];
	if (!i->npeers)
		return true;
	for (uint32_t q = 0; q < i->npeers; q++) {
		const struct pw_peer *pi = &i->peers[q];
		if (pj->ipblock && pi->ipblock) {
			if (!cidr_within(&pj->cidr, &pi->cidr))
				continue;
			bool hole = false;
			for (uint32_t x = 0; x < pi->nexcept && !hole; x++)
				hole = cidr_overlap(&pi->except[x], &pj->cidr);
			if (!hole)
				return true;
		} else if (!pj->ipblock && !pi->ipblock) {
			const struct pw_idset *bj = peer_bits(e, k, d, rj, qj);
			const struct pw_idset *bi = peer_bits(e, k, d, ri, q);
			if (bj && bi && !pw_idset_empty(e, bj) && pw_idset_subset(e, bj, bi))
				return true;
		}
	}
	return false;
}

static bool port_covered(const struct pw_np_port *pj, const struct pw_rule *i)
{
	if (!i->nports)
		return true;
	for (uint32_t x = 0; x < i->nports; x++) {
		const struct pw_np_port *pi = &i->ports[x];
		if (pi->proto != pj->proto)
			continue;
		if (!pi->name && !pi->port)
			return true;
		if (pi->name || pj->name) {
			if (pi->name && pj->name && !strcmp(pi->name, pj->name))
				return true;
			continue;
		}
		if (!pj->port)
			continue;
		int jhi = pj->end_port ? pj->end_port : pj->port;
		int ihi = pi->end_port ? pi->end_port : pi->port;
		if (pj->port >= pi->port && jhi <= ihi)
			return true;
	}
	return false;
}

static void check_shadowed(struct lint *l)
{
	const struct pw_cluster *c = &l->w->c;
	const struct pw_engine *e = &l->w->e;
	static const char *const dn[2] = { "ingress", "egress" };
	for (uint32_t k = 0; k < c->npols; k++)
		for (int d = 0; d < 2 && !c->pols[k].staged; d++) {
			const struct pw_policy *pol = &c->pols[k];
			for (uint32_t j = 1; j < pol->nrules[d]; j++) {
				const struct pw_rule *rj = &pol->rules[d][j];
				for (uint32_t i = 0; i < j; i++) {
					const struct pw_rule *ri = &pol->rules[d][i];
					bool cov = rj->npeers || !ri->npeers;
					for (uint32_t q = 0; q < rj->npeers && cov; q++)
						cov = peer_covered(e, k, d, j, q, i);
					if (cov && !rj->nports && ri->nports)
						cov = false;
					for (uint32_t x = 0; x < rj->nports && cov; x++)
						cov = port_covered(&rj->ports[x], ri);
					if (!cov)
						continue;
					add(l, "shadowed-rule", rj->pos, pol->ns,
					    "policy %s/%s: %s[%u] allows nothing that %s[%u] (line %d) does not already allow",
					    ns_name(l, pol->ns), pol->name, dn[d], j, dn[d], i,
					    ri->pos.line);
					break;
				}
			}
		}
}

static int finding_cmp(const void *x, const void *y)
{
	const struct finding *a = x, *b = y;
	int c = strcmp(a->pos.file ? a->pos.file : "", b->pos.file ? b->pos.file : "");
	if (c)
		return c;
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line ? -1 : 1;
	if (a->pos.col != b->pos.col)
		return a->pos.col < b->pos.col ? -1 : 1;
	c = strcmp(a->check, b->check);
	return c ? c : strcmp(a->msg, b->msg);
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
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	struct lint l = { &w, NULL, 0, 0 };
	check_default_deny(&l);
	check_selects_nothing(&l);
	check_peers(&l);
	check_dns(&l);
	check_open(&l);
	check_shadowed(&l);
	int nsf = o.ns ? pw_cluster_find_ns(&w.c, o.ns) : -2;
	size_t kept = 0;
	for (size_t i = 0; i < l.n; i++) {
		if (nsf != -2 && (int)l.v[i].ns != nsf) {
			free(l.v[i].msg);
			continue;
		}
		l.v[kept++] = l.v[i];
	}
	l.n = kept;
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), finding_cmp);
	if (!strcmp(fmt, "table")) {
		for (size_t i = 0; i < l.n; i++)
			printf("%s:%d:%d: %s: %s\n", l.v[i].pos.file ? l.v[i].pos.file : "-",
			       l.v[i].pos.line, l.v[i].pos.col, l.v[i].check, l.v[i].msg);
		printf("%zu finding%s\n", l.n, l.n == 1 ? "" : "s");
	} else {
		struct doc *r = doc_arr();
		for (size_t i = 0; i < l.n; i++) {
			struct doc *x = doc_add(r, NULL, doc_obj());
			doc_add(x, "check", doc_str(l.v[i].check));
			doc_add(x, "file", doc_str(l.v[i].pos.file));
			doc_add(x, "line", doc_int(l.v[i].pos.line));
			doc_add(x, "column", doc_int(l.v[i].pos.col));
			doc_add(x, "message", doc_str(l.v[i].msg));
		}
		doc_print(r, fmt, stdout);
		doc_free(r);
	}
	rc = l.n ? EXIT_FINDINGS : 0;
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].msg);
	free(l.v);
	cli_world_release(&w);
out:
	cli_opts_release(&o);
	return rc;
}
