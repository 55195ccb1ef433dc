// SPDX-License-Identifier: Apache-2.0
/*
 * The nftables backend of the dataplane interface (lib/dp/dp.h): tables
 * rendered by lib/nft.c, sent through libnftables in one transaction.
 *
 * Reading back.  Every set and every tier chain is named by a hash of its
 * content (s_<hash>, t_<hash>), so its name says what it holds; the other
 * objects (the "pods" set, the base chains, the per-pod chains that jump
 * to tier chains, the Service chains) are few and small.  After a restart,
 * read lists the names of the sets and chains the kernel holds: an object
 * named by its content is kept when the new table has it, the others are
 * rewritten, and what the new table lacks is deleted, all in one
 * transaction.  What this cannot see: someone changing the rules of a
 * podwall chain by hand while keeping its name.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nftables/libnftables.h>
#include <yaml.h>

#include "../nft.h"
#include "dp.h"

struct pw_dp_table {
	struct pw_nft t;
};

extern const struct pw_dp_ops pw_dp_dry_ops;

struct held {
	struct pw_nft t; /* bodies NULL when read back from the kernel */
	bool exists;	 /* the kernel has the table */
	/* kept from one transaction to the next: its netlink socket was
	   opened in the dataplane's namespace */
	struct nft_ctx *ctx, *json_ctx;
	struct pw_nft_cache *cache; /* what was rendered of each policy */
};

static struct held *held_of(struct pw_dp *dp)
{
	if (!dp->held) {
		struct held *h = pw_xcalloc(1, sizeof(*h));
		pw_nft_init(&h->t);
		dp->held = h;
	}
	return dp->held;
}

/* Run fn in the dataplane's namespace (the calling thread moves there and
   back). */
static int in_ns(struct pw_dp *dp, int (*fn)(void *, struct pw_buf *), void *arg,
		 struct pw_buf *err)
{
	if (dp->netns_fd < 0)
		return fn(arg, err);
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(dp->netns_fd, CLONE_NEWNET) < 0) {
		pw_buf_printf(err, "cannot enter the dataplane's network namespace");
		if (self >= 0)
			close(self);
		return -1;
	}
	int rc = fn(arg, err);
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* a thread stuck in another namespace: never go on */
	close(self);
	return rc;
}

struct run_job {
	struct held *h;
	const char *script;
	struct pw_buf *out; /* NULL: output not wanted */
	bool json;
};

static int new_ctx(void *arg, struct pw_buf *err)
{
	struct nft_ctx **ctx = arg;
	*ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!*ctx) {
		pw_buf_puts(err, "cannot create an nftables context");
		return -1;
	}
	nft_ctx_buffer_output(*ctx);
	nft_ctx_buffer_error(*ctx);
	return 0;
}

static int run_job(void *arg, struct pw_buf *err)
{
	struct run_job *j = arg;
	struct nft_ctx *ctx = j->json ? j->h->json_ctx : j->h->ctx;
	if (j->json)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_TERSE);
	int rc = nft_run_cmd_from_buffer(ctx, j->script);
	if (rc) {
		const char *msg = nft_ctx_get_error_buffer(ctx);
		pw_buf_puts(err, msg && *msg ? msg : "nftables refused the commands");
	} else if (j->out) {
		const char *o = nft_ctx_get_output_buffer(ctx);
		pw_buf_puts(j->out, o ? o : "");
	}
	/* empty the buffers for the next command */
	nft_ctx_unbuffer_output(ctx);
	nft_ctx_unbuffer_error(ctx);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	return rc ? -1 : 0;
}

/* Run script in the dataplane's namespace, with a context made there. */
static int run(struct pw_dp *dp, const char *script, struct pw_buf *out, bool json,
	       struct pw_buf *err)
{
	struct held *h = held_of(dp);
	if (dp->ops == &pw_dp_dry_ops)
		return json && !h->exists ? -1 : 0; /* nothing is sent */
	struct nft_ctx **ctx = json ? &h->json_ctx : &h->ctx;
	if (!*ctx && (dp->netns_fd < 0 ? new_ctx(ctx, err) : in_ns(dp, new_ctx, ctx, err)) < 0)
		return -1;
	struct run_job j = { h, script, out, json };
	return run_job(&j, err);
}

