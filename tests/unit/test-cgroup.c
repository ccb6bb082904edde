// SPDX-License-Identifier: GPL-2.0-or-later
/* cgroup mount and membership parsing on fixtures (hybrid, pure v2, v1 only),
 * and, as root, a live create/attach/freeze/thaw/kill/remove cycle on each
 * hierarchy this machine has. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroup.h"
#include "macro.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int fixture(const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static int text_fd(const char *text)
{
	int fd = memfd_create("fixture", MFD_CLOEXEC);
	size_t n = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void check_mount(const char *mi, bool v1, int err, const char *want)
{
	_cleanup_close_ int fd = fixture(mi);
	char path[PATH_MAX] = "untouched";

	assert_int_equal(cgroup_parse_mountinfo(fd, v1, path, sizeof(path)), err);
	assert_string_equal(path, err ? "untouched" : want);
}

static void check_self(const char *file, bool v1, int err, const char *want)
{
	_cleanup_close_ int fd = fixture(file);
	char path[PATH_MAX] = "untouched";

	assert_int_equal(cgroup_parse_self(fd, v1, path, sizeof(path)), err);
	assert_string_equal(path, err ? "untouched" : want);
}

static void check_base(const char *mi, const char *cg, bool v1, int err, const char *want)
{
	_cleanup_close_ int a = fixture(mi);
	_cleanup_close_ int b = fixture(cg);
	char path[PATH_MAX] = "untouched";

	assert_int_equal(cgroup_base_dir(a, b, v1, path, sizeof(path)), err);
	assert_string_equal(path, err ? "untouched" : want);
}

static void test_hybrid(void **state)
{
	check_mount("mountinfo-hybrid.txt", false, 0, "/sys/fs/cgroup/unified");
	check_mount("mountinfo-hybrid.txt", true, 0, "/sys/fs/cgroup/freezer");
	check_self("cgroup-hybrid.txt", false, 0, "/");
	check_self("cgroup-hybrid.txt", true, 0, "/");
	check_base("mountinfo-hybrid.txt", "cgroup-hybrid.txt", false, 0, "/sys/fs/cgroup/unified");
	check_base("mountinfo-hybrid.txt", "cgroup-hybrid.txt", true, 0, "/sys/fs/cgroup/freezer");
}

static void test_pure_v2(void **state)
{
	check_mount("mountinfo-v2.txt", false, 0, "/sys/fs/cgroup");
	check_mount("mountinfo-v2.txt", true, -ENOENT, NULL);
	check_self("cgroup-v2.txt", false, 0, "/system.slice/ckptd.service");
	check_self("cgroup-v2.txt", true, -ENOENT, NULL);
	check_base("mountinfo-v2.txt", "cgroup-v2.txt", false, 0, "/sys/fs/cgroup/system.slice/ckptd.service");
	check_base("mountinfo-v2.txt", "cgroup-v2.txt", true, -ENOENT, NULL);
}

static void test_v1_only(void **state)
{
	check_mount("mountinfo-v1.txt", false, -ENOENT, NULL);
	/* "devices,freezer" super options; "\040" unescaped */
	check_mount("mountinfo-v1.txt", true, 0, "/sys/fs/cgroup/freezer dir");
	check_self("cgroup-v1.txt", false, -ENOENT, NULL);
	check_self("cgroup-v1.txt", true, 0, "/odd:name/x");
	check_base("mountinfo-v1.txt", "cgroup-v1.txt", true, 0, "/sys/fs/cgroup/freezer dir/odd:name/x");
	check_base("mountinfo-v1.txt", "cgroup-v1.txt", false, -ENOENT, NULL);
}

