// SPDX-License-Identifier: GPL-2.0-or-later
/* lazyfill.h */
#include "lazyfill.h"
#include "container.h"
#include "events.h"
#include "lazy.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

/* how long the end of a dying filler may trail its container's init */
#define FILLER_END_WAIT_MS 500

struct lazy_fill {
	int report_fd;                /* -1 once adopted from an earlier ckptd */
	int pidfd;
	int status_fd;                /* adopted: the filler's status memfd (lazy.h) */
	int *uffds;
	size_t nuffds;
	struct event *ev;
	struct event *ev_end;         /* the init exited: the filler's end awaited */
};

static int keep_uffd(struct lazy_fill *f, int fd)
{
	int *v = realloc(f->uffds, (f->nuffds + 1) * sizeof(*v));

	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	f->uffds = v;
	f->uffds[f->nuffds++] = fd;
	return 0;
}

/* Kill the filler and stop listening to it; the userfaultfds stay. */
static void filler_stop(struct container *c, struct lazy_fill *f)
{
	if (f->pidfd >= 0 && syscall(SYS_pidfd_send_signal, f->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		log_error("container %s: killing its filler: %m", c->name);
	if (f->ev)
		event_free(f->ev);
	f->ev = NULL;
	safe_close(f->report_fd);
	f->report_fd = -1;
}

/* Let go of its fds: closing the last fd of a userfaultfd unregisters
 * what is left of it. */
static void fill_free(struct lazy_fill *f)
{
	if (f->ev_end)
		event_free(f->ev_end);
	safe_close(f->pidfd);
	safe_close(f->status_fd);
	for (size_t i = 0; i < f->nuffds; i++)
		safe_close(f->uffds[i]);
	free(f->uffds);
	free(f);
}

void lazyfill_stop(struct container *c)
{
	struct lazy_fill *f = c->fill;

	if (!f)
		return;
	filler_stop(c, f);
	fill_free(f);
	c->fill = NULL;
}

/* The filler died or gave up: the program must not run on without the
 * memory it lacks. The container is killed while the userfaultfds are
 * still held, and they stay held until its init is gone (then every task
 * is: container_init_exited frees them), since a kill without cgroup.kill
 * is not synchronous: a thread still running would read a page that never
 * came as zeroes once they closed. */
static void fill_failed(struct container *c, const char *why)
{
	log_error("container %s: its lazily restored memory can't be filled (%s): killing it", c->name, why);
	events_publish(c->srv, "fill-failed", c, "%s; the container is killed", why);
	container_kill_all(c);
	if (c->fill)
		filler_stop(c, c->fill);
	if (!c->init_pid)
		lazyfill_stop(c);
}

static void on_report(evutil_socket_t fd, short what, void *arg)
{
	struct container *c = arg;
	struct lazy_fill *f = c->fill;

	(void)what;
	for (;;) {
		char cbuf[CMSG_SPACE(sizeof(int))] __attribute__((aligned(8)));
		struct lazy_report rep = { 0 };
		struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		int got = -1;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			fill_failed(c, n < 0 ? strerror(errno) : "its filler died");
			return;
		}
		cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&got, CMSG_DATA(cm), sizeof(int));
		if ((size_t)n != sizeof(rep)) {
			if (got >= 0)
				close(got);
			fill_failed(c, "its filler sent a malformed report");
			return;
		}
		switch (rep.kind) {
		case LAZY_REPORT_UFFD:
			if (got < 0 || keep_uffd(f, got) < 0) {
				fill_failed(c, "a forked child's userfaultfd could not be kept");
				return;
			}
			break;
		case LAZY_REPORT_DONE:
			if (got >= 0)
				close(got);
			log_info("container %s: lazy restart: every page is in (%llu bytes in %.1f ms)", c->name,
				 (unsigned long long)rep.bytes, rep.us / 1000.0);
			events_publish(c->srv, "fill-done", c, "%llu bytes in %.1f ms", (unsigned long long)rep.bytes,
				       rep.us / 1000.0);
			/* closing the last fd of each unregisters what is left: zero pages */
			lazyfill_stop(c);
			return;
		default:
			if (got >= 0)
				close(got);
			rep.why[sizeof(rep.why) - 1] = 0;
			fill_failed(c, rep.kind == LAZY_REPORT_FAILED ? rep.why : "its filler sent an unknown report");
			return;
		}
	}
}

