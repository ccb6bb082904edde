// SPDX-License-Identifier: GPL-2.0-or-later
/* Connections waiting in a listener's accept queue: handshakes completed,
 * not accept()ed yet. Such a connection (the child) has no file: sock_diag
 * lists it with inode 0, at the listener's port, and there is no way to
 * hand a socket to a listener's queue. So the restart makes it again for
 * real: its peer, a socket of the container, is made afresh (bound where
 * it was) and connects to the restored listener, which queues a new child
 * as the first one was, with nothing received; what the peer had not sent
 * yet is written after. The order is the queue's: children are queued as
 * their handshakes complete, which sock_diag dates (tcpi_last_data_recv:
 * the child's creation, for one that received nothing) to the kernel's
 * tick; the restart connects in that order, one connection at a time.
 *
 * A child that received its peer's FIN (the peer shut its writing side)
 * is made the same way, the new peer shutting its side after its bytes.
 *
 * What can't be made this way is refused by name, as transient: a child
 * that received bytes (a new handshake would lose its sequence numbers and
 * a connect puts no bytes in its queue; the bytes themselves can't be read
 * but by accept(), which takes the child from the program's queue for
 * good), one whose peer closed its side otherwise, one whose peer is
 * outside the container (no socket to connect again). A running server
 * accepts its queue: a checkpoint a moment later may find it empty.
 *
 * With --tcp-pending=reset a child from outside is reset instead, as the
 * checkpoint ends the container: SOCK_DESTROY aborts it, which sends its
 * peer an RST through the held traffic (cr_net_ops.pass_resets); the
 * program never accepts it, it dies first. Under --leave-running it would
 * stay in the running server's queue, so it is refused there. */
#include "sock.h"
#include "log.h"
#include "macro.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The states read: listeners, children (ESTABLISHED, CLOSE_WAIT) and
 * whatever a child's peer can be in. */
#define PEND_STATES ((1u << TCP_ESTABLISHED) | (1u << TCP_SYN_SENT) | (1u << TCP_FIN_WAIT1) | \
		     (1u << TCP_FIN_WAIT2) | (1u << TCP_CLOSE_WAIT) | (1u << TCP_LAST_ACK) | \
		     (1u << TCP_LISTEN) | (1u << TCP_CLOSING))

struct pend_key {
	uint8_t src[16], dst[16];     /* as IPv6, IPv4 mapped */
	uint16_t sport, dport;        /* host order */
};

struct pend_ent {
	struct pend_key k;
	uint8_t family, state;
	uint32_t ino;
	uint32_t rqueue;              /* unread bytes; a listener's: its accept queue */
	uint32_t age_ms;              /* since its last data (a child's creation) */
	uint32_t cookie[2];           /* sock_diag's, for SOCK_DESTROY */
};

struct tcp_pend {
	struct pend_ent *v;
	size_t n, cap;
	struct cr_tcp_conn *reset;    /* children from outside, reset as the container ends */
	size_t nreset;
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void as_v6(int family, const void *addr, uint8_t out[16])
{
	if (family == AF_INET) {
		memcpy(out, v4mapped, 12);
		memcpy(out + 12, addr, 4);
	} else {
		memcpy(out, addr, 16);
	}
}

static int cmp_ent(const void *a, const void *b)
{
	return memcmp(&((const struct pend_ent *)a)->k, &((const struct pend_ent *)b)->k, sizeof(struct pend_key));
}

static bool is_child(const struct pend_ent *e)
{
	return !e->ino && (e->state == TCP_ESTABLISHED || e->state == TCP_CLOSE_WAIT);
}

static int add_ent(const struct nlmsghdr *h, void *arg)
{
	struct tcp_pend *t = arg;
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	const struct nlattr *a;
	struct pend_ent *e;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	if (GROW(t->v, t->cap, t->n, 256) < 0)
		return -ENOMEM;
	e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	as_v6(m->idiag_family, m->id.idiag_src, e->k.src);
	as_v6(m->idiag_family, m->id.idiag_dst, e->k.dst);
	e->k.sport = ntohs(m->id.idiag_sport);
	e->k.dport = ntohs(m->id.idiag_dport);
	e->family = m->idiag_family;
	e->state = m->idiag_state;
	e->ino = m->idiag_inode;
	e->rqueue = m->idiag_rqueue;
	memcpy(e->cookie, m->id.idiag_cookie, sizeof(e->cookie));
	a = sock_diag_attr((const char *)m + NLMSG_ALIGN(sizeof(*m)), h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)), INET_DIAG_INFO);
	if (a && a->nla_len >= NLA_HDRLEN + offsetof(struct tcp_info, tcpi_last_data_recv) + sizeof(uint32_t)) {
		const struct tcp_info *ti = (const void *)((const char *)a + NLA_HDRLEN);

		memcpy(&e->age_ms, &ti->tcpi_last_data_recv, sizeof(e->age_ms));
	}
	return 0;
}

