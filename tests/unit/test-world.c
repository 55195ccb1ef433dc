// SPDX-License-Identifier: Apache-2.0
/*
 * pw_world_stage_all: a source that read everything anew (etcd after a
 * compaction, the Kubernetes API after 410 Gone) stages only the
 * difference, and the commit leaves the world equal to what it read.
 */
#include <stdlib.h>

#include "../../lib/world.h"
#include "t.h"

#define POD(n, ip)                                                            \
	"apiVersion: v1\nkind: Pod\nmetadata: {name: " n ", namespace: a, "   \
	"labels: {app: " n "}}\nstatus: {podIP: " ip "}\n"
#define DENY                                                                  \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"             \
	"metadata: {name: deny, namespace: a}\nspec: {podSelector: {}}\n"

static struct pw_world_doc doc(const char *name, const char *text)
{
	return (struct pw_world_doc){ .name = (char *)name,
				      .bytes = (unsigned char *)text,
				      .len = strlen(text) };
}

int main(void)
{
	struct pw_world w;
	struct pw_world_opts o = { 0 };
	struct pw_diags d;
	struct pw_commit c;
	pw_world_init(&w, &o);
	pw_diags_init(&d);

	struct pw_world_doc first[] = { doc("p1", POD("x", "10.0.0.1")),
					doc("p2", POD("y", "10.0.0.2")),
					doc("np", DENY) };
	T_CHECK(pw_world_stage_all(&w, first, 3) == 3, "empty world: 3 puts");
	T_CHECK(pw_world_commit(&w, &d, &c) == 0 && w.ndocs == 3, "first commit");

	T_CHECK(pw_world_stage_all(&w, first, 3) == 0, "the same read: nothing staged");

	/* y changed, the policy gone, z new; given unsorted */
	struct pw_world_doc second[] = { doc("p3", POD("z", "10.0.0.3")),
					 doc("p2", POD("y", "10.0.0.9")),
					 doc("p1", POD("x", "10.0.0.1")) };
	T_CHECK(pw_world_stage_all(&w, second, 3) == 3, "1 put, 1 new, 1 removal: %zu",
		w.npending);
	T_CHECK(pw_world_commit(&w, &d, &c) == 0, "second commit");
	T_CHECK(w.ndocs == 3 && !pw_world_has(&w, "np") && pw_world_has(&w, "p3"),
		"equal to the read");
	T_CHECK(w.c && w.c->npods == 3 && w.c->npols == 0, "the cluster follows");

	T_CHECK(pw_world_stage_all(&w, NULL, 0) == 3, "an empty read removes all");
	T_CHECK(pw_world_commit(&w, &d, &c) == 0 && w.ndocs == 0, "empty");

	pw_diags_release(&d);
	pw_world_release(&w);
	return T_DONE("world");
}
