// SPDX-License-Identifier: Apache-2.0
/*
 * Calico selectors: tokenizer, recursive-descent parser, evaluator and
 * canonical printer.  See calsel.h for the language.
 *
 * The tokenizer is context sensitive in one way only, as libcalico-go's is:
 * right after a LABEL token the next word must be an operator (contains,
 * starts with, ends with, not in, in), and anywhere else a word is a label.
 * The parser pulls tokens one at a time (one token of lookahead), so a
 * tokenizer error and a grammar error are both simply "the first problem
 * from the left"; the set of accepted inputs is the same as Calico's, which
 * tokenizes everything first.
 *
 * How to add an operator "k OP 'v'":
 *   1. a token kind in enum tok_kind and its name in tok_names[];
 *   2. recognise the word in lex_operator() (mind the word boundary);
 *   3. a node kind in enum node_kind, the token-to-node case in
 *      parse_comparison(), its spelling in cmp_ops[] and its test in
 *      node_match();
 *   4. rows in tests/unit/test-calsel.c (match, canonical and token tables).
 */
#include "calsel.h"

#include <stdlib.h>
#include <string.h>

/* ---- tokens ---------------------------------------------------------- */

enum tok_kind {
	T_NONE,
	T_LABEL,
	T_STRING,
	T_LBRACE,
	T_RBRACE,
	T_COMMA,
	T_EQ,
	T_NE,
	T_IN,
	T_NOT,
	T_NOTIN,
	T_CONTAINS,
	T_STARTSWITH,
	T_ENDSWITH,
	T_ALL,
	T_HAS,
	T_LPAREN,
	T_RPAREN,
	T_AND,
	T_OR,
	T_GLOBAL,
	T_EOF,
};

/* The names calico-selector-tokens.tsv uses (Calico's Kind names, upper
   case, without the "Tok" prefix). */
static const char *const tok_names[] = {
	[T_NONE] = "NONE",
	[T_LABEL] = "LABEL",
	[T_STRING] = "STRINGLITERAL",
	[T_LBRACE] = "LBRACE",
	[T_RBRACE] = "RBRACE",
	[T_COMMA] = "COMMA",
	[T_EQ] = "EQ",
	[T_NE] = "NE",
	[T_IN] = "IN",
	[T_NOT] = "NOT",
	[T_NOTIN] = "NOTIN",
	[T_CONTAINS] = "CONTAINS",
	[T_STARTSWITH] = "STARTSWITH",
	[T_ENDSWITH] = "ENDSWITH",
	[T_ALL] = "ALL",
	[T_HAS] = "HAS",
	[T_LPAREN] = "LPAREN",
	[T_RPAREN] = "RPAREN",
	[T_AND] = "AND",
	[T_OR] = "OR",
	[T_GLOBAL] = "GLOBAL",
	[T_EOF] = "EOF",
};

struct tok {
	enum tok_kind kind;
	const char *val; /* LABEL, STRING, HAS: points into the text */
	size_t len;
	size_t pos; /* byte offset of the token */
};

struct lexer {
	const char *s;
	size_t len, pos;
	enum tok_kind last; /* kind of the previous token, T_NONE at start */
	const char *err;
	size_t errpos;
};

static bool ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' ||
	       c == '-';
}

static size_t skip_ws(const struct lexer *lx, size_t p)
{
	while (p < lx->len && (lx->s[p] == ' ' || lx->s[p] == '\t'))
		p++;
	return p;
}

static size_t ident_len(const struct lexer *lx, size_t p)
{
	size_t n = 0;
	while (p + n < lx->len && ident_char((unsigned char)lx->s[p + n]))
		n++;
	return n;
}

static bool has_word(const struct lexer *lx, size_t p, const char *w)
{
	size_t n = strlen(w);
	return lx->len - p >= n && !memcmp(lx->s + p, w, n);
}

/* The end of the text or a non-identifier byte: "contains" in
   "a contains'x'" is an operator, in "a containsx" it is not. */
static bool word_boundary(const struct lexer *lx, size_t p)
{
	return p == lx->len || !ident_char((unsigned char)lx->s[p]);
}

