// SPDX-License-Identifier: GPL-2.0-or-later
/* sock_diag (NETLINK_SOCK_DIAG): what only the kernel's socket listing
 * shows (a raw socket's peer, shutdown state, a netlink dump in progress,
 * a packet socket's rings). The worker is in the container's network
 * namespace, so the listing is the container's. */
#include "sock.h"
#include "macro.h"
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DIAG_BUF (32 * 1024)

static int diag_send(int nl, const void *req, size_t len, uint16_t type, uint16_t flags)
{
	struct {
		struct nlmsghdr h;
		char body[128];
	} msg;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (len > sizeof(msg.body))
		return -EINVAL;
	memset(&msg, 0, sizeof(msg));
	msg.h.nlmsg_len = NLMSG_LENGTH(len);
	msg.h.nlmsg_type = type;
	msg.h.nlmsg_flags = NLM_F_REQUEST | flags;
	msg.h.nlmsg_seq = 1;
	memcpy(msg.body, req, len);
	if (sendto(nl, &msg, msg.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

/* Reads the whole dump (a half-read dump would stay in the kernel) and
 * hands each record to fn until it returns non-zero. */
static int diag_read(int nl, int (*fn)(const struct nlmsghdr *h, void *arg), void *arg)
{
	_cleanup_free_ char *buf = malloc(DIAG_BUF);
	int found = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = recv(nl, buf, DIAG_BUF, 0);
		struct nlmsghdr *h;

		if (n < 0)
			return -errno;
		for (h = (void *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return found;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? e->error : -EIO;
			}
			if (!found) {
				int r = fn(h, arg);

				if (r < 0)
					return r;
				found = r;
			}
		}
		if (n == 0)
			return found;
	}
}

int sock_diag_find(const void *req, size_t len, int (*fn)(const struct nlmsghdr *h, void *arg), void *arg)
{
	_cleanup_close_ int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int r;

	if (nl < 0)
		return -errno;
	r = diag_send(nl, req, len, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP);
	return r < 0 ? r : diag_read(nl, fn, arg);
}

int sock_diag_get(const void *req, size_t len, int (*fn)(const struct nlmsghdr *h, void *arg), void *arg)
{
	_cleanup_close_ int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int r;
	_cleanup_free_ char *buf = NULL;
	const struct nlmsghdr *h;
	ssize_t n;

	if (nl < 0)
		return -errno;
	r = diag_send(nl, req, len, SOCK_DIAG_BY_FAMILY, 0);
	if (r < 0)
		return r;
	/* one answer: the socket, or an error (ENOENT: none) */
	buf = malloc(DIAG_BUF);
	if (!buf)
		return -ENOMEM;
	n = recv(nl, buf, DIAG_BUF, 0);
	if (n < 0)
		return -errno;
	h = (const void *)buf;
	if (!NLMSG_OK(h, (size_t)n))
		return -EIO;
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			return -EIO;
		return e->error == -ENOENT ? 0 : e->error ? e->error : -EIO;
	}
	return fn(h, arg);
}

int sock_diag_destroy(const void *req, size_t len)
{
	_cleanup_close_ int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} ack;
	ssize_t n;
	int r;

	if (nl < 0)
		return -errno;
	r = diag_send(nl, req, len, SOCK_DESTROY, NLM_F_ACK);
	if (r < 0)
		return r;
	n = recv(nl, &ack, sizeof(ack), MSG_TRUNC);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(ack) || ack.h.nlmsg_type != NLMSG_ERROR)
		return -EIO;
	return ack.e.error;
}

const struct nlattr *sock_diag_attr(const void *first, size_t len, int type)
{
	const struct nlattr *a = first;

	while (len >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		size_t step = NLA_ALIGN((size_t)a->nla_len);

		if (step >= len)
			break;
		len -= step;
		a = (const void *)((const char *)a + step);
	}
	return NULL;
}
