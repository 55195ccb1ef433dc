// SPDX-License-Identifier: Apache-2.0
/*
 * One flow record: names, filters, JSON (written by hand, read back with
 * libyaml: JSON is YAML's flow style), CSV and table rows (lib/flow/flow.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <yaml.h>

#include "../netaddr.h"
#include "flow.h"

/* ---- names ----------------------------------------------------------------- */

const char *pw_flow_action_name(enum pw_flow_action a)
{
	return a == PW_FLOW_DENY ? "deny" : "allow";
}

const char *pw_flow_reporter_name(enum pw_flow_reporter r)
{
	return r == PW_FLOW_DST ? "dst" : "src";
}

int pw_flow_action_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "allow"))
		return PW_FLOW_ALLOW;
	if (!strcmp(s, "deny"))
		return PW_FLOW_DENY;
	return -1;
}

int pw_flow_reporter_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "src"))
		return PW_FLOW_SRC;
	if (!strcmp(s, "dst"))
		return PW_FLOW_DST;
	return -1;
}

static const struct {
	int num;
	const char *name;
} protos[] = { { 1, "icmp" }, { 6, "tcp" }, { 17, "udp" }, { 58, "icmp6" }, { 132, "sctp" } };

const char *pw_flow_proto_name(int proto, char buf[static 12])
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(protos); i++)
		if (protos[i].num == proto)
			return protos[i].name;
	snprintf(buf, 12, "%d", proto);
	return buf;
}

int pw_flow_proto_parse(const char *s)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(protos); i++)
		if (!strcasecmp(s, protos[i].name))
			return protos[i].num;
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > 255)
		return -1;
	return (int)v;
}

/* ---- filters ------------------------------------------------------------------ */

/* NAME against an end: the pod, the workload (name_aggr, or "W-*" of a
   pod whose name starts "W-"), a network set, "pub"/"pvt" */
static bool name_match(const char *name, const struct pw_flow_end *e)
{
	if (!*name || !strcmp(name, "-"))
		return false;
	if (!strcmp(name, e->name) || !strcmp(name, e->name_aggr))
		return true;
	size_t n = strlen(name);
	if (n >= 2 && !strcmp(name + n - 2, "-*"))
		return strcmp(e->name, "-") && !strncmp(e->name, name, n - 1);
	return false;
}

static bool end_match(const char *spec, const char *ns, const struct pw_flow_end *e)
{
	struct pw_cidr c;
	struct pw_addr a;
	if (pw_cidr_parse(spec, &c) == 0 || pw_addr_parse(spec, &c.addr) == 0) {
		if (!strchr(spec, '/'))
			c.len = c.addr.family == 4 ? 32 : 128;
		return *e->ip && pw_addr_parse(e->ip, &a) == 0 && pw_cidr_contains(&c, &a);
	}
	const char *slash = strchr(spec, '/');
	if (slash) {
		size_t n = (size_t)(slash - spec);
		if (strlen(e->ns) != n || strncmp(e->ns, spec, n))
			return false;
		return name_match(slash + 1, e);
	}
	if (ns && strcmp(ns, e->ns))
		return false;
	return name_match(spec, e);
}

bool pw_flow_policy_next(const char **p, struct pw_flow_policy_ref *e)
{
	while (**p) {
		const char *s = *p, *end = strchr(s, ';');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		*p = end ? end + 1 : s + len;
		const char *b1 = memchr(s, '|', len);
		if (!b1)
			continue; /* not an entry */
		const char *name = b1 + 1;
		const char *b2 = memchr(name, '|', len - (size_t)(name - s));
		e->tier = s;
		e->tier_len = (size_t)(b1 - s);
		e->name = name;
		e->name_len = b2 ? (size_t)(b2 - name) : len - (size_t)(name - s);
		return true;
	}
	return false;
}

