// SPDX-License-Identifier: Apache-2.0
/*
 * podwall lab: a cluster's pods as network namespaces on one machine, the
 * engine's verdicts enforced by nftables in the lab's router, and real
 * connections that prove them.  The lab itself is lib/lab/ (topology,
 * state, servers, probes, the dataplane seam); this file is its command
 * line: a subcommand table, each subcommand with its own options and
 * usage, loading manifests into an engine, and printing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/agent/http.h"
#include "../lib/lab/lab.h"
#include "cli.h"

/* The options of lab subcommands; each takes those of its mask. */
enum {
	O_FILE = 1 << 0,
	O_NAME = 1 << 1,
	O_REPLICAS = 1 << 2,
	O_EXTERNAL = 1 << 3, /* and --no-external */
	O_ENGINE = 1 << 4,   /* --ipblock-excludes-pods, --hostnetwork-as-pods */
	O_KEEP = 1 << 5,
	O_PORT = 1 << 6,
	O_SERVICES = 1 << 7,
	O_TIMEOUT = 1 << 8,
	O_OUTPUT = 1 << 9,
	O_TARGET = 1 << 10, /* NS/POD|ADDR -- CMD [ARG...] */
	O_NODES = 1 << 11,
	O_NODE = 1 << 12,
	O_DATASTORE = 1 << 13,
	O_START = 1 << 14,
	O_FLOWIVL = 1 << 15,
};

/* Setup a subcommand needs (git.c's RUN_SETUP, for us) */
#define LAB_ROOT 1u /* network namespaces and nftables */

struct lab_args {
	const char *name;
	const char **files;
	int nfiles;
	unsigned flags;
	uint32_t replicas;
	struct pw_addr ext[PW_LAB_MAX_EXTERNALS];
	int next; /* -1: the default hosts */
	bool keep, services;
	int protos[64], ports[64];
	size_t nq;
	int timeout_ms;
	const char *output;
	const char *target;
	char **cmd;
	int nodes;
	const char *node;
	bool etcd, start;
	int flow_interval; /* seconds; 0: the agent's default */
};

struct lab_cmd {
	const char *name;
	int (*fn)(const struct lab_cmd *cmd, struct lab_args *a);
	unsigned opts;
	unsigned setup;
	const char *summary; /* NULL: hidden */
	const char *usage;
};

static const char names_help[] =
	"      --name NAME           the lab (default podwall; 1-20 of a-z, 0-9, '-')\n";

/* ---- loading ------------------------------------------------------------------- */

static int assign(struct pw_cluster *c, void *arg)
{
	return pw_lab_assign(arg, c);
}

/* Load files, or documents read from a datastore, as the lab would hold
   them (pods at the lab's addresses). */
static int load_input(struct pw_lab *lb, struct cli_world *w, const char **files, int n,
		      const struct pw_world_doc *docs, size_t ndocs)
{
	struct cli_opts o = { 0 };
	o.files = files;
	o.nfiles = n;
	o.docs = docs;
	o.ndocs = ndocs;
	o.engine_flags = lb->flags;
	o.replicas = lb->replicas;
	o.prepare = assign;
	o.prepare_arg = lb;
	return cli_world_load(w, &o);
}

static int load_files(struct pw_lab *lb, struct cli_world *w, const char **files, int n)
{
	return load_input(lb, w, files, n, NULL, 0);
}

/* What a lab with an etcd datastore holds, as read for lab_load (kept
   until the command ends: the cluster points into it). */
static struct pw_world_doc *etcd_docs;
static size_t etcd_ndocs;

/* Load what the lab holds, as its agents do: its source directory, or its
   etcd cluster. */
static int lab_load(struct pw_lab *lb, struct cli_world *w)
{
	char src[512];
	pw_lab_source_dir(lb, src);
	const char *files[] = { src };
	if (!lb->etcd)
		return load_files(lb, w, files, 1);
	struct pw_buf err;
	pw_buf_init(&err);
	pw_lab_docs_free(etcd_docs, etcd_ndocs);
	etcd_docs = NULL;
	etcd_ndocs = 0;
	if (pw_lab_etcd_read(lb, 10000, &etcd_docs, &etcd_ndocs, &err) < 0) {
		memset(w, 0, sizeof(*w));
		pw_cluster_init(&w->c);
		cli_error("lab: %s", err.s ? err.s : "cannot read the lab's etcd");
		pw_buf_release(&err);
		return -1;
	}
	pw_buf_release(&err);
	return load_input(lb, w, NULL, 0, etcd_docs, etcd_ndocs);
}

static void print_diags(const struct pw_diags *d)
{
	struct pw_buf b;
	pw_buf_init(&b);
	for (size_t i = 0; i < d->n; i++) {
		pw_buf_reset(&b);
		pw_diag_format(&d->v[i], &b);
		fprintf(stderr, "%s\n", b.s);
	}
	pw_buf_release(&b);
}

/* What the ruleset leaves out (DNS rules), as warnings on stderr. */
static void warn_unenforced(const struct cli_world *w)
{
	struct pw_diags d;
	pw_diags_init(&d);
	pw_nft_unenforced(&w->e, &d);
	print_diags(&d);
	pw_diags_release(&d);
}

/* Lines of err, each as an error of "lab SUB". */
static void print_err(const char *sub, const struct pw_buf *err, const char *dflt)
{
	const char *p = err->s && *err->s ? err->s : dflt;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		if (len)
			cli_error("lab %s: %.*s", sub, len, p);
		p += len + (nl ? 1 : 0);
	}
}

static void lab_new(struct pw_lab *lb, const char *name)
{
	pw_lab_init(lb, name);
	/* the benchmark's baseline: rules one by one, as iptables has them */
	const char *lin = getenv("PODWALL_NFT_LINEAR");
	lb->nft_linear = lin && *lin == '1';
}

/* Lock and read an existing lab: 0, or an exit status (printed). */
static int lab_open(const struct lab_cmd *cmd, struct pw_lab *lb, const char *name,
		    enum pw_lab_lock how)
{
	struct pw_buf err;
	pw_buf_init(&err);
	lab_new(lb, name);
	int rc = 0;
	if (pw_lab_lock(lb, how, &err) < 0 || pw_lab_read(lb, &err) < 0) {
		print_err(cmd->name, &err, "cannot open the lab");
		rc = EXIT_USAGE;
	}
	pw_buf_release(&err);
	return rc;
}

/* ---- up, render, down ------------------------------------------------------------ */

/* ---- the agent ------------------------------------------------------------------ */

/* GET path of the agent of a node: its status, or -1 when it does not
   answer. */
static long node_get(const struct pw_lab *lb, int node, const char *path,
		     struct pw_buf *out)
{
	char sock[512];
	struct pw_buf err;
	long status = 0;
	pw_lab_node_socket(lb, node, sock);
	pw_buf_init(&err);
	pw_buf_reset(out);
	int rc = pw_http_call(sock, "GET", path, NULL, 0, 2000, &status, out, &err);
	pw_buf_release(&err);
	return rc < 0 ? -1 : status;
}

/* node 0's: the one lab apply and delete talk to */
static long agent_get(const struct pw_lab *lb, const char *path, struct pw_buf *out)
{
	return node_get(lb, 0, path, out);
}

/* Wait until every node's agent holds what node 0's does (the same
   documents: /v1/state's digest): the ms it took, or -1 after timeout. */
