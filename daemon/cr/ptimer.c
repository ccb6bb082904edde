// SPDX-License-Identifier: GPL-2.0-or-later
/* POSIX timers across checkpoint and restart (see ptimer.h). */
#include "ptimer.h"
#include "cr_limits.h"
#include "dump.h"
#include "macro.h"
#include "proc.h"
#include "restore.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

/* Linux 6.15+ (<linux/prctl.h> of older distributions lacks it). */
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#define PR_TIMER_CREATE_RESTORE_IDS_GET 2
#endif

#define PTIMERS_PER_BATCH 100   /* two calls each, within RBATCH_MAX_CALLS */

/* Per-process CPU clocks (clock_getcpuclockid encoding): pid in the high
 * bits (0: the caller), bit 2 per-thread, the low two bits the kind. */
#define CPUCLOCK_PID(c) (~((c) >> 3))
#define CPUCLOCK_PERTHREAD(c) (((c) & 4) != 0)

const char *ptimer_clock_refusal(int clock)
{
	if (clock < 0) {
		if (CPUCLOCK_PID(clock) != 0)
			return "it counts another process's or thread's CPU time";
		if (CPUCLOCK_PERTHREAD(clock))
			return "it counts a thread's CPU time, and which thread can't be read";
		if ((clock & 3) == 3)
			return "its clock id is invalid";
		return NULL;   /* this process's CPU time: armed with the time left */
	}
	switch (clock) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
		return NULL;
	case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
		return "alarm clocks (CAP_WAKE_ALARM) are not supported";
	default:
		return "its clock id is not one a timer can use";
	}
}

/* The thread a SIGEV_THREAD_ID timer signals, in the container. */
static pid_t ns_tid(const struct dump_proc *p, pid_t host_tid)
{
	size_t k;

	for (k = 0; k < p->ntids; k++)
		if (p->tids[k] == host_tid)
			return p->nstids[k];
	return 0;
}

static int take_proc(struct dump_ctx *ctx, struct dump_proc *p, const struct proc_ptimer *pt, Ckpt__Img__PosixTimer *e)
{
	char obj[48];
	const char *why;

	snprintf(obj, sizeof(obj), "POSIX timer %d", pt->id);
	why = ptimer_clock_refusal(pt->clock);
	if (why)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "clock %d: %s", pt->clock, why);
	ckpt__img__posix_timer__init(e);
	e->id = pt->id;
	e->clock = pt->clock;
	e->notify = pt->notify;
	e->signo = pt->signo;
	e->value = pt->value;
	if (pt->notify & SIGEV_THREAD_ID) {
		e->has_tid = true;
		e->tid = ns_tid(p, pt->pid);
		if (!e->tid)
			return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "it signals thread %d, which is not one of the process's", pt->pid);
	} else if (pt->pid != p->pid) {
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "it signals process %d, not its own", pt->pid);
	}
	return 0;
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* timer_getoverrun() answers the overrun of the timer's last delivered
 * signal until the next one is delivered; no kernel call sets it (a new
 * timer starts at 0, and timer_settime() clears it), so a program that
 * reads it after the restart would read 0. */
static int check_overrun(struct dump_ctx *ctx, const Ckpt__Img__PosixTimer *e)
{
	char obj[48];

	if (e->overrun == 0)
		return 0;
	snprintf(obj, sizeof(obj), "POSIX timer %d", e->id);
	return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj,
			   "its last signal came with an overrun of %d, which timer_getoverrun() still answers and a recreated timer can't (it starts at 0)",
			   e->overrun);
}

