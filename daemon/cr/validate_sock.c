// SPDX-License-Identifier: GPL-2.0-or-later
/* Pure checks of a socket's record (validate.h): the part every family
 * shares, then its family's part. */
#include "validate.h"
#include "sock_optab.h"
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/filter.h>

static const char *check_opt(int family, const Ckpt__Img__SockOpt *o)
{
	const struct sock_opt_desc *d = sock_opt_find(family, o->level, o->name);

	if (!d)
		return "a socket option restart doesn't set";
	if (!o->value.data && o->value.len)
		return "a socket option without its value";
	switch (d->kind) {
	case SOPT_STRING:
		if (o->value.len > d->len || memchr(o->value.data, 0, o->value.len))
			return "a socket option whose name is too long or holds a NUL";
		return NULL;
	default:
		return o->value.len == d->len ? NULL : "a socket option of the wrong size";
	}
}

static const char *check_tcp_established(const Ckpt__Img__InetSock *in, const Ckpt__Img__TcpSock *t)
{
	if (!in->src_port || !in->dst_port || !in->has_dst_addr || !in->dst_addr.len)
		return "a TCP connection without both of its addresses";
	if (!t->has_snd_seq || !t->has_rcv_seq || !t->has_mss || !t->has_opts || !t->has_snd_wl1 || !t->has_snd_wnd ||
	    !t->has_max_window || !t->has_rcv_wnd || !t->has_rcv_wup)
		return "a TCP connection without its sequence numbers, options or window";
	if (t->sndq.len > CR_TCP_MAX_QUEUE || t->rcvq.len > CR_TCP_MAX_QUEUE)
		return "a TCP queue too large";
	if ((t->sndq.len && !t->sndq.data) || (t->rcvq.len && !t->rcvq.data))
		return "a TCP queue without its bytes";
	if (t->opts & ~(uint32_t)(TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE))
		return "a TCP option restart doesn't set";
	if ((t->opts & TCPI_OPT_WSCALE) && (!t->has_snd_wscale || !t->has_rcv_wscale || t->snd_wscale > 14 || t->rcv_wscale > 14))
		return "a TCP window scale out of range";
	if ((t->opts & TCPI_OPT_TIMESTAMPS) && !t->has_timestamp)
		return "a TCP connection with timestamps but no clock";
	if (t->mss < 8 || t->mss > 65535)
		return "a TCP MSS out of range";
	return NULL;
}

static const char *check_tcp(int type, const Ckpt__Img__InetSock *in)
{
	const Ckpt__Img__TcpSock *t = in->tcp;

	if (t && type != SOCK_STREAM)
		return "a TCP state on a socket that is not TCP";
	if (!t)   /* sock_tcp_restore refuses a stream socket without one */
		return NULL;
	switch (t->state) {
	case TCP_ESTABLISHED:
		return check_tcp_established(in, t);
	case TCP_LISTEN:
		if (!t->has_backlog || t->backlog > CR_TCP_MAX_BACKLOG)
			return "a listening TCP socket without a backlog in range";
		break;
	case TCP_CLOSE:
		break;
	default:
		return "a TCP socket in a state restart doesn't make";
	}
	if (t->has_snd_seq || t->has_rcv_seq || t->sndq.len || t->rcvq.len || (in->dst_addr.len && in->has_dst_addr) || in->dst_port)
		return "a TCP socket with the state of a connection it is not";
	return NULL;
}

static const char *check_inet(int family, int type, const Ckpt__Img__InetSock *in)
{
	size_t alen = family == AF_INET ? 4 : 16;

	if ((in->has_src_addr && in->src_addr.len && in->src_addr.len != alen) ||
	    (in->has_dst_addr && in->dst_addr.len && in->dst_addr.len != alen))
		return "an address of the wrong size for its family";
	if (in->src_port > 65535 || in->dst_port > 65535)
		return "a port out of range";
	if (in->has_filter && (!in->filter.len || in->filter.len % sizeof(struct sock_filter) ||
			       in->filter.len / sizeof(struct sock_filter) > CR_SOCK_FILTER_MAX || !in->filter.data))
		return "a socket filter of the wrong size";
	return check_tcp(type, in);
}

static const char *check_family_part(const Ckpt__Img__Socket *s)
{
	bool inet = s->family == AF_INET || s->family == AF_INET6;

	if (!!s->unx != (s->family == AF_UNIX) || !!s->inet != inet || !!s->nl != (s->family == AF_NETLINK) ||
	    !!s->packet != (s->family == AF_PACKET))
		return "a socket whose state is not its family's";
	if (s->inet)
		return check_inet(s->family, s->type, s->inet);
	return NULL;
}

const char *validate_socket(const Ckpt__Img__Socket *s)
{
	const char *why;

	if (!s)
		return "a socket without its state";
	switch (s->family) {
	case AF_UNIX: case AF_INET: case AF_INET6: case AF_NETLINK: case AF_PACKET:
		break;
	default:
		return "a socket of an unknown family";
	}
	switch (s->type) {
	case SOCK_STREAM: case SOCK_DGRAM: case SOCK_SEQPACKET: case SOCK_RAW:
		break;
	default:
		return "a socket of an unknown type";
	}
	if (s->protocol < 0 || s->protocol > 65535)
		return "a socket protocol out of range";
	if (s->n_opts > CR_SOCK_MAX_OPTS)
		return "too many socket options";
	for (size_t i = 0; i < s->n_opts; i++) {
		why = check_opt(s->family, s->opts[i]);
		if (why)
			return why;
	}
	return check_family_part(s);
}
