// SPDX-License-Identifier: GPL-2.0-or-later
/* Rebuilding an address space inside a task that still runs ckptd's image:
 * plant a scratch page with a syscall instruction, move [vvar]/[vdso] aside,
 * unmap everything else, map the saved VMAs, fill their pages. */
#include "restore.h"
#include "incr.h"
#include "fault.h"
#include "ipc.h"
#include "arch.h"
#include "hash.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "plan.h"
#include "rbatch.h"
#include "validate.h"
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <limits.h>
#include <linux/rseq.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define TASK_TOP ((1ull << 47) - 4096)   /* TASK_SIZE: the last page is never mapped */
#define MAP_FLAGS_OK (MAP_PRIVATE | MAP_SHARED | MAP_GROWSDOWN)
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

struct range { uint64_t lo, hi; };

static bool is_special(Ckpt__Img__VmaKind k)
{
	return k == CKPT__IMG__VMA_KIND__VMA_VDSO || k == CKPT__IMG__VMA_KIND__VMA_VVAR ||
	       k == CKPT__IMG__VMA_KIND__VMA_VVAR_VCLOCK;
}

/* Mappings whose pages the image holds per process (shared memory's pages
 * come with its object). */
static bool has_pages(const Ckpt__Img__Vma *v)
{
	return v->kind == CKPT__IMG__VMA_KIND__VMA_ANON || v->kind == CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE ||
	       (v->kind == CKPT__IMG__VMA_KIND__VMA_MEMFD && (v->flags & MAP_PRIVATE));
}

static bool is_shm(Ckpt__Img__VmaKind k)
{
	return k == CKPT__IMG__VMA_KIND__VMA_SHARED_ANON || k == CKPT__IMG__VMA_KIND__VMA_MEMFD;
}

static int validate_vmas(struct restore_ctx *ctx, const Ckpt__Img__Mm *mm)
{
	size_t i;
	const char *why = validate_mm(mm, &i);

	for (i = why ? i : 0; !why && i < mm->n_vmas; i++) {
		const Ckpt__Img__Vma *v = mm->vmas[i];
		int64_t seg;

		if (is_shm(v->kind) && !objhash_find_id(ctx->objs, OBJ_SHM, v->shm_id))
			why = "shared memory without a valid object or offset";
		if (v->kind == CKPT__IMG__VMA_KIND__VMA_SYSV_SHM &&
		    ((seg = ipc_restore_shm_size(ctx, v->shm_id)) < 0 || ALIGN_UP((uint64_t)seg, PAGE_SZ) != v->end - v->start))
			why = "a SysV shm attach without its segment, or not all of it";
	}
	if (why && i >= mm->n_vmas)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: %zu mappings: %s", ctx->cur->tt->pid, mm->n_vmas, why);
	if (why)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: mapping %#lx-%#lx: %s", ctx->cur->tt->pid,
			       (unsigned long)mm->vmas[i]->start, (unsigned long)mm->vmas[i]->end, why);
	return 0;
}

long restore_scratch_put(struct rproc *p, size_t off, const void *data, size_t len)
{
	int r;

	if (off < PAGE_SZ || off > SCRATCH_LEN || len > SCRATCH_LEN - off)
		return -E2BIG;
	r = rtask_write(p->host_pid, p->scratch + off, data, len);
	return r < 0 ? r : (long)(p->scratch + off);
}

/* A hole of len bytes missing both the task's current maps and the saved ones. */
static int find_hole(struct restore_ctx *ctx, const struct proc_vma *cur, size_t ncur, uint64_t len, uint64_t *ret)
{
	uint64_t cand = 1ull << 32;   /* clear of low ELF loads */

	while (cand + len <= TASK_TOP - (1ull << 30)) {
		uint64_t lo = cand - PAGE_SZ, hi = cand + len + PAGE_SZ, bump = 0;
		size_t i;

		for (i = 0; i < ncur; i++)
			if (cur[i].start < hi && cur[i].end > lo)
				bump = MAX(bump, cur[i].end);
		for (i = 0; i < ctx->cur->mm->n_vmas; i++)
			if (ctx->cur->mm->vmas[i]->start < hi && ctx->cur->mm->vmas[i]->end > lo)
				bump = MAX(bump, ctx->cur->mm->vmas[i]->end);
		if (!bump) {
			*ret = cand;
			return 0;
		}
		cand = ALIGN_UP(bump + PAGE_SZ, 1ull << 21);
	}
	return -ENOMEM;
}

int restore_seize_spawned(struct restore_ctx *ctx, struct rproc *p)
{
	pid_t pid = proc_pidfd_pid(p->pidfd);
	int r;

	if (pid <= 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, pid < 0 ? -pid : ESRCH, "task %d: its pid", p->tt->pid);
	p->host_pid = pid;
	r = rtask_seize(pid, true);
	if (r >= 0)
		r = rtask_wait_stop(pid);
	if (r >= 0)
		p->seized = true;
	if (r >= 0)
		r = rtask_prepare(&p->rt, pid);
	if (r >= 0)
		r = rtask_find_insn(&p->rt);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d (host %d): seizing it", p->tt->pid, pid);
	return 0;
}

/* Where the kernel put [vvar], [vvar_vclock] and [vdso] in the new task. */
struct vdso_set {
	struct range r[3];    /* indexed like VMA_VVAR, VMA_VVAR_VCLOCK, VMA_VDSO below */
	uint64_t lo, hi;
};

