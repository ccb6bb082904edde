// SPDX-License-Identifier: GPL-2.0-or-later
/* snaplift: a program that can tell whether one of its threads was
 * borrowed behind its back, for the end of a background snapshot, which
 * lifts its write-protection from inside the program.
 *
 *   snaplift SIZE_MIB
 *
 * The main thread writes its SIZE_MIB of anonymous memory without pause,
 * as snapwriter does: write i goes to page i % N after checking that the
 * page holds write i - N, so memory that is not one instant fails within
 * a pass. A second thread sits blocked in read() on a pipe with a signal
 * mask of its own (SIGWINCH and SIGURG blocked), a third in nanosleep()
 * with every signal blocked: these are the threads a lifting borrows.
 * Each checks, every time it comes back, that its call returned what it
 * should (one byte, the next in sequence, into the right buffer; a sleep
 * never cut short) and that its mask is still its own. Both have a
 * seccomp filter that kills the process for any call a lifting injects
 * (socketpair, recvmsg, ioctl, mmap...), which they never make. A fourth
 * thread forks a child every 2 ms, which fails the program if its fd
 * table holds a userfaultfd or a socket.
 *
 * SIGUSR2 (handled by the main thread) checks every page against the
 * counter, the main thread's own mask, and the fd table against the one
 * at start (the same numbers, each of the same kind, and a new open()
 * getting the same lowest free number); then it sends the reader its next byte and waits
 * for its answer: "PASS snaplift <counter> <bytes read> <sleeps> <forks>". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define PG 4096UL
#define WPP (PG / 8)
#define MAX_FDS 64

static uint64_t *mem;
static size_t npages;
static volatile uint64_t counter;
static int pipe_fd[2];
static volatile uint64_t bytes_read, sleeps, forks;   /* what the threads have done */
static sigset_t reader_mask, main_mask;

struct fd_entry {
	int fd;
	char target[128];
};
static struct fd_entry fds_at_start[MAX_FDS];
static int nfds_at_start, lowest_free_at_start;

/* The fd table: numbers and what they point at, in ascending order. */
static int read_fds(struct fd_entry *out)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, dfd = d ? dirfd(d) : -1;

	if (!d)
		fail("snaplift: opendir /proc/self/fd: %m\n");
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		char path[64];
		ssize_t len;

		if (e->d_name[0] == '.' || fd == dfd)
			continue;
		if (n == MAX_FDS)
			fail("snaplift: more than %d fds\n", MAX_FDS);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, out[n].target, sizeof(out[n].target) - 1);
		out[n].target[len < 0 ? 0 : len] = 0;
		/* its kind ("pipe:", "anon_inode:", a path): inodes and
		 * log paths differ in a restarted copy */
		if (out[n].target[0] == '/')
			strcpy(out[n].target, "a file");
		else if (strchr(out[n].target, '['))
			*strchr(out[n].target, '[') = 0;
		out[n].fd = fd;
		for (int i = n; i > 0 && out[i].fd < out[i - 1].fd; i--) {
			struct fd_entry t = out[i];

			out[i] = out[i - 1];
			out[i - 1] = t;
		}
		n++;
	}
	closedir(d);
	return n;
}

static int lowest_free(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail("snaplift: open /dev/null: %m\n");
	close(fd);
	return fd;
}

static void check_fds(void)
{
	struct fd_entry now[MAX_FDS];
	int n = read_fds(now), low = lowest_free();

	if (n != nfds_at_start)
		fail("snaplift: %d fds, %d at start\n", n, nfds_at_start);
	for (int i = 0; i < n; i++)
		if (now[i].fd != fds_at_start[i].fd || strcmp(now[i].target, fds_at_start[i].target))
			fail("snaplift: fd %d is %s, at start fd %d was %s\n", now[i].fd, now[i].target,
			     fds_at_start[i].fd, fds_at_start[i].target);
	if (low != lowest_free_at_start)
		fail("snaplift: a new fd gets %d, at start %d\n", low, lowest_free_at_start);
}

static void check_mask(const sigset_t *want, const char *who)
{
	sigset_t now;

	pthread_sigmask(SIG_SETMASK, NULL, &now);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && sigismember(&now, s) != sigismember(want, s))
			fail("snaplift: %s: signal %d is %s in its mask\n", who, s,
			     sigismember(&now, s) ? "blocked" : "not blocked");
}

/* This thread (alone) is killed with its process if it ever makes one of
 * the calls a lifting injects: a borrowed thread's filters must not judge
 * calls it never made. */
static void forbid_injected_calls(const char *who)
{
	static const int nrs[] = { SYS_socketpair, SYS_recvmsg, SYS_sendmsg, SYS_ioctl, SYS_close_range,
				   SYS_mmap, SYS_munmap };
	struct sock_filter f[2 + 2 * sizeof(nrs) / sizeof(nrs[0])];
	struct sock_fprog prog = { 0, f };
	size_t n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		fail("snaplift: %s: seccomp: %s\n", who, strerror(errno));
}

