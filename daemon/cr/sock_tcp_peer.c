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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TCP_ESTABLISHED_STATE 1

struct peer_query {
	uint8_t src[16], dst[16];   /* ours, as IPv6 (IPv4 mapped) */
	uint16_t sport, dport;      /* network order */
	uint32_t ino;               /* found: the peer's inode */
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
	return 1;
}

static int find_peer(struct peer_query *q)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < ARRAY_SIZE(families) && !q->ino; i++) {
		struct inet_diag_req_v2 req = {
			.sdiag_family = (uint8_t)families[i],
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = 1u << TCP_ESTABLISHED_STATE,
			.id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
		};
		int r = sock_diag_find(&req, sizeof(req), match_peer, q);

		if (r < 0)
			return r;
	}
	return 0;
}

int sock_tcp_check_peer(struct sock_dump *sd)
{
	const struct cr_net_config *net = sd->ctx->req->net;
	const Ckpt__Img__InetSock *in = sd->s->inet;
	struct peer_query q = { .sport = htons((uint16_t)in->src_port), .dport = htons((uint16_t)in->dst_port) };
	char addr[64] = "?";
	int r;

	if (net && net->private_ns)
		return 0;
	if (in->src_addr.len != (sd->s->family == AF_INET ? 4u : 16u) || in->dst_addr.len != in->src_addr.len)
		return sock_refuse(sd, "a TCP connection without both of its addresses");
	as_v6(sd->s->family, in->src_addr.data, q.src);
	as_v6(sd->s->family, in->dst_addr.data, q.dst);
	r = find_peer(&q);
	if (r < 0)
		return sock_fail(sd, -r, "sock_diag");
	if (q.ino) {
		pid_t pid;
		int fd;

		r = sock_held_find(sd->ctx, q.ino, &pid, &fd);
		if (r < 0)
			return sock_fail(sd, -r, "reading the container's fd tables");
		if (r > 0)
			return 0;
	}
	inet_ntop(sd->s->family, in->dst_addr.data, addr, sizeof(addr));
	return sock_refuse(sd, "a TCP connection to %s port %u, a peer outside the container, in the host's network: "
			   "its traffic can't be held while the container is checkpointed (a private network "
			   "with --publish can)", addr, in->dst_port);
}
