// SPDX-License-Identifier: Apache-2.0
/*
 * Requests and users as `kubectl auth can-i` and the API server's
 * impersonation make them (lib/rbac/rbac.h).
 */
#include <string.h>
#include <strings.h>

#include "rbac.h"

/* Common resources: plural, API group, namespaced, other names (singular,
   short names, kind), as the API server's discovery gives them. */
static const struct resource {
	const char *plural, *group;
	bool namespaced;
	const char *names[4];
} resources[] = {
	{ "pods", "", true, { "pod", "po" } },
	{ "services", "", true, { "service", "svc" } },
	{ "endpoints", "", true, { "ep" } },
	{ "configmaps", "", true, { "configmap", "cm" } },
	{ "secrets", "", true, { "secret" } },
	{ "serviceaccounts", "", true, { "serviceaccount", "sa" } },
	{ "persistentvolumeclaims", "", true, { "persistentvolumeclaim", "pvc" } },
	{ "events", "", true, { "event", "ev" } },
	{ "resourcequotas", "", true, { "resourcequota", "quota" } },
	{ "limitranges", "", true, { "limitrange", "limits" } },
	{ "replicationcontrollers", "", true, { "replicationcontroller", "rc" } },
	{ "namespaces", "", false, { "namespace", "ns" } },
	{ "nodes", "", false, { "node", "no" } },
	{ "persistentvolumes", "", false, { "persistentvolume", "pv" } },
	{ "deployments", "apps", true, { "deployment", "deploy" } },
	{ "replicasets", "apps", true, { "replicaset", "rs" } },
	{ "statefulsets", "apps", true, { "statefulset", "sts" } },
	{ "daemonsets", "apps", true, { "daemonset", "ds" } },
	{ "controllerrevisions", "apps", true, { "controllerrevision" } },
	{ "jobs", "batch", true, { "job" } },
	{ "cronjobs", "batch", true, { "cronjob", "cj" } },
	{ "horizontalpodautoscalers", "autoscaling", true, { "horizontalpodautoscaler", "hpa" } },
	{ "poddisruptionbudgets", "policy", true, { "poddisruptionbudget", "pdb" } },
	{ "networkpolicies", "networking.k8s.io", true, { "networkpolicy", "netpol" } },
	{ "ingresses", "networking.k8s.io", true, { "ingress", "ing" } },
	{ "ingressclasses", "networking.k8s.io", false, { "ingressclass" } },
	{ "endpointslices", "discovery.k8s.io", true, { "endpointslice" } },
	{ "roles", "rbac.authorization.k8s.io", true, { "role" } },
	{ "rolebindings", "rbac.authorization.k8s.io", true, { "rolebinding" } },
	{ "clusterroles", "rbac.authorization.k8s.io", false, { "clusterrole" } },
	{ "clusterrolebindings", "rbac.authorization.k8s.io", false, { "clusterrolebinding" } },
	{ "storageclasses", "storage.k8s.io", false, { "storageclass", "sc" } },
	{ "customresourcedefinitions", "apiextensions.k8s.io", false,
	  { "customresourcedefinition", "crd", "crds" } },
	{ "leases", "coordination.k8s.io", true, { "lease" } },
	{ "certificatesigningrequests", "certificates.k8s.io", false,
	  { "certificatesigningrequest", "csr" } },
	{ "adminnetworkpolicies", "policy.networking.k8s.io", false, { "adminnetworkpolicy", "anp" } },
	{ "baselineadminnetworkpolicies", "policy.networking.k8s.io", false,
	  { "baselineadminnetworkpolicy", "banp" } },
	/* Calico through its API server (projectcalico.org/v3) */
	{ "globalnetworkpolicies", "projectcalico.org", false, { "globalnetworkpolicy", "gnp" } },
	{ "globalnetworksets", "projectcalico.org", false, { "globalnetworkset" } },
	{ "networksets", "projectcalico.org", true, { "networkset" } },
	{ "tiers", "projectcalico.org", false, { "tier" } },
	{ "securitygrouppolicies", "vpcresources.k8s.aws", true, { "securitygrouppolicy", "sgp" } },
};

static const struct resource *lookup(const char *name, size_t n, const char *group)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(resources); i++) {
		const struct resource *r = &resources[i];
		if (group && strcmp(group, r->group))
			continue;
		bool hit = strlen(r->plural) == n && !strncasecmp(name, r->plural, n);
		for (size_t k = 0; !hit && k < PW_ARRAY_SIZE(r->names) && r->names[k]; k++)
			hit = strlen(r->names[k]) == n && !strncasecmp(name, r->names[k], n);
		if (hit)
			return r;
	}
	return NULL;
}

