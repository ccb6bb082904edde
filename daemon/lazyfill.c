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
#include <sys/syscall.h>
#include <unistd.h>

struct lazy_fill {
	int report_fd;
	int pidfd;
	int *uffds;
	size_t nuffds;
	struct event *ev;
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

void lazyfill_stop(struct container *c)
{
	struct lazy_fill *f = c->fill;

	if (!f)
		return;
	filler_stop(c, f);
	safe_close(f->pidfd);
	for (size_t i = 0; i < f->nuffds; i++)
		safe_close(f->uffds[i]);
	free(f->uffds);
	free(f);
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
