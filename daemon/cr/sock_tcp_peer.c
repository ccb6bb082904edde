// SPDX-License-Identifier: GPL-2.0-or-later
/* Who is at the other end of a TCP connection, for a container in the
 * host's network. Its traffic can't be held there without holding the
 * host's: from the freeze to the restart, a segment from a peer outside
 * would meet a socket in repair mode (its data acknowledged and lost) or
 * none at all (answered by a reset). Only connections between the
 * container's own sockets are safe; in a private network (--net private)
 * every outside peer is behind its held veth. */
#include "sock.h"
#include "macro.h"
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The states a peer of a connection can be in, with a socket or not
 * (TIME_WAIT: no inode). */
#define PEER_STATES ((1u << TCP_ESTABLISHED) | (1u << TCP_FIN_WAIT1) | (1u << TCP_FIN_WAIT2) | \
		     (1u << TCP_TIME_WAIT) | (1u << TCP_CLOSE_WAIT) | (1u << TCP_LAST_ACK) | (1u << TCP_CLOSING))

struct peer_query {
	uint8_t src[16], dst[16];   /* ours, as IPv6 (IPv4 mapped) */
	uint16_t sport, dport;      /* network order */
	uint32_t ino;               /* found: the peer's inode ... */
	unsigned state;             /* ... and state */
	bool found;
};

/* An address of family (4 or 16 bytes) as IPv6, IPv4 ones mapped. */
static void as_v6(int family, const void *addr, uint8_t out[16])
{
	if (family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, addr, 4);
	} else {
		memcpy(out, addr, 16);
	}
}

static int match_peer(const struct nlmsghdr *h, void *arg)
{
	struct peer_query *q = arg;
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	uint8_t src[16], dst[16];

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	as_v6(m->idiag_family, m->id.idiag_src, src);
	as_v6(m->idiag_family, m->id.idiag_dst, dst);
	/* the peer's source is our destination, and the other way round */
	if (m->id.idiag_sport != q->dport || m->id.idiag_dport != q->sport ||
	    memcmp(src, q->dst, 16) || memcmp(dst, q->src, 16))
		return 0;
	q->ino = m->idiag_inode;
	q->state = m->idiag_state;
	q->found = true;
	return 1;
}

static int find_peer(struct peer_query *q)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < ARRAY_SIZE(families) && !q->found; i++) {
		struct inet_diag_req_v2 req = {
			.sdiag_family = (uint8_t)families[i],
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = PEER_STATES,
			.id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
		};
		int r = sock_diag_find(&req, sizeof(req), match_peer, q);

		if (r < 0)
			return r;
	}
	return 0;
}

/* The peer of sd's connection: 1 when a task of the container holds it
 * (q->state: its state), 0 when not, or -errno (failed already). */
static int held_peer(struct sock_dump *sd, struct peer_query *q)
{
	const Ckpt__Img__InetSock *in = sd->s->inet;
	pid_t pid;
	int fd, r;

	q->sport = htons((uint16_t)in->src_port);
	q->dport = htons((uint16_t)in->dst_port);
	if (in->src_addr.len != (sd->s->family == AF_INET ? 4u : 16u) || in->dst_addr.len != in->src_addr.len)
		return sock_refuse(sd, "a TCP connection without both of its addresses");
	as_v6(sd->s->family, in->src_addr.data, q->src);
	as_v6(sd->s->family, in->dst_addr.data, q->dst);
	r = find_peer(q);
	if (r < 0)
		return sock_fail(sd, -r, "sock_diag");
	if (!q->ino)
		return 0;
	r = sock_held_find(sd->ctx, q->ino, &pid, &fd);
	if (r < 0)
		return sock_fail(sd, -r, "reading the container's fd tables");
	return r;
}

