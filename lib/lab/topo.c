// SPDX-License-Identifier: Apache-2.0
/* The lab's namespaces and links: router, pods, external hosts, and their
   removal.  See lab.h for the topology. */
#include "lab.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void ns_name(const struct pw_lab *lb, const char *suffix, char out[static 128])
{
	snprintf(out, 128, "pwl-%s-%s", lb->name, suffix);
}

void pw_lab_pod_ns(const struct pw_lab *lb, int k, char out[static 128])
{
	char s[24];
	snprintf(s, sizeof(s), "%d", k);
	ns_name(lb, s, out);
}

void pw_lab_ext_ns(const struct pw_lab *lb, int x, char out[static 128])
{
	char s[24];
	snprintf(s, sizeof(s), "x%d", x);
	ns_name(lb, s, out);
}

/* `ip -batch` on a script given through a pipe: no file to leave behind. */
static int ip_batch(const char *netns, const char *script, struct pw_buf *err)
{
	char *argv[8];
	int a = 0;
	argv[a++] = "ip";
	if (netns) {
		argv[a++] = "-n";
		argv[a++] = (char *)netns;
	}
	argv[a++] = "-b";
	argv[a++] = "-";
	argv[a] = NULL;
	return pw_run_capture(argv, script, NULL, err);
}

static int enable_forwarding(void *arg, struct pw_buf *err)
{
	(void)arg;
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, "1\n", 2);
	if (n != 2)
		pw_buf_printf(err, "cannot enable forwarding: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return n == 2 ? 0 : -1;
}

static int own_netns(struct pw_lab *lb, const char *netns, struct pw_buf *err)
{
	if (pw_lab_own(lb, "netns %s", netns) == 0)
		return 0;
	pw_buf_printf(err, "cannot record %s in the state of lab %s: %s", netns, lb->name,
		      strerror(errno));
	return -1;
}

void pw_lab_node_ns(const struct pw_lab *lb, int i, char out[static 128])
{
	char sfx[24];
	if (!pw_lab_has_underlay(lb)) {
		snprintf(out, 128, "%s", lb->router);
		return;
	}
	snprintf(sfx, sizeof(sfx), "n%d", i);
	ns_name(lb, sfx, out);
}

void pw_lab_underlay_ns(const struct pw_lab *lb, char out[static 128])
{
	ns_name(lb, "u", out);
}

void pw_lab_node_addr(int i, char out[static 48])
{
	snprintf(out, 48, "%s.%d", PW_LAB_UNDERLAY, i + 1);
}

/* Where a host behind the lab's routers is attached: its node's
   namespace (a pod), or the underlay's (an external host, when the lab
   has many nodes). */
static void attach_ns(const struct pw_lab *lb, int node, char out[static 128])
{
	if (node < 0 && pw_lab_has_underlay(lb))
		pw_lab_underlay_ns(lb, out);
	else
		pw_lab_node_ns(lb, node < 0 ? 0 : node, out);
}

int pw_lab_add_ns(struct pw_lab *lb, const char *netns, struct pw_buf *err)
{
	char script[256];
	if (own_netns(lb, netns, err) < 0)
		return -1;
	snprintf(script, sizeof(script), "netns add %s\n", netns);
	if (ip_batch(NULL, script, err) < 0 || ip_batch(netns, "link set lo up\n", err) < 0)
		return -1;
	return pw_netns_run(netns, enable_forwarding, NULL, err);
}

int pw_lab_join_underlay(const struct pw_lab *lb, const char *netns, const char *br_side,
			 const char *ifname, const char *addr, struct pw_buf *err)
{
	char u[128], script[512];
	pw_lab_underlay_ns(lb, u);
	snprintf(script, sizeof(script),
		 "link add %s type veth peer name %s netns %s\n"
		 "link set %s master br0\n"
		 "link set %s up\n",
		 br_side, ifname, netns, br_side, br_side);
	if (ip_batch(u, script, err) < 0)
		return -1;
	snprintf(script, sizeof(script),
		 "addr add %s/24 dev %s\n"
		 "link set %s up\n"
		 "route add default via %s.254 dev %s\n",
		 addr, ifname, ifname, PW_LAB_UNDERLAY, ifname);
	return ip_batch(netns, script, err);
}

