// SPDX-License-Identifier: Apache-2.0
/*
 * pw_probe_run and pw_serve on loopback only (127.0.0.1 and ::1).
 *
 * A forked child runs pw_serve; the parent probes it.  Ports are taken
 * below the ephemeral range (net.ipv4.ip_local_port_range), checked free
 * by binding, so that no client socket of this test is ever auto-bound to
 * one of them (which could self-connect and fake an "open" port).
 *
 * Observed on loopback: a closed UDP port answers REFUSED (the ICMP port
 * unreachable comes back at once and recv reports ECONNREFUSED); the test
 * requires that.  A bound UDP socket that never replies gives TIMEOUT.
 */
#include "../../lib/netprobe.h"
#include "t.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define B(r) (1u << (r))

enum port_id {
	P_TCP_OPEN,
	P_UDP_OPEN,
	P_SCTP_OPEN,
	P_TCP_CLOSED,  /* bound, not listening: RST */
	P_UDP_CLOSED,  /* nothing bound */
	P_UDP_SILENT,  /* bound, never read */
	P_SCTP_CLOSED, /* nothing bound */
	P_ZERO,
	P_BIG,
	NPORT
};
static int ports[NPORT];

static const struct testcase {
	const char *name;
	const char *addr; /* NULL: family 0 */
	int proto;
	enum port_id port;
	unsigned expect;       /* acceptable results, SCTP supported */
	unsigned expect_nosctp; /* acceptable results, no SCTP */
	int err;               /* for PW_PROBE_ERROR */
} cases[] = {
	{ "tcp open v4", "127.0.0.1", PW_TCP, P_TCP_OPEN, B(PW_PROBE_OPEN),
	  B(PW_PROBE_OPEN), 0 },
	{ "tcp open v6", "::1", PW_TCP, P_TCP_OPEN, B(PW_PROBE_OPEN),
	  B(PW_PROBE_OPEN), 0 },
	{ "udp open v4", "127.0.0.1", PW_UDP, P_UDP_OPEN, B(PW_PROBE_OPEN),
	  B(PW_PROBE_OPEN), 0 },
	{ "udp open v6", "::1", PW_UDP, P_UDP_OPEN, B(PW_PROBE_OPEN),
	  B(PW_PROBE_OPEN), 0 },
	{ "tcp closed v4", "127.0.0.1", PW_TCP, P_TCP_CLOSED,
	  B(PW_PROBE_REFUSED), B(PW_PROBE_REFUSED), 0 },
	{ "tcp closed v6", "::1", PW_TCP, P_TCP_CLOSED, B(PW_PROBE_REFUSED),
	  B(PW_PROBE_REFUSED), 0 },
	{ "udp closed v4", "127.0.0.1", PW_UDP, P_UDP_CLOSED,
	  B(PW_PROBE_REFUSED), B(PW_PROBE_REFUSED), 0 },
	{ "udp closed v6", "::1", PW_UDP, P_UDP_CLOSED, B(PW_PROBE_REFUSED),
	  B(PW_PROBE_REFUSED), 0 },
	{ "udp silent v4", "127.0.0.1", PW_UDP, P_UDP_SILENT,
	  B(PW_PROBE_TIMEOUT), B(PW_PROBE_TIMEOUT), 0 },
	{ "udp silent v6", "::1", PW_UDP, P_UDP_SILENT, B(PW_PROBE_TIMEOUT),
	  B(PW_PROBE_TIMEOUT), 0 },
	{ "sctp open v4", "127.0.0.1", PW_SCTP, P_SCTP_OPEN, B(PW_PROBE_OPEN),
	  B(PW_PROBE_UNSUPPORTED), 0 },
	{ "sctp open v6", "::1", PW_SCTP, P_SCTP_OPEN, B(PW_PROBE_OPEN),
	  B(PW_PROBE_UNSUPPORTED), 0 },
	{ "sctp closed v4", "127.0.0.1", PW_SCTP, P_SCTP_CLOSED,
	  B(PW_PROBE_REFUSED), B(PW_PROBE_UNSUPPORTED), 0 },
	{ "sctp closed v6", "::1", PW_SCTP, P_SCTP_CLOSED, B(PW_PROBE_REFUSED),
	  B(PW_PROBE_UNSUPPORTED), 0 },
	{ "port 0", "127.0.0.1", PW_TCP, P_ZERO, B(PW_PROBE_ERROR),
	  B(PW_PROBE_ERROR), EINVAL },
	{ "port 65536", "::1", PW_UDP, P_BIG, B(PW_PROBE_ERROR),
	  B(PW_PROBE_ERROR), EINVAL },
	{ "bad proto", "127.0.0.1", 7, P_TCP_OPEN, B(PW_PROBE_ERROR),
	  B(PW_PROBE_ERROR), EINVAL },
	{ "no family", NULL, PW_TCP, P_TCP_OPEN, B(PW_PROBE_ERROR),
	  B(PW_PROBE_ERROR), EINVAL },
};