/* Every TCP socket of the worker's network namespace, sorted. */
static int pend_dump(struct tcp_pend *t)
{
	static const int families[] = { AF_INET, AF_INET6 };
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(families) && r >= 0; i++) {
		struct inet_diag_req_v2 req = {
			.sdiag_family = (uint8_t)families[i],
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_ext = 1u << (INET_DIAG_INFO - 1),
			.idiag_states = PEND_STATES,
			.id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
		};

		r = sock_diag_find(&req, sizeof(req), add_ent, t);
	}
	if (r >= 0)
		qsort(t->v, t->n, sizeof(*t->v), cmp_ent);
	return r;
}

/* The network's TCP sockets, read once a checkpoint (the container is
 * frozen: its own sockets don't change). */
static int pend_read(struct sock_dump *sd, struct tcp_pend **ret)
{
	struct dump_ctx *ctx = sd->ctx;
	struct tcp_pend *t = ctx->tcp_pend;
	int r;

	if (t) {
		*ret = t;
		return 0;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "TCP sockets");
	ctx->tcp_pend = t;
	r = pend_dump(t);
	if (r < 0)
		return sock_fail(sd, -r, "sock_diag");
	*ret = t;
	return 0;
}

void sock_tcp_pending_free(struct dump_ctx *ctx)
{
	if (!ctx->tcp_pend)
		return;
	free(ctx->tcp_pend->v);
	free(ctx->tcp_pend->reset);
	free(ctx->tcp_pend);
	ctx->tcp_pend = NULL;
}

static const struct pend_ent *find(const struct tcp_pend *t, const struct pend_key *k)
{
	struct pend_ent key = { .k = *k };

	return t->n ? bsearch(&key, t->v, t->n, sizeof(*t->v), cmp_ent) : NULL;
}

/* The socket at the other end of e's connection. */
static const struct pend_ent *peer_of(const struct tcp_pend *t, const struct pend_ent *e)
{
	struct pend_key k;

	memcpy(k.src, e->k.dst, 16);
	memcpy(k.dst, e->k.src, 16);
	k.sport = e->k.dport;
	k.dport = e->k.sport;
	return find(t, &k);
}

static bool wildcard(int family, const uint8_t a[16])
{
	static const uint8_t any6[16];

	return family == AF_INET ? !memcmp(a, v4mapped, 12) && !memcmp(a + 12, any6, 4) : !memcmp(a, any6, 16);
}

/* Whether child c came through listener l: its family, its port, its
 * address or the wildcard. */
static bool child_of(const struct pend_ent *c, const struct pend_ent *l)
{
	return is_child(c) && c->family == l->family && c->k.sport == l->k.sport &&
	       (wildcard(l->family, l->k.src) || !memcmp(c->k.src, l->k.src, 16));
}

