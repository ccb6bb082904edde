// SPDX-License-Identifier: GPL-2.0-or-later
/* The datagrams waiting in a UDP socket. The checkpoint peeks at each of
 * them with SO_PEEK_OFF (so nothing is taken from a socket that lives on);
 * restart sends each again from its sender's address and port, through a
 * raw socket (IP_HDRINCL) on the loopback of the container's network
 * namespace, to the address it was sent to, and checks they all arrived.
 *
 * Not kept, as a network may lose datagrams: those of a socket that shares
 * its port (SO_REUSEADDR, SO_REUSEPORT: another socket could take them
 * back) or that receives GRO batches (UDP_GRO: one entry is many
 * datagrams). What the kernel notes on arrival (the time, TTL, TOS, the
 * interface) is the requeue's. */
#include "sock_dgram.h"
#include "cr_limits.h"
#include "inet_csum.h"
#include "macro.h"
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DGRAM_BUF 65536

static int get_int(int sk, int level, int opt, int *ret)
{
	socklen_t len = sizeof(*ret);

	return getsockopt(sk, level, opt, ret, &len) < 0 ? -errno : 0;
}

static bool queue_kept(int sk)
{
	int addr = 0, port = 0, gro = 0;

	get_int(sk, SOL_SOCKET, SO_REUSEADDR, &addr);
	get_int(sk, SOL_SOCKET, SO_REUSEPORT, &port);
	get_int(sk, SOL_UDP, UDP_GRO, &gro);
	return !addr && !port && !gro;
}

static void save_sockaddr(const struct sockaddr_storage *ss, ProtobufCBinaryData *a, uint32_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		memcpy(a->data, &in->sin_addr, 4);
		a->len = 4;
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		memcpy(a->data, &in6->sin6_addr, 16);
		a->len = 16;
		*port = ntohs(in6->sin6_port);
	}
}

/* The destination the program can see (IP_PKTINFO, IPV6_RECVPKTINFO). */
static void save_dst(struct msghdr *m, ProtobufCBinaryData *dst)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(dst->data, &pi.ipi_addr, 4);
			dst->len = 4;
		} else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(dst->data, &pi.ipi6_addr, 16);
			dst->len = 16;
		}
	}
}

static Ckpt__Img__Datagram *new_dgram(const void *data, size_t len)
{
	Ckpt__Img__Datagram *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	ckpt__img__datagram__init(g);
	g->data.data = malloc(len ? len : 1);
	g->src_addr.data = calloc(1, 16);
	g->dst_addr.data = calloc(1, 16);
	if (!g->data.data || !g->src_addr.data || !g->dst_addr.data) {
		free(g->data.data);
		free(g->src_addr.data);
		free(g->dst_addr.data);
		free(g);
		return NULL;
	}
	memcpy(g->data.data, data, len);
	g->data.len = len;
	return g;
}

static int add_dgram(struct sock_dump *sd, Ckpt__Img__InetSock *in, struct msghdr *m, size_t n, size_t *bytes)
{
	const struct sockaddr_storage *from = m->msg_name;
	Ckpt__Img__Datagram *g, **v;

	if (m->msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return sock_refuse(sd, "a queued datagram larger than %d bytes", DGRAM_BUF);
	if (m->msg_namelen < sizeof(struct sockaddr_in) || (from->ss_family != AF_INET && from->ss_family != AF_INET6))
		return sock_refuse(sd, "a queued datagram without a sender address");
	*bytes += n;
	if (in->n_queue >= CR_DGRAM_MAX_QUEUE || *bytes > CR_DGRAM_MAX_BYTES)
		return sock_refuse(sd, "more than %u datagrams or %u bytes waiting to be read", CR_DGRAM_MAX_QUEUE, CR_DGRAM_MAX_BYTES);
	v = realloc(in->queue, (in->n_queue + 1) * sizeof(*v));
	if (!v)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "datagrams");
	in->queue = v;
	g = new_dgram(m->msg_iov->iov_base, n);
	if (!g)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "datagrams");
	in->queue[in->n_queue++] = g;
	save_sockaddr(from, &g->src_addr, &g->src_port);
	save_dst(m, &g->dst_addr);
	g->has_dst_addr = g->dst_addr.len != 0;
	return 0;
}

