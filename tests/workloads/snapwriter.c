// SPDX-License-Identifier: GPL-2.0-or-later
/* snapwriter: writes its memory without pause, so that a checkpoint taken
 * while it runs must be one exact instant of it.
 *
 *   snapwriter SIZE_MIB [CHILDREN]
 *
 * SIZE_MIB of anonymous memory, N pages; page p first holds p. Write i
 * (i = W, W+1, ...) goes to page i % W, then the counter becomes i, in
 * that order: every page then holds the last write that went to it. Each
 * write first checks that the page still holds the write before it
 * (i - W), so a restarted copy whose memory is not one instant fails
 * within one pass. With CHILDREN, the memory is filled, then the children
 * are forked: every process writes the lower half (W = N/2, its own copy)
 * and leaves the upper half as the fork left it (copy-on-write shared).
 *
 * SIGUSR2 (to the first process; it passes it on) checks every page against
 * the counter: "PASS snapwriter <role> <counter>". SIGUSR1 makes the
 * process that gets it exit: "EXIT snapwriter <role> <counter>", then a
 * thread it starts for it ends the process (exit_group) while the first
 * thread still runs. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define PG 4096UL
#define WPP (PG / 8)
#define MAX_CHILDREN 8

static uint64_t *mem;
static size_t npages, wpages;
static volatile uint64_t counter;   /* the last write done */
static pid_t children[MAX_CHILDREN];
static int nchildren;
static const char *role = "parent";
static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void check_all(void)
{
	uint64_t c = counter;

	for (size_t p = 0; p < npages; p++) {
		uint64_t want = p < wpages ? c - (c - p) % wpages : p;
		const uint64_t *pg = mem + p * WPP;

		if (pg[0] != want || pg[WPP - 1] != want)
			fail("snapwriter %s: page %zu holds %lu/%lu, the counter %lu says %lu\n", role, p,
			     (unsigned long)pg[0], (unsigned long)pg[WPP - 1], (unsigned long)c, (unsigned long)want);
	}
	say("PASS snapwriter %s %lu\n", role, (unsigned long)c);
}

static void *ender(void *arg)
{
	(void)arg;
	exit(0);
}

static void run(void)
{
	struct timespec pause = { 0, 1000 * 1000 };
	uint64_t i = counter + 1;

	for (;;) {
		for (int k = 0; k < 1024; k++, i++) {
			uint64_t *pg = mem + (i % wpages) * WPP;

			if (pg[0] != i - wpages || pg[WPP - 1] != i - wpages)
				fail("snapwriter %s: write %lu: page %lu holds %lu/%lu, not write %lu\n", role,
				     (unsigned long)i, (unsigned long)(i % wpages), (unsigned long)pg[0],
				     (unsigned long)pg[WPP - 1], (unsigned long)(i - wpages));
			pg[0] = i;
			pg[WPP - 1] = i;
			/* the page first, then the counter */
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			__atomic_store_n(&counter, i, __ATOMIC_RELEASE);
		}
		if (got_usr1) {
			pthread_t t;

			got_usr1 = 0;
			say("EXIT snapwriter %s %lu\n", role, (unsigned long)counter);
			if (pthread_create(&t, NULL, ender, NULL) != 0)
				fail("snapwriter %s: pthread_create\n", role);
		}
		if (got_usr2) {
			got_usr2 = 0;
			for (int c = 0; c < nchildren; c++)
				kill(children[c], SIGUSR2);
			check_all();
		}
		nanosleep(&pause, NULL);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	int want_children = argc > 2 ? atoi(argv[2]) : 0;

	npages = (mib << 20) / PG;
	if (npages < 2 || want_children < 0 || want_children > MAX_CHILDREN)
		fail("usage: snapwriter SIZE_MIB [CHILDREN (0-%d)]\n", MAX_CHILDREN);
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	mem = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("snapwriter: mmap %lu MiB\n", mib);
	for (size_t p = 0; p < npages; p++)
		mem[p * WPP] = mem[p * WPP + WPP - 1] = p;
	wpages = want_children ? npages / 2 : npages;
	counter = wpages - 1;
	for (int c = 0; c < want_children; c++) {
		pid_t pid = fork();

		if (pid < 0)
			fail("snapwriter: fork: %m\n");
		if (pid == 0) {
			static char name[24];   /* "child" and any int */

			nchildren = 0;
			snprintf(name, sizeof(name), "child%d", c);
			role = name;
			run();
		}
		children[nchildren++] = pid;
	}
	say("READY snapwriter %lu MiB, %d children\n", mib, nchildren);
	run();
}