/* A cgroup2 mount showing only a subtree: our path loses the mount's root. */
static void test_subtree_mount(void **state)
{
	static const struct { const char *mi, *cg; int err; const char *want; } cases[] = {
		{ "1 0 0:25 /system.slice /srv/cg\\040view rw - cgroup2 cgroup2 rw\n",
		  "0::/system.slice/ckptd.service\n", 0, "/srv/cg view/ckptd.service" },
		{ "1 0 0:25 /system.slice /srv/cg rw - cgroup2 cgroup2 rw\n",
		  "0::/system.slice\n", 0, "/srv/cg" },
		{ "1 0 0:25 /system.slice /srv/cg rw - cgroup2 cgroup2 rw\n",
		  "0::/system.slicex/a\n", -ENOENT, NULL },
		{ "1 0 0:25 /system.slice /srv/cg rw - cgroup2 cgroup2 rw\n",
		  "0::/user.slice\n", -ENOENT, NULL },
		{ "1 0 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
		  "0::/../../outside\n", -ENOENT, NULL },
		{ "1 0 0:25 / / rw - cgroup2 cgroup2 rw\n", "0::/a/b\n", 0, "/a/b" },
		/* optional fields before the separator */
		{ "1 0 0:25 / /cg rw shared:4 master:2 - cgroup2 none rw\n", "0::/\n", 0, "/cg" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_close_ int a = text_fd(cases[i].mi);
		_cleanup_close_ int b = text_fd(cases[i].cg);
		char path[PATH_MAX] = "untouched";

		print_message("case %zu\n", i);
		assert_int_equal(cgroup_base_dir(a, b, false, path, sizeof(path)), cases[i].err);
		assert_string_equal(path, cases[i].err ? "untouched" : cases[i].want);
	}
}

static void test_malformed(void **state)
{
	static const char *mis[] = {
		"",
		"garbage\n",
		"1 0 0:25 / /cg rw cgroup2 cgroup2 rw\n",      /* no " - " */
		"1 0 0:25 / /cg rw - cgroup2\n",               /* no source/super */
		"1 0 0:25 / rw - cgroup2 cgroup2 rw\n",        /* too few fields */
		"1 0 0:25 / /cg rw - cgroup cgroup rw,freezerx\n",
	};
	static const char *cgs[] = { "", "0:/x\n", "0::x\n" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mis); i++) {
		_cleanup_close_ int fd = text_fd(mis[i]);
		_cleanup_close_ int fd1 = text_fd(mis[i]);

		assert_int_equal(cgroup_parse_mountinfo(fd, false, path, sizeof(path)), -ENOENT);
		assert_int_equal(cgroup_parse_mountinfo(fd1, true, path, sizeof(path)), -ENOENT);
	}
	for (i = 0; i < ARRAY_SIZE(cgs); i++) {
		_cleanup_close_ int fd = text_fd(cgs[i]);

		assert_true(cgroup_parse_self(fd, false, path, sizeof(path)) < 0);
	}
	{
		_cleanup_close_ int fd = fixture("mountinfo-hybrid.txt");

		assert_int_equal(cgroup_parse_mountinfo(fd, false, path, 5), -ENAMETOOLONG);
	}
}

/* ---- live ---- */

static bool is_root(void)
{
	return geteuid() == 0;
}

/* A child that writes a byte to a pipe every millisecond: it has stopped
 * running exactly when the bytes stop. */
static pid_t ticker(int *ret_rfd)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		for (;;) {
			if (write(p[1], "x", 1) < 0 && errno != EAGAIN)
				_exit(1);
			usleep(1000);
		}
	}
	close(p[1]);
	*ret_rfd = p[0];
	return pid;
}

static size_t drain(int fd)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	return total;
}

/* Ticks arrive within 5 s however loaded the machine is. */
static bool ticking(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	drain(fd);
	return poll(&p, 1, 5000) == 1 && drain(fd) > 0;
}

