// SPDX-License-Identifier: GPL-2.0-or-later
/* semshared: a SysV semaphore undo list (SEM_UNDO) shared by the threads of
 * one process, which must survive with its adjustments and stay shared.
 *
 * A set of 4, starting at (1, 5, 10, 0). A child, the holder, makes three
 * threads; each of its four threads does its own semop() with SEM_UNDO:
 *   main  semaphore 1 -1              (semadj 1: +1)
 *   t1    semaphore 0 -1, a mutex     (semadj 0: +1, the value left at 0)
 *   t2    semaphore 1 +3              (semadj 1: -3)
 *   t3    semaphore 2 -4, 1 +2        (semadj 2: +4, semadj 1: -2)
 * so the values are (0, 9, 6, 0) and the one list the threads share holds
 * (+1, -4, +4). The parent, the checker, holds no list.
 *
 * SIGUSR2: the parent checks the values and that the mutex is taken; then
 * t3 does semaphore 2 +1 with SEM_UNDO and exits, the holder's main thread
 * joins it and adds 1 to semaphore 3 (no SEM_UNDO): the parent sees
 * (0, 9, 7, 1), since a thread's exit applies nothing of a shared list
 * (had t3 a list of its own, its exit would have taken back its +1). The
 * parent takes semaphore 3 back and ends the holder (SIGTERM): its exit
 * applies the whole list, and the values must be (1, 5, 10, 0) again.
 * Then a new holder does it all again, for the next cycle.
 * SIGHUP: the same, without t3's step: only the holder's exit is checked
 * (a list held by the main thread alone passes it too).
 * Prints "READY semshared id=N", ticks, and "PASS semshared id=N" (SIGUSR2)
 * or "PASS semshared-exit id=N" (SIGHUP) per verification.
 *
 * "semshared procs": the workload takes semaphore 0 with SEM_UNDO and
 * clones a child with CLONE_SYSVSEM (no CLONE_VM): two processes share the
 * list. SIGUSR2 checks the values (0, 5, 10, 0) and prints
 * "PASS semshared-procs id=N". */
#include "wl.h"
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sched.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSEMS 4

static int id;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int t3_go;
static volatile sig_atomic_t got_hup;

static void on_hup(int sig)
{
	(void)sig;
	got_hup = 1;
}

static void values(unsigned short v[NSEMS])
{
	if (semctl(id, 0, GETALL, v) < 0)
		fail("semshared GETALL: %s\n", strerror(errno));
}

static bool values_are(const unsigned short want[NSEMS])
{
	unsigned short v[NSEMS];

	values(v);
	return memcmp(v, want, sizeof(v)) == 0;
}

static void expect(const unsigned short want[NSEMS], const char *when)
{
	unsigned short v[NSEMS];

	values(v);
	if (memcmp(v, want, sizeof(v)))
		fail("semshared %s: values %u %u %u %u, want %u %u %u %u\n", when, v[0], v[1], v[2], v[3],
		     want[0], want[1], want[2], want[3]);
}

static void op(unsigned short num, short delta, short flags, const char *who)
{
	struct sembuf b = { num, delta, flags };

	if (semop(id, &b, 1) < 0)
		fail("semshared %s: semop(%u, %d): %s\n", who, num, delta, strerror(errno));
}

static void *t1(void *arg)
{
	(void)arg;
	op(0, -1, SEM_UNDO | IPC_NOWAIT, "t1");
	for (;;)
		pause();
	return NULL;
}

static void *t2(void *arg)
{
	(void)arg;
	op(1, 3, SEM_UNDO, "t2");
	for (;;)
		pause();
	return NULL;
}

static void *t3(void *arg)
{
	(void)arg;
	op(2, -4, SEM_UNDO | IPC_NOWAIT, "t3");
	op(1, 2, SEM_UNDO, "t3");
	pthread_mutex_lock(&lock);
	while (!t3_go)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	op(2, 1, SEM_UNDO, "t3 step");
	return NULL;
}

/* The holder: SIGUSR1 is t3's step, SIGTERM its end; every thread blocks
 * both, main takes them with sigwaitinfo. */
