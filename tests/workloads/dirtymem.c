// SPDX-License-Identifier: GPL-2.0-or-later
/* dirtymem: SIZE MiB of dirty anonymous memory, every page holding a pattern.
 *
 *   dirtymem SIZE_MIB
 *
 * Fills all of it, writes READY, then every 50 ms checks a few pages (cheap,
 * so it does not disturb a benchmark). SIGUSR2 checks every page and writes
 * "PASS dirtymem <iteration>". */
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t pages = (mib << 20) / PG;
	unsigned long iter = 0;
	uint64_t *m;

	if (!pages)
		fail("usage: dirtymem SIZE_MIB\n");
	sigaction(SIGUSR2, &sa, NULL);
	m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("mmap %lu MiB\n", mib);
	for (size_t p = 0; p < pages; p++)
		for (size_t w = 0; w < WPP; w++)
			m[p * WPP + w] = word(p, w);
	say("READY %lu MiB\n", mib);
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
