// SPDX-License-Identifier: Apache-2.0
/*
 * Calico selectors: our own tables, then every row of the four conformance
 * TSVs in $SHARED/conformance (SHARED defaults to ../shared):
 *   calico-selectors.tsv            selector, labels_json -> true/false
 *   calico-selectors-invalid.tsv    selector -> parse_error
 *   calico-selectors-canonical.tsv  input -> canonical string (+ UID)
 *   calico-selector-tokens.tsv      input -> token stream, or "error"
 * Fields are raw text between TABs; nothing is trimmed.  With -v, each
 * TSV's row count is printed too.
 */
#include <stdlib.h>

#include "../../lib/calsel.h"
#include "t.h"

/* ---- SHA-224, for the UID column ("s:" + base64url(sha224("s:" + canon))) */

struct sha256 {
	uint32_t h[8];
	uint8_t blk[64];
	uint64_t n;
};

static uint32_t ror(uint32_t x, int r)
{
	return (x >> r) | (x << (32 - r));
}

static void sha256_block(struct sha256 *c, const uint8_t *p)
{
	static const uint32_t k[64] = {
		0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
		0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
		0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
		0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
		0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
		0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
		0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
		0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
		0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
		0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
		0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
		0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
		0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
	};
	uint32_t w[64], v[8];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++)
		w[i] = w[i - 16] + w[i - 7] +
		       (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3) +
		       (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10);
	memcpy(v, c->h, sizeof(v));
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
			      ((v[4] & v[5]) ^ (~v[4] & v[6])) + k[i] + w[i];
		uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
			      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(*v));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		c->h[i] += v[i];
}

static void sha224(const void *data, size_t n, uint8_t out[static 28])
{
	static const uint32_t iv[8] = { 0xc1059ed8, 0x367cd507, 0x3070dd17,
					0xf70e5939, 0xffc00b31, 0x68581511,
					0x64f98fa7, 0xbefa4fa4 };
	struct sha256 c = { .n = n };
	const uint8_t *p = data;
	uint8_t tail[128] = { 0 };
	size_t rest = n % 64, tl = rest < 56 ? 64 : 128;

	memcpy(c.h, iv, sizeof(iv));
	for (; n >= 64; n -= 64, p += 64)
		sha256_block(&c, p);
	memcpy(tail, p, rest);
	tail[rest] = 0x80;
	for (int i = 0; i < 8; i++)
		tail[tl - 1 - i] = (uint8_t)((c.n * 8) >> (8 * i));
	for (size_t i = 0; i < tl; i += 64)
		sha256_block(&c, tail + i);
	for (int i = 0; i < 28; i++)
		out[i] = (uint8_t)(c.h[i / 4] >> (24 - 8 * (i % 4)));
}

static void calico_uid(const char *canon, struct pw_buf *out)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct pw_buf in;
	uint8_t h[28];
	uint32_t acc = 0;
	int bits = 0;

	pw_buf_init(&in);
	pw_buf_printf(&in, "s:%s", canon);
	sha224(in.s, in.len, h);
	pw_buf_release(&in);
	pw_buf_puts(out, "s:");
	for (int i = 0; i < 28; i++) {
		acc = acc << 8 | h[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			pw_buf_putc(out, b64[(acc >> bits) & 63]);
		}
	}
	if (bits)
		pw_buf_putc(out, b64[(acc << (6 - bits)) & 63]);
}

/* ---- flat JSON objects of string -> string ------------------------------ */

static void json_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A JSON string at *p (BMP \u escapes only, as UTF-8); NULL if malformed. */
static const char *json_string(struct pw_arena *a, const char **p)
{
	const char *s = *p;
	struct pw_buf b;
	const char *r = NULL;

	pw_buf_init(&b);
	pw_buf_add(&b, "", 0);
	if (*s++ != '"')
		goto out;
	while (*s != '"') {
		unsigned c = (unsigned char)*s++;
		if (c < 0x20)
			goto out; /* includes the end of the text */
		if (c != '\\') {
			pw_buf_putc(&b, (char)c);
			continue;
		}
		switch (*s++) {
		case '"': pw_buf_putc(&b, '"'); break;
		case '\\': pw_buf_putc(&b, '\\'); break;
		case '/': pw_buf_putc(&b, '/'); break;
		case 'b': pw_buf_putc(&b, '\b'); break;
		case 'f': pw_buf_putc(&b, '\f'); break;
		case 'n': pw_buf_putc(&b, '\n'); break;
		case 'r': pw_buf_putc(&b, '\r'); break;
		case 't': pw_buf_putc(&b, '\t'); break;
		case 'u': {
			unsigned u = 0;
			for (int i = 0; i < 4; i++) {
				int h = hexval(*s++);
				if (h < 0)
					goto out;
				u = u << 4 | (unsigned)h;
			}
			if (u == 0 || (u >= 0xd800 && u < 0xe000))
				goto out;
			if (u < 0x80) {
				pw_buf_putc(&b, (char)u);
			} else if (u < 0x800) {
				pw_buf_putc(&b, (char)(0xc0 | u >> 6));
				pw_buf_putc(&b, (char)(0x80 | (u & 63)));
			} else {
				pw_buf_putc(&b, (char)(0xe0 | u >> 12));
				pw_buf_putc(&b, (char)(0x80 | ((u >> 6) & 63)));
				pw_buf_putc(&b, (char)(0x80 | (u & 63)));
			}
			break;
		}
		default:
			goto out;
		}
	}
	*p = s + 1;
	r = pw_arena_strndup(a, b.s, b.len);
out:
	pw_buf_release(&b);
	return r;
}

