// SPDX-License-Identifier: GPL-2.0-or-later
/* The container init, pid 1 of the container's pid namespace.
 *
 * It is ckptd code running in the child of clone3(CLONE_NEWPID|CLONE_NEWNS|
 * CLONE_NEWUTS|CLONE_NEWIPC, and CLONE_NEWUSER with --userns: then it is
 * root of that user namespace, which owns the others, once ckptd wrote
 * its maps); it makes the container's time namespace (ns.c) and lives
 * in it, like every task of the container, and its mounts (rootfs.c). It keeps
 * every capability (the workload can't ptrace it: it has fewer); the
 * workload it forks gets the container's set, and restored tasks the
 * image's credentials, checked against that set.
 * As in the seed patch, init is the container's agent and never part of an
 * image: for `run` it forks the workload (pid 2); for `restart` it serves
 * the restart worker's spawn requests, so restored tasks are its children.
 * Either way it reaps everything and exits once it has no child left and its
 * control socket is closed, with the last reaped child's status. */
#include "init.h"
#include "log.h"
#include "macro.h"
#include "ns.h"
#include "rootfs.h"
#include "spawn.h"
#include "userns.h"
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* Where init keeps its fds; 0-2 are /dev/null. */
enum { INIT_LOG_FD = 3, INIT_CTL_FD = 4, INIT_READY_FD = 5, INIT_SIG_FD = 6 };

static char *const init_default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/",
	"TERM=dumb",
	NULL,
};

static char *const init_console_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/",
	"TERM=xterm",
	NULL,
};

/* Errors of init go to the container log: nobody else would see them. */
static void init_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void init_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "ckptd-init: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	dprintf(INIT_LOG_FD, "%s\n", line);
}

static _Noreturn void init_die(const char *what)
{
	init_log("%s: %m", what);
	_exit(125);
}

/* Copy fd far above the fixed numbers, so installing one of them can't
 * clobber a source still needed. */
static int init_lift(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 100);
}

static void init_place(int fd, int target)
{
	if (fd >= 0 && dup3(fd, target, O_CLOEXEC) < 0)
		_exit(125);
}

static void init_setup_fds(int log_fd, int ctl_fd, int ready_fd)
{
	int null_fd, i;

	log_fd = init_lift(log_fd);
	ctl_fd = init_lift(ctl_fd);
	ready_fd = init_lift(ready_fd);
	null_fd = init_lift(open("/dev/null", O_RDWR | O_CLOEXEC));
	if (log_fd < 0 || null_fd < 0)
		_exit(125);
	for (i = 0; i < 3; i++)
		if (dup2(null_fd, i) < 0)
			_exit(125);
	init_place(log_fd, INIT_LOG_FD);
	init_place(ctl_fd, INIT_CTL_FD);
	init_place(ready_fd, INIT_READY_FD);
	/* Everything else is ckptd's: listening socket, clients, other
	 * containers, and the lifted copies. */
	syscall(SYS_close_range, INIT_SIG_FD, ~0u, 0);
	if (ctl_fd < 0)
		close(INIT_CTL_FD);
	if (ready_fd < 0)
		close(INIT_READY_FD);
}

static void init_setup_signals(void)
{
	sigset_t mask;
	int sig, fd;

	/* ckptd's dispositions (ignored SIGPIPE, libevent handlers) are not ours. */
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_SETMASK, &mask, NULL) < 0)
		init_die("sigprocmask");
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		init_die("signalfd");
	if (fd != INIT_SIG_FD) {
		if (dup3(fd, INIT_SIG_FD, O_CLOEXEC) < 0)
			init_die("dup3 signalfd");
		close(fd);
	}
}

static void init_setup_mounts(const struct rootfs_config *fs)
{
	const char *what = "setting up its mounts";
	int r = rootfs_setup(fs, &what);

	if (r < 0) {
		errno = -r;
		init_die(what);
	}
}

/* 0-2 again from the container's /dev/null: the host's, opened before a
 * pivot_root, would have no path a restart can reopen. */
static void init_reopen_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC), i;

	if (fd < 0)
		init_die("opening /dev/null");
	for (i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			init_die("placing /dev/null");
	close(fd);
}

/* The workload's credentials: the container's capability set bounds it
 * (and whatever it execs); with --user it is that user, with no
 * capability. Done before exec, so exec computes its sets from these. */