/*
 * The operator word w1, or the two words w1 w2, at *p, ending at a word
 * boundary; on success *p moves past them.  As in libcalico-go, the two
 * words may be joined or separated by blanks ("starts with", "startswith",
 * "starts  with"), and the boundary of a two-word operator is checked after
 * the blanks that follow it, so "a in b" tokenizes but "a not in b" and
 * "a starts with b" do not (all three are parse errors anyway).
 */
static bool cut_words(const struct lexer *lx, size_t *p, const char *w1,
		      const char *w2)
{
	size_t q = *p;
	if (!has_word(lx, q, w1))
		return false;
	q += strlen(w1);
	if (w2) {
		q = skip_ws(lx, q);
		if (!has_word(lx, q, w2))
			return false;
		q = skip_ws(lx, q + strlen(w2));
	}
	if (!word_boundary(lx, q))
		return false;
	*p = q;
	return true;
}

static int lex_fail(struct lexer *lx, size_t pos, const char *msg)
{
	lx->err = msg;
	lx->errpos = pos;
	return -1;
}

/* The operator word after a label. */
static int lex_operator(struct lexer *lx, size_t *p, struct tok *t)
{
	if (cut_words(lx, p, "contains", NULL))
		t->kind = T_CONTAINS;
	else if (cut_words(lx, p, "starts", "with"))
		t->kind = T_STARTSWITH;
	else if (cut_words(lx, p, "ends", "with"))
		t->kind = T_ENDSWITH;
	else if (cut_words(lx, p, "not", "in"))
		t->kind = T_NOTIN;
	else if (cut_words(lx, p, "in", NULL))
		t->kind = T_IN;
	else
		return lex_fail(lx, *p, "expected an operator after label");
	return 0;
}

/* "all(", "global(": the word and "(" were matched at *p; blanks, then ")". */
static int lex_call(struct lexer *lx, size_t *p, size_t wlen, const char *msg)
{
	size_t q = skip_ws(lx, *p + wlen);
	if (q == lx->len || lx->s[q] != ')')
		return lex_fail(lx, q, msg);
	*p = q + 1;
	return 0;
}

static int lex_has(struct lexer *lx, size_t *p, struct tok *t)
{
	size_t q = skip_ws(lx, *p + strlen("has("));
	size_t n = ident_len(lx, q);
	if (!n)
		return lex_fail(lx, q, "expected a label name in has()");
	if (n > PW_CSEL_MAX_LABEL)
		return lex_fail(lx, q, "label longer than 512 bytes");
	t->val = lx->s + q;
	t->len = n;
	q = skip_ws(lx, q + n);
	if (q == lx->len || lx->s[q] != ')')
		return lex_fail(lx, q, "expected ')' after has(label");
	t->kind = T_HAS;
	*p = q + 1;
	return 0;
}

/* Two-byte operators: "==", "&&", "||". */
static int lex_pair(struct lexer *lx, size_t *p, struct tok *t,
		    enum tok_kind kind, const char *msg)
{
	if (*p + 1 >= lx->len || lx->s[*p + 1] != lx->s[*p])
		return lex_fail(lx, *p, msg);
	t->kind = kind;
	*p += 2;
	return 0;
}