/* '{' [ string ':' string { ',' string ':' string } ] '}'; 0 or -1. */
static int json_labels(struct pw_arena *a, const char *s, struct pw_labels *l)
{
	size_t cap = 0;

	l->v = NULL;
	l->n = 0;
	json_ws(&s);
	if (*s++ != '{')
		return -1;
	json_ws(&s);
	if (*s == '}') {
		s++;
	} else {
		for (;;) {
			struct pw_label lb;
			size_t n = l->n;
			json_ws(&s);
			if (!(lb.key = json_string(a, &s)))
				return -1;
			json_ws(&s);
			if (*s++ != ':')
				return -1;
			json_ws(&s);
			if (!(lb.value = json_string(a, &s)))
				return -1;
			*PW_PUSH(a, l->v, n, cap) = lb;
			l->n = (uint32_t)n;
			json_ws(&s);
			if (*s == ',') {
				s++;
				continue;
			}
			if (*s++ != '}')
				return -1;
			break;
		}
	}
	json_ws(&s);
	if (*s)
		return -1;
	return pw_labels_sort(l) ? -1 : 0;
}

/* ---- checks shared by the tables and the TSVs ------------------------------ */

static void check_match(const char *sel, const char *json, bool want,
			const char *where)
{
	struct pw_arena a;
	struct pw_labels l;
	struct pw_buf b, b2;
	const char *err = NULL;
	size_t pos = 0;
	struct pw_csel *s, *s2;

	pw_arena_init(&a);
	pw_buf_init(&b);
	pw_buf_init(&b2);
	s = pw_csel_parse(&a, sel, &err, &pos);
	T_CHECK(s != NULL, "%s: '%s' does not parse: %s at %zu", where, sel,
		err, pos);
	T_CHECK(json_labels(&a, json, &l) == 0, "%s: bad labels %s", where, json);
	if (!s || json_labels(&a, json, &l) < 0)
		goto out;
	T_CHECK(pw_csel_match(s, &l) == want, "%s: '%s' on %s: want %s", where,
		sel, json, want ? "true" : "false");
	/* as Calico's test: the canonical form matches the same way */
	pw_csel_format(s, &b);
	s2 = pw_csel_parse(&a, b.s, &err, &pos);
	T_CHECK(s2 != NULL, "%s: canonical '%s' does not parse: %s", where,
		b.s, err);
	if (s2)
		T_CHECK(pw_csel_match(s2, &l) == want,
			"%s: canonical '%s' on %s: want %s", where, b.s, json,
			want ? "true" : "false");
	/* what parses also tokenizes */
	T_CHECK(pw_csel_tokenize(sel, &b2) == 0, "%s: '%s' does not tokenize",
		where, sel);
out:
	pw_buf_release(&b);
	pw_buf_release(&b2);
	pw_arena_release(&a);
}

/* errpos < 0: position not checked; msg NULL: message not checked */
static void check_invalid(const char *sel, long want_pos, const char *msg,
			  const char *where)
{
	struct pw_arena a;
	const char *err = NULL;
	size_t pos = (size_t)-1;
	struct pw_csel *s;

	pw_arena_init(&a);
	s = pw_csel_parse(&a, sel, &err, &pos);
	T_CHECK(s == NULL, "%s: '%s' parses", where, sel);
	if (!s) {
		T_CHECK(err != NULL && pos <= strlen(sel),
			"%s: '%s': no message or position %zu", where, sel, pos);
		if (want_pos >= 0)
			T_CHECK(pos == (size_t)want_pos,
				"%s: '%s': error at %zu, want %ld (%s)", where,
				sel, pos, want_pos, err);
		if (msg)
			T_CHECK(err && strstr(err, msg),
				"%s: '%s': message '%s', want '%s'", where, sel,
				err, msg);
	}
	pw_arena_release(&a);
}

