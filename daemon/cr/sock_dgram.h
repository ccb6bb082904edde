// SPDX-License-Identifier: GPL-2.0-or-later
/* Datagram and raw internet sockets (sock_dgram.c), their multicast
 * groups (sock_dgram_mc.c) and the unread datagrams of UDP sockets
 * (sock_dgram_queue.c). */
#pragma once
#include "sock.h"
#include <netinet/in.h>

enum dgram_kind { DG_NONE, DG_UDP, DG_UDPLITE, DG_PING, DG_RAW };

/* InetSock.shutdown bits, as the kernel's sk_shutdown */
#define SHUTDOWN_RD 1u
#define SHUTDOWN_WR 2u

static inline enum dgram_kind dgram_kind(int family, int type, int protocol)
{
	if (type == SOCK_RAW)
		return protocol >= 0 && protocol < 256 ? DG_RAW : DG_NONE;
	if (type != SOCK_DGRAM)
		return DG_NONE;
	if (protocol == IPPROTO_UDP)
		return DG_UDP;
	if (protocol == IPPROTO_UDPLITE)
		return DG_UDPLITE;
	if ((family == AF_INET && protocol == IPPROTO_ICMP) || (family == AF_INET6 && protocol == IPPROTO_ICMPV6))
		return DG_PING;
	return DG_NONE;
}

int dgram_queue_dump(struct sock_dump *sd);
void dgram_queue_free(Ckpt__Img__InetSock *in);
int dgram_mc_dump(struct sock_dump *sd);
void dgram_mc_free(Ckpt__Img__InetSock *in);
int dgram_mc_restore(struct sock_restore *sr, int sk);
/* sk: bound and connected as it was */
int dgram_queue_restore(struct sock_restore *sr, int sk);
