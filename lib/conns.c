// SPDX-License-Identifier: Apache-2.0
#include "conns.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const proto_names[PW_NPROTO] = { "TCP", "UDP", "SCTP" };

const char *pw_proto_name(int proto)
{
	return proto >= 0 && proto < PW_NPROTO ? proto_names[proto] : "?";
}

static const struct {
	const char *name;
	int num;
} ipprotos[] = {
	{ "TCP", PW_IPPROTO_TCP },	 { "UDP", PW_IPPROTO_UDP },
	{ "SCTP", PW_IPPROTO_SCTP },	 { "UDPLite", PW_IPPROTO_UDPLITE },
	{ "ICMP", PW_IPPROTO_ICMP },	 { "ICMPv6", PW_IPPROTO_ICMPV6 },
};

int pw_proto_of_ip(int ipproto)
{
	switch (ipproto) {
	case PW_IPPROTO_TCP:
		return PW_TCP;
	case PW_IPPROTO_UDP:
		return PW_UDP;
	case PW_IPPROTO_SCTP:
		return PW_SCTP;
	case PW_IPPROTO_UDPLITE:
		return PW_NPROTO;
	default:
		return -1;
	}
}

int pw_proto_ip(int proto)
{
	static const int map[] = { PW_IPPROTO_TCP, PW_IPPROTO_UDP, PW_IPPROTO_SCTP,
				   PW_IPPROTO_UDPLITE };
	return proto >= 0 && proto <= PW_NPROTO ? map[proto] : -1;
}

int pw_ipproto_parse(const char *s, size_t n)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(ipprotos); i++)
		if (strlen(ipprotos[i].name) == n && !strncasecmp(s, ipprotos[i].name, n))
			return ipprotos[i].num;
	return -1;
}

const char *pw_ipproto_name(int ipproto)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(ipprotos); i++)
		if (ipprotos[i].num == ipproto)
			return ipprotos[i].name;
	return NULL;
}

int pw_proto_parse(const char *s)
{
	for (int i = 0; i < PW_NPROTO; i++)
		if (!strcasecmp(s, proto_names[i]))
			return i;
	return -1;
}

static int parse_port(const char *s)
{
	if (!*s || strlen(s) > 5)
		return -1;
	int v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= PW_PORT_MAX ? v : -1;
}

int pw_protoport_parse(const char *s, int *proto, int *port)
{
	const char *slash = strchr(s, '/');
	*proto = PW_TCP;
	if (slash) {
		char name[8];
		size_t n = (size_t)(slash - s);
		if (n == 0 || n >= sizeof(name))
			return -1;
		memcpy(name, s, n);
		name[n] = 0;
		*proto = pw_proto_parse(name);
		if (*proto < 0)
			return -1;
		s = slash + 1;
	}
	*port = parse_port(s);
	return *port < 0 ? -1 : 0;
}

void pw_conns_init(struct pw_conns *c)
{
	memset(c, 0, sizeof(*c));
}

void pw_conns_release(struct pw_conns *c)
{
	for (int i = 0; i < PW_NPROTO; i++)
		free(c->p[i].r);
	pw_conns_init(c);
}

void pw_conns_clear(struct pw_conns *c)
{
	for (int i = 0; i < PW_NPROTO; i++)
		c->p[i].n = 0;
}

static void ps_reserve(struct pw_portset *p, uint32_t need)
{
	if (need <= p->cap)
		return;
	uint32_t ncap = p->cap ? p->cap * 2 : 4;
	while (ncap < need)
		ncap *= 2;
	p->r = pw_xrealloc(p->r, ncap * sizeof(*p->r));
	p->cap = ncap;
}

void pw_conns_copy(struct pw_conns *dst, const struct pw_conns *src)
{
	for (int i = 0; i < PW_NPROTO; i++) {
		ps_reserve(&dst->p[i], src->p[i].n);
		if (src->p[i].n)
			memcpy(dst->p[i].r, src->p[i].r,
			       src->p[i].n * sizeof(struct pw_range));
		dst->p[i].n = src->p[i].n;
	}
}

