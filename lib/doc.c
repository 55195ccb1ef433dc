// SPDX-License-Identifier: Apache-2.0
#include "doc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- sinks -------------------------------------------------------------- */

struct pw_out pw_out_file(FILE *f)
{
	return (struct pw_out){ f, NULL };
}

struct pw_out pw_out_buf(struct pw_buf *b)
{
	return (struct pw_out){ NULL, b };
}

void pw_out_add(const struct pw_out *o, const char *s, size_t n)
{
	if (o->f)
		fwrite(s, 1, n, o->f);
	else
		pw_buf_add(o->b, s, n);
}

void pw_out_puts(const struct pw_out *o, const char *s)
{
	if (o->f)
		fputs(s, o->f);
	else
		pw_buf_puts(o->b, s);
}

void pw_out_putc(const struct pw_out *o, char c)
{
	if (o->f)
		fputc(c, o->f);
	else
		pw_buf_putc(o->b, c);
}

void pw_out_printf(const struct pw_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (o->f)
		vfprintf(o->f, fmt, ap);
	else
		pw_buf_vprintf(o->b, fmt, ap);
	va_end(ap);
}

static void indent(const struct pw_out *o, int n)
{
	static const char spaces[] = "                                ";
	for (; n > 0; n -= (int)sizeof(spaces) - 1)
		pw_out_add(o, spaces, n < (int)sizeof(spaces) - 1
					      ? (size_t)n : sizeof(spaces) - 1);
}

int pw_format_parse(const char *s)
{
	static const char *const names[] = {
		[PW_FORMAT_TABLE] = "table", [PW_FORMAT_CSV] = "csv",
		[PW_FORMAT_JSON] = "json",   [PW_FORMAT_YAML] = "yaml",
		[PW_FORMAT_MD] = "md",
	};
	if (!s)
		return PW_FORMAT_TABLE;
	for (size_t i = 0; i < PW_ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

/* ---- the tree ----------------------------------------------------------- */

static struct pw_doc *mk(enum pw_doc_type t)
{
	struct pw_doc *d = pw_xcalloc(1, sizeof(*d));
	d->type = t;
	return d;
}

struct pw_doc *pw_doc_obj(void) { return mk(PW_DOC_OBJ); }
struct pw_doc *pw_doc_arr(void) { return mk(PW_DOC_ARR); }
struct pw_doc *pw_doc_null(void) { return mk(PW_DOC_NULL); }

struct pw_doc *pw_doc_str(const char *s)
{
	struct pw_doc *d = mk(PW_DOC_STR);
	d->s = pw_xstrdup(s ? s : "");
	return d;
}

struct pw_doc *pw_doc_int(long long v)
{
	struct pw_doc *d = mk(PW_DOC_INT);
	d->i = v;
	return d;
}

struct pw_doc *pw_doc_bool(bool v)
{
	struct pw_doc *d = mk(PW_DOC_BOOL);
	d->i = v;
	return d;
}

struct pw_doc *pw_doc_add(struct pw_doc *p, const char *key, struct pw_doc *v)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4;
		p->kids = pw_xrealloc(p->kids, p->cap * sizeof(*p->kids));
		if (p->type == PW_DOC_OBJ)
			p->keys = pw_xrealloc(p->keys, p->cap * sizeof(*p->keys));
	}
	if (p->type == PW_DOC_OBJ)
		p->keys[p->n] = pw_xstrdup(key);
	p->kids[p->n++] = v;
	return v;
}

void pw_doc_free(struct pw_doc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		pw_doc_free(d->kids[i]);
		if (d->keys)
			free(d->keys[i]);
	}
	free(d->kids);
	free(d->keys);
	free(d->s);
	free(d);
}

/* ---- scalars, JSON ------------------------------------------------------ */

