// SPDX-License-Identifier: GPL-2.0-or-later
/* Incremental checkpoints, the checkpoint's side (incr.h): the kernel's
 * written-page bits through PAGEMAP_SCAN, and arming them. */
#include "incr.h"
#include "log.h"
#include "macro.h"
#include "uapi_uffd.h"
#include "uffd_new.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INCR_FEATURES (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)
#define INCR_VEC 512               /* regions per PAGEMAP_SCAN call */
#define BITS (8 * sizeof(unsigned long))

struct incr_state {
	int *uffd;                     /* per process (dump_ctx.procs); -1: none */
	size_t nprocs;
	pid_t pm_pid;                  /* the pagemap open now ... */
	int pm_fd;                     /* ... and its fd */
};

static struct incr_state *incr_get(struct dump_ctx *ctx)
{
	struct incr_state *s = ctx->incr;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->uffd = malloc((ctx->nprocs + 1) * sizeof(int)))) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < ctx->nprocs; i++)
		s->uffd[i] = -1;
	s->nprocs = ctx->nprocs;
	s->pm_fd = -1;
	ctx->incr = s;
	return s;
}

/* Mappings whose pages the page job reads (mm_dump.c dump_vma_pages). */
static bool private_memory(const Ckpt__Img__Vma *v)
{
	return v->kind == CKPT__IMG__VMA_KIND__VMA_ANON || v->kind == CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE ||
	       (v->kind == CKPT__IMG__VMA_KIND__VMA_MEMFD && !(v->flags & MAP_SHARED));
}

static int pagemap_fd(struct dump_ctx *ctx, struct incr_state *s, pid_t pid)
{
	char path[64];

	if (s->pm_fd >= 0 && s->pm_pid == pid)
		return s->pm_fd;
	if (s->pm_fd >= 0)
		close(s->pm_fd);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	s->pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	s->pm_pid = pid;
	return s->pm_fd >= 0 ? s->pm_fd : cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: opening pagemap", pid);
}

/* PAGEMAP_SCAN over [start, end): pages written (or holding the zero page,
 * which a read of a discarded page maps unprotected-looking) set in map,
 * and protected again. -EPERM: the range is not tracked. */
static int scan(int fd, uint64_t start, uint64_t end, unsigned long *map)
{
	struct page_region vec[INCR_VEC];
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = start, .end = end, .vec = (uintptr_t)vec, .vec_len = INCR_VEC,
		.category_anyof_mask = PAGE_IS_WRITTEN | PAGE_IS_PFNZERO,
		.return_mask = PAGE_IS_WRITTEN | PAGE_IS_PFNZERO,
	};
	uint64_t base = start;

	while (a.start < end) {
		long n = ioctl(fd, PAGEMAP_SCAN, &a);

		if (n < 0)
			return -errno;
		for (long k = 0; k < n; k++)
			for (uint64_t p = vec[k].start; p < vec[k].end && p < end; p += PAGE_SZ) {
				size_t i = (p - base) / PAGE_SZ;

				map[i / BITS] |= 1ul << (i % BITS);
			}
		if (a.walk_end <= a.start || a.walk_end >= end)
			break;
		a.start = a.walk_end;
	}
	return 0;
}

int incr_vma_written(struct dump_ctx *ctx, const struct dump_proc *p, const Ckpt__Img__Vma *v,
		     unsigned long **ret_map)
{
	size_t n = (v->end - v->start) / PAGE_SZ;
	_cleanup_free_ unsigned long *map = NULL;
	struct incr_state *s;
	int fd, r;

	*ret_map = NULL;
	if (!ctx->req->incremental || !private_memory(v))
		return 0;
	s = incr_get(ctx);
	if (!s)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "incremental checkpoint state");
	fd = pagemap_fd(ctx, s, p->pid);
	if (fd < 0)
		return fd;
	map = calloc((n + BITS - 1) / BITS, sizeof(*map));
	if (!map)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: written-page bitmap", p->pid);
	r = scan(fd, v->start, v->end, map);
	if (r == -EPERM)
		return 0;   /* not tracked since the parent: written whole */
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, "mapping", "task %d: PAGEMAP_SCAN of %#lx-%#lx",
				   p->pid, (unsigned long)v->start, (unsigned long)v->end);
	/* Scanned all the same: the next image counts from this one. An
	 * image without a parent, or a mapping a forked child shares with
	 * its parent (whose pages restart gets by fork), is written whole. */
	if (!ctx->req->parent_id || (v->has_inherit && v->inherit))
		return 0;
	*ret_map = TAKE_PTR(map);
	return 1;
}

