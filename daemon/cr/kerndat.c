/* What this kernel offers for C/R, probed by trying it (never by version). */
#include "kerndat.h"
#include "arch.h"
#include "macro.h"
#include "cgroup.h"
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

typedef bool (*probe_fn)(char *detail, size_t len);

static bool probe_pidns(char *d, size_t n)
{
	struct clone_args a = { .flags = CLONE_NEWPID | CLONE_NEWNS, .exit_signal = SIGCHLD };
	long p = syscall(SYS_clone3, &a, sizeof(a));
	int st;

	if (p == 0)
		_exit(getpid() == 1 ? 0 : 1);
	if (p < 0) {
		snprintf(d, n, "clone3(CLONE_NEWPID|CLONE_NEWNS): %m");
		return false;
	}
	waitpid(p, &st, 0);
	snprintf(d, n, "clone3 into a new pid and mount namespace");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static bool probe_set_tid(char *d, size_t n)
{
	pid_t tid = 1;
	struct clone_args a = { .flags = CLONE_NEWPID, .exit_signal = SIGCHLD,
				.set_tid = (uint64_t)(uintptr_t)&tid, .set_tid_size = 1 };
	long p = syscall(SYS_clone3, &a, sizeof(a));
	int st;

	if (p == 0)
		_exit(0);
	if (p < 0) {
		snprintf(d, n, "clone3(set_tid): %m");
		return false;
	}
	waitpid(p, &st, 0);
	snprintf(d, n, "tasks can be created at chosen pids");
	return true;
}

/* A stopped child to probe ptrace features on; killed by the caller. */
static pid_t seized_child(void)
{
	pid_t p = fork();
	int st;

	if (p == 0) {
		for (;;)
			pause();
	}
	if (p < 0)
		return -1;
	if (ptrace(PTRACE_SEIZE, p, 0, 0) < 0 || ptrace(PTRACE_INTERRUPT, p, 0, 0) < 0 || waitpid(p, &st, __WALL) < 0) {
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
		return -1;
	}
	return p;
}

static void reap(pid_t p)
{
	int st;

	kill(p, SIGKILL);
	waitpid(p, &st, __WALL);
}

static bool probe_rseq(char *d, size_t n)
{
	struct { uint64_t p; uint32_t s, sig, f, pad; } rc;
	pid_t p = seized_child();
	bool ok;

	if (p < 0) {
		snprintf(d, n, "ptrace seize failed");
		return false;
	}
	ok = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, p, (void *)sizeof(rc), &rc) == sizeof(rc);
	snprintf(d, n, ok ? "rseq registrations can be read" : "PTRACE_GET_RSEQ_CONFIGURATION failed");
	reap(p);
	return ok;
}

static bool probe_xstate(char *d, size_t n)
{
	static unsigned char buf[ARCH_XSTATE_MAX];
	uint64_t xf;
	uint32_t xs;
	size_t len = 0;
	pid_t p;
	bool ok;

	if (arch_xstate_info(&xf, &xs) < 0) {
		snprintf(d, n, "no XSAVE");
		return false;
	}
	p = seized_child();
	ok = p > 0 && arch_get_xstate(p, buf, sizeof(buf), &len) == 0;
	snprintf(d, n, "features %#lx, %u bytes", (unsigned long)xf, xs);
	if (p > 0)
		reap(p);
	return ok;
}

static bool probe_vm_rw(char *d, size_t n)
{
	char a = 'x', b = 0;
	struct iovec l = { &b, 1 }, r = { &a, 1 };
	bool ok = process_vm_readv(getpid(), &l, 1, &r, 1, 0) == 1 && b == 'x';

	snprintf(d, n, ok ? "process_vm_readv/writev" : "process_vm_readv: %m");
	return ok;
}

static bool probe_pagemap(char *d, size_t n)
{
	_cleanup_close_ int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	volatile char page[4096];
	uint64_t e = 0;

	page[0] = 1;
	if (fd < 0 || pread(fd, &e, 8, ((uintptr_t)page / 4096) * 8) != 8) {
		snprintf(d, n, "/proc/self/pagemap unreadable");
		return false;
	}
	snprintf(d, n, "present bit %s", (e >> 63) ? "reported" : "missing");
	return e >> 63;
}

static bool probe_mm_map(char *d, size_t n)
{
	unsigned int size = 0;
	bool ok = prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0) == 0 && size > 0;

	snprintf(d, n, ok ? "struct prctl_mm_map is %u bytes" : "PR_SET_MM_MAP unavailable", size);
	return ok;
}

static bool probe_cgroup(char *d, size_t n)
{
	struct cgroup cg;
	int r = cgroup_create("probe", &cg);

	if (r < 0) {
		snprintf(d, n, "no cgroup freezer: %s", strerror(-r));
		return false;
	}
	snprintf(d, n, "%s freezer at %s", cg.v1 ? "v1" : "cgroup2", cg.dir);
	cgroup_remove(&cg);
	return true;
}

static bool probe_timens(char *d, size_t n)
{
	struct stat st;
	bool ok = stat("/proc/self/ns/time", &st) == 0;

	snprintf(d, n, ok ? "time namespaces available" : "no time namespaces");
	return ok;
}

int kerndat_check(struct kerndat_feature *ret, size_t max)
{
	static const struct { const char *name; probe_fn fn; } probes[] = {
		{ "pid_mount_namespaces", probe_pidns }, { "clone3_set_tid", probe_set_tid },
		{ "ptrace_rseq_config", probe_rseq }, { "xstate", probe_xstate },
		{ "process_vm_rw", probe_vm_rw }, { "pagemap", probe_pagemap },
		{ "prctl_set_mm_map", probe_mm_map }, { "cgroup_freezer", probe_cgroup },
		{ "time_namespace", probe_timens },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(probes) && i < max; i++) {
		ret[i].name = probes[i].name;
		ret[i].detail[0] = 0;
		ret[i].ok = probes[i].fn(ret[i].detail, sizeof(ret[i].detail));
	}
	return (int)i;
}
