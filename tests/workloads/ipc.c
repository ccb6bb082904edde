// SPDX-License-Identifier: GPL-2.0-or-later
/* ipc sem|shm|msg|mq|mqnotify|mqfull: IPC objects in the container's IPC
 * namespace. Prints "READY ipc MODE id=N", ticks, and on each SIGUSR2
 * checks them and prints "PASS ipc MODE id=N".
 * sem: a semaphore set of 3 (values 7, 0, 32767, mode 0640) and a private
 * one, at the same ids with those values and that mode.
 * shm: segment 0x31000032 (3 pages + 100 bytes, mode 0640) attached
 * read-write and read-only here and in a child (inherited by fork, and
 * attached again there), a private segment removed (IPC_RMID) while
 * attached here and in the child; checks ids, keys, modes, sizes and the
 * attach counts, the pattern in both (through every attach), that the
 * read-only attach still refuses writes (in a forked probe), and that the
 * child still shares them: it answers a token written to either segment.
 * msg: queue 0x31000033 (mode 0620, msg_qbytes 8000) with 5 messages of
 * types 1, 2 and 3 and a private queue with one; checks them in place
 * (MSG_COPY), receives by type what it sends, and pings a child asleep in
 * msgrcv() for type 42, which answers with type 43.
 * mq: raises the namespace's fs.mqueue.msg_max to 16 and makes POSIX
 * queue /ckpt-ipc-mq (mode 0640, 12 messages of 128 bytes at most: above
 * the default limit, held open O_RDWR|O_NONBLOCK) with 4 messages of
 * priorities 1, 5, 1, 3; checks the limit, attributes and receive order,
 * then sends the messages back, and pings a child asleep in mq_receive()
 * on /ckpt-ipc-ping, which answers on /ckpt-ipc-pong.
 * mqnotify, mqfull, semundo, shmforced: a queue with an mq_notify
 * registration, a full queue, a semop() with SEM_UNDO in a process with
 * two threads (which share the list), a segment with
 * kernel.shm_rmid_forced set (the checkpoint must refuse them). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "wl.h"

static const unsigned short want[3] = { 7, 0, 32767 };

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

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


/* ---- shm ---- */

#define SHM_KEY 0x31000032
#define SHM_SIZE (3 * 4096 + 100)

static int shm_id, shm_priv;
static unsigned char *shm_rw, *shm_ro, *priv_rw;
static pid_t child;

static unsigned char pat(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

static void check_shm_one(int id, int key, unsigned mode, int nattch, bool dest)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds) < 0)
		fail("ipc shmid %d: IPC_STAT: %s\n", id, strerror(errno));
	if (ds.shm_perm.__key != key || (ds.shm_perm.mode & 0777) != mode || ds.shm_segsz != SHM_SIZE ||
	    (int)ds.shm_nattch != nattch || !!(ds.shm_perm.mode & SHM_DEST) != dest)
		fail("ipc shmid %d: key %#x mode %o size %zu nattch %lu, want %#x %o %d %d (dest %d)\n", id,
		     ds.shm_perm.__key, ds.shm_perm.mode, (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch, key, mode,
		     SHM_SIZE, nattch, dest);
}

/* The child: answers seg[SHM_SIZE - 2] = token with seg[SHM_SIZE - 1] =
 * token + 1, through an attach of its own and the inherited one. */
static void shm_child(void)
{
	unsigned char *own = shmat(shm_id, NULL, 0), last = 0, lastp = 0;

	if (own == (void *)-1)
		fail("ipc child shmat: %s\n", strerror(errno));
	for (;;) {
		if (own[SHM_SIZE - 2] != last) {
			last = own[SHM_SIZE - 2];
			own[SHM_SIZE - 1] = last + 1;
		}
		if (priv_rw[SHM_SIZE - 2] != lastp) {
			lastp = priv_rw[SHM_SIZE - 2];
			priv_rw[SHM_SIZE - 1] = lastp + 1;
		}
		usleep(10 * 1000);
		if (getppid() == 1)
			_exit(0);
	}
}

