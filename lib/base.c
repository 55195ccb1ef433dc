// SPDX-License-Identifier: Apache-2.0
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pw_arena_chunk {
	struct pw_arena_chunk *next;
	size_t size;
	max_align_t data[];
};

static void oom(void)
{
	fputs("podwall: out of memory\n", stderr);
	abort();
}

void *pw_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *pw_xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		oom();
	return p;
}

void *pw_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *pw_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(pw_xmalloc(n), s, n);
}

void pw_arena_init(struct pw_arena *a)
{
	a->head = NULL;
	a->used = a->cap = a->total = 0;
}

void pw_arena_release(struct pw_arena *a)
{
	struct pw_arena_chunk *c = a->head;
	while (c) {
		struct pw_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	pw_arena_init(a);
}

void *pw_arena_alloc(struct pw_arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	n = (n + align - 1) & ~(align - 1);
	if (!n)
		n = align;
	if (!a->head || a->cap - a->used < n) {
		size_t size = n > 65536 ? n : 65536;
		struct pw_arena_chunk *c =
			pw_xmalloc(sizeof(*c) + size);
		c->size = size;
		a->total += sizeof(*c) + size;
		if (a->head && n > 65536) {
			/* Big block: keep the current chunk open. */
			c->next = a->head->next;
			a->head->next = c;
			memset(c->data, 0, n);
			return c->data;
		}
		c->next = a->head;
		a->head = c;
		a->used = 0;
		a->cap = size;
	}
	void *p = (char *)a->head->data + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

char *pw_arena_strndup(struct pw_arena *a, const char *s, size_t n)
{
	char *p = pw_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *pw_arena_strdup(struct pw_arena *a, const char *s)
{
	return pw_arena_strndup(a, s, strlen(s));
}

char *pw_arena_printf(struct pw_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = pw_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void *pw_arena_grow(struct pw_arena *a, void *old, size_t n, size_t *cap,
		    size_t need, size_t sz)
{
	if (need <= *cap)
		return old;
	size_t ncap = *cap ? *cap * 2 : 4;
	while (ncap < need)
		ncap *= 2;
	void *p = pw_arena_alloc(a, ncap * sz);
	if (n)
		memcpy(p, old, n * sz);
	*cap = ncap;
	return p;
}

bool pw_sorted_has(const uint32_t *v, uint32_t n, uint32_t x)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == x;
}

void pw_buf_u32(struct pw_buf *b, uint32_t v)
{
	char t[12];
	int n = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		pw_buf_putc(b, t[--n]);
}

void pw_buf_init(struct pw_buf *b)
{
	b->s = NULL;
	b->len = b->cap = 0;
}

void pw_buf_release(struct pw_buf *b)
{
	free(b->s);
	pw_buf_init(b);
}

void pw_buf_reset(struct pw_buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = 0;
}

static void buf_reserve(struct pw_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t ncap = b->cap ? b->cap * 2 : 64;
	while (ncap < b->len + extra + 1)
		ncap *= 2;
	b->s = pw_xrealloc(b->s, ncap);
	b->cap = ncap;
}

void pw_buf_add(struct pw_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

void pw_buf_puts(struct pw_buf *b, const char *s)
{
	pw_buf_add(b, s, strlen(s));
}

void pw_buf_putc(struct pw_buf *b, char c)
{
	pw_buf_add(b, &c, 1);
}

char *pw_xvasprintf(const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	char *p = pw_xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

void pw_buf_vprintf(struct pw_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	buf_reserve(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void pw_buf_printf(struct pw_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pw_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void pw_diags_init(struct pw_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void pw_diags_release(struct pw_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	pw_arena_release(&d->files);
	pw_diags_init(d);
}

void pw_diags_keep_files(struct pw_diags *d, size_t from)
{
	const char *last = NULL, *kept = NULL;
	for (size_t i = from; i < d->n; i++) {
		const char *f = d->v[i].pos.file;
		if (!f)
			continue;
		if (f != last) {
			last = f;
			kept = pw_arena_strdup(&d->files, f);
		}
		d->v[i].pos.file = kept;
	}
}

void pw_diag_add(struct pw_diags *d, enum pw_severity sev, struct pw_pos pos,
		 const char *fmt, ...)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = pw_xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	va_list ap;
	va_start(ap, fmt);
	char *msg = pw_xvasprintf(fmt, ap);
	va_end(ap);
	d->v[d->n++] = (struct pw_diag){ sev, pos, msg };
	if (sev == PW_ERROR)
		d->errors++;
	else
		d->warnings++;
}

int pw_pos_cmp(const struct pw_pos *a, const struct pw_pos *b)
{
	int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->col < b->col ? -1 : a->col > b->col;
}

void pw_diag_format(const struct pw_diag *d, struct pw_buf *out)
{
	const char *sev = d->sev == PW_ERROR ? "error" : "warning";
	if (d->pos.file && d->pos.line > 0)
		pw_buf_printf(out, "%s:%d:%d: %s: %s", d->pos.file,
			      d->pos.line, d->pos.col, sev, d->msg);
	else if (d->pos.file)
		pw_buf_printf(out, "%s: %s: %s", d->pos.file, sev, d->msg);
	else
		pw_buf_printf(out, "%s: %s", sev, d->msg);
}

uint64_t pw_hash_bytes(const void *p, size_t n, uint64_t seed)
{
	/* FNV-1a, 64 bit, then a final mix. */
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

const char *pw_quote(char out[PW_QUOTE_SIZE], const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(s), shown = len, o = 0;
	if (len > PW_QUOTE_SHOWN) {
		shown = PW_QUOTE_SHOWN; /* back to the start of a character */
		while (shown > 0 && ((unsigned char)s[shown] & 0xc0) == 0x80)
			shown--;
	}
	out[o++] = '"';
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	if (shown == len) {
		out[o++] = '"';
		out[o] = 0;
		return out;
	}
	if (len < 1024)
		snprintf(out + o, PW_QUOTE_SIZE - o, "\xe2\x80\xa6\" (%zu bytes)", len);
	else if (len < (size_t)1 << 20)
		snprintf(out + o, PW_QUOTE_SIZE - o, "\xe2\x80\xa6\" (%zu KiB)",
			 (len + 512) >> 10);
	else
		snprintf(out + o, PW_QUOTE_SIZE - o, "\xe2\x80\xa6\" (%zu MiB)",
			 (len + (1 << 19)) >> 20);
	return out;
}

const char *pw_arena_quote(struct pw_arena *a, const char *s)
{
	char q[PW_QUOTE_SIZE];
	return pw_arena_strdup(a, pw_quote(q, s));
}

void pw_strmap_init(struct pw_strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void pw_strmap_release(struct pw_strmap *m)
{
	free(m->keys);
	free(m->vals);
	pw_strmap_init(m);
}

static size_t strmap_slot(const struct pw_strmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	size_t i = pw_hash_bytes(key, strlen(key), 0) & mask;
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & mask;
	return i;
}

void *pw_strmap_get(const struct pw_strmap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t i = strmap_slot(m, key);
	return m->keys[i] ? m->vals[i] : NULL;
}

void *pw_strmap_put(struct pw_strmap *m, const char *key, void *val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct pw_strmap old = *m;
		m->cap = old.cap ? old.cap * 2 : 16;
		m->keys = pw_xcalloc(m->cap, sizeof(*m->keys));
		m->vals = pw_xcalloc(m->cap, sizeof(*m->vals));
		m->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.keys[i])
				pw_strmap_put(m, old.keys[i], old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	size_t i = strmap_slot(m, key);
	void *prev = m->keys[i] ? m->vals[i] : NULL;
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
	return prev;
}

int pw_duration_parse_ms(const char *s, bool bare_seconds, int64_t *ms)
{
	int64_t total = 0;
	bool any = false;
	const char *p = s;
	while (*p) {
		if (*p == ' ' && any) {
			p++;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -1;
		int64_t v = 0;
		while (*p >= '0' && *p <= '9') {
			if (v > INT64_MAX / 10 - 9)
				return -1;
			v = v * 10 + (*p++ - '0');
		}
		int64_t unit;
		if (!*p) {
			if (!bare_seconds || any)
				return -1; /* "1h30": a number without its unit last */
			unit = 1000;
		} else if (p[0] == 'm' && p[1] == 's') {
			unit = 1;
			p += 2;
		} else {
			switch (*p++) {
			case 's': unit = 1000; break;
			case 'm': unit = 60000; break;
			case 'h': unit = 3600000; break;
			case 'd': unit = 86400000; break;
			default: return -1;
			}
		}
		if (v > (INT64_MAX - total) / unit)
			return -1;
		total += v * unit;
		any = true;
	}
	if (!any)
		return -1;
	*ms = total;
	return 0;
}

int pw_duration_parse(const char *s, int64_t *out)
{
	int64_t ms;
	if (pw_duration_parse_ms(s, true, &ms) < 0 || ms % 1000)
		return -1;
	*out = ms / 1000;
	return 0;
}
