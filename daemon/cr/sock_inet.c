// SPDX-License-Identifier: GPL-2.0-or-later
/* Internet sockets (AF_INET, AF_INET6): the addresses every kind has, then
 * the kind's part (TCP in sock_tcp.c, datagram and raw in sock_dgram.c). */
#include "sock.h"
#include "macro.h"
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A sockaddr_in or sockaddr_in6 into its address bytes and port. */
static void save_addr(const struct sockaddr_storage *ss, ProtobufCBinaryData *addr, uint32_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		addr->len = 4;
		memcpy(addr->data, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		addr->len = 16;
		memcpy(addr->data, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	} else {
		addr->len = 0;   /* unbound, or not connected */
		*port = 0;
	}
}

static int read_addrs(struct sock_dump *sd, Ckpt__Img__InetSock *in)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	in->src_addr.data = calloc(1, 16);
	in->dst_addr.data = calloc(1, 16);
	if (!in->src_addr.data || !in->dst_addr.data)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket addresses");
	memset(&ss, 0, sizeof(ss));
	if (getsockname(sd->sk, (struct sockaddr *)&ss, &len) < 0)
		return sock_fail(sd, errno, "getsockname");
	save_addr(&ss, &in->src_addr, &in->src_port);
	memset(&ss, 0, sizeof(ss));
	len = sizeof(ss);
	if (getpeername(sd->sk, (struct sockaddr *)&ss, &len) < 0 && errno != ENOTCONN)
		return sock_fail(sd, errno, "getpeername");
	save_addr(&ss, &in->dst_addr, &in->dst_port);
	in->has_src_addr = in->has_src_port = in->has_dst_addr = in->has_dst_port = true;
	return 0;
}

int sock_inet_dump(struct sock_dump *sd)
{
	Ckpt__Img__InetSock *in = calloc(1, sizeof(*in));
	int r;

	if (!in)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket");
	ckpt__img__inet_sock__init(in);
	sd->s->inet = in;
	r = read_addrs(sd, in);
	if (r < 0)
		return r;
	if (sd->s->type == SOCK_STREAM)
		return sock_tcp_dump(sd);
	return sock_dgram_dump(sd);
}

void sock_inet_free(Ckpt__Img__Socket *s)
{
	if (!s->inet)
		return;
	sock_tcp_free(s);
	sock_dgram_free(s);
	free(s->inet->src_addr.data);
	free(s->inet->dst_addr.data);
	free(s->inet);
	s->inet = NULL;
}

void sock_inet_sockaddr(int family, const ProtobufCBinaryData *addr, uint32_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (addr->len == 4)
			memcpy(&in->sin_addr, addr->data, 4);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (addr->len == 16)
			memcpy(&in6->sin6_addr, addr->data, 16);
		*len = sizeof(*in6);
	}
}

int sock_inet_restore(struct sock_restore *sr)
{
	if (sr->s->type == SOCK_STREAM)
		return sock_tcp_restore(sr);
	return sock_dgram_restore(sr);
}
