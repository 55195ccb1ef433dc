// SPDX-License-Identifier: Apache-2.0
/*
 * The world (lib/world.h): documents -> cluster -> engine -> reach ->
 * dataplane, committed as one change, incrementally where it can be.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "world.h"
#include "flow/alert.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void pw_world_init(struct pw_world *w, const struct pw_world_opts *o)
{
	memset(w, 0, sizeof(*w));
	if (o)
		w->o = *o;
}

static void doc_free(struct pw_world_doc *d)
{
	free(d->name);
	free(d->bytes);
}

static void free_built(struct pw_cluster *c, struct pw_engine *e,
		       struct pw_reach *r)
{
	if (r) {
		pw_reach_release(r);
		free(r);
	}
	if (e) {
		pw_engine_release(e);
		free(e);
	}
	if (c) {
		pw_cluster_release(c);
		free(c);
	}
}

void pw_world_release(struct pw_world *w)
{
	pw_world_discard(w);
	for (size_t i = 0; i < w->ndocs; i++)
		doc_free(&w->docs[i]);
	free(w->docs);
	free(w->pending);
	free_built(w->c, w->e, w->reach);
	memset(w, 0, sizeof(*w));
}

void pw_world_set_dataplane(struct pw_world *w, struct pw_dp *dp)
{
	w->dp = dp;
}

/* ---- documents ------------------------------------------------------------ */

static int doc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_world_doc *)a)->name,
		      ((const struct pw_world_doc *)b)->name);
}

static struct pw_world_doc *find_doc(struct pw_world_doc *v, size_t n,
				     const char *name)
{
	struct pw_world_doc key = { .name = (char *)name };
	if (!n)
		return NULL;
	return bsearch(&key, v, n, sizeof(*v), doc_cmp);
}

bool pw_world_has(const struct pw_world *w, const char *name)
{
	return find_doc(w->docs, w->ndocs, name) != NULL;
}

static void stage(struct pw_world *w, const char *name, const unsigned char *bytes,
		  size_t len, bool remove)
{
	for (size_t i = 0; i < w->npending; i++)
		if (!strcmp(w->pending[i].name, name)) {
			doc_free(&w->pending[i]);
			w->pending[i] = w->pending[--w->npending];
			break;
		}
	if (w->npending == w->pending_cap) {
		w->pending_cap = w->pending_cap ? w->pending_cap * 2 : 8;
		w->pending = pw_xrealloc(w->pending, w->pending_cap * sizeof(*w->pending));
	}
	struct pw_world_doc *d = &w->pending[w->npending++];
	d->name = pw_xstrdup(name);
	d->bytes = NULL;
	d->len = 0;
	if (!remove) {
		d->bytes = pw_xmalloc(len + 1);
		memcpy(d->bytes, bytes, len);
		d->bytes[len] = 0;
		d->len = len;
	}
	d->hash = remove ? 0 : pw_hash_bytes(bytes, len, 0x646f63);
}

void pw_world_put(struct pw_world *w, const char *name,
		  const unsigned char *bytes, size_t len)
{
	stage(w, name, bytes, len, false);
}

void pw_world_remove(struct pw_world *w, const char *name)
{
	stage(w, name, NULL, 0, true);
}

static size_t put_one(void *arg, const char *name, const unsigned char *bytes,
		      size_t len, struct pw_diags *d)
{
	pw_world_put(arg, name, bytes, len);
	return 0;
}

void pw_world_put_path(struct pw_world *w, const char *path, struct pw_diags *d)
{
	struct pw_arena names;
	size_t from = d->n;
	pw_arena_init(&names);
	pw_walk_path(path, &names, put_one, w, d);
	pw_diags_keep_files(d, from);
	pw_arena_release(&names);
}

static int doc_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pw_world_doc *)a)->name,
		      ((const struct pw_world_doc *)b)->name);
}

