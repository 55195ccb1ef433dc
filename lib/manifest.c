// SPDX-License-Identifier: Apache-2.0
/*
 * Manifest loading: YAML/JSON files (through libyaml's document API) into
 * the cluster model, with validation.  Every problem is reported with the
 * file, line and column of the offending node; an object with an error is
 * dropped and loading goes on, so one run reports every error.
 */
#include "loader.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* Refuse inputs larger than this: a manifest is not a data dump. */
#define PW_MAX_FILE_SIZE (256u << 20)
/* Deepest List nesting we follow. */
#define PW_MAX_LIST_DEPTH 4
/* Deepest nesting of mappings and sequences in a document; a manifest needs
   about 15.  Deeper input is refused before libyaml spends time on it. */
#define PW_MAX_NESTING 64



struct pw_pos ld_file_pos(const char *file)
{
	struct pw_pos p = { file, 0, 0 };
	return p;
}

const char *ld_q(struct ld *l, const char *s)
{
	return pw_arena_quote(&l->c->arena, s);
}

struct pw_pos ld_pos(const struct ld *l, const yaml_node_t *n)
{
	struct pw_pos p = { l->file, 0, 0 };
	if (n) {
		p.line = (int)n->start_mark.line + 1;
		p.col = (int)n->start_mark.column + 1;
	}
	return p;
}

yaml_node_t *ld_node(const struct ld *l, int idx)
{
	return yaml_document_get_node(l->doc, idx);
}

bool ld_is_null(const yaml_node_t *n)
{
	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* Value of key in a mapping, NULL if absent (or if n is not a mapping). */
yaml_node_t *ld_get(const struct ld *l, const yaml_node_t *n,
			const char *key)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ld_node(l, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return ld_node(l, p->value);
	}
	return NULL;
}

const char *ld_type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

/* A mapping or null.  Reports wrong types; returns NULL for null/absent. */
yaml_node_t *ld_want_map(struct ld *l, yaml_node_t *n, const char *what)
{
	if (ld_is_null(n))
		return NULL;
	if (n->type != YAML_MAPPING_NODE) {
		pw_error(l->d, ld_pos(l, n), "%s must be a mapping, not %s",
			 what, ld_type_name(n));
		return NULL;
	}
	return n;
}

yaml_node_t *ld_want_seq(struct ld *l, yaml_node_t *n, const char *what)
{
	if (ld_is_null(n))
		return NULL;
	if (n->type != YAML_SEQUENCE_NODE) {
		pw_error(l->d, ld_pos(l, n), "%s must be a list, not %s",
			 what, ld_type_name(n));
		return NULL;
	}
	return n;
}



size_t ld_seq_len(const yaml_node_t *seq)
{
	return seq ? (size_t)(seq->data.sequence.items.top -
			      seq->data.sequence.items.start)
		   : 0;
}

/* A scalar as an arena string; NULL (with an error) if not a scalar. */
const char *ld_want_str(struct ld *l, yaml_node_t *n, const char *what)
{
	if (!n || n->type != YAML_SCALAR_NODE) {
		if (n)
			pw_error(l->d, ld_pos(l, n),
				 "%s must be a string, not %s", what,
				 ld_type_name(n));
		return NULL;
	}
	return pw_arena_strndup(&l->c->arena,
				(const char *)n->data.scalar.value,
				n->data.scalar.length);
}

/* Optional string: absent/null -> NULL without error. */
const char *ld_opt_str(struct ld *l, yaml_node_t *n, const char *what)
{
	return ld_is_null(n) ? NULL : ld_want_str(l, n, what);
}

/* Digits of base in s, into *v (saturating at LONG_MAX); false if s is
   empty or has another character. */
static bool digits(const char *s, int base, unsigned long *v)
{
	*v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		int dv = *s >= '0' && *s <= '9' ? *s - '0'
			 : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			 : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : 99;
		if (dv >= base)
			return false;
		*v = *v > (unsigned long)LONG_MAX / 16 ? (unsigned long)LONG_MAX
						      : *v * (unsigned long)base + (unsigned long)dv;
	}
	return true;
}

/* YAML 1.1's float form, as go-yaml v2 matches it:
   [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool yaml_float_form(const char *s)
{
	const char *p = s + (*s == '+' || *s == '-');
	size_t n = strspn(p, "0123456789");
	if (!n && *p != '.')
		return false;
	p += n;
	if (*p == '.') {
		size_t f = strspn(p + 1, "0123456789");
		if (!n && !f)
			return false;
		p += 1 + f;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		p += *p == '+' || *p == '-';
		n = strspn(p, "0123456789");
		if (!n)
			return false;
		p += n;
	}
	return !*p;
}

/*
 * An integer as kubectl reads it: Kubernetes' YAML decoder (go-yaml v2, YAML
 * 1.1) resolves a plain scalar without underscores by Go's ParseInt(s, 0):
 * 0x50 is 80, 0o17 and 017 are 15, 0b101 is 5; failing that, one in float
 * form is a float, which JSON carries as an integer when it has no fraction
 * (08 and 1e3 are 8 and 1000).  Quoted scalars are strings.
 */
bool ld_plain_int(const yaml_node_t *n, long *out)
{
	if (!n || n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    n->data.scalar.length > 64)
		return false;
	const char *in = (const char *)n->data.scalar.value;
	if (!((*in >= '0' && *in <= '9') || *in == '+' || *in == '-' ||
	      *in == '.'))
		return false;
	char plain[65];
	size_t k = 0;
	for (const char *p = in; *p; p++)
		if (*p != '_')
			plain[k++] = *p;
	plain[k] = 0;
	const char *s = plain;
	bool neg = *s == '-';
	if (*s == '+' || *s == '-')
		s++;
	unsigned long v;
	bool ok;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		ok = digits(s + 2, 16, &v);
	else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		ok = digits(s + 2, 8, &v);
	else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		ok = digits(s + 2, 2, &v);
	else if (s[0] == '0' && s[1])
		ok = digits(s + 1, 8, &v);
	else
		ok = digits(s, 10, &v);
	if (*in != '.' && ok) {
		*out = neg ? -(long)v : (long)v;
		return true;
	}
	if (!yaml_float_form(plain))
		return false;
	double f = strtod(plain, NULL);
	if (!(f <= 1e18 && f >= -1e18) || f != (double)(long)f)
		return false; /* a fraction: not an integer for the API */
	*out = (long)f;
	return true;
}

bool ld_want_int(struct ld *l, yaml_node_t *n, const char *what,
		     long *out)
{
	if (ld_plain_int(n, out))
		return true;
	pw_error(l->d, ld_pos(l, n), "%s must be an integer", what);
	return false;
}

/* A boolean as go-yaml v2 (YAML 1.1) resolves a plain scalar. */
int ld_want_bool(struct ld *l, yaml_node_t *n, const char *what)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES",
					   "true", "True", "TRUE",
					   "on", "On", "ON" };
	static const char *const no[] = { "n", "N", "no", "No", "NO",
					  "false", "False", "FALSE",
					  "off", "Off", "OFF" };
	if (ld_is_null(n))
		return 0;
	if (n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		const char *v = (const char *)n->data.scalar.value;
		for (size_t i = 0; i < PW_ARRAY_SIZE(yes); i++) {
			if (!strcmp(v, yes[i]))
				return 1;
			if (!strcmp(v, no[i]))
				return 0;
		}
	}
	pw_error(l->d, ld_pos(l, n), "%s must be true or false", what);
	return 0;
}

/* ---- labels and selectors ---------------------------------------------- */

void ld_labels(struct ld *l, yaml_node_t *n, struct pw_labels *out,
			const char *what)
{
	memset(out, 0, sizeof(*out));
	n = ld_want_map(l, n, what);
	if (!n)
		return;
	size_t cnt = (size_t)(n->data.mapping.pairs.top -
			      n->data.mapping.pairs.start);
	out->v = pw_arena_alloc(&l->c->arena, cnt * sizeof(*out->v));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = ld_node(l, p->key), *vn = ld_node(l, p->value);
		const char *k = ld_want_str(l, kn, "a label key");
		const char *v = ld_is_null(vn) ? "" : ld_want_str(l, vn, "a label value");
		if (!k || !v)
			continue;
		const char *why = pw_label_key_invalid(k);
		if (why) {
			pw_error(l->d, ld_pos(l, kn),
				 "invalid label key %s: %s", ld_q(l, k), why);
			continue;
		}
		why = pw_label_value_invalid(v);
		if (why) {
			pw_error(l->d, ld_pos(l, vn),
				 "invalid label value %s for key %s: %s",
				 ld_q(l, v), ld_q(l, k), why);
			continue;
		}
		out->v[out->n++] = (struct pw_label){ k, v };
	}
	const char *dup = pw_labels_sort(out);
	if (dup)
		pw_error(l->d, ld_pos(l, n), "duplicate label key %s", ld_q(l, dup));
}

