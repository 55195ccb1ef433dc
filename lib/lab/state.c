// SPDX-License-Identifier: Apache-2.0
/* A lab's state directory: lock, files, copies of inputs; what the lab
   holds (admit) and where its pods are (assign).  See lab.h. */
#include "lab.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
}

void pw_lab_release(struct pw_lab *lb)
{
	for (int i = 0; i < lb->ninputs; i++) {
		free(lb->inputs[i].path);
		pw_buf_release(&lb->inputs[i].copy);
	}
	free(lb->inputs);
	for (int i = 0; i < lb->ndels; i++)
		free(lb->dels[i]);
	free(lb->dels);
	free(lb->del_gens);
	for (int i = 0; i < lb->nkeys; i++)
		free(lb->keys[i]);
	free(lb->keys);
	free(lb->addrs);
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

int pw_lab_forget(struct pw_lab *lb)
{
	char dir[512], path[1024];
	pw_lab_path(lb, NULL, dir);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	/* the lock last: a command that opens it then finds the lab gone */
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, "lock")) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
	snprintf(path, sizeof(path), "%s/lock", dir);
	unlink(path);
	return rmdir(dir);
}

/* ---- config, inputs, pods ---------------------------------------------------- */

static void add_key(struct pw_lab *lb, const char *key, const struct pw_addr *a)
{
	if (lb->nkeys == lb->capkeys) {
		lb->capkeys = lb->capkeys ? lb->capkeys * 2 : 16;
		lb->keys = pw_xrealloc(lb->keys, (size_t)lb->capkeys * sizeof(char *));
		lb->addrs = pw_xrealloc(lb->addrs, (size_t)lb->capkeys * sizeof(*lb->addrs));
	}
	lb->keys[lb->nkeys] = pw_xstrdup(key);
	lb->addrs[lb->nkeys++] = *a;
}

void pw_lab_add_input(struct pw_lab *lb, char *path, uint32_t gen, bool fresh)
{
	struct pw_lab_input *in = NULL;
	for (int i = 0; i < lb->ninputs && !in; i++)
		if (!strcmp(lb->inputs[i].path, path))
			in = &lb->inputs[i];
	if (in) {
		free(path);
		pw_buf_reset(&in->copy);
	} else {
		lb->inputs = pw_xrealloc(lb->inputs,
					 (size_t)(lb->ninputs + 1) * sizeof(*lb->inputs));
		in = &lb->inputs[lb->ninputs++];
		memset(in, 0, sizeof(*in));
		in->path = path;
	}
	in->gen = gen;
	in->fresh = fresh;
	if (gen > lb->gen)
		lb->gen = gen;
}

