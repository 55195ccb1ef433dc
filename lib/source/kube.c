// SPDX-License-Identifier: Apache-2.0
/*
 * The Kubernetes API source (lib/source/source.h): the kinds podwall
 * analyses, listed and watched.  Read-only: the cluster is changed with
 * kubectl, not through the agent.
 *
 *   kube:KUBECONFIG   that kubeconfig's current context
 *   kube              $KUBECONFIG (its first file), else in-cluster (the
 *                     pod's service account), else ~/.kube/config
 *
 * Protocol, per resource, as client-go's reflector has it: a chunked list
 * (?limit=500, following metadata.continue) gives the objects and a
 * resourceVersion; a watch from it (allowWatchBookmarks) gives events, one
 * JSON object a line; BOOKMARK only advances the resourceVersion.  A watch
 * that ends is started again from the last resourceVersion (after an error,
 * with exponential backoff and jitter); 410 Gone, as a status or an ERROR
 * event, lists the resource anew, and the world is staged whole from every
 * resource's objects (pw_world_stage_all()).  A kind that is not installed
 * (404 on its list) has no objects.
 *
 * Threads: one watcher thread drives every resource's requests on one curl
 * multi handle; it queues batches of objects and signals an eventfd (the
 * source's fd).  changes() and load() run on the caller's thread: they
 * drain the queue into the objects they hold and stage them.  The initial
 * load lists every resource before it returns, so the first state is one
 * consistent read.
 *
 * Documents: one per object, named kube:GROUP/RESOURCE/NS/NAME (GROUP
 * "core" for the core group, NS "_cluster" for cluster-scoped objects),
 * holding the object's own bytes as the server sent them; a list's items
 * carry no kind and apiVersion, and get them in front of their first key.
 */
#include <curl/curl.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../loader.h"
#include "source.h"

#define LIST_LIMIT 500
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define MISSING_RETRY_MS 60000 /* a kind not installed: asked again */
#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* What is read: exactly what deploy/rbac.yaml allows. */
static const struct kres {
	const char *group, *version, *resource, *kind;
} kres[] = {
	{ "", "v1", "namespaces", "Namespace" },
	{ "", "v1", "pods", "Pod" },
	{ "", "v1", "services", "Service" },
	{ "discovery.k8s.io", "v1", "endpointslices", "EndpointSlice" },
	{ "networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy" },
	{ "policy.networking.k8s.io", "v1alpha1", "adminnetworkpolicies",
	  "AdminNetworkPolicy" },
	{ "policy.networking.k8s.io", "v1alpha1", "baselineadminnetworkpolicies",
	  "BaselineAdminNetworkPolicy" },
	{ "crd.projectcalico.org", "v1", "tiers", "Tier" },
	{ "crd.projectcalico.org", "v1", "networkpolicies", "NetworkPolicy" },
	{ "crd.projectcalico.org", "v1", "globalnetworkpolicies", "GlobalNetworkPolicy" },
	{ "crd.projectcalico.org", "v1", "stagednetworkpolicies", "StagedNetworkPolicy" },
	{ "crd.projectcalico.org", "v1", "stagedglobalnetworkpolicies",
	  "StagedGlobalNetworkPolicy" },
	{ "crd.projectcalico.org", "v1", "stagedkubernetesnetworkpolicies",
	  "StagedKubernetesNetworkPolicy" },
	{ "crd.projectcalico.org", "v1", "networksets", "NetworkSet" },
	{ "crd.projectcalico.org", "v1", "globalnetworksets", "GlobalNetworkSet" },
};
#define NRES PW_ARRAY_SIZE(kres)

/* Where and who: from a kubeconfig or the pod's service account. */
struct kconf {
	char *server;
	char *token, *token_file;
	char *ca_file, *cert_file, *key_file;
	struct pw_buf ca, cert, key; /* inline data, decoded */
	bool insecure;
};

/* An object put (bytes) or deleted (bytes NULL), or a message. */
struct kev {
	char *name;
	unsigned char *bytes;
	size_t len;
};

/* What the watcher hands over: a resource's events, or its objects whole
   (full: after a list), or a message (msg). */
struct batch {
	size_t res;
	bool full;
	char *msg;
	struct kev *v;
	size_t n, cap;
	struct batch *next;
};

enum wstate { W_WAIT, W_LIST, W_WATCH };

