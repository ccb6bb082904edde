// SPDX-License-Identifier: GPL-2.0-or-later
/* Intent records (intent.h). */
#include "intent.h"
#include "log.h"
#include "macro.h"
#include "net.h"
#include "proc.h"
#include "recover.h"
#include "statefile.h"
#include "store.h"
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INTENT_FILE "intent"
#define INTENT_FILE_MAX (PATH_MAX + 512)
/* How long a new ckptd waits for the worker of its dead predecessor to
 * roll back (its own deadlines bound it; this bounds a stuck one). */
#define INTENT_WORKER_WAIT_MS 30000

static const char *const op_words[] = {
	[OP_NONE] = "none", [OP_CHECKPOINT] = "checkpoint", [OP_RESTART] = "restart",
	[OP_KILL] = "kill", [OP_RM] = "rm", [OP_RUN] = "run",
};
static const char *const phase_words[] = {
	[INTENT_BEGUN] = "begun", [INTENT_COMMITTED] = "committed", [INTENT_HANDED_OFF] = "handed-off",
};
static const char *const state_words[] = {
	[CONTAINER_STOPPED] = "stopped", [CONTAINER_RUNNING] = "running",
	[CONTAINER_CHECKPOINTED] = "checkpointed",
};

static int word_index(const char *const *words, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (words[i] && streq(words[i], w))
			return (int)i;
	return -1;
}

int intent_write(int dir_fd, const struct intent *in)
{
	char buf[INTENT_FILE_MAX];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "op=%s\nphase=%s\nprev=%s\ncreated=%d\nleave_running=%d\nimage=%s\n"
		     "cgroup=%s\ncgroup_v1=%d\ninit_pid=%d\ninit_start=%" PRIu64 "\n"
		     "worker_pid=%d\nworker_start=%" PRIu64 "\n",
		     op_words[in->op], phase_words[in->phase], state_words[in->prev], in->created,
		     in->leave_running, in->image_id, in->cgroup, in->cgroup_v1, (int)in->init_pid,
		     in->init_start, (int)in->worker_pid, in->worker_start);
	if (n >= 0 && (size_t)n < sizeof(buf) && in->unsafe != BORROW_STEP_NONE)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "unsafe=%s\n", borrow_step_word(in->unsafe));
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return statefile_write(dir_fd, INTENT_FILE, buf, n);
}

static int intent_parse_line(struct intent *in, const char *k, const char *v)
{
	char *end;
	int i;

	if (streq(k, "op") || streq(k, "phase") || streq(k, "prev")) {
		i = streq(k, "op") ? word_index(op_words, ARRAY_SIZE(op_words), v) :
		    streq(k, "phase") ? word_index(phase_words, ARRAY_SIZE(phase_words), v) :
		    word_index(state_words, ARRAY_SIZE(state_words), v);
		if (i < 0)
			return -EBADMSG;
		if (streq(k, "op"))
			in->op = i;
		else if (streq(k, "phase"))
			in->phase = i;
		else
			in->prev = i;
	} else if (streq(k, "image")) {
		if (v[0] && !store_id_valid(v))
			return -EBADMSG;
		snprintf(in->image_id, sizeof(in->image_id), "%s", v);
	} else if (streq(k, "unsafe")) {
		/* a step this ckptd does not know is still one, never taken for
		 * none: an unreadable record would let the container run on */
		in->unsafe = borrow_step_parse(v);
		if (in->unsafe == BORROW_STEP_NONE)
			in->unsafe = BORROW_STEP_UNKNOWN;
	} else if (streq(k, "cgroup")) {
		if (strlen(v) >= sizeof(in->cgroup))
			return -EBADMSG;
		snprintf(in->cgroup, sizeof(in->cgroup), "%s", v);
	} else if (streq(k, "created") || streq(k, "leave_running") || streq(k, "cgroup_v1") ||
		   streq(k, "init_pid") || streq(k, "worker_pid")) {
		long x;

		errno = 0;
		x = strtol(v, &end, 10);
		if (errno || *end || end == v || x < 0 || x > INT32_MAX)
			return -EBADMSG;
		if (streq(k, "created"))
			in->created = x;
		else if (streq(k, "leave_running"))
			in->leave_running = x;
		else if (streq(k, "cgroup_v1"))
			in->cgroup_v1 = x;
		else if (streq(k, "init_pid"))
			in->init_pid = x;
		else
			in->worker_pid = x;
	} else if (streq(k, "init_start") || streq(k, "worker_start")) {
		uint64_t x;

		errno = 0;
		x = strtoull(v, &end, 10);
		if (errno || *end || end == v)
			return -EBADMSG;
		*(streq(k, "init_start") ? &in->init_start : &in->worker_start) = x;
	}
	return 0;
}