static void *reader(void *arg)
{
	(void)arg;
	pthread_sigmask(SIG_SETMASK, &reader_mask, NULL);
	forbid_injected_calls("reader");
	for (;;) {
		/* the byte lands in the middle, guarded on both sides */
		unsigned char buf[3] = { 0xa5, 0, 0x5a };
		ssize_t n = read(pipe_fd[0], &buf[1], 1);
		uint64_t want = bytes_read + 1;

		if (n != 1)
			fail("snaplift: reader: read returned %zd (%s)\n", n, n < 0 ? strerror(errno) : "end");
		if (buf[0] != 0xa5 || buf[2] != 0x5a || buf[1] != (unsigned char)want)
			fail("snaplift: reader: read %02x %02x %02x, want a5 %02x 5a\n", buf[0], buf[1], buf[2],
			     (unsigned)(unsigned char)want);
		check_mask(&reader_mask, "reader");
		__atomic_store_n(&bytes_read, want, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *sleeper(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	forbid_injected_calls("sleeper");
	for (;;) {
		struct timespec t = { 0, 20 * 1000 * 1000 }, left = { 0, 0 };

		if (nanosleep(&t, &left) != 0)
			fail("snaplift: sleeper: nanosleep: %s, %ld ns left\n", strerror(errno), left.tv_nsec);
		check_mask(&all, "sleeper");
		__atomic_add_fetch(&sleeps, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* A child forked now has the fd table of the moment, which never holds
 * a userfaultfd or a socket. Exits 0 if so. (Not a count: a child that a
 * checkpoint catches in the middle of its listing lists a directory the
 * restart opened again.) */
static int child_check(void)
{
	struct fd_entry now[MAX_FDS];
	int n = read_fds(now);

	for (int i = 0; i < n; i++)
		if (strstr(now[i].target, "userfaultfd") || strncmp(now[i].target, "socket:", 7) == 0)
			return 2;
	return 0;
}

/* Forks a child every 2 ms that checks its fds and exits; a child that
 * saw a stray fd fails the program. */
static void *forker(void *arg)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };

	(void)arg;
	for (;;) {
		pid_t c = fork();
		int st;

		if (c < 0)
			fail("snaplift: forker: fork: %s\n", strerror(errno));
		if (c == 0)
			_exit(child_check());
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail("snaplift: forker: a child saw a userfaultfd or a socket in its fd table (status %#x)\n", st);
		__atomic_add_fetch(&forks, 1, __ATOMIC_RELEASE);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void check_all(void)
{
	uint64_t c = counter, want_read = bytes_read + 1;
	unsigned char b = (unsigned char)want_read;
	struct timespec pause = { 0, 1000 * 1000 };

	for (size_t p = 0; p < npages; p++) {
		uint64_t want = c - (c - p) % npages;
		const uint64_t *pg = mem + p * WPP;

		if (pg[0] != want || pg[WPP - 1] != want)
			fail("snaplift: page %zu holds %lu/%lu, the counter %lu says %lu\n", p, (unsigned long)pg[0],
			     (unsigned long)pg[WPP - 1], (unsigned long)c, (unsigned long)want);
	}
	check_mask(&main_mask, "main");
	check_fds();
	if (write(pipe_fd[1], &b, 1) != 1)
		fail("snaplift: write to the reader: %m\n");
	for (int i = 0; i < 5000 && __atomic_load_n(&bytes_read, __ATOMIC_ACQUIRE) != want_read; i++)
		nanosleep(&pause, NULL);
	if (bytes_read != want_read)
		fail("snaplift: the reader did not read byte %lu\n", (unsigned long)want_read);
	say("PASS snaplift %lu %lu %lu %lu\n", (unsigned long)c, (unsigned long)bytes_read, (unsigned long)sleeps,
	    (unsigned long)forks);
}

static void __attribute__((noreturn)) run(void)
{
	uint64_t i = counter + 1;

	for (;;) {
		for (int k = 0; k < 1024; k++, i++) {
			uint64_t *pg = mem + (i % npages) * WPP;

			if (pg[0] != i - npages || pg[WPP - 1] != i - npages)
				fail("snaplift: write %lu: page %lu holds %lu/%lu, not write %lu\n", (unsigned long)i,
				     (unsigned long)(i % npages), (unsigned long)pg[0], (unsigned long)pg[WPP - 1],
				     (unsigned long)(i - npages));
			pg[0] = i;
			pg[WPP - 1] = i;
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			__atomic_store_n(&counter, i, __ATOMIC_RELEASE);
		}
		if (got_usr2) {
			got_usr2 = 0;
			check_all();
		}
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	pthread_t t;

	npages = (mib << 20) / PG;
	if (npages < 2)
		fail("usage: snaplift SIZE_MIB\n");
	sigaction(SIGUSR2, &sa, NULL);
	sigemptyset(&main_mask);
	sigaddset(&main_mask, SIGWINCH);
	sigprocmask(SIG_SETMASK, &main_mask, NULL);
	reader_mask = main_mask;
	sigaddset(&reader_mask, SIGURG);
	sigaddset(&reader_mask, SIGUSR2);   /* SIGUSR2 is the main thread's */
	if (pipe2(pipe_fd, O_CLOEXEC) < 0)
		fail("snaplift: pipe: %m\n");
	mem = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("snaplift: mmap %lu MiB\n", mib);
	for (size_t p = 0; p < npages; p++)
		mem[p * WPP] = mem[p * WPP + WPP - 1] = p;
	counter = npages - 1;
	nfds_at_start = read_fds(fds_at_start);
	lowest_free_at_start = lowest_free();
	if (pthread_create(&t, NULL, reader, NULL) || pthread_create(&t, NULL, sleeper, NULL) ||
	    pthread_create(&t, NULL, forker, NULL))
		fail("snaplift: pthread_create\n");
	say("READY snaplift %lu MiB\n", mib);
	run();
}
