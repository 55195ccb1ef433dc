// SPDX-License-Identifier: Apache-2.0
/* Lint checks; see lint.h for what each one means. */
#include "lint.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "calsel.h"
#include "service.h"

const char pw_lint_dns_model[] = "(CoreDNS as EKS runs it)";

static const char *const dir_name[2] = { "ingress", "egress" };

struct ctx {
	struct pw_lint *l;
	const struct pw_engine *e;
	const struct pw_cluster *c;
	struct pw_buf b, b2; /* scratch */
};

static void add(struct ctx *x, const char *check, struct pw_pos pos, int ns,
		const char *fmt, ...) PW_PRINTF(5, 6);

static void add(struct ctx *x, const char *check, struct pw_pos pos, int ns,
		const char *fmt, ...)
{
	struct pw_lint *l = x->l;
	va_list ap;
	va_start(ap, fmt);
	char *msg = pw_xvasprintf(fmt, ap);
	va_end(ap);
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = pw_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct pw_finding){ check, pos, ns, msg };
}

static bool modelled(const struct pw_pod *p)
{
	return p->pos.file == pw_lint_dns_model;
}

/* The cluster's DNS: what the kube-dns Service of kube-system selects. */
static bool is_dns_pod(const struct pw_cluster *c, const struct pw_pod *p)
{
	const char *v = pw_labels_get(&p->labels, "k8s-app");
	return v && !strcmp(v, "kube-dns") && !strcmp(c->nss[p->ns].name, "kube-system");
}

/* The namespace a policy slot belongs to (-1: cluster-wide). */
static int slot_ns(const struct pw_engine *e, const struct pw_gpolicy *g)
{
	if (g->src == PW_SRC_K8S)
		return (int)e->c->pols[g->src_index].ns;
	if (g->src == PW_SRC_CALICO)
		return e->c->cpols[g->src_index].ns;
	return -1;
}

static bool slot_staged(const struct pw_engine *e, const struct pw_gpolicy *g)
{
	if (g->src == PW_SRC_K8S)
		return e->c->pols[g->src_index].staged != PW_ENFORCED;
	if (g->src == PW_SRC_CALICO)
		return e->c->cpols[g->src_index].staged != PW_ENFORCED;
	return false;
}

static bool slot_deleted(const struct pw_engine *e, const struct pw_gpolicy *g)
{
	if (g->src == PW_SRC_K8S)
		return e->c->pols[g->src_index].deleted;
	if (g->src == PW_SRC_CALICO)
		return e->c->cpols[g->src_index].deleted;
	return e->c->apols[g->src_index].deleted;
}

/* "NetworkPolicy ns/name", with "Staged" where the policy is staged. */
static const char *pol_name(const struct pw_engine *e, const struct pw_gpolicy *g,
			    struct pw_buf *b)
{
	pw_buf_reset(b);
	if (slot_staged(e, g))
		pw_buf_puts(b, g->src == PW_SRC_K8S ? "StagedKubernetes" : "Staged");
	pw_buf_puts(b, g->display);
	return b->s;
}

static const char *str(const struct pw_buf *b)
{
	return b->s ? b->s : "";
}

static bool has_zero_net(const struct pw_cidr *v, uint32_t n, int family)
{
	for (uint32_t i = 0; i < n; i++)
		if (!v[i].len && v[i].addr.family == family)
			return true;
	return false;
}

/* ---- default deny --------------------------------------------------------- */

enum { F_POD = 1, F_V4 = 2, F_V6 = 4, F_ALL = 7 };

/*
 * The selector part of one side of a compiled rule, as its policy wrote it
 * (the engine keeps only the pods it matches): kind PW_GS_UNSET when the
 * side has none.
 */
static struct pw_gsel side_sel(const struct pw_engine *e, const struct pw_gpolicy *g,
			       int d, const struct pw_grule *r, bool src)
{
	const struct pw_cluster *c = e->c;
	struct pw_gsel out = { .kind = PW_GS_UNSET };
	if (g->src == PW_SRC_CALICO) {
		const struct pw_cpolicy *p = &c->cpols[g->src_index];
		const struct pw_crule *cr = &p->rules[d][r->index];
		out = (struct pw_gsel){ .kind = PW_GS_CSIDE, .ns = p->ns,
					.cs = src ? &cr->src : &cr->dst };
	} else if (r->peer >= 0 && src == (d == PW_INGRESS)) {
		if (g->src == PW_SRC_K8S) {
			const struct pw_policy *p = &c->pols[g->src_index];
			const struct pw_peer *q = &p->rules[d][r->index].peers[r->peer];
			out = (struct pw_gsel){ .kind = PW_GS_K8S, .ns = (int)p->ns,
						.ns_sel = q->ns_sel, .pod_sel = q->pod_sel };
		} else {
			const struct pw_apeer *q =
				&c->apols[g->src_index].rules[d][r->index].peers[r->peer];
			out = (struct pw_gsel){ .kind = q->kind == PW_AP_NODES ? PW_GS_NONE
									   : PW_GS_K8S,
						.ns = -1, .ns_sel = q->ns_sel,
						.pod_sel = q->pod_sel };
		}
	}
	return out;
}

/* Does a side's selector part match every pod, of every namespace? */
static bool sel_universal(const struct pw_gside *s, const struct pw_gsel *g)
{
	if (!s->ids)
		return true;
	if (g->kind == PW_GS_K8S)
		return (g->ns_sel ? !g->ns_sel->n : g->ns < 0) &&
		       (!g->pod_sel || !g->pod_sel->n);
	if (g->kind == PW_GS_CSIDE) {
		const struct pw_cside *cs = g->cs;
		return (!cs->sel || pw_csel_is_all(cs->sel)) && !cs->has_sa &&
		       (cs->ns_sel ? pw_csel_is_all(cs->ns_sel) : g->ns < 0);
	}
	return false;
}

