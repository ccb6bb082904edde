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
 * Only a list held by one thread can be read so and made again: threads
 * share theirs (CLONE_SYSVSEM, as pthread_create does), and no call joins
 * a thread to an existing list. Those are refused.
 *
 * Restart makes each list again in its process before the hand-off, the
 * same way, keeping the saved values: the worker raises a semaphore by a
 * positive adjustment first, the holder's semop(-adj, SEM_UNDO) takes it
 * back; a negative one the holder adds and the worker takes back after. */
#include "sem_undo.h"
#include "cr_limits.h"
#include "dump.h"
#include "ipc.h"
#include "log.h"
#include "macro.h"
#include "rbatch.h"
#include "restore.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

/* What a semaphore is raised to, at least, while a list is read. */
#define SEM_UNDO_FLOOR (CR_SEM_VALUE_MAX / 2 + 1)

static bool has_list(pid_t tid)
{
	return syscall(SYS_kcmp, tid, getpid(), KCMP_SYSVSEM, 0, 0) != 0;
}

/* Another task of the container holds tid's list too. */
static pid_t list_sharer(const struct dump_ctx *ctx, pid_t tid)
{
	for (size_t i = 0; i < ctx->nprocs; i++) {
		const struct dump_proc *q = &ctx->procs[i];

		for (size_t k = 0; !q->zombie && k < q->ntids; k++)
			if (q->tids[k] != tid && has_list(q->tids[k]) &&
			    syscall(SYS_kcmp, tid, q->tids[k], KCMP_SYSVSEM, 0, 0) == 0)
				return q->nstids ? q->nstids[k] : q->tids[k];
	}
	return 0;
}

int sem_undo_check(struct dump_ctx *ctx, const struct dump_proc *p)
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
		snprintf(obj, sizeof(obj), "thread %d: SysV semaphore undo list", p->nstids ? p->nstids[k] : p->tids[k]);
		if (p->ntids > 1)
			return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj,
					   "its threads share one (made by semop() with SEM_UNDO, or by creating threads) "
					   "while the container has semaphore sets: a shared list can be read only by "
					   "applying it, and no call can share it between threads again");
		other = list_sharer(ctx, p->tids[k]);
		if (other)
			return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj,
					   "task %d shares it (clone with CLONE_SYSVSEM): a shared list can be read only "
					   "by applying it, and no call can share it again", other);
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

/* With the worker in the container's IPC namespace. */
static int measure(struct dump_ctx *ctx, struct dump_proc *p, struct rbatch *b, struct sem_undo *out, const char *obj)
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
	rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
	rbatch_add(b, __NR_unshare, CLONE_SYSVSEM, 0, 0, 0, 0, 0);
	r = rbatch_run(b, &p->rt[0]);
	if (r >= 0 && b->calls[0].ret < 0)
		r = (int)b->calls[0].ret;
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
	r = take_list(b, &p->rt[0], out->ptrs, out->n);
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

int sem_undo_dump(struct dump_ctx *ctx, struct dump_proc *p, struct rbatch *b, struct sem_undo *out)
{
	_cleanup_close_ int self = -1, target = -1;
	char path[64], obj[80];
	int r, s;

	if (!ctx->ipc || !ctx->ipc->nsems || p->ntids != 1 || !has_list(p->tids[0]))
		return 0;
	snprintf(obj, sizeof(obj), "thread %d: SysV semaphore undo list", p->nspid);
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", p->pid);
	self = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0 || setns(target, CLONE_NEWIPC) < 0)
		return cr_fail_obj(ctx->err, CR_ERR_KERNEL, errno, obj, "entering the container's IPC namespace");
	r = measure(ctx, p, b, out, obj);
	s = setns(self, CLONE_NEWIPC);
	if (s < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "leaving the container's IPC namespace");
	if (r >= 0 && out->n)
		log_debug("task %d: undo list of %zu adjustments", p->nspid, out->n);
	return r;
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
