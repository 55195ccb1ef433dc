// SPDX-License-Identifier: Apache-2.0
/* The manifest loader on small inputs: what it builds, and every error it
   must report with its line and column. */
#include <stdlib.h>

#include "../../lib/model.h"
#include "t.h"

static const struct {
	const char *name, *yaml;
	size_t errors;
	int line, col;	   /* of the first error, when errors > 0 */
	const char *msg;   /* substring of the first error */
	uint32_t pods, pols, nss;
} cases[] = {
	{ "pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
		 "status: {podIP: 10.0.0.1}\n",
	  0, 0, 0, NULL, 1, 0, 1 },
	{ "default namespace", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
	  0, 0, 0, NULL, 1, 0, 1 },
	{ "podlist items inherit kind",
	  "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n- metadata: {name: b}\n",
	  0, 0, 0, NULL, 2, 0, 1 },
	{ "List", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: n}\n",
	  0, 0, 0, NULL, 0, 0, 1 },
	{ "json", "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"a\"}}",
	  0, 0, 0, NULL, 1, 0, 1 },
	{ "deployment template", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
		 "spec:\n  template:\n    metadata: {labels: {app: d}}\n",
	  0, 0, 0, NULL, 1, 0, 1 },
	{ "replicas not an integer", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
		 "spec:\n  replicas: two\n  template:\n    metadata: {labels: {app: d}}\n",
	  1, 5, 13, "replicas must be an integer", 0, 0, 0 },
	{ "unknown kind skipped", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
	  0, 0, 0, NULL, 0, 0, 0 },
	{ "syntax error", "apiVersion: v1\nkind: Pod\nmetadata: {name: a\n",
	  1, 4, 1, "invalid YAML", 0, 0, 0 },
	{ "bad label key", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels: {\"app@b\": x}\n",
	  1, 5, 12, "invalid label key", 0, 0, 0 },
	{ "bad label value", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels: {app: $x}\n",
	  1, 5, 17, "invalid label value", 0, 0, 0 },
	{ "bad cidr", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: A}\n",
	  1, 8, 23, "invalid CIDR", 0, 0, 0 },
	{ "except outside", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}\n",
	  1, 8, 44, "not strictly within", 0, 0, 0 },
	{ "unknown operator", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector:\n    matchExpressions:\n    - {key: app, operator: Equals, values: [x]}\n",
	  1, 7, 28, "unknown selector operator", 0, 0, 0 },
	{ "endPort with named port", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {port: http, endPort: 90}\n",
	  1, 8, 29, "named port", 0, 0, 0 },
	{ "endPort below port", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector: {}\n  egress:\n  - ports:\n    - {port: 10, endPort: 1}\n",
	  1, 8, 27, "endPort 1", 0, 0, 0 },
	{ "port out of range", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - port: 70000\n",
	  1, 8, 13, "out of range", 0, 0, 0 },
	{ "wrong type", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector: {}\n  ingress: 7\n",
	  1, 6, 12, "must be a list", 0, 0, 0 },
	{ "empty peer", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector: {}\n  ingress:\n  - from:\n    - {}\n",
	  1, 8, 7, "a peer must have", 0, 0, 0 },
	{ "duplicate", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n"
		       "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
	  1, 5, 1, "duplicate Pod", 1, 0, 1 },
	{ "every error reported", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels: {\"@\": x}\n---\n"
		 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  labels: {a: \"-\"}\n",
	  2, 5, 12, "invalid label key", 0, 0, 0 },
	{ "bad protocol", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector: {}\n  ingress:\n  - ports:\n    - {protocol: ICMP}\n",
	  1, 8, 18, "unknown protocol", 0, 0, 0 },
	{ "duplicate key", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n",
	  1, 5, 3, "already defined", 1, 0, 1 },
	{ "NUL in a string", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"a\\0b\"\n",
	  1, 4, 9, "NUL character", 0, 0, 0 },
	{ "nesting capped", "a: " "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
	  1, 1, 67, "nesting deeper than 64", 0, 0, 0 },
	{ "merge key", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"
		 "  labels: &l {app: x}\n  annotations:\n    <<: *l\n    app: y\n",
	  0, 0, 0, NULL, 1, 0, 1 },
	{ "merge of a scalar", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"
		 "  labels:\n    <<: 7\n",
	  1, 6, 9, "merge key << needs a mapping", 0, 0, 0 },
	{ "alias inside its anchor", "a: &x [1, *x]\n",
	  1, 1, 11, "inside the node of its own anchor", 0, 0, 0 },
	{ "alias of no anchor", "a: *x\n",
	  1, 1, 4, "of no anchor", 0, 0, 0 },
	{ "hostNetwork yes", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {hostNetwork: yes}\n",
	  0, 0, 0, NULL, 1, 0, 1 },
	{ "hostNetwork Off", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {hostNetwork: Off}\n",
	  0, 0, 0, NULL, 1, 0, 1 },
	{ "hostNetwork quoted", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {hostNetwork: \"yes\"}\n",
	  1, 4, 21, "true or false", 0, 0, 0 },
	{ "containerPort 0x50", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
		 "spec: {containers: [{ports: [{containerPort: 0x50}]}]}\n",
	  0, 0, 0, NULL, 1, 0, 1 },
	{ "containerPort 0o200000 out of range", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
		 "spec: {containers: [{ports: [{containerPort: 0o200000}]}]}\n",
	  1, 4, 46, "containerPort 65536 is out of range", 0, 0, 0 },
	{ "containerPort 1.5", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
		 "spec: {containers: [{ports: [{containerPort: 1.5}]}]}\n",
	  1, 4, 46, "must be an integer", 0, 0, 0 },
	{ "policyTypes default", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		 "spec:\n  podSelector: {}\n  egress:\n  - {}\n",
	  0, 0, 0, NULL, 0, 1, 1 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pw_cluster c;
		struct pw_diags d;
		pw_cluster_init(&c);
		pw_diags_init(&d);
		pw_cluster_load_buffer(&c, "t.yaml", (const unsigned char *)cases[i].yaml,
				       strlen(cases[i].yaml), &d);
		pw_cluster_finish(&c, &d);
		T_CHECK(d.errors == cases[i].errors, "%s: %zu errors (want %zu)%s%s",
			cases[i].name, d.errors, cases[i].errors,
			d.n ? ": " : "", d.n ? d.v[0].msg : "");
		if (cases[i].errors && d.n) {
			const struct pw_diag *e = &d.v[0];
			T_CHECK(e->pos.line == cases[i].line && e->pos.col == cases[i].col,
				"%s: error at %d:%d (want %d:%d): %s", cases[i].name,
				e->pos.line, e->pos.col, cases[i].line, cases[i].col, e->msg);
			T_CHECK(strstr(e->msg, cases[i].msg) != NULL, "%s: message \"%s\"",
				cases[i].name, e->msg);
		}
		if (!cases[i].errors || cases[i].pods) {
			T_CHECK(c.npods == cases[i].pods, "%s: %u pods", cases[i].name, c.npods);
			T_CHECK(c.npols == cases[i].pols, "%s: %u policies", cases[i].name, c.npols);
			T_CHECK(c.nns == cases[i].nss, "%s: %u namespaces", cases[i].name, c.nns);
		}
		pw_diags_release(&d);
		pw_cluster_release(&c);
	}
	/* YAML 1.1 scalars as Kubernetes' decoder reads them */
	static const struct { const char *v; long want; } ints[] = {
		{ "80", 80 }, { "0x50", 80 }, { "0o120", 80 }, { "0120", 80 },
		{ "0b1010000", 80 }, { "8_0", 80 }, { "+80", 80 }, { "08", 8 },
		{ "1e3", 1000 }, { "80.0", 80 }, { "-0x10", -16 },
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		char y[128];
		snprintf(y, sizeof(y), "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
			 "spec: {containers: [{ports: [{containerPort: %s}]}]}\n", ints[i].v);
		struct pw_cluster c;
		struct pw_diags d;
		pw_cluster_init(&c);
		pw_diags_init(&d);
		pw_cluster_load_buffer(&c, "t.yaml", (const unsigned char *)y, strlen(y), &d);
		bool ok = ints[i].want < 1 ? d.errors == 1
			: d.errors == 0 && c.npods == 1 && c.pods[0].nports == 1 &&
				  c.pods[0].ports[0].port == ints[i].want;
		T_CHECK(ok, "containerPort: %s is %ld", ints[i].v, ints[i].want);
		pw_diags_release(&d);
		pw_cluster_release(&c);
	}
	static const struct { const char *v; bool want; } bools[] = {
		{ "y", true }, { "Y", true }, { "yes", true }, { "Yes", true }, { "YES", true },
		{ "on", true }, { "On", true }, { "ON", true }, { "true", true }, { "True", true },
		{ "n", false }, { "N", false }, { "no", false }, { "NO", false }, { "off", false },
		{ "OFF", false }, { "false", false }, { "FALSE", false },
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		char y[128];
		snprintf(y, sizeof(y), "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
			 "spec: {hostNetwork: %s}\n", bools[i].v);
		struct pw_cluster c;
		struct pw_diags d;
		pw_cluster_init(&c);
		pw_diags_init(&d);
		pw_cluster_load_buffer(&c, "t.yaml", (const unsigned char *)y, strlen(y), &d);
		T_CHECK(d.errors == 0 && c.npods == 1 && c.pods[0].host_network == bools[i].want,
			"hostNetwork: %s is %d", bools[i].v, bools[i].want);
		pw_diags_release(&d);
		pw_cluster_release(&c);
	}
	/* merge keys: explicit keys written after << win, those before lose
	   (go-yaml v2 assigns in order); in a list, earlier mappings win */
	{
		static const char y[] =
			"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n"
			"  annotations: {x: &a {app: a, tier: a, zone: a}, y: &b {app: b, role: b, zone: b}}\n"
			"  labels:\n    zone: z\n    <<: [*a, *b]\n    tier: t\n";
		struct pw_cluster c;
		struct pw_diags d;
		pw_cluster_init(&c);
		pw_diags_init(&d);
		pw_cluster_load_buffer(&c, "t.yaml", (const unsigned char *)y, strlen(y), &d);
		const char *app = c.npods ? pw_labels_get(&c.pods[0].labels, "app") : NULL;
		const char *tier = c.npods ? pw_labels_get(&c.pods[0].labels, "tier") : NULL;
		const char *role = c.npods ? pw_labels_get(&c.pods[0].labels, "role") : NULL;
		const char *zone = c.npods ? pw_labels_get(&c.pods[0].labels, "zone") : NULL;
		T_CHECK(d.errors == 0 && app && !strcmp(app, "a") && tier && !strcmp(tier, "t") &&
				role && !strcmp(role, "b") && zone && !strcmp(zone, "a"),
			"merge keys: app=%s tier=%s role=%s zone=%s", app, tier, role, zone);
		pw_diags_release(&d);
		pw_cluster_release(&c);
	}
	/* semantics the loader decides */
	static const char np[] =
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
		"spec:\n  podSelector: {}\n  egress: []\n";
	struct pw_cluster c;
	struct pw_diags d;
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_cluster_load_buffer(&c, "t.yaml", (const unsigned char *)np, strlen(np), &d);
	pw_cluster_finish(&c, &d);
	T_CHECK(c.npols == 1 && c.pols[0].types == PW_TYPE_INGRESS,
		"empty egress list leaves types [Ingress]");
	T_CHECK(c.nns == 1 && pw_labels_get(&c.nss[0].labels, "kubernetes.io/metadata.name") &&
			!strcmp(pw_labels_get(&c.nss[0].labels, "kubernetes.io/metadata.name"), "default"),
		"implicit namespace carries its name label");
	pw_diags_release(&d);
	pw_cluster_release(&c);
	/* a workload's replicas: spec.replicas, 1 when absent or not said */
	static const char wl[] =
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
		"spec:\n  replicas: 3\n  template:\n    metadata: {labels: {app: d}}\n---\n"
		"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\n"
		"spec:\n  template:\n    metadata: {labels: {app: s}}\n---\n"
		"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds}\n"
		"spec:\n  replicas: 5\n  template:\n    metadata: {labels: {app: ds}}\n";
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_cluster_load_buffer(&c, "t.yaml", (const unsigned char *)wl, strlen(wl), &d);
	pw_cluster_finish(&c, &d);
	T_CHECK(d.errors == 0 && c.nwls == 3, "workloads load");
	T_CHECK(c.nwls == 3 && c.wls[0].replicas == 3 && c.wls[1].replicas == 1 &&
			c.wls[2].replicas == 1,
		"replicas: Deployment 3, StatefulSet without 1, DaemonSet 1");
	T_CHECK(c.npods == 3, "one template pod per workload, whatever its replicas");
	pw_diags_release(&d);
	pw_cluster_release(&c);
	return T_DONE("unit-loader");
}
