// SPDX-License-Identifier: GPL-2.0-or-later
/* Files made when their holders get them.
 *
 * The pool (restore.h) holds every object the worker makes, in the worker
 * and in init, and every task takes its fds from it: fine for a few
 * hundred files, but a container with 10,000 connections would need
 * 20,000 fds in each of them, beyond the limit a task may have. So an
 * established TCP connection that no other record names (no epoll watches
 * it, no unix socket carries it in flight) is not made at its record: its
 * record is kept, and once every task exists the worker makes the
 * connections of one task at a time, a chunk at a time, passes them to
 * the task over a socket every task holds in the pool (the channel), and
 * closes its own copy once every holder has it. The task receives them
 * (an injected recvmsg) and moves them to their numbers. Repair mode stays
 * on: sock_tcp_restore_close and sock_repaired_end reach each connection
 * through the first task that holds it. */
#include "restore.h"
#include "plan.h"
#include "sock.h"
#include "log.h"
#include "macro.h"
#include "rbatch.h"
#include "wire.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* fds per message: the task moves each of them twice (3 calls a fd, one
 * batch of RBATCH_MAX_CALLS) */
#define DEFER_CHUNK 64

struct files_defer {
	uint32_t *pinned;             /* file ids other records name, sorted */
	size_t npinned, pinned_cap;
	struct late_fd *fds;          /* the fds waiting, in task order */
	size_t nfds, fds_cap;
	size_t nobjs;                 /* files waiting */
	int chan;                     /* the worker's end of the channel */
	int chan_slot;                /* the tasks' end, in the pool */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int pin(struct files_defer *d, uint32_t id)
{
	if (GROW(d->pinned, d->pinned_cap, d->npinned, 64) < 0)
		return -ENOMEM;
	d->pinned[d->npinned++] = id;
	return 0;
}

/* The ids a file record names: its epoll targets, the descriptors in
 * flight in its queue. */
static int pin_refs(struct files_defer *d, const Ckpt__Img__File *f)
{
	const Ckpt__Img__UnixSock *u = f->sock ? f->sock->unx : NULL;
	int r = 0;

	for (size_t i = 0; i < f->n_epoll_targets && r >= 0; i++)
		r = pin(d, f->epoll_targets[i]->file_id);
	for (size_t i = 0; u && i < u->n_queue && r >= 0; i++)
		for (size_t k = 0; k < u->queue[i]->n_files && r >= 0; k++)
			r = pin(d, u->queue[i]->files[k]);
	return r;
}

int files_defer_scan(struct restore_ctx *ctx, const struct restart_plan *pl)
{
	struct files_defer *d = calloc(1, sizeof(*d));
	int r = 0;

	if (!d)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "deferred files");
	d->chan = d->chan_slot = -1;
	ctx->defer = d;
	for (size_t i = 0; i < pl->nrecs && r >= 0; i++) {
		Ckpt__Img__File *f;

		if (pl->recs[i].type != IMG_FILE)
			continue;
		/* the plan checked every record: a malformed one can't be here */
		f = ckpt__img__file__unpack(NULL, pl->recs[i].len, pl->recs[i].payload);
		if (!f)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file record: malformed");
		r = pin_refs(d, f);
		protobuf_c_message_free_unpacked(&f->base, NULL);
	}
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, -r, "deferred files");
	qsort(d->pinned, d->npinned, sizeof(*d->pinned), cmp_u32);
	return 0;
}

static bool pinned(const struct files_defer *d, uint32_t id)
{
	return d->npinned && bsearch(&id, d->pinned, d->npinned, sizeof(id), cmp_u32);
}

/* An established (or closing) TCP connection: made in repair mode, alone,
 * whenever; nothing else of the image needs it to exist. */
static bool deferrable(const struct files_defer *d, const Ckpt__Img__File *f)
{
	const Ckpt__Img__Socket *s = f->sock;
	unsigned state;

	if (f->kind != CKPT__IMG__FILE_KIND__FILE_SOCKET || !s || !s->inet || !s->inet->tcp || f->n_locks ||
	    (s->family != AF_INET && s->family != AF_INET6) || s->type != SOCK_STREAM)
		return false;
	state = s->inet->tcp->state;
	if (state != TCP_ESTABLISHED && !sock_tcp_fin_sent(state) && !sock_tcp_fin_rcvd(state))
		return false;
	return !pinned(d, f->id);
}

