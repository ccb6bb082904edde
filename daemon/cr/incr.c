// SPDX-License-Identifier: GPL-2.0-or-later
/* Incremental checkpoints, the checkpoint's side (incr.h): the kernel's
 * written-page bits through PAGEMAP_SCAN, and arming them. */
#include "incr.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
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
#define INCR_VEC 16384             /* regions per PAGEMAP_SCAN call */

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

/* pid's pagemap, kept open while the same task asks; -errno. */
static int pagemap_open(struct incr_state *s, pid_t pid)
{
	char path[64];

	if (s->pm_fd >= 0 && s->pm_pid == pid)
		return s->pm_fd;
	if (s->pm_fd >= 0)
		close(s->pm_fd);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	s->pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	s->pm_pid = pid;
	return s->pm_fd >= 0 ? s->pm_fd : -errno;
}

static int pagemap_fd(struct dump_ctx *ctx, struct incr_state *s, pid_t pid)
{
	int fd = pagemap_open(s, pid);

	return fd >= 0 ? fd : cr_fail(ctx->err, CR_ERR_KERNEL, -fd, "task %d: opening pagemap", pid);
}

/* Regions of one mapping, as PAGEMAP_SCAN reports them (sorted). */
struct regions {
	struct page_region *v;
	size_t n, cap;
};

/* PAGEMAP_SCAN over [start, end): every region of pages in any category of
 * anyof, its categories of ret. The kernel walks the page tables and
 * reports runs, not pages; a region split across calls is joined again.
 * flags PM_SCAN_WP_MATCHING protects what it reports again. -EPERM (with
 * PM_SCAN_CHECK_WPASYNC): the range is not tracked. */
static int scan(int fd, uint64_t start, uint64_t end, uint64_t flags, uint64_t anyof, uint64_t ret,
		struct regions *out)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = flags, .start = start, .end = end,
		.category_anyof_mask = anyof, .return_mask = ret,
	};

	while (a.start < end) {
		/* no more regions than pages: a small mapping, a small vector */
		size_t base, want = MIN((uint64_t)INCR_VEC, (end - a.start) / PAGE_SZ + 1);
		struct page_region *last;
		long n;

		if (out->cap - out->n < want) {
			size_t cap = out->cap * 2 + want;
			struct page_region *v;

			if (cap > CR_INCR_RUNS_MAX)
				return -E2BIG;
			v = realloc(out->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			out->v = v;
			out->cap = cap;
		}
		a.vec = (uintptr_t)(out->v + out->n);
		a.vec_len = want;
		n = ioctl(fd, PAGEMAP_SCAN, &a);
		if (n < 0)
			return -errno;
		base = out->n;
		for (long k = 0; k < n; k++) {
			struct page_region *g = &out->v[base + k];

			last = out->n ? &out->v[out->n - 1] : NULL;
			g->start = MAX(g->start, start);
			g->end = MIN(g->end, end);
			if (g->start >= g->end)
				continue;
			if (last && last->end == g->start && last->categories == g->categories)
				last->end = g->end;
			else
				out->v[out->n++] = *g;
		}
		if (a.walk_end <= a.start || a.walk_end >= end)
			break;
		a.start = a.walk_end;
	}
	return 0;
}

/* The process's own pages (mm_dump.c want_page): present or swapped,
 * not a file's page cache (a private file mapping's pages it never
 * wrote; the zero page counts as its own, as the pagemap has it). */
static bool own_region(const struct page_region *g)
{
	return !(g->categories & PAGE_IS_FILE);
}

static int run_put(struct incr_runs *o, uint64_t start, uint64_t end, int action)
{
	/* a written run is read into the page buffer whole */
	uint64_t most = action == INCR_WRITE ? PAGEBUF_LEN : UINT64_MAX;

	while (start < end) {
		uint64_t stop = end - start > most ? start + most : end;
		struct incr_run_out *l = o->n ? &o->v[o->n - 1] : NULL;

		if (l && l->action == action && l->end == start && (action != INCR_WRITE || stop - l->start <= most)) {
			l->end = stop;
		} else {
			if (o->n == o->cap) {
				size_t cap = o->cap ? 2 * o->cap : 64;
				struct incr_run_out *v;

				if (cap > CR_INCR_RUNS_MAX)
					return -E2BIG;
				v = realloc(o->v, cap * sizeof(*v));
				if (!v)
					return -ENOMEM;
				o->v = v;
				o->cap = cap;
			}
			o->v[o->n++] = (struct incr_run_out){ start, stop, action };
		}
		start = stop;
	}
	return 0;
}

static const struct page_region *next_own(const struct regions *r, size_t *i, uint64_t pos)
{
	while (*i < r->n && (r->v[*i].end <= pos || !own_region(&r->v[*i])))
		(*i)++;
	return *i < r->n ? &r->v[*i] : NULL;
}

/* The runs of a mapping: its own pages written since the parent image
 * (w) are saved, the rest of its own pages (own) are the parent's; what
 * is in neither is not its own now (never touched, or discarded since),
 * and the fresh mapping of restart has it right. */
static int runs_of(const struct regions *w, const struct regions *own, struct incr_runs *o)
{
	size_t i = 0, j = 0;
	uint64_t pos = 0;
	int r = 0;

	for (;;) {
		const struct page_region *a = next_own(w, &i, pos), *b = next_own(own, &j, pos);
		uint64_t as = a ? MAX(a->start, pos) : UINT64_MAX, bs = b ? MAX(b->start, pos) : UINT64_MAX;

		if (!a && !b)
			return r;
		if (a && as <= bs) {
			r = run_put(o, as, a->end, INCR_WRITE);
			pos = a->end;
		} else {
			pos = a ? MIN(b->end, as) : b->end;
			r = run_put(o, bs, pos, INCR_PARENT);
		}
		if (r < 0)
			return r;
	}
}

