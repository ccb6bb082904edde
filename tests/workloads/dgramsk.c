// SPDX-License-Identifier: GPL-2.0-or-later
/* dgramsk: datagram, raw, netlink and packet sockets that must work after
 * a restart, each checked by the program itself.
 *
 * Every turn (~10 ms): a UDP client connect()ed to a server (IPv4 on
 * 127.0.0.1, IPv6 on ::1, and UDP-Lite over IPv4 with a checksum coverage
 * of 12 bytes; the clients never bound, so their ports are the kernel's
 * choice) sends a sequence number; the server answers the sender
 * with recvfrom/sendto; the client checks the answer. A datagram lost or
 * out of order fails.
 *
 * On SIGUSR2, each checked and set up again:
 *  - queued datagrams: sockets that were sent datagrams they have not read
 *    (IPv4 from 127.0.0.3, IPv6 from ::1, an IPv4 sender to a dual-stack
 *    IPv6 socket, a wildcard socket with IP_PKTINFO sent to 127.0.0.9):
 *    sizes 0, 1, 100, 1400 and 60000, their bytes, each sender's address
 *    and port, the destination the program sees, no more than those;
 *  - a UDP socket joined 239.1.2.3 on lo and 232.1.1.1 from 127.0.0.3
 *    only: both memberships and filters as they were, and a datagram sent
 *    to 239.1.2.3 (IP_MULTICAST_IF 127.0.0.1) arrives;
 *  - options set at the start (IP_TOS, IPV6_V6ONLY on and off, IP_PKTINFO,
 *    UDP_SEGMENT, SO_RCVBUF) and every bound address and port as before;
 *  - ICMP ping sockets connect()ed to 127.0.0.1 and ::1 echo (the
 *    identifier is the port) when net.ipv4.ping_group_range lets root
 *    make them;
 *  - a UDP socket shut down for sending fails to send with EPIPE, one shut
 *    down for receiving polls POLLRDHUP;
 *  - a raw socket of protocol 253 bound to 127.0.0.1 and connect()ed to
 *    127.0.0.4 gets what a raw socket bound to 127.0.0.4 sends, and not
 *    what one bound to 127.0.0.5 sends first;
 *  - a NETLINK_ROUTE socket (autobound port id, groups joined by bind and
 *    NETLINK_ADD_MEMBERSHIP, NETLINK_EXT_ACK) dumps the links (RTM_GETLINK)
 *    and finds lo; its port id and groups are the same;
 *  - a packet socket (SOCK_DGRAM, ETH_P_IP, bound to lo, PACKET_AUXDATA)
 *    sees a marked UDP datagram sent on lo.
 * "PASS dgramsk turns=N udp4=N udp6=N udplite=N ping=on|off queued:20".
 *
 * "dgramsk MODE" also holds what a checkpoint must refuse: nlunread, a
 * second NETLINK_ROUTE socket whose answer to RTM_GETLINK waits unread;
 * ring, a packet socket with a PACKET_RX_RING; audit, a NETLINK_AUDIT
 * socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#ifndef UDPLITE_SEND_CSCOV
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define RAW_PROTO 253
#define NL_GROUP_BIND 21   /* RTNLGRP_PHONET_IFADDR: quiet groups, so no */
#define NL_GROUP_ADD 22    /* notification waits unread at a checkpoint */

static const size_t qsizes[] = { 0, 1, 100, 1400, 60000 };
#define NQ (sizeof(qsizes) / sizeof(qsizes[0]))

struct pair {
	const char *name;
	int family, proto, srv, cli;
	uint32_t seq;
	unsigned long count;
};

/* a socket holding datagrams it has not read */
struct queue {
	const char *name;
	int rcv, snd;
	struct sockaddr_storage from;   /* the sender's address, as the receiver sees it */
	struct sockaddr_storage to;     /* where they are sent */
	socklen_t tolen;
	bool pktinfo;
	uint8_t salt;
};

struct bound {
	int fd;
	struct sockaddr_storage ss;
	socklen_t len;
};

