/* One protobuf message per SOCK_SEQPACKET datagram, fds as SCM_RIGHTS. */
#include "wire.h"
#include "macro.h"
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WIRE_FDS_MAX 253   /* SCM_MAX_FD */

int wire_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	_cleanup_free_ char *ctl = NULL;
	ssize_t n;

	if (nfds > WIRE_FDS_MAX)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		ctl = calloc(1, CMSG_SPACE(nfds * sizeof(int)));
		if (!ctl)
			return -ENOMEM;
		mh.msg_control = ctl;
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
	protobuf_c_message_pack(msg, buf);
	return wire_send(sock, buf, len, fds, nfds);
}

ssize_t wire_recv(int sock, void *buf, size_t cap, int *ret_fds, size_t max_fds, size_t *ret_nfds)
{
	char ctl[CMSG_SPACE(WIRE_FDS_MAX * sizeof(int))];
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	size_t got = 0, i;
	struct cmsghdr *c;
	ssize_t n;
	int err = 0;

	*ret_nfds = 0;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;
		int *in;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		in = (int *)CMSG_DATA(c);
		for (i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, in + i, sizeof(int));
			if (got < max_fds)
				ret_fds[got++] = fd;
			else {
				close(fd);
				err = -EBADMSG;
			}
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		err = -EBADMSG;
	if (mh.msg_flags & MSG_TRUNC)
		err = -EMSGSIZE;
	if (err) {
		for (i = 0; i < got; i++)
			close(ret_fds[i]);
		return err;
	}
	*ret_nfds = got;
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
