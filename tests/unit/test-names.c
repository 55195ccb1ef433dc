// SPDX-License-Identifier: Apache-2.0
/*
 * pw_engine_name_dependent: could a DNS name for an outside destination
 * change the verdict?  (The lab counts such probes as untested.)  One pod,
 * shop/app, egress-isolated by Calico policies in two tiers; each case asks
 * one connection to an address.
 */
#include <stdlib.h>

#include "../../lib/engine.h"
#include "t.h"

static const char cluster[] =
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata: {name: app, namespace: shop, labels: {app: shop}}\n"
	"status: {podIP: 10.61.0.1}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata: {name: db, namespace: shop, labels: {app: db}}\n"
	"status: {podIP: 10.61.0.2}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: Tier\n"
	"metadata: {name: security}\n"
	"spec: {order: 100}\n"
	"---\n"
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkSet\n"
	"metadata: {name: sms, labels: {kind: sms}}\n"
	"spec:\n"
	"  nets: [192.0.2.128/25]\n"
	"  allowedEgressDomains: [sms.example.net]\n"
	"---\n"
	/* security tier: deny a domain, pass 203.0.113.0/26 on, Allow the set */
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: security.guard}\n"
	"spec:\n"
	"  tier: security\n"
	"  order: 1\n"
	"  selector: app == 'shop'\n"
	"  types: [Egress]\n"
	"  egress:\n"
	"  - action: Deny\n"
	"    protocol: TCP\n"
	"    destination: {domains: ['*.bad.example'], ports: [443]}\n"
	"  - action: Pass\n"
	"    destination: {nets: [203.0.113.0/26]}\n"
	"  - action: Allow\n"
	"    destination: {selector: kind == 'sms'}\n"
	"  - action: Pass\n"
	"    destination: {domains: [api.example.com]}\n"
	"---\n"
	/* default tier: a domain on 80, then allow 203.0.113.0/28, then deny */
	"apiVersion: projectcalico.org/v3\n"
	"kind: GlobalNetworkPolicy\n"
	"metadata: {name: egress}\n"
	"spec:\n"
	"  order: 10\n"
	"  selector: app == 'shop'\n"
	"  types: [Egress]\n"
	"  egress:\n"
	"  - action: Allow\n"
	"    protocol: TCP\n"
	"    destination: {domains: ['*.example.com'], ports: [80]}\n"
	"  - action: Allow\n"
	"    destination: {nets: [203.0.113.0/28]}\n";

static const struct {
	const char *src, *dst; /* a pod name, or an address */
	int port;	       /* TCP */
	int dependent;
	const char *why;
} cases[] = {
	/* 203.0.113.0/26 passes the security tier to the default tier */
	{ "app", "203.0.113.20", 80, 1, "a domain Allow, else the tier's end denies" },
	{ "app", "203.0.113.20", 81, 0, "the domain rule is for port 80 only" },
	{ "app", "203.0.113.10", 80, 0, "a domain Allow, else the next rule allows" },
	/* outside 203.0.113.0/26 the security tier ends in Deny */
	{ "app", "198.51.100.10", 443, 1, "a domain Deny; the set's domain Allow" },
	{ "app", "198.51.100.10", 80, 1, "the set's domain Allow; a domain Pass" },
	{ "app", "192.0.2.130", 80, 0, "in the set's nets: allowed, names aside" },
	{ "app", "192.0.2.130", 443, 1, "a domain Deny before the set's Allow" },
	/* pods, and sources without policies, never depend on names */
	{ "app", "db", 80, 0, "a pod destination" },
	{ "db", "203.0.113.20", 80, 0, "an unisolated source" },
};

int main(void)
{
	struct pw_cluster c;
	struct pw_diags d;
	struct pw_engine e;
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_cluster_load_buffer(&c, "t.yaml", (const unsigned char *)cluster,
			       strlen(cluster), &d);
	pw_cluster_finish(&c, &d);
	T_CHECK(d.errors == 0, "cluster loads (%zu errors)", d.errors);
	if (pw_engine_build(&e, &c, 0) < 0) {
		T_CHECK(0, "engine builds");
		return T_DONE("unit-names");
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(cases); i++) {
		struct pw_ep ep[2];
		const char *end[2] = { cases[i].src, cases[i].dst };
		for (int k = 0; k < 2; k++) {
			struct pw_addr a;
			if (pw_addr_parse(end[k], &a) == 0) {
				ep[k] = pw_ep_addr(&a);
				continue;
			}
			for (uint32_t p = 0; p < c.npods; p++)
				if (!strcmp(c.pods[p].name, end[k]))
					ep[k] = pw_ep_pod(&c, p);
		}
		struct pw_query q = pw_query_port(PW_TCP, cases[i].port);
		int got = pw_engine_name_dependent(&e, &ep[0], &ep[1], &q);
		T_CHECK(got == cases[i].dependent, "%s -> %s TCP/%d: %d (%s)", cases[i].src,
			cases[i].dst, cases[i].port, got, cases[i].why);
	}
	pw_engine_release(&e);
	pw_diags_release(&d);
	pw_cluster_release(&c);
	return T_DONE("unit-names");
}