/* Insert [lo,hi] keeping the list sorted, disjoint and non-adjacent. */
static void ps_add(struct pw_portset *p, unsigned lo, unsigned hi)
{
	if (lo < 1)
		lo = 1;
	if (hi > PW_PORT_MAX)
		hi = PW_PORT_MAX;
	if (lo > hi)
		return;
	uint32_t i = 0;
	while (i < p->n && (unsigned)p->r[i].hi + 1 < lo)
		i++;
	uint32_t j = i;
	while (j < p->n && p->r[j].lo <= hi + 1) {
		if (p->r[j].lo < lo)
			lo = p->r[j].lo;
		if (p->r[j].hi > hi)
			hi = p->r[j].hi;
		j++;
	}
	/* replace p->r[i..j) by one range */
	if (j == i) {
		ps_reserve(p, p->n + 1);
		memmove(p->r + i + 1, p->r + i, (p->n - i) * sizeof(*p->r));
		p->n++;
	} else if (j > i + 1) {
		memmove(p->r + i + 1, p->r + j, (p->n - j) * sizeof(*p->r));
		p->n -= j - i - 1;
	}
	p->r[i].lo = (uint16_t)lo;
	p->r[i].hi = (uint16_t)hi;
}

void pw_conns_add(struct pw_conns *c, int proto, unsigned lo, unsigned hi)
{
	ps_add(&c->p[proto], lo, hi);
}

void pw_conns_add_all(struct pw_conns *c)
{
	for (int i = 0; i < PW_NPROTO; i++)
		ps_add(&c->p[i], 1, PW_PORT_MAX);
}

void pw_conns_union(struct pw_conns *c, const struct pw_conns *o)
{
	for (int i = 0; i < PW_NPROTO; i++)
		for (uint32_t k = 0; k < o->p[i].n; k++)
			ps_add(&c->p[i], o->p[i].r[k].lo, o->p[i].r[k].hi);
}

void pw_conns_intersect(struct pw_conns *c, const struct pw_conns *o)
{
	for (int i = 0; i < PW_NPROTO; i++) {
		const struct pw_portset *a = &c->p[i], *b = &o->p[i];
		struct pw_portset out = { 0 };
		uint32_t x = 0, y = 0;
		while (x < a->n && y < b->n) {
			unsigned lo = a->r[x].lo > b->r[y].lo ? a->r[x].lo
							      : b->r[y].lo;
			unsigned hi = a->r[x].hi < b->r[y].hi ? a->r[x].hi
							      : b->r[y].hi;
			if (lo <= hi) {
				ps_reserve(&out, out.n + 1);
				out.r[out.n++] =
					(struct pw_range){ (uint16_t)lo,
							   (uint16_t)hi };
			}
			if (a->r[x].hi < b->r[y].hi)
				x++;
			else
				y++;
		}
		free(c->p[i].r);
		c->p[i] = out;
	}
}

void pw_conns_subtract(struct pw_conns *c, const struct pw_conns *o)
{
	for (int i = 0; i < PW_NPROTO; i++) {
		const struct pw_portset *a = &c->p[i], *b = &o->p[i];
		if (!a->n || !b->n)
			continue;
		struct pw_portset out = { 0 };
		uint32_t y = 0;
		for (uint32_t x = 0; x < a->n; x++) {
			unsigned lo = a->r[x].lo, hi = a->r[x].hi;
			while (y < b->n && b->r[y].hi < lo)
				y++;
			uint32_t k = y;
			while (lo <= hi) {
				if (k >= b->n || b->r[k].lo > hi) {
					ps_reserve(&out, out.n + 1);
					out.r[out.n++] = (struct pw_range){ (uint16_t)lo, (uint16_t)hi };
					break;
				}
				if (b->r[k].lo > lo) {
					ps_reserve(&out, out.n + 1);
					out.r[out.n++] = (struct pw_range){
						(uint16_t)lo, (uint16_t)(b->r[k].lo - 1) };
				}
				if (b->r[k].hi >= hi)
					break;
				lo = b->r[k].hi + 1u;
				k++;
			}
		}
		free(c->p[i].r);
		c->p[i] = out;
	}
}

