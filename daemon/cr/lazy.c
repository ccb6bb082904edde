// SPDX-License-Identifier: GPL-2.0-or-later
/* lazy.h, the restorer's side. Which mappings are filled lazily:
 * lazy_rule.h, the writer's rule too. */
#include "lazy.h"
#include "lazy_rule.h"
#include "restore.h"
#include "image_lazy.h"
#include "plan.h"
#include "uffd_new.h"
#include "uapi_uffd.h"
#include "log.h"
#include "macro.h"
#include "ptguard.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>

struct lazy_range {
	uint64_t lo, hi;
};

struct lazy_proc {
	struct lazy_range *ranges;    /* its lazy mappings */
	size_t nranges;
	bool computed;
	struct lazy_piece *v;         /* its pages left in the file, image order */
	size_t n, cap;
	uint64_t *inherited;          /* starts of mappings a child inherits */
	size_t ninherited;
	struct lazy_area *rseq;       /* its threads' rseq areas */
	size_t nrseq;
	int uffd;
};

struct lazy_restore {
	struct image_lazy *lz;
	struct lazy_proc *procs;      /* as restore_ctx.procs */
	size_t nprocs;
	bool scanned;                 /* children's inherited mappings known */
	int err;                      /* a failed scan: sticks, fails the restart */
	uint32_t *ext_pages;          /* per extent of lz: its page count */
	size_t next, ext_cap;
	uint64_t bytes;
	pid_t filler;
	int filler_pidfd;
	int report_fd;                /* ckptd's end of the filler's reports */
	/* from a stream (lazy.h struct lazy_stream) */
	bool stream;
	bool stopped;                 /* the reader stopped at a lazy part ... */
	size_t stop_proc;             /* ... of this process */
	uint32_t next_index;          /* ... the part after it's Segment index */
	struct lazy_base *bases;      /* per placeholder piece */
	size_t nbases, bases_cap;
	pid_t *pids;                  /* per process, as lazy_stream's */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#define LAZY_UFFD_FEATURES (UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | \
			    UFFD_FEATURE_EVENT_UNMAP)

int lazy_restore_begin(struct restore_ctx *ctx)
{
	const struct restart_plan *pl = ctx->plan;
	struct lazy_restore *l;
	bool lazy_last = false;
	int r;

	if (!ctx->req->lazy)
		return 0;
	if (ctx->req->nparents)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, "the image", "it is incremental: --lazy restarts a full "
				   "image (restart without --lazy)");
	if (pl && pl->nrecs && pl->recs[0].type == IMG_HEADER) {
		Ckpt__Img__Header *h = image_unpack(&ctx->rd, &ckpt__img__header__descriptor, pl->recs[0].payload,
						    pl->recs[0].len);
		bool incr = h && h->parent_id;

		lazy_last = h && h->has_pages_lazy_last && h->pages_lazy_last;
		if (h)
			protobuf_c_message_free_unpacked(&h->base, NULL);
		if (incr)
			return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, "the image", "it is incremental: --lazy restarts "
					   "a full image (restart without --lazy)");
	}
	l = ctx->lazy = calloc(1, sizeof(*l));
	if (!l)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
	l->filler = -1;
	l->filler_pidfd = l->report_fd = -1;
	r = image_reader_set_lazy(&ctx->rd, &l->lz);
	/* a stream is read in order: the filler reads on where the reader
	 * stops, which is worth it only if what must be in first comes first */
	if (r == -ESPIPE && !lazy_last)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, "the image", "written before the pages a lazy restart "
				   "leaves for later came last: restart it lazily from a file (-i FILE), or from the stream "
				   "without --lazy");
	if (r == -ESPIPE) {
		l->stream = true;
		return 0;
	}
	if (r == -EPERM)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, "the image", "--lazy needs an image verified under a "
				   "key (not --trust-image): its pages are read, verified, while it runs");
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_INTERNAL, -r, "the image", "reading it lazily");
	return 0;
}

