// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel feature probes: each answers with a detail, leaves no child and no
 * cgroup behind, and (as root, on the kernels we support) finds what the
 * engine needs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroup.h"
#include "kerndat.h"
#include "macro.h"
#include "proc.h"
#include <glob.h>
#include <limits.h>

static const struct kerndat_feature *find(const struct kerndat_feature *f, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (streq(f[i].name, name))
			return &f[i];
	return NULL;
}

static size_t probe_dirs_left(void)
{
	char base[PATH_MAX - 32], pat[PATH_MAX];
	size_t left = 0;
	int v1;

	for (v1 = 0; v1 < 2; v1++) {
		glob_t g;

		if (cgroup_base_dir(-1, -1, v1, base, sizeof(base)) < 0)
			continue;
		snprintf(pat, sizeof(pat), "%s/ckptd.probe-*", base);
		if (glob(pat, 0, NULL, &g) == 0)
			left += g.gl_pathc;
		globfree(&g);
	}
	return left;
}

static void test_check(void **state)
{
	static const char *needed[] = {
		"pid_namespace", "mount_namespace", "clone3_set_tid", "ptrace_rseq_config",
		"xstate", "process_vm_rw", "pagemap", "prctl_set_mm_map",
	};
	struct kerndat_feature f[64];
	const struct kerndat_feature *c2, *c1;
	_cleanup_free_ pid_t *kids = NULL;
	size_t nk, i;
	int n;

	n = kerndat_check(f, ARRAY_SIZE(f));
	assert_true(n >= 13);
	for (i = 0; i < (size_t)n; i++) {
		print_message("%-20s %-3s %s\n", f[i].name, f[i].ok ? "ok" : "NO", f[i].detail);
		assert_non_null(f[i].name);
		assert_true(f[i].detail[0]);
	}
	/* every probe child reaped, every probe cgroup removed */
	assert_int_equal(proc_children(getpid(), &kids, &nk), 0);
	assert_int_equal(nk, 0);
	assert_int_equal(probe_dirs_left(), 0);

	if (geteuid() != 0)
		return;
	for (i = 0; i < ARRAY_SIZE(needed); i++) {
		const struct kerndat_feature *x = find(f, n, needed[i]);

		assert_non_null(x);
		if (!x->ok)
			fail_msg("%s: %s", x->name, x->detail);
	}
	c2 = find(f, n, "cgroup2_freezer");
	c1 = find(f, n, "cgroup1_freezer");
	assert_true(c2 && c1 && (c2->ok || c1->ok));
}

static void test_bounded(void **state)
{
	struct kerndat_feature f[2];

	assert_int_equal(kerndat_check(f, 2), 2);
	assert_int_equal(kerndat_check(f, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