static bool read_is(const char *dir, const char *file, const char *needle)
{
	char path[PATH_MAX + 64], buf[512];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

/* What a failed live test leaves, for the teardown: never a frozen child or
 * a stray cgroup on the machine. */
static struct cgroup live_cg;
static pid_t live_child;

static int live_teardown(void **state)
{
	if (live_cg.dir[0])
		cgroup_thaw(&live_cg);
	if (live_child > 0) {
		kill(live_child, SIGKILL);
		waitpid(live_child, NULL, 0);
	}
	if (live_cg.dir[0]) {
		cgroup_kill(&live_cg);
		cgroup_remove(&live_cg);
	}
	memset(&live_cg, 0, sizeof(live_cg));
	live_child = 0;
	return 0;
}

/* The whole life of a container cgroup with a real member. */
static void cycle(const struct cgroup *cg)
{
	_cleanup_close_ int rfd = -1;
	_cleanup_free_ pid_t *pids = NULL;
	pid_t child = live_child = ticker(&rfd);
	struct stat st;
	size_t n;
	int ws;

	assert_int_equal(cgroup_attach(cg, child), 0);
	assert_int_equal(cgroup_pids(cg, &pids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], child);

	assert_true(ticking(rfd));
	assert_int_equal(cgroup_freeze(cg, 5000), 0);
	if (cg->v1)
		assert_true(read_is(cg->dir, "freezer.state", "FROZEN"));
	else
		assert_true(read_is(cg->dir, "cgroup.events", "frozen 1"));
	drain(rfd);
	usleep(100000);
	assert_int_equal(drain(rfd), 0);   /* frozen: not one tick */

	assert_int_equal(cgroup_thaw(cg), 0);
	assert_true(ticking(rfd));

	/* killing a frozen cgroup works too */
	assert_int_equal(cgroup_freeze(cg, 5000), 0);
	assert_int_equal(cgroup_kill(cg), 0);
	assert_int_equal(waitpid(child, &ws, 0), child);
	live_child = 0;
	assert_true(WIFSIGNALED(ws));
	assert_int_equal(WTERMSIG(ws), SIGKILL);
	free(pids);
	pids = NULL;
	assert_int_equal(cgroup_pids(cg, &pids, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(cgroup_remove(cg), 0);
	assert_int_equal(stat(cg->dir, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(cgroup_remove(cg), 0);   /* idempotent */
}

static void test_live_create(void **state)
{
	struct cgroup cg, again;
	char name[64];
	int fd;

	if (!is_root())
		skip();
	snprintf(name, sizeof(name), "unit-%d", getpid());
	assert_int_equal(cgroup_create(name, &cg), 0);
	live_cg = cg;
	print_message("cgroup %s (%s)\n", cg.dir, cg.v1 ? "v1 freezer" : "cgroup2");
	if (!cg.v1) {
		fd = cgroup_open(&cg);
		assert_true(fd >= 0);
		close(fd);
	}
	/* an empty leftover is reused, and thawed if a crash left it frozen */
	assert_int_equal(cgroup_freeze(&cg, 1000), 0);
	assert_int_equal(cgroup_create(name, &again), 0);
	assert_string_equal(again.dir, cg.dir);
	assert_true(read_is(cg.dir, cg.v1 ? "freezer.state" : "cgroup.freeze", cg.v1 ? "THAWED" : "0"));
	cycle(&cg);

	assert_int_equal(cgroup_create("", &cg), -EINVAL);
	assert_int_equal(cgroup_create("a/b", &cg), -EINVAL);
	assert_int_equal(cgroup_create("..", &cg), -EINVAL);
}

static void test_live_busy(void **state)
{
	struct cgroup cg, again;
	char name[64];
	pid_t child;
	int rfd;

	if (!is_root())
		skip();
	snprintf(name, sizeof(name), "unit-busy-%d", getpid());
	assert_int_equal(cgroup_create(name, &cg), 0);
	live_cg = cg;
	child = live_child = ticker(&rfd);
	assert_int_equal(cgroup_attach(&cg, child), 0);
	assert_int_equal(cgroup_create(name, &again), -EBUSY);   /* in use: not ours to take */
	assert_int_equal(cgroup_kill(&cg), 0);
	waitpid(child, NULL, 0);
	live_child = 0;
	close(rfd);
	assert_int_equal(cgroup_remove(&cg), 0);
}

/* Each hierarchy by hand, so the v1 freezer is exercised where v2 exists. */
static void live_hierarchy(bool v1)
{
	struct cgroup cg = { .v1 = v1 };
	char base[PATH_MAX - 64];
	int r = cgroup_base_dir(-1, -1, v1, base, sizeof(base));

	if (!is_root() || r == -ENOENT)
		skip();
	assert_int_equal(r, 0);
	snprintf(cg.dir, sizeof(cg.dir), "%s/ckptd-unit-%s-%d", base, v1 ? "v1" : "v2", getpid());
	assert_int_equal(mkdir(cg.dir, 0755), 0);
	live_cg = cg;
	cycle(&cg);
}

static void test_live_v2(void **state)
{
	live_hierarchy(false);
}

static void test_live_v1(void **state)
{
	live_hierarchy(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_pure_v2),
		cmocka_unit_test(test_v1_only),
		cmocka_unit_test(test_subtree_mount),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test_teardown(test_live_create, live_teardown),
		cmocka_unit_test_teardown(test_live_busy, live_teardown),
		cmocka_unit_test_teardown(test_live_v2, live_teardown),
		cmocka_unit_test_teardown(test_live_v1, live_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
