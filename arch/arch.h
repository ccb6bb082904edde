// SPDX-License-Identifier: GPL-2.0-or-later
/* The one arch contract: everything that knows registers.
 * Register sets travel as opaque blobs (the image stores them as bytes);
 * only arch/<arch>/ interprets them. All functions work on a ptrace-stopped
 * task and return 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

extern const char arch_name[];            /* "x86_64" */
#define ARCH_XSTATE_MAX (32u << 10)       /* bound for xstate blobs from images */
#define ARCH_O_LARGEFILE 0100000          /* the kernel's (glibc's O_LARGEFILE is 0 on 64-bit) */

/* struct sigaction as the rt_sigaction system call takes it on this arch. */
struct arch_ksigaction {
	uint64_t handler, flags, restorer, mask;
};

/* General registers (incl. TLS bases) as one blob of arch_regs_size() bytes. */
size_t arch_regs_size(void);
int arch_get_regs(pid_t tid, void *regs);
int arch_set_regs(pid_t tid, const void *regs);

/* Extended state (FPU/SSE/AVX/...). */
int arch_get_xstate(pid_t tid, void *buf, size_t cap, size_t *ret_len);
int arch_set_xstate(pid_t tid, const void *buf, size_t len);
/* Features enabled on this CPU/kernel and the xstate blob size they need. */
int arch_xstate_info(uint64_t *ret_xfeatures, uint32_t *ret_size);
/* Features recorded inside an xstate blob (0 if it can't tell). */
uint64_t arch_xstate_features(const void *buf, size_t len);

/* Image regs are hostile: check a blob could be a user context of this arch. */
int arch_regs_validate(const void *regs, size_t len, char *why, size_t whylen);
/* A task stopped inside a system call: make the context resume the way the
 * kernel would have restarted the call, and clear the in-syscall marker so
 * nothing rewinds it again. A call with a restart block (nanosleep, poll,
 * futex waits with a timeout) continues through restart_syscall in the
 * task that has the block (live); a restored task has none (!live): it
 * calls the same system call again, with its saved arguments, unless the
 * engine gave it a new block first (daemon/cr/sleep.c). */
void arch_regs_prepare_resume(void *regs, bool live);
/* The system call a context is stopped in: false if none, else its number,
 * its six arguments and what it returned so far (-ERESTART_* while a stop
 * interrupts it). */
bool arch_regs_syscall(const void *regs, long *ret_nr, uint64_t args[6], long *ret_rv);
/* Make the context one in which system call nr just returned rv, for
 * arch_regs_prepare_resume to finish the way the kernel would. */
void arch_regs_set_syscall_return(void *regs, long nr, long rv);
uint64_t arch_regs_ip(const void *regs);
void arch_regs_set_ip(void *regs, uint64_t ip);
uint64_t arch_regs_sp(const void *regs);
/* Make the context one stopped at the entry of system call nr with args,
 * its ip right after the instruction (as the kernel has it at a
 * syscall-entry stop): what a task resumed from such a stop then runs. */
void arch_regs_set_syscall_entry(void *regs, long nr, const unsigned long args[6]);
/* Below this many bytes under the stack pointer, memory is free for
 * anyone (the ABI's red zone is above it). */
extern const size_t arch_red_zone;

/* The system call instruction, to find one in a task or plant one. */
extern const unsigned char arch_syscall_insn[];
extern const size_t arch_syscall_insn_len;
/* Code for a restorer's scratch page: the system call instruction that
 * injections use, then a loop calling pause() forever. A task forked (or a
 * thread cloned) by an injected call returns right after the instruction,
 * into the loop, and waits there, all signals blocked, to be seized. */
extern const unsigned char arch_scratch_code[];
extern const size_t arch_scratch_code_len;

/* Many system calls in one go: arch_batch_code, copied into the task at
 * code_addr, runs the n calls of the table at table_addr in order and
 * writes each result into its entry. Signals must be blocked (as for
 * arch_inject_syscall). Returns 0 once the task stopped at the end. */
struct arch_call {
	uint64_t nr;
	uint64_t args[6];
	int64_t ret;
};
_Static_assert(sizeof(struct arch_call) == 64, "arch_batch_code walks 64-byte entries");
extern const unsigned char arch_batch_code[], arch_batch_code_end[];
/* The signal of the batch's final stop. The kernel forces it: if it is
 * blocked (as all are during injection) or ignored, its action is reset to
 * SIG_DFL and it is unblocked, so the caller must put the action back. */
#define ARCH_BATCH_STOP_SIG 5   /* SIGTRAP, from the int3 */
int arch_run_batch(pid_t tid, const void *base, uint64_t code_addr, uint64_t table_addr, unsigned n);

/* Run one system call inside a ptrace-stopped task: start from `base` regs,
 * execute the syscall instruction at insn_addr, stop at syscall exit.
 * The task's signals must be blocked by the caller (PTRACE_SETSIGMASK).
 * On return the task sits in a syscall-exit stop; the caller restores regs.
 * Returns 0 with *ret the syscall's return value, or -errno if ptrace failed. */
int arch_inject_syscall(pid_t tid, const void *base, uint64_t insn_addr, long nr,
			const unsigned long args[6], long *ret);

/* Knobs of this arch a task sets on itself (prctl/arch_prctl) and only
 * it can read: each is read by an injected getter, checked (what can't be
 * restored is refused at checkpoint, and again when an image says so),
 * and set back by injected setters. Values travel as u64, by index. */
enum arch_knob_scope { ARCH_KNOB_THREAD, ARCH_KNOB_PROCESS };
unsigned arch_knob_count(enum arch_knob_scope scope);
const char *arch_knob_name(enum arch_knob_scope scope, unsigned i);
/* The getter call; out: a u64 in the task it may write through. */
struct arch_call arch_knob_get(enum arch_knob_scope scope, unsigned i, uint64_t out);
/* The value from the getter's result and *out (a getter this kernel
 * lacks reads as the default). */
uint64_t arch_knob_value(enum arch_knob_scope scope, unsigned i, int64_t ret, uint64_t out);
/* 0, or -EOPNOTSUPP with the reason in why: the value can't be restored. */
int arch_knob_check(enum arch_knob_scope scope, unsigned i, uint64_t value, char *why, size_t whylen);
/* Up to ARCH_KNOB_SET_MAX setter calls into calls; returns how many
 * (0: the default, nothing to do). */
#define ARCH_KNOB_SET_MAX 2
size_t arch_knob_set(enum arch_knob_scope scope, unsigned i, uint64_t value, struct arch_call *calls);
/* The same, with a PTRACE_INTERRUPT pending when the call starts: a call
 * that would sleep returns at once as a stop makes it return, and one with
 * a restart block (nanosleep, poll, futex waits with a timeout) leaves that
 * block, deadline set, in the task, for restart_syscall to continue. The
 * interrupt stays pending until the next stop or PTRACE_DETACH. */
/* Start system call nr with args from `base` regs at the syscall
 * instruction at insn_addr and leave the task in its syscall-entry stop:
 * the call runs, with the arguments the context holds then, when the task
 * is resumed (PTRACE_DETACH included). Signals must be blocked, as for
 * arch_inject_syscall. */
int arch_enter_syscall(pid_t tid, const void *base, uint64_t insn_addr, long nr, const unsigned long args[6]);
int arch_inject_syscall_interrupted(pid_t tid, const void *base, uint64_t insn_addr, long nr,
				    const unsigned long args[6], long *ret);