static int vdso_index(Ckpt__Img__VmaKind k)
{
	return k == CKPT__IMG__VMA_KIND__VMA_VVAR ? 0 : k == CKPT__IMG__VMA_KIND__VMA_VVAR_VCLOCK ? 1 : 2;
}

static int vdso_locate(struct restore_ctx *ctx, const struct proc_vma *cur, size_t n, struct vdso_set *vs)
{
	static const char *const names[3] = { "[vvar]", "[vvar_vclock]", "[vdso]" };
	const Ckpt__Img__Header *h = ctx->hdr;
	uint64_t want[3] = { h->vvar_size, h->vvar_vclock_size, h->vdso_size };
	size_t i;
	int k, r;

	memset(vs, 0, sizeof(*vs));
	vs->lo = ~0ull;
	for (i = 0; i < n; i++)
		for (k = 0; k < 3; k++)
			if (cur[i].path && streq(cur[i].path, names[k])) {
				vs->r[k] = (struct range){ cur[i].start, cur[i].end };
				vs->lo = MIN(vs->lo, cur[i].start);
				vs->hi = MAX(vs->hi, cur[i].end);
			}
	for (k = 0; k < 3; k++)
		if (vs->r[k].hi - vs->r[k].lo != want[k])
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: this kernel's %s is %lu bytes, the image's %lu: restore on the kernel that made the image",
				       ctx->cur->tt->pid, names[k], (unsigned long)(vs->r[k].hi - vs->r[k].lo), (unsigned long)want[k]);
	if (h->vdso_size) {
		_cleanup_free_ void *buf = malloc(h->vdso_size);

		if (!buf)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "vdso");
		r = rtask_read(ctx->cur->host_pid, vs->r[2].lo, buf, h->vdso_size);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading [vdso]", ctx->cur->tt->pid);
		if (ckpt_hash64(buf, h->vdso_size, 0) != h->vdso_hash)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: this kernel's [vdso] differs from the image's: the program may hold pointers into it", ctx->cur->tt->pid);
	}
	return 0;
}