/* One resource on the watcher's side. */
struct watch {
	struct kube *k;
	size_t res;
	CURL *h;
	struct curl_slist *hdr;
	enum wstate state;
	char *rv, *cont;
	bool relist;	  /* 410 Gone seen: list anew when this request ends */
	bool tried;	  /* the first list ended, well or not */
	struct pw_buf body; /* a list page, an error, or a watch's partial line */
	struct batch *list; /* the objects of the list in progress */
	struct batch *out;  /* events of the chunk being read */
	unsigned backoff_ms;
	double wake_at; /* W_WAIT: when to ask again (ms, monotonic) */
};

struct kube {
	struct kconf c;
	struct watch w[NRES];
	CURLM *multi;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	unsigned seed;
	int efd;
	pthread_mutex_t mu;
	struct batch *head, **tail;
	/* the caller's side: every object, sorted by name */
	struct pw_world_doc *docs;
	size_t ndocs, cap;
	bool listed[NRES];
};

static struct kube *K(const struct pw_source *s)
{
	return s->priv;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- kubeconfig ------------------------------------------------------------- */

static size_t keep_bytes(void *arg, const char *name, const unsigned char *bytes,
			 size_t len, struct pw_diags *d)
{
	pw_buf_add(arg, (const char *)bytes, len);
	return 0;
}

/* A whole file, or -1 with FILE: error: in err. */
static int read_whole(const char *path, struct pw_buf *out, struct pw_buf *err)
{
	struct pw_diags d;
	struct pw_arena names;
	pw_diags_init(&d);
	pw_arena_init(&names);
	pw_buf_reset(out);
	pw_walk_path(path, &names, keep_bytes, out, &d);
	int rc = d.errors ? -1 : 0;
	if (rc < 0)
		pw_diag_format(&d.v[0], err);
	if (!out->s)
		pw_buf_puts(out, "");
	pw_diags_release(&d);
	pw_arena_release(&names);
	return rc;
}

/* A path of the kubeconfig, relative to its directory as kubectl reads it. */
static char *conf_path(const char *conf, const char *p)
{
	if (!p)
		return NULL;
	const char *slash = strrchr(conf, '/');
	if (p[0] == '/' || !slash)
		return pw_xstrdup(p);
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_printf(&b, "%.*s/%s", (int)(slash - conf), conf, p);
	return b.s;
}

/* base64 data of a kubeconfig field into out. */
static void conf_data(struct ld *l, yaml_node_t *n, const char *what, struct pw_buf *out)
{
	const char *s = ld_opt_str(l, n, what);
	if (!s)
		return;
	gnutls_datum_t in = { (unsigned char *)s, (unsigned)strlen(s) }, dec;
	if (gnutls_base64_decode2(&in, &dec) < 0) {
		pw_error(l->d, ld_pos(l, n), "%s is not base64", what);
		return;
	}
	pw_buf_reset(out);
	pw_buf_add(out, (const char *)dec.data, dec.size);
	gnutls_free(dec.data);
}

/* The entry named name in the list key (clusters, users, contexts), and
   its value under field. */
static yaml_node_t *conf_entry(struct ld *l, yaml_node_t *root, const char *key,
			       const char *field, const char *name, yaml_node_t *at)
{
	yaml_node_t *list = ld_want_seq(l, ld_get(l, root, key), key), *item;
	if (list)
		SEQ_EACH(l, list, item)
		{
			const char *n = ld_want_str(l, ld_get(l, item, "name"), "name");
			if (n && !strcmp(n, name))
				return ld_want_map(l, ld_get(l, item, field), field);
		}
	if (!l->d->errors)
		pw_error(l->d, ld_pos(l, at), "no %.*s named %s in %s",
			 (int)strlen(key) - 1, key, ld_q(l, name), key);
	return NULL;
}

static int conf_parse(struct kconf *c, const char *file, const unsigned char *bytes,
		      size_t len, struct pw_diags *d)
{
	struct pw_cluster arena;
	pw_cluster_init(&arena);
	yaml_parser_t p;
	yaml_document_t doc;
	struct ld l = { .c = &arena, .d = d, .file = file, .doc = &doc };
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, bytes, len);
	if (!yaml_parser_load(&p, &doc)) {
		struct pw_pos pos = { file, (int)p.problem_mark.line + 1,
				      (int)p.problem_mark.column + 1 };
		pw_error(d, pos, "%s", p.problem ? p.problem : "not YAML");
		yaml_parser_delete(&p);
		pw_cluster_release(&arena);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	struct pw_pos top = { file, 1, 1 };
	if (!root || root->type != YAML_MAPPING_NODE) {
		pw_error(d, root ? ld_pos(&l, root) : top, "a kubeconfig must be a mapping");
		goto out;
	}
	yaml_node_t *cur = ld_get(&l, root, "current-context");
	const char *ctxname = ld_opt_str(&l, cur, "current-context");
	if (!ctxname || !*ctxname) {
		if (!d->errors)
			pw_error(d, cur ? ld_pos(&l, cur) : ld_pos(&l, root),
				 "no current-context");
		goto out;
	}
	yaml_node_t *ctx = conf_entry(&l, root, "contexts", "context", ctxname, cur);
	if (!ctx)
		goto out;
	yaml_node_t *cn = ld_get(&l, ctx, "cluster"), *un = ld_get(&l, ctx, "user");
	const char *cname = ld_want_str(&l, cn, "cluster");
	const char *uname = ld_opt_str(&l, un, "user");
	if (!cname) {
		if (!d->errors)
			pw_error(d, ld_pos(&l, ctx), "context %s has no cluster", ld_q(&l, ctxname));
		goto out;
	}
	yaml_node_t *cl = conf_entry(&l, root, "clusters", "cluster", cname, cn);
	if (!cl)
		goto out;
	yaml_node_t *sn = ld_get(&l, cl, "server");
	const char *server = ld_want_str(&l, sn, "server");
	if (!server || strncmp(server, "https://", 8)) {
		if (!d->errors)
			pw_error(d, sn ? ld_pos(&l, sn) : ld_pos(&l, cl),
				 "cluster %s: server must be an https:// URL", ld_q(&l, cname));
		goto out;
	}
	c->server = pw_xstrdup(server);
	for (size_t n = strlen(c->server); n && c->server[n - 1] == '/';)
		c->server[--n] = 0;
	c->ca_file = conf_path(file, ld_opt_str(&l, ld_get(&l, cl, "certificate-authority"),
						"certificate-authority"));
	conf_data(&l, ld_get(&l, cl, "certificate-authority-data"),
		  "certificate-authority-data", &c->ca);
	c->insecure = ld_want_bool(&l, ld_get(&l, cl, "insecure-skip-tls-verify"),
				   "insecure-skip-tls-verify") == 1;
	yaml_node_t *u = uname ? conf_entry(&l, root, "users", "user", uname, un) : NULL;
	if (u) {
		const char *t = ld_opt_str(&l, ld_get(&l, u, "token"), "token");
		c->token = t ? pw_xstrdup(t) : NULL;
		c->token_file = conf_path(file, ld_opt_str(&l, ld_get(&l, u, "tokenFile"),
							   "tokenFile"));
		c->cert_file = conf_path(file, ld_opt_str(&l, ld_get(&l, u, "client-certificate"),
							  "client-certificate"));
		c->key_file = conf_path(file, ld_opt_str(&l, ld_get(&l, u, "client-key"),
							 "client-key"));
		conf_data(&l, ld_get(&l, u, "client-certificate-data"),
			  "client-certificate-data", &c->cert);
		conf_data(&l, ld_get(&l, u, "client-key-data"), "client-key-data", &c->key);
		bool cert = c->cert_file || c->cert.len, key = c->key_file || c->key.len;
		if (cert != key && !d->errors)
			pw_error(d, ld_pos(&l, u), "user %s: a client certificate needs its key",
				 ld_q(&l, uname));
		if (ld_get(&l, u, "exec") || ld_get(&l, u, "auth-provider"))
			if (!c->token && !c->token_file && !cert && !d->errors)
				pw_error(d, ld_pos(&l, u),
					 "user %s: exec and auth-provider credentials are not "
					 "supported: give a token, tokenFile or client certificate",
					 ld_q(&l, uname));
	}
out:
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	pw_cluster_release(&arena);
	return d->errors ? -1 : 0;
}

static int conf_read(struct kconf *c, const char *path, struct pw_buf *err)
{
	struct pw_buf b;
	pw_buf_init(&b);
	int rc = read_whole(path, &b, err);
	if (rc == 0) {
		struct pw_diags d;
		pw_diags_init(&d);
		rc = conf_parse(c, path, (unsigned char *)b.s, b.len, &d);
		if (rc < 0)
			for (size_t i = 0; i < d.n; i++) {
				if (i)
					pw_buf_putc(err, '\n');
				pw_diag_format(&d.v[i], err);
			}
		pw_diags_release(&d);
	}
	pw_buf_release(&b);
	return rc;
}

/* kube with no path: $KUBECONFIG, in-cluster, ~/.kube/config. */
static int conf_default(struct kconf *c, struct pw_buf *err)
{
	const char *env = getenv("KUBECONFIG");
	if (env && *env) {
		char *first = pw_xstrdup(env), *colon = strchr(first, ':');
		if (colon)
			*colon = 0;
		int rc = conf_read(c, first, err);
		free(first);
		return rc;
	}
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (host && *host && port && *port) {
		struct pw_buf b;
		pw_buf_init(&b);
		pw_buf_printf(&b, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
			      port);
		c->server = b.s;
		c->token_file = pw_xstrdup(SA_DIR "/token");
		c->ca_file = pw_xstrdup(SA_DIR "/ca.crt");
		return 0;
	}
	const char *home = getenv("HOME");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/.kube/config", home ? home : "");
	return conf_read(c, path, err);
}

static void conf_release(struct kconf *c)
{
	free(c->server);
	free(c->token);
	free(c->token_file);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	pw_buf_release(&c->ca);
	pw_buf_release(&c->cert);
	pw_buf_release(&c->key);
}

/* ---- batches ------------------------------------------------------------------ */

static struct batch *batch_new(size_t res, bool full)
{
	struct batch *b = pw_xcalloc(1, sizeof(*b));
	b->res = res;
	b->full = full;
	return b;
}

static void batch_add(struct batch *b, char *name, unsigned char *bytes, size_t len)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->v = pw_xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = (struct kev){ name, bytes, len };
}

