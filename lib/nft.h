/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nftables dataplane: the engine's decisions rendered as one
 * podwall-owned `inet` table, for a router that forwards between pods
 * (the lab's router namespace, or a node).
 *
 * Layout of the table (per pod P with router-side interface IF):
 *
 *   set pods              every pod address of the cluster (peers are all pods,
 *                         whichever node enforces for them)
 *   set s_<hash>          a peer group or port set, shared by content
 *   chain forward         hook forward:
 *                           ct state established,related accept
 *                           ct state invalid drop
 *                           iifname vmap { IF : jump eg_P }   source's egress
 *                           meta mark clear allow bit
 *                           oifname vmap { IF : jump in_P }   dest's ingress
 *                         (services: chains svc_*, lib/nft-svc.c)
 *   chain eg_P, in_P      one "jump <tier chain>; allowed? return" per tier
 *                         the endpoint visits, then return (the profile)
 *   chain t_<hash>        named by its content (pods alike share it): for
 *                         one endpoint and one tier, a jump to the chain of
 *                         each applicable policy in order, returning once
 *                         the allow or the pass bit is set; the tier's end
 *                         drops when its default action is Deny (eg_P
 *                         clears the pass bit after each tier)
 *   chain p_<hash>        named by its content: one policy's rules for one
 *                         endpoint, in order: Allow sets the allow bit and
 *                         returns, Pass sets the pass bit (0x2) and
 *                         returns, Deny drops, Log logs
 *   map m_<hash>          a run of Allow or Deny rules (below), as a verdict
 *                         map whose elements go to the first rule that
 *                         covers them:
 *   chain a_D_ID, d_D_ID  the action of rule id ID in direction D (e, i)
 *   chain x_D_ID          the namespace profile's id, for pods no policy
 *                         applies to in D
 *
 * With rule ids (an agent's flow log; lab render), every decision carries
 * its rule id (lib/flow/ids.h): an Allow, or the
 * profile, writes the id into its direction's half of the conntrack mark
 * (egress 31..16, ingress 15..0) of the new connection; a Deny, and the
 * end of a tier that denies, log the packet to NFLOG group
 * PW_FLOW_NFLOG_GROUP with "pw D <e|i> ID " before dropping it.
 *
 * Consecutive rules of one action whose match is only "the other end's
 * address is in a set and the destination port in another" (the common
 * case: every Kubernetes NetworkPolicy rule with ports) become one lookup
 * in a concatenated interval set (address . protocol . port), so the cost
 * per packet does not grow with the number of such rules.  The set's
 * elements are made disjoint first (the kernel refuses overlapping ones):
 * the address line is cut at every element's bounds and each piece gets
 * the union of the ports of the rules that cover it.
 *
 * Everything the engine decides statically for P (its own selectors, its
 * named ports as a destination) is folded at render time; what depends on
 * the other end is matched per packet through sets.  A rule that cannot
 * match (an empty peer group, a DNS rule, which needs addresses learnt
 * from DNS) is left out.  Counters on every rule.  IPv4 only for now.
 */
#ifndef PW_NFT_H
#define PW_NFT_H

#include "engine.h"

#include "dp/dp.h"

#define PW_NFT_MARK_ALLOW 0x1u
/* set by lib/nft-svc.c on a pod reaching itself through a Service */
#define PW_NFT_MARK_HAIRPIN 0x4000u

/* A rendered table: named objects, so that two renders can be compared and
   only what changed sent to the kernel. */
struct pw_nft_obj {
	char *kind; /* "set" or "chain" */
	char *name;
	char *body; /* what goes between the braces; NULL: not known (read
		       back from the kernel) */
	char *key;  /* "kind\x1fname" */
};
struct pw_nft {
	struct pw_nft_obj *v;
	size_t n, cap;
	size_t rules; /* rules rendered, for statistics */
	struct pw_strmap index; /* key -> index + 1 */
};

void pw_nft_init(struct pw_nft *t);
void pw_nft_release(struct pw_nft *t);
void pw_nft_build(const struct pw_engine *e, const struct pw_dp_port *ports,
		  size_t nports, struct pw_nft *out);
/* linear: no merging of rules into set lookups, one rule per policy rule
   (the baseline the benchmark compares with). */
void pw_nft_build_opts(const struct pw_engine *e, const struct pw_dp_port *ports,
		       size_t nports, bool linear, struct pw_nft *out);
/*
 * The same, keeping in cache what it rendered of each policy for each pod
 * (a chain and the sets it looks up), so that the next render of the same
 * engine renders only the policies that were recompiled since (by their
 * slot's generation).  A cache of another engine build is emptied first.
 */
struct pw_nft_cache;
struct pw_nft_cache *pw_nft_cache_new(void);
void pw_nft_cache_free(struct pw_nft_cache *c);
/* The rule ids the renders use (lib/flow/ids.h), kept by the caller and
   set before the first render; without, the cached renders carry no ids
   (an agent without a flow log: Allow only sets the allow bit, Deny only
   drops), so that what they render depends on nothing but the engine. */
struct pw_flow_ids;
void pw_nft_cache_set_ids(struct pw_nft_cache *c, struct pw_flow_ids *ids);
struct pw_flow_ids *pw_nft_cache_ids(const struct pw_nft_cache *c);
void pw_nft_cache_stats(const struct pw_nft_cache *c, size_t *hits, size_t *misses);
void pw_nft_build_cached(const struct pw_engine *e, const struct pw_dp_port *ports,
			 size_t nports, bool linear, struct pw_nft_cache *cache,
			 struct pw_nft *out);
/* Add an object (a chain whose body starts with a "type ... hook" line is
   a base chain); an object of that kind and name already there stays. */
void pw_nft_add_obj(struct pw_nft *t, const char *kind, const char *name,
		    const char *body);
/* The Services of c (lib/nft-svc.c): translation to their backends before
   policy, as kube-proxy's nftables mode does.  Returns the number of
   service address and port pairs. */
size_t pw_nft_add_services(const struct pw_cluster *c, struct pw_nft *out);
/* A warning for every rule whose meaning the ruleset does not carry in
   full: rules on DNS names (Calico `domains`, network sets'
   `allowedEgressDomains`), until the dataplane learns addresses from DNS.
   In file order. */
void pw_nft_unenforced(const struct pw_engine *e, struct pw_diags *d);
/* A script that replaces the table atomically. */
void pw_nft_script_full(const struct pw_nft *t, const char *table,
			struct pw_buf *out);
/* A script that changes only what differs from old (one transaction). */
void pw_nft_script_delta(const struct pw_nft *old, const struct pw_nft *t,
			 const char *table, struct pw_buf *out);
/* Objects of t that old lacks, that differ, and of old that t lacks. */
void pw_nft_delta_count(const struct pw_nft *old, const struct pw_nft *t,
			uint32_t *created, uint32_t *changed, uint32_t *deleted);
/* Run a script through libnftables in the current network namespace.
   0, or -1 with the error text in err. */
int pw_nft_run(const char *script, struct pw_buf *err);
/* Delete the table if it exists (idempotent). */
int pw_nft_delete(const char *table, struct pw_buf *err);

#endif