static long move(struct restore_ctx *ctx, uint64_t from, uint64_t len, uint64_t to)
{
	if (from == to)
		return 0;
	long ret = rsys(&ctx->cur->rt, __NR_mremap, from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	return ret < 0 ? ret : 0;
}

int mm_restore_plant_scratch(struct restore_ctx *ctx, struct rproc *p, uint64_t base)
{
	long ret = rsys(&p->rt, __NR_mmap, base, SCRATCH_LEN, PROT_READ | PROT_WRITE | PROT_EXEC,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	int r;

	if (ret != (long)base)
		return cr_fail(ctx->err, CR_ERR_KERNEL, ret < 0 ? (int)-ret : EFAULT, "task %d: mapping the scratch page", p->tt->pid);
	p->scratch = base;
	r = rtask_write(p->host_pid, base, arch_scratch_code, arch_scratch_code_len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: writing the scratch page", p->tt->pid);
	p->rt.insn = base;
	return 0;
}

/* A call that moves from to to, unless they are the same. */
static void batch_move(struct rbatch *b, uint64_t from, uint64_t len, uint64_t to)
{
	if (from != to)
		rbatch_add(b, __NR_mremap, from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to, 0);
}

/* The first failed call of a batch (its index), or b->n. */
static size_t batch_failed(const struct rbatch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->calls[i].ret < 0 && b->calls[i].ret > -4096)
			break;
	return i;
}

/* The vdso set's moves, parked and then placed where the program expects
 * it; each index where the next step begins (clear_address_space). */
struct clear_steps {
	size_t park, unmap, place;
};

static int clear_batch(struct restore_ctx *ctx, struct rbatch *b, const struct vdso_set *vs, uint64_t base,
		       const struct rtask_rseq_config *rc, struct clear_steps *st)
{
	const Ckpt__Img__Mm *mm = ctx->cur->mm;
	uint64_t park = base + SCRATCH_LEN + PAGE_SZ, end = park + (vs->hi - vs->lo);
	size_t i;
	int k;

	/* glibc's rseq in ckptd's TLS first: that memory goes below */
	if (rc->ptr)
		rbatch_add(b, __NR_rseq, rc->ptr, rc->size, RSEQ_FLAG_UNREGISTER, rc->sig, 0, 0);
	st->park = b->n;
	for (k = 0; k < 3; k++)
		batch_move(b, vs->r[k].lo, vs->r[k].hi - vs->r[k].lo, park + (vs->r[k].lo - vs->lo));
	st->unmap = b->n;
	rbatch_add(b, __NR_munmap, 0, base, 0, 0, 0, 0);
	rbatch_add(b, __NR_munmap, end, TASK_TOP - end, 0, 0, 0, 0);
	st->place = b->n;
	for (i = 0; i < mm->n_vmas; i++) {
		const Ckpt__Img__Vma *v = mm->vmas[i];

		if (!is_special(v->kind))
			continue;
		k = vdso_index(v->kind);
		if (v->end - v->start != vs->r[k].hi - vs->r[k].lo)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: vdso mapping size differs from the header", ctx->cur->tt->pid);
		batch_move(b, park + (vs->r[k].lo - vs->lo), v->end - v->start, v->start);
	}
	return 0;
}

/* A task made from ckptd's code (seized unless its creator did): the
 * scratch page and parking space for the vdso set, then everything else
 * cleared, in one batch run from the scratch page (one stop of the task
 * instead of two for each of the dozen calls). */
static int clear_address_space(struct restore_ctx *ctx)
{
	struct rproc *p = ctx->cur;
	_cleanup_free_ struct rbatch *b = NULL;
	struct rtask_rseq_config rc;
	struct proc_vma *cur = NULL;
	struct clear_steps st;
	struct vdso_set vs;
	uint64_t base = 0;
	size_t n = 0, bad;
	int r;

	if (!p->seized && (r = restore_seize_spawned(ctx, p)) < 0)
		return r;
	if (rtask_rseq_config(p->host_pid, &rc) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: PTRACE_GET_RSEQ_CONFIGURATION", p->tt->pid);
	r = proc_vmas_pid(p->host_pid, false, &cur, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading maps", p->tt->pid);
	r = vdso_locate(ctx, cur, n, &vs);
	if (r >= 0 && find_hole(ctx, cur, n, SCRATCH_LEN + PAGE_SZ + (vs.hi - vs.lo), &base) < 0)
		r = cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: no room for the restorer's scratch page", p->tt->pid);
	proc_vmas_free(cur, n);
	if (r >= 0)
		r = mm_restore_plant_scratch(ctx, p, base);
	if (r >= 0 && !(b = restore_batch_new(p)))
		r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	if (r >= 0)
		r = clear_batch(ctx, b, &vs, base, &rc, &st);
	if (r < 0)
		return r;
	r = rbatch_run(b, &p->rt);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: clearing the address space", p->tt->pid);
	bad = batch_failed(b);
	if (bad == b->n)
		return 0;
	r = (int)-b->calls[bad].ret;
	if (bad < st.park)
		return cr_fail(ctx->err, CR_ERR_KERNEL, r, "task %d: unregistering the inherited rseq", p->tt->pid);
	if (bad < st.unmap)
		return cr_fail(ctx->err, CR_ERR_KERNEL, r, "task %d: moving the vdso aside", p->tt->pid);
	if (bad < st.place)
		return cr_fail(ctx->err, CR_ERR_KERNEL, r, "task %d: clearing the address space", p->tt->pid);
	return cr_fail(ctx->err, CR_ERR_KERNEL, r, "task %d: moving the vdso to %#lx", p->tt->pid,
		       (unsigned long)b->calls[bad].args[4]);
}

struct rbatch *restore_batch_new(struct rproc *p)
{
	struct rbatch *b = malloc(sizeof(*b));

	/* code after the park loop, data from the second page, calls after */
	if (b)
		rbatch_init(b, p->scratch + 64, p->scratch + PAGE_SZ, p->scratch + 8 * PAGE_SZ);
	return b;
}

/* Like restore_batch_run, but the results stay for the caller to read. */
int restore_batch_run_keep(struct restore_ctx *ctx, struct rproc *p, struct rtask *rt, struct rbatch *b, const char *what)
{
	int r = b->n ? rbatch_run(b, rt) : 0;
	size_t i;

	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: %s", p->tt->pid, what);
	for (i = 0; i < b->n; i++)
		if (b->calls[i].ret < 0 && b->calls[i].ret > -4096)
			return cr_fail(ctx->err, CR_ERR_KERNEL, (int)-b->calls[i].ret, "task %d: %s (system call %lu)", p->tt->pid, what,
				       (unsigned long)b->calls[i].nr);
	return 0;
}

int restore_batch_run(struct restore_ctx *ctx, struct rproc *p, struct rtask *rt, struct rbatch *b, const char *what)
{
	int r = restore_batch_run_keep(ctx, p, rt, b, what);

	rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
	return r;
}

int restore_batch_room(struct restore_ctx *ctx, struct rproc *p, struct rtask *rt, struct rbatch *b, size_t len, const char *what)
{
	if (b->n + 1 < RBATCH_MAX_CALLS && b->used + len + 32 <= RBATCH_MAX_DATA)
		return 0;
	return restore_batch_run(ctx, p, rt, b, what);
}

/* A file the image maps, opened once per path and access by the worker
 * (files_open_as_owner: in the container's root, as the owner), held in
 * the pool the tasks inherit: a mapping gets only what its owner may read
 * or write, whatever root could. */
struct mapped_file {
	char *path;
	bool rdwr;
	int slot;
};

static bool is_file(Ckpt__Img__VmaKind k)
{
	return k == CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE || k == CKPT__IMG__VMA_KIND__VMA_FILE_SHARED;
}

static bool map_rdwr(const Ckpt__Img__Vma *v)
{
	return v->kind == CKPT__IMG__VMA_KIND__VMA_FILE_SHARED && v->file_rdwr;
}

static struct mapped_file *mapped_find(struct restore_ctx *ctx, const Ckpt__Img__Vma *v)
{
	for (size_t i = 0; i < ctx->nmapped; i++)
		if (ctx->mapped[i].rdwr == map_rdwr(v) && streq(ctx->mapped[i].path, v->path))
			return &ctx->mapped[i];
	return NULL;
}

/* A mapped file must be the one the image saw, the fd's own stat. */
static int check_mapped_file(struct restore_ctx *ctx, pid_t pid, const Ckpt__Img__Vma *v, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "task %d: mapped file %s", pid, v->path);
	if (!S_ISREG(st.st_mode) || (v->has_file_size && (uint64_t)st.st_size != v->file_size) ||
	    (v->has_file_mtime_ns && st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec != v->file_mtime_ns))
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "task %d: mapped file %s changed since the checkpoint", pid, v->path);
	return 0;
}

/* A description of its own for each mapping (one shared by adjacent
 * mappings would let the kernel merge them): the first is the owner's
 * open, the others reopen that same file with the same access. */
static int open_mapped(struct restore_ctx *ctx, pid_t pid, const Ckpt__Img__Vma *v)
{
	Ckpt__Img__File f = CKPT__IMG__FILE__INIT;
	struct mapped_file *m = mapped_find(ctx, v), *grown;
	char why[256] = "", self[64];
	int fd, slot, r;

	if (m) {
		r = check_mapped_file(ctx, pid, v, ctx->pool[m->slot]);
		if (r < 0)
			return r;
		snprintf(self, sizeof(self), "/proc/self/fd/%d", ctx->pool[m->slot]);
		fd = open(self, (m->rdwr ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: mapped file %s: opening it again", pid, v->path);
		return restore_pool_add(ctx, fd);
	}
	f.kind = CKPT__IMG__FILE_KIND__FILE_REG;
	f.path = v->path;
	f.flags = map_rdwr(v) ? O_RDWR : O_RDONLY;
	fd = files_open_as_owner(ctx, &f, false, why, sizeof(why));
	if (fd < 0)
		return cr_fail(ctx->err, fd == -ESTALE ? CR_ERR_BAD_STATE : CR_ERR_IO, 0,
			       "task %d: mapped file %s: opening it as the container's owner (uid %u): %s",
			       pid, v->path, ctx->req->owner_uid, why);
	r = check_mapped_file(ctx, pid, v, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	slot = restore_pool_add(ctx, fd);
	if (slot < 0)
		return slot;
	grown = realloc(ctx->mapped, (ctx->nmapped + 1) * sizeof(*grown));
	if (!grown)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "mapped files");
	ctx->mapped = grown;
	m = &ctx->mapped[ctx->nmapped];
	*m = (struct mapped_file){ .path = strdup(v->path), .rdwr = map_rdwr(v), .slot = slot };
	if (!m->path)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "mapped files");
	ctx->nmapped++;
	return slot;
}

static struct rproc *proc_of(struct restore_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nprocs; i++)
		if (ctx->procs[i].tt->pid == pid && !ctx->procs[i].tt->zombie)
			return &ctx->procs[i];
	return NULL;
}

/* The files of one process's mappings, their slots in p->map_slots. */
static int open_mm_files(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__Mm *mm)
{
	int r = 0;

	if (p->map_slots)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: a second mm record", p->tt->pid);
	p->map_slots = malloc((mm->n_vmas + 1) * sizeof(*p->map_slots));
	if (!p->map_slots)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "mapped files");
	p->nmap_slots = mm->n_vmas;
	for (size_t k = 0; k < mm->n_vmas && r >= 0; k++) {
		const Ckpt__Img__Vma *v = mm->vmas[k];

		p->map_slots[k] = -1;
		if (!is_file(v->kind) || (v->has_inherit && v->inherit))
			continue;
		if (!v->path)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: a file mapping without a path", p->tt->pid);
		r = p->map_slots[k] = open_mapped(ctx, p->tt->pid, v);
	}
	return r < 0 ? r : 0;
}

int mm_restore_open_files(struct restore_ctx *ctx)
{
	const struct restart_plan *pl = ctx->plan;
	struct rproc *p = NULL;
	int r = 0;

	for (size_t i = 0; pl && i < pl->nrecs && r >= 0; i++) {
		const struct plan_rec *rec = &pl->recs[i];
		Ckpt__Img__Task *t;
		Ckpt__Img__Mm *mm;

		if (rec->type == IMG_TASK) {
			t = image_unpack(&ctx->rd, &ckpt__img__task__descriptor, rec->payload, rec->len);
			if (!t)
				return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task record: %s", ctx->rd.error);
			p = proc_of(ctx, t->pid);
			protobuf_c_message_free_unpacked(&t->base, NULL);
		}
		if (rec->type != IMG_MM)
			continue;
		if (!p)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "an mm record of no live task of the tree");
		mm = image_unpack(&ctx->rd, &ckpt__img__mm__descriptor, rec->payload, rec->len);
		if (!mm)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "mm record: %s", ctx->rd.error);
		r = open_mm_files(ctx, p, mm);
		protobuf_c_message_free_unpacked(&mm->base, NULL);
		p = NULL;
	}
	return r;
}

