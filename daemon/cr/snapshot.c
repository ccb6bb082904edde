// SPDX-License-Identifier: GPL-2.0-or-later
/* Background snapshots (snapshot.h): userfaultfd write-protection of the
 * memory the page jobs read, a fault handler thread that saves a page
 * before the program's first write to it, and the page jobs reading the
 * rest while the program runs. */
#include "snapshot.h"
#include "fault.h"
#include "log.h"
#include "snap_exit.h"
#include "snap_lift.h"
#include "macro.h"
#include "uapi_uffd.h"
#include "uffd_new.h"
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PM_PRESENT (1ull << 63)
#define PM_SWAP (1ull << 62)
#define PM_FILE (1ull << 61)

/* What the handler needs; events that would change memory it has not yet
 * saved (discarded, unmapped, moved) are told too, so that they fail the
 * checkpoint instead of leaving an inexact image. */
#define SNAP_FEATURES (UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | \
		       UFFD_FEATURE_EVENT_REMAP)
/* Memory that cannot be protected is copied while the tasks are stopped;
 * past this much the whole copy is a frozen one (ckptd's memory stays bounded). */
#define SNAP_PRECOPY_MAX (256ull << 20)
/* A process with no more of its own memory than this is copied whole while
 * the tasks are stopped, up to SNAP_SMALL_TOTAL for all of them: the short-
 * lived ones (a shell's child, a helper that runs and exits) are small,
 * and a process that exits or execs before the background copy reads its
 * pages leaves nothing to read. */
#define SNAP_SMALL (8ull << 20)
#define SNAP_SMALL_TOTAL (64ull << 20)
/* Likewise a mapping of a bigger process with little of its own in it (a
 * spawned child's stack, a malloc'd block): it may be unmapped before the
 * background copy reads it. */
#define SNAP_SMALL_VMA (1ull << 20)
/* A process that exits during the background copy has the rest of its
 * memory saved at its exit (snap_exit.h), up to this much for all of them
 * (ckptd's memory stays bounded); past it, its exit fails the checkpoint. */
#define SNAP_EXIT_MAX (1ull << 30)
/* CKPTD_FAULT=ckpt-copy-slow: each read of the background copy waits this
 * long first, so that a test can act while the copy runs */
#define SNAP_SLOW_US 100000
#define SNAP_BATCH 64            /* pages read in one call while stopped */
/* A mapping this big is write-protected, and its pagemap scanned, in two
 * halves at once, split at a page table's boundary: the kernel walks one
 * entry after another under the mmap lock held for reading, so the halves
 * do not wait for each other, and a second CPU takes half of the time the
 * tasks stay stopped for it. */
#define SNAP_SPLIT (64ull << 20)
#define SNAP_PMD (2ull << 20)

/* One mapping the page job reads. */
struct snap_vma {
	uint64_t start, end;
	bool anon;               /* private anonymous: its present pages are its own */
	bool inherit;            /* shared copy-on-write with the parent's (dump.h) */
	bool wp;                 /* registered and write-protected; else copied while stopped */
	uint64_t *pme;           /* its pagemap at the freeze */
	unsigned long *done;     /* pages the image no longer needs from the program */
	void **copy;             /* pages as they were at the freeze, saved before a write */
};

struct snap_proc {
	pid_t pid;
	int uffd;                /* ours; -1: none */
	int mem_fd;              /* its /proc/PID/mem, opened at the freeze: reads
				  * the memory of that mm or none (an exec or an
				  * exit ends it), never another process's */
	struct snap_vma *v;
	size_t nv;
	bool saved_at_exit;      /* every page the image takes from it is in copy[] (or done) */
};

struct snapshot {
	struct snap_proc *procs;         /* indexed like dump_ctx.procs */
	size_t nprocs;
	pthread_mutex_t lock;            /* v[].done, v[].copy, error, why */
	pthread_t thread;
	bool thread_running;
	int wake_fd;                     /* tells the handler to stop */
	bool stop;
	int error;                       /* first failure that makes the copy inexact (-errno) */
	char error_msg[200];
	char mode[200];                  /* "background", or "frozen: why" */
	uint64_t precopied;
	uint64_t small_copied;           /* copied while stopped for small processes and
					  * mappings (SNAP_SMALL_TOTAL) ... */
	size_t nsmall;                   /* ... and how many processes it copied whole */
	struct snap_exit *exits;         /* the exit watch while the tasks run */
	pid_t *watched;                  /* the processes it watches (0: not) */
	uint64_t exit_saved;             /* saved at exits (SNAP_EXIT_MAX) */
	void *batch;                     /* SNAP_BATCH pages */
};

#define BITS (8 * sizeof(unsigned long))

static bool test_bit(const unsigned long *b, size_t i)
{
	return b[i / BITS] & (1ul << (i % BITS));
}

static void set_bit(unsigned long *b, size_t i)
{
	b[i / BITS] |= 1ul << (i % BITS);
}

static bool wanted(uint64_t pme)
{
	/* what a page job can write: present or swapped, not the file's own page */
	return (pme & PM_SWAP) || ((pme & PM_PRESENT) && !(pme & PM_FILE));
}

/* Page i of v may go into the image: wanted, or present in a private
 * anonymous mapping, where the page job writes every present page
 * whatever else pagemap says of it. The fault and loss handlers ask the
 * same question as the copy, so no page the image takes can be written
 * before it was saved. */
static bool needed(const struct snap_vma *v, size_t i)
{
	return wanted(v->pme[i]) || (v->anon && (v->pme[i] & PM_PRESENT));
}

