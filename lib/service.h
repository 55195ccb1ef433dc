/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services as kube-proxy implements them.  A packet to a service address
 * (its cluster IP, an external IP or a load balancer IP) and service port
 * is translated to one backend and that backend's target port before any
 * policy sees it; network policies then decide on the translated packet.
 * So a connection to a Service is decided on each of its backends, and it
 * is allowed only if it is allowed to every backend (any of them may be
 * chosen).
 *
 * Backends: the addresses of the Service's EndpointSlices (or, without
 * them, its Endpoints) when the input has any, ready ones only; otherwise
 * the pods of the Service's namespace that its selector matches.  An
 * address of a pod is that pod; another address is a backend outside the
 * cluster (a Service without a selector whose Endpoints name it).  A
 * targetPort given by name is resolved on each backend pod among its
 * container ports of the port's protocol; a pod without it is not a
 * backend of that port, as the EndpointSlice controller leaves it out.
 *
 * Headless Services (clusterIP: None) have no service address: their name
 * resolves to the backends' own addresses, and the client picks the port,
 * so a port asked of one is the port on every backend.  ExternalName
 * Services resolve, by DNS, to another name and have no backends here.
 * NodePorts are not modelled (node addresses are not known).
 */
#ifndef PW_SERVICE_H
#define PW_SERVICE_H

#include "reach.h"

struct pw_backend {
	int32_t pod;	     /* -1: an address outside the cluster */
	struct pw_addr addr; /* the backend's address */
	int proto, port;     /* PW_TCP...; the target port */
};

/* The Service ns/name, or NULL. */
const struct pw_service *pw_service_find(const struct pw_cluster *c,
					 const char *ns, const char *name);
/* The Service whose service address a is, or NULL. */
const struct pw_service *pw_service_by_addr(const struct pw_cluster *c,
					    const struct pw_addr *a);
/* The port of s for (proto, port), or NULL.  A headless Service accepts
   any port. */
const struct pw_svc_port *pw_service_port(const struct pw_service *s,
					  int proto, int port);
/*
 * The backends of s for one of its ports (sp from pw_service_port; NULL
 * for a headless Service, with proto and port as asked).  Heap array in
 * *out (caller frees); returns the count.
 */
size_t pw_service_backends(const struct pw_cluster *c,
			   const struct pw_service *s,
			   const struct pw_svc_port *sp, int proto, int port,
			   struct pw_backend **out);
/*
 * Ingresses and Routes, as netpol-analyzer models them: the ingress
 * controller is a pod "ingress-controller" without labels in a namespace
 * "ingress-controller-ns" of its own, added before pw_cluster_finish
 * (returns its index).  pw_ingress_exposure adds to out[g], for every
 * group g, the TCP ports the object exposes on it: for each backend, the
 * Service of the object's namespace (with a selector), the first of its
 * ports that the backend names (every port when it names none), and that
 * port's targetPort on the group's pods (a name resolved among their TCP
 * container ports), when the pods declare it.  Returns the number of
 * backends whose Service was found.  What the controller may reach is
 * this, intersected with what the policies allow it.
 */
uint32_t pw_cluster_add_ingress_controller(struct pw_cluster *c);
size_t pw_ingress_exposure(const struct pw_cluster *c,
			   const struct pw_ingress *ing, struct pw_conns *out);
/*
 * Decisions through a Service (service-eval.c): the engine (and the
 * matrix r, when not NULL, where it answers) on each backend at its target
 * port.  src holds nsrc endpoints (the replicas of a workload: each must
 * be allowed).
 */
/* A backend as an endpoint of the engine. */
struct pw_ep pw_backend_ep(const struct pw_cluster *c, const struct pw_backend *b);
struct pw_svc_answer {
	struct pw_backend b;
	bool allowed;
	int si; /* the first source replica denied, or 0 */
};
/*
 * A connection from src to s at q's protocol and service port.  Returns 1
 * when it is allowed to every backend, 0 when not (why says what when it
 * is not a backend's verdict: no such port, no backends, an ExternalName
 * Service), -1 when q has no port (ICMP...).  *out (heap, caller frees)
 * gets every backend and its answer.
 */
int pw_service_eval(const struct pw_engine *e, const struct pw_reach *r,
		    const struct pw_ep *src, int nsrc, const struct pw_service *s,
		    const struct pw_query *q, struct pw_svc_answer **out,
		    size_t *n, const char **why);
/* Every service port of s that src may reach (to every backend); for a
   headless Service, every port allowed to every backend. */
void pw_service_conns(const struct pw_engine *e, const struct pw_reach *r,
		      const struct pw_ep *src, int nsrc,
		      const struct pw_service *s, struct pw_conns *out);
/* "ClusterIP", "NodePort", ... */
const char *pw_service_type_name(enum pw_svc_type t);

#endif
