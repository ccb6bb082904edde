// SPDX-License-Identifier: GPL-2.0-or-later
/* Datagram and raw internet sockets: UDP, UDP-Lite, ICMP ping sockets
 * (SOCK_DGRAM with IPPROTO_ICMP/ICMPV6) and raw sockets. What they are is
 * their addresses, options, shutdown state and multicast groups
 * (sock_dgram_mc.c); a UDP socket's unread datagrams are kept too
 * (sock_dgram_queue.c). */
#include "sock.h"
#include "sock_dgram.h"
#include "macro.h"
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define TCP_ESTABLISHED 1   /* sk_state of a connect()ed datagram socket */

/* What the kernel lists of one socket: its state, peer and shutdown. */
struct diag_inet {
	ino_t ino;
	int family;
	uint8_t state, shutdown;
	uint8_t dst[16];
};

static int diag_inet_one(const struct nlmsghdr *h, void *arg)
{
	struct diag_inet *d = arg;
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	const struct nlattr *a;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->idiag_inode != d->ino)
		return 0;
	d->state = m->idiag_state;
	memcpy(d->dst, m->id.idiag_dst, d->family == AF_INET ? 4 : 16);
	a = sock_diag_attr((const char *)m + NLMSG_ALIGN(sizeof(*m)), h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)), INET_DIAG_SHUTDOWN);
	if (a && a->nla_len >= NLA_HDRLEN + 1)
		d->shutdown = *((const uint8_t *)a + NLA_HDRLEN);
	return 1;
}

/* UDP and UDP-Lite sockets are listed by inet_diag. */
static int diag_inet(struct sock_dump *sd, struct diag_inet *d)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = (uint8_t)sd->s->family,
		.sdiag_protocol = (uint8_t)sd->s->protocol,
		.idiag_states = ~0u,
		.id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
	};
	int r;

	d->ino = sd->ino;
	d->family = sd->s->family;
	r = sock_diag_find(&req, sizeof(req), diag_inet_one, d);
	if (r < 0)
		return sock_fail(sd, -r, "sock_diag");
	return r ? 0 : sock_refuse(sd, "the kernel's socket listing (sock_diag) does not show it");
}

/* Ping sockets have no sock_diag, nor raw sockets in kernels without
 * CONFIG_INET_RAW_DIAG: their line of /proc/net/{icmp,raw}{,6}
 * ("sl local rem st ... inode") gives the state and the peer. */
static int proc_net_peer(struct sock_dump *sd, enum dgram_kind kind, struct diag_inet *d)
{
	char path[40], line[512], rem[40];
	_cleanup_fclose_ FILE *f = NULL;
	unsigned st, w[4];
	unsigned long ino;

	snprintf(path, sizeof(path), "/proc/self/net/%s%s", kind == DG_PING ? "icmp" : "raw", sd->s->family == AF_INET6 ? "6" : "");
	f = fopen(path, "re");
	if (!f)
		return sock_fail(sd, errno, path);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%*x %39[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %*u %*d %lu", rem, &st, &ino) != 3 ||
		    ino != sd->ino)
			continue;
		d->state = (uint8_t)st;
		if (sd->s->family == AF_INET && sscanf(rem, "%8x", &w[0]) == 1) {
			memcpy(d->dst, w, 4);
			return 0;
		}
		if (sd->s->family == AF_INET6 && sscanf(rem, "%8x%8x%8x%8x", &w[0], &w[1], &w[2], &w[3]) == 4) {
			memcpy(d->dst, w, 16);
			return 0;
		}
		break;
	}
	return sock_refuse(sd, "%s does not show it", path);
}

/* Shutdown as poll shows it (/proc/net does not): SHUT_RD alone, or both. */
static uint8_t poll_shutdown(int sk)
{
	struct pollfd p = { .fd = sk, .events = POLLIN | POLLRDHUP };

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & POLLHUP)
		return SHUTDOWN_RD | SHUTDOWN_WR;
	return p.revents & POLLRDHUP ? SHUTDOWN_RD : 0;
}

