// SPDX-License-Identifier: Apache-2.0
/*
 * The etcd source (lib/source/source.h): Calico's etcd datastore layout
 * (lib/etcd/etcd.h), one document per key, named by the key.
 *
 * load reads the prefix at one revision; a watcher thread then follows it
 * from the next revision and queues one batch per revision (a
 * transaction's events together), signalling an eventfd, the source's fd;
 * changes() stages one batch at a time, so each revision is one change.
 * A broken watch resumes from the last revision seen + 1, on the next
 * member, after a backoff (50 ms doubling to 1 s).  A compacted revision
 * (the watch asked for one etcd no longer has) makes the thread read
 * everything again at a new revision: that batch is staged as the
 * difference to what is in force (pw_world_stage_all), and the watch goes
 * on from there.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../etcd/etcd.h"
#include "source.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

struct batch {
	struct batch *next;
	bool full;    /* everything, at rev: stage the difference */
	int64_t rev;
	struct pw_etcd_kvs kvs;
	char *note;   /* for the log, or NULL */
};

struct etcd_src {
	struct pw_etcd e; /* the caller's */
	int efd;
	/* the watcher thread's */
	struct pw_etcd we;
	pthread_t th;
	bool running;
	volatile int stop;
	int64_t from; /* the next revision to watch */
	bool relist;  /* read everything first */
	bool heard;   /* the watch said something since it was (re)started */
	/* the queue, under mu */
	pthread_mutex_t mu;
	struct batch *head, *tail;
};

static struct etcd_src *E(const struct pw_source *s)
{
	return s->priv;
}

static void batch_free(struct batch *b)
{
	pw_etcd_kvs_release(&b->kvs);
	free(b->note);
	free(b);
}

static void push(struct etcd_src *x, struct batch *b)
{
	pthread_mutex_lock(&x->mu);
	if (x->tail)
		x->tail->next = b;
	else
		x->head = b;
	x->tail = b;
	pthread_mutex_unlock(&x->mu);
	uint64_t one = 1;
	if (write(x->efd, &one, sizeof(one)) < 0) {
		/* the counter is full: it is readable anyway */
	}
}

static char *strf(const char *fmt, ...) PW_PRINTF(1, 2);
static char *strf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = pw_xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

static void note(struct etcd_src *x, const char *fmt, ...) PW_PRINTF(2, 3);
static void note(struct etcd_src *x, const char *fmt, ...)
{
	struct batch *b = pw_xcalloc(1, sizeof(*b));
	va_list ap;
	va_start(ap, fmt);
	b->note = pw_xvasprintf(fmt, ap);
	va_end(ap);
	push(x, b);
}

static bool on_watch(void *arg, struct pw_etcd_kvs *events, int64_t rev, bool compacted)
{
	struct etcd_src *x = arg;
	x->heard = true;
	if (compacted) {
		note(x, "etcd: revision %lld is compacted (up to %lld): reading everything again",
		     (long long)x->from, (long long)rev);
		x->relist = true;
		return false;
	}
	if (events && events->n) {
		struct batch *b = pw_xcalloc(1, sizeof(*b));
		b->rev = rev;
		b->kvs = *events;
		memset(events, 0, sizeof(*events));
		push(x, b);
	}
	if (rev >= x->from)
		x->from = rev + 1;
	return !x->stop;
}

