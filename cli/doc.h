/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small document tree for -o json and -o yaml: commands build one tree
 * and print it in either syntax.  Nodes own their children; free the root.
 */
#ifndef PW_CLI_DOC_H
#define PW_CLI_DOC_H

#include <stdio.h>

#include "../lib/base.h"

enum doc_type { DOC_NULL, DOC_BOOL, DOC_INT, DOC_STR, DOC_ARR, DOC_OBJ };

struct doc {
	enum doc_type type;
	long long i;
	char *s;
	char **keys; /* DOC_OBJ */
	struct doc **kids;
	size_t n, cap;
};

struct doc *doc_obj(void);
struct doc *doc_arr(void);
struct doc *doc_str(const char *s);
struct doc *doc_int(long long v);
struct doc *doc_bool(bool v);
struct doc *doc_null(void);
/* Adds v to an object (under key) or array (key NULL); returns v. */
struct doc *doc_add(struct doc *parent, const char *key, struct doc *v);
void doc_free(struct doc *d);
void doc_print_json(const struct doc *d, FILE *f);
void doc_print_yaml(const struct doc *d, FILE *f);
/* By -o value: "json" or "yaml". */
void doc_print(const struct doc *d, const char *fmt, FILE *f);

/*
 * A document too large to hold: an object whose members (head, printed
 * whole) end in one array (key), whose items are printed one at a time.
 * The bytes are those doc_print gives for the whole tree.
 */
struct doc_stream {
	FILE *f;
	bool yaml;
	size_t n;
	struct pw_buf line;
};
void doc_stream_begin(struct doc_stream *s, const char *fmt, FILE *f,
		      const struct doc *head, const char *key);
void doc_stream_item(struct doc_stream *s, const struct doc *item);
void doc_stream_end(struct doc_stream *s);
/* A string as a scalar of the stream's syntax (quoted where needed). */
void doc_stream_scalar(const struct doc_stream *s, const char *str,
		       struct pw_buf *out);
/* An item that is an object of n string members, keys plain and values
   already written by doc_stream_scalar: the fast path for large outputs. */
void doc_stream_flat(struct doc_stream *s, const char *const *keys,
		     const char *const *vals, size_t n);

#endif
