// SPDX-License-Identifier: Apache-2.0
/*
 * The directory source (lib/source/source.h): files watched with inotify.
 *
 * A file counts when it is complete: written and closed (IN_CLOSE_WRITE)
 * or renamed into place (IN_MOVED_TO, an editor's or `podwall apply`'s
 * write-by-rename).  A deleted file is removed at once; a file renamed
 * away is removed only if it does not come back within a short settle
 * time, so that an editor that renames the old file away before writing
 * the new one makes one change, not a removal followed by an addition.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "source.h"

#define SETTLE_MS 30 /* how long a removal waits for the file to return */
#define WATCH_MASK                                                             \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | \
	 IN_DELETE_SELF | IN_MOVE_SELF)

struct dir_src {
	char *root;
	int ifd;
	/* watch descriptor -> directory path */
	int *wds;
	char **paths;
	size_t nwatch, cap;
	/* paths touched since the last changes(), and whether the last event
	   of each left it complete (written and closed, or renamed in) */
	char **touched;
	bool *complete;
	size_t ntouched, tcap;
	bool rescan;
};

static struct dir_src *D(const struct pw_source *s)
{
	return s->priv;
}

static void add_watch(struct dir_src *d, const char *path)
{
	int wd = inotify_add_watch(d->ifd, path, WATCH_MASK | IN_ONLYDIR);
	if (wd < 0)
		return;
	for (size_t i = 0; i < d->nwatch; i++)
		if (d->wds[i] == wd) {
			free(d->paths[i]);
			d->paths[i] = pw_xstrdup(path);
			return;
		}
	if (d->nwatch == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->wds = pw_xrealloc(d->wds, d->cap * sizeof(*d->wds));
		d->paths = pw_xrealloc(d->paths, d->cap * sizeof(*d->paths));
	}
	d->wds[d->nwatch] = wd;
	d->paths[d->nwatch++] = pw_xstrdup(path);
}

/* Watch path and every directory below it. */
static void watch_tree(struct dir_src *d, const char *path, int depth)
{
	add_watch(d, path);
	if (depth > 32)
		return;
	DIR *dir = opendir(path);
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char sub[PATH_MAX];
		struct stat st;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= sizeof(sub))
			continue;
		if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			watch_tree(d, sub, depth + 1);
	}
	closedir(dir);
}

static int dir_open(struct pw_source *s, const char *arg, struct pw_buf *err)
{
	struct stat st;
	if (!*arg) {
		pw_buf_puts(err, "dir: needs a path (dir:PATH)");
		return -1;
	}
	if (stat(arg, &st) < 0 || !S_ISDIR(st.st_mode)) {
		pw_buf_printf(err, "dir:%s: not a directory", arg);
		return -1;
	}
	struct dir_src *d = pw_xcalloc(1, sizeof(*d));
	d->root = pw_xstrdup(arg);
	size_t n = strlen(d->root);
	while (n > 1 && d->root[n - 1] == '/')
		d->root[--n] = 0;
	d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ifd < 0) {
		pw_buf_printf(err, "inotify: %s", strerror(errno));
		free(d->root);
		free(d);
		return -1;
	}
	s->priv = d;
	watch_tree(d, d->root, 0);
	return 0;
}

static void dir_close(struct pw_source *s)
{
	struct dir_src *d = D(s);
	close(d->ifd);
	for (size_t i = 0; i < d->nwatch; i++)
		free(d->paths[i]);
	for (size_t i = 0; i < d->ntouched; i++)
		free(d->touched[i]);
	free(d->wds);
	free(d->paths);
	free(d->touched);
	free(d->complete);
	free(d->root);
	free(d);
	s->priv = NULL;
}

static int dir_fd(const struct pw_source *s)
{
	return D(s)->ifd;
}

static int dir_load(struct pw_source *s, struct pw_world *w, struct pw_diags *dg)
{
	size_t errors = dg->errors;
	pw_world_put_path(w, D(s)->root, dg);
	return dg->errors > errors ? -1 : 0;
}

static void touch(struct dir_src *d, const char *path, bool complete)
{
	for (size_t i = 0; i < d->ntouched; i++)
		if (!strcmp(d->touched[i], path)) {
			d->complete[i] = complete;
			return;
		}
	if (d->ntouched == d->tcap) {
		d->tcap = d->tcap ? d->tcap * 2 : 16;
		d->touched = pw_xrealloc(d->touched, d->tcap * sizeof(*d->touched));
		d->complete = pw_xrealloc(d->complete, d->tcap * sizeof(*d->complete));
	}
	d->complete[d->ntouched] = complete;
	d->touched[d->ntouched++] = pw_xstrdup(path);
}

static const char *watch_path(const struct dir_src *d, int wd)
{
	for (size_t i = 0; i < d->nwatch; i++)
		if (d->wds[i] == wd)
			return d->paths[i];
	return NULL;
}

