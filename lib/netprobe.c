// SPDX-License-Identifier: Apache-2.0
#include "netprobe.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MAX_SOCKETS 512
#define UDP_REQUEST "podwall probe\n"
#define SERVE_TICK_MS 200
#define SERVE_BACKOFF_US 100000
#define SERVE_BATCH 64 /* accepts / datagrams per listener per wakeup */

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool errno_unsupported(int e)
{
	return e == EPROTONOSUPPORT || e == ESOCKTNOSUPPORT ||
	       e == EAFNOSUPPORT || e == EPFNOSUPPORT;
}

static void close_keep_errno(int fd)
{
	int e = errno;
	close(fd);
	errno = e;
}

static int ipproto_of(int proto)
{
	switch (proto) {
	case PW_TCP:
		return IPPROTO_TCP;
	case PW_UDP:
		return IPPROTO_UDP;
	case PW_SCTP:
		return IPPROTO_SCTP;
	}
	return -1;
}

static int socktype_of(int proto)
{
	return proto == PW_UDP ? SOCK_DGRAM : SOCK_STREAM;
}

bool pw_sctp_supported(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
	if (fd < 0 && errno == EAFNOSUPPORT)
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* ---- probes ---------------------------------------------------------- */

struct slot {
	size_t idx;         /* into the caller's array */
	int fd;
	int proto;
	uint64_t start, deadline;
	uint64_t next_send; /* UDP: when the next datagram is due */
	int sends;          /* UDP: datagrams sent so far (at most 2) */
};

enum start_rc { START_ACTIVE, START_DONE, START_NOFD };

static void finish(struct pw_probe *p, enum pw_probe_result r, int err,
		   uint64_t start, uint64_t now)
{
	p->result = r;
	p->err = r == PW_PROBE_ERROR ? err : 0;
	p->rtt_us = 0;
	if (r == PW_PROBE_OPEN || r == PW_PROBE_REFUSED) {
		uint64_t d = now > start ? now - start : 0;
		p->rtt_us = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	}
}

/* Outcome of a stream connect from its errno (0 = connected). */
static enum pw_probe_result stream_result(int e)
{
	switch (e) {
	case 0:
	/* Linux reports these only once the handshake has completed: a reset
	   before it is ECONNREFUSED (TCP RST in SYN_SENT, SCTP ABORT in
	   COOKIE_WAIT).  So the port answered. */
	case ECONNRESET:
	case EPIPE:
		return PW_PROBE_OPEN;
	case ECONNREFUSED:
		return PW_PROBE_REFUSED;
	case ETIMEDOUT:
		return PW_PROBE_TIMEOUT;
	}
	return PW_PROBE_ERROR;
}

static socklen_t fill_sockaddr(const struct pw_addr *a, int port,
			       struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, a->b, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	memcpy(&sin6->sin6_addr, a->b, 16);
	return sizeof(*sin6);
}

static void close_slot(struct slot *s)
{
	if (s->fd < 0)
		return;
	if (s->proto != PW_UDP) {
		/* abortive close: no TIME_WAIT on the prober's side */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(s->fd);
	s->fd = -1;
}

/*
 * UDP: send the request if one is due.  Returns true when the probe is
 * finished (result written).
 */
static bool udp_maybe_send(struct pw_probe *p, struct slot *s, uint64_t now,
			   uint64_t half)
{
	if (s->sends >= 2 || now < s->next_send)
		return false;
	ssize_t r = send(s->fd, UDP_REQUEST, sizeof(UDP_REQUEST) - 1,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r >= 0) {
		s->sends++;
		s->next_send = s->sends == 1 ? s->start + half : UINT64_MAX;
		return false;
	}
	switch (errno) {
	case EINTR:
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case ENOBUFS:
		s->next_send = now + 10000; /* retry shortly */
		return false;
	case ECONNREFUSED: /* a pending ICMP port unreachable */
		finish(p, PW_PROBE_REFUSED, 0, s->start, now);
		return true;
	}
	finish(p, PW_PROBE_ERROR, errno, s->start, now);
	return true;
}

static enum start_rc probe_start(struct pw_probe *p, struct slot *s,
				 size_t idx, uint64_t timeout_us)
{
	uint64_t now = now_us();
	int ipproto = ipproto_of(p->proto);

	s->idx = idx;
	s->fd = -1;
	s->proto = p->proto;
	s->start = now;
	s->deadline = now + timeout_us;
	s->sends = 0;
	s->next_send = now;

	if (ipproto < 0 || p->port < 1 || p->port > PW_PORT_MAX ||
	    (p->dst.family != 4 && p->dst.family != 6)) {
		finish(p, PW_PROBE_ERROR, EINVAL, now, now);
		return START_DONE;
	}

	int af = p->dst.family == 4 ? AF_INET : AF_INET6;
	int fd = socket(af, socktype_of(p->proto) | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ipproto);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			return START_NOFD;
		finish(p,
		       errno_unsupported(errno) ? PW_PROBE_UNSUPPORTED
						: PW_PROBE_ERROR,
		       errno, now, now);
		return START_DONE;
	}
	s->fd = fd;

	struct sockaddr_storage ss;
	socklen_t sl = fill_sockaddr(&p->dst, p->port, &ss);
	int rc;
	do
		rc = connect(fd, (struct sockaddr *)&ss, sl);
	while (rc < 0 && errno == EINTR && p->proto == PW_UDP);

	int e = rc < 0 ? errno : 0;
	if (p->proto == PW_UDP) {
		if (rc < 0) {
			finish(p, PW_PROBE_ERROR, e, now, now_us());
			close_slot(s);
			return START_DONE;
		}
		if (udp_maybe_send(p, s, now, timeout_us / 2)) {
			close_slot(s);
			return START_DONE;
		}
		return START_ACTIVE;
	}

	/* TCP, SCTP.  An interrupted non-blocking connect goes on in the
	   background, like EINPROGRESS. */
	if (e == EINPROGRESS || e == EINTR)
		return START_ACTIVE;
	finish(p, stream_result(e), e, now, now_us());
	close_slot(s);
	return START_DONE;
}

/* Handle poll events of an active slot.  Returns true when finished. */
static bool probe_event(struct pw_probe *p, struct slot *s, short revents,
			uint64_t now)
{
	if (!revents)
		return false;
	if (p->proto != PW_UDP) {
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		finish(p, stream_result(e), e, s->start, now);
		return true;
	}
	/* UDP: drain what is there; any datagram, even empty, is an answer */
	for (;;) {
		char buf[512];
		ssize_t r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r >= 0) {
			finish(p, PW_PROBE_OPEN, 0, s->start, now);
			return true;
		}
		switch (errno) {
		case EINTR:
			continue;
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return false;
		case ECONNREFUSED:
			finish(p, PW_PROBE_REFUSED, 0, s->start, now);
			return true;
		}
		finish(p, PW_PROBE_ERROR, errno, s->start, now);
		return true;
	}
}

