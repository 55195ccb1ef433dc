// SPDX-License-Identifier: Apache-2.0
/*
 * Loading RBAC objects, aws-auth and EKS access entries (lib/rbac/rbac.h),
 * through the manifest loader (lib/loader.h).
 */
#include <string.h>

#include "../loader.h"
#include "rbac.h"

static struct pw_rbac_data *data(struct ld *l)
{
	if (!l->c->rbac)
		l->c->rbac = pw_arena_alloc(&l->c->arena, sizeof(*l->c->rbac));
	return l->c->rbac;
}

/* A list of strings (absent or null: none). */
static const char **str_list(struct ld *l, yaml_node_t *n, const char *what,
			     uint32_t *count)
{
	*count = 0;
	n = ld_want_seq(l, n, what);
	if (!n)
		return NULL;
	const char **v = pw_arena_alloc(&l->c->arena, (ld_seq_len(n) + 1) * sizeof(*v));
	yaml_node_t *it;
	SEQ_EACH(l, n, it)
	{
		const char *s = ld_want_str(l, it, what);
		if (s)
			v[(*count)++] = s;
	}
	return v;
}

static void load_rule(struct ld *l, yaml_node_t *n, struct pw_rbac_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->pos = ld_pos(l, n);
	if (!ld_want_map(l, n, "a rule"))
		return;
	yaml_node_t *vn = ld_get(l, n, "verbs");
	if (ld_is_null(vn))
		pw_error(l->d, r->pos, "a rule needs verbs");
	r->verbs = str_list(l, vn, "verbs", &r->nverbs);
	r->groups = str_list(l, ld_get(l, n, "apiGroups"), "apiGroups", &r->ngroups);
	r->resources = str_list(l, ld_get(l, n, "resources"), "resources", &r->nresources);
	r->names = str_list(l, ld_get(l, n, "resourceNames"), "resourceNames", &r->nnames);
	r->urls = str_list(l, ld_get(l, n, "nonResourceURLs"), "nonResourceURLs", &r->nurls);
}

void pw__load_role(struct ld *l, struct meta *m)
{
	struct pw_arena *a = &l->c->arena;
	struct pw_rbac_role r = { 0 };
	r.name = m->name;
	r.ns = m->ns;
	r.labels = m->labels;
	r.pos = m->pos;
	yaml_node_t *rules = ld_want_seq(l, ld_get(l, m->obj, "rules"), "rules");
	yaml_node_t *it;
	if (rules) {
		r.rules = pw_arena_alloc(a, ld_seq_len(rules) * sizeof(*r.rules));
		SEQ_EACH(l, rules, it)
		{
			load_rule(l, it, &r.rules[r.nrules++]);
		}
	}
	yaml_node_t *ag = ld_get(l, m->obj, "aggregationRule");
	if (m->ns && !ld_is_null(ag))
		pw_error(l->d, ld_pos(l, ag), "a Role cannot have an aggregationRule");
	ag = ld_want_map(l, ag, "aggregationRule");
	if (ag) {
		r.aggregated = true;
		yaml_node_t *sels = ld_want_seq(l, ld_get(l, ag, "clusterRoleSelectors"),
						"clusterRoleSelectors");
		if (sels) {
			r.agg = pw_arena_alloc(a, ld_seq_len(sels) * sizeof(*r.agg));
			SEQ_EACH(l, sels, it)
			{
				struct pw_lsel *s = ld_lsel(l, it, "a clusterRoleSelector");
				if (s)
					r.agg[r.nagg++] = s;
			}
		}
	}
	if (l->d->errors > l->errors_at_start)
		return;
	struct pw_rbac_data *d = data(l);
	*PW_PUSH(a, d->roles, d->nroles, d->nroles_cap) = r;
}

static void load_subject(struct ld *l, yaml_node_t *n, struct pw_rbac_subject *s)
{
	memset(s, 0, sizeof(*s));
	s->pos = ld_pos(l, n);
	if (!ld_want_map(l, n, "a subject"))
		return;
	yaml_node_t *kn = ld_get(l, n, "kind"), *nn = ld_get(l, n, "name");
	if (!kn || !nn) {
		pw_error(l->d, s->pos, "a subject needs kind and name");
		return;
	}
	s->kind_name = ld_want_str(l, kn, "kind");
	s->name = ld_want_str(l, nn, "name");
	s->ns = ld_opt_str(l, ld_get(l, n, "namespace"), "namespace");
	if (!s->kind_name || !s->name)
		return;
	/* upstream compares the kind exactly (appliesToUser) */
	s->kind = !strcmp(s->kind_name, "User")		  ? PW_SUBJ_USER
		  : !strcmp(s->kind_name, "Group")	  ? PW_SUBJ_GROUP
		  : !strcmp(s->kind_name, "ServiceAccount") ? PW_SUBJ_SA
							    : PW_SUBJ_OTHER;
	if (s->kind == PW_SUBJ_OTHER)
		pw_warn(l->d, s->pos, "subject kind %s matches no one (User, Group or ServiceAccount)",
			ld_q(l, s->kind_name));
}