static struct snapshot *snap_get(struct dump_ctx *ctx)
{
	struct snapshot *s = ctx->snap_state;
	size_t i;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->procs = calloc(ctx->nprocs, sizeof(*s->procs));
	if (!s->procs) {
		free(s);
		return NULL;
	}
	s->nprocs = ctx->nprocs;
	for (i = 0; i < s->nprocs; i++)
		s->procs[i].uffd = s->procs[i].mem_fd = -1;
	s->wake_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->mode, sizeof(s->mode), "background");
	ctx->snap_state = s;
	return s;
}

static void fall_back(struct snapshot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fall_back(struct snapshot *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (strncmp(s->mode, "frozen", 6) == 0)
		return;   /* the first reason is the one to tell */
	n = snprintf(s->mode, sizeof(s->mode), "frozen: ");
	va_start(ap, fmt);
	vsnprintf(s->mode + n, sizeof(s->mode) - n, fmt, ap);
	va_end(ap);
	log_info("checkpoint: memory copied while frozen (%s)", s->mode + n);
}

static bool falling_back(const struct snapshot *s)
{
	return strncmp(s->mode, "frozen", 6) == 0;
}

/* The copy can no longer be exact: the checkpoint fails at its end. */
static void snap_error(struct snapshot *s, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void snap_error(struct snapshot *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (s->error)
		return;
	s->error = err ? err : -EIO;
	va_start(ap, fmt);
	vsnprintf(s->error_msg, sizeof(s->error_msg), fmt, ap);
	va_end(ap);
}

void snapshot_take_uffd(struct dump_ctx *ctx, struct dump_proc *p)
{
	struct snapshot *s;
	struct snap_proc *sp;
	int r, ufd;

	if (!ctx->req->leave_running || p->zombie)
		return;
	s = snap_get(ctx);
	if (!s || falling_back(s)) {
		if (!s)
			log_error("checkpoint: no memory for the background copy's state");
		return;
	}
	sp = &s->procs[p - ctx->procs];
	sp->pid = p->pid;
	/* Write tracking (incr.h) holds the memory a background copy would
	 * protect: the pages are copied while the tasks are stopped. */
	if (ctx->req->incremental) {
		fall_back(s, "write tracking for incremental checkpoints");
		return;
	}
	/* the frozen copy on request, to compare the two (bench/snapshot.sh) */
	if (getenv("CKPTD_SNAPSHOT") && strcmp(getenv("CKPTD_SNAPSHOT"), "frozen") == 0) {
		fall_back(s, "CKPTD_SNAPSHOT=frozen");
		return;
	}
	/* Faults in the kernel (a read(2) into protected memory) must wait
	 * for the handler too: no UFFD_USER_MODE_ONLY. */
	r = uffd_new_in_task(&p->rt[0], 0, O_CLOEXEC | O_NONBLOCK, &ufd);
	if (r == -EEXIST || (r < 0 && p->rt[0].broken)) {
		/* its fd table or mappings are no longer the ones saved: fail rather than leave it */
		snap_error(s, (int)r, "task %d: undoing what making a userfaultfd made in it", p->pid);
		fall_back(s, "task %d: its userfaultfd could not be closed in it", p->pid);
		return;
	}
	if (r < 0) {
		fall_back(s, "task %d: userfaultfd: %s", p->pid, strerror((int)-r));
		return;
	}
	sp->uffd = ufd;
}

/* Does any child of process i share the mapping at start copy-on-write? */
static bool child_inherits(const struct dump_ctx *ctx, size_t i, uint64_t start)
{
	for (size_t c = 0; c < ctx->nprocs; c++) {
		const struct dump_proc *cp = &ctx->procs[c];
		size_t lo = 0, hi = cp->nvma_ents;

		if (cp->parent < 0 || (size_t)cp->parent != i || cp->zombie)
			continue;
		while (lo < hi) {   /* the entries are sorted by address */
			size_t mid = (lo + hi) / 2;

			if (cp->vma_ptrs[mid]->start < start)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < cp->nvma_ents && cp->vma_ptrs[lo]->start == start && cp->vma_ptrs[lo]->has_inherit &&
		    cp->vma_ptrs[lo]->inherit)
			return true;
	}
	return false;
}

/* A walk over [start, end) of one mapping, run by in_halves. */
struct half {
	int (*fn)(void *arg, uint64_t start, uint64_t end);
	void *arg;
	uint64_t start, end;
	int r;
};

static void *half_run(void *arg)
{
	struct half *h = arg;

	h->r = h->fn(h->arg, h->start, h->end);
	return NULL;
}

/* fn over [start, end): a big range (SNAP_SPLIT) in two halves on two
 * threads, the second half on a new one; on this one alone if none can be
 * had. */
static int in_halves(int (*fn)(void *arg, uint64_t start, uint64_t end), void *arg, uint64_t start, uint64_t end)
{
	uint64_t mid = (start + (end - start) / 2) & ~(SNAP_PMD - 1);
	struct half h = { .fn = fn, .arg = arg, .start = mid, .end = end };
	pthread_t t;
	int r;

	if (end - start < SNAP_SPLIT || mid <= start || pthread_create(&t, NULL, half_run, &h) != 0)
		return fn(arg, start, end);
	r = fn(arg, start, mid);
	pthread_join(t, NULL);
	return r < 0 ? r : h.r;
}

struct scan_arg {
	int pm_fd;
	struct snap_vma *v;
};

/* v's pagemap as the page jobs read it (present, swapped, the file's own
 * page) from PAGEMAP_SCAN, which reports runs: a few calls where a read of
 * /proc/PID/pagemap copies out and looks up every page. No frame numbers:
 * only a mapping shared with a parent or child needs them (own_page). This
 * much of it: [start, end). */
static int scan_range(void *arg, uint64_t start, uint64_t end)
{
	const struct scan_arg *sa = arg;
	struct snap_vma *v = sa->v;
	struct page_region rg[256];
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = start, .end = end, .vec = (uintptr_t)rg, .vec_len = ARRAY_SIZE(rg),
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		/* a file's own page only matters outside anonymous memory (needed) */
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | (v->anon ? 0 : PAGE_IS_FILE),
	};

	while (a.start < end) {
		long got = ioctl(sa->pm_fd, PAGEMAP_SCAN, &a);

		if (got < 0)
			return -errno;
		for (long k = 0; k < got; k++) {
			uint64_t c = rg[k].categories, e = MIN(rg[k].end, end);
			uint64_t bits = (c & PAGE_IS_PRESENT ? PM_PRESENT : 0) | (c & PAGE_IS_SWAPPED ? PM_SWAP : 0) |
					(c & PAGE_IS_FILE ? PM_FILE : 0);

			for (uint64_t at = MAX(rg[k].start, start); at < e; at += PAGE_SZ)
				v->pme[(at - v->start) / PAGE_SZ] = bits;
		}
		if (a.walk_end >= end)
			break;
		if (a.walk_end <= a.start)
			return -EIO;   /* no progress: the rest would read as absent */
		a.start = a.walk_end;
	}
	return 0;
}

static int scan_vma(int pm_fd, struct snap_vma *v)
{
	struct scan_arg sa = { .pm_fd = pm_fd, .v = v };

	return in_halves(scan_range, &sa, v->start, v->end);
}

/* n zeroed entries of size; the 2 MiB-aligned part of a big table asked
 * to be huge pages: the pagemap of 1 GiB is 2 MiB, and filling it a small
 * page at a time took 512 faults while the tasks were stopped (as
 * page_buffer in checkpoint.c). Still zeroed lazily (calloc's fresh
 * pages): a sparse mapping of a TiB must not cost a 2 GiB memset. */
static void *snap_zalloc(size_t n, size_t size)
{
	size_t len;
	uintptr_t a, b;
	void *p;

	if (__builtin_mul_overflow(n, size, &len))
		return NULL;
	p = calloc(n, size);
	if (!p || len < PAGEBUF_LEN)
		return p;
	a = ((uintptr_t)p + PAGEBUF_LEN - 1) & ~((uintptr_t)PAGEBUF_LEN - 1);
	b = ((uintptr_t)p + len) & ~((uintptr_t)PAGEBUF_LEN - 1);
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_HUGEPAGE);
	return p;
}

