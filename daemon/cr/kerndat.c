// SPDX-License-Identifier: GPL-2.0-or-later
/* What this kernel offers for C/R, probed by trying it (never by version).
 * Probes that need a process fork one; every probe child dies with us
 * (PR_SET_PDEATHSIG), is bounded in time and is killed and reaped on every
 * path before its probe returns. */
#include "kerndat.h"
#include "arch.h"
#include "cgroup.h"
#include "macro.h"
#include "proc.h"
#include <fcntl.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* PAGEMAP_SCAN (Linux 6.7) postdates Debian 12's uapi headers. */
#ifndef PAGEMAP_SCAN
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct page_region {
	uint64_t start, end, categories;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_PRESENT (1 << 3)
#endif

#define CHILD_TIMEOUT_MS 5000
#define FREEZE_TIMEOUT_MS 2000

struct ptrace_rseq_configuration {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size, signature, flags, pad;
};

static bool fail(char *d, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *d, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d, n, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- probe children ---- */

/* Waits for a child at most timeout_ms, then kills it; always reaps it.
 * Returns its wait status. */
static int child_reap(pid_t pid, int pidfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	int st = 0;

	if (pidfd < 0 || poll(&pfd, 1, timeout_ms) <= 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	return st;
}

static int exit_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* clone3 with args; in the child run fn and exit with its result (0 = ok,
 * else an errno). Returns the child's exit code, or -errno if clone3 failed. */
static int run_child(struct clone_args *args, int (*fn)(void *), void *arg)
{
	int pidfd = -1, st;
	long pid;

	args->flags |= CLONE_PIDFD;
	args->pidfd = (uint64_t)(uintptr_t)&pidfd;
	args->exit_signal = SIGCHLD;
	pid = syscall(SYS_clone3, args, sizeof(*args));
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn(arg) & 0xff);
	}
	st = child_reap(pid, pidfd, CHILD_TIMEOUT_MS);
	if (pidfd >= 0)
		close(pidfd);
	return exit_code(st);
}

/* A forked child stopped under PTRACE_SEIZE; -errno on failure (nothing left). */
static pid_t seized_child(void)
{
	pid_t p = fork();
	int st, r;

	if (p < 0)
		return -errno;
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	if (ptrace(PTRACE_SEIZE, p, 0, 0) < 0 || ptrace(PTRACE_INTERRUPT, p, 0, 0) < 0 ||
	    waitpid(p, &st, __WALL) != p) {
		r = -errno;
		kill(p, SIGKILL);
		waitpid(p, &st, __WALL);
		return r;
	}
	return p;
}

static void kill_child(pid_t p)
{
	int st;

	kill(p, SIGKILL);
	while (waitpid(p, &st, __WALL) < 0 && errno == EINTR)
		;
}

/* ---- namespaces and clone3 ---- */

static int child_is_pid1(void *arg)
{
	return getpid() == 1 ? 0 : EPROTO;
}

static bool probe_pidns(char *d, size_t n)
{
	struct clone_args a = { .flags = CLONE_NEWPID };
	struct stat st;
	int r;

	if (stat("/proc/self/ns/pid", &st) < 0)
		return fail(d, n, "/proc/self/ns/pid: %m");
	r = run_child(&a, child_is_pid1, NULL);
	if (r != 0)
		return fail(d, n, "child in a new pid namespace: %s", strerror(r < 0 ? -r : r));
	snprintf(d, n, "a child in a new pid namespace is its pid 1");
	return true;
}

static int child_other_mntns(void *arg)
{
	struct stat st;

	if (stat("/proc/self/ns/mnt", &st) < 0)
		return errno;
	return st.st_ino != *(ino_t *)arg ? 0 : EPROTO;
}

static bool probe_mntns(char *d, size_t n)
{
	struct clone_args a = { .flags = CLONE_NEWNS };
	struct stat st;
	int r;

	if (stat("/proc/self/ns/mnt", &st) < 0)
		return fail(d, n, "/proc/self/ns/mnt: %m");
	r = run_child(&a, child_other_mntns, &st.st_ino);
	if (r != 0)
		return fail(d, n, "child in a new mount namespace: %s", strerror(r < 0 ? -r : r));
	snprintf(d, n, "a child gets a mount namespace of its own");
	return true;
}

static bool probe_set_tid(char *d, size_t n)
{
	pid_t tid = 1;
	struct clone_args a = { .flags = CLONE_NEWPID, .set_tid = (uint64_t)(uintptr_t)&tid,
				.set_tid_size = 1 };
	int r = run_child(&a, child_is_pid1, NULL);

	if (r == -ENOSYS)
		return fail(d, n, "no clone3()");
	if (r < 0)
		return fail(d, n, "clone3(set_tid): %s", strerror(-r));
	if (r != 0)
		return fail(d, n, "clone3(set_tid=[1]) child: %s", strerror(r));
	snprintf(d, n, "clone3() creates tasks at chosen pids");
	return true;
}

static int child_new_timens(void *arg)
{
	struct stat a, b;

	if (unshare(CLONE_NEWTIME) < 0)
		return errno;
	if (stat("/proc/self/ns/time", &a) < 0 || stat("/proc/self/ns/time_for_children", &b) < 0)
		return errno;
	return a.st_ino != b.st_ino ? 0 : EPROTO;
}

static bool probe_timens(char *d, size_t n)
{
	struct clone_args a = { 0 };
	struct stat st;
	int r;

	if (stat("/proc/self/ns/time", &st) < 0)
		return fail(d, n, "/proc/self/ns/time: %m");
	r = run_child(&a, child_new_timens, NULL);
	if (r != 0)
		return fail(d, n, "unshare(CLONE_NEWTIME): %s", strerror(r < 0 ? -r : r));
	snprintf(d, n, "time namespaces can be created");
	return true;
}

/* ---- ptrace ---- */

static bool probe_rseq(char *d, size_t n)
{
	struct ptrace_rseq_configuration rc = { 0 };
	pid_t p = seized_child();
	long r;

	if (p < 0)
		return fail(d, n, "PTRACE_SEIZE: %s", strerror(-p));
	r = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, p, (void *)sizeof(rc), &rc);
	if (r < 0)
		snprintf(d, n, "PTRACE_GET_RSEQ_CONFIGURATION: %m");
	kill_child(p);
	if (r < 0)
		return false;
	if (r != sizeof(rc))
		return fail(d, n, "PTRACE_GET_RSEQ_CONFIGURATION answered %ld bytes", r);
	if (rc.rseq_abi_pointer)
		snprintf(d, n, "rseq registration readable (size %u, signature %#x)", rc.rseq_abi_size,
			 rc.signature);
	else
		snprintf(d, n, "readable; this libc registers no rseq");
	return true;
}

