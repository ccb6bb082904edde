// SPDX-License-Identifier: GPL-2.0-or-later
/* SysV semaphore undo lists (SEM_UNDO) across checkpoint and restart.
 *
 * The kernel shows no process's semadj values, but it applies a list when
 * its last holder leaves it, and unshare(CLONE_SYSVSEM) makes a thread
 * leave its list without exiting. So, with the container frozen, the
 * checkpoint reads every set's values, injects unshare(CLONE_SYSVSEM) into
 * the holder and reads them again: the difference per semaphore is the
 * list. The holder then takes the same list again (an injected semop of
 * -adj with SEM_UNDO from the values the list left: the value comes back
 * and semadj is adj), and the container goes on as it was. Values near 0
 * are raised first (semop without SEM_UNDO, from the worker, which has no
 * list), so that exit's clamping at 0 can't hide part of an adjustment.
 *
 * Threads share one list (pthread_create clones with CLONE_SYSVSEM, and
 * the kernel makes an empty list at the first such clone). It is applied
 * only when its last holder leaves it, so every thread must leave it to
 * have it read, and no call joins a thread to an existing list again: the
 * threads can't share it after that. So such a list is read only by a
 * checkpoint that ends the container, and last, after everything else was
 * checked and held (sem_undo_dump_shared): the main thread takes the list
 * back alone, its exit at the kill applies it as the process's exit would
 * have, and if the checkpoint still fails the error says that the other
 * threads share it no more. --leave-running refuses it by name; --check
 * does not read it (a checkpoint would). A list shared by processes
 * (clone with CLONE_SYSVSEM without CLONE_VM) is refused: at restart each
 * process is forked on its own.
 *
 * Restart makes each list again in its process before the hand-off, the
 * same way, keeping the saved values: the worker raises a semaphore by a
 * positive adjustment first, the holder's semop(-adj, SEM_UNDO) takes it
 * back; a negative one the holder adds and the worker takes back after.
 * The holder is the main thread: the others are created after it, with
 * CLONE_SYSVSEM (thread_restore.c), and share the list again. */
#include "sem_undo.h"
#include "borrow.h"
#include "cr_limits.h"
#include "dump.h"
#include "ipc.h"
#include "log.h"
#include "macro.h"
#include "rbatch.h"
#include "plan.h"
#include "proc.h"
#include "restore.h"
#include "rtask.h"
#include "seccomp.h"
#include "validate.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What a semaphore is raised to, at least, while a list is read. */
#define SEM_UNDO_FLOOR (CR_SEM_VALUE_MAX / 2 + 1)

static bool has_list(pid_t tid)
{
	return syscall(SYS_kcmp, tid, getpid(), KCMP_SYSVSEM, 0, 0) != 0;
}

/* A task of another process of the container holds tid's list too. */
static pid_t list_sharer(const struct dump_ctx *ctx, const struct dump_proc *p, pid_t tid)
{
	for (size_t i = 0; i < ctx->nprocs; i++) {
		const struct dump_proc *q = &ctx->procs[i];

		for (size_t k = 0; q != p && !q->zombie && k < q->ntids; k++)
			if (has_list(q->tids[k]) && syscall(SYS_kcmp, tid, q->tids[k], KCMP_SYSVSEM, 0, 0) == 0)
				return q->nstids ? q->nstids[k] : q->tids[k];
	}
	return 0;
}

static pid_t ns_tid(const struct dump_proc *p, size_t k)
{
	return p->nstids ? p->nstids[k] : p->tids[k];
}

/* p's threads, one of which (k) has a list: all of them share it. */
static int check_threads_share(struct dump_ctx *ctx, const struct dump_proc *p, size_t k, const char *obj)
{
	for (size_t j = 0; j < p->ntids; j++)
		if (syscall(SYS_kcmp, p->tids[k], p->tids[j], KCMP_SYSVSEM, 0, 0) != 0)
			return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj,
					   "thread %d does not share it (it left it with unshare(CLONE_SYSVSEM)): "
					   "restart makes one list for all the threads of a process", ns_tid(p, j));
	return 0;
}

