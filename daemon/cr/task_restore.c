// SPDX-License-Identifier: GPL-2.0-or-later
/* Restoring one task's own state by injected calls, then handing it its registers. */
#include "restore.h"
#include "sem_undo.h"
#include "fault.h"
#include "arch.h"
#include "attrs.h"
#include "creds.h"
#include "seccomp.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "ptimer.h"
#include "rbatch.h"
#include "sleep.h"
#include "validate.h"
#include <fcntl.h>
#include <linux/prctl.h>
#include <linux/securebits.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>

#define SIG_NONE_OK (1ull << (SIGKILL - 1) | 1ull << (SIGSTOP - 1))

static int bad(struct restore_ctx *ctx, const Ckpt__Img__Task *t, const char *why)
{
	return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: %s", t->pid, why);
}

/* A SIGEV_THREAD_ID timer signals one of the process's own threads. */
static int check_timer_threads(struct restore_ctx *ctx, const Ckpt__Img__Task *t, const Ckpt__Img__TreeTask *tt)
{
	size_t i, k;

	for (i = 0; i < t->n_posix_timers; i++) {
		const Ckpt__Img__PosixTimer *tm = t->posix_timers[i];
		bool found = !tm->has_tid || tm->tid == t->pid;

		for (k = 0; k < tt->n_threads && !found; k++)
			found = tt->threads[k] == tm->tid;
		if (!found)
			return bad(ctx, t, "a POSIX timer signals a thread the process doesn't have");
	}
	return 0;
}

int task_restore_check(struct restore_ctx *ctx, Ckpt__Img__Task *t)
{
	const Ckpt__Img__TreeTask *tt = ctx->cur->tt;
	const char *why;
	char buf[128];

	if (t->pid != tt->pid || t->ppid != tt->ppid || t->sid != tt->sid || t->pgid != tt->pgid)
		return bad(ctx, t, "pid, parent, session or group differ from the tree's");
	why = validate_task(t, buf, sizeof(buf));
	if (why)
		return bad(ctx, t, why);
	if (arch_xstate_features(t->xstate.data, t->xstate.len) & ~ctx->xfeatures)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: its FPU/AVX state uses features this CPU lacks", t->pid);
	if (check_timer_threads(ctx, t, tt) < 0)
		return -EINVAL;
	if (t->has_cwd_ghost && ghost_restore_cwd(ctx, t) < 0)
		return -EINVAL;
	if ((why = creds_may_restore(ctx, t->creds, buf, sizeof(buf))))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: credentials: %s", t->pid, why);
	if (attrs_check_proc(ctx, t->pid, t->attrs) < 0 || attrs_check_thread(ctx, t->pid, t->pid, t->thread_attrs) < 0)
		return -EINVAL;
	return 0;
}

/* brk, code/data/stack/arg/env bounds, auxv and /proc/PID/exe in one call. */
/* brk, code/data/stack/arg/env bounds, auxv and /proc/PID/exe in one call,
 * queued in b; exe_fd is the executable, opened in the task. */
static void restore_mm_map(struct rbatch *b, const Ckpt__Img__MmInfo *m, long exe_fd)
{
	struct prctl_mm_map map = {
		.start_code = m->start_code, .end_code = m->end_code,
		.start_data = m->start_data, .end_data = m->end_data,
		.start_brk = m->start_brk, .brk = m->brk, .start_stack = m->start_stack,
		.arg_start = m->arg_start, .arg_end = m->arg_end,
		.env_start = m->env_start, .env_end = m->env_end,
		.auxv_size = m->auxv.len, .exe_fd = exe_fd,
	};

	map.auxv = (__u64 *)rbatch_data(b, m->auxv.data, m->auxv.len);
	rbatch_add(b, __NR_prctl, PR_SET_MM, PR_SET_MM_MAP, rbatch_data(b, &map, sizeof(map)), sizeof(map), 0, 0);
	rbatch_add(b, __NR_close, exe_fd, 0, 0, 0, 0, 0);
}