/* metav1.LabelSelector; returns NULL (no selector) when absent or null. */
struct pw_lsel *ld_lsel(struct ld *l, yaml_node_t *n,
				 const char *what)
{
	struct pw_arena *a = &l->c->arena;
	if (ld_is_null(n))
		return NULL;
	struct pw_lsel *s = pw_arena_alloc(a, sizeof(*s));
	n = ld_want_map(l, n, what);
	if (!n)
		return s;
	size_t cap = 0;
	struct pw_labels ml;
	yaml_node_t *mln = ld_get(l, n, "matchLabels");
	ld_labels(l, mln, &ml, "matchLabels");
	for (uint32_t i = 0; i < ml.n; i++) {
		struct pw_req *r = PW_PUSH(a, s->reqs, s->n, cap);
		r->key = ml.v[i].key;
		r->op = PW_OP_IN;
		r->values = pw_arena_alloc(a, sizeof(char *));
		r->values[0] = ml.v[i].value;
		r->nvalues = 1;
	}
	yaml_node_t *exprs = ld_want_seq(l, ld_get(l, n, "matchExpressions"),
				      "matchExpressions");
	yaml_node_t *e;
	if (exprs)
		SEQ_EACH(l, exprs, e)
		{
			if (!ld_want_map(l, e, "a match expression"))
				continue;
			yaml_node_t *kn = ld_get(l, e, "key");
			yaml_node_t *on = ld_get(l, e, "operator");
			yaml_node_t *vn = ld_get(l, e, "values");
			if (!kn || !on) {
				pw_error(l->d, ld_pos(l, e),
					 "a match expression needs key and operator");
				continue;
			}
			const char *k = ld_want_str(l, kn, "key");
			const char *op = ld_want_str(l, on, "operator");
			if (!k || !op)
				continue;
			const char *why = pw_label_key_invalid(k);
			if (why) {
				pw_error(l->d, ld_pos(l, kn),
					 "invalid label key %s: %s", ld_q(l, k), why);
				continue;
			}
			int opv = pw_lsel_op_parse(op);
			if (opv < 0) {
				pw_error(l->d, ld_pos(l, on),
					 "unknown selector operator %s (want In, NotIn, Exists or DoesNotExist)",
					 ld_q(l, op));
				continue;
			}
			struct pw_req r = { k, (enum pw_lsel_op)opv, NULL, 0 };
			yaml_node_t *vs = ld_want_seq(l, vn, "values");
			size_t nv = ld_seq_len(vs);
			if ((opv == PW_OP_IN || opv == PW_OP_NOTIN) && !nv) {
				pw_error(l->d, ld_pos(l, e),
					 "operator %s needs a non-empty values list",
					 op);
				continue;
			}
			if ((opv == PW_OP_EXISTS ||
			     opv == PW_OP_DOESNOTEXIST) && nv) {
				pw_error(l->d, ld_pos(l, vn),
					 "operator %s takes no values", op);
				continue;
			}
			r.values = pw_arena_alloc(a, nv * sizeof(char *));
			yaml_node_t *v;
			bool bad = false;
			if (vs)
				SEQ_EACH(l, vs, v)
				{
					const char *sv = ld_want_str(l, v, "a value");
					if (!sv) {
						bad = true;
						continue;
					}
					why = pw_label_value_invalid(sv);
					if (why) {
						pw_error(l->d, ld_pos(l, v),
							 "invalid label value %s: %s",
							 ld_q(l, sv), why);
						bad = true;
						continue;
					}
					r.values[r.nvalues++] = sv;
				}
			if (bad)
				continue;
			*PW_PUSH(a, s->reqs, s->n, cap) = r;
		}
	return s;
}

/* ---- objects ------------------------------------------------------------ */



uint32_t pw_cluster_ns(struct pw_cluster *c, const char *name)
{
	uintptr_t v = (uintptr_t)pw_strmap_get(&c->ns_index, name);
	if (v)
		return (uint32_t)(v - 1);
	struct pw_namespace *ns = PW_PUSH(&c->arena, c->nss, c->nns, c->nns_cap);
	ns->name = pw_arena_strdup(&c->arena, name);
	pw_strmap_put(&c->ns_index, ns->name, (void *)(uintptr_t)c->nns);
	return c->nns - 1;
}

int pw_cluster_find_ns(const struct pw_cluster *c, const char *name)
{
	uintptr_t v = (uintptr_t)pw_strmap_get(&c->ns_index, name);
	return v ? (int)(v - 1) : -1;
}

/* Registers Kind/ns/name; reports a duplicate and returns false.  False
   too, silently, for an object the caller's admit hook skips. */
bool ld_register(struct ld *l, const struct meta *m)
{
	struct pw_cluster *c = l->c;
	const char *key = pw_arena_printf(&c->arena, "%s/%s/%s/%s", m->group,
					  m->kind, m->ns ? m->ns : "", m->name);
	if (c->admit && !c->admit(c->admit_arg, c->input, key))
		return false;
	struct pw_pos *prev = pw_strmap_get(&c->objects, key);
	if (prev) {
		pw_error(l->d, m->pos, "duplicate %s %s (first defined at %s:%d:%d)",
			 m->kind,
			 ld_q(l, m->ns ? pw_arena_printf(&c->arena, "%s/%s", m->ns, m->name)
				       : m->name),
			 prev->file, prev->line, prev->col);
		return false;
	}
	struct pw_pos *p = pw_arena_alloc(&c->arena, sizeof(*p));
	*p = m->pos;
	pw_strmap_put(&c->objects, key, p);
	return true;
}

bool ld_v4mapped(struct ld *l, yaml_node_t *n, const char *s,
		 const struct pw_cidr *c)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (c->addr.family != 6 || c->len < 96 || memcmp(c->addr.b, mapped, 12))
		return false;
	char v4[20];
	snprintf(v4, sizeof(v4), "%u.%u.%u.%u/%d", c->addr.b[12], c->addr.b[13],
		 c->addr.b[14], c->addr.b[15], c->len - 96);
	pw_error(l->d, ld_pos(l, n),
		 "IPv4-mapped IPv6 CIDR %s: implementations disagree on it (Go reads %s, others an IPv6 network); write %s",
		 ld_q(l, s), v4, v4);
	return true;
}

static void load_pod_spec(struct ld *l, yaml_node_t *spec, struct pw_pod *p)
{
	struct pw_arena *a = &l->c->arena;
	p->sa = "default";
	spec = ld_want_map(l, spec, "spec");
	if (!spec)
		return;
	const char *sa = ld_opt_str(l, ld_get(l, spec, "serviceAccountName"),
				 "serviceAccountName");
	if (!sa)
		sa = ld_opt_str(l, ld_get(l, spec, "serviceAccount"),
			     "serviceAccount");
	if (sa && *sa)
		p->sa = sa;
	p->host_network = ld_want_bool(l, ld_get(l, spec, "hostNetwork"),
				    "hostNetwork");
	p->node = ld_opt_str(l, ld_get(l, spec, "nodeName"), "nodeName");
	size_t cap = 0;
	static const char *const lists[] = { "containers", "initContainers" };
	for (size_t li = 0; li < PW_ARRAY_SIZE(lists); li++) {
		yaml_node_t *cs = ld_want_seq(l, ld_get(l, spec, lists[li]), lists[li]);
		yaml_node_t *ct;
		if (!cs)
			continue;
		SEQ_EACH(l, cs, ct)
		{
			if (!ld_want_map(l, ct, "a container"))
				continue;
			yaml_node_t *ps = ld_want_seq(l, ld_get(l, ct, "ports"),
						   "ports");
			yaml_node_t *pn;
			if (!ps)
				continue;
			SEQ_EACH(l, ps, pn)
			{
				if (!ld_want_map(l, pn, "a container port"))
					continue;
				struct pw_cport cp = { NULL, PW_TCP, 0 };
				long v;
				yaml_node_t *cpn = ld_get(l, pn, "containerPort");
				if (!cpn) {
					pw_warn(l->d, ld_pos(l, pn),
						"a container port without containerPort, ignored");
					continue;
				}
				if (!ld_want_int(l, cpn, "containerPort", &v))
					continue;
				if (v < 1 || v > PW_PORT_MAX) {
					pw_error(l->d, ld_pos(l, cpn),
						 "containerPort %ld is out of range 1-65535",
						 v);
					continue;
				}
				cp.port = (int)v;
				yaml_node_t *prn = ld_get(l, pn, "protocol");
				const char *pr = ld_opt_str(l, prn, "protocol");
				if (pr) {
					cp.proto = pw_proto_parse(pr);
					if (cp.proto < 0 || strcmp(pr, pw_proto_name(cp.proto))) {
						pw_error(l->d, ld_pos(l, prn),
							 "unknown protocol %s (want TCP, UDP or SCTP)",
							 ld_q(l, pr));
						continue;
					}
				}
				yaml_node_t *nn = ld_get(l, pn, "name");
				cp.name = ld_opt_str(l, nn, "name");
				if (cp.name) {
					const char *why =
						pw_port_name_invalid(cp.name);
					if (why) {
						pw_error(l->d, ld_pos(l, nn),
							 "invalid port name %s: %s",
							 ld_q(l, cp.name), why);
						continue;
					}
				}
				*PW_PUSH(a, p->ports, p->nports, cap) = cp;
			}
		}
	}
}