/* reprint: what the canonical form itself prints as, when not the same */
static void check_canonical(const char *in, const char *want, const char *uid,
			    const char *reprint, const char *where)
{
	struct pw_arena a;
	struct pw_buf b, b2;
	const char *err = NULL;
	size_t pos = 0;
	struct pw_csel *s;

	pw_arena_init(&a);
	pw_buf_init(&b);
	pw_buf_init(&b2);
	s = pw_csel_parse(&a, in, &err, &pos);
	T_CHECK(s != NULL, "%s: '%s' does not parse: %s at %zu", where, in, err,
		pos);
	if (!s)
		goto out;
	pw_csel_format(s, &b);
	T_CHECK(!strcmp(b.s, want), "%s: '%s' prints '%s', want '%s'", where, in,
		b.s, want);
	/* round trip (unless a value holds both quote kinds) */
	s = pw_csel_parse(&a, b.s, &err, &pos);
	T_CHECK(s != NULL, "%s: canonical '%s' does not parse", where, b.s);
	if (s) {
		pw_csel_format(s, &b2);
		if (!reprint)
			reprint = b.s;
		T_CHECK(!strcmp(b2.s, reprint),
			"%s: '%s' reprints as '%s', want '%s'", where, b.s,
			b2.s, reprint);
	}
	if (uid && *uid) {
		pw_buf_reset(&b2);
		calico_uid(b.s, &b2);
		T_CHECK(!strcmp(b2.s, uid), "%s: '%s' UID %s, want %s", where,
			b.s, b2.s, uid);
	}
out:
	pw_buf_release(&b);
	pw_buf_release(&b2);
	pw_arena_release(&a);
}

/* want NULL: a tokenizer error */
static void check_tokens(const char *in, const char *want, const char *where)
{
	struct pw_buf b;
	int r;

	pw_buf_init(&b);
	pw_buf_puts(&b, "keep");
	r = pw_csel_tokenize(in, &b);
	if (!want) {
		T_CHECK(r < 0, "%s: '%s' tokenizes as '%s'", where, in, b.s);
		T_CHECK(!strcmp(b.s, "keep"), "%s: '%s': output not restored",
			where, in);
	} else {
		T_CHECK(r == 0 && !strcmp(b.s + 4, want),
			"%s: '%s' tokenizes as '%s' (%d), want '%s'", where, in,
			b.s + 4, r, want);
	}
	pw_buf_release(&b);
}

/* ---- our own tables -------------------------------------------------------- */

