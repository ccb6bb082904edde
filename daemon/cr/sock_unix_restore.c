// SPDX-License-Identifier: GPL-2.0-or-later
/* Unix sockets at restart (sock_unix.h). The worker is in the container's
 * network namespace (abstract names live there); a path is bound and
 * connected to through an O_PATH fd on its directory, opened in the
 * container's root: "/proc/self/fd/N/NAME". */
#include "sock_unix.h"
#include "macro.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct usk_rent *usk_find(struct restore_ctx *ctx, uint32_t ino)
{
	struct usk_rtab *t = ctx->usk;

	for (size_t i = 0; t && i < t->n; i++)
		if (t->v[i].ino == ino)
			return &t->v[i];
	return NULL;
}

/* A new entry for ino, which must not have one. */
static struct usk_rent *add(struct restore_ctx *ctx, uint32_t ino, const char *who)
{
	struct usk_rtab *t = ctx->usk;

	if (usk_find(ctx, ino)) {
		cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "%s: unix socket inode %u appears twice", who, ino);
		return NULL;
	}
	if (!t && !(t = ctx->usk = calloc(1, sizeof(*t))))
		goto nomem;
	if (GROW(t->v, t->cap, t->n, 32) < 0)
		goto nomem;
	t->v[t->n] = (struct usk_rent){ .ino = ino, .fd = -1, .ahead = -1, .orphan = -1 };
	return &t->v[t->n++];
nomem:
	cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "unix sockets");
	return NULL;
}

int usk_name_addr(struct restore_ctx *ctx, const ProtobufCBinaryData *name, struct sockaddr_un *sa, socklen_t *len, int *dirfd)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int rootfd = -1;
	_cleanup_free_ char *dir = NULL;
	char path[USK_NAME_MAX + 1], buf[64];
	const char *base;
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*dirfd = -1;
	if (name->data[0] == 0) {
		memcpy(sa->sun_path, name->data, name->len);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name->len);
		return 0;
	}
	memcpy(path, name->data, name->len);
	path[name->len] = 0;
	base = strrchr(path, '/');
	dir = base == path ? strdup("/") : strndup(path, base - path);
	if (!dir)
		return -ENOMEM;
	snprintf(buf, sizeof(buf), "/proc/%d/root", ctx->req->init_pid);
	rootfd = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	*dirfd = (int)syscall(SYS_openat2, rootfd, dir, &how, sizeof(how));
	if (*dirfd < 0)
		return -errno;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dirfd, base + 1);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*len = sizeof(*sa);
	return 0;
}

static int fail_name(struct sock_restore *sr, int err, const char *what)
{
	char name[96];

	return cr_fail(sr->ctx->err, CR_ERR_KERNEL, err, "%s: %s", sock_name(sr->f, name, sizeof(name)), what);
}

/* Bind sk to the path in sa as the container sees it: the kernel keeps
 * the path it was bound with as the socket's name, so it is bound from a
 * child of the worker in the container's mount namespace and root. */
static int bind_path(struct restore_ctx *ctx, int sk, const struct sockaddr_un *sa, socklen_t len)
{
	_cleanup_close_ int mnt = -1, root = -1;
	char buf[64];
	int st;
	pid_t pid;

	snprintf(buf, sizeof(buf), "/proc/%d/ns/mnt", ctx->req->init_pid);
	mnt = open(buf, O_RDONLY | O_CLOEXEC);
	snprintf(buf, sizeof(buf), "/proc/%d/root", ctx->req->init_pid);
	root = open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mnt < 0 || root < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setns(mnt, CLONE_NEWNS) < 0 || fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0)
			_exit(1);
		_exit(bind(sk, (const struct sockaddr *)sa, len) < 0 ? (errno & 0x7f) + 2 : 0);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 1)
		return -ECHILD;
	return WEXITSTATUS(st) ? -(WEXITSTATUS(st) - 2) : 0;
}

/* An abstract name lives in the network namespace: one the container
 * shares may still hold the checkpointed container's socket for a while
 * when its image streams straight into this restart (it is killed once
 * the image is written), so a name in use is tried again for 2 s. */
