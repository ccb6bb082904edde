// SPDX-License-Identifier: GPL-2.0-or-later
/* lazymem: memory for a lazy restart to fill while the program uses it.
 *
 *   lazymem SIZE_MIB [tree]
 *
 * SIZE MiB of patterned private memory, and three 4 MiB mappings placed
 * above it (the last a lazy restart fills in the background): one to be
 * discarded, one to be moved, one to be split. Writes READY, then waits
 * for signals.
 *
 * SIGUSR1 (sent right after a restart, while its memory is still being
 * filled): a middle part of the split mapping becomes read-only (its
 * pieces now span three mappings) and all of it must keep its data; the
 * discard mapping gets MADV_DONTNEED and must read as zeroes;
 * the move mapping is mremap'd elsewhere and checked there; the kernel
 * reads lazy pages (write() from the end of the big mapping into a pipe)
 * and writes into others (read() from it into the middle of a page
 * elsewhere, whose other bytes must still be the image's); a child forked
 * now checks its whole copy and exits 0 ("PASS lazymem-child"). Then
 * "POST ok".
 *
 * SIGUSR2 checks every page (and the discarded and moved mappings, once
 * SIGUSR1 did its work): "PASS lazymem <iteration>".
 *
 * tree: a worker is forked first, and it and the parent each map and fill
 * all of the above on their own (nothing of it inherited, each with a
 * pattern of its own). Both get SIGUSR1 and SIGUSR2 (ckptd signals every
 * task of a container); the parent waits for the worker to be done
 * ("WORKER POST ok", "PASS lazymem-worker <iteration>") before it does
 * the same itself: a worker that fails fails the parent.
 *
 *   lazymem SIZE_MIB watch
 *
 * writes "MAP main ADDR" (the big mapping's address) before READY, and
 * reads every page of the big mapping over and over besides, a thread for
 * each 2 MiB (a pass, then 10 ms of sleep), so that a restarted one reads
 * each part as soon as it is in. What it reads it says: a page it ever
 * finds altered, it names with the value it read ("FAIL", and "forged"
 * when the bytes are the image's inverted, as imgforge writes them); a
 * page a thread has stayed on for a second ("WAITING page N", again each
 * second it stays): a lazy page not copied in yet (or a thread not run
 * for that long, on a loaded machine). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define PG 4096UL
#define WPP (PG / 8)
#define SIDE (4UL << 20)
#define SPLIT_AT 5UL     /* pages: off any extent boundary */

static volatile sig_atomic_t got_usr1;
static uint64_t *m, *discard, *moved, *split;
static size_t pages;
static int post_done;
static uint64_t role;            /* tree: 0 in the parent, the worker's pattern in it */
static pid_t worker = -1;        /* tree, in the parent */
static int ack[2] = { -1, -1 };  /* the worker says it is done through it */

static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

static uint64_t word(uint64_t salt, size_t page, size_t w)
{
	return (page * 0x9e3779b97f4a7c15ULL) ^ (w << 48) ^ 0x5555aaaa0000ULL ^ salt ^ role;
}

static void fill(uint64_t *p, size_t npages, uint64_t salt)
{
	for (size_t i = 0; i < npages; i++)
		for (size_t w = 0; w < WPP; w++)
			p[i * WPP + w] = word(salt, i, w);
}

static void check(const uint64_t *p, size_t npages, uint64_t salt, const char *what)
{
	for (size_t i = 0; i < npages; i++)
		for (size_t w = 0; w < WPP; w++)
			if (p[i * WPP + w] != word(salt, i, w))
				fail("lazymem %s page %zu word %zu: %#lx, want %#lx\n", what, i, w,
				     (unsigned long)p[i * WPP + w], (unsigned long)word(salt, i, w));
}

static void check_zero(const uint64_t *p, size_t npages, const char *what)
{
	for (size_t i = 0; i < npages * WPP; i++)
		if (p[i])
			fail("lazymem %s: word %zu is %#lx after MADV_DONTNEED, want 0\n", what, i, (unsigned long)p[i]);
}