void mm_restore_files_free(struct restore_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nmapped; i++)
		free(ctx->mapped[i].path);
	free(ctx->mapped);
	ctx->mapped = NULL;
	ctx->nmapped = 0;
}

static uint32_t map_prot(const Ckpt__Img__Vma *v)
{
	/* Writable while pages are filled; the saved protection comes last. */
	return has_pages(v) ? v->prot | PROT_READ | PROT_WRITE : v->prot;
}

/* Mapping k of the current process, from the pool the task holds when it
 * is not anonymous. */
static int map_queue(struct restore_ctx *ctx, struct rbatch *b, const Ckpt__Img__Vma *v, size_t k)
{
	unsigned long flags = (v->flags & MAP_FLAGS_OK) | MAP_FIXED, len = v->end - v->start;
	struct rproc *p = ctx->cur;
	struct restore_obj *o;
	int shmflg;

	switch (v->kind) {
	case CKPT__IMG__VMA_KIND__VMA_ANON:
		if (v->droppable)
			flags = (flags & ~MAP_PRIVATE) | MAP_DROPPABLE;
		rbatch_add(b, __NR_mmap, v->start, len, map_prot(v), flags | MAP_ANONYMOUS, -1, 0);
		return 0;
	case CKPT__IMG__VMA_KIND__VMA_SHARED_ANON:
	case CKPT__IMG__VMA_KIND__VMA_MEMFD:
		/* the object the worker made, from the pool the task holds */
		o = objhash_find_id(ctx->objs, OBJ_SHM, v->shm_id);
		/* a memfd's partial last page is mapped whole */
		if (v->pgoff > ALIGN_UP(o->size, PAGE_SZ) || len > ALIGN_UP(o->size, PAGE_SZ) - v->pgoff)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: mapping %#lx-%#lx beyond its object", ctx->cur->tt->pid,
				       (unsigned long)v->start, (unsigned long)v->end);
		rbatch_add(b, __NR_mmap, v->start, len, map_prot(v), flags, restore_pool_fd(ctx, o->slot), v->pgoff);
		return 0;
	case CKPT__IMG__VMA_KIND__VMA_SYSV_SHM:
		/* a real attach (shm_nattch counts it, shmdt() undoes it); may
		 * it be made writable, executable: the attach decides */
		shmflg = SHM_REMAP | ((v->prot & PROT_WRITE) || v->file_rdwr ? 0 : SHM_RDONLY) |
			 (v->prot & PROT_EXEC ? SHM_EXEC : 0);
		rbatch_add(b, __NR_shmat, v->shm_id, v->start, shmflg, 0, 0, 0);
		if (v->prot != (PROT_READ | (shmflg & SHM_RDONLY ? 0 : PROT_WRITE) | (v->prot & PROT_EXEC)))
			rbatch_add(b, __NR_mprotect, v->start, len, v->prot, 0, 0, 0);
		return 0;
	case CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE:
	case CKPT__IMG__VMA_KIND__VMA_FILE_SHARED:
		if (k >= p->nmap_slots || p->map_slots[k] < 0)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, 0, "task %d: mapped file %s was not opened", p->tt->pid, v->path);
		rbatch_add(b, __NR_mmap, v->start, len, map_prot(v), flags, restore_pool_fd(ctx, p->map_slots[k]), v->pgoff);
		return 0;
	default:
		return 0;
	}
}

