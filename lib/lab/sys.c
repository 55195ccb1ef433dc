// SPDX-License-Identifier: Apache-2.0
/* Processes and network namespaces: what the rest of the lab builds on. */
#include "lab.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* Feed in to fds[0] while draining fds[1] into out and fds[2] into err;
   poll, so that no pipe fills while another is written. */
static void pump(int fds[3], const char *in, struct pw_buf *out, struct pw_buf *err)
{
	size_t left = in ? strlen(in) : 0;
	if (!left && fds[0] >= 0) {
		close(fds[0]);
		fds[0] = -1;
	}
	while (fds[0] >= 0 || fds[1] >= 0 || fds[2] >= 0) {
		struct pollfd p[3] = { { fds[0], POLLOUT, 0 }, { fds[1], POLLIN, 0 },
				       { fds[2], POLLIN, 0 } };
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0] >= 0 && p[0].revents) {
			ssize_t n = write(fds[0], in, left);
			if (n > 0) {
				in += n;
				left -= (size_t)n;
			}
			if (n <= 0 || !left) {
				close(fds[0]);
				fds[0] = -1;
			}
		}
		for (int i = 1; i < 3; i++) {
			if (fds[i] < 0 || !p[i].revents)
				continue;
			char tmp[4096];
			ssize_t n = read(fds[i], tmp, sizeof(tmp));
			struct pw_buf *b = i == 1 ? out : err;
			if (n > 0 && b)
				pw_buf_add(b, tmp, (size_t)n);
			if (n <= 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
	}
}

int pw_run_capture(char *const argv[], const char *in, struct pw_buf *out,
		   struct pw_buf *err)
{
	int pi[2] = { -1, -1 }, po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	if (pipe2(pi, O_CLOEXEC) < 0 || pipe2(po, O_CLOEXEC) < 0 ||
	    pipe2(pe, O_CLOEXEC) < 0) {
		close_pair(pi);
		close_pair(po);
		close_pair(pe);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close_pair(pi);
		close_pair(po);
		close_pair(pe);
		return -1;
	}
	if (pid == 0) {
		dup2(pi[0], 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pi[0]);
	close(po[1]);
	close(pe[1]);
	/* a child that exits without reading its input must not kill us */
	struct sigaction ign = { 0 }, old;
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	int fds[3] = { pi[1], po[0], pe[0] };
	pump(fds, in, out, err);
	sigaction(SIGPIPE, &old, NULL);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int pw_run(char *const argv[], struct pw_buf *err)
{
	return pw_run_capture(argv, NULL, NULL, err);
}

int pw_netns_enter(const char *name)
{
	char path[300];
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

bool pw_netns_exists(const char *name)
{
	char path[300];
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	return access(path, F_OK) == 0;
}

int pw_netns_run(const char *netns, int (*fn)(void *arg, struct pw_buf *err),
		 void *arg, struct pw_buf *err)
{
	int pe[2];
	if (pipe2(pe, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close_pair(pe);
		return -1;
	}
	if (pid == 0) {
		struct pw_buf b;
		pw_buf_init(&b);
		int rc = pw_netns_enter(netns);
		if (rc < 0)
			pw_buf_printf(&b, "cannot enter %s: %s", netns, strerror(errno));
		else
			rc = fn(arg, &b);
		for (size_t at = 0; at < b.len;) {
			ssize_t n = write(pe[1], b.s + at, b.len - at);
			if (n <= 0)
				break;
			at += (size_t)n;
		}
		_exit(rc ? 1 : 0);
	}
	close(pe[1]);
	int fds[3] = { -1, -1, pe[0] };
	pump(fds, NULL, NULL, err);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

ssize_t pw_proc_cmdline(int pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return n;
}
