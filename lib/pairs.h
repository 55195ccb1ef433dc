/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What may flow between the endpoints of the whole-cluster outputs
 * (matrix, connlist, diff): workloads (all their replicas), ownerless
 * pods, and the classes of addresses outside the cluster.
 */
#ifndef PW_PAIRS_H
#define PW_PAIRS_H

#include "reach.h"

/* A class of addresses outside the cluster: the engine's address classes
   (pw_engine_addr_bounds), of every engine given cut together (diff
   compares two); IPv6 classes only where a policy cuts IPv6 or a pod has
   an IPv6 address. */
struct pw_extclass {
	struct pw_addr lo, hi;
	char name[PW_RANGE_NAME_MAX]; /* a CIDR when cidr_names and exact */
};
/* Heap array in *out (caller frees); returns the count. */
size_t pw_ext_classes(const struct pw_engine *const *es, size_t ne,
		      bool cidr_names, struct pw_extclass **out);

/* What may flow between two endpoints, each a group (ga, gb), or an
   address (aa, ab) when the group is -1: from r (may be NULL) where it
   answers, else from e; a workload pair only where every replica pair
   may. */
void pw_pair_conns(const struct pw_cluster *c, const struct pw_engine *e,
		   const struct pw_reach *r, int ga, const struct pw_addr *aa,
		   int gb, const struct pw_addr *ab, struct pw_conns *out);

#endif
