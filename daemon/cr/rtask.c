// SPDX-License-Identifier: GPL-2.0-or-later
/* Seizing tasks and running system calls inside them. */
#include "fault.h"
#include "rtask.h"
#include "borrow.h"
#include "arch.h"
#include "macro.h"
#include "proc.h"
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

int rtask_wait_stop(pid_t pid)
{
	int status;

	for (;;) {
		pid_t w = waitpid(pid, &status, __WALL);

		if (w < 0) {
			/* a cancel or the deadline (SIGTERM, SIGALRM) ends the wait */
			if (errno == EINTR && !cr_cancel_errno())
				continue;
			return errno == EINTR ? cr_cancel_errno() : -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* A signal-delivery stop before our interrupt trap: keep
		 * the signal queued for later by re-injecting it. */
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(status)) < 0)
			return -errno;
	}
}

int rtask_seize(pid_t pid, bool exitkill)
{
	long opts = PTRACE_O_TRACESYSGOOD | (exitkill ? PTRACE_O_EXITKILL : 0);

	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)opts) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0)
		return -errno;
	return 0;
}

static struct rtask_ledger *ledger;

void rtask_set_ledger(struct rtask_ledger *l)
{
	ledger = l;
}

static void ledger_note(pid_t pid, int delta)
{
	if (!ledger)
		return;
	__atomic_add_fetch(&ledger->borrowed, delta, __ATOMIC_SEQ_CST);
	if (delta > 0)
		__atomic_store_n(&ledger->pid, pid, __ATOMIC_SEQ_CST);
}

void rtask_ledger_unsafe(int32_t n, int32_t step)
{
	if (!ledger)
		return;
	/* the step first: a count the parent sees has its step */
	__atomic_store_n(&ledger->unsafe_step, step, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ledger->unsafe, n, __ATOMIC_SEQ_CST);
}

static int mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write);
static int vm_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write);

/* struct rseq_cs (linux/rseq.h), and where struct rseq holds its pointer. */
struct rseq_cs_desc {
	uint32_t version, flags;
	uint64_t start_ip, post_commit_offset, abort_ip;
};
#define RSEQ_CS_OFFSET 8

/* A thread stopped inside an rseq critical section: the kernel would
 * abort the section as it returns to user space after any preemption,
 * but a thread that returns from our injected calls returns elsewhere,
 * and the kernel then drops the section unaborted; put back where it
 * was, it would finish the section as if never preempted (on another
 * CPU, perhaps). So it is moved to the section's abort handler first,
 * and the section cleared, as the kernel does. Anything that does not
 * check out (no rseq, a call under way, a bad signature) is left as it is. */
static void rseq_abort(struct rtask *t)
{
	struct rtask_rseq_config rc;
	struct rseq_cs_desc cs;
	uint64_t cs_ptr = 0, ip = arch_regs_ip(&t->regs), args[6];
	uint32_t sig;
	long nr, rv;

	if (rtask_rseq_config(t->pid, &rc) < 0 || !rc.ptr || arch_regs_syscall(&t->regs, &nr, args, &rv))
		return;
	if (mem_io(t->pid, rc.ptr + RSEQ_CS_OFFSET, &cs_ptr, sizeof(cs_ptr), false) < 0 || !cs_ptr ||
	    mem_io(t->pid, cs_ptr, &cs, sizeof(cs), false) < 0 || ip - cs.start_ip >= cs.post_commit_offset ||
	    mem_io(t->pid, cs.abort_ip - sizeof(sig), &sig, sizeof(sig), false) < 0 || sig != rc.sig)
		return;
	cs_ptr = 0;
	if (vm_io(t->pid, rc.ptr + RSEQ_CS_OFFSET, &cs_ptr, sizeof(cs_ptr), true) < 0)
		return;
	/* what the task resumes with (rtask_restore), and what an image holds */
	arch_regs_set_ip(&t->regs, cs.abort_ip);
}

int rtask_save(struct rtask *t, pid_t pid)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	r = arch_get_regs(pid, &t->regs);
	if (r < 0)
		return r;
	rseq_abort(t);
	if (ptrace(PTRACE_GETSIGMASK, pid, (void *)sizeof(uint64_t), &t->sigmask) < 0)
		return -errno;
	t->prepared = true;
	return 0;
}