/* A JSON string (also a YAML string) into a buffer. */
static void json_str_buf(const char *str, struct pw_buf *out)
{
	pw_buf_putc(out, '"');
	const unsigned char *p = (const unsigned char *)str, *run = p;
	for (; *p; p++) {
		if (*p != '"' && *p != '\\' && *p >= 0x20)
			continue;
		pw_buf_add(out, (const char *)run, (size_t)(p - run));
		run = p + 1;
		if (*p == '"' || *p == '\\') {
			pw_buf_putc(out, '\\');
			pw_buf_putc(out, (char)*p);
		} else if (*p == '\n') {
			pw_buf_puts(out, "\\n");
		} else if (*p == '\t') {
			pw_buf_puts(out, "\\t");
		} else {
			pw_buf_printf(out, "\\u%04x", *p);
		}
	}
	pw_buf_add(out, (const char *)run, (size_t)(p - run));
	pw_buf_putc(out, '"');
}

static void json_str(const char *s, const struct pw_out *o)
{
	if (o->b) {
		json_str_buf(s, o->b);
		return;
	}
	const unsigned char *p = (const unsigned char *)s;
	while (*p && *p != '"' && *p != '\\' && *p >= 0x20)
		p++;
	if (!*p) { /* nothing to escape */
		pw_out_putc(o, '"');
		pw_out_add(o, s, (size_t)(p - (const unsigned char *)s));
		pw_out_putc(o, '"');
		return;
	}
	struct pw_buf b;
	pw_buf_init(&b);
	json_str_buf(s, &b);
	pw_out_add(o, b.s, b.len);
	pw_buf_release(&b);
}

/* Plain YAML scalars are safe only for simple strings. */
static bool yaml_plain_ok(const char *s)
{
	static const char *const reserved[] = { "", "null", "Null", "NULL",
		"~", "true", "false", "True", "False", "yes", "no", "on", "off",
		"y", "n", "Yes", "No", "On", "Off" };
	for (size_t i = 0; i < PW_ARRAY_SIZE(reserved); i++)
		if (!strcmp(s, reserved[i]))
			return false;
	if (strchr("-?:,[]{}#&*!|>'\"%@` 0123456789.+", s[0]))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || strchr(":#", *p))
			return false;
	return s[strlen(s) - 1] != ' ';
}

static void yaml_str(const char *s, const struct pw_out *o)
{
	if (yaml_plain_ok(s))
		pw_out_puts(o, s);
	else
		json_str(s, o); /* a JSON string is a YAML string */
}

/* A node that is not a collection; false if it is one. */
static bool scalar(const struct pw_doc *d, const struct pw_out *o, bool yaml)
{
	switch (d->type) {
	case PW_DOC_NULL:
		pw_out_puts(o, "null");
		return true;
	case PW_DOC_BOOL:
		pw_out_puts(o, d->i ? "true" : "false");
		return true;
	case PW_DOC_INT:
		pw_out_printf(o, "%lld", d->i);
		return true;
	case PW_DOC_STR:
		if (yaml)
			yaml_str(d->s, o);
		else
			json_str(d->s, o);
		return true;
	case PW_DOC_ARR:
	case PW_DOC_OBJ:
		break;
	}
	return false;
}

static void json(const struct pw_doc *d, const struct pw_out *o, int ind)
{
	if (scalar(d, o, false))
		return;
	char open = d->type == PW_DOC_ARR ? '[' : '{';
	char close = d->type == PW_DOC_ARR ? ']' : '}';
	if (!d->n) {
		pw_out_putc(o, open);
		pw_out_putc(o, close);
		return;
	}
	pw_out_putc(o, open);
	pw_out_putc(o, '\n');
	for (size_t i = 0; i < d->n; i++) {
		indent(o, ind + 2);
		if (d->type == PW_DOC_OBJ) {
			json_str(d->keys[i], o);
			pw_out_puts(o, ": ");
		}
		json(d->kids[i], o, ind + 2);
		pw_out_puts(o, i + 1 < d->n ? ",\n" : "\n");
	}
	indent(o, ind);
	pw_out_putc(o, close);
}

/* ---- YAML --------------------------------------------------------------- */

static bool is_coll(const struct pw_doc *d)
{
	return (d->type == PW_DOC_ARR || d->type == PW_DOC_OBJ) && d->n;
}

