// SPDX-License-Identifier: Apache-2.0
/*
 * Objects out of manifests (lib/objects.h) and the etcd key of each
 * (lib/etcd/etcd.h): one object per document, errors at their place in
 * the whole stream, kinds matched as `get` names them, Calico's layout.
 */
#include <stdlib.h>

#include "../../lib/etcd/etcd.h"
#include "../../lib/objects.h"
#include "t.h"

static const char stream[] =
	"apiVersion: v1\n"
	"kind: Namespace\n"
	"metadata: {name: shop}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: security.guard}\n"
	"spec: {tier: security, selector: all()}\n"
	"---\n"
	"apiVersion: networking.k8s.io/v1\n"
	"kind: NetworkPolicy\n"
	"metadata: {name: deny}\n"
	"spec: {podSelector: {}}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: PersistentVolumeClaim\n"
	"metadata: {name: ignored, namespace: shop}\n";

static const char bad[] =
	"apiVersion: v1\n"
	"kind: Namespace\n"
	"metadata: {name: ok}\n"
	"---\n"
	"apiVersion: networking.k8s.io/v1\n"
	"kind: NetworkPolicy\n"
	"metadata: {name: bad, namespace: shop}\n"
	"spec:\n"
	"  podSelector: {matchLabels: {app: [x]}}\n";

static const struct {
	const char *group, *kind, *ns, *name, *key;
} keys[] = {
	{ "projectcalico.org", "GlobalNetworkPolicy", "", "security.guard",
	  "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/security.guard" },
	{ "projectcalico.org", "NetworkPolicy", "shop", "web",
	  "/calico/resources/v3/projectcalico.org/networkpolicies/shop/web" },
	{ "projectcalico.org", "Tier", NULL, "security",
	  "/calico/resources/v3/projectcalico.org/tiers/security" },
	{ "", "Pod", "shop", "app", "/calico/resources/v3/core/pods/shop/app" },
	{ "", "Namespace", "", "shop", "/calico/resources/v3/core/namespaces/shop" },
	{ "", "Endpoints", "shop", "web", "/calico/resources/v3/core/endpoints/shop/web" },
	{ "networking.k8s.io", "Ingress", "shop", "in",
	  "/calico/resources/v3/networking.k8s.io/ingresses/shop/in" },
	{ "policy.networking.k8s.io", "AdminNetworkPolicy", "", "a",
	  "/calico/resources/v3/policy.networking.k8s.io/adminnetworkpolicies/a" },
	{ "discovery.k8s.io", "EndpointSlice", "shop", "web-1",
	  "/calico/resources/v3/discovery.k8s.io/endpointslices/shop/web-1" },
};

static const struct {
	const char *want, *kind, *group;
	bool match;
} kinds[] = {
	{ "GlobalNetworkPolicy", "GlobalNetworkPolicy", "projectcalico.org", true },
	{ "globalnetworkpolicies", "GlobalNetworkPolicy", "projectcalico.org", true },
	{ "networkpolicy.networking.k8s.io", "NetworkPolicy", "networking.k8s.io", true },
	{ "networkpolicy.networking.k8s.io", "NetworkPolicy", "projectcalico.org", false },
	{ "pods", "Pod", "", true },
	{ "ingresses", "Ingress", "networking.k8s.io", true },
	{ "endpoints", "Endpoints", "", true },
	{ "networksets", "GlobalNetworkSet", "projectcalico.org", false },
	{ NULL, "Pod", "", true },
};

int main(void)
{
	struct pw_objects o;
	struct pw_diags d;
	pw_objects_init(&o);
	pw_diags_init(&d);
	int rc = pw_objects_split(&o, "s.yaml", "shop", (const unsigned char *)stream,
				  strlen(stream), &d);
	T_CHECK(rc == 0 && d.errors == 0, "the stream splits without errors");
	T_CHECK(o.n == 3, "3 objects (the PersistentVolumeClaim left out), got %zu", o.n);
	if (o.n == 3) {
		T_CHECK(!strcmp(o.v[0].key, "/Namespace//shop"), "key %s", o.v[0].key);
		T_CHECK(!strcmp(o.v[1].group, "projectcalico.org") && !strcmp(o.v[1].ns, ""),
			"a cluster-scoped Calico kind: %s", o.v[1].key);
		T_CHECK(!strcmp(o.v[2].ns, "shop"), "-n: the namespace of one that gives none: %s",
			o.v[2].ns);
		const unsigned char *p;
		size_t len;
		pw_object_text(&o.v[2], &p, &len);
		T_CHECK(len > 10 && !memcmp(p, "apiVersion: networking.k8s.io/v1\n", 33),
			"the text of a document after ---");
		struct pw_doc *doc = pw_object_doc(&o.v[1]);
		T_CHECK(doc && doc->type == PW_DOC_OBJ && doc->n == 4, "as a tree");
		pw_doc_free(doc);
	}
	pw_objects_release(&o);

	pw_objects_init(&o);
	rc = pw_objects_split(&o, "bad.yaml", NULL, (const unsigned char *)bad, strlen(bad), &d);
	T_CHECK(rc < 0 && d.errors == 1, "an error: rc %d, %zu errors", rc, d.errors);
	T_CHECK(d.n && d.v[d.n - 1].pos.line == 9,
		"its line in the whole stream: %d", d.n ? d.v[d.n - 1].pos.line : 0);
	T_CHECK(o.n == 1, "the good document is still there: %zu", o.n);
	pw_objects_release(&o);
	pw_diags_release(&d);

	for (size_t i = 0; i < PW_ARRAY_SIZE(keys); i++) {
		struct pw_buf b;
		pw_buf_init(&b);
		pw_etcd_object_key(keys[i].group, keys[i].kind, keys[i].ns, keys[i].name, &b);
		T_CHECK(!strcmp(b.s, keys[i].key), "%s: %s", keys[i].key, b.s);
		pw_buf_release(&b);
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(kinds); i++)
		T_CHECK(pw_kind_matches(kinds[i].want, kinds[i].kind, kinds[i].group) ==
				kinds[i].match,
			"%s names %s.%s: %d", kinds[i].want ? kinds[i].want : "(all)",
			kinds[i].kind, kinds[i].group, kinds[i].match);
	return T_DONE("unit-objects");
}
