// SPDX-License-Identifier: Apache-2.0
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pw_addr_parse(const char *s, struct pw_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, out->b) != 1)
			return -1;
		out->family = 6;
		return 0;
	}
	/* inet_pton accepts only dotted quads, no leading zeros tricks. */
	if (inet_pton(AF_INET, s, out->b) != 1)
		return -1;
	out->family = 4;
	return 0;
}

int pw_cidr_parse(const char *s, struct pw_cidr *out)
{
	memset(out, 0, sizeof(*out));
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || slash - s >= 64)
		return -1;
	char host[64];
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = 0;
	if (pw_addr_parse(host, &out->addr) < 0)
		return -1;
	const char *p = slash + 1;
	if (!*p || strlen(p) > 3)
		return -1;
	int len = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		len = len * 10 + (*p - '0');
	}
	if (slash[1] == '0' && slash[2])
		return -1; /* no leading zeros */
	int max = out->addr.family == 4 ? 32 : 128;
	if (len > max)
		return -1;
	out->len = (uint8_t)len;
	for (int i = 0; i < 16; i++) {
		int bits = len - i * 8;
		if (bits >= 8)
			continue;
		out->addr.b[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
	return 0;
}

bool pw_cidr_contains(const struct pw_cidr *c, const struct pw_addr *a)
{
	if (c->addr.family != a->family)
		return false;
	int len = c->len;
	int full = len / 8;
	if (memcmp(c->addr.b, a->b, (size_t)full) != 0)
		return false;
	int rest = len % 8;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a->b[full] & mask) == c->addr.b[full];
}

void pw_addr_format(const struct pw_addr *a, char out[static 48])
{
	if (a->family == 4)
		inet_ntop(AF_INET, a->b, out, 48);
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->b, out, 48);
	else
		strcpy(out, "-");
}

void pw_cidr_format(const struct pw_cidr *c, char out[static 52])
{
	char a[48];
	pw_addr_format(&c->addr, a);
	snprintf(out, 52, "%s/%u", a, c->len);
}

int pw_addr_cmp(const struct pw_addr *a, const struct pw_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->b, b->b, 16);
}

uint32_t pw_addr_v4(const struct pw_addr *a)
{
	return (uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 |
	       (uint32_t)a->b[2] << 8 | a->b[3];
}

struct pw_addr pw_addr_from_v4(uint32_t v)
{
	struct pw_addr a = { 0 };
	a.family = 4;
	a.b[0] = (uint8_t)(v >> 24);
	a.b[1] = (uint8_t)(v >> 16);
	a.b[2] = (uint8_t)(v >> 8);
	a.b[3] = (uint8_t)v;
	return a;
}

void pw_cidr_v4_range(const struct pw_cidr *c, uint32_t *lo, uint32_t *hi)
{
	uint32_t base = pw_addr_v4(&c->addr);
	uint32_t mask = c->len ? ~0u << (32 - c->len) : 0;
	*lo = base & mask;
	*hi = *lo | ~mask;
}

bool pw_addr_inc(struct pw_addr *a)
{
	for (int i = (a->family == 4 ? 4 : 16) - 1; i >= 0; i--)
		if (++a->b[i])
			return true;
	return false;
}

bool pw_addr_dec(struct pw_addr *a)
{
	for (int i = (a->family == 4 ? 4 : 16) - 1; i >= 0; i--)
		if (a->b[i]--)
			return true;
	return false;
}

struct pw_addr pw_cidr_last(const struct pw_cidr *c)
{
	struct pw_addr a = c->addr;
	int n = a.family == 4 ? 32 : 128;
	for (int i = c->len; i < n; i++)
		a.b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	return a;
}

static struct pw_addr family_last(uint8_t family)
{
	struct pw_addr a = { .family = family };
	memset(a.b, 0xff, family == 4 ? 4 : 16);
	return a;
}

/* Is [lo,hi] exactly one CIDR?  The length of the trailing run of zero
   bits of lo that hi fills with ones. */
static int range_cidr_len(const struct pw_addr *lo, const struct pw_addr *hi)
{
	int bits = lo->family == 4 ? 32 : 128;
	for (int len = 0; len <= bits; len++) {
		struct pw_cidr c = { *lo, (uint8_t)len };
		bool aligned = true;
		for (int i = len; i < bits && aligned; i++)
			aligned = !(lo->b[i / 8] & (0x80 >> (i % 8)));
		if (!aligned)
			continue;
		struct pw_addr last = pw_cidr_last(&c);
		if (!pw_addr_cmp(&last, hi))
			return len;
	}
	return -1;
}

void pw_addr_range_name(const struct pw_addr *lo, const struct pw_addr *hi,
			bool as_cidr, char out[static PW_RANGE_NAME_MAX])
{
	int len = as_cidr ? range_cidr_len(lo, hi) : -1;
	if (len >= 0) {
		struct pw_cidr c = { *lo, (uint8_t)len };
		pw_cidr_format(&c, out);
		return;
	}
	char a[48], b[48];
	pw_addr_format(lo, a);
	pw_addr_format(hi, b);
	snprintf(out, PW_RANGE_NAME_MAX, "%s-%s", a, b);
}

size_t pw_addr_classes(const struct pw_addr *starts, size_t n,
		       struct pw_addr_class **out)
{
	struct pw_addr_class *v = pw_xmalloc((n + 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].lo = starts[i];
		if (i + 1 < n && starts[i + 1].family == starts[i].family) {
			v[i].hi = starts[i + 1];
			pw_addr_dec(&v[i].hi);
		} else {
			v[i].hi = family_last(starts[i].family);
		}
	}
	*out = v;
	return n;
}