int sem_undo_check(struct dump_ctx *ctx, struct dump_proc *p)
{
	char obj[80];
	pid_t other;

	if (!ctx->ipc || !ctx->ipc->nsems)
		return 0;
	for (size_t k = 0; k < p->ntids; k++) {
		long r = syscall(SYS_kcmp, p->tids[k], getpid(), KCMP_SYSVSEM, 0, 0);

		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: thread %d: kcmp(KCMP_SYSVSEM)", p->pid, p->tids[k]);
		if (r == 0)
			continue;
		snprintf(obj, sizeof(obj), "thread %d: SysV semaphore undo list", ns_tid(p, k));
		other = list_sharer(ctx, p, p->tids[k]);
		if (other)
			return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj,
					   "task %d shares it (clone with CLONE_SYSVSEM): a shared list can be read only "
					   "by applying it, and no call can share it again", other);
		if (p->ntids == 1)
			return 0;
		r = check_threads_share(ctx, p, k, obj);
		if (r < 0)
			return (int)r;
		if (ctx->req->leave_running && !ctx->req->check_only)
			return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj,
					   "its threads share one (made by creating threads, or by semop() with SEM_UNDO) "
					   "while the container has semaphore sets: a shared list can be read only by "
					   "applying it, and no call can share it between threads again, so only a "
					   "checkpoint that ends the container reads it, not --leave-running");
		/* --check reads nothing: a checkpoint that ends it would */
		p->undo_shared = !ctx->req->check_only;
		return 0;
	}
	return 0;
}

/* Values of every set of the container, in order, into v. */
static int read_values(const struct ns_ipc *ipc, uint16_t *v)
{
	for (size_t i = 0; i < ipc->nsems; i++) {
		if (semctl(ipc->sems[i].id, 0, GETALL, v) < 0)
			return -errno;
		v += ipc->sems[i].nsems;
	}
	return 0;
}

/* semop from the worker, one semaphore at a time (the namespace's SEMOPM
 * may be small), never waiting and without SEM_UNDO: no list is touched. */
static int worker_add(int id, unsigned num, int delta)
{
	struct sembuf op = { .sem_num = (unsigned short)num, .sem_op = (short)delta, .sem_flg = IPC_NOWAIT };

	return delta == 0 || semop(id, &op, 1) == 0 ? 0 : -errno;
}

static int raise_all(const struct ns_ipc *ipc, const uint16_t *v, int sign)
{
	int r = 0;

	for (size_t i = 0; i < ipc->nsems && r >= 0; i++) {
		for (unsigned k = 0; k < ipc->sems[i].nsems && r >= 0; k++)
			if (v[k] < SEM_UNDO_FLOOR)
				r = worker_add(ipc->sems[i].id, k, sign * SEM_UNDO_FLOOR);
		v += ipc->sems[i].nsems;
	}
	return r;
}

/* semop(-adj, SEM_UNDO) for each entry, injected in rt: its list gets
 * exactly these adjustments (and the values move by -adj). */
static int take_list(struct rbatch *b, struct rtask *rt, Ckpt__Img__SemUndo *const *u, size_t n)
{
	size_t i, j, done;
	int r;

	for (done = 0; done < n; done += j) {
		rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
		for (j = 0; done + j < n && j < RBATCH_MAX_CALLS; j++) {
			const Ckpt__Img__SemUndo *e = u[done + j];
			struct sembuf op = { .sem_num = (unsigned short)e->num, .sem_op = (short)-e->adj,
					     .sem_flg = SEM_UNDO | IPC_NOWAIT };

			rbatch_add(b, __NR_semop, (uint64_t)e->semid, rbatch_data(b, &op, sizeof(op)), 1, 0, 0, 0);
		}
		r = rbatch_run(b, rt);
		for (i = 0; r >= 0 && i < b->n; i++)
			if (b->calls[i].ret < 0)
				r = (int)b->calls[i].ret;
		if (r < 0)
			return r;
	}
	return 0;
}