static int peek_all(struct sock_dump *sd, Ckpt__Img__InetSock *in, char *buf)
{
	size_t bytes = 0;

	for (;;) {
		struct sockaddr_storage from;
		char cbuf[512];
		struct iovec iov = { buf, DGRAM_BUF };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t n;
		int r;

		memset(&from, 0, sizeof(from));
		n = recvmsg(sd->sk, &m, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return sock_fail(sd, errno, "peeking at its datagrams");
		r = add_dgram(sd, in, &m, (size_t)n, &bytes);
		if (r < 0)
			return r;
	}
}

int dgram_queue_dump(struct sock_dump *sd)
{
	_cleanup_free_ char *buf = NULL;
	int old, zero = 0, r;

	if (!queue_kept(sd->sk))
		return 0;
	if (get_int(sd->sk, SOL_SOCKET, SO_PEEK_OFF, &old) < 0)
		return sock_fail(sd, errno, "SO_PEEK_OFF");
	buf = malloc(DGRAM_BUF);
	if (!buf)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "datagrams");
	if (setsockopt(sd->sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0)
		return sock_fail(sd, errno, "SO_PEEK_OFF");
	r = peek_all(sd, sd->s->inet, buf);
	/* the program's own peek offset, whatever happened */
	if (setsockopt(sd->sk, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old)) < 0 && r >= 0)
		r = sock_fail(sd, errno, "SO_PEEK_OFF");
	return r;
}

void dgram_queue_free(Ckpt__Img__InetSock *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n_queue; i++) {
		free(in->queue[i]->data.data);
		free(in->queue[i]->src_addr.data);
		free(in->queue[i]->dst_addr.data);
		free(in->queue[i]);
	}
	free(in->queue);
	in->queue = NULL;
	in->n_queue = 0;
}

/* --- restart --------------------------------------------------------------- */

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

struct requeue {
	struct sock_restore *sr;
	int raw4, raw6;
	uint16_t port;                /* the socket's own */
	uint8_t local[16];            /* its own address; 0: wildcard */
	size_t local_len;
	char pkt[sizeof(struct ip6_hdr) + sizeof(struct udphdr) + CR_DGRAM_MAX_DATA6];
};

static bool unicast4(const uint8_t *a)
{
	return a[0] < 224 && (a[0] | a[1] | a[2] | a[3]);
}

static bool unicast6(const uint8_t *a)
{
	static const uint8_t zero[16];

	return a[0] != 0xff && memcmp(a, zero, 16) != 0;
}

/* Where the datagram goes: where it went if the program could see that,
 * else the socket's own address, else the loopback. */
static void pick_dst(const struct requeue *q, const Ckpt__Img__Datagram *g, bool v4, uint8_t *dst)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 }, lo6[16] = { [15] = 1 };
	const uint8_t *d = g->has_dst_addr ? g->dst_addr.data : NULL;
	size_t dlen = g->has_dst_addr ? g->dst_addr.len : 0;

	if (v4) {
		if (dlen == 16 && memcmp(d, v4mapped, 12) == 0)
			d += 12, dlen = 4;
		if (dlen == 4 && unicast4(d)) {
			memcpy(dst, d, 4);
		} else if (q->local_len == 16 && memcmp(q->local, v4mapped, 12) == 0 && unicast4(q->local + 12)) {
			memcpy(dst, q->local + 12, 4);
		} else if (q->local_len == 4 && unicast4(q->local)) {
			memcpy(dst, q->local, 4);
		} else {
			memcpy(dst, lo4, 4);
		}
		return;
	}
	if (dlen == 16 && unicast6(d))
		memcpy(dst, d, 16);
	else if (q->local_len == 16 && unicast6(q->local))
		memcpy(dst, q->local, 16);
	else
		memcpy(dst, lo6, 16);
}

/* Sent on the loopback only: a packet with another host's address as its
 * source never leaves the namespace, whatever its destination. */
static int raw_socket(int family)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int send4(struct requeue *q, const Ckpt__Img__Datagram *g, const uint8_t *src)
{
	struct iphdr *ip = (void *)q->pkt;
	struct udphdr *u = (void *)(q->pkt + sizeof(*ip));
	struct sockaddr_in to = { .sin_family = AF_INET };
	size_t ulen = sizeof(*u) + g->data.len;
	uint32_t sum;

	memset(q->pkt, 0, sizeof(*ip) + sizeof(*u));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + ulen));
	memcpy(&ip->saddr, src, 4);
	pick_dst(q, g, true, (uint8_t *)&ip->daddr);
	u->source = htons((uint16_t)g->src_port);
	u->dest = htons(q->port);
	u->len = htons((uint16_t)ulen);
	memcpy(q->pkt + sizeof(*ip) + sizeof(*u), g->data.data, g->data.len);
	sum = csum_add(0, &ip->saddr, 8) + IPPROTO_UDP + (uint32_t)ulen;
	u->check = csum_fold(csum_add(sum, u, ulen));
	to.sin_addr.s_addr = ip->daddr;
	if (q->raw4 < 0 && (q->raw4 = raw_socket(AF_INET)) < 0)
		return q->raw4;
	return sendto(q->raw4, q->pkt, sizeof(*ip) + ulen, 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
}