static double nodes_converge(const struct pw_lab *lb, int timeout_ms)
{
	struct pw_buf want, got;
	pw_buf_init(&want);
	pw_buf_init(&got);
	double t0 = cli_now_ms(), took = -1;
	if (agent_get(lb, "/v1/state", &want) == 200 && want.s) {
		/* the digest, not the generation (each agent counts its own) */
		char *g = strstr(want.s, ", \"generation\"");
		if (g)
			*g = 0;
		while (took < 0 && cli_now_ms() - t0 < timeout_ms) {
			int same = 1;
			for (int i = 1; i < lb->nnodes && same; i++)
				same = node_get(lb, i, "/v1/state", &got) == 200 && got.s &&
				       !strncmp(got.s, want.s, strlen(want.s));
			if (same)
				took = cli_now_ms() - t0;
			else
				usleep(2000);
		}
	}
	pw_buf_release(&want);
	pw_buf_release(&got);
	return took;
}

/* The rules in the agent's table (its /metrics), or -1. */
static long agent_rules(const struct pw_lab *lb)
{
	struct pw_buf m;
	pw_buf_init(&m);
	long n = -1;
	if (agent_get(lb, "/metrics", &m) == 200 && m.s) {
		const char *p = strstr(m.s, "\npodwall_dataplane_rules ");
		if (p)
			n = atol(p + strlen("\npodwall_dataplane_rules "));
	}
	pw_buf_release(&m);
	return n;
}

/* The last lines of a node's agent's log, on stderr. */
static void agent_log_tail(const struct pw_lab *lb, int node, int lines)
{
	char path[512];
	pw_lab_node_log(lb, node, path);
	char *log = pw_lab_state_get(lb, strrchr(path, '/') + 1);
	if (!log)
		return;
	size_t n = strlen(log);
	const char *p = log + n;
	while (p > log && lines >= 0)
		if (*--p == '\n')
			lines--;
	fprintf(stderr, "%s", p + (*p == '\n'));
	free(log);
}

/* Wait for a node's agent to be ready: 0, or -1 when it stopped or timed
   out. */
static int agent_wait_ready(const struct pw_lab *lb, int node, pid_t pid, int timeout_ms)
{
	struct pw_buf out;
	pw_buf_init(&out);
	double until = cli_now_ms() + timeout_ms;
	int rc = -1;
	while (cli_now_ms() < until) {
		if (node_get(lb, node, "/readyz", &out) == 200) {
			rc = 0;
			break;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break; /* it stopped */
		usleep(20 * 1000);
	}
	pw_buf_release(&out);
	return rc;
}

/* Copy the inputs into the lab's source, NNN-basename each. */
struct copy_in {
	char dir[512];
	int n;
	int failed;
};

static size_t copy_input(void *arg, const char *name, const unsigned char *bytes,
			 size_t len, struct pw_diags *d)
{
	(void)d;
	struct copy_in *ci = arg;
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	char path[1024];
	snprintf(path, sizeof(path), "%s/%03d-%s%s", ci->dir, ci->n++, base,
		 pw_is_manifest_name(base) ? "" : ".yaml");
	FILE *f = fopen(path, "w");
	if (!f || fwrite(bytes, 1, len, f) != len)
		ci->failed++;
	if (f && fclose(f) != 0)
		ci->failed++;
	return 0;
}

static int copy_inputs(const struct pw_lab *lb, const char **files, int n,
		       struct pw_buf *err)
{
	struct copy_in ci = { .n = 0 };
	pw_lab_source_dir(lb, ci.dir);
	if (mkdir(ci.dir, 0755) < 0 && errno != EEXIST) {
		pw_buf_printf(err, "cannot make %s: %s", ci.dir, strerror(errno));
		return -1;
	}
	struct pw_arena names;
	struct pw_diags d;
	pw_arena_init(&names);
	pw_diags_init(&d);
	for (int f = 0; f < n; f++)
		pw_walk_path(files[f], &names, copy_input, &ci, &d);
	pw_arena_release(&names);
	pw_diags_release(&d);
	if (ci.failed) {
		pw_buf_printf(err, "cannot copy the inputs into %s", ci.dir);
		return -1;
	}
	return 0;
}

/* ---- up, render, down ------------------------------------------------------------ */

/* Is nm one of the first n names of lb's nodes? */
static bool node_named(const struct pw_lab *lb, int n, const char *nm)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(lb->nodes[i], nm))
			return true;
	return false;
}

/* The nodes' names: those the pods' spec.nodeName give, in the order
   they come, then node-<i>. */
static int name_nodes(struct pw_lab *lb, const char **files, int n)
{
	struct cli_opts o = { 0 };
	struct cli_world w;
	o.files = files;
	o.nfiles = n;
	o.engine_flags = lb->flags;
	o.replicas = lb->replicas;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		return -1;
	}
	int named = 0;
	for (uint32_t i = 0; i < w.c.npods && named < lb->nnodes; i++) {
		const char *nm = w.c.pods[i].node;
		if (nm && *nm && strlen(nm) < sizeof(lb->nodes[0]) && !node_named(lb, named, nm)) {
			snprintf(lb->nodes[named], sizeof(lb->nodes[named]), "%s", nm);
			named++;
		}
	}
	for (int i = named, x = 0; i < lb->nnodes; i++) {
		char nm[64];
		do
			snprintf(nm, sizeof(nm), "node-%d", x++);
		while (node_named(lb, named, nm));
		snprintf(lb->nodes[i], sizeof(lb->nodes[i]), "%s", nm);
	}
	cli_world_release(&w);
	return 0;
}

/* The etcd cluster, and the inputs written into it as podwall apply
   --datastore writes them (one transaction), from node 0. */
static int etcd_up(struct pw_lab *lb, const char **files, int n, struct pw_buf *err)
{
	if (pw_lab_add_etcd(lb, err) < 0)
		return -1;
	struct pw_world_doc *docs;
	size_t nd;
	/* the cluster elects a leader and answers */
	if (pw_lab_etcd_read(lb, 30000, &docs, &nd, err) < 0)
		return -1;
	pw_lab_docs_free(docs, nd);
	char eps[256], ds[300], node[128];
	pw_lab_etcd_endpoints(lb, eps);
	snprintf(ds, sizeof(ds), "etcd:%s", eps);
	pw_lab_node_ns(lb, 0, node);
	char **argv = pw_xcalloc((size_t)n * 2 + 8, sizeof(char *));
	int k = 0;
	argv[k++] = "podwall";
	argv[k++] = "apply";
	argv[k++] = "--datastore";
	argv[k++] = ds;
	for (int f = 0; f < n; f++) {
		argv[k++] = "-f";
		argv[k++] = (char *)files[f];
	}
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		if (pw_netns_enter(node) < 0)
			_exit(127);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	free(argv);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		pw_buf_printf(err, "cannot write the manifests into the lab's etcd");
		return -1;
	}
	return 0;
}

