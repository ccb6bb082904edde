// SPDX-License-Identifier: GPL-2.0-or-later
/* Unix sockets: the checkpoint's view of all of them (sock_unix.h), from
 * sock_diag in the container's network namespace (the worker is in it),
 * and the tasks of the container that hold each. */
#include "sock_unix.h"
#include "macro.h"
#include <errno.h>
#include <dirent.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_ino(const void *a, const void *b)
{
	const struct usk_diag *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

struct usk_diag *usk_table_find(const struct usk_table *t, uint32_t ino)
{
	struct usk_diag key = { .ino = ino };

	return t && t->n ? bsearch(&key, t->v, t->n, sizeof(*t->v), cmp_ino) : NULL;
}

void usk_table_free(struct usk_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].icons);
	for (size_t i = 0; i < t->ninflight; i++)
		close(t->inflight[i]);
	free(t->inflight);
	free(t->v);
	free(t);
}

const char *usk_describe(const struct usk_diag *d, char *buf, size_t len)
{
	char name[2 * USK_NAME_MAX + 2];
	uint32_t i, n = d->namelen;

	if (!d->namelen) {
		snprintf(buf, len, "socket:[%u]", d->ino);
		return buf;
	}
	/* an abstract name starts with a NUL and may hold any byte; a path
	 * ends with one */
	while (d->name[0] && n && !d->name[n - 1])
		n--;
	for (i = 0; i < n && i < sizeof(name) - 2; i++)
		name[i] = (i == 0 && d->name[0] == 0) ? '@' : (d->name[i] >= 32 && d->name[i] < 127 ? d->name[i] : '?');
	name[i] = 0;
	snprintf(buf, len, "socket:[%u] (%s)", d->ino, name);
	return buf;
}

static int parse_one(const struct nlmsghdr *h, struct usk_diag *d)
{
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	const struct rtattr *a = (const void *)(m + 1);

	if (len < 0)
		return -EBADMSG;
	*d = (struct usk_diag){ .ino = m->udiag_ino, .type = m->udiag_type, .state = m->udiag_state };
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		const void *v = RTA_DATA(a);
		size_t n = RTA_PAYLOAD(a);

		switch (a->rta_type) {
		case UNIX_DIAG_NAME:
			if (n > sizeof(d->name))
				return -EBADMSG;
			memcpy(d->name, v, n);
			d->namelen = (uint32_t)n;
			break;
		case UNIX_DIAG_VFS:
			if (n >= sizeof(struct unix_diag_vfs)) {
				const struct unix_diag_vfs *vfs = v;

				d->has_vfs = true;
				d->vfs_ino = vfs->udiag_vfs_ino;
				d->vfs_dev = vfs->udiag_vfs_dev;
			}
			break;
		case UNIX_DIAG_PEER:
			if (n >= 4) {
				d->has_peer = true;
				memcpy(&d->peer, v, 4);
			}
			break;
		case UNIX_DIAG_ICONS:
			d->nicons = (uint32_t)(n / 4);
			d->icons = d->nicons ? malloc(n) : NULL;
			if (d->nicons && !d->icons)
				return -ENOMEM;
			memcpy(d->icons, v, d->nicons * 4);
			break;
		case UNIX_DIAG_RQLEN:
			if (n >= sizeof(struct unix_diag_rqlen)) {
				const struct unix_diag_rqlen *rq = v;

				d->rqueue = rq->udiag_rqueue;
				d->wqueue = rq->udiag_wqueue;
			}
			break;
		case UNIX_DIAG_SHUTDOWN:
			if (n >= 1)
				d->shutdown = *(const uint8_t *)v;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int add(struct usk_table *t, size_t *cap, const struct usk_diag *d)
{
	if (GROW(t->v, *cap, t->n, 64) < 0)
		return -ENOMEM;
	t->v[t->n++] = *d;
	return 0;
}

/* Every unix socket of the worker's network namespace. */
static int diag_dump(struct usk_table *t)
{
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u,
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN },
	};
	_cleanup_close_ int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	_cleanup_free_ char *buf = malloc(1 << 16);
	size_t cap = 0;

	if (nl < 0 || !buf)
		return nl < 0 ? -errno : -ENOMEM;
	if (send(nl, &req, sizeof(req), 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(nl, buf, 1 << 16, 0);
		struct nlmsghdr *h = (void *)buf;

		if (n < 0)
			return -errno;
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct usk_diag d;
			int r;

			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -EIO;
			}
			r = parse_one(h, &d);
			if (r >= 0 && (r = add(t, &cap, &d)) < 0)
				free(d.icons);
			if (r < 0)
				return r;
		}
	}
}

/* Which task of the container holds each socket (the first one seen). */
static int find_holders(struct dump_ctx *ctx, struct usk_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		int r = sock_held_find(ctx, t->v[i].ino, &t->v[i].holder, &t->v[i].holder_fd);

		if (r < 0)
			return r;
	}
	return 0;
}

int usk_table_read(struct dump_ctx *ctx, struct usk_table **ret)
{
	struct usk_table *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	r = diag_dump(t);
	if (r >= 0) {
		if (t->n)
			qsort(t->v, t->n, sizeof(*t->v), cmp_ino);
		r = find_holders(ctx, t);
	}
	if (r < 0) {
		usk_table_free(t);
		return r;
	}
	*ret = t;
	return 0;
}
