// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpconns N [PER_PROC]: N established TCP connections on loopback, both
 * ends in the container (bench/tcp-conns.sh, tests/e2e/65-tcp-backlog.sh).
 * Processes of up to PER_PROC connections each (default 3000: an fd table
 * stays under ckptd's limit): each listens on 127.0.0.1,
 * connects to itself PER_PROC times and accepts, then leaves 64 bytes in
 * flight on every connection, unread.
 *
 * SIGUSR2 (ckptctl kill sends it to every process): each reads the bytes in flight on each connection
 * (they must be what was sent), answers on each, checks the answers and
 * leaves new bytes in flight; the top one prints "PASS tcpconns conns=N"
 * once every process has. "READY tcpconns conns=N setup_ms=T" at start. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PER_PROC 3000
#define MAX_PROCS 64
#define MSG 64

static volatile sig_atomic_t got_usr2;
static void on_usr2(int sig) { (void)sig; got_usr2 = 1; }

static void die(const char *what)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf), "FAIL tcpconns %d: %s: %s\n", (int)getpid(), what, strerror(errno));

	if (write(1, buf, n) < 0)
		_exit(2);
	_exit(1);
}

static int *cl, *sv;
static int n;
static uint32_t round_no;

static void fill(unsigned char *b, int i, uint32_t r, int dir)
{
	for (int k = 0; k < MSG; k++)
		b[k] = (unsigned char)(i * 31 + k * 7 + r * 13 + dir);
}

static void put(int fd, int i, int dir)
{
	unsigned char b[MSG];

	fill(b, i, round_no, dir);
	if (write(fd, b, MSG) != MSG)
		die("write");
}

static void take(int fd, int i, int dir)
{
	unsigned char b[MSG], want[MSG];
	size_t got = 0;

	while (got < MSG) {
		ssize_t r = read(fd, b + got, MSG - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("read");
		got += (size_t)r;
	}
	fill(want, i, round_no, dir);
	if (memcmp(b, want, MSG)) {
		errno = EBADMSG;
		die("bytes changed");
	}
}

static void setup(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (void *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0 || getsockname(l, (void *)&a, &len) < 0)
		die("listener");
	cl = calloc(n, sizeof(int));
	sv = calloc(n, sizeof(int));
	if (!cl || !sv)
		die("calloc");
	for (int i = 0; i < n; i++) {
		cl[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (cl[i] < 0 || connect(cl[i], (void *)&a, sizeof(a)) < 0)
			die("connect");
		sv[i] = accept(l, NULL, NULL);
		if (sv[i] < 0)
			die("accept");
		put(cl[i], i, 0);
	}
}

/* One round: the bytes in flight arrive, an answer goes back. */
static void round_trip(void)
{
	for (int i = 0; i < n; i++) {
		take(sv[i], i, 0);
		put(sv[i], i, 1);
		take(cl[i], i, 1);
	}
	round_no++;
	for (int i = 0; i < n; i++)
		put(cl[i], i, 0);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	int total = argc > 1 ? atoi(argv[1]) : 1000, per = argc > 2 ? atoi(argv[2]) : PER_PROC, nproc, me = 0, st[2], ok = 0;
	struct rlimit rl;
	struct timespec t0, t1;
	pid_t kids[MAX_PROCS];
	char c;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (total < 1 || per < 1 || per > PER_PROC || total > MAX_PROCS * per)
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigaction(SIGUSR2, &sa, NULL);
	if (pipe(st) < 0)
		die("pipe");
	nproc = (total + per - 1) / per;
	for (me = 1; me < nproc; me++) {
		kids[me] = fork();
		if (kids[me] < 0)
			die("fork");
		if (kids[me] == 0)
			break;
	}
	if (me == nproc)
		me = 0;
	n = me == nproc - 1 ? total - per * (nproc - 1) : per;
	setup();
	if (me) {
		close(st[0]);
		if (write(st[1], "r", 1) != 1)
			die("status");
		for (;;) {
			pause();
			if (got_usr2) {
				got_usr2 = 0;
				round_trip();
				if (write(st[1], "k", 1) != 1)
					die("status");
			}
		}
	}
	close(st[1]);
	for (int i = 1; i < nproc; i++)
		if (read(st[0], &c, 1) != 1 || c != 'r')
			die("a child's setup");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("READY tcpconns conns=%d procs=%d setup_ms=%ld\n", total, nproc,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	fflush(stdout);
	for (;;) {
		pause();
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		round_trip();
		for (int i = 1; i < nproc; i++)
			if (read(st[0], &c, 1) != 1 || c != 'k')
				die("a child's round");
		ok++;
		printf("PASS tcpconns conns=%d rounds=%d\n", total, ok);
		fflush(stdout);
	}
}