static bool probe_xstate(char *d, size_t n)
{
	_cleanup_free_ unsigned char *buf = malloc(ARCH_XSTATE_MAX);
	uint64_t xcr0, saved;
	uint32_t size;
	size_t len = 0;
	pid_t p;
	int r;

	if (!buf)
		return fail(d, n, "out of memory");
	r = arch_xstate_info(&xcr0, &size);
	if (r < 0)
		return fail(d, n, "no XSAVE: %s", strerror(-r));
	p = seized_child();
	if (p < 0)
		return fail(d, n, "PTRACE_SEIZE: %s", strerror(-p));
	r = arch_get_xstate(p, buf, ARCH_XSTATE_MAX, &len);
	kill_child(p);
	if (r < 0)
		return fail(d, n, "PTRACE_GETREGSET(xstate): %s", strerror(-r));
	saved = arch_xstate_features(buf, len);
	if (saved != xcr0)
		return fail(d, n, "xstate holds features %#llx, the CPU enables %#llx",
			    (unsigned long long)saved, (unsigned long long)xcr0);
	snprintf(d, n, "features %#llx, %zu bytes per task", (unsigned long long)xcr0, len);
	return true;
}

/* ---- memory ---- */

static volatile uint64_t vm_cookie;

static bool probe_vm_rw(char *d, size_t n)
{
	uint64_t got = 0, put = 0x5eedf00dcafe0002ull;
	struct iovec l = { &got, sizeof(got) }, r = { (void *)&vm_cookie, sizeof(vm_cookie) };
	bool ok = false;
	pid_t p;

	vm_cookie = 0x5eedf00dcafe0001ull;
	p = seized_child();   /* stopped: nothing runs while we look */
	if (p < 0)
		return fail(d, n, "fork: %s", strerror(-p));
	if (process_vm_readv(p, &l, 1, &r, 1, 0) != sizeof(got))
		snprintf(d, n, "process_vm_readv: %m");
	else if (got != vm_cookie)
		snprintf(d, n, "process_vm_readv read the wrong bytes");
	else if (l.iov_base = &put, process_vm_writev(p, &l, 1, &r, 1, 0) != sizeof(put))
		snprintf(d, n, "process_vm_writev: %m");
	else if (l.iov_base = &got, process_vm_readv(p, &l, 1, &r, 1, 0) != sizeof(got) || got != put)
		snprintf(d, n, "process_vm_writev did not reach the child");
	else
		ok = true;
	kill_child(p);
	if (ok)
		snprintf(d, n, "another process's memory can be read and written");
	return ok;
}