/* Map vmas[0..n) but the inherited and special ones, in batches. */
static int map_all(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b, Ckpt__Img__Vma *const *vmas, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++) {
		if (is_special(vmas[i]->kind) || (vmas[i]->has_inherit && vmas[i]->inherit))
			continue;
		r = restore_batch_room(ctx, p, &p->rt, b, 0, "mapping memory");
		if (r >= 0)
			r = map_queue(ctx, b, vmas[i], i);
	}
	return r < 0 ? r : restore_batch_run(ctx, p, &p->rt, b, "mapping memory");
}

static bool same_mapping(const Ckpt__Img__Vma *a, const Ckpt__Img__Vma *b)
{
	return a->start == b->start && a->end == b->end && a->kind == b->kind && a->flags == b->flags &&
	       a->droppable == b->droppable && a->pgoff == b->pgoff && a->shm_id == b->shm_id &&
	       (a->path == b->path || (a->path && b->path && streq(a->path, b->path)));
}

static const Ckpt__Img__Vma *vma_find(const Ckpt__Img__Mm *mm, uint64_t addr);

static bool overlaps(const Ckpt__Img__Mm *mm, uint64_t lo, uint64_t hi)
{
	size_t i;

	for (i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->start < hi && mm->vmas[i]->end > lo)
			return true;
	return false;
}

/* The scratch page came from the parent; move it if this task's own
 * mappings need its place. */
