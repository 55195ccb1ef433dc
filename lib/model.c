// SPDX-License-Identifier: Apache-2.0
#include "model.h"

#include <stdio.h>
#include <string.h>

void pw_cluster_init(struct pw_cluster *c)
{
	memset(c, 0, sizeof(*c));
	pw_arena_init(&c->arena);
	pw_strmap_init(&c->ns_index);
	pw_strmap_init(&c->objects);
}

void pw_cluster_release(struct pw_cluster *c)
{
	pw_strmap_release(&c->ns_index);
	pw_strmap_release(&c->objects);
	pw_arena_release(&c->arena);
	memset(c, 0, sizeof(*c));
}

static void set_ns_name_label(struct pw_cluster *c, struct pw_namespace *ns)
{
	static const char key[] = "kubernetes.io/metadata.name";
	struct pw_labels *l = &ns->labels;
	for (uint32_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, key)) {
			l->v[i].value = ns->name; /* the API server overrides it */
			return;
		}
	struct pw_label *v = pw_arena_alloc(&c->arena, (l->n + 1) * sizeof(*v));
	if (l->n)
		memcpy(v, l->v, l->n * sizeof(*v));
	v[l->n++] = (struct pw_label){ key, ns->name };
	l->v = v;
	pw_labels_sort(l);
}

static uint32_t group_for(struct pw_cluster *c, struct pw_strmap *idx,
			  uint32_t ns, const char *kind, const char *name)
{
	const char *key = pw_arena_printf(&c->arena, "%u/%s/%s", ns, kind, name);
	uintptr_t v = (uintptr_t)pw_strmap_get(idx, key);
	if (v)
		return (uint32_t)(v - 1);
	struct pw_group *g = PW_PUSH(&c->arena, c->groups, c->ngroups,
				     c->ngroups_cap);
	g->name = name;
	g->kind = kind;
	g->ns = ns;
	pw_strmap_put(idx, key, (void *)(uintptr_t)c->ngroups);
	return c->ngroups - 1;
}

static bool tier_known(const struct pw_cluster *c, const char *name)
{
	static const char *const builtin[] = { "default", "adminnetworkpolicy",
					       "baselineadminnetworkpolicy" };
	for (size_t i = 0; i < PW_ARRAY_SIZE(builtin); i++)
		if (!strcmp(name, builtin[i]))
			return true;
	for (uint32_t i = 0; i < c->ntiers; i++)
		if (!strcmp(c->tiers[i].name, name))
			return true;
	return false;
}

/* Calico refuses a policy in a tier that does not exist, and two policies
   whose names differ only by the "tier." prefix are one policy. */
static void check_calico(struct pw_cluster *c, struct pw_diags *d)
{
	for (uint32_t i = 0; i < c->ncpols; i++) {
		const struct pw_cpolicy *p = &c->cpols[i];
		if (!tier_known(c, p->tier))
			pw_error(d, p->pos,
				 "%s %s is in tier %s, which is not defined (add a Tier)",
				 p->kind, pw_arena_quote(&c->arena, p->name), pw_arena_quote(&c->arena, p->tier));
		for (uint32_t k = 0; k < i; k++) {
			const struct pw_cpolicy *q = &c->cpols[k];
			if (!strcmp(p->kind, q->kind) && p->ns == q->ns &&
			    !strcmp(p->tier, q->tier) && !strcmp(p->name, q->name)) {
				pw_error(d, p->pos,
					 "duplicate %s \"%s.%s\" (first defined at %s:%d:%d)",
					 p->kind, p->tier, p->name, q->pos.file,
					 q->pos.line, q->pos.col);
				break;
			}
		}
	}
}

void pw_cluster_finish(struct pw_cluster *c, struct pw_diags *d)
{
	if (c->finished)
		return;
	c->finished = true;
	check_calico(c, d);
	/* workloads whose pods are in the input do not add a template pod */
	struct pw_strmap owned;
	pw_strmap_init(&owned);
	for (uint32_t i = 0; i < c->npods; i++) {
		struct pw_pod *p = &c->pods[i];
		if (!p->owner_kind)
			continue;
		const char *key = pw_arena_printf(&c->arena, "%u/%s/%s", p->ns,
						  p->owner_kind, p->owner_name);
		pw_strmap_put(&owned, key, p);
	}
	for (uint32_t i = 0; i < c->nwls; i++) {
		struct pw_workload *w = &c->wls[i];
		char key[600];
		snprintf(key, sizeof(key), "%u/%s/%s", w->ns, w->kind, w->name);
		w->has_pods = pw_strmap_get(&owned, key) != NULL;
		uint32_t n = c->template_replicas > 1 ? c->template_replicas : 1;
		for (uint32_t r = 0; r < n && !w->has_pods; r++) {
			struct pw_pod *p = PW_PUSH(&c->arena, c->pods, c->npods,
						   c->npods_cap);
			*p = w->tmpl;
			if (n > 1)
				p->name = pw_arena_printf(&c->arena, "%s-%u", w->name, r);
		}
	}
	pw_strmap_release(&owned);
	for (uint32_t i = 0; i < c->nns; i++)
		set_ns_name_label(c, &c->nss[i]);
	struct pw_strmap gidx;
	pw_strmap_init(&gidx);
	for (uint32_t i = 0; i < c->npods; i++) {
		struct pw_pod *p = &c->pods[i];
		uint32_t g = p->owner_kind
				     ? group_for(c, &gidx, p->ns, p->owner_kind,
						 p->owner_name)
				     : group_for(c, &gidx, p->ns, "Pod", p->name);
		p->group = g;
		struct pw_group *gr = &c->groups[g];
		*PW_PUSH(&c->arena, gr->pods, gr->npods, gr->cap) = i;
	}
	pw_strmap_release(&gidx);
	/* the pods each Service's selector picks, once */
	for (uint32_t i = 0; i < c->nsvcs; i++) {
		struct pw_service *sv = &c->svcs[i];
		size_t cap = 0;
		for (uint32_t k = 0; sv->has_sel && k < c->npods; k++)
			if (c->pods[k].ns == sv->ns &&
			    pw_lsel_match(&sv->sel, &c->pods[k].labels))
				*PW_PUSH(&c->arena, sv->pods, sv->npods, cap) = k;
	}
}

const char *pw_group_kind_name(const struct pw_cluster *c,
			       const struct pw_group *g, struct pw_buf *out)
{
	pw_buf_printf(out, "%s/%s[%s]", c->nss[g->ns].name, g->name, g->kind);
	return out->s;
}

void pw_cluster_check_ipblock_ports(const struct pw_cluster *c,
				    struct pw_diags *d)
{
	char quoted[PW_QUOTE_SIZE];
	for (uint32_t k = 0; k < c->npols; k++) {
		const struct pw_policy *p = &c->pols[k];
		for (uint32_t r = 0; r < p->nrules[PW_EGRESS]; r++) {
			const struct pw_rule *rule = &p->rules[PW_EGRESS][r];
			bool only_ipblocks = rule->npeers > 0;
			for (uint32_t q = 0; q < rule->npeers; q++)
				only_ipblocks &= rule->peers[q].ipblock;
			if (!only_ipblocks)
				continue;
			for (uint32_t i = 0; i < rule->nports; i++)
				if (rule->ports[i].name)
					pw_error(d, rule->ports[i].pos,
						 "named port %s can never match: the rule's peers are all ipBlocks, which describe only addresses outside the cluster",
						 pw_quote(quoted, rule->ports[i].name));
		}
	}
}
