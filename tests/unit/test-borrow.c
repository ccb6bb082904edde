// SPDX-License-Identifier: GPL-2.0-or-later
/* The borrow record: what a checkpoint writes before it borrows a task's
 * registers is read back exactly, and a record that is not one it could
 * have written is refused whole. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "borrow.h"
#include <sys/ptrace.h>

static char saved[1 << 16];
static size_t saved_len;
static int clears;

static int save(void *arg, const char *buf, size_t len)
{
	assert_true(len < sizeof(saved));
	memcpy(saved, buf, len);
	saved_len = len;
	return 0;
}

static int clear(void *arg)
{
	clears++;
	saved_len = 0;
	return 0;
}

/* What the unsafe-window hook was told, in order; fail_mark: it fails. */
static enum borrow_step marks[8];
static size_t nmarks;
static int fail_mark;

static int mark(void *arg, enum borrow_step step)
{
	if (fail_mark)
		return fail_mark;
	assert_true(nmarks < sizeof(marks) / sizeof(marks[0]));
	marks[nmarks++] = step;
	return 0;
}

static void fill(struct rtask *t, pid_t pid, unsigned char seed)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	for (size_t i = 0; i < sizeof(t->regs); i++)
		((unsigned char *)&t->regs)[i] = (unsigned char)(seed + 7 * i);
	t->sigmask = 0x8000000000000001ull ^ seed;
	t->insn = 0x7ffc12345000ull + seed;
}

static void test_round_trip(void **state)
{
	struct borrow_store st = { .save = save, .clear = clear };
	struct cgroup cg = { .dir = "/sys/fs/cgroup/none-such" };
	struct borrow_rec rc;
	struct rtask a, b;
	pid_t me = getpid();

	borrow_set_store(&st);
	assert_true(borrow_begin(&cg));
	fill(&a, me, 1);
	fill(&b, me, 2);
	b.pid = me;   /* the same tid again replaces the entry */
	assert_int_equal(borrow_note(&a, me), 0);
	assert_int_equal(borrow_note(&b, me), 0);
	borrow_blocked(me);
	assert_int_equal(borrow_scratch(me, 0x100000000ull, 0x10000), 0);
	assert_int_equal(borrow_scratch(me, 0x200000000ull, 0x10000), -EEXIST);
	/* written before anything runs in a task: the injected mmap */
	assert_int_equal(saved_len, 0);
	assert_int_equal(borrow_run_begin(&b), 0);
	assert_int_equal(borrow_run_end(&b), 0);
	assert_true(saved_len > 0);

	assert_int_equal(borrow_parse(saved, saved_len, &rc), 0);
	assert_int_equal(rc.nt, 1);
	assert_int_equal(rc.t[0].tid, me);
	assert_int_equal(rc.t[0].tgid, me);
	assert_true(rc.t[0].start > 0);
	assert_true(rc.t[0].blocked);
	assert_int_equal(rc.t[0].sigmask, b.sigmask);
	assert_int_equal(rc.t[0].insn, b.insn);
	assert_memory_equal(&rc.t[0].regs, &b.regs, sizeof(b.regs));
	assert_int_equal(rc.ns, 1);
	assert_int_equal(rc.s[0].tgid, me);
	assert_int_equal(rc.s[0].addr, 0x100000000ull);
	assert_int_equal(rc.s[0].len, 0x10000);
	borrow_rec_free(&rc);

	/* put back: the record goes */
	borrow_scratch_gone(me);
	borrow_drop(me);
	assert_int_equal(clears, 0);
	assert_int_equal(borrow_flush(), 0);
	assert_int_equal(clears, 1);
	assert_int_equal(borrow_end(), 0);
	assert_false(borrow_active());
}

/* A step no recovery undoes is counted in the worker's ledger from its
 * start to its end, nested, whether anything is borrowed or not; a
 * seized task given back meanwhile stays tied to the worker. */
