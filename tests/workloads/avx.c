// SPDX-License-Identifier: GPL-2.0-or-later
/* avx: values that live only in ymm registers while a long inline-asm loop
 * runs, so a checkpoint almost always lands inside it. Any loss or
 * corruption of the extended register state (upper ymm halves included) is
 * caught by comparing the loop's result with a scalar computation.
 *
 * The loop (per 64-bit lane, s0..s7 in ymm0..ymm7, c in ymm8):
 *     s0 += c; s0 += s1; s1 += s2; ... s6 += s7; s7 += s0
 * is affine, so N iterations are one 9x9 matrix power mod 2^64, computed once.
 * ymm9..ymm15 hold constants that must come out of the loop unchanged; MXCSR
 * and the x87 control word are set to non-default values and checked.
 * READY, then verify every ~30 ms; SIGUSR2: "PASS avx <iter>". */
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define LANES 4
#define DIM 9
#define LOOP_N 12000000UL
#define MXCSR_VAL 0xffc0u	/* round toward zero, FTZ, DAZ, all masked */
#define FPUCW_VAL 0x027fu	/* double precision */

static uint64_t mat[DIM][DIM];	/* one step ^ LOOP_N */
static uint64_t st[8][LANES] __attribute__((aligned(32)));
static uint64_t cst[LANES] __attribute__((aligned(32)));
static uint64_t kin[7][LANES] __attribute__((aligned(32)));
static uint64_t kout[7][LANES] __attribute__((aligned(32)));
static unsigned long iter;

static void mat_mul(uint64_t r[DIM][DIM], uint64_t a[DIM][DIM], uint64_t b[DIM][DIM])
{
	uint64_t t[DIM][DIM];

	for (int i = 0; i < DIM; i++)
		for (int j = 0; j < DIM; j++) {
			uint64_t s = 0;

			for (int k = 0; k < DIM; k++)
				s += a[i][k] * b[k][j];
			t[i][j] = s;
		}
	memcpy(r, t, sizeof(t));
}

/* x' = E x with E = I + e_i e_j^T: row i of the product gains row j. */
static void step_add(uint64_t m[DIM][DIM], int i, int j)
{
	for (int k = 0; k < DIM; k++)
		m[i][k] += m[j][k];
}

static void build_matrix(void)
{
	uint64_t step[DIM][DIM] = { { 0 } }, acc[DIM][DIM] = { { 0 } };
	unsigned long n = LOOP_N;

	for (int i = 0; i < DIM; i++)
		step[i][i] = acc[i][i] = 1;
	step_add(step, 0, 8);
	for (int i = 0; i < 7; i++)
		step_add(step, i, i + 1);
	step_add(step, 7, 0);
	while (n) {
		if (n & 1)
			mat_mul(acc, step, acc);
		mat_mul(step, step, step);
		n >>= 1;
	}
	memcpy(mat, acc, sizeof(acc));
}