static void add_addr(struct ld *l, struct pw_pod *p, size_t *cap,
		     yaml_node_t *n)
{
	const char *s = ld_want_str(l, n, "a pod IP");
	struct pw_addr addr;
	if (!s || !*s)
		return;
	if (pw_addr_parse(s, &addr) < 0) {
		pw_error(l->d, ld_pos(l, n), "invalid IP address %s", ld_q(l, s));
		return;
	}
	for (uint32_t i = 0; i < p->naddrs; i++)
		if (!pw_addr_cmp(&p->addrs[i], &addr))
			return;
	*PW_PUSH(&l->c->arena, p->addrs, p->naddrs, *cap) = addr;
}

static void load_pod(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	struct pw_pod p = { 0 };
	p.name = m->name;
	p.kind = "Pod";
	p.ns = pw_cluster_ns(c, m->ns);
	p.labels = m->labels;
	p.owner_kind = m->owner_kind;
	p.owner_name = m->owner_name;
	p.pos = m->pos;
	load_pod_spec(l, ld_get(l, m->obj, "spec"), &p);
	yaml_node_t *md = ld_get(l, m->obj, "metadata");
	p.pss = pw__load_pss(l, md, ld_get(l, m->obj, "spec"), p.host_network);
	yaml_node_t *an = md ? ld_want_map(l, ld_get(l, md, "annotations"),
					   "metadata.annotations") : NULL;
	if (an)
		p.interface = ld_opt_str(l, ld_get(l, an, "podwall.io/interface"),
					 "podwall.io/interface");
	yaml_node_t *st = ld_want_map(l, ld_get(l, m->obj, "status"), "status");
	size_t cap = 0;
	if (st) {
		yaml_node_t *ip = ld_get(l, st, "podIP");
		if (!ld_is_null(ip))
			add_addr(l, &p, &cap, ip);
		yaml_node_t *ips = ld_want_seq(l, ld_get(l, st, "podIPs"), "podIPs");
		yaml_node_t *e;
		if (ips)
			SEQ_EACH(l, ips, e)
			{
				if (ld_want_map(l, e, "a podIPs entry"))
					add_addr(l, &p, &cap, ld_get(l, e, "ip"));
			}
	}
	if (l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(&c->arena, c->pods, c->npods, c->npods_cap) = p;
}

static void load_workload(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	yaml_node_t *spec = ld_want_map(l, ld_get(l, m->obj, "spec"), "spec");
	if (!strcmp(m->kind, "CronJob")) {
		spec = ld_want_map(l, ld_get(l, spec, "jobTemplate"), "jobTemplate");
		spec = ld_want_map(l, ld_get(l, spec, "spec"), "jobTemplate.spec");
	}
	yaml_node_t *tmpl = ld_want_map(l, ld_get(l, spec, "template"), "template");
	struct pw_workload w = { 0 };
	w.name = m->name;
	w.kind = m->kind;
	w.ns = pw_cluster_ns(c, m->ns);
	w.pos = m->pos;
	w.replicas = 1;
	yaml_node_t *rn = ld_get(l, spec, "replicas");
	long rv;
	if (strcmp(m->kind, "DaemonSet") && strcmp(m->kind, "Job") &&
	    strcmp(m->kind, "CronJob") && !ld_is_null(rn) &&
	    ld_want_int(l, rn, "replicas", &rv)) {
		if (rv < 0 || rv > 1000000)
			pw_error(l->d, ld_pos(l, rn), "replicas must be 0 to 1000000");
		else
			w.replicas = (uint32_t)rv;
	}
	w.tmpl.name = m->name;
	w.tmpl.kind = m->kind;
	w.tmpl.ns = w.ns;
	w.tmpl.template = true;
	w.tmpl.owner_kind = m->kind;
	w.tmpl.owner_name = m->name;
	w.tmpl.pos = m->pos;
	yaml_node_t *tm = ld_want_map(l, ld_get(l, tmpl, "metadata"),
				   "template.metadata");
	ld_labels(l, ld_get(l, tm, "labels"), &w.tmpl.labels, "labels");
	load_pod_spec(l, ld_get(l, tmpl, "spec"), &w.tmpl);
	w.tmpl.pss = pw__load_pss(l, tm, ld_get(l, tmpl, "spec"), w.tmpl.host_network);
	if (!w.tmpl.sa)
		w.tmpl.sa = "default";
	if (l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(&c->arena, c->wls, c->nwls, c->nwls_cap) = w;
}

static void load_namespace(struct ld *l, struct meta *m)
{
	const char *why = pw_dns_label_invalid(m->name);
	if (why) {
		pw_error(l->d, m->pos, "invalid namespace name %s: %s",
			 ld_q(l, m->name), why);
		return;
	}
	if (l->d->errors > l->errors_at_start)
		return;
	uint32_t i = pw_cluster_ns(l->c, m->name);
	struct pw_namespace *ns = &l->c->nss[i];
	ns->labels = m->labels;
	ns->pos = m->pos;
	ns->declared = true;
}

static void load_serviceaccount(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	if (l->d->errors > l->errors_at_start)
		return;
	struct pw_sa *sa = PW_PUSH(&c->arena, c->sas, c->nsas, c->nsas_cap);
	sa->name = m->name;
	sa->ns = pw_cluster_ns(c, m->ns);
	sa->labels = m->labels;
}

/* ---- NetworkPolicy ------------------------------------------------------ */

void ld_np_port(struct ld *l, yaml_node_t *pn, struct pw_np_port *o,
			 bool *ok)
{
	o->pos = ld_pos(l, pn);
	o->proto = PW_TCP;
	yaml_node_t *prn = ld_get(l, pn, "protocol");
	const char *pr = ld_opt_str(l, prn, "protocol");
	if (pr) {
		o->proto = pw_proto_parse(pr);
		if (o->proto < 0 || strcmp(pr, pw_proto_name(o->proto))) {
			pw_error(l->d, ld_pos(l, prn),
				 "unknown protocol %s (want TCP, UDP or SCTP)",
				 ld_q(l, pr));
			*ok = false;
		}
	}
	yaml_node_t *port = ld_get(l, pn, "port");
	yaml_node_t *endp = ld_get(l, pn, "endPort");
	long v;
	if (!ld_is_null(port)) {
		if (ld_plain_int(port, &v)) {
			if (v < 1 || v > PW_PORT_MAX) {
				pw_error(l->d, ld_pos(l, port),
					 "port %ld is out of range 1-65535", v);
				*ok = false;
			}
			o->port = (int)v;
		} else {
			const char *name = ld_want_str(l, port, "port");
			const char *why = name ? pw_port_name_invalid(name)
					       : NULL;
			if (!name) {
				*ok = false;
			} else if (why) {
				pw_error(l->d, ld_pos(l, port),
					 "invalid named port %s: %s", ld_q(l, name),
					 why);
				*ok = false;
			}
			o->name = name;
		}
	}
	if (!ld_is_null(endp)) {
		if (!ld_want_int(l, endp, "endPort", &v)) {
			*ok = false;
		} else if (o->name) {
			pw_error(l->d, ld_pos(l, endp),
				 "endPort cannot be used with a named port");
			*ok = false;
		} else if (!o->port) {
			pw_error(l->d, ld_pos(l, endp),
				 "endPort needs a numeric port");
			*ok = false;
		} else if (v < o->port || v > PW_PORT_MAX) {
			pw_error(l->d, ld_pos(l, endp),
				 "endPort %ld must be between port %d and 65535",
				 v, o->port);
			*ok = false;
		} else {
			o->end_port = (int)v;
		}
	}
}

static void load_peer(struct ld *l, yaml_node_t *pn, struct pw_peer *o,
		      bool *ok)
{
	struct pw_arena *a = &l->c->arena;
	o->pos = ld_pos(l, pn);
	if (!ld_want_map(l, pn, "a peer")) {
		*ok = false;
		return;
	}
	yaml_node_t *ps = ld_get(l, pn, "podSelector");
	yaml_node_t *ns = ld_get(l, pn, "namespaceSelector");
	yaml_node_t *ib = ld_get(l, pn, "ipBlock");
	size_t before = l->d->errors;
	o->pod_sel = ld_lsel(l, ps, "podSelector");
	o->ns_sel = ld_lsel(l, ns, "namespaceSelector");
	if (!ld_is_null(ib)) {
		if ((o->pod_sel || o->ns_sel)) {
			pw_error(l->d, ld_pos(l, ib),
				 "ipBlock cannot be combined with podSelector or namespaceSelector in one peer");
			*ok = false;
		}
		o->ipblock = true;
		if (!ld_want_map(l, ib, "ipBlock")) {
			*ok = false;
			return;
		}
		yaml_node_t *cn = ld_get(l, ib, "cidr");
		const char *cidr = cn ? ld_want_str(l, cn, "cidr") : NULL;
		if (!cn) {
			pw_error(l->d, ld_pos(l, ib), "ipBlock needs a cidr");
			*ok = false;
		} else if (!cidr) {
			*ok = false;
		} else if (pw_cidr_parse(cidr, &o->cidr) < 0) {
			pw_error(l->d, ld_pos(l, cn), "invalid CIDR %s",
				 ld_q(l, cidr));
			*ok = false;
			cidr = NULL;
		} else if (ld_v4mapped(l, cn, cidr, &o->cidr)) {
			*ok = false;
			cidr = NULL;
		}
		yaml_node_t *ex = ld_want_seq(l, ld_get(l, ib, "except"), "except");
		o->except = pw_arena_alloc(a, ld_seq_len(ex) * sizeof(*o->except));
		yaml_node_t *en;
		if (ex)
			SEQ_EACH(l, ex, en)
			{
				const char *es = ld_want_str(l, en, "except");
				struct pw_cidr ec;
				if (!es) {
					*ok = false;
					continue;
				}
				if (pw_cidr_parse(es, &ec) < 0) {
					pw_error(l->d, ld_pos(l, en),
						 "invalid CIDR %s", ld_q(l, es));
					*ok = false;
					continue;
				}
				if (ld_v4mapped(l, en, es, &ec)) {
					*ok = false;
					continue;
				}
				if (cidr && (ec.len <= o->cidr.len ||
					     !pw_cidr_contains(&o->cidr,
							       &ec.addr))) {
					pw_error(l->d, ld_pos(l, en),
						 "except %s is not strictly within cidr %s",
						 es, cidr);
					*ok = false;
					continue;
				}
				o->except[o->nexcept++] = ec;
			}
	} else if (!o->pod_sel && !o->ns_sel) {
		pw_error(l->d, o->pos,
			 "a peer must have podSelector, namespaceSelector or ipBlock");
		*ok = false;
	}
	if (l->d->errors > before)
		*ok = false;
}

static void load_np_rules(struct ld *l, yaml_node_t *list, enum pw_dir dir,
			  struct pw_policy *p, bool *ok)
{
	struct pw_arena *a = &l->c->arena;
	const char *peers_key = dir == PW_INGRESS ? "from" : "to";
	size_t n = ld_seq_len(list);
	p->rules[dir] = pw_arena_alloc(a, n * sizeof(struct pw_rule));
	yaml_node_t *rn;
	if (!list)
		return;
	struct seen_lists {
		yaml_node_t *peers, *ports;
	} *seen = pw_xcalloc(n + 1, sizeof(*seen));
	SEQ_EACH(l, list, rn)
	{
		struct pw_rule *r = &p->rules[dir][p->nrules[dir]++];
		r->pos = ld_pos(l, rn);
		if (ld_is_null(rn))
			continue; /* a null rule is the empty rule */
		if (!ld_want_map(l, rn, "a rule")) {
			*ok = false;
			continue;
		}
		yaml_node_t *peers = ld_want_seq(l, ld_get(l, rn, peers_key),
					      peers_key);
		yaml_node_t *ports = ld_want_seq(l, ld_get(l, rn, "ports"), "ports");
		yaml_node_t *x;
		/* a list an earlier rule aliases (*peers) is read once and
		   shared (nothing edits a rule's lists in place); an alias is a
		   node made before this rule's (libyaml numbers nodes in
		   document order, parents first) */
		const struct pw_rule *same = NULL;
		for (uint32_t k = 0; peers && peers < rn && k + 1 < p->nrules[dir] && !same; k++)
			if (seen[k].peers == peers)
				same = &p->rules[dir][k];
		if (same) {
			r->peers = same->peers;
			r->npeers = same->npeers;
		} else {
			r->peers = pw_arena_alloc(a, ld_seq_len(peers) * sizeof(*r->peers));
			if (peers)
				SEQ_EACH(l, peers, x)
				{
					load_peer(l, x, &r->peers[r->npeers++], ok);
				}
		}
		same = NULL;
		for (uint32_t k = 0; ports && ports < rn && k + 1 < p->nrules[dir] && !same; k++)
			if (seen[k].ports == ports)
				same = &p->rules[dir][k];
		if (same) {
			r->ports = same->ports;
			r->nports = same->nports;
		} else {
			r->ports = pw_arena_alloc(a, ld_seq_len(ports) * sizeof(*r->ports));
			if (ports)
				SEQ_EACH(l, ports, x)
				{
					if (!ld_want_map(l, x, "a port")) {
						*ok = false;
						continue;
					}
					ld_np_port(l, x, &r->ports[r->nports++], ok);
				}
		}
		seen[p->nrules[dir] - 1] = (struct seen_lists){ peers, ports };
	}
	free(seen);
}

static void load_networkpolicy(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	struct pw_policy p = { 0 };
	bool ok = true;
	if (!strcmp(m->kind, "StagedKubernetesNetworkPolicy")) {
		yaml_node_t *sa = ld_get(l, ld_get(l, m->obj, "spec"), "stagedAction");
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
	p.name = m->name;
	p.ns = pw_cluster_ns(c, m->ns);
	p.pos = m->pos;
	yaml_node_t *spec = ld_want_map(l, ld_get(l, m->obj, "spec"), "spec");
	struct pw_lsel *sel = ld_lsel(l, ld_get(l, spec, "podSelector"),
					"podSelector");
	if (sel)
		p.sel = *sel;
	yaml_node_t *in = ld_want_seq(l, ld_get(l, spec, "ingress"), "ingress");
	yaml_node_t *eg = ld_want_seq(l, ld_get(l, spec, "egress"), "egress");
	load_np_rules(l, in, PW_INGRESS, &p, &ok);
	load_np_rules(l, eg, PW_EGRESS, &p, &ok);
	yaml_node_t *types = ld_want_seq(l, ld_get(l, spec, "policyTypes"),
				      "policyTypes");
	yaml_node_t *t;
	if (types)
		SEQ_EACH(l, types, t)
		{
			const char *ts = ld_want_str(l, t, "a policy type");
			if (!ts)
				continue;
			if (!strcmp(ts, "Ingress"))
				p.types |= PW_TYPE_INGRESS;
			else if (!strcmp(ts, "Egress"))
				p.types |= PW_TYPE_EGRESS;
			else
				pw_error(l->d, ld_pos(l, t),
					 "unknown policy type %s (want Ingress or Egress)",
					 ld_q(l, ts));
		}
	if (!p.types) {
		/* the API server's defaulting */
		p.types = PW_TYPE_INGRESS;
		if (p.nrules[PW_EGRESS])
			p.types |= PW_TYPE_EGRESS;
	}
	if (!ok || l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(&c->arena, c->pols, c->npols, c->npols_cap) = p;
}

/* ---- dispatch ----------------------------------------------------------- */

struct kind_entry {
	const char *kind;
	const char *group; /* API group prefix of apiVersion; "" = core */
	bool namespaced;
	void (*load)(struct ld *, struct meta *);
};

/* Sorted by kind only for reading; looked up linearly. */
static const struct kind_entry kinds[] = {
	{ "AdminNetworkPolicy", "policy.networking.k8s.io", false, pw__load_admin_policy },
	{ "ClusterRole", "rbac.authorization.k8s.io", false, pw__load_role },
	{ "ClusterRoleBinding", "rbac.authorization.k8s.io", false, pw__load_binding },
	{ "ConfigMap", "", true, pw__load_configmap },
	{ "Role", "rbac.authorization.k8s.io", true, pw__load_role },
	{ "RoleBinding", "rbac.authorization.k8s.io", true, pw__load_binding },
	{ "BaselineAdminNetworkPolicy", "policy.networking.k8s.io", false, pw__load_admin_policy },
	{ "ClusterNetworkPolicy", "policy.networking.k8s.io", false, pw__load_admin_policy },
	{ "GlobalAlert", "projectcalico.org", false, pw__load_globalalert },
	{ "GlobalAlert", "crd.projectcalico.org", false, pw__load_globalalert },
	{ "GlobalNetworkPolicy", "projectcalico.org", false, pw__load_calico_policy },
	{ "GlobalNetworkPolicy", "crd.projectcalico.org", false, pw__load_calico_policy },
	{ "GlobalNetworkSet", "projectcalico.org", false, pw__load_calico_netset },
	{ "GlobalNetworkSet", "crd.projectcalico.org", false, pw__load_calico_netset },
	{ "NetworkPolicy", "projectcalico.org", true, pw__load_calico_policy },
	{ "NetworkPolicy", "crd.projectcalico.org", true, pw__load_calico_policy },
	{ "NetworkSet", "projectcalico.org", true, pw__load_calico_netset },
	{ "NetworkSet", "crd.projectcalico.org", true, pw__load_calico_netset },
	{ "StagedGlobalNetworkPolicy", "projectcalico.org", false, pw__load_calico_policy },
	{ "StagedGlobalNetworkPolicy", "crd.projectcalico.org", false, pw__load_calico_policy },
	{ "StagedKubernetesNetworkPolicy", "projectcalico.org", true, load_networkpolicy },
	{ "StagedKubernetesNetworkPolicy", "crd.projectcalico.org", true, load_networkpolicy },
	{ "StagedNetworkPolicy", "projectcalico.org", true, pw__load_calico_policy },
	{ "StagedNetworkPolicy", "crd.projectcalico.org", true, pw__load_calico_policy },
	{ "Tier", "projectcalico.org", false, pw__load_calico_tier },
	{ "Tier", "crd.projectcalico.org", false, pw__load_calico_tier },
	{ "CronJob", "batch", true, load_workload },
	{ "DaemonSet", "apps", true, load_workload },
	{ "Deployment", "apps", true, load_workload },
	{ "Job", "batch", true, load_workload },
	{ "Namespace", "", false, load_namespace },
	{ "NetworkPolicy", "networking.k8s.io", true, load_networkpolicy },
	{ "Pod", "", true, load_pod },
	{ "ReplicaSet", "apps", true, load_workload },
	{ "ReplicationController", "", true, load_workload },
	{ "Service", "", true, pw__load_service },
	{ "Endpoints", "", true, pw__load_endpoints },
	{ "EndpointSlice", "discovery.k8s.io", true, pw__load_endpoints },
	{ "Ingress", "networking.k8s.io", true, pw__load_ingress },
	{ "Ingress", "extensions", true, pw__load_ingress },
	{ "Route", "route.openshift.io", true, pw__load_ingress },
	{ "ServiceAccount", "", true, load_serviceaccount },
	{ "StatefulSet", "apps", true, load_workload },
	{ "StorageClass", "storage.k8s.io", false, pw__load_storageclass },
};

static bool group_matches(const char *api_version, const char *group)
{
	const char *slash = strchr(api_version, '/');
	if (!*group)
		return !slash; /* "v1" */
	size_t n = strlen(group);
	/* "apps/v1", and legacy "extensions/v1beta1" for workloads */
	if (slash && (size_t)(slash - api_version) == n &&
	    !strncmp(api_version, group, n))
		return true;
	return slash && !strncmp(api_version, "extensions/", 11) &&
	       (!strcmp(group, "apps") || !strcmp(group, "networking.k8s.io"));
}

void ld_skip(struct ld *l, const struct meta *m, const char *api, const char *why)
{
	struct pw_cluster *c = l->c;
	uint32_t n = c->nskipped;
	/* a kind analysed under another API group names its group too */
	const char *kind = m->kind;
	bool other = false, same = false;
	for (size_t i = 0; i < PW_ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].kind, m->kind)) {
			if (group_matches(api, kinds[i].group))
				same = true;
			else
				other = true;
		}
	if (other && !same)
		kind = pw_arena_printf(&c->arena, "%s (%s)", m->kind, api);
	*PW_PUSH(&c->arena, c->skipped_kind, n, c->nskipped_kind_cap) = kind;
	*PW_PUSH(&c->arena, c->skipped, c->nskipped, c->nskipped_cap) =
		pw_arena_printf(&c->arena, "%s:%d:%d: %s %s%s%s (%s)",
				m->pos.file, m->pos.line, m->pos.col, m->kind,
				m->ns ? m->ns : "", m->ns ? "/" : "",
				m->name ? m->name : "", why);
}

static void load_object(struct ld *l, yaml_node_t *obj, int depth,
			const char *item_kind, const char *item_api);

static void load_list(struct ld *l, yaml_node_t *obj, int depth)
{
	if (depth >= PW_MAX_LIST_DEPTH) {
		pw_error(l->d, ld_pos(l, obj), "Lists nested too deeply");
		return;
	}
	/* kubectl's FooList items may omit kind and apiVersion */
	const char *kind = (const char *)ld_get(l, obj, "kind")->data.scalar.value;
	yaml_node_t *an = ld_get(l, obj, "apiVersion");
	const char *api = an && an->type == YAML_SCALAR_NODE
				  ? (const char *)an->data.scalar.value : NULL;
	const char *ik = NULL;
	size_t kl = strlen(kind);
	if (kl > 4 && strcmp(kind, "List"))
		ik = pw_arena_strndup(&l->c->arena, kind, kl - 4);
	yaml_node_t *items = ld_want_seq(l, ld_get(l, obj, "items"), "items");
	yaml_node_t *it;
	if (items)
		SEQ_EACH(l, items, it)
		{
			load_object(l, it, depth + 1, ik, ik ? api : NULL);
		}
}

static void load_object(struct ld *l, yaml_node_t *obj, int depth,
			const char *item_kind, const char *item_api)
{
	struct pw_cluster *c = l->c;
	if (ld_is_null(obj))
		return;
	l->errors_at_start = l->d->errors;
	if (obj->type != YAML_MAPPING_NODE) {
		pw_warn(l->d, ld_pos(l, obj),
			"not a Kubernetes object (%s), skipped", ld_type_name(obj));
		return;
	}
	yaml_node_t *kn = ld_get(l, obj, "kind");
	yaml_node_t *an = ld_get(l, obj, "apiVersion");
	/* the AWS CLI's JSON about EKS access entries has neither */
	if (!kn && !an && !item_kind &&
	    (pw__load_eks_json(l, obj) || pw__load_eks_cluster(l, obj)))
		return;
	if ((kn && kn->type != YAML_SCALAR_NODE) ||
	    (an && an->type != YAML_SCALAR_NODE) ||
	    (!kn && !item_kind) || (!an && !item_api)) {
		pw_warn(l->d, ld_pos(l, obj),
			"not a Kubernetes object (no kind or apiVersion), skipped");
		return;
	}
	struct meta m = { 0 };
	m.obj = obj;
	m.pos = ld_pos(l, obj);
	m.kind = kn ? ld_want_str(l, kn, "kind") : item_kind;
	const char *api = an ? ld_want_str(l, an, "apiVersion") : item_api;
	size_t klen = strlen(m.kind);
	if (!strcmp(m.kind, "List") ||
	    (klen > 4 && !strcmp(m.kind + klen - 4, "List") && ld_get(l, obj, "items"))) {
		load_list(l, obj, depth);
		return;
	}
	const struct kind_entry *ke = NULL;
	for (size_t i = 0; i < PW_ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].kind, m.kind) &&
		    group_matches(api, kinds[i].group))
			ke = &kinds[i];
	m.group = ke ? ke->group : "";
	yaml_node_t *md = ld_get(l, obj, "metadata");
	yaml_node_t *nn = ld_get(l, md, "name");
	if (!ke) {
		m.name = nn && nn->type == YAML_SCALAR_NODE
				 ? (const char *)nn->data.scalar.value
				 : "";
		yaml_node_t *nsn = ld_get(l, md, "namespace");
		if (nsn && nsn->type == YAML_SCALAR_NODE && !ld_is_null(nsn))
			m.ns = (const char *)nsn->data.scalar.value;
		ld_skip(l, &m, api, pw_arena_printf(&c->arena,
						   "kind %s of %s not analysed",
						   m.kind, api));
		return;
	}
	md = ld_want_map(l, md, "metadata");
	nn = ld_get(l, md, "name");
	if (!nn) {
		/* generateName objects have no stable identity */
		yaml_node_t *gn = ld_get(l, md, "generateName");
		if (gn && gn->type == YAML_SCALAR_NODE)
			nn = gn;
	}
	m.name = nn ? ld_want_str(l, nn, "metadata.name") : NULL;
	if (!m.name || !*m.name) {
		if (!nn || (m.name && !*m.name))
			pw_error(l->d, md ? ld_pos(l, md) : m.pos,
				 "%s has no metadata.name", m.kind);
		return;
	}
	if (ke->namespaced) {
		yaml_node_t *nsn = ld_get(l, md, "namespace");
		m.ns = ld_opt_str(l, nsn, "metadata.namespace");
		bool given = m.ns && *m.ns;
		if (!given)
			m.ns = c->apply_ns ? c->apply_ns : "default";
		const char *why = pw_dns_label_invalid(m.ns);
		if (why) {
			pw_error(l->d, ld_pos(l, nsn),
				 "invalid namespace %s: %s", ld_q(l, m.ns), why);
			return;
		}
		if (given && c->apply_ns && strcmp(m.ns, c->apply_ns)) {
			/* kubectl's words (its RequireNamespace check) */
			pw_error(l->d, ld_pos(l, nsn),
				 "the namespace from the provided object \"%s\" does not match the namespace \"%s\". You must pass '--namespace=%s' to perform this operation.",
				 m.ns, c->apply_ns, m.ns);
			return;
		}
	}
	ld_labels(l, ld_get(l, md, "labels"), &m.labels, "metadata.labels");
	/* the owner is the controller reference; a Node (static pods) is
	   none, and a reference without kind names a Pod-kind group, as
	   netpol-analyzer prints it */
	yaml_node_t *owners = ld_want_seq(l, ld_get(l, md, "ownerReferences"),
				       "ownerReferences");
	yaml_node_t *o;
	if (owners)
		SEQ_EACH(l, owners, o)
		{
			if (!ld_want_map(l, o, "an owner reference"))
				continue;
			if (!ld_want_bool(l, ld_get(l, o, "controller"), "controller"))
				continue;
			const char *ok = ld_opt_str(l, ld_get(l, o, "kind"), "kind");
			const char *on = ld_opt_str(l, ld_get(l, o, "name"), "name");
			if (on && *on && !(ok && !strcmp(ok, "Node"))) {
				m.owner_kind = ok && *ok ? ok : "Pod";
				m.owner_name = on;
			}
			break;
		}
	if (!ld_register(l, &m))
		return;
	ke->load(l, &m);
}

