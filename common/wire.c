// SPDX-License-Identifier: GPL-2.0-or-later
/* RPC framing: one datagram per message on a SOCK_SEQPACKET socket, fds as
 * SCM_RIGHTS. Received fds are owned by the caller only on success; on every
 * error path they are closed here, so a hostile peer can't leak fds into us. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "wire.h"

/* The kernel's SCM_MAX_FD. The RPC uses at most CKPT_RPC_MAX_FDS, but the
 * restore spawner hands a whole fd table over in one datagram. */
#define WIRE_MAX_FDS 253

union wire_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(WIRE_MAX_FDS * sizeof(int))];
};

static void wire_close_fds(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int wire_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	union wire_cmsg ctl;
	ssize_t n;

	if (nfds > WIRE_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		for (size_t i = 0; i < nfds; i++)
			if (fds[i] < 0)
				return -EBADF;
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* a seqpacket datagram goes whole or not at all */
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int wire_send_msg(int sock, const ProtobufCMessage *msg, const int *fds, size_t nfds)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	_cleanup_free_ uint8_t *buf = NULL;

	if (len > CKPT_RPC_MAX_MSG)
		return -EMSGSIZE;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	if (protobuf_c_message_pack(msg, buf) != len)
		return -EINVAL;
	return wire_send(sock, buf, len, fds, nfds);
}

/* Collect SCM_RIGHTS fds into out (at most max); returns how many were
 * collected and sets *overflow if any had to be closed for lack of room. */
static size_t wire_take_fds(struct msghdr *mh, int *out, size_t max, bool *overflow)
{
	size_t got = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (got < max) {
				out[got++] = fd;
			} else {
				close(fd);
				*overflow = true;
			}
		}
	}
	return got;
}

ssize_t wire_recv(int sock, void *buf, size_t cap, int *ret_fds, size_t max_fds, size_t *ret_nfds)
{
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	union wire_cmsg ctl;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	int fds[WIRE_MAX_FDS];
	bool overflow = false;
	size_t got;
	ssize_t n;

	if (ret_nfds)
		*ret_nfds = 0;
	if (!ret_fds)
		max_fds = 0;
	if (max_fds > WIRE_MAX_FDS)
		max_fds = WIRE_MAX_FDS;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	got = wire_take_fds(&mh, fds, max_fds, &overflow);
	if (mh.msg_flags & MSG_TRUNC) {
		wire_close_fds(fds, got);
		return -EMSGSIZE;
	}
	if (overflow || (mh.msg_flags & MSG_CTRUNC)) {
		/* fds we were not told about were dropped by the kernel or closed */
		wire_close_fds(fds, got);
		return -EBADMSG;
	}
	if (n == 0) {
		/* EOF (or an empty datagram, which no sender of ours makes) */
		wire_close_fds(fds, got);
		return 0;
	}
	if (got)
		memcpy(ret_fds, fds, got * sizeof(int));
	if (ret_nfds)
		*ret_nfds = got;
	else
		wire_close_fds(fds, got);
	return n;
}

const char *wire_socket_path(const char *arg)
{
	const char *env;

	if (arg && *arg)
		return arg;
	env = getenv("CKPTD_SOCKET");
	return env && *env ? env : CKPTD_DEFAULT_SOCKET;
}
