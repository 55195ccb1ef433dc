/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy engine: the one place that decides whether a connection is
 * allowed.  Everything else (eval, matrix, connlist, diff, lint, later the
 * dataplanes) asks it.
 *
 * Every kind of policy is compiled into one model, Calico's: ordered tiers
 * of ordered policies of ordered rules.
 *
 *   tier                        order        default action
 *   adminnetworkpolicy          1,000        Pass   (AdminNetworkPolicy,
 *                                                    ClusterNetworkPolicy Admin;
 *                                                    priority = order)
 *   user tiers (Tier objects)   their order  their defaultAction (Deny)
 *   default                     1,000,000    Deny   (Kubernetes NetworkPolicy
 *                                                    as knp.default.<name>,
 *                                                    order 1000; Calico
 *                                                    policies without a tier)
 *   baselineadminnetworkpolicy  10,000,000   Pass   (BaselineAdminNetworkPolicy,
 *                                                    ClusterNetworkPolicy Baseline)
 *
 * Precedence, for one direction of one connection (ingress is decided at
 * the destination, egress at the source):
 *  0. A pod can always reach itself.  An address outside the cluster, and a
 *     hostNetwork pod (unless PW_ENGINE_HOSTNET_AS_PODS), is governed by no
 *     policy: its side allows everything.
 *  1. Tiers are visited by order (ties by name).  A tier in which no policy
 *     applies to the endpoint (selector matches and types include the
 *     direction) is skipped.
 *  2. In a tier, the applicable policies by order (no order: after all
 *     ordered ones; ties by name), their rules in order.  The first rule
 *     that matches with Allow or Deny decides; Pass leaves the tier for the
 *     next one; Log is recorded and evaluation goes on.
 *  3. A tier that applied but matched nothing ends in its default action:
 *     Deny decides, Pass goes on to the next tier.
 *  4. After the last tier, the pod's namespace profile allows.
 *  5. A connection is allowed iff both directions allow it.
 * With only Kubernetes NetworkPolicies this is exactly the Kubernetes
 * semantics: isolated iff some policy applies; then allowed iff some rule
 * allows.
 *
 * Pods sharing namespace, labels, service account, named ports and
 * hostNetwork share an identity.  Every distinct selector part (by its
 * canonical text) is evaluated once, over candidates from a per-namespace
 * label index, into a set of identities shared by every rule that uses it.
 * One policy or one pod's labels can be changed in place
 * (pw_engine_update_policy, pw_engine_update_pod).
 *
 * This is the reference: one connection at a time, with its explanation.
 * lib/reach.h keeps every verdict of the cluster at once, built from it,
 * and tests/differential/ checks that the two agree.
 */
#ifndef PW_ENGINE_H
#define PW_ENGINE_H

#include "model.h"

/* ipBlocks (and AdminNetworkPolicy networks) match only addresses outside
   the cluster (netpol-analyzer's and Cilium's reading). */
#define PW_ENGINE_IPBLOCK_EXCLUDES_PODS 1u
/* Treat hostNetwork pods like any other pod (netpol-analyzer's reading). */
#define PW_ENGINE_HOSTNET_AS_PODS 2u
/* Enforce the staged policies: Set adds or replaces the policy of the same
   name, Delete removes it.  Without it staged policies are ignored. */
#define PW_ENGINE_STAGED 4u

/*
 * Which identities a selector part matches, kept so that an identity that
 * appears later (a relabelled pod) is evaluated the same way.  Kinds:
 *   K8S    Kubernetes peer or subject: ns_sel (NULL: namespace ns, or any
 *          when ns < 0) and pod_sel (NULL: any), governed pods only
 *   CSIDE  Calico EntityRule cs in a policy of namespace ns (-1: global)
 *   CNOT   Calico notSelector of cs, unscoped
 *   CPOL   Calico policy subject: ns, csel, cns_sel, csa_sel
 *   NONE   matches nothing (AdminNetworkPolicy nodes)
 */
enum pw_gsel_kind { PW_GS_UNSET, PW_GS_K8S, PW_GS_CSIDE, PW_GS_CNOT,
		    PW_GS_CPOL, PW_GS_NONE };
struct pw_gsel {
	enum pw_gsel_kind kind;
	int ns;
	const struct pw_lsel *ns_sel, *pod_sel;
	const struct pw_cside *cs;
	const struct pw_csel *csel, *cns_sel, *csa_sel;
};

