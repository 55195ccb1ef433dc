// SPDX-License-Identifier: Apache-2.0
#include "view.h"

#include <string.h>

void pw_view_init(struct pw_view *v, const struct pw_cluster *c,
		  const struct pw_engine *e)
{
	memset(v, 0, sizeof(*v));
	v->c = c;
	v->e = e;
	v->ingress_pod = -1;
	pw_strmap_init(&v->pods);
	pw_strmap_init(&v->groups);
	pw_arena_init(&v->arena);
	for (uint32_t i = 0; i < c->npods; i++) {
		const struct pw_pod *p = &c->pods[i];
		const char *key = pw_arena_printf(&v->arena, "%s/%s",
						  c->nss[p->ns].name, p->name);
		if (!p->template && !pw_strmap_get(&v->pods, key))
			pw_strmap_put(&v->pods, key, (void *)(uintptr_t)(i + 1));
	}
	for (uint32_t i = 0; i < c->ngroups; i++) {
		const struct pw_group *g = &c->groups[i];
		const char *key = pw_arena_printf(&v->arena, "%s/%s",
						  c->nss[g->ns].name, g->name);
		if (!pw_strmap_get(&v->groups, key))
			pw_strmap_put(&v->groups, key,
				      (void *)(uintptr_t)(i + 1));
	}
}

void pw_view_release(struct pw_view *v)
{
	pw_strmap_release(&v->pods);
	pw_strmap_release(&v->groups);
	pw_arena_release(&v->arena);
}

int32_t pw_view_pod(const struct pw_view *v, const char *key)
{
	return (int32_t)(uintptr_t)pw_strmap_get(&v->pods, key) - 1;
}

int32_t pw_view_group(const struct pw_view *v, const char *key)
{
	return (int32_t)(uintptr_t)pw_strmap_get(&v->groups, key) - 1;
}

const char *pw_view_pod_name(const struct pw_view *v, uint32_t pod,
			     struct pw_buf *b)
{
	const struct pw_pod *p = &v->c->pods[pod];
	pw_buf_printf(b, "%s/%s", v->c->nss[p->ns].name, p->name);
	return b->s;
}
