// SPDX-License-Identifier: GPL-2.0-or-later
/* Requests about a container's live processes and its store: ps, stats,
 * wait, image removal. ps and stats read /proc and the cgroup at once;
 * wait parks the connection until the workload has ended and never
 * blocks the loop. */
#include "access.h"
#include "container.h"
#include "handlers.h"
#include "hint.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include "store.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E(x) CKPT__RPC__ERROR_CODE__##x
/* what ps reports of one command line */
#define PS_CMD_MAX 4096

static Ckpt__Rpc__Response final_response(void)
{
	Ckpt__Rpc__Response r = CKPT__RPC__RESPONSE__INIT;

	r.final = true;
	return r;
}

struct proc_status {
	pid_t host_pid, nspid, host_ppid;
	char state;
	uint64_t rss_kb;
};

/* Read a small /proc file whole (NUL-terminated); -errno if the task is gone. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	size_t off = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (off + 1 < len && (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += n;
	if (n < 0 && off == 0)
		return -errno;
	buf[off] = '\0';
	return (ssize_t)off;
}

/* State, PPid, VmRSS and the innermost NSpid from /proc/PID/status. */
static int proc_status_read(pid_t pid, struct proc_status *ps)
{
	char buf[4096], *line, *save = NULL;
	ssize_t n = read_proc(pid, "status", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	*ps = (struct proc_status){ .host_pid = pid, .state = '?' };
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "State:", 6))
			sscanf(line + 6, " %c", &ps->state);
		else if (!strncmp(line, "PPid:", 5))
			ps->host_ppid = (pid_t)strtol(line + 5, NULL, 10);
		else if (!strncmp(line, "VmRSS:", 6))
			ps->rss_kb = strtoull(line + 6, NULL, 10);
		else if (!strncmp(line, "NSpid:", 6)) {
			/* the last one is the innermost namespace's: the container's */
			char *p = line + 6, *end;
			long v;

			while ((v = strtol(p, &end, 10)), end != p) {
				ps->nspid = (pid_t)v;
				p = end;
			}
		}
	}
	return ps->nspid > 0 ? 0 : -ESRCH;
}

/* The cmdline with NULs as spaces; a kernel thread or zombie has none: its comm. */
static char *proc_command(pid_t pid)
{
	char buf[PS_CMD_MAX];
	ssize_t n = read_proc(pid, "cmdline", buf, sizeof(buf));

	if (n > 0) {
		while (n > 0 && buf[n - 1] == '\0')
			n--;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		return strdup(buf);
	}
	/* comm is at most 16 bytes */
	n = read_proc(pid, "comm", buf + 1, 32);
	if (n <= 0)
		return strdup("?");
	buf[0] = '[';
	buf[1 + strcspn(buf + 1, "\n")] = '\0';
	strcat(buf, "]");
	return strdup(buf);
}

/* The live processes of a running container, from its cgroup (tasks that
 * exited between the listing and the read are skipped). */
static int container_procs(struct container *c, struct proc_status **ret, size_t *ret_n)
{
	_cleanup_free_ pid_t *pids = NULL;
	struct proc_status *v;
	size_t n = 0, k = 0;
	int r;

	if (!c->has_cgroup || c->state != CONTAINER_RUNNING || !c->init_pid)
		return -ESRCH;
	r = cgroup_pids(&c->cg, &pids, &n);
	if (r < 0)
		return r;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (proc_status_read(pids[i], &v[k]) >= 0)
			k++;
	*ret = v;
	*ret_n = k;
	return 0;
}

/* Looks the container up and checks that it is running; answered if not. */
static struct container *lookup_running(struct conn *cn, const char *verb, const char *name)
{
	struct container *c = ops_lookup(cn, name);

	if (c && (c->state != CONTAINER_RUNNING || c->op != OP_NONE || !c->has_cgroup)) {
		ops_refuse(cn, E(ERR_BAD_STATE),
			   &(struct hint_facts){ .kind = c->op != OP_NONE ? HINT_BUSY_WAIT :
						 c->state == CONTAINER_CHECKPOINTED ? HINT_CHECKPOINTED : HINT_STOPPED,
						 .name = c->name },
			   "%s: container %s is %s, not running", verb, c->name,
			   c->op != OP_NONE ? "busy" : c->state == CONTAINER_CHECKPOINTED ? "checkpointed" : "stopped");
		return NULL;
	}
	return c;
}

