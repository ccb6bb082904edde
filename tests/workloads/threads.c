// SPDX-License-Identifier: GPL-2.0-or-later
/* threads: 8 pthreads mutating shared state under mutexes and condition
 * variables, each with its own thread-local state, signal mask, name and tid.
 *
 *   t0, t1  producers: push (producer, seq) items into a 64-slot ring under a
 *           mutex, waiting on "not full" (futex) when it is full;
 *   t2, t3  consumers: pop, waiting on "not empty", check each producer's
 *           items come out in order with no gap or repeat, then sleep 1 ms;
 *   t4      sleeps in nanosleep(20 ms), checks at least 20 ms went by;
 *   t5      blocks in read() on a pipe, checks the tokens it gets are 1, 2, ...;
 *   t6      blocks in poll() on a silent pipe with a 10 ms timeout, checks it
 *           timed out after at least 10 ms, then writes the next token for t5;
 *   t7      waits on a condition variable for main's generation counter.
 * Every step of every thread checks its __thread counter against its shadow
 * in a shared array, its __thread index, its gettid(), its name
 * (pthread_getname_np) and its blocked-signal mask (a different set for each
 * thread). Main holds the ring invariant (produced == consumed + in ring, per
 * producer) and bumps the generation every 10 ms from sigtimedwait(SIGUSR2).
 * Every thread blocks SIGUSR2, so nothing but main's sigtimedwait takes it
 * and no blocking call here may return EINTR: one that does was not
 * restarted as the kernel would have restarted it, and that is a FAIL.
 *
 * SIGUSR2: main checks every thread's name and SigBlk from
 * /proc/self/task/TID and the task list, then, once every thread moved on
 * since the last PASS (within 10 s):
 * "PASS threads n=<passes> c=<8 per-thread counts> items=<consumed> tids:<8 tids>". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define NTHREADS 8
#define RING 64
#define SLEEP_NS (20 * 1000 * 1000)
#define POLL_MS 10
#define WAIT_NS (10000ULL * 1000 * 1000)

struct shadow {
	_Atomic uint64_t count;
	_Atomic pid_t tid;
};

static struct shadow shadow[NTHREADS];
static __thread uint64_t tl_count, tl_check;
static __thread int tl_index = -1;

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static uint64_t ring[RING];
static unsigned ring_head, ring_count;
static uint64_t produced[2], last_seq[2], consumed;

static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gen_cond = PTHREAD_COND_INITIALIZER;
static uint64_t gen;

static int token_pipe[2], silent_pipe[2];
static pid_t main_tid;

static const char *const role[NTHREADS] = {
	"prod0", "prod1", "cons0", "cons1", "sleep", "read", "poll", "condw",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t tl_key(int i) { return 0x7468726561640000ULL + i * 0x10001ULL; }

/* Thread i's blocked set: SIGUSR2 (main takes it) plus signals of its own. */
static void thread_mask(int i, sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGUSR2);
	if (i < 0)
		return;
	sigaddset(set, SIGRTMIN + 1 + i);
	sigaddset(set, SIGRTMIN + 12 + i % 3);
	if (i & 1)
		sigaddset(set, SIGHUP);
	if (i & 2)
		sigaddset(set, SIGWINCH);
}

/* The same set as /proc's SigBlk hex word. */
static unsigned long long mask_word(const sigset_t *set)
{
	unsigned long long w = 0;

	for (int s = 1; s <= 64; s++)
		if (sigismember(set, s) == 1)
			w |= 1ULL << (s - 1);
	return w;
}

static void thread_name(int i, char *buf, size_t len)
{
	snprintf(buf, len, "wl-%d-%s", i, role[i]);
}

static void thread_setup(int i)
{
	char name[16];
	sigset_t set;

	tl_index = i;
	tl_count = 0;
	tl_check = tl_key(i);
	thread_mask(i, &set);
	if (pthread_sigmask(SIG_SETMASK, &set, NULL))
		fail("threads t%d: pthread_sigmask\n", i);
	thread_name(i, name, sizeof(name));
	if (pthread_setname_np(pthread_self(), name))
		fail("threads t%d: pthread_setname_np\n", i);
	atomic_store(&shadow[i].tid, gettid());
}

