/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connection sets: for each transport protocol, a sorted list of disjoint,
 * non-adjacent port ranges within 1..65535.  The engine answers "what may
 * flow from A to B" with one of these; eval answers a single point of it.
 *
 * A pw_conns owns heap memory: pair every _init with _release.
 */
#ifndef PW_CONNS_H
#define PW_CONNS_H

#include "base.h"

enum pw_proto { PW_TCP, PW_UDP, PW_SCTP, PW_NPROTO };
#define PW_PORT_MAX 65535

struct pw_range {
	uint16_t lo, hi;
};
struct pw_portset {
	struct pw_range *r;
	uint32_t n, cap;
};
struct pw_conns {
	struct pw_portset p[PW_NPROTO];
};

#define PW_ANY (-1)
/* IP protocol numbers used in rules and queries. */
#define PW_IPPROTO_ICMP 1
#define PW_IPPROTO_TCP 6
#define PW_IPPROTO_UDP 17
#define PW_IPPROTO_ICMPV6 58
#define PW_IPPROTO_SCTP 132
#define PW_IPPROTO_UDPLITE 136

/*
 * IP protocol numbers and the port sets: pw_proto_of_ip() gives PW_TCP,
 * PW_UDP or PW_SCTP, PW_NPROTO for UDPLite (it has ports but no set here),
 * -1 for protocols without ports; pw_proto_ip() is its inverse.
 */
int pw_proto_of_ip(int ipproto);
int pw_proto_ip(int proto);
/* "TCP", "udp", "ICMPv6", "UDPLite" (any case; n bytes of s) -> number,
   or -1; the name of a number, or NULL. */
int pw_ipproto_parse(const char *s, size_t n);
const char *pw_ipproto_name(int ipproto);

const char *pw_proto_name(int proto);
/* "TCP"/"tcp" -> PW_TCP ...; -1 if unknown. */
int pw_proto_parse(const char *s);
/* "TCP/80", "udp/53", "80" (TCP) -> 0, or -1. */
int pw_protoport_parse(const char *s, int *proto, int *port);

void pw_conns_init(struct pw_conns *c);
void pw_conns_release(struct pw_conns *c);
void pw_conns_clear(struct pw_conns *c);
void pw_conns_copy(struct pw_conns *dst, const struct pw_conns *src);
void pw_conns_add(struct pw_conns *c, int proto, unsigned lo, unsigned hi);
void pw_conns_add_all(struct pw_conns *c);
void pw_conns_union(struct pw_conns *c, const struct pw_conns *o);
/* c = c ∩ o */
void pw_conns_intersect(struct pw_conns *c, const struct pw_conns *o);
/* c = c \ o */
void pw_conns_subtract(struct pw_conns *c, const struct pw_conns *o);
bool pw_conns_empty(const struct pw_conns *c);
bool pw_conns_all(const struct pw_conns *c);
bool pw_conns_equal(const struct pw_conns *a, const struct pw_conns *b);
bool pw_conns_has(const struct pw_conns *c, int proto, unsigned port);
/*
 * netpol-analyzer's text: "All Connections", "No Connections" or
 * "SCTP 1-9,11-65535,TCP 80,UDP 53" (protocols by name, ranges merged).
 */
void pw_conns_format(const struct pw_conns *c, struct pw_buf *out);
/* The inverse of pw_conns_format (n bytes of s).  0, or -1 if malformed. */
int pw_conns_parse(const char *s, size_t n, struct pw_conns *out) PW_WARN_UNUSED;

#endif