static void check_all(void)
{
	check(m, pages, 0, "main");
	check(split, SIDE / PG, 3, "split");
	if (post_done) {
		check_zero(discard, SIDE / PG, "discarded");
		check(moved, SIDE / PG, 2, "moved");
	} else {
		check(discard, SIDE / PG, 1, "discard");
		check(moved, SIDE / PG, 2, "move");
	}
}

/* Lazy pages through system calls: the kernel reads the source and writes
 * into the middle of a destination page that must keep its other bytes. */
static void through_syscalls(void)
{
	const size_t len = 4 * PG + 123, off = 100;
	unsigned char *src = (unsigned char *)(m + (pages - 8) * WPP);
	unsigned char *dst = (unsigned char *)(m + (pages - 24) * WPP) + off;
	unsigned char *want = malloc(len);
	int fd[2];

	if (!want || pipe(fd) < 0)
		fail("lazymem: pipe\n");
	fcntl(fd[1], F_SETPIPE_SZ, 1 << 20);
	if (write(fd[1], src, len) != (ssize_t)len)
		fail("lazymem: write() from lazy memory\n");
	if (read(fd[0], dst, len) != (ssize_t)len)
		fail("lazymem: read() into lazy memory\n");
	/* what the source held, computed, not read */
	for (size_t i = 0; i < len; i++) {
		size_t b = (pages - 8) * PG + i;
		uint64_t v = word(0, b / PG, (b % PG) / 8);

		want[i] = (unsigned char)(v >> (8 * (b % 8)));
	}
	if (memcmp(dst, want, len))
		fail("lazymem: read() into lazy memory: not the bytes written from it\n");
	/* the bytes around it are the image's, so its page was filled first */
	for (size_t w = 0; w < off / 8; w++)
		if (m[(pages - 24) * WPP + w] != word(0, pages - 24, w))
			fail("lazymem: the page read() wrote into lost its other bytes (word %zu)\n", w);
	{
		size_t endb = (pages - 24) * PG + off + len, last = (pages - 24) * PG + 5 * PG;

		for (size_t b = (endb + 7) & ~7UL; b < last; b += 8)
			if (m[b / 8] != word(0, b / PG, (b % PG) / 8))
				fail("lazymem: the page read() wrote into lost its other bytes (byte %zu)\n", b);
	}
	/* as it was, for the full checks */
	for (size_t i = 0; i < 6; i++)
		for (size_t w = 0; w < WPP; w++)
			m[(pages - 24 + i) * WPP + w] = word(0, pages - 24 + i, w);
	close(fd[0]);
	close(fd[1]);
	free(want);
}

