// SPDX-License-Identifier: GPL-2.0-or-later
/* Which task of the container holds each socket: every fd table read once
 * a checkpoint (the tasks are frozen), sorted by inode. The unix part asks
 * it for a socket's holder, the TCP part whether a peer is the
 * container's. */
#include "sock.h"
#include "macro.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct sock_held {
	uint32_t ino;
	pid_t pid;       /* host pid of its first holder, in tree and fd order */
	int fd;
	size_t order;
};

static int cmp_held(const void *a, const void *b)
{
	const struct sock_held *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int add(struct dump_ctx *ctx, size_t *cap, uint32_t ino, pid_t pid, int fd)
{
	if (GROW(ctx->held, *cap, ctx->nheld, 256) < 0)
		return -ENOMEM;
	ctx->held[ctx->nheld] = (struct sock_held){ ino, pid, fd, ctx->nheld };
	ctx->nheld++;
	return 0;
}

static int read_proc(struct dump_ctx *ctx, const struct dump_proc *p, size_t *cap)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char path[320], link[64];
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", p->pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while (r >= 0 && (de = readdir(d))) {
		unsigned long ino;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%s", p->pid, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (sscanf(link, "socket:[%lu]", &ino) == 1)
			r = add(ctx, cap, (uint32_t)ino, p->pid, atoi(de->d_name));
	}
	return r;
}

static int read_all(struct dump_ctx *ctx)
{
	size_t cap = 0, i, k;
	int r = 0;

	for (i = 0; i < ctx->nprocs && r >= 0; i++)
		if (!ctx->procs[i].zombie)
			r = read_proc(ctx, &ctx->procs[i], &cap);
	if (r < 0)
		return r;
	qsort(ctx->held, ctx->nheld, sizeof(*ctx->held), cmp_held);
	/* keep the first holder of each socket */
	for (i = k = 0; i < ctx->nheld; i++)
		if (!k || ctx->held[k - 1].ino != ctx->held[i].ino)
			ctx->held[k++] = ctx->held[i];
	ctx->nheld = k;
	ctx->held_read = true;
	return 0;
}

int sock_held_find(struct dump_ctx *ctx, uint32_t ino, pid_t *ret_pid, int *ret_fd)
{
	size_t lo = 0, hi;
	int r;

	if (!ctx->held_read && (r = read_all(ctx)) < 0)
		return r;
	for (hi = ctx->nheld; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (ctx->held[mid].ino == ino) {
			*ret_pid = ctx->held[mid].pid;
			*ret_fd = ctx->held[mid].fd;
			return 1;
		}
		if (ctx->held[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void sock_held_free(struct dump_ctx *ctx)
{
	free(ctx->held);
	ctx->held = NULL;
	ctx->nheld = 0;
	ctx->held_read = false;
}
