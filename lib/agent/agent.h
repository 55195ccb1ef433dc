/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent: one long-running process that holds a cluster's state (a
 * world, lib/world.h) fed by a source (lib/source/source.h) and keeps a
 * dataplane (lib/dp/dp.h) equal to it, change by change.
 *
 *   start    open the dataplane and read what the kernel holds, open the
 *            source, load it whole, commit (the dataplane then holds the
 *            source's state: only what differed from the kernel was sent),
 *            and become ready
 *   loop     poll the source and the API; each change the source reports
 *            is committed as one transaction, or rejected with its errors
 *            (the previous state stays in force); every commit goes to the
 *            change log
 *   stop     on SIGINT/SIGTERM: the kernel keeps enforcing what was last
 *            committed
 *
 * The local API (HTTP on a unix socket, optionally TCP):
 *   GET  /healthz             ok while the loop runs
 *   GET  /readyz              ok after the first full sync
 *   GET  /v1/eval?src=&dst=&port=[&namespace=]   eval -o json
 *   GET  /v1/matrix           matrix -o json
 *   GET  /v1/policies         the policies in force
 *   GET  /v1/changes[?since=SEQ]  the change log
 *   GET  /metrics             Prometheus text format
 *   POST /v1/apply[?namespace=NS]   objects (YAML) to add or replace; the
 *                             answer comes when they are in force
 *   POST /v1/delete           objects (YAML) to delete
 *   GET  /v1/objects?kind=&name=&namespace=   the documents of objects
 *   GET  /v1/dataplane        what the dataplane holds (nft commands)
 *   POST /v1/rebuild          rebuild everything from the documents
 */
#ifndef PW_AGENT_H
#define PW_AGENT_H

#include <signal.h>

#include "../world.h"

struct pw_agent_opts {
	const char *source;  /* "dir:PATH" */
	const char *node;    /* enforce for this node's pods only */
	const char *socket;  /* unix socket of the API (NULL: none) */
	const char *listen;  /* TCP address of the API (NULL: none) */
	const char *netns;   /* program this network namespace's tables */
	const char *table;   /* NULL: "podwall" */
	const char *backend; /* NULL: "nftables"; "none": no dataplane */
	bool services;	     /* translate Service addresses too */
	bool linear;	     /* nftables: one rule per policy rule (a benchmark's
				baseline, as iptables-based dataplanes have it) */
	/* the flow log (lib/flow/log.h): flows NULL: none */
	const char *flows;   /* a flow store spec */
	int flow_interval;   /* seconds (0: 15) */
	int flow_level;	     /* enum pw_flow_level */
	int64_t flow_max_age;
	uint64_t flow_max_bytes;
	unsigned engine_flags;
	uint32_t replicas;   /* pods per workload without pods (0: 1) */
	/* the lab's hooks (see struct pw_world_opts); NULL: a node's */
	int (*prepare)(struct pw_cluster *c, void *arg);
	bool (*port_of)(void *arg, const struct pw_cluster *c, uint32_t pod,
			char ifname[static 16]);
	void *hook_arg;
	/* after each commit that changed something (the lab creates the
	   namespaces of new pods) */
	void (*after_commit)(void *arg, const struct pw_world *w);
	/* log lines (no newline); NULL: none */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

/* Runs until *stop is set.  0, or 2 when it could not start (logged). */
int pw_agent_run(const struct pw_agent_opts *o, volatile sig_atomic_t *stop);

#endif
