// SPDX-License-Identifier: GPL-2.0-or-later
/* Unix sockets: the receive queue at checkpoint. It is peeked (MSG_PEEK
 * from SO_PEEK_OFF 0 on), never consumed, so a container that goes on
 * running loses nothing; the program's own SO_PEEK_OFF and SO_PASSCRED
 * are put back after. SO_PASSCRED is on while peeking so the credentials
 * a message carries are seen even if the program has not asked for them
 * yet. A datagram or seqpacket message is one UnixMsg; a stream's bytes
 * come in runs that share their sender's credentials. */
#include "sock_unix.h"
#include "cr_limits.h"
#include "macro.h"
#include <errno.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef SCM_MAX_FD
#define SCM_MAX_FD 253   /* include/net/scm.h: the most one message carries */
#endif

struct peek {
	struct sock_dump *sd;
	Ckpt__Img__UnixSock *u;
	size_t bytes;
	char *buf;
	size_t cap;
};

static int get_opt(int sk, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(sk, SOL_SOCKET, opt, v, &len) < 0 ? -errno : 0;
}

static int set_opt(int sk, int opt, int v)
{
	return setsockopt(sk, SOL_SOCKET, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

/* The container pid of host pid h, or 0. */
static pid_t ns_pid(const struct dump_ctx *ctx, pid_t h)
{
	for (size_t i = 0; i < ctx->nprocs; i++)
		if (ctx->procs[i].pid == h)
			return ctx->procs[i].nspid;
	return 0;
}

/* A pidfd or a /proc file: restart opens those in their tasks, never in
 * the worker that sends the queues again. */
static bool opened_late(int fd)
{
	char path[64], link[32];
	struct statfs sfs;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		if (!strcmp(link, "anon_inode:[pidfd]"))
			return true;
	}
	return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

/* Files in flight (SCM_RIGHTS): the peek gave the worker an fd on each;
 * each is saved like a task's fd (its FILE record written now, before
 * this socket's) and kept open until the checkpoint ends, since the
 * object table compares later fds with it. A socket in flight is
 * refused: no task holds it, so neither it nor its peer could be paired. */
static int in_flight(struct peek *pk, Ckpt__Img__UnixMsg *m, const int *fds, size_t n)
{
	struct usk_table *t = pk->sd->ctx->usk;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		struct stat st;
		uint32_t id, *v;
		int *keep;

		if (r >= 0 && fstat(fds[i], &st) < 0)
			r = sock_fail(pk->sd, errno, "a file in flight");
		else if (r >= 0 && S_ISSOCK(st.st_mode))
			r = sock_refuse(pk->sd, "a socket in flight (SCM_RIGHTS) in its receive queue: not supported");
		else if (r >= 0 && opened_late(fds[i]))
			r = sock_refuse(pk->sd, "a pidfd or /proc file in flight (SCM_RIGHTS) in its receive queue: not supported");
		keep = realloc(t->inflight, (t->ninflight + 1) * sizeof(*keep));
		if (!keep) {
			close(fds[i]);
			r = r < 0 ? r : cr_fail(pk->sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "files in flight");
			continue;
		}
		t->inflight = keep;
		t->inflight[t->ninflight++] = fds[i];
		if (r < 0)
			continue;
		r = files_dump_target(pk->sd->ctx, getpid(), fds[i], &id);
		if (r < 0)
			continue;
		v = realloc(m->files, (m->n_files + 1) * sizeof(*v));
		if (!v) {
			r = cr_fail(pk->sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "files in flight");
			continue;
		}
		m->files = v;
		m->files[m->n_files++] = id;
	}
	return r;
}

/* The control data of one message: credentials kept; passed files
 * closed and refused. */
static int read_cmsgs(struct peek *pk, struct msghdr *mh, Ckpt__Img__UnixMsg *m)
{
	struct cmsghdr *c;
	bool rights = false;
	int r;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS) {
			size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[SCM_MAX_FD];

			memcpy(fds, CMSG_DATA(c), MIN(n, (size_t)SCM_MAX_FD) * sizeof(int));
			r = in_flight(pk, m, fds, MIN(n, (size_t)SCM_MAX_FD));
			if (r < 0)
				return r;
			rights = rights || n > SCM_MAX_FD;
		} else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			if (!uc.pid)
				continue;   /* sent without credentials */
			m->has_pid = m->has_uid = m->has_gid = true;
			m->pid = ns_pid(pk->sd->ctx, uc.pid);
			m->uid = uc.uid;
			m->gid = uc.gid;
			if (!m->pid)
				return sock_refuse(pk->sd, "a message in its receive queue carries the credentials of pid %d, "
						   "which is not a process of the container", uc.pid);
		}
	}
	if (rights || (mh->msg_flags & MSG_CTRUNC))
		return sock_refuse(pk->sd, "more file descriptors in flight (SCM_RIGHTS) in one message than a message can hold");
	return 0;
}

