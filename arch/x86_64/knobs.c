// SPDX-License-Identifier: GPL-2.0-or-later
/* x86 knobs a task sets on itself: the TSC and CPUID faulting modes (per
 * thread), shadow stacks, linear address masking and the permission for
 * dynamic xstate features such as AMX tiles (per process). */
#include "arch.h"
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef ARCH_GET_CPUID
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012
#endif
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define ARCH_GET_UNTAG_MASK 0x4001
#define ARCH_SHSTK_STATUS 0x5005
#define XFEATURE_XTILEDATA 18
/* The features a process has without asking (x87, SSE, AVX, AVX-512...):
 * only the dynamic ones (XTILEDATA) need ARCH_REQ_XCOMP_PERM. */
#define XCOMP_DYNAMIC (1ull << XFEATURE_XTILEDATA)

enum { K_TSC, K_CPUID, K_THREAD_N };
enum { K_SHSTK, K_UNTAG, K_XCOMP, K_PROCESS_N };

static const char *const thread_names[K_THREAD_N] = { "TSC mode (PR_GET_TSC)", "CPUID faulting (ARCH_GET_CPUID)" };
static const char *const process_names[K_PROCESS_N] = {
	"shadow stack (ARCH_SHSTK_STATUS)", "linear address masking (ARCH_GET_UNTAG_MASK)",
	"xstate permissions (ARCH_GET_XCOMP_PERM)",
};

unsigned arch_knob_count(enum arch_knob_scope scope)
{
	return scope == ARCH_KNOB_THREAD ? K_THREAD_N : K_PROCESS_N;
}

const char *arch_knob_name(enum arch_knob_scope scope, unsigned i)
{
	if (i >= arch_knob_count(scope))
		return "?";
	return scope == ARCH_KNOB_THREAD ? thread_names[i] : process_names[i];
}

static struct arch_call call(long nr, uint64_t a0, uint64_t a1)
{
	return (struct arch_call){ .nr = nr, .args = { a0, a1 }, .ret = -ENOSYS };
}

struct arch_call arch_knob_get(enum arch_knob_scope scope, unsigned i, uint64_t out)
{
	if (scope == ARCH_KNOB_THREAD)
		return i == K_TSC ? call(__NR_prctl, PR_GET_TSC, out) : call(__NR_arch_prctl, ARCH_GET_CPUID, 0);
	switch (i) {
	case K_SHSTK: return call(__NR_arch_prctl, ARCH_SHSTK_STATUS, out);
	case K_UNTAG: return call(__NR_arch_prctl, ARCH_GET_UNTAG_MASK, out);
	default: return call(__NR_arch_prctl, ARCH_GET_XCOMP_PERM, out);
	}
}

uint64_t arch_knob_value(enum arch_knob_scope scope, unsigned i, int64_t ret, uint64_t out)
{
	if (scope == ARCH_KNOB_THREAD) {
		if (i == K_TSC)   /* PR_GET_TSC writes an int */
			return ret < 0 ? PR_TSC_ENABLE : (uint32_t)out;
		return ret < 0 ? 1 : (uint64_t)ret;   /* 1: CPUID works (no faulting) */
	}
	switch (i) {
	case K_SHSTK: return ret < 0 ? 0 : out;
	case K_UNTAG: return ret < 0 ? ~0ull : out;
	default: return ret < 0 ? 0 : out;
	}
}

int arch_knob_check(enum arch_knob_scope scope, unsigned i, uint64_t value, char *why, size_t whylen)
{
	const char *bad = NULL;

	if (scope == ARCH_KNOB_THREAD) {
		if (i == K_TSC && value != PR_TSC_ENABLE && value != PR_TSC_SIGSEGV)
			bad = "unknown TSC mode";
		if (i == K_CPUID && value > 1)
			bad = "unknown CPUID mode";
	} else if (i == K_SHSTK && value) {
		bad = "shadow stacks enabled: not supported";
	} else if (i == K_UNTAG && value != ~0ull) {
		bad = "tagged addresses (LAM) enabled: not supported";
	}
	if (bad) {
		snprintf(why, whylen, "%s", bad);
		return -EOPNOTSUPP;
	}
	return 0;
}

size_t arch_knob_set(enum arch_knob_scope scope, unsigned i, uint64_t value, struct arch_call *calls)
{
	if (scope == ARCH_KNOB_THREAD) {
		if (i == K_TSC && value != PR_TSC_ENABLE) {
			calls[0] = call(__NR_prctl, PR_SET_TSC, value);
			return 1;
		}
		if (i == K_CPUID && value == 0) {
			calls[0] = call(__NR_arch_prctl, ARCH_SET_CPUID, 0);
			return 1;
		}
		return 0;
	}
	if (i == K_XCOMP && (value & XCOMP_DYNAMIC)) {
		calls[0] = call(__NR_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
		return 1;
	}
	return 0;
}
