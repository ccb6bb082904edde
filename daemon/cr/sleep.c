// SPDX-License-Identifier: GPL-2.0-or-later
/* Sleeping system calls across checkpoint and restart (see sleep.h). */
#include "sleep.h"
#include "arch.h"
#include "cgroup.h"
#include "dump.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "restore.h"
#include "rtask.h"
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ERESTART_RESTARTBLOCK 516
#define NSEC 1000000000ull
/* Bound for left times from images, and timeouts longer than this (sleep
 * infinity) are simply called again: ten years. */
#define LEFT_MAX (NSEC * 86400 * 3650)
/* An estimate leaving less than this plus the freeze's duration can't be
 * told from the thread's next call caught by the freeze before it slept
 * (see sleep_dump): the whole timeout is used then. */
#define LEFT_MIN (NSEC / 1000)
/* Calibration: up to CALIB_RUNS sched_yield stamps per CPU, of which
 * CALIB_CLEAN within a CLOCK_MONOTONIC window of CALIB_WINDOW_NS must
 * agree within CALIB_SLACK_NS. */
#define CALIB_RUNS 50
#define CALIB_CLEAN 4
#define CALIB_WINDOW_NS 50000
#define CALIB_SLACK_NS 20000
/* Rounds of it per CPU before its clock counts as unknown: another task
 * on that CPU, or the hypervisor, can spoil one round. */
#define CALIB_ROUNDS 4

struct sleep_call {
	int arg;          /* which argument is the timeout */
	uint64_t timeout; /* address of its struct timespec; 0: an int of ms */
	uint64_t rem;     /* where the kernel writes what is left; 0: nowhere */
	bool eintr;       /* a stop makes it return -EINTR: no restart block */
	bool forever;     /* no timeout: it waits until woken */
};

struct sleep_sample {
	pid_t tid;
	long nr;
	uint64_t args[6];
	uint64_t timeout_ns;
	uint64_t exec;                /* when it went to sleep: scheduler clock of ... */
	int cpu;                      /* ... this CPU */
	uint64_t nvcsw[2];            /* voluntary switches before the freeze, after */
	bool ok;                      /* slept_ns holds how long it slept */
	uint64_t slept_ns;
};

struct sleep_census {
	struct sleep_sample *v;
	size_t n, cap;
	uint64_t t_freeze, t_frozen;  /* CLOCK_MONOTONIC before and after the freeze */
	int64_t off[CPU_SETSIZE];     /* CLOCK_MONOTONIC - scheduler clock, per CPU */
	bool has_off[CPU_SETSIZE];
	pthread_t cal;                /* measures off while the freeze goes on */
	bool cal_running;
	atomic_bool cal_stop;         /* no one needs its answer: end soon */
	bool settled;                 /* slept_ns worked out (census_settle) */
};

/* A call whose relative timeout the kernel continues through a restart
 * block, or one that a stop ends with -EINTR (eintr), and where its
 * timeout is. */
static bool sleep_call(long nr, const uint64_t a[6], struct sleep_call *c)
{
	memset(c, 0, sizeof(*c));
	switch (nr) {
	case __NR_nanosleep:
		*c = (struct sleep_call){ .arg = 0, .timeout = a[0], .rem = a[1] };
		return c->timeout != 0;
	case __NR_clock_nanosleep:
		/* TIMER_ABSTIME deadlines restart as they are; a CPU-time
		 * clock doesn't run while the container is away anyway. */
		if (a[1] & TIMER_ABSTIME)
			return false;
		if (a[0] != CLOCK_REALTIME && a[0] != CLOCK_MONOTONIC && a[0] != CLOCK_BOOTTIME && a[0] != CLOCK_TAI)
			return false;
		*c = (struct sleep_call){ .arg = 2, .timeout = a[2], .rem = a[3] };
		return c->timeout != 0;
	case __NR_poll:
		c->arg = 2;
		return (int)a[2] >= 0;
	case __NR_futex:
		/* FUTEX_WAIT's timeout is relative, FUTEX_WAIT_BITSET's absolute. */
		if ((a[1] & FUTEX_CMD_MASK) != FUTEX_WAIT || !a[3])
			return false;
		*c = (struct sleep_call){ .arg = 3, .timeout = a[3] };
		return true;
	case __NR_epoll_wait:
	case __NR_epoll_pwait:
		/* milliseconds: < 0 waits for ever, 0 never sleeps */
		*c = (struct sleep_call){ .arg = 3, .eintr = true, .forever = (int)a[3] < 0 };
		return (int)a[3] != 0;
	case __NR_epoll_pwait2:
	case __NR_semtimedop:
		*c = (struct sleep_call){ .arg = 3, .timeout = a[3], .eintr = true, .forever = !a[3] };
		return true;
	case __NR_semop:
		*c = (struct sleep_call){ .eintr = true, .forever = true };
		return true;
	}
	return false;
}

