// SPDX-License-Identifier: GPL-2.0-or-later
/* semundo: a SysV semaphore undo list (SEM_UNDO) that must survive.
 *
 * A set of 3: a mutex (1), a counter (5) and one left at 0. A child, the
 * holder, takes the mutex with SEM_UNDO (semadj +1) and adds 3 to the
 * counter with SEM_UNDO (semadj -3), then waits. On SIGUSR2 the parent
 * checks the values (0, 8, 0) and that the mutex is taken, tells the
 * holder to exit (SIGUSR1), and checks that its exit applied its list
 * exactly: the mutex free (1), the counter back to 5, the third still 0.
 * Then a new holder does it all again, for the next cycle. Prints
 * "READY semundo id=N", ticks, and "PASS semundo id=N" per verification. */
#include "wl.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void values(int id, unsigned short v[3])
{
	if (semctl(id, 0, GETALL, v) < 0)
		fail("semundo GETALL: %s\n", strerror(errno));
}

static void expect(int id, unsigned short a, unsigned short b, unsigned short c, const char *when)
{
	unsigned short v[3];

	values(id, v);
	if (v[0] != a || v[1] != b || v[2] != c)
		fail("semundo %s: values %u %u %u, want %u %u %u\n", when, v[0], v[1], v[2], a, b, c);
}

static pid_t holder(int id)
{
	struct sembuf take[2] = { { 0, -1, SEM_UNDO | IPC_NOWAIT }, { 1, 3, SEM_UNDO } };
	pid_t pid = fork();

	if (pid < 0)
		fail("semundo fork: %s\n", strerror(errno));
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		if (semop(id, take, 2) < 0)
			fail("semundo holder semop: %s\n", strerror(errno));
		while (!go)
			sigsuspend(&none);
		_exit(0);
	}
	return pid;
}

int main(void)
{
	unsigned short init[3] = { 1, 5, 0 };
	struct sembuf try0 = { 0, -1, IPC_NOWAIT }, give0 = { 0, 1, 0 };
	sigset_t usr1;
	pid_t h;
	int id, st;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	id = semget(IPC_PRIVATE, 3, 0600);
	if (id < 0 || semctl(id, 0, SETALL, init) < 0)
		fail("semundo semget: %s\n", strerror(errno));
	h = holder(id);
	for (int i = 0; i < 1000; i++) {
		unsigned short v[3];

		values(id, v);
		if (v[1] == 8)
			break;
		usleep(1000);
	}
	expect(id, 0, 8, 0, "held");
	say("READY semundo id=%d\n", id);
	for (;;) {
		sleep(1);
		say("tick\n");
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		expect(id, 0, 8, 0, "still held");
		if (semop(id, &try0, 1) == 0 || errno != EAGAIN)
			fail("semundo: the mutex is free while its holder lives\n");
		if (kill(h, SIGUSR1) < 0 || waitpid(h, &st, 0) != h || !WIFEXITED(st) || WEXITSTATUS(st))
			fail("semundo: the holder did not exit as asked\n");
		expect(id, 1, 5, 0, "after the holder's exit");
		if (semop(id, &try0, 1) < 0 || semop(id, &give0, 1) < 0)
			fail("semundo: the mutex can't be taken after the holder's exit: %s\n", strerror(errno));
		say("PASS semundo id=%d\n", id);
		h = holder(id);
		for (int i = 0; i < 1000; i++) {
			unsigned short v[3];

			values(id, v);
			if (v[1] == 8)
				break;
			usleep(1000);
		}
		expect(id, 0, 8, 0, "held again");
	}
}