/* Next token into *t; 0, or -1 with lx->err set.  After EOF, EOF again. */
static int lex_next(struct lexer *lx, struct tok *t)
{
	size_t p = skip_ws(lx, lx->pos);
	int r = 0;

	t->kind = T_NONE;
	t->val = NULL;
	t->len = 0;
	t->pos = p;
	if (p == lx->len) {
		t->kind = T_EOF;
		goto out;
	}
	switch (lx->s[p]) {
	case '(':
		t->kind = T_LPAREN;
		p++;
		break;
	case ')':
		t->kind = T_RPAREN;
		p++;
		break;
	case '{':
		t->kind = T_LBRACE;
		p++;
		break;
	case '}':
		t->kind = T_RBRACE;
		p++;
		break;
	case ',':
		t->kind = T_COMMA;
		p++;
		break;
	case '"':
	case '\'': {
		/* no escapes: the string ends at the next quote of its kind */
		const char *q =
			memchr(lx->s + p + 1, lx->s[p], lx->len - p - 1);
		if (!q)
			return lex_fail(lx, p, "unterminated string");
		t->kind = T_STRING;
		t->val = lx->s + p + 1;
		t->len = (size_t)(q - t->val);
		p = (size_t)(q - lx->s) + 1;
		break;
	}
	case '=':
		r = lex_pair(lx, &p, t, T_EQ, "expected '=='");
		break;
	case '&':
		r = lex_pair(lx, &p, t, T_AND, "expected '&&'");
		break;
	case '|':
		r = lex_pair(lx, &p, t, T_OR, "expected '||'");
		break;
	case '!':
		if (p + 1 < lx->len && lx->s[p + 1] == '=') {
			t->kind = T_NE;
			p += 2;
		} else {
			t->kind = T_NOT;
			p++;
		}
		break;
	default:
		if (lx->last == T_LABEL) {
			r = lex_operator(lx, &p, t);
		} else if (has_word(lx, p, "has(")) {
			r = lex_has(lx, &p, t);
		} else if (has_word(lx, p, "all(")) {
			t->kind = T_ALL;
			r = lex_call(lx, &p, strlen("all("),
				     "expected ')' after all(");
		} else if (has_word(lx, p, "global(")) {
			t->kind = T_GLOBAL;
			r = lex_call(lx, &p, strlen("global("),
				     "expected ')' after global(");
		} else {
			size_t n = ident_len(lx, p);
			if (!n)
				return lex_fail(lx, p, "unexpected character");
			if (n > PW_CSEL_MAX_LABEL)
				return lex_fail(lx, p,
						"label longer than 512 bytes");
			t->kind = T_LABEL;
			t->val = lx->s + p;
			t->len = n;
			p += n;
		}
		break;
	}
	if (r < 0)
		return r;
out:
	lx->pos = p;
	lx->last = t->kind;
	return 0;
}

static void lexer_init(struct lexer *lx, const char *text, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->s = text;
	lx->len = len;
	lx->last = T_NONE;
}

static void put_escaped(struct pw_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			pw_buf_putc(out, '\\');
			pw_buf_putc(out, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			pw_buf_printf(out, "\\x%02x", c);
		} else {
			pw_buf_putc(out, (char)c);
		}
	}
}

int pw_csel_tokenize(const char *text, struct pw_buf *out)
{
	struct lexer lx;
	struct tok t;
	size_t start = out->len;

	if (!text)
		text = "";
	lexer_init(&lx, text, strlen(text));
	do {
		if (lex_next(&lx, &t) < 0) {
			/* leave out as it was */
			if (out->s) {
				out->len = start;
				out->s[start] = 0;
			}
			return -1;
		}
		if (out->len > start)
			pw_buf_putc(out, ' ');
		pw_buf_puts(out, tok_names[t.kind]);
		if (t.kind == T_LABEL || t.kind == T_STRING ||
		    t.kind == T_HAS) {
			pw_buf_add(out, "(\"", 2);
			put_escaped(out, t.val, t.len);
			pw_buf_add(out, "\")", 2);
		}
	} while (t.kind != T_EOF);
	return 0;
}

/* ---- syntax tree ----------------------------------------------------- */

enum node_kind {
	N_ALL,
	N_GLOBAL,
	N_HAS,
	N_EQ,
	N_NE,
	N_CONTAINS,
	N_STARTS,
	N_ENDS,
	N_IN,
	N_NOTIN,
	N_NOT,
	N_AND,
	N_OR,
};

/* Infix spelling of the "k OP 'v'" nodes in the canonical form. */
static const char *const cmp_ops[] = {
	[N_EQ] = " == ",
	[N_NE] = " != ",
	[N_CONTAINS] = " contains ",
	[N_STARTS] = " starts with ",
	[N_ENDS] = " ends with ",
	[N_IN] = " in ",
	[N_NOTIN] = " not in ",
};

struct node {
	enum node_kind kind;
	const char *key;	   /* HAS and comparisons */
	const char *val;	   /* EQ NE CONTAINS STARTS ENDS */
	const char **set;	   /* IN NOTIN: sorted, unique */
	struct node **kids;	   /* NOT: 1; AND, OR: >= 2 */
	uint32_t nset, nkids;
};