/* The peer families that a side matches entirely. */
static unsigned side_covers(const struct pw_gside *s, const struct pw_gsel *sel)
{
	if (s->nnot_nets || s->ndomains)
		return 0;
	unsigned f = 0;
	/* notSelector excludes pods, and the addresses of the sets it picks */
	if (!s->not_ids && sel_universal(s, sel) &&
	    (!s->nnets || (s->nets_pods && has_zero_net(s->nets, s->nnets, 4) &&
			   has_zero_net(s->nets, s->nnets, 6))))
		f |= F_POD;
	/* outside addresses: through nets, or a network set the selector
	   picks */
	if (!s->pods_only && !s->nnot_set_nets) {
		for (int fam = 4; fam <= 6; fam += 2)
			if ((!s->nnets || has_zero_net(s->nets, s->nnets, fam)) &&
			    (!s->ids || has_zero_net(s->set_nets, s->nset_nets, fam)))
				f |= fam == 4 ? F_V4 : F_V6;
	}
	return f;
}

/* The peer families that rule r matches on every protocol and port, for
   traffic of the pod self in direction d. */
static unsigned rule_covers(const struct pw_engine *e, const struct pw_gpolicy *g,
			    const struct pw_grule *r, enum pw_dir d,
			    const struct pw_ep *self)
{
	if (r->proto != PW_ANY || r->not_proto != PW_ANY ||
	    r->icmp_type != PW_ANY || r->not_icmp_type != PW_ANY ||
	    r->dst.nports || r->dst.nnot_ports)
		return 0;
	const struct pw_gside *own = d == PW_INGRESS ? &r->dst : &r->src;
	const struct pw_gside *peer = d == PW_INGRESS ? &r->src : &r->dst;
	if (!pw_engine_side_match(e, own, self))
		return 0;
	struct pw_gsel sel = side_sel(e, g, d, r, d == PW_INGRESS);
	unsigned f = side_covers(peer, &sel);
	if (r->ip_version == 4)
		f &= F_V4;
	else if (r->ip_version == 6)
		f &= F_V6;
	return f;
}

struct open_why {
	int policy, rule; /* the unconditional Allow rule, or -1 */
	bool none;	  /* no policy applies */
};

/* The families that pod lets through by default in direction d. */
static unsigned default_open(const struct pw_engine *e, uint32_t pod,
			     enum pw_dir d, struct open_why *why)
{
	uint32_t n;
	const uint32_t *ap = pw_engine_applicable(e, pod, d, &n);
	struct pw_ep self = pw_ep_pod(e->c, pod);
	unsigned open = 0, live = F_ALL;
	*why = (struct open_why){ -1, -1, n == 0 };
	uint32_t i = 0;
	while (i < n && live) {
		uint32_t tier = e->pols[ap[i]].tier;
		unsigned passed = 0;
		for (; i < n && e->pols[ap[i]].tier == tier; i++) {
			const struct pw_gpolicy *g = &e->pols[ap[i]];
			uint32_t r = 0;
			while (r < g->nrules[d] && (live & ~passed)) {
				const struct pw_grule *gr = &g->rules[d][r];
				unsigned cov = 0;
				uint32_t r2 = r;
				for (; r2 < g->nrules[d] && g->rules[d][r2].index == gr->index; r2++)
					cov |= rule_covers(e, g, &g->rules[d][r2], d, &self);
				cov &= live & ~passed;
				if (cov && gr->action == PW_ACT_ALLOW) {
					if (!open)
						*why = (struct open_why){ (int)ap[i], (int)r, false };
					open |= cov;
					live &= ~cov;
				} else if (cov && gr->action == PW_ACT_DENY) {
					live &= ~cov;
				} else if (cov && gr->action == PW_ACT_PASS) {
					passed |= cov;
				}
				r = r2;
			}
		}
		if (e->tiers[tier].default_action == PW_ACT_DENY)
			live &= passed;
	}
	return open | live; /* after the last tier the profile allows */
}

static const char *families_text(unsigned f)
{
	switch (f) {
	case F_ALL: return "every peer";
	case F_POD: return "every pod";
	case F_V4 | F_V6: return "every address outside the cluster";
	case F_V4: return "every outside IPv4 address";
	case F_V6: return "every outside IPv6 address";
	case F_POD | F_V4: return "every pod and outside IPv4 address";
	default: return "every pod and outside IPv6 address";
	}
}

static void check_default_deny(struct ctx *x)
{
	const struct pw_cluster *c = x->c;
	const struct pw_engine *e = x->e;
	uint32_t *count = pw_xcalloc(c->nns + 1, sizeof(*count));
	for (uint32_t i = 0; i < c->npods; i++)
		if (!c->pods[i].template && !c->pods[i].host_network)
			count[c->pods[i].ns]++;
	for (uint32_t i = 0; i < c->nwls; i++)
		if (!c->wls[i].has_pods && !c->wls[i].tmpl.host_network)
			count[c->wls[i].ns] += c->wls[i].replicas;
	for (uint32_t ns = 0; ns < c->nns; ns++) {
		if (!count[ns])
			continue;
		struct pw_pos pos = c->nss[ns].pos;
		for (int d = 0; d < 2; d++) {
			uint32_t bad = 0;
			int first = -1;
			unsigned ffam = 0;
			struct open_why fwhy = { -1, -1, false };
			for (uint32_t gi = 0; gi < c->ngroups; gi++) {
				const struct pw_group *gr = &c->groups[gi];
				if (gr->ns != ns)
					continue;
				bool open_here = false;
				for (uint32_t k = 0; k < gr->npods; k++) {
					uint32_t p = gr->pods[k];
					struct pw_ep ep = pw_ep_pod(c, p);
					if (modelled(&c->pods[p]) || !pw_engine_governed(e, &ep))
						continue;
					if (!pos.file)
						pos = c->pods[p].pos;
					struct open_why why;
					unsigned f = default_open(e, p, (enum pw_dir)d, &why);
					if (!f)
						continue;
					open_here = true;
					if (first < 0) {
						first = (int)gi;
						ffam = f;
						fwhy = why;
					}
					break;
				}
				bad += open_here;
			}
			if (!bad)
				continue;
			struct pw_buf *b = &x->b, *b2 = &x->b2;
			pw_buf_reset(b);
			pw_group_kind_name(c, &c->groups[first], b);
			pw_buf_printf(b, " lets %s %s", families_text(ffam),
				      d == PW_INGRESS ? "in" : "out");
			if (fwhy.none) {
				pw_buf_puts(b, " (no policy applies)");
			} else if (fwhy.policy >= 0) {
				const struct pw_gpolicy *g = &e->pols[fwhy.policy];
				const struct pw_grule *r = &g->rules[d][fwhy.rule];
				pw_buf_printf(b, " (%s %s[%u] allows %s)",
					      pol_name(e, g, b2), dir_name[d], r->index,
					      ffam == F_ALL ? "every peer" : "them");
			} else {
				pw_buf_puts(b, " (no tier denies it: the namespace profile allows)");
			}
			if (bad > 1)
				pw_buf_printf(b, ", and %u more workload%s not default-denied",
					      bad - 1, bad == 2 ? " is" : "s are");
			add(x, "no-default-deny", pos, (int)ns,
			    "namespace %s has %u pod%s and no default deny for %s: %s",
			    c->nss[ns].name, count[ns], count[ns] == 1 ? "" : "s",
			    dir_name[d], str(b));
		}
	}
	free(count);
}