static void ask_child(unsigned char *seg, unsigned char token)
{
	int i;

	seg[SHM_SIZE - 2] = token;
	for (i = 0; i < 500 && seg[SHM_SIZE - 1] != (unsigned char)(token + 1); i++)
		usleep(10 * 1000);
	if (seg[SHM_SIZE - 1] != (unsigned char)(token + 1))
		fail("ipc shm: the child did not answer token %u through the segment\n", token);
}

static void setup_shm(void)
{
	size_t i;

	/* ids past the first of the namespace: restart must give them back */
	shmctl(shmget(IPC_PRIVATE, 4096, 0600), IPC_RMID, NULL);
	shm_id = shmget(SHM_KEY, SHM_SIZE, IPC_CREAT | IPC_EXCL | 0640);
	shm_priv = shmget(IPC_PRIVATE, SHM_SIZE, 0600);
	if (shm_id < 0 || shm_priv < 0)
		fail("ipc shmget: %s\n", strerror(errno));
	shm_rw = shmat(shm_id, NULL, 0);
	shm_ro = shmat(shm_id, NULL, SHM_RDONLY);
	priv_rw = shmat(shm_priv, NULL, 0);
	if (shm_rw == (void *)-1 || shm_ro == (void *)-1 || priv_rw == (void *)-1)
		fail("ipc shmat: %s\n", strerror(errno));
	for (i = 0; i < SHM_SIZE - 2; i++) {
		shm_rw[i] = pat(i);
		priv_rw[i] = pat(i) ^ 0x5a;
	}
	child = fork();
	if (child < 0)
		fail("ipc fork: %s\n", strerror(errno));
	if (child == 0)
		shm_child();
	/* removed while attached: it lives on until the last detach */
	if (shmctl(shm_priv, IPC_RMID, NULL) < 0)
		fail("ipc IPC_RMID: %s\n", strerror(errno));
	ask_child(shm_rw, 1);   /* it has attached the segment on its own */
}

static void check_shm(void)
{
	static unsigned char token;
	size_t i;
	pid_t p;
	int st;

	/* here: rw + ro; the child: rw + ro inherited, and its own */
	check_shm_one(shm_id, SHM_KEY, 0640, 5, false);
	check_shm_one(shm_priv, IPC_PRIVATE, 0600, 2, true);
	for (i = 0; i < SHM_SIZE - 2; i++)
		if (shm_rw[i] != pat(i) || shm_ro[i] != pat(i) || priv_rw[i] != (pat(i) ^ 0x5a))
			fail("ipc shm: byte %zu is %u/%u/%u\n", i, shm_rw[i], shm_ro[i], priv_rw[i]);
	p = fork();
	if (p == 0) {
		shm_ro[0] = 1;   /* must fault */
		_exit(0);
	}
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV)
		fail("ipc shm: a write through the read-only attach did not fault\n");
	token += 2;
	ask_child(shm_rw, token);
	if (shm_ro[SHM_SIZE - 1] != (unsigned char)(token + 1))
		fail("ipc shm: the read-only attach does not see the segment\n");
	ask_child(priv_rw, token);
}

/* ---- msg ---- */

#define MSG_KEY 0x31000033
#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

struct wl_msg {
	long mtype;
	char text[64];
};

static const struct { long type; const char *text; } msgs[] = {
	{ 2, "two" }, { 1, "one" }, { 3, "three, the longest of them all" }, { 1, "" }, { 2, "two again" },
};
static int msg_priv;