int pw_lab_add_router(struct pw_lab *lb, struct pw_buf *err)
{
	if (!pw_lab_has_underlay(lb))
		return pw_lab_add_ns(lb, lb->router, err);
	/* the underlay: a bridge, the nodes' gateway (external hosts sit
	   behind it) */
	char u[128], script[1024];
	pw_lab_underlay_ns(lb, u);
	if (pw_lab_add_ns(lb, u, err) < 0)
		return -1;
	snprintf(script, sizeof(script),
		 "link add br0 type bridge\n"
		 "addr add %s.254/24 dev br0\n"
		 "link set br0 up\n",
		 PW_LAB_UNDERLAY);
	if (ip_batch(u, script, err) < 0)
		return -1;
	for (int i = 0; i < lb->nnodes; i++) {
		char ns[128], addr[48], br[16];
		pw_lab_node_ns(lb, i, ns);
		pw_lab_node_addr(i, addr);
		snprintf(br, sizeof(br), "n%d", i);
		if (pw_lab_add_ns(lb, ns, err) < 0 ||
		    pw_lab_join_underlay(lb, ns, br, "pwu", addr, err) < 0)
			return -1;
	}
	return 0;
}

static int netns_del(const char *netns, struct pw_buf *err)
{
	char *argv[] = { "ip", "netns", "del", (char *)netns, NULL };
	return pw_netns_exists(netns) ? pw_run(argv, err) : 0;
}

/* The namespace, what runs in it (which keeps it alive) and its link. */
static int del_netns(const struct pw_lab *lb, const char *netns, struct pw_buf *err)
{
	pw_lab_kill_servers(lb->name, netns);
	pw_lab_kill_in_netns(netns);
	return netns_del(netns, err);
}

/* One host behind router (a namespace): netns, veth, address, routes. */
static int add_host(struct pw_lab *lb, const char *router, const char *netns,
		    const char *veth, const struct pw_addr *a, struct pw_buf *err)
{
	char addr[48], script[1024];
	pw_addr_format(a, addr);
	if (own_netns(lb, netns, err) < 0)
		return -1;
	if (pw_netns_exists(netns)) {
		/* left by a killed run (it is in the ownership record): made
		   anew, and the router's side of its link removed, also while
		   the old namespace still dies */
		struct pw_buf ignored;
		pw_buf_init(&ignored);
		del_netns(lb, netns, &ignored);
		snprintf(script, sizeof(script), "link del %s\n", veth);
		ip_batch(router, script, &ignored);
		pw_buf_release(&ignored);
	}
	snprintf(script, sizeof(script), "netns add %s\n", netns);
	if (ip_batch(NULL, script, err) < 0)
		return -1;
	snprintf(script, sizeof(script),
		 "link add %s type veth peer name eth0 netns %s\n"
		 "addr add 169.254.1.1/32 dev %s\n"
		 "link set %s up\n"
		 "route add %s/32 dev %s\n",
		 veth, netns, veth, veth, addr, veth);
	if (ip_batch(router, script, err) < 0)
		return -1;
	snprintf(script, sizeof(script),
		 "link set lo up\n"
		 "addr add %s/32 dev eth0\n"
		 "link set eth0 up\n"
		 "route add 169.254.1.1 dev eth0 scope link\n"
		 "route add default via 169.254.1.1 dev eth0\n",
		 addr);
	return ip_batch(netns, script, err);
}

/* A pod's route in the other nodes and the underlay, via its node (a lab
   of many nodes): "replace" or "del". */
static int pod_routes(const struct pw_lab *lb, int k, const char *verb, struct pw_buf *err)
{
	if (!pw_lab_has_underlay(lb))
		return 0;
	char addr[48], via[48], ns[128];
	int node = lb->key_node[k], rc = 0;
	pw_addr_format(&lb->addrs[k], addr);
	pw_lab_node_addr(node, via);
	for (int i = -1; i < lb->nnodes; i++) {
		char line[300];
		if (i == node)
			continue;
		if (i < 0)
			pw_lab_underlay_ns(lb, ns);
		else
			pw_lab_node_ns(lb, i, ns);
		snprintf(line, sizeof(line), "route %s %s/32 via %s dev %s\n", verb, addr, via,
			 i < 0 ? "br0" : "pwu");
		if (!strcmp(verb, "del")) {
			struct pw_buf ignored; /* gone already */
			pw_buf_init(&ignored);
			ip_batch(ns, line, &ignored);
			pw_buf_release(&ignored);
		} else if (ip_batch(ns, line, err) < 0) {
			rc = -1;
		}
	}
	return rc;
}

int pw_lab_add_pod(struct pw_lab *lb, int k, const struct pw_pod *p, struct pw_buf *err)
{
	char netns[128], veth[24], router[128];
	pw_lab_pod_ns(lb, k, netns);
	attach_ns(lb, lb->key_node[k], router);
	snprintf(veth, sizeof(veth), "pwr%d", k);
	if (add_host(lb, router, netns, veth, &p->addrs[0], err) < 0 ||
	    pod_routes(lb, k, "replace", err) < 0)
		return -1;
	return pw_lab_start_server(lb, netns, p, err);
}

