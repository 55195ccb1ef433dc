// SPDX-License-Identifier: Apache-2.0
/*
 * flip: how long from a change until a connection's verdict flips.  Run in
 * the client's network namespace:
 *
 *   flip ADDR PORT open|closed TIMEOUT_MS SRC DST
 *       the change: SRC renamed to DST (as editors and `podwall apply`
 *       write an agent's source directory)
 *   flip --etcd ENDPOINTS KEY FILE PORT open|closed TIMEOUT_MS ADDR...
 *       the change: FILE's bytes put under KEY in etcd (one transaction,
 *       as `podwall apply --datastore` writes)
 *
 * then opens TCP connections to each ADDR:PORT, one after another (each
 * given 2 ms), until every one has the verdict WANT: open (the handshake
 * completes) or closed (it does not).  Prints the milliseconds from the
 * change to the moment the last address flipped (with --etcd, then those
 * the write itself took); exit 1 on timeout.
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

/* FILE's bytes under KEY: the ms the write took, or -1. */
static double etcd_put(const char *endpoints, const char *key, const char *file)
{
	FILE *f = fopen(file, "r");
	struct pw_buf v, err;
	pw_buf_init(&v);
	pw_buf_init(&err);
	char tmp[65536];
	size_t n;
	while (f && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		pw_buf_add(&v, tmp, n);
	if (f)
		fclose(f);
	struct pw_etcd e;
	double ms = -1;
	if (f && pw_etcd_open(&e, endpoints, &err) == 0) {
		struct pw_etcd_kv kv = { (char *)key, (unsigned char *)v.s, v.len, 0 };
		int64_t rev;
		double t0 = now_ms();
		if (pw_etcd_txn(&e, &kv, 1, NULL, &rev, &err) == 0)
			ms = now_ms() - t0;
		pw_etcd_close(&e);
	}
	if (ms < 0)
		fprintf(stderr, "flip: %s\n", err.s ? err.s : file);
	pw_buf_release(&v);
	pw_buf_release(&err);
	return ms;
}

int main(int argc, char **argv)
{
	bool etcd = argc > 1 && !strcmp(argv[1], "--etcd");
	if ((etcd && argc < 9) || (!etcd && argc != 7)) {
		fprintf(stderr, "usage: flip ADDR PORT open|closed TIMEOUT_MS SRC DST\n"
				"       flip --etcd ENDPOINTS KEY FILE PORT open|closed TIMEOUT_MS ADDR...\n");
		return 2;
	}
	/* the verdict's arguments: PORT WANT TIMEOUT, and the addresses */
	char **v = etcd ? argv + 5 : argv + 2;
	char **addrs = etcd ? argv + 8 : argv + 1;
	int naddr = etcd ? argc - 8 : 1, want = !strcmp(v[1], "open");
	double timeout = atof(v[2]);
	struct sockaddr_in *sa = calloc((size_t)naddr, sizeof(*sa));
	int *done = calloc((size_t)naddr, sizeof(int));
	for (int i = 0; i < naddr; i++) {
		sa[i].sin_family = AF_INET;
		sa[i].sin_port = htons((uint16_t)atoi(v[0]));
		if (inet_pton(AF_INET, addrs[i], &sa[i].sin_addr) != 1)
			return 2;
	}
	double t0 = now_ms(), write_ms = 0;
	if (etcd) {
		if ((write_ms = etcd_put(argv[2], argv[3], argv[4])) < 0)
			return 2;
	} else if (rename(argv[5], argv[6]) < 0) {
		perror("rename");
		return 2;
	}
	int left = naddr, rc = 1;
	for (;;) {
		double t = now_ms();
		for (int i = 0; i < naddr; i++)
			if (!done[i] && try_connect(&sa[i], 2) == want) {
				done[i] = 1;
				left--;
			}
		if (!left) {
			if (etcd)
				printf("%.2f %.2f\n", now_ms() - t0, write_ms);
			else
				printf("%.2f\n", now_ms() - t0);
			rc = 0;
			break;
		}
		if (t - t0 > timeout) {
			printf("timeout\n");
			break;
		}
	}
	free(sa);
	free(done);
	return rc;
}
