// SPDX-License-Identifier: GPL-2.0-or-later
/* Packet sockets (AF_PACKET, SOCK_RAW and SOCK_DGRAM): the protocol and
 * the interface they are bound to (by name: a recreated network may number
 * its interfaces otherwise), and their options. Frames waiting to be read
 * are not kept: they are copies of traffic, which a network may drop.
 *
 * Refused: rings (PACKET_RX_RING, PACKET_TX_RING: memory the program maps),
 * fanout groups (they span sockets and processes), memberships
 * (PACKET_ADD_MEMBERSHIP: promiscuous mode and multicast addresses change
 * the interface) and socket filters, which the kernel shows through
 * sock_diag only. */
#include "sock.h"
#include "macro.h"
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct diag_packet {
	ino_t ino;
	bool found, rx_ring, tx_ring, fanout, mclist, filter;
};

static int diag_packet_one(const struct nlmsghdr *h, void *arg)
{
	struct diag_packet *d = arg;
	const struct packet_diag_msg *m = NLMSG_DATA(h);
	const char *attrs = (const char *)m + NLMSG_ALIGN(sizeof(*m));
	size_t len;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->pdiag_ino != d->ino)
		return 0;
	len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	d->found = true;
	d->rx_ring = sock_diag_attr(attrs, len, PACKET_DIAG_RX_RING) != NULL;
	d->tx_ring = sock_diag_attr(attrs, len, PACKET_DIAG_TX_RING) != NULL;
	d->fanout = sock_diag_attr(attrs, len, PACKET_DIAG_FANOUT) != NULL;
	d->filter = sock_diag_attr(attrs, len, PACKET_DIAG_FILTER) != NULL;
	/* an empty list is still an attribute */
	const struct nlattr *mc = sock_diag_attr(attrs, len, PACKET_DIAG_MCLIST);
	d->mclist = mc && mc->nla_len > NLA_HDRLEN;
	return 1;
}

static int check_packet(struct sock_dump *sd)
{
	struct packet_diag_req req = {
		.sdiag_family = AF_PACKET,
		.pdiag_show = PACKET_SHOW_RING_CFG | PACKET_SHOW_FANOUT | PACKET_SHOW_MCLIST | PACKET_SHOW_FILTER,
	};
	struct diag_packet d = { .ino = sd->ino };
	int r = sock_diag_find(&req, sizeof(req), diag_packet_one, &d);

	if (r < 0)
		return sock_fail(sd, -r, "sock_diag");
	if (!d.found)
		return sock_refuse(sd, "the kernel's socket listing (sock_diag) does not show it");
	if (d.rx_ring || d.tx_ring)
		return sock_refuse(sd, "a packet ring (PACKET_%s_RING), memory the kernel shares with the program", d.rx_ring ? "RX" : "TX");
	if (d.fanout)
		return sock_refuse(sd, "a member of a packet fanout group (PACKET_FANOUT)");
	if (d.mclist)
		return sock_refuse(sd, "interface memberships (PACKET_ADD_MEMBERSHIP: promiscuous, multicast)");
	if (d.filter)
		return sock_refuse(sd, "a socket filter (SO_ATTACH_FILTER)");
	return 0;
}

int sock_packet_dump(struct sock_dump *sd)
{
	Ckpt__Img__PacketSock *p;
	struct sockaddr_ll sll;
	socklen_t len = sizeof(sll);
	char name[IF_NAMESIZE];
	int r;

	if (sd->s->type != SOCK_RAW && sd->s->type != SOCK_DGRAM)
		return sock_refuse(sd, "packet sockets of type %d (SOCK_PACKET) are not supported", sd->s->type);
	p = calloc(1, sizeof(*p));
	if (!p)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket");
	ckpt__img__packet_sock__init(p);
	sd->s->packet = p;
	r = check_packet(sd);
	if (r < 0)
		return r;
	memset(&sll, 0, sizeof(sll));
	if (getsockname(sd->sk, (struct sockaddr *)&sll, &len) < 0)
		return sock_fail(sd, errno, "getsockname");
	p->has_ifindex = p->has_proto = true;
	p->ifindex = sll.sll_ifindex;
	p->proto = sll.sll_protocol;
	if (p->ifindex) {
		/* the worker is in the container's network namespace */
		if (!if_indextoname((unsigned)p->ifindex, name))
			return sock_refuse(sd, "bound to interface %d, which has no name", p->ifindex);
		p->ifname = strdup(name);
		if (!p->ifname)
			return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket");
	}
	return 0;
}

void sock_packet_free(Ckpt__Img__Socket *s)
{
	if (!s->packet)
		return;
	free(s->packet->ifname);
	free(s->packet);
	s->packet = NULL;
}

static int restore_fail(struct sock_restore *sr, int err, const char *what)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_KERNEL, err, "%s: %s", sock_name(sr->f, name, sizeof(name)), what);
}

/* A new packet socket listens to its protocol on every interface; bind()
 * where it was bound to one, or to another protocol. */
static int restore_bind(struct sock_restore *sr, int sk)
{
	const Ckpt__Img__PacketSock *p = sr->s->packet;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = (uint16_t)p->proto };
	char why[64 + IF_NAMESIZE];

	if (!p->ifindex && p->proto == (uint32_t)sr->s->protocol)
		return 0;
	if (p->ifindex) {
		sll.sll_ifindex = (int)if_nametoindex(p->ifname);
		if (!sll.sll_ifindex) {
			snprintf(why, sizeof(why), "its interface %s is not in the container's network", p->ifname);
			return restore_fail(sr, errno, why);
		}
	}
	return bind(sk, (struct sockaddr *)&sll, sizeof(sll)) < 0 ? restore_fail(sr, errno, "bind") : 0;
}

int sock_packet_restore(struct sock_restore *sr)
{
	_cleanup_close_ int sk = -1;
	int r;

	sk = socket(AF_PACKET, sr->s->type | SOCK_CLOEXEC, sr->s->protocol);
	if (sk < 0)
		return restore_fail(sr, errno, "socket");
	r = sock_opts_restore(sr, sk, SOPT_EARLY);
	if (r >= 0)
		r = restore_bind(sr, sk);
	if (r >= 0)
		r = sock_opts_restore(sr, sk, SOPT_LATE);
	return r < 0 ? r : TAKE_FD(sk);
}