static int lab_up(const struct lab_cmd *cmd, struct lab_args *a)
{
	if (!a->nfiles)
		return cli_error("lab up: give manifests with -f"), EXIT_USAGE;
	struct pw_lab lb;
	struct pw_buf err;
	pw_buf_init(&err);
	lab_new(&lb, a->name);
	int rc = EXIT_USAGE;
	char **abs = NULL;
	if (pw_lab_lock(&lb, PW_LAB_CREATE, &err) < 0) {
		print_err(cmd->name, &err, NULL);
		goto out;
	}
	if (pw_lab_is_up(&lb)) {
		cli_error("lab %s is already up (podwall lab down --name %s)", lb.name, lb.name);
		goto out;
	}
	lb.flags = a->flags;
	lb.replicas = a->replicas;
	lb.nnodes = a->nodes;
	lb.etcd = a->etcd;
	lb.flow_interval = a->flow_interval;
	static const char *const defaults[] = { "192.0.2.10", "198.51.100.10", "203.0.113.10" };
	if (a->next < 0)
		for (size_t d = 0; d < PW_ARRAY_SIZE(defaults); d++)
			if (pw_addr_parse(defaults[d], &lb.ext[lb.next]) == 0)
				lb.next++;
	for (int x = 0; x < a->next; x++)
		lb.ext[lb.next++] = a->ext[x];
	/* absolute: what the agent reads is the lab's copy */
	abs = pw_xcalloc((size_t)a->nfiles + 1, sizeof(char *));
	for (int f = 0; f < a->nfiles; f++)
		if (!(abs[f] = realpath(a->files[f], NULL))) {
			cli_error("lab up: cannot read %s: %s", cli_q(a->files[f]), strerror(errno));
			pw_lab_forget(&lb);
			goto out;
		}
	struct cli_world w;
	if (pw_lab_has_underlay(&lb) && name_nodes(&lb, (const char **)abs, a->nfiles) < 0) {
		pw_lab_forget(&lb);
		goto out;
	}
	if (load_files(&lb, &w, (const char **)abs, a->nfiles) < 0) {
		cli_world_release(&w);
		pw_lab_forget(&lb);
		goto out;
	}
	warn_unenforced(&w);
	rc = 1;
	long rules = -1;
	if (pw_lab_write(&lb, &err) == 0 && pw_lab_add_router(&lb, &err) == 0) {
		rc = 0;
		for (uint32_t i = 0; !rc && i < w.c.npods; i++)
			rc = pw_lab_add_pod(&lb, lb.pod_k[i], &w.c.pods[i], &err) < 0;
		for (int x = 0; !rc && x < lb.next; x++)
			rc = pw_lab_add_external(&lb, x, &err) < 0;
		if (!rc && lb.etcd)
			rc = etcd_up(&lb, (const char **)abs, a->nfiles, &err) < 0;
		else if (!rc)
			rc = copy_inputs(&lb, (const char **)abs, a->nfiles, &err) < 0;
		pid_t pids[PW_LAB_MAX_NODES];
		for (int i = 0; !rc && i < lb.nnodes; i++)
			if ((pids[i] = pw_lab_start_agent(&lb, i, &err)) < 0)
				rc = 1;
		for (int i = 0; !rc && i < lb.nnodes; i++)
			if (agent_wait_ready(&lb, i, pids[i], 30000) < 0) {
				pw_buf_printf(&err, "the agent of node %s did not become ready; its log ends:",
					      lb.nodes[i]);
				print_err(cmd->name, &err, NULL);
				pw_buf_reset(&err);
				agent_log_tail(&lb, i, 10);
				rc = 1;
			}
		if (!rc)
			rules = agent_rules(&lb);
	}
	if (!rc && pw_lab_has_underlay(&lb))
		printf("lab %s is up: %d node%s, %u pods, %d external hosts, %ld nftables rules on node %s%s\n",
		       lb.name, lb.nnodes, lb.nnodes == 1 ? "" : "s", w.c.npods, lb.next, rules,
		       lb.nodes[0], lb.etcd ? "; datastore: etcd, 3 members" : "");
	else if (!rc)
		printf("lab %s is up: %u pods, %d external hosts, %ld nftables rules\n",
		       lb.name, w.c.npods, lb.next, rules);
	else if (err.len)
		print_err(cmd->name, &err, strerror(errno));
	cli_world_release(&w);
out:
	for (int f = 0; abs && f < a->nfiles; f++)
		free(abs[f]);
	free(abs);
	pw_lab_release(&lb);
	pw_buf_release(&err);
	return rc;
}

/* The ruleset a lab of these manifests would put in force. */
static int lab_render(const struct lab_cmd *cmd, struct lab_args *a)
{
	(void)cmd;
	if (!a->nfiles)
		return cli_error("lab render: give manifests with -f"), EXIT_USAGE;
	struct pw_lab lb;
	lab_new(&lb, a->name);
	lb.flags = a->flags;
	lb.replicas = a->replicas;
	struct cli_world w;
	int rc = EXIT_USAGE;
	if (load_files(&lb, &w, a->files, a->nfiles) == 0) {
		warn_unenforced(&w);
		struct pw_lab_ports ports;
		struct pw_nft t;
		struct pw_buf b;
		pw_lab_ports(&lb, &w.c, &ports);
		pw_nft_init(&t);
		pw_buf_init(&b);
		pw_lab_render(&lb, &w.e, &ports, &t);
		pw_nft_script_full(&t, PW_LAB_TABLE, &b);
		fputs(b.s ? b.s : "", stdout);
		pw_buf_release(&b);
		pw_nft_release(&t);
		pw_lab_ports_release(&ports);
		rc = 0;
	}
	cli_world_release(&w);
	pw_lab_release(&lb);
	return rc;
}

static int lab_down(const struct lab_cmd *cmd, struct lab_args *a)
{
	struct pw_lab lb;
	struct pw_buf err;
	pw_buf_init(&err);
	lab_new(&lb, a->name);
	int rc = 1;
	if (pw_lab_lock(&lb, PW_LAB_WRITE, &err) < 0 && errno == ENOENT) {
		printf("lab %s is not up\n", lb.name);
		rc = 0;
	} else if (lb.lock_fd < 0) {
		print_err(cmd->name, &err, NULL);
	} else {
		rc = pw_lab_down(&lb, &err);
		if (rc < 0)
			print_err(cmd->name, &err, NULL);
		else
			printf(rc ? "lab %s is not up\n" : "lab %s is down\n", lb.name);
		rc = rc < 0 ? 1 : 0;
	}
	pw_lab_release(&lb);
	pw_buf_release(&err);
	return rc;
}

/* Start a node's agent when it is not running (as a DaemonSet restarts
   its pod): the kernel kept the node's rules meanwhile; the agent reads
   them and changes only what differs. */
static int lab_agent(const struct lab_cmd *cmd, struct lab_args *a)
{
	struct pw_lab lb;
	int rc = lab_open(cmd, &lb, a->name, PW_LAB_WRITE);
	struct pw_buf err;
	pw_buf_init(&err);
	int node = rc ? -1 : a->node ? pw_lab_node_index(&lb, a->node) : 0;
	if (!rc && node < 0) {
		cli_error("lab agent: lab %s has no node %s", lb.name, cli_q(a->node));
		rc = EXIT_USAGE;
	}
	int pid = rc ? 0 : pw_lab_agent_pid(&lb, node);
	if (!rc && pid) {
		printf("the agent of node %s runs already (pid %d)\n", lb.nodes[node], pid);
	} else if (!rc) {
		pid = pw_lab_start_agent(&lb, node, &err);
		if (pid < 0 || agent_wait_ready(&lb, node, pid, 30000) < 0) {
			print_err(cmd->name, &err, "the agent did not become ready; its log ends:");
			agent_log_tail(&lb, node, 10);
			rc = 1;
		} else {
			printf("the agent of node %s is ready (pid %d)\n", lb.nodes[node], pid);
		}
	}
	pw_buf_release(&err);
	pw_lab_release(&lb);
	return rc;
}

/* ---- apply / delete ----------------------------------------------------------- */

/* The agent's answer: per-object lines on stdout, "# ..." lines left
   out; "KIND NS/NAME not found" lines as errors.  The count of those. */
static int print_answer(const struct pw_lab *lb, const char *out)
{
	int missing = 0;
	const char *p = out;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		const char *nf = " not found";
		int nfl = (int)strlen(nf);
		if (len > nfl && !strncmp(p + len - nfl, nf, (size_t)nfl)) {
			cli_error("lab delete: %.*s is not in lab %s", len - nfl, p, lb->name);
			missing++;
		} else if (len && *p != '#') {
			printf("%.*s\n", len, p);
		}
		p += len + (nl ? 1 : 0);
	}
	return missing;
}