static struct pw_dp_table *nft_render(struct pw_dp *dp, const struct pw_engine *e,
				      const struct pw_dp_port *ports, size_t n)
{
	struct pw_dp_table *t = pw_xcalloc(1, sizeof(*t));
	pw_nft_init(&t->t);
	struct held *h = held_of(dp);
	if (!h->cache) {
		h->cache = pw_nft_cache_new();
		if (dp->ids)
			pw_nft_cache_set_ids(h->cache, dp->ids);
	}
	pw_nft_build_cached(e, ports, n, dp->linear, h->cache, &t->t);
	if (dp->services)
		pw_nft_add_services(e->c, &t->t);
	return t;
}

static void nft_free_table(struct pw_dp_table *t)
{
	pw_nft_release(&t->t);
	free(t);
}

/* The "name" values of the objects of kind ("set", "chain") of our table
   in nft's JSON listing. */
static void json_names(const char *json, const char *kind, const char *table,
		       struct pw_nft *out)
{
	yaml_parser_t p;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&p))
		return;
	yaml_parser_set_input_string(&p, (const unsigned char *)json, strlen(json));
	if (!yaml_parser_load(&p, &doc)) {
		yaml_parser_delete(&p);
		return;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *list = NULL;
	if (root && root->type == YAML_MAPPING_NODE)
		for (yaml_node_pair_t *kv = root->data.mapping.pairs.start;
		     kv < root->data.mapping.pairs.top; kv++) {
			yaml_node_t *k = yaml_document_get_node(&doc, kv->key);
			if (k && k->type == YAML_SCALAR_NODE &&
			    !strcmp((char *)k->data.scalar.value, "nftables"))
				list = yaml_document_get_node(&doc, kv->value);
		}
	for (yaml_node_item_t *it = list && list->type == YAML_SEQUENCE_NODE
					    ? list->data.sequence.items.start : NULL;
	     it && it < list->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(&doc, *it);
		if (!item || item->type != YAML_MAPPING_NODE)
			continue;
		for (yaml_node_pair_t *kv = item->data.mapping.pairs.start;
		     kv < item->data.mapping.pairs.top; kv++) {
			yaml_node_t *k = yaml_document_get_node(&doc, kv->key);
			yaml_node_t *v = yaml_document_get_node(&doc, kv->value);
			if (!k || !v || k->type != YAML_SCALAR_NODE ||
			    v->type != YAML_MAPPING_NODE ||
			    strcmp((char *)k->data.scalar.value, kind))
				continue;
			const char *name = NULL, *tab = NULL, *fam = NULL;
			for (yaml_node_pair_t *f = v->data.mapping.pairs.start;
			     f < v->data.mapping.pairs.top; f++) {
				yaml_node_t *fk = yaml_document_get_node(&doc, f->key);
				yaml_node_t *fv = yaml_document_get_node(&doc, f->value);
				if (!fk || !fv || fk->type != YAML_SCALAR_NODE ||
				    fv->type != YAML_SCALAR_NODE)
					continue;
				const char *key = (char *)fk->data.scalar.value;
				if (!strcmp(key, "name"))
					name = (char *)fv->data.scalar.value;
				else if (!strcmp(key, "table"))
					tab = (char *)fv->data.scalar.value;
				else if (!strcmp(key, "family"))
					fam = (char *)fv->data.scalar.value;
			}
			if (name && tab && fam && !strcmp(tab, table) && !strcmp(fam, "inet"))
				pw_nft_add_obj(out, kind, name, NULL);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
}

static int nft_read(struct pw_dp *dp, struct pw_buf *err)
{
	struct held *h = held_of(dp);
	pw_nft_release(&h->t);
	pw_nft_init(&h->t);
	h->exists = false;
	struct pw_buf out, e2;
	pw_buf_init(&out);
	pw_buf_init(&e2);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "list table inet %s", dp->table);
	/* does the table exist?  (an error here only means it does not) */
	int rc = 0;
	if (run(dp, cmd, NULL, true, &e2) == 0) {
		h->exists = true;
		snprintf(cmd, sizeof(cmd), "list sets inet\nlist maps inet\nlist chains inet");
		rc = run(dp, cmd, &out, true, err);
		if (!rc && out.s) {
			/* two JSON documents, one per command, one per line */
			char *save = NULL;
			for (char *line = strtok_r(out.s, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				json_names(line, "set", dp->table, &h->t);
				json_names(line, "map", dp->table, &h->t);
				json_names(line, "chain", dp->table, &h->t);
			}
		}
	}
	pw_buf_release(&out);
	pw_buf_release(&e2);
	return rc;
}

static void nft_script(struct pw_dp *dp, const struct pw_dp_table *t, bool full,
		       struct pw_buf *out)
{
	struct held *h = held_of(dp);
	if (full || !h->exists)
		pw_nft_script_full(&t->t, dp->table, out);
	else
		pw_nft_script_delta(&h->t, &t->t, dp->table, out);
}

static int nft_apply(struct pw_dp *dp, struct pw_dp_table *t,
		     struct pw_dp_delta *delta, struct pw_buf *err)
{
	struct held *h = held_of(dp);
	struct pw_buf script;
	pw_buf_init(&script);
	bool full = !h->exists;
	nft_script(dp, t, full, &script);
	memset(delta, 0, sizeof(*delta));
	delta->full = full;
	pw_nft_delta_count(&h->t, &t->t, &delta->created, &delta->changed,
			   &delta->deleted);
	delta->bytes = script.len;
	for (size_t i = 0; i < t->t.n; i++) {
		if (strcmp(t->t.v[i].kind, "chain"))
			delta->sets++;
		else
			delta->chains++;
	}
	delta->rules = (uint32_t)t->t.rules;
	int rc = 0;
	if (script.len)
		rc = run(dp, script.s, NULL, false, err);
	pw_buf_release(&script);
	if (rc)
		return -1;
	/* the kernel holds t now */
	pw_nft_release(&h->t);
	h->t = t->t;
	h->exists = true;
	free(t);
	return 0;
}

static int nft_remove(struct pw_dp *dp, struct pw_buf *err)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "add table inet %s\ndelete table inet %s\n",
		 dp->table, dp->table);
	int rc = run(dp, cmd, NULL, false, err);
	if (!rc) {
		struct held *h = held_of(dp);
		pw_nft_release(&h->t);
		pw_nft_init(&h->t);
		h->exists = false;
	}
	return rc;
}