/* "NAME" or "TIER|NAME" against one of "entry;entry" */
static bool policy_match(const char *want, const char *entries)
{
	const char *bar = strchr(want, '|');
	size_t tl = bar ? (size_t)(bar - want) : 0;
	const char *name = bar ? bar + 1 : want;
	size_t nl = strlen(name);
	struct pw_flow_policy_ref e;
	for (const char *p = entries; pw_flow_policy_next(&p, &e);)
		if (e.name_len == nl && !memcmp(e.name, name, nl) &&
		    (!bar || (e.tier_len == tl && !memcmp(e.tier, want, tl))))
			return true;
	return false;
}

bool pw_flow_match(const struct pw_flow_filter *f, const struct pw_flow *r)
{
	if (!f)
		return true;
	if (f->action >= 0 && (int)r->action != f->action)
		return false;
	if (f->port && r->dst.port != f->port)
		return false;
	if (f->since && r->end_time < f->since)
		return false;
	if (f->until && r->start_time > f->until)
		return false;
	if (f->ns && strcmp(r->src.ns, f->ns) && strcmp(r->dst.ns, f->ns))
		return false;
	if (f->pod && !end_match(f->pod, f->ns, &r->src) && !end_match(f->pod, f->ns, &r->dst))
		return false;
	if (f->from && !end_match(f->from, f->ns, &r->src))
		return false;
	if (f->to && !end_match(f->to, f->ns, &r->dst))
		return false;
	if (f->policy && !policy_match(f->policy, r->policies) &&
	    !policy_match(f->policy, r->pending))
		return false;
	return true;
}

/* ---- JSON out ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t min, c;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, min = 0x80, c = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, min = 0x800, c = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, min = 0x10000, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

void pw_flow_json_str(struct pw_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	pw_buf_putc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t l;
		switch (c) {
		case '"': pw_buf_add(b, "\\\"", 2); i++; continue;
		case '\\': pw_buf_add(b, "\\\\", 2); i++; continue;
		case '\n': pw_buf_add(b, "\\n", 2); i++; continue;
		case '\r': pw_buf_add(b, "\\r", 2); i++; continue;
		case '\t': pw_buf_add(b, "\\t", 2); i++; continue;
		case '\b': pw_buf_add(b, "\\b", 2); i++; continue;
		case '\f': pw_buf_add(b, "\\f", 2); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			pw_buf_printf(b, "\\u%04x", c);
			i++;
		} else if ((l = utf8_len(p + i, n - i))) {
			pw_buf_add(b, s + i, l);
			i += l;
		} else {
			/* not UTF-8: the byte as the character of that number */
			pw_buf_printf(b, "\\u%04x", c);
			i++;
		}
	}
	pw_buf_putc(b, '"');
}

static void jkey(struct pw_buf *b, const char *k)
{
	pw_buf_printf(b, ",\"%s\":", k);
}

static void jstrf(struct pw_buf *b, const char *k, const char *v)
{
	jkey(b, k);
	pw_flow_json_str(b, v, strlen(v));
}

/* "a<sep>b" as a JSON array of strings */
static void jlist(struct pw_buf *b, const char *k, const char *v, char sep)
{
	jkey(b, k);
	pw_buf_putc(b, '[');
	for (const char *p = v; *p;) {
		const char *e = strchr(p, sep);
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (p != v)
			pw_buf_putc(b, ',');
		pw_flow_json_str(b, p, n);
		if (!e)
			break;
		p = e + 1;
	}
	pw_buf_putc(b, ']');
}

static void jend(struct pw_buf *b, const char *pre, const struct pw_flow_end *e)
{
	char k[32];
	snprintf(k, sizeof(k), "%s_type", pre);
	jstrf(b, k, e->type);
	snprintf(k, sizeof(k), "%s_namespace", pre);
	jstrf(b, k, e->ns);
	snprintf(k, sizeof(k), "%s_name", pre);
	jstrf(b, k, e->name);
	snprintf(k, sizeof(k), "%s_name_aggr", pre);
	jstrf(b, k, e->name_aggr);
	snprintf(k, sizeof(k), "%s_labels", pre);
	jlist(b, k, e->labels, ',');
	snprintf(k, sizeof(k), "%s_ip", pre);
	if (*e->ip) {
		jstrf(b, k, e->ip);
	} else {
		jkey(b, k);
		pw_buf_puts(b, "null");
	}
	snprintf(k, sizeof(k), "%s_port", pre);
	jkey(b, k);
	if (e->port < 0)
		pw_buf_puts(b, "null");
	else
		pw_buf_printf(b, "%d", e->port);
}