size_t pw_world_stage_all(struct pw_world *w, const struct pw_world_doc *v, size_t n)
{
	struct pw_world_doc *s = pw_xcalloc(n + 1, sizeof(*s));
	size_t staged = 0;
	if (n)
		memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), doc_name_cmp);
	for (size_t i = 0; i < w->ndocs; i++) {
		struct pw_world_doc key = { .name = w->docs[i].name };
		if (!bsearch(&key, s, n, sizeof(*s), doc_name_cmp)) {
			pw_world_remove(w, w->docs[i].name);
			staged++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct pw_world_doc *old = find_doc(w->docs, w->ndocs, s[i].name);
		if (old && old->len == s[i].len &&
		    (!s[i].len || !memcmp(old->bytes, s[i].bytes, s[i].len)))
			continue;
		pw_world_put(w, s[i].name, s[i].bytes, s[i].len);
		staged++;
	}
	free(s);
	return staged;
}

void pw_world_discard(struct pw_world *w)
{
	for (size_t i = 0; i < w->npending; i++)
		doc_free(&w->pending[i]);
	w->npending = 0;
}

/* The documents in force with what is staged applied (shallow copies;
   NULL bytes dropped), sorted. */
static struct pw_world_doc *next_docs(const struct pw_world *w, size_t *n)
{
	struct pw_world_doc *v = pw_xcalloc(w->ndocs + w->npending + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < w->ndocs; i++) {
		bool staged = false;
		for (size_t j = 0; j < w->npending && !staged; j++)
			staged = !strcmp(w->pending[j].name, w->docs[i].name);
		if (!staged)
			v[k++] = w->docs[i];
	}
	for (size_t j = 0; j < w->npending; j++)
		if (w->pending[j].bytes)
			v[k++] = w->pending[j];
	qsort(v, k, sizeof(*v), doc_cmp);
	*n = k;
	return v;
}

/* What is staged becomes what is in force. */
static void adopt_pending(struct pw_world *w)
{
	for (size_t j = 0; j < w->npending; j++) {
		struct pw_world_doc *p = &w->pending[j];
		struct pw_world_doc *d = find_doc(w->docs, w->ndocs, p->name);
		if (d) {
			doc_free(d);
			if (p->bytes) {
				*d = *p;
				continue;
			}
			*d = w->docs[--w->ndocs];
			free(p->name);
		} else if (p->bytes) {
			if (w->ndocs == w->docs_cap) {
				w->docs_cap = w->docs_cap ? w->docs_cap * 2 : 16;
				w->docs = pw_xrealloc(w->docs, w->docs_cap * sizeof(*w->docs));
			}
			w->docs[w->ndocs++] = *p;
		} else {
			free(p->name);
		}
		qsort(w->docs, w->ndocs, sizeof(*w->docs), doc_cmp);
	}
	qsort(w->docs, w->ndocs, sizeof(*w->docs), doc_cmp);
	w->npending = 0;
}

/* ---- building ------------------------------------------------------------- */

struct built {
	struct pw_cluster *c;
	struct pw_engine *e;
	struct pw_reach *reach;
};

static int build(const struct pw_world *w, const struct pw_world_doc *docs,
		 size_t n, struct pw_diags *d, struct built *b, struct pw_commit *res)
{
	double t0 = now_ms();
	memset(b, 0, sizeof(*b));
	b->c = pw_xcalloc(1, sizeof(*b->c));
	pw_cluster_init(b->c);
	b->c->template_replicas = w->o.replicas;
	b->c->apply_ns = w->o.apply_ns;
	size_t errors = d->errors, from = d->n;
	for (size_t i = 0; i < n; i++)
		pw_cluster_load_buffer(b->c, docs[i].name, docs[i].bytes, docs[i].len, d);
	pw_cluster_finish(b->c, d);
	if (w->o.engine_flags & PW_ENGINE_IPBLOCK_EXCLUDES_PODS)
		pw_cluster_check_ipblock_ports(b->c, d);
	pw_diags_keep_files(d, from);
	if (d->errors > errors ||
	    (w->o.prepare && w->o.prepare(b->c, w->o.prepare_arg) < 0)) {
		free_built(b->c, NULL, NULL);
		b->c = NULL;
		return -1;
	}
	double t1 = now_ms();
	b->e = pw_xcalloc(1, sizeof(*b->e));
	if (pw_engine_build(b->e, b->c, w->o.engine_flags) < 0) {
		pw_error(d, (struct pw_pos){ 0 }, "cannot build the policy engine");
		free(b->e);
		b->e = NULL;
		free_built(b->c, NULL, NULL);
		b->c = NULL;
		return -1;
	}
	if (w->o.reach) {
		b->reach = pw_xcalloc(1, sizeof(*b->reach));
		if (pw_reach_build(b->reach, b->e) < 0) {
			free(b->reach);
			b->reach = NULL;
		}
	}
	res->ms_load += t1 - t0;
	res->ms_engine += now_ms() - t1;
	return 0;
}