static int ts_ns(const struct timespec *ts, uint64_t *ret)
{
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || (uint64_t)ts->tv_nsec >= NSEC || (uint64_t)ts->tv_sec >= LEFT_MAX / NSEC)
		return -ERANGE;
	*ret = (uint64_t)ts->tv_sec * NSEC + (uint64_t)ts->tv_nsec;
	return 0;
}

static int read_ts(pid_t tid, uint64_t addr, uint64_t *ret)
{
	struct timespec ts;
	int r = rtask_read(tid, addr, &ts, sizeof(ts));

	return r < 0 ? r : ts_ns(&ts, ret);
}

static int read_timeout(pid_t tid, const struct sleep_call *c, const uint64_t a[6], uint64_t *ret)
{
	if (!c->timeout) {
		*ret = (uint64_t)(int)a[c->arg] * (NSEC / 1000);
		return 0;
	}
	return read_ts(tid, c->timeout, ret);
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * NSEC + (uint64_t)t.tv_nsec;
}

/* The value of "KEY   : VALUE" in a /proc/PID/sched text. */
static const char *sched_field(const char *buf, const char *key)
{
	size_t n = strlen(key);
	const char *l;

	for (l = buf; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, key, n) && (l[n] == ' ' || l[n] == ':'))
			return strchr(l, ':') ? strchr(l, ':') + 1 : NULL;
	return NULL;
}

int sleep_parse_sched(const char *buf, uint64_t *ret_exec, uint64_t *ret_nvcsw)
{
	const char *e, *v;
	char *end;
	uint64_t ms, ns;

	e = sched_field(buf, "se.exec_start");
	v = sched_field(buf, "nr_voluntary_switches");
	if (!e || !v)
		return -EINVAL;
	ms = strtoull(e, &end, 10);
	if (*end != '.' || strspn(end + 1, "0123456789") != 6)
		return -EINVAL;
	ns = strtoull(end + 1, NULL, 10);
	*ret_exec = ms * 1000000 + ns;
	*ret_nvcsw = strtoull(v, &end, 10);
	if (end == v || (*end != '\n' && *end))
		return -EINVAL;
	return 0;
}

static int read_sched(pid_t tid, uint64_t *ret_exec, uint64_t *ret_nvcsw)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/sched", tid);
	r = proc_read_file(path, &buf, &len);
	return r < 0 ? r : sleep_parse_sched(buf, ret_exec, ret_nvcsw);
}

int sleep_thread_cpu(pid_t tid)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *s;
	size_t len;
	int r, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	s = strrchr(buf, ')');
	for (i = 0; s && i < 37; i++)       /* fields 3..39 follow ") " */
		s = strchr(s + 1, ' ');
	return s ? atoi(s + 1) : -EINVAL;
}

/* The call a blocked thread is in (/proc/TID/syscall: "NR ARG1..ARG6 SP PC"). */
static int read_syscall(pid_t tid, long *ret_nr, uint64_t a[6])
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	if (sscanf(buf, "%ld %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64,
		   ret_nr, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]) != 7)
		return -ENOENT;   /* running, or not in a system call */
	return 0;
}

static void sample(struct sleep_census *c, pid_t tid)
{
	struct sleep_sample s = { .tid = tid };
	struct sleep_call call;

	if (read_syscall(tid, &s.nr, s.args) < 0 || !sleep_call(s.nr, s.args, &call) || call.rem || call.forever)
		return;
	if (read_timeout(tid, &call, s.args, &s.timeout_ns) < 0 || read_sched(tid, &s.exec, &s.nvcsw[0]) < 0 ||
	    (s.cpu = sleep_thread_cpu(tid)) < 0)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct sleep_sample *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = s;
}

static void calibrate_start(struct sleep_census *c);

struct sleep_census *sleep_census_before(const char *cgroup_dir, bool v1)
{
	struct cgroup cg = { .v1 = v1 };
	struct sleep_census *c = calloc(1, sizeof(*c));
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0, i, k;

