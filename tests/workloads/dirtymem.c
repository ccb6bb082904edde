// SPDX-License-Identifier: GPL-2.0-or-later
/* dirtymem: SIZE MiB of dirty anonymous memory, every page holding a pattern.
 *
 *   dirtymem SIZE_MIB [stall]
 *
 * Fills all of it, writes READY, then every 50 ms checks a few pages (cheap,
 * so it does not disturb a benchmark). SIGUSR2 checks every page and writes
 * "PASS dirtymem <iteration>".
 *
 * With "stall", it measures how long it is held up instead: every 200 us
 * it writes one of its pages again (the same pattern, a page table further
 * on each time) and maps, writes and unmaps a new page, and keeps the
 * longest gap between two iterations (CLOCK_MONOTONIC): a checkpoint that
 * stops it, or a fault or mmap that waits, shows there. SIGUSR1 writes
 * "STALL <longest gap in us> <iterations>" and starts a new measure. */
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define PG 4096UL
#define WPP (PG / 8)


static uint64_t word(size_t page, size_t w)
{
	return (page * 0x9e3779b97f4a7c15ULL) ^ (w << 48) ^ 0x5555aaaa0000ULL;
}

static void check_page(const uint64_t *m, size_t p)
{
	for (size_t w = 0; w < WPP; w++)
		if (m[p * WPP + w] != word(p, w))
			fail("dirtymem page %zu word %zu\n", p, w);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* One iteration of the stall mode: an old page written, a new one mapped. */
static void touch(uint64_t *m, size_t pages, unsigned long iter)
{
	size_t p = (iter * 513) % pages;   /* 513 pages: a page table further each time */
	uint64_t *n;

	m[p * WPP] = word(p, 0);
	n = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (n == MAP_FAILED)
		fail("dirtymem: mmap of a new page\n");
	n[0] = iter;
	munmap(n, PG);
}

static void stall_loop(uint64_t *m, size_t pages)
{
	struct timespec ts = { 0, 200 * 1000 };
	uint64_t last = now_us(), most = 0, t;
	unsigned long iter = 0, since = 0;

	for (;; iter++, since++) {
		nanosleep(&ts, NULL);
		touch(m, pages, iter);
		t = now_us();
		most = t - last > most ? t - last : most;
		last = t;
		if (got_usr1) {
			got_usr1 = 0;
			say("STALL %llu %lu\n", (unsigned long long)most, since);
			most = since = 0;
		}
		if (got_usr2) {
			got_usr2 = 0;
			for (size_t p = 0; p < pages; p++)
				check_page(m, p);
			say("PASS dirtymem %lu\n", iter);
			last = now_us();   /* the check is no stall */
		}
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa1 = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t pages = (mib << 20) / PG;
	unsigned long iter = 0;
	uint64_t *m;

	if (!pages)
		fail("usage: dirtymem SIZE_MIB\n");
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGUSR1, &sa1, NULL);
	m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap %lu MiB\n", mib);
	for (size_t p = 0; p < pages; p++)
		for (size_t w = 0; w < WPP; w++)
			m[p * WPP + w] = word(p, w);
	say("READY %lu MiB\n", mib);
	if (argc > 2 && strcmp(argv[2], "stall") == 0)
		stall_loop(m, pages);
	for (;;) {
		nanosleep(&ts, NULL);
		for (int k = 0; k < 8; k++)
			check_page(m, (iter * 7919 + k * 104729) % pages);
		if (got_usr2) {
			got_usr2 = 0;
			for (size_t p = 0; p < pages; p++)
				check_page(m, p);
			say("PASS dirtymem %lu\n", iter);
		}
		iter++;
	}
}
