// SPDX-License-Identifier: Apache-2.0
/* A lab's state directory: lock, files; where its pods are (assign).
   See lab.h. */
#include "lab.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

bool pw_lab_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 20)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

void pw_lab_init(struct pw_lab *lb, const char *name)
{
	memset(lb, 0, sizeof(*lb));
	snprintf(lb->name, sizeof(lb->name), "%s", name);
	snprintf(lb->router, sizeof(lb->router), "pwl-%s-r", lb->name);
	lb->lock_fd = -1;
	lb->nnodes = 1;
	lb->node = -1;
	snprintf(lb->nodes[0], sizeof(lb->nodes[0]), "node-0");
}

void pw_lab_release(struct pw_lab *lb)
{
	for (int i = 0; i < lb->nkeys; i++)
		free(lb->keys[i]);
	free(lb->keys);
	free(lb->addrs);
	free(lb->key_node);
	free(lb->pod_k);
	if (lb->lock_fd >= 0)
		close(lb->lock_fd);
	char name[sizeof(lb->name)];
	memcpy(name, lb->name, sizeof(name));
	pw_lab_init(lb, name);
}

void pw_lab_path(const struct pw_lab *lb, const char *file, char out[static 512])
{
	if (file && *file)
		snprintf(out, 512, "%s/%s/%s", PW_LAB_STATE_DIR, lb->name, file);
	else
		snprintf(out, 512, "%s/%s", PW_LAB_STATE_DIR, lb->name);
}

static bool state_has(const struct pw_lab *lb, const char *file)
{
	char path[512];
	pw_lab_path(lb, file, path);
	return access(path, F_OK) == 0;
}

bool pw_lab_is_up(const struct pw_lab *lb)
{
	return state_has(lb, "owned");
}

/* ---- the lock ---------------------------------------------------------------- */

static int open_lock(const struct pw_lab *lb, enum pw_lab_lock how, const char *path)
{
	if (how == PW_LAB_CREATE) {
		char dir[512];
		pw_lab_path(lb, NULL, dir);
		mkdir("/run/podwall", 0755);
		mkdir(PW_LAB_STATE_DIR, 0755);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	/* a lab made before labs had locks */
	if (fd < 0 && errno == ENOENT && (state_has(lb, "owned") || state_has(lb, "config")))
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	return fd;
}

int pw_lab_lock(struct pw_lab *lb, enum pw_lab_lock how, struct pw_buf *err)
{
	char path[512];
	pw_lab_path(lb, "lock", path);
	for (;;) {
		int fd = open_lock(lb, how, path);
		if (fd < 0) {
			int e = errno;
			if (e == ENOENT)
				pw_buf_printf(err, "no lab named %s", lb->name);
			else
				pw_buf_printf(err, "cannot open %s: %s", path, strerror(e));
			errno = e;
			return -1;
		}
		int rc;
		while ((rc = flock(fd, how == PW_LAB_READ ? LOCK_SH : LOCK_EX)) < 0 &&
		       errno == EINTR)
			;
		if (rc < 0) {
			int e = errno;
			pw_buf_printf(err, "cannot lock %s: %s", path, strerror(e));
			close(fd);
			errno = e;
			return -1;
		}
		/* the lab may have gone (down) while we waited: then the file we
		   hold is not the one at path any more; look again */
		struct stat held, now;
		if (fstat(fd, &held) == 0 && stat(path, &now) == 0 &&
		    held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
			lb->lock_fd = fd;
			return 0;
		}
		close(fd);
	}
}

/* ---- files ------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct pw_buf b;
	pw_buf_init(&b);
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		pw_buf_add(&b, tmp, n);
	fclose(f);
	if (!b.s)
		pw_buf_puts(&b, "");
	if (len)
		*len = b.len;
	return b.s;
}

char *pw_lab_state_get(const struct pw_lab *lb, const char *file)
{
	char path[512];
	pw_lab_path(lb, file, path);
	return slurp(path, NULL);
}

int pw_lab_state_put(const struct pw_lab *lb, const char *file, const char *text,
		     size_t len)
{
	char path[512], tmp[520];
	pw_lab_path(lb, file, path);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return -1;
	bool ok = fwrite(text, 1, len, f) == len;
	if (fclose(f) != 0 || !ok) {
		unlink(tmp);
		return -1;
	}
	return rename(tmp, path);
}

int pw_lab_own(const struct pw_lab *lb, const char *fmt, ...)
{
	char path[512];
	pw_lab_path(lb, "owned", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char line[512];
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	ssize_t n = write(fd, line, strlen(line));
	fsync(fd);
	close(fd);
	return n < 0 ? -1 : 0;
}

void pw_lab_each_owned(const char *owned, const char *what,
		       void (*fn)(const struct pw_lab *lb, const char *arg, void *ctx),
		       const struct pw_lab *lb, void *ctx)
{
	size_t wl = strlen(what);
	for (const char *p = owned; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];
		if (len < sizeof(line) && len > wl && !strncmp(p, what, wl) && p[wl] == ' ') {
			memcpy(line, p + wl + 1, len - wl - 1);
			line[len - wl - 1] = 0;
			fn(lb, line, ctx);
		}
		p += len + (nl ? 1 : 0);
	}
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int pw_lab_forget(struct pw_lab *lb)
{
	char dir[512], path[1024];
	pw_lab_path(lb, NULL, dir);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	/* the lock last: a command that opens it then finds the lab gone;
	   the source directory with all in it */
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "lock")) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		}
	closedir(d);
	snprintf(path, sizeof(path), "%s/lock", dir);
	unlink(path);
	return rmdir(dir);
}

