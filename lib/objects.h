/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Objects out of manifests: a YAML stream cut into its documents, each
 * one object named as the loader names it (group/Kind/ns/name), checked
 * alone.  What `podwall apply` and the agent's POST /v1/apply store: one
 * object per document of a source (an etcd key, a file of a directory).
 */
#ifndef PW_OBJECTS_H
#define PW_OBJECTS_H

#include "doc.h"
#include "model.h"

struct pw_object {
	char *key; /* "group/Kind/ns/name" (group "" for the core group) */
	char *group, *kind, *ns, *name;
	const unsigned char *bytes; /* the document, inside the stream read */
	size_t len;
};

struct pw_objects {
	struct pw_object *v;
	size_t n, cap;
	struct pw_arena files; /* what pw_objects_read_paths read */
};

void pw_objects_init(struct pw_objects *o);
void pw_objects_release(struct pw_objects *o);
/*
 * Append the objects of a YAML stream, one per document (bytes point into
 * buf, which must outlive o), namespaced as `kubectl apply -n ns` does
 * (NULL: default).  Documents of kinds the loader does not know are left
 * out.  -1 when a document has an error or is a List (d, with positions in
 * the whole stream; the other documents are still appended).
 */
int pw_objects_split(struct pw_objects *o, const char *file, const char *ns,
		     const unsigned char *buf, size_t len, struct pw_diags *d);
/* The same for files and directories as -f names them (read and kept in
   o).  -1 on an error of any. */
int pw_objects_read_paths(struct pw_objects *o, const char *const *paths, size_t n,
			  const char *ns, struct pw_diags *d);
/* An object's document without its "---" and the blank lines before it. */
void pw_object_text(const struct pw_object *ob, const unsigned char **p, size_t *len);
/* The same as one document of a YAML stream: "---\n" and the text. */
void pw_object_yaml(const struct pw_object *ob, struct pw_buf *out);
/* Is ob selected by kind (as pw_kind_matches), name (NULL: any) and
   namespace (NULL, "" or "*": any)? */
bool pw_object_selected(const struct pw_object *ob, const char *kind,
			const char *name, const char *ns);

/* An object's document as a tree (for -o json); NULL when it does not
   parse.  Plain scalars that are numbers, booleans or null become those. */
struct pw_doc *pw_object_doc(const struct pw_object *ob);

/* Does want name kind: Kind, kind, its plural or kind.group; NULL or ""
   names every kind. */
bool pw_kind_matches(const char *want, const char *kind, const char *group);
/* The plural of a kind as the API names its resource: lowercase, "s"
   added ("policies", "ingresses", "endpoints"). */
void pw_kind_plural(const char *kind, struct pw_buf *out);

#endif
