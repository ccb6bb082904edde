// SPDX-License-Identifier: GPL-2.0-or-later
/* Container logs are bounded: beyond --log-max-size a log's contents move
 * to log.1 (the one before is dropped) and the log starts again empty.
 * The container writes its log itself (O_APPEND, inherited by every task
 * and kept across restarts by inode), so the log keeps its inode: the
 * bytes are copied out and the file truncated in place, in a worker so
 * that the loop never copies. A reader following it sees it shrink and
 * starts again from its beginning (ckptctl logs -f). */
#include "logrot.h"
#include "container.h"
#include "log.h"
#include "loopwatch.h"
#include "macro.h"
#include "server.h"
#include "wire.h"
#include "worker.h"
#include <event2/event.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOGROT_CHECK_S 2

struct logrot_job {
	int dir_fd, log_fd;
};

/* Copy from off to the end of in into out; returns the new end or -errno. */
static off_t logrot_copy(int in, int out, off_t off)
{
	for (;;) {
		ssize_t n = copy_file_range(in, &off, out, NULL, 1 << 20, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return off;
	}
}

static int logrot_worker(void *arg, int report_fd)
{
	struct logrot_job *job = arg;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	_cleanup_close_ int in = -1, out = -1;
	off_t end, again;

	in = openat(job->dir_fd, "log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	(void)unlinkat(job->dir_fd, "log.1.tmp", 0);
	out = openat(job->dir_fd, "log.1.tmp", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (in < 0 || out < 0)
		return -errno;
	end = logrot_copy(in, out, 0);
	/* what was written meanwhile, until it stands still: the window in
	 * which a write can fall between copy and truncate is this short */
	while (end >= 0 && (again = logrot_copy(in, out, end)) > end)
		end = again;
	if (end < 0)
		return (int)end;
	if (renameat(job->dir_fd, "log.1.tmp", job->dir_fd, "log.1") < 0)
		return -errno;
	if (ftruncate(job->log_fd, 0) < 0)
		return -errno;
	resp.final = true;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}

static void logrot_done(void *ud, Ckpt__Rpc__Response *final, int wait_status)
{
	struct container *c = ud;

	c->log_worker = NULL;
	if (!final)
		log_warn("container %s: rotating its log failed", c->name);
	else
		ckpt__rpc__response__free_unpacked(final, NULL);
}

static const struct worker_ops logrot_ops = { .done = logrot_done };

static void logrot_check(struct container *c)
{
	struct logrot_job job = { .dir_fd = c->dir_fd, .log_fd = c->log_fd };
	struct worker *w;
	struct stat st;
	int keep[2] = { c->dir_fd, c->log_fd };

	if (c->log_worker || c->log_fd < 0 || fstat(c->log_fd, &st) < 0 ||
	    (uint64_t)st.st_size <= c->srv->log_max_bytes)
		return;
	if (worker_start(c->srv, "log rotation", logrot_worker, &job, keep, 2, &logrot_ops, c, &w) < 0)
		return;
	log_info("container %s: log at %lld bytes: rotating it", c->name, (long long)st.st_size);
	c->log_worker = w;
}

static void logrot_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct container *c;
	struct loopwatch lw;

	if (srv->stopping)
		return;
	loopwatch_begin(&lw);
	for (c = srv->containers; c; c = c->next)
		logrot_check(c);
	loopwatch_end(&lw, "checking log sizes");
}

int logrot_start(struct server *srv)
{
	struct timeval tv = { LOGROT_CHECK_S, 0 };

	if (!srv->log_max_bytes)
		return 0;
	srv->ev_log_check = event_new(srv->base, -1, EV_PERSIST, logrot_on_timer, srv);
	if (!srv->ev_log_check || event_add(srv->ev_log_check, &tv) < 0)
		return -ENOMEM;
	return 0;
}