/* ---- config, inputs, pods ---------------------------------------------------- */

static void add_key(struct pw_lab *lb, const char *key, const struct pw_addr *a, int node)
{
	if (lb->nkeys == lb->capkeys) {
		lb->capkeys = lb->capkeys ? lb->capkeys * 2 : 16;
		lb->keys = pw_xrealloc(lb->keys, (size_t)lb->capkeys * sizeof(char *));
		lb->addrs = pw_xrealloc(lb->addrs, (size_t)lb->capkeys * sizeof(*lb->addrs));
		lb->key_node = pw_xrealloc(lb->key_node, (size_t)lb->capkeys * sizeof(int));
	}
	lb->keys[lb->nkeys] = pw_xstrdup(key);
	lb->key_node[lb->nkeys] = node >= 0 && node < lb->nnodes ? node : 0;
	lb->addrs[lb->nkeys++] = *a;
}

static void drop_keys(struct pw_lab *lb)
{
	for (int i = 0; i < lb->nkeys; i++)
		free(lb->keys[i]);
	lb->nkeys = 0;
}

/* "K ns/name ADDR [NODE]" a line (no NODE: node 0) */
static void parse_pods(struct pw_lab *lb, char *pods)
{
	char *save, *line;
	for (line = pods ? strtok_r(pods, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[300], addr[64];
		int k, node = 0;
		struct pw_addr a;
		if (sscanf(line, "%d %299s %63s %d", &k, key, addr, &node) >= 3 &&
		    k == lb->nkeys && pw_addr_parse(addr, &a) == 0)
			add_key(lb, key, &a, node);
	}
}

int pw_lab_node_index(const struct pw_lab *lb, const char *name)
{
	for (int i = 0; name && i < lb->nnodes; i++)
		if (!strcmp(lb->nodes[i], name))
			return i;
	return -1;
}

int pw_lab_read(struct pw_lab *lb, struct pw_buf *err)
{
	char *cfg = pw_lab_state_get(lb, "config");
	if (!cfg) {
		pw_buf_printf(err, "lab %s is not up", lb->name);
		return -1;
	}
	char *save, *line;
	for (line = strtok_r(cfg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "replicas ", 9))
			lb->replicas = (uint32_t)atoi(line + 9);
		else if (!strncmp(line, "flags ", 6))
			lb->flags = (unsigned)atoi(line + 6);
		else if (!strncmp(line, "external ", 9) && lb->next < PW_LAB_MAX_EXTERNALS &&
			 pw_addr_parse(line + 9, &lb->ext[lb->next]) == 0)
			lb->next++;
		else if (!strcmp(line, "datastore etcd"))
			lb->etcd = true;
		else if (!strncmp(line, "flow-interval ", 14))
			lb->flow_interval = atoi(line + 14);
		else if (!strncmp(line, "node ", 5) && lb->nnodes <= PW_LAB_MAX_NODES) {
			/* "node I NAME", in order */
			int i = -1;
			char nm[64];
			if (sscanf(line + 5, "%d %63s", &i, nm) == 2 && i >= 0 &&
			    i < PW_LAB_MAX_NODES) {
				snprintf(lb->nodes[i], sizeof(lb->nodes[i]), "%s", nm);
				if (i + 1 > lb->nnodes)
					lb->nnodes = i + 1;
			}
		}
	}
	free(cfg);
	char *pods = pw_lab_state_get(lb, "pods");
	parse_pods(lb, pods);
	free(pods);
	return 0;
}

/* ---- copies of inputs ---------------------------------------------------------- */

static int put_buf(const struct pw_lab *lb, const char *file, const struct pw_buf *b)
{
	return pw_lab_state_put(lb, file, b->s ? b->s : "", b->len);
}

/* "K ns/name ADDR" a line */
void pw_lab_pods_text(const struct pw_lab *lb, struct pw_buf *b)
{
	for (int i = 0; i < lb->nkeys; i++) {
		char a[48];
		pw_addr_format(&lb->addrs[i], a);
		pw_buf_printf(b, "%d %s %s %d\n", i, lb->keys[i], a, lb->key_node[i]);
	}
}