/* The listener that queued child c: the one bound to its address, else
 * the wildcard's, as the kernel picks. */
static const struct pend_ent *listener_of(const struct tcp_pend *t, const struct pend_ent *c)
{
	const struct pend_ent *any = NULL;

	for (size_t i = 0; i < t->n; i++) {
		const struct pend_ent *l = &t->v[i];

		if (l->state != TCP_LISTEN || !child_of(c, l))
			continue;
		if (!wildcard(l->family, l->k.src))
			return l;
		any = any ? any : l;
	}
	return any;
}

static bool held(struct sock_dump *sd, uint32_t ino, int *ret_err)
{
	pid_t pid;
	int fd, r;

	*ret_err = 0;
	if (!ino)
		return false;
	r = sock_held_find(sd->ctx, ino, &pid, &fd);
	if (r < 0)
		*ret_err = sock_fail(sd, -r, "reading the container's fd tables");
	return r > 0;
}

/* A refusal a running server clears by accepting its queue. */
static int __attribute__((format(printf, 2, 3))) refuse_transient(struct sock_dump *sd, const char *fmt, ...)
{
	struct cr_error *err = sd->ctx->err;
	bool first = err && err->code == CR_OK;
	char why[384];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	r = sock_refuse(sd, "%s", why);
	if (first && err->code != CR_OK)
		cr_mark_transient(err);
	return r;
}

static void peer_name(const struct pend_ent *c, char *buf, size_t len)
{
	const uint8_t *a = c->k.dst;

	if (!memcmp(a, v4mapped, 12))
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
}

static int get_int(struct sock_dump *sd, int level, int opt, const char *what, int *ret)
{
	socklen_t len = sizeof(*ret);

	*ret = 0;
	if (getsockopt(sd->sk, level, opt, ret, &len) < 0)
		return sock_fail(sd, errno, what);
	return 0;
}

/* The bytes child c received: its peer's FIN, which a child in
 * CLOSE_WAIT received, counts one in the receive queue's sequence. */
static uint32_t child_bytes(const struct pend_ent *c)
{
	return c->state == TCP_CLOSE_WAIT && c->rqueue ? c->rqueue - 1 : c->rqueue;
}

/* The states c's peer is in when c is queued again by a connect: open,
 * or its FIN sent (shutdown(SHUT_WR)) and received by c. */
static bool peer_fits(const struct pend_ent *c, const struct pend_ent *p)
{
	if (c->state == TCP_ESTABLISHED)
		return p->state == TCP_ESTABLISHED;
	return p->state == TCP_FIN_WAIT1 || p->state == TCP_FIN_WAIT2;
}

static const char from_outside[] = "is from a peer outside the container";

/* Why child c can't be queued again by a connect (from_outside: its peer
 * is no socket of the container), or NULL. */
static const char *child_unfit(struct sock_dump *sd, const struct tcp_pend *t, const struct pend_ent *c, int *ret_err)
{
	const struct pend_ent *p;

	*ret_err = 0;
	p = peer_of(t, c);
	if (!p || !held(sd, p->ino, ret_err))
		return *ret_err ? "" : from_outside;
	if (child_bytes(c))
		return "holds bytes it received";
	if (!peer_fits(c, p))
		return "has a peer that closed its side";
	return NULL;
}

/* --tcp-pending=reset: child c, from outside, is reset as the checkpoint
 * ends the container. */