struct pw_csel {
	struct node *root;
	bool uses_global;
};

struct parser {
	struct pw_arena *a;
	struct lexer lx;
	struct tok cur;
	int depth;
	bool uses_global;
};

static int advance(struct parser *p)
{
	return lex_next(&p->lx, &p->cur);
}

/* A grammar error at the current token (lexer errors are already set). */
static struct node *fail(struct parser *p, const char *msg)
{
	if (!p->lx.err) {
		p->lx.err = msg;
		p->lx.errpos = p->cur.pos;
	}
	return NULL;
}

static struct node *new_node(struct parser *p, enum node_kind kind)
{
	struct node *n = pw_arena_alloc(p->a, sizeof(*n));
	n->kind = kind;
	return n;
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* After "k in" / "k not in": '{' [ string { ',' string } [ ',' ] ] '}'. */
static struct node *parse_set(struct parser *p, struct node *n)
{
	size_t cap = 0;

	if (p->cur.kind != T_LBRACE)
		return fail(p, "expected '{' after in");
	if (advance(p) < 0)
		return NULL;
	while (p->cur.kind == T_STRING) {
		if (n->nset == UINT32_MAX)
			return fail(p, "too many set members");
		*PW_PUSH(p->a, n->set, n->nset, cap) =
			pw_arena_strndup(p->a, p->cur.val, p->cur.len);
		if (advance(p) < 0)
			return NULL;
		if (p->cur.kind != T_COMMA)
			break;
		if (advance(p) < 0)
			return NULL;
	}
	if (p->cur.kind != T_RBRACE)
		return fail(p, "expected '}' or a quoted string in set");
	if (advance(p) < 0)
		return NULL;
	if (n->nset > 1) {
		uint32_t k = 1;
		qsort(n->set, n->nset, sizeof(*n->set), str_cmp);
		for (uint32_t i = 1; i < n->nset; i++)
			if (strcmp(n->set[i], n->set[k - 1]))
				n->set[k++] = n->set[i];
		n->nset = k;
	}
	return n;
}

/* After a label: the operator and its operand. */
static struct node *parse_comparison(struct parser *p)
{
	struct node *n;
	const char *key = pw_arena_strndup(p->a, p->cur.val, p->cur.len);
	enum node_kind kind;

	if (advance(p) < 0)
		return NULL;
	switch (p->cur.kind) {
	case T_EQ:
		kind = N_EQ;
		break;
	case T_NE:
		kind = N_NE;
		break;
	case T_CONTAINS:
		kind = N_CONTAINS;
		break;
	case T_STARTSWITH:
		kind = N_STARTS;
		break;
	case T_ENDSWITH:
		kind = N_ENDS;
		break;
	case T_IN:
		kind = N_IN;
		break;
	case T_NOTIN:
		kind = N_NOTIN;
		break;
	case T_EOF:
		return fail(p, "unexpected end of selector: expected an "
			       "operator after label");
	default:
		return fail(p, "expected an operator after label");
	}
	n = new_node(p, kind);
	n->key = key;
	if (advance(p) < 0)
		return NULL;
	if (kind == N_IN || kind == N_NOTIN)
		return parse_set(p, n);
	if (p->cur.kind != T_STRING)
		return fail(p, "expected a quoted string");
	n->val = pw_arena_strndup(p->a, p->cur.val, p->cur.len);
	if (advance(p) < 0)
		return NULL;
	return n;
}

static struct node *parse_or(struct parser *p);

/* operation := { "!" } primary */
static struct node *parse_operation(struct parser *p)
{
	struct node *n;
	bool negated = false;

