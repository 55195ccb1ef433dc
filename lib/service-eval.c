// SPDX-License-Identifier: Apache-2.0
/*
 * Connections to a Service, decided on its backends after kube-proxy's
 * translation (see service.h).
 */
#include <stdlib.h>
#include <string.h>

#include "service.h"

static bool allowed(const struct pw_engine *e, const struct pw_reach *r,
		    const struct pw_ep *s, const struct pw_ep *d,
		    const struct pw_query *q)
{
	int ok = r ? pw_reach_allowed(r, s, d, q) : -1;
	if (ok < 0) {
		struct pw_verdict v;
		pw_engine_eval(e, s, d, q, &v);
		ok = v.allowed;
	}
	return ok;
}

struct pw_ep pw_backend_ep(const struct pw_cluster *c, const struct pw_backend *b)
{
	if (b->pod < 0)
		return pw_ep_addr(&b->addr);
	struct pw_ep ep = pw_ep_pod(c, (uint32_t)b->pod);
	if (b->addr.family)
		ep.addr = b->addr;
	return ep;
}

int pw_service_eval(const struct pw_engine *e, const struct pw_reach *r,
		    const struct pw_ep *src, int nsrc, const struct pw_service *s,
		    const struct pw_query *q, struct pw_svc_answer **out,
		    size_t *n, const char **why)
{
	const struct pw_cluster *c = e->c;
	int proto = pw_proto_of_ip(q->ipproto);
	*out = NULL;
	*n = 0;
	*why = NULL;
	if (proto < 0 || proto >= PW_NPROTO)
		return -1;
	if (s->type == PW_SVC_EXTERNAL_NAME) {
		*why = "an ExternalName Service has no backends: it is a DNS alias";
		return 0;
	}
	const struct pw_svc_port *sp = NULL;
	if (!s->headless && !(sp = pw_service_port(s, proto, q->port))) {
		*why = "the Service has no such port: kube-proxy rejects the connection";
		return 0;
	}
	struct pw_backend *b;
	size_t nb = pw_service_backends(c, s, sp, proto, q->port, &b);
	if (!nb) {
		*why = "the Service has no backends: kube-proxy rejects the connection";
		return 0;
	}
	struct pw_svc_answer *a = pw_xcalloc(nb, sizeof(*a));
	int all = 1;
	for (size_t i = 0; i < nb; i++) {
		struct pw_ep d = pw_backend_ep(c, &b[i]);
		struct pw_query bq = *q;
		bq.port = b[i].port;
		a[i].b = b[i];
		a[i].allowed = true;
		for (int k = 0; k < nsrc && a[i].allowed; k++)
			if (!allowed(e, r, &src[k], &d, &bq)) {
				a[i].allowed = false;
				a[i].si = k;
			}
		all &= a[i].allowed;
	}
	free(b);
	*out = a;
	*n = nb;
	return all;
}

void pw_service_conns(const struct pw_engine *e, const struct pw_reach *r,
		      const struct pw_ep *src, int nsrc,
		      const struct pw_service *s, struct pw_conns *out)
{
	const struct pw_cluster *c = e->c;
	pw_conns_clear(out);
	if (s->type == PW_SVC_EXTERNAL_NAME)
		return;
	if (s->headless) {
		/* the client picks the port: what every backend allows */
		struct pw_backend *b;
		size_t nb = pw_service_backends(c, s, NULL, PW_TCP, 0, &b);
		struct pw_conns one;
		pw_conns_init(&one);
		bool first = true;
		for (size_t i = 0; i < nb; i++) {
			struct pw_ep d = pw_backend_ep(c, &b[i]);
			for (int k = 0; k < nsrc; k++) {
				if (!r || !pw_reach_conns(r, &src[k], &d, &one))
					pw_engine_conns(e, &src[k], &d, &one);
				if (first)
					pw_conns_copy(out, &one);
				else
					pw_conns_intersect(out, &one);
				first = false;
			}
		}
		pw_conns_release(&one);
		free(b);
		return;
	}
	for (uint32_t i = 0; i < s->nports; i++) {
		const struct pw_svc_port *sp = &s->ports[i];
		struct pw_query q = pw_query_port(sp->proto, sp->port);
		struct pw_svc_answer *a;
		size_t n;
		const char *why;
		if (pw_service_eval(e, r, src, nsrc, s, &q, &a, &n, &why) == 1)
			pw_conns_add(out, sp->proto, (unsigned)sp->port,
				     (unsigned)sp->port);
		free(a);
	}
}
