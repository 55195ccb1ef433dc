// SPDX-License-Identifier: Apache-2.0
/*
 * The RBAC authorizer and subject locator (lib/rbac/rbac.h): aggregation to
 * the fixed point, upstream's rule matching, who can.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rbac.h"

static const struct pw_rbac_data empty_data;

/* ---- matching (rbacv1helpers) ------------------------------------------- */

static bool has(const char *const *v, uint32_t n, const char *s)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* VerbMatches, APIGroupMatches: "*" or equal */
static bool star_or_has(const char *const *v, uint32_t n, const char *s)
{
	return has(v, n, "*") || has(v, n, s);
}

static bool resource_matches(const struct pw_rbac_rule *rule, const char *res,
			     const char *sub)
{
	size_t rl = strlen(res), sl = strlen(sub);
	for (uint32_t i = 0; i < rule->nresources; i++) {
		const char *x = rule->resources[i];
		size_t xl = strlen(x);
		if (!strcmp(x, "*"))
			return true;
		/* combined "res" or "res/sub" */
		if (!sl ? !strcmp(x, res)
			: xl == rl + 1 + sl && !strncmp(x, res, rl) && x[rl] == '/' &&
				  !strcmp(x + rl + 1, sub))
			return true;
		/* "*\/sub" */
		if (sl && xl == sl + 2 && !strncmp(x, "*/", 2) && !strcmp(x + 2, sub))
			return true;
	}
	return false;
}

static bool url_matches(const struct pw_rbac_rule *rule, const char *path)
{
	for (uint32_t i = 0; i < rule->nurls; i++) {
		const char *u = rule->urls[i];
		size_t ul = strlen(u);
		if (!strcmp(u, "*") || !strcmp(u, path))
			return true;
		if (ul && u[ul - 1] == '*') {
			while (ul && u[ul - 1] == '*')
				ul--;
			if (!strncmp(path, u, ul))
				return true;
		}
	}
	return false;
}

bool pw_rbac_rule_allows(const struct pw_rbac_rule *rule, const struct pw_rbac_req *r)
{
	if (r->nonresource)
		return star_or_has(rule->verbs, rule->nverbs, r->verb) && url_matches(rule, r->path);
	return star_or_has(rule->verbs, rule->nverbs, r->verb) &&
	       star_or_has(rule->groups, rule->ngroups, r->group) &&
	       resource_matches(rule, r->resource, r->subresource) &&
	       (!rule->nnames || has(rule->names, rule->nnames, r->name));
}

/* ---- building --------------------------------------------------------------- */

static const char *role_key(struct pw_arena *a, const char *ns, const char *name)
{
	return pw_arena_printf(a, "%s/%s", ns ? ns : "", name);
}

