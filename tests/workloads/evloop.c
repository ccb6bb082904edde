// SPDX-License-Identifier: GPL-2.0-or-later
/* evloop: an epoll event loop whose sources and interest list must survive
 * a restart.
 *
 * The epoll `ep` watches (data in brackets):
 *   [1] an eventfd in semaphore mode holding 3       (EPOLLIN)
 *   [2] a non-blocking eventfd holding a count that changes every turn
 *   [3] a CLOCK_MONOTONIC timerfd, every 5 ms, read every 10th turn
 *   [4] a CLOCK_REALTIME timerfd set with TFD_TIMER_ABSTIME, every 300 ms
 *   [5] an inner epoll watching an eventfd [77]       (nested)
 *   [6] an eventfd with EPOLLONESHOT: after it fires it stays quiet for 5
 *       turns, then EPOLL_CTL_MOD (by its fd number) re-arms it
 *   [7] an eventfd with EPOLLET, written every turn
 *   [8] a signalfd for SIGUSR1 (blocked), one sigqueue()d SIGUSR1 pending
 *   [9] the read end of a pipe holding 16 bytes
 * Every turn (~10 ms): epoll_wait(ep, 0) must report each ready source with
 * its data, the disarmed one-shot must not be reported; then each source is
 * read and checked against what the program put in (counts, the signal's
 * value, the pipe's bytes) and filled again. The timers must keep firing
 * (a tick at least every 200 / 400 turns; turns don't run while frozen).
 * "evloop stale": also an eventfd registered as one fd number and reached
 * through another once that one is closed (the checkpoint must refuse it).
 * Beside: a non-blocking pidfd of a child that lives (never readable), a
 * pidfd of a child that exited with 7, not reaped (readable, waitid says 7).
 * SIGUSR2: "PASS evloop turns=<turn> ticks=<periodic> abs=<realtime>". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define SEM_COUNT 3
#define PIPE_HELD 16
#define ABS_NS 300000000ll

enum { D_SEM = 1, D_EFD, D_TICK, D_ABS, D_INNER, D_ONE, D_ET, D_SIG, D_PIPE, D_INNER_EFD = 77 };

static pid_t kid_a, kid_b;
static int pfd_a, pfd_b;
static int ep, in, efd_sem, efd, tper, tabs, efd_in, efd_one, efd_et, sfd, prd, pwr;
static unsigned long turn, last_tick, last_abs, ticks, abs_ticks;
static uint64_t efd_shadow;
static unsigned char pipe_next_rd, pipe_next_wr;
static int one_armed = 1, one_quiet;
static int sig_value;

static int chk(int r, const char *what)
{
	if (r < 0)
		fail("%s: %s\n", what, strerror(errno));
	return r;
}

static void add(int epfd, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	chk(epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev), "epoll_ctl add");
}

static void put(int fd, uint64_t v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		fail("eventfd write: %s\n", strerror(errno));
}

static uint64_t take(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		fail("read fd %d: %s\n", fd, strerror(errno));
	return v;
}

static void queue_sig(void)
{
	union sigval v = { .sival_int = ++sig_value };

	chk(sigqueue(getpid(), SIGUSR1, v), "sigqueue");
}

/* The pid a pidfd refers to, as its fdinfo shows it in our namespace. */
static pid_t pidfd_pid(int fd)
{
	char path[64], line[128];
	FILE *f;
	int pid = -2;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		fail("%s: %s\n", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

static void setup_kids(void)
{
	kid_a = chk(fork(), "fork");
	if (!kid_a) {
		close_range(3, ~0u, 0);
		for (;;)
			pause();
	}
	kid_b = chk(fork(), "fork");
	if (!kid_b)
		_exit(7);
	pfd_a = chk((int)syscall(SYS_pidfd_open, kid_a, PIDFD_NONBLOCK), "pidfd_open");
	pfd_b = chk((int)syscall(SYS_pidfd_open, kid_b, 0), "pidfd_open");
}

static void check_kids(void)
{
	struct pollfd p[2] = { { .fd = pfd_a, .events = POLLIN }, { .fd = pfd_b, .events = POLLIN } };
	siginfo_t si = { 0 };

	if (chk(poll(p, 2, 0), "poll") != 1 || p[0].revents || p[1].revents != POLLIN)
		fail("pidfds poll %#x (live child) %#x (exited child)\n", p[0].revents, p[1].revents);
	if (pidfd_pid(pfd_a) != kid_a || pidfd_pid(pfd_b) != kid_b)
		fail("the pidfds refer to %d and %d, not %d and %d\n", pidfd_pid(pfd_a), pidfd_pid(pfd_b), kid_a, kid_b);
	if (!(fcntl(pfd_a, F_GETFL) & O_NONBLOCK) || (fcntl(pfd_b, F_GETFL) & O_NONBLOCK))
		fail("pidfd flags %#x %#x\n", fcntl(pfd_a, F_GETFL), fcntl(pfd_b, F_GETFL));
	chk((int)syscall(SYS_pidfd_send_signal, pfd_a, 0, NULL, 0), "pidfd_send_signal to the live child");
	if (waitid(P_PIDFD, pfd_a, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid)
		fail("the live child's pidfd reports it exited\n");
	if (waitid(P_PIDFD, pfd_b, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != kid_b ||
	    si.si_code != CLD_EXITED || si.si_status != 7)
		fail("the exited child's pidfd: pid %d code %d status %d\n", si.si_pid, si.si_code, si.si_status);
}

static void setup(void)
{
	struct itimerspec per = { .it_interval = { 0, 5000000 }, .it_value = { 0, 5000000 } };
	struct itimerspec abs = { .it_interval = { 0, ABS_NS } };
	struct timespec now;
	sigset_t m;
	int p[2];

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	chk(sigprocmask(SIG_BLOCK, &m, NULL), "sigprocmask");
	ep = chk(epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
	in = chk(epoll_create1(0), "epoll_create1 inner");
	efd_sem = chk(eventfd(SEM_COUNT, EFD_SEMAPHORE | EFD_NONBLOCK), "eventfd sem");
	efd = chk(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd");
	tper = chk(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), "timerfd monotonic");
	tabs = chk(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC), "timerfd realtime");
	efd_in = chk(eventfd(1, EFD_NONBLOCK), "eventfd inner");
	efd_one = chk(eventfd(1, EFD_NONBLOCK), "eventfd oneshot");
	efd_et = chk(eventfd(0, EFD_NONBLOCK), "eventfd et");
	sfd = chk(signalfd(-1, &m, SFD_NONBLOCK), "signalfd");
	chk(pipe2(p, O_NONBLOCK), "pipe");
	prd = p[0];
	pwr = p[1];
	chk(timerfd_settime(tper, 0, &per, NULL), "timerfd_settime");
	chk(clock_gettime(CLOCK_REALTIME, &now), "clock_gettime");
	abs.it_value.tv_sec = now.tv_sec + (now.tv_nsec + ABS_NS) / 1000000000;
	abs.it_value.tv_nsec = (now.tv_nsec + ABS_NS) % 1000000000;
	chk(timerfd_settime(tabs, TFD_TIMER_ABSTIME, &abs, NULL), "timerfd_settime abs");
	add(in, efd_in, EPOLLIN, D_INNER_EFD);
	add(ep, efd_sem, EPOLLIN, D_SEM);
	add(ep, efd, EPOLLIN, D_EFD);
	add(ep, tper, EPOLLIN, D_TICK);
	add(ep, tabs, EPOLLIN, D_ABS);
	add(ep, in, EPOLLIN, D_INNER);
	add(ep, efd_one, EPOLLIN | EPOLLONESHOT, D_ONE);
	add(ep, efd_et, EPOLLIN | EPOLLET, D_ET);
	add(ep, sfd, EPOLLIN, D_SIG);
	add(ep, prd, EPOLLIN, D_PIPE);
	put(efd, efd_shadow = 5);
	put(efd_et, 1);
	queue_sig();
	for (pipe_next_wr = 0; pipe_next_wr < PIPE_HELD; pipe_next_wr++)
		if (write(pwr, &pipe_next_wr, 1) != 1)
			fail("pipe write\n");
}

/* What epoll says: each level-triggered source that holds something, the
 * one-shot only while armed, nothing unknown. */
static void check_ready(void)
{
	struct epoll_event ev[16];
	unsigned seen = 0, want;
	int n = chk(epoll_wait(ep, ev, 16, 0), "epoll_wait");

	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 < D_SEM || ev[i].data.u64 > D_PIPE)
			fail("epoll reported unknown data %#llx\n", (unsigned long long)ev[i].data.u64);
		if (!(ev[i].events & EPOLLIN) || (ev[i].events & ~(uint32_t)EPOLLIN))
			fail("epoll events %#x for data %llu\n", ev[i].events, (unsigned long long)ev[i].data.u64);
		seen |= 1u << ev[i].data.u64;
	}
	want = 1u << D_SEM | 1u << D_EFD | 1u << D_INNER | 1u << D_ET | 1u << D_SIG | 1u << D_PIPE;
	if (one_armed)
		want |= 1u << D_ONE;
	if ((seen & want) != want)
		fail("turn %lu: epoll reported %#x, missing %#x\n", turn, seen, want & ~seen);
	if (!one_armed && (seen & 1u << D_ONE))
		fail("turn %lu: the disarmed EPOLLONESHOT target fired again\n", turn);
	if (one_armed)
		one_armed = 0, one_quiet = 0;
}

static void check_sources(void)
{
	struct signalfd_siginfo si;
	struct epoll_event ev;
	unsigned char b;
	int avail, k;

	/* semaphore mode: one per read, SEM_COUNT of them */
	for (k = 0; k < SEM_COUNT; k++)
		if (take(efd_sem) != 1)
			fail("semaphore eventfd read != 1\n");
	if (read(efd_sem, &ev, 8) >= 0 || errno != EAGAIN)
		fail("semaphore eventfd held more than %d\n", SEM_COUNT);
	put(efd_sem, SEM_COUNT);
	if (take(efd) != efd_shadow)
		fail("eventfd count != %llu\n", (unsigned long long)efd_shadow);
	put(efd, efd_shadow = turn % 1000 + 1);
	/* the inner epoll reports its own target */
	if (chk(epoll_wait(in, &ev, 1, 0), "epoll_wait inner") != 1 || ev.data.u64 != D_INNER_EFD)
		fail("inner epoll did not report its eventfd\n");
	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		fail("signalfd read: %s\n", strerror(errno));
	if (si.ssi_signo != SIGUSR1 || si.ssi_int != sig_value || si.ssi_pid != (uint32_t)getpid())
		fail("signalfd gave signal %u value %d, want %d value %d\n", si.ssi_signo, si.ssi_int, SIGUSR1, sig_value);
	queue_sig();
	chk(ioctl(prd, FIONREAD, &avail), "FIONREAD");
	if (avail != PIPE_HELD)
		fail("pipe holds %d bytes, want %d\n", avail, PIPE_HELD);
	if (read(prd, &b, 1) != 1 || b != pipe_next_rd++)
		fail("pipe byte %u, want %u\n", b, (unsigned char)(pipe_next_rd - 1));
	if (write(pwr, &pipe_next_wr, 1) != 1)
		fail("pipe write\n");
	pipe_next_wr++;
	if (turn % 512 == 0)
		take(efd_et);
	put(efd_et, 1);
	/* the one-shot, quiet for 5 turns, re-armed through its fd number */
	if (!one_armed && ++one_quiet == 5) {
		ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = D_ONE };
		chk(epoll_ctl(ep, EPOLL_CTL_MOD, efd_one, &ev), "EPOLL_CTL_MOD of the one-shot");
		one_armed = 1;
	}
}

static unsigned long ticks_of(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) == sizeof(v))
		return v;
	if (errno != EAGAIN)
		fail("timerfd read: %s\n", strerror(errno));
	return 0;
}