static void restore_signals(struct rbatch *b, const Ckpt__Img__Task *t)
{
	struct arch_ksigaction acts[65] = { 0 };
	size_t i;
	int sig;

	for (i = 0; i < t->n_sigactions; i++) {
		const Ckpt__Img__SigAction *a = t->sigactions[i];

		acts[a->sig] = (struct arch_ksigaction){ a->handler, a->flags, a->restorer, a->mask };
	}
	/* Whatever ckptd's init had installed goes back to default (zeroes). */
	for (sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			rbatch_add(b, __NR_rt_sigaction, sig, rbatch_data(b, &acts[sig], sizeof(acts[sig])), 0, 8, 0, 0);
	if (t->has_altstack_sp) {
		/* SS_ONSTACK is reported, not settable: it follows from sp */
		struct { uint64_t sp; int32_t flags, pad; uint64_t size; } ss = {
			t->altstack_sp, (int32_t)(t->altstack_flags & ~SS_ONSTACK), 0, t->altstack_size };

		rbatch_add(b, __NR_sigaltstack, rbatch_data(b, &ss, sizeof(ss)), 0, 0, 0, 0, 0);
	}
}

static void restore_misc(struct rbatch *b, const Ckpt__Img__Task *t)
{
	size_t i;

	for (i = 0; i < t->n_itimers; i++) {
		const Ckpt__Img__Itimer *it = t->itimers[i];
		struct itimerval v = {
			{ it->interval_us / 1000000, it->interval_us % 1000000 },
			{ it->value_us / 1000000, it->value_us % 1000000 },
		};
		rbatch_add(b, __NR_setitimer, it->which, rbatch_data(b, &v, sizeof(v)), 0, 0, 0, 0);
	}
	if (t->has_personality)
		rbatch_add(b, __NR_personality, t->personality, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_SET_NAME, rbatch_data(b, t->comm, strlen(t->comm) + 1), 0, 0, 0, 0);
	if (t->rseq)
		rbatch_add(b, __NR_rseq, t->rseq->ptr, t->rseq->len, 0, t->rseq->sig, 0, 0);
	if (t->has_robust_list)
		rbatch_add(b, __NR_set_robust_list, t->robust_list, t->robust_list_len, 0, 0, 0, 0);
	rbatch_add(b, __NR_set_tid_address, t->has_clear_child_tid ? t->clear_child_tid : 0, 0, 0, 0, 0, 0);
}

/* Limits last: set earlier, they would bind what restore itself does
 * (creating threads, queueing signals, holding the pool). */
static void restore_rlimits(struct rbatch *b, const Ckpt__Img__Task *t)
{
	size_t i;

	for (i = 0; i < t->n_rlimits; i++) {
		struct rlimit rl = { t->rlimits[i]->cur, t->rlimits[i]->max };

		rbatch_add(b, __NR_prlimit64, 0, t->rlimits[i]->resource, rbatch_data(b, &rl, sizeof(rl)), 0, 0, 0);
	}
}

/* Queue the saved pending signals again, oldest first, into the same queue.
 * The task blocks everything while we inject, so they stay pending until
 * the saved mask is back: then they arrive as they would have. */
static int restore_pending(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b, const Ckpt__Img__Task *t)
{
	size_t i;
	int r = 0;

	for (i = 0; i < t->n_sigpending_private + t->n_sigpending_shared && r >= 0; i++) {
		bool priv = i < t->n_sigpending_private;
		const ProtobufCBinaryData *d = priv ? &t->sigpending_private[i] : &t->sigpending_shared[i - t->n_sigpending_private];
		uint64_t addr;
		int32_t sig;

		memcpy(&sig, d->data, sizeof(sig));
		r = restore_batch_room(ctx, p, &p->rt, b, d->len, "queueing its pending signals");
		addr = rbatch_data(b, d->data, d->len);
		/* to itself, any si_code is allowed: the original sender stays */
		if (priv)
			rbatch_add(b, __NR_rt_tgsigqueueinfo, t->pid, t->pid, sig, addr, 0, 0);
		else
			rbatch_add(b, __NR_rt_sigqueueinfo, t->pid, sig, addr, 0, 0, 0);
	}
	return r;
}

/* Credentials, set by the thread itself. */
static int restore_creds(struct restore_ctx *ctx, struct rproc *p, struct rtask *rt, struct rbatch *b,
			 const Ckpt__Img__Creds *c, const Ckpt__Img__ThreadAttrs *a, bool *changed)
{
	struct proc_status st;
	uint32_t bad;
	int r;

	r = proc_status_pid(rt->pid, &st);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading the status of thread %d (host)", p->tt->pid, rt->pid);
	if (creds_status_inside(ctx->req->contain, &st, &bad) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, 0, "task %d: thread %d (host): id %u is not mapped in the container's user namespace",
			       p->tt->pid, rt->pid, bad);
	if (creds_match(c, &st))
		return 0;
	*changed = true;
	creds_queue(b, c, &st, a && a->keepcaps, a && (a->securebits & SECBIT_KEEP_CAPS_LOCKED));
	return restore_batch_run(ctx, p, rt, b, "setting its credentials (groups, uids, gids, capabilities, no_new_privs)");
}

static int check_creds(struct restore_ctx *ctx, struct rproc *p, pid_t host, pid_t tid, const Ckpt__Img__Creds *c)
{
	struct proc_status st;
	int r = proc_status_pid(host, &st);
	uint32_t bad;

	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: reading its status", p->tt->pid, tid);
	if (creds_status_inside(ctx->req->contain, &st, &bad) < 0 || !creds_match(c, &st))
		return cr_fail(ctx->err, CR_ERR_KERNEL, 0, "task %d: thread %d: credentials: the kernel did not take the saved ones (uid %u, gid %u, capabilities %#llx)",
			       p->tt->pid, tid, c->uid[1], c->gid[1], (unsigned long long)c->cap_eff);
	return 0;
}

/* Credentials last of all, each thread's by itself: after them, a task
 * may lack what the earlier steps needed. A change of uid resets the
 * process's dumpable flag: set it again. */
static int restore_all_creds(struct restore_ctx *ctx, struct rproc *p)
{
	_cleanup_free_ struct rbatch *b = restore_batch_new(p);
	const Ckpt__Img__Task *t = p->task;
	bool changed = false;
	size_t i;
	int r = 0;

	if (!t->creds)
		return 0;
	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	for (i = 0; i < p->nthreads && r >= 0; i++) {
		const Ckpt__Img__Thread *th = p->threads[i];

		r = restore_creds(ctx, p, &p->trt[i], b, th->creds ? th->creds : t->creds, th->attrs, &changed);
	}
	if (r >= 0)
		r = restore_creds(ctx, p, &p->rt, b, t->creds, t->thread_attrs, &changed);
	if (r >= 0 && changed && t->attrs) {
		rbatch_add(b, __NR_prctl, PR_SET_DUMPABLE, t->attrs->dumpable, 0, 0, 0, 0);
		r = restore_batch_run(ctx, p, &p->rt, b, "setting dumpable again");
	}
	for (i = 0; i < p->nthreads && r >= 0; i++)
		r = check_creds(ctx, p, p->trt[i].pid, p->threads[i]->tid, p->threads[i]->creds ? p->threads[i]->creds : t->creds);
	if (r >= 0)
		r = check_creds(ctx, p, p->host_pid, t->pid, t->creds);
	return r;
}

static int hand_off(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__Task *t)
{
	unsigned char regs[512];
	char what[32];
	int r;

	snprintf(what, sizeof(what), "task %d", t->pid);
	memcpy(regs, t->regs.data, t->regs.len);
	r = sleep_restore(ctx, &p->rt, regs, t->has_timeout_left_ns, t->timeout_left_ns, what);
	if (r < 0)
		return r;
	r = arch_set_regs(p->host_pid, regs);
	if (r >= 0)
		r = arch_set_xstate(p->host_pid, t->xstate.data, t->xstate.len);
	if (r >= 0 && ptrace(PTRACE_SETSIGMASK, p->host_pid, (void *)sizeof(uint64_t), &t->sigmask) < 0)
		r = -errno;
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: setting its registers", t->pid);
	p->rt.prepared = false;
	return 0;
}

int task_restore_finish(struct restore_ctx *ctx, struct rproc *p)
{
	_cleanup_free_ struct rbatch *b = restore_batch_new(p);
	const Ckpt__Img__Task *t = p->task;
	int r;

	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	size_t open_at;
	long exe_fd;

	/* Its memory's protections and advice, and its executable opened ... */
	r = mm_restore_finish(ctx, p, b);
	if (r >= 0)
		r = restore_batch_room(ctx, p, &p->rt, b, PATH_MAX, "protecting and advising its memory");
	open_at = rbatch_add(b, __NR_openat, AT_FDCWD, rbatch_data(b, t->mm->exe, strlen(t->mm->exe) + 1), O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (r >= 0)
		r = restore_batch_run_keep(ctx, p, &p->rt, b, "protecting its memory, opening its executable");
	if (r >= 0)
		r = mm_restore_lock_none(ctx, p);
	if (r < 0)
		return r;
	exe_fd = b->calls[open_at].ret;
	rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
	/* ... then its mm bounds and exe, signals, timers, name, rseq */
	restore_mm_map(b, t->mm, exe_fd);
	restore_signals(b, t);
	restore_misc(b, t);
	r = restore_batch_run(ctx, p, &p->rt, b, "restoring signals, timers, name or rseq");
	if (r >= 0)
		r = sem_undo_restore(ctx, p, b);
	if (r >= 0)
		r = thread_restore_create(ctx, p);
	if (r >= 0)
		r = thread_restore_state(ctx, p);
	return r;
}

int task_restore_release(struct restore_ctx *ctx, struct rproc *p)
{
	_cleanup_free_ struct rbatch *b = restore_batch_new(p);
	long ret;
	int r;

	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	/* Pending signals last: the threads they may be queued to exist,
	 * and the zombies' exit signals have been taken back. The pool was
	 * for building the fd tables: from here, only its own fds. */
	r = ptimer_restore(ctx, p, b);
	if (r >= 0)
		r = restore_pending(ctx, p, b, p->task);
	if (r >= 0) {
		size_t i, tail = p->task->n_rlimits + 3;

		/* One pidfd per child forked from it: a parent of hundreds
		 * takes more than one batch to close them. */
		for (i = 0; i < p->nstale && r >= 0; i++) {
			r = restore_batch_room(ctx, p, &p->rt, b, 0, "queueing pending signals, closing its children's pidfds");
			rbatch_add(b, __NR_close, p->stale_fds[i], 0, 0, 0, 0, 0);
		}
		/* mlockall, the limits and close_range go in one batch, the last */
		if (r >= 0 && (b->n + tail >= RBATCH_MAX_CALLS || b->used + tail * 32 > RBATCH_MAX_DATA))
			r = restore_batch_run(ctx, p, &p->rt, b, "queueing pending signals, closing its children's pidfds");
	}
	if (r >= 0) {
		/* Last of its memory: from here on, new mappings come locked. */
		if (p->task->has_mlockall)
			rbatch_add(b, __NR_mlockall, p->task->mlockall, 0, 0, 0, 0, 0);
		restore_rlimits(b, p->task);
		rbatch_add(b, __NR_close_range, ctx->pool_base, ~0u, 0, 0, 0, 0);
		r = restore_batch_run(ctx, p, &p->rt, b, "queueing pending signals, setting limits, closing the pool");
	}
	/* closing an fd of a file drops the process's POSIX locks on it:
	 * they come after the pool is gone */
	if (r >= 0)
		r = files_restore_fd_state(ctx, p);
	if (r >= 0)
		r = attrs_restore_release(ctx, p);
	/* Filters before credentials, which may take away the CAP_SYS_ADMIN
	 * installing them needs; suspended, they judge no injected call. */
	if (r >= 0)
		r = seccomp_restore(ctx, p);
	if (r >= 0)
		r = restore_all_creds(ctx, p);
	if (r < 0)
		return r;
	/* The last injected call unmaps the page it runs from: the task stops
	 * at syscall exit, before it could execute anything there. */
	ret = rsys(&p->rt, __NR_munmap, p->scratch, SCRATCH_LEN);
	if (ret < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: removing the scratch page", p->tt->pid);
	p->scratch = 0;
	return 0;
}

int task_restore_hand_off(struct restore_ctx *ctx, struct rproc *p)
{
	int r = fault_inject(ctx->err, "restore-handoff");

	if (r >= 0)
		r = attrs_restore_sched(ctx, p);
	if (r >= 0)
		r = hand_off(ctx, p, p->task);
	if (r >= 0)
		r = thread_restore_hand_off(ctx, p);
	/* pending before the detach lets it run: it stops before user code */
	if (r >= 0 && p->tt->stopped && syscall(SYS_pidfd_send_signal, p->pidfd, SIGSTOP, NULL, 0) < 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: stopping it again (SIGSTOP)", p->tt->pid);
	return r;
}
