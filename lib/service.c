// SPDX-License-Identifier: Apache-2.0
/*
 * Services, Endpoints and EndpointSlices: loading (through the kinds table
 * of manifest.c) and the backends kube-proxy would translate a connection
 * to.  See service.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loader.h"
#include "service.h"

/* ---- loading ------------------------------------------------------------- */

static int want_proto(struct ld *l, yaml_node_t *n, bool *ok)
{
	const char *s = ld_opt_str(l, n, "protocol");
	if (!s)
		return PW_TCP;
	int p = pw_proto_parse(s);
	if (p < 0 || strcmp(s, pw_proto_name(p))) {
		pw_error(l->d, ld_pos(l, n),
			 "unknown protocol %s (want TCP, UDP or SCTP)", ld_q(l, s));
		*ok = false;
		return PW_TCP;
	}
	return p;
}

static int want_port(struct ld *l, yaml_node_t *n, const char *what, bool *ok)
{
	long v;
	if (!ld_want_int(l, n, what, &v)) {
		*ok = false;
		return 0;
	}
	if (v < 1 || v > PW_PORT_MAX) {
		pw_error(l->d, ld_pos(l, n), "%s %ld is out of range 1-65535",
			 what, v);
		*ok = false;
		return 0;
	}
	return (int)v;
}

/* An IANA service name, as a named port must be: 1-15 characters of
   [a-z0-9-], a letter among them, no leading, trailing or double '-'. */
static bool port_name_ok(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;
	if (!n || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p >= 'a' && *p <= 'z')
			letter = true;
		else if (!(*p >= '0' && *p <= '9') && *p != '-')
			return false;
	}
	return letter;
}

static void add_vip(struct ld *l, struct pw_service *s, size_t *cap,
		    yaml_node_t *n, const char *what, bool *ok)
{
	const char *t = ld_want_str(l, n, what);
	struct pw_addr a;
	if (!t || !*t || !strcmp(t, "None"))
		return;
	if (pw_addr_parse(t, &a) < 0) {
		pw_error(l->d, ld_pos(l, n), "invalid IP address %s", ld_q(l, t));
		*ok = false;
		return;
	}
	for (uint32_t i = 0; i < s->nvips; i++)
		if (!pw_addr_cmp(&s->vips[i], &a))
			return;
	*PW_PUSH(&l->c->arena, s->vips, s->nvips, *cap) = a;
}

static void load_svc_port(struct ld *l, yaml_node_t *pn, struct pw_svc_port *o,
			  bool *ok)
{
	memset(o, 0, sizeof(*o));
	o->pos = ld_pos(l, pn);
	o->name = ld_opt_str(l, ld_get(l, pn, "name"), "name");
	o->proto = want_proto(l, ld_get(l, pn, "protocol"), ok);
	o->port = want_port(l, ld_get(l, pn, "port"), "port", ok);
	yaml_node_t *tn = ld_get(l, pn, "targetPort");
	long v;
	if (ld_is_null(tn)) {
		o->target = o->port;
	} else if (ld_plain_int(tn, &v)) {
		o->target = want_port(l, tn, "targetPort", ok);
	} else {
		const char *t = ld_want_str(l, tn, "targetPort");
		if (t && !port_name_ok(t)) {
			pw_error(l->d, ld_pos(l, tn),
				 "invalid targetPort %s (want a number or a port name)", ld_q(l, t));
			*ok = false;
		}
		o->target_name = t;
	}
	yaml_node_t *np = ld_get(l, pn, "nodePort");
	if (!ld_is_null(np))
		o->node_port = want_port(l, np, "nodePort", ok);
}