static int move_scratch(struct restore_ctx *ctx, struct rproc *p)
{
	struct proc_vma *cur = NULL;
	uint64_t old = p->scratch, base;
	size_t n = 0;
	long ret;
	int r;

	if (!overlaps(p->mm, old, old + SCRATCH_LEN))
		return 0;
	r = proc_vmas_pid(p->host_pid, false, &cur, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading maps", p->tt->pid);
	r = find_hole(ctx, cur, n, SCRATCH_LEN, &base);
	proc_vmas_free(cur, n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: no room for the restorer's scratch page", p->tt->pid);
	r = mm_restore_plant_scratch(ctx, p, base);
	if (r < 0)
		return r;
	ret = rsys(&p->rt, __NR_munmap, old, SCRATCH_LEN);
	return ret < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: moving the scratch page", p->tt->pid) : 0;
}

/* A forked task that ran another program has its [vvar]/[vdso] elsewhere
 * than its parent: park the parent's set (which it has) in a hole, then
 * move each piece where the task had it. */
static int move_specials(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__Mm *pm)
{
	const Ckpt__Img__Vma *from[3] = { 0 }, *to[3] = { 0 };
	struct proc_vma *cur = NULL;
	uint64_t lo = ~0ull, hi = 0, park;
	size_t n = 0, i;
	long ret = 0;
	int k, r;

	for (i = 0; i < pm->n_vmas; i++)
		if (is_special(pm->vmas[i]->kind)) {
			from[vdso_index(pm->vmas[i]->kind)] = pm->vmas[i];
			lo = MIN(lo, pm->vmas[i]->start);
			hi = MAX(hi, pm->vmas[i]->end);
		}
	for (i = 0; i < p->mm->n_vmas; i++)
		if (is_special(p->mm->vmas[i]->kind))
			to[vdso_index(p->mm->vmas[i]->kind)] = p->mm->vmas[i];
	for (k = 0; k < 3; k++)
		if (!from[k] != !to[k] || (from[k] && from[k]->end - from[k]->start != to[k]->end - to[k]->start))
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: its [vvar]/[vdso] differ from its parent's", p->tt->pid);
	if (!hi)
		return 0;
	r = proc_vmas_pid(p->host_pid, false, &cur, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading maps", p->tt->pid);
	r = find_hole(ctx, cur, n, hi - lo, &park);
	proc_vmas_free(cur, n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: no room to move the vdso", p->tt->pid);
	for (k = 0; k < 3 && ret >= 0; k++)
		if (from[k])
			ret = move(ctx, from[k]->start, from[k]->end - from[k]->start, park + (from[k]->start - lo));
	for (k = 0; k < 3 && ret >= 0; k++)
		if (to[k])
			ret = move(ctx, park + (from[k]->start - lo), to[k]->end - to[k]->start, to[k]->start);
	return ret < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: moving the vdso", p->tt->pid) : 0;
}

/* A forked task has its parent's restored mappings: keep the ones it
 * inherited, unmap the others, map its own. */
static int layout_forked(struct restore_ctx *ctx, struct rproc *p)
{
	const Ckpt__Img__Mm *pm = ctx->procs[p->parent].mm, *mm = p->mm;
	_cleanup_free_ struct rbatch *b = NULL;
	size_t i;
	int r;

	bool specials_moved = false;

	r = move_scratch(ctx, p);
	b = r < 0 ? NULL : restore_batch_new(p);
	if (r >= 0 && !b)
		r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	for (i = 0; i < pm->n_vmas && r >= 0; i++) {
		const Ckpt__Img__Vma *v = pm->vmas[i], *c = vma_find(mm, v->start);

		if (is_special(v->kind)) {
			specials_moved |= !c || !same_mapping(c, v);
			continue;
		}
		if (c && c->has_inherit && c->inherit && same_mapping(c, v))
			continue;
		r = restore_batch_room(ctx, p, &p->rt, b, 0, "unmapping its parent's memory");
		rbatch_add(b, __NR_munmap, v->start, v->end - v->start, 0, 0, 0, 0);
	}
	if (r >= 0)
		r = restore_batch_run(ctx, p, &p->rt, b, "unmapping its parent's memory");
	for (i = 0; i < mm->n_vmas; i++) {
		const Ckpt__Img__Vma *v = mm->vmas[i], *pv = vma_find(pm, v->start);

		specials_moved |= is_special(v->kind) && (!pv || !same_mapping(pv, v));
	}
	if (r >= 0 && specials_moved)
		r = move_specials(ctx, p, pm);
	if (r >= 0)
		r = map_all(ctx, p, b, mm->vmas, mm->n_vmas);
	for (i = 0; i < mm->n_vmas && r >= 0; i++) {
		const Ckpt__Img__Vma *v = mm->vmas[i], *pv;

		if (is_special(v->kind) || !v->has_inherit || !v->inherit)
			continue;
		pv = vma_find(pm, v->start);
		if (!pv || !same_mapping(pv, v))
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: mapping %#lx is marked inherited, its parent has no such mapping",
				    p->tt->pid, (unsigned long)v->start);
	}
	return r;
}

int mm_restore_layout(struct restore_ctx *ctx, const void *payload, size_t len)
{
	struct rproc *p = ctx->cur;
	size_t i;
	int r;

	if (!p || !p->task || p->pidfd < 0 || p->mm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "mm record out of order");
	if (p->nthreads != p->tt->n_threads)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: %zu thread records for %zu threads", p->tt->pid,
			       p->nthreads, p->tt->n_threads);
	p->mm = image_unpack(&ctx->rd, &ckpt__img__mm__descriptor, payload, len);
	if (!p->mm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "mm record: %s", ctx->rd.error);
	r = validate_vmas(ctx, p->mm);
	if (r >= 0)
		r = fault_inject(ctx->err, "restore-spawned");
	if (r >= 0 && p->forked)
		return layout_forked(ctx, p);
	for (i = 0; r >= 0 && i < p->mm->n_vmas; i++)
		if (p->mm->vmas[i]->has_inherit && p->mm->vmas[i]->inherit)
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: an inherited mapping in a child of init", p->tt->pid);
	if (r >= 0)
		r = clear_address_space(ctx);
	if (r >= 0) {
		struct rbatch *b = restore_batch_new(p);

		r = b ? map_all(ctx, p, b, p->mm->vmas, p->mm->n_vmas) : cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
		free(b);
	}
	return r;
}

/* Below this, a write is not worth a hand-over. */
#define PUSH_MIN (64u << 10)

static const Ckpt__Img__Vma *vma_find(const Ckpt__Img__Mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (mm->vmas[mid]->end <= addr)
			lo = mid + 1;
		else if (mm->vmas[mid]->start > addr)
			hi = mid;
		else
			return mm->vmas[mid];
	}
	return NULL;
}

/* One write of pages into a task at a time, on a thread of its own, so the
 * next record is read and checked while this one goes in. */
struct page_push {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool busy, stop;
	pid_t host_pid, pid;          /* the task (pid: in the container, for errors) */
	uint64_t addr;
	const void *buf;
	size_t len;
	struct image_reader *rd;      /* buf is in rd's buffer held, given back when written */
	struct image_buf *held;
	int err;                      /* the first failure ... */
	pid_t err_pid;                /* ... its task and address */
	uint64_t err_addr;
};

static void *push_main(void *arg)
{
	struct page_push *pp = arg;

	pthread_mutex_lock(&pp->lock);
	for (;;) {
		while (!pp->busy && !pp->stop)
			pthread_cond_wait(&pp->cond, &pp->lock);
		if (!pp->busy)
			break;
		pthread_mutex_unlock(&pp->lock);
		int r = rtask_write(pp->host_pid, pp->addr, pp->buf, pp->len);

		image_reader_release(pp->rd, pp->held);
		pthread_mutex_lock(&pp->lock);
		if (r < 0 && !pp->err) {
			pp->err = r;
			pp->err_pid = pp->pid;
			pp->err_addr = pp->addr;
		}
		pp->busy = false;
		pthread_cond_broadcast(&pp->cond);
	}
	pthread_mutex_unlock(&pp->lock);
	return NULL;
}

/* The thread takes no signal: the worker's handlers stay its own. */
static struct page_push *push_start(void)
{
	struct page_push *pp = calloc(1, sizeof(*pp));
	sigset_t all, old;

	if (!pp)
		return NULL;
	pthread_mutex_init(&pp->lock, NULL);
	pthread_cond_init(&pp->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&pp->thread, NULL, push_main, pp)) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_cond_destroy(&pp->cond);
		pthread_mutex_destroy(&pp->lock);
		free(pp);
		return NULL;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pp;
}

