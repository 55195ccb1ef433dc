/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ends and port of a question, as a person names them (podwall eval's
 * --src, --dst and --port; the agent's /v1/eval).
 *
 * An endpoint is "ns/name" or "name" (in the namespace defns, NULL for
 * "default") of a pod or a workload (all its pods), or an IPv4/IPv6
 * address (a pod's address is that pod).  A destination may also be a DNS
 * name, optionally with the address it resolved to:
 * "api.example.com=203.0.113.20".  A Service is named by svc/NAME (also
 * service/, services/), its DNS name (NAME.NS[.svc[.cluster.local]]), one
 * of its service addresses, or ns/name and name when no pod or workload
 * has that name.
 *
 * Everything resolved (endpoint arrays, DNS names) lives in the caller's
 * arena a: the view stays read-only and can be shared.
 */
#ifndef PW_RESOLVE_H
#define PW_RESOLVE_H

#include "service.h"
#include "view.h"

/*
 * Endpoints of spec (not a Service): a pod, a workload's pods, an address,
 * or when as_dst a DNS name.  *eps in a.  Returns the count, 0 if unknown,
 * -1 if spec is malformed (an address that does not parse, a bad DNS name,
 * a DNS name as a source): *why says how.
 */
int pw_resolve_ep(const struct pw_view *v, struct pw_arena *a, const char *spec,
		  const char *defns, bool as_dst, struct pw_ep **eps,
		  const char **why);
/* The Service spec names, or NULL. */
const struct pw_service *pw_resolve_service(const struct pw_view *v,
					    const char *spec,
					    const char *defns);

/* One end of a question: a Service, or endpoints. */
struct pw_end {
	const struct pw_service *svc; /* a Service: n is 1, eps NULL */
	struct pw_ep *eps;
	int n;		 /* as pw_resolve_ep returns it */
	const char *why; /* when n < 0 */
};
void pw_resolve_end(const struct pw_view *v, struct pw_arena *a,
		    const char *spec, const char *defns, bool as_dst,
		    struct pw_end *out);
/*
 * The port of a question to d: PROTO/N (pw_query_parse), or a named port,
 * NAME or PROTO/NAME, resolved as the policies resolve one: against the
 * containerPorts of d's pods (name, and protocol when given, must agree).
 * Returns NULL, or why not; *named (may be NULL) tells a named port.
 */
const char *pw_resolve_port(const struct pw_view *v, const char *spec,
			    const struct pw_end *d, struct pw_query *q,
			    bool *named);

#endif
