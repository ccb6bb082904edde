// SPDX-License-Identifier: GPL-2.0-or-later
/* Sleeping system calls across checkpoint and restart.
 *
 * A thread stopped in nanosleep, clock_nanosleep, poll or a futex wait with
 * a relative timeout has its deadline in the kernel's restart block, which
 * a restored task doesn't have. Checkpoint saves how much of the timeout was
 * left at the freeze; restart calls the same system call again with that
 * much, interrupted before it can sleep, so that the kernel builds a new
 * restart block, and hands the thread off into restart_syscall with its own
 * registers untouched. Only the time the container ran counts.
 *
 * epoll_wait, epoll_pwait, epoll_pwait2, semop and semtimedop have no
 * restart block: the freeze ends them with -EINTR. Unless a signal the
 * thread doesn't block is pending (which ends them as well), restart puts
 * the thread back into the same call, with what was left of its timeout,
 * in a syscall-entry stop that the hand-off's detach lets run; the
 * program never sees the -EINTR. Where what was left can't be told, the
 * program sees -EINTR, as after any stop of the task.
 *
 * Where the left time comes from:
 * - the call has a rem/rmtp pointer: the kernel wrote it there at the
 *   freeze (exact);
 * - otherwise (poll, futex, nanosleep without rem): the timeout minus the
 *   time the thread slept until ckptd asked for the freeze, which began
 *   when it last switched out (/proc/TID/sched se.exec_start, read just
 *   before the freeze, in the scheduler clock of its CPU, mapped to
 *   CLOCK_MONOTONIC by a measure on that CPU). Used only if the thread
 *   switched exactly once (into the freezer) in between and its call and
 *   timeout are the ones sampled; else the whole timeout is used again,
 *   as before. Never early: it went to sleep after it armed its timer and
 *   the freeze reached it after ckptd asked.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct dump_ctx;
struct restore_ctx;
struct rtask;
struct sleep_census;

/* Before the freeze: every thread of the cgroup asleep in a call whose
 * left time only the kernel knows, with when it went to sleep. Failing to
 * sample is not an error: those threads restart with their whole timeout. */
struct sleep_census *sleep_census_before(const char *cgroup_dir, bool v1);
/* Right after the freeze, before anything else wakes the threads. */
void sleep_census_after(struct sleep_census *c);
void sleep_census_free(struct sleep_census *c);

/* Checkpoint: the left time of a thread (host tid) whose seized registers
 * are regs and signal mask sigmask (as seized: PTRACE_GETSIGMASK's, the
 * one a call with its own mask returns to), if it sleeps in such a call:
 * 1 and *ret_left_ns, or 0. */
int sleep_dump(struct dump_ctx *ctx, pid_t tid, const void *regs, uint64_t sigmask, uint64_t *ret_left_ns);

/* Restore, at record time: the left time makes sense for those registers
 * (why: what is wrong). */
int sleep_restore_check(const void *regs, uint64_t left_ns, char *why, size_t whylen);
/* Hand-off: regs (the thread's saved context, modified in place) resume
 * the way the kernel resumes a stopped task; with a left time, through a
 * fresh restart block with that much left. rt: the thread, seized and
 * ready for injection; what names it in errors. */
int sleep_restore(struct restore_ctx *ctx, struct rtask *rt, void *regs, bool has, uint64_t left_ns, const char *what);
/* Instead of PTRACE_DETACH, for a thread that sleep_restore left in the
 * entry stop of its call (rt->in_call): the caller exits soon after, which
 * detaches it. */
void sleep_release(pid_t tid);

/* Parts, for tests. se.exec_start (ns: the scheduler clock of the thread's
 * CPU when it last stopped running) and nr_voluntary_switches from a
 * /proc/TID/sched text. */
int sleep_parse_sched(const char *buf, uint64_t *ret_exec, uint64_t *ret_nvcsw);
/* The CPU a thread last ran on (/proc/TID/stat field 39). */
int sleep_thread_cpu(pid_t tid);
/* CLOCK_MONOTONIC minus cpu's scheduler clock (ns), measured by running
 * there: leaves this thread's affinity set to cpu. */
int sleep_cpu_offset(int cpu, int64_t *ret);