static int reset_later(struct sock_dump *sd, struct tcp_pend *t, const struct pend_ent *c, uint32_t queued,
		       const char *addr)
{
	const struct cr_checkpoint_req *req = sd->ctx->req;
	struct cr_tcp_conn *v, *e;
	bool v4 = !memcmp(c->k.src, v4mapped, 12);

	if (req->leave_running && !req->check_only)
		return refuse_transient(sd, "a listening TCP socket with %u connections not accepted yet: the one from %s "
					"port %u %s: --tcp-pending=reset resets it only when the checkpoint ends the "
					"container; with --leave-running the server would still accept it", queued, addr,
					c->k.dport, from_outside);
	v = realloc(t->reset, (t->nreset + 1) * sizeof(*v));
	if (!v)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "TCP connections to reset");
	t->reset = v;
	e = &v[t->nreset++];
	*e = (struct cr_tcp_conn){ .family = v4 ? AF_INET : AF_INET6, .sport = c->k.sport, .dport = c->k.dport };
	memcpy(e->src, c->k.src + (v4 ? 12 : 0), v4 ? 4 : 16);
	memcpy(e->dst, c->k.dst + (v4 ? 12 : 0), v4 ? 4 : 16);
	memcpy(e->cookie, c->cookie, sizeof(e->cookie));
	log_info("task %d: fd %d: the connection from %s port %u, not accepted yet, is reset as the container ends "
		 "(--tcp-pending=reset)", sd->pid, sd->fd, addr, c->k.dport);
	return 0;
}