/* kubectl refuses a mapping that defines a key twice; so do we. */
static void check_duplicate_keys(struct ld *l)
{
	for (yaml_node_t *n = l->doc->nodes.start; n < l->doc->nodes.top; n++) {
		if (n->type != YAML_MAPPING_NODE)
			continue;
		yaml_node_pair_t *b = n->data.mapping.pairs.start;
		yaml_node_pair_t *e = n->data.mapping.pairs.top;
		if (e - b > 256)
			continue; /* no manifest mapping is that wide */
		for (yaml_node_pair_t *p = b + 1; p < e; p++) {
			yaml_node_t *k = ld_node(l, p->key);
			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			for (yaml_node_pair_t *q = b; q < p; q++) {
				yaml_node_t *k2 = ld_node(l, q->key);
				if (k2 && k2->type == YAML_SCALAR_NODE &&
				    !strcmp((const char *)k->data.scalar.value,
					    (const char *)k2->data.scalar.value)) {
					pw_error(l->d, ld_pos(l, k),
						 "mapping key %s already defined at line %d",
						 ld_q(l, (const char *)k->data.scalar.value),
						 (int)k2->start_mark.line + 1);
					break;
				}
			}
		}
	}
}

/* Line and column (1-based, in characters) of a byte offset. */
static struct pw_pos offset_pos(const struct ld *l, const unsigned char *buf,
				size_t len, size_t off)
{
	struct pw_pos pos = { l->file, 1, 1 };
	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			pos.line++;
			pos.col = 1;
		} else if ((buf[i] & 0xc0) != 0x80) {
			pos.col++;
		}
	}
	return pos;
}