static int cmp_nspid(const void *a, const void *b)
{
	const Ckpt__Rpc__ProcessInfo *x = *(Ckpt__Rpc__ProcessInfo *const *)a;
	const Ckpt__Rpc__ProcessInfo *y = *(Ckpt__Rpc__ProcessInfo *const *)b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

void query_ps(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	Ckpt__Rpc__Response resp = final_response();
	Ckpt__Rpc__PsResponse pr = CKPT__RPC__PS_RESPONSE__INIT;
	_cleanup_free_ struct proc_status *ps = NULL;
	_cleanup_free_ Ckpt__Rpc__ProcessInfo *pi = NULL;
	_cleanup_free_ Ckpt__Rpc__ProcessInfo **pv = NULL;
	_cleanup_free_ char *states = NULL;
	struct container *c;
	size_t n = 0;
	int r;

	c = lookup_running(cn, "ps", req->ps->name);
	if (!c)
		return;
	r = container_procs(c, &ps, &n);
	if (r < 0) {
		conn_reply_error(cn, E(ERR_IO), "ps: container %s: listing its processes: %s", c->name,
				 strerror(-r));
		return;
	}
	pi = calloc(n + 1, sizeof(*pi));
	pv = calloc(n + 1, sizeof(*pv));
	states = calloc(n + 1, 2);
	if (!pi || !pv || !states) {
		conn_reply_error(cn, E(ERR_INTERNAL), "ps: out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		pi[i] = (Ckpt__Rpc__ProcessInfo)CKPT__RPC__PROCESS_INFO__INIT;
		pi[i].pid = ps[i].nspid;
		pi[i].host_pid = ps[i].host_pid;
		/* a parent outside the cgroup (ckptd for init) is outside the container */
		pi[i].has_ppid = true;
		for (size_t j = 0; j < n; j++)
			if (ps[j].host_pid == ps[i].host_ppid)
				pi[i].ppid = ps[j].nspid;
		states[2 * i] = ps[i].state;
		pi[i].state = &states[2 * i];
		pi[i].command = proc_command(ps[i].host_pid);
		pv[i] = &pi[i];
	}
	qsort(pv, n, sizeof(*pv), cmp_nspid);
	pr.n_processes = n;
	pr.processes = pv;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_PS;
	resp.ps = &pr;
	conn_send(cn, &resp, NULL, 0);
	for (size_t i = 0; i < n; i++)
		free(pi[i].command);
}

/* memory.current of its cgroup (v2), else -ENOENT. */
static int cgroup_memory(const struct container *c, uint64_t *ret)
{
	char path[PATH_MAX + 32], buf[64];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (c->cg.v1)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/memory.current", c->cg.dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	*ret = strtoull(buf, NULL, 10);
	return 0;
}

void query_stats(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	Ckpt__Rpc__Response resp = final_response();
	Ckpt__Rpc__StatsResponse sr = CKPT__RPC__STATS_RESPONSE__INIT;
	_cleanup_free_ struct store_image *imgs = NULL;
	_cleanup_free_ struct proc_status *ps = NULL;
	struct container *c;
	size_t n = 0, k = 0;
	int r;

	c = ops_lookup(cn, req->stats->name);
	if (!c)
		return;
	sr.state = container_rpc_state(c);
	if (c->op == OP_NONE && c->state == CONTAINER_RUNNING) {
		r = container_procs(c, &ps, &n);
		if (r < 0) {
			conn_reply_error(cn, E(ERR_IO), "stats: container %s: listing its processes: %s",
					 c->name, strerror(-r));
			return;
		}
		sr.processes = n;
		sr.has_memory_bytes = true;
		if (cgroup_memory(c, &sr.memory_bytes) >= 0) {
			sr.memory_source = "memory.current";
		} else {
			sr.memory_source = "rss";
			for (size_t i = 0; i < n; i++)
				sr.memory_bytes += ps[i].rss_kb * 1024;
		}
	}
	r = store_list(c->dir_fd, &imgs, &k);
	if (r < 0) {
		conn_reply_error(cn, E(ERR_IO), "stats: container %s: listing its images: %s", c->name,
				 strerror(-r));
		return;
	}
	sr.images = k;
	sr.has_memory_limit = c->limits.memory != 0;
	sr.memory_limit = c->limits.memory;
	sr.has_pids_limit = c->limits.pids != 0;
	sr.pids_limit = c->limits.pids;
	sr.has_cpus_milli = c->limits.cpus_milli != 0;
	sr.cpus_milli = c->limits.cpus_milli;
	for (size_t i = 0; i < k; i++)
		sr.image_bytes += imgs[i].size;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_STATS;
	resp.stats = &sr;
	conn_send(cn, &resp, NULL, 0);
}

/* The uid owning a stored image, or -errno. */
static int64_t query_image_owner(struct container *c, const char *id)
{
	_cleanup_close_ int fd = store_open(c->dir_fd, id);
	struct stat st;

	if (fd < 0)
		return fd;
	return fstat(fd, &st) < 0 ? -errno : (int64_t)st.st_uid;
}

void query_image_rm(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	Ckpt__Rpc__Response resp = final_response();
	Ckpt__Rpc__ImageRmResponse ir = CKPT__RPC__IMAGE_RM_RESPONSE__INIT;
	const char *id = req->image_rm->image_id;
	char child[STORE_ID_MAX];
	struct container *c;
	int64_t r;

	c = ops_lookup(cn, req->image_rm->name);
	if (!c)
		return;
	if (!store_id_valid(id)) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "images rm: '%.32s' is not an image id", id);
		return;
	}
	/* a checkpoint may be writing it, a restart reading it */
	if (c->op != OP_NONE) {
		ops_refuse(cn, E(ERR_BUSY), &(struct hint_facts){ .kind = HINT_BUSY_WAIT, .name = c->name },
			   "images rm: container %s is busy", c->name);
		return;
	}
	r = query_image_owner(c, id);
	if (r >= 0 && !access_may_act(cn->uid, (uid_t)r))
		r = -ENOENT;    /* not the peer's: not there for it */
	if (r >= 0)
		r = store_child(c->dir_fd, id, child);
	if (r > 1) {
		conn_reply_error(cn, E(ERR_BAD_STATE), "images rm: container %s: image %s is the parent of %d incremental "
				 "images (%s and others), which need its pages: only an image with one child is merged "
				 "into it; remove the others first", c->name, id, (int)r, child);
		return;
	}
	if (r == 1) {
		/* the child takes the pages it needs of it, in a worker */
		merge_image_rm(cn, c, id, child);
		return;
	}
	if (r >= 0)
		r = store_remove(c->dir_fd, id);
	if (r == -ENOENT) {
		ops_refuse(cn, E(ERR_NOT_FOUND), &(struct hint_facts){ .kind = HINT_NO_IMAGE, .name = c->name },
			   "images rm: container %s has no image %s", c->name, id);
		return;
	}
	if (r < 0) {
		conn_reply_error(cn, E(ERR_IO), "images rm: container %s: removing image %s: %s", c->name, id,
				 strerror(-r));
		return;
	}
	log_info("container %s: image %s removed", c->name, id);
	resp.body_case = CKPT__RPC__RESPONSE__BODY_IMAGE_RM;
	resp.image_rm = &ir;
	conn_send(cn, &resp, NULL, 0);
}