int intent_read(int dir_fd, struct intent *ret)
{
	_cleanup_free_ char *buf = NULL;
	struct intent in = { .op = OP_NONE };
	char *line, *save = NULL;
	size_t len;
	int r;

	r = statefile_read(dir_fd, INTENT_FILE, INTENT_FILE_MAX, &buf, &len);
	if (r < 0)
		return r;
	if (strlen(buf) != len)
		return -EBADMSG;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '=');

		if (!v)
			return -EBADMSG;
		*v++ = '\0';
		r = intent_parse_line(&in, line, v);
		if (r < 0)
			return r;
	}
	if (in.op == OP_NONE)
		return -EBADMSG;
	*ret = in;
	return 0;
}

int intent_clear(int dir_fd)
{
	if (unlinkat(dir_fd, INTENT_FILE, 0) < 0 && errno != ENOENT)
		return -errno;
	/* durable: a cleared intent must not come back after a power cut */
	return fsync(dir_fd) < 0 ? -errno : 0;
}

void intent_from(struct intent *in, const struct container *c, enum op_kind op)
{
	*in = (struct intent){
		.op = op, .phase = INTENT_BEGUN, .prev = c->state, .created = c->op_new,
		.leave_running = c->op_leave_running, .cgroup_v1 = c->cg.v1,
		.init_pid = c->init_pid, .init_start = c->init_start,
	};
	snprintf(in->image_id, sizeof(in->image_id), "%s", c->op_image_id);
	if (c->has_cgroup)
		snprintf(in->cgroup, sizeof(in->cgroup), "%s", c->cg.dir);
}

int intent_worker_begin(int dir_fd, struct intent *in)
{
	struct proc_stat st;

	in->worker_pid = getpid();
	in->worker_start = proc_stat_pid(in->worker_pid, &st) >= 0 ? st.starttime : 0;
	return intent_write(dir_fd, in);
}

int intent_phase(int dir_fd, struct intent *in, enum intent_phase phase)
{
	in->phase = phase;
	return intent_write(dir_fd, in);
}

int intent_unsafe(int dir_fd, struct intent *in, enum borrow_step step)
{
	in->unsafe = step;
	return in->worker_pid ? intent_write(dir_fd, in) : intent_worker_begin(dir_fd, in);
}

/* ---- recovery ---- */