	while (p->cur.kind == T_NOT) {
		negated = !negated;
		if (advance(p) < 0)
			return NULL;
	}
	switch (p->cur.kind) {
	case T_ALL:
	case T_GLOBAL:
		n = new_node(p, p->cur.kind == T_ALL ? N_ALL : N_GLOBAL);
		if (n->kind == N_GLOBAL)
			p->uses_global = true;
		if (advance(p) < 0)
			return NULL;
		break;
	case T_HAS:
		n = new_node(p, N_HAS);
		n->key = pw_arena_strndup(p->a, p->cur.val, p->cur.len);
		if (advance(p) < 0)
			return NULL;
		break;
	case T_LABEL:
		n = parse_comparison(p);
		if (!n)
			return NULL;
		break;
	case T_LPAREN:
		if (++p->depth > PW_CSEL_MAX_DEPTH)
			return fail(p, "parentheses nested too deeply");
		if (advance(p) < 0)
			return NULL;
		n = parse_or(p);
		if (!n)
			return NULL;
		if (p->cur.kind != T_RPAREN)
			return fail(p, "expected ')'");
		p->depth--;
		if (advance(p) < 0)
			return NULL;
		break;
	case T_EOF:
		return fail(p, "unexpected end of selector");
	case T_STRING:
		return fail(p, "unexpected string: expected a label");
	default:
		return fail(p, "unexpected token");
	}
	if (negated) {
		struct node *neg = new_node(p, N_NOT);
		neg->kids = pw_arena_alloc(p->a, sizeof(*neg->kids));
		neg->kids[0] = n;
		neg->nkids = 1;
		n = neg;
	}
	return n;
}

/* One or more sub-expressions joined by op; a single one is returned as
   is, without a group node. */
static struct node *parse_list(struct parser *p, enum tok_kind op,
			       enum node_kind kind,
			       struct node *(*sub)(struct parser *))
{
	struct node *first = sub(p), *n;
	size_t cap = 0;

