// SPDX-License-Identifier: Apache-2.0
/*
 * flip-etcd: how long from a write to etcd until a connection's verdict
 * flips at every node.  Run in the client's network namespace:
 *
 *   flip-etcd ENDPOINTS KEY FILE PORT open|closed TIMEOUT_MS ADDR...
 *
 * puts FILE's bytes under KEY (one transaction, as podwall apply
 * --datastore writes), then opens TCP connections to each ADDR:PORT, one
 * after another (each given 2 ms), until every one has the verdict WANT:
 * open (the handshake completes) or closed (it does not).  Prints the
 * milliseconds from the write to the moment the last address flipped, and
 * those the write itself took (etcd's answer); exit 1 on timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/etcd/etcd.h"

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
	if (argc < 8) {
		fprintf(stderr, "usage: flip-etcd ENDPOINTS KEY FILE PORT open|closed TIMEOUT_MS ADDR...\n");
		return 2;
	}
	int naddr = argc - 7, want = !strcmp(argv[5], "open");
	struct sockaddr_in *sa = calloc((size_t)naddr, sizeof(*sa));
	int *done = calloc((size_t)naddr, sizeof(int));
	for (int i = 0; i < naddr; i++) {
		sa[i].sin_family = AF_INET;
		sa[i].sin_port = htons((uint16_t)atoi(argv[4]));
		if (inet_pton(AF_INET, argv[7 + i], &sa[i].sin_addr) != 1)
			return 2;
	}
	FILE *f = fopen(argv[3], "r");
	struct pw_buf v;
	pw_buf_init(&v);
	char tmp[65536];
	size_t n;
	while (f && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		pw_buf_add(&v, tmp, n);
	if (f)
		fclose(f);
	struct pw_etcd e;
	struct pw_buf err;
	pw_buf_init(&err);
	if (!f || pw_etcd_open(&e, argv[1], &err) < 0) {
		fprintf(stderr, "flip-etcd: %s\n", err.s ? err.s : argv[3]);
		return 2;
	}
	struct pw_etcd_kv kv = { argv[2], (unsigned char *)v.s, v.len, 0 };
	double timeout = atof(argv[6]);
	int64_t rev;
	double t0 = now_ms();
	if (pw_etcd_txn(&e, &kv, 1, NULL, &rev, &err) < 0) {
		fprintf(stderr, "flip-etcd: %s\n", err.s ? err.s : "txn");
		return 2;
	}
	double tw = now_ms() - t0;
	int left = naddr, rc = 1;
	for (;;) {
		double t = now_ms();
		for (int i = 0; i < naddr; i++)
			if (!done[i] && try_connect(&sa[i], 2) == want) {
				done[i] = 1;
				left--;
			}
		if (!left) {
			printf("%.2f %.2f\n", now_ms() - t0, tw);
			rc = 0;
			break;
		}
		if (t - t0 > timeout) {
			printf("timeout\n");
			break;
		}
	}
	pw_etcd_close(&e);
	pw_buf_release(&v);
	pw_buf_release(&err);
	free(sa);
	free(done);
	return rc;
}
