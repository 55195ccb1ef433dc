// SPDX-License-Identifier: Apache-2.0
/*
 * Loading policy.networking.k8s.io objects: AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy (v1alpha1), and ClusterNetworkPolicy
 * (v1alpha2, tier Admin|Baseline, actions Accept|Deny|Pass).
 */
#include <stdlib.h>
#include <string.h>

#include "loader.h"

static bool load_subject(struct ld *l, yaml_node_t *n, struct pw_apolicy *p)
{
	n = ld_want_map(l, n, "subject");
	if (!n) {
		pw_error(l->d, p->pos, "%s needs a subject", p->kind);
		return false;
	}
	yaml_node_t *ns = ld_get(l, n, "namespaces");
	yaml_node_t *pods = ld_get(l, n, "pods");
	if ((!ns) == (!pods)) {
		pw_error(l->d, ld_pos(l, n),
			 "subject must have exactly one of namespaces and pods");
		return false;
	}
	size_t before = l->d->errors;
	if (ns) {
		p->subj_ns = ld_lsel(l, ns, "namespaces");
		if (!p->subj_ns)
			p->subj_ns = pw_arena_alloc(&l->c->arena, sizeof(*p->subj_ns));
	} else {
		if (!ld_want_map(l, pods, "pods"))
			return false;
		/* an absent selector is the empty one: all */
		yaml_node_t *nsn = ld_get(l, pods, "namespaceSelector");
		yaml_node_t *psn = ld_get(l, pods, "podSelector");
		p->subj_ns = ld_lsel(l, nsn, "namespaceSelector");
		p->subj_pod = ld_lsel(l, psn, "podSelector");
		if (!p->subj_ns)
			p->subj_ns = pw_arena_alloc(&l->c->arena, sizeof(*p->subj_ns));
		if (!p->subj_pod)
			p->subj_pod = pw_arena_alloc(&l->c->arena, sizeof(*p->subj_pod));
	}
	return l->d->errors == before;
}

static bool load_peer(struct ld *l, yaml_node_t *n, enum pw_dir dir,
		      struct pw_apeer *o)
{
	struct pw_arena *a = &l->c->arena;
	o->pos = ld_pos(l, n);
	if (!ld_want_map(l, n, "a peer"))
		return false;
	static const char *const keys[] = { "namespaces", "pods", "networks", "nodes" };
	int found = -1, count = 0;
	for (int i = 0; i < 4; i++)
		if (ld_get(l, n, keys[i])) {
			found = i;
			count++;
		}
	if (count != 1) {
		pw_error(l->d, o->pos,
			 "a peer must have exactly one of namespaces, pods%s",
			 dir == PW_EGRESS ? ", networks, nodes" : "");
		return false;
	}
	if (dir == PW_INGRESS && found >= PW_AP_NETWORKS) {
		pw_error(l->d, o->pos, "%s peers are valid only in egress rules",
			 keys[found]);
		return false;
	}
	o->kind = (enum pw_apeer_kind)found;
	yaml_node_t *v = ld_get(l, n, keys[found]);
	size_t before = l->d->errors;
	switch (o->kind) {
	case PW_AP_NAMESPACES:
	case PW_AP_NODES:
		o->ns_sel = ld_lsel(l, v, keys[found]);
		if (!o->ns_sel)
			o->ns_sel = pw_arena_alloc(a, sizeof(*o->ns_sel));
		break;
	case PW_AP_PODS: {
		if (!ld_want_map(l, v, "pods"))
			return false;
		yaml_node_t *nsn = ld_get(l, v, "namespaceSelector");
		yaml_node_t *psn = ld_get(l, v, "podSelector");
		o->ns_sel = ld_lsel(l, nsn, "namespaceSelector");
		o->pod_sel = ld_lsel(l, psn, "podSelector");
		if (!o->ns_sel)
			o->ns_sel = pw_arena_alloc(a, sizeof(*o->ns_sel));
		if (!o->pod_sel)
			o->pod_sel = pw_arena_alloc(a, sizeof(*o->pod_sel));
		break;
	}
	case PW_AP_NETWORKS: {
		yaml_node_t *seq = ld_want_seq(l, v, "networks");
		if (!seq || !ld_seq_len(seq)) {
			if (seq || ld_is_null(v))
				pw_error(l->d, ld_pos(l, v), "networks must not be empty");
			return false;
		}
		o->nets = pw_arena_alloc(a, ld_seq_len(seq) * sizeof(*o->nets));
		yaml_node_t *e;
		SEQ_EACH(l, seq, e)
		{
			const char *s = ld_want_str(l, e, "a network");
			if (s && pw_cidr_parse(s, &o->nets[o->nnets]) == 0) {
				if (!ld_v4mapped(l, e, s, &o->nets[o->nnets]))
					o->nnets++;
			}
			else if (s)
				pw_error(l->d, ld_pos(l, e), "invalid CIDR %s", ld_q(l, s));
		}
		break;
	}
	}
	return l->d->errors == before;
}

