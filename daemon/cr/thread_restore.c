// SPDX-License-Identifier: GPL-2.0-or-later
/* Threads: each is cloned inside its restored process at its original tid
 * by an injected clone3(CLONE_THREAD, set_tid), parks in the scratch page's
 * pause loop, is seized, gets its own state by injections in itself, and
 * finally its registers. */
#include "restore.h"
#include "validate.h"
#include "arch.h"
#include "attrs.h"
#include "creds.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "rbatch.h"
#include "sleep.h"
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#define THREAD_CLONE_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

static int bad(struct restore_ctx *ctx, const Ckpt__Img__Thread *th, const char *why)
{
	return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: thread %d: %s", ctx->cur->tt->pid, th->tid, why);
}

static int check_thread(struct restore_ctx *ctx, const Ckpt__Img__Thread *th)
{
	char buf[128];
	const char *why = validate_thread(th, buf, sizeof(buf));

	if (why)
		return bad(ctx, th, why);
	if (arch_xstate_features(th->xstate.data, th->xstate.len) & ~ctx->xfeatures)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: thread %d: its FPU/AVX state uses features this CPU lacks",
			       ctx->cur->tt->pid, th->tid);
	if (th->creds && (why = creds_may_restore(ctx, th->creds, buf, sizeof(buf))))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: thread %d: credentials: %s",
			       ctx->cur->tt->pid, th->tid, why);
	return attrs_check_thread(ctx, ctx->cur->tt->pid, th->tid, th->attrs);
}

int thread_restore_record(struct restore_ctx *ctx, const void *payload, size_t len)
{
	struct rproc *p = ctx->cur;
	Ckpt__Img__Thread *th, **v;
	int r;

	if (!p || !p->task || p->pidfd >= 0 || p->mm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "thread record out of order");
	th = image_unpack(&ctx->rd, &ckpt__img__thread__descriptor, payload, len);
	if (!th)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "thread record: %s", ctx->rd.error);
	if (p->nthreads >= p->tt->n_threads || th->tid != p->tt->threads[p->nthreads])
		r = bad(ctx, th, "not the next thread of the tree");
	else
		r = check_thread(ctx, th);
	v = r < 0 ? NULL : realloc(p->threads, (p->nthreads + 1) * sizeof(*v));
	if (!v) {
		protobuf_c_message_free_unpacked(&th->base, NULL);
		return r < 0 ? r : cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "thread table");
	}
	v[p->nthreads++] = th;
	p->threads = v;
	return 0;
}

static int clone_one(struct restore_ctx *ctx, struct rproc *p, pid_t tid)
{
	struct clone_args args = {
		.flags = THREAD_CLONE_FLAGS,
		.set_tid_size = 1,
	};
	long a_tid, a_args, ret;

	a_tid = restore_scratch_put(p, PAGE_SZ + sizeof(args), &tid, sizeof(tid));
	args.set_tid = a_tid;
	a_args = a_tid < 0 ? a_tid : restore_scratch_put(p, PAGE_SZ, &args, sizeof(args));
	if (a_args < 0)
		return (int)a_args;
	/* No stack: the thread runs only the park loop, which uses none. */
	ret = rsys(&p->rt, __NR_clone3, a_args, sizeof(args));
	if (ret != tid)
		return cr_fail(ctx->err, CR_ERR_KERNEL, ret < 0 ? (int)-ret : EEXIST, "task %d: creating thread %d", p->tt->pid, tid);
	return 0;
}

/* Host tid of the thread whose tid in the container is nstid (ns[i]: the
 * container tid of host tid tids[i], read once). */
static pid_t host_tid(const pid_t *tids, const pid_t *ns, size_t n, pid_t nstid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ns[i] == nstid)
			return tids[i];
	return -ESRCH;
}

static int ns_tids(const pid_t *tids, size_t n, pid_t *ns)
{
	struct proc_status st;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		r = proc_status_pid(tids[i], &st);
		if (r < 0)
			return r;
		ns[i] = st.nspid_n ? st.nspid[st.nspid_n - 1] : 0;
	}
	return 0;
}