static void setup_msg(int id)
{
	struct msqid_ds ds;
	struct wl_msg m = { 7, "private" };
	size_t i;

	msg_priv = msgget(IPC_PRIVATE, 0600);
	if (msg_priv < 0 || msgctl(id, IPC_STAT, &ds) < 0)
		fail("ipc msg: %s\n", strerror(errno));
	ds.msg_qbytes = 8000;
	ds.msg_perm.mode = 0620;
	if (msgctl(id, IPC_SET, &ds) < 0)
		fail("ipc msg IPC_SET: %s\n", strerror(errno));
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct wl_msg w = { .mtype = msgs[i].type };

		strcpy(w.text, msgs[i].text);
		if (msgsnd(id, &w, strlen(w.text), 0) < 0)
			fail("ipc msgsnd: %s\n", strerror(errno));
	}
	if (msgsnd(msg_priv, &m, 7, 0) < 0)
		fail("ipc msgsnd: %s\n", strerror(errno));
}

/* A child asleep in msgrcv() for type 42 answers each with type 43. */
static void msg_echo_child(int id)
{
	pid_t p = fork();

	if (p < 0)
		fail("ipc fork: %s\n", strerror(errno));
	if (p > 0)
		return;
	for (;;) {
		struct wl_msg m = { 0 };
		ssize_t n = msgrcv(id, &m, sizeof(m.text), 42, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("ipc echo msgrcv: %s\n", strerror(errno));
		m.mtype = 43;
		if (msgsnd(id, &m, n, 0) < 0)
			fail("ipc echo msgsnd: %s\n", strerror(errno));
	}
}

static void msg_ping(int id)
{
	static unsigned seq;
	struct wl_msg m = { .mtype = 42 };
	int len, i;
	ssize_t n = -1;

	len = snprintf(m.text, sizeof(m.text), "ping %u", ++seq);
	if (msgsnd(id, &m, len, IPC_NOWAIT) < 0)
		fail("ipc ping msgsnd: %s\n", strerror(errno));
	for (i = 0; i < 500 && n < 0; i++) {
		memset(&m, 0, sizeof(m));
		n = msgrcv(id, &m, sizeof(m.text), 43, IPC_NOWAIT);
		if (n < 0)
			usleep(10 * 1000);
	}
	if (n != len || strncmp(m.text, "ping", 4))
		fail("ipc: the child asleep in msgrcv did not answer ping %u\n", seq);
}

static void check_msg(int id)
{
	struct msqid_ds ds;
	struct wl_msg m;
	size_t i;
	ssize_t n;

	if (msgctl(id, IPC_STAT, &ds) < 0)
		fail("ipc msqid %d: %s\n", id, strerror(errno));
	if (ds.msg_perm.__key != MSG_KEY || (ds.msg_perm.mode & 0777) != 0620 || ds.msg_qbytes != 8000 ||
	    ds.msg_qnum != sizeof(msgs) / sizeof(msgs[0]))
		fail("ipc msqid %d: key %#x mode %o qbytes %lu qnum %lu\n", id, ds.msg_perm.__key, ds.msg_perm.mode,
		     (unsigned long)ds.msg_qbytes, (unsigned long)ds.msg_qnum);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		memset(&m, 0, sizeof(m));
		n = msgrcv(id, &m, sizeof(m.text), i, IPC_NOWAIT | MSG_COPY);
		if (n != (ssize_t)strlen(msgs[i].text) || m.mtype != msgs[i].type || memcmp(m.text, msgs[i].text, n))
			fail("ipc msqid %d: message %zu is type %ld '%.*s' (%zd)\n", id, i, m.mtype, (int)(n > 0 ? n : 0), m.text, n);
	}
	n = msgrcv(msg_priv, &m, sizeof(m.text), 0, IPC_NOWAIT | MSG_COPY);
	if (n != 7 || m.mtype != 7 || memcmp(m.text, "private", 7))
		fail("ipc private msqid %d: %zd\n", msg_priv, n);
	/* the queue works: a message of a new type goes and comes back by type */
	m.mtype = 9;
	strcpy(m.text, "round trip");
	if (msgsnd(id, &m, 10, IPC_NOWAIT) < 0)
		fail("ipc msgsnd: %s\n", strerror(errno));
	memset(&m, 0, sizeof(m));
	if (msgrcv(id, &m, sizeof(m.text), 9, IPC_NOWAIT) != 10 || memcmp(m.text, "round trip", 10))
		fail("ipc msgrcv type 9 failed\n");
	msg_ping(id);
}