/* The children's inherited mappings, from their MM records in the plan. */
static int scan_children(struct restore_ctx *ctx, struct lazy_restore *l)
{
	const struct restart_plan *pl = ctx->plan;
	int cur = -1;

	l->procs = calloc(ctx->nprocs, sizeof(*l->procs));
	if (!l->procs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
	l->nprocs = ctx->nprocs;
	for (size_t i = 0; i < l->nprocs; i++)
		l->procs[i].uffd = -1;
	l->scanned = true;
	for (size_t i = 0; pl && i < pl->nrecs; i++) {
		const struct plan_rec *rec = &pl->recs[i];
		struct lazy_proc *pp;
		Ckpt__Img__Task *t;
		Ckpt__Img__Mm *mm;

		if (rec->type == IMG_TASK) {
			t = image_unpack(&ctx->rd, &ckpt__img__task__descriptor, rec->payload, rec->len);
			if (!t)
				return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task record: %s", ctx->rd.error);
			cur = -1;
			for (size_t k = 0; k < ctx->nprocs; k++)
				if (ctx->procs[k].tt->pid == t->pid && !ctx->procs[k].tt->zombie)
					cur = (int)k;
			protobuf_c_message_free_unpacked(&t->base, NULL);
		}
		if (rec->type != IMG_MM || cur < 0 || ctx->procs[cur].parent < 0)
			continue;
		pp = &l->procs[ctx->procs[cur].parent];
		mm = image_unpack(&ctx->rd, &ckpt__img__mm__descriptor, rec->payload, rec->len);
		if (!mm)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "mm record: %s", ctx->rd.error);
		for (size_t k = 0; k < mm->n_vmas; k++) {
			uint64_t *v;

			if (!mm->vmas[k]->has_inherit || !mm->vmas[k]->inherit)
				continue;
			v = realloc(pp->inherited, (pp->ninherited + 1) * sizeof(*v));
			if (!v) {
				protobuf_c_message_free_unpacked(&mm->base, NULL);
				return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
			}
			pp->inherited = v;
			pp->inherited[pp->ninherited++] = mm->vmas[k]->start;
		}
		protobuf_c_message_free_unpacked(&mm->base, NULL);
	}
	return 0;
}

static bool inherited_by_child(const struct lazy_proc *lp, const Ckpt__Img__Vma *v)
{
	for (size_t i = 0; i < lp->ninherited; i++)
		if (lp->inherited[i] >= v->start && lp->inherited[i] < v->end)
			return true;
	return false;
}

/* The process's rseq areas, main thread first, as the writer noted them. */
static int collect_rseq(struct restore_ctx *ctx, const struct rproc *p, struct lazy_proc *lp)
{
	lp->rseq = calloc(p->nthreads + 1, sizeof(*lp->rseq));
	if (!lp->rseq)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
	if (p->task->rseq)
		lp->rseq[lp->nrseq++] = (struct lazy_area){ p->task->rseq->ptr, p->task->rseq->len };
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i]->rseq)
			lp->rseq[lp->nrseq++] = (struct lazy_area){ p->threads[i]->rseq->ptr, p->threads[i]->rseq->len };
	return 0;
}

/* From a file, a mapping holding an rseq area stays lazy but for the
 * pages that meet the area (lazy_restore_wants): its pages may come in
 * any order. From a stream, the whole mapping is eager, as the writer
 * put it in the task's segment. */
static int compute_ranges(struct restore_ctx *ctx, struct rproc *p, struct lazy_proc *lp)
{
	const Ckpt__Img__Mm *mm = p->mm;
	int r;

	lp->computed = true;
	lp->ranges = calloc(mm->n_vmas + 1, sizeof(*lp->ranges));
	if (!lp->ranges)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
	r = collect_rseq(ctx, p, lp);
	for (size_t i = 0; i < mm->n_vmas && r >= 0; i++) {
		const Ckpt__Img__Vma *v = mm->vmas[i];
		struct lazy_facts f = {
			.rseq = lp->rseq,
			.nrseq = ctx->lazy->stream ? lp->nrseq : 0,
			.child_inherits = inherited_by_child(lp, v),
			.mlockall = p->task->has_mlockall ? p->task->mlockall : 0,
		};

		if (lazy_rule_vma(v, &f))
			lp->ranges[lp->nranges++] = (struct lazy_range){ v->start, v->end };
	}
	return r;
}

