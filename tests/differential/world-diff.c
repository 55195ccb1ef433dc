// SPDX-License-Identifier: Apache-2.0
/*
 * The differential test of the world (lib/world.c): the update protocol
 * the agent and the lab use, against a world built from scratch.
 *
 * For every input (a file or a directory; each YAML document becomes a
 * document of its own, as `podwall apply` stores objects): commit it into
 * a world with the dry-run dataplane, then apply --changes random changes,
 * one commit each: delete a document, restore a deleted one, give a policy
 * another policy's spec (same kind), or two such changes in one commit.
 * After each commit, a fresh world is built from the documents the first
 * one holds, and both must agree:
 *   - accepted or rejected alike (a fresh load of the proposed documents
 *     fails exactly when the commit was rejected; a rejected commit leaves
 *     the documents as they were);
 *   - every verdict: what may flow between every pair of pods and from and
 *     to sample outside addresses (pw_engine_conns), and the reach's answer
 *     where it has one;
 *   - the dataplane: the table the dry-run backend holds is the table the
 *     fresh world renders, line for line.
 * At the end, the memory the world holds is compared with the fresh one's
 * (the world rebuilds when waste passes its threshold).
 *
 * usage: world-diff [--changes N] [--seed S] [--flags F] PATH...
 * Ends with "world-diff: N passed, M failed" (one check per commit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/flow/ids.h"
#include "../../lib/world.h"

static uint64_t rng = 0x853c49e6748fea9bull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

static int passed, failed;
static unsigned flags;

struct doc {
	char *name;
	char *text; /* NULL: deleted */
	char *orig;
	bool policy;
	char kind[64];
};

static bool port_of(void *arg, const struct pw_cluster *c, uint32_t pod,
		    char ifname[static 16])
{
	(void)arg;
	if (!c->pods[pod].naddrs)
		return false;
	snprintf(ifname, 16, "p%u", pod);
	return true;
}

/* One registry of rule ids for every world of a run: a rule's id is the
   one it was first given (lib/flow/ids.h), so the world changed in place
   and a fresh one render the same ids only if they share it. */
static struct pw_flow_ids *ids;

static void open_world(struct pw_world *w, struct pw_dp *dp)
{
	if (!ids)
		ids = pw_flow_ids_new(NULL, NULL);
	struct pw_world_opts o = { 0 };
	o.engine_flags = flags;
	o.reach = true;
	o.port_of = port_of;
	pw_world_init(w, &o);
	struct pw_buf err;
	pw_buf_init(&err);
	if (pw_dp_open(dp, "dry-run", "podwall", NULL, &err) < 0) {
		fprintf(stderr, "world-diff: %s\n", err.s);
		exit(2);
	}
	pw_buf_release(&err);
	dp->services = true;
	dp->ids = ids;
	pw_world_set_dataplane(w, dp);
}

static void put_all(struct pw_world *w, const struct doc *docs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (docs[i].text)
			pw_world_put(w, docs[i].name, (const unsigned char *)docs[i].text,
				     strlen(docs[i].text));
}

