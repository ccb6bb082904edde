// SPDX-License-Identifier: GPL-2.0-or-later
/* Unix sockets at the end of a restart (sock_unix.h), once every task and
 * socket exists: each receive queue is sent again by the socket's peer
 * (or, for a datagram, by the socket whose name it came from, or by an
 * unnamed one), with the credentials it carried translated to the new
 * host pids; then the datagram sockets connect to their peers' names,
 * the ends of closed pairs close, shutdown is applied and SO_PEEK_OFF set.
 *
 * While a message is sent, SO_PASSCRED is off on both ends (the kernel
 * would stamp the worker's credentials, or autobind the sender) and the
 * sender's buffer is raised; both are put back after. */
#include "sock_unix.h"
#include "macro.h"
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SCM_MAX_FD
#define SCM_MAX_FD 253   /* include/net/scm.h: the most one message carries */
#endif

struct fin {
	struct restore_ctx *ctx;
	struct usk_rtab *t;
	Ckpt__Img__Socket **s;        /* t->v[i]'s record */
};

static int bad(struct fin *fn, size_t i, const char *why)
{
	return cr_fail(fn->ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u (unix socket inode %u): %s", fn->t->v[i].file_id, fn->t->v[i].ino, why);
}

static int kfail(struct fin *fn, size_t i, int err, const char *what)
{
	return cr_fail(fn->ctx->err, CR_ERR_KERNEL, err, "file %u (unix socket inode %u): %s", fn->t->v[i].file_id, fn->t->v[i].ino, what);
}

static int get_opt(int sk, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(sk, SOL_SOCKET, opt, &v, &len) < 0 ? -1 : v;
}

static int set_opt(int sk, int opt, int v)
{
	return setsockopt(sk, SOL_SOCKET, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

static ssize_t index_of(struct fin *fn, uint32_t ino)
{
	for (size_t i = 0; i < fn->t->n; i++)
		if (fn->t->v[i].ino == ino)
			return (ssize_t)i;
	return -1;
}

/* The socket whose own name is addr, or -1. */
static ssize_t named(struct fin *fn, const ProtobufCBinaryData *addr)
{
	for (size_t i = 0; i < fn->t->n; i++) {
		const Ckpt__Img__UnixSock *u = fn->s[i]->unx;

		if (u->has_name && u->name.len == addr->len && !memcmp(u->name.data, addr->data, addr->len))
			return (ssize_t)i;
	}
	return -1;
}

static pid_t host_pid(struct fin *fn, pid_t pid)
{
	for (size_t i = 0; i < fn->ctx->nprocs; i++)
		if (fn->ctx->procs[i].tt->pid == pid)
			return fn->ctx->procs[i].host_pid;
	return 0;
}

/* m's credentials (the pid mapped to its new host pid) and files in
 * flight (the worker's fds on their restored descriptions), into mh. */
static int control(struct fin *fn, size_t ri, const Ckpt__Img__UnixMsg *m, struct msghdr *mh)
{
	struct cmsghdr *c;
	size_t len = 0;

	if (m->has_pid) {
		struct ucred uc = { .pid = host_pid(fn, m->pid), .uid = m->uid, .gid = m->gid };

		if (!uc.pid)
			return bad(fn, ri, "a message carries the credentials of a pid that is not in the tree");
		mh->msg_controllen = CMSG_SPACE(sizeof(uc));
		c = CMSG_FIRSTHDR(mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(c), &uc, sizeof(uc));
		len = CMSG_SPACE(sizeof(uc));
	}
	if (m->n_files) {
		int fds[SCM_MAX_FD];

		for (size_t i = 0; i < m->n_files; i++) {
			const struct restore_obj *o = objhash_find_id(fn->ctx->objs, OBJ_FILE, m->files[i]);

			if (!o || o->slot < 0 || (size_t)o->slot >= fn->ctx->npool)
				return bad(fn, ri, "a file in flight that is not a file the worker opened");
			fds[i] = fn->ctx->pool[o->slot];
		}
		mh->msg_controllen = len + CMSG_SPACE(m->n_files * sizeof(int));
		c = len ? CMSG_NXTHDR(mh, CMSG_FIRSTHDR(mh)) : CMSG_FIRSTHDR(mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(m->n_files * sizeof(int));
		memcpy(CMSG_DATA(c), fds, m->n_files * sizeof(int));
	}
	if (!mh->msg_controllen)
		mh->msg_control = NULL;
	return 0;
}

/* Send m from fd to the receiver (to: its address, or NULL: connected). */
static int send_one(struct fin *fn, size_t ri, int fd, const Ckpt__Img__UnixMsg *m, const struct sockaddr_un *to, socklen_t tolen)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(SCM_MAX_FD * sizeof(int))];
	} ctl;
	struct iovec iov = { m->data.data, m->data.len };
	struct msghdr mh = { .msg_name = (void *)to, .msg_namelen = to ? tolen : 0, .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b };
	int passcred = get_opt(fd, SO_PASSCRED), sndbuf = get_opt(fd, SO_SNDBUF), r = 0;
	bool stream = fn->s[ri]->type == SOCK_STREAM;
	size_t done = 0;

	memset(ctl.b, 0, sizeof(ctl.b));
	r = control(fn, ri, m, &mh);
	if (r < 0)
		return r;
	if (passcred < 0 || sndbuf < 0 || set_opt(fd, SO_PASSCRED, 0) < 0 ||
	    set_opt(fd, SO_SNDBUFFORCE, (int)MIN(m->data.len * 2 + (1 << 20), (size_t)1 << 30)) < 0)
		return kfail(fn, ri, errno, "preparing the socket that sends its queue");
	do {
		ssize_t n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 || (!stream && (size_t)n != m->data.len)) {
			r = kfail(fn, ri, n < 0 ? errno : EMSGSIZE, "sending its queue again");
			break;
		}
		done += n;
		iov.iov_base = (char *)m->data.data + done;
		iov.iov_len = m->data.len - done;
		mh.msg_control = NULL;   /* a stream's rest: the same sender, no new credentials */
		mh.msg_controllen = 0;
	} while (done < m->data.len);
	if ((set_opt(fd, SO_PASSCRED, passcred) < 0 || set_opt(fd, SO_SNDBUFFORCE, sndbuf / 2) < 0) && r >= 0)
		r = kfail(fn, ri, errno, "putting back the options of the socket that sent its queue");
	return r;
}

