/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The world: the one owner of the update protocol.
 *
 *   documents --load--> cluster --build--> engine --build--> reach
 *                                            \--render--> dataplane table
 *
 * A world holds the source's documents (a name, e.g. a file path, and its
 * bytes), the cluster they load into, the engine, optionally the fast
 * engine (lib/reach.h), and the dataplane table last put in force.  Every
 * user (the agent, the lab, the HTTP API, the tests) changes it the same
 * way: stage document puts and removals, then commit them as one change.
 *
 * Commit.  A commit is all or nothing: if any staged document has an
 * error, or the whole no longer loads (a duplicate across documents, a
 * policy in a tier that is not defined), or the dataplane refuses the new
 * table, nothing changes: the previous cluster, engine and table stay in
 * force and the diagnostics say why.  Otherwise:
 *   - incremental: when the change only adds, edits or removes enforced
 *     policies (Kubernetes, Calico in a tier that exists, admin policies),
 *     or only relabels pods, the changed documents are loaded into the
 *     live cluster and the engine and reach are updated for them alone;
 *   - rebuild: anything else (pods, namespaces, Services, tiers, network
 *     sets, staged policies come and go), or an update the engine or reach
 *     cannot absorb, loads every document into a fresh cluster and builds
 *     everything in fresh arenas.
 * Memory.  Incremental updates leave superseded compilations in the
 * arenas; when the arenas have grown by more than a tenth (and 1 MiB)
 * since the last rebuild, pw_world_wants_reclaim() says so and
 * pw_world_reclaim() rebuilds everything in fresh arenas (the agent does
 * it when no change is waiting), so memory stays flat under endless
 * changes.
 *
 * Threads: none inside; one caller at a time.
 */
#ifndef PW_WORLD_H
#define PW_WORLD_H

#include "dp/dp.h"
#include "engine.h"
#include "reach.h"

struct pw_world_opts {
	unsigned engine_flags; /* PW_ENGINE_* */
	uint32_t replicas;     /* pods per workload without pods (0 = 1) */
	const char *apply_ns;  /* as kubectl apply -n; NULL: default */
	bool reach;	       /* keep the fast engine */
	/* The pods whose traffic this dataplane enforces: those whose
	   spec.nodeName is node (NULL: every pod with an address). */
	const char *node;
	/* Called after loading, before the engine is built (the lab gives
	   pods without an address one of its own). */
	int (*prepare)(struct pw_cluster *c, void *arg);
	void *prepare_arg;
	/* The interface of a pod on the dataplane's side; NULL: none (no
	   dataplane).  Returns false when the pod has none. */
	bool (*port_of)(void *arg, const struct pw_cluster *c, uint32_t pod,
			char ifname[static 16]);
	void *port_arg;
};

/* How a commit went. */
enum pw_commit_kind { PW_COMMIT_NONE, PW_COMMIT_INCREMENTAL, PW_COMMIT_REBUILD,
		      PW_COMMIT_REJECTED };
struct pw_commit {
	enum pw_commit_kind kind;
	uint32_t objects_changed; /* objects added, changed or removed */
	double ms_load, ms_engine, ms_reach, ms_render, ms_dataplane, ms_total;
	struct pw_dp_delta delta; /* what went to the dataplane */
	const char *why_rebuild;  /* static text, or NULL */
};

struct pw_world_doc {
	char *name;
	unsigned char *bytes;
	size_t len;
	uint64_t hash;
};

struct pw_world {
	struct pw_world_opts o;
	/* the documents in force, sorted by name */
	struct pw_world_doc *docs;
	size_t ndocs, docs_cap;
	/* staged changes: bytes NULL = remove */
	struct pw_world_doc *pending;
	size_t npending, pending_cap;
	/* what they build */
	struct pw_cluster *c;
	struct pw_engine *e;
	struct pw_reach *reach;
	struct pw_dp_table *table; /* rendered; NULL without a dataplane */
	struct pw_dp *dp;	   /* NULL: no dataplane */
	bool loaded;
	size_t baseline; /* arena bytes after the last rebuild */
	uint64_t generation; /* commits that changed something */
	uint32_t rebuilds, incrementals;
};

void pw_world_init(struct pw_world *w, const struct pw_world_opts *o);
void pw_world_release(struct pw_world *w);
/* The dataplane the world keeps equal to its engine (the world does not
   own it); set before the first commit. */
void pw_world_set_dataplane(struct pw_world *w, struct pw_dp *dp);

/* Stage a document (bytes copied) or its removal. */
void pw_world_put(struct pw_world *w, const char *name,
		  const unsigned char *bytes, size_t len);
void pw_world_remove(struct pw_world *w, const char *name);
/* Stage every file of path (a file or a directory, recursively: .yaml
   .yml .json), named by its path; errors reading go to d. */
void pw_world_put_path(struct pw_world *w, const char *path, struct pw_diags *d);
bool pw_world_has(const struct pw_world *w, const char *name);
/* Stage what makes the documents in force equal to v[0..n) (names
   unique): a put for each new or different document, a removal for each
   document not in v.  For a source that lost track of changes (etcd's
   compaction, the Kubernetes API's 410 Gone) and read everything anew.
   Returns how many changes it staged. */
size_t pw_world_stage_all(struct pw_world *w, const struct pw_world_doc *v, size_t n);
/* Drop what is staged. */
void pw_world_discard(struct pw_world *w);

/* Apply what is staged as one change (see above).  Diagnostics (errors
   and warnings of the documents) go to d.  0, or -1 when rejected. */
int pw_world_commit(struct pw_world *w, struct pw_diags *d, struct pw_commit *res);
/* Force a rebuild of everything from the documents in force. */
int pw_world_rebuild(struct pw_world *w, struct pw_diags *d, struct pw_commit *res);

/*
 * The same protocol one level down, for a change already made to the
 * model of w->c: a policy edited in place, appended (k == the old count)
 * or marked deleted; a pod's labels replaced (with a new array).  The
 * engine, then the reach, absorb it or are rebuilt; the dataplane follows
 * when there is one.  The commit uses these; tests and benchmarks that
 * change the model directly call them on a world made with
 * pw_world_adopt().  0, or -1 when a rebuild failed.
 */
int pw_world_update_policy(struct pw_world *w, enum pw_gsrc src, uint32_t k,
			   struct pw_commit *res);
int pw_world_update_pod(struct pw_world *w, uint32_t pod, struct pw_commit *res);
/* A world over a cluster built by the caller (finished, no errors), which
   it takes; it has no documents. */
int pw_world_adopt(struct pw_world *w, struct pw_cluster *c, struct pw_diags *d);

/* Keep the fast engine from now on (built now if need be). */
void pw_world_want_reach(struct pw_world *w);

/* Have incremental updates left enough behind to rebuild? */
bool pw_world_wants_reclaim(const struct pw_world *w);
/* Rebuild from the documents in force, in fresh arenas. */
int pw_world_reclaim(struct pw_world *w, struct pw_diags *d, struct pw_commit *res);
/* Bytes held by the arenas of cluster, engine and reach. */
size_t pw_world_bytes(const struct pw_world *w);

#endif
