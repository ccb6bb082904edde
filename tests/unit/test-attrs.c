// SPDX-License-Identifier: GPL-2.0-or-later
/* attrs: the restart checks of ThreadAttrs and ProcAttrs records, which
 * come from an image and so are hostile: each field out of its range is
 * refused, with the error class that says why. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "attrs.h"

static struct cr_error err;
static struct restore_ctx ctx = { .err = &err };
static uint32_t spec[ATTRS_SPEC_KINDS];
static uint64_t tarch[ATTRS_ARCH_MAX], parch[ATTRS_ARCH_MAX];
static uint8_t mask[8];

static Ckpt__Img__ThreadAttrs thread_ok(void)
{
	Ckpt__Img__ThreadAttrs a;
	unsigned i;

	ckpt__img__thread_attrs__init(&a);
	a.sched_policy = SCHED_OTHER;
	a.sched_nice = 5;
	a.ioprio = (2 << 13) | 4;
	a.timer_slack_ns = 50000;
	a.pdeathsig = 10;
	a.mce_kill = 2;
	a.spec_ctrl = spec;
	a.n_spec_ctrl = ATTRS_SPEC_KINDS;
	for (i = 0; i < arch_knob_count(ARCH_KNOB_THREAD); i++)
		tarch[i] = 1;   /* TSC enabled (PR_TSC_ENABLE), CPUID on */
	a.arch = tarch;
	a.n_arch = arch_knob_count(ARCH_KNOB_THREAD);
	memset(mask, 0, sizeof(mask));
	mask[0] = 1;
	a.has_affinity = true;
	a.affinity.data = mask;
	a.affinity.len = sizeof(mask);
	return a;
}

static Ckpt__Img__ProcAttrs proc_ok(void)
{
	Ckpt__Img__ProcAttrs a;
	unsigned i;

	ckpt__img__proc_attrs__init(&a);
	a.oom_score_adj = 300;
	a.loginuid = 4242;
	a.thp_disable = 1;
	a.dumpable = 1;
	a.mdwe = 1;
	a.membarrier = 16;
	a.coredump_filter = 0x33;
	a.futex_slots = 64;
	for (i = 0; i < arch_knob_count(ARCH_KNOB_PROCESS); i++)
		parch[i] = i == 1 ? ~0ull : 0;   /* shadow stack off, LAM off (all ones), no AMX */
	a.arch = parch;
	a.n_arch = arch_knob_count(ARCH_KNOB_PROCESS);
	return a;
}

static int check_thread(const Ckpt__Img__ThreadAttrs *a)
{
	memset(&err, 0, sizeof(err));
	return attrs_check_thread(&ctx, 2, 3, a);
}

static int check_proc(const Ckpt__Img__ProcAttrs *a)
{
	memset(&err, 0, sizeof(err));
	return attrs_check_proc(&ctx, 2, a);
}

#define BAD_THREAD(field, value, want)                      \
	do {                                                \
		Ckpt__Img__ThreadAttrs a = thread_ok();     \
		a.field = value;                            \
		assert_true(check_thread(&a) < 0);          \
		assert_int_equal(err.code, want);           \
	} while (0)

#define BAD_PROC(field, value)                              \
	do {                                                \
		Ckpt__Img__ProcAttrs a = proc_ok();         \
		a.field = value;                            \
		assert_true(check_proc(&a) < 0);            \
		assert_int_equal(err.code, CR_ERR_BAD_IMAGE); \
	} while (0)

static void test_thread_good(void **state)
{
	Ckpt__Img__ThreadAttrs a = thread_ok();

	(void)state;
	assert_int_equal(check_thread(&a), 0);
	assert_int_equal(check_thread(NULL), 0);
	a.sched_policy = SCHED_FIFO;
	a.sched_priority = 99;
	a.has_affinity = false;
	assert_int_equal(check_thread(&a), 0);
	a.sched_policy = 6;   /* SCHED_DEADLINE */
	a.sched_priority = 0;
	a.has_sched_runtime = a.has_sched_deadline = a.has_sched_period = true;
	a.sched_runtime = 1000000;
	a.sched_deadline = a.sched_period = 10000000;
	assert_int_equal(check_thread(&a), 0);
}