static bool probe_pagemap(char *d, size_t n)
{
	_cleanup_close_ int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t e[2] = { 0 };
	char *m;
	bool ok;

	if (fd < 0)
		return fail(d, n, "/proc/self/pagemap: %m");
	m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return fail(d, n, "mmap: %m");
	*(volatile char *)m = 1;   /* the first page present, the second never touched */
	ok = pread(fd, e, sizeof(e), (uintptr_t)m / page * 8) == sizeof(e);
	munmap(m, 2 * page);
	if (!ok)
		return fail(d, n, "reading /proc/self/pagemap: %m");
	if (!(e[0] >> 63) || (e[1] >> 63))
		return fail(d, n, "present bit wrong (%#llx, %#llx)", (unsigned long long)e[0],
			    (unsigned long long)e[1]);
	snprintf(d, n, "present bit reported; PFNs %s", e[0] & ((1ull << 55) - 1) ? "visible" : "hidden");
	return true;
}

static bool probe_pagemap_scan(char *d, size_t n)
{
	_cleanup_close_ int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long page = sysconf(_SC_PAGESIZE);
	struct page_region rg[4] = { 0 };
	struct pm_scan_arg a = { 0 };
	char *m;
	int r;

	if (fd < 0)
		return fail(d, n, "/proc/self/pagemap: %m");
	m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return fail(d, n, "mmap: %m");
	m[0] = 1;
	m[2 * page] = 1;
	a.size = sizeof(a);
	a.start = (uintptr_t)m;
	a.end = (uintptr_t)m + 4 * page;
	a.vec = (uintptr_t)rg;
	a.vec_len = ARRAY_SIZE(rg);
	a.category_mask = a.return_mask = PAGE_IS_PRESENT;
	r = ioctl(fd, PAGEMAP_SCAN, &a);
	if (r < 0)
		snprintf(d, n, "ioctl(PAGEMAP_SCAN): %m (pagemap reads still work)");
	else if (r != 2 || rg[0].start != (uintptr_t)m || rg[0].end != (uintptr_t)m + page ||
		 rg[1].start != (uintptr_t)m + 2 * page || rg[1].end != (uintptr_t)m + 3 * page)
		snprintf(d, n, "PAGEMAP_SCAN answered %d wrong regions", r);
	else
		snprintf(d, n, "present pages come as ranges");
	munmap(m, 4 * page);
	return r == 2 && rg[1].end == (uintptr_t)m + 3 * page;
}

static bool probe_userfaultfd(char *d, size_t n)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (fd < 0 && errno == EINVAL)   /* kernels before 5.11 know no mode flag */
		fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail(d, n, "userfaultfd: %m");
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		snprintf(d, n, "UFFDIO_API: %m");
		close(fd);
		return false;
	}
	close(fd);
	snprintf(d, n, "features %#llx", (unsigned long long)api.features);
	return true;
}

/* PR_SET_MM_MAP, applied unchanged in a child (it needs CAP_SYS_RESOURCE). */
static int child_mm_map(void *arg)
{
	struct prctl_mm_map m = { .exe_fd = (uint32_t)-1 };
	struct proc_stat ps;

	if (proc_stat_pid(getpid(), &ps) < 0)
		return EIO;
	m.start_code = ps.start_code;
	m.end_code = ps.end_code;
	m.start_data = ps.start_data;
	m.end_data = ps.end_data;
	m.start_brk = ps.start_brk;
	m.brk = (uintptr_t)sbrk(0);
	m.start_stack = ps.start_stack;
	m.arg_start = ps.arg_start;
	m.arg_end = ps.arg_end;
	m.env_start = ps.env_start;
	m.env_end = ps.env_end;
	return prctl(PR_SET_MM, PR_SET_MM_MAP, &m, sizeof(m), 0) < 0 ? errno : 0;
}

