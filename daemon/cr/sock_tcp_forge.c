// SPDX-License-Identifier: GPL-2.0-or-later
/* The FIN of a peer outside the container, sent again by the restart.
 *
 * A connection in CLOSE_WAIT, LAST_ACK or CLOSING had its peer's FIN; the
 * restart makes it as it was before the FINs (sock_tcp_restore.c), and a
 * peer inside the container sends it again. A peer outside (a client
 * through --publish, in FIN_WAIT2, CLOSING or TIME_WAIT) has it
 * acknowledged and never sends it again, so the restart forges the
 * segment the peer sent: FIN|ACK from the peer's address and port, at the
 * sequence number after the last byte received, acknowledging what the
 * peer had acknowledged (never our own FIN), with the window it had
 * announced. The order of the FINs is the one they had: before ours is
 * sent again for LAST_ACK (CLOSE_WAIT, then shutdown: LAST_ACK), after it
 * for CLOSING (FIN_WAIT1, then the peer's FIN: CLOSING), so the state and
 * every sequence number are those of before. It goes through a raw socket on the
 * container's loopback: a packet with another host's source never leaves
 * the namespace. No timestamp option: the connection's last timestamp
 * from the peer is not known, and a segment without one passes the PAWS
 * check, which a wrong one would fail. */
#include "inet_csum.h"
#include "sock.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void fill_tcp(struct tcphdr *th, const struct tcp_forge *f)
{
	memset(th, 0, sizeof(*th));
	th->source = htons(f->peer_port);
	th->dest = htons(f->own_port);
	th->seq = htonl(f->seq);
	th->ack_seq = htonl(f->ack);
	th->doff = sizeof(*th) / 4;
	th->fin = 1;
	th->ack = 1;
	th->window = htons(f->win);
}

static int send_raw(int family, const void *pkt, size_t len, const struct sockaddr *to, socklen_t tolen)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW), r = 0;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0 || sendto(fd, pkt, len, 0, to, tolen) != (ssize_t)len)
		r = -errno;
	close(fd);
	return r;
}

static int forge4(const struct tcp_forge *f, const uint8_t *peer, const uint8_t *own)
{
	struct { struct iphdr ip; struct tcphdr th; } p;
	struct sockaddr_in to = { .sin_family = AF_INET };

	memset(&p.ip, 0, sizeof(p.ip));
	p.ip.version = 4;
	p.ip.ihl = 5;
	p.ip.ttl = 64;
	p.ip.protocol = IPPROTO_TCP;
	p.ip.tot_len = htons(sizeof(p));
	memcpy(&p.ip.saddr, peer, 4);
	memcpy(&p.ip.daddr, own, 4);
	fill_tcp(&p.th, f);
	p.th.check = csum_fold(csum_add(csum_add(0, &p.ip.saddr, 8) + IPPROTO_TCP + sizeof(p.th), &p.th, sizeof(p.th)));
	to.sin_addr.s_addr = p.ip.daddr;
	return send_raw(AF_INET, &p, sizeof(p), (struct sockaddr *)&to, sizeof(to));
}

static int forge6(const struct tcp_forge *f)
{
	struct { struct ip6_hdr ip; struct tcphdr th; } p;
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };

	memset(&p.ip, 0, sizeof(p.ip));
	p.ip.ip6_flow = htonl(6u << 28);
	p.ip.ip6_plen = htons(sizeof(p.th));
	p.ip.ip6_nxt = IPPROTO_TCP;
	p.ip.ip6_hlim = 64;
	memcpy(&p.ip.ip6_src, f->peer, 16);
	memcpy(&p.ip.ip6_dst, f->own, 16);
	fill_tcp(&p.th, f);
	p.th.check = csum_fold(csum_add(csum_add(0, &p.ip.ip6_src, 32) + IPPROTO_TCP + sizeof(p.th), &p.th, sizeof(p.th)));
	to.sin6_addr = p.ip.ip6_dst;
	return send_raw(AF_INET6, &p, sizeof(p), (struct sockaddr *)&to, sizeof(to));
}

int sock_tcp_forge_fin(const struct tcp_forge *f)
{
	if (f->family == AF_INET)
		return forge4(f, f->peer, f->own);
	/* an IPv4 peer of a dual-stack socket */
	if (!memcmp(f->peer, v4mapped, 12) && !memcmp(f->own, v4mapped, 12))
		return forge4(f, f->peer + 12, f->own + 12);
	return forge6(f);
}
