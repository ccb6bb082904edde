// SPDX-License-Identifier: GPL-2.0-or-later
/* droppable: MAP_DROPPABLE memory (kernel >= 6.11) must come back droppable
 * and with its contents.
 *
 * Maps 64 pages MAP_DROPPABLE and fills each with a pattern of its index,
 * next to an ordinary private mapping with another pattern. Verifies (on
 * SIGUSR2) that smaps still shows VmFlags "dp" for the droppable range and
 * not for the other, and (every ~50 ms too) that every page holds its
 * pattern: the kernel may zero droppable pages under memory pressure, so an
 * all-zero page counts as dropped, anything else that differs fails.
 * Prints "SKIP droppable" and exits 0 on kernels without MAP_DROPPABLE.
 * SIGUSR2: "PASS droppable <iter> dropped=<pages>". */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#define NPAGES 64
#define PG 4096

static unsigned char *drop, *plain;

static void fill(unsigned char *p, size_t i, unsigned seed)
{
	for (size_t k = 0; k < PG; k++)
		p[k] = (unsigned char)(seed + i * 31 + k * 7 + 1) | 1;   /* never zero */
}

static int page_ok(const unsigned char *p, size_t i, unsigned seed)
{
	unsigned char want[PG];

	fill(want, i, seed);
	return memcmp(p, want, PG) == 0;
}

/* Does smaps show mnemonic dp for the mapping starting at addr? -1: not found. */
static int has_dp(const void *addr)
{
	char want[32], line[512];
	int in = 0, r = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		fail("smaps: %s\n", strerror(errno));
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			in = 1;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			r = strstr(line, " dp") != NULL;
			break;
		}
	}
	fclose(f);
	return r;
}

/* flags: also read smaps, which opens an fd; only when asked, so a test
 * comparing the fd table before and after never sees it */
static unsigned verify(int flags)
{
	unsigned dropped = 0;

	if (flags && has_dp(drop) != 1)
		fail("droppable mapping %p lost VmFlags dp (%d)\n", (void *)drop, has_dp(drop));
	if (flags && has_dp(plain) != 0)
		fail("plain mapping %p shows dp or is gone (%d)\n", (void *)plain, has_dp(plain));
	for (size_t i = 0; i < NPAGES; i++) {
		const unsigned char *p = drop + i * PG;
		static const unsigned char zero[PG];

		if (!page_ok(p, i, 5)) {
			if (memcmp(p, zero, PG))
				fail("droppable page %zu holds wrong data\n", i);
			dropped++;
		}
		if (!page_ok(plain + i * PG, i, 77))
			fail("plain page %zu holds wrong data\n", i);
	}
	return dropped;
}

int main(void)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	unsigned long iter = 0;

	signal(SIGUSR2, on_usr2);
	/* one reservation, split: the two mappings stay side by side */
	plain = mmap(NULL, 2 * NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (plain == MAP_FAILED)
		fail("mmap: %s\n", strerror(errno));
	drop = mmap(plain + NPAGES * PG, NPAGES * PG, PROT_READ | PROT_WRITE,
		    MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (drop == MAP_FAILED) {
		if (errno == EINVAL || errno == EOPNOTSUPP) {
			say("SKIP droppable: no MAP_DROPPABLE (%s)\n", strerror(errno));
			return 0;
		}
		fail("mmap MAP_DROPPABLE: %s\n", strerror(errno));
	}
	for (size_t i = 0; i < NPAGES; i++) {
		fill(drop + i * PG, i, 5);
		fill(plain + i * PG, i, 77);
	}
	verify(1);
	say("READY\n");
	for (;;) {
		unsigned d;

		nanosleep(&ts, NULL);
		d = verify(got_usr2);
		if (got_usr2) {
			got_usr2 = 0;
			say("PASS droppable %lu dropped=%u\n", iter, d);
		}
		iter++;
	}
}