/* ---- selectors that match nothing -------------------------------------- */

static void csel_part(struct pw_buf *b, const char *what, const struct pw_csel *s)
{
	if (b->len)
		pw_buf_puts(b, ", ");
	pw_buf_printf(b, "%s ", what);
	pw_csel_format(s, b);
}

static void lsel_part(struct pw_buf *b, const char *what, const struct pw_lsel *s)
{
	if (b->len)
		pw_buf_puts(b, " and ");
	pw_buf_printf(b, "%s ", what);
	pw_lsel_format(s, b);
}

static void subject_text(const struct pw_engine *e, const struct pw_gpolicy *g,
			 struct pw_buf *b)
{
	const struct pw_cluster *c = e->c;
	pw_buf_reset(b);
	if (g->src == PW_SRC_K8S) {
		lsel_part(b, "podSelector", &c->pols[g->src_index].sel);
	} else if (g->src == PW_SRC_CALICO) {
		const struct pw_cpolicy *p = &c->cpols[g->src_index];
		if (p->sel)
			csel_part(b, "selector", p->sel);
		else
			pw_buf_puts(b, "selector all()");
		if (p->ns_sel)
			csel_part(b, "namespaceSelector", p->ns_sel);
		if (p->sa_sel)
			csel_part(b, "serviceAccountSelector", p->sa_sel);
	} else {
		const struct pw_apolicy *p = &c->apols[g->src_index];
		if (p->subj_ns)
			lsel_part(b, p->subj_pod ? "pods: namespaceSelector"
						 : "namespaces", p->subj_ns);
		if (p->subj_pod)
			lsel_part(b, "podSelector", p->subj_pod);
	}
}

static void check_selects_nothing(struct ctx *x)
{
	const struct pw_engine *e = x->e;
	for (uint32_t k = 0; k < e->npols; k++) {
		const struct pw_gpolicy *g = &e->pols[k];
		if (!g->display || slot_deleted(e, g) || !pw_idset_empty(e, g->ids))
			continue;
		subject_text(e, g, &x->b2);
		add(x, "selects-nothing", g->pos, slot_ns(e, g),
		    "%s selects no pod (%s)", pol_name(e, g, &x->b), str(&x->b2));
	}
}

static uint32_t lsel_namespaces(const struct pw_cluster *c, const struct pw_lsel *s)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->nns; i++)
		n += pw_lsel_match(s, &c->nss[i].labels);
	return n;
}

/* The peer or side text and what it fails to match, for a rule side whose
   selector part matches no pod; false when it matches something else. */
static bool side_text(const struct pw_engine *e, const struct pw_gpolicy *g,
		      enum pw_dir d, const struct pw_grule *r, bool src,
		      struct pw_buf *b, const char **what, struct pw_pos *pos)
{
	const struct pw_cluster *c = e->c;
	const struct pw_gside *s = src ? &r->src : &r->dst;
	if (!s->ids || !pw_idset_empty(e, s->ids) || s->nset_nets || s->nset_domains)
		return false;
	pw_buf_reset(b);
	*what = "pod";
	*pos = r->pos;
	if (g->src == PW_SRC_K8S) {
		const struct pw_peer *p =
			&c->pols[g->src_index].rules[d][r->index].peers[r->peer];
		pw_buf_printf(b, "%s peer (", dir_name[d]);
		size_t at = b->len;
		if (p->ns_sel) {
			pw_buf_puts(b, "namespaceSelector ");
			pw_lsel_format(p->ns_sel, b);
			if (!lsel_namespaces(c, p->ns_sel))
				*what = "namespace";
		}
		if (p->pod_sel) {
			pw_buf_puts(b, b->len > at ? " and podSelector " : "podSelector ");
			pw_lsel_format(p->pod_sel, b);
		}
		pw_buf_putc(b, ')');
		*pos = p->pos;
	} else if (g->src == PW_SRC_ADMIN) {
		const struct pw_apeer *p =
			&c->apols[g->src_index].rules[d][r->index].peers[r->peer];
		pw_buf_printf(b, "%s[%u] peer (", dir_name[d], r->index);
		size_t at = b->len;
		if (p->kind == PW_AP_NODES) {
			pw_buf_puts(b, "nodes");
			*what = "pod: nodes are not modelled";
		} else {
			if (p->ns_sel) {
				pw_buf_puts(b, p->kind == PW_AP_PODS ? "pods: namespaceSelector "
								   : "namespaces ");
				pw_lsel_format(p->ns_sel, b);
				if (!lsel_namespaces(c, p->ns_sel))
					*what = "namespace";
			}
			if (p->pod_sel) {
				pw_buf_puts(b, b->len > at ? " and podSelector " : "podSelector ");
				pw_lsel_format(p->pod_sel, b);
			}
		}
		pw_buf_putc(b, ')');
		*pos = p->pos;
	} else {
		const struct pw_cside *cs = side_sel(e, g, d, r, src).cs;
		struct pw_buf parts;
		pw_buf_init(&parts);
		if (cs->sel)
			csel_part(&parts, "selector", cs->sel);
		if (cs->ns_sel) {
			csel_part(&parts, "namespaceSelector", cs->ns_sel);
			bool any = false;
			for (uint32_t i = 0; i < c->nns && !any; i++)
				any = pw_csel_match(cs->ns_sel, &e->vns[i]);
			if (!any)
				*what = "namespace";
		}
		if (cs->has_sa) {
			if (parts.len)
				pw_buf_puts(&parts, ", ");
			pw_buf_puts(&parts, "serviceAccounts");
			for (uint32_t i = 0; i < cs->nsa_names; i++)
				pw_buf_printf(&parts, "%s%s", i ? "," : " ", cs->sa_names[i]);
			if (cs->sa_sel) {
				pw_buf_puts(&parts, " selector ");
				pw_csel_format(cs->sa_sel, &parts);
			}
		}
		if (!parts.len && cs->not_sel)
			csel_part(&parts, "notSelector", cs->not_sel);
		pw_buf_printf(b, "%s[%u] %s (%s)", dir_name[d], r->index,
			      src ? "source" : "destination", str(&parts));
		if (!strcmp(*what, "pod"))
			*what = "pod or network set";
		pw_buf_release(&parts);
	}
	return true;
}

