/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sources: where an agent's documents come from and where `podwall apply`
 * writes them.  One small table of operations per kind of source, chosen
 * by the scheme of the source's spec in pw_source_open():
 *
 *   dir:PATH    a directory of manifests (recursively: .yaml .yml .json),
 *               watched with inotify; each file is one document of the
 *               world, named by its path
 *   etcd:URL[,URL...]  an etcd cluster's keys under /calico/resources/v3/
 *               (Calico's etcd datastore layout, lib/etcd/etcd.h), read at
 *               one revision and watched from the next; each key is one
 *               document, named by the key
 *
 *   kube[:KUBECONFIG]  the Kubernetes API, listed and watched
 *               (lib/source/kube.c); read-only: write is NULL
 *
 *   load     stage every document into the world (the initial full read)
 *   fd       a descriptor that becomes readable when something changed
 *   changes  stage what changed since the last call; returns how many
 *            documents were staged (an editor's write-by-rename, or a
 *            burst of writes read together, is one change)
 *   write    store documents under their names (the objects of one
 *            `podwall apply`), all or nothing where the source can (etcd:
 *            one transaction); NULL bytes: remove it.  NULL: the source is
 *            read-only (the agent refuses apply and delete)
 */
#ifndef PW_SOURCE_H
#define PW_SOURCE_H

#include "../world.h"

struct pw_source;

struct pw_source_ops {
	const char *scheme;
	int (*open)(struct pw_source *s, const char *arg, struct pw_buf *err);
	int (*load)(struct pw_source *s, struct pw_world *w, struct pw_diags *d);
	int (*fd)(const struct pw_source *s);
	int (*changes)(struct pw_source *s, struct pw_world *w, struct pw_diags *d);
	/* the document name an object is stored under */
	void (*object_name)(const struct pw_source *s, const char *group,
			    const char *kind, const char *ns, const char *name,
			    struct pw_buf *out);
	int (*write)(struct pw_source *s, const struct pw_world_doc *v, size_t n,
		     struct pw_buf *err);
	void (*close)(struct pw_source *s);
};

struct pw_source {
	const struct pw_source_ops *ops;
	char *spec;
	void *priv;
	/* Set by the caller after open (NULL: none): what the source has to
	   say (a lost connection, a relist), called from changes(). */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

int pw_source_open(struct pw_source *s, const char *spec, struct pw_buf *err);
void pw_source_close(struct pw_source *s);

#endif
