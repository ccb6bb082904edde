// SPDX-License-Identifier: GPL-2.0-or-later
/* x86_64 register rules: what a user context may look like, how a task
 * stopped in a system call is made to restart it, and what an xstate blob
 * says about its features. Real register sets come from a seized child. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/unistd.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch.h"

#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* ---- a child sitting in pause(), seized and stopped ---- */

struct seized {
	pid_t pid;
};

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The syscall number /proc/PID/syscall reports, -1 if running, -2 on error. */
static long current_syscall(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	long nr = -2;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	f = fopen(path, "r");
	if (!f)
		return -2;
	if (fgets(buf, sizeof(buf), f))
		nr = strncmp(buf, "running", 7) == 0 ? -1 : strtol(buf, NULL, 10);
	fclose(f);
	return nr;
}

static bool wait_in_syscall(pid_t pid, long nr)
{
	for (int i = 0; i < 10000; i++) {   /* ~10 s: a loaded machine */
		if (current_syscall(pid) == nr)
			return true;
		sleep_ms(1);
	}
	return false;
}

static int seize_teardown(void **state)
{
	struct seized *s = *state;

	if (s && s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, __WALL);
	}
	free(s);
	*state = NULL;
	return 0;
}

/* cmocka skips the teardown when the setup fails: clean up here too. */
static int seize_setup(void **state)
{
	struct seized *s = calloc(1, sizeof(*s));
	int status;

	*state = s;
	if (!s)
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		for (;;)
			pause();
	}
	/* Stop it inside pause() so its registers hold a restart code. */
	if (s->pid < 0 || !wait_in_syscall(s->pid, __NR_pause) ||
	    ptrace(PTRACE_SEIZE, s->pid, NULL, NULL) < 0 ||
	    ptrace(PTRACE_INTERRUPT, s->pid, NULL, NULL) < 0 ||
	    waitpid(s->pid, &status, __WALL) != s->pid || !WIFSTOPPED(status) ||
	    status >> 16 != PTRACE_EVENT_STOP) {
		seize_teardown(state);
		return -1;
	}
	return 0;
}

/* ---- arch_regs_validate ---- */

static void test_regs_size(void **state)
{
	assert_int_equal(arch_regs_size(), sizeof(struct user_regs_struct));
	assert_string_equal(arch_name, "x86_64");
	assert_int_equal(arch_syscall_insn_len, 2);
	assert_memory_equal(arch_syscall_insn, "\x0f\x05", 2);
}

static void test_validate_real(void **state)
{
	struct seized *s = *state;
	struct user_regs_struct regs;
	char why[128] = "";

	assert_int_equal(arch_get_regs(s->pid, &regs), 0);
	assert_int_equal(arch_regs_validate(&regs, sizeof(regs), why, sizeof(why)), 0);
	assert_int_equal(arch_regs_ip(&regs), regs.rip);
	assert_int_equal(arch_regs_sp(&regs), regs.rsp);
	/* the child's stack is ours, give or take a few frames */
	assert_true(regs.rsp != 0);
}

static void expect_invalid(const struct user_regs_struct *regs, size_t len)
{
	char why[128] = "";

	assert_int_equal(arch_regs_validate(regs, len, why, sizeof(why)), -EINVAL);
	assert_true(why[0] != 0);
}