/* The regions of all whose categories hold any of any, and none of FILE. */
static int pick(const struct regions *all, uint64_t any, struct regions *out)
{
	size_t n = 0;

	for (size_t i = 0; i < all->n; i++)
		n += (all->v[i].categories & any) && !(all->v[i].categories & PAGE_IS_FILE);
	out->v = malloc((n + 1) * sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	out->cap = n + 1;
	for (size_t i = 0; i < all->n; i++)
		if ((all->v[i].categories & any) && !(all->v[i].categories & PAGE_IS_FILE))
			out->v[out->n++] = all->v[i];
	return 0;
}

int incr_vma_runs(struct dump_ctx *ctx, const struct dump_proc *p, const Ckpt__Img__Vma *v, struct incr_runs *ret)
{
	struct regions all = { 0 }, w = { 0 }, own = { 0 };
	struct incr_state *s;
	int fd, r;

	*ret = (struct incr_runs){ 0 };
	if (!ctx->req->incremental || !private_memory(v))
		return 0;
	s = incr_get(ctx);
	if (!s)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "incremental checkpoint state");
	fd = pagemap_fd(ctx, s, p->pid);
	if (fd < 0)
		return fd;
	/* One walk: the pages written (or holding the zero page, which a read
	 * of a discarded page maps unprotected-looking) and the process's own
	 * (present or swapped); anonymous memory has no page cache, so no page
	 * lookup per entry. The same walk protects the written ones again
	 * (PM_SCAN_WP_MATCHING protects, of the pages it reports, those
	 * written), so the next image counts from this one: the tasks are
	 * stopped. */
	r = scan(fd, v->start, v->end, PM_SCAN_CHECK_WPASYNC | PM_SCAN_WP_MATCHING,
		 PAGE_IS_WRITTEN | PAGE_IS_PFNZERO | PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		 PAGE_IS_WRITTEN | PAGE_IS_PFNZERO | PAGE_IS_PRESENT | PAGE_IS_SWAPPED |
		 (v->kind == CKPT__IMG__VMA_KIND__VMA_ANON ? 0 : PAGE_IS_FILE), &all);
	if (r == -EPERM) {
		free(all.v);
		return 0;   /* not tracked since the parent: written whole */
	}
	if (r >= 0)
		r = pick(&all, PAGE_IS_WRITTEN | PAGE_IS_PFNZERO, &w);
	/* An image without a parent, or a mapping a forked child shares with
	 * its parent (whose pages restart gets by fork), is written whole. */
	if (r >= 0 && (!ctx->req->parent_id || (v->has_inherit && v->inherit))) {
		free(all.v);
		free(w.v);
		return 0;
	}
	if (r >= 0)
		r = pick(&all, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, &own);
	if (r >= 0)
		r = runs_of(&w, &own, ret);
	free(all.v);
	free(w.v);
	free(own.v);
	if (r < 0) {
		free(ret->v);
		*ret = (struct incr_runs){ 0 };
		return cr_fail_obj(ctx->err, r == -ENOMEM ? CR_ERR_INTERNAL : CR_ERR_KERNEL, -r, "mapping",
				   "task %d: PAGEMAP_SCAN of %#lx-%#lx", p->pid, (unsigned long)v->start,
				   (unsigned long)v->end);
	}
	return 1;
}

static bool tracked(int fd, const struct dump_proc *p, uint64_t start, uint64_t end);

/* Every private mapping of p is tracked already (by a userfaultfd ckptd
 * kept from an earlier checkpoint): a new one would register nothing. */
static bool all_tracked(const struct dump_ctx *ctx, struct incr_state *s, const struct dump_proc *p)
{
	int fd;

	if (!ctx->req->parent_id)
		return false;
	fd = pagemap_open(s, p->pid);
	if (fd < 0)
		return false;   /* only a shortcut lost: the uffd is made */
	for (size_t k = 0; k < p->nvma_ents; k++)
		if (private_memory(p->vma_ptrs[k]) && !tracked(fd, p, p->vma_ptrs[k]->start, p->vma_ptrs[k]->end))
			return false;
	return true;
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
	/* Its making and taking are some ten system calls injected into the
	 * task, each a round trip through the scheduler: none when the uffd
	 * would be closed again at incr_arm. The tasks stay stopped until
	 * then, so what is tracked now is tracked then. */
	if (all_tracked(ctx, s, p))
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

/* [start, end) of p is tracked already, by a userfaultfd ckptd keeps. A
 * registration covers whole VMAs (the kernel splits one to register part
 * of it), so the first page of each of the kernel's mappings there tells
 * (p->vmas, read with the tasks stopped): a probe of the whole range would
 * walk all of its page tables for nothing. */
static bool tracked(int fd, const struct dump_proc *p, uint64_t start, uint64_t end)
{
	struct pm_scan_arg probe = { .size = sizeof(probe), .flags = PM_SCAN_CHECK_WPASYNC, .start = start, .end = end };
	size_t i, seen = 0;

	for (i = 0; i < p->nvmas; i++) {
		const struct proc_vma *k = &p->vmas[i];

		if (k->end <= start || k->start >= end)
			continue;
		probe.start = MAX(k->start, start);
		probe.end = probe.start + PAGE_SZ;
		if (ioctl(fd, PAGEMAP_SCAN, &probe) < 0)
			return false;
		seen++;
	}
	if (seen)
		return true;
	probe.start = start;
	probe.end = end;
	return ioctl(fd, PAGEMAP_SCAN, &probe) >= 0;
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

		if (!private_memory(v) || tracked(fd, p, v->start, v->end))
			continue;
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