static void post_restart(void)
{
	void *to;
	pid_t pid;
	int st;

	/* first, while the fill has not reached these mappings (the last in
	 * address order): what is discarded must never be filled again, what
	 * moves must be filled where it went */
	if (mprotect(split + SPLIT_AT * WPP, SIDE / 2, PROT_READ) < 0)
		fail("lazymem: mprotect\n");
	check(split, SIDE / PG, 3, "split");
	if (madvise(discard, SIDE, MADV_DONTNEED) < 0)
		fail("lazymem: madvise\n");
	to = mmap(NULL, SIDE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == MAP_FAILED)
		fail("lazymem: mmap\n");
	to = mremap(moved, SIDE, SIDE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (to == MAP_FAILED)
		fail("lazymem: mremap\n");
	moved = to;
	post_done = 1;
	through_syscalls();
	pid = fork();
	if (pid < 0)
		fail("lazymem: fork\n");
	if (pid == 0) {
		check(m, pages, 0, "main (child)");
		check(split, SIDE / PG, 3, "split (child)");
		check_zero(discard, SIDE / PG, "discarded (child)");
		check(moved, SIDE / PG, 2, "moved (child)");
		say("PASS lazymem-child\n");
		_exit(0);
	}
	check_zero(discard, SIDE / PG, "discarded");
	check(moved, SIDE / PG, 2, "moved");
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("lazymem: the child forked after the restart: status %#x\n", st);
	say(role ? "WORKER POST ok\n" : "POST ok\n");
}

/* tree, in the parent: the worker does its work first */
static void wait_worker(void)
{
	char c;
	ssize_t n;

	if (worker < 0)
		return;
	while ((n = read(ack[0], &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		fail("lazymem: the worker failed or is gone\n");
}

/* tree, in the worker: its work is done */
static void done(void)
{
	if (ack[1] >= 0 && write(ack[1], "1", 1) != 1)
		fail("lazymem: worker: telling the parent\n");
}

static void tree(void)
{
	if (pipe(ack) < 0)
		fail("lazymem: pipe\n");
	worker = fork();
	if (worker < 0)
		fail("lazymem: fork\n");
	if (worker == 0) {
		worker = -1;
		role = 0x3c3c000000000000ULL;
		/* its mappings elsewhere than the parent's: a mapping at a
		 * parent's address, of its size, is taken as inherited, and
		 * is then filled before the tasks run */
		if (mmap(NULL, SIDE / 2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
			fail("lazymem: mmap\n");
		close(ack[0]);
		ack[0] = -1;
	} else {
		close(ack[1]);
		ack[1] = -1;
	}
}

#define SLICE 512UL   /* pages: one thread reads each 2 MiB */
#define MAX_SLICES 4096UL
#define IDLE SIZE_MAX

/* The page each slice's thread reads now, IDLE between passes. */
static size_t at[MAX_SLICES];

/* Restarted lazily from a stream, libc's own memory (its .bss, above the
 * big mapping) comes after the big mapping: a thread that touched it
 * (clock_nanosleep does, write and vsnprintf may) would wait for the
 * stream's end instead of reading on, or saying what it read. So the
 * watching threads format their lines themselves and make their system
 * calls with syscall(2), which touches nothing but the thread's own stack
 * and TLS. */
struct line {
	char b[200];
	size_t n;
};

static void put_s(struct line *l, const char *s)
{
	while (*s && l->n < sizeof(l->b))
		l->b[l->n++] = *s++;
}

static void put_u(struct line *l, uint64_t v, unsigned base)
{
	char d[24];
	size_t k = 0;

	do
		d[k++] = "0123456789abcdef"[v % base];
	while ((v /= base));
	if (base == 16)
		put_s(l, "0x");
	while (k && l->n < sizeof(l->b))
		l->b[l->n++] = d[--k];
}

static void put_out(const struct line *l)
{
	if (syscall(SYS_write, 1, l->b, l->n) < 0)
		syscall(SYS_exit_group, 3);
}

static void watch_nap(long ns)
{
	const struct timespec t = { 0, ns };

	syscall(SYS_nanosleep, &t, NULL);
}

/* What a thread read where it wanted the image's word: said, then the
 * process exits. */
static void watch_fail(size_t page, size_t w, uint64_t v, uint64_t want)
{
	struct line l = { .n = 0 };

	put_s(&l, "FAIL lazymem main page ");
	put_u(&l, page, 10);
	put_s(&l, " word ");
	put_u(&l, w, 10);
	put_s(&l, ": read ");
	put_u(&l, v, 16);
	put_s(&l, ", want ");
	put_u(&l, want, 16);
	put_s(&l, v == ~want ? ": forged (the image's bytes inverted)\n" : "\n");
	put_out(&l);
	syscall(SYS_exit_group, 1);
}

static void *watch_slice(void *arg)
{
	size_t first = (size_t)(uintptr_t)arg, n = pages - first < SLICE ? pages - first : SLICE, s = first / SLICE;

	for (;;) {
		for (size_t i = first; i < first + n; i++) {
			__atomic_store_n(&at[s], i, __ATOMIC_RELAXED);
			for (size_t w = 0; w < WPP; w++) {
				uint64_t v = m[i * WPP + w], want = word(0, i, w);

				if (v != want)
					watch_fail(i, w, v, want);
			}
		}
		__atomic_store_n(&at[s], IDLE, __ATOMIC_RELAXED);
		watch_nap(10 * 1000 * 1000);
	}
	return NULL;
}

/* A thread that stays on one page for a second waits for it: said each
 * second it waits ("WAITING page N"), so that a test can tell that it
 * still waits after something it did. */
static void *watch_waits(void *arg)
{
	size_t nslices = (size_t)(uintptr_t)arg, last[MAX_SLICES], still[MAX_SLICES];

	for (size_t s = 0; s < nslices; s++) {
		last[s] = IDLE;
		still[s] = 0;
	}
	for (;;) {
		watch_nap(100 * 1000 * 1000);
		for (size_t s = 0; s < nslices; s++) {
			size_t cur = __atomic_load_n(&at[s], __ATOMIC_RELAXED);

			still[s] = cur == last[s] && cur != IDLE ? still[s] + 1 : 0;
			last[s] = cur;
			if (still[s] && still[s] % 10 == 0) {
				struct line l = { .n = 0 };

				put_s(&l, "WAITING page ");
				put_u(&l, cur, 10);
				put_s(&l, "\n");
				put_out(&l);
			}
		}
	}
	return NULL;
}

static void watch(void)
{
	size_t nslices = (pages + SLICE - 1) / SLICE;
	pthread_t t;

	if (nslices > MAX_SLICES)
		fail("lazymem watch: at most %lu MiB\n", MAX_SLICES * SLICE * PG >> 20);
	for (size_t s = 0; s < nslices; s++) {
		at[s] = IDLE;
		if (pthread_create(&t, NULL, watch_slice, (void *)(uintptr_t)(s * SLICE)))
			fail("lazymem: pthread_create\n");
	}
	if (pthread_create(&t, NULL, watch_waits, (void *)(uintptr_t)nslices))
		fail("lazymem: pthread_create\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2 };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	unsigned long iter = 0;
	sigset_t block, old;

	pages = (mib << 20) / PG;
	if (pages < 64 || (argc > 2 && strcmp(argv[2], "tree") && strcmp(argv[2], "watch")))
		fail("usage: lazymem SIZE_MIB (at least 1) [tree | watch]\n");
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	if (argc > 2 && !strcmp(argv[2], "tree"))
		tree();
	/* the side mappings first: mmap goes down, so they end up above the
	 * big one, and a fill in address order reaches them last */
	split = mmap(NULL, SIDE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	discard = mmap(NULL, SIDE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	moved = mmap(NULL, SIDE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || discard == MAP_FAILED || moved == MAP_FAILED || split == MAP_FAILED)
		fail("mmap %lu MiB\n", mib);
	fill(m, pages, 0);
	fill(discard, SIDE / PG, 1);
	fill(moved, SIDE / PG, 2);
	fill(split, SIDE / PG, 3);
	wait_worker();   /* tree: the worker's memory is ready too */
	/* blocked before any thread starts: they are for this one alone */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (argc > 2 && !strcmp(argv[2], "watch")) {
		say("MAP main %p\n", (void *)m);
		watch();
	}
	if (role)
		done();
	else
		say("READY %lu MiB\n", mib);
	for (;;) {
		while (!got_usr1 && !got_usr2)
			sigsuspend(&old);
		if (got_usr1) {
			got_usr1 = 0;
			if (post_done)
				fail("lazymem: SIGUSR1 twice\n");
			wait_worker();
			post_restart();
			done();
		}
		if (got_usr2) {
			got_usr2 = 0;
			wait_worker();
			check_all();
			say(role ? "PASS lazymem-worker %lu\n" : "PASS lazymem %lu\n", iter++);
			done();
		}
	}
}
