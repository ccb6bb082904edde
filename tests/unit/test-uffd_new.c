// SPDX-License-Identifier: GPL-2.0-or-later
/* uffd_new: a userfaultfd taking kernel-mode faults, made in a seized child
 * that lacks CAP_SYS_PTRACE (where the userfaultfd() call is refused), is
 * for the child's memory, and leaves its fd table and mappings as they were. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "uapi_uffd.h"
#include "uffd_new.h"

/* mapped by the child only, after the fork */
#define CHILD_ONLY 0x6f0000000000ul

static void drop_ptrace_cap(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		_exit(2);
	d[0].effective &= ~(1u << CAP_SYS_PTRACE);
	d[0].permitted &= ~(1u << CAP_SYS_PTRACE);
	if (syscall(SYS_capset, &h, d) < 0)
		_exit(3);
}

/* "fd -> target" lines of pid's fd table, and its maps, in one string */
static char *state_of(pid_t pid)
{
	char path[320], link[256], *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct dirent *e;
	DIR *d;
	FILE *f;
	int c;

	assert_non_null(out);
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0)
			fprintf(out, "%s -> %.*s\n", e->d_name, (int)n, link);
	}
	closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		fputc(c, out);
	fclose(f);
	fclose(out);
	return buf;
}

static void test_no_capability(void **state)
{
	struct uffdio_register reg = { .range = { .start = CHILD_ONLY, .len = 4096 }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_api api = { .api = UFFD_API };
	char *before, *after;
	struct rtask t;
	int ready[2], status, ufd = -1;
	pid_t pid;
	long r;

	(void)state;
	if (geteuid() != 0 || access("/dev/userfaultfd", F_OK) < 0)
		skip();
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	if (pid == 0) {
		if (mmap((void *)CHILD_ONLY, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			 -1, 0) != (void *)CHILD_ONLY)
			_exit(1);
		drop_ptrace_cap();
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	assert_true(pid > 0);
	close(ready[1]);
	assert_int_equal(read(ready[0], &status, 1), 1);
	close(ready[0]);
	assert_int_equal(rtask_seize(pid, true), 0);
	assert_int_equal(rtask_wait_stop(pid), 0);
	assert_int_equal(rtask_prepare(&t, pid), 0);
	assert_int_equal(rtask_find_insn(&t), 0);

	/* the call is refused there: kernel-mode faults need CAP_SYS_PTRACE */
	r = rsys(&t, __NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	assert_int_equal(r, -EPERM);

	before = state_of(pid);
	assert_int_equal(uffd_new_in_task(&t, 0, O_CLOEXEC | O_NONBLOCK, &ufd), 0);
	after = state_of(pid);
	assert_string_equal(before, after);
	assert_true(ufd >= 0);
	assert_true(fcntl(ufd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(ioctl(ufd, UFFDIO_API, &api), 0);
	/* the child's memory, not ours: only the child has this mapping */
	assert_int_equal(ioctl(ufd, UFFDIO_REGISTER, &reg), 0);
	close(ufd);
	free(before);
	free(after);

	assert_int_equal(rtask_restore(&t), 0);
	assert_int_equal(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_capability),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