static int lab_change(struct pw_lab *lb, struct lab_args *a, bool add)
{
	const char *sub = add ? "apply" : "delete";
	for (int f = 0; f < a->nfiles; f++)
		if (access(a->files[f], R_OK) < 0) {
			cli_error("lab %s: cannot read %s: %s", sub, cli_q(a->files[f]),
				  strerror(errno));
			return EXIT_USAGE;
		}
	char sock[512];
	pw_lab_agent_socket(lb, sock);
	struct pw_diags d;
	struct pw_buf out, err;
	long status = 0;
	pw_diags_init(&d);
	pw_buf_init(&out);
	pw_buf_init(&err);
	double t0 = cli_now_ms();
	int sent = pw_agent_send_files(sock, sub, a->files, (size_t)a->nfiles, NULL, &status,
				       &out, &d, &err);
	double t1 = cli_now_ms();
	print_diags(&d);
	int rc = 0;
	if (sent < 0) {
		if (!d.errors)
			cli_error("lab %s: the lab's agent does not answer (podwall lab status --name %s): %s",
				  sub, lb->name, err.s ? err.s : "");
		rc = d.errors ? EXIT_USAGE : 1;
	} else if (status == 200 || status == 404) {
		/* an object a delete names that is not in the lab: an error */
		rc = print_answer(lb, out.s) ? EXIT_USAGE : 0;
	} else {
		fputs(out.s ? out.s : "", stderr);
		rc = status == 422 ? EXIT_FINDINGS : EXIT_USAGE;
	}
	if (status == 200) {
		printf("rules in force %.1f ms after the request (%ld nftables rules)\n",
		       t1 - t0, agent_rules(lb));
		if (lb->nnodes > 1) {
			double ms = nodes_converge(lb, 10000);
			if (ms >= 0)
				printf("in force on all %d nodes %.1f ms after the request\n",
				       lb->nnodes, t1 - t0 + ms);
			else
				cli_error("lab %s: not every node's agent holds the change after 10 s (podwall lab status --name %s)",
					  sub, lb->name);
		}
		/* what the agent now holds, for its warnings and the cut */
		struct pw_lab now;
		struct cli_world w;
		lab_new(&now, lb->name);
		pw_buf_reset(&err);
		if (pw_lab_read(&now, &err) == 0) {
			if (lab_load(&now, &w) == 0) {
				warn_unenforced(&w);
				int cut = a->keep ? 0 : pw_lab_cut_denied(&now, &w.e, &err);
				if (cut > 0)
					printf("cut %d established connection%s the policies now deny\n",
					       cut, cut == 1 ? "" : "s");
			}
			cli_world_release(&w);
		}
		pw_lab_release(&now);
	}
	pw_diags_release(&d);
	pw_buf_release(&out);
	pw_buf_release(&err);
	return rc;
}

static int lab_apply(const struct lab_cmd *cmd, struct lab_args *a)
{
	if (!a->nfiles)
		return cli_error("lab %s: give manifests with -f", cmd->name), EXIT_USAGE;
	struct pw_lab lb;
	int rc = lab_open(cmd, &lb, a->name, PW_LAB_WRITE);
	if (!rc)
		rc = lab_change(&lb, a, !strcmp(cmd->name, "apply"));
	pw_lab_release(&lb);
	return rc;
}

/* ---- probe ------------------------------------------------------------------ */

static void print_probe(const struct pw_lab_probe *r, const int *protos,
			const int *ports, const char *fmt)
{
	size_t n = r->n, nq = r->nq;
	const struct pw_lab_endpoint *eps = r->eps;
	bool tsv = fmt && !strcmp(fmt, "tsv"), json = fmt && !strcmp(fmt, "json");
	struct pw_buf diffs;
	pw_buf_init(&diffs);
	for (size_t s = 0; s < n; s++)
		for (size_t d = 0; d < n; d++)
			for (size_t q = 0; d != s && q < nq; q++) {
				size_t at = (q * n + s) * n + d;
				char seen = r->seen[at];
				bool allowed = r->allowed[at];
				if (tsv)
					printf("%s\t%s\t%s/%d\t%s\t%s\n", eps[s].label, eps[d].label,
					       pw_proto_name(protos[q]), ports[q],
					       seen == PW_LAB_UNTESTED ? "untested"
					       : seen == PW_LAB_REACHED ? "allow" : "deny",
					       allowed ? "allow" : "deny");
				if (seen != PW_LAB_UNTESTED && (seen == PW_LAB_REACHED) != allowed)
					pw_buf_printf(&diffs, "%s -> %s %s/%d: engine %s, lab %s\n",
						      eps[s].label, eps[d].label,
						      pw_proto_name(protos[q]), ports[q],
						      allowed ? "ALLOW" : "DENY",
						      allowed ? "blocked" : "open");
			}
	if (json) {
		printf("{\n  \"agree\": %zu,\n  \"differ\": %zu,\n  \"untested\": %zu,\n  \"untested_dns\": %zu,\n  \"differences\": [",
		       r->agree, r->differ, r->untested, r->untested_dns);
		const char *p = diffs.s;
		bool first = true;
		while (p && *p) {
			const char *nl = strchr(p, '\n');
			printf("%s\n    \"%.*s\"", first ? "" : ",", (int)(nl - p), p);
			first = false;
			p = nl + 1;
		}
		printf("%s]\n}\n", first ? "" : "\n  ");
	} else if (!tsv) {
		/* as matrix prints it: the legend, then rows named */
		char (*names)[320] = pw_xcalloc(n + 1, sizeof(*names));
		size_t wid = 3;
		for (size_t i = 0; i < n; i++) {
			snprintf(names[i], sizeof(names[i]), "%s[%s]", eps[i].label, eps[i].kind);
			if (strlen(names[i]) > wid)
				wid = strlen(names[i]);
		}
		printf("Endpoints:\n");
		for (size_t i = 0; i < n; i++)
			printf("  %2zu  %s\n", i + 1, names[i]);
		for (size_t q = 0; q < nq; q++) {
			printf("\nObserved %s/%d ('.' reached, 'X' blocked, '?' untested; rows: from, columns: to)\n%*s",
			       pw_proto_name(protos[q]), ports[q], (int)wid + 6, "");
			for (size_t d = 0; d < n; d++)
				printf(" %2zu", d + 1);
			putchar('\n');
			for (size_t s = 0; s < n; s++) {
				printf("  %2zu  %-*s", s + 1, (int)wid, names[s]);
				for (size_t d = 0; d < n; d++)
					printf("  %c", r->seen[(q * n + s) * n + d]);
				putchar('\n');
			}
		}
		free(names);
		if (diffs.len)
			printf("\nDifferences from the engine:\n%s", diffs.s);
		struct pw_buf why;
		pw_buf_init(&why);
		size_t by_dns = r->untested_dns;
		if (by_dns)
			pw_buf_printf(&why, "%zu may be decided by DNS domains, which the lab does not enforce",
				      by_dns);
		if (r->untested > by_dns)
			pw_buf_printf(&why, "%s%zu %s", by_dns ? "; " : "", r->untested - by_dns,
				      pw_sctp_supported() ? "could not be probed"
							  : "need SCTP, which this kernel lacks");
		printf("\nprobed %zu connections: %zu agree with the engine, %zu differ, %zu untested%s%s%s\n",
		       r->agree + r->differ + r->untested, r->agree, r->differ, r->untested,
		       why.len ? " (" : "", why.len ? why.s : "", why.len ? ")" : "");
		pw_buf_release(&why);
	}
	pw_buf_release(&diffs);
}