	snprintf(cg.dir, sizeof(cg.dir), "%s", cgroup_dir);
	if (!c || cgroup_pids(&cg, &pids, &n) < 0)
		return c;
	for (i = 0; i < n; i++) {
		_cleanup_free_ pid_t *tids = NULL;
		size_t nt = 0;

		if (proc_threads(pids[i], &tids, &nt) < 0)
			continue;
		for (k = 0; k < nt; k++)
			sample(c, tids[k]);
	}
	if (c->n)
		calibrate_start(c);
	c->t_freeze = mono_ns();
	return c;
}

/* sched_yield() stamps this thread's se.exec_start with the CPU's clock,
 * between two CLOCK_MONOTONIC reads. Every run must agree (a tick between
 * the yield and the read would move the stamp): else no answer. */
static int cpu_offset(int cpu, int64_t *ret, atomic_bool *stop)
{
	int64_t lo = INT64_MIN, hi = INT64_MAX;
	cpu_set_t set;
	int i, clean = 0;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (i = 0; i < CALIB_RUNS && clean < CALIB_CLEAN; i++) {
		if (stop && atomic_load(stop))
			return -ECANCELED;
		uint64_t a, b, e, nv;

		a = mono_ns();
		sched_yield();
		b = mono_ns();
		if (read_sched(gettid(), &e, &nv) < 0 || sched_getcpu() != cpu)
			return -EIO;
		/* A run that lost the CPU in between says little. */
		if (b - a > CALIB_WINDOW_NS)
			continue;
		clean++;
		lo = MAX(lo, (int64_t)(a - e));
		hi = MIN(hi, (int64_t)(b - e));
	}
	if (clean < CALIB_CLEAN || lo > hi + CALIB_SLACK_NS)
		return -ERANGE;
	*ret = lo;
	return 0;
}

int sleep_cpu_offset(int cpu, int64_t *ret)
{
	return cpu_offset(cpu, ret, NULL);
}

/* Offsets of the CPUs the samples ran on (those that prove not to have
 * slept through the freeze too: the census is taken before it is known). */
static void calibrate(struct sleep_census *c)
{
	cpu_set_t keep;
	bool tried[CPU_SETSIZE] = { false };
	size_t i;
	int round;

	if (sched_getaffinity(0, sizeof(keep), &keep) < 0)
		return;
	for (i = 0; i < c->n; i++) {
		int cpu = c->v[i].cpu;

		if (cpu < 0 || cpu >= CPU_SETSIZE || tried[cpu])
			continue;
		tried[cpu] = true;
		for (round = 0; round < CALIB_ROUNDS && !c->has_off[cpu] && !atomic_load(&c->cal_stop); round++) {
			if (round)
				usleep(200);
			c->has_off[cpu] = cpu_offset(cpu, &c->off[cpu], &c->cal_stop) >= 0;
		}
		if (!c->has_off[cpu])
			log_debug("CPU %d: no steady measure of its scheduler clock", cpu);
	}
	if (sched_setaffinity(0, sizeof(keep), &keep) < 0)
		log_error("restoring the worker's CPU affinity: %m");
}

static void *calibrate_main(void *arg)
{
	calibrate(arg);
	return NULL;
}

/* Under load a sched_yield on a busy CPU costs a time slice, and a clean
 * run may take tens of them: on a thread of its own the calibration runs
 * while the freeze reaches the tasks, rather than after, with the tasks
 * frozen. It takes no signal: the worker's handlers stay its own. */
static void calibrate_start(struct sleep_census *c)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	c->cal_running = pthread_create(&c->cal, NULL, calibrate_main, c) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void calibrate_join(struct sleep_census *c)
{
	if (c->cal_running)
		pthread_join(c->cal, NULL);
	c->cal_running = false;
}

void sleep_census_after(struct sleep_census *c)
{
	size_t i;
	int tries, read;

	if (!c)
		return;
	c->t_frozen = mono_ns();
	for (i = 0; i < c->n; i++) {
		struct sleep_sample *s = &c->v[i];
		uint64_t exec;

		/* The freezer reports frozen as each thread enters its trap,
		 * a moment before it switches out there. */
		for (tries = 0, read = 0; tries < 100; tries++) {
			if ((read = read_sched(s->tid, &exec, &s->nvcsw[1])) < 0 || s->nvcsw[1] != s->nvcsw[0])
				break;
			usleep(100);
		}
		/* No switch of its own since the sample but the freezer's: it
		 * slept in this call from its stamp until the freeze woke it.
		 * None yet, after the wait, says the same: woken, it is in the
		 * trap but another task holds its CPU. */
		s->ok = read >= 0 && s->nvcsw[1] >= s->nvcsw[0] && s->nvcsw[1] - s->nvcsw[0] <= 1;
		if (!s->ok)
			log_debug("thread %d: switched %" PRIu64 " times around the freeze", s->tid, s->nvcsw[1] - s->nvcsw[0]);
	}
	c->settled = false;
}