static const char *const result_names[] = { "OPEN", "REFUSED", "TIMEOUT",
					    "UNSUPPORTED", "ERROR" };

static bool sctp;
static int held[4];
static size_t nheld;

static uint64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static struct pw_addr addr(const char *s)
{
	struct pw_addr a;
	memset(&a, 0, sizeof(a));
	if (s && pw_addr_parse(s, &a) != 0) {
		fprintf(stderr, "bad test address %s\n", s);
		exit(2);
	}
	return a;
}

/* A dual-stack socket bound to [::]:port, or -1. */
static int bind_any(int type, int port)
{
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
	int zero = 0;
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) <
		    0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Ports outside the ephemeral range, free for TCP and UDP. */
static int pick_ports(void)
{
	int lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2) {
			lo = 32768;
			hi = 60999;
		}
		fclose(f);
	}
	int rlo = 10000, rhi = lo - 1;
	if (rhi - rlo < 1000) {
		rlo = hi + 1;
		rhi = 65535;
	}
	/* a block of 16 ports per pid, so that concurrent runs of this test
	   (whose "closed" ports are unbound) do not pick each other's */
	int span = rhi - rlo + 1;
	int p = rlo + (int)(((long)getpid() * 16) % span);
	for (int i = 0, tries = 0; i < P_ZERO; tries++) {
		if (tries > 2000 || span < 16)
			return -1;
		if (++p > rhi)
			p = rlo;
		int t = bind_any(SOCK_STREAM, p), u = bind_any(SOCK_DGRAM, p);
		bool ok = t >= 0 && u >= 0;
		if (t >= 0)
			close(t);
		if (u >= 0)
			close(u);
		if (ok)
			ports[i++] = p;
	}
	ports[P_ZERO] = 0;
	ports[P_BIG] = 65536;
	/* hold the ports whose behaviour depends on a socket of ours */
	held[nheld++] = bind_any(SOCK_STREAM, ports[P_TCP_CLOSED]);
	held[nheld++] = bind_any(SOCK_DGRAM, ports[P_UDP_SILENT]);
	for (size_t i = 0; i < nheld; i++)
		if (held[i] < 0)
			return -1;
	return 0;
}

static volatile sig_atomic_t stop_flag;

static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static const struct pw_listen *serve_list(size_t *n)
{
	static struct pw_listen l[3];
	l[0] = (struct pw_listen){ PW_TCP, ports[P_TCP_OPEN] };
	l[1] = (struct pw_listen){ PW_UDP, ports[P_UDP_OPEN] };
	l[2] = (struct pw_listen){ PW_SCTP, ports[P_SCTP_OPEN] };
	*n = 3;
	return l;
}

static pid_t start_server(void)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	for (size_t i = 0; i < nheld; i++)
		close(held[i]);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	size_t n;
	const struct pw_listen *l = serve_list(&n);
	int c = pw_serve(l, n, &stop_flag);
	_exit(c < 0 ? 100 : c);
}

/* Wait until every served port answers OPEN on both families. */
static bool wait_ready(void)
{
	uint64_t end = ms_now() + 4000;
	size_t n;
	const struct pw_listen *l = serve_list(&n);
	while (ms_now() < end) {
		struct pw_probe p[6];
		size_t np = 0;
		for (size_t i = 0; i < n; i++) {
			if (l[i].proto == PW_SCTP && !sctp)
				continue;
			for (int fam = 0; fam < 2; fam++)
				p[np++] = (struct pw_probe){
					.dst = addr(fam ? "::1" : "127.0.0.1"),
					.proto = l[i].proto,
					.port = l[i].port,
				};
		}
		bool all = pw_probe_run(p, np, 200) == 0;
		for (size_t i = 0; i < np; i++)
			all = all && p[i].result == PW_PROBE_OPEN;
		if (all)
			return true;
		sleep_ms(50);
	}
	return false;
}

