// SPDX-License-Identifier: GPL-2.0-or-later
/* Unix sockets at checkpoint (sock_unix.h): name, connections, shutdown
 * and queue of one socket, from the container's table of them. */
#include "sock_unix.h"
#include "cr_limits.h"
#include "macro.h"
#include <errno.h>
#include <stddef.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static int table(struct sock_dump *sd, struct usk_table **ret)
{
	int r;

	if (!sd->ctx->usk) {
		r = usk_table_read(sd->ctx, &sd->ctx->usk);
		if (r < 0)
			return sock_fail(sd, -r, "listing the container's unix sockets (sock_diag)");
	}
	*ret = sd->ctx->usk;
	return 0;
}

static bool same_name(const struct usk_diag *a, const struct usk_diag *b)
{
	if (a->namelen != b->namelen || memcmp(a->name, b->name, a->namelen))
		return false;
	return !a->has_vfs || !b->has_vfs || (a->vfs_ino == b->vfs_ino && a->vfs_dev == b->vfs_dev);
}

/* The listener d was accepted from (it carries the listener's name), or NULL. */
static const struct usk_diag *accepted_from(const struct usk_table *t, const struct usk_diag *d)
{
	if (!d->namelen || d->state == TCP_LISTEN || d->type == SOCK_DGRAM)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].state == TCP_LISTEN && t->v[i].ino != d->ino && same_name(&t->v[i], d))
			return &t->v[i];
	return NULL;
}

/* The listener that has d waiting in its backlog, or NULL. */
static const struct usk_diag *pending_in(const struct usk_table *t, const struct usk_diag *d)
{
	for (size_t i = 0; i < t->n; i++)
		for (uint32_t k = 0; t->v[i].state == TCP_LISTEN && k < t->v[i].nicons; k++)
			if (t->v[i].icons[k] == d->ino)
				return &t->v[i];
	return NULL;
}

static int outside(struct sock_dump *sd, const char *what, const struct usk_diag *o, uint32_t ino)
{
	char buf[2 * USK_NAME_MAX + 40];

	struct usk_diag peer = { .ino = ino };
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	/* a peer in another network namespace: named by the address it has */
	if (!o && getpeername(sd->sk, (struct sockaddr *)&sa, &len) == 0 && len > offsetof(struct sockaddr_un, sun_path) &&
	    (peer.namelen = len - offsetof(struct sockaddr_un, sun_path)) <= sizeof(peer.name))
		memcpy(peer.name, sa.sun_path, peer.namelen);
	else
		peer.namelen = 0;
	usk_describe(o ? o : &peer, buf, sizeof(buf));
	return sock_refuse(sd, "%s %s is outside the container (no task of it holds that socket)", what, buf);
}

/* --external-unix drop: a stream or seqpacket peer outside the container
 * is taken as gone, as it may go at any time: the socket is saved as one
 * whose peer closed (peer_closed). */
static bool drop_outside(const struct sock_dump *sd, const struct usk_diag *d)
{
	return sd->ctx->req->external_unix_drop && d->type != SOCK_DGRAM;
}

/* Its own address (a listener's accepted connections only carry its
 * name): a path must still name its socket file, whose mode and owner
 * are kept. */