static const struct lazy_range *range_of(const struct lazy_proc *lp, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < lp->nranges; i++)
		if (lo >= lp->ranges[i].lo && hi <= lp->ranges[i].hi)
			return &lp->ranges[i];
	return NULL;
}

bool lazy_restore_wants(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm)
{
	struct lazy_restore *l = ctx->lazy;
	struct rproc *p = ctx->cur;
	struct lazy_proc *lp;
	uint64_t hi;

	if (!l || !ctx->tree || !p || !p->mm || !p->task || pm->vaddr % PAGE_SZ || pm->nr_pages == 0 ||
	    pm->nr_pages > IMAGE_MAX_PAGES / PAGE_SZ)
		return false;
	/* a scan that failed partway leaves mappings lazy that a child
	 * inherits: no further page is lazy, and the restart fails at start;
	 * from a stream, every page before the first lazy part is read */
	if (l->err || l->stream)
		return false;
	if (!l->scanned && (l->err = scan_children(ctx, l)) < 0)
		return false;
	lp = &l->procs[p - ctx->procs];
	if (!lp->computed && (l->err = compute_ranges(ctx, p, lp)) < 0)
		return false;
	hi = pm->vaddr + pm->nr_pages * PAGE_SZ;
	return range_of(lp, pm->vaddr, hi) && !lazy_rule_rseq_in(lp->rseq, lp->nrseq, pm->vaddr, hi);
}

int lazy_restore_stop(struct restore_ctx *ctx, size_t k, uint32_t next_index)
{
	struct lazy_restore *l = ctx->lazy;

	if (!l || !l->stream)
		return 0;
	l->stopped = true;
	l->stop_proc = k;
	l->next_index = next_index;
	return 1;
}

bool lazy_restore_stopped(const struct restore_ctx *ctx)
{
	return ctx->lazy && ctx->lazy->stopped;
}

int lazy_restore_add(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm, size_t stored_len)
{
	struct lazy_restore *l = ctx->lazy;
	struct lazy_proc *lp;
	ssize_t ext = l ? image_lazy_last(l->lz) : -1;

	if (!l || !l->procs || !ctx->cur || !stored_len || ext != (ssize_t)l->next || !lazy_restore_wants(ctx, pm))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: pages at %#lx (%lu) left in the file don't fit a "
			       "lazily restored mapping", ctx->cur ? ctx->cur->tt->pid : 0, (unsigned long)pm->vaddr,
			       (unsigned long)pm->nr_pages);
	/* bounded now, before anything runs: its fill would come too late
	 * to refuse it (the MAC is checked then, the length is known now) */
	if (image_lazy_fits(l->lz, (size_t)ext, pm->nr_pages) < 0)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: pages at %#lx (%lu) left in the file: their record "
			       "holds %zu bytes, which are not those pages", ctx->cur->tt->pid, (unsigned long)pm->vaddr,
			       (unsigned long)pm->nr_pages, stored_len);
	lp = &l->procs[ctx->cur - ctx->procs];
	if (lp->n == lp->cap) {
		size_t cap = lp->cap ? lp->cap * 2 : 64;
		struct lazy_piece *v = realloc(lp->v, cap * sizeof(*v));

		if (!v)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
		lp->v = v;
		lp->cap = cap;
	}
	if (l->next == l->ext_cap) {
		size_t cap = l->ext_cap ? l->ext_cap * 2 : 256;
		uint32_t *v = realloc(l->ext_pages, cap * sizeof(*v));

		if (!v)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
		l->ext_pages = v;
		l->ext_cap = cap;
	}
	lp->v[lp->n++] = (struct lazy_piece){ .vaddr = pm->vaddr, .npages = (uint32_t)pm->nr_pages, .ext = (uint32_t)ext };
	l->ext_pages[l->next++] = (uint32_t)pm->nr_pages;
	l->bytes += pm->nr_pages * PAGE_SZ;
	return 0;
}

/* A userfaultfd in p, registered on its lazy mappings that have pages.
 * It is made with the scratch page's data area (free between batches):
 * no page mapped and unmapped for it, two calls fewer. */
