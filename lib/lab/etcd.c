// SPDX-License-Identifier: Apache-2.0
/* The lab's datastore when it is etcd: a cluster of members, each in a
   namespace of its own on the underlay, and reading it from a node.  See
   lab.h. */
#include "lab.h"
#include "../etcd/etcd.h"
#include "../world.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void pw_lab_etcd_ns(const struct pw_lab *lb, int j, char out[static 128])
{
	snprintf(out, 128, "pwl-%s-e%d", lb->name, j);
}

static void member_addr(int j, char out[static 48])
{
	snprintf(out, 48, "%s.%d", PW_LAB_UNDERLAY, 101 + j);
}

void pw_lab_etcd_endpoints(const struct pw_lab *lb, char out[static 256])
{
	size_t n = 0;
	out[0] = 0;
	for (int j = 0; j < PW_LAB_ETCD_MEMBERS; j++) {
		char a[48];
		member_addr(j, a);
		n += (size_t)snprintf(out + n, 256 - n, "%shttp://%s:2379", j ? "," : "", a);
	}
	(void)lb;
}

/* Its command line is "etcd --name mJ ... --initial-cluster-token pwl-LAB". */
bool pw_lab_is_etcd(int pid, const char *lab, int *member)
{
	char buf[4096], token[96];
	ssize_t n = pw_proc_cmdline(pid, buf, sizeof(buf));
	if (n < 0)
		return false;
	snprintf(token, sizeof(token), "pwl-%s", lab);
	bool etcd = false, ours = false;
	for (const char *p = buf, *prev = ""; p < buf + n; prev = p, p += strlen(p) + 1) {
		const char *base = strrchr(p, '/');
		if (p == buf)
			etcd = !strcmp(base ? base + 1 : p, "etcd");
		if (!strcmp(prev, "--initial-cluster-token") && !strcmp(p, token))
			ours = true;
		if (!strcmp(prev, "--name") && member && p[0] == 'm')
			*member = atoi(p + 1);
	}
	return etcd && ours;
}

static void find_member(const struct pw_lab *lb, const char *rest, void *ctx)
{
	int *want = ctx, pid = 0, j = -1, m = -1;
	if (sscanf(rest, "%d %d", &pid, &j) == 2 && j == want[0] && pid > 0 &&
	    pw_lab_is_etcd(pid, lb->name, &m) && m == j)
		want[1] = pid;
}

int pw_lab_etcd_pid(const struct pw_lab *lb, int j)
{
	char *owned = pw_lab_state_get(lb, "owned");
	int want[2] = { j, 0 };
	if (owned)
		pw_lab_each_owned(owned, "etcd", find_member, lb, want);
	free(owned);
	return want[1];
}

int pw_lab_start_etcd(const struct pw_lab *lb, int j, struct pw_buf *err)
{
	char ns[128], addr[48], data[512], log[512], f[32];
	char name[16], client[80], peer[80], cluster[400], token[96];
	pw_lab_etcd_ns(lb, j, ns);
	member_addr(j, addr);
	snprintf(f, sizeof(f), "etcd-%d", j);
	pw_lab_path(lb, f, data);
	snprintf(f, sizeof(f), "etcd-%d.log", j);
	pw_lab_path(lb, f, log);
	snprintf(name, sizeof(name), "m%d", j);
	snprintf(client, sizeof(client), "http://%s:2379", addr);
	snprintf(peer, sizeof(peer), "http://%s:2380", addr);
	size_t n = 0;
	for (int m = 0; m < PW_LAB_ETCD_MEMBERS; m++) {
		char a[48];
		member_addr(m, a);
		n += (size_t)snprintf(cluster + n, sizeof(cluster) - n, "%sm%d=http://%s:2380",
				      m ? "," : "", m, a);
	}
	snprintf(token, sizeof(token), "pwl-%s", lb->name);
	pid_t pid = fork();
	if (pid < 0) {
		pw_buf_printf(err, "cannot start etcd member %d: %s", j, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setsid();
		pw_lab_own(lb, "etcd %d %d", (int)getpid(), j);
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || out < 0 || pw_netns_enter(ns) < 0)
			_exit(127);
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
		char *argv[] = { "etcd", "--name", name, "--data-dir", data,
				 "--listen-client-urls", client, "--advertise-client-urls", client,
				 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
				 "--initial-cluster", cluster, "--initial-cluster-state", "new",
				 "--initial-cluster-token", token, "--logger", "zap",
				 "--log-level", "warn", NULL };
		execvp("etcd", argv);
		_exit(127);
	}
	return pid;
}

