// SPDX-License-Identifier: GPL-2.0-or-later
/* Event and notification fds: eventfd, timerfd, signalfd and epoll. Their
 * whole state shows in fdinfo; restart makes each anew in the worker (into
 * the pool, like any file) and gives it that state back. */
#include "restore.h"
#include "validate.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

#define NSEC 1000000000ull
#define PROC_SUPER_MAGIC 0x9fa0

static const struct {
	const char *link;
	Ckpt__Img__FileKind kind;
} kinds[] = {
	{ "anon_inode:[eventfd]", CKPT__IMG__FILE_KIND__FILE_EVENTFD },
	{ "anon_inode:[timerfd]", CKPT__IMG__FILE_KIND__FILE_TIMERFD },
	{ "anon_inode:[signalfd]", CKPT__IMG__FILE_KIND__FILE_SIGNALFD },
	{ "anon_inode:[eventpoll]", CKPT__IMG__FILE_KIND__FILE_EPOLL },
};

bool evfd_classify(const char *link, Ckpt__Img__File *f)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (streq(link, kinds[i].link)) {
			f->kind = kinds[i].kind;
			return true;
		}
	return false;
}

bool evfd_kind(Ckpt__Img__FileKind kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return true;
	return false;
}

/* One "tfd:" line of an epoll's fdinfo (fs/eventpoll.c ep_show_fdinfo). */
struct epoll_line {
	int tfd;
	uint32_t events;
	uint64_t data;
	unsigned long ino;
	unsigned sdev;   /* the kernel's dev_t: major << 20 | minor */
};

static bool parse_epoll_line(const char *line, struct epoll_line *ret)
{
	return sscanf(line, "tfd: %d events: %x data: %" SCNx64 " pos:%*d ino:%lx sdev:%x",
		      &ret->tfd, &ret->events, &ret->data, &ret->ino, &ret->sdev) == 5 && ret->tfd >= 0;
}

/* Bits epoll keeps of an entry once an EPOLLONESHOT fired (EP_PRIVATE_BITS). */
#define EPOLL_PRIVATE (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)

/* A one-shot entry that fired and was not re-armed: no event bits left. */
static bool disarmed(uint32_t events)
{
	return (events & EPOLLONESHOT) && !(events & ~EPOLL_PRIVATE);
}

/* ---- checkpoint ---- */

static int fail_fd(struct dump_ctx *ctx, int fd, const char *link, const char *why)
{
	char obj[64];

	snprintf(obj, sizeof(obj), "fd %d (%s)", fd, link);
	return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, obj, "%s", why);
}

static int dump_eventfd(struct dump_ctx *ctx, int fd, char *buf, Ckpt__Img__File *f)
{
	char *line, *save = NULL;
	int sem;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "eventfd-count: %" SCNx64, &f->efd_count) == 1)
			f->has_efd_count = true;
		else if (sscanf(line, "eventfd-semaphore: %d", &sem) == 1)
			f->has_efd_semaphore = true, f->efd_semaphore = sem != 0;
	}
	if (!f->has_efd_count || !f->has_efd_semaphore)
		return fail_fd(ctx, fd, kinds[0].link, "this kernel does not show its count and mode");
	return 0;
}

static int timespec_ns(unsigned long long s, unsigned long long ns, uint64_t *ret)
{
	if (s >= CR_TIMER_MAX_NS / NSEC || ns >= NSEC)
		return -ERANGE;
	*ret = s * NSEC + ns;
	return 0;
}

/* The remaining time is relative; a CLOCK_REALTIME deadline set with
 * TFD_TIMER_ABSTIME stays that absolute time (the clock may be set, or
 * the restart happen much later). */
