/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reachability probes and a matching banner server for the network lab.
 *
 * Both halves act in the network namespace of the calling thread: the lab
 * enters a pod's namespace (setns) in a child process and then calls these.
 * Nothing is cached between calls (not even SCTP support), no thread is
 * created, the signal mask and dispositions are never touched, and every
 * descriptor opened is closed before the function returns.  Sockets are
 * opened with SOCK_CLOEXEC.
 *
 * "Unsupported" always comes from the kernel refusing to create the socket
 * (EPROTONOSUPPORT, ESOCKTNOSUPPORT, EAFNOSUPPORT or EPFNOSUPPORT); it is
 * never guessed.  Creating an SCTP socket may make the kernel autoload the
 * sctp module if one is installed; that counts as supported.
 */
#ifndef PW_NETPROBE_H
#define PW_NETPROBE_H

#include <signal.h>

#include "base.h"
#include "conns.h"
#include "netaddr.h"

enum pw_probe_result {
	PW_PROBE_OPEN,        /* handshake completed / UDP reply received */
	PW_PROBE_REFUSED,     /* RST, SCTP ABORT or ICMP port unreachable */
	PW_PROBE_TIMEOUT,     /* no answer within the timeout */
	PW_PROBE_UNSUPPORTED, /* the kernel lacks this protocol or family */
	PW_PROBE_ERROR,       /* anything else; see err */
};

struct pw_probe {
	struct pw_addr dst; /* IPv4 or IPv6; link-local IPv6 is not scoped */
	int proto;          /* PW_TCP, PW_UDP, PW_SCTP */
	int port;           /* 1..65535 */
	enum pw_probe_result result; /* out */
	int err;                     /* out: errno for PW_PROBE_ERROR, else 0 */
	uint32_t rtt_us;             /* out: when OPEN/REFUSED, else 0 */
};

/*
 * Run every probe of v[0..n) concurrently: non-blocking sockets and one poll
 * loop.  At most 512 sockets are open at once (fewer when RLIMIT_NOFILE is
 * low: half the soft limit, and the cap shrinks further if socket() hits
 * EMFILE/ENFILE while probes are in flight); the rest wait in order.  Each
 * probe gets timeout_ms (> 0) from its own start, so n probes take about
 * ceil(n / cap) * timeout_ms in the worst case.  rtt_us counts from the
 * probe's start.
 *
 * TCP:  non-blocking connect; OPEN when it completes (SO_ERROR 0, or
 *       ECONNRESET/EPIPE, which the kernel reports only after the handshake),
 *       REFUSED on ECONNREFUSED, TIMEOUT when nothing comes back.  The socket
 *       is closed with SO_LINGER 0 (RST) so that probing one port many times
 *       leaves no TIME_WAIT behind on the prober.
 * UDP:  connected socket, one small datagram ("podwall probe\n"), a second
 *       one at timeout_ms / 2; OPEN when any datagram comes back, REFUSED on
 *       ECONNREFUSED (ICMP port unreachable, reported on recv or send),
 *       TIMEOUT otherwise.  TIMEOUT therefore means "open or filtered": most
 *       UDP services ignore unknown requests.  Other ICMP errors surface as
 *       PW_PROBE_ERROR with err EHOSTUNREACH, ENETUNREACH, ... .  Note that
 *       the kernel rate-limits ICMP errors (net.ipv4.icmp_msgs_per_sec,
 *       burst icmp_msgs_burst, per namespace), so many probes of closed UDP
 *       ports in a burst may see TIMEOUT instead of REFUSED.
 * SCTP: like TCP with a one-to-one SOCK_STREAM/IPPROTO_SCTP socket;
 *       UNSUPPORTED when the kernel has no SCTP.
 *
 * A probe with an unknown proto, a port outside 1..65535 or a family other
 * than 4/6 gets PW_PROBE_ERROR with err EINVAL; the others still run.
 * Errors from socket()/connect() (ENETUNREACH, EADDRNOTAVAIL, ...) are
 * per-probe PW_PROBE_ERROR.
 *
 * Returns 0 when every probe has a result.  Returns -1 with errno when
 * v is NULL with n > 0 or timeout_ms <= 0 (EINVAL, v untouched), or on a
 * failure that affects all probes (ENOMEM, poll failure): then every probe
 * that had not finished gets PW_PROBE_ERROR with err set to that errno.
 */
int pw_probe_run(struct pw_probe *v, size_t n, int timeout_ms) PW_WARN_UNUSED;

/* Whether this kernel can create an SCTP socket (IPv4, else IPv6).  When
   false, errno tells why (normally EPROTONOSUPPORT). */
bool pw_sctp_supported(void);

struct pw_listen {
	int proto; /* PW_TCP, PW_UDP, PW_SCTP */
	int port;  /* 1..65535 */
};

/*
 * Serve until *stop becomes non-zero; it is checked at least every 200 ms
 * and poll is interrupted by signals, so a SIGTERM handler that sets it
 * (installed without SA_RESTART or with: poll is never restarted) ends the
 * loop promptly.  If *stop is already set, the sockets are opened, closed
 * again and the count is returned.
 *
 * Each entry is one socket on the unspecified address: IPv6 with
 * IPV6_V6ONLY=0 (serving IPv4 too), or IPv4 alone when the kernel has no
 * IPv6.  TCP and SCTP (one-to-one) listen with SO_REUSEADDR and a SOMAXCONN
 * backlog, accept non-blockingly, send the banner (an HTTP/1.0 200 response
 * whose body is "podwall <port>\n", so that curl works by hand) and
 * close.  UDP answers every datagram with the same banner, sent from the
 * address the datagram was sent to (IP_PKTINFO/IPV6_PKTINFO), so that
 * replies pass a client's connected socket on multi-address hosts.  UDP
 * sockets do not set SO_REUSEADDR: on UDP it would let two servers share a
 * port silently.
 *
 * Entries whose protocol the kernel lacks are skipped: the return value is
 * the number of sockets that listened, so a count below n means skips.  Any
 * other failure (EINVAL for a bad entry, EADDRINUSE, EACCES, ...) closes
 * everything and returns -1 with errno: a port silently not served would
 * make later probes lie.  Also -1 with errno (EPROTONOSUPPORT) when every
 * entry was skipped, and EINVAL when n is 0 or stop is NULL.
 *
 * Transient accept errors (EMFILE, ENOBUFS, ...) pause that listener for
 * 100 ms instead of spinning.  Never blocks signals; uses poll.
 */
int pw_serve(const struct pw_listen *v, size_t n, volatile sig_atomic_t *stop);

#endif
