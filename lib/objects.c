// SPDX-License-Identifier: Apache-2.0
/* Objects out of manifests (lib/objects.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "objects.h"

void pw_objects_init(struct pw_objects *o)
{
	memset(o, 0, sizeof(*o));
	pw_arena_init(&o->files);
}

void pw_objects_release(struct pw_objects *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].group);
		free(o->v[i].kind);
		free(o->v[i].ns);
		free(o->v[i].name);
	}
	free(o->v);
	pw_arena_release(&o->files);
	memset(o, 0, sizeof(*o));
}

static bool collect_key(void *arg, uint32_t input, const char *key)
{
	struct pw_buf *b = arg;
	if (b->len)
		pw_buf_putc(b, '\n');
	pw_buf_puts(b, key);
	return true;
}

/* Add the object of key "group/Kind/ns/name". */
static void add(struct pw_objects *o, const char *key, const unsigned char *bytes,
		size_t len)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->v = pw_xrealloc(o->v, o->cap * sizeof(*o->v));
	}
	struct pw_object *ob = &o->v[o->n++];
	memset(ob, 0, sizeof(*ob));
	ob->key = pw_xstrdup(key);
	char *parts = pw_xstrdup(key);
	char *g = parts, *k = strchr(g, '/'), *nsp = k ? strchr(k + 1, '/') : NULL;
	char *nm = nsp ? strchr(nsp + 1, '/') : NULL;
	if (nm) {
		*k++ = 0;
		*nsp++ = 0;
		*nm++ = 0;
		ob->group = pw_xstrdup(g);
		ob->kind = pw_xstrdup(k);
		ob->ns = pw_xstrdup(nsp);
		ob->name = pw_xstrdup(nm);
	}
	free(parts);
	ob->bytes = bytes;
	ob->len = len;
}

int pw_objects_split(struct pw_objects *o, const char *file, const char *ns,
		     const unsigned char *buf, size_t len, struct pw_diags *d)
{
	struct pw_span *sp;
	size_t nspans = pw_split_documents(buf, len, &sp);
	int rc = 0;
	for (size_t i = 0; i < nspans; i++) {
		struct pw_cluster s;
		struct pw_buf keys;
		pw_cluster_init(&s);
		pw_buf_init(&keys);
		s.apply_ns = ns;
		s.admit = collect_key;
		s.admit_arg = &keys;
		size_t from = d->n, errors = d->errors;
		pw_cluster_load_buffer(&s, file, buf + sp[i].start, sp[i].end - sp[i].start, d);
		pw_diags_keep_files(d, from);
		/* positions in the whole stream, not in the document alone */
		int lines = 0;
		for (size_t x = 0; x < sp[i].start; x++)
			lines += buf[x] == '\n';
		for (size_t x = from; x < d->n; x++)
			if (d->v[x].pos.line > 0)
				d->v[x].pos.line += lines;
		if (d->errors > errors) {
			rc = -1;
		} else if (keys.s && strchr(keys.s, '\n')) {
			struct pw_pos at = { pw_arena_strdup(&d->files, file), 1, 1 };
			pw_error(d, at, "a List: give its items as documents of their own");
			rc = -1;
		} else if (keys.s) {
			add(o, keys.s, buf + sp[i].start, sp[i].end - sp[i].start);
		}
		pw_buf_release(&keys);
		pw_cluster_release(&s);
	}
	free(sp);
	return rc;
}

struct read_ctx {
	struct pw_objects *o;
	const char *ns;
	int rc;
};

static size_t read_file(void *arg, const char *name, const unsigned char *bytes,
			size_t len, struct pw_diags *d)
{
	struct read_ctx *r = arg;
	unsigned char *copy = pw_arena_alloc(&r->o->files, len + 1);
	memcpy(copy, bytes, len);
	copy[len] = 0;
	const char *file = pw_arena_strdup(&r->o->files, name);
	size_t errors = d->errors;
	if (pw_objects_split(r->o, file, r->ns, copy, len, d) < 0)
		r->rc = -1;
	return d->errors - errors;
}

int pw_objects_read_paths(struct pw_objects *o, const char *const *paths, size_t n,
			  const char *ns, struct pw_diags *d)
{
	struct read_ctx r = { o, ns, 0 };
	size_t errors = d->errors;
	for (size_t i = 0; i < n; i++)
		pw_walk_path(paths[i], &o->files, read_file, &r, d);
	return r.rc < 0 || d->errors > errors ? -1 : 0;
}