/* v1alpha1 ports: portNumber {protocol, port}, portRange {protocol, start,
   end}, namedPort. */
static bool load_aport(struct ld *l, yaml_node_t *n, struct pw_np_port *o)
{
	o->pos = ld_pos(l, n);
	o->proto = PW_TCP;
	if (!ld_want_map(l, n, "a port"))
		return false;
	yaml_node_t *pn = ld_get(l, n, "portNumber");
	yaml_node_t *pr = ld_get(l, n, "portRange");
	yaml_node_t *nm = ld_get(l, n, "namedPort");
	if ((pn != NULL) + (pr != NULL) + (nm != NULL) != 1) {
		pw_error(l->d, o->pos,
			 "a port must have exactly one of portNumber, portRange, namedPort");
		return false;
	}
	if (nm) {
		/* the protocol is the container port's */
		o->proto = PW_ANY;
		o->name = ld_want_str(l, nm, "namedPort");
		const char *why = o->name ? pw_port_name_invalid(o->name) : "";
		if (why) {
			if (o->name)
				pw_error(l->d, ld_pos(l, nm), "invalid namedPort %s: %s",
					 ld_q(l, o->name), why);
			return false;
		}
		return true;
	}
	yaml_node_t *m = pn ? pn : pr;
	if (!ld_want_map(l, m, pn ? "portNumber" : "portRange"))
		return false;
	yaml_node_t *prn = ld_get(l, m, "protocol");
	const char *ps = ld_opt_str(l, prn, "protocol");
	if (ps) {
		o->proto = pw_proto_parse(ps);
		if (o->proto < 0 || strcmp(ps, pw_proto_name(o->proto))) {
			pw_error(l->d, ld_pos(l, prn),
				 "unknown protocol %s (want TCP, UDP or SCTP)", ld_q(l, ps));
			return false;
		}
	}
	long a, b;
	if (pn) {
		yaml_node_t *v = ld_get(l, m, "port");
		if (!v) {
			pw_error(l->d, ld_pos(l, m), "portNumber needs a port");
			return false;
		}
		if (!ld_want_int(l, v, "port", &a))
			return false;
		if (a < 1 || a > PW_PORT_MAX) {
			pw_error(l->d, ld_pos(l, v), "port %ld is out of range 1-65535", a);
			return false;
		}
		o->port = (int)a;
		return true;
	}
	yaml_node_t *s = ld_get(l, m, "start"), *e = ld_get(l, m, "end");
	if (!s || !e) {
		pw_error(l->d, ld_pos(l, m), "portRange needs start and end");
		return false;
	}
	if (!ld_want_int(l, s, "start", &a) || !ld_want_int(l, e, "end", &b))
		return false;
	if (a < 1 || b > PW_PORT_MAX || a > b) {
		pw_error(l->d, ld_pos(l, m),
			 "invalid port range %ld-%ld (want start <= end within 1-65535)", a, b);
		return false;
	}
	o->port = (int)a;
	o->end_port = (int)b;
	return true;
}

/* v1alpha2 protocols: [{tcp: {destinationPort: {number: N} | {range:
   {start, end}}}}, {udp: ...}, {sctp: ...}, {destinationNamedPort: x}] */
