// SPDX-License-Identifier: GPL-2.0-or-later
/* forkmem: a process tree holding dirty anonymous memory, for bench/tree.sh.
 *
 *   forkmem private NCHILD MIB   parent and NCHILD children each write MIB of
 *                                their own (after the fork, a pattern seeded
 *                                by the process's index): nothing shared
 *   forkmem inherit NCHILD MIB   the parent writes MIB, then forks NCHILD
 *                                children; nobody writes it again, so all
 *                                NCHILD + 1 processes share those pages (COW)
 *
 * Every process pattern-checks every word of its memory. Children report to
 * the parent through one pipe (64-byte records, so each write is atomic);
 * the parent prints "READY ..." once every child has its memory written, then
 * waits. SIGUSR2 to the parent (ckptctl kill --signal USR2 sends it to every
 * process; the children ignore it) starts a round: the parent sends SIGUSR1
 * to each child, every process checks its memory, its pid and its parent,
 * and the parent prints "PASS forkmem ... procs=N" when all NCHILD + 1
 * verdicts of that round are good, "FAIL ..." otherwise. A child that exits
 * is a FAIL too: after a restart, the tree must be the one that was saved. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tests/workloads/wl.h"

#define PG 4096UL
#define WPP (PG / 8)
#define REPORT_MAGIC 0x666b6d72u	/* "fkmr" */
#define VERDICT_TIMEOUT_MS (300 * 1000)

struct report {				/* 64 bytes: one atomic pipe write */
	uint32_t magic;
	int32_t idx;			/* 1..nchild */
	int32_t pid;			/* what getpid() returned at the check */
	int32_t round;			/* 0: memory written; then 1, 2, ... */
	int32_t ok;
	char why[44];
};

struct tree {
	int inherit;
	int nchild;
	size_t pages;
	uint64_t *mem;
	pid_t *kids;			/* kids[i - 1]: child i's pid */
	int rfd;			/* parent: read end of the report pipe */
};

static volatile sig_atomic_t got_usr1, got_chld;

static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }
static void on_chld(int sig) { (void)sig; got_chld = 1; }

static struct tree T;

/* A failure of the parent takes the children with it (no stray processes
 * when run outside a container). */
#define fail_all(...) do { kill_kids(); fail(__VA_ARGS__); } while (0)

static void kill_kids(void)
{
	for (int i = 0; T.kids && i < T.nchild; i++)
		if (T.kids[i] > 0)
			kill(T.kids[i], SIGKILL);
}

static uint64_t word(int seed, size_t page, size_t w)
{
	return (page * 0x9e3779b97f4a7c15ULL) ^ (w << 48) ^
	       ((uint64_t)seed * 0xd6e8feb86659fd93ULL) ^ 0x5555aaaa0000ULL;
}

static uint64_t *fill(size_t pages, int seed)
{
	uint64_t *m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	for (size_t p = 0; p < pages; p++)
		for (size_t w = 0; w < WPP; w++)
			m[p * WPP + w] = word(seed, p, w);
	return m;
}

/* 0 if every word holds its pattern; else the first bad page in *ret_page */
static int check(const uint64_t *m, size_t pages, int seed, size_t *ret_page)
{
	for (size_t p = 0; p < pages; p++)
		for (size_t w = 0; w < WPP; w++)
			if (m[p * WPP + w] != word(seed, p, w)) {
				*ret_page = p;
				return -1;
			}
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- child ---- */

static void child_report(int wfd, int idx, int round, int ok, const char *fmt, ...)
{
	struct report r = { .magic = REPORT_MAGIC, .idx = idx, .pid = getpid(),
			    .round = round, .ok = ok };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.why, sizeof(r.why), fmt, ap);
	va_end(ap);
	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(2);	/* the parent is gone: nothing to report to */
}