static bool strs_equal(const char *const *a, uint32_t na, const char *const *b, uint32_t nb)
{
	if (na != nb)
		return false;
	for (uint32_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static bool rule_equal(const struct pw_rbac_rule *a, const struct pw_rbac_rule *b)
{
	return strs_equal(a->verbs, a->nverbs, b->verbs, b->nverbs) &&
	       strs_equal(a->groups, a->ngroups, b->groups, b->ngroups) &&
	       strs_equal(a->resources, a->nresources, b->resources, b->nresources) &&
	       strs_equal(a->names, a->nnames, b->names, b->nnames) &&
	       strs_equal(a->urls, a->nurls, b->urls, b->nurls);
}

static int role_name_cmp(const void *x, const void *y)
{
	const struct pw_rbac_role *const *a = x, *const *b = y;
	return strcmp((*a)->name, (*b)->name);
}

/*
 * The clusterrole-aggregation controller, run until nothing changes: an
 * aggregated role's rules become the rules (current, so aggregated ones
 * too) of every other ClusterRole its selectors match, selectors in order,
 * roles by name, each rule once.
 */
static void aggregate(struct pw_authz *a)
{
	const struct pw_rbac_data *d = a->d;
	const struct pw_rbac_role **sorted = pw_xmalloc((d->nroles + 1) * sizeof(*sorted));
	uint32_t ncr = 0;
	for (uint32_t i = 0; i < d->nroles; i++)
		if (!d->roles[i].ns)
			sorted[ncr++] = &d->roles[i];
	qsort(sorted, ncr, sizeof(*sorted), role_name_cmp);
	struct pw_rbac_rule *nr = NULL;
	const struct pw_rbac_role **nf = NULL;
	size_t cap = 0, fcap = 0;
	for (uint32_t round = 0; round <= d->nroles + 1; round++) {
		bool changed = false;
		for (uint32_t i = 0; i < d->nroles; i++) {
			const struct pw_rbac_role *r = &d->roles[i];
			if (!r->aggregated)
				continue;
			uint32_t n = 0, nfrom = 0;
			for (uint32_t s = 0; s < r->nagg; s++)
				for (uint32_t k = 0; k < ncr; k++) {
					const struct pw_rbac_role *o = sorted[k];
					if (o == r || !pw_lsel_match(r->agg[s], &o->labels))
						continue;
					uint32_t oi = (uint32_t)(o - d->roles);
					for (uint32_t j = 0; j < a->nrules[oi]; j++) {
						const struct pw_rbac_rule *x = &a->rules[oi][j];
						bool dup = false;
						for (uint32_t q = 0; q < n && !dup; q++)
							dup = rule_equal(&nr[q], x);
						if (dup)
							continue;
						*PW_PUSH(&a->arena, nr, n, cap) = *x;
						*PW_PUSH(&a->arena, nf, nfrom, fcap) = a->rule_from[oi][j];
					}
				}
			bool same = n == a->nrules[i];
			for (uint32_t q = 0; q < n && same; q++)
				same = rule_equal(&nr[q], &a->rules[i][q]);
			if (same)
				continue;
			changed = true;
			a->rules[i] = pw_arena_alloc(&a->arena, (n + 1) * sizeof(*nr));
			memcpy(a->rules[i], nr, n * sizeof(*nr));
			a->rule_from[i] = pw_arena_alloc(&a->arena, (n + 1) * sizeof(*nf));
			memcpy(a->rule_from[i], nf, n * sizeof(*nf));
			a->nrules[i] = n;
		}
		if (!changed)
			break;
	}
	free(sorted);
}

/* Does a namespace match an access scope's name ("dev-*": a prefix)? */
static bool scope_matches(const char *pat, const char *ns)
{
	size_t n = strlen(pat);
	if (n && pat[n - 1] == '*')
		return !strncmp(pat, ns, n - 1);
	return !strcmp(pat, ns);
}

static const struct pw_rbac_role *find_role(const struct pw_authz *a, const char *ns,
					    const char *name)
{
	char key[512];
	int n = snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", name);
	if (n < 0 || (size_t)n >= sizeof(key))
		return NULL;
	return pw_strmap_get(&a->role_index, key);
}

static void eks_bindings(struct pw_authz *a, struct pw_diags *diags)
{
	const struct pw_rbac_data *d = a->d;
	size_t cap = 0;
	for (uint32_t i = 0; i < d->npolicies; i++) {
		const struct pw_access_policy *p = &d->policies[i];
		const char *role = pw_eks_policy_role(p->policy_arn);
		if (!role) {
			pw_warn(diags, p->pos,
				"access policy %s has no Kubernetes equivalent podwall knows: it grants nothing here",
				p->policy_arn);
			continue;
		}
		if (!find_role(a, NULL, role) && strcmp(role, "cluster-admin"))
			pw_warn(diags, p->pos,
				"access policy %s grants as ClusterRole %s, which the input does not hold (load Kubernetes' bootstrap roles)",
				p->policy_arn, role);
		struct pw_rbac_binding *b = PW_PUSH(&a->arena, a->eks, a->neks, cap);
		memset(b, 0, sizeof(*b));
		b->kind = PW_BIND_EKS;
		b->name = p->principal;
		b->role_kind = "ClusterRole";
		b->role_name = role;
		const char *slash = strrchr(p->policy_arn, '/');
		b->policy = slash ? slash + 1 : p->policy_arn;
		b->scope = p->namespaces;
		b->nscope = p->nnamespaces;
		b->pos = p->pos;
		b->subjects = pw_arena_alloc(&a->arena, sizeof(*b->subjects));
		b->nsubjects = 1;
		b->subjects[0].kind = PW_SUBJ_USER;
		b->subjects[0].kind_name = "User";
		b->subjects[0].name = p->principal;
		b->subjects[0].pos = p->pos;
	}
}

int pw_authz_build(struct pw_authz *a, const struct pw_cluster *c, struct pw_diags *diags)
{
	memset(a, 0, sizeof(*a));
	a->c = c;
	a->d = c->rbac ? c->rbac : &empty_data;
	pw_arena_init(&a->arena);
	pw_strmap_init(&a->role_index);
	const struct pw_rbac_data *d = a->d;
	uint32_t n = d->nroles;
	a->rules = pw_arena_alloc(&a->arena, (n + 1) * sizeof(*a->rules));
	a->nrules = pw_arena_alloc(&a->arena, (n + 1) * sizeof(*a->nrules));
	a->rule_from = pw_arena_alloc(&a->arena, (n + 1) * sizeof(*a->rule_from));
	for (uint32_t i = 0; i < n; i++) {
		const struct pw_rbac_role *r = &d->roles[i];
		a->rules[i] = r->rules;
		a->nrules[i] = r->nrules;
		a->rule_from[i] = pw_arena_alloc(&a->arena, (r->nrules + 1) * sizeof(**a->rule_from));
		for (uint32_t j = 0; j < r->nrules; j++)
			a->rule_from[i][j] = r;
		pw_strmap_put(&a->role_index, role_key(&a->arena, r->ns, r->name), (void *)r);
	}
	aggregate(a);
	/* cluster-admin's rules, for AmazonEKSClusterAdminPolicy without the
	   bootstrap roles in the input */
	struct pw_rbac_role *ca = pw_arena_alloc(&a->arena, sizeof(*ca));
	static const char *star[] = { "*" };
	ca->name = "cluster-admin";
	ca->rules = pw_arena_alloc(&a->arena, 2 * sizeof(*ca->rules));
	ca->nrules = 2;
	ca->rules[0] = (struct pw_rbac_rule){ .verbs = star, .nverbs = 1, .groups = star,
					      .ngroups = 1, .resources = star, .nresources = 1 };
	ca->rules[1] = (struct pw_rbac_rule){ .verbs = star, .nverbs = 1, .urls = star, .nurls = 1 };
	a->eks_admin = ca;
	eks_bindings(a, diags);
	return 0;
}

void pw_authz_release(struct pw_authz *a)
{
	pw_strmap_release(&a->role_index);
	pw_arena_release(&a->arena);
	memset(a, 0, sizeof(*a));
}

const struct pw_rbac_rule *pw_authz_rules(const struct pw_authz *a,
					  const struct pw_rbac_role *role, uint32_t *n)
{
	if (role == a->eks_admin) {
		*n = role->nrules;
		return role->rules;
	}
	uint32_t i = (uint32_t)(role - a->d->roles);
	*n = a->nrules[i];
	return a->rules[i];
}

/* The role a binding refers to, as GetRoleReferenceRules finds it; NULL
   when missing (upstream: an error, skipped). */
static const struct pw_rbac_role *binding_role(const struct pw_authz *a,
					       const struct pw_rbac_binding *b)
{
	if (!b->role_kind || !b->role_name)
		return NULL;
	if (!strcmp(b->role_kind, "ClusterRole")) {
		const struct pw_rbac_role *r = find_role(a, NULL, b->role_name);
		if (!r && b->kind == PW_BIND_EKS && !strcmp(b->role_name, "cluster-admin"))
			r = a->eks_admin;
		return r;
	}
	if (!strcmp(b->role_kind, "Role") && b->kind == PW_BIND_NS)
		return find_role(a, b->ns, b->role_name);
	return NULL;
}

/* The first rule of b's role that allows r, into g; false if none. */
static bool binding_allows(const struct pw_authz *a, const struct pw_rbac_binding *b,
			   const struct pw_rbac_req *r, struct pw_rbac_grant *g)
{
	if (b->kind == PW_BIND_EKS && b->nscope) {
		bool in = false;
		for (uint32_t i = 0; i < b->nscope && !in; i++)
			in = *r->ns && scope_matches(b->scope[i], r->ns);
		if (!in)
			return false;
	}
	const struct pw_rbac_role *role = binding_role(a, b);
	if (!role)
		return false;
	uint32_t n;
	const struct pw_rbac_rule *rules = pw_authz_rules(a, role, &n);
	for (uint32_t i = 0; i < n; i++)
		if (pw_rbac_rule_allows(&rules[i], r)) {
			g->binding = b;
			g->role = role;
			g->rule = &rules[i];
			g->rule_index = i;
			g->rule_from = role == a->eks_admin ? role
				       : a->rule_from[role - a->d->roles][i];
			return true;
		}
	return false;
}

/* appliesToUser */
static const struct pw_rbac_subject *applies_to(const struct pw_rbac_binding *b,
						const struct pw_rbac_user *u)
{
	for (uint32_t i = 0; i < b->nsubjects; i++) {
		const struct pw_rbac_subject *s = &b->subjects[i];
		switch (s->kind) {
		case PW_SUBJ_USER:
			if (b->kind == PW_BIND_EKS ? u->principal && !strcasecmp(u->principal, s->name)
						   : !strcmp(u->name, s->name))
				return s;
			break;
		case PW_SUBJ_GROUP:
			if (has(u->groups, u->ngroups, s->name))
				return s;
			break;
		case PW_SUBJ_SA: {
			const char *ns = s->ns && *s->ns ? s->ns : b->kind == PW_BIND_NS ? b->ns : "";
			size_t pl = strlen("system:serviceaccount:"), nl = strlen(ns);
			if (*ns && !strncmp(u->name, "system:serviceaccount:", pl) &&
			    !strncmp(u->name + pl, ns, nl) && u->name[pl + nl] == ':' &&
			    !strcmp(u->name + pl + nl + 1, s->name))
				return s;
			break;
		}
		case PW_SUBJ_OTHER:
			break;
		}
	}
	return NULL;
}

bool pw_authz_allows(const struct pw_authz *a, const struct pw_rbac_user *u,
		     const struct pw_rbac_req *r, struct pw_rbac_grant *why)
{
	struct pw_rbac_grant g = { 0 };
	const struct pw_rbac_data *d = a->d;
	if (has(u->groups, u->ngroups, "system:masters")) {
		g.privileged = true;
		*why = g;
		return true;
	}
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < d->nbindings; i++) {
			const struct pw_rbac_binding *b = &d->bindings[i];
			if (pass == 0 ? b->kind != PW_BIND_CLUSTER
				      : b->kind != PW_BIND_NS || !*r->ns || strcmp(b->ns, r->ns))
				continue;
			const struct pw_rbac_subject *s = applies_to(b, u);
			if (s && binding_allows(a, b, r, &g)) {
				g.subject = s;
				*why = g;
				return true;
			}
		}
	for (uint32_t i = 0; i < a->neks; i++) {
		const struct pw_rbac_subject *s = applies_to(&a->eks[i], u);
		if (s && binding_allows(a, &a->eks[i], r, &g)) {
			g.subject = s;
			*why = g;
			return true;
		}
	}
	return false;
}

/* ---- who can ------------------------------------------------------------------ */

/* Who is in an implicit group, for the table's note. */
static const char *implicit_note(const struct pw_authz *a, struct pw_arena *ar, const char *g)
{
	static const char sa_prefix[] = "system:serviceaccounts:";
	if (!strcmp(g, "system:authenticated"))
		return "every authenticated user";
	if (!strcmp(g, "system:unauthenticated"))
		return "every anonymous request";
	if (!strcmp(g, "system:serviceaccounts"))
		return "every service account";
	if (!strcmp(g, "system:masters"))
		return "the API server's privileged group: allowed anything";
	if (strncmp(g, sa_prefix, sizeof(sa_prefix) - 1))
		return NULL;
	const char *ns = g + sizeof(sa_prefix) - 1;
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_printf(&b, "every service account in %s", ns);
	uint32_t n = 0;
	for (uint32_t i = 0; i < a->c->nsas; i++) {
		const struct pw_sa *sa = &a->c->sas[i];
		if (strcmp(a->c->nss[sa->ns].name, ns))
			continue;
		pw_buf_puts(&b, n++ ? ", " : " (loaded: ");
		pw_buf_puts(&b, sa->name);
	}
	if (n)
		pw_buf_putc(&b, ')');
	const char *s = pw_arena_strdup(ar, b.s);
	pw_buf_release(&b);
	return s;
}

size_t pw_authz_who_can(const struct pw_authz *a, const struct pw_rbac_req *r,
			const char *superuser, struct pw_rbac_who **out)
{
	struct pw_rbac_who *v = NULL;
	size_t n = 0, cap = 0;
	const struct pw_rbac_data *d = a->d;
	struct pw_arena *ar = (struct pw_arena *)&a->arena;
#define WHO_PUSH()                                                             \
	(n == cap ? (cap = cap ? cap * 2 : 16, v = pw_xrealloc(v, cap * sizeof(*v))) \
		  : v,                                                         \
	 memset(&v[n], 0, sizeof(*v)), &v[n++])
	struct pw_rbac_who *w = WHO_PUSH();
	w->kind = PW_SUBJ_GROUP;
	w->kind_name = "Group";
	w->name = "system:masters";
	w->grant.privileged = true;
	w->note = implicit_note(a, ar, w->name);
	if (superuser) {
		w = WHO_PUSH();
		w->kind = PW_SUBJ_USER;
		w->kind_name = "User";
		w->name = superuser;
		w->grant.privileged = true;
		w->note = "the configured superuser";
	}
	for (int pass = 0; pass < 3; pass++) {
		uint32_t nb = pass < 2 ? d->nbindings : a->neks;
		for (uint32_t i = 0; i < nb; i++) {
			const struct pw_rbac_binding *b = pass < 2 ? &d->bindings[i] : &a->eks[i];
			if (pass == 0 && b->kind != PW_BIND_CLUSTER)
				continue;
			if (pass == 1 && (b->kind != PW_BIND_NS || !*r->ns || strcmp(b->ns, r->ns)))
				continue;
			struct pw_rbac_grant g = { 0 };
			if (!binding_allows(a, b, r, &g))
				continue;
			for (uint32_t k = 0; k < b->nsubjects; k++) {
				const struct pw_rbac_subject *s = &b->subjects[k];
				w = WHO_PUSH();
				w->kind = s->kind;
				w->kind_name = s->kind_name;
				w->name = s->name;
				w->ns = s->ns;
				w->grant = g;
				w->grant.subject = s;
				if (s->kind == PW_SUBJ_GROUP)
					w->note = implicit_note(a, ar, s->name);
				else if (b->kind == PW_BIND_EKS)
					w->note = "the IAM principal of an EKS access entry";
			}
		}
	}
#undef WHO_PUSH
	*out = v;
	return n;
}

/* ---- formatting ------------------------------------------------------------------ */

static void list(struct pw_buf *b, const char *name, const char *const *v, uint32_t n)
{
	if (!n)
		return;
	pw_buf_printf(b, " %s [", name);
	for (uint32_t i = 0; i < n; i++)
		pw_buf_printf(b, "%s%s", i ? " " : "", *v[i] ? v[i] : "\"\"");
	pw_buf_putc(b, ']');
}

static void pos(struct pw_buf *b, const struct pw_pos *p)
{
	if (p->file)
		pw_buf_printf(b, " (%s:%d:%d)", p->file, p->line, p->col);
}

void pw_rbac_grant_format(const struct pw_rbac_grant *g, struct pw_buf *b)
{
	if (g->privileged) {
		pw_buf_puts(b, "the group system:masters: the API server allows it anything, before RBAC");
		return;
	}
	const struct pw_rbac_binding *bd = g->binding;
	if (bd->kind == PW_BIND_EKS) {
		pw_buf_printf(b, "EKS access policy %s of the access entry of %s", bd->policy,
			      bd->name);
		if (bd->nscope)
			list(b, "in namespaces", bd->scope, bd->nscope);
	} else {
		pw_buf_printf(b, "%s %s%s%s", bd->kind == PW_BIND_NS ? "RoleBinding" : "ClusterRoleBinding",
			      bd->ns ? bd->ns : "", bd->ns ? "/" : "", bd->name);
	}
	pos(b, &bd->pos);
	if (g->subject && bd->kind != PW_BIND_EKS)
		pw_buf_printf(b, ", subject %s %s", g->subject->kind_name, g->subject->name);
	pw_buf_printf(b, "\n  -> %s %s%s%s", g->role->ns ? "Role" : "ClusterRole",
		      g->role->ns ? g->role->ns : "", g->role->ns ? "/" : "", g->role->name);
	pos(b, &g->role->pos);
	pw_buf_printf(b, " rule[%u]", g->rule_index);
	if (g->rule_from && g->rule_from != g->role)
		pw_buf_printf(b, ", aggregated from ClusterRole %s", g->rule_from->name);
	pos(b, &g->rule->pos);
	pw_buf_puts(b, ":");
	const struct pw_rbac_rule *r = g->rule;
	list(b, "verbs", r->verbs, r->nverbs);
	list(b, "apiGroups", r->groups, r->ngroups);
	list(b, "resources", r->resources, r->nresources);
	list(b, "resourceNames", r->names, r->nnames);
	list(b, "nonResourceURLs", r->urls, r->nurls);
}

void pw_rbac_who_key(const struct pw_rbac_who *w, struct pw_buf *out)
{
	pw_buf_printf(out, "%s:%s/%s", w->kind_name ? w->kind_name : "", w->ns ? w->ns : "",
		      w->name ? w->name : "");
}

static struct pw_doc *strs_doc(const char *const *v, uint32_t n)
{
	struct pw_doc *a = pw_doc_arr();
	for (uint32_t i = 0; i < n; i++)
		pw_doc_add(a, NULL, pw_doc_str(v[i]));
	return a;
}

static struct pw_doc *pos_doc(const struct pw_pos *p)
{
	if (!p->file)
		return pw_doc_null();
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_printf(&b, "%s:%d:%d", p->file, p->line, p->col);
	struct pw_doc *d = pw_doc_str(b.s);
	pw_buf_release(&b);
	return d;
}

struct pw_doc *pw_rbac_who_doc(const struct pw_rbac_req *r, const struct pw_rbac_who *w,
			       size_t n)
{
	struct pw_doc *root = pw_doc_obj();
	struct pw_buf b;
	pw_buf_init(&b);
	pw_rbac_req_format(r, &b);
	pw_doc_add(root, "request", pw_doc_str(b.s));
	struct pw_doc *arr = pw_doc_add(root, "subjects", pw_doc_arr());
	for (size_t i = 0; i < n; i++) {
		const struct pw_rbac_grant *g = &w[i].grant;
		struct pw_doc *o = pw_doc_add(arr, NULL, pw_doc_obj());
		pw_doc_add(o, "kind", pw_doc_str(w[i].kind_name));
		pw_doc_add(o, "name", pw_doc_str(w[i].name));
		if (w[i].ns)
			pw_doc_add(o, "namespace", pw_doc_str(w[i].ns));
		if (g->privileged) {
			pw_doc_add(o, "privileged", pw_doc_bool(true));
		} else {
			const struct pw_rbac_binding *bd = g->binding;
			struct pw_doc *bo = pw_doc_add(o, "binding", pw_doc_obj());
			pw_doc_add(bo, "kind", pw_doc_str(bd->kind == PW_BIND_NS ? "RoleBinding"
						     : bd->kind == PW_BIND_CLUSTER ? "ClusterRoleBinding"
										   : "EKSAccessPolicy"));
			if (bd->ns)
				pw_doc_add(bo, "namespace", pw_doc_str(bd->ns));
			pw_doc_add(bo, "name", pw_doc_str(bd->kind == PW_BIND_EKS ? bd->policy : bd->name));
			if (bd->nscope)
				pw_doc_add(bo, "namespaces", strs_doc(bd->scope, bd->nscope));
			pw_doc_add(bo, "at", pos_doc(&bd->pos));
			struct pw_doc *ro = pw_doc_add(o, "role", pw_doc_obj());
			pw_doc_add(ro, "kind", pw_doc_str(g->role->ns ? "Role" : "ClusterRole"));
			if (g->role->ns)
				pw_doc_add(ro, "namespace", pw_doc_str(g->role->ns));
			pw_doc_add(ro, "name", pw_doc_str(g->role->name));
			pw_doc_add(ro, "at", pos_doc(&g->role->pos));
			struct pw_doc *ru = pw_doc_add(o, "rule", pw_doc_obj());
			pw_doc_add(ru, "index", pw_doc_int(g->rule_index));
			if (g->rule_from && g->rule_from != g->role)
				pw_doc_add(ru, "aggregatedFrom", pw_doc_str(g->rule_from->name));
			pw_doc_add(ru, "at", pos_doc(&g->rule->pos));
			pw_doc_add(ru, "verbs", strs_doc(g->rule->verbs, g->rule->nverbs));
			if (g->rule->nurls)
				pw_doc_add(ru, "nonResourceURLs", strs_doc(g->rule->urls, g->rule->nurls));
			else {
				pw_doc_add(ru, "apiGroups", strs_doc(g->rule->groups, g->rule->ngroups));
				pw_doc_add(ru, "resources",
					   strs_doc(g->rule->resources, g->rule->nresources));
			}
			if (g->rule->nnames)
				pw_doc_add(ru, "resourceNames", strs_doc(g->rule->names, g->rule->nnames));
		}
		if (w[i].note)
			pw_doc_add(o, "note", pw_doc_str(w[i].note));
	}
	pw_buf_release(&b);
	return root;
}
