/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing outputs: where the bytes go, the output formats, and a small
 * document tree printed as JSON or YAML.
 *
 * A struct pw_out is a FILE or a growing buffer (exactly one is set): the
 * command line writes to stdout, a server into a buffer, and both get the
 * same bytes.  The library never chooses a FILE itself; a caller that wants
 * large outputs buffered sets the FILE's buffering (setvbuf).
 *
 * A document is a tree of nodes that own their children; free the root.
 * Outputs too large to hold as a tree are streamed (struct pw_doc_stream):
 * the bytes are those the whole tree would print.
 */
#ifndef PW_DOC_H
#define PW_DOC_H

#include <stdio.h>

#include "base.h"

struct pw_out {
	FILE *f;
	struct pw_buf *b;
};
struct pw_out pw_out_file(FILE *f);
struct pw_out pw_out_buf(struct pw_buf *b);
void pw_out_add(const struct pw_out *o, const char *s, size_t n);
void pw_out_puts(const struct pw_out *o, const char *s);
void pw_out_putc(const struct pw_out *o, char c);
void pw_out_printf(const struct pw_out *o, const char *fmt, ...) PW_PRINTF(2, 3);

/* -o values; not every command takes every one. */
enum pw_format {
	PW_FORMAT_TABLE,
	PW_FORMAT_CSV,
	PW_FORMAT_JSON,
	PW_FORMAT_YAML,
	PW_FORMAT_MD,
};
/* "table", "csv", "json", "yaml", "md" (NULL: table); -1 for another. */
int pw_format_parse(const char *s);

enum pw_doc_type {
	PW_DOC_NULL,
	PW_DOC_BOOL,
	PW_DOC_INT,
	PW_DOC_STR,
	PW_DOC_ARR,
	PW_DOC_OBJ,
};

struct pw_doc {
	enum pw_doc_type type;
	long long i;
	char *s;
	char **keys; /* PW_DOC_OBJ */
	struct pw_doc **kids;
	size_t n, cap;
};

struct pw_doc *pw_doc_obj(void);
struct pw_doc *pw_doc_arr(void);
struct pw_doc *pw_doc_str(const char *s);
struct pw_doc *pw_doc_int(long long v);
struct pw_doc *pw_doc_bool(bool v);
struct pw_doc *pw_doc_null(void);
/* Adds v to an object (under key) or array (key NULL); returns v. */
struct pw_doc *pw_doc_add(struct pw_doc *parent, const char *key,
			  struct pw_doc *v);
void pw_doc_free(struct pw_doc *d);
/* YAML for PW_FORMAT_YAML, JSON for any other format. */
void pw_doc_write(const struct pw_doc *d, enum pw_format fmt,
		  const struct pw_out *o);

/*
 * A document too large to hold: an object whose members (head, printed
 * whole) end in one array (key), whose items are printed one at a time
 * (pw_doc_stream_flat).
 */
struct pw_doc_stream {
	struct pw_out o;
	bool yaml;
	size_t n;
	struct pw_buf line;
};
void pw_doc_stream_begin(struct pw_doc_stream *s, enum pw_format fmt,
			 const struct pw_out *o, const struct pw_doc *head,
			 const char *key);
void pw_doc_stream_end(struct pw_doc_stream *s);
/* A string as a scalar of the stream's syntax (quoted where needed). */
void pw_doc_stream_scalar(const struct pw_doc_stream *s, const char *str,
			  struct pw_buf *out);
/* An item that is an object of n string members, keys plain and values
   already written by pw_doc_stream_scalar: the fast path for large
   outputs. */
void pw_doc_stream_flat(struct pw_doc_stream *s, const char *const *keys,
			const char *const *vals, size_t n);

#endif
