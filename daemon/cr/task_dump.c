// SPDX-License-Identifier: GPL-2.0-or-later
/* Saving one task's own state: identity, registers, signals, limits, mm bounds. */
#include "dump.h"
#include "arch.h"
#include "attrs.h"
#include "borrow.h"
#include "creds.h"
#include "log.h"
#include "fault.h"
#include "macro.h"
#include "proc.h"
#include "ptimer.h"
#include "sem_undo.h"
#include "rbatch.h"
#include "seccomp.h"
#include "sleep.h"
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>


/* Memory of our own in the task, for batches of injected calls
 * (rbatch.h): code, then the data area, then the call table. */
#define SC_DATA PAGE_SZ
#define SC_TABLE (8 * PAGE_SZ)
#define SC_LEN (16 * PAGE_SZ)

struct kaltstack { uint64_t sp; int32_t flags; int32_t pad; uint64_t size; };

#define SIGINFO_SIZE 128
#define PENDING_MAX 1024   /* a queue longer than this is refused, not cut */

/* One thread's own state, as the THREAD record (the main thread's is
 * copied into its TASK record). */
struct thread_state {
	Ckpt__Img__Thread th;
	Ckpt__Img__Rseq rseq;
	unsigned char regs[512];
	unsigned char xstate[ARCH_XSTATE_MAX];
	char comm[32];
	unsigned char (*siginfo)[SIGINFO_SIZE];
	ProtobufCBinaryData pending[PENDING_MAX];
	struct attrs_thread attrs;
	struct creds_buf creds;
	struct seccomp_state sc;
};

struct task_state {
	Ckpt__Img__Task t;
	Ckpt__Img__MmInfo mm;
	struct creds_buf creds;
	Ckpt__Img__SigAction acts[64], *actp[64];
	Ckpt__Img__Rlimit lims[16], *limp[16];
	Ckpt__Img__Itimer itimers[3], *itp[3];
	char cwd[PATH_MAX], exe[PATH_MAX];
	char *auxv;
	struct attrs_proc attrs;
	struct ptimer_dump timers;
	struct sem_undo undo;
	unsigned char (*siginfo)[SIGINFO_SIZE];   /* the process's shared queue */
	ProtobufCBinaryData pending[PENDING_MAX];
	struct thread_state main;
};

static int read_link(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* State we refuse instead of saving wrong. */
static int check_supported(struct dump_ctx *ctx, pid_t pid, const struct proc_status *st,
			   const struct proc_status *init)
{
	char root[PATH_MAX];

	if (read_link(pid, "root", root, sizeof(root)) < 0 || !streq(root, "/"))
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: a chroot'ed root directory is not supported", pid);
	return 0;
}

/* Registers and mask as seized (rt holds them: injections change the live ones). */
static int dump_regs(struct dump_ctx *ctx, const struct rtask *rt, struct thread_state *s)
{
	pid_t tid = rt->pid;
	struct rtask_rseq_config rc;
	size_t xlen = 0;
	uint64_t head = 0;
	size_t hlen = 0;
	int r;

	memcpy(s->regs, &rt->regs, arch_regs_size());
	s->th.sigmask = rt->sigmask;
	r = arch_get_xstate(tid, s->xstate, sizeof(s->xstate), &xlen);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: reading registers", rt->pid, tid);
	s->th.regs.data = s->regs;
	s->th.regs.len = arch_regs_size();
	s->th.xstate.data = s->xstate;
	s->th.xstate.len = xlen;
	if (rtask_rseq_config(tid, &rc) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "thread %d: PTRACE_GET_RSEQ_CONFIGURATION", tid);
	if (rc.ptr) {
		s->rseq.ptr = rc.ptr;
		s->rseq.len = rc.size;
		s->rseq.flags = rc.flags;
		s->rseq.sig = rc.sig;
		s->th.rseq = &s->rseq;
	}
	if (syscall(SYS_get_robust_list, tid, &head, &hlen) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "thread %d: get_robust_list", tid);
	s->th.has_robust_list = s->th.has_robust_list_len = true;
	s->th.robust_list = head;
	s->th.robust_list_len = hlen;
	return 0;
}

/* One queue of pending signals: PTRACE_PEEKSIGINFO reads without dequeuing. */
static int dump_queue(struct dump_ctx *ctx, pid_t tid, bool shared, unsigned char (**bufp)[SIGINFO_SIZE],
		      ProtobufCBinaryData *out, size_t *ret_n)
{
	size_t n = 0;

	*bufp = malloc(PENDING_MAX * SIGINFO_SIZE);
	if (!*bufp)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "thread %d: siginfo", tid);
	for (;;) {
		struct __ptrace_peeksiginfo_args a = {
			.off = n, .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0, .nr = MIN(64, PENDING_MAX - n),
		};
		long got;

		if (n >= PENDING_MAX)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "thread %d: more than %d pending signals", tid, PENDING_MAX);
		got = ptrace(PTRACE_PEEKSIGINFO, tid, &a, (*bufp)[n]);
		if (got < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "thread %d: PTRACE_PEEKSIGINFO", tid);
		if (got == 0)
			break;
		for (long i = 0; i < got; i++)
			out[n + i] = (ProtobufCBinaryData){ SIGINFO_SIZE, (*bufp)[n + i] };
		n += got;
	}
	*ret_n = n;
	return 0;
}