static const struct {
	const char *sel, *labels;
	bool match;
} matches[] = {
	/* keywords as label names */
	{ "contains contains \"x\"", "{\"contains\": \"axb\"}", true },
	{ "has(has)", "{\"has\": \"\"}", true },
	{ "has(has)", "{}", false },
	{ "in in {'a'}", "{\"in\": \"a\"}", true },
	{ "not not in {'a'}", "{\"not\": \"b\"}", true },
	{ "not not in {'a'}", "{}", true },
	{ "starts starts with 'x'", "{\"starts\": \"xy\"}", true },
	{ "ends endswith 'x'", "{\"ends\": \"yx\"}", true },
	{ "all == 'x'", "{\"all\": \"x\"}", true },
	{ "global != 'x'", "{}", true },
	{ "with == 'x' && notin notin {'y'}", "{\"with\": \"x\"}", true },
	/* empty operands */
	{ "a == ''", "{\"a\": \"\"}", true },
	{ "a == ''", "{}", false },
	{ "a != ''", "{\"a\": \"\"}", false },
	{ "a != ''", "{}", true },
	{ "a contains ''", "{\"a\": \"q\"}", true },
	{ "a contains ''", "{}", false },
	{ "a startswith ''", "{\"a\": \"\"}", true },
	{ "a startswith ''", "{}", false },
	{ "a ends with ''", "{\"a\": \"q\"}", true },
	{ "a ends with ''", "{}", false },
	{ "a in {}", "{\"a\": \"x\"}", false },
	{ "a in {}", "{}", false },
	{ "a not in {}", "{\"a\": \"x\"}", true },
	{ "a not in {}", "{}", true },
	{ "a in {'x',}", "{\"a\": \"x\"}", true },
	{ "a in {\"\"}", "{\"a\": \"\"}", true },
	/* starts/ends/contains at the edges */
	{ "a starts with 'abc'", "{\"a\": \"ab\"}", false },
	{ "a ends with 'abc'", "{\"a\": \"bc\"}", false },
	{ "a ends with 'abc'", "{\"a\": \"abc\"}", true },
	{ "a contains 'b.c'", "{\"a\": \"ab.cd\"}", true },
	{ "a contains 'b.c'", "{\"a\": \"abxcd\"}", false },
	/* precedence: ! > && > || */
	{ "a == 'x' || b == 'y' && c == 'z'", "{\"a\": \"x\"}", true },
	{ "a == 'x' || b == 'y' && c == 'z'", "{\"b\": \"y\"}", false },
	{ "a == 'x' || b == 'y' && c == 'z'", "{\"b\": \"y\", \"c\": \"z\"}", true },
	{ "b == 'y' && c == 'z' || a == 'x'", "{\"a\": \"x\"}", true },
	{ "(a == 'x' || b == 'y') && c == 'z'", "{\"a\": \"x\"}", false },
	{ "!a == 'x' || has(b)", "{\"a\": \"x\"}", false },
	{ "!a == 'x' || has(b)", "{\"a\": \"x\", \"b\": \"\"}", true },
	{ "!a == 'x' && has(b)", "{\"b\": \"\"}", true },
	{ "!(a == 'x' || has(b))", "{}", true },
	{ "!(a == 'x' || has(b))", "{\"b\": \"1\"}", false },
	{ "!!(a == 'x')", "{\"a\": \"x\"}", true },
	{ "! ! ! (a == 'x')", "{\"a\": \"x\"}", false },
	{ "!a in {'x'}", "{}", true },
	{ "!a not in {'x'}", "{}", false },
	{ "!a != 'x'", "{}", false },
	{ "!a contains 'x'", "{}", true },
	{ "!all()", "{}", false },
	{ "!global()", "{\"a\": \"b\"}", false },
	{ "global() && has(a)", "{\"a\": \"b\"}", true },
	{ "global() && has(a)", "{}", false },
	/* label keys, quoting, blanks */
	{ "calico/k8s_NS-.1/role == 'v'", "{\"calico/k8s_NS-.1/role\": \"v\"}", true },
	{ "projectcalico.org/namespace == 'kube-system'",
	  "{\"projectcalico.org/namespace\": \"kube-system\"}", true },
	{ "A == 'x'", "{\"a\": \"x\"}", false },
	{ "a == 'X'", "{\"a\": \"x\"}", false },
	{ "\ta\t==\t'b'\t", "{\"a\": \"b\"}", true },
	{ "a starts  with 'x'", "{\"a\": \"xy\"}", true },
	{ "a notin {'x'}", "{\"a\": \"y\"}", true },
	{ "a in{'x'}", "{\"a\": \"x\"}", true },
	{ "a==\"x\"&&b!='y'", "{\"a\": \"x\", \"b\": \"z\"}", true },
	{ "(((has(a))))", "{\"a\": \"\"}", true },
	{ "has( a )&&has(b)", "{\"a\": \"\", \"b\": \"\"}", true },
	{ "a == \"it's\"", "{\"a\": \"it's\"}", true },
	{ "a == 'say \"hi\"'", "{\"a\": \"say \\\"hi\\\"\"}", true },
	{ "a == 'x\\'", "{\"a\": \"x\\\\\"}", true },
	{ "a == 'caf\xc3\xa9'", "{\"a\": \"caf\\u00e9\"}", true },
	{ "a in {'z', 'm', 'a', 'm'}", "{\"a\": \"m\"}", true },
	{ "a in {'z', 'm', 'a', 'm'}", "{\"a\": \"b\"}", false },
};

