// SPDX-License-Identifier: Apache-2.0
/* Rule ids (lib/flow/ids.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"

struct pw_flow_ids {
	struct pw_strmap map[2]; /* entry -> id (as a pointer) */
	char **entry[2];	 /* id -> entry (owned); [0] unused */
	uint32_t n[2];		 /* highest id given */
	size_t cap[2];
	FILE *f; /* append-only record, or NULL */
};

static void put(struct pw_flow_ids *r, int d, uint16_t id, const char *entry)
{
	if (id >= r->cap[d]) {
		size_t n = r->cap[d] ? r->cap[d] : 64;
		while (n <= id)
			n *= 2;
		r->entry[d] = pw_xrealloc(r->entry[d], n * sizeof(char *));
		memset(r->entry[d] + r->cap[d], 0, (n - r->cap[d]) * sizeof(char *));
		r->cap[d] = n;
	}
	if (r->entry[d][id])
		return;
	r->entry[d][id] = pw_xstrdup(entry);
	pw_strmap_put(&r->map[d], r->entry[d][id], (void *)(uintptr_t)id);
	if (id > r->n[d])
		r->n[d] = id;
}

struct pw_flow_ids *pw_flow_ids_new(const char *path, struct pw_buf *err)
{
	struct pw_flow_ids *r = pw_xcalloc(1, sizeof(*r));
	pw_strmap_init(&r->map[0]);
	pw_strmap_init(&r->map[1]);
	if (!path)
		return r;
	FILE *in = fopen(path, "r");
	if (in) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		while ((len = getline(&line, &cap, in)) > 0) {
			if (line[len - 1] == '\n')
				line[--len] = 0;
			char dir = line[0];
			char *id = line[0] && line[1] == '\t' ? line + 2 : NULL;
			char *tab = id ? strchr(id, '\t') : NULL;
			if (!tab || (dir != 'e' && dir != 'i'))
				continue; /* a torn last line */
			*tab = 0;
			unsigned long v = strtoul(id, NULL, 10);
			if (v == 0 || v > PW_FLOW_ID_MAX)
				continue;
			put(r, dir == 'i' ? PW_INGRESS : PW_EGRESS, (uint16_t)v, tab + 1);
		}
		free(line);
		fclose(in);
	} else if (errno != ENOENT) {
		pw_buf_printf(err, "%s: %s", path, strerror(errno));
		pw_flow_ids_free(r);
		return NULL;
	}
	r->f = fopen(path, "a");
	if (!r->f) {
		pw_buf_printf(err, "%s: %s", path, strerror(errno));
		pw_flow_ids_free(r);
		return NULL;
	}
	return r;
}

void pw_flow_ids_free(struct pw_flow_ids *r)
{
	if (!r)
		return;
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < r->cap[d]; i++)
			free(r->entry[d][i]);
		free(r->entry[d]);
		pw_strmap_release(&r->map[d]);
	}
	if (r->f)
		fclose(r->f);
	free(r);
}

uint16_t pw_flow_ids_get(struct pw_flow_ids *r, enum pw_dir dir, const char *entry)
{
	int d = dir == PW_INGRESS ? PW_INGRESS : PW_EGRESS;
	void *v = pw_strmap_get(&r->map[d], entry);
	if (v)
		return (uint16_t)(uintptr_t)v;
	if (r->n[d] >= PW_FLOW_ID_MAX)
		return PW_FLOW_ID_NONE;
	uint16_t id = (uint16_t)(r->n[d] + 1);
	put(r, d, id, entry);
	if (r->f) {
		fprintf(r->f, "%c\t%u\t%s\n", d == PW_INGRESS ? 'i' : 'e', id, entry);
		fflush(r->f);
	}
	return id;
}

const char *pw_flow_ids_entry(const struct pw_flow_ids *r, enum pw_dir dir,
			      uint16_t id)
{
	int d = dir == PW_INGRESS ? PW_INGRESS : PW_EGRESS;
	return id < r->cap[d] ? r->entry[d][id] : NULL;
}

uint32_t pw_flow_ids_count(const struct pw_flow_ids *r, enum pw_dir dir)
{
	return r->n[dir == PW_INGRESS ? PW_INGRESS : PW_EGRESS];
}

/* actions as Calico's flow logs write them */
static const char *act(enum pw_action a)
{
	static const char *const n[] = { "allow", "deny", "pass", "log" };
	return (unsigned)a < 4 ? n[a] : "?";
}

void pw_flow_policy_ref(const struct pw_engine *e, uint32_t slot, struct pw_buf *out)
{
	const struct pw_gpolicy *g = &e->pols[slot];
	const struct pw_cluster *c = e->c;
	int ns = -1;
	if (g->src == PW_SRC_K8S && g->src_index < c->npols)
		ns = (int)c->pols[g->src_index].ns;
	else if (g->src == PW_SRC_CALICO && g->src_index < c->ncpols)
		ns = c->cpols[g->src_index].ns;
	if (ns >= 0)
		pw_buf_printf(out, "%s/%s", c->nss[ns].name, g->name);
	else
		pw_buf_puts(out, g->name);
}

void pw_flow_step_entry(const struct pw_engine *e, uint32_t pod, enum pw_dir dir,
			const struct pw_step *st, struct pw_buf *out)
{
	if (!st || st->kind == PW_STEP_PROFILE) {
		pw_buf_printf(out, "__PROFILE__|kns.%s|-|allow",
			      e->c->nss[e->c->pods[pod].ns].name);
		return;
	}
	pw_buf_printf(out, "%s|", e->tiers[st->tier].name);
	if (st->kind == PW_STEP_END_OF_TIER) {
		/* the first policy applied in the tier, as explanations name it */
		uint32_t na;
		const uint32_t *ap = pw_engine_applicable(e, pod, dir, &na);
		uint32_t first = UINT32_MAX;
		for (uint32_t z = 0; z < na && first == UINT32_MAX; z++)
			if (e->pols[ap[z]].tier == st->tier)
				first = ap[z];
		if (first != UINT32_MAX)
			pw_flow_policy_ref(e, first, out);
		else
			pw_buf_putc(out, '?');
		pw_buf_printf(out, "|-|%s", act(st->action));
		return;
	}
	pw_flow_policy_ref(e, (uint32_t)st->policy, out);
	const struct pw_grule *r = &e->pols[st->policy].rules[dir][st->rule];
	pw_buf_printf(out, "|%u|%s", r->index, act(st->action));
}
