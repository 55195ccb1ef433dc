// SPDX-License-Identifier: Apache-2.0
/*
 * EKS: IAM identities to Kubernetes users (aws-auth, access entries), and
 * access policies to their Kubernetes equivalents (lib/rbac/rbac.h).
 */
#include <string.h>
#include <strings.h>

#include "rbac.h"

const char *pw_eks_policy_role(const char *policy)
{
	static const struct {
		const char *policy, *role;
	} map[] = {
		/* docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html */
		{ "AmazonEKSClusterAdminPolicy", "cluster-admin" },
		{ "AmazonEKSAdminPolicy", "admin" },
		{ "AmazonEKSEditPolicy", "edit" },
		{ "AmazonEKSViewPolicy", "view" },
	};
	const char *slash = strrchr(policy, '/');
	const char *name = slash ? slash + 1 : policy;
	for (size_t i = 0; i < PW_ARRAY_SIZE(map); i++)
		if (!strcmp(name, map[i].policy))
			return map[i].role;
	return NULL;
}

/* An IAM or STS ARN, in parts. */
struct arn {
	char partition[32], service[8], account[32];
	const char *resource; /* in the ARN given */
	char canonical[512]; /* as aws-iam-authenticator canonicalises it */
	char session[256];   /* assumed-role session name, or "" */
	bool role;	     /* a role or an assumed role */
	bool user;	     /* an IAM user */
};

static bool field(const char **p, char *out, size_t cap)
{
	const char *c = strchr(*p, ':');
	if (!c || (size_t)(c - *p) >= cap)
		return false;
	memcpy(out, *p, (size_t)(c - *p));
	out[c - *p] = 0;
	*p = c + 1;
	return true;
}

/* The role's name without its path ("role/a/b/NAME" -> "NAME"). */
static const char *role_name(const char *res)
{
	const char *s = strrchr(res, '/');
	return s ? s + 1 : res;
}

static int parse_arn(const char *s, struct arn *a, struct pw_buf *err)
{
	char region[32];
	memset(a, 0, sizeof(*a));
	const char *p = s;
	if (strncmp(p, "arn:", 4)) {
		pw_buf_printf(err, "%s is not an ARN (arn:aws:iam::ACCOUNT:...)", s);
		return -1;
	}
	p += 4;
	if (!field(&p, a->partition, sizeof(a->partition)) ||
	    !field(&p, a->service, sizeof(a->service)) || !field(&p, region, sizeof(region)) ||
	    !field(&p, a->account, sizeof(a->account)) || !*p) {
		pw_buf_printf(err, "%s is not an ARN (arn:aws:iam::ACCOUNT:...)", s);
		return -1;
	}
	a->resource = p;
	int n = -1;
	if (!strcmp(a->service, "sts") && !strncmp(p, "assumed-role/", 13)) {
		const char *r = p + 13, *sl = strchr(r, '/');
		if (!sl || !sl[1] || strlen(sl + 1) >= sizeof(a->session)) {
			pw_buf_printf(err, "%s: an assumed-role ARN is assumed-role/ROLE/SESSION", s);
			return -1;
		}
		strcpy(a->session, sl + 1);
		a->role = true;
		n = snprintf(a->canonical, sizeof(a->canonical), "arn:%s:iam::%s:role/%.*s",
			     a->partition, a->account, (int)(sl - r), r);
	} else if (!strcmp(a->service, "iam") && !strncmp(p, "role/", 5)) {
		a->role = true;
		n = snprintf(a->canonical, sizeof(a->canonical), "arn:%s:iam::%s:role/%s",
			     a->partition, a->account, role_name(p));
	} else if (!strcmp(a->service, "iam") || !strcmp(a->service, "sts")) {
		a->user = !strncmp(p, "user/", 5);
		n = snprintf(a->canonical, sizeof(a->canonical), "%s", s);
	} else {
		pw_buf_printf(err, "%s is not an IAM or STS ARN", s);
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(a->canonical)) {
		pw_buf_printf(err, "%s: ARN too long", s);
		return -1;
	}
	return 0;
}

/* A mapped ARN in canonical form (a role's path stripped). */
static bool same_identity(const char *mapped, const struct arn *a)
{
	struct arn m;
	struct pw_buf err;
	pw_buf_init(&err);
	int rc = parse_arn(mapped, &m, &err);
	pw_buf_release(&err);
	return rc == 0 && !strcasecmp(m.canonical, a->canonical);
}

