// SPDX-License-Identifier: GPL-2.0-or-later
/* Sockets: the part every family shares (sock.h). */
#include "sock.h"
#include "validate.h"
#include "macro.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int sock_refuse(struct sock_dump *sd, const char *fmt, ...)
{
	char obj[96], why[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(obj, sizeof(obj), "fd %d (%s)", sd->fd, sd->link);
	return cr_fail_obj(sd->ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s", why);
}

int sock_fail(struct sock_dump *sd, int err, const char *what)
{
	char obj[96];

	snprintf(obj, sizeof(obj), "fd %d (%s)", sd->fd, sd->link);
	return cr_fail_obj(sd->ctx->err, CR_ERR_KERNEL, err, obj, "%s", what);
}

static const char *family_name(int family)
{
	switch (family) {
	case AF_UNIX: return "unix";
	case AF_INET: return "inet";
	case AF_INET6: return "inet6";
	case AF_NETLINK: return "netlink";
	case AF_PACKET: return "packet";
	case AF_VSOCK: return "vsock";
	default: return "unknown";
	}
}

static const char *type_name(int type)
{
	switch (type) {
	case SOCK_STREAM: return "stream";
	case SOCK_DGRAM: return "dgram";
	case SOCK_SEQPACKET: return "seqpacket";
	case SOCK_RAW: return "raw";
	case SOCK_RDM: return "rdm";
	default: return "unknown";
	}
}

const char *sock_name(const Ckpt__Img__File *f, char *buf, size_t len)
{
	snprintf(buf, len, "file %u (%s %s socket)", f->id, family_name(f->sock->family), type_name(f->sock->type));
	return buf;
}

/* A pidfd on the task the last socket came from: sockets are dumped task
 * by task, and thousands of them would each pay a pidfd_open and a close.
 * It pins the task itself, so a pid reused meanwhile is never mistaken
 * for it. The worker ends with its operation and drops it then. */
static int holder_pidfd(pid_t pid)
{
	static pid_t last_pid;
	static int last_fd = -1;

	if (last_fd >= 0 && last_pid == pid)
		return last_fd;
	if (last_fd >= 0)
		close(last_fd);
	last_fd = (int)syscall(SYS_pidfd_open, pid, 0);
	last_pid = pid;
	return last_fd;
}

/* The worker's own fd on the socket the task holds at fd. */
static int grab(struct sock_dump *sd)
{
	int pidfd = holder_pidfd(sd->pid);

	if (pidfd < 0)
		return sock_fail(sd, errno, "pidfd_open of its holder");
	sd->sk = (int)syscall(SYS_pidfd_getfd, pidfd, sd->fd, 0);
	return sd->sk < 0 ? sock_fail(sd, errno, "pidfd_getfd") : 0;
}

static int get_int(struct sock_dump *sd, int opt, const char *what, int32_t *ret)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(sd->sk, SOL_SOCKET, opt, &v, &len) < 0)
		return sock_fail(sd, errno, what);
	*ret = v;
	return 0;
}

static int dump_family(struct sock_dump *sd)
{
	int r;

	switch (sd->s->family) {
	case AF_UNIX:
		/* a filter only inet sockets save: refused, not lost */
		r = sock_refuse_filter(sd);
		return r < 0 ? r : sock_unix_dump(sd);
	case AF_INET:
	case AF_INET6:
		return sock_inet_dump(sd);
	case AF_NETLINK:
		return sock_netlink_dump(sd);
	case AF_PACKET:
		return sock_packet_dump(sd);
	default:   /* refused before its options are read */
		return 0;
	}
}

static bool family_known(int family)
{
	return family == AF_UNIX || family == AF_INET || family == AF_INET6 || family == AF_NETLINK || family == AF_PACKET;
}

int sock_dump(struct dump_ctx *ctx, pid_t pid, int fd, const char *link, const struct stat *st, Ckpt__Img__File *f)
{
	struct sock_dump sd = { .ctx = ctx, .pid = pid, .fd = fd, .link = link, .ino = st->st_ino, .sk = -1 };
	int r;

	f->sock = sd.s = calloc(1, sizeof(*sd.s));
	if (!sd.s)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: fd %d", pid, fd);
	ckpt__img__socket__init(sd.s);
	r = grab(&sd);
	if (r >= 0)
		r = get_int(&sd, SO_DOMAIN, "SO_DOMAIN", &sd.s->family);
	if (r >= 0)
		r = get_int(&sd, SO_TYPE, "SO_TYPE", &sd.s->type);
	if (r >= 0)
		r = get_int(&sd, SO_PROTOCOL, "SO_PROTOCOL", &sd.s->protocol);
	if (r >= 0 && !family_known(sd.s->family))
		r = sock_refuse(&sd, "%s sockets (address family %d) are not supported", family_name(sd.s->family), sd.s->family);
	if (r >= 0)
		r = sock_opts_dump(&sd);
	if (r >= 0)
		r = dump_family(&sd);
	if (sd.sk >= 0)
		close(sd.sk);
	return r;
}

void sock_dump_free(Ckpt__Img__File *f)
{
	Ckpt__Img__Socket *s = f->sock;

	if (!s)
		return;
	for (size_t i = 0; i < s->n_opts; i++) {
		free(s->opts[i]->value.data);
		free(s->opts[i]);
	}
	free(s->opts);
	sock_unix_free(s);
	sock_inet_free(s);
	sock_netlink_free(s);
	sock_packet_free(s);
	free(s);
	f->sock = NULL;
}

static int restore_family(struct sock_restore *sr)
{
	char name[96];

	switch (sr->s->family) {
	case AF_UNIX:
		return sock_unix_restore(sr);
	case AF_INET:
	case AF_INET6:
		return sock_inet_restore(sr);
	case AF_NETLINK:
		return sock_netlink_restore(sr);
	case AF_PACKET:
		return sock_packet_restore(sr);
	default:   /* validate_socket refuses it first */
		return cr_fail(sr->ctx->err, CR_ERR_BAD_IMAGE, 0, "%s: unknown family", sock_name(sr->f, name, sizeof(name)));
	}
}

int sock_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	struct sock_restore sr = { .ctx = ctx, .f = f, .s = f->sock };
	_cleanup_close_ int fd = -1;
	char name[96];

	fd = restore_family(&sr);
	if (fd < 0)
		return fd;
	if ((f->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "%s: O_NONBLOCK", sock_name(f, name, sizeof(name)));
	return TAKE_FD(fd);
}