int files_defer_file(struct restore_ctx *ctx, const Ckpt__Img__File *f, const void *payload, size_t len, bool *ret_deferred)
{
	struct restore_obj *o;

	*ret_deferred = false;
	if (!ctx->defer || !deferrable(ctx->defer, f))
		return 0;
	o = calloc(1, sizeof(*o));
	if (!o || !(o->rec = malloc(len ? len : 1))) {
		free(o);
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "file %u", f->id);
	}
	memcpy(o->rec, payload, len);
	o->rec_len = len;
	o->slot = o->dfd = o->rep = -1;
	o->pipe[0] = o->pipe[1] = -1;
	o->flags = f->flags;
	o->kind = f->kind;
	o->deferred = true;
	if (objhash_insert_id(ctx->objs, OBJ_FILE, f->id, o) < 0) {
		free(o->rec);
		free(o);
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file id %u appears twice", f->id);
	}
	ctx->defer->nobjs++;
	*ret_deferred = true;
	return 0;
}

int files_defer_fd(struct restore_ctx *ctx, struct restore_obj *o, const Ckpt__Img__Fd *e)
{
	struct files_defer *d = ctx->defer;

	if (GROW(d->fds, d->fds_cap, d->nfds, 256) < 0)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "fd table");
	d->fds[d->nfds++] = (struct late_fd){ .proc = ctx->cur - ctx->procs, .fd = e->fd, .file_id = e->file_id, .cloexec = e->cloexec };
	o->users++;
	return 0;
}

int files_defer_channel(struct restore_ctx *ctx)
{
	struct files_defer *d = ctx->defer;
	int sv[2], r;

	if (!d || !d->nobjs)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "the channel that hands the tasks their connections");
	d->chan = sv[0];
	r = restore_pool_add(ctx, sv[1]);
	if (r < 0)
		return r;
	d->chan_slot = r;
	return 0;
}

/* The worker's fd of a waiting file, made from its record the first time. */
static int made(struct restore_ctx *ctx, uint32_t id, struct restore_obj *o)
{
	Ckpt__Img__File *f;
	size_t before = ctx->nrepaired;
	int fd;

	if (o->dfd >= 0)
		return o->dfd;
	if (!o->rec)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, EINVAL, "file %u: made twice", id);
	f = ckpt__img__file__unpack(NULL, o->rec_len, o->rec);
	if (!f)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "file %u: malformed", id);
	fd = files_make(ctx, f);
	protobuf_c_message_free_unpacked(&f->base, NULL);
	if (fd < 0)
		return fd;
	if (ctx->nrepaired == before + 1)
		o->rep = (int)before;
	free(o->rec);
	o->rec = NULL;
	o->dfd = fd;
	return fd;
}

/* Installing at fd replaces what is there, maybe the pidfd a fork left
 * in the task (stale_fds): it must not be closed later over the file. */
static void unstale(struct rproc *p, int fd)
{
	for (size_t i = 0; i < p->nstale; i++)
		if (p->stale_fds[i] == fd)
			p->stale_fds[i--] = p->stale_fds[--p->nstale];
}

/* The task receives n fds on the channel, at the lowest free numbers:
 * ret_got gets them, in order. */
static int receive(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b, size_t n, int *ret_got)
{
	size_t clen = CMSG_SPACE(n * sizeof(int)), call;
	uint64_t ctl = rbatch_space(b, clen), buf = rbatch_space(b, 8), iov_at, mh_at;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = 1 };
	struct msghdr mh = { 0 }, got;
	struct cmsghdr *c;
	_cleanup_free_ void *cbuf = malloc(clen);
	int r;

	if (!cbuf)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "control buffer");
	iov_at = rbatch_data(b, &iov, sizeof(iov));
	mh.msg_iov = (void *)(uintptr_t)iov_at;
	mh.msg_iovlen = 1;
	mh.msg_control = (void *)(uintptr_t)ctl;
	mh.msg_controllen = clen;
	mh_at = rbatch_data(b, &mh, sizeof(mh));
	call = rbatch_add(b, __NR_recvmsg, restore_pool_fd(ctx, ctx->defer->chan_slot), mh_at, MSG_CMSG_CLOEXEC | MSG_DONTWAIT, 0, 0, 0);
	r = restore_batch_run_keep(ctx, p, &p->rt, b, "receiving its connections");
	if (r < 0)
		return r;
	memcpy(&got, rbatch_result(b, mh_at), sizeof(got));
	memcpy(cbuf, rbatch_result(b, ctl), clen);
	rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
	if (b->calls[call].ret != 1 || (got.msg_flags & MSG_CTRUNC) || got.msg_controllen > clen)
		return cr_fail(ctx->err, CR_ERR_KERNEL, EPROTO, "task %d: receiving its connections: %zu fds sent, not received",
			       p->tt->pid, n);
	got.msg_control = cbuf;
	c = CMSG_FIRSTHDR(&got);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(n * sizeof(int)))
		return cr_fail(ctx->err, CR_ERR_KERNEL, EPROTO, "task %d: receiving its connections: %zu fds sent, others received",
			       p->tt->pid, n);
	memcpy(ret_got, CMSG_DATA(c), n * sizeof(int));
	return 0;
}