size_t pw_world_bytes(const struct pw_world *w)
{
	size_t n = 0;
	if (w->c)
		n += w->c->arena.total;
	if (w->e)
		n += w->e->arena.total;
	if (w->reach)
		n += w->reach->arena.total;
	return n;
}

/* ---- incremental ------------------------------------------------------------ */

static bool same_file(const struct pw_pos *p, const char *name)
{
	return p->file && !strcmp(p->file, name);
}

/* Does any object other than a policy come from document name? */
static bool has_other_objects(const struct pw_cluster *c, const char *name)
{
#define FROM(arr, n)                                  \
	for (uint32_t i_ = 0; i_ < (n); i_++)          \
		if (same_file(&(arr)[i_].pos, name))   \
			return true;
	FROM(c->pods, c->npods)
	FROM(c->wls, c->nwls)
	FROM(c->svcs, c->nsvcs)
	FROM(c->eps, c->neps)
	FROM(c->ings, c->nings)
	FROM(c->tiers, c->ntiers)
	FROM(c->netsets, c->nnetsets)
	FROM(c->alerts, c->nalerts)
	if (c->audit) {
		FROM(c->audit->scs, c->audit->nscs)
		FROM(c->audit->eks, c->audit->neks)
	}
	for (uint32_t i = 0; i < c->nns; i++)
		if (c->nss[i].declared && same_file(&c->nss[i].pos, name))
			return true;
#undef FROM
	return false;
}

static bool tier_exists(const struct pw_cluster *c, const char *name)
{
	for (uint32_t i = 0; i < c->ntiers; i++)
		if (!strcmp(c->tiers[i].name, name))
			return true;
	return false;
}

/*
 * Can document p's change be applied to the live cluster policy by policy?
 * s is p's new content loaded alone (no errors).  NULL, or why not.
 */
static bool is_pending(const struct pw_world *w, const char *file)
{
	for (size_t j = 0; j < w->npending; j++)
		if (file && !strcmp(w->pending[j].name, file))
			return true;
	return false;
}

static const char *why_not_incremental(const struct pw_world *w,
				       const struct pw_world_doc *p,
				       const struct pw_cluster *s)
{
	const struct pw_cluster *c = w->c;
	if (has_other_objects(c, p->name))
		return "the document held objects other than policies";
	if (s->npods || s->nwls || s->nsvcs || s->neps || s->nings || s->ntiers ||
	    s->nnetsets || s->nsas || s->nskipped || s->nalerts || s->audit)
		return "the document holds objects other than policies";
	for (uint32_t i = 0; i < s->nns; i++)
		if (s->nss[i].declared || pw_cluster_find_ns(c, s->nss[i].name) < 0)
			return "a namespace comes or goes";
	for (uint32_t i = 0; i < s->npols; i++)
		if (s->pols[i].staged != PW_ENFORCED)
			return "a staged policy";
	for (uint32_t i = 0; i < s->ncpols; i++) {
		const struct pw_cpolicy *q = &s->cpols[i];
		if (q->staged != PW_ENFORCED)
			return "a staged policy";
		if (!tier_exists(c, q->tier))
			return "a policy in a tier not defined";
		for (uint32_t k = 0; k < c->ncpols; k++) {
			const struct pw_cpolicy *o = &c->cpols[k];
			if (!o->deleted && !is_pending(w, o->pos.file) &&
			    !strcmp(o->kind, q->kind) && !strcmp(o->tier, q->tier) &&
			    !strcmp(o->name, q->name) &&
			    (o->ns < 0 ? -1 : pw_cluster_find_ns(c, c->nss[o->ns].name)) ==
				    (q->ns < 0 ? -1 : pw_cluster_find_ns(c, s->nss[q->ns].name)))
				return "a duplicate";
		}
	}
	for (uint32_t i = 0; i < c->npols; i++)
		if (same_file(&c->pols[i].pos, p->name) && !c->pols[i].deleted &&
		    c->pols[i].staged != PW_ENFORCED)
			return "a staged policy";
	for (uint32_t i = 0; i < c->ncpols; i++)
		if (same_file(&c->cpols[i].pos, p->name) && !c->cpols[i].deleted &&
		    c->cpols[i].staged != PW_ENFORCED)
			return "a staged policy";
	/* an object of the same key from another document: a duplicate */
	for (size_t i = 0; i < s->objects.cap; i++) {
		const char *key = s->objects.keys ? s->objects.keys[i] : NULL;
		if (!key)
			continue;
		const struct pw_pos *at = pw_strmap_get(&c->objects, key);
		if (at && !is_pending(w, at->file))
			return "a duplicate";
	}
	return NULL;
}