/* Time left, interval and overrun of ents[from, to), in one batch. */
static int read_times(struct dump_ctx *ctx, struct dump_proc *p, struct rbatch *b, Ckpt__Img__PosixTimer *ents, size_t from, size_t to)
{
	uint64_t a_its[PTIMERS_PER_BATCH];
	size_t i;
	int r;

	rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
	for (i = from; i < to; i++) {
		a_its[i - from] = rbatch_space(b, sizeof(struct itimerspec));
		rbatch_add(b, __NR_timer_gettime, (uint32_t)ents[i].id, a_its[i - from], 0, 0, 0, 0);
		rbatch_add(b, __NR_timer_getoverrun, (uint32_t)ents[i].id, 0, 0, 0, 0, 0);
	}
	r = rbatch_run(b, &p->rt[0]);
	for (i = 0; r >= 0 && i < b->n; i++)
		if (b->calls[i].ret < 0)
			r = (int)b->calls[i].ret;
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: injected timer_gettime/timer_getoverrun", p->pid);
	for (i = from; i < to; i++) {
		const struct itimerspec *its = rbatch_result(b, a_its[i - from]);

		ents[i].value_ns = ts_ns(&its->it_value);
		ents[i].interval_ns = ts_ns(&its->it_interval);
		ents[i].overrun = (int32_t)b->calls[2 * (i - from) + 1].ret;
		r = check_overrun(ctx, &ents[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int ptimer_dump(struct dump_ctx *ctx, struct dump_proc *p, struct rbatch *b, struct ptimer_dump *out)
{
	_cleanup_free_ struct proc_ptimer *pts = NULL;
	size_t n = 0, i;
	int r;

	r = proc_timers_pid(p->pid, CR_MAX_PTIMERS, &pts, &n);
	if (r == -E2BIG)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: more than %d POSIX timers", p->nspid, CR_MAX_PTIMERS);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading /proc/%d/timers", p->nspid, p->pid);
	if (n == 0)
		return 0;
	if (prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0) < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, errno, "task %d: POSIX timers: this kernel can't recreate a timer with its id (PR_TIMER_CREATE_RESTORE_IDS, Linux 6.15)", p->nspid);
	out->ents = calloc(n, sizeof(*out->ents));
	out->ptrs = calloc(n, sizeof(*out->ptrs));
	if (!out->ents || !out->ptrs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: timers", p->nspid);
	for (i = 0; i < n; i++) {
		r = take_proc(ctx, p, &pts[i], &out->ents[i]);
		if (r < 0)
			return r;
		out->ptrs[i] = &out->ents[i];
	}
	for (i = 0; i < n; i += PTIMERS_PER_BATCH) {
		r = read_times(ctx, p, b, out->ents, i, MIN(n, i + PTIMERS_PER_BATCH));
		if (r < 0)
			return r;
	}
	out->n = n;
	return 0;
}

void ptimer_dump_free(struct ptimer_dump *d)
{
	free(d->ents);
	free(d->ptrs);
	*d = (struct ptimer_dump){ 0 };
}

static struct timespec ns_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };
}

static int restore_one(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b, const Ckpt__Img__PosixTimer *tm)
{
	const char *what = "recreating its POSIX timers";
	struct sigevent sev;
	struct itimerspec its = { ns_ts(tm->interval_ns), ns_ts(tm->value_ns) };
	int32_t id = tm->id;
	int r;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = tm->notify;
	sev.sigev_signo = tm->signo;
	sev.sigev_value.sival_ptr = (void *)(uintptr_t)tm->value;
	if (tm->has_tid)
		sev._sigev_un._tid = tm->tid;
	r = restore_batch_room(ctx, p, &p->rt, b, sizeof(sev) + sizeof(its) + 64, what);
	if (r < 0)
		return r;
	/* the id it must get is read from where the new id is written */
	rbatch_add(b, __NR_timer_create, (uint32_t)tm->clock, rbatch_data(b, &sev, sizeof(sev)), rbatch_data(b, &id, sizeof(id)), 0, 0, 0);
	if (!tm->value_ns)
		return 0;
	r = restore_batch_room(ctx, p, &p->rt, b, sizeof(its) + 32, what);
	if (r >= 0)
		rbatch_add(b, __NR_timer_settime, (uint32_t)tm->id, 0, rbatch_data(b, &its, sizeof(its)), 0, 0, 0);
	return r;
}

int ptimer_restore(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b)
{
	const Ckpt__Img__Task *t = p->task;
	const char *what = "recreating its POSIX timers";
	size_t i;
	int r;

	if (!t->n_posix_timers)
		return 0;
	r = restore_batch_room(ctx, p, &p->rt, b, 0, what);
	if (r < 0)
		return r;
	rbatch_add(b, __NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0, 0);
	for (i = 0; i < t->n_posix_timers && r >= 0; i++)
		r = restore_one(ctx, p, b, t->posix_timers[i]);
	if (r >= 0)
		r = restore_batch_room(ctx, p, &p->rt, b, 0, what);
	if (r >= 0)
		rbatch_add(b, __NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0, 0);
	return r;
}