static int dump_timerfd(struct dump_ctx *ctx, int fd, char *buf, Ckpt__Img__File *f)
{
	unsigned long long vs = 0, vns = 0, is = 0, ins = 0;
	unsigned seen = 0, fl;
	char *line, *save = NULL;
	struct timespec now;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "clockid: %d", &f->tfd_clockid) == 1)
			seen |= 1;
		else if (sscanf(line, "ticks: %" SCNu64, &f->tfd_ticks) == 1)
			seen |= 2;
		else if (sscanf(line, "settime flags: %o", &fl) == 1)
			seen |= 4, f->tfd_settime_flags = fl;
		else if (sscanf(line, "it_value: (%llu, %llu)", &vs, &vns) == 2)
			seen |= 8;
		else if (sscanf(line, "it_interval: (%llu, %llu)", &is, &ins) == 2)
			seen |= 16;
	}
	if (seen != 31)
		return fail_fd(ctx, fd, kinds[1].link, "its fdinfo lacks the timer's state");
	if (timespec_ns(vs, vns, &f->tfd_value_ns) < 0 || timespec_ns(is, ins, &f->tfd_interval_ns) < 0)
		return fail_fd(ctx, fd, kinds[1].link, "a timer more than 146 years away");
	f->has_tfd_clockid = f->has_tfd_ticks = f->has_tfd_settime_flags = true;
	f->has_tfd_value_ns = f->has_tfd_interval_ns = true;
	if ((f->tfd_settime_flags & TFD_TIMER_ABSTIME) && validate_timer_armed(f) &&
	    (f->tfd_clockid == CLOCK_REALTIME || f->tfd_clockid == CLOCK_REALTIME_ALARM)) {
		if (clock_gettime(CLOCK_REALTIME, &now) < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "clock_gettime");
		f->has_tfd_deadline_ns = true;
		f->tfd_deadline_ns = now.tv_sec * (int64_t)NSEC + now.tv_nsec + f->tfd_value_ns;
	}
	return 0;
}

static int dump_signalfd(struct dump_ctx *ctx, int fd, char *buf, Ckpt__Img__File *f)
{
	char *line, *save = NULL;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "sigmask: %" SCNx64, &f->sfd_sigmask) == 1)
			f->has_sfd_sigmask = true;
	return f->has_sfd_sigmask ? 0 : fail_fd(ctx, fd, kinds[2].link, "its fdinfo lacks the signal mask");
}

/* Restart can make a disarmed one-shot entry exactly only by firing it
 * (add_disarmed): its file must be ready for something, unless it is a
 * kind that never reports EPOLLERR or EPOLLHUP, which EPOLL_CTL_ADD adds. */
static int check_disarmed(struct dump_ctx *ctx, pid_t pid, int fd, int tfd)
{
	Ckpt__Img__File tf = CKPT__IMG__FILE__INIT;
	struct pollfd pfd = { .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP };
	_cleanup_close_ int pidfd = -1;
	char path[64], link[64] = "";
	char why[200];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, tfd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0 && evfd_classify((link[n] = 0, link), &tf))
		return 0;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	pfd.fd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, tfd, 0);
	if (pfd.fd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: fd %d: its epoll target fd %d", pid, fd, tfd);
	n = poll(&pfd, 1, 0);
	close(pfd.fd);
	if (n > 0 && (pfd.revents & ~(POLLERR | POLLHUP | POLLNVAL)))
		return 0;
	snprintf(why, sizeof(why), "its EPOLLONESHOT target fd %d fired and is not re-armed, and it is not ready "
		 "for anything now: restart could not register it disarmed", tfd);
	return fail_fd(ctx, fd, kinds[3].link, why);
}

/* Files restart opens in their holder once every task exists, after the
 * epolls are made. */
static bool late_target(pid_t pid, int tfd)
{
	char path[64], link[32] = "";
	struct statfs sfs;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, tfd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0 && (link[n] = 0, streq(link, "anon_inode:[pidfd]")))
		return true;
	return statfs(path, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

/* The target is registered under (file, fd number): the number is the one
 * the registering process had, and the one it will use for EPOLL_CTL_MOD
 * and _DEL. Only a file still at that number in this process can be
 * registered again the same way (KCMP_EPOLL_TFD says whether it is: toff
 * picks among entries with the same number, in fdinfo order). */
static int dump_target(struct dump_ctx *ctx, pid_t pid, int fd, const struct epoll_line *l, unsigned toff,
		       Ckpt__Img__EpollTarget *t)
{
	struct kcmp_epoll_slot slot = { .efd = fd, .tfd = l->tfd, .toff = toff };
	char why[160], path[64];
	struct stat st;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, l->tfd);
	if (syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, l->tfd, &slot) != 0 || stat(path, &st) < 0 ||
	    st.st_ino != l->ino || major(st.st_dev) != l->sdev >> 20 || minor(st.st_dev) != (l->sdev & 0xfffff)) {
		snprintf(why, sizeof(why), "its target registered as fd %d is no longer open at that number "
			 "(closed or replaced): it could not be registered again", l->tfd);
		return fail_fd(ctx, fd, kinds[3].link, why);
	}
	if (late_target(pid, l->tfd)) {
		snprintf(why, sizeof(why), "its target fd %d is a pidfd or a /proc file: epoll targets that are not "
			 "supported yet", l->tfd);
		return fail_fd(ctx, fd, kinds[3].link, why);
	}
	if (disarmed(l->events)) {
		r = check_disarmed(ctx, pid, fd, l->tfd);
		if (r < 0)
			return r;
	}
	ckpt__img__epoll_target__init(t);
	t->tfd = l->tfd;
	t->events = l->events;
	t->data = l->data;
	r = files_dump_target(ctx, pid, l->tfd, &t->file_id);
	return r < 0 ? r : 0;
}

