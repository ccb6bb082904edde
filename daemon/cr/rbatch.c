// SPDX-License-Identifier: GPL-2.0-or-later
/* Batches of system calls run inside a seized task in one go. */
#include "rbatch.h"
#include "borrow.h"
#include "fault.h"
#include "macro.h"
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

void rbatch_init(struct rbatch *b, uint64_t code_addr, uint64_t data_addr, uint64_t table_addr)
{
	b->code_addr = code_addr;
	b->data_addr = data_addr;
	b->table_addr = table_addr;
	b->n = b->used = 0;
	b->overflow = 0;
}

uint64_t rbatch_space(struct rbatch *b, size_t len)
{
	size_t off = ALIGN_UP(b->used, (size_t)16);

	if (len > RBATCH_MAX_DATA || off > RBATCH_MAX_DATA - len) {
		b->overflow = 1;
		return 0;
	}
	memset(b->data + off, 0, len);
	b->used = off + len;
	return b->data_addr + off;
}

uint64_t rbatch_data(struct rbatch *b, const void *p, size_t len)
{
	uint64_t addr = rbatch_space(b, len);

	if (addr)
		memcpy(b->data + (addr - b->data_addr), p, len);
	return addr;
}

size_t rbatch_add(struct rbatch *b, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	if (b->n >= RBATCH_MAX_CALLS) {
		b->overflow = 1;
		return RBATCH_MAX_CALLS - 1;
	}
	b->calls[b->n] = (struct arch_call){ .nr = nr, .args = { a0, a1, a2, a3, a4, a5 }, .ret = -ENOSYS };
	return b->n++;
}

/* The batch ends in a trap the kernel forces on the task, which resets
 * that signal's action: read the action as the batch leaves it, last, and
 * set it again after the stop (by a single injected call, which raises no
 * signal). SIG_DFL needs nothing. */
static int keep_stop_sig_action(struct rbatch *b, struct rtask *t, uint64_t act_addr)
{
	const struct arch_ksigaction *act = rbatch_result(b, act_addr);
	long ret;

	if (b->calls[b->n].ret < 0 || act->handler == 0)
		return 0;
	ret = rtask_syscall(t, __NR_rt_sigaction, ARCH_BATCH_STOP_SIG, act_addr, 0, sizeof(act->mask), 0, 0);
	return ret < 0 ? (int)ret : 0;
}

/* Thawed for the batch when a checkpoint keeps the cgroup frozen
 * (borrow.h). Its end, an int3, is a SIGTRAP delivery stop: a task
 * detached there would take the signal. An interrupt trap is safe to be
 * detached at, and to be recovered from. */
static int run(struct rbatch *b, struct rtask *t)
{
	int r = borrow_run_begin(t), e;

	if (r >= 0)
		r = arch_run_batch(t->pid, &t->regs, b->code_addr, b->table_addr, b->n + 1);
	if (r >= 0 && borrow_active()) {
		if (ptrace(PTRACE_INTERRUPT, t->pid, NULL, NULL) < 0 || ptrace(PTRACE_CONT, t->pid, NULL, NULL) < 0)
			r = -errno;
		else
			r = rtask_wait_stop(t->pid);
	}
	e = borrow_run_end(t);
	if (r >= 0 && e < 0)
		r = e;
	if (r >= 0 && borrow_active())
		fault_crash_worker("ckpt-batched");
	return r;
}

int rbatch_run(struct rbatch *b, struct rtask *t)
{
	size_t code_len = arch_batch_code_end - arch_batch_code;
	uint64_t act_addr = 0;
	int r;

	if (b->n) {
		act_addr = rbatch_space(b, sizeof(struct arch_ksigaction));
		rbatch_add(b, __NR_rt_sigaction, ARCH_BATCH_STOP_SIG, 0, act_addr, sizeof(uint64_t), 0, 0);
		if (!b->overflow)
			b->n--;   /* out of the callers' sight; run below as n + 1 */
	}
	if (b->overflow)
		return -E2BIG;
	if (t->broken)
		return t->broken;
	r = rtask_write(t->pid, b->code_addr, arch_batch_code, code_len);
	if (r >= 0 && b->used)
		r = rtask_write(t->pid, b->data_addr, b->data, b->used);
	if (r >= 0 && b->n)
		r = rtask_write(t->pid, b->table_addr, b->calls, (b->n + 1) * sizeof(b->calls[0]));
	if (r >= 0 && b->n)
		r = run(b, t);
	if (r >= 0 && b->n)
		r = rtask_read(t->pid, b->table_addr, b->calls, (b->n + 1) * sizeof(b->calls[0]));
	if (r >= 0 && b->used)
		r = rtask_read(t->pid, b->data_addr, b->data, b->used);
	if (r >= 0 && b->n)
		r = keep_stop_sig_action(b, t, act_addr);
	if (r < 0)
		t->broken = r;
	return r;
}

const void *rbatch_result(const struct rbatch *b, uint64_t addr)
{
	return b->data + (addr - b->data_addr);
}