/* ---- POSIX mq ---- */

static const struct { unsigned prio; const char *text; } mqmsgs[] = {
	{ 1, "first at 1" }, { 5, "urgent" }, { 1, "second at 1" }, { 3, "middle" },
};
static const int mq_order[] = { 1, 3, 0, 2 };

/* The namespace's own limits: a queue longer than the default allows. */
static void set_msg_max(void)
{
	int fd = open("/proc/sys/fs/mqueue/msg_max", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "16", 2) != 2)
		fail("ipc: raising fs.mqueue.msg_max: %s\n", strerror(errno));
	close(fd);
}

static void check_msg_max(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/fs/mqueue/msg_max", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0 || atoi(buf) != 16)
		fail("ipc: fs.mqueue.msg_max is '%s', want 16\n", buf);
	close(fd);
}

static int setup_mq(const char *mode)
{
	struct mq_attr at = { .mq_maxmsg = 12, .mq_msgsize = 128 };
	int q;
	size_t i;

	set_msg_max();
	q = mq_open("/ckpt-ipc-mq", O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK | O_CLOEXEC, 0640, &at);
	if (q < 0)
		fail("ipc mq_open: %s\n", strerror(errno));
	if (fchmod(q, 0640) < 0)
		fail("ipc mq fchmod: %s\n", strerror(errno));
	for (i = 0; i < sizeof(mqmsgs) / sizeof(mqmsgs[0]); i++)
		if (mq_send(q, mqmsgs[i].text, strlen(mqmsgs[i].text), mqmsgs[i].prio) < 0)
			fail("ipc mq_send: %s\n", strerror(errno));
	if (strcmp(mode, "mqnotify") == 0) {
		struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
		mqd_t e = mq_open("/ckpt-ipc-mq-empty", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &at);

		signal(SIGUSR1, SIG_IGN);
		if (e < 0 || mq_notify(e, &ev) < 0)
			fail("ipc mq_notify: %s\n", strerror(errno));
	}
	while (strcmp(mode, "mqfull") == 0 && mq_send(q, "x", 1, 0) == 0)
		;
	return q;
}

/* A child asleep in mq_receive() on /ckpt-ipc-ping (its own blocking
 * descriptor) answers each message there on /ckpt-ipc-pong. */
static mqd_t mq_pong;

static void mq_echo_child(void)
{
	struct mq_attr at = { .mq_maxmsg = 4, .mq_msgsize = 64 };
	mqd_t ping = mq_open("/ckpt-ipc-ping", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &at);
	pid_t p;

	mq_pong = mq_open("/ckpt-ipc-pong", O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK | O_CLOEXEC, 0600, &at);
	if (ping < 0 || mq_pong < 0)
		fail("ipc mq_open ping/pong: %s\n", strerror(errno));
	p = fork();
	if (p < 0)
		fail("ipc fork: %s\n", strerror(errno));
	if (p > 0) {
		close(ping);
		return;
	}
	for (;;) {
		char buf[64];
		ssize_t n = mq_receive(ping, buf, sizeof(buf), NULL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || mq_send(mq_pong, buf, n, 0) < 0)
			fail("ipc echo mq: %s\n", strerror(errno));
	}
}

static void mq_ping(void)
{
	static unsigned seq;
	mqd_t ping = mq_open("/ckpt-ipc-ping", O_WRONLY | O_CLOEXEC);
	char buf[64], want[32];
	ssize_t n = -1;
	int i;

	snprintf(want, sizeof(want), "mq ping %u", ++seq);
	if (ping < 0 || mq_send(ping, want, strlen(want), 0) < 0)
		fail("ipc mq ping: %s\n", strerror(errno));
	close(ping);
	for (i = 0; i < 500 && n < 0; i++) {
		n = mq_receive(mq_pong, buf, sizeof(buf), NULL);
		if (n < 0)
			usleep(10 * 1000);
	}
	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
		fail("ipc: the child asleep in mq_receive did not answer %s\n", want);
}