static void test_validate_rejects(void **state)
{
	struct seized *s = *state;
	struct user_regs_struct good, r;
	char why[8];   /* a short buffer only truncates the reason */

	assert_int_equal(arch_get_regs(s->pid, &good), 0);

	expect_invalid(&good, sizeof(good) - 1);
	expect_invalid(&good, sizeof(good) + 8);
	expect_invalid(&good, 0);

	r = good; r.cs = 0x23;                       /* 32-bit compat code */
	expect_invalid(&r, sizeof(r));
	r = good; r.cs = 0x10;                       /* kernel code */
	expect_invalid(&r, sizeof(r));
	r = good; r.cs = 0x33 | (1ull << 32);        /* garbage above the selector */
	expect_invalid(&r, sizeof(r));
	r = good; r.ss = 0;
	expect_invalid(&r, sizeof(r));
	r = good; r.ss = 0x18;
	expect_invalid(&r, sizeof(r));

	r = good; r.rip = 0x0000800000000000ull;     /* first non-canonical */
	expect_invalid(&r, sizeof(r));
	r = good; r.rip = 0xffff800000000000ull;     /* canonical, but the kernel's */
	expect_invalid(&r, sizeof(r));
	r = good; r.rip = ~0ull;
	expect_invalid(&r, sizeof(r));
	r = good; r.rsp = 0x0001000000000000ull;
	expect_invalid(&r, sizeof(r));
	r = good; r.fs_base = 0xdead000000000000ull;
	expect_invalid(&r, sizeof(r));
	r = good; r.gs_base = 0x8000000000000000ull;
	expect_invalid(&r, sizeof(r));

	/* the last user page is still user space */
	r = good; r.rip = 0x00007ffffffff000ull;
	assert_int_equal(arch_regs_validate(&r, sizeof(r), why, sizeof(why)), 0);
	r = good; r.cs = 0x23;
	assert_int_equal(arch_regs_validate(&r, sizeof(r), why, sizeof(why)), -EINVAL);
	assert_int_equal(strlen(why), sizeof(why) - 1);
}

/* ---- arch_regs_prepare_resume ---- */

static struct user_regs_struct in_syscall(long nr, long ret)
{
	struct user_regs_struct r;

	memset(&r, 0x5a, sizeof(r));
	r.orig_rax = (unsigned long long)nr;
	r.rax = (unsigned long long)ret;
	r.rip = 0x401002;
	return r;
}

static void test_resume_restart_codes(void **state)
{
	static const long codes[] = { -ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct user_regs_struct r = in_syscall(__NR_read, codes[i]), want = r;

		arch_regs_prepare_resume(&r, true);
		want.rax = __NR_read;
		want.rip = 0x401000;
		want.orig_rax = (unsigned long long)-1;
		assert_memory_equal(&r, &want, sizeof(r));
		/* done once: a second call must not rewind again */
		arch_regs_prepare_resume(&r, true);
		assert_memory_equal(&r, &want, sizeof(r));
	}
}

static void test_resume_restart_block(void **state)
{
	struct user_regs_struct r = in_syscall(__NR_nanosleep, -ERESTART_RESTARTBLOCK), want = r;

	arch_regs_prepare_resume(&r, true);
	want.rax = __NR_restart_syscall;
	want.rip = 0x401000;
	want.orig_rax = (unsigned long long)-1;
	assert_memory_equal(&r, &want, sizeof(r));
	/* a restored task has no restart block: the call itself again */
	r = in_syscall(__NR_nanosleep, -ERESTART_RESTARTBLOCK);
	arch_regs_prepare_resume(&r, false);
	want.rax = __NR_nanosleep;
	assert_memory_equal(&r, &want, sizeof(r));
}

/* A finished syscall (any result, -EINTR included) and code that isn't in a
 * syscall at all keep everything but the in-syscall marker. */
static void test_resume_untouched(void **state)
{
	static const long results[] = { 0, 42, -EINTR, -EAGAIN, -ERESTARTSYS + 1, -515, -517, -4095 };

	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		struct user_regs_struct r = in_syscall(__NR_read, results[i]), want = r;

		arch_regs_prepare_resume(&r, true);
		want.orig_rax = (unsigned long long)-1;
		assert_memory_equal(&r, &want, sizeof(r));
	}
	/* not in a syscall: rax happens to look like a restart code */
	for (int c = ERESTARTSYS; c <= ERESTART_RESTARTBLOCK; c++) {
		struct user_regs_struct r = in_syscall(-1, -c), want = r;

		arch_regs_prepare_resume(&r, true);
		assert_memory_equal(&r, &want, sizeof(r));
	}
}

/* The real thing: a task interrupted in pause() shows -ERESTARTNOHAND;
 * prepared regs point at the syscall instruction and, set back, put the
 * task right back into pause(). */