/* aws-iam-authenticator's templates. */
static const char *render(struct pw_arena *ar, const char *t, const struct arn *a)
{
	static const char *const names[] = { "{{AccountID}}", "{{SessionName}}",
					     "{{SessionNameRaw}}", "{{EC2PrivateDNSName}}" };
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_puts(&b, "");
	for (const char *p = t; *p;) {
		size_t i = 0;
		while (i < PW_ARRAY_SIZE(names) && strncmp(p, names[i], strlen(names[i])))
			i++;
		if (i == PW_ARRAY_SIZE(names)) {
			pw_buf_putc(&b, *p++);
			continue;
		}
		p += strlen(names[i]);
		if (i == 0)
			pw_buf_puts(&b, a->account);
		else
			for (const char *s = a->session; *s; s++)
				pw_buf_putc(&b, i == 1 && *s == '@' ? '-' : *s);
	}
	const char *r = pw_arena_strdup(ar, b.s);
	pw_buf_release(&b);
	return r;
}

static void set_user(struct pw_arena *ar, struct pw_rbac_user *u, const char *name,
		     const char *const *groups, uint32_t n, const char *extra,
		     const struct arn *a)
{
	u->name = render(ar, name, a);
	u->groups = pw_arena_alloc(ar, (n + 2) * sizeof(*u->groups));
	u->ngroups = 0;
	for (uint32_t i = 0; i < n; i++)
		u->groups[u->ngroups++] = render(ar, groups[i], a);
	if (extra)
		u->groups[u->ngroups++] = extra;
}

static void add_authenticated(struct pw_arena *ar, struct pw_rbac_user *u)
{
	const char **g = pw_arena_alloc(ar, (u->ngroups + 1) * sizeof(*g));
	memcpy(g, u->groups, u->ngroups * sizeof(*g));
	g[u->ngroups++] = "system:authenticated";
	u->groups = g;
}

int pw_authz_resolve_iam(const struct pw_authz *az, struct pw_arena *ar, const char *arn_s,
			 struct pw_rbac_user *out, struct pw_buf *err)
{
	const struct pw_rbac_data *d = az->d;
	struct arn a;
	memset(out, 0, sizeof(*out));
	if (parse_arn(arn_s, &a, err) < 0)
		return -1;
	/* access entries first: a described entry over a listed one */
	const struct pw_access_entry *e = NULL;
	for (uint32_t i = 0; i < d->nentries; i++)
		if (same_identity(d->entries[i].principal, &a) &&
		    (!e || (!e->described && d->entries[i].described)))
			e = &d->entries[i];
	if (e) {
		const char *type = e->type ? e->type : "STANDARD";
		bool node = strcmp(type, "STANDARD") != 0;
		const char *name = e->username;
		if (!name)
			name = !node ? (a.role ? pw_arena_printf(ar, "arn:%s:sts::%s:assumed-role/%s/{{SessionName}}",
							       a.partition, a.account,
							       role_name(e->principal))
					       : a.canonical)
			       : !strncmp(type, "EC2", 3) ? "system:node:{{EC2PrivateDNSName}}"
							  : "system:node:{{SessionName}}";
		set_user(ar, out, name, e->groups, e->ngroups, node ? "system:nodes" : NULL, &a);
		out->principal = e->principal;
		out->via = pw_arena_printf(ar, "EKS access entry %s (%s:%d:%d)", e->principal,
					   e->pos.file, e->pos.line, e->pos.col);
		add_authenticated(ar, out);
		return 0;
	}
	for (int kind = PW_AWS_ROLE; kind <= PW_AWS_ACCOUNT; kind++)
		for (uint32_t i = 0; i < d->nmaps; i++) {
			const struct pw_aws_map *m = &d->maps[i];
			if ((int)m->kind != kind)
				continue;
			bool hit = kind == PW_AWS_ROLE	 ? a.role && same_identity(m->arn, &a)
				   : kind == PW_AWS_USER ? !a.role && same_identity(m->arn, &a)
							 : !strcmp(m->arn, a.account);
			if (!hit)
				continue;
			set_user(ar, out, m->username && kind != PW_AWS_ACCOUNT ? m->username : a.canonical,
				 m->groups, m->ngroups, NULL, &a);
			out->via = pw_arena_printf(ar, "aws-auth %s %s (%s:%d:%d)",
						   kind == PW_AWS_ROLE	 ? "mapRoles"
						   : kind == PW_AWS_USER ? "mapUsers"
									 : "mapAccounts",
						   m->arn, m->pos.file, m->pos.line, m->pos.col);
			add_authenticated(ar, out);
			return 0;
		}
	pw_buf_printf(err, "%s (canonical %s) is mapped by no access entry and no aws-auth entry: EKS refuses it",
		      arn_s, a.canonical);
	return -1;
}
