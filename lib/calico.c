// SPDX-License-Identifier: Apache-2.0
/*
 * Loading projectcalico.org/v3 objects (and the crd.projectcalico.org/v1
 * spelling): NetworkPolicy, GlobalNetworkPolicy, their Staged forms, Tier,
 * NetworkSet, GlobalNetworkSet.  Validation follows Calico's: an error
 * names the node; the object is dropped; loading goes on.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calsel.h"
#include "loader.h"

static struct pw_csel *load_sel(struct ld *l, yaml_node_t *n, const char *what)
{
	if (ld_is_null(n))
		return NULL;
	const char *text = ld_want_str(l, n, what);
	if (!text)
		return NULL;
	/* a YAML block scalar (selector: |) ends in a newline; Calico's
	   tokenizer knows only spaces and tabs */
	size_t len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len != strlen(text))
		text = pw_arena_strndup(&l->c->arena, text, len);
	const char *err = NULL;
	size_t at = 0;
	struct pw_csel *s = pw_csel_parse(&l->c->arena, text, &err, &at);
	if (!s) {
		struct pw_pos p = ld_pos(l, n);
		/* point into the selector when it sits on one line */
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			p.col += (int)at;
		else if (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
			 n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
			p.col += (int)at + 1;
		pw_error(l->d, p, "invalid %s %s: %s", what, ld_q(l, text),
			 err ? err : "syntax error");
	}
	return s;
}

/* "TCP", "tcp", 6 -> IP protocol number; PW_ANY when absent; -2 on error */
static int load_proto(struct ld *l, yaml_node_t *n, const char *what)
{
	long v;
	if (ld_is_null(n))
		return PW_ANY;
	if (ld_plain_int(n, &v)) {
		if (v < 1 || v > 255) {
			pw_error(l->d, ld_pos(l, n), "%s %ld is out of range 1-255",
				 what, v);
			return -2;
		}
		return (int)v;
	}
	const char *s = ld_want_str(l, n, what);
	if (!s)
		return -2;
	int num = pw_ipproto_parse(s, strlen(s));
	if (num > 0)
		return num;
	pw_error(l->d, ld_pos(l, n),
		 "unknown %s %s (want TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255)",
		 what, ld_q(l, s));
	return -2;
}


static bool parse_num(const char *s, long *v)
{
	char *end;
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	*v = strtol(s, &end, 10);
	return !*end;
}

/* Calico ports: 80, "80", "1000:2000", "http". */
static void load_cports(struct ld *l, yaml_node_t *seq, int ipproto,
			struct pw_np_port **out, uint32_t *n, bool *ok)
{
	seq = ld_want_seq(l, seq, "ports");
	if (!seq)
		return;
	*out = pw_arena_alloc(&l->c->arena, ld_seq_len(seq) * sizeof(**out));
	if (ipproto != PW_IPPROTO_TCP && ipproto != PW_IPPROTO_UDP &&
	    ipproto != PW_IPPROTO_SCTP && ipproto != PW_IPPROTO_UDPLITE) {
		pw_error(l->d, ld_pos(l, seq),
			 "ports need protocol TCP, UDP, SCTP or UDPLite in the rule");
		*ok = false;
		return;
	}
	yaml_node_t *pn;
	SEQ_EACH(l, seq, pn)
	{
		struct pw_np_port p = { ipproto == PW_ANY ? PW_ANY : pw_proto_of_ip(ipproto), 0, 0, NULL,
					ld_pos(l, pn) };
		long a, b;
		const char *s = ld_want_str(l, pn, "a port");
		if (!s) {
			*ok = false;
			continue;
		}
		const char *colon = strchr(s, ':');
		if (colon) {
			char lo[16];
			size_t len = (size_t)(colon - s);
			if (len >= sizeof(lo)) {
				len = 0;
			}
			memcpy(lo, s, len);
			lo[len] = 0;
			if (!parse_num(lo, &a) || !parse_num(colon + 1, &b) ||
			    a < 1 || b > PW_PORT_MAX || a > b) {
				pw_error(l->d, ld_pos(l, pn),
					 "invalid port range %s (want LO:HI within 1-65535)",
					 ld_q(l, s));
				*ok = false;
				continue;
			}
			p.port = (int)a;
			p.end_port = (int)b;
		} else if (parse_num(s, &a)) {
			if (a < 1 || a > PW_PORT_MAX) {
				pw_error(l->d, ld_pos(l, pn),
					 "port %ld is out of range 1-65535", a);
				*ok = false;
				continue;
			}
			p.port = (int)a;
		} else {
			const char *why = pw_port_name_invalid(s);
			if (why) {
				pw_error(l->d, ld_pos(l, pn),
					 "invalid named port %s: %s", ld_q(l, s), why);
				*ok = false;
				continue;
			}
			p.name = s;
		}
		(*out)[(*n)++] = p;
	}
}