/* Read the events there are.  Returns true if a file went away. */
static bool read_events(struct dir_src *d)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool gone = false;
	for (;;) {
		ssize_t n = read(d->ifd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				d->rescan = true;
				continue;
			}
			const char *dir = watch_path(d, ev->wd);
			if (!dir || !ev->len || ev->name[0] == '.')
				continue;
			char path[PATH_MAX];
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, ev->name) >=
			    sizeof(path))
				continue;
			if (ev->mask & IN_ISDIR) {
				/* a directory came or went: read it again whole */
				if (ev->mask & (IN_CREATE | IN_MOVED_TO))
					watch_tree(d, path, 1);
				d->rescan = true;
				continue;
			}
			if (!pw_is_manifest_name(ev->name))
				continue;
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE))
				touch(d, path, true);
			/* renamed away: maybe an editor about to write the new
			   file in its place (a plain rm is final) */
			if (ev->mask & IN_MOVED_FROM) {
				touch(d, path, false);
				gone = true;
			}
		}
	}
	return gone;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static size_t put_file(void *arg, const char *name, const unsigned char *bytes,
		       size_t len, struct pw_diags *dg)
{
	pw_world_put(arg, name, bytes, len);
	return 0;
}

static int dir_changes(struct pw_source *s, struct pw_world *w, struct pw_diags *dg)
{
	struct dir_src *d = D(s);
	bool gone = read_events(d);
	/* a file renamed away may be coming back, written anew: wait for it
	   to be complete (closed after writing, or renamed in) */
	for (int i = 0; gone && i < 6; i++) {
		bool waiting = false;
		for (size_t k = 0; k < d->ntouched && !waiting; k++)
			waiting = !d->complete[k];
		if (!waiting)
			break;
		struct pollfd p = { d->ifd, POLLIN, 0 };
		if (poll(&p, 1, SETTLE_MS / 6) > 0)
			read_events(d);
	}
	int staged = 0;
	struct pw_arena names;
	pw_arena_init(&names);
	size_t from = dg->n;
	if (d->rescan) {
		/* everything again: what is there is put (unchanged documents
		   are no change), what is not is removed */
		d->rescan = false;
		struct pw_world probe;
		pw_world_init(&probe, NULL);
		pw_walk_path(d->root, &names, put_file, &probe, dg);
		for (size_t i = 0; i < probe.npending; i++) {
			struct pw_world_doc *p = &probe.pending[i];
			pw_world_put(w, p->name, p->bytes, p->len);
			staged++;
		}
		for (size_t i = 0; i < w->ndocs; i++) {
			bool there = false;
			for (size_t k = 0; k < probe.npending && !there; k++)
				there = !strcmp(probe.pending[k].name, w->docs[i].name);
			if (!there) {
				pw_world_remove(w, w->docs[i].name);
				staged++;
			}
		}
		pw_world_release(&probe);
	}
	for (size_t k = 0; k < d->ntouched; k++) {
		const char *path = d->touched[k];
		if (exists(path)) {
			pw_walk_path(path, &names, put_file, w, dg);
			staged++;
		} else if (pw_world_has(w, path)) {
			pw_world_remove(w, path);
			staged++;
		}
		free(d->touched[k]);
	}
	d->ntouched = 0;
	pw_diags_keep_files(dg, from);
	pw_arena_release(&names);
	return staged;
}

static void dir_object_name(const struct pw_source *s, const char *group,
			    const char *kind, const char *ns, const char *name,
			    struct pw_buf *out)
{
	pw_buf_printf(out, "%s/%s/", D(s)->root, ns && *ns ? ns : "_cluster");
	for (const char *k = kind; *k; k++)
		pw_buf_putc(out, (char)(*k >= 'A' && *k <= 'Z' ? *k - 'A' + 'a' : *k));
	if (group && *group) {
		pw_buf_putc(out, '.');
		pw_buf_puts(out, group);
	}
	pw_buf_printf(out, "-%s.yaml", name);
}

static int write_file(const char *name, const unsigned char *bytes, size_t len,
		      struct pw_buf *err)
{
	if (!bytes) {
		if (unlink(name) < 0 && errno != ENOENT) {
			pw_buf_printf(err, "%s: %s", name, strerror(errno));
			return -1;
		}
		return 0;
	}
	/* the directory, then a hidden temporary file renamed into place */
	char dir[PATH_MAX], tmp[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s", name);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			pw_buf_printf(err, "%s: %s", dir, strerror(errno));
			return -1;
		}
		snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, slash + 1);
	} else {
		snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		pw_buf_printf(err, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, bytes + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pw_buf_printf(err, "%s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, name) < 0) {
		pw_buf_printf(err, "%s: %s", name, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* File by file: what was written before an error stays. */
static int dir_write(struct pw_source *s, const struct pw_world_doc *v, size_t n,
		     struct pw_buf *err)
{
	for (size_t i = 0; i < n; i++)
		if (write_file(v[i].name, v[i].bytes, v[i].len, err) < 0)
			return -1;
	return 0;
}

const struct pw_source_ops pw_source_dir_ops = {
	.scheme = "dir",
	.open = dir_open,
	.load = dir_load,
	.fd = dir_fd,
	.changes = dir_changes,
	.object_name = dir_object_name,
	.write = dir_write,
	.close = dir_close,
};
