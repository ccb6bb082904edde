// SPDX-License-Identifier: GPL-2.0-or-later
/* lazy_rule.h. A mapping is filled lazily when its pages are its
 * process's own: private anonymous memory
 * - that no child of the process inherits (a child forked during the
 *   restore copies its parent's pages then, and they are not there yet)
 *   and that the process did not inherit itself;
 * - not locked, nor in a process that called mlockall(MCL_CURRENT): mlock
 *   would fault it in during the restore;
 * - not holding a thread's rseq area, which the kernel writes into at
 *   every return to user space, before any fault could be answered;
 * - not wiped on fork (a child's copy must be zeroes, not the parent's
 *   fill), not PROT_NONE, not MAP_DROPPABLE.
 * Everything else is filled before the tasks run. */
#include "lazy_rule.h"
#include "dump.h"
#include "image.pb-c.h"
#include <sys/mman.h>

bool lazy_rule_rseq_in(const struct lazy_area *a, size_t n, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].ptr < hi && a[i].ptr + a[i].len > lo)
			return true;
	return false;
}

static bool own_anon(const Ckpt__Img__Vma *v)
{
	return v->kind == CKPT__IMG__VMA_KIND__VMA_ANON && (v->flags & MAP_PRIVATE) && !v->droppable &&
	       !(v->has_inherit && v->inherit) && v->prot != PROT_NONE &&
	       !(v->has_madv && (v->madv & MADV_BIT_WIPEONFORK));
}

bool lazy_rule_vma(const Ckpt__Img__Vma *v, const struct lazy_facts *f)
{
	return own_anon(v) && !v->locked && !(f->mlockall & MCL_CURRENT) && !f->child_inherits &&
	       !lazy_rule_rseq_in(f->rseq, f->nrseq, v->start, v->end);
}
