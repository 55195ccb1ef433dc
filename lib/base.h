/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Base utilities shared by every part of libpodwall.
 *
 * Arena: every object of a loaded cluster (strings, arrays, policies) is
 * allocated from one arena and released with it, so a reload frees one
 * generation at once.  Arena memory is never freed piecemeal.
 *
 * Diagnostics: the library never prints.  Parse and validation problems are
 * appended to a struct pw_diags (file, line, column, message) and the caller
 * decides how to show them.  Lines and columns are 1-based.
 */
#ifndef PW_BASE_H
#define PW_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdbool.h>

#define PW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PW_WARN_UNUSED __attribute__((warn_unused_result))
#define PW_PRINTF(f, a) __attribute__((format(printf, f, a)))

struct pw_arena_chunk;
struct pw_arena {
	struct pw_arena_chunk *head;
	size_t used, cap;
	size_t total; /* bytes taken from the heap */
};

void pw_arena_init(struct pw_arena *a);
void pw_arena_release(struct pw_arena *a);
/* Zeroed memory; aborts the process on allocation failure. */
void *pw_arena_alloc(struct pw_arena *a, size_t n);
char *pw_arena_strdup(struct pw_arena *a, const char *s);
char *pw_arena_strndup(struct pw_arena *a, const char *s, size_t n);
char *pw_arena_printf(struct pw_arena *a, const char *fmt, ...) PW_PRINTF(2, 3);
/*
 * Grow an arena-backed array: returns a copy of 'old' (n elements of size
 * 'sz') in a block with room for at least need elements; *cap is updated.
 */
void *pw_arena_grow(struct pw_arena *a, void *old, size_t n, size_t *cap,
		    size_t need, size_t sz);
#define PW_PUSH(arena, arr, n, cap)                                         \
	((arr) = pw_arena_grow((arena), (arr), (n), &(cap), (n) + 1,        \
			       sizeof(*(arr))),                             \
	 &(arr)[(n)++])

/* Heap helpers for short-lived buffers: abort on OOM. */
void *pw_xmalloc(size_t n);
void *pw_xcalloc(size_t n, size_t sz);
void *pw_xrealloc(void *p, size_t n);
char *pw_xstrdup(const char *s);
/* vsnprintf into a new heap string */
char *pw_xvasprintf(const char *fmt, va_list ap);

/*
 * User input quoted for a message, in one way everywhere: "value", with ",
 * \ and control characters escaped, and a value longer than
 * PW_QUOTE_SHOWN bytes cut at a character with its size given:
 * "aaaa…" (1 MiB).  out holds PW_QUOTE_SIZE bytes; returns out.
 */
#define PW_QUOTE_SHOWN 64
#define PW_QUOTE_SIZE (PW_QUOTE_SHOWN * 4 + 32)
const char *pw_quote(char out[PW_QUOTE_SIZE], const char *s);
/* The same, in the arena. */
const char *pw_arena_quote(struct pw_arena *a, const char *s);

/* A growable string on the heap. */
struct pw_buf {
	char *s;
	size_t len, cap;
};
void pw_buf_init(struct pw_buf *b);
void pw_buf_release(struct pw_buf *b);
void pw_buf_reset(struct pw_buf *b);
void pw_buf_add(struct pw_buf *b, const char *s, size_t n);
void pw_buf_puts(struct pw_buf *b, const char *s);
void pw_buf_putc(struct pw_buf *b, char c);
void pw_buf_printf(struct pw_buf *b, const char *fmt, ...) PW_PRINTF(2, 3);
void pw_buf_vprintf(struct pw_buf *b, const char *fmt, va_list ap)
	PW_PRINTF(2, 0);
/* Is x in the sorted array v[0..n)? */
bool pw_sorted_has(const uint32_t *v, uint32_t n, uint32_t x);
/* v in decimal (for keys built often: no printf) */
void pw_buf_u32(struct pw_buf *b, uint32_t v);

/* Source position of an object or field in an input file. */
struct pw_pos {
	const char *file; /* arena string; NULL when unknown */
	int line, col;
};

enum pw_severity { PW_ERROR, PW_WARNING };
struct pw_diag {
	enum pw_severity sev;
	struct pw_pos pos;
	char *msg; /* heap */
};
struct pw_diags {
	struct pw_diag *v;
	size_t n, cap;
	size_t errors, warnings;
	struct pw_arena files; /* file names kept by pw_diags_keep_files() */
};
void pw_diags_init(struct pw_diags *d);
void pw_diags_release(struct pw_diags *d);
void pw_diag_add(struct pw_diags *d, enum pw_severity sev, struct pw_pos pos,
		 const char *fmt, ...) PW_PRINTF(4, 5);
#define pw_error(d, pos, ...) pw_diag_add((d), PW_ERROR, (pos), __VA_ARGS__)
#define pw_warn(d, pos, ...) pw_diag_add((d), PW_WARNING, (pos), __VA_ARGS__)
/* Copy the file names of diagnostics from..n into d itself, so that they
   outlive the arena they pointed into (a cluster thrown away). */
void pw_diags_keep_files(struct pw_diags *d, size_t from);
/* Order of positions: by file name, line, column. */
int pw_pos_cmp(const struct pw_pos *a, const struct pw_pos *b);
/* "FILE:LINE:COL: error: MSG" */
void pw_diag_format(const struct pw_diag *d, struct pw_buf *out);

/* A duration: numbers with units ms, s, m, h, d ("500ms", "90s", "1h30m",
   "1h 2m 3s": Go's, Prometheus' and Calico's forms); a number alone is
   seconds when bare_seconds, else malformed -> 0 with milliseconds in
   *ms, or -1. */
int pw_duration_parse_ms(const char *s, bool bare_seconds, int64_t *ms);
/* The same in whole seconds ("500ms" is malformed). */
int pw_duration_parse(const char *s, int64_t *out);

/* String hash map (keys are not copied: they must outlive the map). */
struct pw_strmap {
	const char **keys;
	void **vals;
	size_t n, cap; /* cap is a power of two or 0 */
};
void pw_strmap_init(struct pw_strmap *m);
void pw_strmap_release(struct pw_strmap *m);
void *pw_strmap_get(const struct pw_strmap *m, const char *key);
/* Returns the previous value or NULL. */
void *pw_strmap_put(struct pw_strmap *m, const char *key, void *val);
uint64_t pw_hash_bytes(const void *p, size_t n, uint64_t seed);

#endif
