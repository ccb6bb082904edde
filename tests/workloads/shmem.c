// SPDX-License-Identifier: GPL-2.0-or-later
/* shmem: two processes sharing an anonymous shared mapping and a memfd.
 *
 * The parent maps MAP_SHARED|MAP_ANONYMOUS memory and a memfd (memfd_create,
 * ftruncate, mmap MAP_SHARED; the fd stays open), writes a pattern into the
 * memfd's second page, then forks. Each process increments its own counter
 * in both regions every ms (atomics) and checks, every iteration:
 *  - its own counters equal its private shadow (nobody else writes them);
 *  - the other's counters never go backwards, and move: 5000 of our own
 *    iterations without the other moving is a FAIL (time spent frozen or
 *    checkpointed does not count, only our own running);
 *  - pread() on the memfd fd sees the mapping's values (one object);
 *  - the memfd fd's offset, shared by both processes (one open file
 *    description inherited across fork), is moved only by the child, by
 *    one byte per iteration before it bumps its counter: the parent sees it
 *    between the child's counter before and after (+1).
 * SIGUSR2 (the child takes it too): the parent checks the pattern through the
 * mapping and pread, then, once both counters moved since the last PASS,
 * "PASS shmem n=<iter> p=<parent count> c=<child count> pid:<parent>/<child>". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define PAGE 4096
#define STALL_ITERS 5000
#define PATTERN_SEED 0x5348d3e3ULL

struct region {
	_Atomic uint64_t count[2];
};

static struct region *anon, *mfd_map;
static uint8_t *mfd_pattern;
static int mfd;
static pid_t my_pid, my_ppid, my_pgid, my_sid;

static void sleep_1ms(void)
{
	struct timespec ts = { 0, 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static uint8_t pattern_byte(size_t i)
{
	return (uint8_t)((i * 131 + (i >> 8) * 7 + PATTERN_SEED) ^ (i >> 3));
}

static void check_identity(const char *who)
{
	if (getpid() != my_pid || getppid() != my_ppid || getpgrp() != my_pgid || getsid(0) != my_sid)
		fail("shmem %s: identity pid %d ppid %d pgid %d sid %d, was %d %d %d %d\n", who,
		     getpid(), getppid(), getpgrp(), getsid(0), my_pid, my_ppid, my_pgid, my_sid);
}

static uint64_t pread_count(int who)
{
	uint64_t v;

	if (pread(mfd, &v, sizeof(v), offsetof(struct region, count) + who * sizeof(v)) != sizeof(v))
		fail("shmem: pread memfd: %d\n", errno);
	return v;
}

static void check_pattern(void)
{
	uint8_t buf[PAGE];
	struct stat st;

	if (fstat(mfd, &st) < 0 || st.st_size != 2 * PAGE)
		fail("shmem: memfd size %ld, want %d\n", (long)st.st_size, 2 * PAGE);
	if (pread(mfd, buf, PAGE, PAGE) != PAGE)
		fail("shmem: pread memfd page 1: %d\n", errno);
	for (size_t i = 0; i < PAGE; i++)
		if (mfd_pattern[i] != pattern_byte(i) || buf[i] != pattern_byte(i))
			fail("shmem: memfd pattern byte %zu: map %#x pread %#x, want %#x\n", i,
			     mfd_pattern[i], buf[i], pattern_byte(i));
}

struct side {
	int me, other;
	const char *name;
	uint64_t mine, seen_anon, seen_mfd;	/* our count; the other's, last seen */
	uint64_t iter, last_move;		/* our iteration when the other last moved */
};