static struct rbatch *batch_new(uint64_t addr)
{
	struct rbatch *b = malloc(sizeof(*b));

	if (b)
		rbatch_init(b, addr, addr + SC_DATA, addr + SC_TABLE);
	return b;
}

/* Only the thread itself can tell its clear_child_tid, sigaltstack and
 * prctl settings. */
static int dump_thread_injected(struct dump_ctx *ctx, struct dump_proc *p, size_t k, uint64_t addr, struct thread_state *s)
{
	_cleanup_free_ struct rbatch *b = batch_new(addr);
	struct rtask *rt = &p->rt[k];
	struct attrs_thread_calls ac;
	const struct kaltstack *ss;
	uint64_t a_tid, a_ss;
	size_t i;
	int r;

	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	a_tid = rbatch_space(b, sizeof(uint64_t));
	a_ss = rbatch_space(b, sizeof(struct kaltstack));
	rbatch_add(b, __NR_prctl, PR_GET_TID_ADDRESS, a_tid, 0, 0, 0, 0);
	rbatch_add(b, __NR_sigaltstack, 0, a_ss, 0, 0, 0, 0);
	attrs_thread_queue(b, &ac);
	r = rbatch_run(b, rt);
	for (i = 0; r >= 0 && i < ac.first; i++)
		if (b->calls[i].ret < 0)
			r = (int)b->calls[i].ret;
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "thread %d: injected prctl/sigaltstack", rt->pid);
	ss = rbatch_result(b, a_ss);
	s->th.has_clear_child_tid = true;
	memcpy(&s->th.clear_child_tid, rbatch_result(b, a_tid), sizeof(uint64_t));
	s->th.has_altstack_sp = s->th.has_altstack_size = s->th.has_altstack_flags = true;
	s->th.altstack_sp = ss->sp;
	s->th.altstack_size = ss->size;
	s->th.altstack_flags = ss->flags;
	s->th.attrs = &s->attrs.a;
	return attrs_thread_take(ctx, p, k, b, &ac, &s->attrs);
}

static int dump_thread_comm(struct dump_ctx *ctx, pid_t pid, pid_t tid, struct thread_state *s)
{
	char path[64];
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "thread %d: reading its name", tid);
	while (len && buf[len - 1] == '\n')
		len--;
	len = MIN(len, sizeof(s->comm) - 1);
	memcpy(s->comm, buf, len);
	s->comm[len] = 0;
	s->th.comm = s->comm;
	return 0;
}

static int thread_status(struct dump_ctx *ctx, const struct dump_proc *p, size_t k, struct proc_status *st)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	uint32_t bad;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", p->pid, p->tids[k]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : proc_parse_status(fd, st);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: reading its status", p->pid, p->nstids[k]);
	if (creds_status_inside(ctx->req->contain, st, &bad) < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0,
			       "task %d: thread %d: its credentials: id %u is not mapped in the container's user namespace",
			       p->pid, p->nstids[k], bad);
	return 0;
}