static int register_proc(struct restore_ctx *ctx, struct rproc *p, struct lazy_proc *lp)
{
	struct uffdio_api api = { .api = UFFD_API, .features = LAZY_UFFD_FEATURES };
	int r = uffd_new_in_task(&p->rt, p->scratch ? p->scratch + PAGE_SZ : 0, O_CLOEXEC | O_NONBLOCK, &lp->uffd);

	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, "its lazily restored memory", "making a userfaultfd in it");
	if (ioctl(lp->uffd, UFFDIO_API, &api) < 0)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, errno, "its lazily restored memory",
				   "this kernel's userfaultfd lacks the fork, remap, remove and unmap events");
	for (size_t i = 0; i < lp->nranges; i++) {
		struct uffdio_register reg = { .range = { lp->ranges[i].lo, lp->ranges[i].hi - lp->ranges[i].lo },
					       .mode = UFFDIO_REGISTER_MODE_MISSING };
		/* from a stream, which of them has pages is not known yet */
		bool used = ctx->lazy->stream;

		for (size_t k = 0; k < lp->n && !used; k++)
			used = lp->v[k].vaddr >= lp->ranges[i].lo && lp->v[k].vaddr < lp->ranges[i].hi;
		if (used && ioctl(lp->uffd, UFFDIO_REGISTER, &reg) < 0)
			return cr_fail_obj(ctx->err, CR_ERR_KERNEL, errno, "its lazily restored memory",
					   "registering %#lx-%#lx with its userfaultfd", (unsigned long)lp->ranges[i].lo,
					   (unsigned long)lp->ranges[i].hi);
	}
	return 0;
}

/* In the filler: nothing of the worker but what it serves from. */
static void filler_close_fds(const int *keep, size_t nkeep, const struct stat *img)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self = d ? dirfd(d) : -1;

	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		bool kept = fd == self || fd <= 2 || e->d_name[0] == '.';
		struct stat st;

		for (size_t i = 0; i < nkeep && !kept; i++)
			kept = keep[i] == fd;
		/* the image's dup that the lazy reader reads from */
		if (!kept && fstat(fd, &st) == 0 && st.st_dev == img->st_dev && st.st_ino == img->st_ino)
			kept = true;
		if (!kept)
			close(fd);
	}
	if (d)
		closedir(d);
}

static void oom_protect(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "-1000", 5) != 5)
		log_warn("lazy restart: the filler's oom_score_adj: %m");
	if (fd >= 0)
		close(fd);
}

/* The filler's status memfd (lazy.h), FILLING from the start. */
static int status_new(pid_t init_pid)
{
	struct lazy_status st = { .magic = LAZY_STATUS_MAGIC, .init_pid = init_pid, .state = LAZY_STATUS_FILLING };
	int fd = memfd_create(LAZY_STATUS_NAME, MFD_CLOEXEC);

	if (fd >= 0 && pwrite(fd, &st, sizeof(st), 0) != (ssize_t)sizeof(st)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_warn("lazy restart: the filler's status: %m; a ckptd started during the fill will not find it");
	return fd;
}

/* Ties the container to the filler (ptguard.h): with ckptd gone the
 * filler holds the last fds of the userfaultfds, and its death by a
 * signal (a kill, a crash) would leave the program reading zeroes where
 * its memory was: the kernel kills the container's init, and with it
 * the pid namespace, instead. The worker traces the init until its own
 * exit (sleep_release), so the guard takes it over only then. A guard
 * that can't be had fails the fill: a program that a kill of this
 * process could leave reading zeroes is not left running. */
static void guard_container(struct lazy_fill_fds *fds, pid_t init_pid, int worker_fd)
{
	sigset_t chld;
	int r;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_SETMASK, &chld, NULL);
	r = ptguard_start(&fds->guard, init_pid, worker_fd);
	if (r < 0)
		fds->guard_error = r;   /* the fill fails at its first step (lazy_fill.c) */
}