static void batch_free(struct batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].name);
		free(b->v[i].bytes);
	}
	free(b->v);
	free(b->msg);
	free(b);
}

/* Hand a batch over to the caller's thread. */
static void queue(struct kube *k, struct batch *b)
{
	pthread_mutex_lock(&k->mu);
	*k->tail = b;
	k->tail = &b->next;
	pthread_mutex_unlock(&k->mu);
	uint64_t one = 1;
	if (write(k->efd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the caller wakes anyway */
	}
}

static void say(struct watch *w, const char *fmt, ...) PW_PRINTF(2, 3);
static void say(struct watch *w, const char *fmt, ...)
{
	struct batch *b = batch_new(w->res, false);
	va_list ap;
	va_start(ap, fmt);
	b->msg = pw_xvasprintf(fmt, ap);
	va_end(ap);
	queue(w->k, b);
}

/* ---- objects -------------------------------------------------------------- */

static const char *scalar(const struct ld *l, const yaml_node_t *n, const char *key)
{
	yaml_node_t *v = ld_get(l, n, key);
	return v && v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
}

/* libyaml's marks count characters; the byte offset of character index
   want, walking on from (*ci, *bi). */
static size_t byte_at(const unsigned char *s, size_t len, size_t *ci, size_t *bi, size_t want)
{
	while (*ci < want && *bi < len) {
		(*bi)++;
		while (*bi < len && (s[*bi] & 0xc0) == 0x80)
			(*bi)++;
		(*ci)++;
	}
	return *bi;
}

static void doc_name(const struct kres *r, const char *ns, const char *name,
		     struct pw_buf *out)
{
	pw_buf_printf(out, "kube:%s/%s/%s/%s", *r->group ? r->group : "core", r->resource,
		      ns && *ns ? ns : "_cluster", name);
}

/* The object at node obj of the text s as a document, into b (n events:
   its name and bytes).  *ci, *bi: the walk of byte_at(). */
static void take_object(struct watch *w, const struct ld *l, const unsigned char *s,
			size_t len, yaml_node_t *obj, bool del, size_t *ci, size_t *bi,
			struct batch *b)
{
	const struct kres *r = &kres[w->res];
	yaml_node_t *meta = ld_get(l, obj, "metadata");
	const char *name = scalar(l, meta, "name"), *ns = scalar(l, meta, "namespace");
	if (!obj || obj->type != YAML_MAPPING_NODE || !name) {
		say(w, "%s: an object without metadata.name, skipped", r->resource);
		return;
	}
	struct pw_buf nb, db;
	pw_buf_init(&nb);
	pw_buf_init(&db);
	doc_name(r, ns, name, &nb);
	if (!del) {
		size_t from = byte_at(s, len, ci, bi, obj->start_mark.index);
		size_t to = byte_at(s, len, ci, bi, obj->end_mark.index);
		if (!ld_get(l, obj, "kind") && from < to && s[from] == '{') {
			pw_buf_printf(&db, "{\"apiVersion\":\"%s%s%s\",\"kind\":\"%s\"%s", r->group,
				      *r->group ? "/" : "", r->version, r->kind,
				      obj->data.mapping.pairs.start < obj->data.mapping.pairs.top
					      ? ","
					      : "");
			from++;
		}
		pw_buf_add(&db, (const char *)s + from, to - from);
		pw_buf_putc(&db, '\n');
	}
	batch_add(b, nb.s, (unsigned char *)db.s, db.len);
}

static void set_str(char **p, const char *v)
{
	free(*p);
	*p = v ? pw_xstrdup(v) : NULL;
}

/* A list page in w->body: its items into w->list, its continue token and
   resourceVersion.  -1 if it is not a list. */
static int read_page(struct watch *w)
{
	yaml_parser_t p;
	yaml_document_t doc;
	struct ld l = { .doc = &doc };
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (unsigned char *)w->body.s, w->body.len);
	if (!yaml_parser_load(&p, &doc)) {
		yaml_parser_delete(&p);
		return -1;
	}
	int rc = -1;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *items = ld_get(&l, root, "items"), *meta = ld_get(&l, root, "metadata");
	if (items && (items->type == YAML_SEQUENCE_NODE || ld_is_null(items))) {
		size_t ci = 0, bi = 0;
		yaml_node_t *it;
		if (items->type == YAML_SEQUENCE_NODE)
			SEQ_EACH(&l, items, it)
				take_object(w, &l, (unsigned char *)w->body.s, w->body.len, it,
					    false, &ci, &bi, w->list);
		const char *cont = scalar(&l, meta, "continue");
		set_str(&w->cont, cont && *cont ? cont : NULL);
		set_str(&w->rv, scalar(&l, meta, "resourceVersion"));
		rc = 0;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return rc;
}

/* One watch event (a line of the stream). */
static void read_event(struct watch *w, const unsigned char *s, size_t len)
{
	yaml_parser_t p;
	yaml_document_t doc;
	struct ld l = { .doc = &doc };
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, s, len);
	if (!yaml_parser_load(&p, &doc)) {
		say(w, "%s: watch: an event that is not JSON, skipped", kres[w->res].resource);
		yaml_parser_delete(&p);
		return;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *obj = ld_get(&l, root, "object");
	const char *type = scalar(&l, root, "type");
	const char *rv = scalar(&l, ld_get(&l, obj, "metadata"), "resourceVersion");
	size_t ci = 0, bi = 0;
	if (!type || !obj) {
		say(w, "%s: watch: an event without type or object, skipped",
		    kres[w->res].resource);
	} else if (!strcmp(type, "ERROR")) {
		const char *code = scalar(&l, obj, "code"), *msg = scalar(&l, obj, "message");
		if (code && !strcmp(code, "410"))
			w->relist = true;
		else
			say(w, "%s: watch: %s %s", kres[w->res].resource, code ? code : "error",
			    msg ? msg : "");
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") ||
		   !strcmp(type, "DELETED")) {
		if (!w->out)
			w->out = batch_new(w->res, false);
		take_object(w, &l, s, len, obj, !strcmp(type, "DELETED"), &ci, &bi, w->out);
		set_str(&w->rv, rv ? rv : w->rv);
	} else if (!strcmp(type, "BOOKMARK")) {
		set_str(&w->rv, rv ? rv : w->rv);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
}

/* ---- requests ------------------------------------------------------------- */

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct watch *w = arg;
	long status = 0;
	pw_buf_add(&w->body, ptr, size * n);
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
	if (w->state != W_WATCH || status != 200)
		return size * n;
	/* the complete lines: one event each */
	size_t used = 0;
	for (char *nl; (nl = memchr(w->body.s + used, '\n', w->body.len - used));) {
		size_t end = (size_t)(nl - w->body.s);
		if (end > used)
			read_event(w, (unsigned char *)w->body.s + used, end - used);
		used = end + 1;
	}
	memmove(w->body.s, w->body.s + used, w->body.len - used);
	w->body.len -= used;
	if (w->out) {
		queue(w->k, w->out);
		w->out = NULL;
	}
	return size * n;
}

static void start(struct watch *w, enum wstate st)
{
	struct kube *k = w->k;
	const struct kres *r = &kres[w->res];
	struct pw_buf url;
	pw_buf_init(&url);
	pw_buf_printf(&url, "%s/%s%s/%s/%s", k->c.server, *r->group ? "apis/" : "api",
		      r->group, r->version, r->resource);
	if (st == W_LIST) {
		if (!w->cont && !w->list)
			w->list = batch_new(w->res, true);
		pw_buf_printf(&url, "?limit=%d", LIST_LIMIT);
		if (w->cont) {
			char *e = curl_easy_escape(w->h, w->cont, 0);
			pw_buf_printf(&url, "&continue=%s", e);
			curl_free(e);
		}
	} else {
		char *e = curl_easy_escape(w->h, w->rv ? w->rv : "", 0);
		pw_buf_printf(&url,
			      "?watch=1&resourceVersion=%s&allowWatchBookmarks=true"
			      "&timeoutSeconds=%u",
			      e, 300 + (unsigned)(rand_r(&k->seed) % 300));
		curl_free(e);
	}
	curl_easy_setopt(w->h, CURLOPT_URL, url.s);
	curl_easy_setopt(w->h, CURLOPT_TIMEOUT, st == W_LIST ? 60L : 0L);
	/* the token file is read anew each time: projected tokens rotate */
	curl_slist_free_all(w->hdr);
	w->hdr = curl_slist_append(NULL, "Accept: application/json");
	struct pw_buf tok, err;
	pw_buf_init(&tok);
	pw_buf_init(&err);
	if (k->c.token_file && read_whole(k->c.token_file, &tok, &err) < 0)
		say(w, "%s", err.s);
	const char *t = k->c.token_file ? tok.s : k->c.token;
	if (t && *t) {
		struct pw_buf h;
		pw_buf_init(&h);
		pw_buf_printf(&h, "Authorization: Bearer %.*s", (int)strcspn(t, "\r\n"), t);
		w->hdr = curl_slist_append(w->hdr, h.s);
		pw_buf_release(&h);
	}
	curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, w->hdr);
	pw_buf_release(&tok);
	pw_buf_release(&err);
	pw_buf_reset(&w->body);
	w->relist = false;
	w->state = st;
	curl_multi_add_handle(k->multi, w->h);
	pw_buf_release(&url);
}