/* A thread's seccomp filters, and its credentials when they are not its
 * process's (the main thread's, in the TASK record). */
static int dump_thread_status(struct dump_ctx *ctx, const struct dump_proc *p, size_t k, struct thread_state *s)
{
	struct proc_status st;
	char who[96];
	int r;

	r = thread_status(ctx, p, k, &st);
	if (r < 0)
		return r;
	if (k > 0 && creds_differ(&st, &p->st)) {
		creds_fill(&s->creds, &st);
		s->th.creds = &s->creds.c;
	}
	if (k == 0)
		snprintf(who, sizeof(who), "task %d:", p->pid);
	else
		snprintf(who, sizeof(who), "task %d: thread %d (host pid %d):", p->pid, p->nstids[k], p->tids[k]);
	r = seccomp_dump_thread(ctx, p->tids[k], st.seccomp, who, &s->sc);
	if (r >= 0 && st.seccomp) {
		s->th.has_seccomp_mode = true;
		s->th.seccomp_mode = st.seccomp;
		s->th.n_seccomp_filters = s->sc.n;
		s->th.seccomp_filters = s->sc.ptrs;
	}
	return r;
}

/* The page job orders a process's pages by it (mm_dump_pages). */
static int note_rseq(struct dump_ctx *ctx, struct dump_proc *p, const Ckpt__Img__Rseq *rs)
{
	struct lazy_area *v = realloc(p->rseq, (p->nrseq + 1) * sizeof(*v));

	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: rseq areas", p->pid);
	p->rseq = v;
	p->rseq[p->nrseq++] = (struct lazy_area){ rs->ptr, rs->len };
	return 0;
}

static int thread_collect(struct dump_ctx *ctx, struct dump_proc *p, size_t k, uint64_t addr, struct thread_state *s)
{
	int r;

	ckpt__img__thread__init(&s->th);
	ckpt__img__rseq__init(&s->rseq);
	s->th.tid = p->nstids[k];
	r = dump_regs(ctx, &p->rt[k], s);
	if (r >= 0 && s->th.rseq)
		r = note_rseq(ctx, p, &s->rseq);
	if (r >= 0 && (r = sleep_dump(ctx, p->tids[k], s->regs, s->th.sigmask, &s->th.timeout_left_ns)) > 0)
		s->th.has_timeout_left_ns = true;
	if (r >= 0)
		r = dump_queue(ctx, p->tids[k], false, &s->siginfo, s->pending, &s->th.n_sigpending);
	s->th.sigpending = s->pending;
	if (r >= 0)
		r = dump_thread_injected(ctx, p, k, addr, s);
	if (r >= 0)
		r = dump_thread_comm(ctx, p->pid, p->tids[k], s);
	if (r >= 0)
		r = dump_thread_status(ctx, p, k, s);
	return r;
}

/* The main thread's state goes into the TASK record's own fields. */
static void task_take_thread(Ckpt__Img__Task *t, struct thread_state *s)
{
	t->regs = s->th.regs;
	t->xstate = s->th.xstate;
	t->sigmask = s->th.sigmask;
	t->rseq = s->th.rseq;
	t->has_robust_list = t->has_robust_list_len = true;
	t->robust_list = s->th.robust_list;
	t->robust_list_len = s->th.robust_list_len;
	t->has_clear_child_tid = true;
	t->clear_child_tid = s->th.clear_child_tid;
	t->has_altstack_sp = t->has_altstack_size = t->has_altstack_flags = true;
	t->altstack_sp = s->th.altstack_sp;
	t->altstack_size = s->th.altstack_size;
	t->altstack_flags = s->th.altstack_flags;
	t->has_timeout_left_ns = s->th.has_timeout_left_ns;
	t->timeout_left_ns = s->th.timeout_left_ns;
	t->n_sigpending_private = s->th.n_sigpending;
	t->sigpending_private = s->th.sigpending;
	t->thread_attrs = s->th.attrs;
	t->has_seccomp_mode = s->th.has_seccomp_mode;
	t->seccomp_mode = s->th.seccomp_mode;
	t->n_seccomp_filters = s->th.n_seccomp_filters;
	t->seccomp_filters = s->th.seccomp_filters;
}