static _Noreturn void filler_main(struct restore_ctx *ctx, struct lazy_restore *l, int report_fd, int worker_fd,
				  const struct stat *img)
{
	struct lazy_space *sp = calloc(l->nprocs + 1, sizeof(*sp));
	int *keep = calloc(l->nprocs + 4, sizeof(*keep));
	/* the container's init: killed should the fill fail with ckptd gone */
	struct lazy_fill_fds fds = { .report = report_fd,
				     .ct = (int)syscall(SYS_pidfd_open, ctx->req->init_pid, 0),
				     .status = status_new(ctx->req->init_pid) };
	size_t n = 0, nk = 0;
	int r;

	signal(SIGTERM, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	prctl(PR_SET_NAME, "ckptd-filler", 0, 0, 0);
	/* never the OOM killer's pick: with ckptd gone this is the last
	 * holder of the userfaultfds, and its death would leave zeroes */
	oom_protect();
	if (!sp || !keep)
		_exit(1);
	keep[nk++] = report_fd;
	if (fds.ct >= 0)
		keep[nk++] = fds.ct;
	else
		log_warn("lazy restart: the container's init %d: pidfd_open: %m", (int)ctx->req->init_pid);
	if (fds.status >= 0)
		keep[nk++] = fds.status;
	if (worker_fd >= 0)
		keep[nk++] = worker_fd;
	for (size_t i = 0; i < l->nprocs; i++) {
		struct lazy_proc *lp = &l->procs[i];

		if (lp->uffd < 0)
			continue;
		keep[nk++] = lp->uffd;
		sp[n++] = (struct lazy_space){ .uffd = lp->uffd, .v = lp->v, .n = lp->n, .cap = lp->cap };
		lp->v = NULL;
	}
	filler_close_fds(keep, nk, img);
	guard_container(&fds, ctx->req->init_pid, worker_fd);
	if (l->stream) {
		struct lazy_stream st = { .rd = &ctx->rd, .bases = l->bases, .nbases = l->nbases, .pids = l->pids,
					  .nprocs = l->nprocs, .cur = l->stop_proc, .next_index = l->next_index };

		image_reader_after_fork(&ctx->rd);
		r = lazy_fill_stream(&st, sp, n, &fds);
	} else {
		r = lazy_fill_run(l->lz, l->ext_pages, l->next, sp, n, &fds);
	}
	_exit(r < 0 ? 1 : 0);
}

pid_t lazy_part_pid(const struct rproc *p)
{
	return p->tt->zombie || !p->mm || !p->task ? -1 : p->tt->pid;
}

/* From a stream: a placeholder piece per lazy range of every process
 * (split where a piece's page count would overflow): which of them have
 * pages, the lazy parts still to come tell. */
static int stream_placeholders(struct restore_ctx *ctx, struct lazy_restore *l)
{
	int r = l->scanned ? 0 : scan_children(ctx, l);

	if (r >= 0 && !(l->pids = calloc(l->nprocs + 1, sizeof(*l->pids))))
		r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
	for (size_t k = 0; k < l->nprocs && r >= 0; k++) {
		struct rproc *p = &ctx->procs[k];
		struct lazy_proc *lp = &l->procs[k];

		l->pids[k] = lazy_part_pid(p);
		if (l->pids[k] < 0)
			continue;
		if (!lp->computed && (r = compute_ranges(ctx, p, lp)) < 0)
			break;
		for (size_t i = 0; i < lp->nranges; i++)
			for (uint64_t a = lp->ranges[i].lo, np; a + PAGE_SZ <= lp->ranges[i].hi;) {
				np = MIN((lp->ranges[i].hi - a) / PAGE_SZ, (uint64_t)1 << 30);

				if (GROW(lp->v, lp->cap, lp->n, 16) < 0 || GROW(l->bases, l->bases_cap, l->nbases, 16) < 0)
					return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
				lp->v[lp->n++] = (struct lazy_piece){ .vaddr = a, .npages = (uint32_t)np,
								      .ext = (uint32_t)l->nbases };
				l->bases[l->nbases++] = (struct lazy_base){ .lo = a, .hi = a + np * PAGE_SZ, .owner = k };
				a += np * PAGE_SZ;
			}
	}
	return r;
}

int lazy_restore_start(struct restore_ctx *ctx)
{
	struct lazy_restore *l = ctx->lazy;
	struct stat img;
	bool any = false;
	int sv[2], worker_fd, r;
	pid_t pid;

	if (l && l->err < 0)
		return l->err;

	if (l && l->stream && l->stopped) {
		if ((r = stream_placeholders(ctx, l)) < 0)
			return r;
		/* no more may be read here: the filler's from now on */
		if ((r = image_reader_before_fork(&ctx->rd)) < 0)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: %s", ctx->rd.error);
	} else if (!l || !l->next) {
		return 0;
	}
	for (size_t i = 0; i < l->nprocs; i++) {
		if (!l->procs[i].n)
			continue;
		cr_error_scope(ctx->err, ctx->procs[i].tt->pid, 0);
		r = register_proc(ctx, &ctx->procs[i], &l->procs[i]);
		if (r < 0)
			return r;
		any = true;
	}
	cr_error_scope(ctx->err, 0, 0);
	/* a reader stopped in a stream has the rest of it, tail included, to
	 * read: never released without a filler to read it */
	if (!any && l->stream && l->stopped)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0,
			       "image: the stream has a lazy part of task %d, but no process has lazily restored memory",
			       ctx->procs[l->stop_proc].tt->pid);
	if (!any)
		return 0;
	if (fstat(ctx->req->image_fd, &img) < 0)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "the image");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "the filler's report socket");
	/* the filler's guard waits for this process's exit (guard_container) */
	worker_fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	pid = worker_fd < 0 ? -1 : fork();
	if (pid < 0) {
		r = errno;
		close(sv[0]);
		close(sv[1]);
		if (worker_fd >= 0)
			close(worker_fd);
		return cr_fail(ctx->err, CR_ERR_KERNEL, r, "starting the filler of the lazily restored memory");
	}
	if (pid == 0) {
		close(sv[0]);
		filler_main(ctx, l, sv[1], worker_fd, &img);
	}
	close(worker_fd);
	close(sv[1]);
	l->report_fd = sv[0];
	l->filler = pid;
	l->filler_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (l->filler_pidfd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "the filler's pidfd");
	if (l->stream)
		log_info("lazy restart: filler %d reads the rest of the stream from the lazy part of task %d", (int)pid,
			 ctx->procs[l->stop_proc].tt->pid);
	else
		log_info("lazy restart: filler %d serves %zu extents (%llu MiB)", (int)pid, l->next,
			 (unsigned long long)(l->bytes >> 20));
	return 0;
}