static size_t probe_cap(size_t n)
{
	size_t cap = PROBE_MAX_SOCKETS;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < cap)
		cap = (size_t)(rl.rlim_cur / 2);
	if (cap > n)
		cap = n;
	return cap ? cap : 1;
}

int pw_probe_run(struct pw_probe *v, size_t n, int timeout_ms)
{
	if ((!v && n) || timeout_ms <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (!n)
		return 0;

	size_t cap = probe_cap(n);
	uint64_t timeout_us = (uint64_t)timeout_ms * 1000u;
	uint64_t half = timeout_us / 2;
	size_t next = 0, nactive = 0;
	int ret = 0, fail_errno = 0;
	struct slot *slots = calloc(cap, sizeof(*slots));
	struct pollfd *pfd = calloc(cap, sizeof(*pfd));
	if (!slots || !pfd) {
		fail_errno = ENOMEM;
		goto out;
	}

	while (next < n || nactive) {
		/* start queued probes while there is room */
		while (nactive < cap && next < n) {
			enum start_rc rc = probe_start(&v[next], &slots[nactive],
						       next, timeout_us);
			if (rc == START_NOFD) {
				int e = errno; /* EMFILE or ENFILE */
				if (nactive) {
					/* out of descriptors: wait for a
					   slot, and stay below this level */
					cap = nactive;
					break;
				}
				finish(&v[next], PW_PROBE_ERROR, e, 0, 0);
			} else if (rc == START_ACTIVE) {
				nactive++;
			}
			next++;
		}
		if (!nactive)
			continue;

		uint64_t now = now_us(), wake = UINT64_MAX;
		for (size_t i = 0; i < nactive; i++) {
			struct slot *s = &slots[i];
			pfd[i].fd = s->fd;
			pfd[i].events = s->proto == PW_UDP ? POLLIN : POLLOUT;
			pfd[i].revents = 0;
			if (s->deadline < wake)
				wake = s->deadline;
			if (s->proto == PW_UDP && s->sends < 2 &&
			    s->next_send < wake)
				wake = s->next_send;
		}
		int tmo = 0;
		if (wake > now) {
			uint64_t ms = (wake - now + 999) / 1000;
			tmo = ms > INT32_MAX ? INT32_MAX : (int)ms;
		}
		if (poll(pfd, (nfds_t)nactive, tmo) < 0) {
			if (errno == EINTR)
				continue;
			fail_errno = errno;
			goto out;
		}

		now = now_us();
		/* walk backwards so that finished slots can be replaced by
		   the last one */
		for (size_t i = nactive; i-- > 0;) {
			struct slot *s = &slots[i];
			struct pw_probe *p = &v[s->idx];
			bool done = probe_event(p, s, pfd[i].revents, now);
			if (!done && s->proto == PW_UDP)
				done = udp_maybe_send(p, s, now, half);
			if (!done && now >= s->deadline) {
				finish(p, PW_PROBE_TIMEOUT, 0, s->start, now);
				done = true;
			}
			if (done) {
				close_slot(s);
				slots[i] = slots[--nactive];
				pfd[i] = pfd[nactive];
			}
		}
	}

out:
	if (fail_errno) {
		for (size_t i = 0; i < nactive; i++) {
			finish(&v[slots[i].idx], PW_PROBE_ERROR, fail_errno, 0, 0);
			close_slot(&slots[i]);
		}
		for (; next < n; next++)
			finish(&v[next], PW_PROBE_ERROR, fail_errno, 0, 0);
		ret = -1;
	}
	free(pfd);
	free(slots);
	if (fail_errno)
		errno = fail_errno;
	return ret;
}

/* ---- server ---------------------------------------------------------- */

struct listener {
	int fd;
	int proto;
	int port;
	uint64_t paused_until; /* backoff after a resource error */
};

static int set_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

/* One socket for (proto, port): IPv6 dual-stack, else IPv4.  Returns the
   fd, or -1 with errno. */
static int listen_open(int proto, int port)
{
	int type = socktype_of(proto) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	int af = AF_INET6;
	int fd = socket(AF_INET6, type, ipproto_of(proto));
	if (fd < 0 && errno == EAFNOSUPPORT) {
		af = AF_INET;
		fd = socket(AF_INET, type, ipproto_of(proto));
	}
	if (fd < 0)
		return -1;

	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	if (af == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*sin6);
		if (set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) < 0)
			goto fail;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons((uint16_t)port);
		sl = sizeof(*sin);
	}

	if (proto == PW_UDP) {
		/* learn each datagram's destination to answer from it; on a
		   dual-stack socket IPv4 traffic reports IP_PKTINFO */
		if (set_int(fd, IPPROTO_IP, IP_PKTINFO, 1) < 0)
			goto fail;
		if (af == AF_INET6 &&
		    set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) < 0)
			goto fail;
	} else if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0) {
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	if (proto != PW_UDP && listen(fd, SOMAXCONN) < 0)
		goto fail;
	return fd;
fail:
	close_keep_errno(fd);
	return -1;
}