static void test_unsafe_window(void **state)
{
	struct rtask_ledger ledger = { 0 };
	pid_t me = getpid(), other = me + 1;

	rtask_set_ledger(&ledger);
	/* not traced by us: tying it finds nothing to tie (ESRCH) */
	assert_int_equal(borrow_seized(me), 0);
	assert_int_equal(borrow_seized(me), 0);
	assert_false(borrow_tied());
	assert_int_equal(borrow_given_back_opts(me), PTRACE_O_TRACESYSGOOD);
	assert_int_equal(borrow_unsafe_begin(BORROW_STEP_TCP_REPAIR), 0);
	assert_int_equal(ledger.unsafe, 1);
	assert_true(borrow_tied());
	assert_int_equal(borrow_given_back_opts(me), PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	assert_int_equal(borrow_given_back_opts(other), PTRACE_O_TRACESYSGOOD);   /* never seized */
	assert_int_equal(borrow_unsafe_begin(BORROW_STEP_TCP_REPAIR), 0);
	assert_int_equal(ledger.unsafe, 2);
	assert_int_equal(borrow_unsafe_end(), 0);
	assert_int_equal(ledger.unsafe, 1);
	assert_int_equal(borrow_given_back_opts(me), PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	assert_int_equal(borrow_unsafe_end(), 0);
	assert_int_equal(ledger.unsafe, 0);
	assert_false(borrow_tied());
	assert_int_equal(borrow_given_back_opts(me), PTRACE_O_TRACESYSGOOD);
	/* an end with nothing open (a restart's connections) counts nothing */
	assert_int_equal(borrow_unsafe_end(), 0);
	assert_int_equal(ledger.unsafe, 0);
	rtask_set_ledger(NULL);
}

/* The outermost window is recorded before it is counted and unrecorded
 * once the last one closed; a window that can't be recorded does not
 * open. Its step is in the ledger while it is open. */
static void test_unsafe_mark(void **state)
{
	struct borrow_store st = { .save = save, .clear = clear, .unsafe = mark };
	struct rtask_ledger ledger = { 0 };

	borrow_set_store(&st);
	rtask_set_ledger(&ledger);
	nmarks = 0;
	fail_mark = -EIO;
	assert_int_equal(borrow_unsafe_begin(BORROW_STEP_TCP_REPAIR), -EIO);
	assert_int_equal(ledger.unsafe, 0);
	assert_false(borrow_tied());
	fail_mark = 0;
	assert_int_equal(borrow_unsafe_begin(BORROW_STEP_TCP_REPAIR), 0);
	assert_int_equal(nmarks, 1);
	assert_int_equal(marks[0], BORROW_STEP_TCP_REPAIR);
	assert_int_equal(ledger.unsafe, 1);
	assert_int_equal(ledger.unsafe_step, BORROW_STEP_TCP_REPAIR);
	/* nested: the outermost step stays the one named */
	assert_int_equal(borrow_unsafe_begin(BORROW_STEP_SEM_UNDO), 0);
	assert_int_equal(nmarks, 1);
	assert_int_equal(ledger.unsafe, 2);
	assert_int_equal(ledger.unsafe_step, BORROW_STEP_TCP_REPAIR);
	assert_int_equal(borrow_unsafe_end(), 0);
	assert_int_equal(nmarks, 1);
	assert_int_equal(borrow_unsafe_end(), 0);
	assert_int_equal(nmarks, 2);
	assert_int_equal(marks[1], BORROW_STEP_NONE);
	assert_int_equal(ledger.unsafe, 0);
	assert_int_equal(ledger.unsafe_step, BORROW_STEP_NONE);
	assert_int_equal(borrow_unsafe_begin(BORROW_STEP_SEM_UNDO), 0);
	assert_int_equal(marks[2], BORROW_STEP_SEM_UNDO);
	assert_int_equal(borrow_unsafe_end(), 0);
	assert_int_equal(nmarks, 4);
	rtask_set_ledger(NULL);
}

/* Step words read back name the step they were written for, and no other. */
static void test_step_words(void **state)
{
	for (int s = BORROW_STEP_NONE + 1; s < BORROW_STEP_COUNT; s++) {
		assert_non_null(borrow_step_what(s));
		assert_int_equal(borrow_step_parse(borrow_step_word(s)), s);
	}
	assert_null(borrow_step_word(BORROW_STEP_NONE));
	assert_null(borrow_step_word(BORROW_STEP_COUNT));
	assert_int_equal(borrow_step_parse(""), BORROW_STEP_NONE);
	assert_int_equal(borrow_step_parse("tcp-repair "), BORROW_STEP_NONE);
	assert_int_equal(borrow_step_parse("TCP-REPAIR"), BORROW_STEP_NONE);
}

static void expect_bad(const char *text)
{
	struct borrow_rec rc;

	assert_int_equal(borrow_parse(text, strlen(text), &rc), -EBADMSG);
	borrow_rec_free(&rc);
}

static void test_refused(void **state)
{
	char regs[2 * sizeof(struct user_regs_struct) + 1], line[1024], bad[2 * sizeof(line) + 128];
	struct borrow_rec rc;

	memset(regs, 'a', sizeof(regs) - 1);
	regs[sizeof(regs) - 1] = '\0';
	snprintf(line, sizeof(line), "task 10 10 555 0 7fff0000 1 %s\n", regs);
	assert_int_equal(borrow_parse(line, strlen(line), &rc), 0);
	borrow_rec_free(&rc);

	expect_bad("");
	expect_bad("scratch 10 100000000 10000\n");                 /* no task */
	snprintf(bad, sizeof(bad), "%sscratch 11 100000000 10000\n", line);
	expect_bad(bad);                                            /* a process not listed */
	snprintf(bad, sizeof(bad), "%sscratch 10 100000800 10000\n", line);
	expect_bad(bad);                                            /* not page-aligned */
	snprintf(bad, sizeof(bad), "%sscratch 10 100000000 200000\n", line);
	expect_bad(bad);                                            /* too long */
	snprintf(bad, sizeof(bad), "%sscratch 10 7ffffffff000 10000\n", line);
	expect_bad(bad);                                            /* past the user address space */
	snprintf(bad, sizeof(bad), "%sscratch 10 100000000 10000\nscratch 10 300000000 10000\n", line);
	expect_bad(bad);                                            /* two for one process */
	snprintf(bad, sizeof(bad), "%s%s", line, line);
	expect_bad(bad);                                            /* a thread twice */
	snprintf(bad, sizeof(bad), "task 0 10 555 0 7fff0000 1 %s\n", regs);
	expect_bad(bad);
	snprintf(bad, sizeof(bad), "task 10 10 0 0 7fff0000 1 %s\n", regs);
	expect_bad(bad);                                            /* no start time */
	snprintf(bad, sizeof(bad), "task 10 10 555 0 7fff0000 2 %s\n", regs);
	expect_bad(bad);
	snprintf(bad, sizeof(bad), "task 10 10 555 0 7fff0000 1 %s0\n", regs);
	expect_bad(bad);                                            /* registers too long */
	snprintf(bad, sizeof(bad), "task 10 10 555 0 7fff0000 1 %.*s\n", (int)sizeof(regs) - 3, regs);
	expect_bad(bad);                                            /* ... too short */
	snprintf(bad, sizeof(bad), "task 10 10 555 0 7fff0000 1 x%s\n", regs + 1);
	expect_bad(bad);                                            /* not hex */
	snprintf(bad, sizeof(bad), "task 10 10 555 0 7fff0000 1 %s junk\n", regs);
	expect_bad(bad);
	expect_bad("tasks 10\n");
	{
		char nul[] = "task 1\0 2\n";

		assert_int_equal(borrow_parse(nul, sizeof(nul) - 1, &rc), -EBADMSG);
		borrow_rec_free(&rc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_unsafe_window),
		cmocka_unit_test(test_unsafe_mark),
		cmocka_unit_test(test_step_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