void pw_object_text(const struct pw_object *ob, const unsigned char **p, size_t *len)
{
	*p = ob->bytes;
	*len = ob->len;
	if (*len >= 3 && !memcmp(*p, "---", 3)) {
		*p += 3;
		*len -= 3;
	}
	while (*len && (**p == '\n' || **p == ' ')) {
		(*p)++;
		(*len)--;
	}
}

void pw_object_yaml(const struct pw_object *ob, struct pw_buf *out)
{
	const unsigned char *p;
	size_t len;
	pw_object_text(ob, &p, &len);
	pw_buf_puts(out, "---\n");
	pw_buf_add(out, (const char *)p, len);
	if (len && p[len - 1] != '\n')
		pw_buf_putc(out, '\n');
}

bool pw_object_selected(const struct pw_object *ob, const char *kind,
			const char *name, const char *ns)
{
	return pw_kind_matches(kind, ob->kind, ob->group) &&
	       (!name || !strcmp(name, ob->name)) &&
	       (!ns || !*ns || !strcmp(ns, "*") || !strcmp(ns, ob->ns));
}

static struct pw_doc *node_doc(yaml_document_t *y, yaml_node_t *n, int depth)
{
	if (!n || depth > 64)
		return pw_doc_null();
	if (n->type == YAML_SEQUENCE_NODE) {
		struct pw_doc *a = pw_doc_arr();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			pw_doc_add(a, NULL, node_doc(y, yaml_document_get_node(y, *it), depth + 1));
		return a;
	}
	if (n->type == YAML_MAPPING_NODE) {
		struct pw_doc *o = pw_doc_obj();
		for (yaml_node_pair_t *kv = n->data.mapping.pairs.start;
		     kv < n->data.mapping.pairs.top; kv++) {
			yaml_node_t *k = yaml_document_get_node(y, kv->key);
			const char *key = k && k->type == YAML_SCALAR_NODE
						  ? (const char *)k->data.scalar.value
						  : "";
			pw_doc_add(o, key, node_doc(y, yaml_document_get_node(y, kv->value), depth + 1));
		}
		return o;
	}
	const char *v = (const char *)n->data.scalar.value;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		char *end;
		long long i = strtoll(v, &end, 10);
		if (*v && !*end)
			return pw_doc_int(i);
		if (!strcmp(v, "true") || !strcmp(v, "false"))
			return pw_doc_bool(*v == 't');
		if (!strcmp(v, "null") || !strcmp(v, "~") || !*v)
			return pw_doc_null();
	}
	return pw_doc_str(v);
}

struct pw_doc *pw_object_doc(const struct pw_object *ob)
{
	yaml_parser_t p;
	yaml_document_t y;
	if (!yaml_parser_initialize(&p))
		return NULL;
	yaml_parser_set_input_string(&p, ob->bytes, ob->len);
	struct pw_doc *d = NULL;
	if (yaml_parser_load(&p, &y)) {
		yaml_node_t *root = yaml_document_get_root_node(&y);
		if (root)
			d = node_doc(&y, root, 0);
		yaml_document_delete(&y);
	}
	yaml_parser_delete(&p);
	return d;
}

void pw_kind_plural(const char *kind, struct pw_buf *out)
{
	size_t n = strlen(kind);
	for (size_t i = 0; i < n; i++)
		pw_buf_putc(out, (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] - 'A' + 'a'
									 : kind[i]));
	if (!strcmp(kind, "Endpoints"))
		return; /* the resource is "endpoints" */
	if (n > 1 && kind[n - 1] == 'y' && !strchr("aeiou", kind[n - 2])) {
		out->s[--out->len] = 0;
		pw_buf_puts(out, "ies");
	} else if (n && (kind[n - 1] == 's' || kind[n - 1] == 'x')) {
		pw_buf_puts(out, "es");
	} else {
		pw_buf_putc(out, 's');
	}
}

bool pw_kind_matches(const char *want, const char *kind, const char *group)
{
	if (!want || !*want)
		return true;
	size_t kl = strlen(kind);
	/* Kind, kind, kinds, or kind.group */
	if (!strcasecmp(want, kind))
		return true;
	if (!strncasecmp(want, kind, kl) && (!strcasecmp(want + kl, "s") ||
					     !strcasecmp(want + kl, "es")))
		return true;
	struct pw_buf plural;
	pw_buf_init(&plural);
	pw_kind_plural(kind, &plural);
	bool is = !strcasecmp(want, plural.s);
	pw_buf_release(&plural);
	if (is)
		return true;
	if (!strncasecmp(want, kind, kl) && want[kl] == '.' && group &&
	    !strcasecmp(want + kl + 1, group))
		return true;
	return false;
}