static const struct {
	const char *sel;
	long pos;
	const char *msg;
} invalid[] = {
	{ "a == 'b' && %", 12, "unexpected character" },
	{ "a = 'b'", 2, "'=='" },
	{ "a == 'b' & c", 9, "'&&'" },
	{ "a == 'b' | c", 9, "'||'" },
	{ "a ==", 4, "quoted string" },
	{ "a == b", 5, "quoted string" },
	{ "a", 1, "unexpected end" },
	{ "a ", 2, "unexpected end" },
	{ "a b", 2, "expected an operator" },
	{ "a containsx 'b'", 2, "expected an operator" },
	{ "a starts 'b'", 2, "expected an operator" },
	{ "a startswithx 'b'", 2, "expected an operator" },
	{ "a not 'b'", 2, "expected an operator" },
	{ "a inx {}", 2, "expected an operator" },
	{ "a (", 2, "expected an operator" },
	{ "a startswith", 12, "quoted string" },
	{ "a starts with b", 2, "expected an operator" },
	{ "a in c", 5, "'{'" },
	{ "a in {'a' 'b'}", 10, "'}'" },
	{ "a in {,}", 6, "'}'" },
	{ "a in {'a',,}", 10, "'}'" },
	{ "a in 'x'", 5, "'{'" },
	{ "a in {'x'", 9, "'}'" },
	{ "all ()", 4, "expected an operator" },
	{ "all(x)", 4, "after all(" },
	{ "global( x)", 8, "after global(" },
	{ "has()", 4, "label name" },
	{ "has( )", 5, "label name" },
	{ "has(a b)", 6, "')'" },
	{ "has(a", 5, "')'" },
	{ "has(a)(", 6, "unexpected content" },
	{ "(a == 'b'))", 10, "unbalanced" },
	{ "((a == 'b')", 11, "')'" },
	{ "a == 'b' c == 'd'", 9, "unexpected content" },
	{ "a == 'b'\n", 8, "unexpected character" },
	{ "a\n== 'b'", 1, "expected an operator" },
	{ "\ra == 'b'", 0, "unexpected character" },
	{ "a == 'b' &&", 11, "unexpected end" },
	{ "a == 'b' && ", 12, "unexpected end" },
	{ "a == 'b' || || has(c)", 12, "unexpected token" },
	{ "!", 1, "unexpected end" },
	{ "!!", 2, "unexpected end" },
	{ "'b1' == b", 0, "unexpected string" },
	{ "&&", 0, "unexpected token" },
	{ ")", 0, "unexpected token" },
	{ "()", 1, "unexpected token" },
	{ "{}", 0, "unexpected token" },
	{ "a == \"x'", 5, "unterminated" },
	{ "a == 'x\"", 5, "unterminated" },
	{ "has(a) && b in {'c', \"d}", 21, "unterminated" },
	{ "a == 'b' && has(c) || a == 'x' d", 31, "unexpected content" },
	{ "a == 'b' || (c == 'd' && %)", 25, "unexpected character" },
	{ "a != !", 5, "quoted string" },
	{ "a in {'a'} in {'b'}", 11, "unexpected content" },
	{ "all() all()", 6, "unexpected content" },
	{ "a == 'x' ! has(b)", 9, "unexpected content" },
	{ "a \xc3\xa9", 2, "expected an operator" },
	{ "\xc3\xa9 == 'x'", 0, "unexpected character" },
};

static const struct {
	const char *in, *out;
} canonical[] = {
	{ "k == 'v' && x == 'y'", "(k == \"v\" && x == \"y\")" },
	{ "k == 'v' || has(x)", "(k == \"v\" || has(x))" },
	{ "!(k == 'v')", "!k == \"v\"" },
	{ "!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))",
	  "!(!((k == \"v\" && has(t)) || all()) && a in {\"b\", \"c\"})" },
	{ "!!has(a)", "has(a)" },
	{ "!!!has(a)", "!has(a)" },
	{ "!!all()", "all()" },
	{ "a in {}", "a in {}" },
	{ "a not in {'x', 'x',}", "a not in {\"x\"}" },
	{ "a notin {'b','a'}", "a not in {\"a\", \"b\"}" },
	{ "a in {'b', 'B', 'a', '_', '', '1'}",
	  "a in {\"\", \"1\", \"B\", \"_\", \"a\", \"b\"}" },
	{ "a in {'\"', \"'\"}", "a in {'\"', \"'\"}" },
	{ "a == 'x\"y'", "a == 'x\"y'" },
	{ "a == \"it's\"", "a == \"it's\"" },
	{ "global()", "global()" },
	{ " global( ) ", "global()" },
	{ " \t ", "all()" },
	{ "((a == 'b'))", "a == \"b\"" },
	{ "a == 'b' && c == 'd' && e == 'f' || g == 'h'",
	  "((a == \"b\" && c == \"d\" && e == \"f\") || g == \"h\")" },
	{ "(a == 'b' && c == 'd') && e == 'f'",
	  "((a == \"b\" && c == \"d\") && e == \"f\")" },
	{ "a == 'b' || (c == 'd' || e == 'f')",
	  "(a == \"b\" || (c == \"d\" || e == \"f\"))" },
	{ "contains contains \"contains\"", "contains contains \"contains\"" },
	{ "a startswith''", "a starts with \"\"" },
	{ "a starts   with 'x'", "a starts with \"x\"" },
	{ "a endswith 'x' && b ends with 'y'",
	  "(a ends with \"x\" && b ends with \"y\")" },
	{ "has( calico/k8s_ns )", "has(calico/k8s_ns)" },
	{ "a!='b'", "a != \"b\"" },
	{ "a=='b'||!has(c)&&d contains'e'",
	  "(a == \"b\" || (!has(c) && d contains \"e\"))" },
	{ "!global() || all()", "(!global() || all())" },
};

/* Canonical forms that are not fixed points, as in Calico: the parser keeps
   one NotNode per parenthesised "!", but a run of "!" collapses when the
   printed form is parsed again. */
static const struct {
	const char *in, *out, *reprint;
} reprints[] = {
	{ "!(!has(a))", "!!has(a)", "has(a)" },
	{ "!(!(!has(a)))", "!!!has(a)", "!has(a)" },
	{ "!(!a == 'x')", "!!a == \"x\"", "a == \"x\"" },
};

