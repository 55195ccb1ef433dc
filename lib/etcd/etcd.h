/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small etcd v3 client over the JSON gateway (libcurl; answers read
 * with libyaml, as JSON is YAML): range, transactions of puts and
 * deletes, and the watch stream.  Keys and values travel base64-encoded.
 *
 * Members.  A client holds the endpoints URL[,URL...]; a request that
 * cannot reach one member (refused, timed out, a member without a leader)
 * goes to the next, and the client remembers the member that answered.
 * Every request has a timeout except the watch stream, which notices a
 * silent member by itself (see pw_etcd_watch).
 *
 * Calico's etcd datastore layout (what `calicoctl` writes with
 * DATASTORE_TYPE=etcdv3), one key per object under one prefix:
 *   /calico/resources/v3/<group>/<plural>/<namespace>/<name>   namespaced
 *   /calico/resources/v3/<group>/<plural>/<name>               cluster-scoped
 * where group is the API group ("projectcalico.org", "networking.k8s.io",
 * "core" for the core group) and plural the lowercase plural of the kind
 * ("globalnetworkpolicies", "pods").  The value is the object's manifest
 * (a YAML or JSON document of one object).
 *
 * Threads: a client is used by one thread at a time.
 */
#ifndef PW_ETCD_H
#define PW_ETCD_H

#include <stdint.h>

#include "../base.h"

#define PW_ETCD_PREFIX "/calico/resources/v3/"

struct pw_etcd {
	char **urls;
	size_t n, cur; /* cur: the member that answered last */
	long timeout_ms;
};

struct pw_etcd_kv {
	char *key;
	unsigned char *value; /* NULL: deleted (a watch event) */
	size_t len;
	int64_t mod_revision;
};

struct pw_etcd_kvs {
	struct pw_etcd_kv *v;
	size_t n, cap;
};
void pw_etcd_kvs_release(struct pw_etcd_kvs *kvs);

/* endpoints: "http://HOST:PORT[,http://HOST:PORT...]".  -1 with err. */
int pw_etcd_open(struct pw_etcd *e, const char *endpoints, struct pw_buf *err);
void pw_etcd_close(struct pw_etcd *e);
/* A copy for another thread. */
void pw_etcd_copy(struct pw_etcd *to, const struct pw_etcd *from);

/* The key of an object (group "" is the core group; ns NULL or "":
   cluster-scoped). */
void pw_etcd_object_key(const char *group, const char *kind, const char *ns,
			const char *name, struct pw_buf *out);

/* Every key under prefix at one revision (read page by page, every page at
   the revision of the first), appended to kvs in key order; *rev is that
   revision.  0, or -1 with err. */
int pw_etcd_range_prefix(struct pw_etcd *e, const char *prefix,
			 struct pw_etcd_kvs *kvs, int64_t *rev, struct pw_buf *err);

/* One transaction: for each kv a put (value not NULL) or a delete of the
   key.  *rev: the revision it made; deleted[i] (when not NULL): whether the
   delete of kv i removed a key.  0, or -1 with err (nothing changed). */
int pw_etcd_txn(struct pw_etcd *e, const struct pw_etcd_kv *ops, size_t n,
		bool *deleted, int64_t *rev, struct pw_buf *err);

/*
 * Watch prefix from revision from, one member at a time, until fn returns
 * false, *stop is set, or the stream ends.  fn gets each response: its
 * events (value NULL: a delete), the revision it speaks for (the header's:
 * for a progress notification, everything up to it was sent), and
 * compacted (the revision asked for is compacted: read everything again);
 * fn may keep the events (taking them, it leaves *events empty).
 * The create request asks for progress notifications; a stream silent for
 * a few seconds is checked by asking the member's status on a connection
 * of its own, and given up when the member does not answer.
 * Returns 0 when fn or *stop ended it, -1 (err) when the stream broke.
 */
typedef bool (*pw_etcd_watch_fn)(void *arg, struct pw_etcd_kvs *events,
				 int64_t revision, bool compacted);
int pw_etcd_watch(struct pw_etcd *e, const char *prefix, int64_t from,
		  pw_etcd_watch_fn fn, void *arg, volatile int *stop, struct pw_buf *err);

#endif