static void jnum(struct pw_buf *b, const char *k, uint64_t v)
{
	jkey(b, k);
	pw_buf_printf(b, "%" PRIu64, v);
}

void pw_flow_json(const struct pw_flow *r, struct pw_buf *out)
{
	char pb[12];
	pw_buf_printf(out, "{\"start_time\":%" PRId64, r->start_time);
	jkey(out, "end_time");
	pw_buf_printf(out, "%" PRId64, r->end_time);
	jstrf(out, "action", pw_flow_action_name(r->action));
	jstrf(out, "reporter", pw_flow_reporter_name(r->reporter));
	jend(out, "source", &r->src);
	jend(out, "dest", &r->dst);
	jstrf(out, "proto", pw_flow_proto_name(r->proto, pb));
	jstrf(out, "dest_service_namespace", r->svc_ns);
	jstrf(out, "dest_service_name", r->svc_name);
	jstrf(out, "dest_service_port_name", r->svc_port_name);
	jkey(out, "dest_service_port_num");
	if (r->svc_port_num)
		pw_buf_printf(out, "%d", r->svc_port_num);
	else
		pw_buf_puts(out, "null");
	jlist(out, "dest_domains", r->dest_domains, ',');
	jlist(out, "policies", r->policies, ';');
	jlist(out, "pending_policies", r->pending, ';');
	jnum(out, "num_flows", r->num_flows);
	jnum(out, "num_flows_started", r->num_flows_started);
	jnum(out, "num_flows_completed", r->num_flows_completed);
	jnum(out, "packets_in", r->packets_in);
	jnum(out, "packets_out", r->packets_out);
	jnum(out, "bytes_in", r->bytes_in);
	jnum(out, "bytes_out", r->bytes_out);
	pw_buf_putc(out, '}');
}

/* ---- JSON in ------------------------------------------------------------------------ */

struct jin {
	yaml_document_t doc;
	struct pw_buf *err;
	int *col;
};

