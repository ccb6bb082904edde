// SPDX-License-Identifier: GPL-2.0-or-later
/* Remote system calls: point the task at a syscall instruction, let it run
 * exactly that instruction under PTRACE_SYSCALL, collect the result. */
#include "arch.h"
#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

const unsigned char arch_syscall_insn[] = { 0x0f, 0x05 };
const size_t arch_syscall_insn_len = sizeof(arch_syscall_insn);

const unsigned char arch_scratch_code[] = {
	0x0f, 0x05,                     /* 0: syscall            (injections) */
	0xb8, 0x22, 0x00, 0x00, 0x00,   /* 2: mov $34, %eax      (__NR_pause) */
	0x0f, 0x05,                     /* 7: syscall */
	0xeb, 0xf7,                     /* 9: jmp 2 */
};
const size_t arch_scratch_code_len = sizeof(arch_scratch_code);

/* Resume to the next syscall stop (entry or exit) of tid. */
static int syscall_step(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0)
		return -errno;
	for (;;) {
		pid_t w = waitpid(tid, &status, __WALL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))
			return 0;
		/* Signals are blocked by the caller; anything else (a
		 * group-stop, an event) is unexpected: let it go on. */
		if (WIFSTOPPED(status) && (status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP) {
			if (ptrace(PTRACE_SYSCALL, tid, NULL, (void *)(long)WSTOPSIG(status)) < 0)
				return -errno;
			continue;
		}
		if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0)
			return -errno;
	}
}

/* Up to the entry stop of call nr at insn_addr. */
static int enter(pid_t tid, const void *base, uint64_t insn_addr, long nr, const unsigned long args[6])
{
	struct user_regs_struct r = *(const struct user_regs_struct *)base;
	int e;

	r.rip = insn_addr;
	r.rax = nr;
	r.orig_rax = (unsigned long long)-1;   /* not in a syscall: nothing to restart */
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	e = arch_set_regs(tid, &r);
	return e < 0 ? e : syscall_step(tid);
}

int arch_enter_syscall(pid_t tid, const void *base, uint64_t insn_addr, long nr, const unsigned long args[6])
{
	return enter(tid, base, insn_addr, nr, args);
}

static int inject(pid_t tid, const void *base, uint64_t insn_addr, long nr,
		  const unsigned long args[6], bool interrupt, long *ret)
{
	struct user_regs_struct r;
	int e;

	e = enter(tid, base, insn_addr, nr, args);
	if (e < 0)
		return e;
	/* Pending from the start, the interrupt makes a sleeping call
	 * return before it sleeps; the syscall-exit stop comes before the
	 * interrupt's own. */
	if (interrupt && ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
		return -errno;
	e = syscall_step(tid);          /* exit */
	if (e < 0)
		return e;
	e = arch_get_regs(tid, &r);
	if (e < 0)
		return e;
	*ret = (long)r.rax;
	return 0;
}

int arch_inject_syscall(pid_t tid, const void *base, uint64_t insn_addr, long nr,
			const unsigned long args[6], long *ret)
{
	return inject(tid, base, insn_addr, nr, args, false, ret);
}

int arch_inject_syscall_interrupted(pid_t tid, const void *base, uint64_t insn_addr, long nr,
				    const unsigned long args[6], long *ret)
{
	return inject(tid, base, insn_addr, nr, args, true, ret);
}

/* Batches: many system calls for one stop. The task runs this code with
 * %r12 = a table of struct arch_call, %r13 = how many; each call's result
 * goes into its entry; int3 stops it at the end. Position independent. */
__asm__(".pushsection .rodata\n"
	".globl arch_batch_code\n"
	"arch_batch_code:\n"
	"1:	test %r13, %r13\n"
	"	jz 2f\n"
	"	mov 0(%r12), %rax\n"
	"	mov 8(%r12), %rdi\n"
	"	mov 16(%r12), %rsi\n"
	"	mov 24(%r12), %rdx\n"
	"	mov 32(%r12), %r10\n"
	"	mov 40(%r12), %r8\n"
	"	mov 48(%r12), %r9\n"
	"	syscall\n"
	"	mov %rax, 56(%r12)\n"
	"	add $64, %r12\n"
	"	dec %r13\n"
	"	jmp 1b\n"
	"2:	int3\n"
	".globl arch_batch_code_end\n"
	"arch_batch_code_end:\n"
	".popsection\n");

int arch_run_batch(pid_t tid, const void *base, uint64_t code_addr, uint64_t table_addr, unsigned n)
{
	struct user_regs_struct r = *(const struct user_regs_struct *)base;
	int status, e;

	r.rip = code_addr;
	r.r12 = table_addr;
	r.r13 = n;
	r.orig_rax = (unsigned long long)-1;
	e = arch_set_regs(tid, &r);
	if (e < 0)
		return e;
	if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
		return -errno;
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP && (status >> 16) == 0)
			return 0;   /* the int3: the trap is not delivered */
		/* anything else (signals are blocked): let it go on */
		if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
			return -errno;
	}
}