/* n fds of p (at most DEFER_CHUNK): made, sent, received, moved to their
 * numbers through a free range above the pool (where they arrived may be
 * another one's number). */
static int deliver_chunk(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b, const struct late_fd *e, size_t n, int tmp)
{
	struct restore_obj *o[DEFER_CHUNK];
	int fds[DEFER_CHUNK], got[DEFER_CHUNK], r;
	size_t i;

	for (i = 0; i < n; i++) {
		o[i] = objhash_find_id(ctx->objs, OBJ_FILE, e[i].file_id);
		fds[i] = r = made(ctx, e[i].file_id, o[i]);
		if (r < 0)
			return r;
	}
	r = wire_send(ctx->defer->chan, "f", 1, fds, n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: sending it its connections", p->tt->pid);
	r = receive(ctx, p, b, n, got);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		rbatch_add(b, __NR_dup3, got[i], tmp + i, O_CLOEXEC, 0, 0, 0);
		rbatch_add(b, __NR_close, got[i], 0, 0, 0, 0, 0);
	}
	for (i = 0; i < n; i++)
		rbatch_add(b, __NR_dup3, tmp + i, e[i].fd, e[i].cloexec ? O_CLOEXEC : 0, 0, 0, 0);
	rbatch_add(b, __NR_close_range, tmp, tmp + n - 1, 0, 0, 0, 0);
	r = restore_batch_run(ctx, p, &p->rt, b, "installing its connections");
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		struct sock_repaired *rep = o[i]->rep >= 0 ? &ctx->repaired[o[i]->rep] : NULL;

		unstale(p, (int)e[i].fd);
		/* from here on, the task's fd is the connection's handle */
		if (rep && !rep->pid) {
			rep->pid = p->host_pid;
			rep->fd = (int)e[i].fd;
		}
		if (--o[i]->users == 0) {
			close(o[i]->dfd);
			o[i]->dfd = -1;
		}
	}
	return 0;
}

/* The fds of one task, e[0..n). */
static int deliver_task(struct restore_ctx *ctx, struct rproc *p, const struct late_fd *e, size_t n)
{
	_cleanup_free_ struct rbatch *b = restore_batch_new(p);
	int tmp = restore_pool_fd(ctx, (int)ctx->npool) + DEFER_CHUNK;
	struct rlimit rl;
	size_t done, k;
	int r = 0;

	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	/* the pool's limit (init's, inherited): room for a chunk above it */
	if (prlimit(p->host_pid, RLIMIT_NOFILE, NULL, &rl) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: its fd limit", p->tt->pid);
	if (rl.rlim_cur < (rlim_t)tmp + DEFER_CHUNK)
		return cr_fail(ctx->err, CR_ERR_KERNEL, EMFILE, "task %d: installing its connections needs %d fds, its limit is %lu",
			       p->tt->pid, tmp + DEFER_CHUNK, (unsigned long)rl.rlim_cur);
	for (done = 0; done < n && r >= 0; done += k) {
		k = MIN(n - done, (size_t)DEFER_CHUNK);
		r = deliver_chunk(ctx, p, b, e + done, k, tmp);
	}
	return r;
}

int files_defer_deliver(struct restore_ctx *ctx)
{
	struct files_defer *d = ctx->defer;
	size_t i = 0, k;
	int r = 0;

	if (!d || !d->nfds)
		return 0;
	if (d->chan < 0)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, EINVAL, "deferred files without a channel");
	while (i < d->nfds && r >= 0) {
		struct rproc *p = &ctx->procs[d->fds[i].proc];

		for (k = i; k < d->nfds && d->fds[k].proc == d->fds[i].proc; k++)
			;
		cr_error_scope(ctx->err, p->tt->pid, 0);
		r = deliver_task(ctx, p, d->fds + i, k - i);
		i = k;
	}
	cr_error_scope(ctx->err, 0, 0);
	return r;
}

void files_defer_free(struct restore_ctx *ctx)
{
	struct files_defer *d = ctx->defer;

	if (!d)
		return;
	if (d->chan >= 0)
		close(d->chan);
	free(d->pinned);
	free(d->fds);
	free(d);
	ctx->defer = NULL;
}