/* A set of identities: a sorted list when small, else a bitset of
   e->nwords words. */
struct pw_idset {
	uint64_t *bits; /* NULL: the list */
	uint32_t *v;
	uint32_t n;
	size_t cap;
};
bool pw_idset_has(const struct pw_idset *s, uint32_t id);
struct pw_engine;
bool pw_idset_empty(const struct pw_engine *e, const struct pw_idset *s);
/* a is a subset of b */
bool pw_idset_subset(const struct pw_engine *e, const struct pw_idset *a,
		     const struct pw_idset *b);

/* One side of a compiled rule.  See side_match() in engine.c. */
struct pw_gside {
	struct pw_cidr *nets, *not_nets;
	uint32_t nnets, nnot_nets;
	bool nets_pods;	 /* nets may match pods' addresses */
	bool pods_only;	 /* addresses outside the cluster never match */
	struct pw_idset *ids; /* selector part: pods it matches; NULL = none given
				 (how: e->sels, by the part's key) */
	struct pw_cidr *set_nets; /* ... and addresses of the network sets */
	uint32_t nset_nets;
	const char **set_domains;
	uint32_t nset_domains;
	struct pw_idset *not_ids; /* notSelector: pods; NULL = none given */
	struct pw_cidr *not_set_nets;
	uint32_t nnot_set_nets;
	const char **domains; /* destination domains */
	uint32_t ndomains;
	struct pw_np_port *ports, *not_ports; /* destination ports */
	uint32_t nports, nnot_ports;
};

struct pw_grule {
	enum pw_action action;
	int proto, not_proto; /* IP protocol numbers, PW_ANY */
	int icmp_type, icmp_code, not_icmp_type, not_icmp_code;
	int ip_version;
	struct pw_gside src, dst;
	uint32_t index; /* rule index in its source policy */
	int peer;	/* peer index (NetworkPolicy, AdminNetworkPolicy) or -1 */
	uint32_t uid;	/* unique in the engine, new for every compilation */
	struct pw_pos pos;
};

enum pw_gsrc { PW_SRC_K8S, PW_SRC_CALICO, PW_SRC_ADMIN };

struct pw_gpolicy {
	const char *name;    /* sort key within the tier (Calico's name) */
	const char *display; /* "NetworkPolicy ns/name", ... */
	enum pw_gsrc src;
	uint32_t src_index; /* index in the cluster's list of that kind */
	uint32_t tier;
	bool has_order;
	double order;
	unsigned types;
	struct pw_idset *ids; /* endpoints it applies to */
	struct pw_gsel subj; /* how ids was computed */
	uint32_t gen;	/* bumped whenever the slot is recompiled */
	struct pw_grule *rules[2];
	uint32_t nrules[2];
	struct pw_pos pos;
};

struct pw_gtier {
	const char *name;
	double order;
	enum pw_action default_action;
};

struct pw_identity {
	uint32_t pod; /* a pod it was first seen on */
	struct pw_pod snap; /* that pod as it was then (what selectors see) */
	uint32_t ns;
	uint32_t *pols[2]; /* applicable policies, in evaluation order */
	uint32_t npols[2];
};

struct pw_gselset {
	struct pw_gsel g;
	struct pw_idset *set;
};

struct pw_idvec {
	uint32_t *v;
	uint32_t n;
	size_t cap;
};