static void load_nets(struct ld *l, yaml_node_t *seq, const char *what,
		      struct pw_cidr **out, uint32_t *n, bool *ok)
{
	seq = ld_want_seq(l, seq, what);
	if (!seq)
		return;
	*out = pw_arena_alloc(&l->c->arena, ld_seq_len(seq) * sizeof(**out));
	yaml_node_t *e;
	SEQ_EACH(l, seq, e)
	{
		const char *s = ld_want_str(l, e, "a net");
		struct pw_cidr c;
		if (!s) {
			*ok = false;
			continue;
		}
		/* Calico accepts a bare address as a /32 or /128 */
		if (pw_cidr_parse(s, &c) < 0) {
			struct pw_addr a;
			if (pw_addr_parse(s, &a) < 0) {
				pw_error(l->d, ld_pos(l, e), "invalid CIDR %s", ld_q(l, s));
				*ok = false;
				continue;
			}
			c.addr = a;
			c.len = a.family == 4 ? 32 : 128;
		}
		if (ld_v4mapped(l, e, s, &c)) {
			*ok = false;
			continue;
		}
		(*out)[(*n)++] = c;
	}
}

static void load_strs(struct ld *l, yaml_node_t *seq, const char *what,
		      const char ***out, uint32_t *n, bool *ok)
{
	seq = ld_want_seq(l, seq, what);
	if (!seq)
		return;
	*out = pw_arena_alloc(&l->c->arena, ld_seq_len(seq) * sizeof(**out));
	yaml_node_t *e;
	SEQ_EACH(l, seq, e)
	{
		const char *s = ld_want_str(l, e, what);
		if (!s || !*s) {
			*ok = false;
			if (s)
				pw_error(l->d, ld_pos(l, e), "empty %s entry", what);
			continue;
		}
		(*out)[(*n)++] = s;
	}
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static void load_side(struct ld *l, yaml_node_t *n, int ipproto, bool dst,
		      struct pw_cside *o, bool *ok)
{
	n = ld_want_map(l, n, dst ? "destination" : "source");
	if (!n)
		return;
	load_nets(l, ld_get(l, n, "nets"), "nets", &o->nets, &o->nnets, ok);
	load_nets(l, ld_get(l, n, "notNets"), "notNets", &o->not_nets,
		  &o->nnot_nets, ok);
	o->sel = load_sel(l, ld_get(l, n, "selector"), "selector");
	o->not_sel = load_sel(l, ld_get(l, n, "notSelector"), "notSelector");
	o->ns_sel = load_sel(l, ld_get(l, n, "namespaceSelector"),
			     "namespaceSelector");
	if ((!ld_is_null(ld_get(l, n, "selector")) && !o->sel) ||
	    (!ld_is_null(ld_get(l, n, "notSelector")) && !o->not_sel) ||
	    (!ld_is_null(ld_get(l, n, "namespaceSelector")) && !o->ns_sel))
		*ok = false;
	yaml_node_t *ports = ld_get(l, n, "ports");
	yaml_node_t *nports = ld_get(l, n, "notPorts");
	if (!ld_is_null(ports))
		load_cports(l, ports, ipproto, &o->ports, &o->nports, ok);
	if (!ld_is_null(nports))
		load_cports(l, nports, ipproto, &o->not_ports, &o->nnot_ports, ok);
	yaml_node_t *sa = ld_want_map(l, ld_get(l, n, "serviceAccounts"),
				      "serviceAccounts");
	if (sa) {
		o->has_sa = true;
		load_strs(l, ld_get(l, sa, "names"), "names", &o->sa_names,
			  &o->nsa_names, ok);
		yaml_node_t *ss = ld_get(l, sa, "selector");
		o->sa_sel = load_sel(l, ss, "serviceAccounts selector");
		if (!ld_is_null(ss) && !o->sa_sel)
			*ok = false;
	}
	yaml_node_t *dom = ld_get(l, n, "domains");
	if (!ld_is_null(dom)) {
		if (!dst) {
			pw_error(l->d, ld_pos(l, dom),
				 "domains are allowed only in a destination");
			*ok = false;
		} else {
			load_strs(l, dom, "domains", &o->domains, &o->ndomains, ok);
			for (uint32_t i = 0; i < o->ndomains; i++) {
				char *d = pw_arena_strdup(&l->c->arena, o->domains[i]);
				lower(d);
				o->domains[i] = d;
			}
		}
	}
	if (!ld_is_null(ld_get(l, n, "services")))
		pw_warn(l->d, ld_pos(l, ld_get(l, n, "services")),
			"rule services are not analysed; the rule side matches as if they were absent");
}

static bool load_icmp(struct ld *l, yaml_node_t *n, int *type, int *code)
{
	*type = *code = PW_ANY;
	n = ld_want_map(l, n, "icmp");
	if (!n)
		return true;
	long v;
	yaml_node_t *t = ld_get(l, n, "type"), *c = ld_get(l, n, "code");
	if (!ld_is_null(t)) {
		if (!ld_want_int(l, t, "icmp type", &v))
			return false;
		if (v < 0 || v > 254) {
			pw_error(l->d, ld_pos(l, t), "icmp type %ld is out of range 0-254", v);
			return false;
		}
		*type = (int)v;
	}
	if (!ld_is_null(c)) {
		if (!ld_want_int(l, c, "icmp code", &v))
			return false;
		if (v < 0 || v > 255) {
			pw_error(l->d, ld_pos(l, c), "icmp code %ld is out of range 0-255", v);
			return false;
		}
		if (*type == PW_ANY) {
			pw_error(l->d, ld_pos(l, c), "icmp code needs an icmp type");
			return false;
		}
		*code = (int)v;
	}
	return true;
}

static const char *const action_names[] = { "Allow", "Deny", "Pass", "Log" };

static void load_rules(struct ld *l, yaml_node_t *list, enum pw_dir dir,
		       struct pw_cpolicy *p, bool *ok)
{
	list = ld_want_seq(l, list, dir == PW_INGRESS ? "ingress" : "egress");
	if (!list)
		return;
	p->rules[dir] = pw_arena_alloc(&l->c->arena,
				       ld_seq_len(list) * sizeof(struct pw_crule));
	yaml_node_t *rn;
	SEQ_EACH(l, list, rn)
	{
		struct pw_crule *r = &p->rules[dir][p->nrules[dir]++];
		r->pos = ld_pos(l, rn);
		if (!ld_want_map(l, rn, "a rule")) {
			*ok = false;
			continue;
		}
		yaml_node_t *an = ld_get(l, rn, "action");
		const char *a = an ? ld_want_str(l, an, "action") : NULL;
		int act = -1;
		for (int i = 0; a && i < 4; i++)
			if (!strcasecmp(a, action_names[i]))
				act = i;
		if (act < 0) {
			if (!an)
				pw_error(l->d, r->pos, "a rule needs an action");
			else if (a)
				pw_error(l->d, ld_pos(l, an),
					 "unknown action %s (want Allow, Deny, Pass or Log)", ld_q(l, a));
			*ok = false;
			continue;
		}
		r->action = (enum pw_action)act;
		r->proto = load_proto(l, ld_get(l, rn, "protocol"), "protocol");
		r->not_proto = load_proto(l, ld_get(l, rn, "notProtocol"), "notProtocol");
		if (r->proto == -2 || r->not_proto == -2) {
			*ok = false;
			continue;
		}
		yaml_node_t *icmp = ld_get(l, rn, "icmp");
		yaml_node_t *nicmp = ld_get(l, rn, "notICMP");
		if (!load_icmp(l, icmp, &r->icmp_type, &r->icmp_code) ||
		    !load_icmp(l, nicmp, &r->not_icmp_type, &r->not_icmp_code)) {
			*ok = false;
			continue;
		}
		if ((!ld_is_null(icmp) || !ld_is_null(nicmp)) &&
		    r->proto != PW_IPPROTO_ICMP && r->proto != PW_IPPROTO_ICMPV6) {
			pw_error(l->d, ld_pos(l, !ld_is_null(icmp) ? icmp : nicmp),
				 "icmp and notICMP need protocol ICMP or ICMPv6");
			*ok = false;
			continue;
		}
		yaml_node_t *ipv = ld_get(l, rn, "ipVersion");
		long v;
		if (!ld_is_null(ipv)) {
			if (!ld_want_int(l, ipv, "ipVersion", &v) || (v != 4 && v != 6)) {
				if (ld_plain_int(ipv, &v))
					pw_error(l->d, ld_pos(l, ipv), "ipVersion must be 4 or 6");
				*ok = false;
				continue;
			}
			r->ip_version = (int)v;
		}
		load_side(l, ld_get(l, rn, "source"), r->proto, false, &r->src, ok);
		load_side(l, ld_get(l, rn, "destination"), r->proto, true, &r->dst, ok);
		if (!ld_is_null(ld_get(l, rn, "http")))
			pw_warn(l->d, ld_pos(l, ld_get(l, rn, "http")),
				"http match criteria are not analysed");
	}
}

/* Strip "<tier>." from a policy name, as Calico stores it. */
static const char *bare_name(struct ld *l, const char *name, const char *tier)
{
	size_t n = strlen(tier);
	if (!strncmp(name, tier, n) && name[n] == '.' && name[n + 1])
		return pw_arena_strdup(&l->c->arena, name + n + 1);
	return name;
}

void pw__load_calico_policy(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	struct pw_cpolicy p = { 0 };
	bool ok = true;
	bool global = strstr(m->kind, "Global") != NULL;
	p.kind = m->kind;
	p.pos = m->pos;
	p.ns = global ? -1 : (int)pw_cluster_ns(c, m->ns);
	yaml_node_t *spec = ld_want_map(l, ld_get(l, m->obj, "spec"), "spec");
	p.tier = ld_opt_str(l, ld_get(l, spec, "tier"), "tier");
	if (!p.tier || !*p.tier)
		p.tier = "default";
	p.name = bare_name(l, m->name, p.tier);
	yaml_node_t *on = ld_get(l, spec, "order");
	if (!ld_is_null(on)) {
		const char *s = ld_want_str(l, on, "order");
		char *end = NULL;
		double d = s ? strtod(s, &end) : 0;
		if (!s || !*s || *end || !isfinite(d) || on->data.scalar.style !=
							   YAML_PLAIN_SCALAR_STYLE) {
			if (s)
				pw_error(l->d, ld_pos(l, on), "order must be a number");
			ok = false;
		}
		p.has_order = true;
		p.order = d;
	}
	yaml_node_t *sn = ld_get(l, spec, "selector");
	p.sel = load_sel(l, sn, "selector");
	if (!ld_is_null(sn) && !p.sel)
		ok = false;
	yaml_node_t *nsn = ld_get(l, spec, "namespaceSelector");
	if (!ld_is_null(nsn)) {
		if (!global) {
			pw_error(l->d, ld_pos(l, nsn),
				 "namespaceSelector is only valid in a global policy");
			ok = false;
		}
		p.ns_sel = load_sel(l, nsn, "namespaceSelector");
		if (!p.ns_sel)
			ok = false;
	}
	yaml_node_t *san = ld_get(l, spec, "serviceAccountSelector");
	p.sa_sel = load_sel(l, san, "serviceAccountSelector");
	if (!ld_is_null(san) && !p.sa_sel)
		ok = false;
	yaml_node_t *in = ld_get(l, spec, "ingress"), *eg = ld_get(l, spec, "egress");
	load_rules(l, in, PW_INGRESS, &p, &ok);
	load_rules(l, eg, PW_EGRESS, &p, &ok);
	yaml_node_t *types = ld_want_seq(l, ld_get(l, spec, "types"), "types");
	yaml_node_t *t;
	if (types)
		SEQ_EACH(l, types, t)
		{
			const char *ts = ld_want_str(l, t, "a policy type");
			if (ts && !strcasecmp(ts, "Ingress"))
				p.types |= PW_TYPE_INGRESS;
			else if (ts && !strcasecmp(ts, "Egress"))
				p.types |= PW_TYPE_EGRESS;
			else {
				if (ts)
					pw_error(l->d, ld_pos(l, t),
						 "unknown policy type %s (want Ingress or Egress)", ld_q(l, ts));
				ok = false;
			}
		}
	if (!p.types && !strcmp(m->group, "crd.projectcalico.org")) {
		/* The CRD is what the Calico API server and calicoctl write
		   after defaulting; applied directly (kubectl), nothing fills
		   in types, and Felix reads none as both directions. */
		p.types = PW_TYPE_INGRESS | PW_TYPE_EGRESS;
		pw_warn(l->d, m->pos,
			"%s %s is crd.projectcalico.org/v1 without types: the "
			"Calico API's defaulting is bypassed and Felix enforces it "
			"for Ingress and Egress, so the endpoints it selects lose "
			"every egress that no rule allows (set types, or apply it "
			"as projectcalico.org/v3)",
			m->kind, ld_q(l, m->name));
	}
	if (!p.types) {
		/* Calico: Ingress, unless there are egress rules and no
		   ingress rules (Egress), or both (Ingress and Egress) */
		if (p.nrules[PW_EGRESS] && !p.nrules[PW_INGRESS])
			p.types = PW_TYPE_EGRESS;
		else if (p.nrules[PW_EGRESS])
			p.types = PW_TYPE_INGRESS | PW_TYPE_EGRESS;
		else
			p.types = PW_TYPE_INGRESS;
	}
	if (!strncmp(m->kind, "Staged", 6)) {
		yaml_node_t *sa = ld_get(l, spec, "stagedAction");
		const char *s = ld_opt_str(l, sa, "stagedAction");
		p.staged = PW_STAGED_SET;
		if (s && !strcmp(s, "Delete"))
			p.staged = PW_STAGED_DELETE;
		else if (s && strcmp(s, "Set")) {
			pw_error(l->d, ld_pos(l, sa),
				 "unknown stagedAction %s (want Set or Delete)", ld_q(l, s));
			ok = false;
		}
	}
	if (!ok || l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(&c->arena, c->cpols, c->ncpols, c->ncpols_cap) = p;
}

void pw__load_calico_tier(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	struct pw_tier t = { 0 };
	t.name = m->name;
	t.pos = m->pos;
	t.default_action = PW_ACT_DENY;
	yaml_node_t *spec = ld_want_map(l, ld_get(l, m->obj, "spec"), "spec");
	yaml_node_t *on = ld_get(l, spec, "order");
	if (!ld_is_null(on)) {
		const char *s = ld_want_str(l, on, "order");
		char *end = NULL;
		double d = s ? strtod(s, &end) : 0;
		if (!s || !*s || *end || !isfinite(d)) {
			if (s)
				pw_error(l->d, ld_pos(l, on), "order must be a number");
		}
		t.has_order = true;
		t.order = d;
	}
	yaml_node_t *da = ld_get(l, spec, "defaultAction");
	const char *s = ld_opt_str(l, da, "defaultAction");
	if (s && !strcasecmp(s, "Pass"))
		t.default_action = PW_ACT_PASS;
	else if (s && strcasecmp(s, "Deny")) {
		pw_error(l->d, ld_pos(l, da),
			 "unknown defaultAction %s (want Deny or Pass)", ld_q(l, s));
	}
	if (l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(&c->arena, c->tiers, c->ntiers, c->ntiers_cap) = t;
}

void pw__load_calico_netset(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	struct pw_netset s = { 0 };
	bool ok = true;
	s.name = m->name;
	s.ns = strstr(m->kind, "Global") ? -1 : (int)pw_cluster_ns(c, m->ns);
	s.labels = m->labels;
	s.pos = m->pos;
	yaml_node_t *spec = ld_want_map(l, ld_get(l, m->obj, "spec"), "spec");
	load_nets(l, ld_get(l, spec, "nets"), "nets", &s.nets, &s.nnets, &ok);
	load_strs(l, ld_get(l, spec, "allowedEgressDomains"), "allowedEgressDomains",
		  &s.domains, &s.ndomains, &ok);
	for (uint32_t i = 0; i < s.ndomains; i++) {
		char *d = pw_arena_strdup(&c->arena, s.domains[i]);
		lower(d);
		s.domains[i] = d;
	}
	if (!ok || l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(&c->arena, c->netsets, c->nnetsets, c->nnetsets_cap) = s;
}