static void nft_close(struct pw_dp *dp)
{
	struct held *h = dp->held;
	if (h) {
		if (h->ctx)
			nft_ctx_free(h->ctx);
		if (h->json_ctx)
			nft_ctx_free(h->json_ctx);
		pw_nft_cache_free(h->cache);
		pw_nft_release(&h->t);
		free(h);
	}
	dp->held = NULL;
}

/* What the kernel holds, as a script that would create it (objects whose
   content is not known are declared only). */
static void nft_dump(struct pw_dp *dp, struct pw_buf *out)
{
	struct held *h = held_of(dp);
	if (h->exists)
		pw_nft_script_full(&h->t, dp->table, out);
}

const struct pw_dp_ops pw_dp_nft_ops = {
	.name = "nftables",
	.render = nft_render,
	.read = nft_read,
	.apply = nft_apply,
	.remove = nft_remove,
	.script = nft_script,
	.free_table = nft_free_table,
	.dump = nft_dump,
	.close = nft_close,
};

/* The same tables, sent nowhere: for tests, and to see what would be sent. */
const struct pw_dp_ops pw_dp_dry_ops = {
	.name = "dry-run",
	.render = nft_render,
	.read = nft_read,
	.apply = nft_apply,
	.remove = nft_remove,
	.script = nft_script,
	.free_table = nft_free_table,
	.dump = nft_dump,
	.close = nft_close,
};