void lazyfill_take(struct container *c, int *fds, size_t n)
{
	struct lazy_fill *f = c->fill;
	size_t i = 0;

	if (!f) {
		if (n < 2)
			goto bad;
		f = c->fill = calloc(1, sizeof(*f));
		if (!f)
			goto bad;
		f->status_fd = -1;
		f->report_fd = fds[i++];
		f->pidfd = fds[i++];
		f->ev = event_new(c->srv->base, f->report_fd, EV_READ | EV_PERSIST, on_report, c);
		if (!f->ev || event_add(f->ev, NULL) < 0) {
			fill_failed(c, "watching its filler: out of memory");
			goto close_rest;
		}
	}
	for (; i < n; i++)
		if (keep_uffd(f, fds[i]) < 0) {
			i++;
			fill_failed(c, "its userfaultfds could not be kept");
			goto close_rest;
		}
	return;
bad:
	log_error("container %s: a lazy restart's fill handed over badly", c->name);
close_rest:
	for (; i < n; i++)
		close(fds[i]);
}

bool lazyfill_running(const struct container *c)
{
	return c->fill != NULL;
}

/* ---- a fill that an earlier ckptd left going ---- */

static int proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static bool read_status(int fd, struct lazy_status *st)
{
	return pread(fd, st, sizeof(*st), 0) == (ssize_t)sizeof(*st) &&
	       !memcmp(st->magic, LAZY_STATUS_MAGIC, sizeof(st->magic));
}

/* An adopted filler exited: its status says whether every page is in. */
static void on_adopted_exit(evutil_socket_t fd, short what, void *arg)
{
	struct container *c = arg;
	struct lazy_status st = { 0 };

	(void)fd;
	(void)what;
	if (!read_status(c->fill->status_fd, &st) || st.state != LAZY_STATUS_DONE) {
		fill_failed(c, st.state == LAZY_STATUS_FAILED ?
				       "its fill failed while ckptd was stopped (the filler's log says why)" :
				       "its filler, left by an earlier ckptd, died before every page was in");
		return;
	}
	log_info("container %s: lazy restart: every page is in (%llu bytes in %.1f ms)", c->name,
		 (unsigned long long)st.bytes, st.us / 1000.0);
	events_publish(c->srv, "fill-done", c, "%llu bytes in %.1f ms", (unsigned long long)st.bytes, st.us / 1000.0);
	lazyfill_stop(c);
}

/* The init exited and the filler still ran FILLER_END_WAIT_MS later:
 * the program's own end, not the filler's. */
static void on_end_waited(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	lazyfill_stop(arg);
}

void lazyfill_init_exited(struct container *c)
{
	struct lazy_fill *f = c->fill;
	struct pollfd p;
	struct timeval tv = { .tv_sec = 0, .tv_usec = FILLER_END_WAIT_MS * 1000 };

	if (!f || f->ev_end)
		return;
	p = (struct pollfd){ .fd = f->pidfd, .events = POLLIN };
	/* a filler killed takes the init with it (its guard thread's exit),
	 * but the rest of its threads, its report socket and its pidfd may
	 * end after the init: its end, when it comes, is heard by the
	 * watchers (on_report, on_adopted_exit: a failed fill, said, and
	 * with the init gone, lazyfill_stop); still running after the wait,
	 * it is stopped as the program's own end */
	if (f->ev && f->pidfd >= 0 && poll(&p, 1, 0) == 0) {
		f->ev_end = evtimer_new(c->srv->base, on_end_waited, c);
		if (f->ev_end && evtimer_add(f->ev_end, &tv) == 0)
			return;
	}
	/* no event: its failure is said already (filler_stop) */
	if (f->ev && f->report_fd >= 0)
		on_report(f->report_fd, EV_READ, c);   /* a report, or the filler's end */
	else if (f->ev && f->status_fd >= 0 && poll(&p, 1, 0) == 1)
		on_adopted_exit(f->pidfd, EV_READ, c);
	lazyfill_stop(c);
}