int thread_restore_create(struct restore_ctx *ctx, struct rproc *p)
{
	_cleanup_free_ pid_t *tids = NULL, *ns = NULL;
	size_t n = 0, i;
	int r = 0;

	if (!p->nthreads)
		return 0;
	p->trt = calloc(p->nthreads, sizeof(*p->trt));
	if (!p->trt)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "thread table");
	for (i = 0; i < p->nthreads && r >= 0; i++)
		r = clone_one(ctx, p, p->threads[i]->tid);
	if (r >= 0 && (r = proc_threads(p->host_pid, &tids, &n)) >= 0)
		r = (ns = calloc(n + 1, sizeof(pid_t))) ? ns_tids(tids, n, ns) : -ENOMEM;
	if (r < 0 && !ctx->err->code)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: listing its threads", p->tt->pid);
	for (i = 0; i < p->nthreads && r >= 0; i++) {
		pid_t t = host_tid(tids, ns, n, p->threads[i]->tid);

		r = t < 0 ? t : rtask_seize(t, true);
		if (r >= 0)
			r = rtask_wait_stop(t);
		if (r >= 0)
			p->ntrt++;
		if (r >= 0)
			r = rtask_prepare(&p->trt[i], t);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: seizing thread %d", p->tt->pid, p->threads[i]->tid);
		p->trt[i].insn = p->scratch;
	}
	return r;
}

/* A thread's own state, set by the thread itself, in one batch. */
static int thread_state(struct restore_ctx *ctx, struct rproc *p, struct rtask *rt, struct rbatch *b, const Ckpt__Img__Thread *th)
{
	size_t i;
	int r = 0;

	if (th->rseq)
		rbatch_add(b, __NR_rseq, th->rseq->ptr, th->rseq->len, 0, th->rseq->sig, 0, 0);
	if (th->has_robust_list)
		rbatch_add(b, __NR_set_robust_list, th->robust_list, th->robust_list_len, 0, 0, 0, 0);
	rbatch_add(b, __NR_set_tid_address, th->has_clear_child_tid ? th->clear_child_tid : 0, 0, 0, 0, 0, 0);
	if (th->has_altstack_sp) {
		struct { uint64_t sp; int32_t flags, pad; uint64_t size; } ss = {
			th->altstack_sp, (int32_t)(th->altstack_flags & ~SS_ONSTACK), 0, th->altstack_size };

		rbatch_add(b, __NR_sigaltstack, rbatch_data(b, &ss, sizeof(ss)), 0, 0, 0, 0, 0);
	}
	rbatch_add(b, __NR_prctl, PR_SET_NAME, rbatch_data(b, th->comm, strlen(th->comm) + 1), 0, 0, 0, 0);
	/* Its own queue, oldest first, queued by itself: the kernel lets only
	 * a thread queue a kernel- or kill()-style siginfo to itself. It
	 * blocks everything until hand-off. */
	for (i = 0; i < th->n_sigpending && r >= 0; i++) {
		int32_t sig;

		memcpy(&sig, th->sigpending[i].data, sizeof(sig));
		r = restore_batch_room(ctx, p, rt, b, th->sigpending[i].len, "queueing a thread's pending signals");
		rbatch_add(b, __NR_rt_tgsigqueueinfo, p->tt->pid, th->tid, sig,
			   rbatch_data(b, th->sigpending[i].data, th->sigpending[i].len), 0, 0);
	}
	return r < 0 ? r : restore_batch_run(ctx, p, rt, b, "restoring a thread's rseq, robust list, altstack, name or signals");
}

int thread_restore_state(struct restore_ctx *ctx, struct rproc *p)
{
	_cleanup_free_ struct rbatch *b = p->nthreads ? restore_batch_new(p) : NULL;
	size_t i;
	int r = 0;

	if (p->nthreads && !b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	for (i = 0; i < p->nthreads && r >= 0; i++)
		r = thread_state(ctx, p, &p->trt[i], b, p->threads[i]);
	return r;
}

int thread_restore_hand_off(struct restore_ctx *ctx, struct rproc *p)
{
	unsigned char regs[512];
	size_t i;
	int r = 0;

	for (i = 0; i < p->nthreads && r >= 0; i++) {
		const Ckpt__Img__Thread *th = p->threads[i];
		pid_t t = p->trt[i].pid;
		char what[48];

		snprintf(what, sizeof(what), "task %d: thread %d", p->tt->pid, th->tid);
		memcpy(regs, th->regs.data, th->regs.len);
		r = sleep_restore(ctx, &p->trt[i], regs, th->has_timeout_left_ns, th->timeout_left_ns, what);
		if (r < 0)
			return r;
		r = arch_set_regs(t, regs);
		if (r >= 0)
			r = arch_set_xstate(t, th->xstate.data, th->xstate.len);
		if (r >= 0 && ptrace(PTRACE_SETSIGMASK, t, (void *)sizeof(uint64_t), &th->sigmask) < 0)
			r = -errno;
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: setting its registers", p->tt->pid, th->tid);
		p->trt[i].prepared = false;
	}
	return 0;
}
