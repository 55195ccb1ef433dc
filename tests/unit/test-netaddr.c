// SPDX-License-Identifier: Apache-2.0
#include "../../lib/netaddr.h"
#include "t.h"

static const struct {
	const char *cidr;
	int ok;
	const char *canon; /* after masking host bits */
} parse[] = {
	{ "10.0.0.0/8", 1, "10.0.0.0/8" },
	{ "10.1.2.3/8", 1, "10.0.0.0/8" },
	{ "0.0.0.0/0", 1, "0.0.0.0/0" },
	{ "192.0.2.7/32", 1, "192.0.2.7/32" },
	{ "2001:db8::1/32", 1, "2001:db8::/32" },
	{ "::/0", 1, "::/0" },
	{ "10.0.0.0/33", 0, NULL },
	{ "10.0.0.0", 0, NULL },
	{ "10.0.0/8", 0, NULL },
	{ "A", 0, NULL },
	{ "10.0.0.0/08", 0, NULL },
	{ "10.0.0.0/", 0, NULL },
	{ "/8", 0, NULL },
	{ "256.0.0.0/8", 0, NULL },
	{ "2001:db8::/129", 0, NULL },
};

static const struct {
	const char *cidr, *addr;
	int in;
} contains[] = {
	{ "10.0.0.0/8", "10.255.255.255", 1 },
	{ "10.0.0.0/8", "11.0.0.0", 0 },
	{ "10.0.0.0/8", "9.255.255.255", 0 },
	{ "0.0.0.0/0", "203.0.113.9", 1 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },
	{ "::/0", "10.0.0.1", 0 },
	{ "192.0.2.0/25", "192.0.2.127", 1 },
	{ "192.0.2.0/25", "192.0.2.128", 0 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/32", "2001:db9::1", 0 },
	{ "10.1.2.3/32", "10.1.2.3", 1 },
	{ "10.1.2.3/32", "10.1.2.4", 0 },
	{ "10.0.0.0/9", "10.127.255.255", 1 },
	{ "10.0.0.0/9", "10.128.0.0", 0 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
		struct pw_cidr c;
		int ok = pw_cidr_parse(parse[i].cidr, &c) == 0;
		T_CHECK(ok == parse[i].ok, "parse %s: ok=%d", parse[i].cidr, ok);
		if (ok && parse[i].canon) {
			char s[52];
			pw_cidr_format(&c, s);
			T_CHECK(!strcmp(s, parse[i].canon), "canon %s: %s",
				parse[i].cidr, s);
		}
	}
	for (size_t i = 0; i < sizeof(contains) / sizeof(contains[0]); i++) {
		struct pw_cidr c;
		struct pw_addr a;
		int ok = pw_cidr_parse(contains[i].cidr, &c) == 0 &&
			 pw_addr_parse(contains[i].addr, &a) == 0;
		T_CHECK(ok && pw_cidr_contains(&c, &a) == contains[i].in,
			"%s contains %s", contains[i].cidr, contains[i].addr);
	}
	return T_DONE("unit-netaddr");
}