static void report_parser_error(struct ld *l, yaml_parser_t *p,
				const unsigned char *buf, size_t len)
{
	struct pw_pos pos = { l->file, 0, 0 };
	const char *problem = p->problem ? p->problem : "syntax error";
	if (p->error == YAML_READER_ERROR) {
		/* the reader knows only the byte offset */
		pos = offset_pos(l, buf, len, p->problem_offset);
		if (p->problem_offset < len)
			pw_error(l->d, pos, "invalid YAML: %s (byte 0x%02x)",
				 problem, buf[p->problem_offset]);
		else
			pw_error(l->d, pos, "invalid YAML: %s", problem);
		return;
	}
	yaml_mark_t mk = p->problem_mark;
	pos.line = (int)mk.line + 1;
	pos.col = (int)mk.column + 1;
	if (p->context)
		pw_error(l->d, pos, "invalid YAML: %s (%s started at line %d)",
			 problem, p->context, (int)p->context_mark.line + 1);
	else
		pw_error(l->d, pos, "invalid YAML: %s", problem);
}

/*
 * The composer: libyaml's events into a yaml_document_t, as
 * yaml_parser_load() builds it, and besides:
 *  - nesting deeper than PW_MAX_NESTING is an error (libyaml 0.2.5 has no
 *    limit, and deep flow nesting costs it quadratic time);
 *  - merge keys (`<<: *a`, `<<: [*a, *b]`) are expanded as Kubernetes'
 *    YAML decoder (go-yaml) does: keys of the mapping itself win, then the
 *    merged mappings in order;
 *  - a NUL character in a scalar (`"a\0b"`) is an error: C strings would
 *    cut the value there;
 *  - an alias inside its own anchor's node is an error, not a cycle.
 */
