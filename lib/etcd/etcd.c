// SPDX-License-Identifier: Apache-2.0
/* An etcd v3 client over the JSON gateway (lib/etcd/etcd.h). */
#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "../objects.h"
#include "etcd.h"

#define TIMEOUT_MS 5000	     /* a request */
#define CONNECT_MS 1000	     /* a connection to a member */
#define RANGE_PAGE 1000	     /* keys per page of a range */
#define WATCH_IDLE_S 3	     /* a silent watch stream is checked after this */
#define PROBE_MS 1500	     /* ... by a status request that must answer within */

/* ---- base64 (GnuTLS) ------------------------------------------------------ */

static void b64(const void *p, size_t n, struct pw_buf *out)
{
	gnutls_datum_t in = { (unsigned char *)p, (unsigned)n }, res = { NULL, 0 };
	if (n && gnutls_base64_encode2(&in, &res) == 0) {
		pw_buf_add(out, (const char *)res.data, res.size);
		gnutls_free(res.data);
	}
}

/* Decoded into a NUL-terminated heap string (*len without the NUL); NULL
   when s is not base64. */
static unsigned char *unb64(const char *s, size_t *len)
{
	gnutls_datum_t in = { (unsigned char *)s, (unsigned)strlen(s) }, res = { NULL, 0 };
	*len = 0;
	if (!*s)
		return (unsigned char *)pw_xstrdup("");
	if (gnutls_base64_decode2(&in, &res) < 0)
		return NULL;
	unsigned char *v = pw_xmalloc(res.size + 1);
	memcpy(v, res.data, res.size);
	v[res.size] = 0;
	*len = res.size;
	gnutls_free(res.data);
	return v;
}

/* ---- JSON answers, read with libyaml ---------------------------------------- */

struct jdoc {
	yaml_document_t doc;
	yaml_node_t *root;
};

static int jparse(struct jdoc *j, const char *s, size_t n)
{
	yaml_parser_t p;
	j->root = NULL;
	if (!yaml_parser_initialize(&p))
		return -1;
	yaml_parser_set_input_string(&p, (const unsigned char *)s, n);
	int ok = yaml_parser_load(&p, &j->doc);
	yaml_parser_delete(&p);
	if (!ok)
		return -1;
	j->root = yaml_document_get_root_node(&j->doc);
	if (!j->root || j->root->type != YAML_MAPPING_NODE) {
		yaml_document_delete(&j->doc);
		return -1;
	}
	return 0;
}

static void jfree(struct jdoc *j)
{
	yaml_document_delete(&j->doc);
}

static yaml_node_t *jget(struct jdoc *j, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *kv = m->data.mapping.pairs.start; kv < m->data.mapping.pairs.top;
	     kv++) {
		yaml_node_t *k = yaml_document_get_node(&j->doc, kv->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(&j->doc, kv->value);
	}
	return NULL;
}

