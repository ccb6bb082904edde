// SPDX-License-Identifier: GPL-2.0-or-later
/* TCP sockets at checkpoint: a socket made or bound (TCP_CLOSE), a
 * listening socket, or an established connection read through the
 * kernel's repair interface (TCP_REPAIR): sequence numbers, both queues
 * (peeked, never consumed), window and negotiated options.
 *
 * A connection put in repair mode stays in it until the checkpoint ends
 * (sock_tcp_dump_end): a socket closed in repair mode sends nothing, so
 * when the workload is killed no FIN or RST reaches its peer; when it goes
 * on running, repair mode is turned off before it runs again. The task's
 * own fd keeps the socket: the worker holds none (10,000 connections
 * would be as many fds). */
#include "sock.h"
#include "borrow.h"
#include "cr_limits.h"
#include "fault.h"
#include "log.h"
#include "macro.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <unistd.h>

/* The negotiated options restart sets again (TCP_REPAIR_OPTIONS). */
#define TCP_KEPT_OPTS (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE)

static const char *const state_names[] = {
	[TCP_ESTABLISHED] = "ESTABLISHED", [TCP_SYN_SENT] = "SYN_SENT", [TCP_SYN_RECV] = "SYN_RECV",
	[TCP_FIN_WAIT1] = "FIN_WAIT1", [TCP_FIN_WAIT2] = "FIN_WAIT2", [TCP_TIME_WAIT] = "TIME_WAIT",
	[TCP_CLOSE] = "CLOSE", [TCP_CLOSE_WAIT] = "CLOSE_WAIT", [TCP_LAST_ACK] = "LAST_ACK",
	[TCP_LISTEN] = "LISTEN", [TCP_CLOSING] = "CLOSING",
};

const char *sock_tcp_state_name(unsigned state)
{
	if (state < ARRAY_SIZE(state_names) && state_names[state])
		return state_names[state];
	return "unknown";
}

static int get_info(struct sock_dump *sd, struct tcp_info *ti)
{
	socklen_t len = sizeof(*ti);

	memset(ti, 0, sizeof(*ti));
	if (getsockopt(sd->sk, IPPROTO_TCP, TCP_INFO, ti, &len) < 0)
		return sock_fail(sd, errno, "TCP_INFO");
	return 0;
}

static int get_u32(struct sock_dump *sd, int opt, const char *what, uint32_t *ret)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(sd->sk, IPPROTO_TCP, opt, &v, &len) < 0)
		return sock_fail(sd, errno, what);
	*ret = (uint32_t)v;
	return 0;
}

/* Remember a connection in repair mode, for sock_tcp_dump_end. */
static int keep_repaired(struct sock_dump *sd, int reuse)
{
	struct dump_ctx *ctx = sd->ctx;
	struct sock_repaired *v;

	v = realloc(ctx->repaired, (ctx->nrepaired + 1) * sizeof(*v));
	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "repaired connections");
	ctx->repaired = v;
	v[ctx->nrepaired++] = (struct sock_repaired){ .pid = sd->pid, .fd = sd->fd, .reuse = reuse };
	return 0;
}