static int dump_name(struct sock_dump *sd, const struct usk_table *t, const struct usk_diag *d, Ckpt__Img__UnixSock *u)
{
	char path[USK_NAME_MAX + 1], buf[USK_NAME_MAX + 64];
	uint32_t len = d->namelen;
	struct stat st;

	if (!len || accepted_from(t, d))
		return 0;
	if (d->name[0] != 0) {
		while (len && d->name[len - 1] == 0)
			len--;
		memcpy(path, d->name, len);
		path[len] = 0;
		if (path[0] != '/' || memchr(path, 0, len))
			return sock_refuse(sd, "bound to the relative path %s: not supported", path);
		if (!cr_task_path(sd->pid, path, buf, sizeof(buf)) || lstat(buf, &st) < 0 || !S_ISSOCK(st.st_mode) ||
		    !d->has_vfs || st.st_ino != d->vfs_ino || ((major(st.st_dev) << 20) | minor(st.st_dev)) != d->vfs_dev)
			return sock_refuse(sd, "bound to %s, which no longer names its socket file (removed or replaced)", path);
		u->has_file_mode = u->has_file_uid = u->has_file_gid = true;
		u->file_mode = st.st_mode & 07777;
		u->file_uid = st.st_uid;
		u->file_gid = st.st_gid;
	}
	u->name.data = malloc(len);
	if (!u->name.data)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket name");
	memcpy(u->name.data, d->name, len);
	u->name.len = len;
	u->has_name = true;
	return 0;
}

/* A listener: its backlog, the connections waiting in it and those
 * accepted from it, every end of which must be in the container. */
static int dump_listener(struct sock_dump *sd, const struct usk_table *t, const struct usk_diag *d, Ckpt__Img__UnixSock *u)
{
	char buf[2 * USK_NAME_MAX + 40];
	size_t nacc = 0;

	u->has_backlog = true;
	u->backlog = d->wqueue;
	for (size_t i = 0; i < t->n; i++)
		nacc += t->v[i].ino != d->ino && accepted_from(t, &t->v[i]) == d;
	if (d->nicons + nacc > CR_USK_MAX_CONNS)
		return sock_refuse(sd, "more than %u connections waiting or accepted", CR_USK_MAX_CONNS);
	u->pending = calloc(d->nicons + 1, sizeof(*u->pending));
	u->accepted = calloc(nacc + 1, sizeof(*u->accepted));
	if (!u->pending || !u->accepted)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket connections");
	for (uint32_t k = 0; k < d->nicons; k++) {
		const struct usk_diag *c = usk_table_find(t, d->icons[k]);

		if (!d->icons[k])
			return sock_refuse(sd, "a connection waiting in its backlog whose client was closed: not supported");
		if (!c || !c->holder)
			return outside(sd, "the client of a connection waiting in its backlog,", c, d->icons[k]);
		if (c->wqueue)
			return sock_refuse(sd, "%s sent data on a connection not accepted yet: not supported", usk_describe(c, buf, sizeof(buf)));
		u->pending[u->n_pending++] = d->icons[k];
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct usk_diag *s = &t->v[i], *c;
		Ckpt__Img__UnixConn *cn;

		if (s->ino == d->ino || accepted_from(t, s) != d)
			continue;
		if (!s->holder)
			return outside(sd, "a connection accepted from it,", s, s->ino);
		c = s->has_peer && s->peer ? usk_table_find(t, s->peer) : NULL;
		if (s->has_peer && s->peer && (!c || !c->holder) && drop_outside(sd, s))
			c = NULL;   /* its client hung up */
		else if (s->has_peer && s->peer && (!c || !c->holder))
			return outside(sd, "the client of a connection accepted from it,", c, s->peer);
		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket connections");
		ckpt__img__unix_conn__init(cn);
		cn->server = s->ino;
		cn->client = c ? c->ino : 0;
		u->accepted[u->n_accepted++] = cn;
	}
	return 0;
}

/* The listener whose restart makes this socket's connection is written first. */
static int dump_listener_first(struct sock_dump *sd, const struct usk_diag *l, Ckpt__Img__UnixSock *u)
{
	uint32_t id;

	if (!l->holder)
		return outside(sd, "its listener", l, l->ino);
	u->has_listener = true;
	u->listener = l->ino;
	return files_dump_target(sd->ctx, l->holder, l->holder_fd, &id);
}

