// SPDX-License-Identifier: Apache-2.0
#include "lab.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void drain(int fd, struct pw_buf *b)
{
	char tmp[4096];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		if (b)
			pw_buf_add(b, tmp, (size_t)n);
}

int pw_run_capture(char *const argv[], struct pw_buf *out, struct pw_buf *err)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* stderr is small; read stdout first, then stderr */
	drain(po[0], out);
	drain(pe[0], err);
	close(po[0]);
	close(pe[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int pw_run(char *const argv[], struct pw_buf *err)
{
	return pw_run_capture(argv, NULL, err);
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

void pw_lab_path(const char *lab, const char *file, char out[static 512])
{
	mkdir("/run/podwall", 0755);
	mkdir(PW_LAB_STATE_DIR, 0755);
	snprintf(out, 512, "%s/%s", PW_LAB_STATE_DIR, lab);
	mkdir(out, 0755);
	if (file && *file)
		snprintf(out, 512, "%s/%s/%s", PW_LAB_STATE_DIR, lab, file);
}

int pw_lab_own(const char *lab, const char *fmt, ...)
{
	char path[512];
	pw_lab_path(lab, "owned", path);
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