int mm_restore_pages_flush(struct restore_ctx *ctx)
{
	struct page_push *pp = ctx->push;
	int r;

	if (!pp)
		return 0;
	pthread_mutex_lock(&pp->lock);
	while (pp->busy)
		pthread_cond_wait(&pp->cond, &pp->lock);
	r = pp->err;
	pthread_mutex_unlock(&pp->lock);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: writing pages at %#lx", pp->err_pid,
			       (unsigned long)pp->err_addr);
	return 0;
}

void mm_restore_pages_free(struct restore_ctx *ctx)
{
	struct page_push *pp = ctx->push;

	if (!pp)
		return;
	pthread_mutex_lock(&pp->lock);
	while (pp->busy)
		pthread_cond_wait(&pp->cond, &pp->lock);
	pp->stop = true;
	pthread_cond_broadcast(&pp->cond);
	pthread_mutex_unlock(&pp->lock);
	pthread_join(pp->thread, NULL);
	pthread_cond_destroy(&pp->cond);
	pthread_mutex_destroy(&pp->lock);
	free(pp);
	ctx->push = NULL;
}

/* Hand the reader's payload to the push thread once it is done with the
 * one before; 1 if it took it, 0 if the caller writes it itself. The
 * reader reads nothing into the payload's buffer until the thread gives
 * it back. */
static int push_pages(struct restore_ctx *ctx, uint64_t addr, const void *pages, size_t len)
{
	struct image_buf *held;
	struct page_push *pp;
	int r;

	if (len < PUSH_MIN || !(held = image_reader_hold(&ctx->rd, pages)))
		return 0;
	if (!ctx->push && !(ctx->push = push_start())) {
		image_reader_release(&ctx->rd, held);
		return 0;
	}
	r = mm_restore_pages_flush(ctx);
	if (r < 0) {
		image_reader_release(&ctx->rd, held);
		return r;
	}
	pp = ctx->push;
	pthread_mutex_lock(&pp->lock);
	pp->host_pid = ctx->cur->host_pid;
	pp->pid = ctx->cur->tt->pid;
	pp->addr = addr;
	pp->buf = pages;
	pp->len = len;
	pp->rd = &ctx->rd;
	pp->held = held;
	pp->busy = true;
	pthread_cond_broadcast(&pp->cond);
	pthread_mutex_unlock(&pp->lock);
	return 1;
}

int mm_restore_pages(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm, const void *pages, size_t len)
{
	const Ckpt__Img__Vma *v;
	int r;

	if (!ctx->cur || !ctx->cur->mm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pages before the mm record");
	v = vma_find(ctx->cur->mm, pm->vaddr);
	if (pm->vaddr % PAGE_SZ || pm->nr_pages == 0 || pm->nr_pages > IMAGE_MAX_PAGES / PAGE_SZ ||
	    len != pm->nr_pages * PAGE_SZ || !v || !has_pages(v) || pm->vaddr + len > v->end)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: pages at %#lx (%lu) don't fit a saved mapping",
			       ctx->cur->tt->pid, (unsigned long)pm->vaddr, (unsigned long)pm->nr_pages);
	r = push_pages(ctx, pm->vaddr, pages, len);
	if (r < 0)
		return r;
	if (r == 0 && (r = rtask_write(ctx->cur->host_pid, pm->vaddr, pages, len)) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: writing pages at %#lx", ctx->cur->tt->pid, (unsigned long)pm->vaddr);
	ctx->pages += pm->nr_pages;
	return fault_inject(ctx->err, "restore-pages");
}

int mm_restore_parent_ref(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm)
{
	const Ckpt__Img__Vma *v;

	if (!ctx->cur || !ctx->cur->mm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "parent pages before the mm record");
	v = vma_find(ctx->cur->mm, pm->vaddr);
	if (pm->vaddr % PAGE_SZ || pm->nr_pages == 0 || !v || !has_pages(v) ||
	    pm->nr_pages > (v->end - pm->vaddr) / PAGE_SZ)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: parent pages at %#lx (%lu) don't fit a saved "
			       "mapping", ctx->cur->tt->pid, (unsigned long)pm->vaddr, (unsigned long)pm->nr_pages);
	return incr_chain_fill(ctx, pm);
}

