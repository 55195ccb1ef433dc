// SPDX-License-Identifier: Apache-2.0
/*
 * The lab's helper processes, run as `podwall lab __NAME ARGS` (hidden
 * subcommands of cli/cmd-lab.c): the pods' server, and test and benchmark
 * tools that the tests and bench/lab.sh run inside pods with `lab exec`.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../lib/lab/lab.h"
#include "cli.h"

/*   lab __serve NAME NETNS PORTS   a pod's server (lib/lab/lab.h) */
int lab_tool_serve(int argc, char **argv)
{
	if (argc < 4)
		return EXIT_USAGE;
	return pw_lab_serve(argv[2], argv[3]);
}

/* Internal test tools, run inside pods with `lab exec`:
 *   lab __echo PORT             accept TCP connections, echo what they send
 *   lab __hold ADDR PORT SECS   connect, then every 100 ms send a line and
 *                               wait up to 1 s for its echo; print "held" and
 *                               exit 0 if the connection lived SECS seconds,
 *                               print "cut after N ms" and exit 1 if not */

int lab_tool_echo(int argc, char **argv)
{
	if (argc < 2)
		return EXIT_USAGE;
	int port = atoi(argv[1]);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0)
		return 1;
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		if (fork() == 0) {
			/* a connection the policies cut never sees a FIN: do not
			   outlive the server */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			char buf[512];
			ssize_t n;
			while ((n = read(c, buf, sizeof(buf))) > 0)
				if (write(c, buf, (size_t)n) != n)
					break;
			_exit(0);
		}
		close(c);
	}
}

int lab_tool_hold(int argc, char **argv)
{
	if (argc < 4)
		return EXIT_USAGE;
	struct pw_addr dst;
	if (pw_addr_parse(argv[1], &dst) < 0 || dst.family != 4)
		return EXIT_USAGE;
	int secs = atoi(argv[3]);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(argv[2]));
	memcpy(&a.sin_addr, dst.b, 4);
	/* a dropped SYN: 2 s, not the kernel's two minutes of retries */
	struct timeval tv = { 2, 0 };
	if (s >= 0)
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("cannot connect: %s\n", strerror(errno));
		return 1;
	}
	double t0 = cli_now_ms();
	while (cli_now_ms() - t0 < secs * 1000.0) {
		if (write(s, "ping\n", 5) != 5) {
			printf("cut after %.0f ms (write failed)\n", cli_now_ms() - t0);
			return 1;
		}
		struct pollfd p = { s, POLLIN, 0 };
		char buf[64];
		if (poll(&p, 1, 1000) <= 0 || read(s, buf, sizeof(buf)) <= 0) {
			printf("cut after %.0f ms\n", cli_now_ms() - t0);
			return 1;
		}
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	printf("held\n");
	return 0;
}

/* Benchmark tools, run inside pods with `lab exec`:
 *   lab __sink tcp|udp PORT SECS       count what arrives for SECS seconds
 *   lab __blast tcp|udp ADDR PORT SECS SIZE [PPS]   send SIZE-byte writes or
 *                                      datagrams for SECS seconds (at most
 *                                      PPS a second when given)
 * __sink prints "bytes N packets N seconds S"; __blast "sent N seconds S". */
int lab_tool_sink(int argc, char **argv)
{
	if (argc < 4)
		return EXIT_USAGE;
	bool udp = !strcmp(argv[1], "udp");
	double secs = atof(argv[3]);
	int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	int one = 1, big = 8 << 20;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(argv[2]));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (!udp && listen(s, 4) < 0))
		return 1;
	int c = s;
	if (!udp) {
		struct pollfd p = { s, POLLIN, 0 };
		if (poll(&p, 1, 10000) <= 0 || (c = accept(s, NULL, NULL)) < 0)
			return 1;
	}
	static char buf[1 << 16];
	unsigned long long bytes = 0, pkts = 0;
	double t0 = -1, t1 = 0;
	for (;;) {
		struct pollfd p = { c, POLLIN, 0 };
		if (poll(&p, 1, 500) <= 0)
			break;
		ssize_t n = recv(c, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		t1 = cli_now_ms();
		if (t0 < 0)
			t0 = t1;
		bytes += (unsigned long long)n;
		pkts++;
		if (t1 - t0 > secs * 1000 + 500)
			break;
	}
	printf("bytes %llu packets %llu seconds %.3f\n", bytes, pkts,
	       t0 < 0 ? 0 : (t1 - t0) / 1000.0);
	return 0;
}

int lab_tool_blast(int argc, char **argv)
{
	if (argc < 6)
		return EXIT_USAGE;
	bool udp = !strcmp(argv[1], "udp");
	struct pw_addr dst;
	if (pw_addr_parse(argv[2], &dst) < 0 || dst.family != 4)
		return EXIT_USAGE;
	double secs = atof(argv[4]);
	size_t size = (size_t)atoi(argv[5]);
	if (size < 1 || size > 65000)
		return EXIT_USAGE;
	int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { 0 };
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(argv[3]));
	memcpy(&a.sin_addr, dst.b, 4);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 1;
	double pps = argc > 6 ? atof(argv[6]) : 0;
	char *buf = pw_xcalloc(1, size);
	double t0 = cli_now_ms(), el;
	unsigned long long sent = 0;
	while ((el = cli_now_ms() - t0) < secs * 1000) {
		if (pps > 0 && (double)sent > pps * el / 1000) {
			struct timespec ts = { 0, 100 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		for (int i = 0; i < 64; i++) {
			if (send(s, buf, size, 0) >= 0) {
				sent++;
			} else if (errno != ENOBUFS && errno != ECONNREFUSED && errno != EAGAIN &&
				   errno != EPERM) {
				free(buf);
				return 1;
			}
		}
	}
	printf("sent %llu seconds %.3f\n", sent, (cli_now_ms() - t0) / 1000);
	free(buf);
	close(s);
	return 0;
}