void pw__load_binding(struct ld *l, struct meta *m)
{
	struct pw_arena *a = &l->c->arena;
	struct pw_rbac_binding b = { 0 };
	b.kind = m->ns ? PW_BIND_NS : PW_BIND_CLUSTER;
	b.name = m->name;
	b.ns = m->ns;
	b.pos = m->pos;
	yaml_node_t *ref = ld_get(l, m->obj, "roleRef");
	if (!ref) {
		pw_error(l->d, m->pos, "%s needs a roleRef", m->kind);
		return;
	}
	if (!ld_want_map(l, ref, "roleRef"))
		return;
	yaml_node_t *kn = ld_get(l, ref, "kind"), *nn = ld_get(l, ref, "name");
	if (!kn || !nn) {
		pw_error(l->d, ld_pos(l, ref), "roleRef needs kind and name");
		return;
	}
	b.role_kind = ld_want_str(l, kn, "roleRef.kind");
	b.role_name = ld_want_str(l, nn, "roleRef.name");
	if (b.role_kind && strcmp(b.role_kind, "ClusterRole") &&
	    (strcmp(b.role_kind, "Role") || !m->ns))
		pw_warn(l->d, ld_pos(l, kn), "a %s cannot refer to a %s: it grants nothing",
			m->kind, ld_q(l, b.role_kind));
	yaml_node_t *subs = ld_want_seq(l, ld_get(l, m->obj, "subjects"), "subjects");
	yaml_node_t *it;
	if (subs) {
		b.subjects = pw_arena_alloc(a, ld_seq_len(subs) * sizeof(*b.subjects));
		SEQ_EACH(l, subs, it)
		{
			load_subject(l, it, &b.subjects[b.nsubjects++]);
		}
	}
	if (l->d->errors > l->errors_at_start)
		return;
	struct pw_rbac_data *d = data(l);
	*PW_PUSH(a, d->bindings, d->nbindings, d->nbindings_cap) = b;
}

/* ---- aws-auth ------------------------------------------------------------ */

static void load_map_item(struct ld *l, yaml_node_t *it, enum pw_aws_map_kind kind)
{
	struct pw_aws_map mp = { 0 };
	mp.kind = kind;
	mp.pos = ld_pos(l, it);
	if (kind == PW_AWS_ACCOUNT) {
		mp.arn = ld_want_str(l, it, "an account ID");
	} else if (ld_want_map(l, it, "a mapping")) {
		const char *key = kind == PW_AWS_ROLE ? "rolearn" : "userarn";
		yaml_node_t *an = ld_get(l, it, key);
		mp.arn = an ? ld_want_str(l, an, key) : NULL;
		if (!an)
			pw_error(l->d, mp.pos, "a %s entry needs %s",
				 kind == PW_AWS_ROLE ? "mapRoles" : "mapUsers", key);
		else if (mp.arn && strncmp(mp.arn, "arn:", 4))
			pw_error(l->d, ld_pos(l, an), "%s %s is not an ARN", key,
				 ld_q(l, mp.arn));
		mp.username = ld_opt_str(l, ld_get(l, it, "username"), "username");
		mp.groups = str_list(l, ld_get(l, it, "groups"), "groups", &mp.ngroups);
	}
	if (!mp.arn)
		return;
	struct pw_rbac_data *d = data(l);
	*PW_PUSH(&l->c->arena, d->maps, d->nmaps, d->nmaps_cap) = mp;
}

static void load_map_doc(struct ld *l, yaml_node_t *root, void *arg)
{
	enum pw_aws_map_kind kind = *(enum pw_aws_map_kind *)arg;
	yaml_node_t *seq = ld_want_seq(l, root, kind == PW_AWS_ROLE   ? "mapRoles"
						: kind == PW_AWS_USER ? "mapUsers"
								      : "mapAccounts");
	yaml_node_t *it;
	if (seq)
		SEQ_EACH(l, seq, it)
		{
			load_map_item(l, it, kind);
		}
}