static void step(struct side *s)
{
	uint64_t oa, om, pm, off, c1a, c1b;

	check_identity(s->name);
	/* our own counters: only we write them */
	if (atomic_load(&anon->count[s->me]) != s->mine || atomic_load(&mfd_map->count[s->me]) != s->mine ||
	    pread_count(s->me) != s->mine)
		fail("shmem %s: own count anon %lu memfd %lu pread %lu, want %lu\n", s->name,
		     (unsigned long)anon->count[s->me], (unsigned long)mfd_map->count[s->me],
		     (unsigned long)pread_count(s->me), (unsigned long)s->mine);
	if (s->me == 1 && lseek(mfd, 1, SEEK_CUR) < 0)
		fail("shmem child: lseek: %d\n", errno);
	s->mine++;
	atomic_fetch_add(&anon->count[s->me], 1);
	atomic_fetch_add(&mfd_map->count[s->me], 1);
	/* the other's: never backwards; pread reads the same object */
	oa = atomic_load(&anon->count[s->other]);
	om = atomic_load(&mfd_map->count[s->other]);
	pm = pread_count(s->other);
	if (oa < s->seen_anon || om < s->seen_mfd || pm < om)
		fail("shmem %s: other's count went backwards: anon %lu->%lu memfd %lu->%lu pread %lu\n",
		     s->name, (unsigned long)s->seen_anon, (unsigned long)oa,
		     (unsigned long)s->seen_mfd, (unsigned long)om, (unsigned long)pm);
	if (oa > s->seen_anon && om > s->seen_mfd)
		s->last_move = s->iter;
	else if (s->iter - s->last_move > STALL_ITERS)
		fail("shmem %s: other's count stuck at anon %lu memfd %lu for %d iterations\n",
		     s->name, (unsigned long)oa, (unsigned long)om, STALL_ITERS);
	s->seen_anon = oa;
	s->seen_mfd = om;
	s->iter++;
	if (s->me == 0) {
		/* the child moves the shared offset before each count */
		c1a = atomic_load(&mfd_map->count[1]);
		off = lseek(mfd, 0, SEEK_CUR);
		c1b = atomic_load(&mfd_map->count[1]);
		if (off < c1a || off > c1b + 1)
			fail("shmem parent: shared memfd offset %lu, child count %lu..%lu\n",
			     (unsigned long)off, (unsigned long)c1a, (unsigned long)c1b);
	}
}

static _Noreturn void child_main(void)
{
	struct side s = { .me = 1, .other = 0, .name = "child" };

	my_pid = getpid();
	my_ppid = getppid();
	for (;;) {
		got_usr2 = 0;
		step(&s);
		sleep_1ms();
	}
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct side s = { .me = 0, .other = 1, .name = "parent" };
	uint64_t pass_p = 0, pass_c = 0, passes = 0, waited = 0;
	pid_t child;
	int st;

	sigaction(SIGUSR2, &sa, NULL);
	my_pid = getpid();
	my_ppid = getppid();
	my_pgid = getpgrp();
	my_sid = getsid(0);
	anon = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	mfd = memfd_create("wl-shmem", MFD_CLOEXEC);
	if (anon == MAP_FAILED || mfd < 0 || ftruncate(mfd, 2 * PAGE) < 0)
		fail("shmem: set-up: %d\n", errno);
	mfd_map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (mfd_map == MAP_FAILED)
		fail("shmem: mmap memfd: %d\n", errno);
	mfd_pattern = (uint8_t *)mfd_map + PAGE;
	for (size_t i = 0; i < PAGE; i++)
		mfd_pattern[i] = pattern_byte(i);
	check_pattern();
	child = fork();
	if (child < 0)
		fail("shmem: fork: %d\n", errno);
	if (child == 0)
		child_main();
	say("READY shmem pid:%d/%d\n", my_pid, child);
	for (;;) {
		step(&s);
		if (waitpid(child, &st, WNOHANG) != 0)
			fail("shmem: child %d died (status %#x)\n", child, st);
		if (got_usr2) {
			uint64_t p = anon->count[0], c = anon->count[1];

			check_pattern();
			if ((p <= pass_p || c <= pass_c) && ++waited < STALL_ITERS) {
				sleep_1ms();
				continue;	/* give the child a moment to run */
			}
			if (p <= pass_p || c <= pass_c)
				fail("shmem: no progress since the last PASS: p %lu c %lu\n",
				     (unsigned long)p, (unsigned long)c);
			got_usr2 = 0;
			waited = 0;
			pass_p = p;
			pass_c = c;
			say("PASS shmem n=%lu p=%lu c=%lu pid:%d/%d\n", (unsigned long)++passes,
			    (unsigned long)p, (unsigned long)c, my_pid, child);
		}
		sleep_1ms();
	}
}
