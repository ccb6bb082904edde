// SPDX-License-Identifier: GPL-2.0-or-later
/* Saving an address space: which VMAs, what kind, which pages. */
#include "dump.h"
#include "lazy_rule.h"
#include "incr.h"
#include "ipc.h"
#include "fault.h"
#include "hash.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "snapshot.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#define PM_PRESENT (1ull << 63)
#define PM_SWAP (1ull << 62)
#define PM_FILE (1ull << 61)
#define PM_EXCL (1ull << 56)   /* mapped by this process alone */
#define PM_CHUNK (PAGEBUF_LEN / PAGE_SZ)   /* pagemap entries per read: a run never outgrows pagebuf */

static bool path_is(const struct proc_vma *v, const char *name)
{
	return v->path && streq(v->path, name);
}

static uint32_t vma_madv(uint64_t f)
{
	return (f & VMF_DC ? MADV_BIT_DONTFORK : 0) | (f & VMF_DD ? MADV_BIT_DONTDUMP : 0) |
	       (f & VMF_WF ? MADV_BIT_WIPEONFORK : 0) | (f & VMF_HG ? MADV_BIT_HUGEPAGE : 0) |
	       (f & VMF_NH ? MADV_BIT_NOHUGEPAGE : 0) | (f & VMF_MG ? MADV_BIT_MERGEABLE : 0) |
	       (f & VMF_SR ? MADV_BIT_SEQUENTIAL : 0) | (f & VMF_RR ? MADV_BIT_RANDOM : 0);
}

/* VmFlags and what restore does with each:
 *   rd wr ex sh: prot and MAP_SHARED, mapped as saved
 *   mr mw me ms: what the mapping may become: follow from prot, sharing and
 *      the file's open mode (file_rdwr)
 *   gd: MAP_GROWSDOWN;  dp: MAP_DROPPABLE (it brings wf dd nr along)
 *   sr rr dc dd wf hg nh mg: madvise advice, reapplied (vma_madv)
 *   ac nr: overcommit accounting, which the kernel derives again
 *   de sd ht: set by the kernel for special or hugetlb mappings, soft-dirty
 *      tracking; the same on a new mapping of the same kind
 *   pf io mm ar: device memory: only the kernel's own [vdso]/[vvar]
 *   lo lf: mlock (lf: MLOCK_ONFAULT), locked again after the pages are in
 *   um uw ui, sl, ss, sf: refused below
 *   bt mt: arm64 only
 * Anything else is a flag this code does not know (VMF_OTHER): refused,
 * so that a new kernel's flag is never dropped silently. */
static const char *vma_unsupported_flags(const struct proc_vma *v, bool special)
{
	if (v->vmflags & VMF_OTHER)
		return "VmFlags that ckptd does not know (a newer kernel's flag)";
	if ((v->vmflags & (VMF_LO | VMF_LF)) && special)
		return "locked (mlock) kernel mapping";
	if (v->vmflags & (VMF_UM | VMF_UW))
		return "userfaultfd-registered memory";
	if (v->vmflags & VMF_SL)
		return "sealed (mseal) memory";
	if (v->vmflags & VMF_SS)
		return "a shadow stack";
	if (v->vmflags & VMF_SF)
		return "a synchronous (MAP_SYNC) DAX mapping";
	if (v->vmflags & (VMF_BT | VMF_MT))
		return "VmFlags of another architecture";
	if (!special && (v->vmflags & (VMF_IO | VMF_PF | VMF_MM | VMF_AR)))
		return "a device (I/O, PFN or mixed) mapping";
	if ((v->vmflags & VMF_DP) && (v->shared || v->path))
		return "droppable memory that is not anonymous";
	return NULL;
}

/* Fill kind and file facts; returns NULL or why the VMA is refused. */
/* A SysV segment attached (its inode number is the shmid): restart
 * attaches it again with shmat(), which maps it whole. */