static struct pair p4 = { "udp4", AF_INET, IPPROTO_UDP, -1, -1, 0, 0 }, p6 = { "udp6", AF_INET6, IPPROTO_UDP, -1, -1, 0, 0 };
static struct pair pl = { "udplite", AF_INET, IPPROTO_UDPLITE, -1, -1, 0, 0 };
static struct queue queues[4];
static struct bound bounds[32];
static size_t nbounds;
static int ping6_fd = -1, shut_wr, shut_rd;
static int ping_fd = -1, raw_rcv, raw_snd, raw_other, nl_fd, pkt_fd, lo_index;
static uint16_t ping_seq;
static uint32_t nl_seq;
static unsigned long turns;

static int chk(int r, const char *what)
{
	if (r < 0)
		fail("%s: %s\n", what, strerror(errno));
	return r;
}

static socklen_t addr_of(int family, const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, ip, &in->sin_addr);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (void *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &in6->sin6_addr);
	return sizeof(*in6);
}

static int sock_at(int family, int type, int proto, const char *ip, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = chk(socket(family, type, proto), "socket");

	if (ip) {
		len = addr_of(family, ip, 0, &ss);
		chk(bind(fd, (struct sockaddr *)&ss, len), ip);
	}
	if (ret) {
		*ret_len = sizeof(*ret);
		chk(getsockname(fd, (struct sockaddr *)ret, ret_len), "getsockname");
	}
	return fd;
}

/* remember what getsockname says now, to compare at each check */
static void remember(int fd)
{
	struct bound *b;

	if (nbounds == sizeof(bounds) / sizeof(bounds[0]))
		fail("more sockets than bounds[] holds\n");
	b = &bounds[nbounds++];

	b->fd = fd;
	b->len = sizeof(b->ss);
	chk(getsockname(fd, (struct sockaddr *)&b->ss, &b->len), "getsockname");
}

static void check_bounds(void)
{
	for (size_t i = 0; i < nbounds; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		memset(&ss, 0, sizeof(ss));
		chk(getsockname(bounds[i].fd, (struct sockaddr *)&ss, &len), "getsockname");
		if (len != bounds[i].len || memcmp(&ss, &bounds[i].ss, len))
			fail("fd %d is no longer bound to the address it had\n", bounds[i].fd);
	}
}