static bool probe_mm_map(char *d, size_t n)
{
	struct clone_args a = { 0 };
	unsigned int size = 0;
	int r;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0) < 0)
		return fail(d, n, "PR_SET_MM_MAP_SIZE: %m");
	if (size != sizeof(struct prctl_mm_map))
		return fail(d, n, "struct prctl_mm_map is %u bytes, we know %zu", size,
			    sizeof(struct prctl_mm_map));
	r = run_child(&a, child_mm_map, NULL);
	if (r != 0)
		return fail(d, n, "PR_SET_MM_MAP: %s", strerror(r < 0 ? -r : r));
	snprintf(d, n, "brk, code/data/stack/arg/env bounds can be set (%u bytes)", size);
	return true;
}

/* ---- cgroup freezers ---- */

static int child_pause(void *arg)
{
	for (;;)
		pause();
	return 0;
}

/* A real freeze of a real member: create <our cgroup>/ckptd.probe-<pid> (the
 * '.' keeps it apart from every container's "ckptd-<name>"), put a child in
 * (clone3 CLONE_INTO_CGROUP on v2, as containers start), freeze, thaw, kill,
 * remove. */
static bool probe_freezer(bool v1, char *d, size_t n)
{
	struct cgroup cg = { .v1 = v1 };
	char base[PATH_MAX - 64];
	_cleanup_close_ int cgfd = -1;
	struct clone_args a = { 0 };
	int r, pidfd = -1;
	long pid;

	r = cgroup_base_dir(-1, -1, v1, base, sizeof(base));
	if (r < 0)
		return fail(d, n, "no %s hierarchy: %s", v1 ? "v1 freezer" : "cgroup2", strerror(-r));
	snprintf(cg.dir, sizeof(cg.dir), "%s/ckptd.probe-%d", base, getpid());
	if (mkdir(cg.dir, 0755) < 0 && errno != EEXIST)
		return fail(d, n, "mkdir %s: %m", cg.dir);
	if (!v1) {
		cgfd = cgroup_open(&cg);
		if (cgfd < 0) {
			rmdir(cg.dir);
			return fail(d, n, "open %s: %s", cg.dir, strerror(-cgfd));
		}
		a.flags = CLONE_INTO_CGROUP;
		a.cgroup = cgfd;
	}
	a.flags |= CLONE_PIDFD;
	a.pidfd = (uint64_t)(uintptr_t)&pidfd;
	a.exit_signal = SIGCHLD;
	pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(child_pause(NULL));
	}
	if (pid < 0) {
		snprintf(d, n, "clone3%s: %m", v1 ? "" : "(CLONE_INTO_CGROUP)");
		rmdir(cg.dir);
		return false;
	}
	r = v1 ? cgroup_attach(&cg, pid) : 0;
	if (r >= 0)
		r = cgroup_freeze(&cg, FREEZE_TIMEOUT_MS);
	if (r >= 0)
		r = cgroup_thaw(&cg);
	cgroup_kill(&cg);
	child_reap(pid, pidfd, 0);
	close(pidfd);
	cgroup_remove(&cg);
	if (r < 0)
		return fail(d, n, "freezing a child in %s: %s", cg.dir, strerror(-r));
	snprintf(d, n, "%s under %s", v1 ? "freezer.state" : "cgroup.freeze", base);
	return true;
}

static bool probe_cgroup2(char *d, size_t n)
{
	return probe_freezer(false, d, n);
}

static bool probe_cgroup1(char *d, size_t n)
{
	return probe_freezer(true, d, n);
}

int kerndat_check(struct kerndat_feature *ret, size_t max)
{
	static const struct {
		const char *name;
		bool (*fn)(char *detail, size_t len);
	} probes[] = {
		{ "pid_namespace", probe_pidns },
		{ "mount_namespace", probe_mntns },
		{ "clone3_set_tid", probe_set_tid },
		{ "ptrace_rseq_config", probe_rseq },
		{ "xstate", probe_xstate },
		{ "process_vm_rw", probe_vm_rw },
		{ "pagemap", probe_pagemap },
		{ "pagemap_scan", probe_pagemap_scan },
		{ "prctl_set_mm_map", probe_mm_map },
		{ "cgroup2_freezer", probe_cgroup2 },
		{ "cgroup1_freezer", probe_cgroup1 },
		{ "userfaultfd", probe_userfaultfd },
		{ "time_namespace", probe_timens },
	};
	size_t i;

	if (!ret && max)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(probes) && i < max; i++) {
		ret[i].name = probes[i].name;
		ret[i].detail[0] = 0;
		ret[i].ok = probes[i].fn(ret[i].detail, sizeof(ret[i].detail));
	}
	return (int)i;
}