static const char *vma_sysv_shm(const struct ns_ipc *ipc, const struct proc_vma *v, Ckpt__Img__Vma *e)
{
	const struct ipc_shm *s = ipc_find_shm(ipc, (int)v->ino);

	if (!s || v->ino > INT32_MAX)
		return "a SysV shared memory segment of another IPC namespace";
	if (v->pgoff != 0 || v->end - v->start != ALIGN_UP(s->size, PAGE_SZ))
		return "a part of a SysV shared memory segment (partly detached or split): only whole attaches are restored";
	if (v->vmflags & VMF_GD)
		return "a growing SysV shared memory attach";
	e->kind = CKPT__IMG__VMA_KIND__VMA_SYSV_SHM;
	e->has_shm_id = e->has_pgoff = true;
	e->shm_id = s->id;
	e->pgoff = 0;
	e->has_file_rdwr = true;
	e->file_rdwr = !!(v->vmflags & VMF_MW);
	return vma_unsupported_flags(v, false);
}

static bool on_shm_mount(const struct proc_vma *v)
{
	dev_t d = shm_internal_dev();

	return d && v->path && v->dev_major == major(d) && v->dev_minor == minor(d);
}

/* A mapping of the shm mount: its name is the kernel's, and says which
 * object it is (shmem_zero_setup, memfd_create, shmget). */
static const char *vma_shm_kind(const struct ns_ipc *ipc, const struct proc_vma *v, Ckpt__Img__Vma *e)
{
	const char *p = v->path;

	if (v->shared && streq(p, "/dev/zero (deleted)")) {
		e->kind = CKPT__IMG__VMA_KIND__VMA_SHARED_ANON;
	} else if (strncmp(p, "/SYSV", 5) == 0) {
		if (!v->shared)
			return "a private mapping of a SysV shared memory segment";
		return vma_sysv_shm(ipc, v, e);
	} else if (strncmp(p, "/memfd:", 7) == 0 && strstr(p, " (deleted)")) {
		e->kind = CKPT__IMG__VMA_KIND__VMA_MEMFD;
	} else {
		return "shared memory of a kind not supported";
	}
	e->has_pgoff = true;
	e->pgoff = v->pgoff;
	return NULL;
}

static const char *vma_classify(const struct ns_ipc *ipc, pid_t pid, const struct proc_vma *v, Ckpt__Img__Vma *e,
				struct stat *st)
{
	const char *p = v->path;
	char buf[PATH_MAX + 64];

	if (path_is(v, "[vdso]"))
		e->kind = CKPT__IMG__VMA_KIND__VMA_VDSO;
	else if (path_is(v, "[vvar]"))
		e->kind = CKPT__IMG__VMA_KIND__VMA_VVAR;
	else if (path_is(v, "[vvar_vclock]"))
		e->kind = CKPT__IMG__VMA_KIND__VMA_VVAR_VCLOCK;
	else if (!p || path_is(v, "[heap]") || path_is(v, "[stack]") || strncmp(p, "[anon:", 6) == 0) {
		if (v->shared)
			return "shared anonymous memory without a file";
		e->kind = CKPT__IMG__VMA_KIND__VMA_ANON;
	} else if (p[0] == '[') {
		return "a special kernel mapping";
	} else if (on_shm_mount(v)) {
		const char *why = vma_shm_kind(ipc, v, e);

		if (why)
			return why;
	} else if (strstr(p, " (deleted)") && !ghost_link(p)) {
		return "its file was deleted";
	} else if (strstr(p, " (deleted)")) {
		/* a ghost file: mapped, like a memfd, from the file restart makes */
		e->kind = CKPT__IMG__VMA_KIND__VMA_MEMFD;
		e->has_pgoff = true;
		e->pgoff = v->pgoff;
	} else {
		if (!cr_task_path(pid, p, buf, sizeof(buf)) || stat(buf, st) < 0)
			return "its file can't be found by its path";
		if (!S_ISREG(st->st_mode))
			return "not a regular file (device mapping)";
		if (st->st_ino != v->ino || (unsigned)major(st->st_dev) != v->dev_major || (unsigned)minor(st->st_dev) != v->dev_minor)
			return "its path now names another file";
		e->kind = v->shared ? CKPT__IMG__VMA_KIND__VMA_FILE_SHARED : CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE;
		e->path = (char *)p;
		e->has_pgoff = true;
		e->pgoff = v->pgoff;
		e->has_file_size = true;
		e->file_size = st->st_size;
		/* Private mappings are code and data the program loaded: any
		 * change means a different program. Shared ones change as the
		 * program (or anyone) writes them; the size must still match. */
		e->has_file_mtime_ns = !v->shared;
		e->file_mtime_ns = st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;
		if (v->shared) {
			e->has_file_rdwr = true;
			e->file_rdwr = !!(v->vmflags & VMF_MW);
		}
	}
	if (p && strncmp(p, "[anon:", 6) == 0) {
		size_t n = strlen(p);
		if (n > 7 && p[n - 1] == ']')
			e->anon_name = strndup(p + 6, n - 7);
	}
	return vma_unsupported_flags(v, e->kind >= CKPT__IMG__VMA_KIND__VMA_VDSO);
}

