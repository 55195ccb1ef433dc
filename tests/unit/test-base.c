// SPDX-License-Identifier: Apache-2.0
/* base.c helpers the engine leans on for speed: sorted-list lookup and
   decimal keys without printf. */
#include <stdlib.h>
#include "../../lib/base.h"
#include "t.h"

static const uint32_t sorted[] = { 0, 3, 4, 64, 65, 1000, 4294967295u };

static const struct {
	uint32_t n; /* prefix of sorted[] */
	uint32_t x;
	int want;
} lookups[] = {
	{ 0, 0, 0 },	       { 1, 0, 1 },	    { 1, 1, 0 },
	{ 7, 3, 1 },	       { 7, 2, 0 },	    { 7, 4, 1 },
	{ 7, 5, 0 },	       { 7, 64, 1 },	    { 7, 65, 1 },
	{ 7, 66, 0 },	       { 7, 1000, 1 },	    { 7, 999, 0 },
	{ 7, 4294967295u, 1 }, { 6, 4294967295u, 0 }, { 3, 64, 0 },
};

static const struct {
	uint32_t v;
	const char *want;
} decimals[] = {
	{ 0, "0" }, { 7, "7" }, { 10, "10" }, { 65535, "65535" },
	{ 4294967295u, "4294967295" },
};

int main(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(lookups); i++) {
		bool got = pw_sorted_has(sorted, lookups[i].n, lookups[i].x);
		T_CHECK(got == (lookups[i].want != 0), "sorted_has(n=%u, %u) = %d",
			lookups[i].n, lookups[i].x, got);
	}
	struct pw_buf b;
	pw_buf_init(&b);
	for (size_t i = 0; i < PW_ARRAY_SIZE(decimals); i++) {
		pw_buf_reset(&b);
		pw_buf_puts(&b, "k=");
		pw_buf_u32(&b, decimals[i].v);
		char want[32];
		snprintf(want, sizeof(want), "k=%s", decimals[i].want);
		T_CHECK(!strcmp(b.s, want), "u32 %u: '%s'", decimals[i].v, b.s);
	}
	pw_buf_release(&b);
	/* values in messages: escaped, and long ones cut with their size */
	static const struct { size_t n; const char *in, *want; } quotes[] = {
		{ 0, "web", "\"web\"" },
		{ 0, "a\"b\\c\n\x01", "\"a\\\"b\\\\c\\x0a\\x01\"" },
		{ 0, "\xc3\xa9", "\"\xc3\xa9\"" },
		{ 100, NULL, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x80\xa6\" (100 bytes)" },
		{ 1 << 20, NULL, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x80\xa6\" (1 MiB)" },
		{ 3000, NULL, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x80\xa6\" (3 KiB)" },
	};
	for (size_t i = 0; i < PW_ARRAY_SIZE(quotes); i++) {
		char q[PW_QUOTE_SIZE];
		char *in = NULL;
		if (quotes[i].n) {
			in = pw_xmalloc(quotes[i].n + 1);
			memset(in, 'a', quotes[i].n);
			in[quotes[i].n] = 0;
		}
		pw_quote(q, in ? in : quotes[i].in);
		T_CHECK(!strcmp(q, quotes[i].want), "quote %zu: %s", i, q);
		free(in);
	}
	/* a cut never splits a character */
	{
		char in[200], q[PW_QUOTE_SIZE];
		in[0] = 'x';
		for (int i = 1; i < 199; i += 2) {
			in[i] = (char)0xc3;
			in[i + 1] = (char)0xa9;
		}
		in[199] = 0;
		pw_quote(q, in);
		T_CHECK(strstr(q, "\xc3\xa9\xe2\x80\xa6\" (199 bytes)") != NULL, "quote cut: %s", q);
	}
	return T_DONE("unit-base");
}
