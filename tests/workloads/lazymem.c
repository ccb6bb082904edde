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
 * the same itself: a worker that fails fails the parent. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
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

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2 };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	unsigned long iter = 0;
	sigset_t block, old;

	pages = (mib << 20) / PG;
	if (pages < 64 || (argc > 2 && strcmp(argv[2], "tree")))
		fail("usage: lazymem SIZE_MIB (at least 1) [tree]\n");
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	if (argc > 2)
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
	if (role)
		done();
	else
		say("READY %lu MiB\n", mib);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
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