void pw__load_configmap(struct ld *l, struct meta *m)
{
	if (strcmp(m->ns, "kube-system") || strcmp(m->name, "aws-auth")) {
		ld_skip(l, m, "v1", "only kube-system/aws-auth is analysed");
		return;
	}
	static const struct {
		const char *key;
		enum pw_aws_map_kind kind;
	} keys[] = { { "mapRoles", PW_AWS_ROLE },
		     { "mapUsers", PW_AWS_USER },
		     { "mapAccounts", PW_AWS_ACCOUNT } };
	yaml_node_t *dn = ld_want_map(l, ld_get(l, m->obj, "data"), "data");
	for (size_t i = 0; dn && i < PW_ARRAY_SIZE(keys); i++) {
		yaml_node_t *v = ld_get(l, dn, keys[i].key);
		if (ld_is_null(v))
			continue;
		if (v->type != YAML_SCALAR_NODE) {
			pw_error(l->d, ld_pos(l, v), "data.%s must be a string holding YAML, not %s",
				 keys[i].key, ld_type_name(v));
			continue;
		}
		enum pw_aws_map_kind kind = keys[i].kind;
		ld_nested(l, v, load_map_doc, &kind);
	}
	/* an aws-auth with no mappings is still the cluster's aws-auth */
	data(l);
}

/* ---- EKS access entries (AWS CLI JSON) ---------------------------------- */

static void load_entry(struct ld *l, yaml_node_t *n, bool described)
{
	struct pw_access_entry e = { 0 };
	e.pos = ld_pos(l, n);
	e.described = described;
	if (!described) {
		e.principal = ld_want_str(l, n, "an access entry ARN");
	} else if (ld_want_map(l, n, "accessEntry")) {
		yaml_node_t *pn = ld_get(l, n, "principalArn");
		e.principal = pn ? ld_want_str(l, pn, "principalArn") : NULL;
		if (!pn)
			pw_error(l->d, e.pos, "accessEntry needs principalArn");
		e.username = ld_opt_str(l, ld_get(l, n, "username"), "username");
		e.type = ld_opt_str(l, ld_get(l, n, "type"), "type");
		e.groups = str_list(l, ld_get(l, n, "kubernetesGroups"), "kubernetesGroups",
				    &e.ngroups);
	}
	if (!e.principal)
		return;
	if (strncmp(e.principal, "arn:", 4)) {
		pw_error(l->d, e.pos, "principal %s is not an ARN", ld_q(l, e.principal));
		return;
	}
	struct pw_rbac_data *d = data(l);
	*PW_PUSH(&l->c->arena, d->entries, d->nentries, d->nentries_cap) = e;
}

static void load_policy(struct ld *l, const char *principal, yaml_node_t *n)
{
	struct pw_access_policy p = { 0 };
	p.principal = principal;
	p.pos = ld_pos(l, n);
	if (!ld_want_map(l, n, "an associated access policy"))
		return;
	yaml_node_t *an = ld_get(l, n, "policyArn");
	p.policy_arn = an ? ld_want_str(l, an, "policyArn") : NULL;
	if (!an)
		pw_error(l->d, p.pos, "an associated access policy needs policyArn");
	yaml_node_t *sc = ld_want_map(l, ld_get(l, n, "accessScope"), "accessScope");
	const char *type = sc ? ld_opt_str(l, ld_get(l, sc, "type"), "accessScope.type") : NULL;
	if (type && !strcmp(type, "namespace")) {
		p.namespaces = str_list(l, ld_get(l, sc, "namespaces"), "namespaces",
					&p.nnamespaces);
		if (!p.nnamespaces)
			pw_error(l->d, ld_pos(l, sc), "a namespace access scope needs namespaces");
	} else if (type && strcmp(type, "cluster")) {
		pw_error(l->d, ld_pos(l, sc), "unknown accessScope.type %s (want cluster or namespace)",
			 ld_q(l, type));
	}
	if (!p.policy_arn)
		return;
	struct pw_rbac_data *d = data(l);
	*PW_PUSH(&l->c->arena, d->policies, d->npolicies, d->npolicies_cap) = p;
}

bool pw__load_eks_json(struct ld *l, yaml_node_t *obj)
{
	yaml_node_t *ae = ld_get(l, obj, "accessEntry");
	yaml_node_t *list = ld_get(l, obj, "accessEntries");
	yaml_node_t *pols = ld_get(l, obj, "associatedAccessPolicies");
	yaml_node_t *it;
	if (!ae && !list && !pols)
		return false;
	if (ae)
		load_entry(l, ae, true);
	if ((list = ld_want_seq(l, list, "accessEntries")))
		SEQ_EACH(l, list, it)
		{
			load_entry(l, it, false);
		}
	if (pols) {
		yaml_node_t *pn = ld_get(l, obj, "principalArn");
		const char *principal = pn ? ld_want_str(l, pn, "principalArn") : NULL;
		if (!pn)
			pw_error(l->d, ld_pos(l, obj),
				 "associatedAccessPolicies needs the principalArn beside it");
		if ((pols = ld_want_seq(l, pols, "associatedAccessPolicies")) && principal)
			SEQ_EACH(l, pols, it)
			{
				load_policy(l, principal, it);
			}
	}
	return true;
}