bool pw_conns_empty(const struct pw_conns *c)
{
	for (int i = 0; i < PW_NPROTO; i++)
		if (c->p[i].n)
			return false;
	return true;
}

static bool ps_all(const struct pw_portset *p)
{
	return p->n == 1 && p->r[0].lo == 1 && p->r[0].hi == PW_PORT_MAX;
}

bool pw_conns_all(const struct pw_conns *c)
{
	for (int i = 0; i < PW_NPROTO; i++)
		if (!ps_all(&c->p[i]))
			return false;
	return true;
}

bool pw_conns_equal(const struct pw_conns *a, const struct pw_conns *b)
{
	for (int i = 0; i < PW_NPROTO; i++) {
		if (a->p[i].n != b->p[i].n)
			return false;
		if (a->p[i].n && memcmp(a->p[i].r, b->p[i].r,
					a->p[i].n * sizeof(struct pw_range)))
			return false;
	}
	return true;
}

bool pw_conns_has(const struct pw_conns *c, int proto, unsigned port)
{
	const struct pw_portset *p = &c->p[proto];
	uint32_t lo = 0, hi = p->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (p->r[mid].hi < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n && p->r[lo].lo <= port;
}

void pw_conns_format(const struct pw_conns *c, struct pw_buf *out)
{
	if (pw_conns_all(c)) {
		pw_buf_puts(out, "All Connections");
		return;
	}
	if (pw_conns_empty(c)) {
		pw_buf_puts(out, "No Connections");
		return;
	}
	/* protocol names sorted as strings: SCTP, TCP, UDP */
	static const int order[] = { PW_SCTP, PW_TCP, PW_UDP };
	bool first = true;
	for (size_t k = 0; k < PW_ARRAY_SIZE(order); k++) {
		const struct pw_portset *p = &c->p[order[k]];
		if (!p->n)
			continue;
		if (!first)
			pw_buf_putc(out, ',');
		first = false;
		pw_buf_printf(out, "%s ", proto_names[order[k]]);
		for (uint32_t i = 0; i < p->n; i++) {
			if (i)
				pw_buf_putc(out, ',');
			if (p->r[i].lo == p->r[i].hi)
				pw_buf_printf(out, "%u", p->r[i].lo);
			else
				pw_buf_printf(out, "%u-%u", p->r[i].lo,
					      p->r[i].hi);
		}
	}
}

static bool conns_port(const char **p, const char *end, unsigned *v)
{
	unsigned x = 0;
	const char *s = *p;
	while (*p < end && **p >= '0' && **p <= '9' && x <= PW_PORT_MAX)
		x = x * 10 + (unsigned)(*(*p)++ - '0');
	*v = x;
	return *p > s && x >= 1 && x <= PW_PORT_MAX;
}

int pw_conns_parse(const char *s, size_t n, struct pw_conns *out)
{
	const char *p = s, *end = s + n;
	pw_conns_clear(out);
	if (n == 15 && !memcmp(s, "All Connections", 15)) {
		pw_conns_add_all(out);
		return 0;
	}
	if (n == 14 && !memcmp(s, "No Connections", 14))
		return 0;
	int proto = -1;
	if (!n)
		return -1;
	while (p < end) {
		/* "PROTO " starts a protocol's list */
		const char *sp = p;
		while (sp < end && *sp >= 'A' && *sp <= 'Z')
			sp++;
		if (sp < end && sp > p && *sp == ' ') {
			char name[8];
			if ((size_t)(sp - p) >= sizeof(name))
				return -1;
			memcpy(name, p, (size_t)(sp - p));
			name[sp - p] = 0;
			if ((proto = pw_proto_parse(name)) < 0)
				return -1;
			p = sp + 1;
		} else if (proto < 0) {
			return -1;
		}
		unsigned lo, hi;
		if (!conns_port(&p, end, &lo))
			return -1;
		hi = lo;
		if (p < end && *p == '-') {
			p++;
			if (!conns_port(&p, end, &hi) || hi < lo)
				return -1;
		}
		pw_conns_add(out, proto, lo, hi);
		if (p < end && *p++ != ',')
			return -1;
		if (p == end && p[-1] == ',')
			return -1;
	}
	return 0;
}