static void wait_backoff(struct watch *w)
{
	struct kube *k = w->k;
	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (w->backoff_ms > BACKOFF_MAX_MS)
		w->backoff_ms = BACKOFF_MAX_MS;
	/* jitter: between half and all of it */
	unsigned d = w->backoff_ms / 2 + (unsigned)rand_r(&k->seed) % (w->backoff_ms / 2 + 1);
	w->state = W_WAIT;
	w->wake_at = now_ms() + d;
}

/* A request of w ended. */
static void done(struct watch *w, CURLcode res)
{
	const struct kres *r = &kres[w->res];
	long status = 0;
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(w->k->multi, w->h);
	if (res == CURLE_OK && status == 200 && w->state == W_LIST) {
		if (read_page(w) < 0) {
			say(w, "%s: the list is not a Kubernetes list", r->resource);
			w->tried = true;
			wait_backoff(w);
		} else if (w->cont) {
			start(w, W_LIST);
		} else {
			queue(w->k, w->list);
			w->list = NULL;
			w->tried = true;
			w->backoff_ms = 0;
			start(w, W_WATCH);
		}
		return;
	}
	if (w->state == W_LIST && status == 404) {
		/* not installed: no objects; asked again later */
		batch_free(w->list);
		w->list = NULL;
		queue(w->k, batch_new(w->res, true));
		set_str(&w->rv, NULL);
		w->tried = true;
		w->state = W_WAIT;
		w->wake_at = now_ms() + MISSING_RETRY_MS;
		return;
	}
	if (status == 410 || w->relist) {
		/* Gone: the resourceVersion (or the continue token) is too old */
		set_str(&w->cont, NULL);
		set_str(&w->rv, NULL);
		batch_free(w->list);
		w->list = NULL;
		start(w, W_LIST);
		return;
	}
	if (res == CURLE_OK && status == 200) {
		/* the watch's timeout: again from where it was */
		w->backoff_ms = 0;
		start(w, W_WATCH);
		return;
	}
	if (res != CURLE_OK)
		say(w, "%s: %s: %s", r->resource, w->state == W_LIST ? "list" : "watch",
		    curl_easy_strerror(res));
	else
		say(w, "%s: %s: HTTP %ld: %.*s", r->resource,
		    w->state == W_LIST ? "list" : "watch", status,
		    (int)(w->body.len < 200 ? w->body.len : 200), w->body.s ? w->body.s : "");
	if (w->state == W_LIST) {
		batch_free(w->list);
		w->list = NULL;
		set_str(&w->cont, NULL);
		set_str(&w->rv, NULL); /* a list read in part is no state */
		w->tried = true;
	}
	wait_backoff(w);
}