static void print_svc_probe(const struct pw_lab_svc_probe *r, const struct pw_cluster *c,
			    const char *fmt)
{
	bool tsv = fmt && !strcmp(fmt, "tsv");
	struct pw_buf diffs;
	pw_buf_init(&diffs);
	for (size_t t = 0; t < r->nt; t++)
		for (size_t s = 0; s < r->n; s++) {
			const struct pw_lab_svc_target *tg = &r->tv[t];
			char seen = r->seen[t * r->n + s];
			bool want = r->allowed[t * r->n + s];
			char vip[48];
			pw_addr_format(&tg->vip, vip);
			if (tsv)
				printf("%s\t%s/%s=%s\t%s/%d\t%s\t%s\n", r->eps[s].label,
				       c->nss[tg->svc->ns].name, tg->svc->name, vip,
				       pw_proto_name(tg->sp->proto), tg->sp->port,
				       seen == PW_LAB_UNTESTED ? "untested"
				       : seen == PW_LAB_REACHED ? "allow" : "deny",
				       want ? "allow" : "deny");
			if (seen != PW_LAB_UNTESTED && (seen == PW_LAB_REACHED) != want)
				pw_buf_printf(&diffs, "%s -> Service %s/%s (%s) %s/%d: engine %s, lab %s\n",
					      r->eps[s].label, c->nss[tg->svc->ns].name,
					      tg->svc->name, vip, pw_proto_name(tg->sp->proto),
					      tg->sp->port, want ? "ALLOW" : "DENY",
					      want ? "blocked" : "open");
		}
	if (!tsv) {
		if (diffs.len)
			printf("Differences from the engine:\n%s\n", diffs.s);
		printf("probed %zu connections through %zu service addresses and ports: "
		       "%zu agree with the engine, %zu differ, %zu untested\n",
		       r->agree + r->differ + r->untested, r->nt, r->agree, r->differ,
		       r->untested);
	}
	pw_buf_release(&diffs);
}

/* The default ports: TCP, UDP and SCTP 80 and 81, and the containerPorts. */
static void default_ports(const struct pw_cluster *c, struct lab_args *a)
{
	static const int dp[] = { PW_TCP, PW_UDP, PW_SCTP };
	for (int p = 0; p < 3; p++)
		for (int port = 80; port <= 81; port++) {
			a->protos[a->nq] = dp[p];
			a->ports[a->nq++] = port;
		}
	for (uint32_t i = 0; i < c->npods; i++)
		for (uint32_t k = 0; k < c->pods[i].nports && a->nq < 64; k++) {
			bool dup = false;
			for (size_t z = 0; z < a->nq; z++)
				dup |= a->protos[z] == c->pods[i].ports[k].proto &&
				       a->ports[z] == c->pods[i].ports[k].port;
			if (!dup) {
				a->protos[a->nq] = c->pods[i].ports[k].proto;
				a->ports[a->nq++] = c->pods[i].ports[k].port;
			}
		}
}

static int lab_probe(const struct lab_cmd *cmd, struct lab_args *a)
{
	struct pw_lab lb;
	int rc = lab_open(cmd, &lb, a->name, PW_LAB_READ);
	if (rc) {
		pw_lab_release(&lb);
		return rc;
	}
	struct cli_world w;
	struct pw_buf err;
	pw_buf_init(&err);
	rc = EXIT_USAGE;
	if (lab_load(&lb, &w) < 0) {
		/* printed */
	} else if (a->services) {
		struct pw_lab_svc_probe r;
		if (pw_lab_probe_services(&lb, &w.e, a->timeout_ms, &r, &err) < 0) {
			print_err(cmd->name, &err, NULL);
		} else {
			print_svc_probe(&r, &w.c, a->output);
			rc = r.differ ? EXIT_FINDINGS : 0;
		}
		pw_lab_svc_probe_release(&r);
	} else {
		struct pw_lab_probe r;
		if (!a->nq)
			default_ports(&w.c, a);
		if (pw_lab_probe(&lb, &w.e, a->protos, a->ports, a->nq, a->timeout_ms, &r,
				 &err) < 0) {
			print_err(cmd->name, &err, NULL);
		} else {
			print_probe(&r, a->protos, a->ports, a->output);
			rc = r.differ ? EXIT_FINDINGS : 0;
		}
		pw_lab_probe_release(&r);
	}
	pw_buf_release(&err);
	cli_world_release(&w);
	pw_lab_release(&lb);
	return rc;
}

/* ---- status / exec --------------------------------------------------------- */

/* A JSON string field of the object at p (no escapes decoded but \"),
   into out. */
static bool json_field(const char *p, const char *end, const char *key, char *out,
		       size_t n)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	const char *at = strstr(p, pat);
	if (!at || at >= end)
		return false;
	at += strlen(pat);
	size_t k = 0;
	if (*at == '"') {
		for (at++; *at && *at != '"' && k + 1 < n; at++) {
			if (*at == '\\' && at[1])
				at++;
			out[k++] = *at == '\n' ? ' ' : *at;
		}
	} else {
		while (*at && *at != ',' && *at != '}' && k + 1 < n)
			out[k++] = *at++;
	}
	out[k] = 0;
	return true;
}

/* Document names relative to the lab's source directory. */
static void strip_source(const struct pw_lab *lb, char *s)
{
	char src[512];
	pw_lab_source_dir(lb, src);
	strcat(src, "/");
	size_t n = strlen(src);
	char *at;
	while ((at = strstr(s, src)))
		memmove(at, at + n, strlen(at + n) + 1);
}

/* A node's agent: running, ready, and its last changes (its change log). */
static void print_agent(const struct pw_lab *lb, int node)
{
	int pid = pw_lab_agent_pid(lb, node);
	struct pw_buf out;
	char who[100] = "";
	pw_buf_init(&out);
	if (lb->nnodes > 1)
		snprintf(who, sizeof(who), " of node %s", lb->nodes[node]);
	long ready = node_get(lb, node, "/readyz", &out);
	if (!pid)
		printf("agent%s: not running (the kernel keeps the last rules it put in force)\n",
		       who);
	else
		printf("agent%s pid %d: %s\n", who, pid,
		       ready == 200 ? "ready" : ready < 0 ? "not answering" : "not ready");
	if (ready >= 0 && node_get(lb, node, "/v1/changes", &out) == 200 && out.s) {
		/* the last 5: objects "{...}", one a line */
		const char *starts[5];
		int n = 0;
		for (const char *p = strstr(out.s, "\n  {"); p; p = strstr(p + 1, "\n  {"))
			starts[n++ % 5] = p + 3;
		int first = n > 5 ? n - 5 : 0;
		for (int i = first; i < n; i++) {
			const char *p = starts[i % 5], *end = strstr(p, "\n  {");
			if (!end)
				end = p + strlen(p);
			char seq[32], result[32], docs[200], ms[32], errs[300];
			if (!end || !json_field(p, end, "seq", seq, sizeof(seq)) ||
			    !json_field(p, end, "result", result, sizeof(result)) ||
			    !json_field(p, end, "documents", docs, sizeof(docs)))
				continue;
			strip_source(lb, docs);
			if (json_field(p, end, "enforced_ms", ms, sizeof(ms)))
				printf("  change %s %s (%s): in force in %s ms\n", seq, result, docs,
				       ms);
			else if (json_field(p, end, "errors", errs, sizeof(errs)))
				printf("  change %s %s (%s): %s\n", seq, result, docs, errs);
			else
				printf("  change %s %s (%s)\n", seq, result, docs);
		}
	}
	pw_buf_release(&out);
}

/* The etcd members: running or not. */
static void print_etcd(const struct pw_lab *lb)
{
	char eps[256];
	pw_lab_etcd_endpoints(lb, eps);
	char *p = eps;
	for (int j = 0; j < PW_LAB_ETCD_MEMBERS; j++) {
		char *c = strchr(p, ',');
		if (c)
			*c = 0;
		int pid = pw_lab_etcd_pid(lb, j);
		if (pid)
			printf("etcd member m%d %s pid %d: running\n", j, p, pid);
		else
			printf("etcd member m%d %s: not running\n", j, p);
		p = c ? c + 1 : p + strlen(p);
	}
}

