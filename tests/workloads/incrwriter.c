// SPDX-License-Identifier: GPL-2.0-or-later
/* incrwriter: memory that changes a little between checkpoints, for
 * incremental images.
 *
 *   incrwriter SIZE_MIB [plain]
 *
 * SIZE_MIB of anonymous memory, N pages; every word of page p holds a
 * value of (p, seq[p], word), seq[p] its sequence number (kept in a heap
 * array, itself part of the state). SIGUSR1 is a step: step s rewrites
 * every hundredth page (p % 100 == s % 100: 1% of them) with seq[p] + 1;
 * the first step also maps a new 1 MiB region (its own pattern) and forks
 * a child, which rewrites that region with a pattern of its own and
 * checks, besides, the big region as the fork left it (its copy of seq).
 * From the third step on, each step also discards (MADV_DONTNEED) 8
 * pages it does not rewrite (p % 100 == (s + 50) % 100), which must then
 * read as zeros. With "plain", steps only rewrite pages
 * (bench/incremental.sh). Each step ends with "STEP s".
 *
 * SIGUSR2 (to the first process; it passes it on) checks every word of
 * every page: "PASS incrwriter <role> <steps>". */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define PG 4096UL
#define WPP (PG / 8)
#define EXTRA_PAGES 256
#define DISCARDS 8
#define DISCARDED UINT32_MAX      /* seq[p] of a page discarded: all zeros */

static uint64_t *mem, *extra;
static uint32_t *seq;
static size_t npages;
static unsigned steps;
static uint32_t extra_seq;
static pid_t child;
static const char *role = "parent";
static volatile sig_atomic_t got_usr1;
static int plain;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1++;
}

static uint64_t word(uint64_t p, uint64_t s, uint64_t k)
{
	return (p * 0x9e3779b97f4a7c15ull) ^ (s * 0xc2b2ae3d27d4eb4full) ^ (k << 1) ^ 0x5555;
}

static void fill(uint64_t *pg, uint64_t p, uint64_t s)
{
	for (size_t k = 0; k < WPP; k++)
		pg[k] = word(p, s, k);
}

static void check(const uint64_t *pg, uint64_t p, uint64_t s, const char *what)
{
	for (size_t k = 0; k < WPP; k++)
		if (pg[k] != (s == DISCARDED ? 0 : word(p, s, k)))
			fail("incrwriter %s: %s page %lu word %zu holds %#lx, not sequence %lu's\n", role, what,
			     (unsigned long)p, k, (unsigned long)pg[k], (unsigned long)s);
}

static void check_all(void)
{
	for (size_t p = 0; p < npages; p++)
		check(mem + p * WPP, p, seq[p], "memory");
	for (size_t p = 0; extra && p < EXTRA_PAGES; p++)
		check(extra + p * WPP, p + (1u << 30), extra_seq, "new mapping");
	say("PASS incrwriter %s %u\n", role, steps);
}

static void step(void)
{
	steps++;
	for (size_t p = steps % 100; p < npages; p += 100)
		fill(mem + p * WPP, p, seq[p] = seq[p] == DISCARDED ? 1 : seq[p] + 1);
	for (size_t p = (steps + 50) % 100, k = 0; steps >= 3 && !plain && k < DISCARDS && p < npages; p += 100, k++) {
		if (madvise(mem + p * WPP, PG, MADV_DONTNEED) < 0)
			fail("incrwriter: madvise: %m\n");
		seq[p] = DISCARDED;
	}
	if (steps == 1 && !plain) {
		extra = mmap(NULL, EXTRA_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (extra == MAP_FAILED)
			fail("incrwriter: mmap: %m\n");
		extra_seq = 1;
		for (size_t p = 0; p < EXTRA_PAGES; p++)
			fill(extra + p * WPP, p + (1u << 30), extra_seq);
		child = fork();
		if (child < 0)
			fail("incrwriter: fork: %m\n");
		if (child == 0) {
			role = "child";
			extra_seq = 7;
			for (size_t p = 0; p < EXTRA_PAGES; p++)
				fill(extra + p * WPP, p + (1u << 30), extra_seq);
		}
	}
	if (child || plain)
		say("STEP %u\n", steps);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;

	npages = (mib << 20) / PG;
	plain = argc > 2 && strcmp(argv[2], "plain") == 0;
	if (npages < 100)
		fail("usage: incrwriter SIZE_MIB (1 or more)\n");
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	mem = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	seq = calloc(npages, sizeof(*seq));
	if (mem == MAP_FAILED || !seq)
		fail("incrwriter: %lu MiB: %m\n", mib);
	for (size_t p = 0; p < npages; p++)
		fill(mem + p * WPP, p, 0);
	say("READY incrwriter %lu MiB\n", mib);
	for (;;) {
		/* the child takes no steps: its memory changes only by its parent's */
		if (got_usr1 && child >= 0 && strcmp(role, "child")) {
			got_usr1--;
			step();
		}
		if (got_usr2) {
			got_usr2 = 0;
			if (child > 0)
				kill(child, SIGUSR2);
			check_all();
		}
		nanosleep(&pause, NULL);
	}
}