/* The mappings whose pages the job reads, with their pagemap now. */
static int snap_collect(struct dump_ctx *ctx, size_t i)
{
	struct snap_proc *sp = &ctx->snap_state->procs[i];
	const struct dump_proc *p = &ctx->procs[i];
	_cleanup_close_ int pm_fd = -1;
	char path[64];
	size_t k;
	int r;

	sp->v = calloc(p->nvma_ents ? p->nvma_ents : 1, sizeof(*sp->v));
	if (!sp->v)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->pid);
	pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0)
		return -errno;
	for (k = 0; k < p->nvma_ents; k++) {
		const Ckpt__Img__Vma *e = p->vma_ptrs[k];
		struct snap_vma *v = &sp->v[sp->nv];
		size_t n = (e->end - e->start) / PAGE_SZ;

		if (e->kind != CKPT__IMG__VMA_KIND__VMA_ANON && e->kind != CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE &&
		    !(e->kind == CKPT__IMG__VMA_KIND__VMA_MEMFD && !(e->flags & MAP_SHARED)))
			continue;
		v->start = e->start;
		v->end = e->end;
		v->anon = e->kind == CKPT__IMG__VMA_KIND__VMA_ANON;
		v->inherit = e->has_inherit && e->inherit;
		v->pme = snap_zalloc(n, sizeof(*v->pme));
		v->done = calloc((n + BITS - 1) / BITS, sizeof(*v->done));
		v->copy = calloc(n, sizeof(*v->copy));
		sp->nv++;
		if (!v->pme || !v->done || !v->copy)
			return -ENOMEM;
		r = v->inherit || child_inherits(ctx, i, e->start) ? -ENOTTY : scan_vma(pm_fd, v);
		if (r == -ENOTTY || r == -EINVAL) {   /* frame numbers wanted, or a kernel before 6.7 */
			errno = 0;
			if (pread(pm_fd, v->pme, n * 8, (e->start / PAGE_SZ) * 8) != (ssize_t)(n * 8))
				return errno ? -errno : -EIO;
		} else if (r < 0) {
			return r;
		}
	}
	return 0;
}

static int wp_range(int uffd, uint64_t start, uint64_t len, bool on)
{
	struct uffdio_writeprotect w = { .range = { .start = start, .len = len }, .mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };

	while (ioctl(uffd, UFFDIO_WRITEPROTECT, &w) < 0)
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	return 0;
}

static int wp_on(void *arg, uint64_t start, uint64_t end)
{
	return wp_range(*(const int *)arg, start, end - start, true);
}

/* len bytes at addr of the mm sp was frozen with. -ESRCH: that mm is gone
 * (the process exited or exec'd). */