static bool load_cnp_proto(struct ld *l, yaml_node_t *n, struct pw_np_port *o)
{
	o->pos = ld_pos(l, n);
	if (!ld_want_map(l, n, "a protocol"))
		return false;
	yaml_node_t *nm = ld_get(l, n, "destinationNamedPort");
	if (nm) {
		o->proto = PW_ANY;
		o->name = ld_want_str(l, nm, "destinationNamedPort");
		const char *why = o->name ? pw_port_name_invalid(o->name) : "";
		if (why) {
			if (o->name)
				pw_error(l->d, ld_pos(l, nm), "invalid named port %s: %s",
					 ld_q(l, o->name), why);
			return false;
		}
		return true;
	}
	static const char *const keys[] = { "tcp", "udp", "sctp" };
	yaml_node_t *pm = NULL;
	for (int i = 0; i < 3; i++)
		if ((pm = ld_get(l, n, keys[i]))) {
			o->proto = i;
			break;
		}
	if (!pm) {
		pw_error(l->d, o->pos,
			 "a protocol must be tcp, udp, sctp or destinationNamedPort");
		return false;
	}
	yaml_node_t *dp = ld_get(l, ld_want_map(l, pm, keys[o->proto]), "destinationPort");
	if (ld_is_null(dp))
		return true; /* every port of the protocol */
	if (!ld_want_map(l, dp, "destinationPort"))
		return false;
	long a, b;
	yaml_node_t *num = ld_get(l, dp, "number"), *rg = ld_get(l, dp, "range");
	if (num) {
		if (!ld_want_int(l, num, "number", &a))
			return false;
		if (a < 1 || a > PW_PORT_MAX) {
			pw_error(l->d, ld_pos(l, num), "port %ld is out of range 1-65535", a);
			return false;
		}
		o->port = (int)a;
		return true;
	}
	if (!ld_want_map(l, rg, "range")) {
		pw_error(l->d, ld_pos(l, dp), "destinationPort needs number or range");
		return false;
	}
	yaml_node_t *s = ld_get(l, rg, "start"), *e = ld_get(l, rg, "end");
	if (!s || !e || !ld_want_int(l, s, "start", &a) || !ld_want_int(l, e, "end", &b))
		return false;
	if (a < 1 || b > PW_PORT_MAX || a > b) {
		pw_error(l->d, ld_pos(l, rg), "invalid port range %ld-%ld", a, b);
		return false;
	}
	o->port = (int)a;
	o->end_port = (int)b;
	return true;
}

static void load_arules(struct ld *l, yaml_node_t *list, enum pw_dir dir,
			struct pw_apolicy *p, bool cnp, bool *ok)
{
	struct pw_arena *a = &l->c->arena;
	list = ld_want_seq(l, list, dir == PW_INGRESS ? "ingress" : "egress");
	if (!list)
		return;
	p->rules[dir] = pw_arena_alloc(a, ld_seq_len(list) * sizeof(struct pw_arule));
	yaml_node_t *rn;
	SEQ_EACH(l, list, rn)
	{
		struct pw_arule *r = &p->rules[dir][p->nrules[dir]++];
		r->pos = ld_pos(l, rn);
		if (!ld_want_map(l, rn, "a rule")) {
			*ok = false;
			continue;
		}
		r->name = ld_opt_str(l, ld_get(l, rn, "name"), "name");
		yaml_node_t *an = ld_get(l, rn, "action");
		const char *as = ld_opt_str(l, an, "action");
		if (as && (!strcmp(as, "Allow") || (cnp && !strcmp(as, "Accept"))) &&
		    !(cnp && !strcmp(as, "Allow")))
			r->action = PW_ACT_ALLOW;
		else if (as && !strcmp(as, "Deny"))
			r->action = PW_ACT_DENY;
		else if (as && !strcmp(as, "Pass") && !p->baseline)
			r->action = PW_ACT_PASS;
		else {
			pw_error(l->d, an ? ld_pos(l, an) : r->pos,
				 "%s%s%s (want %s)", as ? "unknown action \"" : "a rule needs an action",
				 as ? as : "", as ? "\"" : "",
				 cnp ? (p->baseline ? "Accept or Deny" : "Accept, Deny or Pass")
				     : (p->baseline ? "Allow or Deny" : "Allow, Deny or Pass"));
			*ok = false;
			continue;
		}
		const char *pk = dir == PW_INGRESS ? "from" : "to";
		yaml_node_t *peers = ld_want_seq(l, ld_get(l, rn, pk), pk);
		if (!peers || !ld_seq_len(peers)) {
			pw_error(l->d, r->pos, "a rule needs a non-empty `%s`", pk);
			*ok = false;
			continue;
		}
		r->peers = pw_arena_alloc(a, ld_seq_len(peers) * sizeof(*r->peers));
		yaml_node_t *x;
		SEQ_EACH(l, peers, x)
		{
			if (!load_peer(l, x, dir, &r->peers[r->npeers++]))
				*ok = false;
		}
		const char *portkey = cnp ? "protocols" : "ports";
		yaml_node_t *ports = ld_want_seq(l, ld_get(l, rn, portkey), portkey);
		if (ports) {
			r->ports = pw_arena_alloc(a, ld_seq_len(ports) * sizeof(*r->ports));
			SEQ_EACH(l, ports, x)
			{
				bool good = cnp ? load_cnp_proto(l, x, &r->ports[r->nports])
						: load_aport(l, x, &r->ports[r->nports]);
				if (good)
					r->nports++;
				else
					*ok = false;
			}
		}
	}
}