static const struct {
	const char *in, *tokens; /* NULL: tokenizer error */
} tokens[] = {
	{ "", "EOF" },
	{ " \t", "EOF" },
	{ "a != 'b'", "LABEL(\"a\") NE STRINGLITERAL(\"b\") EOF" },
	{ "(has(a))", "LPAREN HAS(\"a\") RPAREN EOF" },
	{ "a == '\"'", "LABEL(\"a\") EQ STRINGLITERAL(\"\\\"\") EOF" },
	{ "a == \"\\\"", "LABEL(\"a\") EQ STRINGLITERAL(\"\\\\\") EOF" },
	{ "a == '\x01'", "LABEL(\"a\") EQ STRINGLITERAL(\"\\x01\") EOF" },
	{ "all( )", "ALL EOF" },
	{ "global(\t)", "GLOBAL EOF" },
	{ "all ()", "LABEL(\"all\") LPAREN RPAREN EOF" },
	{ "has (a)", "LABEL(\"has\") LPAREN LABEL(\"a\") RPAREN EOF" },
	{ "'a' 'b'", "STRINGLITERAL(\"a\") STRINGLITERAL(\"b\") EOF" },
	{ "a notin", "LABEL(\"a\") NOTIN EOF" },
	{ "a not in", "LABEL(\"a\") NOTIN EOF" },
	{ "a in", "LABEL(\"a\") IN EOF" },
	{ "!!a", "NOT NOT LABEL(\"a\") EOF" },
	{ "a in {'x',}", "LABEL(\"a\") IN LBRACE STRINGLITERAL(\"x\") COMMA RBRACE EOF" },
	{ "has(a)all()global()", "HAS(\"a\") ALL GLOBAL EOF" },
	{ "a contains contains", "LABEL(\"a\") CONTAINS LABEL(\"contains\") EOF" },
	{ "a||b&&!c", "LABEL(\"a\") OR LABEL(\"b\") AND NOT LABEL(\"c\") EOF" },
	{ "a in c", "LABEL(\"a\") IN LABEL(\"c\") EOF" },
	{ "a contains b", "LABEL(\"a\") CONTAINS LABEL(\"b\") EOF" },
	{ "a not in c", NULL },	  /* Calico checks the boundary after the */
	{ "a starts with b", NULL }, /* blanks that follow a two-word operator */
	{ "a endswith b", NULL },
	{ "a containsx", NULL },
	{ "a startswithx", NULL },
	{ "a not", NULL },
	{ "a=b", NULL },
	{ "a == 'b'\n", NULL },
	{ "b c", NULL },
	{ "a &", NULL },
	{ "a|", NULL },
	{ "x\x01", NULL },
	{ "has()", NULL },
	{ "has(a", NULL },
	{ "all(", NULL },
	{ "global(x)", NULL },
	{ "'a", NULL },
	{ "%", NULL },
};

static const struct {
	const char *sel;
	bool all, global, uses_global;
} preds[] = {
	{ "", true, false, false },
	{ " ", true, false, false },
	{ "all()", true, false, false },
	{ " (all())", true, false, false },
	{ "!!all()", true, false, false },
	{ "!all()", false, false, false },
	{ "all() && all()", false, false, false },
	{ "global()", false, true, true },
	{ "(global())", false, true, true },
	{ "global() && has(a)", false, false, true },
	{ "!global()", false, false, true },
	{ "has(a) || (b == 'c' && !global())", false, false, true },
	{ "has(a)", false, false, false },
	{ "global == 'x'", false, false, false },
};

static void check_preds(void)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(preds); i++) {
		struct pw_arena a;
		struct pw_csel *s;
		pw_arena_init(&a);
		s = pw_csel_parse(&a, preds[i].sel, NULL, NULL);
		T_CHECK(s != NULL, "preds: '%s' does not parse", preds[i].sel);
		if (s) {
			T_CHECK(pw_csel_is_all(s) == preds[i].all,
				"preds: is_all('%s')", preds[i].sel);
			T_CHECK(pw_csel_is_global(s) == preds[i].global,
				"preds: is_global('%s')", preds[i].sel);
			T_CHECK(pw_csel_uses_global(s) == preds[i].uses_global,
				"preds: uses_global('%s')", preds[i].sel);
		}
		pw_arena_release(&a);
	}
}