/* The list as the values moved when it was applied, whole (the holder
 * takes it back before anything is refused); -ERANGE when exit's clamping
 * (at 0 or SEMVMX) may have cut an adjustment, as *ret_clamped says. */
static int diff_list(struct dump_ctx *ctx, const uint16_t *before, const uint16_t *after, size_t total,
		     struct sem_undo *out, const char *obj, char *clamped, size_t clen)
{
	int r = 0;

	const struct ns_ipc *ipc = ctx->ipc;
	size_t i, k, at = 0, n = 0;

	/* all of them, however many: the holder takes the whole list back
	 * before a list too long is refused */
	for (at = 0; at < total; at++)
		n += before[at] != after[at];
	out->ents = calloc(n ? n : 1, sizeof(*out->ents));
	out->ptrs = calloc(n ? n : 1, sizeof(*out->ptrs));
	if (!out->ents || !out->ptrs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "undo list");
	for (i = 0, at = 0; i < ipc->nsems; i++) {
		for (k = 0; k < ipc->sems[i].nsems; k++, at++) {
			Ckpt__Img__SemUndo *e = &out->ents[out->n];

			if (before[at] == after[at])
				continue;
			if ((after[at] == 0 || after[at] == CR_SEM_VALUE_MAX) && !r) {
				snprintf(clamped, clen, "its adjustment of semaphore %zu of set %d takes the value to a "
					 "bound (%u), where exit clamps it: the adjustment can't be told",
					 k, ipc->sems[i].id, after[at]);
				r = -ERANGE;
			}
			ckpt__img__sem_undo__init(e);
			e->semid = ipc->sems[i].id;
			e->num = (uint32_t)k;
			e->adj = (int32_t)after[at] - (int32_t)before[at];
			out->ptrs[out->n++] = e;
		}
	}
	return r;
}

/* Who leaves a list to have it applied, and takes it back: one thread,
 * with a batch in its scratch area (task_dump), or every thread of a
 * process sharing it, a call at a time, the main thread last; the main
 * thread alone takes it back, with a page for semop's argument. */
struct holder {
	struct dump_proc *p;
	struct rbatch *b;             /* NULL: all of p's threads */
	uint64_t page;
};

static int leave(struct holder *h)
{
	struct dump_proc *p = h->p;
	struct rbatch *b = h->b;
	long ret;
	int r;

	if (b) {
		rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
		rbatch_add(b, __NR_unshare, CLONE_SYSVSEM, 0, 0, 0, 0, 0);
		r = rbatch_run(b, &p->rt[0]);
		return r >= 0 && b->calls[0].ret < 0 ? (int)b->calls[0].ret : r;
	}
	for (size_t k = p->ntids; k-- > 0;) {
		ret = rsys(&p->rt[k], __NR_unshare, CLONE_SYSVSEM);
		if (ret < 0)
			return (int)ret;
		p->undo_moved = true;   /* from the first: that thread shares it no more */
	}
	return 0;
}

static int retake(struct holder *h, Ckpt__Img__SemUndo *const *u, size_t n)
{
	struct rtask *rt = &h->p->rt[0];
	long ret;
	int r;

	if (h->b)
		return take_list(h->b, rt, u, n);
	for (size_t i = 0; i < n; i++) {
		struct sembuf op = { .sem_num = (unsigned short)u[i]->num, .sem_op = (short)-u[i]->adj,
				     .sem_flg = SEM_UNDO | IPC_NOWAIT };

		r = rtask_write(rt->pid, h->page, &op, sizeof(op));
		if (r < 0)
			return r;
		ret = rsys(rt, __NR_semop, u[i]->semid, h->page, 1);
		if (ret < 0)
			return (int)ret;
	}
	h->p->undo_back = true;
	return 0;
}

/* With the worker in the container's IPC namespace. */
static int measure_list(struct dump_ctx *ctx, struct holder *h, struct sem_undo *out, const char *obj);