int pw_lab_add_external(struct pw_lab *lb, int x, struct pw_buf *err)
{
	char netns[128], veth[24], router[128];
	pw_lab_ext_ns(lb, x, netns);
	attach_ns(lb, -1, router);
	snprintf(veth, sizeof(veth), "pwx%d", x);
	if (add_host(lb, router, netns, veth, &lb->ext[x], err) < 0)
		return -1;
	return pw_lab_start_server(lb, netns, NULL, err);
}

int pw_lab_del_pod(struct pw_lab *lb, int k, struct pw_buf *err)
{
	char netns[128];
	pw_lab_pod_ns(lb, k, netns);
	pod_routes(lb, k, "del", err);
	return del_netns(lb, netns, err);
}

static void term_server(const struct pw_lab *lb, const char *arg, void *ctx)
{
	int pid = atoi(arg);
	(void)ctx;
	if (pid > 1 && pw_lab_is_server(pid, lb->name, NULL))
		kill(pid, SIGTERM);
}

static void reap_server(const struct pw_lab *lb, const char *arg, void *ctx)
{
	int pid = atoi(arg);
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	(void)ctx;
	if (pid <= 1)
		return;
	for (int tries = 0; tries < 40 && pw_lab_is_server(pid, lb->name, NULL); tries++)
		nanosleep(&ts, NULL);
	if (pw_lab_is_server(pid, lb->name, NULL))
		kill(pid, SIGKILL);
	waitpid(pid, NULL, WNOHANG);
}

static void kill_netns(const struct pw_lab *lb, const char *arg, void *ctx)
{
	char ns[200];
	(void)lb;
	(void)ctx;
	if (sscanf(arg, "%199s", ns) == 1)
		pw_lab_kill_in_netns(ns);
}

static void remove_netns(const struct pw_lab *lb, const char *arg, void *ctx)
{
	char ns[200];
	int *failed = ctx;
	struct pw_buf e;
	pw_buf_init(&e);
	(void)lb;
	if (sscanf(arg, "%199s", ns) == 1 && netns_del(ns, &e) < 0)
		(*failed)++;
	pw_buf_release(&e);
}

int pw_lab_down(struct pw_lab *lb, struct pw_buf *err)
{
	/* the agent first: it creates pods (and records them) until it stops */
	pw_lab_stop_agent(lb);
	char *owned = pw_lab_state_get(lb, "owned");
	if (!owned) {
		pw_lab_forget(lb);
		return 1;
	}
	/* then servers, then namespaces (links and the table go with them) */
	int failed = 0;
	pw_lab_each_owned(owned, "pid", term_server, lb, NULL);
	pw_lab_each_owned(owned, "pid", reap_server, lb, NULL);
	pw_lab_kill_servers(lb->name, NULL);
	pw_lab_each_owned(owned, "netns", kill_netns, lb, NULL);
	pw_lab_each_owned(owned, "netns", remove_netns, lb, &failed);
	free(owned);
	if (failed) {
		pw_buf_printf(err, "%d namespaces could not be removed; state kept", failed);
		return -1;
	}
	if (pw_lab_forget(lb) < 0) {
		pw_buf_printf(err, "cannot remove the state of lab %s: %s", lb->name,
			      strerror(errno));
		return -1;
	}
	return 0;
}

int pw_lab_find(const struct pw_lab *lb, const char *target, char netns[static 128])
{
	int k = -1;
	for (int i = 0; i < lb->nkeys && k < 0; i++)
		if (!strcmp(lb->keys[i], target))
			k = i;
	if (k < 0) {
		/* a workload: its first replica */
		size_t n = strlen(target);
		for (int i = 0; i < lb->nkeys && k < 0; i++)
			if (!strncmp(lb->keys[i], target, n) && lb->keys[i][n] == '-')
				k = i;
	}
	struct pw_addr a;
	bool addr = pw_addr_parse(target, &a) == 0;
	for (int i = 0; addr && i < lb->nkeys && k < 0; i++)
		if (!pw_addr_cmp(&lb->addrs[i], &a))
			k = i;
	if (k >= 0) {
		pw_lab_pod_ns(lb, k, netns);
		return 0;
	}
	for (int x = 0; addr && x < lb->next; x++)
		if (!pw_addr_cmp(&lb->ext[x], &a)) {
			pw_lab_ext_ns(lb, x, netns);
			return 0;
		}
	return -1;
}