static int wait_in(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* --- UDP pairs -------------------------------------------------------- */

static void pair_setup(struct pair *p)
{
	const char *lo = p->family == AF_INET ? "127.0.0.1" : "::1";
	struct sockaddr_storage ss;
	socklen_t len;

	p->srv = sock_at(p->family, SOCK_DGRAM, p->proto, lo, &ss, &len);
	p->cli = chk(socket(p->family, SOCK_DGRAM, p->proto), "socket");
	chk(connect(p->cli, (struct sockaddr *)&ss, len), "connect");
	remember(p->srv);
	remember(p->cli);
}

static void pair_turn(struct pair *p)
{
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	uint32_t v, seq = ++p->seq;

	if (send(p->cli, &seq, sizeof(seq), 0) != sizeof(seq))
		fail("%s send: %s\n", p->name, strerror(errno));
	if (wait_in(p->srv, 10000) <= 0)
		fail("%s: datagram %u never reached the server\n", p->name, seq);
	if (recvfrom(p->srv, &v, sizeof(v), MSG_DONTWAIT, (struct sockaddr *)&from, &flen) != sizeof(v) || v != seq)
		fail("%s: the server got %u, not %u\n", p->name, v, seq);
	if (sendto(p->srv, &v, sizeof(v), 0, (struct sockaddr *)&from, flen) != sizeof(v))
		fail("%s sendto: %s\n", p->name, strerror(errno));
	if (wait_in(p->cli, 10000) <= 0)
		fail("%s: the answer to %u never came back\n", p->name, seq);
	if (recv(p->cli, &v, sizeof(v), MSG_DONTWAIT) != sizeof(v) || v != seq)
		fail("%s: the client got %u back, not %u\n", p->name, v, seq);
	p->count++;
}

/* --- queued datagrams ------------------------------------------------- */

static void fill(uint8_t *buf, size_t n, uint8_t salt, size_t i)
{
	for (size_t k = 0; k < n; k++)
		buf[k] = (uint8_t)(salt * 31 + i * 7 + k * 13);
}

static void queue_fill(struct queue *q)
{
	static uint8_t buf[60000];

	q->salt++;
	for (size_t i = 0; i < NQ; i++) {
		fill(buf, qsizes[i], q->salt, i);
		if (sendto(q->snd, buf, qsizes[i], 0, (struct sockaddr *)&q->to, q->tolen) != (ssize_t)qsizes[i])
			fail("%s: sendto: %s\n", q->name, strerror(errno));
	}
}

static void queue_check(struct queue *q)
{
	static uint8_t buf[65536], want[60000];

	for (size_t i = 0; i < NQ; i++) {
		struct sockaddr_storage from;
		char cbuf[256];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		bool seen = false;
		ssize_t n;

		memset(&from, 0, sizeof(from));
		n = recvmsg(q->rcv, &m, MSG_DONTWAIT);
		if (n < 0)
			fail("%s: datagram %zu of %zu lost: %s\n", q->name, i + 1, NQ, strerror(errno));
		fill(want, qsizes[i], q->salt, i);
		if ((size_t)n != qsizes[i] || memcmp(buf, want, qsizes[i]))
			fail("%s: datagram %zu has %zd bytes or other bytes than the %zu sent\n", q->name, i + 1, n, qsizes[i]);
		if (m.msg_namelen != (q->from.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ||
		    memcmp(&from, &q->from, m.msg_namelen))
			fail("%s: datagram %zu comes from another sender\n", q->name, i + 1);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct in_pktinfo pi;

			if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_PKTINFO)
				continue;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (pi.ipi_addr.s_addr != ((struct sockaddr_in *)&q->to)->sin_addr.s_addr)
				fail("%s: datagram %zu was sent to %s, not 127.0.0.9\n", q->name, i + 1, inet_ntoa(pi.ipi_addr));
			seen = true;
		}
		if (q->pktinfo != seen)
			fail("%s: IP_PKTINFO %s\n", q->name, seen ? "appeared" : "is gone");
	}
	if (recv(q->rcv, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		fail("%s: a datagram more than the %zu sent\n", q->name, NQ);
}

static void queue_setup(struct queue *q, const char *name, int rfamily, const char *rip, int sfamily, const char *sip, const char *toip)
{
	struct sockaddr_storage rs, ss;
	socklen_t rlen, slen;
	uint16_t port;
	int v6only = strcmp(rip, "::") != 0;

	q->name = name;
	q->rcv = chk(socket(rfamily, SOCK_DGRAM, 0), "socket");
	if (rfamily == AF_INET6)
		chk(setsockopt(q->rcv, SOL_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)), "IPV6_V6ONLY");
	rlen = addr_of(rfamily, rip, 0, &rs);
	chk(bind(q->rcv, (struct sockaddr *)&rs, rlen), name);
	rlen = sizeof(rs);
	chk(getsockname(q->rcv, (struct sockaddr *)&rs, &rlen), "getsockname");
	port = ntohs(rfamily == AF_INET ? ((struct sockaddr_in *)&rs)->sin_port : ((struct sockaddr_in6 *)&rs)->sin6_port);
	q->snd = sock_at(sfamily, SOCK_DGRAM, 0, sip, &ss, &slen);
	q->tolen = addr_of(sfamily, toip, port, &q->to);
	/* the sender as the receiver sees it: v4-mapped on a dual-stack socket */
	if (rfamily == AF_INET6 && sfamily == AF_INET) {
		struct sockaddr_in6 *m = (void *)&q->from;
		struct sockaddr_in *in = (void *)&ss;

		memset(m, 0, sizeof(*m));
		m->sin6_family = AF_INET6;
		m->sin6_port = in->sin_port;
		m->sin6_addr.s6_addr[10] = m->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m->sin6_addr.s6_addr[12], &in->sin_addr, 4);
	} else {
		q->from = ss;
	}
	remember(q->rcv);
	remember(q->snd);
}