void pw_lab_add_del(struct pw_lab *lb, const char *key, uint32_t gen)
{
	lb->dels = pw_xrealloc(lb->dels, (size_t)(lb->ndels + 1) * sizeof(char *));
	lb->del_gens = pw_xrealloc(lb->del_gens, (size_t)(lb->ndels + 1) * sizeof(uint32_t));
	lb->dels[lb->ndels] = pw_xstrdup(key);
	lb->del_gens[lb->ndels++] = gen;
	if (gen > lb->gen)
		lb->gen = gen;
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
	}
	free(cfg);
	char *in = pw_lab_state_get(lb, "inputs");
	for (line = in ? strtok_r(in, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned g;
		int at = 0;
		if (sscanf(line, "apply %u %n", &g, &at) == 1 && at && g)
			pw_lab_add_input(lb, pw_xstrdup(line + at), g, false);
		else if (sscanf(line, "delete %u %n", &g, &at) == 1 && at && g)
			pw_lab_add_del(lb, line + at, g);
		else if (line[0] == '/') /* before generations: one apply */
			pw_lab_add_input(lb, pw_xstrdup(line), 1, false);
	}
	free(in);
	char *pods = pw_lab_state_get(lb, "pods");
	for (line = pods ? strtok_r(pods, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[300], addr[64];
		int k;
		struct pw_addr a;
		if (sscanf(line, "%d %299s %63s", &k, key, addr) == 3 &&
		    k == lb->nkeys && pw_addr_parse(addr, &a) == 0)
			add_key(lb, key, &a);
	}
	free(pods);
	return 0;
}

/* ---- copies of inputs ---------------------------------------------------------- */

/*
 * A copy: the line COPY_MAGIC, then per file read "file NAMELEN LEN\n",
 * the name, the text and "\n".  Named after the apply and the path, so
 * that an apply killed before it wrote the state leaves only a copy no
 * input refers to.
 */
#define COPY_MAGIC "podwall lab copy 1\n"

static void copy_name(const struct pw_lab_input *in, char out[static 64])
{
	snprintf(out, 64, "in-%u-%016llx", in->gen,
		 (unsigned long long)pw_hash_bytes(in->path, strlen(in->path), 0));
}

struct copy_load {
	struct pw_cluster *c;
	struct pw_buf *copy;
};

/* A file of a fresh input: loaded, and appended to its copy. */
static size_t load_and_copy(void *arg, const char *name, const unsigned char *text,
			    size_t len, struct pw_diags *d)
{
	struct copy_load *cl = arg;
	pw_buf_printf(cl->copy, "file %zu %zu\n", strlen(name), len);
	pw_buf_puts(cl->copy, name);
	pw_buf_add(cl->copy, (const char *)text, len);
	pw_buf_putc(cl->copy, '\n');
	return pw_cluster_load_buffer(cl->c, name, text, len, d);
}

static size_t load_copy(struct pw_cluster *c, const char *path, const char *s,
			size_t len, struct pw_diags *d)
{
	const char *end = s + len;
	size_t errs = 0, ml = strlen(COPY_MAGIC);
	bool ok = len >= ml && !memcmp(s, COPY_MAGIC, ml);
	s += ok ? ml : 0;
	while (ok && s < end) {
		size_t nl, tl;
		int at = 0;
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		if (!eol || sscanf(s, "file %zu %zu\n%n", &nl, &tl, &at) != 2 ||
		    s + at != eol + 1 || nl > (size_t)(end - eol) ||
		    tl > (size_t)(end - eol) - nl - 1) {
			ok = false;
			break;
		}
		char *name = strndup(eol + 1, nl);
		errs += pw_cluster_load_buffer(c, name, (const unsigned char *)eol + 1 + nl,
					       tl, d);
		free(name);
		s = eol + 1 + nl + tl + 1;
	}
	if (!ok) {
		struct pw_pos pos = { pw_arena_strdup(&c->arena, path), 0, 0 };
		pw_error(d, pos, "the lab's copy of this input is damaged; apply it again");
		errs++;
	}
	return errs;
}

size_t pw_lab_load_input(struct pw_lab *lb, int i, struct pw_cluster *c,
			 struct pw_diags *d)
{
	struct pw_lab_input *in = &lb->inputs[i];
	char name[64];
	copy_name(in, name);
	size_t len;
	char path[512];
	pw_lab_path(lb, name, path);
	char *text = !in->fresh && lb->lock_fd >= 0 ? slurp(path, &len) : NULL;
	if (text) {
		size_t errs = load_copy(c, in->path, text, len, d);
		free(text);
		return errs;
	}
	pw_buf_reset(&in->copy);
	pw_buf_puts(&in->copy, COPY_MAGIC);
	struct copy_load cl = { c, &in->copy };
	return pw_walk_path(in->path, &c->arena, load_and_copy, &cl, d);
}

static int put_buf(const struct pw_lab *lb, const char *file, const struct pw_buf *b)
{
	return pw_lab_state_put(lb, file, b->s ? b->s : "", b->len);
}

int pw_lab_write(struct pw_lab *lb, struct pw_buf *err)
{
	int rc = 0;
	char name[64];
	for (int i = 0; i < lb->ninputs; i++) {
		struct pw_lab_input *in = &lb->inputs[i];
		if (!in->fresh || !in->copy.len)
			continue;
		copy_name(in, name);
		rc |= put_buf(lb, name, &in->copy);
	}
	struct pw_buf b;
	pw_buf_init(&b);
	pw_buf_printf(&b, "replicas %u\nflags %u\n", lb->replicas, lb->flags);
	for (int i = 0; i < lb->next; i++) {
		char a[48];
		pw_addr_format(&lb->ext[i], a);
		pw_buf_printf(&b, "external %s\n", a);
	}
	rc |= put_buf(lb, "config", &b);
	pw_buf_reset(&b);
	for (int i = 0; i < lb->ninputs; i++)
		pw_buf_printf(&b, "apply %u %s\n", lb->inputs[i].gen, lb->inputs[i].path);
	for (int i = 0; i < lb->ndels; i++)
		pw_buf_printf(&b, "delete %u %s\n", lb->del_gens[i], lb->dels[i]);
	rc |= put_buf(lb, "inputs", &b);
	pw_buf_reset(&b);
	for (int i = 0; i < lb->nkeys; i++) {
		char a[48];
		pw_addr_format(&lb->addrs[i], a);
		pw_buf_printf(&b, "%d %s %s\n", i, lb->keys[i], a);
	}
	rc |= put_buf(lb, "pods", &b);
	pw_buf_release(&b);
	if (rc) {
		pw_buf_printf(err, "cannot write the state of lab %s: %s", lb->name,
			      strerror(errno));
		return -1;
	}
	/* copies no input refers to: of earlier applies, or of a killed one */
	char dir[512], path[1024];
	pw_lab_path(lb, NULL, dir);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "in-", 3))
			continue;
		bool used = false;
		for (int i = 0; i < lb->ninputs && !used; i++) {
			copy_name(&lb->inputs[i], name);
			used = !strcmp(name, de->d_name);
		}
		if (!used) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	for (int i = 0; i < lb->ninputs; i++)
		lb->inputs[i].fresh = false;
	return 0;
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
			add_key(lb, key, &a);
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

