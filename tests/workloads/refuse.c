/* refuse: workloads the engine must refuse to checkpoint (for now).
 *
 *   refuse pipe | thread | tree
 *
 * pipe: holds both ends of a pipe; thread: a second thread; tree: a child
 * process. Writes READY, then "tick N" every 100 ms, so a test can see that
 * it keeps running after the refused checkpoint. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

static void *thread_main(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned long n = 0;
	int p[2];

	if (!strcmp(mode, "pipe")) {
		if (pipe(p))
			return 1;
	} else if (!strcmp(mode, "thread")) {
		pthread_t t;

		if (pthread_create(&t, NULL, thread_main, NULL))
			return 1;
	} else if (!strcmp(mode, "tree")) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0)
			for (;;)
				pause();
	} else {
		say("FAIL usage: refuse pipe|thread|tree\n");
		return 2;
	}
	say("READY %s\n", mode);
	for (;;) {
		nanosleep(&ts, NULL);
		say("tick %lu\n", ++n);
	}
}