static void __attribute__((noreturn)) child_main(int idx, int wfd, pid_t parent)
{
	int seed = T.inherit ? 0 : idx, round = 0;
	pid_t me = getpid();
	sigset_t wait_mask;
	size_t bad;

	/* The parent's SIGUSR1 starts a round; it is blocked except while
	 * waiting, so none is lost between two rounds. */
	sigprocmask(SIG_BLOCK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	if (!T.inherit) {
		T.mem = fill(T.pages, seed);
		if (!T.mem) {
			child_report(wfd, idx, 0, 0, "mmap: %s", strerror(errno));
			_exit(1);
		}
	}
	child_report(wfd, idx, 0, 1, "memory written");
	for (;;) {
		while (!got_usr1)
			sigsuspend(&wait_mask);
		got_usr1 = 0;
		round++;
		if (getpid() != me)
			child_report(wfd, idx, round, 0, "pid %d, was %d", getpid(), me);
		else if (getppid() != parent)
			child_report(wfd, idx, round, 0, "parent %d, was %d", getppid(), parent);
		else if (check(T.mem, T.pages, seed, &bad) < 0)
			child_report(wfd, idx, round, 0, "page %zu differs", bad);
		else
			child_report(wfd, idx, round, 1, "ok");
	}
}

/* ---- parent ---- */

static void spawn_children(void)
{
	pid_t parent = getpid();
	int p[2];

	if (pipe(p) < 0)
		fail("pipe: %d\n", errno);
	T.kids = calloc(T.nchild, sizeof(*T.kids));
	if (!T.kids)
		fail("calloc\n");
	for (int i = 1; i <= T.nchild; i++) {
		pid_t pid = fork();

		if (pid < 0)
			fail_all("fork child %d: %d\n", i, errno);
		if (pid == 0) {
			close(p[0]);
			free(T.kids);
			T.kids = NULL;
			child_main(i, p[1], parent);
		}
		T.kids[i - 1] = pid;
	}
	close(p[1]);
	T.rfd = p[0];
}

/* Fail if a child has exited (reaps it, so the status is known). */
static void check_kids_alive(void)
{
	int status;
	pid_t pid;

	got_chld = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		fail_all("forkmem: child %d ended (status %#x)\n", pid, status);
}

/* Reads one report per child for ROUND; fails on a bad or missing one. */
static void collect(int round)
{
	char *seen = calloc(T.nchild + 1, 1);
	long deadline = now_ms() + VERDICT_TIMEOUT_MS;
	struct pollfd pfd = { .fd = T.rfd, .events = POLLIN };
	struct report r;
	sigset_t mask;
	ssize_t n;

	if (!seen)
		fail_all("calloc\n");
	/* a child that dies interrupts the wait (SIGCHLD) */
	sigprocmask(SIG_BLOCK, NULL, &mask);
	sigdelset(&mask, SIGCHLD);
	for (int got = 0; got < T.nchild;) {
		long left = deadline - now_ms();
		struct timespec ts = { left / 1000, left % 1000 * 1000000 };

		if (left <= 0)
			fail_all("forkmem: round %d: %d of %d children answered\n", round, got, T.nchild);
		if (ppoll(&pfd, 1, &ts, &mask) < 0) {
			if (errno == EINTR) {
				check_kids_alive();
				continue;
			}
			fail_all("poll: %d\n", errno);
		}
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(T.rfd, &r, sizeof(r));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(r))
			fail_all("forkmem: report pipe: read %zd (%d)\n", n, n < 0 ? errno : 0);
		if (r.magic != REPORT_MAGIC || r.idx < 1 || r.idx > T.nchild)
			fail_all("forkmem: garbled report (magic %#x idx %d)\n", r.magic, r.idx);
		if (r.pid != T.kids[r.idx - 1])
			fail_all("forkmem: child %d reports pid %d, forked as %d\n", r.idx, r.pid,
				 T.kids[r.idx - 1]);
		if (r.round != round || seen[r.idx])
			fail_all("forkmem: child %d answered round %d%s, expected %d\n", r.idx, r.round,
				 seen[r.idx] ? " twice" : "", round);
		if (!r.ok)
			fail_all("forkmem: child %d (pid %d): %.44s\n", r.idx, r.pid, r.why);
		seen[r.idx] = 1;
		got++;
	}
	free(seen);
}

static void verify_round(int round, pid_t me)
{
	size_t bad;

	check_kids_alive();
	for (int i = 0; i < T.nchild; i++)
		if (kill(T.kids[i], SIGUSR1) < 0)
			fail_all("forkmem: signal child %d (pid %d): %d\n", i + 1, T.kids[i], errno);
	/* the children check while the parent does */
	if (getpid() != me)
		fail_all("forkmem: parent pid %d, was %d\n", getpid(), me);
	if (check(T.mem, T.pages, 0, &bad) < 0)
		fail_all("forkmem: parent page %zu differs\n", bad);
	collect(round);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	unsigned long mib = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	sigset_t block, wait_mask;
	long t0 = now_ms();
	pid_t me = getpid();
	int round = 0;

	T.nchild = argc > 2 ? atoi(argv[2]) : 0;
	T.pages = (mib << 20) / PG;
	if (argc != 4 || T.nchild < 1 || !T.pages ||
	    (strcmp(argv[1], "private") && strcmp(argv[1], "inherit")))
		fail("usage: forkmem private|inherit NCHILD MIB\n");
	T.inherit = !strcmp(argv[1], "inherit");

	/* SIGUSR1 (children) and SIGUSR2/SIGCHLD (parent) are only taken
	 * while waiting for them, never in the middle of a check. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;	/* children: only the parent's USR1 counts */
	sigaction(SIGUSR2, &sa, NULL);

	if (T.inherit && !(T.mem = fill(T.pages, 0)))
		fail("mmap %lu MiB: %d\n", mib, errno);
	spawn_children();
	if (!T.inherit && !(T.mem = fill(T.pages, 0)))
		fail_all("mmap %lu MiB: %d\n", mib, errno);
	collect(0);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	say("READY forkmem %s procs=%d mib=%lu setup_ms=%ld\n", argv[1], T.nchild + 1, mib,
	    now_ms() - t0);
	for (;;) {
		while (!got_usr2 && !got_chld)
			sigsuspend(&wait_mask);
		if (got_chld)
			check_kids_alive();
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		round++;
		t0 = now_ms();
		verify_round(round, me);
		say("PASS forkmem %s procs=%d mib=%lu round=%d check_ms=%ld\n", argv[1], T.nchild + 1,
		    mib, round, now_ms() - t0);
	}
}
