// SPDX-License-Identifier: GPL-2.0-or-later
/* TCP sockets at restart (sock_tcp.c saves them). An established
 * connection is rebuilt in repair mode: bound, its sequence numbers set,
 * "connected" without a handshake, its options, queues and window put
 * back. It stays in repair mode, silent, until every socket of the image
 * exists (sock_tcp_restore_end): a peer restored later would otherwise
 * answer its first packet with a reset. */
#include "sock.h"
#include "macro.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>

static int fail(struct sock_restore *sr, int err, const char *what)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_KERNEL, err, "%s: %s", sock_name(sr->f, name, sizeof(name)), what);
}

static const Ckpt__Img__SockOpt *saved_opt(const Ckpt__Img__Socket *s, int level, int opt)
{
	for (size_t i = 0; i < s->n_opts; i++)
		if (s->opts[i]->level == level && s->opts[i]->name == opt)
			return s->opts[i];
	return NULL;
}

/* SO_REUSEADDR as the program left it (validate_socket checked its size). */
static int saved_reuse(const Ckpt__Img__Socket *s)
{
	const Ckpt__Img__SockOpt *o = saved_opt(s, SOL_SOCKET, SO_REUSEADDR);
	int v = 0;

	if (o)
		memcpy(&v, o->value.data, sizeof(v));
	return v;
}

static int bind_src(struct sock_restore *sr, int sk)
{
	const Ckpt__Img__InetSock *in = sr->s->inet;
	struct sockaddr_storage ss;
	socklen_t len;

	sock_inet_sockaddr(sr->s->family, &in->src_addr, in->src_port, &ss, &len);
	if (bind(sk, (struct sockaddr *)&ss, len) < 0)
		return fail(sr, errno, "binding it to its address again");
	return 0;
}

/* A listener, or a socket only bound. Connections restored before it may
 * already hold its port (it was theirs through it): bind with address
 * reuse, which never lets two listeners share a port, then leave
 * SO_REUSEADDR as the program had it. */
static int restore_bound(struct sock_restore *sr, int sk)
{
	const Ckpt__Img__TcpSock *t = sr->s->inet->tcp;
	int one = 1, reuse = saved_reuse(sr->s), r;

	if (!sr->s->inet->src_port && t->state != TCP_LISTEN)
		return 0;
	if (setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return fail(sr, errno, "SO_REUSEADDR");
	r = bind_src(sr, sk);
	if (r >= 0 && t->state == TCP_LISTEN && listen(sk, (int)t->backlog) < 0)
		r = fail(sr, errno, "listen");
	if (r >= 0 && setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof(reuse)) < 0)
		r = fail(sr, errno, "SO_REUSEADDR");
	return r;
}

static int set_int(struct sock_restore *sr, int sk, int opt, int val, const char *what)
{
	if (setsockopt(sk, IPPROTO_TCP, opt, &val, sizeof(val)) < 0)
		return fail(sr, errno, what);
	return 0;
}

static int set_queue_seq(struct sock_restore *sr, int sk, int queue, uint32_t seq)
{
	int r = set_int(sr, sk, TCP_REPAIR_QUEUE, queue, "TCP_REPAIR_QUEUE");

	if (r >= 0 && setsockopt(sk, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)) < 0)
		r = fail(sr, errno, "TCP_QUEUE_SEQ");
	return r;
}

/* Bytes into one queue in repair mode. The kernel takes the receive
 * queue as one buffer per call: halve the pieces when it can't. Send
 * queue bytes all go in as sent: the peer gets them by retransmission,
 * once repair mode is off. */
static int fill_queue(struct sock_restore *sr, int sk, int queue, const ProtobufCBinaryData *q)
{
	size_t off = 0, chunk = q->len;
	ssize_t n;
	int r;

	if (!q->len)
		return 0;
	r = set_int(sr, sk, TCP_REPAIR_QUEUE, queue, "TCP_REPAIR_QUEUE");
	while (r >= 0 && off < q->len) {
		n = send(sk, q->data + off, MIN(chunk, q->len - off), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == ENOMEM || errno == EAGAIN) && chunk > 1024) {
			chunk /= 2;
		} else {
			r = fail(sr, n < 0 ? errno : ENOSPC, queue == TCP_SEND_QUEUE ? "putting its send queue back"
										: "putting its receive queue back");
		}
	}
	return r;
}

static int set_options(struct sock_restore *sr, int sk, const Ckpt__Img__TcpSock *t)
{
	struct tcp_repair_opt o[4];
	int n = 0;

	o[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, t->mss };
	if (t->opts & TCPI_OPT_SACK)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (t->opts & TCPI_OPT_WSCALE)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW, t->snd_wscale | (t->rcv_wscale << 16) };
	if (t->opts & TCPI_OPT_TIMESTAMPS)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, n * sizeof(o[0])) < 0)
		return fail(sr, errno, "TCP_REPAIR_OPTIONS");
	if ((t->opts & TCPI_OPT_TIMESTAMPS) && set_int(sr, sk, TCP_TIMESTAMP, (int)t->timestamp, "TCP_TIMESTAMP") < 0)
		return -EINVAL;
	return 0;
}

