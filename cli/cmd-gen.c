// SPDX-License-Identifier: Apache-2.0
/*
 * podwall gen: a deterministic synthetic cluster, as YAML, for benchmarks
 * and differential tests.  Its shape follows real clusters: namespaces of
 * deployments whose replicas share labels and a named port, a default deny
 * per namespace, allow rules by pod and namespace selectors, ipBlocks and
 * named ports; with --calico also tiers, global policies that Pass, and
 * global network sets.  The same arguments always give the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char gen_usage[] =
	"usage: podwall gen --pods N --policies M [--namespaces K] [--seed S] [--calico] [--nets]\n"
	"                  [--services]\n"
	"\n"
	"Print a deterministic synthetic cluster as multi-document YAML: K\n"
	"namespaces (default N/200, at least 1) of deployments of 2 to 8 replicas\n"
	"(Pods with ownerReferences, labels app/tier/version and a named port),\n"
	"a default-deny policy per namespace and allow policies by pod and\n"
	"namespace selectors, ipBlocks and named ports, M policies in all.\n"
	"--calico adds tiers, GlobalNetworkPolicies with Pass and Deny, and\n"
	"GlobalNetworkSets, counted in M.  --nets (with --calico) adds a\n"
	"NetworkSet per namespace and Calico policies with nets, notNets and\n"
	"network-set selectors; without it, the clusters are as before.\n"
	"--services adds a ClusterIP Service per deployment (port 80 to its\n"
	"named port) and, for every fourth, a headless one.\n";

/* xorshift64*: small, fast, the same everywhere */
static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % (n ? n : 1);
}

static const char *const tiers[] = { "web", "api", "db", "cache", "worker" };
static const char *const teams[] = { "payments", "search", "checkout", "identity",
				     "platform", "data", "mobile", "ads" };

struct deployment {
	uint32_t ns, app, tier, replicas, port;
};

