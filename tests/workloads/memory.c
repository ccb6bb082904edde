// SPDX-License-Identifier: GPL-2.0-or-later
/* memory: every kind of private and shared mapping a program has, each holding
 * a pattern that the workload verifies itself (CRIU ZDTM shape).
 *
 *   memory [WORKDIR]     (WORKDIR default /tmp; two files are created there)
 *
 * Writes READY, then every ~25 ms verifies everything and does a little work.
 * On SIGUSR2 it verifies everything and writes "PASS memory <iteration>".
 * Any mismatch: "FAIL <what>" and exit 1. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
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
#define HEAP_BYTES (8UL << 20)
#define HEAP_WORDS (HEAP_BYTES / 8)
#define HEAP_PAGES (HEAP_BYTES / PG)
#define ANON_PAGES 64
#define GUARD_PAGE 32
#define RO_FIRST 48
#define PRIV_PAGES 16
#define PRIV_DIRTY 8
#define SHARED_PAGES 8

static sigjmp_buf probe_env;
static volatile sig_atomic_t probing;

/* .bss: the page versions of the heap live here, a VMA of its own kind. */
static uint32_t heap_ver[HEAP_PAGES];
/* .data */
static uint64_t data_magic = 0x0123456789abcdefULL;

static uint64_t *heap;
static uint8_t *anon;
static uint8_t *priv;
static uint8_t *shared;
static int shared_fd = -1, priv_fd = -1;
static uint64_t shared_ctr[SHARED_PAGES];
static unsigned long iter;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint8_t anon_byte(size_t i) { return (uint8_t)(mix(i + 0x1000) & 0xff); }
static uint8_t file_byte(size_t i) { return (uint8_t)(i * 13 + 7); }
static uint8_t dirty_byte(size_t i) { return (uint8_t)(i * 29 + 101); }

static void on_segv(int sig)
{
	if (probing)
		siglongjmp(probe_env, 1);
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
}

static void heap_fill_page(size_t p)
{
	for (size_t w = p * (PG / 8); w < (p + 1) * (PG / 8); w++)
		heap[w] = mix(w) + heap_ver[p];
}

static void verify_heap(void)
{
	for (size_t w = 0; w < HEAP_WORDS; w++)
		if (heap[w] != mix(w) + heap_ver[w / (PG / 8)])
			fail("heap word %zu: %#lx != %#lx\n", w, (unsigned long)heap[w],
			     (unsigned long)(mix(w) + heap_ver[w / (PG / 8)]));
}

/* The guard page must still fault: probe it under a SIGSEGV handler. */
static void verify_guard(void)
{
	volatile uint8_t *g = anon + GUARD_PAGE * PG;

	if (sigsetjmp(probe_env, 1) == 0) {
		probing = 1;
		(void)*g;
		probing = 0;
		fail("guard page at %p is readable\n", (void *)g);
	}
	probing = 0;
}

static void verify_anon(void)
{
	for (size_t i = 0; i < ANON_PAGES * PG; i++) {
		if (i / PG == GUARD_PAGE)
			continue;
		if (anon[i] != anon_byte(i))
			fail("anon byte %zu\n", i);
	}
}

static void verify_priv(void)
{
	uint8_t buf[PG];

	for (size_t i = 0; i < PRIV_PAGES * PG; i++) {
		uint8_t want = i / PG < PRIV_DIRTY ? dirty_byte(i) : file_byte(i);

		if (priv[i] != want)
			fail("private file mapping byte %zu: %u != %u\n", i, priv[i], want);
	}
	/* The file itself never saw the private writes. */
	for (size_t p = 0; p < PRIV_PAGES; p++) {
		if (pread(priv_fd, buf, PG, p * PG) != (ssize_t)PG)
			fail("pread private file page %zu\n", p);
		for (size_t i = 0; i < PG; i++)
			if (buf[i] != file_byte(p * PG + i))
				fail("private file content page %zu byte %zu\n", p, i);
	}
}

