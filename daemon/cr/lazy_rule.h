// SPDX-License-Identifier: GPL-2.0-or-later
/* Which mappings a lazy restart leaves to its filler: one rule for both
 * sides. The writer puts the pages of these mappings last in each task's
 * segment (mm_dump_pages) and the restorer leaves exactly these to the
 * filler (lazy.c). From a stream the two must agree page for page: a page
 * the restorer takes for lazy arriving among the eager ones, or the
 * reverse, is refused by the filler after the tasks ran. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct Ckpt__Img__Vma;

/* A thread's rseq area, as registered. */
struct lazy_area {
	uint64_t ptr, len;
};

/* What the mapping alone does not tell. */
struct lazy_facts {
	const struct lazy_area *rseq;   /* its process's threads' rseq areas */
	size_t nrseq;
	bool child_inherits;          /* a child of the process inherits it */
	uint32_t mlockall;            /* the process's mlockall() flags */
};

/* Whether v's pages may be left to the filler. */
bool lazy_rule_vma(const struct Ckpt__Img__Vma *v, const struct lazy_facts *f);

/* Whether one of the n areas meets [lo, hi). */
bool lazy_rule_rseq_in(const struct lazy_area *a, size_t n, uint64_t lo, uint64_t hi);