	if (!first || p->cur.kind != op)
		return first;
	n = new_node(p, kind);
	*PW_PUSH(p->a, n->kids, n->nkids, cap) = first;
	while (p->cur.kind == op) {
		struct node *k;
		if (advance(p) < 0)
			return NULL;
		k = sub(p);
		if (!k)
			return NULL;
		if (n->nkids == UINT32_MAX)
			return fail(p, "too many operands");
		*PW_PUSH(p->a, n->kids, n->nkids, cap) = k;
	}
	return n;
}

static struct node *parse_and(struct parser *p)
{
	return parse_list(p, T_AND, N_AND, parse_operation);
}

static struct node *parse_or(struct parser *p)
{
	return parse_list(p, T_OR, N_OR, parse_and);
}

struct pw_csel *pw_csel_parse(struct pw_arena *a, const char *text,
			      const char **err, size_t *errpos)
{
	struct parser p = { .a = a };
	struct pw_csel *sel = NULL;
	struct node *root;
	size_t len;

	if (!text)
		text = "";
	len = strnlen(text, (size_t)PW_CSEL_MAX_LEN + 1);
	lexer_init(&p.lx, text, len);
	if (len > PW_CSEL_MAX_LEN) {
		p.lx.err = "selector longer than 1 MiB";
		p.lx.errpos = PW_CSEL_MAX_LEN;
		goto out;
	}
	if (advance(&p) < 0)
		goto out;
	if (p.cur.kind == T_EOF) {
		root = new_node(&p, N_ALL);
	} else {
		root = parse_or(&p);
		if (!root)
			goto out;
		if (p.cur.kind != T_EOF) {
			fail(&p, p.cur.kind == T_RPAREN ?
				 "unbalanced ')'" :
				 "unexpected content at end of selector");
			goto out;
		}
	}
	sel = pw_arena_alloc(a, sizeof(*sel));
	sel->root = root;
	sel->uses_global = p.uses_global;
out:
	if (err)
		*err = sel ? NULL : p.lx.err;
	if (errpos)
		*errpos = sel ? 0 : p.lx.errpos;
	return sel;
}

/* ---- evaluation and printing ----------------------------------------- */

static bool set_has(const struct node *n, const char *v)
{
	return n->nset &&
	       bsearch(&v, n->set, n->nset, sizeof(*n->set), str_cmp) != NULL;
}

static bool node_match(const struct node *n, const struct pw_labels *l)
{
	const char *v = NULL;
	size_t vl, sl;

	if (n->key)
		v = pw_labels_get(l, n->key);
	switch (n->kind) {
	case N_ALL:
	case N_GLOBAL:
		return true;
	case N_HAS:
		return v != NULL;
	case N_EQ:
		return v && !strcmp(v, n->val);
	case N_NE:
		return !v || strcmp(v, n->val);
	case N_CONTAINS:
		return v && strstr(v, n->val);
	case N_STARTS:
		return v && !strncmp(v, n->val, strlen(n->val));
	case N_ENDS:
		if (!v)
			return false;
		vl = strlen(v);
		sl = strlen(n->val);
		return vl >= sl && !memcmp(v + vl - sl, n->val, sl);
	case N_IN:
		return v && set_has(n, v);
	case N_NOTIN:
		return !v || !set_has(n, v);
	case N_NOT:
		return !node_match(n->kids[0], l);
	case N_AND:
		for (uint32_t i = 0; i < n->nkids; i++)
			if (!node_match(n->kids[i], l))
				return false;
		return true;
	case N_OR:
		for (uint32_t i = 0; i < n->nkids; i++)
			if (node_match(n->kids[i], l))
				return true;
		return false;
	}
	return false;
}

bool pw_csel_match(const struct pw_csel *s, const struct pw_labels *l)
{
	return node_match(s->root, l);
}

/* Calico quotes with '"' unless the value holds one. */
static void put_quoted(struct pw_buf *out, const char *v)
{
	char q = strchr(v, '"') ? '\'' : '"';
	pw_buf_putc(out, q);
	pw_buf_puts(out, v);
	pw_buf_putc(out, q);
}

static void node_format(const struct node *n, struct pw_buf *out)
{
	switch (n->kind) {
	case N_ALL:
		pw_buf_puts(out, "all()");
		break;
	case N_GLOBAL:
		pw_buf_puts(out, "global()");
		break;
	case N_HAS:
		pw_buf_printf(out, "has(%s)", n->key);
		break;
	case N_EQ:
	case N_NE:
	case N_CONTAINS:
	case N_STARTS:
	case N_ENDS:
		pw_buf_puts(out, n->key);
		pw_buf_puts(out, cmp_ops[n->kind]);
		put_quoted(out, n->val);
		break;
	case N_IN:
	case N_NOTIN:
		pw_buf_puts(out, n->key);
		pw_buf_puts(out, cmp_ops[n->kind]);
		pw_buf_putc(out, '{');
		for (uint32_t i = 0; i < n->nset; i++) {
			if (i)
				pw_buf_puts(out, ", ");
			put_quoted(out, n->set[i]);
		}
		pw_buf_putc(out, '}');
		break;
	case N_NOT:
		pw_buf_putc(out, '!');
		node_format(n->kids[0], out);
		break;
	case N_AND:
	case N_OR:
		pw_buf_putc(out, '(');
		for (uint32_t i = 0; i < n->nkids; i++) {
			if (i)
				pw_buf_puts(out,
					    n->kind == N_AND ? " && " : " || ");
			node_format(n->kids[i], out);
		}
		pw_buf_putc(out, ')');
		break;
	}
}

void pw_csel_format(const struct pw_csel *s, struct pw_buf *out)
{
	node_format(s->root, out);
}

bool pw_csel_is_all(const struct pw_csel *s)
{
	return s->root->kind == N_ALL;
}

bool pw_csel_is_global(const struct pw_csel *s)
{
	return s->root->kind == N_GLOBAL;
}

bool pw_csel_uses_global(const struct pw_csel *s)
{
	return s->uses_global;
}

/* A requirement every match has: the root, or a kid of a root AND, that is
   "key == 'v'" or "key in {...}". */
bool pw_csel_required(const struct pw_csel *s, const char **key,
		      const char *const **vals, uint32_t *nvals)
{
	const struct node *r = s->root;
	uint32_t n = r->kind == N_AND ? r->nkids : 1;
	for (uint32_t i = 0; i < n; i++) {
		const struct node *k = r->kind == N_AND ? r->kids[i] : r;
		if (k->kind == N_EQ) {
			*key = k->key;
			*vals = &k->val;
			*nvals = 1;
			return true;
		}
		if (k->kind == N_IN) {
			*key = k->key;
			*vals = k->set;
			*nvals = k->nset;
			return true;
		}
	}
	return false;
}
