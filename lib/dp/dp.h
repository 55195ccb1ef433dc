/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dataplane interface: how the engine's decisions get into a kernel.
 * One small table of operations per backend (as wireguard-tools' ipc.h
 * puts its backends behind one interface); the backend is chosen in one
 * place, pw_dp_open().  nftables (lib/dp/nft.c) is the first backend;
 * dry-run renders the same tables and sends nothing (tests, previews).
 *
 *   render   the engine's decisions for a set of pod interfaces, as the
 *            backend's own table (nothing is sent)
 *   read     what the kernel holds now, as the backend can tell it (after
 *            a restart: the objects of its table by name)
 *   apply    put a rendered table in force: only what differs from what
 *            the kernel holds, in one transaction; on success the table
 *            is what the kernel holds, on failure the kernel is unchanged
 *   remove   delete everything the backend put in the kernel
 *
 * The kernel, not a file, is the record of what is in force: a process
 * killed at any moment leaves either the old or the new table, and the
 * next one reads which.
 */
#ifndef PW_DP_H
#define PW_DP_H

#include "../engine.h"

/* A pod the dataplane enforces for, and its interface on the dataplane's
   side (the lab's router, a node's host namespace). */
struct pw_dp_port {
	uint32_t pod; /* cluster pod index */
	const char *ifname;
};

/* The host-side interface a CNI plugin gives a pod: prefix, then the first
   11 hex digits of SHA-1("NAMESPACE.NAME") (Calico: prefix "cali"; the
   AWS VPC CNI: "eni"), at most 15 characters.  false when it does not fit
   or the digest is not available. */
bool pw_dp_cni_ifname(const char *prefix, const char *ns, const char *name,
		      char out[static 16]);

/* What an apply sent. */
struct pw_dp_delta {
	uint32_t created, changed, deleted; /* sets and chains */
	uint32_t rules, sets, chains;	    /* of the table now in force */
	size_t bytes;			    /* of the transaction */
	bool full;			    /* the table was replaced whole */
};

struct pw_dp_table; /* a backend's rendered table */
struct pw_dp;

struct pw_dp_ops {
	const char *name;
	struct pw_dp_table *(*render)(struct pw_dp *dp, const struct pw_engine *e,
				      const struct pw_dp_port *ports, size_t n);
	int (*read)(struct pw_dp *dp, struct pw_buf *err);
	/* on success takes t (it is what the kernel holds now) */
	int (*apply)(struct pw_dp *dp, struct pw_dp_table *t,
		     struct pw_dp_delta *delta, struct pw_buf *err);
	int (*remove)(struct pw_dp *dp, struct pw_buf *err);
	/* the commands that would put t in force: whole, or (full false)
	   what differs from what the kernel holds */
	void (*script)(struct pw_dp *dp, const struct pw_dp_table *t, bool full,
		       struct pw_buf *out);
	void (*free_table)(struct pw_dp_table *t);
	/* what the backend holds as in force, as commands that create it */
	void (*dump)(struct pw_dp *dp, struct pw_buf *out);
	void (*close)(struct pw_dp *dp);
};

struct pw_dp {
	const struct pw_dp_ops *ops;
	char table[64];
	int netns_fd; /* the namespace to program, or -1: this process's */
	bool services; /* also translate Service addresses (kube-proxy-like) */
	bool linear;   /* nftables: one rule per policy rule (benchmark baseline) */
	/* the rule ids rendered rules carry (lib/flow/ids.h), the flow log's;
	   NULL: rules carry none */
	struct pw_flow_ids *ids;
	void *held;    /* the backend's record of what the kernel holds */
	bool read_done;
};

/* Open backend name ("nftables") on table, in the network namespace
   /run/netns/NETNS (NULL: this process's).  Nothing is read or sent yet. */
int pw_dp_open(struct pw_dp *dp, const char *name, const char *table,
	       const char *netns, struct pw_buf *err);
void pw_dp_close(struct pw_dp *dp);
/* The names of the backends, NULL-terminated. */
const char *const *pw_dp_backends(void);

static inline struct pw_dp_table *pw_dp_render(struct pw_dp *dp,
					       const struct pw_engine *e,
					       const struct pw_dp_port *ports,
					       size_t n)
{
	return dp->ops->render(dp, e, ports, n);
}
static inline int pw_dp_read(struct pw_dp *dp, struct pw_buf *err)
{
	int rc = dp->ops->read(dp, err);
	if (!rc)
		dp->read_done = true;
	return rc;
}
/* Reads what the kernel holds first if nothing was read yet. */
static inline int pw_dp_apply(struct pw_dp *dp, struct pw_dp_table *t,
			      struct pw_dp_delta *delta, struct pw_buf *err)
{
	if (!dp->read_done && pw_dp_read(dp, err) < 0)
		return -1;
	return dp->ops->apply(dp, t, delta, err);
}
static inline int pw_dp_remove(struct pw_dp *dp, struct pw_buf *err)
{
	return dp->ops->remove(dp, err);
}
static inline void pw_dp_free_table(struct pw_dp *dp, struct pw_dp_table *t)
{
	if (t)
		dp->ops->free_table(t);
}

#endif