static const char *jstr(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* int64 fields come as strings ("42"), small ones maybe as numbers */
static int64_t jint(yaml_node_t *n)
{
	const char *s = jstr(n);
	return s ? strtoll(s, NULL, 10) : 0;
}

static bool jtrue(yaml_node_t *n)
{
	const char *s = jstr(n);
	return s && !strcmp(s, "true");
}

static size_t jlen(yaml_node_t *n)
{
	return n && n->type == YAML_SEQUENCE_NODE
		       ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
		       : 0;
}

static yaml_node_t *jitem(struct jdoc *j, yaml_node_t *n, size_t i)
{
	return yaml_document_get_node(&j->doc, n->data.sequence.items.start[i]);
}

/* A kv of an answer appended; false when it does not decode. */
static bool add_kv(struct jdoc *j, yaml_node_t *kv, bool deleted, struct pw_etcd_kvs *kvs)
{
	const char *k = jstr(jget(j, kv, "key"));
	const char *v = jstr(jget(j, kv, "value"));
	size_t klen, vlen = 0;
	unsigned char *key = k ? unb64(k, &klen) : NULL;
	unsigned char *val = deleted ? NULL : unb64(v ? v : "", &vlen);
	if (!key || (!deleted && !val)) {
		free(key);
		free(val);
		return false;
	}
	if (kvs->n == kvs->cap) {
		kvs->cap = kvs->cap ? kvs->cap * 2 : 64;
		kvs->v = pw_xrealloc(kvs->v, kvs->cap * sizeof(*kvs->v));
	}
	kvs->v[kvs->n++] = (struct pw_etcd_kv){ (char *)key, val, vlen,
						 jint(jget(j, kv, "mod_revision")) };
	return true;
}

void pw_etcd_kvs_release(struct pw_etcd_kvs *kvs)
{
	for (size_t i = 0; i < kvs->n; i++) {
		free(kvs->v[i].key);
		free(kvs->v[i].value);
	}
	free(kvs->v);
	memset(kvs, 0, sizeof(*kvs));
}

/* ---- the client ------------------------------------------------------------- */

int pw_etcd_open(struct pw_etcd *e, const char *endpoints, struct pw_buf *err)
{
	memset(e, 0, sizeof(*e));
	e->timeout_ms = TIMEOUT_MS;
	char *all = pw_xstrdup(endpoints), *save = NULL;
	for (char *u = strtok_r(all, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) {
			pw_buf_printf(err, "etcd: %s: give endpoints as http://HOST:PORT", u);
			free(all);
			pw_etcd_close(e);
			return -1;
		}
		size_t n = strlen(u);
		while (n && u[n - 1] == '/')
			u[--n] = 0;
		e->urls = pw_xrealloc(e->urls, (e->n + 1) * sizeof(*e->urls));
		e->urls[e->n++] = pw_xstrdup(u);
	}
	free(all);
	if (!e->n) {
		pw_buf_puts(err, "etcd: no endpoints (etcd:URL[,URL...])");
		return -1;
	}
	static bool inited;
	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = true;
	}
	return 0;
}

void pw_etcd_close(struct pw_etcd *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->urls[i]);
	free(e->urls);
	memset(e, 0, sizeof(*e));
}

void pw_etcd_copy(struct pw_etcd *to, const struct pw_etcd *from)
{
	*to = *from;
	to->urls = pw_xcalloc(from->n, sizeof(*to->urls));
	for (size_t i = 0; i < from->n; i++)
		to->urls[i] = pw_xstrdup(from->urls[i]);
}

void pw_etcd_object_key(const char *group, const char *kind, const char *ns,
			const char *name, struct pw_buf *out)
{
	pw_buf_printf(out, "%s%s/", PW_ETCD_PREFIX, group && *group ? group : "core");
	pw_kind_plural(kind, out);
	if (ns && *ns)
		pw_buf_printf(out, "/%s", ns);
	pw_buf_printf(out, "/%s", name);
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	pw_buf_add(arg, p, size * n);
	return size * n;
}

/* POST body to one member: 0 with the status and the answer, or -1 (err)
   when no answer came. */