static int send6(struct requeue *q, const Ckpt__Img__Datagram *g)
{
	struct ip6_hdr *ip = (void *)q->pkt;
	struct udphdr *u = (void *)(q->pkt + sizeof(*ip));
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	size_t ulen = sizeof(*u) + g->data.len;
	uint32_t sum;

	memset(q->pkt, 0, sizeof(*ip) + sizeof(*u));
	ip->ip6_flow = htonl(6u << 28);
	ip->ip6_plen = htons((uint16_t)ulen);
	ip->ip6_nxt = IPPROTO_UDP;
	ip->ip6_hlim = 64;
	memcpy(&ip->ip6_src, g->src_addr.data, 16);
	pick_dst(q, g, false, (uint8_t *)&ip->ip6_dst);
	u->source = htons((uint16_t)g->src_port);
	u->dest = htons(q->port);
	u->len = htons((uint16_t)ulen);
	memcpy(q->pkt + sizeof(*ip) + sizeof(*u), g->data.data, g->data.len);
	sum = csum_add(0, &ip->ip6_src, 32) + IPPROTO_UDP + (uint32_t)ulen;
	u->check = csum_fold(csum_add(sum, u, ulen));
	to.sin6_addr = ip->ip6_dst;
	if (q->raw6 < 0 && (q->raw6 = raw_socket(AF_INET6)) < 0)
		return q->raw6;
	return sendto(q->raw6, q->pkt, sizeof(*ip) + ulen, 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
}

static int send_one(struct requeue *q, const Ckpt__Img__Datagram *g)
{
	if (g->src_addr.len == 4)
		return send4(q, g, g->src_addr.data);
	if (memcmp(g->src_addr.data, v4mapped, 12) == 0)   /* an IPv4 sender of a dual-stack socket */
		return send4(q, g, g->src_addr.data + 12);
	return send6(q, g);
}

/* Datagrams in sk's queue now (peeked, one by one). */
static int count_queue(int sk, char *buf, size_t *ret)
{
	int zero = 0, off = -1;
	size_t n = 0;

	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0)
		return -errno;
	while (recv(sk, buf, DGRAM_BUF, MSG_PEEK | MSG_DONTWAIT) >= 0)
		n++;
	(void)setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
	*ret = n;
	return 0;
}

/* Loopback delivery is done in the sender's softirq, nearly always before
 * sendto() returns; allow it a second. */
static int wait_queued(struct requeue *q, int sk, size_t want)
{
	struct timespec ts = { 0, 2000000 };
	size_t n = 0;
	int r;

	for (int i = 0; i < 500; i++) {
		r = count_queue(sk, q->pkt, &n);
		if (r < 0 || n >= want)
			break;
		nanosleep(&ts, NULL);
	}
	if (r < 0)
		return r;
	return n == want ? 0 : -EAGAIN;
}

static int requeue_all(struct requeue *q, int sk)
{
	const Ckpt__Img__InetSock *in = q->sr->s->inet;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	ProtobufCBinaryData local = { 0, q->local };
	uint32_t port;
	int r = 0;

	memset(&ss, 0, sizeof(ss));
	if (getsockname(sk, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	save_sockaddr(&ss, &local, &port);
	q->local_len = local.len;
	q->port = (uint16_t)port;
	for (size_t i = 0; i < in->n_queue && r >= 0; i++)
		r = send_one(q, in->queue[i]);
	return r < 0 ? r : wait_queued(q, sk, in->n_queue);
}

int dgram_queue_restore(struct sock_restore *sr, int sk)
{
	struct requeue *q;
	int rcvbuf = 0, big = 64 << 20, r;
	char name[96];

	if (!sr->s->inet->n_queue)
		return 0;
	q = malloc(sizeof(*q));
	if (!q)
		return cr_fail(sr->ctx->err, CR_ERR_INTERNAL, ENOMEM, "datagrams");
	q->sr = sr;
	q->raw4 = q->raw6 = -1;
	/* the requeued copies may weigh more than the originals did */
	r = get_int(sk, SOL_SOCKET, SO_RCVBUF, &rcvbuf);
	if (r >= 0 && setsockopt(sk, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		r = -errno;
	if (r >= 0)
		r = requeue_all(q, sk);
	rcvbuf /= 2;
	if (r >= 0 && setsockopt(sk, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		r = -errno;
	if (q->raw4 >= 0)
		close(q->raw4);
	if (q->raw6 >= 0)
		close(q->raw6);
	free(q);
	if (r == -EAGAIN)
		return cr_fail(sr->ctx->err, CR_ERR_KERNEL, 0, "%s: its %zu datagrams did not all arrive when sent again",
			       sock_name(sr->f, name, sizeof(name)), sr->s->inet->n_queue);
	return r < 0 ? cr_fail(sr->ctx->err, CR_ERR_KERNEL, -r, "%s: sending its datagrams again", sock_name(sr->f, name, sizeof(name))) : 0;
}