/* One step of thread i: everything it knows about itself still holds. */
static void tick(int i)
{
	char name[16], want[16];
	sigset_t cur, exp;

	if (tl_index != i)
		fail("threads t%d: __thread index is %d\n", i, tl_index);
	if (tl_count != atomic_load(&shadow[i].count) || tl_check != (tl_count ^ tl_key(i)))
		fail("threads t%d: __thread count %lu check %#lx, shadow %lu\n", i,
		     (unsigned long)tl_count, (unsigned long)tl_check,
		     (unsigned long)atomic_load(&shadow[i].count));
	if (gettid() != atomic_load(&shadow[i].tid))
		fail("threads t%d: gettid %d, was %d\n", i, gettid(), atomic_load(&shadow[i].tid));
	thread_name(i, want, sizeof(want));
	if (pthread_getname_np(pthread_self(), name, sizeof(name)) || strcmp(name, want))
		fail("threads t%d: name '%s', want '%s'\n", i, name, want);
	thread_mask(i, &exp);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (mask_word(&cur) != mask_word(&exp))
		fail("threads t%d: blocked mask %#llx, want %#llx\n", i, mask_word(&cur),
		     mask_word(&exp));
	tl_count++;
	tl_check = tl_count ^ tl_key(i);
	atomic_store(&shadow[i].count, tl_count);
}

static void producer(int i)
{
	uint64_t seq = 0;

	for (;;) {
		pthread_mutex_lock(&ring_lock);
		while (ring_count == RING)
			pthread_cond_wait(&not_full, &ring_lock);
		ring[(ring_head + ring_count++) % RING] = (uint64_t)i << 56 | ++seq;
		produced[i]++;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&ring_lock);
		tick(i);
	}
}

static void consumer(int i)
{
	struct timespec ms = { 0, 1000 * 1000 };

	for (;;) {
		pthread_mutex_lock(&ring_lock);
		while (ring_count == 0)
			pthread_cond_wait(&not_empty, &ring_lock);
		uint64_t item = ring[ring_head];
		unsigned p = item >> 56;

		ring_head = (ring_head + 1) % RING;
		ring_count--;
		if (p > 1 || (item & 0xffffffffffffffULL) != last_seq[p] + 1)
			fail("threads t%d: item %#lx after seq %lu of producer %u\n", i,
			     (unsigned long)item, (unsigned long)last_seq[p & 1], p);
		last_seq[p]++;
		consumed++;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&ring_lock);
		tick(i);
		if (nanosleep(&ms, NULL) < 0)
			fail("threads t%d: nanosleep: %d (EINTR with no signal: not restarted)\n", i, errno);
	}
}

static void sleeper(int i)
{
	struct timespec ts = { 0, SLEEP_NS };

	for (;;) {
		uint64_t t0 = now_ns(), dt;

		if (nanosleep(&ts, NULL) < 0)
			fail("threads t%d: nanosleep: %d (EINTR with no signal: not restarted)\n", i, errno);
		dt = now_ns() - t0;
		if (dt < SLEEP_NS)
			fail("threads t%d: nanosleep(20 ms) returned after %lu ns\n", i, (unsigned long)dt);
		tick(i);
	}
}

static void reader(int i)
{
	uint64_t want = 1, tok;

	for (;;) {
		ssize_t n = read(token_pipe[0], &tok, sizeof(tok));

		if (n != sizeof(tok))
			fail("threads t%d: read: %zd (%d)\n", i, n, errno);
		if (tok != want)
			fail("threads t%d: token %lu, want %lu\n", i, (unsigned long)tok,
			     (unsigned long)want);
		want++;
		tick(i);
	}
}