/* The etcd members, and --start those not running. */
static int lab_etcd(const struct lab_cmd *cmd, struct lab_args *a)
{
	struct pw_lab lb;
	int rc = lab_open(cmd, &lb, a->name, a->start ? PW_LAB_WRITE : PW_LAB_READ);
	if (!rc && !lb.etcd) {
		cli_error("lab etcd: lab %s keeps its objects in a directory, not etcd", lb.name);
		rc = EXIT_USAGE;
	}
	struct pw_buf err;
	pw_buf_init(&err);
	for (int j = 0; !rc && a->start && j < PW_LAB_ETCD_MEMBERS; j++)
		if (!pw_lab_etcd_pid(&lb, j) && pw_lab_start_etcd(&lb, j, &err) < 0) {
			print_err(cmd->name, &err, NULL);
			rc = 1;
		}
	if (!rc && a->start) {
		/* until they answer */
		struct pw_world_doc *docs;
		size_t nd;
		if (pw_lab_etcd_read(&lb, 30000, &docs, &nd, &err) < 0) {
			print_err(cmd->name, &err, NULL);
			rc = 1;
		} else {
			pw_lab_docs_free(docs, nd);
		}
	}
	if (!rc)
		print_etcd(&lb);
	pw_buf_release(&err);
	pw_lab_release(&lb);
	return rc;
}

static int lab_status(const struct lab_cmd *cmd, struct lab_args *a)
{
	struct pw_lab lb;
	int rc = lab_open(cmd, &lb, a->name, PW_LAB_READ);
	struct cli_world w;
	if (rc || lab_load(&lb, &w) < 0) {
		if (!rc)
			cli_world_release(&w);
		pw_lab_release(&lb);
		return EXIT_USAGE;
	}
	int alive, servers = pw_lab_count_servers(&lb, &alive);
	printf("lab %s: %u pods, %d external hosts, %d/%d servers running\n", lb.name,
	       w.c.npods, lb.next, alive, servers);
	for (int n = 0; n < lb.nnodes; n++) {
		char ns[128];
		pw_lab_node_ns(&lb, n, ns);
		if (lb.nnodes > 1)
			printf("node %s: namespace %s%s\n", lb.nodes[n], ns,
			       pw_netns_exists(ns) ? "" : " (missing)");
		else
			printf("router namespace %s%s\n", ns,
			       pw_netns_exists(ns) ? "" : " (missing)");
	}
	for (uint32_t i = 0; i < w.c.npods; i++) {
		char addr[48], ns[128];
		int k = lb.pod_k[i];
		pw_addr_format(&w.c.pods[i].addrs[0], addr);
		pw_lab_pod_ns(&lb, k, ns);
		printf("  %-40s %-16s %s%s%s%s\n", lb.keys[k], addr, ns,
		       pw_netns_exists(ns) ? "" : " (missing)", lb.nnodes > 1 ? " on " : "",
		       lb.nnodes > 1 ? lb.nodes[lb.key_node[k]] : "");
	}
	for (int x = 0; x < lb.next; x++) {
		char addr[48], ns[128];
		pw_addr_format(&lb.ext[x], addr);
		pw_lab_ext_ns(&lb, x, ns);
		printf("  %-40s %-16s %s\n", "(external)", addr, ns);
	}
	for (int n = 0; n < lb.nnodes; n++)
		print_agent(&lb, n);
	if (lb.etcd)
		print_etcd(&lb);
	cli_world_release(&w);
	pw_lab_release(&lb);
	return 0;
}

static int lab_exec(const struct lab_cmd *cmd, struct lab_args *a)
{
	if (!a->target || !a->cmd || !*a->cmd)
		return cli_error("lab exec: want NS/POD|ADDR -- CMD [ARG...]"), EXIT_USAGE;
	struct pw_lab lb;
	int rc = lab_open(cmd, &lb, a->name, PW_LAB_READ);
	char ns[128];
	if (!rc && pw_lab_find(&lb, a->target, ns) < 0) {
		cli_error("lab exec: no pod or external host %s in lab %s", cli_q(a->target),
			  lb.name);
		rc = EXIT_USAGE;
	}
	if (!rc && pw_netns_enter(ns) < 0) {
		cli_error("lab exec: cannot enter %s: %s", ns, strerror(errno));
		rc = 1;
	}
	pw_lab_release(&lb); /* the lock, before the command runs */
	if (rc)
		return rc;
	fflush(stdout);
	execvp(a->cmd[0], a->cmd);
	return cli_error("lab exec: cannot run %s: %s", cli_q(a->cmd[0]), strerror(errno)), 127;
}

/* ---- the subcommands ----------------------------------------------------------- */