static int dump_epoll(struct dump_ctx *ctx, pid_t pid, int fd, char *buf, Ckpt__Img__File *f)
{
	struct epoll_line *lines = NULL;
	size_t n = 0, i, j;
	char *line, *save = NULL;
	int r = 0;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct epoll_line l;

		if (strncmp(line, "tfd:", 4) != 0)
			continue;
		if (!parse_epoll_line(line, &l) || n >= CR_EPOLL_MAX_TARGETS) {
			free(lines);
			return fail_fd(ctx, fd, kinds[3].link, n >= CR_EPOLL_MAX_TARGETS ? "too many targets" : "an fdinfo line it cannot read");
		}
		if (n % 64 == 0) {
			struct epoll_line *v = realloc(lines, (n + 64) * sizeof(*v));

			if (!v) {
				free(lines);
				return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "epoll targets");
			}
			lines = v;
		}
		lines[n++] = l;
	}
	f->epoll_targets = calloc(n + 1, sizeof(*f->epoll_targets));
	f->n_epoll_targets = 0;
	if (!f->epoll_targets)
		r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "epoll targets");
	for (i = 0; i < n && r >= 0; i++) {
		Ckpt__Img__EpollTarget *t = malloc(sizeof(*t));
		unsigned toff = 0;

		if (!t) {
			r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "epoll targets");
			break;
		}
		f->epoll_targets[f->n_epoll_targets++] = t;
		for (j = 0; j < i; j++)
			toff += lines[j].tfd == lines[i].tfd;
		r = dump_target(ctx, pid, fd, &lines[i], toff, t);
	}
	free(lines);
	return r;
}

int evfd_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: fd %d: fdinfo", pid, fd);
	switch (f->kind) {
	case CKPT__IMG__FILE_KIND__FILE_EVENTFD:
		return dump_eventfd(ctx, fd, buf, f);
	case CKPT__IMG__FILE_KIND__FILE_TIMERFD:
		return dump_timerfd(ctx, fd, buf, f);
	case CKPT__IMG__FILE_KIND__FILE_SIGNALFD:
		return dump_signalfd(ctx, fd, buf, f);
	default:
		return dump_epoll(ctx, pid, fd, buf, f);
	}
}

/* The pid in the container of host pid hpid: a process (a zombie too)
 * or, for PIDFD_THREAD, any thread; 0: not in the container. */
static pid_t ns_pid(const struct dump_ctx *ctx, pid_t hpid, bool thread)
{
	for (size_t i = 0; i < ctx->nprocs; i++) {
		const struct dump_proc *p = &ctx->procs[i];

		if (p->pid == hpid)
			return p->nspid;
		for (size_t k = 1; thread && !p->zombie && k < p->ntids; k++)
			if (p->tids[k] == hpid)
				return p->nstids[k];
	}
	return 0;
}

int pidfd_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], why[128], *line, *save = NULL;
	unsigned seen = 0, flags = 0;
	int hpid = 0, r;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: fd %d: fdinfo", pid, fd);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "Pid: %d", &hpid) == 1)
			seen |= 1;
		else if (sscanf(line, "flags: %o", &flags) == 1)
			seen |= 2;
	}
	if (seen != 3)
		return fail_fd(ctx, fd, "anon_inode:[pidfd]", "its fdinfo lacks the pid");
	if (hpid <= 0)
		return fail_fd(ctx, fd, "anon_inode:[pidfd]", "the process it refers to has exited and was reaped");
	f->pidfd_thread = (flags & O_EXCL) != 0;    /* PIDFD_THREAD */
	f->pidfd_pid = ns_pid(ctx, hpid, f->pidfd_thread);
	if (!f->pidfd_pid) {
		snprintf(why, sizeof(why), "it refers to a process outside the container (host pid %d)", hpid);
		return fail_fd(ctx, fd, "anon_inode:[pidfd]", why);
	}
	f->has_pidfd_pid = true;
	f->has_pidfd_thread = f->pidfd_thread;
	return 0;
}