static bool accept_transient(int e)
{
	/* errors of one pending connection (accept(2) "Error handling") */
	switch (e) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
	case EPERM:
		return true;
	}
	return false;
}

/* Returns false when the listener should pause (resource shortage). */
static bool serve_stream(struct listener *l, const char *banner, size_t blen)
{
	for (int k = 0; k < SERVE_BATCH; k++) {
		int c = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (accept_transient(errno))
				continue;
			return false; /* EMFILE, ENFILE, ENOBUFS, ENOMEM, ... */
		}
		(void)send(c, banner, blen, MSG_DONTWAIT | MSG_NOSIGNAL);
		/* read what the client may have sent, so that close sends a
		   FIN rather than a RST that could discard the banner */
		char buf[256];
		for (int d = 0; d < 4; d++)
			if (recv(c, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
				break;
		close(c);
	}
	return true;
}

/* Copy the destination of a received datagram into the control data of
   the reply, so that the reply leaves from the address it was sent to. */
static size_t reply_control(struct msghdr *in, char *out, size_t outcap)
{
	struct msghdr m = { .msg_control = out, .msg_controllen = outcap };
	memset(out, 0, outcap); /* CMSG_SPACE padding goes to the kernel */
	struct cmsghdr *o = CMSG_FIRSTHDR(&m);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c && o;
	     c = CMSG_NXTHDR(in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_ifindex = 0;
			pi.ipi_addr.s_addr = 0;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi6_ifindex = 0; /* the peer's scope id routes */
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

static void serve_dgram(struct listener *l, const char *banner, size_t blen)
{
	for (int k = 0; k < SERVE_BATCH; k++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				 CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} cin, cout;
		char data[512];
		struct sockaddr_storage peer;
		struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
		struct msghdr m = {
			.msg_name = &peer,
			.msg_namelen = sizeof(peer),
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cin.buf,
			.msg_controllen = sizeof(cin.buf),
		};
		if (recvmsg(l->fd, &m, MSG_DONTWAIT) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue; /* the error is consumed; try the next */
		}
		struct iovec riov = { .iov_base = (void *)banner,
				      .iov_len = blen };
		struct msghdr r = {
			.msg_name = &peer,
			.msg_namelen = m.msg_namelen,
			.msg_iov = &riov,
			.msg_iovlen = 1,
		};
		size_t cl = reply_control(&m, cout.buf, sizeof(cout.buf));
		if (cl) {
			r.msg_control = cout.buf;
			r.msg_controllen = cl;
		}
		if (sendmsg(l->fd, &r, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && cl &&
		    errno == EINVAL) {
			/* e.g. an IPv6 multicast destination as source */
			r.msg_control = NULL;
			r.msg_controllen = 0;
			(void)sendmsg(l->fd, &r, MSG_DONTWAIT | MSG_NOSIGNAL);
		}
	}
}

int pw_serve(const struct pw_listen *v, size_t n, volatile sig_atomic_t *stop)
{
	if (!v || !n || !stop) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (ipproto_of(v[i].proto) < 0 || v[i].port < 1 ||
		    v[i].port > PW_PORT_MAX) {
			errno = EINVAL;
			return -1;
		}

	int ret = -1, err = 0, skip_errno = 0;
	size_t nl = 0;
	struct listener *ls = calloc(n, sizeof(*ls));
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	size_t *map = calloc(n, sizeof(*map));
	if (!ls || !pfd || !map) {
		err = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int fd = listen_open(v[i].proto, v[i].port);
		if (fd < 0) {
			if (errno_unsupported(errno)) {
				skip_errno = errno;
				continue;
			}
			err = errno;
			goto out;
		}
		ls[nl++] = (struct listener){ .fd = fd,
					      .proto = v[i].proto,
					      .port = v[i].port };
	}
	if (!nl) {
		err = skip_errno ? skip_errno : EPROTONOSUPPORT;
		goto out;
	}

	while (!*stop) {
		uint64_t now = now_us();
		size_t np = 0;
		int tmo = SERVE_TICK_MS;
		for (size_t i = 0; i < nl; i++) {
			if (ls[i].paused_until > now) {
				uint64_t ms =
					(ls[i].paused_until - now + 999) / 1000;
				if (ms < (uint64_t)tmo)
					tmo = (int)ms;
				continue;
			}
			pfd[np].fd = ls[i].fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			map[np++] = i;
		}
		int rc = poll(pfd, (nfds_t)np, tmo);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			goto out;
		}
		for (size_t k = 0; k < np && rc > 0; k++) {
			if (!pfd[k].revents)
				continue;
			struct listener *l = &ls[map[k]];
			char banner[160];
			int blen;
			if (l->proto == PW_UDP)
				blen = snprintf(banner, sizeof(banner),
						"podwall %d\n", l->port);
			else /* an HTTP answer, for curl by hand */
				blen = snprintf(banner, sizeof(banner),
						"HTTP/1.0 200 OK\r\n"
						"Content-Type: text/plain\r\n"
						"Content-Length: %d\r\n\r\n"
						"podwall %d\n",
						(int)snprintf(NULL, 0, "podwall %d\n", l->port),
						l->port);
			if (l->proto == PW_UDP) {
				serve_dgram(l, banner, (size_t)blen);
			} else if (!serve_stream(l, banner, (size_t)blen)) {
				l->paused_until = now_us() + SERVE_BACKOFF_US;
			}
		}
	}
	ret = (int)nl;

out:
	for (size_t i = 0; ls && i < nl; i++)
		close(ls[i].fd);
	free(map);
	free(pfd);
	free(ls);
	if (ret < 0)
		errno = err;
	return ret;
}