int sock_tcp_check_fin_peer(struct sock_dump *sd, unsigned state)
{
	const struct cr_net_config *net = sd->ctx->req->net;
	Ckpt__Img__InetSock *in = sd->s->inet;
	struct peer_query q = { 0 };
	char addr[64] = "?";
	int r;

	if (!sock_tcp_fin_rcvd(state))
		return 0;
	r = held_peer(sd, &q);
	if (r < 0)
		return r;
	if (r > 0 && sock_tcp_fin_sent(q.state))
		return 0;
	/* in a private network with a veth, a peer sock_diag doesn't see is
	 * outside: its FIN can be forged from its address (it has it acked) */
	if (!q.found && net && net->private_ns && net->addr) {
		in->tcp->has_peer_fin_outside = in->tcp->peer_fin_outside = true;
		return 0;
	}
	inet_ntop(sd->s->family, in->dst_addr.data, addr, sizeof(addr));
	if (r > 0)
		return sock_refuse(sd, "a TCP connection in state %s whose peer (%s port %u) is in state %s: "
				   "restart can't make its FIN arrive again", sock_tcp_state_name(state), addr,
				   in->dst_port, sock_tcp_state_name(q.state));
	return sock_refuse(sd, "a TCP connection in state %s whose peer (%s port %u) %s: only a peer restored "
			   "with it can send its FIN again", sock_tcp_state_name(state), addr, in->dst_port,
			   q.found && !q.ino ? "has closed its socket (TIME_WAIT)" : q.found ? "is no socket of the container's tasks" :
			   "is outside the container's network (not through --publish)");
}

int sock_tcp_check_peer(struct sock_dump *sd)
{
	const struct cr_net_config *net = sd->ctx->req->net;
	const Ckpt__Img__InetSock *in = sd->s->inet;
	struct peer_query q = { 0 };
	char addr[64] = "?";
	int r;

	if (net && net->private_ns)
		return 0;
	r = held_peer(sd, &q);
	if (r != 0)
		return r < 0 ? r : 0;
	inet_ntop(sd->s->family, in->dst_addr.data, addr, sizeof(addr));
	return sock_refuse(sd, "a TCP connection to %s port %u, a peer outside the container, in the host's network: "
			   "its traffic can't be held while the container is checkpointed (a private network "
			   "with --publish can)", addr, in->dst_port);
}

struct syn_query {
	uint32_t ino;
	int family;
	struct sockaddr_storage dst;
	bool found;
};

static int match_syn(const struct nlmsghdr *h, void *arg)
{
	struct syn_query *q = arg;
	const struct inet_diag_msg *m = NLMSG_DATA(h);

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->idiag_inode != q->ino)
		return 0;
	if (q->family == AF_INET) {
		struct sockaddr_in *in = (void *)&q->dst;

		in->sin_family = AF_INET;
		in->sin_port = m->id.idiag_dport;
		memcpy(&in->sin_addr, m->id.idiag_dst, 4);
	} else {
		struct sockaddr_in6 *in6 = (void *)&q->dst;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = m->id.idiag_dport;
		memcpy(&in6->sin6_addr, m->id.idiag_dst, 16);
	}
	q->found = true;
	return 1;
}

int sock_tcp_syn_dst(struct sock_dump *sd)
{
	Ckpt__Img__InetSock *in = sd->s->inet;
	struct syn_query q = { .ino = (uint32_t)sd->ino, .family = sd->s->family };
	struct inet_diag_req_v2 req = {
		.sdiag_family = (uint8_t)sd->s->family,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_states = 1u << TCP_SYN_SENT,
		.id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
	};
	int r = sock_diag_find(&req, sizeof(req), match_syn, &q);

	if (r < 0)
		return sock_fail(sd, -r, "sock_diag");
	if (!q.found)
		return sock_refuse(sd, "a TCP connect in progress that left state SYN_SENT while it was read");
	if (q.family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&q.dst;

		in->dst_addr.len = 4;
		memcpy(in->dst_addr.data, &a->sin_addr, 4);
		in->dst_port = ntohs(a->sin_port);
	} else {
		const struct sockaddr_in6 *a = (const void *)&q.dst;

		in->dst_addr.len = 16;
		memcpy(in->dst_addr.data, &a->sin6_addr, 16);
		in->dst_port = ntohs(a->sin6_port);
	}
	if (!in->src_port || !in->dst_port)
		return sock_refuse(sd, "a TCP connect in progress without both of its addresses");
	return 0;
}