static void run_loop(void)
{
	unsigned long n = LOOP_N;

	__asm__ volatile(
		"vmovdqa 0(%[s]), %%ymm0\n\t"
		"vmovdqa 32(%[s]), %%ymm1\n\t"
		"vmovdqa 64(%[s]), %%ymm2\n\t"
		"vmovdqa 96(%[s]), %%ymm3\n\t"
		"vmovdqa 128(%[s]), %%ymm4\n\t"
		"vmovdqa 160(%[s]), %%ymm5\n\t"
		"vmovdqa 192(%[s]), %%ymm6\n\t"
		"vmovdqa 224(%[s]), %%ymm7\n\t"
		"vmovdqa (%[c]), %%ymm8\n\t"
		"vmovdqa 0(%[ki]), %%ymm9\n\t"
		"vmovdqa 32(%[ki]), %%ymm10\n\t"
		"vmovdqa 64(%[ki]), %%ymm11\n\t"
		"vmovdqa 96(%[ki]), %%ymm12\n\t"
		"vmovdqa 128(%[ki]), %%ymm13\n\t"
		"vmovdqa 160(%[ki]), %%ymm14\n\t"
		"vmovdqa 192(%[ki]), %%ymm15\n\t"
		"1:\n\t"
		"vpaddq %%ymm8, %%ymm0, %%ymm0\n\t"
		"vpaddq %%ymm1, %%ymm0, %%ymm0\n\t"
		"vpaddq %%ymm2, %%ymm1, %%ymm1\n\t"
		"vpaddq %%ymm3, %%ymm2, %%ymm2\n\t"
		"vpaddq %%ymm4, %%ymm3, %%ymm3\n\t"
		"vpaddq %%ymm5, %%ymm4, %%ymm4\n\t"
		"vpaddq %%ymm6, %%ymm5, %%ymm5\n\t"
		"vpaddq %%ymm7, %%ymm6, %%ymm6\n\t"
		"vpaddq %%ymm0, %%ymm7, %%ymm7\n\t"
		"dec %[n]\n\t"
		"jnz 1b\n\t"
		"vmovdqa %%ymm0, 0(%[s])\n\t"
		"vmovdqa %%ymm1, 32(%[s])\n\t"
		"vmovdqa %%ymm2, 64(%[s])\n\t"
		"vmovdqa %%ymm3, 96(%[s])\n\t"
		"vmovdqa %%ymm4, 128(%[s])\n\t"
		"vmovdqa %%ymm5, 160(%[s])\n\t"
		"vmovdqa %%ymm6, 192(%[s])\n\t"
		"vmovdqa %%ymm7, 224(%[s])\n\t"
		"vmovdqa %%ymm9, 0(%[ko])\n\t"
		"vmovdqa %%ymm10, 32(%[ko])\n\t"
		"vmovdqa %%ymm11, 64(%[ko])\n\t"
		"vmovdqa %%ymm12, 96(%[ko])\n\t"
		"vmovdqa %%ymm13, 128(%[ko])\n\t"
		"vmovdqa %%ymm14, 160(%[ko])\n\t"
		"vmovdqa %%ymm15, 192(%[ko])\n\t"
		"vzeroupper\n\t"
		: [n] "+r"(n)
		: [s] "r"(st), [c] "r"(cst), [ki] "r"(kin), [ko] "r"(kout)
		: "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

static void verify_control(void)
{
	uint32_t mxcsr;
	uint16_t cw;

	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	if (mxcsr != MXCSR_VAL)
		fail("MXCSR %#x != %#x\n", mxcsr, MXCSR_VAL);
	if (cw != FPUCW_VAL)
		fail("x87 control word %#x != %#x\n", cw, FPUCW_VAL);
}

/* One loop run, checked against the scalar prediction. */
static void round_once(void)
{
	uint64_t want[8][LANES];

	for (int l = 0; l < LANES; l++)
		for (int i = 0; i < 8; i++) {
			uint64_t s = mat[i][8] * cst[l];

			for (int k = 0; k < 8; k++)
				s += mat[i][k] * st[k][l];
			want[i][l] = s;
		}
	memset(kout, 0, sizeof(kout));
	run_loop();
	for (int i = 0; i < 8; i++)
		for (int l = 0; l < LANES; l++)
			if (st[i][l] != want[i][l])
				fail("ymm%d lane %d after loop %lu: %#lx != %#lx\n", i, l, iter,
				     (unsigned long)st[i][l], (unsigned long)want[i][l]);
	if (memcmp(kin, kout, sizeof(kin)))
		fail("constant ymm9..15 changed in loop %lu\n", iter);
	verify_control();
	iter++;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	uint32_t mxcsr = MXCSR_VAL;
	uint16_t cw = FPUCW_VAL;

	if (!__builtin_cpu_supports("avx2")) {
		say("SKIP no avx2\n");
		return 77;
	}
	sigaction(SIGUSR2, &sa, NULL);
	for (int l = 0; l < LANES; l++) {
		cst[l] = 0x9e3779b97f4a7c15ULL * (l + 1);
		for (int i = 0; i < 8; i++)
			st[i][l] = 0x1000003ULL * (i + 1) + 0x100000001b3ULL * (l + 7);
		for (int i = 0; i < 7; i++)
			kin[i][l] = 0xa5a5a5a5a5a5a5a5ULL ^ ((uint64_t)(i * 4 + l) << 40) ^ (l + i);
	}
	build_matrix();
	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
	__asm__ volatile("fldcw %0" : : "m"(cw));

	round_once();
	say("READY\n");
	for (;;) {
		round_once();
		if (got_usr2) {
			got_usr2 = 0;
			say("PASS avx %lu\n", iter);
		}
		nanosleep(&ts, NULL);
	}
}
