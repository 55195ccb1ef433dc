/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes RBAC as the API server decides it, and EKS's mapping of IAM
 * identities to Kubernetes users and groups.
 *
 * Loading (lib/rbac/load.c, called by the manifest loader through its kinds
 * table): Role, ClusterRole, RoleBinding, ClusterRoleBinding, the
 * kube-system/aws-auth ConfigMap (mapRoles, mapUsers, mapAccounts, whose
 * YAML strings are parsed with libyaml too), and the JSON of `aws eks
 * list-access-entries`, `describe-access-entry` and
 * `list-associated-access-policies`.  The objects live in the cluster's
 * arena (c->rbac, NULL when the input holds none).
 *
 * Deciding (lib/rbac/authz.c): pw_authz_build() indexes the objects and
 * computes aggregated ClusterRoles to their fixed point, as the
 * clusterrole-aggregation controller does (each aggregated role's rules are
 * the union, without duplicates, of the rules of every other ClusterRole its
 * selectors match, selectors in order, roles by name).  Then:
 *
 *   1. a user in the group system:masters is allowed anything (the API
 *      server's privileged-group authorizer, before RBAC);
 *   2. every ClusterRoleBinding, in input order; its roleRef must be a
 *      ClusterRole;
 *   3. if the request has a namespace, the RoleBindings of that namespace;
 *      a ClusterRole they bind grants inside that namespace only;
 *   4. EKS access policies associated with the user's access entry
 *      (cluster scope, or namespaces with a trailing '*' wildcard), as
 *      bindings to their Kubernetes equivalents (lib/rbac/aws.c).
 *
 * The first rule that allows decides; no rule means NoOpinion (denied),
 * never an explicit deny.  Rule matching is upstream's
 * (rbacv1helpers: VerbMatches, APIGroupMatches, ResourceMatches with "*",
 * "*\/sub" and exact "res/sub", ResourceNameMatches, NonResourceURLMatches
 * with a trailing-'*' prefix), byte for byte, case-sensitive.
 *
 * Nothing here prints; problems go to a struct pw_diags or an error buffer.
 */
#ifndef PW_RBAC_H
#define PW_RBAC_H

#include "../doc.h"
#include "../labels.h"
#include "../model.h"

struct pw_rbac_rule {
	const char **verbs, **groups, **resources, **names, **urls;
	uint32_t nverbs, ngroups, nresources, nnames, nurls;
	struct pw_pos pos;
};

struct pw_rbac_role {
	const char *name;
	const char *ns; /* NULL: a ClusterRole */
	struct pw_labels labels;
	struct pw_rbac_rule *rules; /* as written */
	uint32_t nrules;
	struct pw_lsel **agg; /* aggregationRule.clusterRoleSelectors */
	uint32_t nagg;
	bool aggregated; /* has an aggregationRule */
	struct pw_pos pos;
};

enum pw_subj_kind { PW_SUBJ_USER, PW_SUBJ_GROUP, PW_SUBJ_SA, PW_SUBJ_OTHER };

struct pw_rbac_subject {
	enum pw_subj_kind kind;
	const char *kind_name; /* as written */
	const char *name;
	const char *ns; /* ServiceAccount: as written (may be NULL) */
	struct pw_pos pos;
};

enum pw_binding_kind { PW_BIND_CLUSTER, PW_BIND_NS, PW_BIND_EKS };

struct pw_rbac_binding {
	enum pw_binding_kind kind;
	const char *name;
	const char *ns; /* RoleBinding: its namespace */
	const char *role_kind, *role_name; /* roleRef */
	struct pw_rbac_subject *subjects;
	uint32_t nsubjects;
	/* PW_BIND_EKS: the policy's name and namespace scope (none: cluster) */
	const char *policy;
	const char **scope;
	uint32_t nscope;
	struct pw_pos pos;
};

enum pw_aws_map_kind { PW_AWS_ROLE, PW_AWS_USER, PW_AWS_ACCOUNT };

/* An aws-auth mapping (mapRoles, mapUsers, mapAccounts). */
struct pw_aws_map {
	enum pw_aws_map_kind kind;
	const char *arn;      /* rolearn, userarn; the account ID for accounts */
	const char *username; /* NULL: the identity's ARN */
	const char **groups;
	uint32_t ngroups;
	struct pw_pos pos;
};

/* An EKS access entry, and the access policies associated with it. */
struct pw_access_entry {
	const char *principal; /* principalArn */
	const char *username;  /* NULL: EKS's default for the type */
	const char *type;      /* STANDARD, EC2_LINUX, ...; NULL: STANDARD */
	const char **groups;   /* kubernetesGroups */
	uint32_t ngroups;
	bool described; /* from describe-access-entry (else listed only) */
	struct pw_pos pos;
};
struct pw_access_policy {
	const char *principal;
	const char *policy_arn;
	const char **namespaces; /* accessScope type namespace; none: cluster */
	uint32_t nnamespaces;
	struct pw_pos pos;
};

/* What the loader stores (c->rbac). */
struct pw_rbac_data {
	struct pw_rbac_role *roles;
	uint32_t nroles;
	size_t nroles_cap;
	struct pw_rbac_binding *bindings;
	uint32_t nbindings;
	size_t nbindings_cap;
	struct pw_aws_map *maps;
	uint32_t nmaps;
	size_t nmaps_cap;
	struct pw_access_entry *entries;
	uint32_t nentries;
	size_t nentries_cap;
	struct pw_access_policy *policies;
	uint32_t npolicies;
	size_t npolicies_cap;
};

/* ---- requests ------------------------------------------------------------ */

/* The attributes the authorizer sees; "" for absent strings. */
struct pw_rbac_req {
	const char *verb;
	bool nonresource;
	const char *path; /* non-resource */
	const char *group, *resource, *subresource, *ns, *name;
};

/*
 * A request as `podwall can-i VERB WHAT [NAME]` writes it: WHAT is a
 * non-resource path (starts with '/'), or RESOURCE[/SUBRESOURCE] where
 * RESOURCE is plural.group (taken literally; "pods." is the core group) or
 * a name of the table of common resources (plural, singular, kind or short
 * name: "pods", "pod", "po", "netpol", "deploy"), resolved to its plural and
 * group.  Another plain name is taken literally in the core group, with a
 * warning, as kubectl does for a type the server does not know.  A
 * cluster-scoped resource of the table, and all_ns, make the namespace "".
 * Strings are in a (or argv).  0, or -1 with err set.
 */
int pw_rbac_parse_request(struct pw_arena *a, const char *verb, const char *what,
			  const char *name, const char *subresource, const char *ns,
			  bool all_ns, struct pw_rbac_req *out, struct pw_buf *warn,
			  struct pw_buf *err);
/* "get pods/status \"x\" in namespace ns", "get /apis" */
void pw_rbac_req_format(const struct pw_rbac_req *r, struct pw_buf *out);

/* ---- users --------------------------------------------------------------- */

struct pw_rbac_user {
	const char *name;
	const char **groups;
	uint32_t ngroups;
	const char *via; /* how an IAM identity was mapped (explanations) */
	const char *principal; /* the EKS access entry it came through, or NULL */
};

/*
 * The user the API server sees when impersonating name with groups (as its
 * impersonation filter does): a service account name
 * system:serviceaccount:NS:SA without groups gets system:serviceaccounts and
 * system:serviceaccounts:NS; every user but system:anonymous gets
 * system:authenticated unless system:authenticated or
 * system:unauthenticated was given; system:anonymous gets
 * system:unauthenticated.  Strings in a.
 */
void pw_rbac_impersonate(struct pw_arena *a, const char *name, const char *const *groups,
			 uint32_t ngroups, struct pw_rbac_user *out);

/* ---- the authorizer -------------------------------------------------------- */

struct pw_authz {
	const struct pw_cluster *c;
	const struct pw_rbac_data *d; /* never NULL (empty when c has none) */
	struct pw_arena arena;
	/* effective rules per role (aggregated roles: the fixed point) */
	struct pw_rbac_rule **rules;
	uint32_t *nrules;
	/* for an aggregated rule, the role it came from; else the role itself */
	const struct pw_rbac_role ***rule_from;
	struct pw_strmap role_index; /* "ns/name" ("/name" for ClusterRoles) */
	/* EKS access policies as bindings (subjects: the entry's user) */
	struct pw_rbac_binding *eks;
	uint32_t neks;
	struct pw_rbac_role *eks_admin; /* cluster-admin's equivalent, built in */
};

/* Index, aggregate, and turn access policies into bindings.  Problems
   (a binding to a missing role is not one: it is skipped, as upstream
   does) go to d as warnings.  0 or -1. */
int pw_authz_build(struct pw_authz *a, const struct pw_cluster *c, struct pw_diags *d);
void pw_authz_release(struct pw_authz *a);

/* The effective rules of a role (after aggregation). */
const struct pw_rbac_rule *pw_authz_rules(const struct pw_authz *a,
					  const struct pw_rbac_role *role, uint32_t *n);

/* Does one rule allow the request?  (rbac.go RuleAllows) */
bool pw_rbac_rule_allows(const struct pw_rbac_rule *rule, const struct pw_rbac_req *r);

/* Why a request is allowed. */
struct pw_rbac_grant {
	bool privileged; /* by the group system:masters, before RBAC */
	const struct pw_rbac_binding *binding;
	const struct pw_rbac_subject *subject; /* the subject that matched */
	const struct pw_rbac_role *role;
	const struct pw_rbac_role *rule_from; /* role that holds the rule */
	const struct pw_rbac_rule *rule;
	uint32_t rule_index; /* in the role's effective rules */
};

/* Allowed?  *why says by what (when allowed). */
bool pw_authz_allows(const struct pw_authz *a, const struct pw_rbac_user *u,
		     const struct pw_rbac_req *r, struct pw_rbac_grant *why);

/* One subject that may do it, and by what. */
struct pw_rbac_who {
	enum pw_subj_kind kind;
	const char *kind_name, *name, *ns;
	struct pw_rbac_grant grant;
	const char *note; /* an implicit group: who is in it; else NULL */
};

/*
 * Who can (the subject locator, SubjectAccessEvaluator.AllowedSubjects):
 * Group system:masters, then the superuser (if not NULL) as a User, then
 * the subjects of every ClusterRoleBinding whose role has a rule allowing
 * it, then of every RoleBinding of the request's namespace, then the EKS
 * access policies' users; subjects as written, one entry per (subject,
 * binding).  Heap array in *out (free it).
 */
size_t pw_authz_who_can(const struct pw_authz *a, const struct pw_rbac_req *r,
			const char *superuser, struct pw_rbac_who **out);

/* "ClusterRoleBinding cluster-admin (FILE:LINE:COL) -> ClusterRole
   cluster-admin rule[0] (FILE:LINE:COL): verbs [*] ..." */
void pw_rbac_grant_format(const struct pw_rbac_grant *g, struct pw_buf *out);
/* who-can's answer as a document (-o json|yaml) */
struct pw_doc *pw_rbac_who_doc(const struct pw_rbac_req *r, const struct pw_rbac_who *w,
			       size_t n);
/* "Kind:ns/name" as the subject locator's tables write it */
void pw_rbac_who_key(const struct pw_rbac_who *w, struct pw_buf *out);

/* ---- EKS (lib/rbac/aws.c) ---------------------------------------------------- */

/*
 * The Kubernetes user an IAM ARN authenticates as, as EKS maps it: an
 * access entry first (API and API_AND_CONFIG_MAP modes), then aws-auth's
 * mapRoles (for a role, or an STS assumed-role ARN
 * arn:aws:sts::ACCT:assumed-role/ROLE/SESSION, canonical form
 * arn:aws:iam::ACCT:role/ROLE; a mapped rolearn's path is stripped as
 * aws-iam-authenticator does), mapUsers (for an IAM user), mapAccounts
 * (the account: user name = the canonical ARN, no groups).  ARNs compare
 * case-insensitively.  Templates in user and group names:
 * {{AccountID}}, {{SessionName}} ('@' as '-'), {{SessionNameRaw}},
 * {{EC2PrivateDNSName}} (needs the EC2 API: the session name, an
 * instance ID, stands in for it).  The user also gets system:authenticated.
 * 0, or -1 (err) when nothing maps the ARN or it is not an IAM ARN.
 */
int pw_authz_resolve_iam(const struct pw_authz *a, struct pw_arena *ar, const char *arn,
			 struct pw_rbac_user *out, struct pw_buf *err);

/* The Kubernetes ClusterRole an EKS access policy (its ARN or name) grants
   as: AmazonEKSClusterAdminPolicy cluster-admin, AmazonEKSAdminPolicy admin,
   AmazonEKSEditPolicy edit, AmazonEKSViewPolicy view; NULL for others. */
const char *pw_eks_policy_role(const char *policy);

#endif