int mm_restore_drop(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm)
{
	const Ckpt__Img__Vma *v;
	long ret;

	if (!ctx->cur || !ctx->cur->mm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "drop before the mm record");
	v = vma_find(ctx->cur->mm, pm->vaddr);
	if (pm->vaddr % PAGE_SZ || pm->nr_pages == 0 || !v || !has_pages(v) || !v->has_inherit || !v->inherit ||
	    pm->nr_pages > (v->end - pm->vaddr) / PAGE_SZ)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: drop at %#lx (%lu) doesn't fit an inherited mapping",
			       ctx->cur->tt->pid, (unsigned long)pm->vaddr, (unsigned long)pm->nr_pages);
	/* Back to what the mapping holds untouched: zeroes, or the file. */
	ret = rsys(&ctx->cur->rt, __NR_madvise, pm->vaddr, pm->nr_pages * PAGE_SZ, MADV_DONTNEED);
	return ret < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: dropping pages at %#lx", ctx->cur->tt->pid,
				  (unsigned long)pm->vaddr) : 0;
}

static const struct { uint32_t bit; int advice; } madv_map[] = {
	{ MADV_BIT_DONTFORK, MADV_DONTFORK }, { MADV_BIT_DONTDUMP, MADV_DONTDUMP },
	{ MADV_BIT_WIPEONFORK, MADV_WIPEONFORK }, { MADV_BIT_HUGEPAGE, MADV_HUGEPAGE },
	{ MADV_BIT_NOHUGEPAGE, MADV_NOHUGEPAGE }, { MADV_BIT_MERGEABLE, MADV_MERGEABLE },
	{ MADV_BIT_SEQUENTIAL, MADV_SEQUENTIAL }, { MADV_BIT_RANDOM, MADV_RANDOM },
};

static int finish_one(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b, const Ckpt__Img__Vma *v)
{
	uint64_t len = v->end - v->start;
	size_t i;
	int r;

	if (is_special(v->kind))
		return 0;
	r = restore_batch_room(ctx, p, &p->rt, b, 128, "protecting and advising its memory");
	if (r < 0)
		return r;
	/* An inherited mapping has its parent's protection, not its own. */
	if (map_prot(v) != v->prot || (v->has_inherit && v->inherit))
		rbatch_add(b, __NR_mprotect, v->start, len, v->prot, 0, 0, 0);
	for (i = 0; i < ARRAY_SIZE(madv_map); i++)
		if (v->has_madv && (v->madv & madv_map[i].bit))
			rbatch_add(b, __NR_madvise, v->start, len, madv_map[i].advice, 0, 0, 0);
	if (v->anon_name)
		rbatch_add(b, __NR_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, v->start, len,
			   rbatch_data(b, v->anon_name, strlen(v->anon_name) + 1), 0);
	/* The pages are in: locking faults in only the holes. ckptd's caps
	 * lift RLIMIT_MEMLOCK, which is set again later. */
	if (v->locked && v->prot != PROT_NONE)
		rbatch_add(b, __NR_mlock2, v->start, len, v->lock_onfault ? MLOCK_ONFAULT : 0, 0, 0, 0);
	return 0;
}

/* A locked PROT_NONE mapping (a thread's guard page under MCL_FUTURE):
 * mlock marks it and then fails to fault it in (ENOMEM), as mmap under
 * MCL_FUTURE silently did. After the finishing batch took its access away,
 * so that nothing is faulted in; smaps must then say it is locked. */
int mm_restore_lock_none(struct restore_ctx *ctx, struct rproc *p)
{
	struct proc_vma *cur = NULL;
	size_t i, j, n = 0;
	bool any = false;
	int r = 0;

	for (i = 0; i < p->mm->n_vmas && r >= 0; i++) {
		const Ckpt__Img__Vma *v = p->mm->vmas[i];
		long ret;

		if (!v->locked || v->prot != PROT_NONE)
			continue;
		any = true;
		ret = rsys(&p->rt, __NR_mlock2, v->start, v->end - v->start, v->lock_onfault ? MLOCK_ONFAULT : 0);
		if (ret < 0 && ret != -ENOMEM)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: locking its memory at %#lx", p->tt->pid,
				    (unsigned long)v->start);
	}
	if (r < 0 || !any)
		return r;
	r = proc_vmas_pid(p->host_pid, true, &cur, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading smaps", p->tt->pid);
	for (i = 0; i < p->mm->n_vmas && r >= 0; i++) {
		const Ckpt__Img__Vma *v = p->mm->vmas[i];

		if (!v->locked || v->prot != PROT_NONE)
			continue;
		for (j = 0; j < n && !(cur[j].start <= v->start && v->start < cur[j].end); j++)
			;
		if (j == n || !(cur[j].vmflags & VMF_LO))
			r = cr_fail(ctx->err, CR_ERR_KERNEL, 0, "task %d: locking its memory at %#lx: not locked", p->tt->pid,
				    (unsigned long)v->start);
	}
	proc_vmas_free(cur, n);
	return r;
}

int mm_restore_finish(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b)
{
	size_t i;
	int r = 0;

	for (i = 0; i < p->mm->n_vmas && r >= 0; i++)
		r = finish_one(ctx, p, b, p->mm->vmas[i]);
	return r;
}