/* pid is still the process that started at start. */
static int intent_pidfd(pid_t pid, uint64_t start)
{
	struct proc_stat st;
	int fd;

	if (pid <= 0 || !start)
		return -ESRCH;
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	/* checked after the pidfd is held, so the pid can't be reused in between */
	if (proc_stat_pid(pid, &st) < 0 || st.starttime != start) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

/* The dead ckptd's worker got SIGTERM from its death and is putting the
 * container back (thaw, registers, detach, or killing what it built):
 * let it finish before looking. */
static void intent_wait_worker(const struct container *c, const struct intent *in)
{
	_cleanup_close_ int fd = intent_pidfd(in->worker_pid, in->worker_start);
	struct pollfd p = { .events = POLLIN };

	if (fd < 0)
		return;
	log_info("container %s: waiting for worker %d of the previous ckptd to roll back", c->name,
		 in->worker_pid);
	p.fd = fd;
	if (poll(&p, 1, INTENT_WORKER_WAIT_MS) > 0)
		return;
	log_warn("container %s: worker %d still running after %d s: killing it", c->name, in->worker_pid,
		 INTENT_WORKER_WAIT_MS / 1000);
	syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	p.fd = fd;
	(void)poll(&p, 1, 5000);
}

/* The cgroup the operation worked in; one it made before it could record
 * it is where cgroup_create makes them. */
static void intent_take_cgroup(struct container *c, const struct intent *in)
{
	char dir[PATH_MAX], base[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", in->cgroup);
	if (!dir[0] && cgroup_base_dir(-1, -1, in->cgroup_v1, base, sizeof(base)) >= 0 &&
	    (size_t)snprintf(dir, sizeof(dir), "%s/ckptd-%s", base, c->name) >= sizeof(dir))
		return;
	if (!dir[0] || !container_cgroup_ours(c->name, dir))
		return;
	snprintf(c->cg.dir, sizeof(c->cg.dir), "%s", dir);
	c->cg.v1 = in->cgroup_v1;
	c->has_cgroup = true;
}

/* What was built or half-built is killed; the container is not running. */
static void intent_undo_init(struct container *c)
{
	container_cleanup_cgroup(c);
	c->init_pid = 0;
	c->init_start = 0;
	c->has_exit_status = false;
}

/* The worker died holding tasks' registers (recover.h): put them back, or
 * the container is damaged. False if it is damaged (and now stopped). */
static bool intent_recover_borrowed(struct container *c)
{
	char why[256];

	if (!recover_needed(c->dir_fd))
		return true;
	log_warn("container %s: its checkpoint worker died holding tasks' registers: putting them back", c->name);
	if (c->has_cgroup && recover_borrowed_sync(c->dir_fd, &c->cg, why, sizeof(why)) >= 0) {
		log_info("container %s: the tasks' registers are put back", c->name);
		return true;
	}
	if (!c->has_cgroup)
		snprintf(why, sizeof(why), "the container has no cgroup");
	log_error("container %s: the tasks' registers could not be put back (%s): the container is damaged and stopped",
		  c->name, why);
	recover_forget(c->dir_fd);
	intent_undo_init(c);
	c->state = CONTAINER_STOPPED;
	return false;
}

/* Its worker was in a step no recovery undoes (borrow.h) when ckptd died:
 * every task it had seized died with the worker (PTRACE_O_EXITKILL),
 * whichever of them went first. What is left goes too; the container is
 * damaged, never running on, and its borrow record undoes nothing. */
static void intent_recover_damaged(struct container *c, const struct intent *in)
{
	recover_forget(c->dir_fd);
	intent_undo_init(c);
	c->state = CONTAINER_STOPPED;
	log_error("container %s: ckptd died while its checkpoint worker %d was in a step no recovery undoes (%s): "
		  "every task it had seized died with it; the container is damaged and stopped",
		  c->name, (int)in->worker_pid, borrow_step_what(in->unsafe));
}

static void intent_recover_checkpoint(struct container *c, const struct intent *in)
{
	char why[128];

	if (in->phase == INTENT_COMMITTED && !in->leave_running) {
		recover_forget(c->dir_fd);   /* its tasks die anyway */
		/* the image is stored: finish what the checkpoint had begun */
		log_info("container %s: its checkpoint into image %s had committed: killing what is left",
			 c->name, in->image_id[0] ? in->image_id : "(stream)");
		intent_undo_init(c);
		c->state = CONTAINER_CHECKPOINTED;
		return;
	}
	if (in->image_id[0] && in->phase == INTENT_BEGUN)
		store_abort(c->dir_fd, in->image_id);
	if (in->unsafe != BORROW_STEP_NONE) {
		intent_recover_damaged(c, in);
		return;
	}
	if (!intent_recover_borrowed(c))
		return;
	/* a worker killed outright thawed nothing and let no traffic through */
	if (c->has_cgroup)
		cgroup_thaw(&c->cg);
	if (c->net.private_ns && c->net.addr && in->init_pid > 0 &&
	    net_hold(in->init_pid, false, why, sizeof(why)) < 0)
		log_warn("container %s: letting its traffic through again: %s", c->name, why);
	c->state = in->prev;
	log_info("container %s: its checkpoint was interrupted; the container runs on", c->name);
}

static int intent_recover_restart(struct container *c, const struct intent *in)
{
	_cleanup_close_ int fd = -1;

	if (in->phase == INTENT_HANDED_OFF) {
		fd = intent_pidfd(in->init_pid, in->init_start);
		if (fd >= 0) {
			log_info("container %s: its restart had handed off: running with init %d", c->name,
				 in->init_pid);
			c->state = CONTAINER_RUNNING;
			c->init_pid = in->init_pid;
			c->init_start = in->init_start;
			c->has_exit_status = false;
			return 0;
		}
	}
	log_info("container %s: its restart was interrupted: killing what it built", c->name);
	intent_undo_init(c);
	if (in->created)
		return 1;
	c->state = in->phase == INTENT_HANDED_OFF ? CONTAINER_STOPPED : in->prev;
	return 0;
}

int intent_recover(struct container *c)
{
	struct intent in;
	int r;

	r = intent_read(c->dir_fd, &in);
	if (r == -ENOENT && recover_needed(c->dir_fd)) {
		/* a checkpoint --check records no intent, yet borrows */
		if (intent_recover_borrowed(c)) {
			if (c->has_cgroup)
				cgroup_thaw(&c->cg);
			return 0;
		}
		return container_save(c);
	}
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		/* can't say what was under way: assume the worst that can be undone */
		log_errno(r, "container %s: unreadable intent record (%m): thawing it", c->name);
		if (c->has_cgroup)
			cgroup_thaw(&c->cg);
		return intent_clear(c->dir_fd);
	}
	intent_wait_worker(c, &in);
	/* it may have moved past its point of no return meanwhile */
	(void)intent_read(c->dir_fd, &in);
	intent_take_cgroup(c, &in);
	switch (in.op) {
	case OP_CHECKPOINT:
		intent_recover_checkpoint(c, &in);
		break;
	case OP_RESTART:
		r = intent_recover_restart(c, &in);
		break;
	case OP_RUN:
		log_info("container %s: its run was interrupted: stopping it", c->name);
		intent_undo_init(c);
		c->state = CONTAINER_STOPPED;
		r = in.created;
		break;
	case OP_RM:
		log_info("container %s: finishing its removal", c->name);
		intent_undo_init(c);
		r = 1;
		break;
	default:
		break;
	}
	if (r == 1)
		return 1;    /* the caller removes the entry, intent and all */
	r = container_save(c);
	if (r < 0)
		return r;
	return intent_clear(c->dir_fd);
}