/* From the raise to the values put back, a dead worker would leave the
 * semaphores raised and the list applied: no recovery can undo that, so
 * the tasks go with the worker (borrow_unsafe_begin). */
static int measure(struct dump_ctx *ctx, struct holder *h, struct sem_undo *out, const char *obj)
{
	int r = borrow_unsafe_begin(BORROW_STEP_SEM_UNDO), e;

	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "tying the tasks to the worker");
	r = measure_list(ctx, h, out, obj);
	e = borrow_unsafe_end();
	if (r >= 0 && e < 0)
		r = cr_fail_obj(ctx->err, CR_ERR_KERNEL, -e, obj, "untying the tasks from the worker");
	return r;
}

static int measure_list(struct dump_ctx *ctx, struct holder *h, struct sem_undo *out, const char *obj)
{
	const struct ns_ipc *ipc = ctx->ipc;
	_cleanup_free_ uint16_t *orig = NULL, *before = NULL, *after = NULL, *end = NULL;
	char clamped[160] = "";
	size_t i, total = 0;
	int r, d;

	for (i = 0; i < ipc->nsems; i++)
		total += ipc->sems[i].nsems;
	orig = calloc(total, sizeof(*orig));
	before = calloc(total, sizeof(*before));
	after = calloc(total, sizeof(*after));
	end = calloc(total, sizeof(*end));
	if (!orig || !before || !after || !end)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "undo list");
	r = read_values(ipc, orig);
	if (r >= 0)
		r = raise_all(ipc, orig, 1);
	if (r >= 0)
		r = read_values(ipc, before);
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "raising the semaphores to read it");
	r = leave(h);
	if (r < 0) {
		raise_all(ipc, orig, -1);
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "injected unshare(CLONE_SYSVSEM)");
	}
	/* The list is applied: from here on, every way out gives the holder
	 * its list back and the values their own, or says it could not. */
	r = read_values(ipc, after);
	if (r < 0) {
		raise_all(ipc, orig, -1);
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "reading the values it left (the list was applied "
				   "and can't be made again: the container's semaphores are as after its exit)");
	}
	d = diff_list(ctx, before, after, total, out, obj, clamped, sizeof(clamped));
	if (d < 0 && d != -ERANGE) {
		raise_all(ipc, orig, -1);
		return d;
	}
	r = retake(h, out->ptrs, out->n);
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "making it again in the process (semop with SEM_UNDO)");
	r = raise_all(ipc, orig, -1);
	if (r >= 0)
		r = read_values(ipc, end);
	if (r >= 0 && memcmp(orig, end, total * sizeof(*end)))
		r = -EIO;
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "putting the semaphores' values back");
	if (out->n > CR_MAX_SEM_UNDO)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "more than %d adjustments", CR_MAX_SEM_UNDO);
	return d < 0 ? cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s", clamped) : 0;
}

/* fn with the worker in the container's IPC namespace, and out again. */
static int in_ipcns(struct dump_ctx *ctx, pid_t pid, const char *obj, int (*fn)(struct dump_ctx *, void *), void *arg)
{
	_cleanup_close_ int self = -1, target = -1;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", pid);
	self = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0 || setns(target, CLONE_NEWIPC) < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, errno, obj, "entering the container's IPC namespace");
	r = fn(ctx, arg);
	if (setns(self, CLONE_NEWIPC) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "leaving the container's IPC namespace");
	return r;
}

struct one {
	struct holder h;
	struct sem_undo *out;
	const char *obj;
};

static int measure_one(struct dump_ctx *ctx, void *arg)
{
	struct one *o = arg;

	return measure(ctx, &o->h, o->out, o->obj);
}