static int mem_read(const struct snap_proc *sp, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(sp->mem_fd, (char *)buf + done, len - done, (off_t)(addr + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ESRCH;
		done += (size_t)n;
	}
	return 0;
}

#define PM_PFN(x) ((x) & ((1ull << 55) - 1))

/* Page i of v is one the image takes from this process (mm_dump.c
 * page_action, or more): not the frame its parent's pv still shares. */
static bool own_page(const struct snap_vma *v, const struct snap_vma *pv, size_t i)
{
	uint64_t a = v->pme[i], b;

	if (!needed(v, i))
		return false;
	if (!pv)
		return true;
	b = pv->pme[(v->start - pv->start) / PAGE_SZ + i];
	return !((a & PM_PRESENT) && (b & PM_PRESENT) && PM_PFN(a) && PM_PFN(a) == PM_PFN(b));
}

static struct snap_vma *find_vma(struct snap_proc *sp, uint64_t addr);

/* The parent's mapping v shares copy-on-write, if the freeze kept its pagemap. */
static const struct snap_vma *parent_vma(struct dump_ctx *ctx, size_t i, const struct snap_vma *v)
{
	const struct dump_proc *p = &ctx->procs[i];
	struct snap_vma *pv;

	if (!v->inherit || p->parent < 0)
		return NULL;
	pv = find_vma(&ctx->snap_state->procs[p->parent], v->start);
	return pv && v->end <= pv->end ? pv : NULL;
}

/* The pages of v the image takes, read now (the tasks are stopped),
 * counted against *budget up to max. */
static int precopy_vma(struct snapshot *s, struct snap_proc *sp, struct snap_vma *v, const struct snap_vma *pv,
		       uint64_t *budget, uint64_t max)
{
	size_t n = (v->end - v->start) / PAGE_SZ, i = 0, j, k;
	int r;

	if (!s->batch && !(s->batch = malloc(SNAP_BATCH * PAGE_SZ)))
		return -ENOMEM;
	while (i < n) {
		if (!own_page(v, pv, i)) {
			i++;
			continue;
		}
		for (j = i; j < n && j - i < SNAP_BATCH && own_page(v, pv, j); j++)
			;
		if (*budget + (j - i) * PAGE_SZ > max)
			return -E2BIG;
		r = mem_read(sp, v->start + i * PAGE_SZ, s->batch, (j - i) * PAGE_SZ);
		if (r < 0)
			return r;
		for (k = i; k < j; k++) {
			if (!(v->copy[k] = malloc(PAGE_SZ)))
				return -ENOMEM;
			memcpy(v->copy[k], (char *)s->batch + (k - i) * PAGE_SZ, PAGE_SZ);
		}
		*budget += (j - i) * PAGE_SZ;
		i = j;
	}
	return 0;
}

/* How much of its own memory v of process i has, counted up to most + 1 page. */
static uint64_t own_vma_bytes(struct dump_ctx *ctx, size_t i, const struct snap_vma *v, uint64_t most)
{
	const struct snap_vma *pv = parent_vma(ctx, i, v);
	uint64_t b = 0;

	for (size_t j = 0; j < (v->end - v->start) / PAGE_SZ && b <= most; j++)
		b += own_page(v, pv, j) ? PAGE_SZ : 0;
	return b;
}

/* How much of its own memory process i has, counted up to SNAP_SMALL + 1 page. */
static uint64_t own_bytes(struct dump_ctx *ctx, size_t i)
{
	struct snap_proc *sp = &ctx->snap_state->procs[i];
	uint64_t b = 0;

	for (size_t k = 0; k < sp->nv && b <= SNAP_SMALL; k++)
		b += own_vma_bytes(ctx, i, &sp->v[k], SNAP_SMALL - b);
	return b;
}

/* A small process, copied whole now: the background copy needs nothing of
 * it later. 1: copied; 0: not small, or past the budget. */
static int precopy_small(struct dump_ctx *ctx, size_t i)
{
	struct snapshot *s = ctx->snap_state;
	struct snap_proc *sp = &s->procs[i];
	uint64_t own = own_bytes(ctx, i), before = s->small_copied;
	int r = 0;

	if (own > SNAP_SMALL || s->small_copied + own > SNAP_SMALL_TOTAL)
		return 0;
	for (size_t k = 0; k < sp->nv && r >= 0; k++)
		r = precopy_vma(s, sp, &sp->v[k], parent_vma(ctx, i, &sp->v[k]), &s->small_copied, SNAP_SMALL_TOTAL);
	if (r < 0) {
		/* its copies so far are kept (snapshot_read takes them first) */
		s->small_copied = before;
		return r == -E2BIG ? 0 : r;
	}
	s->nsmall++;
	return 1;
}

/* Anonymous private memory is registered; the rest (file-backed private
 * mappings, which userfaultfd cannot write-protect), and mappings with
 * little of their own, are copied now. */
static int snap_protect_proc(struct dump_ctx *ctx, size_t i)
{
	struct snapshot *s = ctx->snap_state;
	struct snap_proc *sp = &s->procs[i];
	size_t k;
	int r;

	for (k = 0; k < sp->nv; k++) {
		struct snap_vma *v = &sp->v[k];
		struct uffdio_register reg = { .range = { .start = v->start, .len = v->end - v->start },
					       .mode = UFFDIO_REGISTER_MODE_WP };
		uint64_t own = own_vma_bytes(ctx, i, v, SNAP_SMALL_VMA);
		uint64_t before = s->small_copied;

		if (own <= SNAP_SMALL_VMA && s->small_copied + own <= SNAP_SMALL_TOTAL) {
			r = precopy_vma(s, sp, v, parent_vma(ctx, i, v), &s->small_copied, SNAP_SMALL_TOTAL);
			if (r >= 0)
				continue;
			if (r != -E2BIG)
				return r;
			s->small_copied = before;   /* its copies so far are kept */
		}

		if (ioctl(sp->uffd, UFFDIO_REGISTER, &reg) == 0) {
			r = in_halves(wp_on, &sp->uffd, v->start, v->end);
			if (r < 0)
				return r;
			v->wp = true;
			continue;
		}
		r = precopy_vma(s, sp, v, NULL, &s->precopied, SNAP_PRECOPY_MAX);
		if (r < 0)
			return r;
	}
	return 0;
}

static struct snap_vma *find_vma(struct snap_proc *sp, uint64_t addr)
{
	size_t lo = 0, hi = sp->nv;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < sp->v[mid].start)
			hi = mid;
		else if (addr >= sp->v[mid].end)
			lo = mid + 1;
		else
			return &sp->v[mid];
	}
	return NULL;
}