struct merge {
	int node;   /* the value of a `<<` key */
	size_t pos; /* explicit pairs before it */
};

struct frame {
	int node;
	int key;	/* mapping: key awaiting its value, 0 if none */
	struct merge *merges; /* mapping: `<<` keys, in order */
	size_t nmerges, cap;
	const char *anchor; /* arena; NULL if none */
};

struct composer {
	struct ld *l;
	yaml_document_t *doc;
	struct pw_strmap anchors; /* name -> node id, negative while open */
	struct pw_arena names;
	struct frame stack[PW_MAX_NESTING];
	int depth;
};

static void set_marks(yaml_document_t *doc, int id, const yaml_event_t *ev)
{
	doc->nodes.start[id - 1].start_mark = ev->start_mark;
	doc->nodes.start[id - 1].end_mark = ev->end_mark;
}

static struct pw_pos mark_pos(const struct ld *l, yaml_mark_t m)
{
	struct pw_pos p = { l->file, (int)m.line + 1, (int)m.column + 1 };
	return p;
}

static void anchor_define(struct composer *k, const yaml_char_t *anchor,
			  intptr_t id)
{
	if (anchor)
		pw_strmap_put(&k->anchors,
			      pw_arena_strdup(&k->names, (const char *)anchor),
			      (void *)id);
}

static bool is_merge_key(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       n->data.scalar.length == 2 &&
	       !memcmp(n->data.scalar.value, "<<", 2);
}

/* Index of key's pair in map, -1 if none. */
static long find_key(const struct ld *l, const yaml_node_t *map,
		     const yaml_node_t *key)
{
	if (key->type != YAML_SCALAR_NODE)
		return -1;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ld_node(l, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    k->data.scalar.length == key->data.scalar.length &&
		    !memcmp(k->data.scalar.value, key->data.scalar.value,
			    key->data.scalar.length))
			return p - map->data.mapping.pairs.start;
	}
	return -1;
}

