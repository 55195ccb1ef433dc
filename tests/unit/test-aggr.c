// SPDX-License-Identifier: Apache-2.0
/* Reports into records (lib/flow/aggr.h): the ends named against the
   cluster, the aggregation levels, num_flows and the counts, rule ids read
   back (and unattributed when unknown), the bound on an interval. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/flow/aggr.h"
#include "../../lib/world.h"
#include "t.h"

static const char cluster[] =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-5d9f-a\n  namespace: shop\n"
	"  labels: {app: web}\n  ownerReferences:\n"
	"  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9f, controller: true}\n"
	"status: {podIP: 10.1.0.1}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-5d9f-b\n  namespace: shop\n"
	"  labels: {app: web}\n  ownerReferences:\n"
	"  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9f, controller: true}\n"
	"status: {podIP: 10.1.0.2}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop, labels: {app: api, tier: be}}\n"
	"status: {podIP: 10.1.0.3}\n---\n"
	"apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: other, labels: {app: client}}\n"
	"status: {podIP: 10.2.0.1}\n---\n"
	"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\n"
	"metadata: {name: blocked, labels: {type: blocked}}\n"
	"spec: {nets: [198.51.100.0/24]}\n";

static struct pw_addr ip(const char *s)
{
	struct pw_addr a;
	if (pw_addr_parse(s, &a) < 0)
		abort();
	return a;
}

static struct pw_flow_ev conn(enum pw_flow_ev_kind k, const char *src, const char *dst,
			      int sport, int dport, uint32_t ct, uint16_t eg, uint16_t in)
{
	struct pw_flow_ev e = { .kind = k, .time = 1000, .proto = 6 };
	e.src = ip(src);
	e.dst = e.to = ip(dst);
	e.sport = sport;
	e.dport = e.to_port = dport;
	e.ct_id = ct;
	e.eg_id = eg;
	e.in_id = in;
	if (k == PW_FEV_END) {
		e.packets[0] = 5, e.packets[1] = 4;
		e.bytes[0] = 500, e.bytes[1] = 4000;
	}
	return e;
}

static struct pw_flow_ev deny(const char *src, const char *dst, int sport, enum pw_dir d,
			      uint16_t id)
{
	struct pw_flow_ev e = conn(PW_FEV_DENY, src, dst, sport, 443, 0, 0, 0);
	e.dir = d;
	e.id = id;
	e.packets[0] = 1;
	e.bytes[0] = 60;
	return e;
}

static const struct pw_flow *find(const struct pw_flow *v, size_t n, int reporter,
				  const char *src_aggr, const char *dst_aggr, int action)
{
	for (size_t i = 0; i < n; i++)
		if ((int)v[i].reporter == reporter && (int)v[i].action == action &&
		    !strcmp(v[i].src.name_aggr, src_aggr) && !strcmp(v[i].dst.name_aggr, dst_aggr))
			return &v[i];
	return NULL;
}

int main(void)
{
	struct pw_cluster c;
	struct pw_diags d;
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_cluster_load_buffer(&c, "t.yaml", (const unsigned char *)cluster, strlen(cluster), &d);
	pw_cluster_finish(&c, &d);
	T_CHECK(!d.errors, "the cluster loads");
	struct pw_engine e;
	T_CHECK(pw_engine_build(&e, &c, 0) == 0, "the engine builds");
	/* the web pods' workload, as the cluster names it */
	char web_aggr[PW_FLOW_NAME] = "?";
	for (uint32_t g = 0; g < c.ngroups; g++)
		if (strcmp(c.groups[g].kind, "Pod") && c.groups[g].npods == 2)
			snprintf(web_aggr, sizeof(web_aggr), "%s-*", c.groups[g].name);
	struct pw_flow_ids *ids = pw_flow_ids_new(NULL, NULL);
	uint16_t eg = pw_flow_ids_get(ids, PW_EGRESS, "__PROFILE__|kns.other|-|allow");
	uint16_t in = pw_flow_ids_get(ids, PW_INGRESS, "default|shop/knp.default.web|0|allow");
	uint16_t dn = pw_flow_ids_get(ids, PW_INGRESS, "security|security.block|0|deny");

	for (int level = PW_FLOW_PER_POD; level <= PW_FLOW_PER_NS; level++) {
		struct pw_flow_aggr *a = pw_flow_aggr_new((enum pw_flow_level)level, 15);
		const struct pw_flow_ev evs[] = {
			conn(PW_FEV_NEW, "10.2.0.1", "10.1.0.1", 40001, 80, 1, eg, in),
			conn(PW_FEV_NEW, "10.2.0.1", "10.1.0.2", 40002, 80, 2, eg, in),
			conn(PW_FEV_END, "10.2.0.1", "10.1.0.1", 40001, 80, 1, eg, in),
			deny("198.51.100.7", "10.1.0.3", 5000, PW_INGRESS, dn),
			deny("198.51.100.7", "10.1.0.3", 5000, PW_INGRESS, dn), /* a retry */
			deny("198.51.100.8", "10.1.0.3", 5001, PW_INGRESS, dn),
			deny("203.0.113.9", "10.1.0.3", 5002, PW_INGRESS, dn),
			deny("203.0.113.9", "10.1.0.3", 5003, PW_INGRESS, 999), /* unknown id */
		};
		for (size_t i = 0; i < PW_ARRAY_SIZE(evs); i++)
			pw_flow_aggr_add(a, &e, NULL, ids, &evs[i]);
		const struct pw_flow *v;
		T_CHECK(pw_flow_aggr_flush(a, 1001, false, &v) == 0, "level %d: not due yet", level);
		size_t n = pw_flow_aggr_flush(a, 1015, false, &v);
		const char *web_a = level == PW_FLOW_PER_POD ? web_aggr : level == PW_FLOW_PER_WORKLOAD
									       ? web_aggr : "-";
		const char *cl = level == PW_FLOW_PER_NS ? "-" : "client";
		/* allowed: at both reporters; per pod one record per web pod */
		size_t want = level == PW_FLOW_PER_POD ? 2 * 2 + 2 + 1 + 1 : 2 + 1 + 1 + 1;
		T_CHECK(n == want, "level %d: %zu records, want %zu", level, n, want);
		const struct pw_flow *s = find(v, n, PW_FLOW_SRC, cl, web_a, PW_FLOW_ALLOW);
		const struct pw_flow *t = find(v, n, PW_FLOW_DST, cl, web_a, PW_FLOW_ALLOW);
		T_CHECK(s && t, "level %d: the allowed records at both reporters", level);
		if (s && t) {
			T_CHECK(!strcmp(s->policies, "__PROFILE__|kns.other|-|allow") &&
					!strcmp(t->policies, "default|shop/knp.default.web|0|allow"),
				"level %d: each reporter names its step: %s / %s", level,
				s->policies, t->policies);
			T_CHECK(!strcmp(s->pending, s->policies), "no staged policies: pending = policies");
			if (level == PW_FLOW_PER_POD) {
				T_CHECK(!strcmp(s->dst.name, "web-5d9f-a") || !strcmp(s->dst.name, "web-5d9f-b"),
					"per pod: the pod's name (%s)", s->dst.name);
				T_CHECK(!strcmp(s->src.ip, "10.2.0.1") && s->src.port == -1 &&
						s->dst.port == 80,
					"per pod: addresses kept, the source port aggregated away");
				T_CHECK(!strcmp(s->src.labels, "app=client") && !strcmp(s->dst.ns, "shop"),
					"labels and namespace");
			} else {
				T_CHECK(!strcmp(s->dst.name, "-") && !s->dst.ip[0] && !s->src.ip[0],
					"level %d: names and addresses aggregated away", level);
				T_CHECK(s->num_flows == 2 && s->num_flows_started == 2 &&
						s->num_flows_completed == 1,
					"level %d: 2 connections, 2 started, 1 completed (%llu %llu %llu)",
					level, (unsigned long long)s->num_flows,
					(unsigned long long)s->num_flows_started,
					(unsigned long long)s->num_flows_completed);
				/* in and out from the reporter's endpoint */
				T_CHECK(s->packets_out == 5 && s->packets_in == 4 && t->packets_in == 5 &&
						t->bytes_out == 4000,
					"level %d: packets and bytes by reporter", level);
			}
		}
		/* denied from a network set's addresses: one record per source
		   address (pod level), num_flows by distinct 5-tuples */
		const struct pw_flow *b = find(v, n, PW_FLOW_DST, "blocked",
					       level == PW_FLOW_PER_NS ? "-" : "api", PW_FLOW_DENY);
		T_CHECK(b && !strcmp(b->src.type, "ns") && !strcmp(b->src.name, "blocked") &&
				!strcmp(b->policies, "security|security.block|0|deny"),
			"level %d: the network set names the source", level);
		if (b && level == PW_FLOW_PER_POD)
			T_CHECK(b->num_flows == 1 && b->packets_in == 2,
				"a retried SYN is one flow of two packets (%llu, %llu)",
				(unsigned long long)b->num_flows, (unsigned long long)b->packets_in);
		const struct pw_flow *p = find(v, n, PW_FLOW_DST, "pub",
					       level == PW_FLOW_PER_NS ? "-" : "api", PW_FLOW_DENY);
		T_CHECK(p && !strcmp(p->src.type, "net"), "level %d: another address is pub", level);
		bool unattributed = false;
		for (size_t i = 0; i < n; i++)
			unattributed |= !strcmp(v[i].policies, "unattributed|-|-|deny");
		T_CHECK(unattributed, "level %d: an unknown id is unattributed", level);
		struct pw_flow_aggr_stats st;
		pw_flow_aggr_stats(a, &st);
		T_CHECK(st.unattributed == 1 && st.denied == 5 && st.started == 2 && st.completed == 1,
			"level %d: stats", level);
		pw_flow_aggr_free(a);
	}
	/* an interval holds at most PW_FLOW_AGGR_MAX records: then it is due */
	struct pw_flow_aggr *a = pw_flow_aggr_new(PW_FLOW_PER_POD, 15);
	for (int i = 0; i < PW_FLOW_AGGR_MAX; i++) {
		struct pw_flow_ev x = deny("203.0.113.9", "10.1.0.3", 6000, PW_INGRESS, dn);
		x.dport = x.to_port = 1 + i;
		pw_flow_aggr_add(a, &e, NULL, ids, &x);
	}
	T_CHECK(pw_flow_aggr_due_in(a, 1000) == 0, "a full interval is due at once");
	const struct pw_flow *v;
	T_CHECK(pw_flow_aggr_flush(a, 1000, false, &v) == PW_FLOW_AGGR_MAX, "and flushes whole");
	pw_flow_aggr_free(a);
	pw_flow_ids_free(ids);
	pw_engine_release(&e);
	pw_cluster_release(&c);
	pw_diags_release(&d);
	return T_DONE("aggr");
}