static void queues_setup(void)
{
	int on = 1;

	queue_setup(&queues[0], "queue4", AF_INET, "127.0.0.1", AF_INET, "127.0.0.3", "127.0.0.1");
	queue_setup(&queues[1], "queue6", AF_INET6, "::1", AF_INET6, "::1", "::1");
	queue_setup(&queues[2], "queue46", AF_INET6, "::", AF_INET, "127.0.0.3", "127.0.0.1");
	queue_setup(&queues[3], "pktinfo", AF_INET, "0.0.0.0", AF_INET, "127.0.0.1", "127.0.0.9");
	chk(setsockopt(queues[3].rcv, SOL_IP, IP_PKTINFO, &on, sizeof(on)), "IP_PKTINFO");
	queues[3].pktinfo = true;
	for (int i = 0; i < 4; i++)
		queue_fill(&queues[i]);
}

/* --- options ----------------------------------------------------------- */

static int opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	chk(getsockopt(fd, level, name, &v, &len), "getsockopt");
	return v;
}

static int rcvbuf_set;

static void options_setup(void)
{
	int tos = 0x28, seg = 1000, buf = 50000, cscov = 12;

	chk(setsockopt(p4.cli, SOL_IP, IP_TOS, &tos, sizeof(tos)), "IP_TOS");
	chk(setsockopt(p4.srv, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)), "UDP_SEGMENT");
	chk(setsockopt(p4.srv, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)), "SO_RCVBUF");
	rcvbuf_set = opt(p4.srv, SOL_SOCKET, SO_RCVBUF);
	chk(setsockopt(pl.cli, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &cscov, sizeof(cscov)), "UDPLITE_SEND_CSCOV");
	chk(setsockopt(pl.srv, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, &cscov, sizeof(cscov)), "UDPLITE_RECV_CSCOV");
}

static void options_check(void)
{
	if (opt(p4.cli, SOL_IP, IP_TOS) != 0x28)
		fail("IP_TOS is %#x, not 0x28\n", opt(p4.cli, SOL_IP, IP_TOS));
	if (opt(queues[1].rcv, SOL_IPV6, IPV6_V6ONLY) != 1 || opt(queues[2].rcv, SOL_IPV6, IPV6_V6ONLY) != 0)
		fail("IPV6_V6ONLY changed\n");
	if (opt(queues[3].rcv, SOL_IP, IP_PKTINFO) != 1)
		fail("IP_PKTINFO is off\n");
	if (opt(p4.srv, SOL_UDP, UDP_SEGMENT) != 1000)
		fail("UDP_SEGMENT is %d, not 1000\n", opt(p4.srv, SOL_UDP, UDP_SEGMENT));
	if (opt(pl.cli, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV) != 12 || opt(pl.srv, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV) != 12)
		fail("UDP-Lite checksum coverage changed\n");
	if (opt(p4.srv, SOL_SOCKET, SO_RCVBUF) != rcvbuf_set)
		fail("SO_RCVBUF is %d, not %d\n", opt(p4.srv, SOL_SOCKET, SO_RCVBUF), rcvbuf_set);
}

/* --- multicast ----------------------------------------------------------- */

static int mc_rcv, mc_snd;
static struct sockaddr_storage mc_to;
static socklen_t mc_tolen;

static void mc_setup(void)
{
	struct ip_mreqn m = { .imr_ifindex = lo_index };
	struct group_source_req gs = { .gsr_interface = (uint32_t)lo_index };
	struct in_addr lo = { htonl(0x7f000001) };
	struct sockaddr_storage ss;
	socklen_t len;
	uint16_t port;

	mc_rcv = sock_at(AF_INET, SOCK_DGRAM, 0, "0.0.0.0", &ss, &len);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	inet_pton(AF_INET, "239.1.2.3", &m.imr_multiaddr);
	chk(setsockopt(mc_rcv, SOL_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)), "IP_ADD_MEMBERSHIP");
	addr_of(AF_INET, "232.1.1.1", 0, &gs.gsr_group);
	addr_of(AF_INET, "127.0.0.3", 0, &gs.gsr_source);
	chk(setsockopt(mc_rcv, SOL_IP, MCAST_JOIN_SOURCE_GROUP, &gs, sizeof(gs)), "MCAST_JOIN_SOURCE_GROUP");
	mc_snd = chk(socket(AF_INET, SOCK_DGRAM, 0), "socket");
	chk(setsockopt(mc_snd, SOL_IP, IP_MULTICAST_IF, &lo, sizeof(lo)), "IP_MULTICAST_IF");
	mc_tolen = addr_of(AF_INET, "239.1.2.3", port, &mc_to);
	remember(mc_rcv);
}