static const struct lab_cmd lab_cmds[] = {
	{ "up", lab_up, O_FILE | O_NAME | O_REPLICAS | O_EXTERNAL | O_ENGINE | O_NODES | O_DATASTORE |
			O_FLOWIVL,
	  LAB_ROOT, "create the lab from manifests",
	  "usage: podwall lab up -f FILE|DIR [-f ...] [--name NAME] [--replicas N]\n"
	  "                      [--nodes N] [--datastore KIND]\n"
	  "                      [--external ADDR ... | --no-external]\n"
	  "                      [--ipblock-excludes-pods] [--hostnetwork-as-pods]\n"
	  "                      [--flow-interval DURATION | --no-flows]\n"
	  "\n"
	  "Create the lab from manifests: one network namespace per pod (one per\n"
	  "workload unless --replicas N; addresses from status.podIP or\n"
	  "10.244.0.0/16), external test hosts, and the router that enforces the\n"
	  "policies.  Every pod serves TCP and UDP (and SCTP where the kernel has\n"
	  "it) on its containerPorts and on 80 and 81.  Rules on DNS names are\n"
	  "not enforced: up warns about each.  The lab runs on an agent (podwall\n"
	  "agent, started by up for the lab) that watches the lab's copy of the\n"
	  "manifests (/run/podwall/lab/NAME/source/) and keeps the router's rules\n"
	  "equal to it; up returns when the agent is ready.\n"
	  "\n"
	  "With --nodes N, the lab is N nodes joined by an underlay: each node a\n"
	  "namespace with its own pods behind it (by spec.nodeName where it names\n"
	  "one, else spread evenly) and its own agent (podwall agent, one a node),\n"
	  "which enforces egress for the pods of its node and ingress for them,\n"
	  "as Calico's Felix does; traffic between pods of two nodes crosses both.\n"
	  "The nodes are named by the pods' spec.nodeName, then node-<i>.\n"
	  "\n"
	  "With the etcd datastore, the lab keeps its objects in a real etcd cluster\n"
	  "of 3 members (Debian's etcd-server), each in a namespace of its own on\n"
	  "the underlay, under Calico's key layout; the agents watch it, and lab\n"
	  "down stops it.  Default: dir, the lab's own directory of manifests.\n"
	  "\n"
	  "Every agent keeps a flow log in the lab's directory (flows.db, and\n"
	  "flows-<i>.db for node i), which podwall flows reads by the lab's name.\n"
	  "\n"
	  "  -f, --filename PATH       manifests: file or directory (recursive)\n"
	  "%s"
	  "      --replicas N          pods per workload, 1-64 (default 1)\n"
	  "      --nodes N             nodes, 1-16 (default 1)\n"
	  "      --datastore KIND      dir (default) or etcd\n"
	  "      --external ADDR       an external test host (repeatable; default\n"
	  "                            192.0.2.10, 198.51.100.10, 203.0.113.10)\n"
	  "      --no-external         no external test hosts\n"
	  "      --ipblock-excludes-pods, --hostnetwork-as-pods\n"
	  "                            read as by the analysis commands\n"
	  "      --flow-interval DURATION\n"
	  "                            the agents' flow records add up for this long\n"
	  "                            (default 15s; 1s for tests)\n"
	  "      --no-flows            no flow log (a benchmark's baseline)\n" },
	{ "apply", lab_apply, O_FILE | O_NAME | O_KEEP, LAB_ROOT,
	  "add or update objects from manifest files, as kubectl apply",
	  "usage: podwall lab apply -f FILE|DIR [-f ...] [--name NAME] [--keep-established]\n"
	  "\n"
	  "Add or update objects from manifest files, as kubectl apply: an object\n"
	  "of the same kind, namespace and name replaces the one the lab has.\n"
	  "The files go to the lab's agent as one change; it answers when the\n"
	  "change is in force, or rejects it (FILE:LINE:COL, exit 1) and the\n"
	  "rules stay.  Prints how long until the new rules were in force, and\n"
	  "cuts the established connections the new policies deny.  The agent\n"
	  "keeps each object in the lab's source: later commands do not need\n"
	  "the files.\n"
	  "\n"
	  "  -f, --filename PATH       manifests: file or directory (recursive)\n"
	  "%s"
	  "      --keep-established    do not cut established connections\n" },
	{ "delete", lab_apply, O_FILE | O_NAME | O_KEEP, LAB_ROOT,
	  "remove the objects manifest files name, as kubectl delete -f",
	  "usage: podwall lab delete -f FILE|DIR [-f ...] [--name NAME] [--keep-established]\n"
	  "\n"
	  "Remove the objects the files name, as kubectl delete -f, whichever\n"
	  "file the lab read them from.  An object that is not in the lab is an\n"
	  "error, and nothing changes.\n"
	  "\n"
	  "  -f, --filename PATH       manifests: file or directory (recursive)\n"
	  "%s"
	  "      --keep-established    do not cut established connections\n" },
	{ "probe", lab_probe, O_NAME | O_PORT | O_SERVICES | O_TIMEOUT | O_OUTPUT, LAB_ROOT,
	  "connect between all pods and external hosts, compare with the engine",
	  "usage: podwall lab probe [--port PROTO/N ...] [--services] [--name NAME]\n"
	  "                         [--timeout MS] [-o table|json|tsv]\n"
	  "\n"
	  "Connect from every pod and external host to every other on each port\n"
	  "and compare with the engine; exit 1 on any difference.  Cells the\n"
	  "kernel cannot test, and connections a DNS rule may decide, are\n"
	  "'untested'.\n"
	  "\n"
	  "  -p, --port PROTO/N        a port to probe (repeatable; default: TCP,\n"
	  "                            UDP and SCTP 80 and 81, and the containerPorts)\n"
	  "      --services            through every service address and port\n"
	  "                            instead, each reaching every backend in turn\n"
	  "%s"
	  "      --timeout MS          per connection, 10-60000 (default 500)\n"
	  "  -o, --output FORMAT       table (default), json or tsv\n" },
	{ "exec", lab_exec, O_NAME | O_TARGET, LAB_ROOT,
	  "run a command in the network namespace of a pod or external host",
	  "usage: podwall lab exec NS/POD|ADDR [--name NAME] -- CMD [ARG...]\n"
	  "\n"
	  "Run a command in the network namespace of a pod (by name, a workload's\n"
	  "first replica, or address) or of an external test host (by address).\n"
	  "\n"
	  "%s" },
	{ "status", lab_status, O_NAME, LAB_ROOT, "what the lab holds",
	  "usage: podwall lab status [--name NAME]\n"
	  "\n"
	  "What the lab holds: pods, external hosts, servers, and its agent: its\n"
	  "pid, whether it is ready, and its last changes.\n"
	  "\n"
	  "%s" },
	{ "agent", lab_agent, O_NAME | O_NODE, LAB_ROOT,
	  "start the agent of a node when it is not running",
	  "usage: podwall lab agent [--node NODE] [--name NAME]\n"
	  "\n"
	  "Start the agent of a node (default: the first) when it is not running,\n"
	  "as a DaemonSet restarts its pod, and wait until it is ready.  While an\n"
	  "agent is down its node keeps enforcing the rules it last put in force;\n"
	  "the new agent reads them from the kernel and changes only what differs.\n"
	  "\n"
	  "      --node NODE           the node, by name (podwall lab status)\n"
	  "%s" },
	{ "etcd", lab_etcd, O_NAME | O_START, LAB_ROOT,
	  "the members of the lab's etcd cluster; start those not running",
	  "usage: podwall lab etcd [--start] [--name NAME]\n"
	  "\n"
	  "The members of the etcd cluster of a lab whose datastore is etcd:\n"
	  "address, pid, running or not.  With --start, start the members that\n"
	  "are not running (they rejoin with their data) and wait until the\n"
	  "cluster answers.\n"
	  "\n"
	  "      --start               start the members that are not running\n"
	  "%s" },
	{ "render", lab_render, O_FILE | O_REPLICAS | O_ENGINE, 0,
	  "print the nftables script a lab of these manifests would put in force",
	  "usage: podwall lab render -f FILE|DIR [-f ...] [--replicas N]\n"
	  "                          [--ipblock-excludes-pods] [--hostnetwork-as-pods]\n"
	  "\n"
	  "Print the nftables script a lab of these manifests would put in force\n"
	  "(no root needed).\n"
	  "\n"
	  "  -f, --filename PATH       manifests: file or directory (recursive)\n"
	  "      --replicas N          pods per workload, 1-64 (default 1)\n"
	  "      --ipblock-excludes-pods, --hostnetwork-as-pods\n"
	  "                            read as by the analysis commands\n" },
	{ "down", lab_down, O_NAME, LAB_ROOT,
	  "remove everything the lab created (idempotent)",
	  "usage: podwall lab down [--name NAME]\n"
	  "\n"
	  "Remove everything the lab created, also after a crash or kill -9, and\n"
	  "nothing else.  Idempotent.\n"
	  "\n"
	  "%s" },
};

/* The helper processes: argv as they are, no options. */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} lab_tools[] = {
	{ "__blast", lab_tool_blast }, { "__echo", lab_tool_echo },
	{ "__hold", lab_tool_hold },   { "__serve", lab_tool_serve },
	{ "__sink", lab_tool_sink },
};

static void lab_usage(FILE *f)
{
	fputs("usage: podwall lab <subcommand> [options]\n"
	      "\n"
	      "Run the pods of a cluster as network namespaces behind a router that\n"
	      "enforces the policies with nftables, and test them with real connections.\n"
	      "External test hosts sit behind the router too; nothing is routed out of\n"
	      "the lab.  Rules on DNS names (Calico domains, network sets'\n"
	      "allowedEgressDomains) are not enforced.  Needs root, but for render.\n"
	      "\n"
	      "subcommands:\n",
	      f);
	for (size_t i = 0; i < PW_ARRAY_SIZE(lab_cmds); i++)
		fprintf(f, "  %-9s %s\n", lab_cmds[i].name, lab_cmds[i].summary);
	fputs("\nRun 'podwall lab <subcommand> --help' for its options.\n", f);
}

static void cmd_usage(const struct lab_cmd *cmd, FILE *f)
{
	fprintf(f, cmd->usage, names_help);
}

/* Which option argv[*i] is (consuming its value into *v): its O_ bit, 0
   when none, -1 on a missing value (printed). */