static void verify_shared(void)
{
	uint8_t buf[PG];

	for (size_t p = 0; p < SHARED_PAGES; p++) {
		uint64_t *w = (uint64_t *)(shared + p * PG);

		if (w[0] != shared_ctr[p] || w[1] != ~shared_ctr[p])
			fail("shared mapping page %zu counter %lu != %lu\n", p,
			     (unsigned long)w[0], (unsigned long)shared_ctr[p]);
		for (size_t i = 16; i < PG; i++)
			if (shared[p * PG + i] != file_byte(p * PG + i))
				fail("shared mapping page %zu byte %zu\n", p, i);
		/* MAP_SHARED writes are in the file: read it back through the fd. */
		if (pread(shared_fd, buf, PG, p * PG) != (ssize_t)PG)
			fail("pread shared file page %zu\n", p);
		if (memcmp(buf, shared + p * PG, PG))
			fail("shared file page %zu differs from its mapping\n", p);
	}
}

static void verify_stack(const volatile uint64_t *st, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (st[i] != mix(i ^ 0x5a5a) + iter)
			fail("stack word %zu\n", i);
}

static void verify_all(const volatile uint64_t *st, size_t n)
{
	if (data_magic != 0x0123456789abcdefULL)
		fail(".data word\n");
	verify_heap();
	verify_stack(st, n);
	verify_anon();
	verify_guard();
	verify_priv();
	verify_shared();
}

static int create_file(const char *path, size_t pages)
{
	uint8_t buf[PG];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		fail("open %s: %s\n", path, strerror(errno));
	for (size_t p = 0; p < pages; p++) {
		for (size_t i = 0; i < PG; i++)
			buf[i] = file_byte(p * PG + i);
		if (write(fd, buf, PG) != (ssize_t)PG)
			fail("write %s\n", path);
	}
	return fd;
}

static void setup(const char *dir)
{
	char path[512];

	heap = malloc(HEAP_BYTES);
	if (!heap)
		fail("malloc\n");
	for (size_t p = 0; p < HEAP_PAGES; p++)
		heap_fill_page(p);

	anon = mmap(NULL, ANON_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		fail("mmap anon\n");
	for (size_t i = 0; i < ANON_PAGES * PG; i++)
		anon[i] = anon_byte(i);
	if (mprotect(anon + GUARD_PAGE * PG, PG, PROT_NONE) ||
	    mprotect(anon + RO_FIRST * PG, (ANON_PAGES - RO_FIRST) * PG, PROT_READ))
		fail("mprotect\n");

	snprintf(path, sizeof(path), "%s/memory.priv", dir);
	priv_fd = create_file(path, PRIV_PAGES);
	priv = mmap(NULL, PRIV_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, priv_fd, 0);
	if (priv == MAP_FAILED)
		fail("mmap private file\n");
	for (size_t i = 0; i < PRIV_DIRTY * PG; i++)
		priv[i] = dirty_byte(i);

	snprintf(path, sizeof(path), "%s/memory.shared", dir);
	shared_fd = create_file(path, SHARED_PAGES);
	shared = mmap(NULL, SHARED_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, shared_fd, 0);
	if (shared == MAP_FAILED)
		fail("mmap shared file\n");
	for (size_t p = 0; p < SHARED_PAGES; p++) {
		uint64_t *w = (uint64_t *)(shared + p * PG);

		w[0] = shared_ctr[p] = 0;
		w[1] = ~0ULL;
	}
}

static void work(volatile uint64_t *st, size_t n)
{
	size_t p = iter % HEAP_PAGES, s = iter % SHARED_PAGES;
	uint64_t *w = (uint64_t *)(shared + s * PG);

	heap_ver[p]++;
	heap_fill_page(p);
	shared_ctr[s]++;
	w[0] = shared_ctr[s];
	w[1] = ~shared_ctr[s];
	iter++;
	for (size_t i = 0; i < n; i++)
		st[i] = mix(i ^ 0x5a5a) + iter;
}

int main(int argc, char **argv)
{
	volatile uint64_t stack_arr[2048];	/* 16 KiB in main's frame */
	const size_t n = sizeof(stack_arr) / sizeof(stack_arr[0]);
	struct sigaction sa = { .sa_flags = SA_RESTART };
	struct timespec ts = { 0, 25 * 1000 * 1000 };

	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_segv;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);

	setup(argc > 1 ? argv[1] : "/tmp");
	for (size_t i = 0; i < n; i++)
		stack_arr[i] = mix(i ^ 0x5a5a) + iter;
	verify_all(stack_arr, n);
	say("READY\n");

	for (;;) {
		nanosleep(&ts, NULL);
		verify_all(stack_arr, n);
		if (got_usr2) {
			got_usr2 = 0;
			say("PASS memory %lu\n", iter);
		}
		work(stack_arr, n);
	}
}