int sem_undo_dump(struct dump_ctx *ctx, struct dump_proc *p, struct rbatch *b, struct sem_undo *out)
{
	char obj[80];
	struct one o = { .h = { .p = p, .b = b }, .out = out, .obj = obj };
	int r;

	if (!ctx->ipc || !ctx->ipc->nsems || p->ntids != 1 || !has_list(p->tids[0]))
		return 0;
	snprintf(obj, sizeof(obj), "thread %d: SysV semaphore undo list", p->nspid);
	r = in_ipcns(ctx, p->pid, obj, measure_one, &o);
	if (r >= 0 && out->n)
		log_debug("task %d: undo list of %zu adjustments", p->nspid, out->n);
	return r;
}

/* p's TASK record, held in the metadata, with u as its list. */
static int patch_task(struct dump_ctx *ctx, const struct dump_proc *p, struct sem_undo *u)
{
	struct restart_plan *pl = &ctx->meta;
	char buf[256];

	for (size_t i = 0; i < pl->nrecs; i++) {
		Ckpt__Img__Task *t;
		Ckpt__Img__SemUndo **was;
		const char *why;
		size_t n;
		int r;

		if (pl->recs[i].type != IMG_TASK)
			continue;
		t = ckpt__img__task__unpack(NULL, pl->recs[i].len, pl->recs[i].payload);
		if (!t)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, EINVAL, "task %d: its task record, held", p->pid);
		if (t->pid != p->nspid) {
			protobuf_c_message_free_unpacked(&t->base, NULL);
			continue;
		}
		n = t->n_sem_undo;
		was = t->sem_undo;
		t->n_sem_undo = u->n;
		t->sem_undo = u->ptrs;
		why = validate_task(t, buf, sizeof(buf));
		r = why ? cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: task state: restart would refuse it: %s", p->pid, why)
			: plan_replace_msg(pl, i, &t->base);
		if (r < 0 && !why)
			r = cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: the image's metadata: %s", p->pid, pl->error);
		t->n_sem_undo = n;
		t->sem_undo = was;
		protobuf_c_message_free_unpacked(&t->base, NULL);
		return r;
	}
	return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOENT, "task %d: its task record is not held", p->pid);
}

/* Every thread of p prepared for injection again (dump_tasks gave them
 * back their registers), filters out of the way as task_dump has them. */
static int prepare_threads(struct dump_ctx *ctx, struct dump_proc *p)
{
	uint64_t insn = p->rt[0].insn;
	struct proc_status st;
	int r;

	for (size_t k = 0; k < p->ntids; k++) {
		r = rtask_prepare(&p->rt[k], p->tids[k]);
		p->rt[k].insn = insn;
		if (r >= 0)
			r = proc_status_pid(p->tids[k], &st);
		if (r >= 0 && st.seccomp)
			r = seccomp_suspend(p->tids[k], true);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: preparing it for injection",
				       p->pid, ns_tid(p, k));
	}
	return 0;
}

static int dump_shared_one(struct dump_ctx *ctx, void *arg)
{
	struct dump_proc *p = arg;
	struct sem_undo u = { 0 };
	char obj[80];
	struct one o = { .h = { .p = p }, .out = &u, .obj = obj };
	long page = -EIO;
	int r;

	snprintf(obj, sizeof(obj), "thread %d: SysV semaphore undo list", p->nspid);
	r = prepare_threads(ctx, p);
	if (r >= 0) {
		page = rsys(&p->rt[0], __NR_mmap, 0, PAGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page < 0 && page > -4096)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, (int)-page, "task %d: injected mmap", p->pid);
	}
	if (r >= 0) {
		o.h.page = (uint64_t)page;
		r = measure(ctx, &o.h, &u, obj);
		if (rsys(&p->rt[0], __NR_munmap, page, PAGE_SZ) != 0 && r >= 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, EIO, "task %d: injected munmap", p->pid);
	}
	for (size_t k = 0; k < p->ntids; k++)
		if (rtask_restore(&p->rt[k]) < 0 && r >= 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, EIO, "task %d: thread %d: restoring its registers", p->pid, ns_tid(p, k));
	if (r >= 0)
		r = patch_task(ctx, p, &u);
	if (r >= 0)
		log_debug("task %d: undo list of its %zu threads, %zu adjustments", p->nspid, p->ntids, u.n);
	sem_undo_free(&u);
	return r;
}