/* Who sends m to socket ri: its pair's other end (connected: to NULL),
 * the socket named like m's sender, or a new unnamed socket (*tmp). */
static int sender(struct fin *fn, size_t ri, const Ckpt__Img__UnixMsg *m, int *tmp, bool *connected)
{
	const Ckpt__Img__UnixSock *u = fn->s[ri]->unx;
	struct usk_rent *e = &fn->t->v[ri];
	ssize_t p = u->has_peer ? index_of(fn, u->peer) : -1;

	*connected = true;
	if (fn->s[ri]->type != SOCK_DGRAM) {
		if (p >= 0)
			return fn->t->v[p].fd;
		if (e->orphan >= 0)
			return e->orphan;
		return bad(fn, ri, "a queue on a socket that has no peer");
	}
	if (p >= 0 && !u->connect_peer && (!m->has_addr || !u->has_name))
		return fn->t->v[p].fd;
	*connected = false;
	if (m->has_addr) {
		ssize_t s = named(fn, &m->addr);

		if (s < 0)
			return bad(fn, ri, "a datagram from a name no socket of the image has");
		return fn->t->v[s].fd;
	}
	if (*tmp < 0 && (*tmp = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return kfail(fn, ri, errno, "a socket to send its queue with");
	return *tmp;
}

static int fill(struct fin *fn, size_t ri)
{
	const Ckpt__Img__UnixSock *u = fn->s[ri]->unx;
	int fd = fn->t->v[ri].fd, passcred, r = 0;
	_cleanup_close_ int dirfd = -1, tmp = -1;
	struct sockaddr_un to;
	socklen_t tolen = 0;
	bool connected;

	if (!u->n_queue)
		return 0;
	if (u->has_name && (r = usk_name_addr(fn->ctx, &u->name, &to, &tolen, &dirfd)) < 0)
		return kfail(fn, ri, -r, "its address");
	passcred = get_opt(fd, SO_PASSCRED);
	if (passcred < 0 || set_opt(fd, SO_PASSCRED, 0) < 0)
		return kfail(fn, ri, errno, "SO_PASSCRED");
	for (size_t k = 0; k < u->n_queue && r >= 0; k++) {
		int s = sender(fn, ri, u->queue[k], &tmp, &connected);

		if (s < 0)
			r = s;
		else if (!connected && !tolen)
			r = bad(fn, ri, "datagrams queued on a socket that has neither a name nor a pair");
		else
			r = send_one(fn, ri, s, u->queue[k], connected ? NULL : &to, tolen);
	}
	if (set_opt(fd, SO_PASSCRED, passcred) < 0 && r >= 0)
		r = kfail(fn, ri, errno, "SO_PASSCRED");
	return r;
}

/* A datagram socket connected to its peer's name (not its pair). */
static int connect_peer(struct fin *fn, size_t i)
{
	const Ckpt__Img__UnixSock *u = fn->s[i]->unx;
	_cleanup_close_ int dirfd = -1;
	struct sockaddr_un sa;
	socklen_t len;
	ssize_t p;
	int r;

	if (!u->connect_peer)
		return 0;
	p = index_of(fn, u->peer);
	if (p < 0 || !fn->s[p]->unx->has_name || !fn->s[p]->unx->name.len)
		return bad(fn, i, "connected to a socket that is not in the image or has no name");
	r = usk_name_addr(fn->ctx, &fn->s[p]->unx->name, &sa, &len, &dirfd);
	if (r < 0)
		return kfail(fn, i, -r, "its peer's address");
	return connect(fn->t->v[i].fd, (struct sockaddr *)&sa, len) < 0 ? kfail(fn, i, errno, "connecting to its peer") : 0;
}

static int finish_one(struct fin *fn, size_t i)
{
	const Ckpt__Img__UnixSock *u = fn->s[i]->unx;
	struct usk_rent *e = &fn->t->v[i];
	Ckpt__Img__File f = CKPT__IMG__FILE__INIT;
	struct sock_restore sr = { .ctx = fn->ctx, .f = &f, .s = fn->s[i] };

	if (e->orphan >= 0) {   /* its peer closes, as it had */
		close(e->orphan);
		e->orphan = -1;
	}
	if ((u->shutdown & 1) && shutdown(e->fd, SHUT_RD) < 0)
		return kfail(fn, i, errno, "shutdown(SHUT_RD)");
	if ((u->shutdown & 2) && shutdown(e->fd, SHUT_WR) < 0)
		return kfail(fn, i, errno, "shutdown(SHUT_WR)");
	f.id = e->file_id;
	f.sock = fn->s[i];
	return sock_opts_restore(&sr, e->fd, SOPT_LATE);
}

static int run(struct fin *fn)
{
	size_t n = fn->t->n, i;
	int r = 0;

	for (i = 0; i < n && r >= 0; i++) {
		if (fn->t->v[i].ahead >= 0)
			return bad(fn, i, "made for a connection, but no file record took it");
		fn->s[i] = ckpt__img__socket__unpack(NULL, fn->t->v[i].plen, fn->t->v[i].packed);
		if (!fn->s[i] || !fn->s[i]->unx)
			return cr_fail(fn->ctx->err, CR_ERR_INTERNAL, 0, "unix socket %u: its record", fn->t->v[i].ino);
	}
	for (i = 0; i < n && r >= 0; i++)
		r = fill(fn, i);
	for (i = 0; i < n && r >= 0; i++)
		r = connect_peer(fn, i);
	for (i = 0; i < n && r >= 0; i++)
		r = finish_one(fn, i);
	return r;
}

int sock_unix_restore_finish(struct restore_ctx *ctx)
{
	struct fin fn = { .ctx = ctx, .t = ctx->usk };
	int r;

	if (!fn.t || !fn.t->n)
		return 0;
	fn.s = calloc(fn.t->n, sizeof(*fn.s));
	if (!fn.s)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "unix sockets");
	r = run(&fn);
	for (size_t i = 0; i < fn.t->n; i++)
		if (fn.s[i])
			ckpt__img__socket__free_unpacked(fn.s[i], NULL);
	free(fn.s);
	return r;
}