/* A write to a protected page: save it first, then let the write go on. */
static void on_write_fault(struct snapshot *s, struct snap_proc *sp, uint64_t addr)
{
	struct snap_vma *v;
	int r;

	addr &= ~(PAGE_SZ - 1);
	pthread_mutex_lock(&s->lock);
	v = find_vma(sp, addr);
	if (v && v->wp) {
		size_t i = (addr - v->start) / PAGE_SZ;

		if (!test_bit(v->done, i) && !v->copy[i] && needed(v, i)) {
			v->copy[i] = malloc(PAGE_SZ);
			r = v->copy[i] ? mem_read(sp, addr, v->copy[i], PAGE_SZ) : -ENOMEM;
			if (r < 0) {
				free(v->copy[i]);
				v->copy[i] = NULL;
				snap_error(s, r, "task %d: saving page %#lx before the program's write", sp->pid,
					   (unsigned long)addr);
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	r = wp_range(sp->uffd, addr, PAGE_SZ, false);
	if (r < 0) {
		struct uffdio_range wake = { .start = addr, .len = PAGE_SZ };

		/* never leave the faulting thread waiting */
		ioctl(sp->uffd, UFFDIO_WAKE, &wake);
		/* unmapped since, or the process gone (its exit): nothing to let go */
		if (r != -ENOENT && r != -ESRCH)
			log_error("checkpoint: task %d: un-protecting page %#lx: %s", sp->pid, (unsigned long)addr,
				  strerror(-r));
	}
}

/* Memory discarded, unmapped or moved by the program: fine where the image
 * has it already or never needed it; otherwise the copy is no longer exact. */
static void on_lost(struct snapshot *s, struct snap_proc *sp, uint64_t start, uint64_t end, const char *what)
{
	size_t k, i;

	pthread_mutex_lock(&s->lock);
	for (k = 0; k < sp->nv; k++) {
		struct snap_vma *v = &sp->v[k];
		uint64_t a = MAX(start, v->start), b = MIN(end, v->end);

		for (; a < b; a += PAGE_SZ) {
			i = (a - v->start) / PAGE_SZ;
			if (needed(v, i) && !test_bit(v->done, i) && !v->copy[i]) {
				snap_error(s, -EBUSY, "task %d: the program %s memory at %#lx-%#lx while it was being "
					   "copied", sp->pid, what, (unsigned long)start, (unsigned long)end);
				break;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static void on_msg(struct snapshot *s, struct snap_proc *sp, const struct uffd_msg *m)
{
	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		on_write_fault(s, sp, m->arg.pagefault.address);
		break;
	case UFFD_EVENT_REMOVE:
		on_lost(s, sp, m->arg.remove.start, m->arg.remove.end, "discarded");
		break;
	case UFFD_EVENT_UNMAP:
		on_lost(s, sp, m->arg.remove.start, m->arg.remove.end, "unmapped");
		break;
	case UFFD_EVENT_REMAP:
		on_lost(s, sp, m->arg.remap.from, m->arg.remap.from + m->arg.remap.len, "moved");
		break;
	default:
		break;
	}
}

static void *handler(void *arg)
{
	struct snapshot *s = arg;
	struct pollfd *pfd = calloc(s->nprocs + 1, sizeof(*pfd));
	size_t *idx = calloc(s->nprocs + 1, sizeof(*idx));
	size_t n = 0, i;

	if (!pfd || !idx) {
		pthread_mutex_lock(&s->lock);
		snap_error(s, -ENOMEM, "the fault handler's tables");
		pthread_mutex_unlock(&s->lock);
		free(pfd);
		free(idx);
		return NULL;
	}
	pfd[n++] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
	for (i = 0; i < s->nprocs; i++)
		if (s->procs[i].uffd >= 0) {
			idx[n] = i;
			pfd[n++] = (struct pollfd){ .fd = s->procs[i].uffd, .events = POLLIN };
		}
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		if (poll(pfd, n, -1) < 0 && errno != EINTR)
			break;
		for (i = 1; i < n; i++) {
			struct uffd_msg m[32];
			ssize_t got;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((got = read(pfd[i].fd, m, sizeof(m))) > 0)
				for (size_t k = 0; k < (size_t)got / sizeof(m[0]); k++)
					on_msg(s, &s->procs[idx[i]], &m[k]);
		}
	}
	free(pfd);
	free(idx);
	return NULL;
}

int snapshot_protect(struct dump_ctx *ctx, size_t *ret_first)
{
	struct snapshot *s = ctx->snap_state;
	size_t i, first = 0;
	uint64_t t0 = cr_now_us(), t_scan;
	int r = 0;

	*ret_first = ctx->njobs;
	if (!ctx->req->leave_running || !s)
		return 0;
	if (falling_back(s))
		goto frozen;
	/* Shared memory objects and deleted files can be written through other
	 * mappings and fds no userfaultfd sees: their jobs (which come before
	 * the tasks') run while the tasks are stopped. */
	for (i = 0; i < ctx->njobs; i++)
		if (ctx->jobs[i].owner != CKPT__IMG__SEGMENT_OWNER__SEG_TASK)
			first = i + 1;
	for (i = first; i < ctx->njobs; i++)
		if (ctx->jobs[i].owner != CKPT__IMG__SEGMENT_OWNER__SEG_TASK) {
			fall_back(s, "shared memory saved after a task's pages");
			goto frozen;
		}
	/* every pagemap first: a child's own pages are told from its parent's */
	for (i = 0; i < s->nprocs; i++) {
		struct snap_proc *sp = &s->procs[i];
		char path[64];

		if (ctx->procs[i].zombie)
			continue;
		sp->pid = ctx->procs[i].pid;
		snprintf(path, sizeof(path), "/proc/%d/mem", sp->pid);
		sp->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		r = sp->mem_fd < 0 ? -errno : snap_collect(ctx, i);
		if (r < 0) {
			fall_back(s, "task %d: reading its pagemap: %s", sp->pid, strerror(-r));
			goto frozen;
		}
	}
	t_scan = cr_now_us();
	for (i = 0; i < s->nprocs; i++) {
		struct snap_proc *sp = &s->procs[i];
		struct uffdio_api api = { .api = UFFD_API, .features = SNAP_FEATURES };

		if (ctx->procs[i].zombie)
			continue;
		r = precopy_small(ctx, i);
		if (r < 0) {
			fall_back(s, "task %d: copying its memory: %s", sp->pid, strerror(-r));
			goto frozen;
		}
		if (r > 0) {
			/* nothing of it is protected: its userfaultfd is not needed */
			if (sp->uffd >= 0)
				close(sp->uffd);
			sp->uffd = -1;
			continue;
		}
		if (sp->uffd < 0) {
			fall_back(s, "task %d has no userfaultfd", ctx->procs[i].pid);
			goto frozen;
		}
		if (ioctl(sp->uffd, UFFDIO_API, &api) < 0) {
			fall_back(s, "this kernel's userfaultfd lacks write-protection of unpopulated memory or its events (%m)");
			goto frozen;
		}
		r = snap_protect_proc(ctx, i);
		if (r == -E2BIG) {
			fall_back(s, "more than %llu MiB of memory userfaultfd cannot protect", SNAP_PRECOPY_MAX >> 20);
			goto frozen;
		}
		if (r < 0) {
			fall_back(s, "task %d: write-protecting its memory: %s", sp->pid, strerror(-r));
			goto frozen;
		}
	}
	if (s->small_copied)
		log_info("checkpoint: %zu small processes and small mappings (%llu KiB) copied while stopped", s->nsmall,
			 (unsigned long long)(s->small_copied >> 10));
	r = 0;
	s->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (s->wake_fd < 0) {
		fall_back(s, "eventfd: %m");
		goto frozen;
	}
	if ((r = pthread_create(&s->thread, NULL, handler, s)) != 0) {
		fall_back(s, "starting the fault handler: %s", strerror(r));
		goto frozen;
	}
	s->thread_running = true;
	/* what of the frozen time the arming took (bench/snapshot.sh prints it) */
	log_info("checkpoint: background copy armed, us: pagemap %llu protect %llu",
		 (unsigned long long)(t_scan - t0), (unsigned long long)(cr_now_us() - t_scan));
	ctx->snap = s;
	*ret_first = first;
	return 0;
frozen:
	/* nothing may stay protected: the frozen copy reads it all now */
	snapshot_end(ctx);
	ctx->snap = NULL;
	return 0;
}

const uint64_t *snapshot_pagemap(const struct dump_ctx *ctx, const struct dump_proc *p, uint64_t start, uint64_t end)
{
	struct snap_proc *sp;
	struct snap_vma *v;

	if (!ctx->snap)
		return NULL;
	sp = &ctx->snap->procs[p - ctx->procs];
	v = find_vma(sp, start);
	if (!v || end > v->end)
		return NULL;
	return v->pme + (start - v->start) / PAGE_SZ;
}

/* Pages [from, to) of v the image takes and has not yet: each read from
 * the run it starts (one read per run) into a saved copy, at most
 * SNAP_EXIT_MAX for all exits. Under the lock. */
static int save_pages(struct snapshot *s, struct snap_proc *sp, struct snap_vma *v, const struct snap_vma *pv,
		      size_t from, size_t to, void *buf, uint64_t *bytes)
{
	size_t i = from, j, k;
	int r;

	while (i < to) {
		for (j = i; j < to && own_page(v, pv, j) && !test_bit(v->done, j) && !v->copy[j]; j++)
			;
		if (j == i) {
			i++;
			continue;
		}
		if (s->exit_saved + (j - i) * PAGE_SZ > SNAP_EXIT_MAX)
			return -E2BIG;
		r = mem_read(sp, v->start + i * PAGE_SZ, buf, (j - i) * PAGE_SZ);
		if (r < 0)
			return r;
		for (k = i; k < j; k++) {
			if (!(v->copy[k] = malloc(PAGE_SZ)))
				return -ENOMEM;
			memcpy(v->copy[k], (char *)buf + (k - i) * PAGE_SZ, PAGE_SZ);
		}
		s->exit_saved += (j - i) * PAGE_SZ;
		*bytes += (j - i) * PAGE_SZ;
		i = j;
	}
	return 0;
}

/* Process i is exiting (snap_exit.h), its mm held by the thread in its
 * exit stop: every page the image still takes from it (as precopy_small
 * counts them) is read now, SNAP_BATCH pages at a time under the lock (the
 * fault handler saves the pages of the others in between). */
static void save_at_exit(void *arg, size_t i)
{
	struct dump_ctx *ctx = arg;
	struct snapshot *s = ctx->snap_state;
	struct snap_proc *sp = &s->procs[i];
	uint64_t t0 = cr_now_us(), bytes = 0;
	void *buf = malloc(SNAP_BATCH * PAGE_SZ);
	int r = buf ? 0 : -ENOMEM;

	for (size_t k = 0; k < sp->nv && r >= 0; k++) {
		struct snap_vma *v = &sp->v[k];
		const struct snap_vma *pv = parent_vma(ctx, i, v);
		size_t n = (v->end - v->start) / PAGE_SZ;

		for (size_t j = 0; v->wp && j < n && r >= 0; j += SNAP_BATCH) {
			pthread_mutex_lock(&s->lock);
			r = save_pages(s, sp, v, pv, j, MIN(n, j + SNAP_BATCH), buf, &bytes);
			pthread_mutex_unlock(&s->lock);
		}
	}
	free(buf);
	pthread_mutex_lock(&s->lock);
	if (r == -E2BIG)
		snap_error(s, r, "task %d: it exited during the background copy, and the memory of its own not yet "
			   "copied was past the %llu MiB that can be saved at exits", sp->pid, SNAP_EXIT_MAX >> 20);
	else if (r < 0)
		snap_error(s, r, "task %d: saving its memory at its exit during the background copy: %s", sp->pid,
			   strerror(-r));
	else
		sp->saved_at_exit = true;
	pthread_mutex_unlock(&s->lock);
	log_info("checkpoint: task %d exits during the background copy: %llu KiB of its memory saved first, in %llu us",
		 sp->pid, (unsigned long long)(bytes >> 10), (unsigned long long)(cr_now_us() - t0));
}

void snapshot_watch_exits(struct dump_ctx *ctx)
{
	struct snapshot *s = ctx->snap;
	int r;

	if (!s || s->exits)
		return;
	s->watched = calloc(s->nprocs ? s->nprocs : 1, sizeof(*s->watched));
	if (!s->watched) {
		log_error("checkpoint: no memory to watch for exits: one during the copy fails the checkpoint");
		return;
	}
	/* the small processes are in copy[] already: nothing to save */
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].uffd >= 0 && s->procs[i].mem_fd >= 0 && !ctx->procs[i].zombie)
			s->watched[i] = s->procs[i].pid;
	r = snap_exit_start(&s->exits, s->watched, s->nprocs, save_at_exit, ctx);
	if (r < 0)
		log_error("checkpoint: starting the exit watch: %s: an exit during the copy fails the checkpoint",
			  strerror(-r));
}

void snapshot_unwatch_exits(struct dump_ctx *ctx)
{
	struct snapshot *s = ctx->snap_state;

	if (!s)
		return;
	snap_exit_stop(s->exits);
	s->exits = NULL;
	free(s->watched);
	s->watched = NULL;
}

int snapshot_read(struct dump_ctx *ctx, const struct dump_proc *p, uint64_t addr, uint64_t nr, void *buf)
{
	struct snapshot *s = ctx->snap;
	struct snap_proc *sp = &s->procs[p - ctx->procs];
	struct snap_vma *v = find_vma(sp, addr);
	bool gone = false;
	size_t i, i0;
	int r = 0;

	if (!v || addr + nr * PAGE_SZ > v->end)
		return -EFAULT;
	if (fault_at("ckpt-copy-slow"))
		usleep(SNAP_SLOW_US);
	/* Read first, then take the saved copies: a page the handler let go
	 * during the read was saved before it was let go. */
	if (v->wp)
		r = mem_read(sp, addr, buf, nr * PAGE_SZ);
	if (r == -ESRCH) {
		/* saved whole at its exit, before its memory went (save_at_exit) */
		pthread_mutex_lock(&s->lock);
		gone = sp->saved_at_exit;
		pthread_mutex_unlock(&s->lock);
		if (!gone)
			return cr_fail(ctx->err, CR_ERR_BAD_STATE, ESRCH, "task %d: it exited or exec'd before the "
				       "background copy read its memory (more than %llu MiB of its own, too much to copy "
				       "while stopped), and its exit could not be held to save it first (an exec, a "
				       "thread not traced)", p->pid, SNAP_SMALL >> 20);
		r = 0;
	}
	if (r < 0)
		return r;
	i0 = (addr - v->start) / PAGE_SZ;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < nr && r >= 0; i++) {
		void *c = v->copy[i0 + i];

		if (c)
			memcpy((char *)buf + i * PAGE_SZ, c, PAGE_SZ);
		else if (!v->wp || gone)
			r = -EFAULT;   /* copied while stopped, or at its exit: every page it may write is */
	}
	if (s->error && r >= 0)
		r = cr_fail(ctx->err, CR_ERR_BAD_STATE, -s->error, "background copy: %s", s->error_msg);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int snapshot_done(struct dump_ctx *ctx, const struct dump_proc *p, uint64_t addr, uint64_t nr)
{
	struct snapshot *s = ctx->snap;
	struct snap_proc *sp = &s->procs[p - ctx->procs];
	struct snap_vma *v = find_vma(sp, addr);
	size_t i, i0;

	if (!v || addr + nr * PAGE_SZ > v->end)
		return -EFAULT;
	i0 = (addr - v->start) / PAGE_SZ;
	pthread_mutex_lock(&s->lock);
	for (i = i0; i < i0 + nr; i++) {
		set_bit(v->done, i);
		free(v->copy[i]);
		v->copy[i] = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	/* The range stays protected: un-protecting costs more per page than
	 * protecting did, and each call more again (the whole range is
	 * un-protected in one call per mapping at the end, snapshot_end). A
	 * page the program writes before then costs it a round trip through
	 * the handler, which un-protects just that page. */
	return 0;
}

/* Lift sp's protection from inside it (snap_lift.h); what is left, the
 * unregistering in snapshot_end lifts from outside. */
static void lift_inside(struct snapshot *s, struct snap_proc *sp)
{
	_cleanup_free_ struct snap_lift_range *rg = calloc(sp->nv ? sp->nv : 1, sizeof(*rg));
	struct snap_lift_stats st;
	char why[160] = "";
	size_t n = 0;
	int r;

	for (size_t k = 0; rg && k < sp->nv; k++)
		if (sp->v[k].wp)
			rg[n++] = (struct snap_lift_range){ sp->v[k].start, sp->v[k].end };
	if (!rg || !n)
		return;
	if (fault_at("snap-lift-outside")) {
		log_info("checkpoint: task %d: protection lifted from outside (fault point)", sp->pid);
		return;
	}
	if (sp->mem_fd < 0)
		return;   /* nothing tells its mm from another: from outside */
	r = snap_lift(sp->pid, sp->uffd, sp->mem_fd, rg, n, &st, why, sizeof(why));
	log_info("checkpoint: task %d: protection lifted from inside: %llu KiB in %llu ms, %llu moments of thread %d, "
		 "the longest %llu us", sp->pid, (unsigned long long)(st.bytes >> 10), (unsigned long long)(st.us / 1000),
		 (unsigned long long)st.stops, (int)st.tid, (unsigned long long)st.longest_us);
	if (r == -ENOTRECOVERABLE)
		snap_error(s, r, "task %d: lifting the write-protection: %s", sp->pid, why);
	else if (r < 0)
		log_error("checkpoint: task %d: lifting the protection from inside: %s: the rest is lifted from "
			  "outside, which holds the program up", sp->pid, why);
}

int snapshot_end(struct dump_ctx *ctx)
{
	struct snapshot *s = ctx->snap_state;
	size_t i, k;

	if (!s)
		return 0;
	/* while the handler still serves the program's writes */
	for (i = 0; i < s->nprocs; i++)
		if (s->procs[i].uffd >= 0 && s->thread_running)
			lift_inside(s, &s->procs[i]);
	if (s->thread_running) {
		uint64_t one = 1;

		__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
		if (write(s->wake_fd, &one, sizeof(one)) != sizeof(one))
			log_error("checkpoint: waking the fault handler: %m");
		pthread_join(s->thread, NULL);
		s->thread_running = false;
	}
	for (i = 0; i < s->nprocs; i++) {
		struct snap_proc *sp = &s->procs[i];

		if (sp->mem_fd >= 0)
			close(sp->mem_fd);
		sp->mem_fd = -1;
		if (sp->uffd < 0)
			continue;
		/* Unregistering clears what protection is left (none once
		 * lifted from inside, and then it is quick); closing wakes any
		 * thread still waiting for a fault to be handled. */
		for (k = 0; k < sp->nv; k++) {
			struct uffdio_range rg = { .start = sp->v[k].start, .len = sp->v[k].end - sp->v[k].start };

			if (sp->v[k].wp && ioctl(sp->uffd, UFFDIO_UNREGISTER, &rg) < 0 && errno != ENOENT &&
			    errno != EINVAL)
				log_error("checkpoint: task %d: unregistering %#lx-%#lx: %m", sp->pid,
					  (unsigned long)rg.start, (unsigned long)(rg.start + rg.len));
			sp->v[k].wp = false;
		}
		close(sp->uffd);
		sp->uffd = -1;
	}
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	s->wake_fd = -1;
	ctx->snap = NULL;
	if (s->error)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, -s->error, "background copy: %s", s->error_msg);
	return 0;
}

const char *snapshot_mode(const struct dump_ctx *ctx)
{
	if (!ctx->req->leave_running)
		return "frozen: the checkpoint stops the container";
	return ctx->snap_state ? ctx->snap_state->mode : "frozen: no process to protect";
}

void snapshot_free(struct dump_ctx *ctx)
{
	struct snapshot *s = ctx->snap_state;
	size_t i, k, j;

	if (!s)
		return;
	snapshot_unwatch_exits(ctx);
	snapshot_end(ctx);
	for (i = 0; i < s->nprocs; i++) {
		struct snap_proc *sp = &s->procs[i];

		for (k = 0; k < sp->nv; k++) {
			size_t n = (sp->v[k].end - sp->v[k].start) / PAGE_SZ;

			for (j = 0; sp->v[k].copy && j < n; j++)
				free(sp->v[k].copy[j]);
			free(sp->v[k].copy);
			free(sp->v[k].pme);
			free(sp->v[k].done);
		}
		free(sp->v);
	}
	free(s->procs);
	free(s->batch);
	pthread_mutex_destroy(&s->lock);
	free(s);
	ctx->snap_state = NULL;
}