static void check_peers(struct ctx *x)
{
	const struct pw_engine *e = x->e;
	for (uint32_t k = 0; k < e->npols; k++) {
		const struct pw_gpolicy *g = &e->pols[k];
		if (!g->display || slot_deleted(e, g))
			continue;
		for (int d = 0; d < 2; d++)
			for (uint32_t r = 0; r < g->nrules[d]; r++) {
				const struct pw_grule *gr = &g->rules[d][r];
				for (int side = 0; side < 2; side++) {
					bool src = side == 0;
					/* Kubernetes and admin rules: the peer only */
					if (g->src != PW_SRC_CALICO && src != (d == PW_INGRESS))
						continue;
					const char *what;
					struct pw_pos pos;
					if (!side_text(e, g, (enum pw_dir)d, gr, src, &x->b2,
						       &what, &pos))
						continue;
					add(x, "peer-matches-nothing", pos, slot_ns(e, g),
					    "%s: %s matches no %s", pol_name(e, g, &x->b),
					    str(&x->b2), what);
				}
			}
	}
}

/* ---- DNS ----------------------------------------------------------------- */

uint32_t pw_lint_model_dns(struct pw_cluster *c)
{
	for (uint32_t i = 0; i < c->npods; i++)
		if (is_dns_pod(c, &c->pods[i]))
			return 0;
	struct pw_arena *a = &c->arena;
	uint32_t ns = pw_cluster_ns(c, "kube-system");
	struct pw_namespace *nsp = &c->nss[ns];
	if (!pw_labels_get(&nsp->labels, "kubernetes.io/metadata.name")) {
		struct pw_label *v = pw_arena_alloc(a, (nsp->labels.n + 1) * sizeof(*v));
		if (nsp->labels.n)
			memcpy(v, nsp->labels.v, nsp->labels.n * sizeof(*v));
		v[nsp->labels.n++] = (struct pw_label){ "kubernetes.io/metadata.name",
							nsp->name };
		nsp->labels.v = v;
		(void)pw_labels_sort(&nsp->labels);
	}
	struct pw_label *lv = pw_arena_alloc(a, 2 * sizeof(*lv));
	lv[0] = (struct pw_label){ "eks.amazonaws.com/component", "coredns" };
	lv[1] = (struct pw_label){ "k8s-app", "kube-dns" };
	struct pw_cport *pv = pw_arena_alloc(a, 3 * sizeof(*pv));
	pv[0] = (struct pw_cport){ "dns", PW_UDP, 53 };
	pv[1] = (struct pw_cport){ "dns-tcp", PW_TCP, 53 };
	pv[2] = (struct pw_cport){ "metrics", PW_TCP, 9153 };
	struct pw_pod *p = PW_PUSH(a, c->pods, c->npods, c->npods_cap);
	memset(p, 0, sizeof(*p));
	p->name = "coredns";
	p->ns = ns;
	p->kind = "Deployment";
	p->labels = (struct pw_labels){ lv, 2 };
	p->sa = "coredns";
	p->ports = pv;
	p->nports = 3;
	p->template = true;
	p->owner_kind = "Deployment";
	p->owner_name = "coredns";
	p->pos = (struct pw_pos){ pw_lint_dns_model, 0, 0 };
	p->group = c->ngroups;
	struct pw_group *g = PW_PUSH(a, c->groups, c->ngroups, c->ngroups_cap);
	memset(g, 0, sizeof(*g));
	g->name = "coredns";
	g->kind = "Deployment";
	g->ns = ns;
	*PW_PUSH(a, g->pods, g->npods, g->cap) = c->npods - 1;
	return 1;
}

/* Why a connection was denied: the side, the decider and its position. */
static void denied_why(const struct pw_engine *e, const struct pw_verdict *v,
		       const struct pw_ep *src, const struct pw_ep *dst,
		       struct pw_buf *b, struct pw_pos *pos)
{
	int d = !v->dir[PW_EGRESS].allowed ? PW_EGRESS : PW_INGRESS;
	const struct pw_why_dir *w = &v->dir[d];
	const struct pw_ep *self = d == PW_EGRESS ? src : dst;
	struct pw_buf nb;
	pw_buf_init(&nb);
	pw_buf_printf(b, "%s denied", dir_name[d]);
	if (d == PW_INGRESS)
		pw_buf_printf(b, " at %s/%s", e->c->nss[e->c->pods[self->pod].ns].name,
			      e->c->pods[self->pod].name);
	const struct pw_step *st = w->nsteps ? &w->steps[w->nsteps - 1] : NULL;
	if (st && st->kind == PW_STEP_RULE) {
		const struct pw_gpolicy *g = &e->pols[st->policy];
		const struct pw_grule *r = &g->rules[d][st->rule];
		pw_buf_printf(b, " by %s %s[%u] %s", pol_name(e, g, &nb), dir_name[d],
			      r->index, pw_action_name(r->action));
		*pos = r->pos;
	} else if (st && st->kind == PW_STEP_END_OF_TIER) {
		/* the first policy of that tier that applies: the isolating one */
		uint32_t n;
		const uint32_t *ap = pw_engine_applicable(e, (uint32_t)self->pod,
							  (enum pw_dir)d, &n);
		for (uint32_t i = 0; i < n; i++)
			if (e->pols[ap[i]].tier == st->tier) {
				const struct pw_gpolicy *g = &e->pols[ap[i]];
				pw_buf_printf(b, " by %s (no rule matched: end of tier %s)",
					      pol_name(e, g, &nb), e->tiers[st->tier].name);
				*pos = g->pos;
				break;
			}
	}
	pw_buf_release(&nb);
}