/*
 * Merges src into the mapping being closed, as go-yaml v2 assigns keys in
 * order: the merge sets its keys over those written before it (explicit
 * pairs before its position, and earlier merges), and keys written after
 * it win.  Within one merge (a list), keys set by an earlier item win.
 */
/* Pair indices that the current merge has set. */
struct touched {
	long *v;
	size_t n, cap;
};

static bool touched_has(const struct touched *t, long at)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i] == at)
			return true;
	return false;
}

static void touched_add(struct touched *t, long at)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->v = pw_xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	t->v[t->n++] = at;
}

/*
 * Merges src into the mapping being closed, as go-yaml v2 assigns keys in
 * order: a merge sets its keys over those written before it (explicit
 * pairs before its position, and earlier merges), and explicit keys after
 * it win.  Within one merge of a list, keys an earlier mapping set win.
 */
static void merge_from(struct composer *k, const struct frame *f,
		       const struct merge *m, size_t nexplicit,
		       struct touched *t, int src)
{
	yaml_node_t *s = ld_node(k->l, src);
	/* copy the pairs: appending may move the nodes array */
	size_t n = (size_t)(s->data.mapping.pairs.top - s->data.mapping.pairs.start);
	yaml_node_pair_t *pairs = pw_xmalloc((n + 1) * sizeof(*pairs));
	if (n)
		memcpy(pairs, s->data.mapping.pairs.start, n * sizeof(*pairs));
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *map = ld_node(k->l, f->node);
		long at = find_key(k->l, map, ld_node(k->l, pairs[i].key));
		if (at < 0) {
			touched_add(t, map->data.mapping.pairs.top -
					       map->data.mapping.pairs.start);
			yaml_document_append_mapping_pair(k->doc, f->node, pairs[i].key,
							  pairs[i].value);
		} else if (((size_t)at < m->pos || (size_t)at >= nexplicit) &&
			   !touched_has(t, at)) {
			map->data.mapping.pairs.start[at].value = pairs[i].value;
			touched_add(t, at);
		}
	}
	free(pairs);
}

static void expand_merges(struct composer *k, struct frame *f)
{
	yaml_node_t *map = ld_node(k->l, f->node);
	size_t nexplicit = (size_t)(map->data.mapping.pairs.top -
				    map->data.mapping.pairs.start);
	struct touched t = { NULL, 0, 0 };
	for (size_t i = 0; i < f->nmerges; i++) {
		const struct merge *m = &f->merges[i];
		yaml_node_t *v = ld_node(k->l, m->node);
		t.n = 0;
		if (v->type == YAML_MAPPING_NODE) {
			merge_from(k, f, m, nexplicit, &t, m->node);
			continue;
		}
		bool ok = v->type == YAML_SEQUENCE_NODE;
		for (yaml_node_item_t *it = ok ? v->data.sequence.items.start : NULL;
		     ok && it < v->data.sequence.items.top; it++)
			ok = ld_node(k->l, *it)->type == YAML_MAPPING_NODE;
		if (!ok) {
			pw_error(k->l->d, ld_pos(k->l, v),
				 "the merge key << needs a mapping or a list of mappings");
			continue;
		}
		size_t n = ld_seq_len(v);
		for (size_t x = 0; x < n; x++) {
			v = ld_node(k->l, m->node);
			merge_from(k, f, m, nexplicit, &t,
				   v->data.sequence.items.start[x]);
		}
	}
	free(t.v);
	free(f->merges);
	f->merges = NULL;
}

/* A finished node goes into the collection being built. */
static void attach(struct composer *k, int id)
{
	if (!k->depth)
		return; /* the root: node 1 */
	struct frame *f = &k->stack[k->depth - 1];
	yaml_node_t *parent = ld_node(k->l, f->node);
	if (parent->type == YAML_SEQUENCE_NODE) {
		yaml_document_append_sequence_item(k->doc, f->node, id);
	} else if (!f->key) {
		f->key = id;
	} else {
		if (is_merge_key(ld_node(k->l, f->key))) {
			if (f->nmerges == f->cap) {
				f->cap = f->cap ? 2 * f->cap : 4;
				f->merges = pw_xrealloc(f->merges,
							f->cap * sizeof(*f->merges));
			}
			f->merges[f->nmerges++] = (struct merge){
				id, (size_t)(parent->data.mapping.pairs.top -
					     parent->data.mapping.pairs.start) };
		} else
			yaml_document_append_mapping_pair(k->doc, f->node,
							  f->key, id);
		f->key = 0;
	}
}

static const yaml_char_t *event_tag(const yaml_char_t *tag)
{
	return tag && strcmp((const char *)tag, "!") ? tag : NULL;
}

/* One document.  1: composed; 0: the stream ended; -1: an error, reported
   (the rest of the stream cannot be read). */
static int compose(struct composer *k, yaml_parser_t *p,
		   const unsigned char *buf, size_t len)
{
	struct ld *l = k->l;
	yaml_event_t ev;
	int rc = -1;
	bool in_doc = false;
	k->depth = 0;
	pw_strmap_release(&k->anchors);
	pw_strmap_init(&k->anchors);
	for (;;) {
		if (!yaml_parser_parse(p, &ev)) {
			report_parser_error(l, p, buf, len);
			break;
		}
		int id = 0;
		bool done = false;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			rc = 0;
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			yaml_document_initialize(k->doc, NULL, NULL, NULL,
						 ev.data.document_start.implicit,
						 1);
			in_doc = true;
			break;
		case YAML_DOCUMENT_END_EVENT:
			rc = 1;
			done = true;
			break;
		case YAML_ALIAS_EVENT: {
			const char *a = (const char *)ev.data.alias.anchor;
			intptr_t v = (intptr_t)pw_strmap_get(&k->anchors, a);
			if (!v || v < 0) {
				pw_error(l->d, mark_pos(l, ev.start_mark),
					 v ? "invalid YAML: alias *%s inside the node of its own anchor"
					   : "invalid YAML: alias *%s of no anchor",
					 a);
				done = true;
				break;
			}
			attach(k, (int)v);
			break;
		}
		case YAML_SCALAR_EVENT:
			if (memchr(ev.data.scalar.value, 0, ev.data.scalar.length))
				pw_error(l->d, mark_pos(l, ev.start_mark),
					 "a NUL character in a string");
			id = yaml_document_add_scalar(k->doc, event_tag(ev.data.scalar.tag),
						      ev.data.scalar.value,
						      (int)ev.data.scalar.length,
						      ev.data.scalar.style);
			set_marks(k->doc, id, &ev);
			anchor_define(k, ev.data.scalar.anchor, id);
			attach(k, id);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (k->depth == PW_MAX_NESTING) {
				pw_error(l->d, mark_pos(l, ev.start_mark),
					 "nesting deeper than %d", PW_MAX_NESTING);
				done = true;
				break;
			}
			if (ev.type == YAML_SEQUENCE_START_EVENT)
				id = yaml_document_add_sequence(
					k->doc, event_tag(ev.data.sequence_start.tag),
					ev.data.sequence_start.style);
			else
				id = yaml_document_add_mapping(
					k->doc, event_tag(ev.data.mapping_start.tag),
					ev.data.mapping_start.style);
			set_marks(k->doc, id, &ev);
			{
				const yaml_char_t *an = ev.type == YAML_SEQUENCE_START_EVENT
					? ev.data.sequence_start.anchor
					: ev.data.mapping_start.anchor;
				anchor_define(k, an, -(intptr_t)id);
				k->stack[k->depth++] = (struct frame){
					.node = id,
					.anchor = an ? pw_arena_strdup(&k->names, (const char *)an) : NULL,
				};
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: {
			struct frame *f = &k->stack[--k->depth];
			k->doc->nodes.start[f->node - 1].end_mark = ev.end_mark;
			expand_merges(k, f);
			if (f->anchor)
				pw_strmap_put(&k->anchors, f->anchor,
					      (void *)(intptr_t)f->node);
			attach(k, f->node);
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (done)
			break;
	}
	while (k->depth > 0)
		free(k->stack[--k->depth].merges);
	if (rc <= 0 && in_doc)
		yaml_document_delete(k->doc);
	return rc;
}

size_t pw_cluster_load_buffer(struct pw_cluster *c, const char *name,
			      const unsigned char *buf, size_t len,
			      struct pw_diags *d)
{
	size_t before = d->errors;
	struct ld l = { c, d, pw_arena_strdup(&c->arena, name), NULL, 0, buf, len };
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		pw_error(d, ld_file_pos(l.file),
			 "cannot initialise the YAML parser");
		return 1;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	yaml_document_t doc;
	struct composer k = { .l = &l, .doc = &doc };
	pw_strmap_init(&k.anchors);
	pw_arena_init(&k.names);
	l.doc = &doc;
	while (compose(&k, &parser, buf, len) > 0) {
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (root) {
			check_duplicate_keys(&l);
			load_object(&l, root, 0, NULL, NULL);
		}
		yaml_document_delete(&doc);
	}
	pw_strmap_release(&k.anchors);
	pw_arena_release(&k.names);
	yaml_parser_delete(&parser);
	return d->errors - before;
}

/* Move the positions of a nested document (and of the diagnostics from
   diag onwards) from the string's own lines to the file's. */
static void nested_shift(struct ld *l, yaml_document_t *doc, size_t diag,
			 const yaml_node_t *s, bool block, int indent)
{
	for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
		if (block) {
			n->start_mark.line += s->start_mark.line + 1;
			n->start_mark.column += (size_t)indent;
		} else {
			n->start_mark = s->start_mark;
		}
	}
	for (size_t i = diag; i < l->d->n; i++) {
		struct pw_pos *p = &l->d->v[i].pos;
		if (block) {
			p->line += (int)s->start_mark.line + 1;
			p->col += indent;
		} else {
			*p = ld_pos(l, s);
		}
	}
}

void ld_nested(struct ld *l, yaml_node_t *s,
	       void (*fn)(struct ld *l, yaml_node_t *root, void *arg), void *arg)
{
	const unsigned char *buf = s->data.scalar.value;
	size_t len = s->data.scalar.length;
	bool block = s->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
		     s->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
	int indent = 0;
	if (block && l->buf) {
		/* libyaml drops the block's indentation: count it in the file */
		size_t i = s->start_mark.index;
		while (i < l->len && l->buf[i] != '\n')
			i++;
		while (++i < l->len && l->buf[i] == ' ')
			indent++;
	}
	struct ld sub = *l;
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser)) {
		pw_error(l->d, ld_pos(l, s), "cannot initialise the YAML parser");
		return;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	struct composer k = { .l = &sub, .doc = &doc };
	pw_strmap_init(&k.anchors);
	pw_arena_init(&k.names);
	sub.doc = &doc;
	sub.buf = NULL;
	size_t diag = l->d->n;
	int rc;
	while ((rc = compose(&k, &parser, buf, len)) > 0) {
		nested_shift(l, &doc, diag, s, block, indent);
		diag = l->d->n;
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (root) {
			check_duplicate_keys(&sub);
			fn(&sub, root, arg);
		}
		yaml_document_delete(&doc);
	}
	if (rc < 0) {
		yaml_document_t none = { 0 };
		nested_shift(l, &none, diag, s, block, indent);
	}
	pw_strmap_release(&k.anchors);
	pw_arena_release(&k.names);
	yaml_parser_delete(&parser);
}

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