/* Process-wide state only the task can tell: sigactions, itimers, brk,
 * prctl settings; in one batch. */
static int dump_injected(struct dump_ctx *ctx, struct dump_proc *p, uint64_t addr, struct task_state *s)
{
	_cleanup_free_ struct rbatch *b = batch_new(addr);
	struct rtask *rt = &p->rt[0];
	struct attrs_proc_calls ac;
	uint64_t a_act[65] = { 0 }, a_itv[3];
	size_t brk_at, i;
	int sig, r;

	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	brk_at = rbatch_add(b, __NR_brk, 0, 0, 0, 0, 0, 0);
	for (sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		a_act[sig] = rbatch_space(b, sizeof(struct arch_ksigaction));
		rbatch_add(b, __NR_rt_sigaction, sig, 0, a_act[sig], 8, 0, 0);
	}
	for (i = 0; i < 3; i++) {
		a_itv[i] = rbatch_space(b, sizeof(struct itimerval));
		rbatch_add(b, __NR_getitimer, i, a_itv[i], 0, 0, 0, 0);
	}
	attrs_proc_queue(b, &ac);
	r = rbatch_run(b, rt);
	for (i = 1; r >= 0 && i < ac.first; i++)
		if (b->calls[i].ret < 0)
			r = (int)b->calls[i].ret;
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: injected rt_sigaction/getitimer", rt->pid);
	s->mm.brk = b->calls[brk_at].ret;
	for (sig = 1; sig <= 64; sig++) {
		const struct arch_ksigaction *k = a_act[sig] ? rbatch_result(b, a_act[sig]) : NULL;
		Ckpt__Img__SigAction *a = &s->acts[s->t.n_sigactions];

		if (!k)
			continue;
		ckpt__img__sig_action__init(a);
		a->sig = sig;
		a->handler = k->handler;
		a->flags = k->flags;
		a->restorer = k->restorer;
		a->mask = k->mask;
		s->actp[s->t.n_sigactions++] = a;
	}
	for (i = 0; i < 3; i++) {
		const struct itimerval *v = rbatch_result(b, a_itv[i]);

		ckpt__img__itimer__init(&s->itimers[i]);
		s->itimers[i].which = i;
		s->itimers[i].interval_us = v->it_interval.tv_sec * 1000000ull + v->it_interval.tv_usec;
		s->itimers[i].value_us = v->it_value.tv_sec * 1000000ull + v->it_value.tv_usec;
		s->itp[i] = &s->itimers[i];
	}
	s->t.n_itimers = 3;
	s->t.itimers = s->itp;
	s->t.sigactions = s->actp;
	s->t.attrs = &s->attrs.a;
	r = attrs_proc_take(ctx, p, b, &ac, &s->attrs);
	return r < 0 ? r : attrs_vma_policies(ctx, p, b);
}