static void yaml(const struct pw_doc *d, const struct pw_out *o, int ind,
		 bool inline_first)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct pw_doc *k = d->kids[i];
		if (!(i == 0 && inline_first))
			indent(o, ind);
		if (d->type == PW_DOC_ARR) {
			pw_out_puts(o, "- ");
			if (is_coll(k)) {
				yaml(k, o, ind + 2, true);
				continue;
			}
		} else {
			yaml_str(d->keys[i], o);
			pw_out_putc(o, ':');
			if (is_coll(k)) {
				pw_out_putc(o, '\n');
				yaml(k, o, k->type == PW_DOC_ARR ? ind : ind + 2,
				     false);
				continue;
			}
			pw_out_putc(o, ' ');
		}
		if (!scalar(k, o, true)) /* an empty collection */
			pw_out_puts(o, k->type == PW_DOC_ARR ? "[]" : "{}");
		pw_out_putc(o, '\n');
	}
}

void pw_doc_write(const struct pw_doc *d, enum pw_format fmt,
		  const struct pw_out *o)
{
	if (fmt == PW_FORMAT_YAML && is_coll(d)) {
		yaml(d, o, 0, false); /* ends in a newline */
		return;
	}
	if (fmt != PW_FORMAT_YAML)
		json(d, o, 0);
	else
		scalar(d, o, true); /* an empty collection: nothing */
	pw_out_putc(o, '\n');
}

/* ---- streams ------------------------------------------------------------ */

void pw_doc_stream_begin(struct pw_doc_stream *s, enum pw_format fmt,
			 const struct pw_out *o, const struct pw_doc *head,
			 const char *key)
{
	s->o = *o;
	s->yaml = fmt == PW_FORMAT_YAML;
	s->n = 0;
	pw_buf_init(&s->line);
	if (s->yaml) {
		yaml(head, o, 0, false);
		yaml_str(key, o);
		pw_out_putc(o, ':');
		return;
	}
	pw_out_puts(o, "{\n");
	for (size_t i = 0; i < head->n; i++) {
		pw_out_puts(o, "  ");
		json_str(head->keys[i], o);
		pw_out_puts(o, ": ");
		json(head->kids[i], o, 2);
		pw_out_puts(o, ",\n");
	}
	pw_out_puts(o, "  ");
	json_str(key, o);
	pw_out_puts(o, ": [");
}

void pw_doc_stream_end(struct pw_doc_stream *s)
{
	pw_buf_release(&s->line);
	if (s->yaml)
		pw_out_puts(&s->o, s->n ? "" : " []\n");
	else
		pw_out_puts(&s->o, s->n ? "\n  ]\n}\n" : "]\n}\n");
}

void pw_doc_stream_scalar(const struct pw_doc_stream *s, const char *str,
			  struct pw_buf *out)
{
	pw_buf_reset(out);
	if (s->yaml && yaml_plain_ok(str))
		pw_buf_puts(out, str);
	else
		json_str_buf(str, out);
}

void pw_doc_stream_flat(struct pw_doc_stream *s, const char *const *keys,
			const char *const *vals, size_t n)
{
	struct pw_buf *b = &s->line;
	pw_buf_reset(b);
	if (s->yaml) {
		pw_buf_puts(b, s->n ? "- " : "\n- ");
		for (size_t i = 0; i < n; i++) {
			if (i)
				pw_buf_puts(b, "  ");
			pw_buf_puts(b, keys[i]);
			pw_buf_puts(b, ": ");
			pw_buf_puts(b, vals[i]);
			pw_buf_putc(b, '\n');
		}
	} else {
		pw_buf_puts(b, s->n ? ",\n    {\n" : "\n    {\n");
		for (size_t i = 0; i < n; i++) {
			pw_buf_puts(b, "      \"");
			pw_buf_puts(b, keys[i]);
			pw_buf_puts(b, "\": ");
			pw_buf_puts(b, vals[i]);
			pw_buf_puts(b, i + 1 < n ? ",\n" : "\n");
		}
		pw_buf_puts(b, "    }");
	}
	pw_out_add(&s->o, b->s, b->len);
	s->n++;
}