void pw__load_service(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	struct pw_service s = { 0 };
	bool ok = true;
	s.name = m->name;
	s.ns = pw_cluster_ns(c, m->ns);
	s.pos = m->pos;
	yaml_node_t *spec = ld_want_map(l, ld_get(l, m->obj, "spec"), "spec");
	pw__audit_service(l, m, spec);
	struct pw_labels sel;
	ld_labels(l, ld_get(l, spec, "selector"), &sel, "selector");
	size_t cap = 0;
	for (uint32_t i = 0; i < sel.n; i++) {
		struct pw_req *r = PW_PUSH(&c->arena, s.sel.reqs, s.sel.n, cap);
		r->key = sel.v[i].key;
		r->op = PW_OP_IN;
		r->values = pw_arena_alloc(&c->arena, sizeof(char *));
		r->values[0] = sel.v[i].value;
		r->nvalues = 1;
	}
	s.has_sel = sel.n > 0;
	yaml_node_t *tn = ld_get(l, spec, "type");
	const char *type = ld_opt_str(l, tn, "type");
	static const char *const types[] = { "ClusterIP", "NodePort",
					     "LoadBalancer", "ExternalName" };
	s.type = PW_SVC_CLUSTER_IP;
	if (type) {
		size_t i = 0;
		while (i < PW_ARRAY_SIZE(types) && strcmp(type, types[i]))
			i++;
		if (i == PW_ARRAY_SIZE(types)) {
			pw_error(l->d, ld_pos(l, tn),
				 "unknown Service type %s (want ClusterIP, NodePort, LoadBalancer or ExternalName)",
				 ld_q(l, type));
			ok = false;
		} else {
			s.type = (enum pw_svc_type)i;
		}
	}
	if (s.type == PW_SVC_EXTERNAL_NAME) {
		yaml_node_t *en = ld_get(l, spec, "externalName");
		s.external_name = ld_opt_str(l, en, "externalName");
		if (!s.external_name || !*s.external_name) {
			pw_error(l->d, en ? ld_pos(l, en) : m->pos,
				 "an ExternalName Service needs spec.externalName");
			ok = false;
		}
	}
	size_t vcap = 0;
	yaml_node_t *cip = ld_get(l, spec, "clusterIP");
	const char *cs = ld_opt_str(l, cip, "clusterIP");
	s.headless = cs && !strcmp(cs, "None");
	if (cs)
		add_vip(l, &s, &vcap, cip, "clusterIP", &ok);
	static const char *const lists[] = { "clusterIPs", "externalIPs" };
	for (size_t k = 0; k < PW_ARRAY_SIZE(lists); k++) {
		yaml_node_t *seq = ld_want_seq(l, ld_get(l, spec, lists[k]), lists[k]);
		yaml_node_t *e;
		if (seq)
			SEQ_EACH(l, seq, e)
		{
			const char *t = ld_want_str(l, e, lists[k]);
			if (t && !strcmp(t, "None"))
				s.headless = true;
			else
				add_vip(l, &s, &vcap, e, lists[k], &ok);
		}
	}
	yaml_node_t *lb = ld_get(l, ld_get(l, ld_get(l, m->obj, "status"),
					   "loadBalancer"), "ingress");
	lb = ld_want_seq(l, lb, "status.loadBalancer.ingress");
	yaml_node_t *e;
	if (lb)
		SEQ_EACH(l, lb, e)
	{
		yaml_node_t *ipn = ld_get(l, e, "ip");
		if (!ld_is_null(ipn))
			add_vip(l, &s, &vcap, ipn, "ip", &ok);
	}
	yaml_node_t *ps = ld_want_seq(l, ld_get(l, spec, "ports"), "ports");
	size_t pcap = 0;
	if (ps)
		SEQ_EACH(l, ps, e)
	{
		if (!ld_want_map(l, e, "a Service port"))
			continue;
		struct pw_svc_port sp;
		load_svc_port(l, e, &sp, &ok);
		for (uint32_t i = 0; i < s.nports && ok; i++)
			if (s.ports[i].proto == sp.proto && s.ports[i].port == sp.port) {
				pw_error(l->d, sp.pos, "duplicate Service port %s/%d",
					 pw_proto_name(sp.proto), sp.port);
				ok = false;
			}
		*PW_PUSH(&c->arena, s.ports, s.nports, pcap) = sp;
	}
	if (!ok || l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(&c->arena, c->svcs, c->nsvcs, c->nsvcs_cap) = s;
}

static void load_ep_addrs(struct ld *l, yaml_node_t *seq, struct pw_endpoints *ep,
			  size_t *cap, const char *ns, bool *ok)
{
	yaml_node_t *e;
	if (!seq)
		return;
	SEQ_EACH(l, seq, e)
	{
		if (!ld_want_map(l, e, "an address"))
			continue;
		struct pw_ep_addr a = { { 0 }, NULL };
		yaml_node_t *ipn = ld_get(l, e, "ip");
		const char *t = ld_want_str(l, ipn, "ip");
		if (!t)
			continue;
		if (pw_addr_parse(t, &a.addr) < 0) {
			pw_error(l->d, ld_pos(l, ipn), "invalid IP address %s", ld_q(l, t));
			*ok = false;
			continue;
		}
		yaml_node_t *ref = ld_get(l, e, "targetRef");
		const char *kind = ld_opt_str(l, ld_get(l, ref, "kind"), "kind");
		const char *rns = ld_opt_str(l, ld_get(l, ref, "namespace"), "namespace");
		if (kind && !strcmp(kind, "Pod") && (!rns || !strcmp(rns, ns)))
			a.pod = ld_opt_str(l, ld_get(l, ref, "name"), "name");
		*PW_PUSH(&l->c->arena, ep->addrs, ep->naddrs, *cap) = a;
	}
}

static void load_ep_ports(struct ld *l, yaml_node_t *seq, struct pw_endpoints *ep,
			  bool *ok)
{
	yaml_node_t *e;
	size_t cap = 0;
	if (!seq)
		return;
	SEQ_EACH(l, seq, e)
	{
		if (!ld_want_map(l, e, "an endpoint port"))
			continue;
		yaml_node_t *pn = ld_get(l, e, "port");
		if (ld_is_null(pn))
			continue; /* a slice port without a number: all ports */
		struct pw_ep_port p;
		p.name = ld_opt_str(l, ld_get(l, e, "name"), "name");
		p.proto = want_proto(l, ld_get(l, e, "protocol"), ok);
		p.port = want_port(l, pn, "port", ok);
		*PW_PUSH(&l->c->arena, ep->ports, ep->nports, cap) = p;
	}
}

/* Endpoints (a pw_endpoints per subset) and EndpointSlices */
void pw__load_endpoints(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	bool ok = true;
	struct pw_endpoints ep = { 0 };
	ep.ns = pw_cluster_ns(c, m->ns);
	ep.pos = m->pos;
	if (!strcmp(m->kind, "Endpoints")) {
		ep.service = m->name;
		yaml_node_t *subs = ld_want_seq(l, ld_get(l, m->obj, "subsets"), "subsets");
		yaml_node_t *sub;
		struct pw_endpoints *v = NULL;
		size_t n = 0, cap = 0;
		if (subs)
			SEQ_EACH(l, subs, sub)
		{
			if (!ld_want_map(l, sub, "a subset"))
				continue;
			struct pw_endpoints one = ep;
			size_t acap = 0;
			one.pos = ld_pos(l, sub);
			load_ep_addrs(l, ld_want_seq(l, ld_get(l, sub, "addresses"), "addresses"),
				      &one, &acap, m->ns, &ok);
			load_ep_ports(l, ld_want_seq(l, ld_get(l, sub, "ports"), "ports"),
				      &one, &ok);
			*PW_PUSH(&c->arena, v, n, cap) = one;
		}
		if (!ok || l->d->errors > l->errors_at_start)
			return;
		if (!n) /* no subsets: a Service with no backends */
			*PW_PUSH(&c->arena, c->eps, c->neps, c->neps_cap) = ep;
		for (size_t i = 0; i < n; i++)
			*PW_PUSH(&c->arena, c->eps, c->neps, c->neps_cap) = v[i];
		return;
	}
	ep.slice = true;
	ep.service = pw_labels_get(&m->labels, "kubernetes.io/service-name");
	if (!ep.service) {
		pw_warn(l->d, m->pos,
			"EndpointSlice %s has no kubernetes.io/service-name label, ignored",
			ld_q(l, m->name));
		return;
	}
	yaml_node_t *at = ld_get(l, m->obj, "addressType");
	const char *type = ld_opt_str(l, at, "addressType");
	if (type && strcmp(type, "IPv4") && strcmp(type, "IPv6")) {
		if (strcmp(type, "FQDN")) {
			pw_error(l->d, ld_pos(l, at),
				 "unknown addressType %s (want IPv4, IPv6 or FQDN)", ld_q(l, type));
			return;
		}
		pw_warn(l->d, ld_pos(l, at),
			"EndpointSlice %s of addressType FQDN: not analysed", ld_q(l, m->name));
		return;
	}
	yaml_node_t *eps = ld_want_seq(l, ld_get(l, m->obj, "endpoints"), "endpoints");
	yaml_node_t *e;
	size_t acap = 0;
	if (eps)
		SEQ_EACH(l, eps, e)
	{
		if (!ld_want_map(l, e, "an endpoint"))
			continue;
		yaml_node_t *ready = ld_get(l, ld_get(l, e, "conditions"), "ready");
		if (!ld_is_null(ready) && !ld_want_bool(l, ready, "ready"))
			continue; /* kube-proxy sends nothing to a backend not ready */
		yaml_node_t *as = ld_want_seq(l, ld_get(l, e, "addresses"), "addresses");
		yaml_node_t *an;
		const char *pod = NULL;
		yaml_node_t *ref = ld_get(l, e, "targetRef");
		const char *kind = ld_opt_str(l, ld_get(l, ref, "kind"), "kind");
		if (kind && !strcmp(kind, "Pod"))
			pod = ld_opt_str(l, ld_get(l, ref, "name"), "name");
		if (as)
			SEQ_EACH(l, as, an)
		{
			const char *t = ld_want_str(l, an, "an address");
			struct pw_ep_addr a = { { 0 }, pod };
			if (!t)
				continue;
			if (pw_addr_parse(t, &a.addr) < 0) {
				pw_error(l->d, ld_pos(l, an), "invalid IP address %s", ld_q(l, t));
				ok = false;
				continue;
			}
			*PW_PUSH(&c->arena, ep.addrs, ep.naddrs, acap) = a;
		}
	}
	load_ep_ports(l, ld_want_seq(l, ld_get(l, m->obj, "ports"), "ports"), &ep, &ok);
	if (!ok || l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(&c->arena, c->eps, c->neps, c->neps_cap) = ep;
}

/* extensions/v1beta1: {serviceName, servicePort: number | name} */
static void ing_backend_v1beta1(struct ld *l, yaml_node_t *b,
				struct pw_ingress *ing, size_t *cap, bool *ok)
{
	struct pw_ing_backend x = { 0 };
	long v;
	x.pos = ld_pos(l, b);
	x.service = ld_want_str(l, ld_get(l, b, "serviceName"), "serviceName");
	yaml_node_t *port = ld_get(l, b, "servicePort");
	if (ld_plain_int(port, &v))
		x.port = want_port(l, port, "servicePort", ok);
	else if (!ld_is_null(port))
		x.port_name = ld_want_str(l, port, "servicePort");
	if (!x.service)
		*ok = false;
	else
		*PW_PUSH(&l->c->arena, ing->backends, ing->nbackends, *cap) = x;
}

/* An Ingress backend: {service: {name, port: {number | name}}} */
static void ing_backend(struct ld *l, yaml_node_t *b, struct pw_ingress *ing,
			size_t *cap, bool *ok)
{
	yaml_node_t *svc = ld_get(l, b, "service");
	if (ld_is_null(svc) && !ld_is_null(ld_get(l, b, "serviceName"))) {
		ing_backend_v1beta1(l, b, ing, cap, ok);
		return;
	}
	if (ld_is_null(svc)) {
		pw_warn(l->d, ld_pos(l, b),
			"%s %s: a backend without a Service, ignored",
			ing->kind, ld_q(l, ing->name));
		return;
	}
	struct pw_ing_backend x = { 0 };
	x.pos = ld_pos(l, svc);
	x.service = ld_want_str(l, ld_get(l, svc, "name"), "service.name");
	yaml_node_t *port = ld_get(l, svc, "port");
	yaml_node_t *num = ld_get(l, port, "number");
	x.port_name = ld_opt_str(l, ld_get(l, port, "name"), "port.name");
	if (!ld_is_null(num))
		x.port = want_port(l, num, "port.number", ok);
	if (!x.service)
		*ok = false;
	else
		*PW_PUSH(&l->c->arena, ing->backends, ing->nbackends, *cap) = x;
}

/* A Route's target or alternate backend: {kind: Service, name} */
static void route_backend(struct ld *l, yaml_node_t *t, struct pw_ingress *ing,
			  const struct pw_ing_backend *port, size_t *cap, bool *ok)
{
	const char *kind = ld_opt_str(l, ld_get(l, t, "kind"), "kind");
	if (kind && strcmp(kind, "Service")) {
		pw_warn(l->d, ld_pos(l, t), "Route %s: a target of kind %s, ignored",
			ld_q(l, ing->name), kind);
		return;
	}
	struct pw_ing_backend x = *port;
	x.pos = ld_pos(l, t);
	x.service = ld_want_str(l, ld_get(l, t, "name"), "name");
	if (!x.service)
		*ok = false;
	else
		*PW_PUSH(&l->c->arena, ing->backends, ing->nbackends, *cap) = x;
}

void pw__load_ingress(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	struct pw_ingress ing = { 0 };
	bool ok = true;
	size_t cap = 0;
	ing.name = m->name;
	ing.kind = m->kind;
	ing.ns = pw_cluster_ns(c, m->ns);
	ing.pos = m->pos;
	ing.route = !strcmp(m->kind, "Route");
	yaml_node_t *spec = ld_want_map(l, ld_get(l, m->obj, "spec"), "spec");
	pw__audit_ingress(l, m, spec);
	if (ing.route) {
		struct pw_ing_backend port = { 0 };
		yaml_node_t *tp = ld_get(l, ld_get(l, spec, "port"), "targetPort");
		long v;
		if (ld_plain_int(tp, &v))
			port.port = want_port(l, tp, "targetPort", &ok);
		else if (!ld_is_null(tp))
			port.port_name = ld_want_str(l, tp, "targetPort");
		yaml_node_t *to = ld_want_map(l, ld_get(l, spec, "to"), "to");
		if (to)
			route_backend(l, to, &ing, &port, &cap, &ok);
		yaml_node_t *alt = ld_want_seq(l, ld_get(l, spec, "alternateBackends"),
					       "alternateBackends");
		yaml_node_t *e;
		if (alt)
			SEQ_EACH(l, alt, e)
		{
			if (ld_want_map(l, e, "a backend"))
				route_backend(l, e, &ing, &port, &cap, &ok);
		}
	} else {
		yaml_node_t *db = ld_get(l, spec, "defaultBackend");
		if (ld_is_null(db))
			db = ld_get(l, spec, "backend"); /* extensions/v1beta1 */
		if (!ld_is_null(db) && ld_want_map(l, db, "defaultBackend"))
			ing_backend(l, db, &ing, &cap, &ok);
		yaml_node_t *rules = ld_want_seq(l, ld_get(l, spec, "rules"), "rules");
		yaml_node_t *r, *p;
		if (rules)
			SEQ_EACH(l, rules, r)
		{
			yaml_node_t *paths = ld_want_seq(
				l, ld_get(l, ld_get(l, r, "http"), "paths"), "paths");
			if (paths)
				SEQ_EACH(l, paths, p)
			{
				yaml_node_t *b = ld_get(l, p, "backend");
				if (ld_want_map(l, b, "backend"))
					ing_backend(l, b, &ing, &cap, &ok);
			}
		}
	}
	if (!ok || l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(&c->arena, c->ings, c->nings, c->nings_cap) = ing;
}

/* ---- backends ------------------------------------------------------------ */

const char *pw_service_type_name(enum pw_svc_type t)
{
	static const char *const names[] = { "ClusterIP", "NodePort",
					     "LoadBalancer", "ExternalName" };
	return names[t];
}

const struct pw_service *pw_service_find(const struct pw_cluster *c,
					 const char *ns, const char *name)
{
	int k = pw_cluster_find_ns(c, ns);
	if (k < 0)
		return NULL;
	for (uint32_t i = 0; i < c->nsvcs; i++)
		if (c->svcs[i].ns == (uint32_t)k && !strcmp(c->svcs[i].name, name))
			return &c->svcs[i];
	return NULL;
}

const struct pw_service *pw_service_by_addr(const struct pw_cluster *c,
					    const struct pw_addr *a)
{
	for (uint32_t i = 0; i < c->nsvcs; i++)
		for (uint32_t k = 0; k < c->svcs[i].nvips; k++)
			if (!pw_addr_cmp(&c->svcs[i].vips[k], a))
				return &c->svcs[i];
	return NULL;
}

const struct pw_svc_port *pw_service_port(const struct pw_service *s,
					  int proto, int port)
{
	for (uint32_t i = 0; i < s->nports; i++)
		if (s->ports[i].proto == proto && s->ports[i].port == port)
			return &s->ports[i];
	return NULL;
}

/* The target port of sp on pod p: 0 if p has no container port of that
   name and protocol. */
static int target_on(const struct pw_pod *p, const struct pw_svc_port *sp)
{
	if (!sp->target_name)
		return sp->target;
	for (uint32_t i = 0; i < p->nports; i++)
		if (p->ports[i].name && p->ports[i].proto == sp->proto &&
		    !strcmp(p->ports[i].name, sp->target_name))
			return p->ports[i].port;
	return 0;
}

static int32_t pod_of(const struct pw_cluster *c, uint32_t ns,
		      const struct pw_ep_addr *a)
{
	for (uint32_t i = 0; i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];
		if (p->template)
			continue;
		if (a->pod && p->ns == ns && !strcmp(p->name, a->pod))
			return (int32_t)i;
		for (uint32_t k = 0; !a->pod && k < p->naddrs; k++)
			if (!pw_addr_cmp(&p->addrs[k], &a->addr))
				return (int32_t)i;
	}
	return -1;
}

static void push(struct pw_backend **v, size_t *n, size_t *cap,
		 struct pw_backend b)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = pw_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = b;
}

size_t pw_service_backends(const struct pw_cluster *c,
			   const struct pw_service *s,
			   const struct pw_svc_port *sp, int proto, int port,
			   struct pw_backend **out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	if (s->type == PW_SVC_EXTERNAL_NAME)
		return 0;
	/* the EndpointSlices of the service, else its Endpoints */
	bool slices = false, any = false;
	for (uint32_t i = 0; i < c->neps; i++)
		if (c->eps[i].ns == s->ns && !strcmp(c->eps[i].service, s->name)) {
			any = true;
			slices |= c->eps[i].slice;
		}
	if (any) {
		for (uint32_t i = 0; i < c->neps; i++) {
			const struct pw_endpoints *ep = &c->eps[i];
			if (ep->ns != s->ns || strcmp(ep->service, s->name) ||
			    ep->slice != slices)
				continue;
			/* the endpoint port of the service port's name */
			int bport = sp ? 0 : port;
			for (uint32_t k = 0; sp && k < ep->nports; k++)
				if (ep->ports[k].proto == sp->proto &&
				    ((!ep->ports[k].name && !sp->name) ||
				     (ep->ports[k].name && sp->name &&
				      !strcmp(ep->ports[k].name, sp->name)) ||
				     (ep->nports == 1 && s->nports == 1)))
					bport = ep->ports[k].port;
			if (sp && !bport)
				continue;
			for (uint32_t k = 0; k < ep->naddrs; k++)
				push(out, &n, &cap,
				     (struct pw_backend){ pod_of(c, s->ns, &ep->addrs[k]),
							  ep->addrs[k].addr, proto, bport });
		}
		return n;
	}
	for (uint32_t k = 0; k < s->npods; k++) {
		uint32_t i = s->pods[k];
		const struct pw_pod *p = &c->pods[i];
		int t = sp ? target_on(p, sp) : port;
		if (sp && !t)
			continue;
		struct pw_backend b = { (int32_t)i, { 0 }, proto, t };
		if (p->naddrs)
			b.addr = p->addrs[0];
		push(out, &n, &cap, b);
	}
	return n;
}

/* ---- Ingresses and Routes ------------------------------------------------ */

uint32_t pw_cluster_add_ingress_controller(struct pw_cluster *c)
{
	struct pw_pod *p = PW_PUSH(&c->arena, c->pods, c->npods, c->npods_cap);
	memset(p, 0, sizeof(*p));
	p->name = "ingress-controller";
	p->kind = "Pod";
	p->sa = "default";
	p->ns = pw_cluster_ns(c, "ingress-controller-ns");
	p->pos = ld_file_pos("<ingress-controller>");
	return c->npods - 1;
}

/* The service port a backend names: the first that matches, in order;
   every port when it names none.  netpol-analyzer's matching: a name is
   the port's name (for a Route also a targetPort name), a number the port
   or a numeric targetPort. */
static bool backend_port_matches(const struct pw_ing_backend *b,
				 const struct pw_svc_port *sp, bool route)
{
	if (!b->port && !b->port_name)
		return true;
	if (b->port_name)
		return (sp->name && !strcmp(sp->name, b->port_name)) ||
		       (route && sp->target_name &&
			!strcmp(sp->target_name, b->port_name));
	return sp->port == b->port || (!sp->target_name && sp->target == b->port);
}

static bool pod_declares(const struct pw_pod *p, int port)
{
	for (uint32_t i = 0; i < p->nports; i++)
		if (p->ports[i].port == port)
			return true;
	return false;
}

size_t pw_ingress_exposure(const struct pw_cluster *c,
			   const struct pw_ingress *ing, struct pw_conns *out)
{
	size_t found = 0;
	for (uint32_t k = 0; k < ing->nbackends; k++) {
		const struct pw_ing_backend *b = &ing->backends[k];
		const struct pw_service *s = pw_service_find(c, c->nss[ing->ns].name,
							     b->service);
		if (!s || !s->has_sel)
			continue;
		found++;
		for (uint32_t i = 0; i < s->nports; i++) {
			const struct pw_svc_port *sp = &s->ports[i];
			if (!backend_port_matches(b, sp, ing->route))
				continue;
			for (uint32_t g = 0; g < c->ngroups; g++) {
				const struct pw_group *gr = &c->groups[g];
				if (gr->ns != s->ns || !gr->npods)
					continue;
				const struct pw_pod *p = &c->pods[gr->pods[0]];
				if (!pw_lsel_match(&s->sel, &p->labels))
					continue;
				int t = sp->target;
				if (sp->target_name) {
					t = 0;
					for (uint32_t q = 0; q < p->nports; q++)
						if (p->ports[q].name && p->ports[q].proto == PW_TCP &&
						    !strcmp(p->ports[q].name, sp->target_name))
							t = p->ports[q].port;
				}
				if (t && pod_declares(p, t))
					pw_conns_add(&out[g], PW_TCP, (unsigned)t, (unsigned)t);
			}
			if (b->port || b->port_name)
				break; /* the first port that matches */
		}
	}
	return found;
}