static void test_cases(void)
{
	const int tmo = 300;
	size_t n = PW_ARRAY_SIZE(cases);
	struct pw_probe p[PW_ARRAY_SIZE(cases)];
	for (size_t i = 0; i < n; i++) {
		p[i] = (struct pw_probe){ .dst = addr(cases[i].addr),
					  .proto = cases[i].proto,
					  .port = ports[cases[i].port],
					  .result = PW_PROBE_OPEN,
					  .err = -1,
					  .rtt_us = 12345 };
	}
	uint64_t t0 = ms_now();
	int rc = pw_probe_run(p, n, tmo);
	uint64_t dt = ms_now() - t0;
	T_CHECK(rc == 0, "pw_probe_run: %s", strerror(errno));
	/* the TIMEOUT cases run the full timeout, concurrently with the rest */
	T_CHECK(dt >= (uint64_t)tmo && dt < (uint64_t)tmo * 3,
		"cases took %llu ms for a %d ms timeout",
		(unsigned long long)dt, tmo);
	for (size_t i = 0; i < n; i++) {
		const struct testcase *c = &cases[i];
		unsigned want = sctp ? c->expect : c->expect_nosctp;
		enum pw_probe_result r = p[i].result;
		T_CHECK(r <= PW_PROBE_ERROR && (B(r) & want), "%s: got %s (err %s)",
			c->name, r <= PW_PROBE_ERROR ? result_names[r] : "?",
			strerror(p[i].err));
		if (r == PW_PROBE_ERROR)
			T_CHECK(p[i].err == c->err, "%s: err %s", c->name,
				strerror(p[i].err));
		else
			T_CHECK(p[i].err == 0, "%s: err %d", c->name, p[i].err);
		if (r == PW_PROBE_OPEN || r == PW_PROBE_REFUSED)
			T_CHECK(p[i].rtt_us <= (uint32_t)tmo * 1000u,
				"%s: rtt %u us", c->name, p[i].rtt_us);
		else
			T_CHECK(p[i].rtt_us == 0, "%s: rtt %u us", c->name,
				p[i].rtt_us);
	}
}

/* The server's banner, read with plain sockets. */
static void test_banner(void)
{
	static const struct {
		const char *addr;
		int type;
		enum port_id port;
	} b[] = {
		{ "127.0.0.1", SOCK_STREAM, P_TCP_OPEN },
		{ "::1", SOCK_STREAM, P_TCP_OPEN },
		{ "127.0.0.1", SOCK_DGRAM, P_UDP_OPEN },
		{ "::1", SOCK_DGRAM, P_UDP_OPEN },
	};
	for (size_t i = 0; i < PW_ARRAY_SIZE(b); i++) {
		struct pw_addr a = addr(b[i].addr);
		struct sockaddr_storage ss;
		socklen_t sl;
		memset(&ss, 0, sizeof(ss));
		if (a.family == 4) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)ports[b[i].port]);
			memcpy(&s4->sin_addr, a.b, 4);
			sl = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)ports[b[i].port]);
			memcpy(&s6->sin6_addr, a.b, 16);
			sl = sizeof(*s6);
		}
		char want[160], got[200] = "";
		if (b[i].type == SOCK_DGRAM)
			snprintf(want, sizeof(want), "podwall %d\n", ports[b[i].port]);
		else
			snprintf(want, sizeof(want),
				 "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
				 "Content-Length: %d\r\n\r\npodwall %d\n",
				 (int)snprintf(NULL, 0, "podwall %d\n", ports[b[i].port]),
				 ports[b[i].port]);
		int fd = socket(ss.ss_family, b[i].type | SOCK_CLOEXEC, 0);
		struct timeval tv = { 1, 0 };
		ssize_t r = -1;
		if (fd >= 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ==
			    0 &&
		    connect(fd, (struct sockaddr *)&ss, sl) == 0 &&
		    (b[i].type == SOCK_STREAM || send(fd, "hi", 2, 0) == 2))
			r = recv(fd, got, sizeof(got) - 1, MSG_WAITALL);
		if (r >= 0)
			got[r] = 0;
		T_CHECK(!strcmp(got, want), "banner %s %s: \"%s\" (%s)",
			b[i].type == SOCK_STREAM ? "tcp" : "udp", b[i].addr, got,
			r < 0 ? strerror(errno) : "ok");
		if (fd >= 0)
			close(fd);
	}
}