void evfd_dump_free(Ckpt__Img__File *f)
{
	for (size_t i = 0; i < f->n_epoll_targets; i++)
		free(f->epoll_targets[i]);
	free(f->epoll_targets);
	f->epoll_targets = NULL;
	f->n_epoll_targets = 0;
}

/* ---- restart ---- */

static int make_eventfd(const Ckpt__Img__File *f)
{
	_cleanup_close_ int fd = eventfd(0, EFD_CLOEXEC | (f->efd_semaphore ? EFD_SEMAPHORE : 0));

	/* eventfd() takes 32 bits; a write adds all 64 */
	if (fd < 0)
		return -errno;
	if (f->efd_count && write(fd, &f->efd_count, sizeof(f->efd_count)) != sizeof(f->efd_count))
		return -errno;
	return TAKE_FD(fd);
}

static struct timespec ns_ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = ns / NSEC, .tv_nsec = ns % NSEC };
}

/* A period whose expiry waits to be read is due now: it fires at once and
 * goes on with its period. The unread expirations are set last (settime
 * clears them). */
static int make_timerfd(const Ckpt__Img__File *f)
{
	_cleanup_close_ int fd = timerfd_create(f->tfd_clockid, TFD_CLOEXEC);
	struct itimerspec its = { .it_interval = ns_ts(f->tfd_interval_ns) };
	int flags = 0;

	if (fd < 0)
		return -errno;
	if (f->has_tfd_deadline_ns) {
		its.it_value = ns_ts(f->tfd_deadline_ns);
		flags = f->tfd_settime_flags;
	} else if (validate_timer_armed(f)) {
		its.it_value = ns_ts(f->tfd_value_ns ? f->tfd_value_ns : 1);
	}
	if (timerfd_settime(fd, flags, &its, NULL) < 0)
		return -errno;
	if (f->tfd_ticks && ioctl(fd, TFD_IOC_SET_TICKS, &f->tfd_ticks) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static int make_signalfd(const Ckpt__Img__File *f)
{
	uint64_t mask = f->sfd_sigmask;
	int fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask), SFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* EPOLL_CTL_ADD always adds EPOLLERR|EPOLLHUP, so a disarmed entry is
 * made by firing it: registered for what its file is ready for now, then
 * collected by an epoll_wait while no other entry is there to be lost. */
static int add_disarmed(int e, int fd, const Ckpt__Img__EpollTarget *t)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND |
				      POLLWRNORM | POLLWRBAND | POLLMSG };
	struct epoll_event ev = { .data.u64 = t->data };

	if (poll(&pfd, 1, 0) < 0)
		return -1;
	ev.events = t->events | (pfd.revents & ~(POLLERR | POLLHUP | POLLNVAL));
	return epoll_ctl(e, EPOLL_CTL_ADD, t->tfd, &ev);
}

/* In a child of the worker (its own fd table, the same files): put each
 * target at its fd number and register it; the registration outlives the
 * child since the pool keeps the files open. Moving everything above the
 * highest target number first keeps a dup2 from closing a file still
 * needed. Disarmed one-shots go first (add_disarmed). Reports the
 * failing target and errno through rep. */
static void __attribute__((noreturn)) register_child(int epfd, const Ckpt__Img__File *f, int *src, int rep)
{
	size_t i, n = f->n_epoll_targets;
	struct epoll_event evs[64];
	int hi = 0, e, res[2], pass;

	for (i = 0; i < n; i++)
		hi = MAX(hi, (int)f->epoll_targets[i]->tfd);
	e = fcntl(epfd, F_DUPFD, hi + 1);
	for (i = 0; i < n && e >= 0; i++)
		if ((src[i] = fcntl(src[i], F_DUPFD, hi + 1)) < 0)
			goto out;
	for (i = 0; i < n && e >= 0; i++)
		if (dup2(src[i], f->epoll_targets[i]->tfd) < 0)
			goto out;
	for (pass = 0; pass < 2 && e >= 0; pass++) {
		for (i = 0; i < n; i++) {
			const Ckpt__Img__EpollTarget *t = f->epoll_targets[i];
			struct epoll_event ev = { .events = t->events, .data.u64 = t->data };

			if (disarmed(t->events) != !pass)
				continue;
			if ((pass ? epoll_ctl(e, EPOLL_CTL_ADD, t->tfd, &ev) : add_disarmed(e, src[i], t)) < 0)
				goto out;
		}
		while (!pass && epoll_wait(e, evs, 64, 0) > 0)
			;
	}
	if (e >= 0)
		_exit(0);
out:
	res[0] = (int)MIN(i, n - 1);
	res[1] = errno;
	_exit(write(rep, res, sizeof(res)) == sizeof(res) ? 1 : 2);
}