static void test_resume_real(void **state)
{
	struct seized *s = *state;
	struct user_regs_struct regs, before;
	long word;
	int status;

	assert_int_equal(arch_get_regs(s->pid, &regs), 0);
	assert_int_equal((long)regs.orig_rax, __NR_pause);
	assert_int_equal((long)regs.rax, -ERESTARTNOHAND);
	before = regs;
	arch_regs_prepare_resume(&regs, true);
	assert_int_equal(regs.rip, before.rip - 2);
	assert_int_equal(regs.rax, __NR_pause);
	assert_int_equal((long)regs.orig_rax, -1);
	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, s->pid, (void *)(uintptr_t)regs.rip, NULL);
	assert_int_equal(errno, 0);
	assert_memory_equal(&word, arch_syscall_insn, arch_syscall_insn_len);

	assert_int_equal(arch_set_regs(s->pid, &regs), 0);
	assert_int_equal(ptrace(PTRACE_CONT, s->pid, NULL, NULL), 0);
	assert_true(wait_in_syscall(s->pid, __NR_pause));
	/* still alive and not stopped: it is simply waiting again */
	assert_int_equal(waitpid(s->pid, &status, __WALL | WNOHANG), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, s->pid, NULL, NULL), 0);
	assert_int_equal(waitpid(s->pid, &status, __WALL), s->pid);
	assert_int_equal(arch_get_regs(s->pid, &regs), 0);
	assert_int_equal(regs.rip, before.rip);
	assert_int_equal((long)regs.orig_rax, __NR_pause);
}

/* ---- xstate ---- */

static void test_xstate_features(void **state)
{
	struct seized *s = *state;
	uint64_t xcr0, got;
	uint32_t size;
	size_t len = 0;
	void *buf;
	int r = arch_xstate_info(&xcr0, &size);

	if (r == -EOPNOTSUPP)
		skip();
	assert_int_equal(r, 0);
	assert_true((xcr0 & 3) == 3);                  /* x87 and SSE always */
	assert_true(size >= 576 && size <= ARCH_XSTATE_MAX);

	buf = calloc(1, ARCH_XSTATE_MAX);
	assert_non_null(buf);
	assert_int_equal(arch_get_xstate(s->pid, buf, ARCH_XSTATE_MAX, &len), 0);
	assert_true(len >= 576 && len <= ARCH_XSTATE_MAX);
	assert_true(len <= size);
	got = arch_xstate_features(buf, len);
	assert_true(got != 0);
	assert_true((got & 3) == 3);
	assert_int_equal(got & ~xcr0, 0);              /* a subset of XCR0 */
	/* XSTATE_BV in the header (offset 512) can only name recorded features */
	assert_int_equal(*(uint64_t *)((char *)buf + 512) & ~got, 0);
	/* the blob as read is one the kernel takes back */
	assert_int_equal(arch_set_xstate(s->pid, buf, len), 0);

	/* hand-made: the mask is the first software-reserved word */
	memset(buf, 0, 576);
	*(uint64_t *)((char *)buf + 464) = 0x7;
	*(uint64_t *)((char *)buf + 472) = 0xff;
	assert_int_equal(arch_xstate_features(buf, 576), 0x7);
	assert_int_equal(arch_xstate_features(buf, 472), 0x7);
	/* too short to hold it: can't tell */
	assert_int_equal(arch_xstate_features(buf, 471), 0);
	assert_int_equal(arch_xstate_features(buf, 0), 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regs_size),
		cmocka_unit_test_setup_teardown(test_validate_real, seize_setup, seize_teardown),
		cmocka_unit_test_setup_teardown(test_validate_rejects, seize_setup, seize_teardown),
		cmocka_unit_test(test_resume_restart_codes),
		cmocka_unit_test(test_resume_restart_block),
		cmocka_unit_test(test_resume_untouched),
		cmocka_unit_test_setup_teardown(test_resume_real, seize_setup, seize_teardown),
		cmocka_unit_test_setup_teardown(test_xstate_features, seize_setup, seize_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