static bool workload_ended(const struct container *c)
{
	return c->op == OP_NONE && c->state == CONTAINER_STOPPED;
}

static void wait_answer(struct conn *cn, struct container *c)
{
	Ckpt__Rpc__Response resp = final_response();
	Ckpt__Rpc__WaitResponse wr = CKPT__RPC__WAIT_RESPONSE__INIT;
	int r;

	cn->wait_for = NULL;
	r = container_info(c, &wr.container);
	if (r < 0) {
		conn_reply_error(cn, E(ERR_IO), "wait: reading the state of container %s: %s", c->name,
				 strerror(-r));
		return;
	}
	resp.body_case = CKPT__RPC__RESPONSE__BODY_WAIT;
	resp.wait = &wr;
	conn_send(cn, &resp, NULL, 0);
	container_info_free(wr.container);
}

void query_wait(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	struct container *c = ops_lookup(cn, req->wait->name);

	if (!c)
		return;
	if (workload_ended(c))
		wait_answer(cn, c);
	else
		cn->wait_for = c;
}

void query_wait_wake(struct container *c)
{
	struct conn *cn, *next;

	if (!workload_ended(c))
		return;
	for (cn = c->srv->conns; cn; cn = next) {
		next = cn->next;
		if (cn->wait_for == c)
			wait_answer(cn, c);
	}
}

void query_wait_gone(struct container *c)
{
	struct conn *cn;

	for (cn = c->srv->conns; cn; cn = cn->next)
		if (cn->wait_for == c) {
			cn->wait_for = NULL;
			conn_reply_error(cn, E(ERR_NOT_FOUND), "wait: container %s was removed", c->name);
		}
}