/* A directory walk: each directory and each file (by device and inode) is
   visited once, so symlink loops end and a file reached twice through
   symlinks is read once. */
struct walk {
	struct pw_strmap seen; /* "dev:ino" -> (void *)1 */
	struct pw_arena keys;
	struct pw_arena *names; /* file names of diagnostics */
	pw_file_fn fn;
	void *arg;
};

static size_t read_one(struct walk *wk, const char *path, struct pw_diags *d)
{
	struct pw_pos pos = ld_file_pos(pw_arena_strdup(wk->names, path));
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		pw_error(d, pos, "cannot open: %s", strerror(errno));
		return 1;
	}
	struct pw_buf b;
	pw_buf_init(&b);
	char chunk[65536];
	size_t n;
	bool toobig = false;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > PW_MAX_FILE_SIZE) {
			toobig = true;
			break;
		}
		pw_buf_add(&b, chunk, n);
	}
	bool rerr = ferror(f);
	if (f != stdin)
		fclose(f);
	size_t errs = 0;
	if (toobig) {
		pw_error(d, pos, "file larger than %u MiB", PW_MAX_FILE_SIZE >> 20);
		errs = 1;
	} else if (rerr) {
		pw_error(d, pos, "read error");
		errs = 1;
	} else {
		errs = wk->fn(wk->arg, strcmp(path, "-") ? path : "<stdin>",
			      (const unsigned char *)(b.s ? b.s : ""), b.len, d);
	}
	pw_buf_release(&b);
	return errs;
}

/* Marks st's file as seen; false if it already was. */
static bool walk_first_visit(struct walk *wk, const struct stat *st)
{
	char key[48];
	snprintf(key, sizeof(key), "%llx:%llx", (unsigned long long)st->st_dev,
		 (unsigned long long)st->st_ino);
	if (pw_strmap_get(&wk->seen, key))
		return false;
	pw_strmap_put(&wk->seen, pw_arena_strdup(&wk->keys, key), (void *)1);
	return true;
}

bool pw_is_manifest_name(const char *nm)
{
	return nm[0] != '.' && (ends_with(nm, ".yaml") || ends_with(nm, ".yml") ||
				ends_with(nm, ".json"));
}

static size_t walk_dir(struct walk *wk, const char *path, struct pw_diags *d,
		       int depth)
{
	struct dirent **ents;
	int n = scandir(path, &ents, NULL, alphasort);
	size_t errs = 0;
	if (n < 0) {
		pw_error(d, ld_file_pos(pw_arena_strdup(wk->names, path)),
			 "cannot read directory: %s", strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		if (nm[0] == '.') {
			free(ents[i]);
			continue;
		}
		size_t len = strlen(path) + strlen(nm) + 2;
		char *full = pw_xmalloc(len);
		if (!strcmp(path, "."))
			snprintf(full, len, "%s", nm);
		else
			snprintf(full, len, "%s%s%s", path,
				 ends_with(path, "/") ? "" : "/", nm);
		struct stat st;
		bool manifest = pw_is_manifest_name(nm);
		if (stat(full, &st) < 0) {
			if (manifest) /* a dangling symlink, or gone */
				errs += read_one(wk, full, d);
		} else if (S_ISDIR(st.st_mode)) {
			if (depth < 32 && walk_first_visit(wk, &st))
				errs += walk_dir(wk, full, d, depth + 1);
		} else if (manifest && S_ISREG(st.st_mode)) {
			/* FIFOs, devices and sockets are never read from a
			   directory: they may block or never end */
			if (walk_first_visit(wk, &st))
				errs += read_one(wk, full, d);
		}
		free(full);
		free(ents[i]);
	}
	free(ents);
	return errs;
}

size_t pw_walk_path(const char *path, struct pw_arena *names, pw_file_fn fn,
		    void *arg, struct pw_diags *d)
{
	struct walk wk = { .names = names, .fn = fn, .arg = arg };
	struct stat st;
	size_t errs;
	pw_strmap_init(&wk.seen);
	pw_arena_init(&wk.keys);
	if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		walk_first_visit(&wk, &st);
		errs = walk_dir(&wk, path, d, 0);
	} else {
		/* a file named explicitly is read whatever it is: a pipe from
		   the shell (-f <(...)) or -f - for stdin */
		errs = read_one(&wk, path, d);
	}
	pw_strmap_release(&wk.seen);
	pw_arena_release(&wk.keys);
	return errs;
}

static size_t load_one(void *arg, const char *name, const unsigned char *bytes,
		       size_t len, struct pw_diags *d)
{
	return pw_cluster_load_buffer(arg, name, bytes, len, d);
}

size_t pw_cluster_load_path(struct pw_cluster *c, const char *path,
			    struct pw_diags *d)
{
	return pw_walk_path(path, &c->arena, load_one, c, d);
}

size_t pw_split_documents(const unsigned char *buf, size_t len,
			  struct pw_span **out)
{
	yaml_parser_t p;
	*out = NULL;
	size_t n = 0, cap = 0, start = 0;
	if (!yaml_parser_initialize(&p))
		return 0;
	yaml_parser_set_input_string(&p, buf, len);
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev))
			break;
		bool end = ev.type == YAML_STREAM_END_EVENT;
		if (ev.type == YAML_DOCUMENT_START_EVENT)
			start = ev.start_mark.index;
		else if (ev.type == YAML_DOCUMENT_END_EVENT) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				*out = pw_xrealloc(*out, cap * sizeof(**out));
			}
			(*out)[n++] = (struct pw_span){ start, ev.end_mark.index };
		}
		yaml_event_delete(&ev);
		if (end)
			break;
	}
	yaml_parser_delete(&p);
	return n;
}