/*
 * Where DNS goes, per protocol ([0] UDP, [1] TCP): the backends of the
 * Service kube-system/kube-dns for port 53, with their target ports, as
 * kube-proxy translates; without that Service (or port), the kube-dns pods
 * of kube-system on port 53.
 */
struct dns_targets {
	struct pw_ep *ep[2];
	int *port[2];
	uint32_t n[2];
	const struct pw_service *svc[2]; /* the Service that gave them */
};

static const int dns_protos[2] = { PW_UDP, PW_TCP };

static void dns_targets_build(const struct pw_cluster *c, struct dns_targets *t)
{
	const struct pw_service *s = pw_service_find(c, "kube-system", "kube-dns");
	memset(t, 0, sizeof(*t));
	for (int x = 0; x < 2; x++) {
		const struct pw_svc_port *sp = s ? pw_service_port(s, dns_protos[x], 53) : NULL;
		struct pw_backend *bv = NULL;
		size_t nb = sp ? pw_service_backends(c, s, sp, dns_protos[x], 53, &bv) : 0;
		t->ep[x] = pw_xcalloc(nb + c->npods + 1, sizeof(*t->ep[x]));
		t->port[x] = pw_xcalloc(nb + c->npods + 1, sizeof(*t->port[x]));
		for (size_t i = 0; i < nb; i++) {
			struct pw_ep ep = pw_ep_addr(&bv[i].addr);
			if (bv[i].pod >= 0) {
				ep = pw_ep_pod(c, (uint32_t)bv[i].pod);
				if (bv[i].addr.family)
					ep.addr = bv[i].addr;
			}
			t->ep[x][t->n[x]] = ep;
			t->port[x][t->n[x]++] = bv[i].port;
		}
		free(bv);
		if (t->n[x]) {
			t->svc[x] = s;
			continue;
		}
		for (uint32_t i = 0; i < c->npods; i++)
			if (is_dns_pod(c, &c->pods[i])) {
				t->ep[x][t->n[x]] = pw_ep_pod(c, i);
				t->port[x][t->n[x]++] = 53;
			}
	}
}

static void dns_targets_release(struct dns_targets *t)
{
	for (int x = 0; x < 2; x++) {
		free(t->ep[x]);
		free(t->port[x]);
	}
}

/* Is pod p a DNS server (one of the targets)? */
static bool dns_target_pod(const struct dns_targets *t, uint32_t p)
{
	for (int x = 0; x < 2; x++)
		for (uint32_t i = 0; i < t->n[x]; i++)
			if (t->ep[x][i].pod == (int)p)
				return true;
	return false;
}

struct dns_result {
	bool blocked[2]; /* [0] UDP, [1] TCP */
	int x, target;	 /* the first denial: protocol and target */
	struct pw_pos pos;
};

static bool egress_isolated(const struct pw_engine *e, const struct pw_group *g)
{
	for (uint32_t i = 0; i < g->npods; i++) {
		uint32_t n;
		(void)pw_engine_applicable(e, g->pods[i], PW_EGRESS, &n);
		struct pw_ep ep = pw_ep_pod(e->c, g->pods[i]);
		if (n && pw_engine_governed(e, &ep))
			return true;
	}
	return false;
}

/* DNS on a protocol is blocked for group g when the engine denies it from
   some pod of g to some target (kube-proxy may pick any). */
static void dns_check(const struct pw_engine *e, const struct pw_group *g,
		      const struct dns_targets *t, unsigned protos,
		      struct dns_result *out, struct pw_buf *why)
{
	memset(out, 0, sizeof(*out));
	out->target = -1;
	for (int x = 0; x < 2; x++)
		for (uint32_t i = 0; i < g->npods && (protos & (1u << x)) &&
				     !out->blocked[x]; i++)
			for (uint32_t k = 0; k < t->n[x] && !out->blocked[x]; k++) {
				struct pw_ep a = pw_ep_pod(e->c, g->pods[i]);
				struct pw_query q = pw_query_port(dns_protos[x], t->port[x][k]);
				struct pw_verdict v;
				pw_engine_eval(e, &a, &t->ep[x][k], &q, &v);
				if (v.allowed)
					continue;
				out->blocked[x] = true;
				if (out->target >= 0)
					continue;
				out->x = x;
				out->target = (int)k;
				pw_buf_reset(why);
				denied_why(e, &v, &a, &t->ep[x][k], why, &out->pos);
			}
}

static const char *protos_text(const bool blocked[2])
{
	return blocked[0] && blocked[1] ? "UDP/53 and TCP/53"
	       : blocked[0]		? "UDP/53" : "TCP/53";
}

static bool any_staged(const struct pw_cluster *c)
{
	for (uint32_t i = 0; i < c->npols; i++)
		if (c->pols[i].staged != PW_ENFORCED && !c->pols[i].deleted)
			return true;
	for (uint32_t i = 0; i < c->ncpols; i++)
		if (c->cpols[i].staged != PW_ENFORCED && !c->cpols[i].deleted)
			return true;
	return false;
}

static void dns_target_text(const struct pw_cluster *c, const struct dns_targets *t,
			    const struct dns_result *r, struct pw_buf *b)
{
	const struct pw_ep *ep = &t->ep[r->x][r->target];
	pw_buf_reset(b);
	if (t->svc[r->x])
		pw_buf_puts(b, "Service kube-system/kube-dns: ");
	if (ep->pod < 0) {
		char as[48];
		pw_addr_format(&ep->addr, as);
		pw_buf_puts(b, as);
	} else {
		pw_group_kind_name(c, &c->groups[c->pods[ep->pod].group], b);
		if (modelled(&c->pods[ep->pod]))
			pw_buf_puts(b, ", CoreDNS as EKS runs it, address unknown");
	}
	if (t->port[r->x][r->target] != 53)
		pw_buf_printf(b, " port %d", t->port[r->x][r->target]);
}