static int dump_mm_info(struct dump_ctx *ctx, pid_t pid, const struct proc_stat *ps, struct task_state *s)
{
	char path[64];
	size_t len = 0;
	int r;

	s->mm.start_code = ps->start_code;
	s->mm.end_code = ps->end_code;
	s->mm.start_data = ps->start_data;
	s->mm.end_data = ps->end_data;
	s->mm.start_brk = ps->start_brk;
	s->mm.start_stack = ps->start_stack;
	s->mm.arg_start = ps->arg_start;
	s->mm.arg_end = ps->arg_end;
	s->mm.env_start = ps->env_start;
	s->mm.env_end = ps->env_end;
	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	r = proc_read_file(path, &s->auxv, &len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading auxv", pid);
	s->mm.auxv.data = (uint8_t *)s->auxv;
	s->mm.auxv.len = len;
	if (read_link(pid, "exe", s->exe, sizeof(s->exe)) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: reading exe link", pid);
	if (strstr(s->exe, " (deleted)"))
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: its executable %s was deleted", pid, s->exe);
	s->mm.exe = s->exe;
	s->t.mm = &s->mm;
	return 0;
}

static int dump_identity(struct dump_ctx *ctx, pid_t pid, pid_t nspid, pid_t nsppid, struct task_state *s,
			 const struct proc_stat *ps, const struct proc_status *st)
{
	struct proc_limit lim[16];
	char path[64];
	_cleanup_free_ char *pers = NULL;
	size_t len, i;
	int r;

	s->t.pid = nspid;
	s->t.ppid = nsppid;
	s->t.pgid = st->nspgid_n ? st->nspgid[st->nspgid_n - 1] : 0;
	s->t.sid = st->nssid_n ? st->nssid[st->nssid_n - 1] : 0;
	s->t.comm = (char *)ps->comm;
	s->t.umask = st->umask;
	s->t.has_exit_signal = true;
	s->t.exit_signal = ps->exit_signal;
	if (read_link(pid, "cwd", s->cwd, sizeof(s->cwd)) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: reading cwd", pid);
	s->t.cwd = s->cwd;
	snprintf(path, sizeof(path), "/proc/%d/personality", pid);
	if (proc_read_file(path, &pers, &len) >= 0) {
		s->t.has_personality = true;
		s->t.personality = strtoul(pers, NULL, 16);
	}
	r = proc_limits_pid(pid, lim);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading limits", pid);
	for (i = 0; i < 16; i++) {
		ckpt__img__rlimit__init(&s->lims[i]);
		s->lims[i].resource = i;
		s->lims[i].cur = lim[i].cur;
		s->lims[i].max = lim[i].max;
		s->limp[i] = &s->lims[i];
	}
	s->t.rlimits = s->limp;
	s->t.n_rlimits = 16;
	creds_fill(&s->creds, st);
	s->t.creds = &s->creds.c;
	return 0;
}

/* THREAD records for every thread but the main one. */
static int dump_threads(struct dump_ctx *ctx, struct dump_proc *p, uint64_t addr)
{
	_cleanup_free_ struct thread_state *s = malloc(sizeof(*s));
	size_t k;
	int r = 0;

	if (!s)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: thread state", p->pid);
	s->sc = (struct seccomp_state){ 0 };
	for (k = 1; k < p->ntids && r >= 0; k++) {
		s->siginfo = NULL;
		r = thread_collect(ctx, p, k, addr, s);
		if (r >= 0)
			r = dump_write_msg(ctx, p->pid, IMG_THREAD, &s->th.base);
		free(s->siginfo);
		seccomp_state_free(&s->sc);
	}
	return r;
}

static int dump_timers(struct dump_ctx *ctx, struct dump_proc *p, uint64_t addr, struct task_state *s)
{
	_cleanup_free_ struct rbatch *b = batch_new(addr);
	int r;

	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	r = ptimer_dump(ctx, p, b, &s->timers);
	s->t.n_posix_timers = s->timers.n;
	s->t.posix_timers = s->timers.ptrs;
	if (r >= 0)
		r = sem_undo_dump(ctx, p, b, &s->undo);
	s->t.n_sem_undo = s->undo.n;
	s->t.sem_undo = s->undo.ptrs;
	return r;
}

/* A removed cwd: the first pass saved it as a Ghost; cwd keeps where it was. */
static int dump_cwd_ghost(struct dump_ctx *ctx, const struct dump_proc *p, struct task_state *s)
{
	size_t n = strlen(s->cwd), d = strlen(" (deleted)");

	if (!ghost_link(s->cwd))
		return 0;
	if (!p->cwd_ghost)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, 0, "task %d: its working directory %s was removed during the checkpoint", p->pid, s->cwd);
	s->cwd[n - d] = 0;
	s->t.has_cwd_ghost = true;
	s->t.cwd_ghost = p->cwd_ghost_id;
	return 0;
}

static int task_dump_state(struct dump_ctx *ctx, struct dump_proc *p, struct task_state *s, uint64_t addr)
{
	pid_t pid = p->pid;
	int r;

	r = check_supported(ctx, pid, &p->st, &ctx->init_st);
	if (r >= 0)
		r = dump_identity(ctx, pid, p->nspid, p->nsppid, s, &p->ps, &p->st);
	if (r >= 0)
		r = dump_cwd_ghost(ctx, p, s);
	if (r >= 0)
		r = thread_collect(ctx, p, 0, addr, &s->main);
	if (r >= 0) {
		task_take_thread(&s->t, &s->main);
		r = dump_queue(ctx, pid, true, &s->siginfo, s->pending, &s->t.n_sigpending_shared);
		s->t.sigpending_shared = s->pending;
	}
	if (r >= 0)
		r = dump_injected(ctx, p, addr, s);
	if (r >= 0)
		r = dump_timers(ctx, p, addr, s);
	if (r >= 0)
		r = dump_mm_info(ctx, pid, &p->ps, s);
	if (r >= 0)
		r = dump_write_msg(ctx, p->pid, IMG_TASK, &s->t.base);
	if (r >= 0)
		r = dump_threads(ctx, p, addr);
	return r;
}

/* A hole for the scratch area, chosen before it is mapped so the borrow
 * record can name it first: the tasks are stopped, nothing else maps
 * there, and a recovery that unmaps it unmaps nothing else. */
static int scratch_place(struct dump_ctx *ctx, struct dump_proc *p, uint64_t *ret)
{
	struct proc_vma *v = NULL;
	size_t n = 0, i;
	uint64_t cand = 1ull << 32;
	int r;

	r = proc_vmas_pid(p->pid, false, &v, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading maps", p->pid);
	r = -ENOMEM;
	while (cand + SC_LEN <= (1ull << 47) - (1ull << 30)) {
		uint64_t lo = cand - PAGE_SZ, hi = cand + SC_LEN + PAGE_SZ, bump = 0;

		for (i = 0; i < n; i++)
			if (v[i].start < hi && v[i].end > lo)
				bump = MAX(bump, v[i].end);
		if (!bump) {
			*ret = cand;
			r = 0;
			break;
		}
		cand = ALIGN_UP(bump + PAGE_SZ, 1ull << 21);
	}
	proc_vmas_free(v, n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: no room for the checkpoint's scratch area", p->pid);
	r = borrow_scratch(p->pid, *ret, SC_LEN);
	return r < 0 ? cr_fail(ctx->err, CR_ERR_IO, -r, "task %d: recording the scratch area", p->pid) : 0;
}

/* Our memory in the task: RWX, or, in a process that denies writable and
 * executable mappings (PR_SET_MDWE), the code page read+exec over a
 * read+write area (rtask_write gets into it through /proc/PID/mem). */
static long scratch_map(struct rtask *rt, uint64_t at)
{
	long addr, ret;
	int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;

	addr = rsys(rt, __NR_mmap, at, SC_LEN, PROT_READ | PROT_WRITE | PROT_EXEC, fl, -1, 0);
	if (addr != -EACCES)
		return addr == (long)at || (addr < 0 && addr > -4096) ? addr : -EEXIST;
	addr = rsys(rt, __NR_mmap, at, SC_LEN, PROT_READ | PROT_WRITE, fl, -1, 0);
	if (addr < 0 && addr > -4096)
		return addr;
	ret = rsys(rt, __NR_mmap, addr, PAGE_SZ, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (ret == addr)
		return addr;
	rsys(rt, __NR_munmap, addr, SC_LEN);
	return ret < 0 && ret > -4096 ? ret : -EIO;
}

/* Filters would judge our injected calls: keep them out of the way. */
static int suspend_seccomp(struct dump_ctx *ctx, struct dump_proc *p)
{
	struct proc_status st;
	size_t k;
	int r;

	for (k = 0; k < p->ntids; k++) {
		r = thread_status(ctx, p, k, &st);
		if (r < 0)
			return r;
		if (!st.seccomp)
			continue;
		r = seccomp_suspend(p->tids[k], !borrow_active() || borrow_tied());
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: PTRACE_O_SUSPEND_SECCOMP", p->pid, p->nstids[k]);
		borrow_opts(p->tids[k], PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP);
	}
	return 0;
}

/* The process's locked memory in kB (VmLck of /proc/PID/status, its
 * mm->locked_vm): read without walking its page tables, as smaps does. */
static int vm_locked_kb(pid_t pid, uint64_t *ret)
{
	_cleanup_free_ char *buf = NULL;
	int r = proc_status_text(pid, &buf);

	return r < 0 ? r : proc_status_field(buf, "VmLck", 10, ret);
}

/* mlockall(MCL_FUTURE) leaves no trace in /proc but in what it does: a
 * new mapping (our scratch area) comes locked, "lf" too under MCL_ONFAULT.
 * The mapping counts in VmLck only if it came locked (locked_kb: VmLck
 * before it was made, or UINT64_MAX): when VmLck did not grow, smaps, which
 * walks every page of the process, need not be read. */
static int dump_mlockall(struct dump_ctx *ctx, struct dump_proc *p, uint64_t addr, uint64_t locked_kb,
			 Ckpt__Img__Task *t)
{
	struct proc_vma *v = NULL;
	size_t n = 0, i;
	uint64_t now;
	int r;

	if (locked_kb != UINT64_MAX && vm_locked_kb(p->pid, &now) >= 0 && now == locked_kb)
		return 0;
	r = proc_vmas_pid(p->pid, true, &v, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading smaps", p->pid);
	for (i = 0; i < n; i++) {
		if (addr < v[i].start || addr >= v[i].end)
			continue;
		if (v[i].vmflags & VMF_LO) {
			t->has_mlockall = true;
			t->mlockall = MCL_FUTURE | (v[i].vmflags & VMF_LF ? MCL_ONFAULT : 0);
			p->mlockall = t->mlockall;   /* the page job's lazy rule */
		}
		break;
	}
	proc_vmas_free(v, n);
	return 0;
}

int task_dump(struct dump_ctx *ctx, struct dump_proc *p)
{
	_cleanup_free_ struct task_state *s = calloc(1, sizeof(*s));
	struct rtask *rt = &p->rt[0];
	uint64_t at = 0, locked_kb = UINT64_MAX;
	long addr, ret;
	int r;

	if (!s)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d", p->pid);
	ckpt__img__task__init(&s->t);
	ckpt__img__mm_info__init(&s->mm);
	r = suspend_seccomp(ctx, p);
	if (r < 0)
		return r;
	/* Memory for batches of injected calls, in the process's own. */
	r = scratch_place(ctx, p, &at);
	if (r < 0)
		return r;
	if (vm_locked_kb(p->pid, &locked_kb) < 0)
		locked_kb = UINT64_MAX;
	addr = scratch_map(rt, at);
	if (addr < 0 && addr > -4096)
		return cr_fail(ctx->err, CR_ERR_KERNEL, (int)-addr, "task %d: injected mmap", p->pid);
	fault_crash_worker("ckpt-injecting");
	r = dump_mlockall(ctx, p, addr, locked_kb, &s->t);
	if (r >= 0)
		r = task_dump_state(ctx, p, s, addr);
	if (r >= 0)
		r = tree_check_reaper(ctx, p, s->attrs.a.child_subreaper);
	if (r >= 0)
		r = files_dump_owners(ctx, p, addr, addr + SC_DATA, addr + SC_TABLE);
	ret = rsys(rt, __NR_munmap, addr, SC_LEN);
	if (ret == 0)
		borrow_scratch_gone(p->pid);
	if (r >= 0 && ret != 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: injected munmap", p->pid);
	free(s->auxv);
	ptimer_dump_free(&s->timers);
	sem_undo_free(&s->undo);
	free(s->siginfo);
	free(s->main.siginfo);
	seccomp_state_free(&s->main.sc);
	return r;
}