static int jfail(struct jin *j, const yaml_node_t *n, const char *fmt, ...) PW_PRINTF(3, 4);
static int jfail(struct jin *j, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	if (j->col)
		*j->col = n ? (int)n->start_mark.column + 1 : 1;
	va_start(ap, fmt);
	pw_buf_vprintf(j->err, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       !strcmp((const char *)n->data.scalar.value, "null");
}

static const char *jstring(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || (n->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE &&
					    n->data.scalar.style != YAML_SINGLE_QUOTED_SCALAR_STYLE))
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int get_str(struct jin *j, const char *key, const yaml_node_t *n, char *dst, size_t cap,
		   const char *if_null)
{
	const char *s;
	if (if_null && is_null(n))
		s = if_null;
	else if (!(s = jstring(n)))
		return jfail(j, n, "%s: want a string", key);
	size_t len = n->type == YAML_SCALAR_NODE && s == (const char *)n->data.scalar.value
			     ? n->data.scalar.length
			     : strlen(s);
	if (memchr(s, 0, len))
		return jfail(j, n, "%s: a NUL character", key);
	if (len >= cap)
		return jfail(j, n, "%s: longer than %zu bytes", key, cap - 1);
	memcpy(dst, s, len + 1);
	return 0;
}

/* a plain JSON integer in [lo, hi]; null is null_val when allowed */
static int get_int(struct jin *j, const char *key, const yaml_node_t *n, int64_t lo, uint64_t hi,
		   bool null_ok, int64_t null_val, void *dst, bool wide_unsigned)
{
	if (null_ok && is_null(n)) {
		*(int64_t *)dst = null_val;
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return jfail(j, n, "%s: want a number", key);
	const char *s = (const char *)n->data.scalar.value;
	char *end;
	errno = 0;
	if (wide_unsigned) {
		if (*s == '-' || !*s)
			return jfail(j, n, "%s: want a number from 0 to %" PRIu64, key, hi);
		unsigned long long v = strtoull(s, &end, 10);
		if (*end || errno)
			return jfail(j, n, "%s: want a number from 0 to %" PRIu64, key, hi);
		*(uint64_t *)dst = v;
		return 0;
	}
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < lo || (v > 0 && (uint64_t)v > hi))
		return jfail(j, n, "%s: want a number from %" PRId64 " to %" PRIu64 "%s", key, lo,
			     hi, null_ok ? " or null" : "");
	*(int64_t *)dst = v;
	return 0;
}

/* an array of strings joined by sep into dst */
static int get_list(struct jin *j, const char *key, const yaml_node_t *n, char *dst, size_t cap,
		    char sep)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return jfail(j, n, "%s: want an array of strings", key);
	size_t len = 0;
	dst[0] = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(&j->doc, *it);
		const char *s = v ? jstring(v) : NULL;
		if (!s)
			return jfail(j, v ? v : n, "%s: want an array of strings", key);
		size_t l = v->data.scalar.length;
		if (memchr(s, 0, l) || memchr(s, sep, l) || !l)
			return jfail(j, v, "%s: an item may not be empty or hold '%c'", key, sep);
		if (len + l + 2 > cap)
			return jfail(j, v, "%s: longer than %zu bytes", key, cap - 1);
		if (len)
			dst[len++] = sep;
		memcpy(dst + len, s, l);
		len += l;
		dst[len] = 0;
	}
	return 0;
}

enum {
	F_START = 1 << 0,
	F_END = 1 << 1,
	F_ACTION = 1 << 2,
	F_REPORTER = 1 << 3,
};

static int end_field(struct jin *j, const char *key, const char *k, const yaml_node_t *v,
		     struct pw_flow_end *e)
{
	int64_t x;
	if (!strcmp(k, "type")) {
		if (get_str(j, key, v, e->type, sizeof(e->type), NULL) < 0)
			return -1;
		if (strcmp(e->type, "wep") && strcmp(e->type, "ns") && strcmp(e->type, "net") &&
		    strcmp(e->type, "hep"))
			return jfail(j, v, "%s: want wep, ns, net or hep", key);
		return 0;
	}
	if (!strcmp(k, "namespace"))
		return get_str(j, key, v, e->ns, sizeof(e->ns), "-");
	if (!strcmp(k, "name"))
		return get_str(j, key, v, e->name, sizeof(e->name), "-");
	if (!strcmp(k, "name_aggr"))
		return get_str(j, key, v, e->name_aggr, sizeof(e->name_aggr), "-");
	if (!strcmp(k, "labels"))
		return is_null(v) ? 0 : get_list(j, key, v, e->labels, sizeof(e->labels), ',');
	if (!strcmp(k, "ip")) {
		if (get_str(j, key, v, e->ip, sizeof(e->ip), "") < 0)
			return -1;
		struct pw_addr a;
		if (*e->ip && pw_addr_parse(e->ip, &a) < 0)
			return jfail(j, v, "%s: not an IPv4 or IPv6 address", key);
		return 0;
	}
	if (!strcmp(k, "port")) {
		if (get_int(j, key, v, 0, 65535, true, -1, &x, false) < 0)
			return -1;
		e->port = (int)x;
		return 0;
	}
	return 1;
}

