// SPDX-License-Identifier: Apache-2.0
#include "../../lib/conns.h"
#include "t.h"

/* Each case: ranges added (proto, lo, hi) to A and B; expected text of A,
   of A ∪ B, of A ∩ B and of A \ B. */
struct rng {
	int proto;
	unsigned lo, hi;
};
static const struct {
	struct rng a[4], b[4];
	const char *a_s, *or_s, *and_s, *sub_s;
} cases[] = {
	{ { { PW_TCP, 80, 80 } }, { { PW_TCP, 81, 81 } },
	  "TCP 80", "TCP 80-81", "No Connections", "TCP 80" },
	{ { { PW_TCP, 1, 65535 }, { PW_UDP, 1, 65535 }, { PW_SCTP, 1, 65535 } },
	  { { PW_UDP, 53, 53 } },
	  "All Connections", "All Connections", "UDP 53",
	  "SCTP 1-65535,TCP 1-65535,UDP 1-52,54-65535" },
	{ { { PW_TCP, 1, 79 }, { PW_TCP, 81, 65535 } }, { { PW_TCP, 80, 80 } },
	  "TCP 1-79,81-65535", "TCP 1-65535", "No Connections", "TCP 1-79,81-65535" },
	{ { { PW_UDP, 53, 53 }, { PW_TCP, 53, 53 }, { PW_SCTP, 9000, 9010 } },
	  { { PW_TCP, 50, 60 }, { PW_SCTP, 9005, 9020 } },
	  "SCTP 9000-9010,TCP 53,UDP 53", "SCTP 9000-9020,TCP 50-60,UDP 53",
	  "SCTP 9005-9010,TCP 53", "SCTP 9000-9004,UDP 53" },
	{ { { PW_TCP, 10, 20 }, { PW_TCP, 30, 40 } }, { { PW_TCP, 15, 35 } },
	  "TCP 10-20,30-40", "TCP 10-40", "TCP 15-20,30-35", "TCP 10-14,36-40" },
	{ { { PW_TCP, 10, 20 }, { PW_TCP, 21, 30 } }, { { 0, 0, 0 } },
	  "TCP 10-30", "TCP 10-30", "No Connections", "TCP 10-30" },
	{ { { PW_TCP, 1, 65535 } }, { { PW_TCP, 1, 1 }, { PW_TCP, 65535, 65535 }, { PW_TCP, 100, 200 } },
	  "TCP 1-65535", "TCP 1-65535", "TCP 1,100-200,65535", "TCP 2-99,201-65534" },
};

static void fill(struct pw_conns *c, const struct rng *r)
{
	for (int i = 0; i < 4 && r[i].lo; i++)
		pw_conns_add(c, r[i].proto, r[i].lo, r[i].hi);
}

static int check_text(const struct pw_conns *c, const char *want)
{
	struct pw_buf b;
	pw_buf_init(&b);
	pw_conns_format(c, &b);
	int ok = !strcmp(b.s, want);
	if (!ok)
		printf("  got \"%s\", want \"%s\"\n", b.s, want);
	pw_buf_release(&b);
	return ok;
}

static const struct {
	const char *s;
	int ok, proto, port;
} pp[] = {
	{ "TCP/80", 1, PW_TCP, 80 },   { "udp/53", 1, PW_UDP, 53 },
	{ "SCTP/9000", 1, PW_SCTP, 9000 }, { "443", 1, PW_TCP, 443 },
	{ "TCP/0", 0, 0, 0 },	      { "TCP/65536", 0, 0, 0 },
	{ "ICMP/1", 0, 0, 0 },	      { "TCP/", 0, 0, 0 },
	{ "/80", 0, 0, 0 },	      { "TCP/8a", 0, 0, 0 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pw_conns a, b, u, x;
		pw_conns_init(&a);
		pw_conns_init(&b);
		pw_conns_init(&u);
		pw_conns_init(&x);
		fill(&a, cases[i].a);
		fill(&b, cases[i].b);
		T_CHECK(check_text(&a, cases[i].a_s), "case %zu: A", i);
		pw_conns_copy(&u, &a);
		pw_conns_union(&u, &b);
		T_CHECK(check_text(&u, cases[i].or_s), "case %zu: A|B", i);
		pw_conns_copy(&x, &a);
		pw_conns_intersect(&x, &b);
		T_CHECK(check_text(&x, cases[i].and_s), "case %zu: A&B", i);
		struct pw_conns d;
		pw_conns_init(&d);
		pw_conns_copy(&d, &a);
		pw_conns_subtract(&d, &b);
		T_CHECK(check_text(&d, cases[i].sub_s), "case %zu: A-B", i);
		/* (A \ B) ∪ (A ∩ B) = A */
		pw_conns_union(&d, &x);
		T_CHECK(pw_conns_equal(&d, &a), "case %zu: (A-B)|(A&B) = A", i);
		pw_conns_release(&d);
		/* membership agrees with the text */
		for (unsigned port = 1; port <= 100; port++)
			T_CHECK(pw_conns_has(&u, PW_TCP, port) ==
					(pw_conns_has(&a, PW_TCP, port) ||
					 pw_conns_has(&b, PW_TCP, port)),
				"case %zu: has %u", i, port);
		/* the text reads back as the same set */
		struct pw_buf t;
		pw_buf_init(&t);
		pw_conns_format(&u, &t);
		T_CHECK(pw_conns_parse(t.s, t.len, &x) == 0 && pw_conns_equal(&x, &u),
			"case %zu: parse '%s'", i, t.s);
		pw_buf_release(&t);
		pw_conns_release(&a);
		pw_conns_release(&b);
		pw_conns_release(&u);
		pw_conns_release(&x);
	}
	static const char *const bad[] = { "", "TCP", "TCP ", "TCP 0", "TCP 70000",
		"TCP 5-4", "TCP 80,", "80", "FOO 1", "TCP 1,,2", "All" };
	struct pw_conns y;
	pw_conns_init(&y);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_CHECK(pw_conns_parse(bad[i], strlen(bad[i]), &y) < 0,
			"parse rejects '%s'", bad[i]);
	pw_conns_release(&y);
	for (size_t i = 0; i < sizeof(pp) / sizeof(pp[0]); i++) {
		int proto = -1, port = -1;
		int ok = pw_protoport_parse(pp[i].s, &proto, &port) == 0;
		T_CHECK(ok == pp[i].ok && (!ok || (proto == pp[i].proto &&
						   port == pp[i].port)),
			"protoport %s", pp[i].s);
	}
	return T_DONE("unit-conns");
}