int sock_tcp_pending_listener(struct sock_dump *sd, uint32_t queued)
{
	const Ckpt__Img__InetSock *in = sd->s->inet;
	struct pend_ent self = { .family = (uint8_t)sd->s->family, .state = TCP_LISTEN };
	struct tcp_pend *t;
	size_t found = 0;
	int v, r;

	if (!queued)
		return 0;
	r = get_int(sd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", &v);
	if (r >= 0 && v)
		return refuse_transient(sd, "a listening TCP socket with %u connections not accepted yet, in a group "
					"of SO_REUSEPORT sockets: which of them a connection made again would reach "
					"can't be chosen", queued);
	if (r >= 0)
		r = get_int(sd, IPPROTO_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT", &v);
	if (r >= 0 && v)
		return refuse_transient(sd, "a listening TCP socket with %u connections not accepted yet and "
					"TCP_DEFER_ACCEPT: a connection made again would wait for data before it is queued",
					queued);
	if (r >= 0)
		r = pend_read(sd, &t);
	if (r < 0)
		return r;
	if (in->src_addr.len == (sd->s->family == AF_INET ? 4u : 16u))
		as_v6(sd->s->family, in->src_addr.data, self.k.src);
	else if (sd->s->family == AF_INET)
		memcpy(self.k.src, v4mapped, 12);
	self.k.sport = (uint16_t)in->src_port;
	for (size_t i = 0; i < t->n; i++) {
		const struct pend_ent *c = &t->v[i];
		const char *why;
		char addr[64] = "?";
		const struct pend_ent *l = child_of(c, &self) ? listener_of(t, c) : NULL;

		if (!l || l->ino != sd->ino)
			continue;
		found++;
		why = child_unfit(sd, t, c, &r);
		if (r < 0)
			return r;
		if (!why)
			continue;
		peer_name(c, addr, sizeof(addr));
		if (why == from_outside && sd->ctx->req->tcp_pending_reset) {
			r = reset_later(sd, t, c, queued, addr);
			if (r < 0)
				return r;
			continue;
		}
		if (why == from_outside)
			return refuse_transient(sd, "a listening TCP socket with %u connections not accepted yet: the one "
						"from %s port %u %s: no socket of the container can connect it again "
						"(checkpoint --tcp-pending=reset resets it as the container ends)", queued,
						addr, c->k.dport, why);
		if (child_bytes(c))
			return refuse_transient(sd, "a listening TCP socket with %u connections not accepted yet: the one "
						"from %s port %u holds %u bytes it received: a connection is queued again "
						"only with nothing received", queued, addr, c->k.dport, child_bytes(c));
		return refuse_transient(sd, "a listening TCP socket with %u connections not accepted yet: the one "
					"from %s port %u %s: a connection is queued again only by its peer's connect, "
					"a socket of the container open or with only its writing side shut", queued, addr, c->k.dport, why);
	}
	if (found != queued)
		return refuse_transient(sd, "a listening TCP socket with %u connections not accepted yet: %zu of them "
					"found", queued, found);
	return 0;
}

/* The child at the other end of sd's connection, if it is one. */
static const struct pend_ent *child_peer(struct sock_dump *sd, const struct tcp_pend *t)
{
	const Ckpt__Img__InetSock *in = sd->s->inet;
	size_t alen = sd->s->family == AF_INET ? 4 : 16;
	const struct pend_ent *c;
	struct pend_key k;

	if (in->src_addr.len != alen || in->dst_addr.len != alen)
		return NULL;
	as_v6(sd->s->family, in->dst_addr.data, k.src);
	as_v6(sd->s->family, in->src_addr.data, k.dst);
	k.sport = (uint16_t)in->dst_port;
	k.dport = (uint16_t)in->src_port;
	c = find(t, &k);
	return c && is_child(c) ? c : NULL;
}

int sock_tcp_pending_peer(struct sock_dump *sd)
{
	const struct pend_ent *c, *l;
	struct tcp_pend *t;
	int r = pend_read(sd, &t);

	if (r < 0)
		return r;
	c = child_peer(sd, t);
	l = c ? listener_of(t, c) : NULL;
	if (!l || !held(sd, l->ino, &r))
		return r;
	/* one that can't be queued again: its listener refuses it by name */
	if (child_unfit(sd, t, c, &r))
		return r < 0 ? r : 2;
	return 1;
}

/* The child's place among every child of the network: the oldest first,
 * those of one tick by their peer's port. */
static uint32_t rank_of(const struct tcp_pend *t, const struct pend_ent *c)
{
	uint32_t rank = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct pend_ent *o = &t->v[i];

		if (o == c || !is_child(o))
			continue;
		if (o->age_ms > c->age_ms || (o->age_ms == c->age_ms && cmp_ent(o, c) < 0))
			rank++;
	}
	return rank;
}

int sock_tcp_pending_mark(struct sock_dump *sd)
{
	Ckpt__Img__TcpSock *tcp = sd->s->inet->tcp;
	const struct pend_ent *c;
	struct tcp_pend *t;
	int r = pend_read(sd, &t);

	if (r < 0)
		return r;
	c = child_peer(sd, t);
	if (!c)
		return sock_refuse(sd, "a TCP connection whose peer left the accept queue while it was read");
	if ((tcp->state != TCP_ESTABLISHED && tcp->state != TCP_FIN_WAIT1 && tcp->state != TCP_FIN_WAIT2) ||
	    tcp->rcvq.len || tcp->shut_rd)
		return sock_refuse(sd, "a TCP connection whose peer waits in an accept queue, in state %s with %zu "
				   "bytes received%s", sock_tcp_state_name(tcp->state), (size_t)tcp->rcvq.len,
				   tcp->shut_rd ? " and its reading side shut" : "");
	tcp->has_pending_connect = tcp->pending_connect = true;
	tcp->has_pending_rank = true;
	tcp->pending_rank = rank_of(t, c);
	return 0;
}

static int match_queued(const struct nlmsghdr *h, void *arg)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);

	(void)arg;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	/* before the child exists the lookup finds its listener */
	return m->idiag_state == TCP_ESTABLISHED && !m->idiag_inode;
}

static int lookup_child(int family, const uint8_t *lsn, uint16_t lport, const uint8_t *own, uint16_t port)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = (uint8_t)family,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_states = 1u << TCP_ESTABLISHED,
		.id.idiag_sport = htons(lport),
		.id.idiag_dport = htons(port),
		.id.idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
	};
	size_t alen = family == AF_INET ? 4 : 16;

	memcpy(req.id.idiag_src, lsn, alen);
	memcpy(req.id.idiag_dst, own, alen);
	return sock_diag_get(&req, sizeof(req), match_queued, NULL);
}