int sock_refuse_filter(struct sock_dump *sd)
{
	socklen_t len = 0;

	/* with no room, SO_GET_FILTER answers the filter's length, 0 for none */
	if (getsockopt(sd->sk, SOL_SOCKET, SO_GET_FILTER, NULL, &len) < 0 && errno != EINVAL) {
		if (errno == EACCES)   /* an eBPF program: the kernel won't show it */
			return sock_refuse(sd, "an eBPF socket filter (SO_ATTACH_BPF) is not supported");
		return sock_fail(sd, errno, "SO_GET_FILTER");
	}
	return len ? sock_refuse(sd, "a socket filter (SO_ATTACH_FILTER, %u instructions)", (unsigned)len) : 0;
}

/* IP options and IPv6 sticky extension headers set on the socket: bytes
 * of a variable length that the option table does not carry. */
static int refuse_ip_options(struct sock_dump *sd)
{
	static const struct { int level, name; const char *label; } opts[] = {
		{ SOL_IP, IP_OPTIONS, "IP_OPTIONS" },
		{ SOL_IPV6, IPV6_HOPOPTS, "IPV6_HOPOPTS" },
		{ SOL_IPV6, IPV6_RTHDRDSTOPTS, "IPV6_RTHDRDSTOPTS" },
		{ SOL_IPV6, IPV6_RTHDR, "IPV6_RTHDR" },
		{ SOL_IPV6, IPV6_DSTOPTS, "IPV6_DSTOPTS" },
	};
	char buf[256];

	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		socklen_t len = sizeof(buf);

		if (opts[i].level == SOL_IPV6 && sd->s->family != AF_INET6)
			continue;
		if (getsockopt(sd->sk, opts[i].level, opts[i].name, buf, &len) == 0 && len > 0)
			return sock_refuse(sd, "%s set (%u bytes)", opts[i].label, (unsigned)len);
	}
	return 0;
}

/* What restart can't put back: an error a program has not collected, data
 * being sent or held by UDP_CORK, an IPv6 address tied to an interface. */
static int check_dgram(struct sock_dump *sd)
{
	struct pollfd p = { .fd = sd->sk, .events = 0 };
	struct sockaddr_in6 in6;
	socklen_t len = sizeof(in6);
	int outq = 0;

	int r = sock_refuse_filter(sd);

	if (r >= 0)
		r = refuse_ip_options(sd);
	if (r < 0)
		return r;
	if (poll(&p, 1, 0) > 0 && (p.revents & POLLERR))
		return sock_refuse(sd, "an error (an ICMP report) the program has not read yet");
	/* ping sockets have no SIOCOUTQ: they send at once, nothing corks */
	if (ioctl(sd->sk, SIOCOUTQ, &outq) < 0 && errno != ENOTTY)
		return sock_fail(sd, errno, "SIOCOUTQ");
	if (outq > 0)
		return sock_refuse(sd, "%d bytes being sent or held by UDP_CORK", outq);
	memset(&in6, 0, sizeof(in6));
	if (sd->s->family == AF_INET6 && getsockname(sd->sk, (struct sockaddr *)&in6, &len) == 0 && (in6.sin6_scope_id || in6.sin6_flowinfo))
		return sock_refuse(sd, "bound to a link-local IPv6 address of an interface (scope id %u)", in6.sin6_scope_id);
	memset(&in6, 0, sizeof(in6));
	len = sizeof(in6);
	if (sd->s->family == AF_INET6 && getpeername(sd->sk, (struct sockaddr *)&in6, &len) == 0 && (in6.sin6_scope_id || in6.sin6_flowinfo))
		return sock_refuse(sd, "connected to a link-local IPv6 address of an interface (scope id %u)", in6.sin6_scope_id);
	return 0;
}