static int post_one(const char *url, const char *path, const char *body,
		    long timeout_ms, long *status, struct pw_buf *out, struct pw_buf *err)
{
	struct pw_buf u;
	pw_buf_init(&u);
	pw_buf_printf(&u, "%s%s", url, path);
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, u.s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		pw_buf_printf(err, "%s: %s", url, curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	pw_buf_release(&u);
	return rc == CURLE_OK ? 0 : -1;
}

/* The gateway's error answer: {"error": ..., "message": ..., "code": N}. */
static void answer_error(const char *url, const struct pw_buf *out, int *code,
			 struct pw_buf *err)
{
	struct jdoc j;
	*code = -1;
	if (out->s && jparse(&j, out->s, out->len) == 0) {
		const char *m = jstr(jget(&j, j.root, "message"));
		*code = (int)jint(jget(&j, j.root, "code"));
		pw_buf_printf(err, "%s: %s", url, m ? m : "an error without a message");
		jfree(&j);
	} else {
		pw_buf_printf(err, "%s: an answer that is not JSON", url);
	}
}

/* gRPC codes worth another member: UNAVAILABLE, DEADLINE_EXCEEDED, and an
   answer that was no answer */
static bool retry_code(int code)
{
	return code == 14 || code == 4 || code < 0;
}

/* POST to the members, from the one that answered last: the answer of the
   first that gives one (parsed into j), or -1 with err (*code: the gRPC
   code of an error answer, -1 when no member answered). */
static int post(struct pw_etcd *e, const char *path, const char *body, struct jdoc *j,
		int *code, struct pw_buf *err)
{
	struct pw_buf out, why;
	pw_buf_init(&out);
	pw_buf_init(&why);
	int rc = -1;
	*code = -1;
	for (size_t t = 0; t < e->n && rc < 0; t++) {
		size_t k = (e->cur + t) % e->n;
		long status = 0;
		pw_buf_reset(&out);
		pw_buf_reset(&why);
		if (post_one(e->urls[k], path, body, e->timeout_ms, &status, &out, &why) < 0)
			continue;
		if (status == 200 && out.s && jparse(j, out.s, out.len) == 0) {
			e->cur = k;
			rc = 0;
			break;
		}
		pw_buf_reset(&why);
		answer_error(e->urls[k], &out, code, &why);
		if (!retry_code(*code))
			break;
	}
	if (rc < 0)
		pw_buf_puts(err, why.s ? why.s : "etcd: no member answered");
	pw_buf_release(&out);
	pw_buf_release(&why);
	return rc;
}

/* The end of the range of keys that start with prefix. */
static char *prefix_end(const char *prefix)
{
	char *end = pw_xstrdup(prefix);
	size_t n = strlen(end);
	while (n && (unsigned char)end[n - 1] == 0xff)
		end[--n] = 0;
	if (n)
		end[n - 1]++;
	return end;
}

int pw_etcd_range_prefix(struct pw_etcd *e, const char *prefix,
			 struct pw_etcd_kvs *kvs, int64_t *rev, struct pw_buf *err)
{
	char *end = prefix_end(prefix);
	size_t first = kvs->n;
	int rc = -1;
	/* a compaction between two pages: from the start, at a newer revision */
	for (int attempt = 0; attempt < 3 && rc < 0; attempt++) {
		while (kvs->n > first) {
			struct pw_etcd_kv *kv = &kvs->v[--kvs->n];
			free(kv->key);
			free(kv->value);
		}
		struct pw_buf from, body;
		pw_buf_init(&from);
		pw_buf_init(&body);
		pw_buf_puts(&from, prefix);
		*rev = 0;
		bool more = true;
		int code = 0;
		while (more) {
			pw_buf_reset(&body);
			pw_buf_puts(&body, "{\"key\":\"");
			b64(from.s, from.len, &body);
			pw_buf_puts(&body, "\",\"range_end\":\"");
			b64(end, strlen(end), &body);
			pw_buf_printf(&body, "\",\"limit\":%d", RANGE_PAGE);
			if (*rev)
				pw_buf_printf(&body, ",\"revision\":%lld", (long long)*rev);
			pw_buf_puts(&body, "}");
			struct jdoc j;
			if (post(e, "/v3/kv/range", body.s, &j, &code, err) < 0)
				break;
			if (!*rev)
				*rev = jint(jget(&j, jget(&j, j.root, "header"), "revision"));
			yaml_node_t *v = jget(&j, j.root, "kvs");
			size_t n = jlen(v);
			bool ok = true;
			for (size_t i = 0; i < n && ok; i++)
				ok = add_kv(&j, jitem(&j, v, i), false, kvs);
			more = jtrue(jget(&j, j.root, "more")) && n;
			jfree(&j);
			if (!ok) {
				pw_buf_puts(err, "etcd: a key or value that is not base64");
				code = -2;
				break;
			}
			/* the next page: after the last key */
			pw_buf_reset(&from);
			if (more) {
				pw_buf_puts(&from, kvs->v[kvs->n - 1].key);
				pw_buf_add(&from, "", 1);
			}
		}
		pw_buf_release(&from);
		pw_buf_release(&body);
		if (!more) {
			rc = 0;
			break;
		}
		if (code != 11) /* OUT_OF_RANGE: the revision is compacted */
			break;
		pw_buf_reset(err);
	}
	free(end);
	return rc;
}

int pw_etcd_txn(struct pw_etcd *e, const struct pw_etcd_kv *ops, size_t n,
		bool *deleted, int64_t *rev, struct pw_buf *err)
{
	struct pw_buf body;
	pw_buf_init(&body);
	pw_buf_puts(&body, "{\"success\":[");
	for (size_t i = 0; i < n; i++) {
		pw_buf_printf(&body, "%s{\"%s\":{\"key\":\"", i ? "," : "",
			      ops[i].value ? "request_put" : "request_delete_range");
		b64(ops[i].key, strlen(ops[i].key), &body);
		if (ops[i].value) {
			pw_buf_puts(&body, "\",\"value\":\"");
			b64(ops[i].value, ops[i].len, &body);
		}
		pw_buf_puts(&body, "\"}}");
	}
	pw_buf_puts(&body, "]}");
	struct jdoc j;
	int code;
	int rc = post(e, "/v3/kv/txn", body.s, &j, &code, err);
	if (rc == 0) {
		*rev = jint(jget(&j, jget(&j, j.root, "header"), "revision"));
		yaml_node_t *r = jget(&j, j.root, "responses");
		for (size_t i = 0; deleted && i < n; i++) {
			yaml_node_t *d = i < jlen(r) ? jget(&j, jitem(&j, r, i),
							    "response_delete_range")
						     : NULL;
			deleted[i] = jint(jget(&j, d, "deleted")) > 0;
		}
		jfree(&j);
	}
	pw_buf_release(&body);
	return rc;
}

/* ---- the watch stream ------------------------------------------------------ */

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct watch {
	const char *url;
	pw_etcd_watch_fn fn;
	void *arg;
	volatile int *stop;
	struct pw_buf line; /* what came of the message being read */
	double last;	    /* when something last came */
	bool done;	    /* fn or *stop ended it */
	struct pw_buf *err;
};

/* One message of the stream; false to end the stream. */
static bool watch_message(struct watch *w, const char *s, size_t n)
{
	struct jdoc j;
	if (jparse(&j, s, n) < 0) {
		pw_buf_printf(w->err, "%s: a watch message that is not JSON", w->url);
		return false;
	}
	yaml_node_t *r = jget(&j, j.root, "result");
	bool go = true;
	if (!r) {
		const char *m = jstr(jget(&j, j.root, "message"));
		pw_buf_printf(w->err, "%s: watch: %s", w->url, m ? m : "an error");
		go = false;
	} else if (jint(jget(&j, r, "compact_revision")) > 0) {
		w->done = true;
		go = w->fn(w->arg, NULL, jint(jget(&j, r, "compact_revision")), true);
	} else if (jtrue(jget(&j, r, "canceled"))) {
		const char *why = jstr(jget(&j, r, "cancel_reason"));
		pw_buf_printf(w->err, "%s: watch canceled: %s", w->url, why ? why : "no reason given");
		go = false;
	} else if (jlen(jget(&j, r, "events"))) {
		/* one call per revision: a transaction's events together */
		yaml_node_t *ev = jget(&j, r, "events");
		struct pw_etcd_kvs batch = { 0 };
		for (size_t i = 0; i < jlen(ev) && go; i++) {
			yaml_node_t *e = jitem(&j, ev, i);
			const char *type = jstr(jget(&j, e, "type"));
			bool del = type && !strcmp(type, "DELETE");
			if (!add_kv(&j, jget(&j, e, "kv"), del, &batch)) {
				pw_buf_printf(w->err, "%s: a watch event that does not decode", w->url);
				go = false;
				break;
			}
			int64_t rev = batch.v[batch.n - 1].mod_revision;
			yaml_node_t *next = i + 1 < jlen(ev) ? jget(&j, jitem(&j, ev, i + 1), "kv")
							      : NULL;
			if (!next || jint(jget(&j, next, "mod_revision")) != rev) {
				go = w->fn(w->arg, &batch, rev, false);
				w->done = !go;
				pw_etcd_kvs_release(&batch);
			}
		}
		pw_etcd_kvs_release(&batch);
	} else if (!jtrue(jget(&j, r, "created"))) {
		/* a progress notification: everything up to its revision came */
		go = w->fn(w->arg, NULL, jint(jget(&j, jget(&j, r, "header"), "revision")), false);
		w->done = !go;
	}
	jfree(&j);
	return go;
}

static size_t watch_data(char *p, size_t size, size_t n, void *arg)
{
	struct watch *w = arg;
	w->last = mono_s();
	pw_buf_add(&w->line, p, size * n);
	/* messages end with a newline */
	char *nl;
	while (w->line.len && (nl = memchr(w->line.s, '\n', w->line.len))) {
		size_t len = (size_t)(nl - w->line.s);
		if (len && !watch_message(w, w->line.s, len))
			return 0;
		memmove(w->line.s, nl + 1, w->line.len - len - 1);
		w->line.len -= len + 1;
		w->line.s[w->line.len] = 0;
	}
	return size * n;
}

/* Called about once a second while the stream is open. */
static int watch_tick(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct watch *w = arg;
	if (*w->stop) {
		w->done = true;
		return 1;
	}
	if (mono_s() - w->last < WATCH_IDLE_S)
		return 0;
	/* silent: is the member still there? */
	struct pw_buf out, err;
	pw_buf_init(&out);
	pw_buf_init(&err);
	long status = 0;
	int rc = post_one(w->url, "/v3/maintenance/status", "{}", PROBE_MS, &status, &out, &err);
	if (rc < 0 || status != 200)
		pw_buf_printf(w->err, "%s: a silent watch, and the member does not answer", w->url);
	pw_buf_release(&out);
	pw_buf_release(&err);
	w->last = mono_s();
	return rc < 0 || status != 200;
}

int pw_etcd_watch(struct pw_etcd *e, const char *prefix, int64_t from,
		  pw_etcd_watch_fn fn, void *arg, volatile int *stop, struct pw_buf *err)
{
	const char *url = e->urls[e->cur];
	struct watch w = { url, fn, arg, stop, { 0 }, mono_s(), false, err };
	char *end = prefix_end(prefix);
	struct pw_buf body, u;
	pw_buf_init(&body);
	pw_buf_init(&u);
	pw_buf_puts(&body, "{\"create_request\":{\"key\":\"");
	b64(prefix, strlen(prefix), &body);
	pw_buf_puts(&body, "\",\"range_end\":\"");
	b64(end, strlen(end), &body);
	pw_buf_printf(&body, "\",\"start_revision\":%lld,\"progress_notify\":true}}",
		      (long long)from);
	pw_buf_printf(&u, "%s/v3/watch", url);
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, u.s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.s);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_tick);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (!w.done && !err->len)
		pw_buf_printf(err, "%s: the watch ended: %s", url,
			      rc == CURLE_OK ? "closed by the member" : curl_easy_strerror(rc));
	/* a broken stream: the next call goes to the next member */
	if (!w.done)
		e->cur = (e->cur + 1) % e->n;
	pw_buf_release(&w.line);
	pw_buf_release(&body);
	pw_buf_release(&u);
	free(end);
	return w.done ? 0 : -1;
}
