/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What changes between two states (podwall diff, podwall recommend): every
 * pair of endpoints (workloads and ownerless pods of either cluster, by
 * name; the classes of outside addresses that both engines cut) and range
 * of ports whose verdict differs, with the deciding step before and after
 * (pw_explain_brief of the first port of each range).
 */
#ifndef PW_DIFF_H
#define PW_DIFF_H

#include "engine.h"

struct pw_diff_change {
	char *src, *dst;   /* "ns/name[Kind]" or "CIDR[External]" */
	char *ports;	   /* pw_conns_format's text */
	bool now_allowed;  /* DENY -> ALLOW; else ALLOW -> DENY */
	char *before, *after; /* the deciding steps */
};

struct pw_diff {
	struct pw_diff_change *v;
	size_t n;
};

/* The changes from (ca, ea) to (cb, eb), only pairs with an endpoint in
   namespace ns when ns is not NULL. */
void pw_diff_states(const struct pw_cluster *ca, const struct pw_engine *ea,
		    const struct pw_cluster *cb, const struct pw_engine *eb,
		    const char *ns, struct pw_diff *out);
void pw_diff_release(struct pw_diff *d);
/* As podwall diff's table: per change "SRC => DST : PORTS: ALLOW -> DENY"
   and its steps before and after, then "N changes"; each line after
   prefix. */
void pw_diff_table(const struct pw_diff *d, const char *prefix, struct pw_buf *out);

#endif
