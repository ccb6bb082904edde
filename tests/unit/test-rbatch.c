// SPDX-License-Identifier: GPL-2.0-or-later
/* rbatch: the table and data area (pure), and a real batch run in a seized
 * child: results, data written by the calls, an error in the middle. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "rbatch.h"

static void test_data_area(void **state)
{
	static struct rbatch b;
	uint64_t a, c;
	char big[100];

	(void)state;
	rbatch_init(&b, 0x1000, 0x10000, 0x20000);
	a = rbatch_data(&b, "abc", 4);
	c = rbatch_space(&b, 8);
	assert_int_equal(a, 0x10000);
	assert_int_equal(c % 16, 0);
	assert_true(c >= a + 4);
	assert_memory_equal(rbatch_result(&b, a), "abc", 4);
	assert_int_equal(rbatch_add(&b, 39, 1, 2, 3, 4, 5, 6), 0);
	assert_int_equal(b.calls[0].nr, 39);
	assert_int_equal(b.calls[0].args[5], 6);
	assert_int_equal(b.calls[0].ret, -ENOSYS);
	/* the data area is bounded: past it, 0 and the batch refuses to run */
	memset(big, 1, sizeof(big));
	while (rbatch_data(&b, big, sizeof(big)))
		;
	assert_true(b.overflow);
	assert_true(b.used <= RBATCH_MAX_DATA);
	struct rtask t = { .pid = 1 };
	assert_int_equal(rbatch_run(&b, &t), -E2BIG);
}

static void test_call_table_bound(void **state)
{
	static struct rbatch b;
	size_t i;

	(void)state;
	rbatch_init(&b, 0, 0, 0);
	for (i = 0; i < RBATCH_MAX_CALLS; i++)
		assert_int_equal(rbatch_add(&b, 39, 0, 0, 0, 0, 0, 0), i);
	assert_false(b.overflow);
	rbatch_add(&b, 39, 0, 0, 0, 0, 0, 0);
	assert_true(b.overflow);
	assert_int_equal(b.n, RBATCH_MAX_CALLS);
}

static void test_real_batch(void **state)
{
	static struct rbatch b;
	struct rtask t;
	pid_t pid = fork();
	int status;
	long mem;
	uint64_t a_uts, a_act;
	size_t i_pid, i_ppid, i_bad, i_uts, i_act;

	(void)state;
	if (pid == 0)
		for (;;)
			pause();
	assert_true(pid > 0);
	assert_int_equal(rtask_seize(pid, true), 0);
	assert_int_equal(rtask_wait_stop(pid), 0);
	assert_int_equal(rtask_prepare(&t, pid), 0);
	assert_int_equal(rtask_find_insn(&t), 0);
	mem = rsys(&t, __NR_mmap, 0, 16 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem <= 0)
		fail_msg("injected mmap: %ld", mem);
	rbatch_init(&b, mem, mem + 4096, mem + 8 * 4096);
	i_pid = rbatch_add(&b, __NR_getpid, 0, 0, 0, 0, 0, 0);
	i_bad = rbatch_add(&b, __NR_close, -1, 0, 0, 0, 0, 0);
	i_ppid = rbatch_add(&b, __NR_getppid, 0, 0, 0, 0, 0, 0);
	a_uts = rbatch_space(&b, sizeof(struct utsname));
	i_uts = rbatch_add(&b, __NR_uname, a_uts, 0, 0, 0, 0, 0);
	a_act = rbatch_space(&b, 32);
	i_act = rbatch_add(&b, __NR_rt_sigaction, SIGCHLD, 0, a_act, 8, 0, 0);
	assert_int_equal(rbatch_run(&b, &t), 0);
	assert_int_equal(b.calls[i_pid].ret, pid);
	assert_int_equal(b.calls[i_bad].ret, -EBADF);    /* an error does not stop the rest */
	assert_int_equal(b.calls[i_ppid].ret, getpid());
	assert_int_equal(b.calls[i_uts].ret, 0);
	assert_string_equal(((const struct utsname *)rbatch_result(&b, a_uts))->sysname, "Linux");
	assert_int_equal(b.calls[i_act].ret, 0);
	/* the task goes on as before */
	assert_int_equal(rsys(&t, __NR_munmap, mem, 16 * 4096), 0);
	assert_int_equal(rtask_restore(&t), 0);
	assert_int_equal(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_area),
		cmocka_unit_test(test_call_table_bound),
		cmocka_unit_test(test_real_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