static int check_dns(struct ctx *x)
{
	const struct pw_cluster *c = x->c;
	const struct pw_engine *e = x->e;
	struct dns_targets t;
	dns_targets_build(c, &t);
	struct pw_engine *st = NULL;
	int rc = 0;
	if (any_staged(c)) {
		st = pw_xcalloc(1, sizeof(*st));
		if (pw_engine_build(st, c, e->flags | PW_ENGINE_STAGED) < 0) {
			free(st);
			st = NULL;
			rc = -1;
		}
	}
	struct pw_buf why, tb, gb;
	pw_buf_init(&why);
	pw_buf_init(&tb);
	pw_buf_init(&gb);
	for (uint32_t gi = 0; gi < c->ngroups && (t.n[0] || t.n[1]); gi++) {
		const struct pw_group *g = &c->groups[gi];
		bool server = false;
		for (uint32_t k = 0; k < g->npods && !server; k++)
			server = modelled(&c->pods[g->pods[k]]) ||
				 is_dns_pod(c, &c->pods[g->pods[k]]) ||
				 dns_target_pod(&t, g->pods[k]);
		if (server)
			continue;
		struct dns_result now = { { false, false }, 0, -1, { 0 } }, then;
		pw_buf_reset(&gb);
		pw_group_kind_name(c, g, &gb);
		if (egress_isolated(e, g)) {
			dns_check(e, g, &t, 3, &now, &why);
			if (now.blocked[0] || now.blocked[1]) {
				dns_target_text(c, &t, &now, &tb);
				add(x, "dns-blocked", now.pos, (int)g->ns,
				    "%s is egress-isolated and cannot reach DNS (%s) on %s: %s",
				    str(&gb), str(&tb), protos_text(now.blocked), str(&why));
			}
		}
		if (!st || !egress_isolated(st, g))
			continue;
		/* what the staged policies newly block, and why */
		unsigned fresh = (now.blocked[0] ? 0u : 1u) | (now.blocked[1] ? 0u : 2u);
		dns_check(st, g, &t, fresh, &then, &why);
		if (!then.blocked[0] && !then.blocked[1])
			continue;
		dns_target_text(c, &t, &then, &tb);
		add(x, "staged-dns-blocked", then.pos, (int)g->ns,
		    "%s could not reach DNS (%s) on %s once the staged policies are enforced: %s",
		    str(&gb), str(&tb), protos_text(then.blocked), str(&why));
	}
	pw_buf_release(&why);
	pw_buf_release(&tb);
	pw_buf_release(&gb);
	if (st) {
		pw_engine_release(st);
		free(st);
	}
	dns_targets_release(&t);
	return rc;
}

/* ---- ingress open to the world ------------------------------------------ */

static void check_open(struct ctx *x)
{
	const struct pw_engine *e = x->e;
	const struct pw_cluster *c = x->c;
	for (uint32_t k = 0; k < e->npols; k++) {
		const struct pw_gpolicy *g = &e->pols[k];
		if (!g->display || slot_deleted(e, g))
			continue;
		for (uint32_t r = 0; r < g->nrules[PW_INGRESS]; r++) {
			const struct pw_grule *gr = &g->rules[PW_INGRESS][r];
			const struct pw_gside *s = &gr->src;
			if (gr->action != PW_ACT_ALLOW || s->pods_only || s->ndomains)
				continue;
			/* a rule whose own side matches nothing never applies */
			if (gr->dst.ids && pw_idset_empty(e, gr->dst.ids) &&
			    !gr->dst.nset_nets)
				continue;
			/* every outside address: no nets or a /0, and no selector
			   or one that picks a network set of a /0 */
			const struct pw_cidr *zero = NULL, *setzero = NULL;
			for (uint32_t i = 0; i < s->nnets && !zero; i++)
				if (!s->nets[i].len)
					zero = &s->nets[i];
			for (uint32_t i = 0; i < s->nset_nets && !setzero; i++)
				if (!s->set_nets[i].len)
					setzero = &s->set_nets[i];
			if ((s->nnets && !zero) || (s->ids && !setzero))
				continue;
			if (!zero)
				zero = setzero;
			const char *name = pol_name(e, g, &x->b);
			struct pw_pos pos = gr->pos;
			if (g->src == PW_SRC_K8S && gr->peer >= 0)
				pos = c->pols[g->src_index].rules[PW_INGRESS][gr->index]
					      .peers[gr->peer].pos;
			const char *exc = s->nnot_nets || s->not_ids ? " (with exceptions)" : "";
			if (zero) {
				char cs[52];
				pw_cidr_format(zero, cs);
				add(x, "open-to-world", pos, slot_ns(e, g),
				    "%s: ingress[%u] allows %s%s%s", name, gr->index, cs,
				    s->ids ? " (a network set it selects)" : "", exc);
			} else if (g->src == PW_SRC_K8S) {
				add(x, "open-to-world", pos, slot_ns(e, g),
				    "%s: ingress[%u] has no `from`, so it allows every source, the internet included",
				    name, gr->index);
			} else {
				add(x, "open-to-world", pos, slot_ns(e, g),
				    "%s: ingress[%u] has no source selector or nets, so it allows every source, the internet included%s",
				    name, gr->index, exc);
			}
		}
	}
}

/* ---- shadowed rules ------------------------------------------------------- */

struct vec {
	void *v;
	uint32_t n;
	size_t cap;
};

static void *vec_push(struct vec *v, size_t sz)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->v = pw_xrealloc(v->v, v->cap * sz);
	}
	return (char *)v->v + sz * v->n++;
}

struct probes {
	struct vec self, peer, q; /* pw_ep, pw_ep, pw_query */
	uint8_t *seen;		  /* per identity */
};

static bool side_has_nets(const struct pw_gside *s)
{
	return s->nnets || s->nnot_nets || s->nset_nets || s->nnot_set_nets;
}

