/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Calico selectors: the expression language of projectcalico.org/v3
 * `selector`, `namespaceSelector`, `serviceAccountSelector`, `notSelector`
 * and friends, as libcalico-go (lib/selector/parser, lib/selector/tokenizer)
 * defines it.  Behaviour follows libcalico-go, including its quirks; the
 * conformance tables in shared/conformance/calico-selector*.tsv pin it down.
 *
 * Grammar (whitespace is ' ' and '\t' only, allowed between any two tokens):
 *
 *   selector  := [ or-expr ]                  empty or blank means all()
 *   or-expr   := and-expr { "||" and-expr }
 *   and-expr  := operation { "&&" operation }
 *   operation := { "!" } primary
 *   primary   := "all(" ")" | "global(" ")" | "has(" label ")"
 *              | label "==" string | label "!=" string
 *              | label "contains" string
 *              | label ( "starts with" | "startswith" ) string
 *              | label ( "ends with" | "endswith" ) string
 *              | label "in" set | label ( "not in" | "notin" ) set
 *              | "(" or-expr ")"
 *   set       := "{" [ string { "," string } [ "," ] ] "}"
 *   label     := [A-Za-z0-9_./-]{1,512}
 *   string    := '"' any-but-'"' '"' | "'" any-but-"'" "'"  (no escapes)
 *
 * "all(", "global(" and "has(" are one word each: "all ()" is the label
 * "all" followed by a parenthesis, an error.  The word after a label is
 * always read as an operator and a word anywhere else as a label, so every
 * keyword is also a valid label name ("contains contains 'x'",
 * "has(has)", "in in {'a'}").
 *
 * Precedence, highest first:
 *   1. "!"  negates the single operation after it (a comparison, has(),
 *           all(), global() or a parenthesised group): "!a == 'x'" is
 *           "!(a == 'x')", and "!a == 'x' && has(b)" is
 *           "(!(a == 'x')) && has(b)".
 *           A run of "!" collapses to its parity: "!!has(a)" is "has(a)".
 *   2. "&&"
 *   3. "||"
 *
 * Semantics against a label set (absent = the key is not in the set):
 *   all(), global()       always true (global() only marks the selector)
 *   has(k)                k present
 *   k == "v"              k present and equal to v
 *   k != "v"              k absent, or present and not equal to v
 *   k in {..}             k present and its value in the set
 *   k not in {..}         k absent, or its value not in the set
 *   k contains "s"        k present and s a substring of its value
 *   k starts with "s"     k present and its value begins with s
 *   k ends with "s"       k present and its value ends with s
 *
 * Canonical form (pw_csel_format), libcalico-go's String():
 *   every && and || group is parenthesised, even at the top level:
 *   "a == 'x' && has(b)" prints as '(a == "x" && has(b))';
 *   parentheses around a single operation disappear; "!" is printed with
 *   no space; a value is quoted with '"' unless it contains a '"', then
 *   with "'" (a value holding both kinds prints in a form that does not
 *   parse back, as in Calico); set members are sorted (bytewise) and
 *   de-duplicated; an empty selector prints as "all()".
 *
 * Limits (not in Calico, there to keep hostile input cheap): at most
 * PW_CSEL_MAX_DEPTH nested parentheses and PW_CSEL_MAX_LEN bytes of text.
 * The 512-byte label limit is Calico's own.
 *
 * Ownership: a parsed selector and all its strings live in the arena given
 * to pw_csel_parse() and die with it; the text is copied, not referenced.
 * A parsed selector is immutable, so it may be matched from several threads.
 */
#ifndef PW_CALSEL_H
#define PW_CALSEL_H

#include "base.h"
#include "labels.h"

#define PW_CSEL_MAX_DEPTH 128
#define PW_CSEL_MAX_LEN (1u << 20)
#define PW_CSEL_MAX_LABEL 512

struct pw_csel; /* opaque, allocated in an arena */

/*
 * Parse text (a NUL-terminated string; NULL counts as empty).  On error
 * returns NULL, *err = static message, *errpos = byte offset of the problem
 * (strlen(text) for an unexpected end).  err and errpos may be NULL.  An
 * empty or all-blank selector equals all().
 */
struct pw_csel *pw_csel_parse(struct pw_arena *a, const char *text,
			      const char **err, size_t *errpos) PW_WARN_UNUSED;

bool pw_csel_match(const struct pw_csel *s, const struct pw_labels *l);

/* Calico's canonical string (as calico-selectors-canonical.tsv expects),
   appended to out. */
void pw_csel_format(const struct pw_csel *s, struct pw_buf *out);

/*
 * is_all: the selector is exactly all() (or empty, or "(all())", "!!all()":
 * whatever prints as "all()").  is_global: exactly global(), likewise.
 * uses_global: global() appears anywhere, even negated.
 */
bool pw_csel_is_all(const struct pw_csel *s);
bool pw_csel_is_global(const struct pw_csel *s);
bool pw_csel_uses_global(const struct pw_csel *s);
/* A label every match must carry: key with one of vals (for indexes).
   false when the selector has no such top-level requirement. */
bool pw_csel_required(const struct pw_csel *s, const char **key,
		      const char *const **vals, uint32_t *nvals);

/*
 * Tokenizer, for the tokenizer conformance table: appends the token stream
 * to out as calico-selector-tokens.tsv writes it, e.g.
 *   LABEL("a") NOTIN LBRACE STRINGLITERAL("x") RBRACE AND HAS("b") EOF
 * Kinds: LABEL STRINGLITERAL HAS (with a value) and LBRACE RBRACE COMMA EQ
 * NE IN NOTIN NOT CONTAINS STARTSWITH ENDSWITH ALL GLOBAL LPAREN RPAREN AND
 * OR EOF.  In a value, '"' and '\' are escaped with '\' and bytes below
 * 0x20 or 0x7f are written as \xNN.  Returns 0, or -1 on a tokenizer error
 * (out is then left as it was).  No parsing happens: "b in c" tokenizes.
 */
int pw_csel_tokenize(const char *text, struct pw_buf *out) PW_WARN_UNUSED;

#endif
