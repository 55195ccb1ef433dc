// SPDX-License-Identifier: Apache-2.0
#include "doc.h"

#include <stdlib.h>
#include <string.h>

static struct doc *mk(enum doc_type t)
{
	struct doc *d = pw_xcalloc(1, sizeof(*d));
	d->type = t;
	return d;
}

struct doc *doc_obj(void) { return mk(DOC_OBJ); }
struct doc *doc_arr(void) { return mk(DOC_ARR); }
struct doc *doc_null(void) { return mk(DOC_NULL); }

struct doc *doc_str(const char *s)
{
	struct doc *d = mk(DOC_STR);
	d->s = pw_xstrdup(s ? s : "");
	return d;
}

struct doc *doc_int(long long v)
{
	struct doc *d = mk(DOC_INT);
	d->i = v;
	return d;
}

struct doc *doc_bool(bool v)
{
	struct doc *d = mk(DOC_BOOL);
	d->i = v;
	return d;
}

struct doc *doc_add(struct doc *p, const char *key, struct doc *v)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4;
		p->kids = pw_xrealloc(p->kids, p->cap * sizeof(*p->kids));
		if (p->type == DOC_OBJ)
			p->keys = pw_xrealloc(p->keys, p->cap * sizeof(*p->keys));
	}
	if (p->type == DOC_OBJ)
		p->keys[p->n] = pw_xstrdup(key);
	p->kids[p->n++] = v;
	return v;
}

void doc_free(struct doc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		doc_free(d->kids[i]);
		if (d->keys)
			free(d->keys[i]);
	}
	free(d->kids);
	free(d->keys);
	free(d->s);
	free(d);
}

static void json_str(const char *s, FILE *f)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json(const struct doc *d, FILE *f, int ind)
{
	switch (d->type) {
	case DOC_NULL:
		fputs("null", f);
		return;
	case DOC_BOOL:
		fputs(d->i ? "true" : "false", f);
		return;
	case DOC_INT:
		fprintf(f, "%lld", d->i);
		return;
	case DOC_STR:
		json_str(d->s, f);
		return;
	case DOC_ARR:
	case DOC_OBJ:
		break;
	}
	char open = d->type == DOC_ARR ? '[' : '{';
	char close = d->type == DOC_ARR ? ']' : '}';
	if (!d->n) {
		fprintf(f, "%c%c", open, close);
		return;
	}
	fprintf(f, "%c\n", open);
	for (size_t i = 0; i < d->n; i++) {
		fprintf(f, "%*s", ind + 2, "");
		if (d->type == DOC_OBJ) {
			json_str(d->keys[i], f);
			fputs(": ", f);
		}
		json(d->kids[i], f, ind + 2);
		fputs(i + 1 < d->n ? ",\n" : "\n", f);
	}
	fprintf(f, "%*s%c", ind, "", close);
}

void doc_print_json(const struct doc *d, FILE *f)
{
	json(d, f, 0);
	fputc('\n', f);
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

static void yaml_scalar(const struct doc *d, FILE *f)
{
	switch (d->type) {
	case DOC_NULL:
		fputs("null", f);
		break;
	case DOC_BOOL:
		fputs(d->i ? "true" : "false", f);
		break;
	case DOC_INT:
		fprintf(f, "%lld", d->i);
		break;
	case DOC_STR:
		if (yaml_plain_ok(d->s))
			fputs(d->s, f);
		else
			json_str(d->s, f); /* a JSON string is a YAML string */
		break;
	default:
		break;
	}
}

static bool is_coll(const struct doc *d)
{
	return (d->type == DOC_ARR || d->type == DOC_OBJ) && d->n;
}

static void yaml(const struct doc *d, FILE *f, int ind, bool inline_first)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct doc *k = d->kids[i];
		if (!(i == 0 && inline_first))
			fprintf(f, "%*s", ind, "");
		if (d->type == DOC_ARR) {
			fputs("- ", f);
			if (is_coll(k)) {
				yaml(k, f, ind + 2, true);
				continue;
			}
		} else {
			if (yaml_plain_ok(d->keys[i]))
				fputs(d->keys[i], f);
			else
				json_str(d->keys[i], f);
			fputc(':', f);
			if (is_coll(k)) {
				fputc('\n', f);
				yaml(k, f, k->type == DOC_ARR ? ind : ind + 2,
				     false);
				continue;
			}
			fputc(' ', f);
		}
		if (k->type == DOC_ARR || k->type == DOC_OBJ)
			fputs(k->type == DOC_ARR ? "[]" : "{}", f);
		else
			yaml_scalar(k, f);
		fputc('\n', f);
	}
}

void doc_print_yaml(const struct doc *d, FILE *f)
{
	if (is_coll(d))
		yaml(d, f, 0, false);
	else {
		yaml_scalar(d, f);
		fputc('\n', f);
	}
}

void doc_print(const struct doc *d, const char *fmt, FILE *f)
{
	if (!strcmp(fmt, "yaml"))
		doc_print_yaml(d, f);
	else
		doc_print_json(d, f);
}

void doc_stream_begin(struct doc_stream *s, const char *fmt, FILE *f,
		      const struct doc *head, const char *key)
{
	s->f = f;
	s->yaml = !strcmp(fmt, "yaml");
	s->n = 0;
	pw_buf_init(&s->line);
	if (s->yaml) {
		yaml(head, f, 0, false);
		if (yaml_plain_ok(key))
			fputs(key, f);
		else
			json_str(key, f);
		fputc(':', f);
		return;
	}
	fputs("{\n", f);
	for (size_t i = 0; i < head->n; i++) {
		fputs("  ", f);
		json_str(head->keys[i], f);
		fputs(": ", f);
		json(head->kids[i], f, 2);
		fputs(",\n", f);
	}
	fputs("  ", f);
	json_str(key, f);
	fputs(": [", f);
}

void doc_stream_item(struct doc_stream *s, const struct doc *item)
{
	if (s->yaml) {
		fputs(s->n ? "- " : "\n- ", s->f);
		if (is_coll(item)) {
			yaml(item, s->f, 2, true);
		} else {
			if (item->type == DOC_ARR || item->type == DOC_OBJ)
				fputs(item->type == DOC_ARR ? "[]" : "{}", s->f);
			else
				yaml_scalar(item, s->f);
			fputc('\n', s->f);
		}
	} else {
		fputs(s->n ? ",\n    " : "\n    ", s->f);
		json(item, s->f, 4);
	}
	s->n++;
}

void doc_stream_end(struct doc_stream *s)
{
	pw_buf_release(&s->line);
	if (s->yaml)
		fputs(s->n ? "" : " []\n", s->f);
	else
		fputs(s->n ? "\n  ]\n}\n" : "]\n}\n", s->f);
}

void doc_stream_scalar(const struct doc_stream *s, const char *str,
		       struct pw_buf *out)
{
	pw_buf_reset(out);
	if (s->yaml && yaml_plain_ok(str)) {
		pw_buf_puts(out, str);
		return;
	}
	/* a JSON string is a YAML string */
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

void doc_stream_flat(struct doc_stream *s, const char *const *keys,
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
	fwrite(b->s, 1, b->len, s->f);
	s->n++;
}
