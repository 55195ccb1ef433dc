// SPDX-License-Identifier: Apache-2.0
/* The engine's small pure functions: queries and DNS name matching. */
#include "../../lib/engine.h"
#include "t.h"

static const struct {
	const char *s;
	int ok, ipproto, port, type, code;
	const char *canon;
} queries[] = {
	{ "TCP/80", 1, 6, 80, PW_ANY, PW_ANY, "TCP/80" },
	{ "80", 1, 6, 80, PW_ANY, PW_ANY, "TCP/80" },
	{ "udp/53", 1, 17, 53, PW_ANY, PW_ANY, "UDP/53" },
	{ "SCTP/9000", 1, 132, 9000, PW_ANY, PW_ANY, "SCTP/9000" },
	{ "UDPLite/7", 1, 136, 7, PW_ANY, PW_ANY, "UDPLite/7" },
	{ "ICMP/8", 1, 1, 0, 8, 0, "ICMP/8/0" },
	{ "ICMP/3/4", 1, 1, 0, 3, 4, "ICMP/3/4" },
	{ "ICMPv6/128", 1, 58, 0, 128, 0, "ICMPv6/128/0" },
	{ "47/", 1, 47, 0, PW_ANY, PW_ANY, "47" },
	{ "TCP/0", 0, 0, 0, 0, 0, NULL },
	{ "TCP/65536", 0, 0, 0, 0, 0, NULL },
	{ "TCP/", 0, 0, 0, 0, 0, NULL },
	{ "ICMP/256", 0, 0, 0, 0, 0, NULL },
	{ "FOO/1", 0, 0, 0, 0, 0, NULL },
	{ "0", 0, 0, 0, 0, 0, NULL },
	{ "256/1", 0, 0, 0, 0, 0, NULL },
};

static const struct {
	const char *pattern, *name;
	int match;
} domains[] = {
	{ "*.twilio.com", "api.twilio.com", 1 },
	{ "*.twilio.com", "a.b.twilio.com", 1 },
	{ "*.twilio.com", "twilio.com", 0 },
	{ "*.twilio.com", "eviltwilio.com", 0 },
	{ "*.twilio.com", "api.twilio.com.evil", 0 },
	{ "api.twilio.com", "api.twilio.com", 1 },
	{ "api.twilio.com", "x.api.twilio.com", 0 },
	{ "www.*.com", "www.sun.com", 1 },
	{ "www.*.com", "www.a.b.com", 1 },
	{ "www.*.com", "www.com", 0 },
	{ "update.*.mycompany.com", "update.eu.mycompany.com", 1 },
	{ "update.*.mycompany.com", "update.mycompany.com", 0 },
	{ "*", "anything.example", 1 },
	{ "*.*.example.com", "a.b.example.com", 1 },
	{ "*.*.example.com", "a.example.com", 0 },
};

int main(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(queries); i++) {
		struct pw_query q;
		int ok = pw_query_parse(queries[i].s, &q) == 0;
		T_CHECK(ok == queries[i].ok, "parse \"%s\": %d", queries[i].s, ok);
		if (!ok || !queries[i].ok)
			continue;
		T_CHECK(q.ipproto == queries[i].ipproto && q.port == queries[i].port &&
				q.icmp_type == queries[i].type && q.icmp_code == queries[i].code,
			"\"%s\": %d %d %d %d", queries[i].s, q.ipproto, q.port,
			q.icmp_type, q.icmp_code);
		char out[32];
		pw_query_format(&q, out);
		T_CHECK(!strcmp(out, queries[i].canon), "format \"%s\": %s",
			queries[i].s, out);
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(domains); i++)
		T_CHECK(pw_domain_match(domains[i].pattern, domains[i].name) ==
				domains[i].match,
			"%s ~ %s", domains[i].pattern, domains[i].name);
	return T_DONE("unit-query");
}