static void poller(int i)
{
	struct pollfd pfd = { .fd = silent_pipe[0], .events = POLLIN };
	uint64_t tok = 0;

	for (;;) {
		uint64_t t0 = now_ns(), dt;
		int r = poll(&pfd, 1, POLL_MS);

		dt = now_ns() - t0;
		if (r != 0)
			fail("threads t%d: poll: %d (%d) revents %#x\n", i, r, errno, pfd.revents);
		if (dt < POLL_MS * 1000000ULL)
			fail("threads t%d: poll(%d ms) timed out after %lu ns\n", i, POLL_MS,
			     (unsigned long)dt);
		tok++;
		if (write(token_pipe[1], &tok, sizeof(tok)) != sizeof(tok))
			fail("threads t%d: token write: %d\n", i, errno);
		tick(i);
	}
}

static void cond_waiter(int i)
{
	uint64_t seen = 0;

	for (;;) {
		pthread_mutex_lock(&gen_lock);
		while (gen == seen)
			pthread_cond_wait(&gen_cond, &gen_lock);
		if (gen < seen)
			fail("threads t%d: generation went from %lu to %lu\n", i, (unsigned long)seen,
			     (unsigned long)gen);
		seen = gen;
		pthread_mutex_unlock(&gen_lock);
		tick(i);
	}
}

static void *thread_main(void *arg)
{
	int i = (int)(intptr_t)arg;

	thread_setup(i);
	switch (i) {
	case 0: case 1: producer(i); break;
	case 2: case 3: consumer(i); break;
	case 4: sleeper(i); break;
	case 5: reader(i); break;
	case 6: poller(i); break;
	default: cond_waiter(i); break;
	}
	return NULL;
}

/* ---- main ---- */

static void check_ring(void)
{
	uint64_t in_ring[2] = { 0, 0 };

	pthread_mutex_lock(&ring_lock);
	for (unsigned k = 0; k < ring_count; k++)
		in_ring[(ring[(ring_head + k) % RING] >> 56) & 1]++;
	if (produced[0] + produced[1] != consumed + ring_count ||
	    last_seq[0] + in_ring[0] != produced[0] || last_seq[1] + in_ring[1] != produced[1])
		fail("threads: ring: produced %lu+%lu, consumed %lu (%lu+%lu), in ring %u\n",
		     (unsigned long)produced[0], (unsigned long)produced[1], (unsigned long)consumed,
		     (unsigned long)last_seq[0], (unsigned long)last_seq[1], ring_count);
	pthread_mutex_unlock(&ring_lock);
}

static void check_main(void)
{
	char name[16];
	sigset_t cur, exp;

	if (gettid() != main_tid || getpid() != main_tid)
		fail("threads main: tid %d pid %d, was %d\n", gettid(), getpid(), main_tid);
	if (pthread_getname_np(pthread_self(), name, sizeof(name)) || strcmp(name, "wl-main"))
		fail("threads main: name '%s'\n", name);
	thread_mask(-1, &exp);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (mask_word(&cur) != mask_word(&exp))
		fail("threads main: blocked mask %#llx, want %#llx\n", mask_word(&cur), mask_word(&exp));
}

static void read_task_file(pid_t tid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("threads: open %s: %d\n", path, errno);
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		fail("threads: read %s: %d\n", path, errno);
	buf[n] = 0;
}

/* What the outside world sees: the task list, each name and SigBlk. */
static void check_tasks(void)
{
	char buf[4096], want[16], *p;
	int ntasks = 0;
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		fail("threads: opendir /proc/self/task: %d\n", errno);
	while ((de = readdir(d))) {
		pid_t tid = atoi(de->d_name);
		int i;

		if (tid <= 0)
			continue;
		ntasks++;
		for (i = 0; i < NTHREADS && atomic_load(&shadow[i].tid) != tid; i++)
			;
		if (i == NTHREADS && tid != main_tid)
			fail("threads: unknown task %d\n", tid);
		if (i == NTHREADS)
			continue;
		read_task_file(tid, "comm", buf, sizeof(buf));
		thread_name(i, want, sizeof(want));
		buf[strcspn(buf, "\n")] = 0;
		if (strcmp(buf, want))
			fail("threads: task %d comm '%s', want '%s'\n", tid, buf, want);
		read_task_file(tid, "status", buf, sizeof(buf));
		p = strstr(buf, "\nSigBlk:");
		sigset_t exp;

		thread_mask(i, &exp);
		if (!p || strtoull(p + 8, NULL, 16) != mask_word(&exp))
			fail("threads: task %d SigBlk %.24s, want %016llx\n", tid, p ? p + 8 : "?",
			     mask_word(&exp));
	}
	closedir(d);
	if (ntasks != NTHREADS + 1)
		fail("threads: %d tasks, want %d\n", ntasks, NTHREADS + 1);
}