static int add_msg(struct peek *pk, Ckpt__Img__UnixMsg **ret)
{
	Ckpt__Img__UnixSock *u = pk->u;
	Ckpt__Img__UnixMsg *m, **v;

	if (u->n_queue >= CR_USK_MAX_MSGS)
		return sock_refuse(pk->sd, "more than %u messages in its receive queue", CR_USK_MAX_MSGS);
	v = realloc(u->queue, (u->n_queue + 1) * sizeof(*v));
	if (!v)
		return cr_fail(pk->sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket queue");
	u->queue = v;
	m = calloc(1, sizeof(*m));
	if (!m)
		return cr_fail(pk->sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket queue");
	ckpt__img__unix_msg__init(m);
	u->queue[u->n_queue++] = m;
	*ret = m;
	return 0;
}

/* Peek the message (or run of bytes) at offset off: its length (which
 * may exceed the buffer: MSG_TRUNC), or -EAGAIN past the end. */
static ssize_t peek_at(struct peek *pk, int off, struct msghdr *mh, bool trunc)
{
	struct iovec iov = { pk->buf, pk->cap };
	ssize_t n;

	if (set_opt(pk->sd->sk, SO_PEEK_OFF, off) < 0)
		return -errno;
	mh->msg_iov = &iov;
	mh->msg_iovlen = 1;
	n = recvmsg(pk->sd->sk, mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | (trunc ? MSG_TRUNC : 0));
	return n < 0 ? -errno : n;
}

static int grow(struct peek *pk, size_t want)
{
	char *b;

	if (want <= pk->cap)
		return 0;
	b = realloc(pk->buf, want);
	if (!b)
		return cr_fail(pk->sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket queue");
	pk->buf = b;
	pk->cap = want;
	return 0;
}

static int walk(struct peek *pk, bool msgs)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(SCM_MAX_FD * sizeof(int))];
	} ctl;
	struct sockaddr_un from;
	int off = 0, r;

	for (;;) {
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
		Ckpt__Img__UnixMsg *m = NULL;
		size_t namelen;
		ssize_t n;

		memset(&from, 0, sizeof(from));
		n = peek_at(pk, off, &mh, msgs);
		if (n == -EAGAIN || (n == 0 && !msgs))   /* the end (a stream's: 0 once shut down) */
			return 0;
		if (n < 0)
			return sock_fail(pk->sd, (int)-n, "peeking at its receive queue");
		if (msgs && (size_t)n > pk->cap) {   /* a bigger datagram than the buffer: again, whole */
			if ((r = grow(pk, n)) < 0)
				return r;
			continue;
		}
		if (pk->bytes + n > CR_USK_MAX_QUEUE)
			return sock_refuse(pk->sd, "more than %u bytes in its receive queue", CR_USK_MAX_QUEUE);
		if ((r = add_msg(pk, &m)) < 0)
			return r;
		m->data.data = malloc(n ? n : 1);
		if (!m->data.data)
			return cr_fail(pk->sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket queue");
		memcpy(m->data.data, pk->buf, n);
		m->data.len = n;
		namelen = mh.msg_namelen > offsetof(struct sockaddr_un, sun_path) ? mh.msg_namelen - offsetof(struct sockaddr_un, sun_path) : 0;
		while (namelen && from.sun_path[0] && !from.sun_path[namelen - 1])
			namelen--;   /* a path's NUL: names are kept without it */
		if (pk->sd->s->type == SOCK_DGRAM && namelen) {   /* a connection's sender is its peer */
			m->has_addr = true;
			m->addr.data = malloc(namelen);
			if (!m->addr.data)
				return cr_fail(pk->sd->ctx->err, CR_ERR_INTERNAL, ENOMEM, "socket queue");
			memcpy(m->addr.data, from.sun_path, namelen);
			m->addr.len = namelen;
		}
		if ((r = read_cmsgs(pk, &mh, m)) < 0)
			return r;
		pk->bytes += n;
		off += (int)n;
	}
}

static int peek_queue(struct peek *pk, const struct usk_diag *d)
{
	bool msgs = d->type != SOCK_STREAM;
	int r;

	if ((r = grow(pk, msgs ? 64 << 10 : MAX(d->rqueue, 1u))) < 0)
		return r;
	r = walk(pk, msgs);
	if (r >= 0 && !msgs && pk->bytes != d->rqueue)
		return sock_refuse(pk->sd, "%u bytes in its receive queue of which %zu can be read (out-of-band data?): not supported",
				   d->rqueue, pk->bytes);
	return r;
}

int usk_queue_dump(struct sock_dump *sd, const struct usk_diag *d, Ckpt__Img__UnixSock *u)
{
	struct peek pk = { .sd = sd, .u = u };
	int peek_off = -1, passcred = 0, r, r2;

	/* a stream or seqpacket socket has a queue once connected only */
	if (d->state == TCP_LISTEN || (d->type != SOCK_DGRAM && d->state != TCP_ESTABLISHED))
		return 0;
	if (get_opt(sd->sk, SO_PEEK_OFF, &peek_off) < 0 || get_opt(sd->sk, SO_PASSCRED, &passcred) < 0)
		return sock_fail(sd, errno, "SO_PEEK_OFF, SO_PASSCRED");
	if (set_opt(sd->sk, SO_PASSCRED, 1) < 0)
		return sock_fail(sd, errno, "SO_PASSCRED");
	r = peek_queue(&pk, d);
	/* the program's own settings back, whatever happened */
	r2 = set_opt(sd->sk, SO_PEEK_OFF, peek_off);
	if (r2 >= 0)
		r2 = set_opt(sd->sk, SO_PASSCRED, passcred);
	free(pk.buf);
	if (r >= 0 && r2 < 0)
		r = sock_fail(sd, -r2, "putting SO_PEEK_OFF and SO_PASSCRED back");
	return r;
}

void usk_queue_free(Ckpt__Img__UnixSock *u)
{
	for (size_t i = 0; i < u->n_queue; i++) {
		free(u->queue[i]->data.data);
		free(u->queue[i]->addr.data);
		free(u->queue[i]->files);
		free(u->queue[i]);
	}
	free(u->queue);
	u->queue = NULL;
	u->n_queue = 0;
}