static void check_mq(int q)
{
	struct mq_attr at;
	struct stat st;
	char buf[128];
	unsigned prio;
	size_t i;
	ssize_t n;

	if (mq_getattr(q, &at) < 0 || fstat(q, &st) < 0)
		fail("ipc mq: %s\n", strerror(errno));
	check_msg_max();
	if (at.mq_maxmsg != 12 || at.mq_msgsize != 128 || at.mq_curmsgs != 4 || !(at.mq_flags & O_NONBLOCK) ||
	    (st.st_mode & 07777) != 0640)
		fail("ipc mq: maxmsg %ld msgsize %ld curmsgs %ld flags %#lx mode %o\n", at.mq_maxmsg, at.mq_msgsize,
		     at.mq_curmsgs, at.mq_flags, st.st_mode & 07777);
	for (i = 0; i < 4; i++) {
		const int k = mq_order[i];

		n = mq_receive(q, buf, sizeof(buf), &prio);
		if (n != (ssize_t)strlen(mqmsgs[k].text) || prio != mqmsgs[k].prio || memcmp(buf, mqmsgs[k].text, n))
			fail("ipc mq: message %zu is '%.*s' at %u\n", i, (int)(n > 0 ? n : 0), buf, prio);
	}
	if (mq_receive(q, buf, sizeof(buf), &prio) >= 0 || errno != EAGAIN)
		fail("ipc mq: a fifth message, or no EAGAIN\n");
	for (i = 0; i < 4; i++)
		if (mq_send(q, mqmsgs[i].text, strlen(mqmsgs[i].text), mqmsgs[i].prio) < 0)
			fail("ipc mq_send: %s\n", strerror(errno));
	mq_ping();
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
	} else if (strcmp(argv[1], "semundo") == 0) {
		struct sembuf op = { .sem_num = 0, .sem_op = 1, .sem_flg = SEM_UNDO };

		pthread_t t;

		/* a thread shares the list (CLONE_SYSVSEM) */
		id = semget(IPC_PRIVATE, 1, 0600);
		if (id < 0 || semop(id, &op, 1) < 0 || pthread_create(&t, NULL, idle, NULL))
			fail("ipc semop SEM_UNDO: %s\n", strerror(errno));
	} else if (strcmp(argv[1], "shmforced") == 0) {
		int fd = open("/proc/sys/kernel/shm_rmid_forced", O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, "1", 1) != 1)
			fail("ipc: setting kernel.shm_rmid_forced: %s\n", strerror(errno));
		close(fd);
		id = shmget(IPC_PRIVATE, 4096, 0600);
		if (id >= 0 && shmat(id, NULL, 0) == (void *)-1)
			id = -1;
	} else if (strcmp(argv[1], "shm") == 0) {
		setup_shm();
		id = shm_id;
		check_shm();
	} else if (strcmp(argv[1], "msg") == 0) {
		msgctl(msgget(IPC_PRIVATE, 0600), IPC_RMID, NULL);
		id = msgget(MSG_KEY, IPC_CREAT | IPC_EXCL | 0600);
		if (id >= 0)
			setup_msg(id);
		msg_echo_child(id);
		check_msg(id);
	} else {
		id = setup_mq(argv[1]);
		if (strcmp(argv[1], "mq") == 0) {
			mq_echo_child();
			check_mq(id);
		}
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
			else if (strcmp(argv[1], "shm") == 0)
				check_shm();
			else if (strcmp(argv[1], "msg") == 0)
				check_msg(id);
			else if (strcmp(argv[1], "mq") == 0)
				check_mq(id);
			say("PASS ipc %s id=%d\n", argv[1], id);
		}
	}
}