/* Pages this process's image holds (shared memory's come with its object). */
static bool want_page(const Ckpt__Img__Vma *v, uint64_t pme)
{
	switch (v->kind) {
	case CKPT__IMG__VMA_KIND__VMA_ANON:
		return pme & (PM_PRESENT | PM_SWAP);
	case CKPT__IMG__VMA_KIND__VMA_MEMFD:
		if (v->flags & MAP_SHARED)
			return false;
		/* a private mapping of a memfd: like a file's */
		__attribute__((fallthrough));
	case CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE:
		/* Only copies made by writes: the rest comes from the file. */
		return (pme & PM_SWAP) || ((pme & PM_PRESENT) && !(pme & PM_FILE));
	default:
		return false;
	}
}

#define PM_PFN(x) ((x) & ((1ull << 55) - 1))

/* An inherited page is still the one the parent has (the same frame, not
 * yet copied by a write): the parent's restored copy will be inherited. */
static bool same_frame(uint64_t a, uint64_t b)
{
	return (a & PM_PRESENT) && (b & PM_PRESENT) && PM_PFN(a) && PM_PFN(a) == PM_PFN(b);
}

/* len bytes at addr of /proc/PID/mem open as fd (not pinned: rtask_read). */
static int mem_pread(int fd, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(addr + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int put_pages(struct dump_ctx *ctx, uint64_t addr, uint64_t nr, const void *buf, bool ref);
static int write_parent_ref(struct dump_ctx *ctx, uint64_t addr, uint64_t nr);

/* The same with process_vm_readv: one copy instead of two, pages taken in
 * batches rather than one by one. It pins what it reads, and pinning an
 * anonymous page shared copy-on-write unshares it: only for pages the
 * process alone maps (PM_EXCL). What it can't read (protections) goes
 * through /proc/PID/mem. */
static int vm_pread(pid_t pid, int fd, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct iovec l = { (char *)buf + done, len - done };
		struct iovec rem = { (void *)(uintptr_t)(addr + done), len - done };
		ssize_t n = process_vm_readv(pid, &l, 1, &rem, 1, 0);

		if (n <= 0)
			return mem_pread(fd, addr + done, (char *)buf + done, len - done);
		done += (size_t)n;
	}
	return 0;
}

/* mem_fd: p's /proc/PID/mem, opened once for all its runs (-1 under a
 * background copy, which reads its own way); excl: every page of the run
 * is present and p's alone. */
static int write_run(struct dump_ctx *ctx, const struct dump_proc *p, int mem_fd, uint64_t addr, uint64_t nr, bool excl)
{
	size_t len = nr * PAGE_SZ;
	void *buf = ctx->pagering[ctx->pagering_next];
	pid_t pid = p->pid;
	int r;

	/* the other buffer: the MAC thread may still read this one's last run */
	ctx->pagering_next ^= 1;
	if (snapshot_active(ctx))
		r = snapshot_read(ctx, p, addr, nr, buf);
	else if (excl)
		r = vm_pread(pid, mem_fd, addr, buf, len);
	else
		r = mem_pread(mem_fd, addr, buf, len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading pages at %#lx+%zu", pid, (unsigned long)addr, len);
	return put_pages(ctx, addr, nr, buf, true);
}

/* The written runs of a tracked mapping (incr.h) from *k on, as many as
 * the page buffer holds, read in one process_vm_readv (at 1% of the pages
 * written a run is a page or two, and a read per run costs more than the
 * copy); then the records of every run up to there, in order. */
#define INCR_IOV 1024

/* p forked in the tree, or forked a child there: its anonymous pages may be
 * shared copy-on-write, and process_vm_readv pins them, which unshares a
 * shared page (the checkpoint would change the memory the tree uses). */
static bool shares_cow(const struct dump_ctx *ctx, const struct dump_proc *p)
{
	if (p->parent >= 0)
		return true;
	for (size_t i = 0; i < ctx->nprocs; i++)
		if (ctx->procs[i].parent == p - ctx->procs)
			return true;
	return false;
}

static int write_incr_batch(struct dump_ctx *ctx, const struct dump_proc *p, int mem_fd, const struct incr_runs *runs,
			    size_t *k)
{
	static struct iovec local[INCR_IOV], remote[INCR_IOV];
	size_t n = 0, used = 0, end, i, off = 0;
	ssize_t got;
	int r = 0;

	for (end = *k; end < runs->n; end++) {
		uint64_t len = runs->v[end].end - runs->v[end].start;

		if (runs->v[end].action != INCR_WRITE)
			continue;
		if (n == INCR_IOV || used + len > PAGEBUF_LEN)
			break;
		local[n] = (struct iovec){ (char *)ctx->pagebuf + used, len };
		remote[n++] = (struct iovec){ (void *)(uintptr_t)runs->v[end].start, len };
		used += len;
	}
	got = n && !shares_cow(ctx, p) ? process_vm_readv(p->pid, local, n, remote, n, 0) : 0;
	/* what it did not read (no PROT_READ, or pages maybe shared:
	 * /proc/PID/mem reads it all the same, without pinning) */
	for (i = 0; i < n && r >= 0; off += local[i++].iov_len) {
		size_t from = got > (ssize_t)off ? MIN((size_t)got - off, local[i].iov_len) : 0;

		if (from < local[i].iov_len)
			r = mem_pread(mem_fd, (uintptr_t)remote[i].iov_base + from, (char *)local[i].iov_base + from,
				      local[i].iov_len - from);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading pages at %#lx+%zu", p->pid,
				       (unsigned long)(uintptr_t)remote[i].iov_base, local[i].iov_len);
	}
	for (off = 0; *k < end && r >= 0; (*k)++) {
		const struct incr_run_out *o = &runs->v[*k];
		uint64_t nr = (o->end - o->start) / PAGE_SZ;

		if (o->action == INCR_WRITE) {
			r = put_pages(ctx, o->start, nr, (char *)ctx->pagebuf + off, false);
			off += nr * PAGE_SZ;
		} else {
			r = write_parent_ref(ctx, o->start, nr);
		}
	}
	return r;
}

/* One run's records: its place, then its pages from buf (ref: read in
 * place by the MAC thread, so buf is one of the two page buffers used in
 * turn, image_write_record_ref). */
static int put_pages(struct dump_ctx *ctx, uint64_t addr, uint64_t nr, const void *buf, bool ref)
{
	Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;
	size_t len = nr * PAGE_SZ;
	int r;

	pm.vaddr = addr;
	pm.nr_pages = nr;
	r = image_write_msg(&ctx->w, IMG_PAGEMAP, &pm.base);
	if (r >= 0)
		r = ref ? image_write_record_ref(&ctx->w, IMG_PAGES, buf, len) : image_write_record(&ctx->w, IMG_PAGES, buf, len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image");
	ctx->pages += nr;
	return fault_inject(ctx->err, "ckpt-pages");
}

static int write_drop(struct dump_ctx *ctx, uint64_t addr, uint64_t nr)
{
	Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;
	int r;

	pm.vaddr = addr;
	pm.nr_pages = nr;
	r = image_write_msg(&ctx->w, IMG_DROP, &pm.base);
	return r < 0 ? cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image") : 0;
}

/* What to do with one page: 1 write it, -1 drop it (the parent has one
 * the child has not), 0 nothing. ppme is NULL unless inherited. */
static int page_action(const Ckpt__Img__Vma *v, uint64_t pme, const uint64_t *ppme)
{
	bool mine = want_page(v, pme);

	if (!ppme)
		return mine;
	if (mine)
		return same_frame(pme, *ppme) ? 0 : 1;
	return want_page(v, *ppme) ? -1 : 0;
}

/* Pages an incremental image leaves to its parent (incr.h). */
static int write_parent_ref(struct dump_ctx *ctx, uint64_t addr, uint64_t nr)
{
	Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;
	int r;

	pm.vaddr = addr;
	pm.nr_pages = nr;
	r = image_write_msg(&ctx->w, IMG_PARENT_REF, &pm.base);
	return r < 0 ? cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image") : 0;
}

/* action: 1 write, 2 the parent has them, -1 drop, 0 nothing */
static int flush_run(struct dump_ctx *ctx, const struct dump_proc *p, int mem_fd, int action, uint64_t addr,
		     uint64_t nr, bool excl)
{
	if (!nr || !action)
		return 0;
	if (action == 2)
		return write_parent_ref(ctx, addr, nr);
	return action > 0 ? write_run(ctx, p, mem_fd, addr, nr, excl) : write_drop(ctx, addr, nr);
}

/* n pagemap entries of fd (or of a background copy's freeze: snapshot.h)
 * from addr. */
static const uint64_t *read_pagemap(struct dump_ctx *ctx, const struct dump_proc *p, int fd, uint64_t addr, size_t n,
				    uint64_t *buf)
{
	ssize_t got;

	if (snapshot_active(ctx)) {
		const uint64_t *pme = snapshot_pagemap(ctx, p, addr, addr + n * PAGE_SZ);

		if (!pme)
			cr_fail(ctx->err, CR_ERR_INTERNAL, 0, "task %d: no pagemap kept at the freeze for %#lx", p->pid,
				(unsigned long)addr);
		return pme;
	}
	got = pread(fd, buf, n * 8, (addr / PAGE_SZ) * 8);
	if (got == (ssize_t)(n * 8))
		return buf;
	cr_fail(ctx->err, CR_ERR_KERNEL, got < 0 ? errno : EIO, "task %d: reading pagemap", p->pid);
	return NULL;
}

/* pp: the parent, for an inherited mapping (else NULL), and ppm_fd its
 * pagemap (-1 under a background copy, which kept the pagemaps). */
static int dump_vma_pages(struct dump_ctx *ctx, const struct dump_proc *p, int pm_fd, int mem_fd,
			  const struct dump_proc *pp, int ppm_fd, const Ckpt__Img__Vma *v)
{
	static uint64_t pmebuf[PM_CHUNK], ppmebuf[PM_CHUNK];
	struct incr_runs runs;
	uint64_t addr = v->start;
	int r;

	if (v->kind != CKPT__IMG__VMA_KIND__VMA_ANON && v->kind != CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE &&
	    !(v->kind == CKPT__IMG__VMA_KIND__VMA_MEMFD && !(v->flags & MAP_SHARED)))
		return 0;   /* no page of it is this process's own (want_page) */
	r = incr_vma_runs(ctx, p, v, &runs);
	if (r < 0)
		return r;
	if (r > 0) {
		/* tracked since the parent image: the kernel's runs, nothing per page */
		for (size_t k = 0; k < runs.n && r >= 0;) {
			if (!snapshot_active(ctx)) {
				r = write_incr_batch(ctx, p, mem_fd, &runs, &k);
				continue;
			}
			r = flush_run(ctx, p, mem_fd, runs.v[k].action, runs.v[k].start,
				      (runs.v[k].end - runs.v[k].start) / PAGE_SZ, false);
			k++;
		}
		free(runs.v);
		if (r >= 0 && ctx->req->progress)
			ctx->req->progress(ctx->req->progress_arg, "memory", ctx->pages, 0);
		return r < 0 ? r : 0;
	}

	while (addr < v->end) {
		size_t n = MIN((v->end - addr) / PAGE_SZ, (uint64_t)PM_CHUNK), i, run = 0;
		const uint64_t *pme = read_pagemap(ctx, p, pm_fd, addr, n, pmebuf), *ppme = NULL;
		int act = 0, a;
		bool excl = true;

		if (pme && pp && !(ppme = read_pagemap(ctx, pp, ppm_fd, addr, n, ppmebuf)))
			pme = NULL;
		if (!pme)
			return -EIO;
		for (i = 0; i <= n; i++) {
			a = i < n ? page_action(v, pme[i], ppme ? &ppme[i] : NULL) : 0;
			if (a == act && i < n) {
				run++;
				excl = excl && (pme[i] & (PM_PRESENT | PM_EXCL)) == (PM_PRESENT | PM_EXCL);
				continue;
			}
			r = flush_run(ctx, p, mem_fd, act, addr + (i - run) * PAGE_SZ, run, excl);
			if (r < 0)
				return r;
			act = a;
			run = 1;
			excl = i < n && (pme[i] & (PM_PRESENT | PM_EXCL)) == (PM_PRESENT | PM_EXCL);
		}
		/* past these pages, the program may write them freely */
		if (snapshot_active(ctx) && snapshot_pagemap(ctx, p, addr, addr + n * PAGE_SZ))
			snapshot_done(ctx, p, addr, n);
		addr += n * PAGE_SZ;
		if (ctx->req->progress)
			ctx->req->progress(ctx->req->progress_arg, "memory", ctx->pages, 0);
	}
	return 0;
}

static void fill_vma(Ckpt__Img__Vma *e, const struct proc_vma *v)
{
	e->start = v->start;
	e->end = v->end;
	e->prot = v->prot;
	e->flags = (v->shared ? MAP_SHARED : MAP_PRIVATE) | (v->vmflags & VMF_GD ? MAP_GROWSDOWN : 0);
	e->has_madv = true;
	e->madv = vma_madv(v->vmflags);
	e->has_droppable = e->droppable = !!(v->vmflags & VMF_DP);
	e->has_locked = e->locked = !!(v->vmflags & VMF_LO);
	e->has_lock_onfault = e->lock_onfault = !!(v->vmflags & VMF_LF);
}

static bool is_shm_kind(Ckpt__Img__VmaKind k)
{
	return k == CKPT__IMG__VMA_KIND__VMA_SHARED_ANON || k == CKPT__IMG__VMA_KIND__VMA_MEMFD;
}

/* The object behind a shared anonymous or memfd mapping, written once. */
static int vma_shm(struct dump_ctx *ctx, pid_t pid, const struct proc_vma *v, Ckpt__Img__Vma *e)
{
	char path[96], name[256];
	bool memfd = e->kind == CKPT__IMG__VMA_KIND__VMA_MEMFD && on_shm_mount(v);
	size_t n;

	name[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start, (unsigned long)v->end);
	if (e->kind == CKPT__IMG__VMA_KIND__VMA_MEMFD && !memfd) {
		struct stat st;
		char obj[160];

		/* restart maps it from a file of the saved size */
		if (stat(path, &st) < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: %s", pid, path);
		if (v->pgoff > (uint64_t)ALIGN_UP(st.st_size, (off_t)PAGE_SZ) ||
		    v->end - v->start > ALIGN_UP(st.st_size, (off_t)PAGE_SZ) - v->pgoff)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: mapping %#lx-%#lx %s: it reaches past the end "
				       "of the deleted file (%lld bytes): not supported", pid, (unsigned long)v->start,
				       (unsigned long)v->end, v->path, (long long)st.st_size);
		snprintf(obj, sizeof(obj), "mapping %#lx-%#lx (%.80s)", (unsigned long)v->start, (unsigned long)v->end, v->path);
		e->has_shm_id = true;
		return ghost_dump(ctx, pid, path, v->path, obj, &e->shm_id);
	}
	if (memfd) {   /* "/memfd:NAME (deleted)" */
		n = strlen(v->path) - 7 - 10;
		if (n >= sizeof(name))
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: memfd name too long", pid);
		memcpy(name, v->path + 7, n);
		name[n] = 0;
	}
	e->has_shm_id = true;
	return shm_dump(ctx, path, memfd, name, &e->shm_id);
}

/* Same start, end, kind, file and offset as a mapping of the parent: the
 * child has it by fork (or may take it so: the pages settle the rest). */
static bool inherited(const struct dump_proc *pp, const struct proc_vma *v)
{
	size_t i;

	for (i = 0; pp && i < pp->nvmas; i++) {
		const struct proc_vma *w = &pp->vmas[i];

		if (w->start != v->start)
			continue;
		return w->end == v->end && w->pgoff == v->pgoff && w->shared == v->shared && w->ino == v->ino &&
		       w->dev_major == v->dev_major && w->dev_minor == v->dev_minor &&
		       ((w->vmflags ^ v->vmflags) & (VMF_GD | VMF_DP)) == 0 &&
		       (w->path == v->path || (w->path && v->path && streq(w->path, v->path)));
	}
	return false;
}

/* Build the VMA list (and write the shared objects) from p->vmas. */
static int build_vmas(struct dump_ctx *ctx, struct dump_proc *p, Ckpt__Img__Vma *ents, Ckpt__Img__Vma **ptrs, size_t *ret_n)
{
	const struct dump_proc *pp = p->parent >= 0 ? &ctx->procs[p->parent] : NULL;
	size_t i, n = 0;
	int r;

	const Ckpt__Img__Vma *probed = NULL;   /* a library's mappings come in a row: probed once */

	for (i = 0; i < p->nvmas; i++) {
		const struct proc_vma *v = &p->vmas[i];
		Ckpt__Img__Vma *e = &ents[n];
		struct proc_vma vv;
		const char *why;
		struct stat st;
		char obj[PATH_MAX + 64];

		if (path_is(v, "[vsyscall]"))
			continue;   /* fixed by the kernel, the same in every process */
		ckpt__img__vma__init(e);
		ptrs[n++] = e;
		*ret_n = n;
		fill_vma(e, v);
		/* ckptd's own write tracking (incr.h), which no task holds */
		vv = *v;
		if (ctx->req->incr_tracked && !(vv.vmflags & VMF_UM))
			vv.vmflags &= ~VMF_UW;
		why = vma_classify(ctx->ipc, p->pid, &vv, e, &st);
		if (why)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: mapping %#lx-%#lx %s: %s", p->pid,
				       (unsigned long)v->start, (unsigned long)v->end, v->path ? v->path : "[anon]", why);
		if (is_shm_kind(e->kind) && (r = vma_shm(ctx, p->pid, v, e)) < 0)
			return r;
		/* restart opens it as the owner, in the container's root (mm_restore.c) */
		if ((e->kind == CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE || e->kind == CKPT__IMG__VMA_KIND__VMA_FILE_SHARED) &&
		    !(probed && streq(probed->path, e->path) && probed->file_rdwr == e->file_rdwr)) {
			snprintf(obj, sizeof(obj), "mapping %#lx-%#lx %s", (unsigned long)v->start, (unsigned long)v->end, e->path);
			r = files_probe_mapped(ctx, p->pid, e->path, e->file_rdwr ? O_RDWR : O_RDONLY, &st, obj);
			if (r < 0)
				return r;
			probed = e;
		}
		if (e->kind < CKPT__IMG__VMA_KIND__VMA_VDSO || e->kind == CKPT__IMG__VMA_KIND__VMA_MEMFD ||
		    e->kind == CKPT__IMG__VMA_KIND__VMA_SYSV_SHM) {
			e->has_inherit = true;
			e->inherit = inherited(pp, v);
		}
	}
	return 0;
}

/* Read and classify the mappings now: refusals come before any task is
 * written, and the shared memory objects go out with the other shared
 * objects. The entries are kept for the MM record. */
int mm_collect(struct dump_ctx *ctx, struct dump_proc *p)
{
	int r;

	r = proc_vmas_pid(p->pid, true, &p->vmas, &p->nvmas);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading smaps", p->pid);
	p->vma_ents = calloc(p->nvmas + 1, sizeof(*p->vma_ents));
	p->vma_ptrs = calloc(p->nvmas + 1, sizeof(*p->vma_ptrs));
	if (!p->vma_ents || !p->vma_ptrs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: vma table", p->pid);
	return build_vmas(ctx, p, p->vma_ents, p->vma_ptrs, &p->nvma_ents);
}

static int open_pagemap(struct dump_ctx *ctx, pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: opening pagemap", pid) : fd;
}

/* The MM record, and a segment for its pages where they belong. */
int mm_dump(struct dump_ctx *ctx, struct dump_proc *p)
{
	Ckpt__Img__Mm mm = CKPT__IMG__MM__INIT;
	int r;

	mm.vmas = p->vma_ptrs;
	mm.n_vmas = p->nvma_ents;
	r = dump_write_msg(ctx, p->pid, IMG_MM, &mm.base);
	return r < 0 ? r : dump_task_pages_later(ctx, p);
}

/* Whether a lazy restart may leave v's pages to its filler (lazy_rule.h),
 * with what only the whole tree tells: a child that inherits v. */
static bool lazy_last(const struct dump_ctx *ctx, const struct dump_proc *p, const Ckpt__Img__Vma *v)
{
	struct lazy_facts f = { .rseq = p->rseq, .nrseq = p->nrseq, .mlockall = p->mlockall };

	if (!lazy_rule_vma(v, &f))      /* the children need not be walked */
		return false;
	for (size_t c = 0; c < ctx->nprocs && !f.child_inherits; c++) {
		const struct dump_proc *ch = &ctx->procs[c];

		if (ch->parent < 0 || &ctx->procs[ch->parent] != p || ch->zombie)
			continue;
		for (size_t k = 0; k < ch->nvma_ents; k++)
			if (ch->vma_ptrs[k]->has_inherit && ch->vma_ptrs[k]->inherit && ch->vma_ptrs[k]->start >= v->start &&
			    ch->vma_ptrs[k]->start < v->end)
				f.child_inherits = true;
	}
	return lazy_rule_vma(v, &f);
}

bool mm_dump_has_lazy(const struct dump_ctx *ctx, const struct dump_proc *p)
{
	for (size_t i = 0; i < p->nvma_ents; i++)
		if (lazy_last(ctx, p, p->vma_ptrs[i]))
			return true;
	return false;
}

int mm_dump_pages(struct dump_ctx *ctx, struct dump_proc *p, bool lazy)
{
	_cleanup_close_ int pm_fd = -1, ppm_fd = -1, mem_fd = -1;
	Ckpt__Img__Vma **v = p->vma_ptrs;
	char path[64];
	size_t i;
	int r = 0;

	/* A background copy kept the pagemaps of the freeze and reads the
	 * memory its own way: the process may have exited since. */
	if (!snapshot_active(ctx)) {
		r = pm_fd = open_pagemap(ctx, p->pid);
		snprintf(path, sizeof(path), "/proc/%d/mem", p->pid);
		if (r >= 0 && (mem_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: opening its memory", p->pid);
	}
	if (r >= 0 && p->parent >= 0 && !snapshot_active(ctx))
		r = ppm_fd = open_pagemap(ctx, ctx->procs[p->parent].pid);
	/* what a lazy restart must fill before the tasks run (the task's
	 * segment), or what it can leave to its filler (the task's lazy part,
	 * after every segment: image.h) */
	for (i = 0; i < p->nvma_ents && r >= 0; i++)
		if (lazy_last(ctx, p, v[i]) == lazy)
			r = dump_vma_pages(ctx, p, pm_fd, mem_fd,
					   p->parent >= 0 && v[i]->has_inherit && v[i]->inherit ?
					   &ctx->procs[p->parent] : NULL, ppm_fd, v[i]);
	return r < 0 ? r : 0;
}

int mm_dump_vdso_info(struct dump_ctx *ctx, pid_t pid)
{
	struct proc_vma *vmas;
	size_t n, i;
	int r;

	r = proc_vmas_pid(pid, false, &vmas, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading maps", pid);
	for (i = 0; i < n && r >= 0; i++) {
		uint64_t len = vmas[i].end - vmas[i].start;

		if (path_is(&vmas[i], "[vvar]"))
			ctx->vvar_size = len;
		else if (path_is(&vmas[i], "[vvar_vclock]"))
			ctx->vvar_vclock_size = len;
		else if (path_is(&vmas[i], "[vdso]") && len <= PAGEBUF_LEN) {
			ctx->vdso_size = len;
			r = rtask_read(pid, vmas[i].start, ctx->pagebuf, len);
			if (r < 0)
				r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading [vdso]", pid);
			else
				ctx->vdso_hash = ckpt_hash64(ctx->pagebuf, len, 0);
		}
	}
	proc_vmas_free(vmas, n);
	return r < 0 ? r : 0;
}