static int which_opt(int argc, char **argv, int *i, const char **v)
{
	int err = 0;
	*v = NULL;
	if ((*v = cli_optval(argc, argv, i, "-f", "--filename", &err)))
		return O_FILE;
	if (!err && (*v = cli_optval(argc, argv, i, NULL, "--name", &err)))
		return O_NAME;
	if (!err && (*v = cli_optval(argc, argv, i, NULL, "--replicas", &err)))
		return O_REPLICAS;
	if (!err && (*v = cli_optval(argc, argv, i, NULL, "--nodes", &err)))
		return O_NODES;
	if (!err && (*v = cli_optval(argc, argv, i, NULL, "--node", &err)))
		return O_NODE;
	if (!err && (*v = cli_optval(argc, argv, i, NULL, "--datastore", &err)))
		return O_DATASTORE;
	if (!err && (*v = cli_optval(argc, argv, i, NULL, "--flow-interval", &err)))
		return O_FLOWIVL;
	if (!err && (*v = cli_optval(argc, argv, i, NULL, "--external", &err)))
		return O_EXTERNAL;
	if (!err && (*v = cli_optval(argc, argv, i, "-p", "--port", &err)))
		return O_PORT;
	if (!err && (*v = cli_optval(argc, argv, i, NULL, "--timeout", &err)))
		return O_TIMEOUT;
	if (!err && (*v = cli_optval(argc, argv, i, "-o", "--output", &err)))
		return O_OUTPUT;
	if (err)
		return -1;
	if (!strcmp(argv[*i], "--no-external"))
		return O_EXTERNAL;
	if (!strcmp(argv[*i], "--ipblock-excludes-pods") ||
	    !strcmp(argv[*i], "--hostnetwork-as-pods"))
		return O_ENGINE;
	if (!strcmp(argv[*i], "--keep-established"))
		return O_KEEP;
	if (!strcmp(argv[*i], "--services"))
		return O_SERVICES;
	if (!strcmp(argv[*i], "--start"))
		return O_START;
	if (!strcmp(argv[*i], "--no-flows"))
		return O_FLOWIVL;
	return 0;
}

/* Take option opt (value v) at arg: 0, or -1 on a bad value (printed). */
static int take_opt(const char *sub, struct lab_args *a, int opt, const char *arg,
		    const char *v)
{
	static const char *const formats[] = { "table", "json", "tsv", NULL };
	int p, n;
	switch (opt) {
	case O_FILE:
		a->files = pw_xrealloc(a->files, (size_t)(a->nfiles + 1) * sizeof(*a->files));
		a->files[a->nfiles++] = v;
		return 0;
	case O_NAME:
		a->name = v;
		return 0;
	case O_REPLICAS:
		a->replicas = (uint32_t)atoi(v);
		if (a->replicas >= 1 && a->replicas <= 64)
			return 0;
		return cli_error("lab %s: --replicas must be 1-64", sub);
	case O_NODE:
		a->node = v;
		return 0;
	case O_START:
		a->start = true;
		return 0;
	case O_FLOWIVL: {
		if (!v) {
			a->flow_interval = -1; /* --no-flows */
			return 0;
		}
		int64_t s;
		if (pw_duration_parse(v, &s) == 0 && s >= 1 && s <= 3600) {
			a->flow_interval = (int)s;
			return 0;
		}
		return cli_error("lab %s: --flow-interval wants a duration from 1s to 1h", sub);
	}
	case O_DATASTORE:
		if (!strcmp(v, "etcd") || !strcmp(v, "dir")) {
			a->etcd = !strcmp(v, "etcd");
			return 0;
		}
		return cli_error("lab %s: --datastore wants dir or etcd", sub);
	case O_NODES:
		a->nodes = atoi(v);
		if (a->nodes >= 1 && a->nodes <= PW_LAB_MAX_NODES)
			return 0;
		return cli_error("lab %s: --nodes must be 1-%d", sub, PW_LAB_MAX_NODES);
	case O_EXTERNAL:
		if (a->next < 0)
			a->next = 0;
		if (!v)
			return 0; /* --no-external */
		if (a->next < PW_LAB_MAX_EXTERNALS && pw_addr_parse(v, &a->ext[a->next]) == 0 &&
		    a->ext[a->next].family == 4) {
			a->next++;
			return 0;
		}
		return cli_error("lab %s: --external wants an IPv4 address (at most %d)", sub,
				 PW_LAB_MAX_EXTERNALS);
	case O_ENGINE:
		a->flags |= !strcmp(arg, "--ipblock-excludes-pods") ? PW_ENGINE_IPBLOCK_EXCLUDES_PODS
								    : PW_ENGINE_HOSTNET_AS_PODS;
		return 0;
	case O_KEEP:
		a->keep = true;
		return 0;
	case O_SERVICES:
		a->services = true;
		return 0;
	case O_PORT:
		if (a->nq < 64 && pw_protoport_parse(v, &p, &n) == 0) {
			a->protos[a->nq] = p;
			a->ports[a->nq++] = n;
			return 0;
		}
		return cli_error("lab %s: invalid --port %s (want TCP/N, UDP/N or SCTP/N)", sub,
				 cli_q(v));
	case O_TIMEOUT:
		a->timeout_ms = atoi(v);
		if (a->timeout_ms >= 10 && a->timeout_ms <= 60000)
			return 0;
		return cli_error("lab %s: --timeout must be 10-60000 ms", sub);
	case O_OUTPUT:
		a->output = v;
		if (cli_output_ok(v, formats))
			return 0;
		return cli_error("lab %s: -o %s: want table, json or tsv", sub, cli_q(v));
	}
	return -1;
}

/* The subcommand's own options: 1 when --help was printed, 0 to go on, -1
   on a usage error (printed). */
static int lab_parse(const struct lab_cmd *cmd, int argc, char **argv, struct lab_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v;
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			cmd_usage(cmd, stdout);
			return 1;
		}
		if (!strcmp(arg, "--") && (cmd->opts & O_TARGET)) {
			a->cmd = &argv[i + 1];
			break;
		}
		int opt = which_opt(argc, argv, &i, &v);
		if (opt < 0)
			return -1;
		if (!opt && arg[0] != '-' && (cmd->opts & O_TARGET) && !a->target) {
			a->target = arg;
			continue;
		}
		if (!opt)
			return cli_error("lab %s: unknown %s %s (podwall lab %s --help)", cmd->name,
					 arg[0] == '-' ? "option" : "argument", cli_q(arg),
					 cmd->name);
		if (!(cmd->opts & (unsigned)opt))
			return cli_error("lab %s does not take %s (podwall lab %s --help)",
					 cmd->name, cli_q(arg), cmd->name);
		if (take_opt(cmd->name, a, opt, arg, v) < 0)
			return -1;
	}
	return 0;
}

int cmd_lab(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		lab_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	const char *sub = argv[1];
	for (size_t i = 0; i < PW_ARRAY_SIZE(lab_tools); i++)
		if (!strcmp(sub, lab_tools[i].name))
			return lab_tools[i].fn(argc - 1, argv + 1);
	const struct lab_cmd *cmd = NULL;
	for (size_t i = 0; i < PW_ARRAY_SIZE(lab_cmds) && !cmd; i++)
		if (!strcmp(sub, lab_cmds[i].name))
			cmd = &lab_cmds[i];
	if (!cmd) {
		cli_error("lab: unknown subcommand %s", cli_q(sub));
		lab_usage(stderr);
		return EXIT_USAGE;
	}
	struct lab_args a = { .name = "podwall", .replicas = 1, .next = -1, .timeout_ms = 500,
			      .nodes = 1 };
	int r = lab_parse(cmd, argc - 1, argv + 1, &a);
	int rc = r ? (r > 0 ? 0 : EXIT_USAGE) : -1;
	if (rc < 0 && !pw_lab_name_valid(a.name)) {
		cli_error("lab: --name must be 1-20 of a-z, 0-9, '-'");
		rc = EXIT_USAGE;
	}
	if (rc < 0 && (cmd->setup & LAB_ROOT) && geteuid() != 0) {
		cli_error("lab: needs root (network namespaces and nftables)");
		rc = EXIT_USAGE;
	}
	if (rc < 0)
		rc = cmd->fn(cmd, &a);
	free(a.files);
	return rc;
}