/* The clocks' offsets, once a left time is asked for: the calibration
 * goes on while the tree is listed, seized and read (under load its
 * yields wait for time slices, which the tasks frozen need not), and
 * what it gives is used only here. */
static void census_settle(struct sleep_census *c)
{
	size_t i;

	if (c->settled)
		return;
	c->settled = true;
	if (c->cal_running)
		calibrate_join(c);
	else
		calibrate(c);
	for (i = 0; i < c->n; i++) {
		struct sleep_sample *s = &c->v[i];
		int64_t t0;

		if (!s->ok || s->cpu >= CPU_SETSIZE || !c->has_off[s->cpu]) {
			s->ok = false;
			continue;
		}
		/* Up to the moment ckptd asked for the freeze, not the moment
		 * the thread took it: never more than it slept, so the call
		 * never ends early; late by how long the freeze took to
		 * reach it. */
		t0 = (int64_t)s->exec + c->off[s->cpu];
		s->ok = (int64_t)c->t_freeze >= t0;
		s->slept_ns = s->ok ? c->t_freeze - (uint64_t)t0 : 0;
	}
}

void sleep_census_free(struct sleep_census *c)
{
	/* never asked for (no sampled thread's left time was): not waited
	 * for either, past the yield it is in */
	if (c)
		atomic_store(&c->cal_stop, true);
	if (c)
		calibrate_join(c);
	if (c)
		free(c->v);
	free(c);
}

static const struct sleep_sample *census_find(const struct sleep_census *c, pid_t tid)
{
	size_t i;

	for (i = 0; c && i < c->n; i++)
		if (c->v[i].tid == tid)
			return &c->v[i];
	return NULL;
}

/* Asleep since the sample, or its next call, same timeout, caught by the
 * freeze in the instant before it slept? Then the sampled call ended
 * between the request to freeze and the freeze reaching the thread, and
 * what seems left is less than the freeze took: when so little seems
 * left, no answer. NULL and *ret_left_ns, or why there is no answer. */
static const char *census_left(const struct dump_ctx *ctx, pid_t tid, long nr, const uint64_t a[6],
			       const struct sleep_call *c, uint64_t *ret_left_ns)
{
	const struct sleep_sample *s;
	uint64_t timeout = 0;
	const char *why;

	if (ctx->sleeps)
		census_settle(ctx->sleeps);
	s = census_find(ctx->sleeps, tid);

	why = read_timeout(tid, c, a, &timeout) < 0 ? "its timeout is unreadable" :
	      !s ? "it was not asleep in it before the freeze" :
	      !s->ok ? "it ran between the sample and the freeze, or its CPU's clock is unknown" :
	      s->nr != nr || memcmp(s->args, a, sizeof(s->args)) || s->timeout_ns != timeout ? "it is another call than sampled" :
	      s->slept_ns + (ctx->sleeps->t_frozen - ctx->sleeps->t_freeze) + LEFT_MIN > timeout ? "too little seems left" :
	      NULL;
	if (why && s && s->ok)
		log_debug("thread %d: slept %" PRIu64 " ns of %" PRIu64 ", frozen in %" PRIu64 " ns", tid, s->slept_ns, timeout,
			  ctx->sleeps->t_frozen - ctx->sleeps->t_freeze);
	if (!why) {
		log_debug("thread %d: system call %ld: %" PRIu64 " of %" PRIu64 " ns left", tid, nr, timeout - s->slept_ns, timeout);
		*ret_left_ns = timeout - s->slept_ns;
	}
	return why;
}

/* A signal the thread does not block is pending: it ended the call as
 * much as the freeze did, and the program is to see -EINTR after its
 * handler. (mask: the one the call returns to, as seized: injections
 * block everything meanwhile.) Unknown counts as pending. */
