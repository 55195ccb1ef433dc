// SPDX-License-Identifier: Apache-2.0
/* The servers every pod and external host runs, and finding them again. */
#include "lab.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pw_lab_start_server(const struct pw_lab *lb, const char *netns,
			const struct pw_pod *p, struct pw_buf *err)
{
	struct pw_buf ports;
	pw_buf_init(&ports);
	pw_buf_puts(&ports, "TCP/80,TCP/81,UDP/80,UDP/81,SCTP/80,SCTP/81");
	for (uint32_t i = 0; p && i < p->nports; i++)
		pw_buf_printf(&ports, ",%s/%d", pw_proto_name(p->ports[i].proto),
			      p->ports[i].port);
	pid_t pid = fork();
	if (pid < 0) {
		pw_buf_printf(err, "cannot start the server of %s", netns);
		pw_buf_release(&ports);
		return -1;
	}
	if (pid == 0) {
		setsid();
		/* the child records itself, so a parent killed right after the
		   fork leaves no unrecorded server behind */
		pw_lab_own(lb, "pid %d %s", (int)getpid(), netns);
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		char *argv[] = { "podwall", "lab", "__serve", (char *)lb->name, (char *)netns,
				 ports.s, NULL };
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	pw_buf_release(&ports);
	return 0;
}

/* Its command line is "EXE lab __serve NAME NETNS PORTS" (EXE may be a
   path). */
bool pw_lab_is_server(int pid, const char *lab, const char *netns)
{
	char buf[512];
	ssize_t n = pw_proc_cmdline(pid, buf, sizeof(buf));
	if (n < 0)
		return false;
	const char *want[] = { "lab", "__serve", lab, netns };
	const char *p = buf, *end = buf + n;
	p += strlen(p) + 1; /* argv[0] */
	for (size_t i = 0; i < PW_ARRAY_SIZE(want) && want[i]; i++) {
		if (p >= end || strcmp(p, want[i]))
			return false;
		p += strlen(p) + 1;
	}
	return true;
}

/* Every pid in /proc but ours and init's, through fn. */
static void each_pid(void (*fn)(int pid, const void *ctx), const void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid = atoi(de->d_name);
		if (pid > 1 && pid != getpid())
			fn(pid, ctx);
	}
	closedir(d);
}

struct server_of {
	const char *lab, *netns;
};

static void kill_if_server(int pid, const void *ctx)
{
	const struct server_of *s = ctx;
	if (pw_lab_is_server(pid, s->lab, s->netns))
		kill(pid, SIGKILL);
}

void pw_lab_kill_servers(const char *lab, const char *netns)
{
	struct server_of s = { lab, netns };
	each_pid(kill_if_server, &s);
}

static void kill_if_in(int pid, const void *ctx)
{
	const struct stat *ns = ctx;
	char np[64];
	struct stat ps;
	snprintf(np, sizeof(np), "/proc/%d/ns/net", pid);
	if (stat(np, &ps) == 0 && ps.st_ino == ns->st_ino && ps.st_dev == ns->st_dev)
		kill(pid, SIGKILL);
}

/* Servers, and what `lab exec` started there: the namespace goes, so do
   they. */
void pw_lab_kill_in_netns(const char *netns)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	if (stat(path, &st) == 0)
		each_pid(kill_if_in, &st);
}

static volatile sig_atomic_t serve_stop;
static void on_term(int sig)
{
	(void)sig;
	serve_stop = 1;
}

int pw_lab_serve(const char *netns, char *ports)
{
	if (pw_netns_enter(netns) < 0)
		return 1;
	struct pw_listen v[64];
	size_t n = 0;
	char *save, *tok;
	for (tok = strtok_r(ports, ",", &save); tok && n < 64;
	     tok = strtok_r(NULL, ",", &save)) {
		int proto, port;
		if (pw_protoport_parse(tok, &proto, &port) == 0) {
			bool dup = false;
			for (size_t i = 0; i < n; i++)
				dup |= v[i].proto == proto && v[i].port == port;
			if (!dup)
				v[n++] = (struct pw_listen){ proto, port };
		}
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return pw_serve(v, n, &serve_stop) < 0 ? 1 : 0;
}

struct server_count {
	struct pw_strmap seen; /* netns -> 1, or 2 once a server of it runs */
	struct pw_arena keys;
	int servers, alive;
};

/* One server a namespace: a pod made anew has a record of the old one. */
static void count_server(const struct pw_lab *lb, const char *rest, void *ctx)
{
	struct server_count *c = ctx;
	int pid;
	char ns[200];
	if (sscanf(rest, "%d %199s", &pid, ns) != 2)
		return;
	uintptr_t was = (uintptr_t)pw_strmap_get(&c->seen, ns);
	uintptr_t now = pid > 1 && pw_lab_is_server(pid, lb->name, NULL) ? 2 : 1;
	if (!was)
		c->servers++;
	if (now > was) {
		c->alive += now == 2;
		pw_strmap_put(&c->seen, pw_arena_strdup(&c->keys, ns), (void *)now);
	}
}

int pw_lab_count_servers(const struct pw_lab *lb, int *alive)
{
	struct server_count c = { .servers = 0 };
	pw_strmap_init(&c.seen);
	pw_arena_init(&c.keys);
	char *owned = pw_lab_state_get(lb, "owned");
	pw_lab_each_owned(owned, "pid", count_server, lb, &c);
	free(owned);
	pw_strmap_release(&c.seen);
	pw_arena_release(&c.keys);
	*alive = c.alive;
	return c.servers;
}