/* the filter of one group, as the socket reports it */
static void mc_expect(const char *group, uint32_t fmode, const char *source)
{
	union {
		struct group_filter gf;
		char buf[GROUP_FILTER_SIZE(4)];
	} u;
	socklen_t len = sizeof(u);
	struct sockaddr_storage want;

	memset(&u, 0, sizeof(u));
	u.gf.gf_interface = (uint32_t)lo_index;
	u.gf.gf_numsrc = 4;
	addr_of(AF_INET, group, 0, &u.gf.gf_group);
	if (getsockopt(mc_rcv, SOL_IP, MCAST_MSFILTER, &u, &len) < 0)
		fail("multicast: not a member of %s on lo: %s\n", group, strerror(errno));
	if (u.gf.gf_fmode != fmode || u.gf.gf_numsrc != (source ? 1u : 0u))
		fail("multicast: %s has filter mode %u with %u sources\n", group, u.gf.gf_fmode, u.gf.gf_numsrc);
	addr_of(AF_INET, source ? source : "0.0.0.0", 0, &want);
	if (source && memcmp(&((struct sockaddr_in *)&u.gf.gf_slist[0])->sin_addr, &((struct sockaddr_in *)&want)->sin_addr, 4))
		fail("multicast: %s lets another source through\n", group);
}

static void mc_check(void)
{
	char msg[32], buf[64];
	ssize_t n;

	mc_expect("239.1.2.3", MCAST_EXCLUDE, NULL);
	mc_expect("232.1.1.1", MCAST_INCLUDE, "127.0.0.3");
	snprintf(msg, sizeof(msg), "mc %lu", turns);
	chk((int)sendto(mc_snd, msg, strlen(msg), 0, (struct sockaddr *)&mc_to, mc_tolen), "multicast sendto");
	if (wait_in(mc_rcv, 5000) <= 0)
		fail("multicast: nothing sent to 239.1.2.3 arrived\n");
	n = recv(mc_rcv, buf, sizeof(buf), MSG_DONTWAIT);
	if (n != (ssize_t)strlen(msg) || memcmp(buf, msg, (size_t)n))
		fail("multicast: got something else than \"%s\"\n", msg);
}

/* --- ping -------------------------------------------------------------- */

static void ping_setup(void)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(AF_INET, "127.0.0.1", 0, &ss);

	ping_fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (ping_fd < 0) {
		if (errno != EACCES)
			fail("ping socket: %s\n", strerror(errno));
		return;
	}
	chk(connect(ping_fd, (struct sockaddr *)&ss, len), "ping connect");
	remember(ping_fd);
}

static void ping6_setup(void)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(AF_INET6, "::1", 0, &ss);

	ping6_fd = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	if (ping6_fd < 0) {
		if (errno != EACCES)
			fail("ping6 socket: %s\n", strerror(errno));
		return;
	}
	chk(connect(ping6_fd, (struct sockaddr *)&ss, len), "ping6 connect");
	remember(ping6_fd);
}

/* ICMPv6 echo request 128, reply 129; the kernel sets the identifier */
static void ping6_check(void)
{
	uint8_t req[16] = { 128, 0, 0, 0, 0, 0, 0, 0, 'd', 'g', 'r', 'a', 'm', 's', 'k', '6' }, rep[64];

	if (ping6_fd < 0)
		return;
	req[6] = (uint8_t)(ping_seq >> 8);
	req[7] = (uint8_t)ping_seq;
	chk((int)send(ping6_fd, req, sizeof(req), 0), "ping6 send");
	if (wait_in(ping6_fd, 5000) <= 0)
		fail("ping6: no echo reply\n");
	if (recv(ping6_fd, rep, sizeof(rep), MSG_DONTWAIT) != (ssize_t)sizeof(req) || rep[0] != 129 ||
	    memcmp(rep + 6, req + 6, sizeof(req) - 6))
		fail("ping6: the reply is not the echo\n");
}