/* ---- what the lab holds ---------------------------------------------------------- */

bool pw_lab_admit(void *arg, uint32_t input, const char *key)
{
	struct pw_lab_admit *a = arg;
	uintptr_t g = a->gen_of[input];
	uintptr_t s = (uintptr_t)pw_strmap_get(&a->seen, key);
	if (s > g) {
		if ((uintptr_t)pw_strmap_get(&a->deleted, key) == s &&
		    !pw_strmap_get(&a->hiding, key))
			pw_strmap_put(&a->hiding, pw_arena_strdup(&a->keys, key), (void *)1);
		/* hidden; by the delete in progress, and in force before it? */
		if (a->del_gen && s == a->del_gen &&
		    g > (uintptr_t)pw_strmap_get(&a->older, key) &&
		    !pw_strmap_get(&a->found, key))
			pw_strmap_put(&a->found, pw_arena_strdup(&a->keys, key), (void *)1);
		return false;
	}
	if (s < g)
		pw_strmap_put(&a->seen, pw_arena_strdup(&a->keys, key), (void *)g);
	a->used[a->order[input]]++;
	return true;
}

void pw_lab_admit_init(struct pw_lab_admit *a, struct pw_lab *lb, uint32_t del_gen)
{
	memset(a, 0, sizeof(*a));
	a->lb = lb;
	pw_strmap_init(&a->seen);
	pw_strmap_init(&a->older);
	pw_strmap_init(&a->found);
	pw_strmap_init(&a->deleted);
	pw_strmap_init(&a->hiding);
	pw_arena_init(&a->keys);
	a->del_gen = del_gen;
	for (int i = 0; i < lb->ndels; i++) {
		uintptr_t g = lb->del_gens[i];
		const char *k = lb->dels[i];
		if (g > (uintptr_t)pw_strmap_get(&a->seen, k)) {
			pw_strmap_put(&a->seen, k, (void *)g);
			pw_strmap_put(&a->deleted, k, (void *)g);
		}
		if (g != del_gen && g > (uintptr_t)pw_strmap_get(&a->older, k))
			pw_strmap_put(&a->older, k, (void *)g);
	}
	/* latest apply first; inputs of one apply in their order */
	int n = lb->ninputs;
	a->order = pw_xcalloc((size_t)n + 1, sizeof(int));
	a->gen_of = pw_xcalloc((size_t)n + 1, sizeof(uint32_t));
	a->used = pw_xcalloc((size_t)n + 1, sizeof(uint32_t));
	for (int i = 0; i < n; i++) {
		int k = i;
		while (k > 0 && a->gen_of[k - 1] < lb->inputs[i].gen) {
			a->order[k] = a->order[k - 1];
			a->gen_of[k] = a->gen_of[k - 1];
			k--;
		}
		a->order[k] = i;
		a->gen_of[k] = lb->inputs[i].gen;
	}
}