static int field(struct jin *j, const char *k, const yaml_node_t *v, struct pw_flow *r,
		 unsigned *seen)
{
	int64_t x;
	const char *s;
	if (!strcmp(k, "start_time") || !strcmp(k, "end_time")) {
		if (get_int(j, k, v, 0, INT64_MAX, false, 0, &x, false) < 0)
			return -1;
		*(k[0] == 's' ? &r->start_time : &r->end_time) = x;
		*seen |= k[0] == 's' ? F_START : F_END;
		return 0;
	}
	if (!strcmp(k, "action")) {
		int a = (s = jstring(v)) ? pw_flow_action_parse(s) : -1;
		if (a < 0)
			return jfail(j, v, "action: want \"allow\" or \"deny\"");
		r->action = (enum pw_flow_action)a;
		*seen |= F_ACTION;
		return 0;
	}
	if (!strcmp(k, "reporter")) {
		int a = (s = jstring(v)) ? pw_flow_reporter_parse(s) : -1;
		if (a < 0)
			return jfail(j, v, "reporter: want \"src\" or \"dst\"");
		r->reporter = (enum pw_flow_reporter)a;
		*seen |= F_REPORTER;
		return 0;
	}
	if (!strncmp(k, "source_", 7))
		return end_field(j, k, k + 7, v, &r->src);
	if (!strncmp(k, "dest_service_", 13)) {
		const char *f = k + 13;
		if (!strcmp(f, "namespace"))
			return get_str(j, k, v, r->svc_ns, sizeof(r->svc_ns), "-");
		if (!strcmp(f, "name"))
			return get_str(j, k, v, r->svc_name, sizeof(r->svc_name), "-");
		if (!strcmp(f, "port_name"))
			return get_str(j, k, v, r->svc_port_name, sizeof(r->svc_port_name), "-");
		if (!strcmp(f, "port_num") || !strcmp(f, "port")) {
			if (get_int(j, k, v, 0, 65535, true, 0, &x, false) < 0)
				return -1;
			r->svc_port_num = (int)x;
			return 0;
		}
		return 1;
	}
	if (!strcmp(k, "dest_domains"))
		return is_null(v) ? 0
				  : get_list(j, k, v, r->dest_domains, sizeof(r->dest_domains), ',');
	if (!strncmp(k, "dest_", 5))
		return end_field(j, k, k + 5, v, &r->dst);
	if (!strcmp(k, "proto")) {
		char buf[16];
		int p;
		if (v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			p = pw_flow_proto_parse((const char *)v->data.scalar.value);
		else if (get_str(j, k, v, buf, sizeof(buf), NULL) < 0)
			return -1;
		else
			p = pw_flow_proto_parse(buf);
		if (p < 0)
			return jfail(j, v, "proto: want tcp, udp, icmp, icmp6, sctp or 0 to 255");
		r->proto = p;
		return 0;
	}
	if (!strcmp(k, "policies"))
		return is_null(v) ? 0 : get_list(j, k, v, r->policies, sizeof(r->policies), ';');
	if (!strcmp(k, "pending_policies"))
		return is_null(v) ? 0 : get_list(j, k, v, r->pending, sizeof(r->pending), ';');
	static const struct {
		const char *name;
		size_t off;
	} counters[] = {
		{ "num_flows", offsetof(struct pw_flow, num_flows) },
		{ "num_flows_started", offsetof(struct pw_flow, num_flows_started) },
		{ "num_flows_completed", offsetof(struct pw_flow, num_flows_completed) },
		{ "packets_in", offsetof(struct pw_flow, packets_in) },
		{ "packets_out", offsetof(struct pw_flow, packets_out) },
		{ "bytes_in", offsetof(struct pw_flow, bytes_in) },
		{ "bytes_out", offsetof(struct pw_flow, bytes_out) },
	};
	for (size_t i = 0; i < PW_ARRAY_SIZE(counters); i++)
		if (!strcmp(k, counters[i].name))
			return get_int(j, k, v, 0, UINT64_MAX, false, 0,
				       (char *)r + counters[i].off, true);
	return 1; /* another field: ignored */
}

static void end_init(struct pw_flow_end *e)
{
	memset(e, 0, sizeof(*e));
	strcpy(e->type, "net");
	strcpy(e->ns, "-");
	strcpy(e->name, "-");
	strcpy(e->name_aggr, "-");
	e->port = -1;
}

static int hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'	 ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * JSON writes a character past U+FFFF as a surrogate pair
 * ("\ud83d\udc33"), which YAML's escapes do not know: the pairs as UTF-8
 * into out.  Only escapes change (a backslash and what follows are read
 * as a pair, so "\\ud83d" stays).  False when there are none.
 */
static bool join_surrogates(const char *s, size_t n, struct pw_buf *out)
{
	bool any = false;
	size_t from = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		int hi, lo;
		if (s[i + 1] == 'u' && i + 12 <= n && s[i + 6] == '\\' && s[i + 7] == 'u' &&
		    (hi = hex4(s + i + 2)) >= 0xd800 && hi <= 0xdbff &&
		    (lo = hex4(s + i + 8)) >= 0xdc00 && lo <= 0xdfff) {
			uint32_t c = 0x10000 + ((uint32_t)(hi - 0xd800) << 10) + (uint32_t)(lo - 0xdc00);
			char u[4] = { (char)(0xf0 | c >> 18), (char)(0x80 | (c >> 12 & 0x3f)),
				      (char)(0x80 | (c >> 6 & 0x3f)), (char)(0x80 | (c & 0x3f)) };
			pw_buf_add(out, s + from, i - from);
			pw_buf_add(out, u, 4);
			i += 11;
			from = i + 1;
			any = true;
		} else {
			i++; /* the escaped character */
		}
	}
	if (any)
		pw_buf_add(out, s + from, n - from);
	return any;
}

