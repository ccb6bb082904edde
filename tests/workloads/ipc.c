// SPDX-License-Identifier: GPL-2.0-or-later
/* ipc sem|shm|msg|mq: SysV IPC objects in the container's IPC namespace.
 * sem: creates a semaphore set of 3 (values 7, 0, 32767, mode 0640) and
 * a private one, and on each SIGUSR2 checks that both still exist at the
 * same ids with those values and that mode: "PASS ipc sem id=N".
 * shm, msg, mq: creates a shared memory segment, a message queue or a
 * POSIX message queue /ckpt-ipc-mq and ticks (the checkpoint must refuse
 * them). Prints "READY ipc MODE id=N". */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "wl.h"

static const unsigned short want[3] = { 7, 0, 32767 };

static void check_sem(int id, int priv)
{
	unsigned short v[3] = { 1, 1, 1 };
	struct semid_ds ds;

	if (semctl(id, 0, GETALL, v) < 0 || semctl(id, 0, IPC_STAT, &ds) < 0)
		fail("ipc semid %d: %s\n", id, strerror(errno));
	if (memcmp(v, want, sizeof(v)) || (ds.sem_perm.mode & 0777) != 0640 || ds.sem_nsems != 3)
		fail("ipc semid %d: values %u %u %u mode %o nsems %lu\n", id, v[0], v[1], v[2],
		     ds.sem_perm.mode & 0777, (unsigned long)ds.sem_nsems);
	if (semctl(priv, 0, GETVAL) != 5)
		fail("ipc private semid %d: value %d, want 5\n", priv, semctl(priv, 0, GETVAL));
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	int id, priv = -1;

	if (argc < 2)
		fail("ipc usage: ipc sem|shm|msg|mq\n");
	sigaction(SIGUSR2, &sa, NULL);
	if (strcmp(argv[1], "sem") == 0) {
		struct sembuf op = { .sem_num = 0, .sem_op = 6 };
		unsigned short init[3] = { 1, 0, 32767 };

		id = semget(0x31000031, 3, IPC_CREAT | IPC_EXCL | 0640);
		priv = semget(IPC_PRIVATE, 1, 0600);
		if (id < 0 || priv < 0 || semctl(id, 0, SETALL, init) < 0 || semop(id, &op, 1) < 0 ||
		    semctl(priv, 0, SETVAL, 5) < 0)
			fail("ipc semaphores: %s\n", strerror(errno));
		check_sem(id, priv);
	} else if (strcmp(argv[1], "shm") == 0) {
		id = shmget(0x31000032, 4096, IPC_CREAT | IPC_EXCL | 0600);
	} else if (strcmp(argv[1], "msg") == 0) {
		id = msgget(0x31000033, IPC_CREAT | IPC_EXCL | 0600);
	} else {
		id = mq_open("/ckpt-ipc-mq", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, NULL);
		if (id >= 0)
			close(id);
	}
	if (id < 0)
		fail("ipc %s: %s\n", argv[1], strerror(errno));
	say("READY ipc %s id=%d\n", argv[1], id);
	for (;;) {
		usleep(100 * 1000);
		say("tick\n");
		if (got_usr2) {
			got_usr2 = 0;
			if (priv >= 0)
				check_sem(id, priv);
			say("PASS ipc %s id=%d\n", argv[1], id);
		}
	}
}