/* Build the engine and reach of w->c anew (engine_too false: the reach
   only).  0 or -1. */
static int rebuild_engine(struct pw_world *w, bool engine_too)
{
	if (w->reach) {
		pw_reach_release(w->reach);
		free(w->reach);
		w->reach = NULL;
	}
	if (engine_too) {
		pw_engine_release(w->e);
		if (pw_engine_build(w->e, w->c, w->o.engine_flags) < 0)
			return -1;
	}
	if (w->o.reach) {
		w->reach = pw_xcalloc(1, sizeof(*w->reach));
		if (pw_reach_build(w->reach, w->e) < 0) {
			free(w->reach);
			w->reach = NULL;
		}
	}
	w->baseline = pw_world_bytes(w);
	w->rebuilds++;
	return 0;
}

static int enforce(struct pw_world *w, struct pw_diags *d, struct pw_commit *res);

/* The reach after an engine update (aff: the identities it moved). */
static int follow_reach(struct pw_world *w, int rc_reach, struct pw_commit *res)
{
	if (rc_reach >= 0)
		return 0;
	res->kind = PW_COMMIT_REBUILD;
	res->why_rebuild = "the matrix could not absorb the change";
	return rebuild_engine(w, false);
}

int pw_world_update_policy(struct pw_world *w, enum pw_gsrc src, uint32_t k,
			   struct pw_commit *res)
{
	double t0 = now_ms();
	memset(res, 0, sizeof(*res));
	res->kind = PW_COMMIT_INCREMENTAL;
	uint64_t *aff = pw_xcalloc(w->e->nwords + 1, sizeof(uint64_t));
	int rc = 0;
	if (pw_engine_update_policy(w->e, src, k, aff) < 0) {
		res->kind = PW_COMMIT_REBUILD;
		res->why_rebuild = "the engine could not absorb the change";
		rc = rebuild_engine(w, true);
		res->ms_engine = now_ms() - t0;
	} else {
		double t1 = now_ms();
		res->ms_engine = t1 - t0;
		if (w->reach)
			rc = follow_reach(w, pw_reach_update_policy(w->reach, aff), res);
		res->ms_reach = now_ms() - t1;
	}
	free(aff);
	if (!rc && w->dp) {
		struct pw_diags d;
		pw_diags_init(&d);
		rc = enforce(w, &d, res);
		pw_diags_release(&d);
	}
	res->ms_total = now_ms() - t0;
	return rc;
}

int pw_world_update_pod(struct pw_world *w, uint32_t pod, struct pw_commit *res)
{
	double t0 = now_ms();
	memset(res, 0, sizeof(*res));
	res->kind = PW_COMMIT_INCREMENTAL;
	int rc = 0;
	if (pw_engine_update_pod(w->e, pod) < 0) {
		res->kind = PW_COMMIT_REBUILD;
		res->why_rebuild = "the engine could not absorb the change";
		rc = rebuild_engine(w, true);
		res->ms_engine = now_ms() - t0;
	} else {
		double t1 = now_ms();
		res->ms_engine = t1 - t0;
		if (w->reach)
			rc = follow_reach(w, pw_reach_update_pod(w->reach, pod), res);
		res->ms_reach = now_ms() - t1;
	}
	if (!rc && w->dp) {
		struct pw_diags d;
		pw_diags_init(&d);
		rc = enforce(w, &d, res);
		pw_diags_release(&d);
	}
	res->ms_total = now_ms() - t0;
	return rc;
}