/* Run the requests; until every resource's first list ended when
   first_lists, else until stopped. */
static void drive(struct kube *k, bool first_lists)
{
	while (!atomic_load(&k->stop)) {
		double now = now_ms(), next = now + 1000;
		bool all = true;
		for (size_t i = 0; i < NRES; i++) {
			struct watch *w = &k->w[i];
			all = all && w->tried;
			if (w->state == W_WAIT && w->wake_at <= now)
				start(w, w->rv && !w->relist ? W_WATCH : W_LIST);
			if (w->state == W_WAIT && w->wake_at < next)
				next = w->wake_at;
		}
		if (first_lists && all)
			return;
		int running;
		curl_multi_perform(k->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(k->multi, &left)))
			if (m->msg == CURLMSG_DONE) {
				struct watch *w;
				curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &w);
				done(w, m->data.result);
			}
		int wait = (int)(next - now_ms());
		curl_multi_poll(k->multi, NULL, 0, wait < 0 ? 0 : wait, NULL);
	}
}

static void *watcher(void *arg)
{
	drive(arg, false);
	return NULL;
}

/* ---- the source --------------------------------------------------------------- */

static void setup_handle(struct kube *k, struct watch *w)
{
	const struct kconf *c = &k->c;
	w->h = curl_easy_init();
	curl_easy_setopt(w->h, CURLOPT_PRIVATE, w);
	curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->h, CURLOPT_USERAGENT, "podwall");
	curl_easy_setopt(w->h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(w->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(w->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->h, CURLOPT_PROTOCOLS_STR, "https");
	if (c->insecure) {
		curl_easy_setopt(w->h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(w->h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->ca.len) {
		struct curl_blob b = { c->ca.s, c->ca.len, CURL_BLOB_COPY };
		curl_easy_setopt(w->h, CURLOPT_CAINFO_BLOB, &b);
	} else if (c->ca_file) {
		curl_easy_setopt(w->h, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->cert.len) {
		struct curl_blob b = { c->cert.s, c->cert.len, CURL_BLOB_COPY };
		curl_easy_setopt(w->h, CURLOPT_SSLCERT_BLOB, &b);
	} else if (c->cert_file) {
		curl_easy_setopt(w->h, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->key.len) {
		struct curl_blob b = { c->key.s, c->key.len, CURL_BLOB_COPY };
		curl_easy_setopt(w->h, CURLOPT_SSLKEY_BLOB, &b);
	} else if (c->key_file) {
		curl_easy_setopt(w->h, CURLOPT_SSLKEY, c->key_file);
	}
}

static int kube_open(struct pw_source *s, const char *arg, struct pw_buf *err)
{
	struct kube *k = pw_xcalloc(1, sizeof(*k));
	int rc = *arg ? conf_read(&k->c, arg, err) : conf_default(&k->c, err);
	if (rc < 0) {
		conf_release(&k->c);
		free(k);
		return -1;
	}
	k->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (k->efd < 0) {
		pw_buf_printf(err, "eventfd: %s", strerror(errno));
		conf_release(&k->c);
		free(k);
		return -1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&k->mu, NULL);
	k->tail = &k->head;
	k->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	k->multi = curl_multi_init();
	for (size_t i = 0; i < NRES; i++) {
		struct watch *w = &k->w[i];
		w->k = k;
		w->res = i;
		setup_handle(k, w);
		pw_buf_init(&w->body);
	}
	s->priv = k;
	return 0;
}

static struct batch *take_queue(struct kube *k)
{
	uint64_t x;
	if (read(k->efd, &x, sizeof(x)) < 0) {
		/* nothing signalled: the queue may still hold a batch */
	}
	pthread_mutex_lock(&k->mu);
	struct batch *b = k->head;
	k->head = NULL;
	k->tail = &k->head;
	pthread_mutex_unlock(&k->mu);
	return b;
}

static void kube_close(struct pw_source *s)
{
	struct kube *k = K(s);
	if (k->started) {
		atomic_store(&k->stop, true);
		curl_multi_wakeup(k->multi);
		pthread_join(k->thread, NULL);
	}
	for (size_t i = 0; i < NRES; i++) {
		struct watch *w = &k->w[i];
		if (w->state != W_WAIT)
			curl_multi_remove_handle(k->multi, w->h);
		curl_easy_cleanup(w->h);
		curl_slist_free_all(w->hdr);
		pw_buf_release(&w->body);
		free(w->rv);
		free(w->cont);
		batch_free(w->list);
		batch_free(w->out);
	}
	curl_multi_cleanup(k->multi);
	for (struct batch *b = take_queue(k), *next; b; b = next) {
		next = b->next;
		batch_free(b);
	}
	for (size_t i = 0; i < k->ndocs; i++) {
		free(k->docs[i].name);
		free(k->docs[i].bytes);
	}
	free(k->docs);
	close(k->efd);
	pthread_mutex_destroy(&k->mu);
	conf_release(&k->c);
	free(k);
	s->priv = NULL;
	curl_global_cleanup();
}

static int kube_fd(const struct pw_source *s)
{
	return K(s)->efd;
}

/* The objects held: find name (or where it goes). */
static size_t docs_find(const struct kube *k, const char *name, bool *found)
{
	size_t lo = 0, hi = k->ndocs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(k->docs[mid].name, name);
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Put (the event's bytes are taken) or delete; true if it changed. */
static bool docs_apply(struct kube *k, struct kev *e)
{
	bool found;
	size_t i = docs_find(k, e->name, &found);
	if (found) {
		free(k->docs[i].bytes);
		if (e->bytes) {
			k->docs[i].bytes = e->bytes;
			k->docs[i].len = e->len;
		} else {
			free(k->docs[i].name);
			memmove(&k->docs[i], &k->docs[i + 1], (k->ndocs - i - 1) * sizeof(*k->docs));
			k->ndocs--;
		}
	} else if (e->bytes) {
		if (k->ndocs == k->cap) {
			k->cap = k->cap ? k->cap * 2 : 64;
			k->docs = pw_xrealloc(k->docs, k->cap * sizeof(*k->docs));
		}
		memmove(&k->docs[i + 1], &k->docs[i], (k->ndocs - i) * sizeof(*k->docs));
		k->docs[i] = (struct pw_world_doc){ .name = pw_xstrdup(e->name),
						    .bytes = e->bytes,
						    .len = e->len };
		k->ndocs++;
	}
	e->bytes = NULL;
	return found || e->len;
}

/* Every object of resource res goes. */
static void docs_drop(struct kube *k, size_t res)
{
	struct pw_buf prefix;
	pw_buf_init(&prefix);
	doc_name(&kres[res], "", "", &prefix);
	prefix.len -= strlen("_cluster/");
	size_t n = 0;
	for (size_t i = 0; i < k->ndocs; i++) {
		if (!strncmp(k->docs[i].name, prefix.s, prefix.len)) {
			free(k->docs[i].name);
			free(k->docs[i].bytes);
		} else {
			k->docs[n++] = k->docs[i];
		}
	}
	k->ndocs = n;
	pw_buf_release(&prefix);
}

/* Take what the watcher queued into the objects held; stage it in w
   (each event, or, after a list, everything whole) once every resource
   has been listed.  Returns how many documents were staged. */
static int drain(struct kube *k, struct pw_world *w, struct pw_diags *d, bool whole)
{
	struct batch *q = take_queue(k);
	for (struct batch *b = q; b; b = b->next)
		whole = whole || b->full;
	bool all = true;
	for (struct batch *b = q; b; b = b->next)
		if (b->full)
			k->listed[b->res] = true;
	for (size_t i = 0; i < NRES; i++)
		all = all && k->listed[i];
	int staged = 0;
	struct pw_pos pos = { "kube", 0, 0 };
	for (struct batch *b = q, *next; b; b = next) {
		next = b->next;
		if (b->msg)
			pw_warn(d, pos, "%s", b->msg);
		if (b->full)
			docs_drop(k, b->res);
		for (size_t i = 0; i < b->n; i++) {
			struct kev *e = &b->v[i];
			if (!whole && all && e->bytes)
				pw_world_put(w, e->name, e->bytes, e->len);
			bool changed = docs_apply(k, e);
			if (!whole && all && !e->len && changed)
				pw_world_remove(w, e->name);
			staged += !whole && all && changed;
		}
		batch_free(b);
	}
	if (whole && all)
		staged = (int)pw_world_stage_all(w, k->docs, k->ndocs);
	return staged;
}

static int kube_load(struct pw_source *s, struct pw_world *w, struct pw_diags *d)
{
	struct kube *k = K(s);
	if (!k->started) {
		for (size_t i = 0; i < NRES; i++)
			start(&k->w[i], W_LIST);
		drive(k, true);
		if (pthread_create(&k->thread, NULL, watcher, k)) {
			pw_error(d, ld_file_pos("kube"), "cannot start the watcher thread");
			return -1;
		}
		k->started = true;
	}
	size_t errors = d->errors;
	drain(k, w, d, true);
	for (size_t i = 0; i < NRES; i++)
		if (!k->listed[i])
			pw_error(d, ld_file_pos("kube"), "%s: not listed yet (%s)",
				 kres[i].resource, k->c.server);
	return d->errors > errors ? -1 : 0;
}

static int kube_changes(struct pw_source *s, struct pw_world *w, struct pw_diags *d)
{
	return drain(K(s), w, d, false);
}

const struct pw_source_ops pw_source_kube_ops = {
	.scheme = "kube",
	.open = kube_open,
	.load = kube_load,
	.fd = kube_fd,
	.changes = kube_changes,
	.object_name = NULL,
	.write = NULL, /* read-only: the cluster is changed with kubectl */
	.close = kube_close,
};