static int dump_shared(struct dump_ctx *ctx, void *arg)
{
	int r = 0;

	(void)arg;
	for (size_t i = 0; i < ctx->nprocs && r >= 0; i++)
		if (ctx->procs[i].undo_shared) {
			cr_error_scope(ctx->err, ctx->procs[i].nspid, ctx->procs[i].pid);
			r = dump_shared_one(ctx, &ctx->procs[i]);
		}
	cr_error_scope(ctx->err, 0, 0);
	return r;
}

bool sem_undo_shared(const struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nprocs; i++)
		if (ctx->procs[i].undo_shared)
			return true;
	return false;
}

int sem_undo_dump_shared(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nprocs; i++)
		if (ctx->procs[i].undo_shared)
			return in_ipcns(ctx, ctx->procs[i].pid, "SysV semaphore undo lists", dump_shared, NULL);
	return 0;
}

void sem_undo_note_failure(struct dump_ctx *ctx)
{
	struct cr_error *e = ctx->err;
	size_t n = strlen(e->msg);

	for (size_t i = 0; i < ctx->nprocs; i++) {
		const struct dump_proc *p = &ctx->procs[i];

		if (!p->undo_moved)
			continue;
		if (p->undo_back)
			snprintf(e->msg + n, sizeof(e->msg) - n,
				 "; task %d's threads left the SEM_UNDO list they shared, so that it could be read: its main "
				 "thread alone holds it again, the same adjustments and values, and its other threads share it no more",
				 p->nspid ? p->nspid : p->pid);
		else
			snprintf(e->msg + n, sizeof(e->msg) - n,
				 "; task %d's threads left the SEM_UNDO list they shared, so that it could be read, and it "
				 "could not be taken back: some threads hold it no more, or it was applied as at the process's exit",
				 p->nspid ? p->nspid : p->pid);
		n = strlen(e->msg);
	}
}

void sem_undo_free(struct sem_undo *u)
{
	free(u->ents);
	free(u->ptrs);
	*u = (struct sem_undo){ 0 };
}

/* The header's set with that id has semaphore num. */
static bool set_has(const struct restore_ctx *ctx, int32_t id, uint32_t num)
{
	for (size_t i = 0; ctx->hdr && i < ctx->hdr->n_sysv_sems; i++)
		if (ctx->hdr->sysv_sems[i]->id == id)
			return num < ctx->hdr->sysv_sems[i]->n_values;
	return false;
}

int sem_undo_restore(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b)
{
	const Ckpt__Img__Task *t = p->task;
	char obj[80];
	size_t i;
	int r = 0;

	if (!t->n_sem_undo)
		return 0;
	snprintf(obj, sizeof(obj), "task %d: SysV semaphore undo list", t->pid);
	for (i = 0; i < t->n_sem_undo; i++)
		if (!set_has(ctx, t->sem_undo[i]->semid, t->sem_undo[i]->num))
			return cr_fail_obj(ctx->err, CR_ERR_BAD_IMAGE, 0, obj, "an adjustment of semaphore %u of set %d, which the image does not have",
					   t->sem_undo[i]->num, t->sem_undo[i]->semid);
	for (i = 0; i < t->n_sem_undo && r >= 0; i++)
		if (t->sem_undo[i]->adj > 0)
			r = worker_add(t->sem_undo[i]->semid, t->sem_undo[i]->num, t->sem_undo[i]->adj);
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "raising a semaphore by its adjustment");
	r = take_list(b, &p->rt, t->sem_undo, t->n_sem_undo);
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "semop with SEM_UNDO, injected");
	for (i = 0; i < t->n_sem_undo && r >= 0; i++)
		if (t->sem_undo[i]->adj < 0)
			r = worker_add(t->sem_undo[i]->semid, t->sem_undo[i]->num, t->sem_undo[i]->adj);
	if (r < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "lowering a semaphore by its adjustment");
	rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
	return 0;
}