static void init_drop_privileges(const struct cr_contain *k)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	unsigned cap;

	if (syscall(SYS_capget, &hdr, data) < 0)
		_exit(126);
	for (cap = 0; cap < 64; cap++)
		if (!(k->caps & (1ull << cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			_exit(126);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	data[0].inheritable &= (uint32_t)k->caps;
	data[1].inheritable &= (uint32_t)(k->caps >> 32);
	data[0].permitted &= (uint32_t)k->caps;
	data[1].permitted &= (uint32_t)(k->caps >> 32);
	data[0].effective &= data[0].permitted;
	data[1].effective &= data[1].permitted;
	if (k->has_user) {
		/* the ids are changed with SETGID and SETUID, whatever the set */
		uint32_t ids = (1u << CAP_SETGID) | (1u << CAP_SETUID);

		data[0].permitted |= ids;
		data[0].effective |= ids;
		data[0].inheritable = data[1].inheritable = 0;
		if (syscall(SYS_capset, &hdr, data) < 0 || setgroups(k->ngroups, (const gid_t *)k->groups) < 0 ||
		    setresgid(k->gid, k->gid, k->gid) < 0 || setresuid(k->uid, k->uid, k->uid) < 0)
			_exit(126);
		/* no capability at all (a member's container): a set-user-ID
		 * program must not make it root on the host's files either */
		if (!k->caps && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(126);
		return;   /* setresuid away from 0 cleared the rest */
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		_exit(126);
}

/* The console: a pty of the container's own devpts (index 0: the first),
 * unlocked, its master at INIT_CONSOLE_FD. */
static void init_make_console(const struct init_run *run)
{
	int unlock = 0, fd = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 || ioctl(fd, TIOCSPTLCK, &unlock) < 0)
		init_die("making the console pty");
	if (run && run->rows && run->cols) {
		struct winsize ws = { .ws_row = run->rows, .ws_col = run->cols };

		ioctl(fd, TIOCSWINSZ, &ws);
	}
	if (fd != INIT_CONSOLE_FD) {
		if (dup3(fd, INIT_CONSOLE_FD, O_CLOEXEC) < 0)
			init_die("placing the console pty");
		close(fd);
	}
}

/* The workload in a session of its own, the console's slave its
 * controlling terminal (opened as a session leader) and its stdio. */
static void init_attach_console(void)
{
	char path[32];
	unsigned idx;
	int fd;

	if (setsid() < 0 || ioctl(INIT_CONSOLE_FD, TIOCGPTN, &idx) < 0)
		_exit(127);
	snprintf(path, sizeof(path), "/dev/pts/%u", idx);
	fd = open(path, O_RDWR);
	if (fd < 0 || ioctl(fd, TIOCSCTTY, 0) < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
		dprintf(INIT_LOG_FD, "ckptd-init: the console %s: %m\n", path);
		_exit(127);
	}
}

static _Noreturn void init_exec_workload(const struct init_run *run, const struct cr_contain *k, bool console)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (console)
		init_attach_console();
	else if (dup2(INIT_LOG_FD, 1) < 0 || dup2(INIT_LOG_FD, 2) < 0)
		_exit(127);
	if (!k->privileged || k->has_user)
		init_drop_privileges(k);
	if (chdir(run->cwd ? run->cwd : "/") < 0) {
		dprintf(2, "ckptd-init: chdir %s: %m\n", run->cwd);
		_exit(127);
	}
	syscall(SYS_close_range, 3, ~0u, 0);
	environ = (char **)(run->envp ? run->envp : console ? init_console_env : init_default_env);
	execvp(run->argv[0], run->argv);
	dprintf(2, "ckptd-init: exec %s: %m\n", run->argv[0]);
	_exit(127);
}

static int init_status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 0;
}

/* Reap every child (orphans of the namespace land here too); true once none is left. */
static bool init_reap(int *last)
{
	int st;

	for (;;) {
		pid_t p = waitpid(-1, &st, WNOHANG | __WALL);   /* any exit signal */

		if (p > 0) {
			*last = init_status_code(st);
			continue;
		}
		return p < 0 && errno == ECHILD;
	}
}

static const struct spawn_ns_ops init_ns_ops = {
	.setup = ns_setup,
	.sem_create = ns_sem_create,
};

static _Noreturn void init_loop(bool have_ctl)
{
	bool ctl_open = have_ctl;
	int last = 0;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = INIT_SIG_FD, .events = POLLIN },
			{ .fd = ctl_open ? INIT_CTL_FD : -1, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (init_reap(&last) && !ctl_open)
			_exit(last);
		if (poll(pfd, 2, -1) < 0) {
			if (errno != EINTR)
				init_die("poll");
			continue;
		}
		while (read(INIT_SIG_FD, &si, sizeof(si)) == sizeof(si))
			;
		if (!ctl_open || !(pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		int r = spawn_serve_one(INIT_CTL_FD, &init_ns_ops);
		if (r == 1 || (r < 0 && !(pfd[1].revents & POLLIN))) {
			close(INIT_CTL_FD);
			ctl_open = false;
		} else if (r < 0) {
			errno = -r;
			init_log("serving a spawn request: %m");
		}
	}
}

_Noreturn void init_main(int log_fd, int ctl_fd, int sync_fd, int ready_fd, bool console, const struct init_run *run,
			 const struct rootfs_config *fs)
{
	char c;

	/* cgroup v1: ckptd moves us into the container's cgroup by pid; with
	 * --userns it writes our user namespace's maps; then it closes its
	 * end: nothing may run before that. */
	if (sync_fd >= 0) {
		while (read(sync_fd, &c, 1) < 0 && errno == EINTR)
			;
		close(sync_fd);
	}
	/* ckptd wrote the maps before it let us go. Our uid changed, which
	 * left us not dumpable: our /proc files would be the host root's,
	 * out of reach of the namespace's root (time offsets, ...). */
	if (fs->contain->userns && (userns_become_root() < 0 || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0))
		_exit(125);
	init_setup_fds(log_fd, ctl_fd, ready_fd);
	init_setup_signals();
	init_setup_mounts(fs);
	init_reopen_null();
	if (setsid() < 0)
		init_die("setsid");
	if (console)
		init_make_console(run);
	prctl(PR_SET_NAME, "ckptd-init", 0, 0, 0);
	if (run) {
		struct cr_ns_config ns = { .domainname = "(none)" };
		pid_t pid;
		int r;

		snprintf(ns.nodename, sizeof(ns.nodename), "%s", run->hostname);
		r = ns_setup(&ns);
		if (r < 0) {
			errno = -r;
			init_die("setting up the hostname and time namespace");
		}
		pid = fork();

		if (pid < 0)
			init_die("fork");
		if (pid == 0)
			init_exec_workload(run, fs->contain, console);
	}
	/* ckptd waits for this EOF: the workload exists (run) or we serve (restart). */
	close(INIT_READY_FD);
	init_loop(ctl_fd >= 0);
}
