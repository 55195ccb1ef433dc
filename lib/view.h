/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A read-only view of one loaded state: the cluster, its engines (in force
 * and, when asked for, with the staged policies enforced), their
 * reachability matrices, and the names by which questions name endpoints.
 * Everything that answers a question of a whole state (lib/explain.h,
 * lib/matrix-out.h) takes a const view, so the command line and a
 * long-running agent answer alike, and one view can serve many readers.
 *
 * Ownership: the view owns only its name maps (and their keys).  The
 * cluster, engines and matrices are the caller's and must outlive it; set
 * the optional members after pw_view_init.  A view built before the
 * cluster's pods or workloads change must be released and built again.
 */
#ifndef PW_VIEW_H
#define PW_VIEW_H

#include "reach.h"

struct pw_view {
	const struct pw_cluster *c;
	const struct pw_engine *e;
	const struct pw_engine *staged;	     /* NULL: no staged view */
	const struct pw_reach *reach;	     /* NULL: ask the engine */
	const struct pw_reach *staged_reach; /* NULL: ask staged */
	int32_t ingress_pod; /* the ingress controller's pod, or -1 */
	struct pw_strmap pods;	 /* "ns/name" -> pod index + 1 */
	struct pw_strmap groups; /* "ns/name" -> group index + 1 */
	struct pw_arena arena;	 /* the maps' keys */
};

/* The view of c and e, with the name maps of c's pods (the first of a
   name; not workload templates) and workloads; the optional members NULL
   and ingress_pod -1. */
void pw_view_init(struct pw_view *v, const struct pw_cluster *c,
		  const struct pw_engine *e);
void pw_view_release(struct pw_view *v);
/* The pod or workload "ns/name", or -1. */
int32_t pw_view_pod(const struct pw_view *v, const char *key);
int32_t pw_view_group(const struct pw_view *v, const char *key);
/* "ns/name" of a pod, appended to b; returns b->s. */
const char *pw_view_pod_name(const struct pw_view *v, uint32_t pod,
			     struct pw_buf *b);

#endif