static struct container *filled_container(struct server *srv, pid_t init_pid)
{
	for (struct container *c = srv->containers; c; c = c->next)
		if (c->state == CONTAINER_RUNNING && c->init_pid == init_pid && init_pid > 0)
			return c;
	return NULL;
}

/* Dups of the filler's status memfd and userfaultfds, through its pidfd. */
static int take_filler_fds(pid_t pid, int pidfd, struct lazy_fill *f)
{
	_cleanup_closedir_ DIR *d = NULL;
	char path[32], target[128];
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		bool uffd, status;
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		uffd = !strcmp(target, "anon_inode:[userfaultfd]");
		status = !strncmp(target, "/memfd:" LAZY_STATUS_NAME " ", strlen("/memfd:" LAZY_STATUS_NAME " "));
		if (!uffd && !status)
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
		if (fd < 0)
			return -errno;
		if (uffd) {
			if (keep_uffd(f, fd) < 0)
				return -ENOMEM;
		} else if (f->status_fd >= 0) {
			close(fd);
			return -EEXIST;
		} else {
			f->status_fd = fd;
		}
	}
	return f->status_fd < 0 ? -ENOENT : 0;
}

/* A filler forked by a ckptd of this very binary, running as we do: a
 * name and a memfd anyone can make, so a process of another user posing
 * as one is not taken for it. (A filler of a ckptd since upgraded is
 * not adopted: it still kills its container should its fill fail.) */
static bool ours(pid_t pid)
{
	struct stat exe, self, dir;
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &dir) < 0 || dir.st_uid != geteuid())
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	return stat(path, &exe) == 0 && stat("/proc/self/exe", &self) == 0 && exe.st_dev == self.st_dev &&
	       exe.st_ino == self.st_ino;
}

/* One filler: the running container it fills, if any, holds its
 * userfaultfds from now on and hears of its exit, as if it had started
 * the fill. A filler of no running container is left alone: once its
 * container is gone it has nothing to serve and exits. */
static void adopt(struct server *srv, pid_t pid)
{
	struct lazy_fill *f = calloc(1, sizeof(*f));
	struct container *c = NULL;
	struct lazy_status st;
	char comm[32] = "";
	int r;

	if (!f)
		return;
	f->report_fd = f->status_fd = -1;
	f->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* the pid might have been reused since the scan: look again through the pidfd's pid */
	if (f->pidfd < 0 || proc_comm(pid, comm, sizeof(comm)) < 0 || strcmp(comm, "ckptd-filler") || !ours(pid))
		goto drop;
	r = take_filler_fds(pid, f->pidfd, f);
	/* a filler that failed is still waiting for the container to die:
	 * adopted all the same, so its end is said (fill-failed) */
	if (r < 0 || !read_status(f->status_fd, &st) ||
	    (st.state != LAZY_STATUS_FILLING && st.state != LAZY_STATUS_FAILED))
		goto drop;
	c = filled_container(srv, st.init_pid);
	if (!c || c->fill)
		goto drop;
	f->ev = event_new(srv->base, f->pidfd, EV_READ, on_adopted_exit, c);
	if (!f->ev || event_add(f->ev, NULL) < 0) {
		c->fill = f;
		fill_failed(c, "watching the filler an earlier ckptd left: out of memory");
		return;
	}
	c->fill = f;
	log_info("container %s: its lazily restored memory is still being filled by filler %d: watching it", c->name,
		 (int)pid);
	return;
drop:
	fill_free(f);
}

int lazyfill_adopt_all(struct server *srv)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char comm[32];
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid > 0 && proc_comm(pid, comm, sizeof(comm)) == 0 && !strcmp(comm, "ckptd-filler"))
			adopt(srv, pid);
	}
	return 0;
}