int rtask_block(struct rtask *t)
{
	uint64_t all = ~0ull;

	/* From here on the task holds what is ours. Unless a borrow record
	 * lets it be put back (borrow.h), it must not outlive us holding it
	 * (rtask_ledger). */
	if (!borrow_active() &&
	    ptrace(PTRACE_SETOPTIONS, t->pid, NULL, (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) < 0)
		return -errno;
	if (ptrace(PTRACE_SETSIGMASK, t->pid, (void *)sizeof(uint64_t), &all) < 0)
		return -errno;
	/* counted only now: a task merely seized is the container's as it was */
	if (!t->counted) {
		t->counted = true;
		ledger_note(t->pid, 1);
	}
	borrow_blocked(t->pid);
	return 0;
}

int rtask_prepare(struct rtask *t, pid_t pid)
{
	int r = rtask_save(t, pid);

	return r < 0 ? r : rtask_block(t);
}

static int find_insn_in(pid_t pid, const struct proc_vma *v, uint64_t *ret)
{
	size_t len = MIN(v->end - v->start, (uint64_t)(1 << 20)), off;
	_cleanup_free_ unsigned char *buf = malloc(len);

	if (!buf)
		return -ENOMEM;
	if (rtask_read(pid, v->start, buf, len) < 0)
		return -EIO;
	for (off = 0; off + arch_syscall_insn_len <= len; off++)
		if (memcmp(buf + off, arch_syscall_insn, arch_syscall_insn_len) == 0) {
			*ret = v->start + off;
			return 0;
		}
	return -ENOENT;
}

int rtask_find_insn(struct rtask *t)
{
	struct proc_vma *vmas;
	size_t n, i;
	int r, pass;

	r = proc_vmas_pid(t->pid, false, &vmas, &n);
	if (r < 0)
		return r;
	r = -ENOENT;
	/* The vdso first: its syscall fallbacks hold one, and it is not the
	 * program's own code. */
	for (pass = 0; pass < 2 && r < 0; pass++)
		for (i = 0; i < n && r < 0; i++) {
			bool vdso = vmas[i].path && streq(vmas[i].path, "[vdso]");

			if ((pass == 0) != vdso || !(vmas[i].prot & 4 /* PROT_EXEC */))
				continue;
			r = find_insn_in(t->pid, &vmas[i], &t->insn);
		}
	proc_vmas_free(vmas, n);
	return r;
}

long rtask_syscall(struct rtask *t, long nr, unsigned long a0, unsigned long a1, unsigned long a2,
		   unsigned long a3, unsigned long a4, unsigned long a5)
{
	unsigned long args[6] = { a0, a1, a2, a3, a4, a5 };
	long ret;
	int r;

	if (t->broken)
		return t->broken;
	r = borrow_run_begin(t);
	if (r >= 0)
		r = arch_inject_syscall(t->pid, &t->regs, t->insn, nr, args, &ret);
	if (r >= 0)
		r = borrow_run_end(t);
	else
		(void)borrow_run_end(t);
	if (r < 0) {
		t->broken = r;
		return r;
	}
	return ret;
}

static int mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	size_t done = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write ? pwrite(fd, (char *)buf + done, len - done, addr + done)
				  : pread(fd, (char *)buf + done, len - done, addr + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

static int vm_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
	size_t done = 0;

	while (done < len) {
		struct iovec l = { (char *)buf + done, len - done };
		struct iovec r = { (void *)(addr + done), len - done };
		ssize_t n = write ? process_vm_writev(pid, &l, 1, &r, 1, 0)
				  : process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (n <= 0)
			/* Protections forbid it (PROT_NONE, read-only):
			 * /proc/PID/mem goes through them, as ptrace may. */
			return mem_io(pid, addr + done, (char *)buf + done, len - done, write);
		done += n;
	}
	return 0;
}

/* Not process_vm_readv(): it pins the pages, and pinning an anonymous page
 * shared copy-on-write with another process unshares it (the kernel copies
 * it), so reading a forked tree would break its sharing. /proc/PID/mem
 * reads without pinning. */
int rtask_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	return mem_io(pid, addr, buf, len, false);
}

int rtask_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	return vm_io(pid, addr, (void *)buf, len, true);
}

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

int rtask_rseq_config(pid_t pid, struct rtask_rseq_config *ret)
{
	long n = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, (void *)sizeof(*ret), ret);

	if (n < 0)
		return -errno;
	return n == sizeof(*ret) ? 0 : -EIO;
}

int rtask_restore(struct rtask *t)
{
	struct user_regs_struct regs = t->regs;
	int r;

	if (!t->prepared)
		return 0;
	/* The seized context may sit inside an interrupted system call; the
	 * injections left the task at a syscall-exit stop where the kernel
	 * no longer restarts it, so do it the way it would have. */
	arch_regs_prepare_resume(&regs, true);
	r = arch_set_regs(t->pid, &regs);
	if (r < 0)
		return r;
	if (ptrace(PTRACE_SETSIGMASK, t->pid, (void *)sizeof(uint64_t), &t->sigmask) < 0)
		return -errno;
	/* its own state again: our death no longer concerns it, unless a
	 * step no recovery undoes is under way (borrow_unsafe_begin) */
	if (ptrace(PTRACE_SETOPTIONS, t->pid, NULL, (void *)borrow_given_back_opts(t->pid)) < 0)
		return -errno;
	t->prepared = false;
	if (t->counted) {
		t->counted = false;
		ledger_note(t->pid, -1);
	}
	borrow_drop(t->pid);
	return 0;
}

void rtask_forget(struct rtask *t)
{
	t->prepared = false;
	if (t->counted) {
		t->counted = false;
		ledger_note(t->pid, -1);
	}
	borrow_drop(t->pid);
}