static bool signal_waiting(pid_t tid, uint64_t mask)
{
	_cleanup_free_ char *buf = NULL;
	uint64_t pnd, shd;

	if (proc_status_text(tid, &buf) < 0 || proc_status_field(buf, "SigPnd", 16, &pnd) < 0 ||
	    proc_status_field(buf, "ShdPnd", 16, &shd) < 0)
		return true;
	return ((pnd | shd) & ~mask) != 0;
}

/* A call a stop ended with -EINTR: 1 if the thread is to go back into it
 * at restart (with *ret_left_ns of its timeout; 0 for a call without
 * one), 0 if it is to see -EINTR, as it would after any stop. */
static int eintr_dump(struct dump_ctx *ctx, pid_t tid, long nr, const uint64_t a[6], const struct sleep_call *c,
		      uint64_t sigmask, uint64_t *ret_left_ns)
{
	const char *why;

	if (signal_waiting(tid, sigmask)) {
		log_debug("thread %d: system call %ld returns EINTR: a signal is pending for it", tid, nr);
		return 0;
	}
	if (c->forever) {
		*ret_left_ns = 0;
		return 1;
	}
	why = census_left(ctx, tid, nr, a, c, ret_left_ns);
	if (why)
		log_debug("thread %d: system call %ld returns EINTR: %s", tid, nr, why);
	return !why;
}

int sleep_dump(struct dump_ctx *ctx, pid_t tid, const void *regs, uint64_t sigmask, uint64_t *ret_left_ns)
{
	struct sleep_call c;
	uint64_t a[6];
	const char *why;
	long nr, rv;

	if (!arch_regs_syscall(regs, &nr, a, &rv) || !sleep_call(nr, a, &c))
		return 0;
	if (c.eintr)
		return rv == -EINTR ? eintr_dump(ctx, tid, nr, a, &c, sigmask, ret_left_ns) : 0;
	if (rv != -ERESTART_RESTARTBLOCK)
		return 0;
	if (c.rem)
		/* The kernel wrote what was left there when the freezer
		 * interrupted the call. */
		return read_ts(tid, c.rem, ret_left_ns) >= 0;
	why = census_left(ctx, tid, nr, a, &c, ret_left_ns);
	if (why)
		log_debug("thread %d: system call %ld restarts with its whole timeout: %s", tid, nr, why);
	return !why;
}

int sleep_restore_check(const void *regs, uint64_t left_ns, char *why, size_t whylen)
{
	struct sleep_call c;
	uint64_t a[6];
	long nr, rv;

	if (!arch_regs_syscall(regs, &nr, a, &rv) || !sleep_call(nr, a, &c) ||
	    rv != (c.eintr ? -EINTR : -ERESTART_RESTARTBLOCK)) {
		snprintf(why, whylen, "a timeout left, but not stopped in a call with a relative timeout");
		return -EINVAL;
	}
	if (c.forever && left_ns) {
		snprintf(why, whylen, "a timeout left for a call that has none");
		return -EINVAL;
	}
	if (left_ns >= LEFT_MAX) {
		snprintf(why, whylen, "timeout left out of range");
		return -ERANGE;
	}
	return 0;
}

/* Call it again with left_ns instead of its timeout (the program's own
 * timespec holds it for the moment of the call: the kernel reads it only
 * at entry), interrupted at once: the new restart block counts from now.
 * -EFAULT: it can't be done here (no system call instruction before the
 * ip, a timespec we can't write), nothing changed. */
static int call_again(struct rtask *rt, const void *regs, long nr, const uint64_t a[6], uint64_t left_ns, long *ret)
{
	struct timespec keep, ts = { (time_t)(left_ns / NSEC), (long)(left_ns % NSEC) };
	unsigned char insn[8];
	uint64_t at = arch_regs_ip(regs) - arch_syscall_insn_len;
	unsigned long args[6];
	struct sleep_call c;
	int i, r, w = 0;

	sleep_call(nr, a, &c);
	for (i = 0; i < 6; i++)
		args[i] = a[i];
	/* It stopped right after a system call instruction: the kernel's
	 * own restart runs that one again, and so do we. */
	if (rtask_read(rt->pid, at, insn, arch_syscall_insn_len) < 0 || memcmp(insn, arch_syscall_insn, arch_syscall_insn_len))
		return -EFAULT;
	if (!c.timeout)
		args[c.arg] = (unsigned long)MIN((left_ns + NSEC / 1000 - 1) / (NSEC / 1000), (uint64_t)INT_MAX);
	else if (rtask_read(rt->pid, c.timeout, &keep, sizeof(keep)) < 0 || rtask_write(rt->pid, c.timeout, &ts, sizeof(ts)) < 0)
		return -EFAULT;
	r = arch_inject_syscall_interrupted(rt->pid, regs, at, nr, args, ret);
	if (c.timeout)
		w = rtask_write(rt->pid, c.timeout, &keep, sizeof(keep));
	return r < 0 ? r : w < 0 ? -EIO : 0;
}