/* The lines of a dump, sorted: tables compared whatever their order. */
static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}
static char **sorted_lines(char *s, size_t *n)
{
	size_t cap = 64;
	char **v = pw_xmalloc(cap * sizeof(*v));
	*n = 0;
	char *save = NULL;
	for (char *l = s ? strtok_r(s, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		if (*n == cap)
			v = pw_xrealloc(v, (cap *= 2) * sizeof(*v));
		v[(*n)++] = l;
	}
	qsort(v, *n, sizeof(*v), line_cmp);
	return v;
}

static const char *const fixed_addrs[] = { "192.0.2.1", "198.51.100.7", "10.0.0.1",
					   "8.8.8.8", "203.0.113.200" };

/* Compare world a with a fresh world built from the same documents. */
static bool compare(struct pw_world *a, const struct doc *docs, size_t ndocs,
		    const char *what, size_t *bytes_fresh)
{
	struct pw_world b;
	struct pw_dp dpb;
	struct pw_diags d;
	struct pw_commit res;
	open_world(&b, &dpb);
	put_all(&b, docs, ndocs);
	pw_diags_init(&d);
	int rc = pw_world_commit(&b, &d, &res);
	pw_diags_release(&d);
	bool ok = true;
	if (rc < 0) {
		printf("FAIL %s: the world took the change, a fresh load refuses it\n", what);
		ok = false;
		goto out;
	}
	*bytes_fresh = pw_world_bytes(&b);
	const struct pw_cluster *ca = a->c, *cb = b.c;
	if (ca->npods != cb->npods) {
		printf("FAIL %s: %u pods, fresh %u\n", what, ca->npods, cb->npods);
		ok = false;
		goto out;
	}
	uint32_t n = ca->npods;
	struct pw_ep *ea = pw_xcalloc(n + 8, sizeof(*ea)), *eb = pw_xcalloc(n + 8, sizeof(*eb));
	uint32_t m = 0;
	for (uint32_t i = 0; i < n && i < 60; i++, m++) {
		ea[m] = pw_ep_pod(ca, i);
		eb[m] = pw_ep_pod(cb, i);
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(fixed_addrs); i++) {
		struct pw_addr ad;
		if (pw_addr_parse(fixed_addrs[i], &ad) < 0)
			continue;
		ea[m] = eb[m] = pw_ep_addr(&ad);
		m++;
	}
	struct pw_conns x, y, z;
	pw_conns_init(&x);
	pw_conns_init(&y);
	pw_conns_init(&z);
	uint32_t bad = 0;
	for (uint32_t i = 0; i < m && bad < 3; i++)
		for (uint32_t k = 0; k < m && bad < 3; k++) {
			if (ea[i].pod < 0 && ea[k].pod < 0)
				continue;
			pw_engine_conns(a->e, &ea[i], &ea[k], &x);
			pw_engine_conns(b.e, &eb[i], &eb[k], &y);
			bool r = a->reach && pw_reach_conns(a->reach, &ea[i], &ea[k], &z);
			if (!pw_conns_equal(&x, &y) || (r && !pw_conns_equal(&z, &y))) {
				struct pw_buf s1, s2;
				pw_buf_init(&s1);
				pw_buf_init(&s2);
				pw_conns_format(&x, &s1);
				pw_conns_format(&y, &s2);
				printf("FAIL %s: %u -> %u: world [%s]%s, fresh [%s]\n", what, i, k,
				       s1.s, r && !pw_conns_equal(&z, &y) ? " (reach differs)" : "",
				       s2.s);
				pw_buf_release(&s1);
				pw_buf_release(&s2);
				bad++;
			}
		}
	pw_conns_release(&x);
	pw_conns_release(&y);
	pw_conns_release(&z);
	free(ea);
	free(eb);
	if (bad)
		ok = false;
	/* the dataplanes */
	struct pw_buf ta, tb;
	pw_buf_init(&ta);
	pw_buf_init(&tb);
	a->dp->ops->dump(a->dp, &ta);
	dpb.ops->dump(&dpb, &tb);
	size_t na, nb;
	char *dump_a = getenv("WORLD_DIFF_DUMP") ? pw_xstrdup(ta.s ? ta.s : "") : NULL;
	char *dump_b = dump_a ? pw_xstrdup(tb.s ? tb.s : "") : NULL;
	char **la = sorted_lines(ta.s, &na), **lb = sorted_lines(tb.s, &nb);
	for (size_t i = 0; i < na || i < nb; i++)
		if (i >= na || i >= nb || strcmp(la[i], lb[i])) {
			printf("FAIL %s: dataplane differs: world %s | fresh %s\n", what,
			       i < na ? la[i] : "(end)", i < nb ? lb[i] : "(end)");
			if (dump_a)
				printf("WORLD:\n%s\nFRESH:\n%s\n", dump_a, dump_b);
			ok = false;
			break;
		}
	free(dump_a);
	free(dump_b);
	free(la);
	free(lb);
	pw_buf_release(&ta);
	pw_buf_release(&tb);
out:
	pw_world_release(&b);
	pw_dp_close(&dpb);
	return ok;
}

/* Does a fresh load of these documents fail? */
static bool fresh_fails(const struct doc *docs, size_t n)
{
	struct pw_world b;
	struct pw_dp dpb;
	struct pw_diags d;
	struct pw_commit res;
	open_world(&b, &dpb);
	put_all(&b, docs, n);
	pw_diags_init(&d);
	int rc = pw_world_commit(&b, &d, &res);
	pw_diags_release(&d);
	pw_world_release(&b);
	pw_dp_close(&dpb);
	return rc < 0;
}

/* ---- reading the input as one document per object -------------------------- */

struct reading {
	struct doc *docs;
	size_t n, cap;
};

static size_t take_file(void *arg, const char *name, const unsigned char *bytes,
			size_t len, struct pw_diags *d)
{
	struct reading *r = arg;
	struct pw_span *sp;
	size_t n = pw_split_documents(bytes, len, &sp);
	for (size_t i = 0; i < n; i++) {
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 64;
			r->docs = pw_xrealloc(r->docs, r->cap * sizeof(*r->docs));
		}
		struct doc *o = &r->docs[r->n++];
		memset(o, 0, sizeof(*o));
		char nm[600];
		snprintf(nm, sizeof(nm), "%s#%zu", name, i + 1);
		o->name = pw_xstrdup(nm);
		o->text = pw_xmalloc(sp[i].end - sp[i].start + 1);
		memcpy(o->text, bytes + sp[i].start, sp[i].end - sp[i].start);
		o->text[sp[i].end - sp[i].start] = 0;
		o->orig = pw_xstrdup(o->text);
		const char *k = strstr(o->text, "kind:");
		if (k) {
			sscanf(k + 5, " %63s", o->kind);
			o->policy = strstr(o->kind, "Policy") != NULL;
		}
	}
	free(sp);
	return 0;
}