static int bind_abstract(int sk, const struct sockaddr_un *sa, socklen_t len)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	for (int i = 0; i < 100; i++) {
		if (bind(sk, (const struct sockaddr *)sa, len) == 0)
			return 0;
		if (errno != EADDRINUSE)
			break;
		nanosleep(&ts, NULL);
	}
	return -errno;
}

/* Bind sk to its own name: a path's old socket file is replaced by the
 * new one, with the saved mode and owner. */
static int bind_name(struct sock_restore *sr, int sk, const Ckpt__Img__UnixSock *u)
{
	_cleanup_close_ int dirfd = -1;
	struct sockaddr_un sa, path;
	struct stat st;
	const char *base = NULL;
	socklen_t len, plen;
	int r;

	if (!u->has_name || !u->name.len)
		return 0;
	r = usk_name_addr(sr->ctx, &u->name, &sa, &len, &dirfd);
	if (r < 0)
		return fail_name(sr, -r, "the directory of its name");
	memset(&path, 0, sizeof(path));
	path.sun_family = AF_UNIX;
	memcpy(path.sun_path, u->name.data, u->name.len);
	plen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + u->name.len + 1);
	if (dirfd >= 0) {
		base = strrchr(sa.sun_path, '/') + 1;
		if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISSOCK(st.st_mode))
				return cr_fail(sr->ctx->err, CR_ERR_BAD_STATE, 0, "%s: its name %.*s is now a file that is not a socket",
					       sock_name(sr->f, (char[96]){ 0 }, 96), (int)u->name.len, (const char *)u->name.data);
			if (unlinkat(dirfd, base, 0) < 0)
				return fail_name(sr, errno, "removing its old socket file");
		}
	}
	if (dirfd < 0)
		r = bind_abstract(sk, &sa, len);
	else
		r = bind_path(sr->ctx, sk, &path, plen);
	if (r == -ECHILD)
		return fail_name(sr, 0, "entering the container's mount namespace to bind its path");
	if (r < 0)
		return fail_name(sr, -r, "bind");
	if (dirfd >= 0 && u->has_file_mode &&
	    (fchownat(dirfd, base, u->file_uid, u->file_gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(dirfd, base, u->file_mode, 0) < 0))
		return fail_name(sr, errno, "the mode and owner of its socket file");
	return 0;
}