/* 2,000 probes with RLIMIT_NOFILE at 1024. */
static void test_bulk(void)
{
	enum { N = 2000 };
	struct rlimit old, rl;
	getrlimit(RLIMIT_NOFILE, &old);
	rl = old;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1024)
		rl.rlim_cur = 1024;
	T_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s",
		strerror(errno));

	struct pw_probe *p = calloc(N, sizeof(*p));
	for (int i = 0; i < N; i++) {
		int k = i % 10;
		p[i].dst = addr(i % 2 ? "::1" : "127.0.0.1");
		p[i].proto = k < 8 ? PW_TCP : PW_UDP;
		p[i].port = ports[k == 7 ? P_TCP_CLOSED :
				  k < 7  ? P_TCP_OPEN :
					   P_UDP_OPEN];
	}
	uint64_t t0 = ms_now();
	int rc = pw_probe_run(p, N, 2000);
	uint64_t dt = ms_now() - t0;
	int bad = 0, counts[5] = { 0 };
	for (int i = 0; i < N; i++) {
		enum pw_probe_result want = i % 10 == 7 ? PW_PROBE_REFUSED :
							  PW_PROBE_OPEN;
		if (p[i].result <= PW_PROBE_ERROR)
			counts[p[i].result]++;
		if (p[i].result != want && bad++ < 5)
			printf("bulk %d: %s err %s\n", i,
			       result_names[p[i].result], strerror(p[i].err));
	}
	T_CHECK(rc == 0 && bad == 0,
		"bulk: rc %d, %d wrong (open %d refused %d timeout %d "
		"unsupported %d error %d)",
		rc, bad, counts[0], counts[1], counts[2], counts[3], counts[4]);
	T_CHECK(dt < 4000, "bulk took %llu ms", (unsigned long long)dt);
	free(p);
	setrlimit(RLIMIT_NOFILE, &old);
}

/* Only a handful of descriptors left: socket() hits EMFILE with probes in
   flight, and the run must shrink its concurrency instead of failing. */
static void test_few_fds(void)
{
	enum { N = 100, FREE = 4 };
	struct rlimit old, rl;
	getrlimit(RLIMIT_NOFILE, &old);
	rl = old;
	rl.rlim_cur = 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		T_CHECK(0, "setrlimit 64: %s", strerror(errno));
		return;
	}
	int fill[64], nf = 0;
	for (; nf < 64; nf++) {
		fill[nf] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fill[nf] < 0)
			break;
	}
	for (int k = 0; k < FREE && nf > 0; k++)
		close(fill[--nf]);

	struct pw_probe p[N];
	for (int i = 0; i < N; i++)
		p[i] = (struct pw_probe){ .dst = addr(i % 2 ? "::1" :
							      "127.0.0.1"),
					  .proto = i % 5 ? PW_TCP : PW_UDP,
					  .port = ports[i % 5 ? P_TCP_OPEN :
								P_UDP_OPEN] };
	int rc = pw_probe_run(p, N, 2000);
	int bad = 0;
	for (int i = 0; i < N; i++)
		if (p[i].result != PW_PROBE_OPEN && bad++ < 3)
			printf("few fds %d: %s err %s\n", i,
			       result_names[p[i].result], strerror(p[i].err));
	T_CHECK(rc == 0 && bad == 0, "few fds: rc %d, %d not open", rc, bad);

	/* none at all: every probe fails with EMFILE, nothing else breaks */
	int extra[FREE], ne = 0;
	for (; ne < FREE; ne++) {
		extra[ne] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (extra[ne] < 0)
			break;
	}
	rc = pw_probe_run(p, 3, 200);
	T_CHECK(rc == 0 && p[0].result == PW_PROBE_ERROR &&
			p[0].err == EMFILE && p[2].result == PW_PROBE_ERROR,
		"no fds: rc %d, %s err %s", rc, result_names[p[0].result],
		strerror(p[0].err));
	while (ne > 0)
		close(extra[--ne]);
	while (nf > 0)
		close(fill[--nf]);
	setrlimit(RLIMIT_NOFILE, &old);
}