static void add_addr(struct vec *v, const struct pw_addr *a)
{
	struct pw_ep *ep = vec_push(v, sizeof(*ep));
	*ep = pw_ep_addr(a);
}

/* Outside addresses at every boundary the CIDRs of a side draw. */
static void add_cidr_probes(struct vec *v, const struct pw_cidr *cv, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		add_addr(v, &cv[i].addr);
		struct pw_addr last = cv[i].addr;
		int bits = last.family == 4 ? 32 : 128;
		for (int k = cv[i].len; k < bits; k++)
			last.b[k / 8] |= (uint8_t)(0x80 >> (k % 8));
		int bytes = bits / 8;
		for (int k = bytes - 1; k >= 0; k--)
			if (++last.b[k])
				break;
		add_addr(v, &last);
	}
}

/* Port cuts: (protocol << 17 | port), the first port of each piece. */
static void add_port_cut(struct vec *cuts, int proto, long lo, long hi)
{
	long v[2] = { lo, hi + 1 };
	for (int i = 0; i < 2; i++)
		if (v[i] >= 1 && v[i] <= PW_PORT_MAX)
			*(uint32_t *)vec_push(cuts, sizeof(uint32_t)) =
				(uint32_t)proto << 17 | (uint32_t)v[i];
}

static void port_cuts(const struct pw_cluster *c, const struct pw_np_port *v,
		      uint32_t n, struct vec *cuts)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_np_port *pp = &v[i];
		for (int p = 0; p < PW_NPROTO; p++) {
			if (pp->proto != p && pp->proto != PW_ANY)
				continue;
			if (pp->name) {
				for (uint32_t k = 0; k < c->npods; k++)
					for (uint32_t m = 0; m < c->pods[k].nports; m++) {
						const struct pw_cport *cp = &c->pods[k].ports[m];
						if (cp->name && cp->proto == p &&
						    !strcmp(cp->name, pp->name))
							add_port_cut(cuts, p, cp->port, cp->port);
					}
			} else if (pp->port) {
				add_port_cut(cuts, p, pp->port,
					     pp->end_port ? pp->end_port : pp->port);
			}
		}
	}
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void add_query(struct vec *v, struct pw_query q)
{
	*(struct pw_query *)vec_push(v, sizeof(q)) = q;
}

/* Endpoints and questions that tell apart everything the rules of groups
   a and b (ranges of compiled rules) can distinguish. */
static void probes_build(const struct pw_engine *e, const struct pw_gpolicy *g,
			 enum pw_dir d, const struct pw_grule *const rg[2],
			 const uint32_t rn[2], struct probes *pr)
{
	const struct pw_cluster *c = e->c;
	bool self_nets = false, peer_nets = false;
	for (int s = 0; s < 2; s++)
		for (uint32_t i = 0; i < rn[s]; i++) {
			const struct pw_grule *r = &rg[s][i];
			self_nets |= side_has_nets(d == PW_INGRESS ? &r->dst : &r->src);
			peer_nets |= side_has_nets(d == PW_INGRESS ? &r->src : &r->dst);
		}
	/* pods: one per identity, unless addresses matter */
	for (int pass = 0; pass < 2; pass++) {
		memset(pr->seen, 0, e->nids);
		bool all = pass == 0 ? self_nets : peer_nets;
		for (uint32_t i = 0; i < c->npods; i++) {
			uint32_t id = e->pod_identity[i];
			if (pass == 0 && !pw_idset_has(g->ids, id))
				continue;
			if (!all && pr->seen[id])
				continue;
			pr->seen[id] = 1;
			struct pw_ep *ep = vec_push(pass == 0 ? &pr->self : &pr->peer,
						    sizeof(*ep));
			*ep = pw_ep_pod(c, i);
		}
	}
	/* outside addresses */
	struct pw_addr z4 = { 4, { 0 } }, z6 = { 6, { 0 } };
	add_addr(&pr->peer, &z4);
	add_addr(&pr->peer, &z6);
	struct vec cuts = { 0 };
	for (int p = 0; p < PW_NPROTO; p++)
		add_port_cut(&cuts, p, 1, 0);
	int protos[16], nprotos = 0;
	int types[16], ntypes = 0;
	for (int s = 0; s < 2; s++)
		for (uint32_t i = 0; i < rn[s]; i++) {
			const struct pw_grule *r = &rg[s][i];
			const struct pw_gside *ps = d == PW_INGRESS ? &r->src : &r->dst;
			add_cidr_probes(&pr->peer, ps->nets, ps->nnets);
			add_cidr_probes(&pr->peer, ps->not_nets, ps->nnot_nets);
			add_cidr_probes(&pr->peer, ps->set_nets, ps->nset_nets);
			add_cidr_probes(&pr->peer, ps->not_set_nets, ps->nnot_set_nets);
			if (d == PW_EGRESS) {
				const char *const *dv[2] = { ps->domains, ps->set_domains };
				uint32_t dn[2] = { ps->ndomains, ps->nset_domains };
				/* literal names; a wildcard's matches are not probed */
				for (int k = 0; k < 2; k++)
					for (uint32_t m = 0; m < dn[k]; m++) {
						if (strchr(dv[k][m], '*'))
							continue;
						struct pw_addr none = { 0, { 0 } };
						struct pw_ep *ep = vec_push(&pr->peer, sizeof(*ep));
						*ep = pw_ep_addr(&none);
						ep->name = dv[k][m];
					}
			}
			port_cuts(c, r->dst.ports, r->dst.nports, &cuts);
			port_cuts(c, r->dst.not_ports, r->dst.nnot_ports, &cuts);
			int pv[2] = { r->proto, r->not_proto };
			for (int k = 0; k < 2; k++)
				if (pv[k] != PW_ANY && pw_proto_of_ip(pv[k]) < 0 &&
				    nprotos < 14)
					protos[nprotos++] = pv[k];
			int tv[2] = { r->icmp_type, r->not_icmp_type };
			for (int k = 0; k < 2; k++)
				if (tv[k] != PW_ANY && ntypes < 15)
					types[ntypes++] = tv[k];
		}
	uint32_t *cv = cuts.v;
	qsort(cv, cuts.n, sizeof(*cv), u32_cmp);
	for (uint32_t i = 0; i < cuts.n; i++)
		if (!i || cv[i] != cv[i - 1])
			add_query(&pr->q, pw_query_port((int)(cv[i] >> 17),
							(int)(cv[i] & 0x1ffff)));
	free(cuts.v);
	protos[nprotos++] = 1;  /* ICMP */
	protos[nprotos++] = 47; /* a protocol without ports */
	types[ntypes++] = 200;	/* a type no rule names (codes: any) */
	for (int k = 0; k < nprotos; k++) {
		struct pw_query q = { protos[k], 0, PW_ANY, PW_ANY };
		if (protos[k] != 1 && protos[k] != 58) {
			add_query(&pr->q, q);
			continue;
		}
		for (int t = 0; t < ntypes; t++) {
			q.icmp_type = types[t];
			q.icmp_code = 0;
			add_query(&pr->q, q);
		}
	}
}

