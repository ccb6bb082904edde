// SPDX-License-Identifier: GPL-2.0-or-later
/* spawner: starts programs without pause, the ways that share memory with
 * the child until it execs: posix_spawn (glibc: clone with CLONE_VM |
 * CLONE_VFORK) in a loop here, and a dash child whose
 * `while :; do /bin/true; done` vforks for each command. Every /bin/true
 * must exit 0, the dash loop must keep running, and a table filled at
 * start must keep its values. SIGUSR2: "PASS spawner N" (N spawns so far,
 * more than at the last verification).
 *
 *   spawner [MIB]
 *
 * With MIB, the process also holds MIB of anonymous memory and rewrites
 * one page of it after every spawn (its generation, kept in a heap array,
 * goes into every word); SIGUSR2 checks every word of it too. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wl.h"

extern char **environ;

#define TABLE_WORDS 4096
#define SPAWN_OPENS 300

static uint64_t table[TABLE_WORDS];
static uint64_t *big;
static uint32_t *gen;
static size_t big_pages;

#define WPP (4096 / 8)

static uint64_t big_word(size_t p, uint32_t g, size_t k)
{
	return (p * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)g << 40) ^ k;
}

static void big_write(size_t p)
{
	gen[p]++;
	for (size_t k = 0; k < WPP; k++)
		big[p * WPP + k] = big_word(p, gen[p], k);
}

/* ckptctl kill --signal USR2 signals every process of the container:
 * the children start with it blocked (the dash loop also ignores it). */
static pid_t spawn(char *const argv[], const posix_spawn_file_actions_t *fa)
{
	posix_spawnattr_t a;
	sigset_t usr2;
	pid_t pid;
	int r;

	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	posix_spawnattr_init(&a);
	posix_spawnattr_setsigmask(&a, &usr2);
	posix_spawnattr_setflags(&a, POSIX_SPAWN_SETSIGMASK);
	r = posix_spawn(&pid, argv[0], fa, &a, argv, environ);
	posix_spawnattr_destroy(&a);
	if (r != 0)
		fail("posix_spawn %s: %d\n", argv[0], r);
	return pid;
}

static void verify(pid_t shell, uint64_t spawns, uint64_t *last)
{
	int st;

	for (size_t i = 0; i < TABLE_WORDS; i++)
		if (table[i] != i * 0x9e3779b97f4a7c15ull)
			fail("table[%zu] changed\n", i);
	for (size_t p = 0; p < big_pages; p++)
		for (size_t k = 0; k < WPP; k++)
			if (big[p * WPP + k] != big_word(p, gen[p], k))
				fail("page %zu word %zu holds %#lx, not generation %u's\n", p, k,
				     (unsigned long)big[p * WPP + k], gen[p]);
	if (waitpid(shell, &st, WNOHANG) != 0)
		fail("the dash loop %d ended (status %#x)\n", shell, st);
	if (spawns <= *last)
		fail("no spawn since the last verification (%lu)\n", (unsigned long)spawns);
	*last = spawns;
	say("PASS spawner %lu\n", (unsigned long)spawns);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	char *loop[] = { "/bin/dash", "-c", "trap '' USR2; while :; do /bin/true; done", NULL };
	char *one[] = { "/bin/true", NULL };
	posix_spawn_file_actions_t fa;
	uint64_t spawns = 0, last = 0;
	pid_t shell, pid;
	int st;

	for (size_t i = 0; i < TABLE_WORDS; i++)
		table[i] = i * 0x9e3779b97f4a7c15ull;
	if (argc > 1) {
		big_pages = strtoul(argv[1], NULL, 10) << 8;
		big = mmap(NULL, big_pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		gen = calloc(big_pages + 1, sizeof(*gen));
		if (big == MAP_FAILED || !gen)
			fail("allocating %s MiB\n", argv[1]);
		for (size_t p = 0; p < big_pages; p++)
			big_write(p);
	}
	sigaction(SIGUSR2, &sa, NULL);
	/* the child opens and closes a file many times before its exec: a
	 * freeze often finds the spawn in progress */
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < SPAWN_OPENS; i++) {
		posix_spawn_file_actions_addopen(&fa, 100, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addclose(&fa, 100);
	}
	shell = spawn(loop, NULL);
	say("READY\n");
	for (;;) {
		pid = spawn(one, &fa);
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				fail("waitpid %d: %d\n", pid, errno);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail("/bin/true exited with status %#x\n", st);
		spawns++;
		if (big_pages)
			big_write((size_t)(spawns * 7919) % big_pages);
		if (got_usr2) {
			got_usr2 = 0;
			verify(shell, spawns, &last);
		}
	}
}