static int set_window(struct sock_restore *sr, int sk, const Ckpt__Img__TcpSock *t)
{
	struct tcp_repair_window w = {
		.snd_wl1 = t->snd_wl1, .snd_wnd = t->snd_wnd, .max_window = t->max_window,
		.rcv_wnd = t->rcv_wnd, .rcv_wup = t->rcv_wup,
	};

	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0)
		return fail(sr, errno, "TCP_REPAIR_WINDOW");
	return 0;
}

/* The fd stays the worker's until restart ends (the pool's). */
static int keep_repaired(struct sock_restore *sr, int sk)
{
	struct restore_ctx *ctx = sr->ctx;
	struct sock_repaired *v = realloc(ctx->repaired, (ctx->nrepaired + 1) * sizeof(*v));

	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "repaired connections");
	ctx->repaired = v;
	v[ctx->nrepaired++] = (struct sock_repaired){ .fd = sk, .reuse = saved_reuse(sr->s) };
	return 0;
}

static int restore_established(struct sock_restore *sr, int sk)
{
	const Ckpt__Img__InetSock *in = sr->s->inet;
	const Ckpt__Img__TcpSock *t = in->tcp;
	struct sockaddr_storage ss;
	socklen_t len;
	int r;

	r = set_int(sr, sk, TCP_REPAIR, TCP_REPAIR_ON, "turning TCP repair mode on");
	if (r >= 0)
		r = bind_src(sr, sk);
	/* the queues' first bytes: what was read last, what was acked last */
	if (r >= 0)
		r = set_queue_seq(sr, sk, TCP_RECV_QUEUE, t->rcv_seq - (uint32_t)t->rcvq.len);
	if (r >= 0)
		r = set_queue_seq(sr, sk, TCP_SEND_QUEUE, t->snd_seq - (uint32_t)t->sndq.len);
	if (r >= 0) {
		sock_inet_sockaddr(sr->s->family, &in->dst_addr, in->dst_port, &ss, &len);
		if (connect(sk, (struct sockaddr *)&ss, len) < 0)
			r = fail(sr, errno, "connecting it again in repair mode");
	}
	if (r >= 0)
		r = set_options(sr, sk, t);
	if (r >= 0)
		r = fill_queue(sr, sk, TCP_RECV_QUEUE, &t->rcvq);
	if (r >= 0)
		r = fill_queue(sr, sk, TCP_SEND_QUEUE, &t->sndq);
	if (r >= 0)
		r = set_int(sr, sk, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "TCP_REPAIR_QUEUE");
	if (r >= 0)
		r = set_window(sr, sk, t);
	if (r >= 0 && t->shut_rd && shutdown(sk, SHUT_RD) < 0)
		r = fail(sr, errno, "shutdown(SHUT_RD)");
	if (r >= 0)
		r = keep_repaired(sr, sk);
	return r;
}

/* SO_ATTACH_FILTER with the saved classic BPF program. */
static int attach_filter(struct sock_restore *sr, int sk)
{
	const ProtobufCBinaryData *f = &sr->s->inet->filter;
	struct sock_fprog prog;

	if (!sr->s->inet->has_filter || !f->len)
		return 0;
	prog.len = (unsigned short)(f->len / sizeof(struct sock_filter));
	prog.filter = (struct sock_filter *)f->data;
	if (setsockopt(sk, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return fail(sr, errno, "SO_ATTACH_FILTER");
	return 0;
}

int sock_tcp_restore(struct sock_restore *sr)
{
	_cleanup_close_ int sk = socket(sr->s->family, SOCK_STREAM | SOCK_CLOEXEC, sr->s->protocol);
	int r;

	if (!sr->s->inet->tcp) {
		char name[96];

		return cr_fail(sr->ctx->err, CR_ERR_BAD_IMAGE, 0, "%s: no TCP state", sock_name(sr->f, name, sizeof(name)));
	}
	if (sk < 0)
		return fail(sr, errno, "socket");
	r = sock_opts_restore(sr, sk, SOPT_EARLY);
	if (r >= 0)
		r = attach_filter(sr, sk);
	if (r >= 0)
		r = sr->s->inet->tcp->state == TCP_ESTABLISHED ? restore_established(sr, sk) : restore_bound(sr, sk);
	if (r >= 0)
		r = sock_opts_restore(sr, sk, SOPT_LATE);
	return r < 0 ? r : TAKE_FD(sk);
}

void sock_tcp_restore_end(struct restore_ctx *ctx, bool resume)
{
	sock_repaired_end(&ctx->repaired, &ctx->nrepaired, resume);
}