int cmd_gen(int argc, char **argv)
{
	long pods = -1, policies = -1, nss = -1, seed = 1;
	bool calico = false, nets = false, services = false;
	for (int i = 1; i < argc; i++) {
		int err = 0;
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(gen_usage, stdout);
			return 0;
		}
		if ((v = cli_optval(argc, argv, &i, NULL, "--pods", &err)))
			pods = atol(v);
		else if ((v = cli_optval(argc, argv, &i, NULL, "--policies", &err)))
			policies = atol(v);
		else if ((v = cli_optval(argc, argv, &i, NULL, "--namespaces", &err)))
			nss = atol(v);
		else if ((v = cli_optval(argc, argv, &i, NULL, "--seed", &err)))
			seed = atol(v);
		else if (!strcmp(argv[i], "--calico"))
			calico = true;
		else if (!strcmp(argv[i], "--nets"))
			nets = calico = true;
		else if (!strcmp(argv[i], "--services"))
			services = true;
		else {
			if (!err)
				cli_error("gen: unknown option %s", cli_q(argv[i]));
			fputs(gen_usage, stderr);
			return EXIT_USAGE;
		}
		if (err)
			return EXIT_USAGE;
	}
	if (pods < 1 || pods > 10000000 || policies < 0 || policies > 10000000) {
		cli_error("gen: need --pods 1..10000000 and --policies 0..10000000");
		return EXIT_USAGE;
	}
	if (nss < 1)
		nss = pods / 200 > 1 ? pods / 200 : 1;
	rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)seed * 0xbf58476d1ce4e5b9ULL;
	if (!rng_state)
		rng_state = 1;
	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));

	for (long n = 0; n < nss; n++)
		printf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-%04ld\n"
		       "  labels: {team: %s, env: %s}\n---\n",
		       n, teams[n % 8], n % 3 ? "prod" : "dev");
	for (long n = 0; nets && n < nss; n++)
		printf("apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata:\n"
		       "  name: partners\n  namespace: ns-%04ld\n  labels: {role: partner}\n"
		       "spec:\n  nets: [203.0.113.%ld/28, 192.0.2.%ld/30]\n---\n",
		       n, (n * 16) % 256, (n * 4) % 256);
	/* deployments, each replica a Pod owned by its ReplicaSet */
	struct deployment *dv = NULL;
	size_t nd = 0, cap = 0;
	long made = 0;
	while (made < pods) {
		if (nd == cap) {
			cap = cap ? cap * 2 : 64;
			dv = pw_xrealloc(dv, cap * sizeof(*dv));
		}
		struct deployment *d = &dv[nd];
		d->ns = (uint32_t)(nd % (size_t)nss);
		d->app = (uint32_t)nd;
		d->tier = rnd(5);
		d->replicas = 2 + rnd(7);
		if (made + d->replicas > pods)
			d->replicas = (uint32_t)(pods - made);
		d->port = 8000 + rnd(100);
		for (uint32_t r = 0; r < d->replicas; r++, made++) {
			uint32_t ip = 0x0a000000u + (uint32_t)made + 1; /* 10.0.0.0/8 */
			printf("apiVersion: v1\nkind: Pod\nmetadata:\n"
			       "  name: app-%zu-%u\n  namespace: ns-%04u\n"
			       "  labels: {app: app-%zu, tier: %s, version: v%u}\n"
			       "  ownerReferences:\n  - {apiVersion: apps/v1, kind: ReplicaSet, name: app-%zu-rs, controller: true}\n"
			       "spec:\n  serviceAccountName: sa-%zu\n  containers:\n  - name: main\n"
			       "    ports:\n    - {name: http, containerPort: %u}\n"
			       "status:\n  podIP: %u.%u.%u.%u\n---\n",
			       nd, r, d->ns, nd, tiers[d->tier], 1 + rnd(2), nd, nd % 16,
			       d->port, ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
		}
		char vip[32];
		snprintf(vip, sizeof(vip), "10.96.%zu.%zu", nd / 250, nd % 250 + 1);
		if (services) /* draws nothing from the generator */
			printf("apiVersion: v1\nkind: Service\nmetadata:\n"
			       "  name: app-%zu\n  namespace: ns-%04u\nspec:\n"
			       "  selector: {app: app-%zu}\n  clusterIP: %s\n"
			       "  ports:\n  - {name: web, port: 80, targetPort: http}\n---\n",
			       nd, d->ns, nd,
			       nd % 4 == 3 ? "None" : vip);
		nd++;
	}
	/* policies: default deny per namespace, then allows */
	long emitted = 0;
	if (calico && policies > 0) {
		printf("apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\n"
		       "spec: {order: 100}\n---\n"
		       "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: platform}\n"
		       "spec: {order: 200, defaultAction: Pass}\n---\n"
		       "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\n"
		       "metadata: {name: blocked, labels: {type: blocked}}\n"
		       "spec:\n  nets: [198.51.100.0/24, 203.0.113.128/25]\n---\n");
	}
	for (long n = 0; n < nss && emitted < policies; n++, emitted++)
		printf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
		       "  name: default-deny\n  namespace: ns-%04ld\n"
		       "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"
		       "  egress:\n  - to:\n    - namespaceSelector:\n"
		       "        matchLabels: {kubernetes.io/metadata.name: kube-system}\n"
		       "    ports:\n    - {protocol: UDP, port: 53}\n---\n",
		       n);
	for (long k = 0; emitted < policies; k++, emitted++) {
		const struct deployment *d = &dv[rnd((uint32_t)nd)];
		const struct deployment *from = &dv[rnd((uint32_t)nd)];
		uint32_t kind = nets ? rnd(13) : calico ? rnd(10) : rnd(8);
		switch (kind) {
		case 0: case 1: case 2: /* same namespace, by tier, named port */
			printf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
			       "  name: allow-%ld\n  namespace: ns-%04u\nspec:\n"
			       "  podSelector:\n    matchLabels: {app: app-%u}\n"
			       "  ingress:\n  - from:\n    - podSelector:\n"
			       "        matchLabels: {tier: %s}\n    ports:\n    - port: http\n---\n",
			       k, d->ns, d->app, tiers[from->tier]);
			break;
		case 3: case 4: /* other namespaces by label, numeric port */
			printf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
			       "  name: allow-%ld\n  namespace: ns-%04u\nspec:\n"
			       "  podSelector:\n    matchLabels: {tier: %s}\n"
			       "  ingress:\n  - from:\n    - namespaceSelector:\n"
			       "        matchLabels: {team: %s}\n      podSelector:\n"
			       "        matchExpressions:\n        - {key: tier, operator: In, values: [%s, %s]}\n"
			       "    ports:\n    - {protocol: TCP, port: %u}\n---\n",
			       k, d->ns, tiers[d->tier], teams[rnd(8)], tiers[rnd(5)],
			       tiers[rnd(5)], d->port);
			break;
		case 5: /* egress to an app and to an ipBlock */
			printf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
			       "  name: allow-%ld\n  namespace: ns-%04u\nspec:\n"
			       "  podSelector:\n    matchLabels: {app: app-%u}\n"
			       "  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {}\n"
			       "      podSelector:\n        matchLabels: {app: app-%u}\n"
			       "    ports:\n    - {protocol: TCP, port: %u}\n"
			       "  - to:\n    - ipBlock:\n        cidr: 192.0.2.0/24\n"
			       "        except: [192.0.2.%u/32]\n---\n",
			       k, d->ns, d->app, from->app, from->port, rnd(256));
			break;
		case 6: /* ingress from an ipBlock, port range */
			printf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
			       "  name: allow-%ld\n  namespace: ns-%04u\nspec:\n"
			       "  podSelector:\n    matchLabels: {app: app-%u}\n"
			       "  ingress:\n  - from:\n    - ipBlock: {cidr: 10.%u.0.0/16}\n"
			       "    ports:\n    - {protocol: TCP, port: %u, endPort: %u}\n---\n",
			       k, d->ns, d->app, rnd(4), 8000 + rnd(50), 8050 + rnd(50));
			break;
		case 7: /* a whole namespace open to the monitoring team */
			printf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
			       "  name: allow-%ld\n  namespace: ns-%04u\nspec:\n"
			       "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector:\n"
			       "        matchLabels: {team: %s, env: prod}\n    ports:\n"
			       "    - {protocol: TCP, port: 9090}\n---\n",
			       k, d->ns, teams[rnd(8)]);
			break;
		case 8: /* a security-tier deny of the blocked set, then Pass */
			printf("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
			       "metadata: {name: security.block-%ld}\nspec:\n  tier: security\n"
			       "  order: %u\n  selector: tier == '%s'\n  types: [Ingress, Egress]\n"
			       "  ingress:\n  - action: Deny\n    source:\n      selector: type == 'blocked'\n"
			       "  - action: Pass\n  egress:\n  - action: Deny\n    destination:\n"
			       "      selector: type == 'blocked'\n  - action: Pass\n---\n",
			       k, rnd(1000), tiers[rnd(5)]);
			break;
		case 10: /* nets and notNets in the default tier */
			printf("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
			       "metadata: {name: nets-%ld, namespace: ns-%04u}\nspec:\n"
			       "  selector: app == 'app-%u'\n  types: [Ingress]\n"
			       "  ingress:\n  - action: Deny\n    source:\n      nets: [198.51.100.%u/29]\n"
			       "  - action: Allow\n    protocol: TCP\n    source:\n"
			       "      notNets: [10.0.0.0/8, 198.51.100.%u/27]\n"
			       "    destination:\n      ports: [%u, '8000:%u']\n---\n",
			       k, d->ns, d->app, rnd(32) * 8, rnd(8) * 32, d->port,
			       8000 + rnd(100));
			break;
		case 11: /* egress to the namespace's network set */
			printf("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
			       "metadata: {name: partners-%ld, namespace: ns-%04u}\nspec:\n"
			       "  selector: app == 'app-%u'\n  types: [Egress]\n"
			       "  egress:\n  - action: Allow\n    protocol: %s\n"
			       "    destination:\n      selector: role == 'partner'\n"
			       "      ports: [443, %u]\n  - action: Deny\n    destination:\n"
			       "      nets: [203.0.113.%u/32]\n---\n",
			       k, d->ns, d->app, rnd(2) ? "TCP" : "UDP", 8000 + rnd(100),
			       rnd(256));
			break;
		case 12: /* a global policy with nets that Pass */
			printf("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n"
			       "metadata: {name: security.nets-%ld}\nspec:\n  tier: security\n"
			       "  order: %u\n  selector: tier == '%s'\n  types: [Egress]\n"
			       "  egress:\n  - action: Deny\n    destination:\n"
			       "      nets: [192.0.2.%u/28]\n      notNets: [192.0.2.%u/30]\n"
			       "  - action: Pass\n---\n",
			       k, rnd(1000), tiers[rnd(5)], rnd(16) * 16, rnd(64) * 4);
			break;
		default: /* a platform-tier allow between teams, order by k */
			printf("apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
			       "metadata: {name: platform.allow-%ld, namespace: ns-%04u}\nspec:\n"
			       "  tier: platform\n  order: %u\n  selector: app == 'app-%u'\n"
			       "  ingress:\n  - action: Allow\n    protocol: TCP\n    source:\n"
			       "      namespaceSelector: team == '%s'\n      selector: tier in {'%s', '%s'}\n"
			       "    destination:\n      ports: [%u]\n---\n",
			       k, d->ns, rnd(1000), d->app, teams[rnd(8)], tiers[rnd(5)],
			       tiers[rnd(5)], d->port);
			break;
		}
	}
	free(dv);
	fflush(stdout);
	return 0;
}