int pw_lab_add_etcd(struct pw_lab *lb, struct pw_buf *err)
{
	for (int j = 0; j < PW_LAB_ETCD_MEMBERS; j++) {
		char ns[128], addr[48], br[16];
		pw_lab_etcd_ns(lb, j, ns);
		member_addr(j, addr);
		snprintf(br, sizeof(br), "e%d", j);
		if (pw_lab_add_ns(lb, ns, err) < 0 ||
		    pw_lab_join_underlay(lb, ns, br, "eth0", addr, err) < 0)
			return -1;
		if (pw_lab_start_etcd(lb, j, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- reading it from node 0 ------------------------------------------------- */

struct reader {
	const struct pw_lab *lb;
	int fd;
	int timeout_ms;
};

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* In node 0's namespace: every document, framed as the agent's requests
   are ("FILE <name length> <length>\n<name><bytes>"), to r->fd. */
static int read_in_node(void *arg, struct pw_buf *err)
{
	struct reader *r = arg;
	char eps[256];
	pw_lab_etcd_endpoints(r->lb, eps);
	struct pw_etcd e;
	if (pw_etcd_open(&e, eps, err) < 0)
		return -1;
	struct pw_etcd_kvs kvs = { 0 };
	int64_t rev = 0;
	int rc = -1;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pw_buf e1;
		pw_buf_init(&e1);
		rc = pw_etcd_range_prefix(&e, PW_ETCD_PREFIX, &kvs, &rev, &e1);
		clock_gettime(CLOCK_MONOTONIC, &t);
		long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (rc == 0 || ms > r->timeout_ms) {
			if (rc < 0)
				pw_buf_puts(err, e1.s ? e1.s : "etcd does not answer");
			pw_buf_release(&e1);
			break;
		}
		pw_buf_release(&e1);
		pw_etcd_kvs_release(&kvs);
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	for (size_t i = 0; rc == 0 && i < kvs.n; i++) {
		char head[64];
		int hl = snprintf(head, sizeof(head), "FILE %zu %zu\n", strlen(kvs.v[i].key),
				  kvs.v[i].len);
		if (write_all(r->fd, head, (size_t)hl) < 0 ||
		    write_all(r->fd, kvs.v[i].key, strlen(kvs.v[i].key)) < 0 ||
		    write_all(r->fd, kvs.v[i].value, kvs.v[i].len) < 0)
			rc = -1;
	}
	pw_etcd_kvs_release(&kvs);
	pw_etcd_close(&e);
	return rc;
}

int pw_lab_etcd_read(const struct pw_lab *lb, int timeout_ms, struct pw_world_doc **out,
		     size_t *n, struct pw_buf *err)
{
	int p[2];
	*out = NULL;
	*n = 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		pw_buf_printf(err, "pipe: %s", strerror(errno));
		return -1;
	}
	char node[128];
	pw_lab_node_ns(lb, 0, node);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		struct reader r = { lb, p[1], timeout_ms };
		struct pw_buf e;
		pw_buf_init(&e);
		int rc = pw_netns_enter(node) < 0 ? -1 : read_in_node(&r, &e);
		if (rc < 0 && e.s)
			fprintf(stderr, "%s\n", e.s);
		_exit(rc < 0 ? 1 : 0);
	}
	close(p[1]);
	struct pw_buf b;
	pw_buf_init(&b);
	char tmp[65536];
	ssize_t k;
	while ((k = read(p[0], tmp, sizeof(tmp))) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		pw_buf_add(&b, tmp, (size_t)k);
	}
	close(p[0]);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		pw_buf_printf(err, "cannot read the lab's etcd from node %s", lb->nodes[0]);
		pw_buf_release(&b);
		return -1;
	}
	size_t cap = 0;
	for (size_t off = 0; off < b.len;) {
		unsigned long nl, cl;
		int used = 0;
		const char *at = b.s + off, *eol = memchr(at, '\n', b.len - off);
		if (!eol || sscanf(at, "FILE %lu %lu%n", &nl, &cl, &used) != 2 ||
		    (size_t)(eol + 1 - b.s) + nl + cl > b.len)
			break;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = pw_xrealloc(*out, cap * sizeof(**out));
		}
		struct pw_world_doc *d = &(*out)[(*n)++];
		memset(d, 0, sizeof(*d));
		d->name = pw_xmalloc(nl + 1);
		memcpy(d->name, eol + 1, nl);
		d->name[nl] = 0;
		d->bytes = pw_xmalloc(cl + 1);
		memcpy(d->bytes, eol + 1 + nl, cl);
		d->bytes[cl] = 0;
		d->len = cl;
		off = (size_t)(eol + 1 - b.s) + nl + cl;
	}
	pw_buf_release(&b);
	return 0;
}

void pw_lab_docs_free(struct pw_world_doc *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].bytes);
	}
	free(v);
}
