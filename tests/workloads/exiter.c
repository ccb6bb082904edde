// SPDX-License-Identifier: GPL-2.0-or-later
/* exiter: processes with memory of their own that write it without pause
 * and exit at random moments, so that background snapshots see processes
 * exit in the middle of their copy.
 *
 *   exiter [CHILDREN] [MIN_MIB] [MAX_MIB] [PARENT_MIB]    default: 4 16 32 MIN_MIB
 *
 * The parent holds PARENT_MIB (a longer copy) and keeps CHILDREN children alive: each maps
 * MIN_MIB to MAX_MIB of its own (a random size), writes it like snapwriter
 * (write i goes to page i % N, which then holds i; the counter after it),
 * and after a random number of writes checks every page and exits 0; the
 * parent reaps it and starts another. SIGTERM to a child makes it check and
 * exit at once (a test's way to have one exit at a moment of its choosing). A child that finds a page holding
 * anything but what its counter says exits 1, and the parent fails then.
 * So a restarted copy checks every page of every process it holds: each
 * child before it exits, the parent on SIGUSR2.
 *
 * SIGUSR2 (to the parent; it passes it on): every process checks all its
 * pages, "PASS exiter parent <exits> <live children>" and
 * "PASS exiter child <pages> <counter>". */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define PG 4096UL
#define WPP (PG / 8)
#define MAX_CHILDREN 16

static uint64_t *mem;
static size_t npages;
static volatile uint64_t counter;   /* the last write done */
static const char *role = "parent";
static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void check_all(bool report)
{
	uint64_t c = counter;

	for (size_t p = 0; p < npages; p++) {
		uint64_t want = c - (c - p) % npages;
		const uint64_t *pg = mem + p * WPP;

		for (size_t w = 0; w < WPP; w += WPP / 8)
			if (pg[w] != want + w)
				fail("exiter %s %d: page %zu word %zu holds %lu, the counter %lu says %lu\n", role,
				     (int)getpid(), p, w, (unsigned long)pg[w], (unsigned long)c,
				     (unsigned long)(want + w));
	}
	if (report)
		say("PASS exiter %s %zu %lu\n", role, npages, (unsigned long)c);
}

static void map(size_t mib)
{
	npages = (mib << 20) / PG;
	mem = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("exiter %s: mmap %zu MiB\n", role, mib);
	for (size_t p = 0; p < npages; p++)
		for (size_t w = 0; w < WPP; w += WPP / 8)
			mem[p * WPP + w] = p + w;
	counter = npages - 1;
}

/* Some writes, each checking the page holds the write before it. */
static void write_some(int n)
{
	uint64_t i = counter + 1;

	for (int k = 0; k < n; k++, i++) {
		uint64_t *pg = mem + (i % npages) * WPP;

		for (size_t w = 0; w < WPP; w += WPP / 8) {
			if (pg[w] != i - npages + w)
				fail("exiter %s %d: write %lu: page %lu word %zu holds %lu, not %lu\n", role, (int)getpid(),
				     (unsigned long)i, (unsigned long)(i % npages), w, (unsigned long)pg[w],
				     (unsigned long)(i - npages + w));
			pg[w] = i + w;
		}
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&counter, i, __ATOMIC_RELEASE);
	}
}

static void child(size_t mib, uint64_t writes)
{
	struct timespec pause = { 0, 1000 * 1000 };
	uint64_t end;

	struct sigaction sa = { .sa_handler = on_term, .sa_flags = SA_RESTART };

	role = "child";
	got_usr2 = 0;
	sigaction(SIGTERM, &sa, NULL);
	munmap(mem, npages * PG);   /* the parent's: not this one's to check */
	map(mib);
	end = counter + writes;
	while (counter < end && !got_term) {
		write_some(64);
		if (got_usr2) {
			got_usr2 = 0;
			check_all(true);
		}
		nanosleep(&pause, NULL);
	}
	check_all(false);
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	int want = argc > 1 ? atoi(argv[1]) : 4;
	size_t lo = argc > 2 ? strtoul(argv[2], NULL, 10) : 16, hi = argc > 3 ? strtoul(argv[3], NULL, 10) : 32;
	size_t own = argc > 4 ? strtoul(argv[4], NULL, 10) : lo;
	pid_t kids[MAX_CHILDREN] = { 0 };
	unsigned long exits = 0;

	if (want < 1 || want > MAX_CHILDREN || lo < 1 || hi < lo || own < 1)
		fail("usage: exiter [CHILDREN (1-%d)] [MIN_MIB] [MAX_MIB] [PARENT_MIB]\n", MAX_CHILDREN);
	sigaction(SIGUSR2, &sa, NULL);
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	map(own);
	say("READY exiter %d children of %zu-%zu MiB\n", want, lo, hi);
	for (;;) {
		int st, live = 0;
		pid_t w;

		for (int c = 0; c < want; c++) {
			if (kids[c])
				continue;
			size_t mib = lo + (size_t)rand() % (hi - lo + 1);
			/* 64 writes a millisecond at most: from about 5 ms to 200 ms, or more */
			uint64_t writes = 64 * (5 + (uint64_t)(rand() % 200));

			kids[c] = fork();
			if (kids[c] < 0)
				fail("exiter: fork: %m\n");
			if (kids[c] == 0)
				child(mib, writes);
		}
		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				fail("exiter: child %d ended with status %#x\n", (int)w, st);
			for (int c = 0; c < want; c++)
				if (kids[c] == w)
					kids[c] = 0;
			exits++;
		}
		if (w < 0 && errno != ECHILD)
			fail("exiter: waitpid: %m\n");
		write_some(16);
		if (got_usr2) {
			got_usr2 = 0;
			for (int c = 0; c < want; c++)
				if (kids[c]) {
					kill(kids[c], SIGUSR2);
					live++;
				}
			check_all(false);
			say("PASS exiter parent %lu %d\n", exits, live);
		}
		nanosleep(&pause, NULL);
	}
}
