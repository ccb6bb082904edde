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

int arch_inject_syscall(pid_t tid, const void *base, uint64_t insn_addr, long nr,
			const unsigned long args[6], long *ret)
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
	if (e < 0)
		return e;
	e = syscall_step(tid);          /* entry */
	if (e < 0)
		return e;
	e = syscall_step(tid);          /* exit */
	if (e < 0)
		return e;
	e = arch_get_regs(tid, &r);
	if (e < 0)
		return e;
	*ret = (long)r.rax;
	return 0;
}