void pw_world_want_reach(struct pw_world *w)
{
	w->o.reach = true;
	if (w->reach || !w->e)
		return;
	w->reach = pw_xcalloc(1, sizeof(*w->reach));
	if (pw_reach_build(w->reach, w->e) < 0) {
		free(w->reach);
		w->reach = NULL;
	}
}

int pw_world_adopt(struct pw_world *w, struct pw_cluster *c, struct pw_diags *d)
{
	free_built(w->c, w->e, w->reach);
	w->c = c;
	w->e = pw_xcalloc(1, sizeof(*w->e));
	w->reach = NULL;
	if (pw_engine_build(w->e, c, w->o.engine_flags) < 0) {
		pw_error(d, (struct pw_pos){ 0 }, "cannot build the policy engine");
		return -1;
	}
	if (rebuild_engine(w, false) < 0)
		return -1;
	w->loaded = true;
	return 0;
}

/* Mark the policies of document name deleted, forget their keys, and
   update the engine for each.  -1: rebuild. */
static int drop_policies(struct pw_world *w, const char *name, uint64_t *aff)
{
	struct pw_cluster *c = w->c;
	for (size_t i = 0; i < c->objects.cap; i++) {
		const char *key = c->objects.keys ? c->objects.keys[i] : NULL;
		const struct pw_pos *at = key ? c->objects.vals[i] : NULL;
		if (at && same_file(at, name))
			c->objects.vals[i] = NULL;
	}
#define DROP(arr, n, src)                                                 \
	for (uint32_t k = 0; k < (n); k++)                                 \
		if (!(arr)[k].deleted && same_file(&(arr)[k].pos, name)) {  \
			(arr)[k].deleted = true;                           \
			if (pw_engine_update_policy(w->e, src, k, aff) < 0) \
				return -1;                                 \
		}
	DROP(c->pols, c->npols, PW_SRC_K8S)
	DROP(c->cpols, c->ncpols, PW_SRC_CALICO)
	DROP(c->apols, c->napols, PW_SRC_ADMIN)
#undef DROP
	return 0;
}

/* Apply the staged documents policy by policy.  1 done, 0 not possible
   (nothing changed), -1 a rebuild is needed (the live state changed). */
static int incremental(struct pw_world *w, struct pw_diags *d, struct pw_commit *res)
{
	if (!w->c || !w->e)
		return 0;
	/* every staged document must qualify, checked before anything moves;
	   the staged documents together must not define an object twice */
	struct pw_strmap keys;
	struct pw_arena karena;
	pw_strmap_init(&keys);
	pw_arena_init(&karena);
	const char *why = NULL;
	for (size_t j = 0; j < w->npending && !why; j++) {
		struct pw_world_doc *p = &w->pending[j];
		struct pw_cluster s;
		pw_cluster_init(&s);
		s.apply_ns = w->o.apply_ns;
		if (p->bytes) {
			struct pw_diags sd;
			pw_diags_init(&sd);
			pw_cluster_load_buffer(&s, p->name, p->bytes, p->len, &sd);
			if (sd.errors)
				why = "errors";
			pw_diags_release(&sd);
		}
		if (!why)
			why = why_not_incremental(w, p, &s);
		for (size_t i = 0; !why && i < s.objects.cap; i++) {
			const char *key = s.objects.keys ? s.objects.keys[i] : NULL;
			if (!key)
				continue;
			if (pw_strmap_get(&keys, key))
				why = "a duplicate";
			else
				pw_strmap_put(&keys, pw_arena_strdup(&karena, key), (void *)1);
		}
		/* Calico's (kind, namespace, tier, name) among the staged ones */
		for (uint32_t i = 0; !why && i < s.ncpols; i++) {
			const struct pw_cpolicy *q = &s.cpols[i];
			const char *ck = pw_arena_printf(&karena, "calico\x1f%s\x1f%s\x1f%s\x1f%s", q->kind,
							 q->ns < 0 ? "" : s.nss[q->ns].name, q->tier, q->name);
			if (pw_strmap_get(&keys, ck))
				why = "a duplicate";
			else
				pw_strmap_put(&keys, ck, (void *)1);
		}
		pw_cluster_release(&s);
	}
	pw_strmap_release(&keys);
	pw_arena_release(&karena);
	if (why) {
		res->why_rebuild = why;
		return 0;
	}
	double t0 = now_ms();
	struct pw_cluster *c = w->c;
	uint64_t *aff = pw_xcalloc(w->e->nwords + 1, sizeof(uint64_t));
	int rc = 1;
	for (size_t j = 0; j < w->npending && rc > 0; j++) {
		struct pw_world_doc *p = &w->pending[j];
		if (drop_policies(w, p->name, aff) < 0) {
			rc = -1;
			break;
		}
		if (!p->bytes)
			continue;
		uint32_t n0[3] = { c->npols, c->ncpols, c->napols };
		size_t errors = d->errors;
		pw_cluster_load_buffer(c, p->name, p->bytes, p->len, d);
		if (d->errors > errors) {
			rc = -1;
			break;
		}
		uint32_t n1[3] = { c->npols, c->ncpols, c->napols };
		static const enum pw_gsrc srcs[3] = { PW_SRC_K8S, PW_SRC_CALICO, PW_SRC_ADMIN };
		for (int x = 0; x < 3 && rc > 0; x++)
			for (uint32_t k = n0[x]; k < n1[x]; k++) {
				res->objects_changed++;
				if (pw_engine_update_policy(w->e, srcs[x], k, aff) < 0) {
					rc = -1;
					break;
				}
			}
	}
	double t1 = now_ms();
	if (rc > 0 && w->reach &&
	    follow_reach(w, pw_reach_update_policy(w->reach, aff), res) < 0)
		rc = -1;
	if (rc > 0)
		res->kind = PW_COMMIT_INCREMENTAL;
	free(aff);
	res->ms_reach += now_ms() - t1;
	res->ms_load += t1 - t0;
	return rc;
}

