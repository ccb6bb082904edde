// SPDX-License-Identifier: GPL-2.0-or-later
/* locks: file locks held across a restart, by their owners.
 *
 *   locks [async]        (files locks.* are created in the cwd)
 *
 * fd 10: locks.flock, flock(LOCK_EX)
 * fd 11: locks.posix, POSIX write lock on bytes 0..9 and read lock on 100..EOF;
 *        a child process (inherits fd 11) holds its own write lock on 50..59
 * fd 12: locks.ofd, OFD write lock on bytes 5..14
 * fd 13: locks.orphan, flock(LOCK_SH) taken by a child that exited
 * async: fd 20/21 a pipe, 20 with O_ASYNC, F_SETOWN_EX(F_OWNER_TID, a second
 * thread), F_SETSIG(SIGRTMIN+2); fd 22/23 a pipe, 22 with F_SETOWN(pid) and
 * F_SETSIG(SIGRTMIN+3) but no O_ASYNC.
 * READY, then on SIGUSR2 a checker process (no locks of its own) must find
 * every lock held, by the right owner; with async, a byte written to fd 21
 * must raise SIGRTMIN+2 with si_fd 20 in the second thread.
 * "PASS locks <n>" after each verification. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

enum { FD_FLOCK = 10, FD_POSIX = 11, FD_OFD = 12, FD_ORPHAN = 13, FD_ASYNC = 20, FD_ASYNC_W = 21, FD_OWN = 22, FD_OWN_W = 23 };

static pid_t child;
static pid_t sig_tid;                    /* the thread SIGIO goes to */
static volatile sig_atomic_t got_fd = -1, got_code, got_tid;

static void open_at(const char *name, int want)
{
	int fd = open(name, O_RDWR | O_CREAT, 0600);

	if (fd < 0 || dup2(fd, want) != want)
		fail("open %s: %s\n", name, strerror(errno));
	close(fd);
	if (ftruncate(want, 200) < 0)
		fail("truncate %s: %s\n", name, strerror(errno));
}

static void setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl) < 0)
		fail("fcntl(%d, %d) %ld+%ld: %s\n", fd, cmd, (long)start, (long)len, strerror(errno));
}

/* What a write lock on start+len would meet. */
static void getlk(const char *name, int cmd, off_t start, off_t len, short type, pid_t pid, off_t hstart, off_t hlen)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	int fd = open(name, O_RDWR);

	if (fd < 0 || fcntl(fd, cmd, &fl) < 0)
		fail("checker: GETLK %s: %s\n", name, strerror(errno));
	close(fd);
	if (fl.l_type != type)
		fail("checker: %s %ld+%ld: lock type %d, want %d\n", name, (long)start, (long)len, fl.l_type, type);
	if (type == F_UNLCK)
		return;
	if (fl.l_pid != pid || fl.l_start != hstart || fl.l_len != hlen)
		fail("checker: %s %ld+%ld: held by pid %d on %ld+%ld, want pid %d on %ld+%ld\n", name, (long)start, (long)len,
		     fl.l_pid, (long)fl.l_start, (long)fl.l_len, pid, (long)hstart, (long)hlen);
}

static void flock_busy(const char *name, int op, bool busy)
{
	int fd = open(name, O_RDONLY), r;

	if (fd < 0)
		fail("checker: open %s: %s\n", name, strerror(errno));
	r = flock(fd, op | LOCK_NB);
	if (busy && (r == 0 || errno != EWOULDBLOCK))
		fail("checker: flock %s (%d) %s: the lock is not held\n", name, op, r == 0 ? "succeeded" : strerror(errno));
	if (!busy && r < 0)
		fail("checker: flock %s (%d): %s\n", name, op, strerror(errno));
	close(fd);
}

/* A new process, holding none of the locks, sees each held by its owner. */
static void checker(pid_t owner)
{
	flock_busy("locks.flock", LOCK_SH, true);
	getlk("locks.posix", F_GETLK, 0, 10, F_WRLCK, owner, 0, 10);
	getlk("locks.posix", F_GETLK, 150, 1, F_RDLCK, owner, 100, 0);
	getlk("locks.posix", F_GETLK, 55, 1, F_WRLCK, child, 50, 10);
	getlk("locks.posix", F_GETLK, 20, 10, F_UNLCK, 0, 0, 0);
	getlk("locks.ofd", F_OFD_GETLK, 0, 0, F_WRLCK, -1, 5, 10);
	getlk("locks.ofd", F_OFD_GETLK, 20, 5, F_UNLCK, 0, 0, 0);
	flock_busy("locks.orphan", LOCK_EX, true);
	flock_busy("locks.orphan", LOCK_SH, false);
	_exit(0);
}

static void check_locks(void)
{
	pid_t pid = getpid(), c;
	int st;

	c = fork();
	if (c < 0)
		fail("fork: %s\n", strerror(errno));
	if (c == 0)
		checker(pid);
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("the checker failed (status %#x)\n", st);
	if (kill(child, 0) < 0)
		fail("the child holding a lock is gone\n");
}

static void on_io(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_code = si->si_code;
	got_tid = syscall(SYS_gettid);
	got_fd = si->si_fd;
}

static void *sig_thread(void *arg)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);   /* the main thread verifies */
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 2);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	sig_tid = syscall(SYS_gettid);
	for (;;)
		pause();
	return arg;
}