static int dump_peer(struct sock_dump *sd, const struct usk_table *t, const struct usk_diag *d, Ckpt__Img__UnixSock *u)
{
	const struct usk_diag *p = d->has_peer && d->peer ? usk_table_find(t, d->peer) : NULL, *l;

	if (!d->has_peer || d->state == TCP_LISTEN)
		return 0;
	if (d->peer && (!p || !p->holder) && drop_outside(sd, d)) {
		u->has_peer_closed = u->peer_closed = true;
		l = accepted_from(t, d);
		return l ? dump_listener_first(sd, l, u) : 0;
	}
	if (d->peer) {
		if (!p || !p->holder)
			return outside(sd, "its peer", p, d->peer);
		u->has_peer = true;
		u->peer = d->peer;
		if (!p->has_peer || p->peer != d->ino) {
			if (d->type != SOCK_DGRAM)
				return sock_refuse(sd, "its peer %u is connected to another socket", d->peer);
			if (!p->namelen)
				return sock_refuse(sd, "connected to an unnamed datagram socket it is not paired with: not supported");
			u->has_connect_peer = u->connect_peer = true;
		}
		l = accepted_from(t, d);
		if (!l)
			l = accepted_from(t, p);
		return l ? dump_listener_first(sd, l, u) : 0;
	}
	/* a peer without an inode: a connection its listener has not
	 * accepted yet, or a socket that was closed */
	l = pending_in(t, d);
	if (l)
		return dump_listener_first(sd, l, u);
	if (d->type == SOCK_DGRAM)
		return sock_refuse(sd, "connected to a datagram socket that was closed since: not supported");
	u->has_peer_closed = u->peer_closed = true;
	l = accepted_from(t, d);
	return l ? dump_listener_first(sd, l, u) : 0;
}

static bool has_error(int sk)
{
	struct pollfd p = { .fd = sk };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

int sock_unix_dump(struct sock_dump *sd)
{
	Ckpt__Img__UnixSock *u;
	struct usk_table *t = NULL;
	struct usk_diag *d;
	int r;

	if (sd->s->type != SOCK_STREAM && sd->s->type != SOCK_DGRAM && sd->s->type != SOCK_SEQPACKET)
		return sock_refuse(sd, "unix sockets of type %d are not supported", sd->s->type);
	r = table(sd, &t);
	if (r < 0)
		return r;
	d = usk_table_find(t, (uint32_t)sd->ino);
	if (!d)
		return sock_refuse(sd, "a unix socket of another network namespace: not supported");
	if (d->state != TCP_CLOSE && d->state != TCP_LISTEN && d->state != TCP_ESTABLISHED)
		return sock_refuse(sd, "a unix socket in state %u: not supported", d->state);
	/* a pending error (ECONNRESET from a peer closed with data unread)
	 * would be consumed by SO_ERROR: seen through poll, and refused */
	if (has_error(sd->sk))
		return sock_refuse(sd, "an error is pending on it (its peer was closed with data unread?): not supported");
	u = calloc(1, sizeof(*u));
	if (!u)
		return cr_fail(sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket");
	ckpt__img__unix_sock__init(u);
	sd->s->unx = u;
	u->ino = d->ino;
	u->state = d->state;
	u->has_shutdown = d->shutdown != 0;
	u->shutdown = d->shutdown & 3;
	r = dump_name(sd, t, d, u);
	if (r >= 0 && d->state == TCP_LISTEN)
		r = dump_listener(sd, t, d, u);
	if (r >= 0)
		r = dump_peer(sd, t, d, u);
	if (r >= 0)
		r = usk_queue_dump(sd, d, u);
	return r;
}

void sock_unix_free(Ckpt__Img__Socket *s)
{
	Ckpt__Img__UnixSock *u = s->unx;

	if (!u)
		return;
	usk_queue_free(u);
	for (size_t i = 0; i < u->n_accepted; i++)
		free(u->accepted[i]);
	free(u->accepted);
	free(u->pending);
	free(u->name.data);
	free(u);
	s->unx = NULL;
}

void sock_unix_dump_done(struct dump_ctx *ctx)
{
	usk_table_free(ctx->usk);
	ctx->usk = NULL;
	sock_held_free(ctx);
}