int sock_tcp_pending_queued(int fd)
{
	struct sockaddr_storage own, lsn;
	socklen_t olen = sizeof(own), llen = sizeof(lsn);
	uint8_t o6[16], l6[16];
	int r;

	if (getsockname(fd, (struct sockaddr *)&own, &olen) < 0 || getpeername(fd, (struct sockaddr *)&lsn, &llen) < 0)
		return -errno;
	if (own.ss_family == AF_INET) {
		const struct sockaddr_in *o = (const void *)&own, *l = (const void *)&lsn;

		r = lookup_child(AF_INET, (const uint8_t *)&l->sin_addr, ntohs(l->sin_port),
				 (const uint8_t *)&o->sin_addr, ntohs(o->sin_port));
		if (r)
			return r;
		/* or the child of a dual-stack IPv6 listener */
		as_v6(AF_INET, &l->sin_addr, l6);
		as_v6(AF_INET, &o->sin_addr, o6);
		return lookup_child(AF_INET6, l6, ntohs(l->sin_port), o6, ntohs(o->sin_port));
	} else {
		const struct sockaddr_in6 *o = (const void *)&own, *l = (const void *)&lsn;

		return lookup_child(AF_INET6, (const uint8_t *)&l->sin6_addr, ntohs(l->sin6_port),
				    (const uint8_t *)&o->sin6_addr, ntohs(o->sin6_port));
	}
}

/* A child the restart can't queue again by its peer's connect, as far as
 * the network alone tells (whether the peer is held is for the dump);
 * reset_outside: one from outside is reset, not refused. */
static bool child_unsettled(const struct tcp_pend *t, const struct pend_ent *c, bool reset_outside)
{
	const struct pend_ent *p;

	if (!is_child(c))
		return false;
	p = peer_of(t, c);
	if (!p)
		return !reset_outside;
	return child_bytes(c) || !peer_fits(c, p);
}

int sock_tcp_pending_unsettled(bool reset_outside)
{
	struct tcp_pend t = { 0 };
	int r, n = 0;

	r = pend_dump(&t);
	for (size_t i = 0; r >= 0 && i < t.n; i++)
		n += child_unsettled(&t, &t.v[i], reset_outside);
	free(t.v);
	return r < 0 ? r : n;
}

static int destroy(const struct cr_tcp_conn *e)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = (uint8_t)e->family,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_states = ~0u,
		.id.idiag_sport = htons(e->sport),
		.id.idiag_dport = htons(e->dport),
		/* with no cookie, a child gone meanwhile would find its
		 * listener by the same ports, and destroy that */
		.id.idiag_cookie = { e->cookie[0], e->cookie[1] },
	};
	size_t alen = e->family == AF_INET ? 4 : 16;

	memcpy(req.id.idiag_src, e->src, alen);
	memcpy(req.id.idiag_dst, e->dst, alen);
	return sock_diag_destroy(&req, sizeof(req));
}

void sock_tcp_pending_reset(struct dump_ctx *ctx, const struct cr_net_ops *held)
{
	const struct tcp_pend *t = ctx->tcp_pend;
	struct cr_error e = { 0 };

	if (!t || !t->nreset)
		return;
	/* the image is whole: a failure here can only be told */
	if (held && (!held->pass_resets ||
		     held->pass_resets(held->arg, ctx->req->init_pid, t->reset, t->nreset, &e) < 0))
		log_error("container %s: letting %zu resets of connections not accepted yet out: %s", ctx->req->name,
			  t->nreset, held->pass_resets ? e.msg : "not supported");
	for (size_t i = 0; i < t->nreset; i++) {
		int r = destroy(&t->reset[i]);

		if (r < 0)
			log_error("container %s: a TCP connection not accepted yet from port %u: SOCK_DESTROY: %s",
				  ctx->req->name, t->reset[i].dport, strerror(-r));
	}
}