static void ping_check(void)
{
	struct icmphdr h = { .type = ICMP_ECHO }, r;
	char buf[64];

	if (ping_fd < 0)
		return;
	h.un.echo.sequence = htons(++ping_seq);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), "dgramsk", 8);
	chk((int)send(ping_fd, buf, sizeof(h) + 8, 0), "ping send");
	if (wait_in(ping_fd, 5000) <= 0)
		fail("ping: no echo reply to %u\n", ping_seq);
	if (recv(ping_fd, buf, sizeof(buf), MSG_DONTWAIT) != (ssize_t)sizeof(h) + 8)
		fail("ping: a reply of another size\n");
	memcpy(&r, buf, sizeof(r));
	if (r.type != ICMP_ECHOREPLY || ntohs(r.un.echo.sequence) != ping_seq || memcmp(buf + sizeof(r), "dgramsk", 8))
		fail("ping: the reply is not the echo of %u\n", ping_seq);
}

/* --- shutdown ------------------------------------------------------------ */

static void shut_setup(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	chk(getsockname(p4.srv, (struct sockaddr *)&ss, &len), "getsockname");
	shut_wr = chk(socket(AF_INET, SOCK_DGRAM, 0), "socket");
	chk(connect(shut_wr, (struct sockaddr *)&ss, len), "connect");
	chk(shutdown(shut_wr, SHUT_WR), "shutdown");
	shut_rd = chk(socket(AF_INET, SOCK_DGRAM, 0), "socket");
	chk(connect(shut_rd, (struct sockaddr *)&ss, len), "connect");
	chk(shutdown(shut_rd, SHUT_RD), "shutdown");
}

static void shut_check(void)
{
	struct pollfd p = { .fd = shut_rd, .events = POLLIN | POLLRDHUP };

	if (send(shut_wr, "x", 1, MSG_NOSIGNAL) >= 0 || errno != EPIPE)
		fail("shutdown(SHUT_WR): a send did not fail with EPIPE\n");
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLRDHUP) || (p.revents & POLLHUP))
		fail("shutdown(SHUT_RD): poll says %#x\n", p.revents);
}

/* --- raw --------------------------------------------------------------- */

static void raw_setup(void)
{
	struct sockaddr_storage ss;
	socklen_t len = addr_of(AF_INET, "127.0.0.4", 0, &ss);

	raw_rcv = sock_at(AF_INET, SOCK_RAW, RAW_PROTO, "127.0.0.1", NULL, NULL);
	chk(connect(raw_rcv, (struct sockaddr *)&ss, len), "raw connect");
	raw_snd = sock_at(AF_INET, SOCK_RAW, RAW_PROTO, "127.0.0.4", NULL, NULL);
	raw_other = sock_at(AF_INET, SOCK_RAW, RAW_PROTO, "127.0.0.5", NULL, NULL);
	remember(raw_rcv);
	remember(raw_snd);
}