static char *spec_of(const char *text)
{
	const char *s = strstr(text, "\nspec:");
	return s ? (char *)s : NULL;
}

/* A random change to docs; returns how many documents it touched.  The
   documents without an original are spare slots: an object moved there
   (its old document removed in the same commit), or copied there (a
   duplicate, which a commit must refuse). */
static int change(struct doc *docs, size_t n, char *what, size_t wl)
{
	uint32_t op = rnd(6);
	size_t i = rnd((uint32_t)n);
	if (op >= 4) {
		size_t from = i, to = n;
		for (size_t k = 0; k < n && !docs[from].text; k++)
			from = (from + 1) % n;
		for (size_t k = 0; k < n; k++)
			if (!docs[k].orig && !docs[k].text) {
				to = k;
				break;
			}
		if (!docs[from].text || to == n)
			return 0;
		docs[to].text = pw_xstrdup(docs[from].text);
		if (op == 4) {
			free(docs[from].text);
			docs[from].text = NULL;
		}
		snprintf(what, wl, "%s %s to %s", op == 4 ? "move" : "copy", docs[from].name,
			 docs[to].name);
		return 2;
	}
	if (op == 0 && docs[i].text) {
		free(docs[i].text);
		docs[i].text = NULL;
		snprintf(what, wl, "delete %s", docs[i].name);
		return 1;
	}
	if (op == 1) {
		for (size_t k = 0; k < n; k++) {
			size_t j = (i + k) % n;
			if (!docs[j].text && docs[j].orig) {
				docs[j].text = pw_xstrdup(docs[j].orig);
				snprintf(what, wl, "restore %s", docs[j].name);
				return 1;
			}
		}
		return 0;
	}
	/* a policy takes another policy's spec */
	for (size_t k = 0; k < n; k++) {
		size_t j = (i + k) % n;
		if (!docs[j].policy || !docs[j].text || !spec_of(docs[j].text))
			continue;
		size_t d = rnd((uint32_t)n);
		for (size_t t = 0; t < n; t++, d = (d + 1) % n)
			if (d != j && docs[d].policy && docs[d].text &&
			    !strcmp(docs[d].kind, docs[j].kind) && spec_of(docs[d].text))
				break;
		if (d == j || !docs[d].text || strcmp(docs[d].kind, docs[j].kind) ||
		    !spec_of(docs[d].text))
			return 0;
		char *sj = spec_of(docs[j].text), *sd = spec_of(docs[d].text);
		struct pw_buf b;
		pw_buf_init(&b);
		pw_buf_add(&b, docs[j].text, (size_t)(sj - docs[j].text));
		pw_buf_puts(&b, sd);
		free(docs[j].text);
		docs[j].text = b.s;
		snprintf(what, wl, "%s takes the spec of %s", docs[j].name, docs[d].name);
		return 1;
	}
	return 0;
}