void incr_take_uffd(struct dump_ctx *ctx, struct dump_proc *p)
{
	struct incr_state *s;
	int r, ufd;

	if (!ctx->req->incremental || !ctx->req->leave_running || ctx->req->check_only || p->zombie)
		return;
	s = incr_get(ctx);
	if (!s)
		return;
	/* user-mode faults only: all asynchronous write-protection needs (the kernel resolves
	 * every fault itself, from user or kernel mode alike, and reports
	 * none); kernels before 5.11 know no mode flag */
	r = uffd_new_in_task(&p->rt[0], 0, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, &ufd);
	if (r == -EINVAL)
		r = uffd_new_in_task(&p->rt[0], 0, O_CLOEXEC | O_NONBLOCK, &ufd);
	if (r == -EEXIST || (r < 0 && p->rt[0].broken)) {
		/* its fd table or mappings are no longer the ones saved */
		cr_fail_obj(ctx->err, CR_ERR_KERNEL, (int)-r, "fd", "task %d: undoing what making a userfaultfd "
			    "for write tracking made in it", p->pid);
		return;
	}
	if (r < 0) {
		log_info("checkpoint: task %d: userfaultfd: %s: its memory is not tracked", p->pid, strerror((int)-r));
		return;
	}
	s->uffd[p - ctx->procs] = ufd;
}

static int wp_range(int uffd, uint64_t start, uint64_t len)
{
	struct uffdio_writeprotect w = { .range = { .start = start, .len = len }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };

	while (ioctl(uffd, UFFDIO_WRITEPROTECT, &w) < 0)
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	return 0;
}

/* Register p's private mappings that are not tracked yet; how many. */
static size_t arm_proc(struct dump_ctx *ctx, struct incr_state *s, const struct dump_proc *p, int uffd)
{
	struct uffdio_api api = { .api = UFFD_API, .features = INCR_FEATURES };
	size_t k, armed = 0;
	int fd;

	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		log_info("checkpoint: task %d: userfaultfd without asynchronous write-protection (%m): not tracked", p->pid);
		return 0;
	}
	fd = pagemap_fd(ctx, s, p->pid);
	for (k = 0; k < p->nvma_ents && fd >= 0; k++) {
		const Ckpt__Img__Vma *v = p->vma_ptrs[k];
		struct uffdio_register reg = { .range = { .start = v->start, .len = v->end - v->start },
					       .mode = UFFDIO_REGISTER_MODE_WP };
		struct pm_scan_arg probe = { .size = sizeof(probe), .flags = PM_SCAN_CHECK_WPASYNC,
					     .start = v->start, .end = v->end };

		if (!private_memory(v))
			continue;
		if (ioctl(fd, PAGEMAP_SCAN, &probe) >= 0)
			continue;   /* tracked already, by a userfaultfd ckptd keeps */
		if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
			log_debug("checkpoint: task %d: %#lx-%#lx not tracked: %m", p->pid, (unsigned long)v->start,
				  (unsigned long)v->end);
			continue;
		}
		if (wp_range(uffd, v->start, v->end - v->start) < 0) {
			ioctl(uffd, UFFDIO_UNREGISTER, &reg.range);
			continue;
		}
		armed++;
	}
	return armed;
}

void incr_arm(struct dump_ctx *ctx)
{
	struct incr_state *s = ctx->incr;

	if (!s || !ctx->req->leave_running)
		return;
	for (size_t i = 0; i < s->nprocs && i < ctx->nprocs; i++) {
		if (s->uffd[i] < 0)
			continue;
		if (!arm_proc(ctx, s, &ctx->procs[i], s->uffd[i])) {
			close(s->uffd[i]);   /* nothing of it to keep */
			s->uffd[i] = -1;
		}
	}
}

size_t incr_take_fds(struct dump_ctx *ctx, int **ret_fds)
{
	struct incr_state *s = ctx->incr;
	size_t n = 0;

	*ret_fds = NULL;
	if (!s)
		return 0;
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->uffd[i] >= 0)
			s->uffd[n++] = s->uffd[i];
	s->nprocs = 0;
	*ret_fds = s->uffd;
	s->uffd = NULL;
	return n;
}

void incr_free(struct dump_ctx *ctx)
{
	struct incr_state *s = ctx->incr;

	if (!s)
		return;
	for (size_t i = 0; s->uffd && i < s->nprocs; i++)
		if (s->uffd[i] >= 0)
			close(s->uffd[i]);
	free(s->uffd);
	if (s->pm_fd >= 0)
		close(s->pm_fd);
	free(s);
	ctx->incr = NULL;
}