int pw_flow_parse_json_at(const char *line, size_t len, struct pw_flow *r, int *col,
			  struct pw_buf *err)
{
	struct pw_buf joined;
	pw_buf_init(&joined);
	if (join_surrogates(line, len, &joined)) {
		int rc = pw_flow_parse_json_at(joined.s, joined.len, r, col, err);
		pw_buf_release(&joined);
		return rc;
	}
	struct jin j = { .err = err, .col = col };
	yaml_parser_t p;
	memset(r, 0, sizeof(*r));
	end_init(&r->src);
	end_init(&r->dst);
	strcpy(r->svc_ns, "-");
	strcpy(r->svc_name, "-");
	strcpy(r->svc_port_name, "-");
	if (col)
		*col = 1;
	/* JSON's "{" starts a line; YAML would also take "a: b" or "- x" */
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] != '{') {
		if (col)
			*col = (int)i + 1;
		pw_buf_puts(err, "want a JSON object");
		return -1;
	}
	if (memchr(line, 0, len)) {
		pw_buf_puts(err, "a NUL byte");
		return -1;
	}
	if (!yaml_parser_initialize(&p)) {
		pw_buf_puts(err, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)line, len);
	if (!yaml_parser_load(&p, &j.doc)) {
		if (col)
			*col = (int)p.problem_mark.column + 1;
		pw_buf_printf(err, "not JSON: %s", p.problem ? p.problem : "a syntax error");
		if (p.context)
			pw_buf_printf(err, " (%s)", p.context);
		yaml_parser_delete(&p);
		return -1;
	}
	/* one document only */
	yaml_document_t more;
	int rc = -1;
	if (yaml_parser_load(&p, &more)) {
		bool extra = yaml_document_get_root_node(&more) != NULL;
		yaml_document_delete(&more);
		if (extra) {
			jfail(&j, NULL, "more than one JSON value");
			goto out;
		}
	} else {
		if (col)
			*col = (int)p.problem_mark.column + 1;
		pw_buf_printf(err, "not JSON: %s", p.problem ? p.problem : "a syntax error");
		goto out;
	}
	yaml_node_t *root = yaml_document_get_root_node(&j.doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		jfail(&j, root, "want a JSON object");
		goto out;
	}
	unsigned seen = 0;
	for (yaml_node_pair_t *kv = root->data.mapping.pairs.start;
	     kv < root->data.mapping.pairs.top; kv++) {
		yaml_node_t *k = yaml_document_get_node(&j.doc, kv->key);
		yaml_node_t *v = yaml_document_get_node(&j.doc, kv->value);
		const char *ks = k ? jstring(k) : NULL;
		if (!ks || !v) {
			jfail(&j, k, "want a string as a key");
			goto out;
		}
		if (field(&j, ks, v, r, &seen) < 0)
			goto out;
	}
	static const char *const need[] = { "start_time", "end_time", "action", "reporter" };
	for (size_t b = 0; b < PW_ARRAY_SIZE(need); b++)
		if (!(seen & (1u << b))) {
			jfail(&j, root, "no %s", need[b]);
			goto out;
		}
	if (r->end_time < r->start_time) {
		jfail(&j, root, "end_time is before start_time");
		goto out;
	}
	rc = 0;
