// SPDX-License-Identifier: Apache-2.0
/*
 * flip: how long from a change written to an agent's source until a
 * connection's verdict flips.  Run in the client's network namespace:
 *
 *   flip ADDR PORT open|closed TIMEOUT_MS SRC DST
 *
 * renames SRC to DST (the change, written as editors and `podwall apply`
 * write), then opens TCP connections to ADDR:PORT one after another (each
 * given 1 ms) until the verdict is WANT: open (the handshake completes) or
 * closed (it does not).  Prints the milliseconds from the rename to the
 * first connection with the verdict; exit 1 on timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 1 open, 0 not within wait_ms */
static int try_connect(const struct sockaddr_in *sa, int wait_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int open = 0;
	if (rc == 0) {
		open = 1;
	} else if (errno == EINPROGRESS) {
		struct pollfd p = { fd, POLLOUT, 0 };
		if (poll(&p, 1, wait_ms) == 1) {
			int err = 0;
			socklen_t l = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
			open = err == 0;
		}
	}
	/* no TIME_WAIT left behind */
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return open;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: flip ADDR PORT open|closed TIMEOUT_MS SRC DST\n");
		return 2;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 2;
	int want = !strcmp(argv[3], "open");
	double timeout = atof(argv[4]);
	double t0 = now_ms();
	if (rename(argv[5], argv[6]) < 0) {
		perror("rename");
		return 2;
	}
	for (;;) {
		double t = now_ms();
		if (try_connect(&sa, 1) == want) {
			printf("%.2f\n", t - t0);
			return 0;
		}
		if (t - t0 > timeout) {
			printf("timeout\n");
			return 1;
		}
	}
}