struct pw_engine {
	const struct pw_cluster *c;
	unsigned flags;
	uint64_t serial; /* distinct for every build (caches of its results) */
	struct pw_arena arena;
	struct pw_identity *ids;
	uint32_t nids;
	uint32_t ids_cap; /* identities the bitsets have room for */
	size_t nwords;	  /* words per identity bitset */
	uint32_t *pod_identity; /* per pod */
	struct pw_gtier *tiers; /* sorted */
	uint32_t ntiers;
	/* Policy slots.  The applicable lists of the identities give the
	   evaluation order (tier, order, name); a slot of a deleted policy
	   stays, empty. */
	struct pw_gpolicy *pols;
	uint32_t npols;
	size_t pols_cap;
	int *slot_of[3]; /* per source kind and index: slot or -1 */
	uint32_t nslot_of[3];
	size_t slot_of_cap[3];
	uint32_t next_uid;
	/* what selectors see, and indexes for evaluating them */
	struct pw_labels *vpod, *vsa, *vns, *vnetset; /* Calico's views */
	bool views_ready; /* vpod, vsa: made once a Calico policy needs them */
	struct pw_idvec *ns_ids;  /* identities per namespace */
	struct pw_strmap id_index; /* identity key -> index + 1 */
	struct pw_strmap post;	   /* "ns\x1fkey\x1fvalue" -> posting + 1 */
	struct pw_idvec *posts;
	uint32_t nposts;
	size_t posts_cap;
	/* every distinct selector part and its identities (shared) */
	struct pw_strmap sel_cache; /* key -> index + 1 */
	struct pw_gselset *sels;
	uint32_t nsels;
	size_t sels_cap;
	uint32_t *tmp; /* room for every identity */
	struct pw_idvec *sels_ns, sels_any; /* parts by namespace, or any */
	struct pw_idvec added; /* parts the last new identity joined, */
	uint32_t added_for;    /* ... which is this one (else UINT32_MAX) */
	struct pw_strmap ns_cache; /* namespace selector -> list + 1 */
	struct pw_idvec *ns_lists;
	uint32_t nns_lists;
	size_t ns_lists_cap;
};

/* One end of a connection: a pod, or an address outside the cluster
   (optionally known by a DNS name). */
struct pw_ep {
	int pod; /* index into cluster pods, -1 for an address */
	struct pw_addr addr; /* family 0 when unknown */
	const char *name;    /* DNS name of an outside destination, lowercase */
};

/* What is asked: IP protocol and port (TCP, UDP, SCTP, UDPLite) or ICMP
   type and code. */
struct pw_query {
	int ipproto;
	int port;	       /* 0 when the protocol has none */
	int icmp_type, icmp_code; /* PW_ANY when not ICMP */
};

enum pw_step_kind { PW_STEP_RULE, PW_STEP_END_OF_TIER, PW_STEP_PROFILE };
struct pw_step {
	enum pw_step_kind kind;
	uint32_t tier;
	int policy, rule; /* engine policy, rule index in its direction */
	enum pw_action action;
};
#define PW_MAX_STEPS 24

struct pw_why_dir {
	bool governed; /* false: outside, hostNetwork or self: nothing applies */
	bool allowed;
	struct pw_step steps[PW_MAX_STEPS];
	uint32_t nsteps;
	bool truncated;
};

struct pw_verdict {
	bool allowed;
	bool self; /* src and dst are the same pod: always allowed */
	struct pw_why_dir dir[2]; /* [PW_INGRESS] at dst, [PW_EGRESS] at src */
};

int pw_engine_build(struct pw_engine *e, const struct pw_cluster *c,
		    unsigned flags) PW_WARN_UNUSED;
void pw_engine_release(struct pw_engine *e);

struct pw_ep pw_ep_pod(const struct pw_cluster *c, uint32_t pod);
struct pw_ep pw_ep_addr(const struct pw_addr *a);
/* PW_TCP... -> query for that port */
struct pw_query pw_query_port(int proto, int port);
/* "TCP/80", "udp/53", "80", "ICMP/8", "ICMP/8/0", "ICMPv6/128", "UDPLite/9",
   "47" (a protocol number alone) -> 0, or -1 */
int pw_query_parse(const char *s, struct pw_query *q);
void pw_query_format(const struct pw_query *q, char out[static 32]);

void pw_engine_eval(const struct pw_engine *e, const struct pw_ep *src,
		    const struct pw_ep *dst, const struct pw_query *q,
		    struct pw_verdict *out);
/*
 * Could a DNS name for dst change the verdict?  True when dst is an address
 * outside the cluster given without a name, and some name that the rules'
 * DNS domains (Calico `domains`, network sets' `allowedEgressDomains`)
 * match would decide the connection otherwise: the verdict with a name
 * differs from the one without.  Each rule that matches only with a name is
 * taken to match or not independently of the others, so the answer errs
 * toward true (a name matching two patterns at once is not checked for).
 * The lab's probes count such connections as untested.
 */
bool pw_engine_name_dependent(const struct pw_engine *e, const struct pw_ep *src,
			      const struct pw_ep *dst, const struct pw_query *q);
