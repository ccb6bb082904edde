// SPDX-License-Identifier: GPL-2.0-or-later
/* fsident: a thread takes an owner's file system identity, opens only what
 * the owner may, and gets its own back (root only: 77 otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "fsident.h"

#define NOBODY 65534
#define GROUP 54321

static char dir[] = "/tmp/test-fsident.XXXXXX";
static char secret[64], grp[64], open_to_all[64];

static void make(const char *path, mode_t mode, gid_t gid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, 0, gid), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int can_open(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
		return -1;
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(grp, sizeof(grp), "%s/group", dir);
	snprintf(open_to_all, sizeof(open_to_all), "%s/all", dir);
	make(secret, 0600, 0);
	make(grp, 0640, GROUP);
	make(open_to_all, 0644, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(secret);
	unlink(grp);
	unlink(open_to_all);
	return rmdir(dir);
}

static void test_owner(void **state)
{
	struct fs_ident saved;
	gid_t before[CR_MAX_GROUPS], during[CR_MAX_GROUPS], after[CR_MAX_GROUPS];
	int nb, nd, na, i;
	bool has_group = false;

	(void)state;
	nb = getgroups(CR_MAX_GROUPS, before);
	assert_true(nb >= 0);
	assert_int_equal(fs_ident_enter(NOBODY, GROUP, &saved), 0);
	assert_int_equal(can_open(secret), -EACCES);   /* no DAC override for the owner */
	assert_int_equal(can_open(grp), 0);            /* its group */
	assert_int_equal(can_open(open_to_all), 0);
	assert_int_equal((uid_t)syscall(SYS_setfsuid, -1), NOBODY);
	nd = getgroups(CR_MAX_GROUPS, during);
	for (i = 0; i < nd; i++)
		has_group |= during[i] == GROUP;
	assert_true(has_group);
	fs_ident_leave(&saved);
	assert_int_equal((uid_t)syscall(SYS_setfsuid, -1), 0);
	assert_int_equal((gid_t)syscall(SYS_setfsgid, -1), 0);
	assert_int_equal(can_open(secret), 0);
	na = getgroups(CR_MAX_GROUPS, after);
	assert_int_equal(na, nb);
	assert_memory_equal(after, before, nb * sizeof(gid_t));
}

/* Another gid only: the group's file but not root's. */
static void test_group_only(void **state)
{
	struct fs_ident saved;

	(void)state;
	assert_int_equal(fs_ident_enter(NOBODY, NOBODY, &saved), 0);
	assert_int_equal(can_open(grp), -EACCES);
	fs_ident_leave(&saved);
	assert_int_equal(can_open(grp), 0);
}

/* Root's containers: nothing changes. */
static void test_root(void **state)
{
	struct fs_ident saved;

	(void)state;
	assert_int_equal(fs_ident_enter(0, 0, &saved), 0);
	assert_false(saved.changed);
	assert_int_equal(can_open(secret), 0);
	fs_ident_leave(&saved);
}

/* fs_ident_may asks as the owner, then gives our identity back. */
static void test_may(void **state)
{
	int fd;

	(void)state;
	fd = open(secret, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fs_ident_may(NOBODY, GROUP, fd, R_OK), -EACCES);
	assert_int_equal(fs_ident_may(0, 0, fd, R_OK | W_OK), 0);
	close(fd);
	fd = open(grp, O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fs_ident_may(NOBODY, GROUP, fd, R_OK), 0);
	assert_int_equal(fs_ident_may(NOBODY, GROUP, fd, W_OK), -EACCES);
	assert_int_equal(fs_ident_may(NOBODY, NOBODY, fd, R_OK), -EACCES);
	close(fd);
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fs_ident_may(NOBODY, GROUP, fd, W_OK | X_OK), -EACCES);   /* 0755 root's */
	close(fd);
	assert_int_equal((uid_t)syscall(SYS_setfsuid, -1), 0);
	assert_int_equal(can_open(secret), 0);
}

static void test_has_group(void **state)
{
	(void)state;
	assert_true(fs_ident_has_group(NOBODY, GROUP, GROUP));
	assert_false(fs_ident_has_group(NOBODY, NOBODY, GROUP));
	assert_true(fs_ident_has_group(0, 0, GROUP));   /* root has every group */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_group_only),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_may),
		cmocka_unit_test(test_has_group),
	};

	if (geteuid() != 0)
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