static void test_thread_bad(void **state)
{
	(void)state;
	BAD_THREAD(sched_policy, 4, CR_ERR_BAD_IMAGE);          /* no such policy */
	BAD_THREAD(sched_policy, 77, CR_ERR_BAD_IMAGE);
	BAD_THREAD(sched_priority, 1, CR_ERR_BAD_IMAGE);        /* priority with SCHED_OTHER */
	BAD_THREAD(sched_nice, 20, CR_ERR_BAD_IMAGE);
	BAD_THREAD(sched_nice, -21, CR_ERR_BAD_IMAGE);
	BAD_THREAD(sched_flags, 0x100, CR_ERR_BAD_IMAGE);
	BAD_THREAD(pdeathsig, 65, CR_ERR_BAD_IMAGE);
	BAD_THREAD(mce_kill, 3, CR_ERR_BAD_IMAGE);
	BAD_THREAD(ioprio, 4 << 13, CR_ERR_BAD_IMAGE);
	BAD_THREAD(ioprio, 0x10000, CR_ERR_BAD_IMAGE);
	BAD_THREAD(securebits, 1u << 20, CR_ERR_BAD_IMAGE);
	BAD_THREAD(n_spec_ctrl, ATTRS_SPEC_KINDS + 1, CR_ERR_BAD_IMAGE);
	BAD_THREAD(n_arch, 0, CR_ERR_BAD_IMAGE);
	BAD_THREAD(affinity.len, 0, CR_ERR_BAD_IMAGE);
	BAD_THREAD(affinity.len, 3, CR_ERR_BAD_IMAGE);
	BAD_THREAD(affinity.len, ATTRS_AFFINITY_MAX + 8, CR_ERR_BAD_IMAGE);
	BAD_THREAD(util_max, 2000, CR_ERR_BAD_IMAGE);
	BAD_THREAD(has_util_min, true, CR_ERR_BAD_IMAGE);       /* min without max */
	BAD_THREAD(sched_policy, 6, CR_ERR_BAD_IMAGE);          /* deadline without parameters */
	BAD_THREAD(arch[0], 7, CR_ERR_UNSUPPORTED);             /* unknown TSC mode */
	spec[1] = 64;
	BAD_THREAD(sched_nice, 0, CR_ERR_BAD_IMAGE);
	spec[1] = 0;
}

/* A CPU the machine lacks: refused at restart, naming it. */
static void test_thread_missing_cpu(void **state)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	Ckpt__Img__ThreadAttrs a = thread_ok();

	(void)state;
	if (n >= 64)
		skip();
	mask[n / 8] |= 1 << (n % 8);
	assert_true(check_thread(&a) < 0);
	assert_int_equal(err.code, CR_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "does not exist here"));
}

static void test_proc(void **state)
{
	Ckpt__Img__ProcAttrs a = proc_ok();

	(void)state;
	assert_int_equal(check_proc(&a), 0);
	assert_int_equal(check_proc(NULL), 0);
	BAD_PROC(oom_score_adj, 1001);
	BAD_PROC(oom_score_adj, -1001);
	BAD_PROC(thp_disable, 2);
	BAD_PROC(dumpable, 2);
	BAD_PROC(mdwe, 4);
	BAD_PROC(membarrier, 1);            /* a command, not a registration */
	BAD_PROC(coredump_filter, 0x200);
	BAD_PROC(futex_slots, 3);           /* not a power of two */
	BAD_PROC(futex_slots, 1u << 20);
	BAD_PROC(n_arch, 1);
	{
		Ckpt__Img__ProcAttrs b = proc_ok();

		b.has_autogroup_nice = true;
		b.autogroup_nice = 25;
		assert_true(check_proc(&b) < 0);
		b = proc_ok();
		parch[0] = 1;   /* shadow stack on: refused, not a bad image */
		assert_true(check_proc(&b) < 0);
		assert_int_equal(err.code, CR_ERR_UNSUPPORTED);
		parch[0] = 0;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_good),
		cmocka_unit_test(test_thread_bad),
		cmocka_unit_test(test_thread_missing_cpu),
		cmocka_unit_test(test_proc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
