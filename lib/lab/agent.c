// SPDX-License-Identifier: Apache-2.0
/* The lab's agent: starting, finding and stopping it, and the hooks it
   runs the lab with.  See lab.h. */
#include "lab.h"
#include "../world.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void pw_lab_source_dir(const struct pw_lab *lb, char out[static 512])
{
	pw_lab_path(lb, "source", out);
}

/* agent.EXT for node 0, agent-I.EXT for node I */
static void node_file(const struct pw_lab *lb, int node, const char *ext,
		      char out[static 512])
{
	char f[64];
	if (node > 0)
		snprintf(f, sizeof(f), "agent-%d.%s", node, ext);
	else
		snprintf(f, sizeof(f), "agent.%s", ext);
	pw_lab_path(lb, f, out);
}

void pw_lab_agent_socket(const struct pw_lab *lb, char out[static 512])
{
	node_file(lb, 0, "sock", out);
}

void pw_lab_node_socket(const struct pw_lab *lb, int node, char out[static 512])
{
	node_file(lb, node, "sock", out);
}

void pw_lab_node_log(const struct pw_lab *lb, int node, char out[static 512])
{
	node_file(lb, node, "log", out);
}

void pw_lab_node_flows(const struct pw_lab *lb, int node, char out[static 600])
{
	char f[64], p[512];
	if (node > 0)
		snprintf(f, sizeof(f), "flows-%d.db", node);
	else
		snprintf(f, sizeof(f), "flows.db");
	pw_lab_path(lb, f, p);
	snprintf(out, 600, "sqlite:%s", p);
}

int pw_lab_start_agent(const struct pw_lab *lb, int node, struct pw_buf *err)
{
	char src[512], source[520], sock[512], log[512], ns[128], flows[600], ivl[16];
	pw_lab_source_dir(lb, src);
	snprintf(source, sizeof(source), "dir:%s", src);
	if (lb->etcd) {
		char eps[256];
		pw_lab_etcd_endpoints(lb, eps);
		snprintf(source, sizeof(source), "etcd:%s", eps);
	}
	pw_lab_node_socket(lb, node, sock);
	pw_lab_node_log(lb, node, log);
	pw_lab_node_ns(lb, node, ns);
	pw_lab_node_flows(lb, node, flows);
	snprintf(ivl, sizeof(ivl), "%ds", lb->flow_interval > 0 ? lb->flow_interval : 15);
	pid_t pid = fork();
	if (pid < 0) {
		pw_buf_printf(err, "cannot start the agent: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setsid();
		/* recorded by itself, as the servers are */
		pw_lab_own(lb, "agent %d %d", (int)getpid(), node);
		/* on its node, as on a cluster: its table and its peers (the
		   datastore) are there */
		if (pw_netns_enter(ns) < 0)
			_exit(127);
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || out < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		if (in > 2)
			close(in);
		if (out > 2)
			close(out);
		char *argv[32];
		int n = 0;
		argv[n++] = "podwall";
		argv[n++] = "agent";
		argv[n++] = "--lab";
		argv[n++] = (char *)lb->name;
		argv[n++] = "--source";
		argv[n++] = source;
		argv[n++] = "--socket";
		argv[n++] = sock;
		if (lb->nnodes > 1) {
			argv[n++] = "--node";
			argv[n++] = (char *)lb->nodes[node];
		}
		argv[n++] = "--services";
		/* for scrapers in the node's namespace (Prometheus) */
		argv[n++] = "--listen";
		argv[n++] = "127.0.0.1:" PW_LAB_AGENT_PORT;
		if (lb->flow_interval >= 0) {
			argv[n++] = "--flows";
			argv[n++] = flows;
			argv[n++] = "--flow-interval";
			argv[n++] = ivl;
		}
		if (lb->flags & PW_ENGINE_IPBLOCK_EXCLUDES_PODS)
			argv[n++] = "--ipblock-excludes-pods";
		if (lb->flags & PW_ENGINE_HOSTNET_AS_PODS)
			argv[n++] = "--hostnetwork-as-pods";
		argv[n] = NULL;
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return pid;
}

/* Its command line is "EXE agent --lab NAME ...". */
bool pw_lab_is_agent(int pid, const char *lab)
{
	char buf[512];
	ssize_t n = pw_proc_cmdline(pid, buf, sizeof(buf));
	if (n < 0)
		return false;
	const char *want[] = { "agent", "--lab", lab };
	const char *p = buf, *end = buf + n;
	p += strlen(p) + 1; /* argv[0] */
	for (size_t i = 0; i < PW_ARRAY_SIZE(want); i++) {
		if (p >= end || strcmp(p, want[i]))
			return false;
		p += strlen(p) + 1;
	}
	return true;
}

struct which_agent {
	int node, pid;
};

static void latest_agent(const struct pw_lab *lb, const char *rest, void *ctx)
{
	struct which_agent *w = ctx;
	int pid = 0, node = 0;
	if (sscanf(rest, "%d %d", &pid, &node) >= 1 && node == w->node && pid > 0 &&
	    pw_lab_is_agent(pid, lb->name))
		w->pid = pid;
}

int pw_lab_agent_pid(const struct pw_lab *lb, int node)
{
	char *owned = pw_lab_state_get(lb, "owned");
	struct which_agent w = { node, 0 };
	if (owned)
		pw_lab_each_owned(owned, "agent", latest_agent, lb, &w);
	free(owned);
	return w.pid;
}

static void term_agent(const struct pw_lab *lb, const char *rest, void *ctx)
{
	(void)ctx;
	int pid = atoi(rest);
	if (pid > 0 && pw_lab_is_agent(pid, lb->name))
		kill(pid, SIGTERM);
}

/* The agents of the lab running now, SIGKILLed when kill is set; their
   count. */
static int scan_agents(const struct pw_lab *lb, bool kill_them)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d))) {
		int pid = atoi(de->d_name);
		if (pid <= 0 || !pw_lab_is_agent(pid, lb->name))
			continue;
		/* a zombie child of ours has no command line: not counted */
		n++;
		if (kill_them)
			kill(pid, SIGKILL);
	}
	if (d)
		closedir(d);
	return n;
}