/* ---- the dataplane ------------------------------------------------------- */

static int enforce(struct pw_world *w, struct pw_diags *d, struct pw_commit *res)
{
	if (!w->dp)
		return 0;
	double t0 = now_ms();
	const struct pw_cluster *c = w->c;
	struct pw_dp_port *ports = pw_xcalloc(c->npods + 1, sizeof(*ports));
	char (*names)[16] = pw_xcalloc(c->npods + 1, 16);
	size_t n = 0;
	for (uint32_t i = 0; i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];
		if (w->o.node && (!p->node || strcmp(p->node, w->o.node)))
			continue;
		if (!w->o.port_of || !w->o.port_of(w->o.port_arg, c, i, names[n]))
			continue;
		ports[n] = (struct pw_dp_port){ i, names[n] };
		n++;
	}
	struct pw_dp_table *t = pw_dp_render(w->dp, w->e, ports, n);
	double t1 = now_ms();
	struct pw_buf err;
	pw_buf_init(&err);
	int rc = pw_dp_apply(w->dp, t, &res->delta, &err);
	if (rc < 0) {
		pw_error(d, (struct pw_pos){ 0 }, "the dataplane refused the change: %s",
			 err.s ? err.s : "");
		pw_dp_free_table(w->dp, t);
	}
	pw_buf_release(&err);
	free(ports);
	free(names);
	res->ms_render += t1 - t0;
	res->ms_dataplane += now_ms() - t1;
	return rc;
}

/* ---- commit ---------------------------------------------------------------- */

static void adopt_built(struct pw_world *w, struct built *b)
{
	free_built(w->c, w->e, w->reach);
	w->c = b->c;
	w->e = b->e;
	w->reach = b->reach;
	w->loaded = true;
	w->baseline = pw_world_bytes(w);
	w->rebuilds++;
}

/* Rebuild from docs; on success the new build is in force (the
   dataplane too).  On failure nothing changed. */
static int rebuild_from(struct pw_world *w, const struct pw_world_doc *docs,
			size_t n, struct pw_diags *d, struct pw_commit *res)
{
	struct built b;
	if (build(w, docs, n, d, &b, res) < 0)
		return -1;
	struct built old = { w->c, w->e, w->reach };
	w->c = b.c;
	w->e = b.e;
	w->reach = b.reach;
	if (enforce(w, d, res) < 0) {
		w->c = old.c;
		w->e = old.e;
		w->reach = old.reach;
		free_built(b.c, b.e, b.reach);
		return -1;
	}
	w->c = old.c;
	w->e = old.e;
	w->reach = old.reach;
	adopt_built(w, &b);
	return 0;
}

