/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lab: a cluster's pods as network namespaces on one machine.
 *
 * Topology (lab NAME):
 *   netns pwl-NAME-r          the router: forwards between its veths, holds
 *                             the nftables table "podwall", no uplink
 *   netns pwl-NAME-<k>        pod k: eth0 = POD_IP/32, default route via
 *                             169.254.1.1 (the router side of its veth, as
 *                             Calico does it)
 *   netns pwl-NAME-x<k>       external test host k (TEST-NET addresses)
 *   veth pwr<k> / pwx<k>      router side of each link
 * The root namespace gets no route and no address: nothing leaves the lab.
 *
 * Ownership: every object is recorded in STATE_DIR/NAME/owned *before* it
 * is created, so `lab down` removes exactly what the lab made, also after a
 * crash or kill -9, and never anything else.  Creating a pod whose
 * namespace a killed run left behind recreates it.
 *
 * State, in PW_LAB_STATE_DIR/NAME/ (no file of the lab's elsewhere, not even
 * a temporary one; the table in force is read back from the kernel):
 *   lock     flock()ed by every command for as long as it runs: shared by
 *            those that only read (status, probe, exec), exclusive by those
 *            that change the lab (up, apply, delete, down; the agent takes
 *            none: it writes only pods and the source)
 *   owned    what the lab created (netns, pid, agent), appended before
 *            creation
 *   config   replicas, engine flags, external hosts
 *   pods     "K ns/name ADDR": a pod's lab index and address, kept stable
 *            (written by `lab up` and then by the lab's agent only)
 *   source/  the manifests the lab holds: the directory its agent watches
 *            (`lab up` copies its inputs there, `lab apply` and `lab
 *            delete` go through the agent, which stores each object there)
 *   agent.sock, agent.log   the agent's API and its log
 * Files are replaced by rename; `lab down` removes the directory.
 *
 * The agent: `lab up` starts this same executable as
 *   EXE agent --lab NAME --source dir:STATE/NAME/source ...
 * detached, recorded ("agent PID") in the ownership record by itself
 * before it runs; it puts the source in force in the router and creates
 * and removes the namespaces of pods as they come and go (the hooks
 * below).  `lab down` recognises it by that command line.
 *
 * Servers: every pod and external host runs this same executable as
 *   EXE lab __serve NAME NETNS PORTS
 * (EXE is /proc/self/exe), which must call pw_lab_serve(); down and status
 * recognise a lab's servers by that command line.
 *
 * Errors: nothing here prints.  Functions return 0 (or a count) on
 * success and -1 with a message appended to err; problems in manifests go
 * to a struct pw_diags.
 */
#ifndef PW_LAB_H
#define PW_LAB_H

#include "../base.h"
#include "../engine.h"
#include "../netaddr.h"
#include "../netprobe.h"
#include "../dp/dp.h"
#include "../nft.h"
#include "../service.h"

#define PW_LAB_STATE_DIR "/run/podwall/lab"
#define PW_LAB_TABLE "podwall"
#define PW_LAB_MAX_EXTERNALS 16
#define PW_LAB_MAX_NODES 16
#define PW_LAB_CIDR_BASE 0x0af40000u /* 10.244.0.0/16 for pods without an IP */

/* ---- processes and namespaces (sys.c) ----------------------------------- */

/* Run argv (no shell); 0 on exit status 0.  stderr goes to err if given. */
int pw_run(char *const argv[], struct pw_buf *err);
/* Like pw_run, with in (may be NULL) on its stdin and stdout captured into
   out (may be NULL). */
int pw_run_capture(char *const argv[], const char *in, struct pw_buf *out,
		   struct pw_buf *err);
/* Enter the network namespace /run/netns/NAME in this process. */
int pw_netns_enter(const char *name);
bool pw_netns_exists(const char *name);
/* /proc/PID/cmdline into buf (NUL-separated, NUL-terminated): its length,
   or -1. */
ssize_t pw_proc_cmdline(int pid, char *buf, size_t size);
/* Run fn(arg, err) in a child that entered netns; 0 if it returned 0.
   What the child put in its err is appended to err. */
int pw_netns_run(const char *netns, int (*fn)(void *arg, struct pw_buf *err),
		 void *arg, struct pw_buf *err);

/* ---- a lab and its state (state.c) --------------------------------------- */

struct pw_lab {
	char name[64];
	char router[128]; /* node 0's namespace */
	int nnodes;	  /* 1: one node, the router pwl-NAME-r */
	char nodes[PW_LAB_MAX_NODES][64]; /* their names */
	int node;	  /* an agent's own node; -1: every node */
	bool etcd;	  /* its datastore is an etcd cluster (else source/) */
	int flow_interval; /* the agents' flow log interval, s (0: default,
			      -1: no flow log) */
	int lock_fd;	  /* -1 when not locked */
	unsigned flags;	  /* engine flags */
	uint32_t replicas;
	bool nft_linear; /* render rules one by one (a benchmark's baseline) */
	struct pw_addr ext[PW_LAB_MAX_EXTERNALS];
	int next;
	/* pod mapping, from the state and extended by pw_lab_assign */
	char **keys;
	struct pw_addr *addrs;
	int *key_node; /* per lab index: the node it runs on */
	int nkeys, capkeys;
	/* after pw_lab_assign: per cluster pod, its lab index */
	int *pod_k;
	uint32_t npods;
};

/* 1-20 of a-z, 0-9, '-' */
bool pw_lab_name_valid(const char *s);
/* An empty lab of that name, not locked, no state read. */
void pw_lab_init(struct pw_lab *lb, const char *name);
void pw_lab_release(struct pw_lab *lb); /* also unlocks */

enum pw_lab_lock {
	PW_LAB_READ,   /* shared; the lab must exist */
	PW_LAB_WRITE,  /* exclusive; the lab must exist */
	PW_LAB_CREATE, /* exclusive; the state directory is made if need be */
};
/* Take the lab's lock, waiting for other commands.  -1 with errno ENOENT
   (and "no lab named NAME" in err) when READ or WRITE find no state. */
int pw_lab_lock(struct pw_lab *lb, enum pw_lab_lock how, struct pw_buf *err);
/* Has the lab created anything (an ownership record)? */
bool pw_lab_is_up(const struct pw_lab *lb);
/* Read config and pods; -1 when the lab has no config. */
int pw_lab_read(struct pw_lab *lb, struct pw_buf *err);
/* Write config and pods. */
int pw_lab_write(struct pw_lab *lb, struct pw_buf *err);
/* The pods state's text. */
void pw_lab_pods_text(const struct pw_lab *lb, struct pw_buf *out);
/* Write pods only (the agent's part of the state). */
int pw_lab_write_pods(const struct pw_lab *lb, struct pw_buf *err);
/* Remove the state directory and all in it (the lock stays held until
   pw_lab_release; a command waiting for it then finds no lab). */
int pw_lab_forget(struct pw_lab *lb);

/* STATE_DIR/NAME/file (STATE_DIR/NAME when file is NULL). */
void pw_lab_path(const struct pw_lab *lb, const char *file, char out[static 512]);
/* A state file's text (heap), or NULL. */
char *pw_lab_state_get(const struct pw_lab *lb, const char *file);
/* Replace a state file (write, then rename). */
int pw_lab_state_put(const struct pw_lab *lb, const char *file, const char *text,
		     size_t len);
/* Append a line to the ownership record (fsync'd). */
int pw_lab_own(const struct pw_lab *lb, const char *fmt, ...) PW_PRINTF(2, 3);
/* fn(lb, REST, ctx) for each line "WHAT REST" of the ownership record. */
void pw_lab_each_owned(const char *owned, const char *what,
		       void (*fn)(const struct pw_lab *lb, const char *rest, void *ctx),
		       const struct pw_lab *lb, void *ctx);

/* Give every pod of c its lab index, address and node (stable across
   commands: status.podIP, else the one it had, else a free one of
   10.244.0.0/16; the node its spec.nodeName names, else the one it had,
   else node k % nodes), the lab's address first in its addrs.  Fills
   pod_k. */
int pw_lab_assign(struct pw_lab *lb, struct pw_cluster *c);
/* The same for an agent of a lab of many: the pods state is shared by
   the nodes' agents, so it is read again and written back under a lock
   of its own (pods.lock): a pod gets its index, address and node once,
   from whichever agent sees it first, and every agent agrees. */
int pw_lab_assign_shared(struct pw_lab *lb, struct pw_cluster *c, struct pw_buf *err);
/* The node index of name, or -1. */
int pw_lab_node_index(const struct pw_lab *lb, const char *name);

/* ---- the agent (agent.c) -------------------------------------------------- */

/* Start the agent of node (see above) in the node's namespace, engine
   flags from lb, its output to agent.log (agent-NODE.log for node > 0);
   its pid, or -1. */
int pw_lab_start_agent(const struct pw_lab *lb, int node, struct pw_buf *err);
/* Is pid the agent of lab, not a recycled pid? */
bool pw_lab_is_agent(int pid, const char *lab);
/* The running agent of a node of the lab (from the ownership record), or 0. */
int pw_lab_agent_pid(const struct pw_lab *lb, int node);
/* Stop the lab's agents: SIGTERM, SIGKILL after a short wait; also those
   the record lost (found in /proc). */
void pw_lab_stop_agent(const struct pw_lab *lb);
/* STATE/NAME/source, STATE/NAME/agent.sock (node 0's), and a node's
   socket and log (agent-NODE.sock, .log for node > 0) */
void pw_lab_source_dir(const struct pw_lab *lb, char out[static 512]);
void pw_lab_agent_socket(const struct pw_lab *lb, char out[static 512]);
void pw_lab_node_socket(const struct pw_lab *lb, int node, char out[static 512]);
void pw_lab_node_log(const struct pw_lab *lb, int node, char out[static 512]);
/* The flow store of node i's agent: "sqlite:STATE/flows.db" (node 0),
   "sqlite:STATE/flows-I.db". */
/* The TCP port every lab agent also serves its API on, on 127.0.0.1 of
   its node's namespace. */
#define PW_LAB_AGENT_PORT "9466"
void pw_lab_node_flows(const struct pw_lab *lb, int node, char out[static 600]);

/* The agent's hooks (struct pw_agent_opts; arg: the lab, its state read,
   lb.node its own node or -1).  prepare: pw_lab_assign_shared; port_of:
   pwr<k> for the pods of its node; after_commit: the namespaces (and
   servers, and routes) of its node's new pods created, those of its
   pods gone removed; their problems go to err. */
struct pw_world;
struct pw_lab_hooks {
	struct pw_lab lb;
	struct pw_buf err;
};
int pw_lab_hook_prepare(struct pw_cluster *c, void *arg);
bool pw_lab_hook_port_of(void *arg, const struct pw_cluster *c, uint32_t pod,
			 char ifname[static 16]);
void pw_lab_hook_after_commit(void *arg, const struct pw_world *w);

/* ---- topology (topo.c) ----------------------------------------------------- */

/*
 * A lab of many nodes (nnodes > 1):
 *   netns pwl-NAME-n<i>       node i: forwards for the pods behind it (as the
 *                             router of a lab of one node does) and holds
 *                             its agent's table; veth pwu on the underlay,
 *                             169.254.2.<i+1>/24, default route via .254
 *   netns pwl-NAME-u          the underlay: bridge br0 (169.254.2.254/24)
 *                             joining the nodes, and the router of the
 *                             external hosts
 * A pod's /32 is routed in every other node and in the underlay via its
 * node's address, so traffic between pods of two nodes crosses both.
 */
#define PW_LAB_UNDERLAY "169.254.2"
/* Nodes and the underlay (else the one router pwl-NAME-r)? */
static inline bool pw_lab_has_underlay(const struct pw_lab *lb)
{
	return lb->nnodes > 1 || lb->etcd;
}
void pw_lab_node_ns(const struct pw_lab *lb, int i, char out[static 128]);
void pw_lab_underlay_ns(const struct pw_lab *lb, char out[static 128]);
/* node i's address on the underlay */
void pw_lab_node_addr(int i, char out[static 48]);
/* A namespace of the lab (recorded first), loopback up, forwarding on. */
int pw_lab_add_ns(struct pw_lab *lb, const char *netns, struct pw_buf *err);
/* netns on the underlay's bridge: veth br_side there, ifname in netns
   with addr/24 and a default route via the underlay's router. */
int pw_lab_join_underlay(const struct pw_lab *lb, const char *netns, const char *br_side,
			 const char *ifname, const char *addr, struct pw_buf *err);
void pw_lab_pod_ns(const struct pw_lab *lb, int k, char out[static 128]);
void pw_lab_ext_ns(const struct pw_lab *lb, int x, char out[static 128]);
/* The router's namespace, forwarding on; with many nodes, the underlay
   and the nodes. */
int pw_lab_add_router(struct pw_lab *lb, struct pw_buf *err);
/* Pod k (cluster pod p, at p->addrs[0]) and its server; a namespace of
   that name left by a killed run is made anew. */
int pw_lab_add_pod(struct pw_lab *lb, int k, const struct pw_pod *p,
		   struct pw_buf *err);
/* External host x (lb->ext[x]) and its server. */
int pw_lab_add_external(struct pw_lab *lb, int x, struct pw_buf *err);
/* The namespace of a pod (ns/name, a workload's first replica, or its
   address) or of an external host (its address); -1 when none. */
int pw_lab_find(const struct pw_lab *lb, const char *target, char netns[static 128]);
/* Pod k's namespace and what runs in it. */
int pw_lab_del_pod(struct pw_lab *lb, int k, struct pw_buf *err);
/* Remove everything the ownership record names, then the state (with the
   lock held, PW_LAB_WRITE).  1 when the lab had created nothing, 0 when
   it is down, -1 when namespaces stayed (state kept). */
int pw_lab_down(struct pw_lab *lb, struct pw_buf *err);

/* ---- etcd (etcd.c) -------------------------------------------------------------- */

/*
 * A lab with --datastore etcd keeps its objects in a real etcd cluster
 * (Debian's etcd-server) of PW_LAB_ETCD_MEMBERS members, under Calico's
 * key layout (lib/etcd/etcd.h):
 *   netns pwl-NAME-e<j>       member mJ: eth0 on the underlay, 169.254.2.<101+j>,
 *                             client port 2379, peer port 2380, data in
 *                             STATE/NAME/etcd-<j>/, log etcd-<j>.log
 * The agents (in their nodes' namespaces) watch it; the lab's commands
 * read it from node 0's namespace.  Members are recorded "etcd PID J".
 */
#define PW_LAB_ETCD_MEMBERS 3
void pw_lab_etcd_ns(const struct pw_lab *lb, int j, char out[static 128]);
/* "http://169.254.2.101:2379,..." */
void pw_lab_etcd_endpoints(const struct pw_lab *lb, char out[static 256]);
/* The members' namespaces, links and processes. */
int pw_lab_add_etcd(struct pw_lab *lb, struct pw_buf *err);
/* (Re)start member j; its pid, or -1. */
int pw_lab_start_etcd(const struct pw_lab *lb, int j, struct pw_buf *err);
/* Is pid an etcd member of lab (*member: which)? */
bool pw_lab_is_etcd(int pid, const char *lab, int *member);
/* The running member j (from the ownership record), or 0. */
int pw_lab_etcd_pid(const struct pw_lab *lb, int j);
/* Every document the lab's etcd holds (named by key), read from node 0
   (waiting up to timeout_ms for the cluster to answer).  0, or -1. */
struct pw_world_doc;
int pw_lab_etcd_read(const struct pw_lab *lb, int timeout_ms, struct pw_world_doc **out,
		     size_t *n, struct pw_buf *err);
void pw_lab_docs_free(struct pw_world_doc *v, size_t n);

/* ---- servers (server.c) ----------------------------------------------------- */

/* Start the server of netns: TCP, UDP and SCTP on 80, 81 and the ports of
   p (NULL: an external host).  It records itself (pid) before it runs. */
int pw_lab_start_server(const struct pw_lab *lb, const char *netns,
			const struct pw_pod *p, struct pw_buf *err);
/* Is pid a server of lab (of netns, unless NULL), not a recycled pid? */
bool pw_lab_is_server(int pid, const char *lab, const char *netns);
/* The servers the ownership record names, and how many of them run. */
int pw_lab_count_servers(const struct pw_lab *lb, int *alive);
/* Kill (SIGKILL) the servers of lab (of netns, unless NULL) found in /proc:
   the fallback for records a crash lost. */
void pw_lab_kill_servers(const char *lab, const char *netns);
/* Kill every process whose network namespace is /run/netns/NETNS. */
void pw_lab_kill_in_netns(const char *netns);
/* The server itself (`lab __serve`): enter netns and serve ports ("TCP/80,
   UDP/80,..."; written into) until SIGTERM or SIGINT.  An exit status. */
int pw_lab_serve(const char *netns, char *ports);

/* ---- the dataplane (enforce.c) --------------------------------------------- */

/*
 * The lab's agent puts the engine's decisions in force in the router, as
 * the nftables table PW_LAB_TABLE, through the dataplane interface
 * (lib/dp/dp.h: it reads what the kernel holds and changes only what
 * differs, in one transaction), pod k at interface pwr<k>.  Here: the
 * same table rendered (lab render), and the cut.
 */
struct pw_lab_ports {
	struct pw_dp_port *v;
	size_t n;
	char (*ifnames)[24];
};
void pw_lab_ports(const struct pw_lab *lb, const struct pw_cluster *c,
		  struct pw_lab_ports *out);
void pw_lab_ports_release(struct pw_lab_ports *p);
/* The table the lab would put in force (lab render). */
void pw_lab_render(const struct pw_lab *lb, const struct pw_engine *e,
		   const struct pw_lab_ports *ports, struct pw_nft *out);
/* Remove the router's conntrack entries of connections e denies: the
   count cut, or -1. */
int pw_lab_cut_denied(const struct pw_lab *lb, const struct pw_engine *e,
		      struct pw_buf *err);

/* ---- probes (probe.c) ------------------------------------------------------- */

struct pw_lab_endpoint {
	char label[300]; /* ns/name, or the address */
	const char *kind; /* "Pod", "External" */
	char netns[128];
	struct pw_ep ep;
	struct pw_addr addr;
};
/* Every pod, in the lab's order (the order they joined it), then the
   external hosts: the ends of the probes.  Heap; returns the count. */
size_t pw_lab_endpoints(const struct pw_lab *lb, const struct pw_cluster *c,
			struct pw_lab_endpoint **out);

/* What a probe saw, and the engine said. */
enum pw_lab_seen {
	PW_LAB_SELF = '-',    /* an endpoint and itself: not probed */
	PW_LAB_REACHED = '.', /* connected, or refused by the server */
	PW_LAB_BLOCKED = 'X', /* timed out */
	PW_LAB_UNTESTED = '?', /* cannot be probed, or a DNS rule may decide */
};
struct pw_lab_probe {
	struct pw_lab_endpoint *eps;
	size_t n, nq;
	/* cell (q, s, d) at (q * n + s) * n + d: seen, the engine's verdict,
	   and whether a DNS rule may decide it (then untested) */
	char *seen;
	bool *allowed, *by_dns;
	size_t agree, differ, untested, untested_dns;
};
/* Connect from every endpoint to every other on each (protos[q],
   ports[q]), one child per source and all at once, and compare with e. */
int pw_lab_probe(const struct pw_lab *lb, const struct pw_engine *e,
		 const int *protos, const int *ports, size_t nq, int timeout_ms,
		 struct pw_lab_probe *out, struct pw_buf *err);
void pw_lab_probe_release(struct pw_lab_probe *p);

/*
 * Through every service address and port, from every endpoint.  The
 * router picks backends in turn (lib/nft-svc.c), so N connections in a row
 * from one source reach each of the N backends once: the connection counts
 * as reached only if all N do, as the engine allows it only if every
 * backend does.  Sources take turns per service port (one process each,
 * entering each source's namespace in turn); service ports are probed in
 * parallel.  A service port with a backend that is neither a lab pod nor a
 * lab host cannot be tested: untested.
 */
struct pw_lab_svc_target {
	const struct pw_service *svc;
	const struct pw_svc_port *sp;
	struct pw_addr vip;
	size_t nb;   /* IPv4 backends */
	int chain;   /* service port: the turn counter they share */
	bool absent; /* a backend is neither a lab pod nor a lab host */
};
struct pw_lab_svc_probe {
	struct pw_lab_endpoint *eps;
	size_t n;
	struct pw_lab_svc_target *tv;
	size_t nt;
	/* cell (t, s) at t * n + s */
	char *seen; /* PW_LAB_REACHED, _BLOCKED, _UNTESTED */
	bool *allowed;
	size_t agree, differ, untested;
};
int pw_lab_probe_services(const struct pw_lab *lb, const struct pw_engine *e,
			  int timeout_ms, struct pw_lab_svc_probe *out,
			  struct pw_buf *err);
void pw_lab_svc_probe_release(struct pw_lab_svc_probe *p);

#endif
