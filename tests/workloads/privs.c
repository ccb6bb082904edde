// SPDX-License-Identifier: GPL-2.0-or-later
/* privs: locked memory and credentials that differ inside the container.
 *
 *   main    root; region "lock" mlock()ed, region "fault" mlock2(MLOCK_ONFAULT)ed,
 *           both filled with a pattern; mlockall(MCL_FUTURE);
 *   t1      a thread that changed its own uid and gid to 1000 (the raw calls:
 *           glibc's would change every thread), which clears its capabilities;
 *   t2      a thread that changed nothing;
 *   child   a process that switched to uid/gid 65534 with groups 65534 and 100,
 *           CAP_SYS_ADMIN dropped from its bounding set, permitted and
 *           effective CAP_NET_BIND_SERVICE|CAP_KILL, CAP_NET_BIND_SERVICE also
 *           inheritable and ambient, and no_new_privs.
 * Each keeps the Uid, Gid, Groups, Cap... and NoNewPrivs lines of its own status as
 * they were set up and compares them on every check, along with what it
 * can tell by calling the kernel (getres[ug]id, PR_CAPBSET_READ,
 * PR_GET_NO_NEW_PRIVS, PR_CAP_AMBIENT_IS_SET). Main checks its regions'
 * VmFlags ("lo", and "lf" for the on-fault one), their bytes, VmLck, and
 * that a new mapping comes locked (MCL_FUTURE).
 *
 * SIGUSR2: all of that, then "PASS privs n=<passes>". */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "wl.h"

#define REGION (16 * 4096)
#define CREDS_MAX 1024

static unsigned char *lock_region, *fault_region;
#define NW 5   /* main, t1, t2, t3, and the child (or the child's thread) */
static volatile int check_gen, checked[NW];
static char creds_want[NW][CREDS_MAX];
static int strict_in[2], strict_out[2];
static volatile pid_t strict_tid;

/* Fail call nr with err; allow everything else. */
static int deny(int nr, int err, unsigned flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void expect_denied(const char *name, int nr, int err)
{
	errno = 0;
	if (syscall(nr) != -1 || errno != err)
		fail("privs: %s: call %d not failed with %d by its filter (errno %d)\n", name, nr, err, errno);
}

static void read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t off = 0;
	ssize_t n;

	if (fd < 0)
		fail("privs: open %s: %m\n", path);
	while (off < len - 1 && (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += n;
	close(fd);
	if (off == len - 1)
		fail("privs: %s too long\n", path);
	buf[off] = 0;
}

/* The credential lines of the calling thread's status. */
static void creds_lines(char *out, size_t len)
{
	static const char *keys[] = { "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
				      "CapAmb:", "NoNewPrivs:", "Seccomp:" };
	char buf[8192], *line, *save = NULL;
	size_t used = 0, k;

	read_file("/proc/thread-self/status", buf, sizeof(buf));
	out[0] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!strncmp(line, keys[k], strlen(keys[k])))
				used += snprintf(out + used, used < len ? len - used : 0, "%s\n", line);
	if (used >= len)
		fail("privs: status lines too long\n");
}

static void check_creds(int who, const char *name, uid_t uid, gid_t gid)
{
	char now[CREDS_MAX];
	uid_t r, e, s;
	gid_t gr, ge, gs;

	creds_lines(now, sizeof(now));
	if (strcmp(now, creds_want[who]))
		fail("privs: %s: credentials changed:\n%s---- now:\n%s", name, creds_want[who], now);
	if (syscall(SYS_getresuid, &r, &e, &s) || r != uid || e != uid || s != uid ||
	    syscall(SYS_getresgid, &gr, &ge, &gs) || gr != gid || ge != gid || gs != gid)
		fail("privs: %s: uids %u/%u/%u gids %u/%u/%u, want %u and %u\n", name, r, e, s, gr, ge, gs, uid, gid);
}

static uint64_t vmflags_of(const void *addr, char *flags, size_t len)
{
	char *buf = malloc(1 << 20), *line, *save = NULL;
	unsigned long start, end;
	bool in = false;

	if (!buf)
		fail("privs: malloc\n");
	read_file("/proc/self/smaps", buf, 1 << 20);
	flags[0] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(flags, len, "%s ", line + 8);
			break;
		}
	}
	free(buf);
	return 0;
}

