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
#include <limits.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <sys/syscall.h>

/* How long a connection made again may take to be queued again. */
#define PEND_WAIT_MS 3000

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

/* The buffer sizes and locks a connection has while its queues go back. */
struct tcp_bufs {
	int snd, rcv;
	int locks;   /* -1: SO_BUF_LOCK unknown to the kernel */
};

static int get_sol(int sk, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(sk, SOL_SOCKET, opt, v, &len) < 0 ? -errno : 0;
}

/* A queue that fit the connection's buffers at checkpoint may not fit
 * them as the kernel charges a repaired one (its own segments, each with
 * its overhead): the send queue is refused past SO_SNDBUF (EAGAIN), the
 * receive queue past SO_RCVBUF (ENOMEM). Both are raised for the time
 * of the fill, from the sizes the program's options gave (set_bufs puts
 * them back). */
static int raise_bufs(struct sock_restore *sr, int sk, const Ckpt__Img__TcpSock *t, struct tcp_bufs *b)
{
	int big = (int)MIN((t->sndq.len + t->rcvq.len) * 2 + (1u << 20), (size_t)INT_MAX / 4);

	if (get_sol(sk, SO_SNDBUF, &b->snd) < 0 || get_sol(sk, SO_RCVBUF, &b->rcv) < 0)
		return fail(sr, errno, "reading its buffer sizes");
	if (get_sol(sk, SO_BUF_LOCK, &b->locks) < 0)
		b->locks = -1;
	if (setsockopt(sk, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0 ||
	    setsockopt(sk, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		return fail(sr, errno, "raising its buffers for its queues");
	return 0;
}

/* The sizes as they read before (the kernel doubles what is set), and
 * the locks: a buffer the program never sized stays TCP's to grow. */
static int set_bufs(struct sock_restore *sr, int sk, const struct tcp_bufs *b)
{
	int snd = b->snd / 2, rcv = b->rcv / 2;

	if (setsockopt(sk, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0 ||
	    setsockopt(sk, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		return fail(sr, errno, "setting its buffer sizes back");
	if (b->locks >= 0 && setsockopt(sk, SOL_SOCKET, SO_BUF_LOCK, &b->locks, sizeof(b->locks)) < 0)
		return fail(sr, errno, "SO_BUF_LOCK");
	return 0;
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

/* The window, as of before the peer's FIN (rcv_nxt without it): the
 * kernel takes no window update beyond what was received. */
static int set_window(struct sock_restore *sr, int sk, const Ckpt__Img__TcpSock *t, uint32_t rcv_nxt)
{
	struct tcp_repair_window w = {
		.snd_wl1 = t->snd_wl1, .snd_wnd = t->snd_wnd, .max_window = t->max_window,
		.rcv_wnd = t->rcv_wnd, .rcv_wup = t->rcv_wup,
	};

	if ((int32_t)(w.rcv_wup - rcv_nxt) > 0)
		w.rcv_wup = rcv_nxt;

	if (setsockopt(sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0)
		return fail(sr, errno, "TCP_REPAIR_WINDOW");
	return 0;
}

/* The peer's FIN as it sent it (sock_tcp_forge.c), for a connection that
 * received it (CLOSE_WAIT, LAST_ACK, CLOSING) from a peer outside. It
 * acknowledges what the peer had, never our own FIN: in LAST_ACK the
 * peer's FIN came first; in CLOSING the FINs crossed, and ours is still
 * unacknowledged. */
static struct tcp_forge *new_forge(const Ckpt__Img__Socket *s)
{
	const Ckpt__Img__InetSock *in = s->inet;
	const Ckpt__Img__TcpSock *t = in->tcp;
	struct tcp_forge *f = calloc(1, sizeof(*f));
	uint32_t win = t->snd_wnd >> ((t->opts & TCPI_OPT_WSCALE) ? t->snd_wscale : 0);

	if (!f)
		return NULL;
	f->family = s->family;
	memcpy(f->peer, in->dst_addr.data, in->dst_addr.len);
	memcpy(f->own, in->src_addr.data, in->src_addr.len);
	f->peer_port = (uint16_t)in->dst_port;
	f->own_port = (uint16_t)in->src_port;
	f->seq = t->rcv_seq - 1;                           /* the FIN's own */
	/* what the peer had acknowledged */
	f->ack = t->snd_seq - (uint32_t)t->sndq.len - (sock_tcp_fin_sent(t->state) ? 1 : 0);
	/* CLOSING: it arrives after our FIN went out, as it did */
	f->after_fin = t->state == TCP_CLOSING;
	f->state = t->state;
	f->win = (uint16_t)MIN(win, 65535u);
	return f;
}

/* The fd stays the worker's until restart ends (the pool's), or until
 * its task has it (files_defer.c). */
static int keep_repaired(struct sock_restore *sr, int sk)
{
	struct restore_ctx *ctx = sr->ctx;
	struct sock_repaired *v = realloc(ctx->repaired, (ctx->nrepaired + 1) * sizeof(*v));
	struct tcp_forge *forge = NULL;

	if (v)
		ctx->repaired = v;
	if (v && sr->s->inet->tcp->peer_fin_outside && !(forge = new_forge(sr->s)))
		v = NULL;
	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "repaired connections");
	v[ctx->nrepaired++] = (struct sock_repaired){
		.fd = sk, .reuse = saved_reuse(sr->s),
		.fin_out = sock_tcp_fin_sent(sr->s->inet->tcp->state),
		.fin_in = sock_tcp_fin_rcvd(sr->s->inet->tcp->state),
		.forge = forge,
	};
	return 0;
}

/* An established connection, or a closing one made as it was before its
 * FINs: the sequence numbers count each FIN sent or received, which the
 * connection is restored without. sock_tcp_restore_close then sends its
 * own FIN again (shutdown in repair mode: the segment TCP sent, or will
 * send once its window lets it) and its peer's FIN comes back from the
 * peer, restored the same way. Both are segments TCP acknowledges or
 * ignores as it would any retransmission. */
static int restore_established(struct sock_restore *sr, int sk)
{
	const Ckpt__Img__InetSock *in = sr->s->inet;
	const Ckpt__Img__TcpSock *t = in->tcp;
	uint32_t rcv_nxt = t->rcv_seq - (sock_tcp_fin_rcvd(t->state) ? 1 : 0);
	uint32_t snd_nxt = t->snd_seq - (sock_tcp_fin_sent(t->state) ? 1 : 0);
	struct sockaddr_storage ss;
	struct tcp_bufs bufs;
	socklen_t len;
	int r;

	r = set_int(sr, sk, TCP_REPAIR, TCP_REPAIR_ON, "turning TCP repair mode on");
	if (r >= 0)
		r = bind_src(sr, sk);
	/* the queues' first bytes: what was read last, what was acked last */
	if (r >= 0)
		r = set_queue_seq(sr, sk, TCP_RECV_QUEUE, rcv_nxt - (uint32_t)t->rcvq.len);
	if (r >= 0)
		r = set_queue_seq(sr, sk, TCP_SEND_QUEUE, snd_nxt - (uint32_t)t->sndq.len);
	if (r >= 0) {
		sock_inet_sockaddr(sr->s->family, &in->dst_addr, in->dst_port, &ss, &len);
		if (connect(sk, (struct sockaddr *)&ss, len) < 0)
			r = fail(sr, errno, "connecting it again in repair mode");
	}
	if (r >= 0)
		r = set_options(sr, sk, t);
	if (r >= 0)
		r = raise_bufs(sr, sk, t, &bufs);
	if (r >= 0)
		r = fill_queue(sr, sk, TCP_RECV_QUEUE, &t->rcvq);
	if (r >= 0)
		r = fill_queue(sr, sk, TCP_SEND_QUEUE, &t->sndq);
	if (r >= 0)
		r = set_bufs(sr, sk, &bufs);
	if (r >= 0)
		r = set_int(sr, sk, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "TCP_REPAIR_QUEUE");
	if (r >= 0)
		r = set_window(sr, sk, t, rcv_nxt);
	if (r >= 0 && t->shut_rd && shutdown(sk, SHUT_RD) < 0)
		r = fail(sr, errno, "shutdown(SHUT_RD)");
	if (r >= 0)
		r = keep_repaired(sr, sk);
	return r;
}

/* A connect in progress: bound where it was, connected again by
 * sock_tcp_restore_close. Its first SYN was lost to the peer as far as
 * the peer knows, or answered by a SYN-ACK the restart drops with the
 * old socket: either way the new SYN, with a new initial sequence
 * number, is what TCP sends when a SYN goes unanswered, and the program
 * sees a connect still in progress, then its outcome. */
static int restore_connecting(struct sock_restore *sr, int sk)
{
	const Ckpt__Img__InetSock *in = sr->s->inet;
	struct restore_ctx *ctx = sr->ctx;
	struct sock_repaired *v;
	int r = restore_bound(sr, sk);

	if (r < 0)
		return r;
	v = realloc(ctx->repaired, (ctx->nrepaired + 1) * sizeof(*v));
	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "repaired connections");
	ctx->repaired = v;
	v += ctx->nrepaired++;
	*v = (struct sock_repaired){ .fd = sk, .connect = true };
	sock_inet_sockaddr(sr->s->family, &in->dst_addr, in->dst_port, &v->dst, &v->dstlen);
	return 0;
}

/* A connection whose peer waited in a listener's accept queue: a fresh
 * socket, bound where it was, connected by sock_tcp_restore_close in the
 * queue's order (sock_tcp_pending.c), then given its unsent bytes, then
 * shut for writing if it had sent its FIN (FIN_WAIT1, FIN_WAIT2). */
static int restore_pending(struct sock_restore *sr, int sk)
{
	const Ckpt__Img__InetSock *in = sr->s->inet;
	const ProtobufCBinaryData *q = &in->tcp->sndq;
	struct restore_ctx *ctx = sr->ctx;
	struct sock_repaired *v;
	uint8_t *sndq = NULL;
	int r = restore_bound(sr, sk);

	if (r < 0)
		return r;
	v = realloc(ctx->repaired, (ctx->nrepaired + 1) * sizeof(*v));
	if (v)
		ctx->repaired = v;
	if (v && q->len && !(sndq = malloc(q->len)))
		v = NULL;
	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "repaired connections");
	if (q->len)
		memcpy(sndq, q->data, q->len);
	v += ctx->nrepaired++;
	*v = (struct sock_repaired){ .fd = sk, .pending = true, .rank = in->tcp->pending_rank,
				     .sndq = sndq, .sndq_len = q->len, .fin_out = sock_tcp_fin_sent(in->tcp->state) };
	sock_inet_sockaddr(sr->s->family, &in->dst_addr, in->dst_port, &v->dst, &v->dstlen);
	return 0;
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
	if (r >= 0) {
		unsigned state = sr->s->inet->tcp->state;

		if (sr->s->inet->tcp->pending_connect)
			r = restore_pending(sr, sk);
		else if (state == TCP_SYN_SENT)
			r = restore_connecting(sr, sk);
		else if (state == TCP_ESTABLISHED || sock_tcp_fin_sent(state) || sock_tcp_fin_rcvd(state))
			r = restore_established(sr, sk);
		else
			r = restore_bound(sr, sk);
	}
	if (r >= 0)
		r = sock_opts_restore(sr, sk, SOPT_LATE);
	return r < 0 ? r : TAKE_FD(sk);
}

static int connect_again(struct restore_ctx *ctx, const struct sock_repaired *e)
{
	int fl = fcntl(e->fd, F_GETFL), r = 0;

	/* the worker must not wait for it: the program's own flags after */
	if (fl < 0 || fcntl(e->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "a TCP connect in progress: fcntl");
	if (connect(e->fd, (const struct sockaddr *)&e->dst, e->dstlen) < 0 && errno != EINPROGRESS)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "a TCP connect in progress: connecting it again");
	if (fcntl(e->fd, F_SETFL, fl) < 0 && r >= 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "a TCP connect in progress: fcntl");
	return r;
}

/* A connection the restart handed to its task (files_defer.c) is
 * reached through the task's fd: a copy of it, closed by entry_put. */
static int entry_fd(const struct sock_repaired *e)
{
	int pidfd, fd;

	if (!e->pid)
		return e->fd;
	pidfd = (int)syscall(SYS_pidfd_open, e->pid, 0);
	fd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, e->fd, 0);
	if (pidfd >= 0)
		close(pidfd);
	return fd;
}

static void entry_put(const struct sock_repaired *e, int fd)
{
	if (e->pid && fd >= 0)
		close(fd);
}

/* Every peer's FIN is back (its receiver reads EOF), or the restart fails:
 * the program must not find its peer still open. forged: only the FINs
 * forged before our own go out (LAST_ACK). */
static int wait_fins(struct restore_ctx *ctx, bool forged)
{
	const int deadline_ms = 3000;
	struct timespec t0, now;
	size_t i, left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		left = 0;
		for (i = 0; i < ctx->nrepaired; i++) {
			const struct sock_repaired *e = &ctx->repaired[i];
			struct pollfd p = { .fd = -1, .events = POLLRDHUP };

			if (!e->fin_in || (forged && !(e->forge && e->fin_out && !e->forge->after_fin)))
				continue;
			p.fd = entry_fd(e);
			if (!(p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP)))
				left++;
			entry_put(e, p.fd);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!left)
			return 0;
		if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > deadline_ms)
			return cr_fail(ctx->err, CR_ERR_KERNEL, ETIMEDOUT,
				       "%zu closing TCP connections: their peer's FIN did not arrive again", left);
		usleep(2000);
	}
}

static int ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int)((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Until fd can be written (events POLLOUT), or the deadline. */
static int wait_out(int fd, const struct timespec *t0)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int left = PEND_WAIT_MS - ms_since(t0), n;

	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&p, 1, left);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int connect_queued(int fd, const struct sock_repaired *e)
{
	struct timespec t0;
	socklen_t len = sizeof(int);
	int err = 0, r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (connect(fd, (const struct sockaddr *)&e->dst, e->dstlen) < 0 && errno != EINPROGRESS)
		return -errno;
	r = wait_out(fd, &t0);
	if (r >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		r = -errno;
	if (r >= 0 && err)
		r = -err;
	/* the next one is queued after this one: wait until it is there */
	while (r >= 0 && (r = sock_tcp_pending_queued(fd)) == 0) {
		if (ms_since(&t0) > PEND_WAIT_MS)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return r < 0 ? r : 0;
}

static int write_unsent(int fd, const struct sock_repaired *e)
{
	struct timespec t0;
	size_t off = 0;
	ssize_t n;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (r >= 0 && off < e->sndq_len) {
		n = send(fd, e->sndq + off, e->sndq_len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno == EAGAIN)
			r = wait_out(fd, &t0);
		else
			r = n < 0 ? -errno : -EIO;
	}
	return r;
}

/* Its FIN, after its bytes; acknowledged (FIN_WAIT2) before the next
 * connection: the peer waiting in the queue reads EOF once accepted. */
static int shut_queued(int fd)
{
	struct timespec t0;
	struct tcp_info ti;
	socklen_t len;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (shutdown(fd, SHUT_WR) < 0)
		return -errno;
	for (;;) {
		len = sizeof(ti);
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
			return -errno;
		if (ti.tcpi_state == TCP_FIN_WAIT2)
			return 0;
		if (ti.tcpi_state != TCP_FIN_WAIT1)
			return -ECONNRESET;
		if (ms_since(&t0) > PEND_WAIT_MS)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

static int cmp_rank(const void *a, const void *b)
{
	const struct sock_repaired *x = *(const struct sock_repaired *const *)a, *y = *(const struct sock_repaired *const *)b;

	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Connections whose peer waited in an accept queue, queued again in the
 * order they were: each connect is done, and its peer queued, before the
 * next starts. The program's file flags stay as they were. */
static int connect_pending(struct restore_ctx *ctx)
{
	_cleanup_free_ struct sock_repaired **v = NULL;
	size_t n = 0, i;
	int r = 0;

	for (i = 0; i < ctx->nrepaired; i++)
		n += ctx->repaired[i].pending;
	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "connections to queue again");
	for (i = 0, n = 0; i < ctx->nrepaired; i++)
		if (ctx->repaired[i].pending)
			v[n++] = &ctx->repaired[i];
	qsort(v, n, sizeof(*v), cmp_rank);
	for (i = 0; i < n && r >= 0; i++) {
		const struct sock_repaired *e = v[i];
		int fd = entry_fd(e), fl = fd < 0 ? -1 : fcntl(fd, F_GETFL);

		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			r = -errno;
		if (r >= 0)
			r = connect_queued(fd, e);
		if (r >= 0)
			r = write_unsent(fd, e);
		if (r >= 0 && e->fin_out)
			r = shut_queued(fd);
		if (fl >= 0 && fcntl(fd, F_SETFL, fl) < 0 && r >= 0)
			r = -errno;
		entry_put(e, fd);
		if (r < 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task (host pid %d): fd %d: a TCP connection whose peer waited "
				    "in an accept queue: connecting it again", e->pid, e->fd);
	}
	return r;
}

static int forge_fins(struct restore_ctx *ctx, bool after_fin)
{
	int r = 0;

	for (size_t i = 0; i < ctx->nrepaired && r >= 0; i++) {
		const struct tcp_forge *f = ctx->repaired[i].forge;

		if (f && f->after_fin == after_fin && (r = sock_tcp_forge_fin(f)) < 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "a TCP connection in %s: forging its outside peer's FIN again",
				    sock_tcp_state_name(f->state));
	}
	return r;
}

int sock_tcp_restore_close(struct restore_ctx *ctx)
{
	size_t i;
	int r = connect_pending(ctx);

	/* an outside peer's FIN that came before our own (CLOSE_WAIT,
	 * LAST_ACK): in before our FIN goes, so LAST_ACK is reached from
	 * CLOSE_WAIT as it was */
	if (r >= 0)
		r = forge_fins(ctx, false);
	if (r >= 0)
		r = wait_fins(ctx, true);
	if (r < 0)
		return r;
	for (i = 0; i < ctx->nrepaired && r >= 0; i++) {
		const struct sock_repaired *e = &ctx->repaired[i];
		struct sock_repaired own = *e;

		if ((!e->fin_out && !e->connect) || e->pending)
			continue;
		own.fd = entry_fd(e);
		own.pid = 0;
		if (own.fd < 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task (host pid %d): fd %d: a TCP connection: taking it back", e->pid, e->fd);
		else if (e->fin_out && shutdown(own.fd, SHUT_WR) < 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "a closing TCP connection: sending its FIN again");
		else if (e->connect)
			r = connect_again(ctx, &own);
		entry_put(e, own.fd);
	}
	/* CLOSING: the FINs crossed, ours went first */
	if (r >= 0)
		r = forge_fins(ctx, true);
	return r < 0 ? r : wait_fins(ctx, false);
}

void sock_tcp_restore_end(struct restore_ctx *ctx, bool resume)
{
	sock_repaired_end(&ctx->repaired, &ctx->nrepaired, resume);
}
