// SPDX-License-Identifier: GPL-2.0-or-later
/* A remote task: a ptrace-seized task we read, write and run syscalls in. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct rtask {
	pid_t pid;                       /* host pid (== tid: single-threaded) */
	struct user_regs_struct regs;    /* as seized: restored by rtask_release */
	uint64_t sigmask;                /* as seized */
	uint64_t insn;                   /* address of a syscall instruction in it */
	bool prepared;                   /* signals blocked for injection */
	bool counted;                    /* in the ledger (rtask_block to rtask_restore) */
	bool in_call;                    /* handed off in a syscall-entry stop (sleep_release) */
	int broken;                      /* first ptrace failure (-errno) */
};

/* What a worker borrows, for its parent to read if it dies: the tasks
 * whose registers and signal mask it holds right now. A checkpoint
 * records them (borrow.h) and keeps their cgroup frozen, so the next
 * recovery puts them back; wherever that can't be (a restart's own new
 * tasks, a v1 freezer, the moment an injected call runs) a borrowed task
 * has PTRACE_O_EXITKILL: a worker killed then takes the task with it, so
 * that no task ever resumes with borrowed registers, a blocked signal
 * mask, or inside an injected call. */
struct rtask_ledger {
	int32_t borrowed;                /* tasks prepared and not yet restored */
	int32_t pid;                     /* the last of them (host pid) */
	int32_t unsafe;                  /* steps no recovery undoes, open (borrow_unsafe_begin) */
	int32_t unsafe_step;             /* ... the outermost (enum borrow_step) */
};
/* Where rtask_prepare and rtask_restore keep count (NULL: nowhere). */
void rtask_set_ledger(struct rtask_ledger *l);
/* The number of open unsafe windows (borrow.h) and the outermost one's
 * step, for the worker's parent. */
void rtask_ledger_unsafe(int32_t n, int32_t step);

/* PTRACE_SEIZE + PTRACE_INTERRUPT and wait for the stop. exitkill: the task
 * dies if we do (restore side); never for checkpoint. */
int rtask_seize(pid_t pid, bool exitkill);
/* Wait for a seized task's interrupt stop. */
int rtask_wait_stop(pid_t pid);

/* Read regs and mask, block all signals so injected syscalls can't be
 * interrupted. insn: where a syscall instruction lives (see rtask_find_insn). */
int rtask_prepare(struct rtask *t, pid_t pid);
/* rtask_prepare in two steps, for a caller that records what it saved
 * (borrow.h) before it changes anything: read regs and mask, then block. */
int rtask_save(struct rtask *t, pid_t pid);
int rtask_block(struct rtask *t);
/* Find a syscall instruction in the task's [vdso] (any r-x mapping as fallback). */
int rtask_find_insn(struct rtask *t);
/* Run syscall nr in the task. Returns its result (-errno on failure); a
 * ptrace failure returns -ESRCH-style errors and sets t->broken. */
long rtask_syscall(struct rtask *t, long nr, unsigned long a0, unsigned long a1, unsigned long a2,
		   unsigned long a3, unsigned long a4, unsigned long a5);
#define rsys(t, nr, ...) rtask_syscall_n(t, nr, __VA_ARGS__)
#define rtask_syscall_n(t, nr, ...) rtask_syscall_(t, nr, __VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define rtask_syscall_(t, nr, a, b, c, d, e, f, ...) rtask_syscall(t, nr, (unsigned long)(a), \
	(unsigned long)(b), (unsigned long)(c), (unsigned long)(d), (unsigned long)(e), (unsigned long)(f))

/* Copy memory to/from the task (process_vm_*; /proc/PID/mem for pages our
 * protections forbid). Returns 0 or -errno (-EIO on a short copy). */
int rtask_read(pid_t pid, uint64_t addr, void *buf, size_t len);
int rtask_write(pid_t pid, uint64_t addr, const void *buf, size_t len);

/* struct ptrace_rseq_configuration (PTRACE_GET_RSEQ_CONFIGURATION). */
struct rtask_rseq_config {
	uint64_t ptr;
	uint32_t size, sig, flags, pad;
};
int rtask_rseq_config(pid_t pid, struct rtask_rseq_config *ret);

/* Put the seized registers and mask back (checkpoint side). */
int rtask_restore(struct rtask *t);
/* The task died while prepared: nothing to put back; out of the ledger. */
void rtask_forget(struct rtask *t);