static bool has_flag(const char *flags, const char *f)
{
	char pat[8];

	snprintf(pat, sizeof(pat), " %s ", f);
	return strstr(flags, pat) != NULL;
}

static void check_memory(void)
{
	char flags[256], status[8192], *p;
	unsigned char *m;
	long vmlck;
	size_t i;

	vmflags_of(lock_region, flags, sizeof(flags));
	if (!has_flag(flags, "lo") || has_flag(flags, "lf"))
		fail("privs: the mlock()ed region is not locked as it was:%s\n", flags);
	vmflags_of(fault_region, flags, sizeof(flags));
	if (!has_flag(flags, "lo") || !has_flag(flags, "lf"))
		fail("privs: the MLOCK_ONFAULT region is not locked on fault:%s\n", flags);
	for (i = 0; i < REGION; i++)
		if (lock_region[i] != (unsigned char)(i * 7 + 1) || fault_region[i] != (unsigned char)(i * 13 + 5))
			fail("privs: locked memory lost its bytes at %zu\n", i);
	read_file("/proc/self/status", status, sizeof(status));
	p = strstr(status, "VmLck:");
	if (!p || sscanf(p, "VmLck: %ld kB", &vmlck) != 1 || vmlck < 2 * REGION / 1024)
		fail("privs: VmLck %ld kB, want at least %d\n", p ? vmlck : -1, 2 * REGION / 1024);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fail("privs: mmap: %m\n");
	vmflags_of(m, flags, sizeof(flags));
	munmap(m, 4096);
	if (!has_flag(flags, "lo"))
		fail("privs: a new mapping is not locked: mlockall(MCL_FUTURE) was lost:%s\n", flags);
}

static void *thread_main(void *arg)
{
	int who = (int)(intptr_t)arg, seen = 0;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	uid_t id = who == 1 ? 1000 : 0;

	if (who == 1 && (syscall(SYS_setresgid, 1000, 1000, 1000) || syscall(SYS_setresuid, 1000, 1000, 1000)))
		fail("privs: t1: setresuid: %m\n");
	if (who == 3 && deny(SYS_getppid, EPERM, SECCOMP_FILTER_FLAG_LOG))
		fail("privs: t3: seccomp: %m\n");
	creds_lines(creds_want[who], CREDS_MAX);
	if (who == 1 && !strstr(creds_want[who], "CapEff:\t0000000000000000"))
		fail("privs: t1 kept capabilities after setresuid:\n%s", creds_want[who]);
	checked[who] = -1;
	for (;;) {
		nanosleep(&ts, NULL);
		if (check_gen == seen)
			continue;
		seen = check_gen;
		check_creds(who, who == 1 ? "t1" : who == 2 ? "t2" : "t3", id, id);
		if (who == 3)
			expect_denied("t3", SYS_getppid, EPERM);
		else if (syscall(SYS_getppid) <= 0)
			fail("privs: t%d: getppid: %m (the filter of t3 reached it)\n", who);
		checked[who] = seen;
	}
	return NULL;
}

/* Strict mode: read, write, exit, sigreturn only. */
static void *strict_main(void *arg)
{
	char c;

	strict_tid = syscall(SYS_gettid);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
		fail("privs: t4: strict mode: %m\n");
	for (;;)
		if (read(strict_in[0], &c, 1) != 1 || write(strict_out[1], &c, 1) != 1)
			syscall(SYS_exit, 1);
	return arg;
}

static void check_strict(void)
{
	char path[64], buf[8192], c = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", strict_tid);
	read_file(path, buf, sizeof(buf));
	if (!strstr(buf, "\nSeccomp:\t1\n"))
		fail("privs: t4 is not in seccomp strict mode\n");
	if (write(strict_in[1], "s", 1) != 1 || read(strict_out[0], &c, 1) != 1 || c != 's')
		fail("privs: t4 does not echo\n");
}

static void child_setup(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	uint32_t keep = 1u << CAP_NET_BIND_SERVICE | 1u << CAP_KILL;
	struct __user_cap_data_struct data[2] = { { keep, keep, 1u << CAP_NET_BIND_SERVICE }, { 0, 0, 0 } };
	gid_t groups[] = { 65534, 100 };

	if (setgroups(2, groups) || setresgid(65534, 65534, 65534) || prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN) ||
	    prctl(PR_SET_KEEPCAPS, 1) || setresuid(65534, 65534, 65534) || syscall(SYS_capset, &hdr, data) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail("privs: child: dropping privileges: %m\n");
}