static void raw_check(void)
{
	struct sockaddr_storage to;
	socklen_t len = addr_of(AF_INET, "127.0.0.1", 0, &to);
	char buf[256], msg[32];
	struct iphdr ip;
	ssize_t n;

	snprintf(msg, sizeof(msg), "raw %lu", turns);
	chk((int)sendto(raw_other, "not from the peer", 17, 0, (struct sockaddr *)&to, len), "raw sendto");
	chk((int)sendto(raw_snd, msg, strlen(msg), 0, (struct sockaddr *)&to, len), "raw sendto");
	if (wait_in(raw_rcv, 5000) <= 0)
		fail("raw: nothing from its peer\n");
	n = recv(raw_rcv, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < (ssize_t)sizeof(ip))
		fail("raw: recv %zd\n", n);
	memcpy(&ip, buf, sizeof(ip));
	if (ip.saddr != htonl(0x7f000004) || n - ip.ihl * 4 != (ssize_t)strlen(msg) || memcmp(buf + ip.ihl * 4, msg, strlen(msg)))
		fail("raw: got something else than its peer's \"%s\" (from another address?)\n", msg);
	if (recv(raw_rcv, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		fail("raw: got more than its peer sent\n");
}

/* --- netlink ------------------------------------------------------------ */

static uint32_t nl_portid, nl_groups;

static void nl_setup(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1u << (NL_GROUP_BIND - 1) };
	socklen_t len = sizeof(sa);
	int g = NL_GROUP_ADD, on = 1;

	nl_fd = chk(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), "netlink socket");
	chk(bind(nl_fd, (struct sockaddr *)&sa, sizeof(sa)), "netlink bind");
	chk(setsockopt(nl_fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)), "NETLINK_ADD_MEMBERSHIP");
	chk(setsockopt(nl_fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on)), "NETLINK_EXT_ACK");
	chk(getsockname(nl_fd, (struct sockaddr *)&sa, &len), "netlink getsockname");
	nl_portid = sa.nl_pid;
	nl_groups = sa.nl_groups;
}

static bool nl_has_lo(const struct nlmsghdr *h)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	const struct rtattr *a = IFLA_RTA(ifi);
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_IFNAME && strcmp(RTA_DATA(a), "lo") == 0)
			return true;
	return false;
}

static void nl_check(void)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = ++nl_seq },
		  .i = { .ifi_family = AF_UNSPEC } };
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);
	uint32_t groups[4] = { 0 };
	static char buf[32768];
	bool lo = false, done = false;

	chk(getsockname(nl_fd, (struct sockaddr *)&sa, &len), "netlink getsockname");
	if (sa.nl_pid != nl_portid || sa.nl_groups != nl_groups)
		fail("netlink: port id %u groups %#x, not %u %#x\n", sa.nl_pid, sa.nl_groups, nl_portid, nl_groups);
	len = sizeof(groups);
	chk(getsockopt(nl_fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &len), "NETLINK_LIST_MEMBERSHIPS");
	if (groups[0] != (1u << (NL_GROUP_BIND - 1) | 1u << (NL_GROUP_ADD - 1)))
		fail("netlink: groups %#x\n", groups[0]);
	if (opt(nl_fd, SOL_NETLINK, NETLINK_EXT_ACK) != 1)
		fail("netlink: NETLINK_EXT_ACK is off\n");
	chk((int)send(nl_fd, &req, sizeof(req), 0), "RTM_GETLINK");
	while (!done) {
		ssize_t n;
		struct nlmsghdr *h;

		if (wait_in(nl_fd, 5000) <= 0)
			fail("netlink: the link dump stopped\n");
		n = recv(nl_fd, buf, sizeof(buf), MSG_DONTWAIT);
		chk((int)n, "netlink recv");
		for (h = (void *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl_seq)
				continue;   /* a notification */
			if (h->nlmsg_type == NLMSG_DONE)
				done = true;
			else if (h->nlmsg_type == NLMSG_ERROR)
				fail("netlink: RTM_GETLINK failed\n");
			else if (h->nlmsg_type == RTM_NEWLINK && nl_has_lo(h))
				lo = true;
		}
	}
	if (!lo)
		fail("netlink: no lo in the link dump\n");
}

/* notifications of the groups joined: read as they come */
static void nl_drain(void)
{
	char buf[8192];

	while (recv(nl_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

/* --- packet ------------------------------------------------------------- */

static void pkt_setup(void)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	int on = 1;

	lo_index = (int)if_nametoindex("lo");
	if (!lo_index)
		fail("no lo: %s\n", strerror(errno));
	pkt_fd = chk(socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP)), "packet socket");
	sll.sll_ifindex = lo_index;
	chk(bind(pkt_fd, (struct sockaddr *)&sll, sizeof(sll)), "packet bind");
	chk(setsockopt(pkt_fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof(on)), "PACKET_AUXDATA");
	remember(pkt_fd);
}