/* A call that a stop ends with -EINTR has no restart block: the thread
 * goes back into the call itself, with what was left of its timeout, and
 * waits in its syscall-entry stop for the detach to let the kernel run
 * it. No handler can run in between, so a timespec put below the stack's
 * red zone is still there when the kernel reads it. The program sees the
 * call return as it would have without the checkpoint; only the register
 * of the timeout argument (caller-saved, and no wrapper reads it back)
 * holds the time left, or that timespec's address, instead of its own.
 * -EFAULT: it can't be done here, nothing changed. */
static int reenter(struct rtask *rt, void *regs, long nr, const uint64_t a[6], uint64_t left_ns)
{
	struct timespec ts = { (time_t)(left_ns / NSEC), (long)(left_ns % NSEC) };
	uint64_t at = arch_regs_ip(regs) - arch_syscall_insn_len;
	unsigned char insn[8];
	unsigned long args[6];
	struct sleep_call c;
	int i, r;

	sleep_call(nr, a, &c);
	for (i = 0; i < 6; i++)
		args[i] = a[i];
	if (rtask_read(rt->pid, at, insn, arch_syscall_insn_len) < 0 || memcmp(insn, arch_syscall_insn, arch_syscall_insn_len))
		return -EFAULT;
	if (!c.forever && c.timeout) {
		uint64_t sp = (arch_regs_sp(regs) - arch_red_zone - sizeof(ts)) & ~(uint64_t)15;

		if (rtask_write(rt->pid, sp, &ts, sizeof(ts)) < 0)
			return -EFAULT;
		args[c.arg] = sp;
	} else if (!c.forever) {
		args[c.arg] = (unsigned long)MIN((left_ns + NSEC / 1000 - 1) / (NSEC / 1000), (uint64_t)INT_MAX);
	}
	r = arch_enter_syscall(rt->pid, regs, at, nr, args);
	if (r < 0)
		return r == -EFAULT ? -EIO : r;
	arch_regs_set_syscall_entry(regs, nr, args);
	rt->in_call = true;
	return 0;
}

/* PTRACE_DETACH wakes a task in a ptrace stop as a signal would, and the
 * call would see a signal pending and return -EINTR at once. Resumed
 * instead, it runs the call still traced (no longer killed with us), and
 * the worker's exit detaches it without a wake-up: it is not stopped. */
void sleep_release(pid_t tid)
{
	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, NULL) < 0 || ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
		log_error("task %d: resuming it into its system call: %m", tid);
}

int sleep_restore(struct restore_ctx *ctx, struct rtask *rt, void *regs, bool has, uint64_t left_ns, const char *what)
{
	struct sleep_call c;
	uint64_t a[6];
	long nr = 0, rv, ret = 0;
	int r = -EFAULT;

	if (has && arch_regs_syscall(regs, &nr, a, &rv) && sleep_call(nr, a, &c) && c.eintr) {
		r = reenter(rt, regs, nr, a, left_ns);
		if (r == -EFAULT)
			log_warn("%s: system call %ld returns EINTR: it can't be entered again here", what, nr);
		else if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "%s: entering its system call %ld again", what, nr);
		if (r < 0)
			arch_regs_prepare_resume(regs, false);
		return 0;
	}
	if (has) {
		arch_regs_syscall(regs, &nr, a, &rv);
		r = call_again(rt, regs, nr, a, left_ns, &ret);
		if (r == -EFAULT)
			log_warn("%s: system call %ld restarts with its whole timeout: its timeout can't be set", what, nr);
		else if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "%s: calling its sleeping system call %ld again", what, nr);
	}
	if (r < 0) {
		arch_regs_prepare_resume(regs, false);
		return 0;
	}
	/* What the call returned (its restart, or its result if it had
	 * nothing left to wait for), resumed as in a live task. */
	arch_regs_set_syscall_return(regs, nr, ret);
	arch_regs_prepare_resume(regs, true);
	return 0;
}
