// SPDX-License-Identifier: GPL-2.0-or-later
/* x86_64 general registers and extended state through ptrace regsets. */
#include "arch.h"
#include <asm/unistd.h>
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

const char arch_name[] = "x86_64";

size_t arch_regs_size(void)
{
	return sizeof(struct user_regs_struct);
}

static int regset(int req, pid_t tid, int type, void *buf, size_t len, size_t *ret_len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	if (ptrace(req, tid, (void *)(long)type, &iov) < 0)
		return -errno;
	if (ret_len)
		*ret_len = iov.iov_len;
	return 0;
}

int arch_get_regs(pid_t tid, void *regs)
{
	size_t n = 0;
	int r = regset(PTRACE_GETREGSET, tid, NT_PRSTATUS, regs, sizeof(struct user_regs_struct), &n);

	if (r < 0)
		return r;
	return n == sizeof(struct user_regs_struct) ? 0 : -EIO;
}

int arch_set_regs(pid_t tid, const void *regs)
{
	return regset(PTRACE_SETREGSET, tid, NT_PRSTATUS, (void *)regs, sizeof(struct user_regs_struct), NULL);
}

int arch_get_xstate(pid_t tid, void *buf, size_t cap, size_t *ret_len)
{
	return regset(PTRACE_GETREGSET, tid, NT_X86_XSTATE, buf, cap, ret_len);
}

int arch_set_xstate(pid_t tid, const void *buf, size_t len)
{
	return regset(PTRACE_SETREGSET, tid, NT_X86_XSTATE, (void *)buf, len, NULL);
}

int arch_xstate_info(uint64_t *ret_xfeatures, uint32_t *ret_size)
{
	unsigned a, b, c, d;
	uint32_t lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return -EOPNOTSUPP;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	__cpuid_count(0xd, 0, a, b, c, d);
	*ret_xfeatures = ((uint64_t)hi << 32) | lo;
	*ret_size = b;   /* XSAVE area size for the features enabled in XCR0 */
	return 0;
}

/* In ptrace's NT_X86_XSTATE layout (struct user_xstateregs) the first
 * software-reserved word of the legacy area (bytes 464..471,
 * USER_XSTATE_XCR0_WORD) holds the feature mask the kernel saved with; the
 * _fpx_sw_bytes magic lives there only in signal frames. */
uint64_t arch_xstate_features(const void *buf, size_t len)
{
	uint64_t xfeatures;

	if (len < 472)
		return 0;
	memcpy(&xfeatures, (const char *)buf + 464, sizeof(xfeatures));
	return xfeatures;
}

static bool canonical(uint64_t a)
{
	return a < 0x0000800000000000ull;
}

int arch_regs_validate(const void *regs, size_t len, char *why, size_t whylen)
{
	const struct user_regs_struct *r = regs;

	if (len != sizeof(*r)) {
		snprintf(why, whylen, "register blob is %zu bytes, expected %zu", len, sizeof(*r));
		return -EINVAL;
	}
	/* 64-bit user code and stack selectors only (0x33, 0x2b). */
	if (r->cs != 0x33 || r->ss != 0x2b) {
		snprintf(why, whylen, "cs/ss %#llx/%#llx are not 64-bit user selectors", r->cs, r->ss);
		return -EINVAL;
	}
	if (!canonical(r->rip) || !canonical(r->rsp) || !canonical(r->fs_base) || !canonical(r->gs_base)) {
		snprintf(why, whylen, "ip/sp/fs/gs base outside the user address space");
		return -EINVAL;
	}
	return 0;
}

void arch_regs_prepare_resume(void *regs, bool live)
{
	struct user_regs_struct *r = regs;

	if ((long)r->orig_rax >= 0) {
		switch ((long)r->rax) {
		case -ERESTARTSYS:
		case -ERESTARTNOINTR:
		case -ERESTARTNOHAND:
			/* No handler runs: the kernel re-executes the call. */
			r->rax = r->orig_rax;
			r->rip -= 2;
			break;
		case -ERESTART_RESTARTBLOCK:
			/* restart_syscall in a new task would report -EINTR,
			 * which the program never asked to see: calling again
			 * waits up to the full time again, which any of these
			 * calls may do anyway (the arguments are in place). */
			if (!live && (long)r->orig_rax == __NR_restart_syscall) {
				r->rax = -EINTR;   /* what it restarted is gone */
				break;
			}
			r->rax = live ? __NR_restart_syscall : r->orig_rax;
			r->rip -= 2;
			break;
		}
	}
	r->orig_rax = (unsigned long long)-1;
}

bool arch_regs_syscall(const void *regs, long *ret_nr, uint64_t args[6], long *ret_rv)
{
	const struct user_regs_struct *r = regs;

	if ((long)r->orig_rax < 0)
		return false;
	*ret_nr = (long)r->orig_rax;
	args[0] = r->rdi;
	args[1] = r->rsi;
	args[2] = r->rdx;
	args[3] = r->r10;
	args[4] = r->r8;
	args[5] = r->r9;
	*ret_rv = (long)r->rax;
	return true;
}

void arch_regs_set_syscall_return(void *regs, long nr, long rv)
{
	struct user_regs_struct *r = regs;

	r->orig_rax = (unsigned long long)nr;
	r->rax = (unsigned long long)rv;
}

void arch_regs_set_syscall_entry(void *regs, long nr, const unsigned long args[6])
{
	struct user_regs_struct *r = regs;

	r->orig_rax = (unsigned long long)nr;
	r->rax = (unsigned long long)-ENOSYS;
	r->rdi = args[0];
	r->rsi = args[1];
	r->rdx = args[2];
	r->r10 = args[3];
	r->r8 = args[4];
	r->r9 = args[5];
}

const size_t arch_red_zone = 128;

uint64_t arch_regs_ip(const void *regs)
{
	return ((const struct user_regs_struct *)regs)->rip;
}

void arch_regs_set_ip(void *regs, uint64_t ip)
{
	((struct user_regs_struct *)regs)->rip = ip;
}

uint64_t arch_regs_sp(const void *regs)
{
	return ((const struct user_regs_struct *)regs)->rsp;
}