/* Limits: nesting depth, label length, text length, long chains. */
static void check_limits(void)
{
	size_t big = (size_t)PW_CSEL_MAX_LEN + 1;
	char *s = pw_xmalloc(big + 1);
	struct pw_arena a;
	struct pw_buf b;
	const char *err;
	size_t pos, n;

	pw_arena_init(&a);
	pw_buf_init(&b);

	/* PW_CSEL_MAX_DEPTH parentheses parse, one more does not */
	for (int depth = PW_CSEL_MAX_DEPTH; depth <= PW_CSEL_MAX_DEPTH + 1; depth++) {
		n = 0;
		for (int i = 0; i < depth; i++)
			s[n++] = '(';
		n += (size_t)sprintf(s + n, "has(a)");
		for (int i = 0; i < depth; i++)
			s[n++] = ')';
		s[n] = 0;
		struct pw_csel *c = pw_csel_parse(&a, s, &err, &pos);
		if (depth == PW_CSEL_MAX_DEPTH) {
			T_CHECK(c != NULL, "depth %d rejected: %s", depth, err);
			if (c) {
				pw_buf_reset(&b);
				pw_csel_format(c, &b);
				T_CHECK(!strcmp(b.s, "has(a)"), "depth %d prints %s",
					depth, b.s);
			}
		} else {
			T_CHECK(c == NULL && pos == PW_CSEL_MAX_DEPTH,
				"depth %d accepted or wrong position", depth);
		}
	}

	/* nested !( ... ) groups print and match through every level */
	n = 0;
	for (int i = 0; i < PW_CSEL_MAX_DEPTH; i++)
		n += (size_t)sprintf(s + n, "!(has(x) || ");
	n += (size_t)sprintf(s + n, "has(a)");
	for (int i = 0; i < PW_CSEL_MAX_DEPTH; i++)
		s[n++] = ')';
	s[n] = 0;
	{
		struct pw_csel *c = pw_csel_parse(&a, s, &err, &pos);
		struct pw_label lb = { "a", "" };
		struct pw_labels l = { &lb, 1 };
		T_CHECK(c != NULL, "deep !( ) chain rejected: %s", err);
		if (c) {
			/* an even number of negations around has(a) */
			T_CHECK(pw_csel_match(c, &l), "deep chain match");
			pw_buf_reset(&b);
			pw_csel_format(c, &b);
			T_CHECK(!strcmp(b.s, s), "deep chain prints differently");
		}
	}

	/* a long run of ! is a parity, not recursion */
	memset(s, '!', 100000);
	strcpy(s + 100000, "has(a)");
	{
		struct pw_csel *c = pw_csel_parse(&a, s, &err, &pos);
		T_CHECK(c != NULL, "100000 '!' rejected: %s", err);
		if (c) {
			pw_buf_reset(&b);
			pw_csel_format(c, &b);
			T_CHECK(!strcmp(b.s, "has(a)"), "100000 '!' print %s", b.s);
		}
	}

	/* a long && chain and a long set */
	n = 0;
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(s + n, "%shas(k%d)", i ? " && " : "", i);
	T_CHECK(pw_csel_parse(&a, s, &err, &pos) != NULL, "long && chain: %s", err);
	n = (size_t)sprintf(s, "a in {");
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(s + n, "%s'v%d'", i ? "," : "", 19999 - i);
	strcpy(s + n, "}");
	{
		struct pw_csel *c = pw_csel_parse(&a, s, &err, &pos);
		struct pw_label lb = { "a", "v777" };
		struct pw_labels l = { &lb, 1 };
		T_CHECK(c != NULL && pw_csel_match(c, &l), "long set: %s", err);
		lb.value = "v20000";
		T_CHECK(c != NULL && !pw_csel_match(c, &l), "long set miss");
	}

	/* labels: 512 bytes are fine, 513 are not (Calico's limit) */
	for (int len = PW_CSEL_MAX_LABEL; len <= PW_CSEL_MAX_LABEL + 1; len++) {
		memset(s, 'k', (size_t)len);
		strcpy(s + len, " == 'v'");
		struct pw_csel *c = pw_csel_parse(&a, s, &err, &pos);
		T_CHECK((c != NULL) == (len == PW_CSEL_MAX_LABEL),
			"label of %d bytes", len);
		n = (size_t)sprintf(s, "has(");
		memset(s + n, 'k', (size_t)len);
		strcpy(s + n + len, ")");
		c = pw_csel_parse(&a, s, &err, &pos);
		T_CHECK((c != NULL) == (len == PW_CSEL_MAX_LABEL),
			"has() label of %d bytes", len);
		T_CHECK(c || pos == 4, "has() long label position %zu", pos);
	}

	/* the text: PW_CSEL_MAX_LEN bytes are fine, one more is not */
	memset(s, ' ', big);
	s[big] = 0;
	T_CHECK(pw_csel_parse(&a, s, &err, &pos) == NULL && pos == PW_CSEL_MAX_LEN,
		"over-long selector");
	s[big - 1] = 0;
	T_CHECK(pw_csel_parse(&a, s, &err, &pos) != NULL, "selector at the limit");

	/* NULL text is empty; NULL err/errpos are allowed */
	{
		struct pw_csel *c = pw_csel_parse(&a, NULL, NULL, NULL);
		T_CHECK(c && pw_csel_is_all(c), "NULL text");
		T_CHECK(!pw_csel_parse(&a, "%", NULL, NULL), "NULL err/errpos");
	}

	pw_buf_release(&b);
	pw_arena_release(&a);
	free(s);
}