out:
	yaml_document_delete(&j.doc);
	yaml_parser_delete(&p);
	return rc;
}

int pw_flow_parse_json(const char *line, size_t len, struct pw_flow *r, struct pw_buf *err)
{
	return pw_flow_parse_json_at(line, len, r, NULL, err);
}

/* ---- many records out -------------------------------------------------------------------- */

static const char *const csv_fields[] = {
	"start_time", "end_time", "action", "reporter", "source_type", "source_namespace",
	"source_name", "source_name_aggr", "source_labels", "source_ip", "source_port",
	"dest_type", "dest_namespace", "dest_name", "dest_name_aggr", "dest_labels", "dest_ip",
	"dest_port", "proto", "dest_service_namespace", "dest_service_name",
	"dest_service_port_name", "dest_service_port_num", "dest_domains", "policies",
	"pending_policies", "num_flows", "num_flows_started", "num_flows_completed",
	"packets_in", "packets_out", "bytes_in", "bytes_out",
};

#define TABLE_FMT "%-20s  %-40s  %-40s  %-10s  %-6s  %-4s  %s\n"

void pw_flow_write_begin(enum pw_format fmt, const struct pw_out *o)
{
	if (fmt == PW_FORMAT_CSV) {
		for (size_t i = 0; i < PW_ARRAY_SIZE(csv_fields); i++)
			pw_out_printf(o, "%s%s", i ? "," : "", csv_fields[i]);
		pw_out_putc(o, '\n');
	} else if (fmt == PW_FORMAT_TABLE) {
		pw_out_printf(o, TABLE_FMT, "TIME", "SOURCE", "DESTINATION", "PROTO/PORT", "ACTION",
			      "REP", "POLICIES");
	}
}

static void csv_field(struct pw_buf *b, bool first, const char *s)
{
	if (!first)
		pw_buf_putc(b, ',');
	if (!strpbrk(s, ",\"\r\n")) {
		pw_buf_puts(b, s);
		return;
	}
	pw_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			pw_buf_putc(b, '"');
		pw_buf_putc(b, *s);
	}
	pw_buf_putc(b, '"');
}

static void csv_end(struct pw_buf *b, const struct pw_flow_end *e)
{
	char n[16] = "";
	csv_field(b, false, e->type);
	csv_field(b, false, e->ns);
	csv_field(b, false, e->name);
	csv_field(b, false, e->name_aggr);
	csv_field(b, false, e->labels);
	csv_field(b, false, e->ip);
	if (e->port >= 0)
		snprintf(n, sizeof(n), "%d", e->port);
	csv_field(b, false, n);
}

