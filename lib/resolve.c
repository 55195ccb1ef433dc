// SPDX-License-Identifier: Apache-2.0
#include "resolve.h"

#include <stdio.h>
#include <string.h>

/* Only digits and dots, with a dot: meant as an IPv4 address. */
static bool looks_ipv4(const char *s, size_t n)
{
	bool dot = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			dot = true;
		else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return dot;
}

/* A DNS name (RFC 1123 labels; the last not all digits), or why not. */
static const char *dns_name_invalid(const char *s, size_t n)
{
	if (!n || n > 253)
		return "a DNS name has 1 to 253 characters";
	size_t start = 0;
	if (s[n - 1] == '.')
		n--; /* a fully qualified name */
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		size_t len = i - start;
		if (!len || len > 63)
			return "a DNS label has 1 to 63 characters";
		if (s[start] == '-' || s[i - 1] == '-')
			return "a DNS label cannot start or end with '-'";
		bool digits = true;
		for (size_t k = start; k < i; k++) {
			char c = s[k];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-'))
				return "a DNS name has only letters, digits, '-' and '.'";
			digits &= c >= '0' && c <= '9';
		}
		if (i == n && digits)
			return "the last label of a DNS name is not all digits";
		start = i + 1;
	}
	return NULL;
}

/* s[0..n) as a string in out (cap bytes); false when it does not fit */
static bool cut(char *out, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(out, s, n);
	out[n] = 0;
	return true;
}

static struct pw_ep *one_ep(struct pw_arena *a, struct pw_ep ep)
{
	struct pw_ep *p = pw_arena_alloc(a, sizeof(*p));
	*p = ep;
	return p;
}

/* "ns/name" of spec, with defns (or "default") for a bare name */
static void ns_key(const char *spec, const char *defns, char key[static 512])
{
	if (strchr(spec, '/'))
		snprintf(key, 512, "%s", spec);
	else
		snprintf(key, 512, "%s/%s", defns ? defns : "default", spec);
}

