// SPDX-License-Identifier: GPL-2.0-or-later
/* The lazy rule (daemon/cr/lazy_rule.c), which the writer and the restorer
 * of a lazy restart share: over a table of mapping shapes and of what the
 * mapping alone does not tell, which mappings the filler may be left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "dump.h"
#include "lazy_rule.h"

#define LO 0x7f0000000000ull
#define HI (LO + 16 * 4096)

enum shape {
	ANON,                         /* private anonymous, read-write */
	FILE_PRIVATE,
	FILE_SHARED,
	SHARED_ANON,
	MEMFD,
	SHARED_FLAG,                  /* anonymous kind but MAP_SHARED */
	LOCKED,
	PROT_NONE_,
	WIPEONFORK,
	OTHER_MADV,                   /* a madvise bit that changes nothing */
	DROPPABLE,
	INHERITED,                    /* it came from the parent */
	INHERIT_FALSE,                /* has_inherit, but not inherited */
};

static void shape(Ckpt__Img__Vma *v, enum shape s)
{
	ckpt__img__vma__init(v);
	v->start = LO;
	v->end = HI;
	v->kind = CKPT__IMG__VMA_KIND__VMA_ANON;
	v->flags = MAP_PRIVATE | MAP_ANONYMOUS;
	v->prot = PROT_READ | PROT_WRITE;
	switch (s) {
	case ANON: break;
	case FILE_PRIVATE: v->kind = CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE; v->flags = MAP_PRIVATE; break;
	case FILE_SHARED: v->kind = CKPT__IMG__VMA_KIND__VMA_FILE_SHARED; v->flags = MAP_SHARED; break;
	case SHARED_ANON: v->kind = CKPT__IMG__VMA_KIND__VMA_SHARED_ANON; v->flags = MAP_SHARED | MAP_ANONYMOUS; break;
	case MEMFD: v->kind = CKPT__IMG__VMA_KIND__VMA_MEMFD; v->flags = MAP_SHARED; break;
	case SHARED_FLAG: v->flags = MAP_SHARED | MAP_ANONYMOUS; break;
	case LOCKED: v->locked = true; break;
	case PROT_NONE_: v->prot = PROT_NONE; break;
	case WIPEONFORK: v->has_madv = true; v->madv = MADV_BIT_WIPEONFORK; break;
	case OTHER_MADV: v->has_madv = true; v->madv = (uint32_t)~MADV_BIT_WIPEONFORK; break;
	case DROPPABLE: v->droppable = true; break;
	case INHERITED: v->has_inherit = v->inherit = true; break;
	case INHERIT_FALSE: v->has_inherit = true; break;
	}
}

static const struct lazy_area in_vma = { LO + 4096 + 64, 32 };
static const struct lazy_area straddles = { LO - 16, 32 };     /* ends inside */
static const struct lazy_area at_end = { HI - 32, 32 };
static const struct lazy_area before = { LO - 32, 32 };        /* ends at LO */
static const struct lazy_area after = { HI, 32 };

static void test_shapes(void **state)
{
	static const struct {
		enum shape s;
		bool lazy;
	} t[] = {
		{ ANON, true },        { FILE_PRIVATE, false }, { FILE_SHARED, false }, { SHARED_ANON, false },
		{ MEMFD, false },      { SHARED_FLAG, false },  { LOCKED, false },      { PROT_NONE_, false },
		{ WIPEONFORK, false }, { OTHER_MADV, true },    { DROPPABLE, false },   { INHERITED, false },
		{ INHERIT_FALSE, true },
	};
	const struct lazy_facts none = { 0 };
	Ckpt__Img__Vma v;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		shape(&v, t[i].s);
		if (lazy_rule_vma(&v, &none) != t[i].lazy)
			fail_msg("shape %d: expected %s", t[i].s, t[i].lazy ? "lazy" : "eager");
	}
}

/* What only the process tells makes an otherwise lazy mapping eager. */
static void test_facts(void **state)
{
	const struct lazy_area two[] = { after, in_vma };
	static const struct lazy_area out[] = { { LO - 32, 32 }, { HI, 32 } };
	const struct {
		struct lazy_facts f;
		bool lazy;
	} t[] = {
		{ { .rseq = &in_vma, .nrseq = 1 }, false },
		{ { .rseq = &straddles, .nrseq = 1 }, false },
		{ { .rseq = &at_end, .nrseq = 1 }, false },
		{ { .rseq = &before, .nrseq = 1 }, true },
		{ { .rseq = &after, .nrseq = 1 }, true },
		{ { .rseq = two, .nrseq = 2 }, false },          /* another thread's */
		{ { .rseq = two, .nrseq = 1 }, true },           /* counted, not all read */
		{ { .rseq = out, .nrseq = 2 }, true },
		{ { .child_inherits = true }, false },
		{ { .mlockall = MCL_CURRENT }, false },
		{ { .mlockall = MCL_CURRENT | MCL_FUTURE }, false },
		{ { .mlockall = MCL_FUTURE }, true },            /* later mappings only */
		{ { .mlockall = MCL_FUTURE | MCL_ONFAULT }, true },
	};
	Ckpt__Img__Vma v;

	(void)state;
	shape(&v, ANON);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (lazy_rule_vma(&v, &t[i].f) != t[i].lazy)
			fail_msg("facts row %zu: expected %s", i, t[i].lazy ? "lazy" : "eager");
	/* and nothing makes an eager shape lazy */
	shape(&v, LOCKED);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_false(lazy_rule_vma(&v, &t[i].f));
}

/* The restorer asks of a PAGEMAP's range too, not only a mapping's. */
static void test_rseq_in(void **state)
{
	(void)state;
	assert_false(lazy_rule_rseq_in(NULL, 0, LO, HI));
	assert_true(lazy_rule_rseq_in(&in_vma, 1, LO + 4096, LO + 8192));
	assert_false(lazy_rule_rseq_in(&in_vma, 1, LO, LO + 4096));
	assert_false(lazy_rule_rseq_in(&in_vma, 1, LO + 8192, HI));
	assert_true(lazy_rule_rseq_in(&at_end, 1, HI - 4096, HI));
	assert_false(lazy_rule_rseq_in(&after, 1, LO, HI));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_facts),
		cmocka_unit_test(test_rseq_in),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