void pw_lab_admit_release(struct pw_lab_admit *a)
{
	pw_strmap_release(&a->seen);
	pw_strmap_release(&a->older);
	pw_strmap_release(&a->found);
	pw_strmap_release(&a->deleted);
	pw_strmap_release(&a->hiding);
	pw_arena_release(&a->keys);
	free(a->order);
	free(a->gen_of);
	free(a->used);
}

void pw_lab_prune(struct pw_lab *lb, const struct pw_lab_admit *a)
{
	/* inputs of which nothing is in force any more are forgotten */
	for (int i = lb->ninputs - 1; i >= 0; i--)
		if (!a->used[i]) {
			free(lb->inputs[i].path);
			pw_buf_release(&lb->inputs[i].copy);
			memmove(&lb->inputs[i], &lb->inputs[i + 1],
				(size_t)(lb->ninputs - i - 1) * sizeof(*lb->inputs));
			lb->ninputs--;
		}
	/* ... and deletes that hide nothing (an earlier one of the same
	   object, or one that a later apply undid) */
	for (int i = lb->ndels - 1; i >= 0; i--)
		if ((uintptr_t)pw_strmap_get(&a->deleted, lb->dels[i]) != lb->del_gens[i] ||
		    !pw_strmap_get(&a->hiding, lb->dels[i])) {
			free(lb->dels[i]);
			memmove(&lb->dels[i], &lb->dels[i + 1],
				(size_t)(lb->ndels - i - 1) * sizeof(char *));
			memmove(&lb->del_gens[i], &lb->del_gens[i + 1],
				(size_t)(lb->ndels - i - 1) * sizeof(uint32_t));
			lb->ndels--;
		}
}

static bool collect_key(void *arg, uint32_t input, const char *key)
{
	struct pw_buf *b = arg;
	(void)input;
	pw_buf_add(b, key, strlen(key) + 1);
	return false;
}

int pw_lab_delete_keys(struct pw_lab *lb, const char *file, uint32_t gen,
		       struct pw_buf *err)
{
	struct pw_cluster c;
	struct pw_diags d;
	struct pw_buf keys;
	pw_cluster_init(&c);
	pw_diags_init(&d);
	pw_buf_init(&keys);
	c.admit = collect_key;
	c.admit_arg = &keys;
	pw_cluster_load_path(&c, file, &d);
	int n = 0;
	if (d.errors) {
		/* formatted now: the positions live in c */
		for (size_t i = 0; i < d.n; i++) {
			pw_diag_format(&d.v[i], err);
			pw_buf_putc(err, '\n');
		}
		n = -1;
	}
	for (size_t at = 0; n >= 0 && at < keys.len; at += strlen(keys.s + at) + 1, n++)
		pw_lab_add_del(lb, keys.s + at, gen);
	pw_buf_release(&keys);
	pw_diags_release(&d);
	pw_cluster_release(&c);
	return n;
}