static bool group_match(const struct pw_engine *e, const struct pw_grule *r,
			uint32_t n, const struct pw_ep *src, const struct pw_ep *dst,
			const struct pw_query *q)
{
	for (uint32_t i = 0; i < n; i++)
		if (pw_engine_rule_match(e, &r[i], src, dst, q))
			return true;
	return false;
}

static bool group_peer_side(const struct pw_engine *e, const struct pw_grule *r,
			    uint32_t n, enum pw_dir d, const struct pw_ep *peer)
{
	for (uint32_t i = 0; i < n; i++)
		if (pw_engine_side_match(e, d == PW_INGRESS ? &r[i].src : &r[i].dst, peer))
			return true;
	return false;
}

/* Does every connection the rules rj match also match the rules ri?  And
   does rj match anything at all? */
static bool covered(const struct pw_engine *e, const struct pw_gpolicy *g,
		    enum pw_dir d, const struct pw_grule *ri, uint32_t ni,
		    const struct pw_grule *rj, uint32_t nj, uint8_t *seen)
{
	struct probes pr = { .seen = seen };
	const struct pw_grule *rg[2] = { ri, rj };
	uint32_t rn[2] = { ni, nj };
	probes_build(e, g, d, rg, rn, &pr);
	bool any = false, ok = true;
	const struct pw_ep *selfs = pr.self.v, *peers = pr.peer.v;
	const struct pw_query *qs = pr.q.v;
	for (uint32_t p = 0; p < pr.peer.n && ok; p++) {
		if (!group_peer_side(e, rj, nj, d, &peers[p]))
			continue;
		for (uint32_t s = 0; s < pr.self.n && ok; s++) {
			const struct pw_ep *src = d == PW_INGRESS ? &peers[p] : &selfs[s];
			const struct pw_ep *dst = d == PW_INGRESS ? &selfs[s] : &peers[p];
			for (uint32_t k = 0; k < pr.q.n && ok; k++) {
				if (!group_match(e, rj, nj, src, dst, &qs[k]))
					continue;
				any = true;
				ok = group_match(e, ri, ni, src, dst, &qs[k]);
			}
		}
	}
	free(pr.self.v);
	free(pr.peer.v);
	free(pr.q.v);
	return any && ok;
}

static void check_shadowed(struct ctx *x)
{
	const struct pw_engine *e = x->e;
	uint8_t *seen = pw_xcalloc(e->nids + 1, 1);
	for (uint32_t k = 0; k < e->npols; k++) {
		const struct pw_gpolicy *g = &e->pols[k];
		if (!g->display || slot_deleted(e, g) || pw_idset_empty(e, g->ids))
			continue;
		for (int d = 0; d < 2; d++) {
			const struct pw_grule *rv = g->rules[d];
			uint32_t n = g->nrules[d];
			/* rules of one source rule are consecutive, by index */
			for (uint32_t j = 0; j < n;) {
				uint32_t je = j;
				while (je < n && rv[je].index == rv[j].index)
					je++;
				for (uint32_t i = 0; i < j;) {
					uint32_t ie = i;
					while (ie < j && rv[ie].index == rv[i].index)
						ie++;
					if (rv[i].action == PW_ACT_LOG ||
					    !covered(e, g, (enum pw_dir)d, &rv[i], ie - i,
						     &rv[j], je - j, seen)) {
						i = ie;
						continue;
					}
					const char *name = pol_name(e, g, &x->b);
					if (rv[i].action == PW_ACT_ALLOW && rv[j].action == PW_ACT_ALLOW)
						add(x, "shadowed-rule", rv[j].pos, slot_ns(e, g),
						    "%s: %s[%u] allows nothing that %s[%u] (line %d) does not already allow",
						    name, dir_name[d], rv[j].index, dir_name[d],
						    rv[i].index, rv[i].pos.line);
					else
						add(x, "shadowed-rule", rv[j].pos, slot_ns(e, g),
						    "%s: %s[%u] is never reached: %s[%u] (line %d, %s) matches everything it matches",
						    name, dir_name[d], rv[j].index, dir_name[d],
						    rv[i].index, rv[i].pos.line,
						    pw_action_name(rv[i].action));
					break;
				}
				j = je;
			}
		}
	}
	free(seen);
}

/* ---- running -------------------------------------------------------------- */

static int finding_cmp(const void *a_, const void *b_)
{
	const struct pw_finding *a = a_, *b = b_;
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

int pw_lint_run(struct pw_lint *l, const struct pw_engine *e, int ns)
{
	struct ctx x = { l, e, e->c, { 0 }, { 0 } };
	memset(l, 0, sizeof(*l));
	pw_buf_init(&x.b);
	pw_buf_init(&x.b2);
	check_default_deny(&x);
	check_selects_nothing(&x);
	check_peers(&x);
	int rc = check_dns(&x);
	check_open(&x);
	check_shadowed(&x);
	pw_buf_release(&x.b);
	pw_buf_release(&x.b2);
	if (ns >= 0) {
		size_t kept = 0;
		for (size_t i = 0; i < l->n; i++) {
			if (l->v[i].ns != ns) {
				free(l->v[i].msg);
				continue;
			}
			l->v[kept++] = l->v[i];
		}
		l->n = kept;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), finding_cmp);
	return rc;
}

void pw_lint_release(struct pw_lint *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].msg);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