static void setup_async(void)
{
	struct sigaction sa = { .sa_sigaction = on_io, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct f_owner_ex own;
	pthread_t t;
	sigset_t s;
	int p[2];

	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &s, NULL);   /* only the second thread takes it */
	sigaction(SIGRTMIN + 2, &sa, NULL);
	if (pthread_create(&t, NULL, sig_thread, NULL))
		fail("pthread_create\n");
	while (!sig_tid)
		usleep(1000);
	if (pipe(p) || dup2(p[0], FD_ASYNC) < 0 || dup2(p[1], FD_ASYNC_W) < 0)
		fail("pipe: %s\n", strerror(errno));
	close(p[0]);
	close(p[1]);
	own = (struct f_owner_ex){ F_OWNER_TID, sig_tid };
	if (fcntl(FD_ASYNC, F_SETOWN_EX, &own) || fcntl(FD_ASYNC, F_SETSIG, SIGRTMIN + 2) ||
	    fcntl(FD_ASYNC, F_SETFL, O_ASYNC | O_NONBLOCK))
		fail("async setup: %s\n", strerror(errno));
	if (pipe(p) || dup2(p[0], FD_OWN) < 0 || dup2(p[1], FD_OWN_W) < 0)
		fail("pipe: %s\n", strerror(errno));
	close(p[0]);
	close(p[1]);
	if (fcntl(FD_OWN, F_SETOWN, getpid()) || fcntl(FD_OWN, F_SETSIG, SIGRTMIN + 3))
		fail("owner setup: %s\n", strerror(errno));
}

static void check_async(void)
{
	struct f_owner_ex own;
	struct timespec ts = { 0, 1000000 };
	char c;
	int i;

	if (fcntl(FD_ASYNC, F_GETOWN_EX, &own) || own.type != F_OWNER_TID || own.pid != sig_tid)
		fail("fd %d: owner %d/%d, want tid %d\n", FD_ASYNC, own.type, own.pid, sig_tid);
	if (fcntl(FD_ASYNC, F_GETSIG) != SIGRTMIN + 2 || !(fcntl(FD_ASYNC, F_GETFL) & O_ASYNC))
		fail("fd %d: signal %d, flags %#x\n", FD_ASYNC, fcntl(FD_ASYNC, F_GETSIG), fcntl(FD_ASYNC, F_GETFL));
	if (fcntl(FD_OWN, F_GETOWN_EX, &own) || own.type != F_OWNER_PID || own.pid != getpid())
		fail("fd %d: owner %d/%d, want pid %d\n", FD_OWN, own.type, own.pid, getpid());
	if (fcntl(FD_OWN, F_GETSIG) != SIGRTMIN + 3 || (fcntl(FD_OWN, F_GETFL) & O_ASYNC))
		fail("fd %d: signal %d, flags %#x\n", FD_OWN, fcntl(FD_OWN, F_GETSIG), fcntl(FD_OWN, F_GETFL));
	got_fd = -1;
	if (write(FD_ASYNC_W, "x", 1) != 1)
		fail("write: %s\n", strerror(errno));
	for (i = 0; i < 3000 && got_fd < 0; i++)
		nanosleep(&ts, NULL);
	if (got_fd != FD_ASYNC || got_tid != sig_tid || got_code != POLL_IN)
		fail("SIGIO: fd %d tid %d code %d, want fd %d tid %d code %d\n", got_fd, got_tid, got_code, FD_ASYNC, sig_tid, POLL_IN);
	if (read(FD_ASYNC, &c, 1) != 1)
		fail("read: %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
	bool async = argc > 1 && !strcmp(argv[1], "async");
	unsigned long n = 0;
	int st, sync[2];
	pid_t c;
	char b;

	signal(SIGUSR2, on_usr2);
	open_at("locks.flock", FD_FLOCK);
	open_at("locks.posix", FD_POSIX);
	open_at("locks.ofd", FD_OFD);
	open_at("locks.orphan", FD_ORPHAN);
	if (flock(FD_FLOCK, LOCK_EX | LOCK_NB))
		fail("flock: %s\n", strerror(errno));
	setlk(FD_POSIX, F_SETLK, F_WRLCK, 0, 10);
	setlk(FD_POSIX, F_SETLK, F_RDLCK, 100, 0);
	setlk(FD_OFD, F_OFD_SETLK, F_WRLCK, 5, 10);
	c = fork();
	if (c == 0) {
		if (flock(FD_ORPHAN, LOCK_SH | LOCK_NB))
			fail("orphan flock: %s\n", strerror(errno));
		_exit(0);
	}
	if (c < 0 || waitpid(c, &st, 0) != c || st)
		fail("orphan flock child: status %#x\n", st);
	/* closing any fd of locks.posix would drop our POSIX locks: the child
	 * says through a pipe when its lock is there */
	if (pipe(sync))
		fail("pipe: %s\n", strerror(errno));
	child = fork();
	if (child == 0) {
		setlk(FD_POSIX, F_SETLK, F_WRLCK, 50, 10);
		if (write(sync[1], "l", 1) != 1)
			fail("child: write: %s\n", strerror(errno));
		for (;;)
			pause();
	}
	if (child < 0 || read(sync[0], &b, 1) != 1)
		fail("the child did not lock: %s\n", strerror(errno));
	close(sync[0]);
	close(sync[1]);
	if (async)
		setup_async();
	check_locks();
	if (async)
		check_async();
	say("READY\n");
	for (;;) {
		pause();
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		check_locks();
		if (async)
			check_async();
		say("PASS locks %lu%s\n", ++n, async ? " async" : "");
	}
}