void pw__load_admin_policy(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	struct pw_apolicy p = { 0 };
	bool ok = true;
	bool cnp = !strcmp(m->kind, "ClusterNetworkPolicy");
	p.name = m->name;
	p.kind = m->kind;
	p.pos = m->pos;
	p.baseline = !strcmp(m->kind, "BaselineAdminNetworkPolicy");
	yaml_node_t *spec = ld_want_map(l, ld_get(l, m->obj, "spec"), "spec");
	if (!spec) {
		pw_error(l->d, m->pos, "%s needs a spec", m->kind);
		return;
	}
	if (cnp) {
		yaml_node_t *tn = ld_get(l, spec, "tier");
		const char *t = ld_opt_str(l, tn, "tier");
		if (t && !strcmp(t, "Baseline"))
			p.baseline = true;
		else if (!t || strcmp(t, "Admin")) {
			pw_error(l->d, tn ? ld_pos(l, tn) : m->pos,
				 "tier must be Admin or Baseline");
			ok = false;
		}
	}
	if (p.baseline && !cnp && strcmp(m->name, "default")) {
		pw_error(l->d, m->pos,
			 "a BaselineAdminNetworkPolicy must be named \"default\"");
		ok = false;
	}
	yaml_node_t *pn = ld_get(l, spec, "priority");
	if (!p.baseline || cnp) {
		long v;
		if (!pn) {
			pw_error(l->d, ld_pos(l, spec), "%s needs a priority", m->kind);
			ok = false;
		} else if (ld_want_int(l, pn, "priority", &v)) {
			if (v < 0 || v > 1000) {
				pw_error(l->d, ld_pos(l, pn),
					 "priority %ld is out of range 0-1000", v);
				ok = false;
			}
			p.priority = (int)v;
		} else {
			ok = false;
		}
	}
	if (!load_subject(l, ld_get(l, spec, "subject"), &p))
		ok = false;
	load_arules(l, ld_get(l, spec, "ingress"), PW_INGRESS, &p, cnp, &ok);
	load_arules(l, ld_get(l, spec, "egress"), PW_EGRESS, &p, cnp, &ok);
	if (!ok || l->d->errors > l->errors_at_start)
		return;
	/* two policies of one tier at the same priority: the order between
	   them is undefined, so the verdict would be too */
	for (uint32_t i = 0; i < c->napols; i++) {
		const struct pw_apolicy *o = &c->apols[i];
		if (o->baseline == p.baseline && o->priority == p.priority &&
		    (!p.baseline || cnp)) {
			pw_error(l->d, m->pos,
				 "%s %s has priority %d, like %s (%s:%d): their order would be undefined",
				 m->kind, ld_q(l, m->name), p.priority, ld_q(l, o->name), o->pos.file, o->pos.line);
			return;
		}
		if (p.baseline && !cnp && o->baseline && !strcmp(o->kind, p.kind)) {
			pw_error(l->d, m->pos, "only one BaselineAdminNetworkPolicy may exist");
			return;
		}
	}
	*PW_PUSH(&c->arena, c->apols, c->napols, c->napols_cap) = p;
}