/* What the kernel kept of each registration is what was saved (it would
 * drop EPOLLWAKEUP, say, without CAP_BLOCK_SUSPEND). */
static bool same_entry(struct restore_ctx *ctx, const struct epoll_line *l, const Ckpt__Img__EpollTarget *t)
{
	struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_FILE, t->file_id);

	if (l->data != t->data)
		return false;
	if (l->events == t->events)
		return true;
	/* a disarmed one-shot whose file was not ready to fire it: the
	 * EPOLLERR|EPOLLHUP it got can't happen on these kinds */
	return disarmed(t->events) && l->events == (t->events | EPOLLERR | EPOLLHUP) && o && evfd_kind(o->kind);
}

static int check_registered(struct restore_ctx *ctx, int epfd, const Ckpt__Img__File *f)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *line, *save = NULL;
	size_t len, n = 0, i;
	int r;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "epoll %u: fdinfo", f->id);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct epoll_line l;

		if (strncmp(line, "tfd:", 4) != 0)
			continue;
		n++;
		for (i = 0; i < f->n_epoll_targets; i++)
			if (parse_epoll_line(line, &l) && (uint32_t)l.tfd == f->epoll_targets[i]->tfd)
				break;
		if (i == f->n_epoll_targets || !same_entry(ctx, &l, f->epoll_targets[i]))
			return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "epoll %u: the kernel did not register \"%s\" as saved", f->id, line);
	}
	if (n != f->n_epoll_targets)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "epoll %u: %zu of %zu targets registered", f->id, n, f->n_epoll_targets);
	return 0;
}

static int register_targets(struct restore_ctx *ctx, int epfd, const Ckpt__Img__File *f)
{
	_cleanup_free_ int *src = calloc(f->n_epoll_targets + 1, sizeof(int));
	_cleanup_close_ int rd = -1, wr = -1;
	int p[2], res[2] = { 0, 0 }, st;
	pid_t pid;
	size_t i;

	if (!src)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "epoll %u", f->id);
	for (i = 0; i < f->n_epoll_targets; i++) {
		struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_FILE, f->epoll_targets[i]->file_id);

		/* targets are written before the epoll; a /proc file has no pool slot */
		if (!o || o->slot < 0)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "epoll %u: target fd %u refers to file %u, not restored before it",
				       f->id, f->epoll_targets[i]->tfd, f->epoll_targets[i]->file_id);
		src[i] = ctx->pool[o->slot];
	}
	if (!f->n_epoll_targets)
		return 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "epoll %u: pipe", f->id);
	rd = p[0];
	wr = p[1];
	pid = fork();
	if (pid < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "epoll %u: fork", f->id);
	if (pid == 0)
		register_child(epfd, f, src, wr);
	close(TAKE_FD(wr));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "epoll %u: waitpid", f->id);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (read(rd, res, sizeof(res)) != sizeof(res) || res[0] < 0 || (size_t)res[0] >= f->n_epoll_targets)
			return cr_fail(ctx->err, CR_ERR_KERNEL, 0, "epoll %u: registering its targets failed", f->id);
		return cr_fail(ctx->err, CR_ERR_KERNEL, res[1], "epoll %u: registering target fd %u (events %#x)", f->id,
			       f->epoll_targets[res[0]]->tfd, f->epoll_targets[res[0]]->events);
	}
	return check_registered(ctx, epfd, f);
}

int evfd_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f)
{
	_cleanup_close_ int fd = -1;
	int r;

	switch (f->kind) {
	case CKPT__IMG__FILE_KIND__FILE_EVENTFD:
		fd = make_eventfd(f);
		break;
	case CKPT__IMG__FILE_KIND__FILE_TIMERFD:
		fd = make_timerfd(f);
		break;
	case CKPT__IMG__FILE_KIND__FILE_SIGNALFD:
		fd = make_signalfd(f);
		break;
	default:
		fd = epoll_create1(EPOLL_CLOEXEC);
		if (fd < 0)
			fd = -errno;
		break;
	}
	if (fd < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -fd, "file %u: making its %s", f->id,
			       kinds[f->kind - CKPT__IMG__FILE_KIND__FILE_EVENTFD].link);
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_EPOLL) {
		r = register_targets(ctx, fd, f);
		if (r < 0)
			return r;
	}
	if ((f->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "file %u: O_NONBLOCK", f->id);
	return TAKE_FD(fd);
}
