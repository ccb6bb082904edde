/* Saving an address space: which VMAs, what kind, which pages. */
#include "dump.h"
#include "fault.h"
#include "hash.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define PM_PRESENT (1ull << 63)
#define PM_SWAP (1ull << 62)
#define PM_FILE (1ull << 61)
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

/* VmFlags we can't reproduce: refuse rather than restore something else. */
static const char *vma_unsupported_flags(const struct proc_vma *v, bool special)
{
	if (v->vmflags & VMF_LO)
		return "locked (mlock) memory";
	if (v->vmflags & (VMF_UM | VMF_UW))
		return "userfaultfd-registered memory";
	if (v->vmflags & VMF_SL)
		return "sealed (mseal) memory";
	if (v->vmflags & VMF_SS)
		return "a shadow stack";
	if (!special && (v->vmflags & (VMF_IO | VMF_PF)))
		return "a device (I/O or PFN) mapping";
	return NULL;
}

/* Fill kind and file facts; returns NULL or why the VMA is refused. */
static const char *vma_classify(pid_t pid, const struct proc_vma *v, Ckpt__Img__Vma *e, struct stat *st)
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
	} else if (v->shared && streq(p, "/dev/zero (deleted)")) {
		e->kind = CKPT__IMG__VMA_KIND__VMA_SHARED_ANON;
	} else if (p[0] == '[') {
		return "a special kernel mapping";
	} else if (strncmp(p, "/memfd:", 7) == 0) {
		return "memfd mappings are not supported yet";
	} else if (strstr(p, " (deleted)")) {
		return "its file was deleted";
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

static bool want_page(Ckpt__Img__VmaKind kind, uint64_t pme)
{
	switch (kind) {
	case CKPT__IMG__VMA_KIND__VMA_ANON:
	case CKPT__IMG__VMA_KIND__VMA_SHARED_ANON:
		return pme & (PM_PRESENT | PM_SWAP);
	case CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE:
		/* Only copies made by writes: the rest comes from the file. */
		return (pme & PM_SWAP) || ((pme & PM_PRESENT) && !(pme & PM_FILE));
	default:
		return false;
	}
}

static int write_run(struct dump_ctx *ctx, pid_t pid, uint64_t addr, uint64_t nr)
{
	Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;
	size_t len = nr * PAGE_SZ;
	int r;

	r = rtask_read(pid, addr, ctx->pagebuf, len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading pages at %#lx+%zu", pid, (unsigned long)addr, len);
	pm.vaddr = addr;
	pm.nr_pages = nr;
	r = image_write_msg(&ctx->w, IMG_PAGEMAP, &pm.base);
	if (r >= 0)
		r = image_write_record(&ctx->w, IMG_PAGES, ctx->pagebuf, len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image");
	ctx->pages += nr;
	return fault_inject(ctx->err, "ckpt-pages");
}

static int dump_vma_pages(struct dump_ctx *ctx, pid_t pid, int pm_fd, const Ckpt__Img__Vma *v)
{
	static uint64_t pme[PM_CHUNK];
	uint64_t addr = v->start;

	while (addr < v->end) {
		size_t n = MIN((v->end - addr) / PAGE_SZ, (uint64_t)PM_CHUNK), i, run = 0;
		ssize_t got = pread(pm_fd, pme, n * 8, (addr / PAGE_SZ) * 8);

		if (got != (ssize_t)(n * 8))
			return cr_fail(ctx->err, CR_ERR_KERNEL, got < 0 ? errno : EIO, "task %d: reading pagemap", pid);
		for (i = 0; i <= n; i++) {
			if (i < n && want_page(v->kind, pme[i])) {
				run++;
				continue;
			}
			if (run) {
				int r = write_run(ctx, pid, addr + (i - run) * PAGE_SZ, run);
				if (r < 0)
					return r;
				run = 0;
			}
		}
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
}

int mm_dump(struct dump_ctx *ctx, pid_t pid)
{
	Ckpt__Img__Mm mm = CKPT__IMG__MM__INIT;
	_cleanup_free_ Ckpt__Img__Vma *ents = NULL;
	_cleanup_free_ Ckpt__Img__Vma **ptrs = NULL;
	_cleanup_close_ int pm_fd = -1;
	struct proc_vma *vmas = NULL;
	char path[64];
	size_t n = 0, i;
	int r;

	r = proc_vmas_pid(pid, true, &vmas, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading smaps", pid);
	ents = calloc(n ? n : 1, sizeof(*ents));
	ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	if (!ents || !ptrs) {
		r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: vma table", pid);
		goto out;
	}
	for (i = 0; i < n; i++) {
		Ckpt__Img__Vma *e = &ents[mm.n_vmas];
		const char *why;
		struct stat st;

		if (path_is(&vmas[i], "[vsyscall]"))
			continue;   /* fixed by the kernel, the same in every process */
		ckpt__img__vma__init(e);
		fill_vma(e, &vmas[i]);
		why = vma_classify(pid, &vmas[i], e, &st);
		if (why) {
			r = cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: mapping %#lx-%#lx %s: %s", pid,
				    (unsigned long)vmas[i].start, (unsigned long)vmas[i].end,
				    vmas[i].path ? vmas[i].path : "[anon]", why);
			goto out;
		}
		ptrs[mm.n_vmas++] = e;
	}
	mm.vmas = ptrs;
	r = image_write_msg(&ctx->w, IMG_MM, &mm.base);
	if (r < 0) {
		r = cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image");
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0) {
		r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: opening pagemap", pid);
		goto out;
	}
	for (i = 0; i < mm.n_vmas && r >= 0; i++)
		r = dump_vma_pages(ctx, pid, pm_fd, ptrs[i]);
out:
	for (i = 0; i < mm.n_vmas; i++)
		free(ents[i].anon_name);
	proc_vmas_free(vmas, n);
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