void pw_lab_stop_agent(const struct pw_lab *lb)
{
	char *owned = pw_lab_state_get(lb, "owned");
	if (owned)
		pw_lab_each_owned(owned, "agent", term_agent, lb, NULL);
	free(owned);
	/* up to 3 s to stop, then SIGKILL (also those the record lost) */
	for (int i = 0; i < 300 && scan_agents(lb, false); i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	scan_agents(lb, true);
	for (int i = 0; i < 100 && scan_agents(lb, false); i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
}

/* ---- the hooks --------------------------------------------------------------- */

int pw_lab_hook_prepare(struct pw_cluster *c, void *arg)
{
	struct pw_lab_hooks *h = arg;
	pw_buf_reset(&h->err);
	return pw_lab_assign_shared(&h->lb, c, &h->err);
}

/* Is lab index k on the agent's own node? */
static bool own_pod(const struct pw_lab *lb, int k)
{
	return lb->node < 0 || lb->key_node[k] == lb->node;
}

bool pw_lab_hook_port_of(void *arg, const struct pw_cluster *c, uint32_t pod,
			 char ifname[static 16])
{
	const struct pw_lab_hooks *h = arg;
	if (pod >= h->lb.npods || pod >= c->npods || !own_pod(&h->lb, h->lb.pod_k[pod]))
		return false;
	snprintf(ifname, 16, "pwr%d", h->lb.pod_k[pod]);
	return true;
}

void pw_lab_hook_after_commit(void *arg, const struct pw_world *w)
{
	struct pw_lab_hooks *h = arg;
	struct pw_lab *lb = &h->lb;
	const struct pw_cluster *c = w->c;
	if (!c)
		return;
	bool *now = pw_xcalloc((size_t)lb->nkeys + 1, sizeof(bool));
	char ns[128];
	pw_buf_reset(&h->err);
	for (uint32_t i = 0; i < c->npods && i < lb->npods; i++) {
		int k = lb->pod_k[i];
		now[k] = true;
		if (!own_pod(lb, k))
			continue; /* its node's agent makes it */
		pw_lab_pod_ns(lb, k, ns);
		if (!pw_netns_exists(ns))
			pw_lab_add_pod(lb, k, &c->pods[i], &h->err);
	}
	for (int k = 0; k < lb->nkeys; k++) {
		pw_lab_pod_ns(lb, k, ns);
		if (!now[k] && own_pod(lb, k) && pw_netns_exists(ns))
			pw_lab_del_pod(lb, k, &h->err);
	}
	free(now);
	/* servers of removed pods: no zombies */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}
