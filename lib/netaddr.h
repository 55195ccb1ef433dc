/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv4 and IPv6 addresses and CIDR blocks.
 *
 * An address is 16 bytes in network order plus its family; an IPv4 address
 * uses the first 4 bytes.  A CIDR never matches an address of the other
 * family.  Parsing is strict: "10.0.0.0/8" and "2001:db8::/32"; a CIDR whose
 * host bits are set is accepted as Kubernetes does (the bits are masked).
 */
#ifndef PW_NETADDR_H
#define PW_NETADDR_H

#include "base.h"

struct pw_addr {
	uint8_t family; /* 4 or 6; 0 = none */
	uint8_t b[16];
};

struct pw_cidr {
	struct pw_addr addr; /* host bits cleared */
	uint8_t len;
};

/* 0 on success, -1 on a malformed address. */
int pw_addr_parse(const char *s, struct pw_addr *out) PW_WARN_UNUSED;
int pw_cidr_parse(const char *s, struct pw_cidr *out) PW_WARN_UNUSED;
bool pw_cidr_contains(const struct pw_cidr *c, const struct pw_addr *a);
void pw_addr_format(const struct pw_addr *a, char out[static 48]);
void pw_cidr_format(const struct pw_cidr *c, char out[static 52]);
int pw_addr_cmp(const struct pw_addr *a, const struct pw_addr *b);
/* IPv4 as a host-order integer. */
uint32_t pw_addr_v4(const struct pw_addr *a);
struct pw_addr pw_addr_from_v4(uint32_t v);
/* First and last IPv4 address of a v4 CIDR. */
void pw_cidr_v4_range(const struct pw_cidr *c, uint32_t *lo, uint32_t *hi);

/* a + 1 and a - 1 within the family; false when it wraps around. */
bool pw_addr_inc(struct pw_addr *a);
bool pw_addr_dec(struct pw_addr *a);
/* The last address of a CIDR. */
struct pw_addr pw_cidr_last(const struct pw_cidr *c);

/*
 * Address classes: the pieces that a sorted list of starts (ascending,
 * IPv4 before IPv6, each family starting at its zero address) cuts the
 * address space into.  Each class runs from its start to the address
 * before the next start of its family.
 */
struct pw_addr_class {
	struct pw_addr lo, hi;
};
/* One class per start (heap, caller frees); returns n. */
size_t pw_addr_classes(const struct pw_addr *starts, size_t n,
		       struct pw_addr_class **out);
/* "10.0.0.0/8" when as_cidr and [lo,hi] is exactly one CIDR, else
   "10.0.0.0-10.0.0.9" (netpol-analyzer's naming). */
#define PW_RANGE_NAME_MAX 100
void pw_addr_range_name(const struct pw_addr *lo, const struct pw_addr *hi,
			bool as_cidr, char out[static PW_RANGE_NAME_MAX]);

#endif