static void pkt_drain(void)
{
	char buf[2048];

	while (recv(pkt_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

static void pkt_check(void)
{
	struct sockaddr_storage to;
	socklen_t len = addr_of(AF_INET, "127.0.0.1", 9, &to);
	char mark[32], buf[2048];
	int s = chk(socket(AF_INET, SOCK_DGRAM, 0), "socket");

	if (opt(pkt_fd, SOL_PACKET, PACKET_AUXDATA) != 1)
		fail("packet: PACKET_AUXDATA is off\n");
	pkt_drain();
	snprintf(mark, sizeof(mark), "dgramsk-mark-%lu", turns);
	chk((int)sendto(s, mark, strlen(mark), 0, (struct sockaddr *)&to, len), "sendto");
	close(s);
	for (;;) {
		struct sockaddr_ll from;
		socklen_t flen = sizeof(from);
		ssize_t n;

		if (wait_in(pkt_fd, 5000) <= 0)
			fail("packet: the marked datagram never showed on lo\n");
		n = recvfrom(pkt_fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
		chk((int)n, "packet recv");
		if (from.sll_ifindex != lo_index || from.sll_protocol != htons(ETH_P_IP))
			fail("packet: a packet of interface %d protocol %#x\n", from.sll_ifindex, ntohs(from.sll_protocol));
		if (n >= (ssize_t)(28 + strlen(mark)) && memcmp(buf + 28, mark, strlen(mark)) == 0)
			break;
	}
}

/* --- what a checkpoint refuses ----------------------------------------------- */

static void refused(const char *mode)
{
	if (strcmp(mode, "nlunread") == 0) {
		struct {
			struct nlmsghdr h;
			struct ifinfomsg i;
		} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
			  .i = { .ifi_family = AF_UNSPEC, .ifi_index = lo_index } };
		int fd = chk(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), "netlink socket");

		chk((int)send(fd, &req, sizeof(req), 0), "RTM_GETLINK");
		if (wait_in(fd, 5000) <= 0)
			fail("no answer to RTM_GETLINK\n");
	} else if (strcmp(mode, "ring") == 0) {
		struct tpacket_req r = { .tp_block_size = 4096, .tp_block_nr = 1, .tp_frame_size = 2048, .tp_frame_nr = 2 };
		int fd = chk(socket(AF_PACKET, SOCK_RAW, 0), "packet socket");

		chk(setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &r, sizeof(r)), "PACKET_RX_RING");
	} else if (strcmp(mode, "audit") == 0) {
		chk(socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT), "audit socket");
	} else {
		fail("unknown mode %s\n", mode);
	}
}

/* --- the loop ------------------------------------------------------------- */

static void verify(void)
{
	check_bounds();
	options_check();
	for (int i = 0; i < 4; i++) {
		queue_check(&queues[i]);
		queue_fill(&queues[i]);
	}
	mc_check();
	ping_check();
	ping6_check();
	shut_check();
	raw_check();
	nl_check();
	pkt_check();
	say("PASS dgramsk turns=%lu udp4=%lu udp6=%lu udplite=%lu ping=%s queued:%zu\n", turns, p4.count, p6.count, pl.count,
	    ping_fd >= 0 ? "on" : "off", 4 * NQ);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (sigaction(SIGUSR2, &sa, NULL))
		fail("sigaction SIGUSR2\n");
	pair_setup(&p4);
	pair_setup(&p6);
	pair_setup(&pl);
	queues_setup();
	options_setup();
	ping_setup();
	ping6_setup();
	shut_setup();
	raw_setup();
	nl_setup();
	pkt_setup();
	mc_setup();
	if (argc > 1)
		refused(argv[1]);
	verify();
	say("READY\n");
	for (;;) {
		pair_turn(&p4);
		pair_turn(&p6);
		pair_turn(&pl);
		nl_drain();
		pkt_drain();
		turns++;
		if (got_usr2) {
			got_usr2 = 0;
			verify();
		}
		nanosleep(&ts, NULL);
	}
}