static void nap(struct etcd_src *x, int ms)
{
	for (int t = 0; t < ms && !x->stop; t += 10) {
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static void *watcher(void *arg)
{
	struct etcd_src *x = arg;
	int backoff = BACKOFF_MIN_MS;
	bool failing = false;
	while (!x->stop) {
		struct pw_buf err;
		pw_buf_init(&err);
		if (x->relist) {
			struct batch *b = pw_xcalloc(1, sizeof(*b));
			b->full = true;
			if (pw_etcd_range_prefix(&x->we, PW_ETCD_PREFIX, &b->kvs, &b->rev, &err) == 0) {
				b->note = strf(
					"etcd: relisted: %zu keys at revision %lld", b->kvs.n,
					(long long)b->rev);
				x->from = b->rev + 1;
				x->relist = false;
				push(x, b);
				backoff = BACKOFF_MIN_MS;
			} else {
				batch_free(b);
				if (!failing)
					note(x, "etcd: cannot read: %s", err.s);
				failing = true;
				nap(x, backoff);
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			}
			pw_buf_release(&err);
			continue;
		}
		x->heard = false;
		int64_t from = x->from;
		int rc = pw_etcd_watch(&x->we, PW_ETCD_PREFIX, from, on_watch, x, &x->stop, &err);
		if (x->heard) {
			backoff = BACKOFF_MIN_MS;
			if (failing)
				note(x, "etcd: watching again from revision %lld", (long long)from);
			failing = false;
		}
		if (rc < 0 && !x->stop) {
			if (!failing)
				note(x, "etcd: %s; resuming from revision %lld on %s", err.s,
				     (long long)x->from, x->we.urls[x->we.cur]);
			failing = true;
			nap(x, backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		}
		pw_buf_release(&err);
	}
	return NULL;
}

static void stop_watcher(struct etcd_src *x)
{
	if (x->running) {
		x->stop = 1;
		pthread_join(x->th, NULL);
		x->running = false;
		x->stop = 0;
	}
	pthread_mutex_lock(&x->mu);
	while (x->head) {
		struct batch *b = x->head;
		x->head = b->next;
		batch_free(b);
	}
	x->tail = NULL;
	pthread_mutex_unlock(&x->mu);
}

static int etcd_open(struct pw_source *s, const char *arg, struct pw_buf *err)
{
	struct etcd_src *x = pw_xcalloc(1, sizeof(*x));
	if (pw_etcd_open(&x->e, arg, err) < 0) {
		free(x);
		return -1;
	}
	x->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (x->efd < 0) {
		pw_buf_printf(err, "eventfd: %s", strerror(errno));
		pw_etcd_close(&x->e);
		free(x);
		return -1;
	}
	pw_etcd_copy(&x->we, &x->e);
	pthread_mutex_init(&x->mu, NULL);
	s->priv = x;
	return 0;
}

static void etcd_close(struct pw_source *s)
{
	struct etcd_src *x = E(s);
	stop_watcher(x);
	pthread_mutex_destroy(&x->mu);
	close(x->efd);
	pw_etcd_close(&x->e);
	pw_etcd_close(&x->we);
	free(x);
	s->priv = NULL;
}

static int etcd_fd(const struct pw_source *s)
{
	return E(s)->efd;
}

/* Read at one revision, then watch from the next.  When etcd cannot be
   read, the watcher reads it as soon as it can (a change then). */
static int etcd_load(struct pw_source *s, struct pw_world *w, struct pw_diags *d)
{
	struct etcd_src *x = E(s);
	stop_watcher(x);
	struct pw_etcd_kvs kvs = { 0 };
	struct pw_buf err;
	pw_buf_init(&err);
	int64_t rev = 0;
	int rc = pw_etcd_range_prefix(&x->e, PW_ETCD_PREFIX, &kvs, &rev, &err);
	if (rc == 0) {
		for (size_t i = 0; i < kvs.n; i++)
			pw_world_put(w, kvs.v[i].key, kvs.v[i].value, kvs.v[i].len);
		x->from = rev + 1;
		x->relist = false;
		if (s->log) {
			char *line = strf("etcd: %zu keys at revision %lld", kvs.n,
						    (long long)rev);
			s->log(s->log_arg, line);
			free(line);
		}
	} else {
		struct pw_pos at = { pw_arena_strdup(&d->files, s->spec), 0, 0 };
		pw_error(d, at, "%s", err.s);
		x->relist = true;
	}
	pw_etcd_kvs_release(&kvs);
	pw_buf_release(&err);
	x->we.cur = x->e.cur;
	x->running = pthread_create(&x->th, NULL, watcher, x) == 0;
	return rc;
}

static int etcd_changes(struct pw_source *s, struct pw_world *w, struct pw_diags *d)
{
	struct etcd_src *x = E(s);
	uint64_t v;
	if (read(x->efd, &v, sizeof(v)) < 0) {
		/* nothing to read: the queue says */
	}
	pthread_mutex_lock(&x->mu);
	struct batch *b = x->head;
	if (b) {
		x->head = b->next;
		if (!x->head)
			x->tail = NULL;
	}
	bool more = x->head != NULL;
	pthread_mutex_unlock(&x->mu);
	/* one batch a call: the rest wakes the caller again */
	if (more) {
		uint64_t one = 1;
		if (write(x->efd, &one, sizeof(one)) < 0) {
			/* full: readable anyway */
		}
	}
	if (!b)
		return 0;
	if (b->note && s->log)
		s->log(s->log_arg, b->note);
	int staged = 0;
	if (b->full) {
		struct pw_world_doc *docs = pw_xcalloc(b->kvs.n + 1, sizeof(*docs));
		for (size_t i = 0; i < b->kvs.n; i++)
			docs[i] = (struct pw_world_doc){ b->kvs.v[i].key, b->kvs.v[i].value,
							 b->kvs.v[i].len, 0 };
		staged = (int)pw_world_stage_all(w, docs, b->kvs.n);
		free(docs);
	} else {
		for (size_t i = 0; i < b->kvs.n; i++) {
			const struct pw_etcd_kv *kv = &b->kvs.v[i];
			if (kv->value) {
				pw_world_put(w, kv->key, kv->value, kv->len);
				staged++;
			} else if (pw_world_has(w, kv->key)) {
				pw_world_remove(w, kv->key);
				staged++;
			}
		}
	}
	batch_free(b);
	return staged;
}

static void etcd_object_name(const struct pw_source *s, const char *group,
			     const char *kind, const char *ns, const char *name,
			     struct pw_buf *out)
{
	pw_etcd_object_key(group, kind, ns, name, out);
}

/* One transaction: one revision, one change on every watching agent. */
static int etcd_write(struct pw_source *s, const struct pw_world_doc *v, size_t n,
		      struct pw_buf *err)
{
	struct pw_etcd_kv *ops = pw_xcalloc(n + 1, sizeof(*ops));
	for (size_t i = 0; i < n; i++)
		ops[i] = (struct pw_etcd_kv){ v[i].name, v[i].bytes, v[i].len, 0 };
	int64_t rev;
	int rc = n ? pw_etcd_txn(&E(s)->e, ops, n, NULL, &rev, err) : 0;
	free(ops);
	return rc;
}

const struct pw_source_ops pw_source_etcd_ops = {
	.scheme = "etcd",
	.open = etcd_open,
	.load = etcd_load,
	.fd = etcd_fd,
	.changes = etcd_changes,
	.object_name = etcd_object_name,
	.write = etcd_write,
	.close = etcd_close,
};