static void check_timers(void)
{
	struct itimerspec cur;
	unsigned long n;

	if (turn % 10 == 0 && (n = ticks_of(tper))) {
		ticks += n;
		last_tick = turn;
	}
	if ((n = ticks_of(tabs))) {
		abs_ticks += n;
		last_abs = turn;
	}
	if (turn - last_tick > 200)
		fail("the periodic timerfd stopped firing (%lu ticks, none for %lu turns)\n", ticks, turn - last_tick);
	if (turn - last_abs > 400)
		fail("the CLOCK_REALTIME timerfd stopped firing (%lu ticks, none for %lu turns)\n", abs_ticks, turn - last_abs);
	chk(timerfd_gettime(tper, &cur), "timerfd_gettime");
	if (cur.it_interval.tv_sec || cur.it_interval.tv_nsec != 5000000)
		fail("periodic timerfd interval %ld.%09ld\n", (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
	chk(timerfd_gettime(tabs, &cur), "timerfd_gettime abs");
	if (cur.it_interval.tv_sec || cur.it_interval.tv_nsec != ABS_NS || cur.it_value.tv_sec ||
	    cur.it_value.tv_nsec > ABS_NS)
		fail("realtime timerfd at %ld.%09ld every %ld.%09ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
		     (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
}

/* The registration stays (a dup keeps the file open) under a number that
 * no longer holds it: nothing can modify or delete it any more. */
static void add_stale(void)
{
	int a = chk(eventfd(0, EFD_NONBLOCK), "eventfd stale");

	chk(dup2(a, 40), "dup2");
	add(ep, a, EPOLLIN, 1u << 20);
	close(a);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		fail("sigaction SIGUSR2\n");
	setup();
	setup_kids();
	if (argc > 1 && !strcmp(argv[1], "stale"))
		add_stale();
	say("READY\n");
	for (;; turn++) {
		check_ready();
		check_sources();
		check_timers();
		if (turn % 16 == 15)
			check_kids();
		if (got_usr2) {
			got_usr2 = 0;
			say("PASS evloop turns=%lu ticks=%lu abs=%lu\n", turn, ticks, abs_ticks);
		}
		nanosleep(&ts, NULL);
	}
}