static int repair_on(struct sock_dump *sd)
{
	int reuse = 0, on = TCP_REPAIR_ON, r;
	socklen_t len = sizeof(reuse);

	/* repair mode forces address reuse, and turning it off clears it:
	 * what the program had is set again then */
	if (sock_opt_int(sd, SOL_SOCKET, SO_REUSEADDR, &reuse) < 0 &&
	    getsockopt(sd->sk, SOL_SOCKET, SO_REUSEADDR, &reuse, &len) < 0)
		return sock_fail(sd, errno, "SO_REUSEADDR");
	/* A connection in repair mode sends nothing, and a recovery after a
	 * dead worker would not take it out: until every one is out again
	 * (sock_repaired_end) the tasks go with the worker. */
	if (!sd->ctx->nrepaired && (r = borrow_unsafe_begin(BORROW_STEP_TCP_REPAIR)) < 0)
		return sock_fail(sd, -r, "tying the tasks to the worker");
	if (setsockopt(sd->sk, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0) {
		r = errno;
		if (!sd->ctx->nrepaired)
			borrow_unsafe_end();
		return sock_fail(sd, r, "turning TCP repair mode on (needs CAP_NET_ADMIN in its network namespace)");
	}
	r = keep_repaired(sd, reuse);
	if (r >= 0)
		fault_crash_worker("ckpt-repair");
	return r;
}

/* The bytes of one queue (TCP_SEND_QUEUE, TCP_RECV_QUEUE) and its
 * sequence number. One byte more is asked for, to see there are no more. */
static int peek_queue(struct sock_dump *sd, int queue, uint32_t len, uint32_t *ret_seq, ProtobufCBinaryData *ret)
{
	const char *name = queue == TCP_SEND_QUEUE ? "send" : "receive";
	socklen_t slen = sizeof(*ret_seq);
	ssize_t n;

	if (setsockopt(sd->sk, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0)
		return sock_fail(sd, errno, "TCP_REPAIR_QUEUE");
	if (getsockopt(sd->sk, IPPROTO_TCP, TCP_QUEUE_SEQ, ret_seq, &slen) < 0)
		return sock_fail(sd, errno, "TCP_QUEUE_SEQ");
	if (!len)
		return 0;
	ret->data = malloc(len + 1);
	if (!ret->data)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "a TCP queue of %u bytes", len);
	n = recv(sd->sk, ret->data, len + 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return sock_fail(sd, errno, queue == TCP_SEND_QUEUE ? "peeking its send queue" : "peeking its receive queue");
	if ((size_t)n != len)
		return sock_refuse(sd, "its %s queue holds %zd bytes where the kernel counts %u", name, n, len);
	ret->len = len;
	return 0;
}

/* Peeking starts at SO_PEEK_OFF when the program set one: read from the
 * start of the queue instead, and put its offset back. */
static int peek_rcvq(struct sock_dump *sd, Ckpt__Img__TcpSock *t, uint32_t len)
{
	int off = -1, none = -1, r;
	socklen_t olen = sizeof(off);

	if (sock_opt_int(sd, SOL_SOCKET, SO_PEEK_OFF, &off) < 0 &&
	    getsockopt(sd->sk, SOL_SOCKET, SO_PEEK_OFF, &off, &olen) < 0)
		off = -1;
	if (off >= 0 && setsockopt(sd->sk, SOL_SOCKET, SO_PEEK_OFF, &none, sizeof(none)) < 0)
		return sock_fail(sd, errno, "SO_PEEK_OFF");
	r = peek_queue(sd, TCP_RECV_QUEUE, len, &t->rcv_seq, &t->rcvq);
	if (off >= 0 && setsockopt(sd->sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0 && r >= 0)
		r = sock_fail(sd, errno, "SO_PEEK_OFF");
	return r;
}

static int queue_sizes(struct sock_dump *sd, uint32_t *ret_out, uint32_t *ret_in)
{
	int out, in;

	if (ioctl(sd->sk, SIOCOUTQ, &out) < 0)
		return sock_fail(sd, errno, "SIOCOUTQ");
	if (ioctl(sd->sk, SIOCINQ, &in) < 0)
		return sock_fail(sd, errno, "SIOCINQ");
	if (out < 0 || in < 0 || (unsigned)out > CR_TCP_MAX_QUEUE || (unsigned)in > CR_TCP_MAX_QUEUE)
		return sock_refuse(sd, "TCP queues of %d (send) and %d (receive) bytes: more than %u", out, in, CR_TCP_MAX_QUEUE);
	*ret_out = (uint32_t)out;
	*ret_in = (uint32_t)in;
	return 0;
}

static int read_window(struct sock_dump *sd, Ckpt__Img__TcpSock *t)
{
	struct tcp_repair_window w;
	socklen_t len = sizeof(w);

	if (getsockopt(sd->sk, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) < 0)
		return sock_fail(sd, errno, "TCP_REPAIR_WINDOW");
	t->has_snd_wl1 = t->has_snd_wnd = t->has_max_window = t->has_rcv_wnd = t->has_rcv_wup = true;
	t->snd_wl1 = w.snd_wl1;
	t->snd_wnd = w.snd_wnd;
	t->max_window = w.max_window;
	t->rcv_wnd = w.rcv_wnd;
	t->rcv_wup = w.rcv_wup;
	return 0;
}

/* What the handshake settled: MSS clamp, window scales, SACK, timestamps. */
static int read_negotiated(struct sock_dump *sd, Ckpt__Img__TcpSock *t, const struct tcp_info *ti)
{
	int r;

	t->has_mss = t->has_opts = true;
	r = get_u32(sd, TCP_MAXSEG, "TCP_MAXSEG", &t->mss);
	if (r < 0)
		return r;
	t->opts = ti->tcpi_options & TCP_KEPT_OPTS;
	if (t->opts & TCPI_OPT_WSCALE) {
		t->has_snd_wscale = t->has_rcv_wscale = true;
		t->snd_wscale = ti->tcpi_snd_wscale;
		t->rcv_wscale = ti->tcpi_rcv_wscale;
	}
	if (t->opts & TCPI_OPT_TIMESTAMPS) {
		t->has_timestamp = true;
		r = get_u32(sd, TCP_TIMESTAMP, "TCP_TIMESTAMP", &t->timestamp);
	}
	return r;
}

/* The program shut its reading side (shutdown(SHUT_RD)): no packet tells
 * the peer, only poll sees it on a connection the peer has not closed. */
static bool shut_rd(struct sock_dump *sd)
{
	struct pollfd p = { .fd = sd->sk, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP);
}

static bool kept_state(unsigned state)
{
	return state == TCP_ESTABLISHED || sock_tcp_fin_sent(state) || sock_tcp_fin_rcvd(state);
}

/* The send queue as SIOCOUTQ counts it holds the FIN too until it is
 * acknowledged: its bytes are one fewer. */
static int sndq_bytes(struct sock_dump *sd, unsigned state, uint32_t *outq)
{
	if (!sock_tcp_fin_sent(state) || sock_tcp_fin_acked(state))
		return 0;
	if (!*outq)
		return sock_refuse(sd, "a TCP connection in state %s with its FIN missing from its send queue",
				   sock_tcp_state_name(state));
	(*outq)--;
	return 0;
}

/* An established or closing connection. Its state is read again in
 * repair mode (a segment in flight may have moved it on): that one is
 * what the sequence numbers and queues read next belong to. */
static int dump_established(struct sock_dump *sd, Ckpt__Img__TcpSock *t)
{
	uint32_t outq = 0, inq = 0;
	struct tcp_info ti;
	int r;

	r = repair_on(sd);
	if (r >= 0)
		r = get_info(sd, &ti);
	if (r >= 0 && !kept_state(ti.tcpi_state))
		r = sock_refuse(sd, "a TCP connection in state %s: it changed while it was read", sock_tcp_state_name(ti.tcpi_state));
	if (r >= 0 && ti.tcpi_state != t->state)
		r = sock_tcp_check_fin_peer(sd, ti.tcpi_state);
	if (r < 0)
		return r;
	t->state = ti.tcpi_state;
	r = queue_sizes(sd, &outq, &inq);
	if (r >= 0)
		r = sndq_bytes(sd, t->state, &outq);
	if (r >= 0)
		r = read_negotiated(sd, t, &ti);
	if (r >= 0)
		r = read_window(sd, t);
	t->has_snd_seq = t->has_rcv_seq = t->has_sndq = t->has_rcvq = true;
	if (r >= 0)
		r = peek_rcvq(sd, t, inq);
	if (r >= 0)
		r = peek_queue(sd, TCP_SEND_QUEUE, outq, &t->snd_seq, &t->sndq);
	/* after the peer's FIN poll reports it as a shut reading side too */
	if (r >= 0 && !sock_tcp_fin_rcvd(t->state) && shut_rd(sd))
		t->has_shut_rd = t->shut_rd = true;
	return r;
}

/* A kernel upper layer (kTLS) holds state no option shows. */
static int check_ulp(struct sock_dump *sd)
{
	char ulp[32] = "";
	socklen_t len = sizeof(ulp) - 1;

	if (getsockopt(sd->sk, IPPROTO_TCP, TCP_ULP, ulp, &len) < 0 || !ulp[0])
		return 0;
	return sock_refuse(sd, "the upper layer protocol \"%s\" (TCP_ULP) is not supported", ulp);
}

/* A classic BPF filter comes back as attached; an eBPF one can't be read. */
static int dump_filter(struct sock_dump *sd, Ckpt__Img__InetSock *in)
{
	socklen_t n = 0, len;

	/* SO_GET_FILTER counts in instructions, not bytes */
	if (getsockopt(sd->sk, SOL_SOCKET, SO_GET_FILTER, NULL, &n) < 0) {
		if (errno == EACCES)
			return sock_refuse(sd, "an eBPF socket filter (SO_ATTACH_BPF) is not supported");
		return sock_fail(sd, errno, "SO_GET_FILTER");
	}
	if (!n)
		return 0;
	if (n > CR_SOCK_FILTER_MAX)
		return sock_refuse(sd, "a socket filter of %u instructions: more than %u", (unsigned)n, CR_SOCK_FILTER_MAX);
	in->filter.data = malloc(n * sizeof(struct sock_filter));
	if (!in->filter.data)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket filter");
	len = n;
	if (getsockopt(sd->sk, SOL_SOCKET, SO_GET_FILTER, in->filter.data, &len) < 0)
		return sock_fail(sd, errno, "SO_GET_FILTER");
	if (len != n)
		return sock_refuse(sd, "its socket filter changed while it was read");
	in->has_filter = true;
	in->filter.len = n * sizeof(struct sock_filter);
	return 0;
}

int sock_tcp_dump(struct sock_dump *sd)
{
	Ckpt__Img__TcpSock *t = calloc(1, sizeof(*t));
	struct tcp_info ti;
	int r;

	if (!t)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket");
	ckpt__img__tcp_sock__init(t);
	sd->s->inet->tcp = t;
	if (sd->s->protocol != IPPROTO_TCP)
		return sock_refuse(sd, "stream sockets of protocol %d (not TCP) are not supported", sd->s->protocol);
	r = check_ulp(sd);
	if (r >= 0)
		r = dump_filter(sd, sd->s->inet);
	if (r >= 0)
		r = get_info(sd, &ti);
	if (r < 0)
		return r;
	t->state = ti.tcpi_state;
	switch (ti.tcpi_state) {
	case TCP_CLOSE:
		return 0;
	case TCP_LISTEN:
		/* for a listener the kernel reports its accept queue here */
		r = sock_tcp_pending_listener(sd, ti.tcpi_unacked);
		if (r < 0)
			return r;
		t->has_backlog = true;
		t->backlog = ti.tcpi_sacked;
		return 0;
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		/* a peer in an accept queue is the container's, made again by a
		 * connect (and a shutdown, if it sent its FIN) */
		r = ti.tcpi_state == TCP_ESTABLISHED || ti.tcpi_state == TCP_FIN_WAIT1 || ti.tcpi_state == TCP_FIN_WAIT2
			    ? sock_tcp_pending_peer(sd) : 0;
		if (r == 1) {
			r = dump_established(sd, t);
			return r < 0 ? r : sock_tcp_pending_mark(sd);
		}
		if (r == 2)   /* its listener refuses it */
			return dump_established(sd, t);
		if (r >= 0)
			r = sock_tcp_check_peer(sd);
		if (r >= 0)
			r = sock_tcp_check_fin_peer(sd, ti.tcpi_state);
		return r < 0 ? r : dump_established(sd, t);
	case TCP_SYN_SENT:
		return sock_tcp_syn_dst(sd);
	default:
		return sock_refuse(sd, "a TCP connection in state %s: connections in this state are not supported",
				   sock_tcp_state_name(ti.tcpi_state));
	}
}

void sock_tcp_free(Ckpt__Img__Socket *s)
{
	Ckpt__Img__TcpSock *t = s->inet->tcp;

	free(s->inet->filter.data);
	s->inet->filter.data = NULL;
	if (!t)
		return;
	free(t->sndq.data);
	free(t->rcvq.data);
	free(t);
	s->inet->tcp = NULL;
}

/* A pidfd of the last task a connection was reached through: the
 * entries of one task come together. */
struct pidfd_cache {
	pid_t pid;
	int pidfd;
};

static int cached_pidfd(struct pidfd_cache *c, pid_t pid)
{
	if (c->pid != pid) {
		if (c->pidfd >= 0)
			close(c->pidfd);
		c->pid = pid;
		c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	}
	return c->pidfd;
}

/* Out of repair mode (through the task's fd at checkpoint, and at restart
 * for a connection handed to its task already). */
static void repair_off(const struct sock_repaired *e, struct pidfd_cache *c)
{
	int off = TCP_REPAIR_OFF, one = 1, fd = e->fd, pidfd;

	if (e->connect || e->pending)   /* never in repair mode */
		return;

	if (e->pid) {
		pidfd = cached_pidfd(c, e->pid);
		fd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, e->fd, 0);
	}
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)) < 0 ||
	    (e->reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0))
		log_error("task %d: fd %d: a TCP connection left in repair mode: %m", e->pid, e->fd);
	if (e->pid && fd >= 0)
		close(fd);
}

void sock_repaired_end(struct sock_repaired **v, size_t *n, bool resume)
{
	struct pidfd_cache c = { .pid = 0, .pidfd = -1 };

	for (size_t i = 0; resume && i < *n; i++)
		repair_off(&(*v)[i], &c);
	if (*n)
		borrow_unsafe_end();
	if (c.pidfd >= 0)
		close(c.pidfd);
	for (size_t i = 0; i < *n; i++) {
		free((*v)[i].forge);
		free((*v)[i].sndq);
	}
	free(*v);
	*v = NULL;
	*n = 0;
}

void sock_tcp_dump_end(struct dump_ctx *ctx, bool resume)
{
	sock_repaired_end(&ctx->repaired, &ctx->nrepaired, resume);
	sock_tcp_pending_free(ctx);
}