int pw_rbac_parse_request(struct pw_arena *a, const char *verb, const char *what,
			  const char *name, const char *subresource, const char *ns,
			  bool all_ns, struct pw_rbac_req *out, struct pw_buf *warn,
			  struct pw_buf *err)
{
	memset(out, 0, sizeof(*out));
	out->verb = verb;
	out->path = out->group = out->resource = out->subresource = out->ns = out->name = "";
	if (!*verb) {
		pw_buf_puts(err, "the verb is empty");
		return -1;
	}
	if (what[0] == '/') {
		if (name || subresource) {
			pw_buf_puts(err, "a non-resource URL takes no name and no subresource");
			return -1;
		}
		out->nonresource = true;
		out->path = what;
		return 0;
	}
	const char *slash = strchr(what, '/');
	size_t rl = slash ? (size_t)(slash - what) : strlen(what);
	if (slash && subresource) {
		pw_buf_printf(err, "%s names a subresource, and so does --subresource", what);
		return -1;
	}
	if (!rl) {
		pw_buf_puts(err, "the resource is empty");
		return -1;
	}
	out->subresource = slash ? pw_arena_strdup(a, slash + 1) : subresource ? subresource : "";
	const char *dot = memchr(what, '.', rl);
	const struct resource *r;
	bool namespaced = true;
	if (dot) {
		/* plural.group, taken literally ("pods." is the core group) */
		out->group = pw_arena_strndup(a, dot + 1, rl - (size_t)(dot - what) - 1);
		out->resource = pw_arena_strndup(a, what, (size_t)(dot - what));
		r = lookup(what, (size_t)(dot - what), out->group);
		namespaced = !r || r->namespaced;
	} else if ((r = lookup(what, rl, NULL))) {
		out->group = r->group;
		out->resource = r->plural;
		namespaced = r->namespaced;
	} else {
		out->resource = pw_arena_strndup(a, what, rl);
		pw_buf_printf(warn, "the resource type %s is not in podwall's table: taken as is, in the core group (write RESOURCE.GROUP to name its group)",
			      out->resource);
	}
	out->name = name ? name : "";
	out->ns = all_ns || !namespaced ? "" : ns ? ns : "default";
	return 0;
}

void pw_rbac_req_format(const struct pw_rbac_req *r, struct pw_buf *out)
{
	pw_buf_printf(out, "%s ", r->verb);
	if (r->nonresource) {
		pw_buf_puts(out, r->path);
		return;
	}
	pw_buf_printf(out, "%s%s%s%s%s", r->resource, *r->group ? "." : "", r->group,
		      *r->subresource ? "/" : "", r->subresource);
	if (*r->name)
		pw_buf_printf(out, " %s", r->name);
	if (*r->ns)
		pw_buf_printf(out, " in namespace %s", r->ns);
	else
		pw_buf_puts(out, " cluster-wide");
}

void pw_rbac_impersonate(struct pw_arena *a, const char *name, const char *const *groups,
			 uint32_t ngroups, struct pw_rbac_user *out)
{
	static const char sa[] = "system:serviceaccount:";
	memset(out, 0, sizeof(*out));
	out->name = name;
	out->groups = pw_arena_alloc(a, (ngroups + 3) * sizeof(*out->groups));
	bool authn = false;
	for (uint32_t i = 0; i < ngroups; i++) {
		out->groups[out->ngroups++] = groups[i];
		authn |= !strcmp(groups[i], "system:authenticated") ||
			 !strcmp(groups[i], "system:unauthenticated");
	}
	const char *rest = !strncmp(name, sa, sizeof(sa) - 1) ? name + sizeof(sa) - 1 : NULL;
	const char *colon = rest ? strchr(rest, ':') : NULL;
	if (!ngroups && colon && colon > rest && colon[1] && !strchr(colon + 1, ':')) {
		out->groups[out->ngroups++] = "system:serviceaccounts";
		out->groups[out->ngroups++] = pw_arena_printf(a, "system:serviceaccounts:%.*s",
							      (int)(colon - rest), rest);
	}
	if (!strcmp(name, "system:anonymous")) {
		if (!authn)
			out->groups[out->ngroups++] = "system:unauthenticated";
	} else if (!authn) {
		out->groups[out->ngroups++] = "system:authenticated";
	}
}