/* Connect a new socket of the listener's type to it (address sa). */
static int connect_new(int type, const struct sockaddr_un *sa, socklen_t len)
{
	int c = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int fl;

	if (c < 0)
		return -errno;
	if (connect(c, (const struct sockaddr *)sa, len) < 0 || (fl = fcntl(c, F_GETFL)) < 0 || fcntl(c, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;

		close(c);
		return -e;
	}
	return c;
}

static int stash(struct sock_restore *sr, uint32_t ino, int fd)
{
	char name[96];
	struct usk_rent *e = add(sr->ctx, ino, sock_name(sr->f, name, sizeof(name)));

	if (!e) {
		close(fd);
		return -EINVAL;
	}
	e->ahead = fd;
	return 0;
}

/* A listener: the connections accepted from it first (accepting takes
 * the oldest waiting, so the backlog must be empty then), then those
 * waiting in its backlog, in order. Their ends wait for their records. */
static int make_conns(struct sock_restore *sr, int sk, const Ckpt__Img__UnixSock *u)
{
	_cleanup_close_ int dirfd = -1;
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	int r, c, s;

	if (getsockname(sk, (struct sockaddr *)&sa, &len) < 0)
		return fail_name(sr, errno, "getsockname");
	if (sa.sun_path[0]) {   /* a path: through its directory, as bound */
		r = usk_name_addr(sr->ctx, &u->name, &sa, &len, &dirfd);
		if (r < 0)
			return fail_name(sr, -r, "the directory of its name");
	}
	for (size_t i = 0; i < u->n_accepted; i++) {
		c = connect_new(sr->s->type, &sa, len);
		if (c < 0)
			return fail_name(sr, -c, "connecting to it for an accepted connection");
		s = accept4(sk, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0) {
			close(c);
			return fail_name(sr, errno, "accepting a connection");
		}
		r = stash(sr, u->accepted[i]->server, s);
		if (r < 0) {
			close(c);
			return r;
		}
		if (u->accepted[i]->client)
			r = stash(sr, u->accepted[i]->client, c);
		else
			usk_find(sr->ctx, u->accepted[i]->server)->orphan = c;
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < u->n_pending; i++) {
		c = connect_new(sr->s->type, &sa, len);
		if (c < 0)
			return fail_name(sr, -c, "connecting to it for a connection waiting in its backlog");
		r = stash(sr, u->pending[i], c);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The socket of this record: made ahead by its pair or listener, or now. */
static int make(struct sock_restore *sr, const Ckpt__Img__UnixSock *u)
{
	struct usk_rent *e = usk_find(sr->ctx, u->ino);
	char name[96];
	int sv[2], sk;

	sock_name(sr->f, name, sizeof(name));
	if (e && e->ahead >= 0) {
		sk = e->ahead;
		e->ahead = -1;
		return sk;
	}
	if (e)
		return cr_fail(sr->ctx->err, CR_ERR_BAD_IMAGE, 0, "%s: unix socket inode %u appears twice", name, u->ino);
	if (u->has_listener)
		return cr_fail(sr->ctx->err, CR_ERR_BAD_IMAGE, 0, "%s: its listener (inode %u) did not make its connection", name, u->listener);
	e = add(sr->ctx, u->ino, name);
	if (!e)
		return -EINVAL;
	if ((u->has_peer && !u->connect_peer) || u->peer_closed) {
		if (socketpair(AF_UNIX, sr->s->type | SOCK_CLOEXEC, 0, sv) < 0)
			return fail_name(sr, errno, "socketpair");
		if (u->peer_closed) {
			e->orphan = sv[1];
		} else if (stash(sr, u->peer, sv[1]) < 0) {
			close(sv[0]);
			return -EINVAL;
		}
		return sv[0];
	}
	sk = socket(AF_UNIX, sr->s->type | SOCK_CLOEXEC, 0);
	return sk < 0 ? fail_name(sr, errno, "socket") : sk;
}

/* Its record, for the finish (looked up again: making connections may
 * have moved the table). */
static int keep_record(struct sock_restore *sr, int sk)
{
	struct usk_rent *e = usk_find(sr->ctx, sr->s->unx->ino);
	size_t n = ckpt__img__socket__get_packed_size(sr->s);

	e->packed = malloc(n ? n : 1);
	if (!e->packed)
		return cr_fail(sr->ctx->err, CR_ERR_INTERNAL, ENOMEM, "unix socket");
	e->plen = ckpt__img__socket__pack(sr->s, e->packed);
	e->fd = sk;
	e->file_id = sr->f->id;
	return 0;
}

int sock_unix_restore(struct sock_restore *sr)
{
	const Ckpt__Img__UnixSock *u = sr->s->unx;
	_cleanup_close_ int sk = -1;
	int r;

	sk = make(sr, u);
	if (sk < 0)
		return sk;
	r = bind_name(sr, sk, u);
	if (r >= 0)
		r = sock_opts_restore(sr, sk, SOPT_EARLY);
	if (r >= 0 && u->state == TCP_LISTEN && listen(sk, (int)u->backlog) < 0)
		r = fail_name(sr, errno, "listen");
	if (r >= 0 && u->state == TCP_LISTEN)
		r = make_conns(sr, sk, u);
	if (r >= 0)
		r = keep_record(sr, sk);
	return r < 0 ? r : TAKE_FD(sk);
}

void sock_unix_restore_done(struct restore_ctx *ctx)
{
	struct usk_rtab *t = ctx->usk;

	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].ahead >= 0)
			close(t->v[i].ahead);
		if (t->v[i].orphan >= 0)
			close(t->v[i].orphan);
		free(t->v[i].packed);
	}
	free(t->v);
	free(t);
	ctx->usk = NULL;
}