int pw_lab_write_pods(const struct pw_lab *lb, struct pw_buf *err)
{
	struct pw_buf b;
	pw_buf_init(&b);
	pw_lab_pods_text(lb, &b);
	int rc = put_buf(lb, "pods", &b);
	pw_buf_release(&b);
	if (rc)
		pw_buf_printf(err, "cannot write the pods of lab %s: %s", lb->name,
			      strerror(errno));
	return rc ? -1 : 0;
}

int pw_lab_write(struct pw_lab *lb, struct pw_buf *err)
{
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_printf(&b, "replicas %u\nflags %u\n", lb->replicas, lb->flags);
	if (lb->etcd)
		pw_buf_puts(&b, "datastore etcd\n");
	if (lb->flow_interval)
		pw_buf_printf(&b, "flow-interval %d\n", lb->flow_interval);
	for (int i = 0; pw_lab_has_underlay(lb) && i < lb->nnodes; i++)
		pw_buf_printf(&b, "node %d %s\n", i, lb->nodes[i]);
	for (int i = 0; i < lb->next; i++) {
		char a[48];
		pw_addr_format(&lb->ext[i], a);
		pw_buf_printf(&b, "external %s\n", a);
	}
	int rc = put_buf(lb, "config", &b);
	pw_buf_release(&b);
	if (rc) {
		pw_buf_printf(err, "cannot write the state of lab %s: %s", lb->name,
			      strerror(errno));
		return -1;
	}
	return pw_lab_write_pods(lb, err);
}

/* ---- stable indices and addresses ---------------------------------------------- */

static bool addr_taken(const struct pw_cluster *c, const struct pw_lab *lb, uint32_t v)
{
	struct pw_addr a = pw_addr_from_v4(v);
	for (int i = 0; i < lb->nkeys; i++)
		if (!pw_addr_cmp(&lb->addrs[i], &a))
			return true;
	for (uint32_t i = 0; i < c->npods; i++)
		for (uint32_t k = 0; k < c->pods[i].naddrs; k++)
			if (!pw_addr_cmp(&c->pods[i].addrs[k], &a))
				return true;
	return false;
}

int pw_lab_assign(struct pw_lab *lb, struct pw_cluster *c)
{
	free(lb->pod_k);
	lb->npods = c->npods;
	lb->pod_k = pw_xmalloc((c->npods + 1) * sizeof(int));
	uint32_t next = PW_LAB_CIDR_BASE + 1;
	for (uint32_t i = 0; i < c->npods; i++) {
		struct pw_pod *p = &c->pods[i];
		char key[300];
		snprintf(key, sizeof(key), "%s/%s", c->nss[p->ns].name, p->name);
		int k = -1;
		for (int j = 0; j < lb->nkeys && k < 0; j++)
			if (!strcmp(lb->keys[j], key))
				k = j;
		struct pw_addr a;
		bool have = false;
		for (uint32_t x = 0; x < p->naddrs && !have; x++)
			if (p->addrs[x].family == 4) {
				a = p->addrs[x];
				have = true;
			}
		if (!have && k >= 0) {
			a = lb->addrs[k];
			have = true;
		}
		while (!have) {
			if (!addr_taken(c, lb, next)) {
				a = pw_addr_from_v4(next);
				have = true;
			}
			next++;
		}
		if (k < 0) {
			int node = pw_lab_node_index(lb, p->node);
			add_key(lb, key, &a, node >= 0 ? node : lb->nkeys % lb->nnodes);
			k = lb->nkeys - 1;
		} else {
			lb->addrs[k] = a;
		}
		/* the lab's address comes first: the engine predicts with it */
		struct pw_addr *v = pw_arena_alloc(&c->arena, (p->naddrs + 1) * sizeof(*v));
		v[0] = a;
		uint32_t n = 1;
		for (uint32_t x = 0; x < p->naddrs; x++)
			if (pw_addr_cmp(&p->addrs[x], &a))
				v[n++] = p->addrs[x];
		p->addrs = v;
		p->naddrs = n;
		lb->pod_k[i] = k;
	}
	return 0;
}

int pw_lab_assign_shared(struct pw_lab *lb, struct pw_cluster *c, struct pw_buf *err)
{
	char path[512];
	pw_lab_path(lb, "pods.lock", path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		pw_buf_printf(err, "cannot lock %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* what the other agents assigned meanwhile */
	char *pods = pw_lab_state_get(lb, "pods");
	struct pw_buf before, after;
	pw_buf_init(&before);
	pw_buf_init(&after);
	if (pods) {
		drop_keys(lb);
		parse_pods(lb, pods);
		free(pods);
	}
	pw_lab_pods_text(lb, &before);
	int rc = pw_lab_assign(lb, c);
	pw_lab_pods_text(lb, &after);
	if (!rc && (before.len != after.len ||
		    (after.len && memcmp(before.s, after.s, after.len))))
		rc = pw_lab_write_pods(lb, err);
	pw_buf_release(&before);
	pw_buf_release(&after);
	close(fd); /* and the lock with it */
	return rc;
}
