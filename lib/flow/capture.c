// SPDX-License-Identifier: Apache-2.0
/* The kernel's reports of decided traffic (lib/flow/capture.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_log/libnetfilter_log.h>
#include <libnfnetlink/libnfnetlink.h>
#include <netinet/ip.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "ids.h"

struct pw_flow_capture {
	struct nflog_handle *log;
	struct nflog_g_handle *group;
	struct nfct_handle *ct;
	int log_fd, ct_fd;
	uint64_t lost;
	void (*cb)(void *arg, const struct pw_flow_ev *ev);
	void *arg;
	size_t n; /* events of the current read */
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* ---- denied packets: NFLOG -------------------------------------------- */

static int on_log(struct nflog_g_handle *gh, struct nfgenmsg *nfmsg,
		  struct nflog_data *nfa, void *data)
{
	struct pw_flow_capture *c = data;
	const char *prefix = nflog_get_prefix(nfa);
	char d;
	unsigned id;
	if (!prefix || sscanf(prefix, "pw D %c %u", &d, &id) != 2 || (d != 'e' && d != 'i'))
		return 0; /* not ours */
	char *pl;
	int len = nflog_get_payload(nfa, &pl);
	if (len < (int)sizeof(struct iphdr))
		return 0;
	const struct iphdr *ip = (const struct iphdr *)pl;
	if (ip->version != 4)
		return 0; /* the dataplane is IPv4 */
	struct pw_flow_ev ev = { .kind = PW_FEV_DENY };
	ev.time = now_s();
	struct timeval tv;
	if (!nflog_get_timestamp(nfa, &tv))
		ev.time = tv.tv_sec;
	ev.proto = ip->protocol;
	ev.src = pw_addr_from_v4(ntohl(ip->saddr));
	ev.dst = pw_addr_from_v4(ntohl(ip->daddr));
	ev.sport = ev.dport = -1;
	size_t hl = (size_t)ip->ihl * 4;
	if ((ip->protocol == 6 || ip->protocol == 17 || ip->protocol == 132 ||
	     ip->protocol == 136) && (size_t)len >= hl + 4) {
		const unsigned char *l4 = (const unsigned char *)pl + hl;
		ev.sport = l4[0] << 8 | l4[1];
		ev.dport = l4[2] << 8 | l4[3];
	} else if (ip->protocol == 1 && (size_t)len >= hl + 2) {
		ev.dport = ((const unsigned char *)pl)[hl]; /* the ICMP type */
	}
	ev.to = ev.dst;
	ev.to_port = ev.dport;
	ev.dir = d == 'i' ? PW_INGRESS : PW_EGRESS;
	ev.id = (uint16_t)id;
	ev.packets[0] = 1;
	ev.bytes[0] = ntohs(ip->tot_len);
	c->n++;
	c->cb(c->arg, &ev);
	return 0;
}

/* ---- allowed connections: conntrack events ---------------------------- */

static int on_ct(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct pw_flow_capture *c = data;
	if (nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) != AF_INET)
		return NFCT_CB_CONTINUE;
	uint32_t mark = nfct_get_attr_u32(ct, ATTR_MARK);
	if (!mark)
		return NFCT_CB_CONTINUE; /* no rule of ours decided it */
	struct pw_flow_ev ev = { .kind = type == NFCT_T_DESTROY ? PW_FEV_END : PW_FEV_NEW };
	ev.time = now_s();
	ev.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	ev.src = pw_addr_from_v4(ntohl(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC)));
	ev.dst = pw_addr_from_v4(ntohl(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST)));
	ev.to = pw_addr_from_v4(ntohl(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC)));
	ev.sport = ev.dport = ev.to_port = -1;
	if (ev.proto == 6 || ev.proto == 17 || ev.proto == 132 || ev.proto == 136) {
		ev.sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
		ev.dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
		ev.to_port = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
	} else if (ev.proto == 1) {
		ev.dport = ev.to_port = nfct_get_attr_u8(ct, ATTR_ICMP_TYPE);
	}
	ev.eg_id = (uint16_t)(mark >> 16);
	ev.in_id = (uint16_t)(mark & 0xffff);
	ev.ct_id = nfct_get_attr_u32(ct, ATTR_ID);
	if (ev.kind == PW_FEV_END) {
		ev.packets[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
		ev.bytes[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES);
		ev.packets[1] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS);
		ev.bytes[1] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
	}
	c->n++;
	c->cb(c->arg, &ev);
	return NFCT_CB_CONTINUE;
}

/* ---- opening, in the namespace ------------------------------------------ */

static void sysctl_on(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1\n", 2) < 0) {
		/* the kernel's default stays: counters may read 0 */
	}
	close(fd);
}