static void *child_thread(void *arg)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int seen = 0;

	creds_lines(creds_want[4], CREDS_MAX);
	checked[4] = -1;
	for (;;) {
		nanosleep(&ts, NULL);
		if (check_gen == seen)
			continue;
		seen = check_gen;
		check_creds(4, "the child's thread", 65534, 65534);
		expect_denied("the child's thread", SYS_getpgrp, EACCES);
		checked[4] = seen;
	}
	return arg;
}

/* The child answers each byte main writes with 'y' or fails itself. */
static void child_main(int in, int out)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { 1, &allow };
	pthread_t th;
	long ret;
	char c;

	child_setup();
	if (deny(SYS_getpgrp, EACCES, 0))
		fail("privs: child: seccomp: %m\n");
	creds_lines(creds_want[2], CREDS_MAX);
	if (pthread_create(&th, NULL, child_thread, NULL))
		fail("privs: child: pthread_create\n");
	while (!checked[4])
		nanosleep(&ts, NULL);
	for (;;) {
		if (read(in, &c, 1) != 1)
			_exit(0);
		check_gen++;
		check_creds(2, "child", 65534, 65534);
		expect_denied("child", SYS_getpgrp, EACCES);
		for (int w = 0; checked[4] != check_gen; w++) {
			if (w > 1000)
				fail("privs: the child's thread did not check itself\n");
			nanosleep(&ts, NULL);
		}
		ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
		if (ret != 0)
			fail("privs: child: TSYNC: %ld (%m): its thread's filters are not its own\n", ret);
		if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) != 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 ||
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 1 ||
		    prctl(PR_GET_KEEPCAPS) != 1)
			fail("privs: child: bounding set, no_new_privs, ambient set or keepcaps changed\n");
		if (write(out, "y", 1) != 1)
			_exit(3);
	}
}

int main(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int to_child[2], from_child[2], i, n = 0;
	pthread_t th;
	size_t k;
	char c;

	signal(SIGUSR2, on_usr2);
	if (pipe(to_child) || pipe(from_child))
		fail("privs: pipe: %m\n");
	switch (fork()) {
	case -1:
		fail("privs: fork: %m\n");
	case 0:
		child_main(to_child[0], from_child[1]);
	}
	lock_region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fault_region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (lock_region == MAP_FAILED || fault_region == MAP_FAILED)
		fail("privs: mmap: %m\n");
	for (k = 0; k < REGION; k++) {
		lock_region[k] = k * 7 + 1;
		fault_region[k] = k * 13 + 5;
	}
	if (mlock(lock_region, REGION) || syscall(SYS_mlock2, fault_region, REGION, MLOCK_ONFAULT) ||
	    mlockall(MCL_FUTURE))
		fail("privs: mlock: %m\n");
	creds_lines(creds_want[0], CREDS_MAX);
	for (i = 1; i <= 3; i++)
		if (pthread_create(&th, NULL, thread_main, (void *)(intptr_t)i))
			fail("privs: pthread_create\n");
	if (pipe(strict_in) || pipe(strict_out) || pthread_create(&th, NULL, strict_main, NULL))
		fail("privs: strict thread: %m\n");
	while (!checked[1] || !checked[2] || !checked[3] || !strict_tid)
		nanosleep(&ts, NULL);
	check_memory();
	check_strict();
	say("READY privs\n");
	for (;;) {
		nanosleep(&ts, NULL);
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		check_gen++;
		check_creds(0, "main", 0, 0);
		check_memory();
		check_strict();
		if (write(to_child[1], "?", 1) != 1 || read(from_child[0], &c, 1) != 1 || c != 'y')
			fail("privs: the child does not answer\n");
		for (i = 1; i <= 3; i++)
			for (int w = 0; checked[i] != check_gen; w++) {
				if (w > 1000)
					fail("privs: thread t%d did not check itself\n", i);
				nanosleep(&ts, NULL);
			}
		say("PASS privs n=%d\n", ++n);
	}
}