int pw_world_commit(struct pw_world *w, struct pw_diags *d, struct pw_commit *res)
{
	double t0 = now_ms();
	memset(res, 0, sizeof(*res));
	/* what actually changes */
	for (size_t j = 0; j < w->npending;) {
		struct pw_world_doc *p = &w->pending[j];
		struct pw_world_doc *was = find_doc(w->docs, w->ndocs, p->name);
		bool same = p->bytes ? was && was->hash == p->hash && was->len == p->len &&
					       !memcmp(was->bytes, p->bytes, p->len)
				     : !was;
		if (same && w->loaded) {
			doc_free(p);
			w->pending[j] = w->pending[--w->npending];
		} else {
			j++;
		}
	}
	if (!w->npending && w->loaded) {
		res->kind = PW_COMMIT_NONE;
		return 0;
	}
	/* the staged documents' own errors first: they reject the change */
	size_t errors = d->errors;
	for (size_t j = 0; j < w->npending; j++) {
		struct pw_world_doc *p = &w->pending[j];
		if (!p->bytes)
			continue;
		struct pw_cluster s;
		pw_cluster_init(&s);
		s.apply_ns = w->o.apply_ns;
		struct pw_diags sd;
		pw_diags_init(&sd);
		pw_cluster_load_buffer(&s, p->name, p->bytes, p->len, &sd);
		if (sd.errors) {
			size_t from = d->n;
			for (size_t i = 0; i < sd.n; i++)
				pw_diag_add(d, sd.v[i].sev, sd.v[i].pos, "%s", sd.v[i].msg);
			pw_diags_keep_files(d, from);
		}
		pw_diags_release(&sd);
		pw_cluster_release(&s);
	}
	if (d->errors > errors) {
		pw_world_discard(w);
		res->kind = PW_COMMIT_REJECTED;
		res->ms_total = now_ms() - t0;
		return -1;
	}
	int rc = incremental(w, d, res);
	size_t n;
	struct pw_world_doc *next = next_docs(w, &n);
	if (rc > 0) {
		res->kind = PW_COMMIT_INCREMENTAL;
		if (enforce(w, d, res) < 0) {
			/* back to the documents in force */
			struct pw_commit r2 = { 0 };
			rebuild_from(w, w->docs, w->ndocs, d, &r2);
			free(next);
			pw_world_discard(w);
			res->kind = PW_COMMIT_REJECTED;
			res->ms_total = now_ms() - t0;
			return -1;
		}
		w->incrementals++;
	} else {
		if (rc < 0 && !res->why_rebuild)
			res->why_rebuild = "the engine could not absorb the change";
		if (!res->why_rebuild)
			res->why_rebuild = w->loaded ? "the change" : "first load";
		res->kind = PW_COMMIT_REBUILD;
		if (rebuild_from(w, next, n, d, res) < 0) {
			if (rc < 0) /* the live cluster moved: back to what was */
				rebuild_from(w, w->docs, w->ndocs, d, &(struct pw_commit){ 0 });
			free(next);
			pw_world_discard(w);
			res->kind = PW_COMMIT_REJECTED;
			res->ms_total = now_ms() - t0;
			return -1;
		}
	}
	free(next);
	adopt_pending(w);
	w->generation++;
	res->ms_total = now_ms() - t0;
	return 0;
}

bool pw_world_wants_reclaim(const struct pw_world *w)
{
	return w->loaded && pw_world_bytes(w) > w->baseline + w->baseline / 10 + (1u << 20);
}

int pw_world_reclaim(struct pw_world *w, struct pw_diags *d, struct pw_commit *res)
{
	int rc = pw_world_rebuild(w, d, res);
	res->why_rebuild = "memory reclaimed";
	/* give the freed pages back */
	malloc_trim(0);
	return rc;
}

int pw_world_rebuild(struct pw_world *w, struct pw_diags *d, struct pw_commit *res)
{
	double t0 = now_ms();
	memset(res, 0, sizeof(*res));
	res->kind = PW_COMMIT_REBUILD;
	res->why_rebuild = "asked";
	int rc = rebuild_from(w, w->docs, w->ndocs, d, res);
	if (rc < 0)
		res->kind = PW_COMMIT_REJECTED;
	res->ms_total = now_ms() - t0;
	return rc;
}
