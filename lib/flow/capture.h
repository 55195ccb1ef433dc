/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the kernel reports of the traffic a dataplane decided (lib/nft.h):
 *
 *   deny    a packet a rule dropped: NFLOG group PW_FLOW_NFLOG_GROUP, the
 *           rule id in the log prefix ("pw D e 12 ")
 *   new     a connection that was allowed (conntrack's new event, once the
 *           first packet went through): the ids in the conntrack mark
 *   end     the same connection ended (conntrack's destroy event), with
 *           packets and bytes each way (conntrack accounting, switched on
 *           in the namespace when the capture opens)
 *
 * Both sockets are opened in a network namespace (the lab's router or
 * node, a node's host) and read without blocking from a poll loop.  The
 * kernel drops what a socket cannot take: those are counted as lost
 * (ENOBUFS), never silently.
 */
#ifndef PW_FLOW_CAPTURE_H
#define PW_FLOW_CAPTURE_H

#include <stdint.h>

#include "../netaddr.h"
#include "../engine.h"

enum pw_flow_ev_kind { PW_FEV_DENY, PW_FEV_NEW, PW_FEV_END };

struct pw_flow_ev {
	enum pw_flow_ev_kind kind;
	int64_t time; /* Unix seconds */
	int proto;    /* IP protocol */
	struct pw_addr src, dst; /* as sent (dst: a Service address when
				    translated) */
	int sport, dport;	 /* -1 when the protocol has none */
	struct pw_addr to; int to_port; /* where it went after translation
					   (conntrack's reply source): equal
					   to dst when not translated */
	/* deny: the direction and rule id of the prefix; new, end: both ids
	   of the mark (0: not decided here) */
	enum pw_dir dir;
	uint16_t id, eg_id, in_id;
	uint32_t ct_id;		     /* conntrack's id of the connection */
	uint64_t packets[2], bytes[2]; /* end: [0] source to destination, [1]
					  back; deny: the packet */
};

struct pw_flow_capture;
/* netns_fd: the namespace (-1: this thread's).  NULL with the reason in
   err. */
struct pw_flow_capture *pw_flow_capture_open(int netns_fd, struct pw_buf *err);
void pw_flow_capture_close(struct pw_flow_capture *c);
/* The two descriptors to poll for reading. */
void pw_flow_capture_fds(const struct pw_flow_capture *c, int fds[2]);
/* Everything waiting, to cb, without blocking.  Returns the events read. */
size_t pw_flow_capture_read(struct pw_flow_capture *c,
			    void (*cb)(void *arg, const struct pw_flow_ev *ev),
			    void *arg);
/* Messages the kernel could not deliver (the socket was full). */
uint64_t pw_flow_capture_lost(const struct pw_flow_capture *c);

#endif