static void test_args(void)
{
	struct pw_probe p[1] = { { .dst = addr("127.0.0.1"),
				   .proto = PW_TCP,
				   .port = ports[P_TCP_OPEN] } };
	errno = 0;
	T_CHECK(pw_probe_run(NULL, 1, 100) == -1 && errno == EINVAL,
		"probe NULL: %s", strerror(errno));
	errno = 0;
	T_CHECK(pw_probe_run(p, 1, 0) == -1 && errno == EINVAL,
		"probe timeout 0: %s", strerror(errno));
	T_CHECK(pw_probe_run(NULL, 0, 100) == 0, "probe n=0");
}

/* pw_serve in this process, with stop already set: opens, closes, counts. */
static void test_serve_inline(void)
{
	static volatile sig_atomic_t stop = 1;
	static const struct {
		const char *name;
		struct pw_listen l[3];
		size_t n;
		int want;       /* count, or -1 */
		int want_errno; /* when -1 */
		int want_nosctp, want_errno_nosctp;
	} t[] = {
		{ "tcp+udp", { { PW_TCP, P_UDP_CLOSED }, { PW_UDP, P_UDP_CLOSED } },
		  2, 2, 0, 2, 0 },
		{ "sctp only", { { PW_SCTP, P_SCTP_CLOSED } }, 1, 1, 0, -1,
		  EPROTONOSUPPORT },
		{ "sctp+tcp", { { PW_SCTP, P_SCTP_CLOSED }, { PW_TCP, P_UDP_CLOSED } },
		  2, 2, 0, 1, 0 },
		{ "port in use", { { PW_UDP, P_UDP_CLOSED }, { PW_TCP, P_TCP_CLOSED } },
		  2, -1, EADDRINUSE, -1, EADDRINUSE },
		{ "bad port", { { PW_TCP, P_ZERO } }, 1, -1, EINVAL, -1, EINVAL },
		{ "bad proto", { { 9, P_UDP_CLOSED } }, 1, -1, EINVAL, -1, EINVAL },
		{ "empty", { { 0, 0 } }, 0, -1, EINVAL, -1, EINVAL },
	};
	for (size_t i = 0; i < PW_ARRAY_SIZE(t); i++) {
		struct pw_listen l[3];
		for (size_t k = 0; k < t[i].n; k++)
			l[k] = (struct pw_listen){ t[i].l[k].proto,
						   ports[t[i].l[k].port] };
		int want = sctp ? t[i].want : t[i].want_nosctp;
		int we = sctp ? t[i].want_errno : t[i].want_errno_nosctp;
		int before = count_fds();
		errno = 0;
		int rc = pw_serve(l, t[i].n, &stop);
		int e = errno;
		T_CHECK(rc == want && (rc >= 0 || e == we),
			"serve %s: %d (%s), want %d", t[i].name, rc,
			strerror(e), want);
		T_CHECK(count_fds() == before, "serve %s leaks fds", t[i].name);
	}
	T_CHECK(pw_serve(NULL, 1, &stop) == -1 && errno == EINVAL,
		"serve NULL");
}

int main(void)
{
	sctp = pw_sctp_supported();
	printf("# SCTP %s\n", sctp ? "supported" : "not supported");
	if (pick_ports() < 0) {
		T_CHECK(0, "cannot pick free loopback ports");
		return T_DONE("unit-netprobe");
	}
	int fds0 = count_fds();

	test_args();
	pid_t pid = start_server();
	T_CHECK(pid > 0, "fork: %s", strerror(errno));
	if (pid > 0 && wait_ready()) {
		test_cases();
		test_banner();
		test_bulk();
		test_few_fds();
	} else if (pid > 0) {
		T_CHECK(0, "server never became ready");
	}

	if (pid > 0) {
		int st = 0;
		pid_t w = 0;
		kill(pid, SIGTERM);
		/* stop is checked at least every 200 ms; allow for valgrind */
		for (int i = 0; i < 300 && w == 0; i++) {
			w = waitpid(pid, &st, WNOHANG);
			if (w == 0)
				sleep_ms(10);
		}
		if (w == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		}
		T_CHECK(w == pid && WIFEXITED(st) &&
				WEXITSTATUS(st) == (sctp ? 3 : 2),
			"server exit: waited %d, status 0x%x", (int)w, st);
	}
	test_serve_inline();
	T_CHECK(count_fds() == fds0, "fds: %d before, %d after", fds0,
		count_fds());

	for (size_t i = 0; i < nheld; i++)
		close(held[i]);
	return T_DONE("unit-netprobe");
}