int sock_dgram_dump(struct sock_dump *sd)
{
	Ckpt__Img__InetSock *in = sd->s->inet;
	enum dgram_kind kind = dgram_kind(sd->s->family, sd->s->type, sd->s->protocol);
	struct diag_inet d = { 0 };
	size_t alen = sd->s->family == AF_INET ? 4 : 16;
	int r;

	if (kind == DG_NONE)
		return sock_refuse(sd, "internet sockets of type %d, protocol %d are not supported", sd->s->type, sd->s->protocol);
	r = check_dgram(sd);
	if (r >= 0)
		r = kind == DG_PING || kind == DG_RAW ? proc_net_peer(sd, kind, &d) : diag_inet(sd, &d);
	if (r < 0)
		return r;
	in->has_connected = in->has_shutdown = true;
	in->connected = d.state == TCP_ESTABLISHED;
	in->shutdown = kind == DG_PING || kind == DG_RAW ? poll_shutdown(sd->sk) : d.shutdown & (SHUTDOWN_RD | SHUTDOWN_WR);
	if (in->connected && in->dst_addr.len == 0) {   /* raw and ping: getpeername() can't say */
		memcpy(in->dst_addr.data, d.dst, alen);
		in->dst_addr.len = alen;
	}
	if (kind == DG_RAW)
		in->src_port = in->dst_port = 0;   /* the protocol, not a port */
	r = dgram_mc_dump(sd);
	if (r >= 0 && kind == DG_UDP)
		r = dgram_queue_dump(sd);
	return r;
}

void sock_dgram_free(Ckpt__Img__Socket *s)
{
	dgram_queue_free(s->inet);
	dgram_mc_free(s->inet);
}

static bool any_addr(const ProtobufCBinaryData *a)
{
	for (size_t i = 0; i < a->len; i++)
		if (a->data[i])
			return true;
	return false;
}

static int restore_fail(struct sock_restore *sr, int err, const char *what)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_KERNEL, err, "%s: %s", sock_name(sr->f, name, sizeof(name)), what);
}

/* Bound: a port (UDP, or a ping socket's identifier) or an address (raw
 * sockets have no port). A UDP socket that was only connect()ed is bound
 * to the port the kernel chose then, so its peer still reaches it. */
static int restore_addrs(struct sock_restore *sr, int sk, enum dgram_kind kind)
{
	const Ckpt__Img__InetSock *in = sr->s->inet;
	struct sockaddr_storage ss;
	socklen_t len;

	if ((kind != DG_RAW && in->src_port) || any_addr(&in->src_addr)) {
		sock_inet_sockaddr(sr->s->family, &in->src_addr, kind == DG_RAW ? 0 : in->src_port, &ss, &len);
		if (bind(sk, (struct sockaddr *)&ss, len) < 0)
			return restore_fail(sr, errno, "bind to its address");
	}
	if (in->connected) {
		sock_inet_sockaddr(sr->s->family, &in->dst_addr, kind == DG_UDP || kind == DG_UDPLITE ? in->dst_port : 0, &ss, &len);
		if (connect(sk, (struct sockaddr *)&ss, len) < 0)
			return restore_fail(sr, errno, "connect to its peer");
	}
	return 0;
}

static int restore_shutdown(struct sock_restore *sr, int sk)
{
	uint32_t sh = sr->s->inet->shutdown;
	int how = sh == (SHUTDOWN_RD | SHUTDOWN_WR) ? SHUT_RDWR : sh == SHUTDOWN_RD ? SHUT_RD : SHUT_WR;

	/* not connected: ENOTCONN, with the state set all the same */
	if (sh && shutdown(sk, how) < 0 && errno != ENOTCONN)
		return restore_fail(sr, errno, "shutdown");
	return 0;
}

int sock_dgram_restore(struct sock_restore *sr)
{
	enum dgram_kind kind = dgram_kind(sr->s->family, sr->s->type, sr->s->protocol);
	_cleanup_close_ int sk = -1;
	int r;

	sk = socket(sr->s->family, sr->s->type | SOCK_CLOEXEC, sr->s->protocol);
	if (sk < 0)
		return restore_fail(sr, errno, kind == DG_PING ? "socket (ping sockets need net.ipv4.ping_group_range to hold the group of root)" : "socket");
	r = sock_opts_restore(sr, sk, SOPT_EARLY);
	if (r >= 0)
		r = restore_addrs(sr, sk, kind);
	if (r >= 0)
		r = dgram_mc_restore(sr, sk);
	if (r >= 0 && kind == DG_UDP)
		r = dgram_queue_restore(sr, sk);
	if (r >= 0)
		r = restore_shutdown(sr, sk);
	if (r >= 0)
		r = sock_opts_restore(sr, sk, SOPT_LATE);
	return r < 0 ? r : TAKE_FD(sk);
}