static int open_here(struct pw_flow_capture *c, struct pw_buf *err)
{
	/* packets and bytes per connection, and its start */
	sysctl_on("/proc/sys/net/netfilter/nf_conntrack_acct");
	c->log = nflog_open();
	if (!c->log) {
		pw_buf_printf(err, "NFLOG: %s", strerror(errno));
		return -1;
	}
	fcntl(nflog_fd(c->log), F_SETFD, FD_CLOEXEC);
	nflog_bind_pf(c->log, AF_INET);
	c->group = nflog_bind_group(c->log, PW_FLOW_NFLOG_GROUP);
	if (!c->group) {
		pw_buf_printf(err, "NFLOG group %u: %s", PW_FLOW_NFLOG_GROUP,
			      strerror(errno));
		return -1;
	}
	/* the headers are enough */
	nflog_set_mode(c->group, NFULNL_COPY_PACKET, 96);
	/* up to 64 packets a message, or what 50 ms gathered: fewer wakeups
	   under a flood, little delay otherwise */
	nflog_set_qthresh(c->group, 64);
	nflog_set_timeout(c->group, 5);
	nflog_callback_register(c->group, on_log, c);
	c->log_fd = nflog_fd(c->log);
	c->ct = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_DESTROY);
	if (!c->ct) {
		pw_buf_printf(err, "conntrack events: %s", strerror(errno));
		return -1;
	}
	nfct_callback_register(c->ct, NFCT_T_NEW | NFCT_T_DESTROY, on_ct, c);
	c->ct_fd = nfct_fd(c->ct);
	/* room for bursts: what does not fit is lost, and counted */
	nfnl_rcvbufsiz(nfct_nfnlh(c->ct), 8u << 20);
	nfnl_rcvbufsiz(nflog_nfnlh(c->log), 8u << 20);
	fcntl(c->log_fd, F_SETFL, fcntl(c->log_fd, F_GETFL) | O_NONBLOCK);
	fcntl(c->ct_fd, F_SETFL, fcntl(c->ct_fd, F_GETFL) | O_NONBLOCK);
	/* not in the processes the agent starts (the lab's servers): the
	   group stays bound while any holder lives, and a restarted agent
	   could not bind it again */
	fcntl(c->log_fd, F_SETFD, FD_CLOEXEC);
	fcntl(c->ct_fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

struct pw_flow_capture *pw_flow_capture_open(int netns_fd, struct pw_buf *err)
{
	struct pw_flow_capture *c = pw_xcalloc(1, sizeof(*c));
	c->log_fd = c->ct_fd = -1;
	int rc;
	if (netns_fd < 0) {
		rc = open_here(c, err);
	} else {
		int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0 || setns(netns_fd, CLONE_NEWNET) < 0) {
			pw_buf_printf(err, "cannot enter the network namespace: %s",
				      strerror(errno));
			if (self >= 0)
				close(self);
			pw_flow_capture_close(c);
			return NULL;
		}
		rc = open_here(c, err);
		if (setns(self, CLONE_NEWNET) < 0)
			abort(); /* this thread would stay in the other namespace */
		close(self);
	}
	if (rc < 0) {
		pw_flow_capture_close(c);
		return NULL;
	}
	return c;
}

void pw_flow_capture_close(struct pw_flow_capture *c)
{
	if (!c)
		return;
	if (c->group)
		nflog_unbind_group(c->group);
	if (c->log)
		nflog_close(c->log);
	if (c->ct)
		nfct_close(c->ct);
	free(c);
}

void pw_flow_capture_fds(const struct pw_flow_capture *c, int fds[2])
{
	fds[0] = c->log_fd;
	fds[1] = c->ct_fd;
}

size_t pw_flow_capture_read(struct pw_flow_capture *c,
			    void (*cb)(void *arg, const struct pw_flow_ev *ev),
			    void *arg)
{
	c->cb = cb;
	c->arg = arg;
	c->n = 0;
	char buf[65536] __attribute__((aligned));
	for (int i = 0; i < 256; i++) {
		ssize_t len = recv(c->log_fd, buf, sizeof(buf), 0);
		if (len < 0) {
			if (errno == ENOBUFS) {
				c->lost++;
				continue;
			}
			break;
		}
		nflog_handle_packet(c->log, buf, (int)len);
	}
	for (int i = 0; i < 256; i++) {
		ssize_t len = recv(c->ct_fd, buf, sizeof(buf), 0);
		if (len < 0) {
			if (errno == ENOBUFS) {
				c->lost++;
				continue;
			}
			break;
		}
		/* the handle nfct registered its callbacks on */
		nfnl_handle_packet((struct nfnl_handle *)nfct_nfnlh(c->ct), buf, (int)len);
	}
	return c->n;
}

uint64_t pw_flow_capture_lost(const struct pw_flow_capture *c)
{
	return c->lost;
}