int lazy_restore_take(struct restore_ctx *ctx, int **ret_fds, size_t *ret_n, uint64_t *ret_bytes)
{
	struct lazy_restore *l = ctx->lazy;
	int *fds;
	size_t n = 0;

	*ret_fds = NULL;
	*ret_n = 0;
	*ret_bytes = 0;
	if (!l || l->report_fd < 0)
		return 0;
	fds = calloc(l->nprocs + 2, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	fds[n++] = TAKE_FD(l->report_fd);
	fds[n++] = TAKE_FD(l->filler_pidfd);
	for (size_t i = 0; i < l->nprocs; i++)
		if (l->procs[i].uffd >= 0)
			fds[n++] = TAKE_FD(l->procs[i].uffd);
	l->filler = -1;   /* ckptd's now */
	*ret_fds = fds;
	*ret_n = n;
	*ret_bytes = l->bytes;
	return 0;
}

void lazy_restore_free(struct restore_ctx *ctx, bool ok)
{
	struct lazy_restore *l = ctx->lazy;

	if (!l)
		return;
	if (!ok && l->filler_pidfd >= 0)
		syscall(SYS_pidfd_send_signal, l->filler_pidfd, SIGKILL, NULL, 0);
	else if (!ok && l->filler > 0)
		kill(l->filler, SIGKILL);   /* no pidfd: it is our unreaped child, its pid is its own */
	if (!ok && l->filler > 0)
		waitpid(l->filler, NULL, 0);
	close_fd(&l->filler_pidfd);
	close_fd(&l->report_fd);
	for (size_t i = 0; i < l->nprocs; i++) {
		close_fd(&l->procs[i].uffd);
		free(l->procs[i].ranges);
		free(l->procs[i].v);
		free(l->procs[i].inherited);
		free(l->procs[i].rseq);
	}
	free(l->procs);
	free(l->ext_pages);
	free(l->bases);
	free(l->pids);
	if (l->lz)
		image_lazy_free(l->lz);
	free(l);
	ctx->lazy = NULL;
}