/* Everything (TCP, UDP, SCTP) that may flow from src to dst. */
void pw_engine_conns(const struct pw_engine *e, const struct pw_ep *src,
		     const struct pw_ep *dst, struct pw_conns *out);
bool pw_engine_governed(const struct pw_engine *e, const struct pw_ep *ep);
/* The engine policies applicable to a pod in a direction. */
const uint32_t *pw_engine_applicable(const struct pw_engine *e, uint32_t pod,
				     enum pw_dir dir, uint32_t *n);
/* Kubernetes NetworkPolicy k: does it select pod? (false when staged out) */
bool pw_engine_policy_selects(const struct pw_engine *e, uint32_t k,
			      uint32_t pod);
/* The pods (identity bitset) that peer q of rule r of NetworkPolicy k
   selects; NULL for ipBlock peers or when k is not in this view. */
const struct pw_idset *pw_engine_k8s_peer_ids(const struct pw_engine *e, uint32_t k,
				       enum pw_dir dir, uint32_t r, uint32_t q);
bool pw_engine_has_id(const struct pw_engine *e, const struct pw_idset *ids,
		      uint32_t pod);
const char *pw_action_name(enum pw_action a);

/*
 * Incremental updates.  After c->pols[k] (or cpols, apols per src) was
 * changed in place, appended (k == the old count) or marked deleted:
 * recompile that policy alone.  The identities whose applicable policies
 * may have changed (the policy's old and new subjects) are set in affected
 * (a bitset of e->nwords words, zeroed by the caller).  Returns 0, or -1
 * when only a rebuild can do it (a staged view, a staged policy).
 */
int pw_engine_update_policy(struct pw_engine *e, enum pw_gsrc src, uint32_t k,
			    uint64_t *affected) PW_WARN_UNUSED;
/*
 * After pod's labels were replaced (with a new array: the old one must stay
 * valid): move it to the identity of its new labels, creating one if need
 * be (every selector part that can see its namespace is evaluated for it,
 * and the ones it joins are listed in e->added).  Returns 0, or -1 when the
 * bitsets have no room left (rebuild).
 */
int pw_engine_update_pod(struct pw_engine *e, uint32_t pod) PW_WARN_UNUSED;
/* Identity-level side match: is_pod, identity (when is_pod), address
   (family 0: none) and DNS name (NULL: none). */
bool pw_engine_side_match_id(const struct pw_engine *e, const struct pw_gside *s,
			     bool is_pod, uint32_t identity,
			     const struct pw_addr *addr, const char *name);
bool pw_engine_bit(const uint64_t *bits, uint32_t i);
/* Does one side of a compiled rule match an endpoint (ports aside)? */
bool pw_engine_side_match(const struct pw_engine *e, const struct pw_gside *s,
			  const struct pw_ep *ep);
/* Does compiled rule r match this connection (both ends, protocol and
   port), whatever its action? */
bool pw_engine_rule_match(const struct pw_engine *e, const struct pw_grule *r,
			  const struct pw_ep *src, const struct pw_ep *dst,
			  const struct pw_query *q);
/* A named port of protocol proto (PW_TCP...) on the destination pod; 0 if
   it has none. */
int pw_engine_resolve_named(const struct pw_engine *e,
			    const struct pw_np_port *pp, int proto,
			    const struct pw_ep *dst);
/* Mark in cut[proto][port] (arrays of 65537) every first port and every
   last port + 1 of every rule's port range, named ports resolved against
   every pod: the bounds of the port classes the policies distinguish. */
void pw_engine_port_cuts(const struct pw_engine *e,
			 unsigned char *cut[PW_NPROTO]);
/*
 * The address classes: where the rules' CIDRs (ipBlocks and their excepts,
 * nets and notNets, the nets of the network sets a rule selects,
 * AdminNetworkPolicy networks) cut the address space.  Every address of a
 * class is treated alike by every rule.  The first address of each class,
 * ascending: IPv4 from 0.0.0.0, then IPv6 from ::.  Heap; returns the count.
 * The one partition that the matrix, connlist, diff and the dataplanes use.
 */
size_t pw_engine_addr_bounds(const struct pw_engine *e, struct pw_addr **out);
/* Calico's DNS wildcard rule: a "*" label stands for one or more whole
   labels ("*.example.com", "www.*.com"); names compare lowercase. */
bool pw_domain_match(const char *pattern, const char *name);

#endif
