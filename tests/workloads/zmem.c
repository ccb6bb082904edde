// SPDX-License-Identifier: GPL-2.0-or-later
/* zmem: pages that compress well and pages that don't, for --compress.
 *
 *   zmem SIZE_MIB
 *
 * Half of SIZE MiB holds text-like pages (a repeated line naming the page:
 * compresses well), the other half pseudo-random bytes (a xorshift stream
 * seeded by the page: does not compress at all). Writes READY, then
 * SIGUSR2 checks every byte of both and writes "PASS zmem <iteration>". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "wl.h"

#define PG 4096UL
#define MIN_SZ(a, b) ((size_t)(a) < (b) ? (size_t)(a) : (b))

static void fill_text(char *pg, size_t p)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "page %zu of the compressible half\n", p);

	for (size_t off = 0; off < PG; off += n)
		memcpy(pg + off, line, MIN_SZ(n, PG - off));
}

static void fill_noise(uint64_t *pg, size_t p)
{
	uint64_t x = (p + 1) * 0x9e3779b97f4a7c15ULL;

	for (size_t w = 0; w < PG / 8; w++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pg[w] = x;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 32;
	size_t pages = (mib << 20) / PG, half = pages / 2;
	unsigned long iter = 0;
	char *m, *want;

	if (half == 0)
		fail("usage: zmem SIZE_MIB\n");
	sigaction(SIGUSR2, &sa, NULL);
	m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	want = malloc(PG);
	if (m == MAP_FAILED || !want)
		fail("zmem: allocating %lu MiB\n", mib);
	for (size_t p = 0; p < pages; p++)
		if (p < half)
			fill_text(m + p * PG, p);
		else
			fill_noise((uint64_t *)(m + p * PG), p);
	say("READY %lu MiB\n", mib);
	for (;;) {
		nanosleep(&ts, NULL);
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		for (size_t p = 0; p < pages; p++) {
			if (p < half)
				fill_text(want, p);
			else
				fill_noise((uint64_t *)want, p);
			if (memcmp(m + p * PG, want, PG))
				fail("zmem page %zu (%s half) differs\n", p, p < half ? "compressible" : "random");
		}
		say("PASS zmem %lu\n", iter++);
	}
}
