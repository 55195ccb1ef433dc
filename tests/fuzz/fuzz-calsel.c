// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: Calico selectors.  Checks, on every input:
 *   - an error has a message and a position inside the text;
 *   - what parses also tokenizes;
 *   - the canonical form, when it parses (a value holding both quote kinds
 *     prints unparsably, as in Calico), matches exactly like the original
 *     and is a fixed point after one more round ("!(!x)" prints "!!x",
 *     which then collapses to "x").
 * Build: make build/fuzz/calsel; run with -max_len=8192 or so.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/calsel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pw_label lv[] = {
	{ "a", "" }, { "a/b", "x" }, { "app", "web" }, { "b", "y" },
	{ "contains", "'" }, { "has", "\"" }, { "k", "v" },
};

static void check_same(const struct pw_csel *x, const struct pw_csel *y,
		       bool preds)
{
	struct pw_labels l = { lv, 0 };
	/* every prefix of the sorted label array is itself a sorted set */
	for (uint32_t n = 0; n <= PW_ARRAY_SIZE(lv); n++) {
		l.n = n;
		if (pw_csel_match(x, &l) != pw_csel_match(y, &l))
			__builtin_trap();
	}
	/* "!(!all())" is not exactly all(), but its canonical "!!all()" is */
	if (preds && (pw_csel_is_all(x) != pw_csel_is_all(y) ||
		      pw_csel_is_global(x) != pw_csel_is_global(y)))
		__builtin_trap();
	if (pw_csel_uses_global(x) != pw_csel_uses_global(y))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_arena a;
	struct pw_buf tok, c1, c2, c3;
	struct pw_csel *s, *s2, *s3;
	const char *err;
	size_t pos, len;
	char *text;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	len = strlen(text);
	pw_arena_init(&a);
	pw_buf_init(&tok);
	pw_buf_init(&c1);
	pw_buf_init(&c2);
	pw_buf_init(&c3);

	int tr = pw_csel_tokenize(text, &tok);
	s = pw_csel_parse(&a, text, &err, &pos);
	if (!s) {
		if (!err || pos > len)
			__builtin_trap();
		goto out;
	}
	if (tr < 0)
		__builtin_trap();
	pw_csel_format(s, &c1);
	s2 = pw_csel_parse(&a, c1.s, &err, &pos);
	if (!s2)
		goto out;
	check_same(s, s2, false);
	pw_csel_format(s2, &c2);
	s3 = pw_csel_parse(&a, c2.s, &err, &pos);
	if (!s3)
		__builtin_trap();
	check_same(s2, s3, true);
	check_same(s, s3, false);
	pw_csel_format(s3, &c3);
	if (strcmp(c2.s, c3.s))
		__builtin_trap();
out:
	pw_buf_release(&tok);
	pw_buf_release(&c1);
	pw_buf_release(&c2);
	pw_buf_release(&c3);
	pw_arena_release(&a);
	free(text);
	return 0;
}
