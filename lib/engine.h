/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy engine: the one place that decides whether a connection is
 * allowed.  Everything else (eval, matrix, connlist, lint, later the
 * dataplanes) asks it.
 *
 * Kubernetes NetworkPolicy semantics, in order of precedence:
 *  1. An endpoint outside the cluster, or a hostNetwork pod, is governed
 *     by no policy: its side of a connection allows everything, and pod
 *     selectors never match a hostNetwork pod (it has the node's address;
 *     PW_ENGINE_HOSTNET_AS_PODS turns this off).
 *  2. A pod is isolated for ingress (egress) iff some policy of its
 *     namespace selects it and lists Ingress (Egress) in its types.
 *  3. A non-isolated direction allows everything.  An isolated one allows
 *     exactly the union of the rules of the policies that isolate it.
 *  4. A connection is allowed iff the source's egress and the
 *     destination's ingress both allow it.
 *  5. A rule matches when some peer matches the other end (no peers: every
 *     end) and some port matches (no ports: every port).  Named ports are
 *     resolved against the destination pod, for both directions, and never
 *     match an address outside the cluster.
 *  0. A pod can always reach itself ("a pod cannot block access to
 *     itself", Kubernetes documentation).
 *  6. ipBlock peers match addresses in cidr minus except.  Pods' own
 *     addresses match too, unless PW_ENGINE_IPBLOCK_EXCLUDES_PODS is set.
 *
 * Pods sharing namespace, labels, service account, named ports and
 * hostNetwork share an identity; selectors are evaluated once per identity
 * when the engine is built.
 */
#ifndef PW_ENGINE_H
#define PW_ENGINE_H

#include "model.h"

#define PW_ENGINE_IPBLOCK_EXCLUDES_PODS 1u
/* Treat hostNetwork pods like any other pod (netpol-analyzer's reading). */
#define PW_ENGINE_HOSTNET_AS_PODS 2u

struct pw_identity {
	uint32_t pod; /* representative pod */
	uint32_t ns;
	uint32_t *pols[2]; /* policies isolating it, per direction */
	uint32_t npols[2];
};

struct pw_engine {
	const struct pw_cluster *c;
	unsigned flags;
	struct pw_arena arena;
	struct pw_identity *ids;
	uint32_t nids;
	size_t nwords; /* words per identity bitset */
	/* identity bitset of the selector part of every peer (NULL for
	   ipBlock peers), flat: peer q of rule r of policy k, direction d is
	   peer_bits[rule_base[2 * k + d][r] + q] */
	uint64_t **peer_bits;
	uint32_t **rule_base;
	uint32_t npeers;
};

/* One end of a connection: a pod, or an address outside the cluster. */
struct pw_ep {
	int pod; /* index into cluster pods, -1 for an address */
	struct pw_addr addr; /* family 0 when the pod has none */
};

struct pw_why_dir {
	bool governed; /* false: external or hostNetwork: no policy applies */
	const uint32_t *isolating; /* policies isolating the endpoint */
	uint32_t nisolating;
	int policy, rule; /* first rule that allowed; -1 when none did */
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

void pw_engine_eval(const struct pw_engine *e, const struct pw_ep *src,
		    const struct pw_ep *dst, int proto, int port,
		    struct pw_verdict *out);
/* Everything that may flow from src to dst; out must be initialised. */
void pw_engine_conns(const struct pw_engine *e, const struct pw_ep *src,
		     const struct pw_ep *dst, struct pw_conns *out);
/* One direction only (dir = PW_EGRESS: as src's egress sees it). */
void pw_engine_dir_conns(const struct pw_engine *e, enum pw_dir dir,
			 const struct pw_ep *src, const struct pw_ep *dst,
			 struct pw_conns *out);
/* Does this peer of policy p match endpoint ep? */
bool pw_engine_peer_match(const struct pw_engine *e, uint32_t pol,
			  enum pw_dir dir, uint32_t rule, uint32_t peer,
			  const struct pw_ep *ep);
/* The ports of a rule toward destination dst. */
void pw_engine_rule_ports(const struct pw_engine *e, const struct pw_rule *r,
			  const struct pw_ep *dst, struct pw_conns *out);
bool pw_engine_policy_selects(const struct pw_engine *e, uint32_t pol,
			      uint32_t pod);

#endif