static void bump_gen(void)
{
	pthread_mutex_lock(&gen_lock);
	gen++;
	pthread_cond_broadcast(&gen_cond);
	pthread_mutex_unlock(&gen_lock);
}

static int try_pass(uint64_t pass_count[NTHREADS], uint64_t *passes)
{
	uint64_t c[NTHREADS];
	char line[256];
	int n;

	for (int i = 0; i < NTHREADS; i++) {
		c[i] = atomic_load(&shadow[i].count);
		if (c[i] <= pass_count[i])
			return 0;
	}
	check_main();
	check_ring();
	check_tasks();
	n = snprintf(line, sizeof(line), "PASS threads n=%lu c=", (unsigned long)++*passes);
	for (int i = 0; i < NTHREADS; i++)
		n += snprintf(line + n, sizeof(line) - n, "%s%lu", i ? "," : "", (unsigned long)c[i]);
	pthread_mutex_lock(&ring_lock);
	n += snprintf(line + n, sizeof(line) - n, " items=%lu tids:", (unsigned long)consumed);
	pthread_mutex_unlock(&ring_lock);
	for (int i = 0; i < NTHREADS; i++)
		n += snprintf(line + n, sizeof(line) - n, "%s%d", i ? "," : "",
			      atomic_load(&shadow[i].tid));
	say("%s\n", line);
	memcpy(pass_count, c, sizeof(c));
	return 1;
}

int main(void)
{
	struct timespec tick_ts = { 0, 10 * 1000 * 1000 };
	uint64_t pass_count[NTHREADS] = { 0 }, passes = 0, pending_until = 0, loops = 0;
	pthread_t t[NTHREADS];
	sigset_t usr2;

	main_tid = gettid();
	thread_mask(-1, &usr2);
	if (sigprocmask(SIG_SETMASK, &usr2, NULL) < 0)
		fail("threads: sigprocmask: %d\n", errno);
	if (pthread_setname_np(pthread_self(), "wl-main"))
		fail("threads: setname main\n");
	if (pipe(token_pipe) < 0 || pipe(silent_pipe) < 0)
		fail("threads: pipe: %d\n", errno);
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i))
			fail("threads: pthread_create %d\n", i);
	for (int i = 0; i < NTHREADS; i++)
		while (!atomic_load(&shadow[i].tid))
			nanosleep(&tick_ts, NULL);
	check_tasks();
	say("READY threads tids:%d,%d,%d,%d,%d,%d,%d,%d\n", shadow[0].tid, shadow[1].tid,
	    shadow[2].tid, shadow[3].tid, shadow[4].tid, shadow[5].tid, shadow[6].tid, shadow[7].tid);
	for (;;) {
		int sig = sigtimedwait(&usr2, NULL, &tick_ts);

		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			fail("threads: sigtimedwait: %d\n", errno);
		if (sig == SIGUSR2 && !pending_until)
			pending_until = now_ns() + WAIT_NS;
		bump_gen();
		check_main();
		check_ring();
		if (++loops % 300 == 0)
			say("threads items=%lu\n", (unsigned long)consumed);
		if (pending_until && try_pass(pass_count, &passes))
			pending_until = 0;
		if (pending_until && now_ns() > pending_until)
			fail("threads: a thread made no progress in 10 s (t0 %lu .. t7 %lu)\n",
			     (unsigned long)shadow[0].count, (unsigned long)shadow[7].count);
	}
}