static void csv_row(struct pw_buf *b, const struct pw_flow *r)
{
	char n[32], pb[12];
	snprintf(n, sizeof(n), "%" PRId64, r->start_time);
	csv_field(b, true, n);
	snprintf(n, sizeof(n), "%" PRId64, r->end_time);
	csv_field(b, false, n);
	csv_field(b, false, pw_flow_action_name(r->action));
	csv_field(b, false, pw_flow_reporter_name(r->reporter));
	csv_end(b, &r->src);
	csv_end(b, &r->dst);
	csv_field(b, false, pw_flow_proto_name(r->proto, pb));
	csv_field(b, false, r->svc_ns);
	csv_field(b, false, r->svc_name);
	csv_field(b, false, r->svc_port_name);
	n[0] = 0;
	if (r->svc_port_num)
		snprintf(n, sizeof(n), "%d", r->svc_port_num);
	csv_field(b, false, n);
	csv_field(b, false, r->dest_domains);
	csv_field(b, false, r->policies);
	csv_field(b, false, r->pending);
	const uint64_t c[] = { r->num_flows,  r->num_flows_started, r->num_flows_completed,
			       r->packets_in, r->packets_out,	    r->bytes_in,
			       r->bytes_out };
	for (size_t i = 0; i < PW_ARRAY_SIZE(c); i++) {
		snprintf(n, sizeof(n), "%" PRIu64, c[i]);
		csv_field(b, false, n);
	}
	pw_buf_putc(b, '\n');
}

/* an end as the table shows it: ns/pod (or ns/workload), else the address
   (or the network set's name) */
static void table_end(char *out, size_t cap, const struct pw_flow_end *e)
{
	const char *name = strcmp(e->name, "-") ? e->name : e->name_aggr;
	if (!strcmp(e->type, "wep"))
		snprintf(out, cap, "%s/%s", e->ns, name);
	else if (!strcmp(e->type, "ns") && *e->ip)
		snprintf(out, cap, "%s (%s%s%s)", e->ip, strcmp(e->ns, "-") ? e->ns : "",
			 strcmp(e->ns, "-") ? "/" : "", e->name_aggr);
	else if (!strcmp(e->type, "ns"))
		snprintf(out, cap, "%s%s%s", strcmp(e->ns, "-") ? e->ns : "",
			 strcmp(e->ns, "-") ? "/" : "", e->name_aggr);
	else
		snprintf(out, cap, "%s", *e->ip ? e->ip : e->name_aggr);
}

void pw_flow_write(const struct pw_flow *r, enum pw_format fmt, const struct pw_out *o)
{
	struct pw_buf b;
	pw_buf_init(&b);
	if (fmt == PW_FORMAT_JSON || fmt == PW_FORMAT_YAML) {
		pw_flow_json(r, &b);
		pw_buf_putc(&b, '\n');
	} else if (fmt == PW_FORMAT_CSV) {
		csv_row(&b, r);
	} else {
		char t[32], src[PW_FLOW_NAME + PW_FLOW_NS + 64], dst[sizeof(src)], pp[32], pb[12];
		time_t tt = (time_t)r->end_time;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		table_end(src, sizeof(src), &r->src);
		table_end(dst, sizeof(dst), &r->dst);
		if (r->dst.port >= 0)
			snprintf(pp, sizeof(pp), "%s/%d", pw_flow_proto_name(r->proto, pb),
				 r->dst.port);
		else
			snprintf(pp, sizeof(pp), "%s", pw_flow_proto_name(r->proto, pb));
		const char *pol = *r->policies ? r->policies : "-";
		pw_buf_printf(&b, "%-20s  %-40s  %-40s  %-10s  %-6s  %-4s  %s", t, src, dst, pp,
			      pw_flow_action_name(r->action), pw_flow_reporter_name(r->reporter),
			      pol);
		/* what the staged policies would decide, when it differs */
		if (*r->pending && strcmp(r->pending, r->policies))
			pw_buf_printf(&b, " (pending: %s)", r->pending);
		/* no control characters on a terminal */
		for (size_t i = 0; i < b.len; i++)
			if ((unsigned char)b.s[i] < 0x20 || b.s[i] == 0x7f)
				b.s[i] = '?';
		pw_buf_putc(&b, '\n');
	}
	pw_out_add(o, b.s, b.len);
	pw_buf_release(&b);
}