static void run(const char *path, uint32_t changes)
{
	struct reading r = { 0 };
	struct pw_diags d;
	struct pw_arena names;
	pw_diags_init(&d);
	pw_arena_init(&names);
	pw_walk_path(path, &names, take_file, &r, &d);
	pw_diags_release(&d);
	pw_arena_release(&names);
	/* spare slots for moved and copied objects */
	for (size_t i = 0; i < 8; i++) {
		if (r.n == r.cap) {
			r.cap = r.cap ? r.cap * 2 : 64;
			r.docs = pw_xrealloc(r.docs, r.cap * sizeof(*r.docs));
		}
		struct doc *o = &r.docs[r.n++];
		memset(o, 0, sizeof(*o));
		char nm[600];
		snprintf(nm, sizeof(nm), "%s#spare-%zu", path, i + 1);
		o->name = pw_xstrdup(nm);
	}
	struct pw_world w;
	struct pw_dp dp;
	open_world(&w, &dp);
	put_all(&w, r.docs, r.n);
	struct pw_commit res;
	pw_diags_init(&d);
	int rc = pw_world_commit(&w, &d, &res);
	pw_diags_release(&d);
	size_t fresh = 0;
	if (rc < 0) { /* bad inputs are other suites' business */
		printf("world-diff: %s: skipped (input errors)\n", path);
		goto out;
	}
	char what[1400];
	snprintf(what, sizeof(what), "%s (loaded)", path);
	compare(&w, r.docs, r.n, what, &fresh) ? passed++ : failed++;
	uint32_t incr = 0, rebuilt = 0, rejected = 0;
	for (uint32_t c = 0; c < changes; c++) {
		/* keep the old texts to undo a rejected change */
		char **old = pw_xcalloc(r.n + 1, sizeof(char *));
		for (size_t i = 0; i < r.n; i++)
			old[i] = r.docs[i].text ? pw_xstrdup(r.docs[i].text) : NULL;
		char w1[600] = "", w2[600] = "";
		int touched = change(r.docs, r.n, w1, sizeof(w1));
		if (rnd(4) == 0)
			touched += change(r.docs, r.n, w2, sizeof(w2));
		if (!touched) {
			for (size_t i = 0; i < r.n; i++)
				free(old[i]);
			free(old);
			continue;
		}
		snprintf(what, sizeof(what), "%s (change %u: %s%s%s)", path, c + 1, w1,
			 *w2 ? "; " : "", w2);
		for (size_t i = 0; i < r.n; i++) {
			bool was = old[i] != NULL, is = r.docs[i].text != NULL;
			if (was && !is)
				pw_world_remove(&w, r.docs[i].name);
			else if (is && (!was || strcmp(old[i], r.docs[i].text)))
				pw_world_put(&w, r.docs[i].name,
					     (const unsigned char *)r.docs[i].text,
					     strlen(r.docs[i].text));
		}
		bool fails = fresh_fails(r.docs, r.n);
		pw_diags_init(&d);
		rc = pw_world_commit(&w, &d, &res);
		pw_diags_release(&d);
		bool ok = true;
		if ((rc < 0) != fails) {
			printf("FAIL %s: the world %s it, a fresh load %s it\n", what,
			       rc < 0 ? "rejected" : "took", fails ? "refuses" : "takes");
			ok = false;
		}
		if (rc < 0) { /* undo: the documents stay as they were */
			rejected++;
			for (size_t i = 0; i < r.n; i++) {
				free(r.docs[i].text);
				r.docs[i].text = old[i];
				old[i] = NULL;
			}
		} else {
			res.kind == PW_COMMIT_INCREMENTAL ? incr++ : rebuilt++;
		}
		for (size_t i = 0; i < r.n; i++)
			free(old[i]);
		free(old);
		if (ok)
			ok = compare(&w, r.docs, r.n, what, &fresh);
		ok ? passed++ : failed++;
	}
	size_t held = pw_world_bytes(&w);
	printf("world-diff: %s: %u incremental, %u rebuilt, %u rejected; %zu KiB held, %zu KiB fresh\n",
	       path, incr, rebuilt, rejected, held >> 10, fresh >> 10);
	if (fresh && held > fresh + fresh / 10 + (2u << 20)) {
		printf("FAIL %s: the world holds %zu bytes, a fresh one %zu\n", path, held, fresh);
		failed++;
	}
out:
	pw_world_release(&w);
	pw_dp_close(&dp);
	for (size_t i = 0; i < r.n; i++) {
		free(r.docs[i].name);
		free(r.docs[i].text);
		free(r.docs[i].orig);
	}
	free(r.docs);
}

int main(int argc, char **argv)
{
	uint32_t changes = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--changes") && i + 1 < argc)
			changes = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			rng ^= (uint64_t)atoll(argv[++i]) * 0x9e3779b97f4a7c15ull;
		else if (!strcmp(argv[i], "--flags") && i + 1 < argc)
			flags = (unsigned)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: world-diff [--changes N] [--seed S] [--flags F] PATH...\n");
			return 2;
		}
	}
	if (!rng)
		rng = 1;
	for (; i < argc; i++)
		run(argv[i], changes);
	printf("world-diff: %d passed, %d failed\n", passed, failed);
	pw_flow_ids_free(ids);
	return failed ? 1 : 0;
}