/* ---- the conformance TSVs -------------------------------------------------- */

enum tsv { TSV_MATCH, TSV_INVALID, TSV_CANON, TSV_TOKENS };

static const struct {
	const char *file, *header;
	int ncols;
} tsvs[] = {
	[TSV_MATCH] = { "calico-selectors.tsv", "selector\tlabels_json\texpected", 3 },
	[TSV_INVALID] = { "calico-selectors-invalid.tsv", "selector\texpected", 2 },
	[TSV_CANON] = { "calico-selectors-canonical.tsv", "input\tcanonical\tuid", 3 },
	[TSV_TOKENS] = { "calico-selector-tokens.tsv", "input\ttokens", 2 },
};

static void check_row(enum tsv which, char **f, const char *where)
{
	switch (which) {
	case TSV_MATCH:
		T_CHECK(!strcmp(f[2], "true") || !strcmp(f[2], "false"),
			"%s: expected '%s'", where, f[2]);
		check_match(f[0], f[1], !strcmp(f[2], "true"), where);
		break;
	case TSV_INVALID:
		T_CHECK(!strcmp(f[1], "parse_error"), "%s: expected '%s'", where,
			f[1]);
		check_invalid(f[0], -1, NULL, where);
		break;
	case TSV_CANON:
		check_canonical(f[0], f[1], f[2], NULL, where);
		break;
	case TSV_TOKENS:
		check_tokens(f[0], strcmp(f[1], "error") ? f[1] : NULL, where);
		break;
	}
}

static bool verbose;

static void run_tsv(const char *dir, enum tsv which)
{
	char path[4096], where[4200];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rows = 0, bad = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/conformance/%s", dir, tsvs[which].file);
	fp = fopen(path, "r");
	T_CHECK(fp != NULL, "cannot open '%s'", path);
	if (!fp)
		return;
	while ((len = getline(&line, &cap, fp)) >= 0) {
		char *f[4] = { NULL };
		int n = 0, before = t_fail;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = 0;
		snprintf(where, sizeof(where), "%s:%d", tsvs[which].file, lineno);
		if (lineno == 1) {
			T_CHECK(!strcmp(line, tsvs[which].header),
				"%s: header '%s'", where, line);
			continue;
		}
		/* split on every TAB, keeping empty fields */
		for (char *p = line;; p++) {
			if (n < 4)
				f[n] = p;
			n++;
			p = strchr(p, '\t');
			if (!p)
				break;
			*p = 0;
		}
		rows++;
		T_CHECK(n == tsvs[which].ncols, "%s: %d fields", where, n);
		if (n == tsvs[which].ncols)
			check_row(which, f, where);
		if (t_fail != before)
			bad++;
	}
	free(line);
	fclose(fp);
	T_CHECK(rows > 0, "%s: no rows", path);
	if (verbose || bad)
		printf("%s: %d/%d rows ok\n", tsvs[which].file, rows - bad, rows);
}

/* -v: also print each TSV's row count */
int main(int argc, char **argv)
{
	const char *shared = getenv("SHARED");
	char where[64];

	verbose = argc > 1 && !strcmp(argv[1], "-v");
	if (!shared || !*shared)
		shared = "../shared";
	for (size_t i = 0; i < PW_ARRAY_SIZE(matches); i++) {
		snprintf(where, sizeof(where), "matches[%zu]", i);
		check_match(matches[i].sel, matches[i].labels, matches[i].match, where);
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(invalid); i++) {
		snprintf(where, sizeof(where), "invalid[%zu]", i);
		check_invalid(invalid[i].sel, invalid[i].pos, invalid[i].msg, where);
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(canonical); i++) {
		snprintf(where, sizeof(where), "canonical[%zu]", i);
		check_canonical(canonical[i].in, canonical[i].out, NULL, NULL,
				where);
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(reprints); i++) {
		snprintf(where, sizeof(where), "reprints[%zu]", i);
		check_canonical(reprints[i].in, reprints[i].out, NULL,
				reprints[i].reprint, where);
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(tokens); i++) {
		snprintf(where, sizeof(where), "tokens[%zu]", i);
		check_tokens(tokens[i].in, tokens[i].tokens, where);
	}
	check_preds();
	check_limits();
	for (int w = TSV_MATCH; w <= TSV_TOKENS; w++)
		run_tsv(shared, (enum tsv)w);
	return T_DONE("unit-calsel");
}