int pw_resolve_ep(const struct pw_view *v, struct pw_arena *a, const char *spec,
		  const char *defns, bool as_dst, struct pw_ep **eps,
		  const char **why)
{
	const struct pw_cluster *c = v->c;
	struct pw_addr ad;
	*eps = NULL;
	*why = NULL;
	const char *eq = strchr(spec, '=');
	size_t hl = eq ? (size_t)(eq - spec) : strlen(spec);
	bool slash = memchr(spec, '/', hl) != NULL;
	if (!eq && pw_addr_parse(spec, &ad) == 0) {
		/* an address of a pod is that pod */
		for (uint32_t i = 0; i < c->npods; i++)
			for (uint32_t k = 0; k < c->pods[i].naddrs; k++)
				if (!pw_addr_cmp(&c->pods[i].addrs[k], &ad)) {
					*eps = one_ep(a, pw_ep_pod(c, i));
					(*eps)[0].addr = ad;
					return 1;
				}
		*eps = one_ep(a, pw_ep_addr(&ad));
		return 1;
	}
	if (!slash && memchr(spec, ':', hl)) {
		*why = "invalid IPv6 address";
		return -1;
	}
	if (!slash && looks_ipv4(spec, hl)) {
		*why = "invalid IPv4 address";
		return -1;
	}
	if (eq || (!slash && memchr(spec, '.', hl))) {
		/* a DNS name, optionally with the address it resolved to */
		if (!as_dst) {
			*why = "a source is an endpoint or an address (a DNS name can only be a destination)";
			return -1;
		}
		if ((*why = dns_name_invalid(spec, hl)))
			return -1;
		memset(&ad, 0, sizeof(ad));
		if (eq && pw_addr_parse(eq + 1, &ad) < 0) {
			*why = "invalid address after '='";
			return -1;
		}
		char *name = pw_arena_strndup(a, spec, hl);
		for (char *p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		*eps = one_ep(a, pw_ep_addr(&ad));
		(*eps)[0].name = name;
		return 1;
	}
	char key[512];
	ns_key(spec, defns, key);
	int32_t i = pw_view_pod(v, key);
	if (i >= 0) {
		*eps = one_ep(a, pw_ep_pod(c, (uint32_t)i));
		return 1;
	}
	if ((i = pw_view_group(v, key)) < 0)
		return 0;
	const struct pw_group *g = &c->groups[i];
	*eps = pw_arena_alloc(a, (g->npods + 1) * sizeof(**eps));
	for (uint32_t k = 0; k < g->npods; k++)
		(*eps)[k] = pw_ep_pod(c, g->pods[k]);
	return (int)g->npods;
}

const struct pw_service *pw_resolve_service(const struct pw_view *v,
					    const char *spec, const char *defns)
{
	const struct pw_cluster *c = v->c;
	struct pw_addr a;
	if (pw_addr_parse(spec, &a) == 0)
		return pw_service_by_addr(c, &a);
	static const char *const prefixes[] = { "svc/", "service/", "services/" };
	for (size_t i = 0; i < PW_ARRAY_SIZE(prefixes); i++) {
		size_t n = strlen(prefixes[i]);
		if (!strncmp(spec, prefixes[i], n) && !strchr(spec + n, '/'))
			return pw_service_find(c, defns ? defns : "default", spec + n);
	}
	/* its DNS name: NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local */
	const char *dot = strchr(spec, '.');
	if (dot && !strchr(spec, '/')) {
		char name[256], ns[256];
		size_t n = (size_t)(dot - spec);
		const char *nse = strchr(dot + 1, '.');
		size_t m = nse ? (size_t)(nse - dot - 1) : strlen(dot + 1);
		if (!cut(name, sizeof(name), spec, n) ||
		    !cut(ns, sizeof(ns), dot + 1, m) ||
		    (nse && strcmp(nse, ".svc") && strcmp(nse, ".svc.cluster.local")))
			return NULL;
		return pw_service_find(c, ns, name);
	}
	char key[512];
	ns_key(spec, defns, key);
	if (pw_view_pod(v, key) >= 0 || pw_view_group(v, key) >= 0)
		return NULL; /* a pod or workload of that name comes first */
	const char *slash = strchr(key, '/');
	char ns[256];
	if (!cut(ns, sizeof(ns), key, (size_t)(slash - key)))
		return NULL;
	return pw_service_find(c, ns, slash + 1);
}

void pw_resolve_end(const struct pw_view *v, struct pw_arena *a,
		    const char *spec, const char *defns, bool as_dst,
		    struct pw_end *out)
{
	memset(out, 0, sizeof(*out));
	if ((out->svc = pw_resolve_service(v, spec, defns)))
		out->n = 1;
	else
		out->n = pw_resolve_ep(v, a, spec, defns, as_dst, &out->eps,
				       &out->why);
}

static const char bad_port[] =
	"want PROTO/N (e.g. TCP/80, UDP/53, ICMP/8) or a port name";

const char *pw_resolve_port(const struct pw_view *v, const char *spec,
			    const struct pw_end *d, struct pw_query *q,
			    bool *named)
{
	if (named)
		*named = false;
	if (pw_query_parse(spec, q) == 0)
		return NULL;
	if (d->svc)
		return "a named port needs a pod as the destination";
	const char *slash = strchr(spec, '/');
	const char *name = slash ? slash + 1 : spec;
	int proto = -1;
	if (slash) {
		char p[16];
		if (!cut(p, sizeof(p), spec, (size_t)(slash - spec)) ||
		    (proto = pw_proto_parse(p)) < 0)
			return bad_port;
	}
	if (pw_port_name_invalid(name))
		return bad_port;
	for (int i = 0; i < d->n; i++) {
		if (d->eps[i].pod < 0)
			return "a named port needs a pod as the destination";
		const struct pw_pod *p = &v->c->pods[d->eps[i].pod];
		const struct pw_cport *cp = NULL;
		for (uint32_t k = 0; k < p->nports && !cp; k++)
			if (p->ports[k].name && !strcmp(p->ports[k].name, name) &&
			    (proto < 0 || p->ports[k].proto == proto))
				cp = &p->ports[k];
		if (!cp)
			return "the destination has no container port of that name";
		struct pw_query x = pw_query_port(cp->proto, cp->port);
		if (i && (x.ipproto != q->ipproto || x.port != q->port))
			return "the destination's pods give that name different ports";
		*q = x;
	}
	if (named)
		*named = true;
	return NULL;
}