static void holder(void)
{
	pthread_t t[3];
	sigset_t s;
	int sig;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGTERM);
	sigprocmask(SIG_BLOCK, &s, NULL);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	op(1, -1, SEM_UNDO | IPC_NOWAIT, "holder");
	if (pthread_create(&t[0], NULL, t1, NULL) || pthread_create(&t[1], NULL, t2, NULL) ||
	    pthread_create(&t[2], NULL, t3, NULL))
		fail("semshared pthread_create\n");
	for (;;) {
		sig = sigwaitinfo(&s, NULL);
		if (sig == SIGTERM)
			_exit(0);
		if (sig != SIGUSR1)
			continue;
		pthread_mutex_lock(&lock);
		t3_go = 1;
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&lock);
		if (pthread_join(t[2], NULL))
			fail("semshared: joining t3\n");
		op(3, 1, 0, "holder after t3");
	}
}

static pid_t start_holder(void)
{
	static const unsigned short held[NSEMS] = { 0, 9, 6, 0 };
	pid_t pid = fork();

	if (pid < 0)
		fail("semshared fork: %s\n", strerror(errno));
	if (pid == 0)
		holder();
	for (int i = 0; i < 5000 && !values_are(held); i++)
		usleep(1000);
	expect(held, "held");
	return pid;
}

/* Within 10 s, the values become want. */
static void wait_values(const unsigned short want[NSEMS], const char *when)
{
	for (int i = 0; i < 10000 && !values_are(want); i++)
		usleep(1000);
	expect(want, when);
}

static pid_t verify(pid_t h, bool step)
{
	static const unsigned short held[NSEMS] = { 0, 9, 6, 0 }, stepped[NSEMS] = { 0, 9, 7, 1 },
				    stepped_back[NSEMS] = { 0, 9, 7, 0 }, init[NSEMS] = { 1, 5, 10, 0 };
	struct sembuf try0 = { 0, -1, IPC_NOWAIT };
	int st;

	expect(held, "still held");
	if (semop(id, &try0, 1) == 0 || errno != EAGAIN)
		fail("semshared: the mutex is free while its holder lives\n");
	if (step) {
		if (kill(h, SIGUSR1) < 0)
			fail("semshared: kill: %s\n", strerror(errno));
		/* semaphore 3 comes after t3's exit: its +1 still stands */
		wait_values(stepped, "after t3's exit (a thread's exit applied its part of the list: not shared)");
		op(3, -1, IPC_NOWAIT, "checker");
		expect(stepped_back, "after t3's exit");
	}
	if (kill(h, SIGTERM) < 0 || waitpid(h, &st, 0) != h || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("semshared: the holder did not exit as asked\n");
	expect(init, "after the holder's exit");
	say("PASS semshared%s id=%d\n", step ? "" : "-exit", id);
	return start_holder();
}

/* Two processes, one list: the child of a clone with CLONE_SYSVSEM. */
static void procs(void)
{
	static const unsigned short held[NSEMS] = { 0, 5, 10, 0 };
	long pid;

	op(0, -1, SEM_UNDO | IPC_NOWAIT, "procs");
	pid = syscall(SYS_clone, CLONE_SYSVSEM | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0)
		fail("semshared clone(CLONE_SYSVSEM): %s\n", strerror(errno));
	if (pid == 0)
		for (;;)
			pause();
	expect(held, "held");
	say("READY semshared-procs id=%d\n", id);
	for (;;) {
		sleep(1);
		say("tick\n");
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		expect(held, "still held");
		say("PASS semshared-procs id=%d\n", id);
	}
}

int main(int argc, char **argv)
{
	static const unsigned short init[NSEMS] = { 1, 5, 10, 0 };
	pid_t h;

	signal(SIGUSR2, on_usr2);
	signal(SIGHUP, on_hup);
	id = semget(IPC_PRIVATE, NSEMS, 0600);
	if (id < 0 || semctl(id, 0, SETALL, init) < 0)
		fail("semshared semget: %s\n", strerror(errno));
	if (argc > 1 && strcmp(argv[1], "procs") == 0)
		procs();
	h = start_holder();
	say("READY semshared id=%d\n", id);
	for (;;) {
		sleep(1);
		say("tick\n");
		if (got_usr2) {
			got_usr2 = 0;
			h = verify(h, true);
		}
		if (got_hup) {
			got_hup = 0;
			h = verify(h, false);
		}
	}
}
