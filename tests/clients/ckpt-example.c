// SPDX-License-Identifier: GPL-2.0-or-later
/* A client of ckptd written against the installed libckpt only:
 *
 *   cc ckpt-example.c $(pkg-config --cflags --libs ckpt)
 *   ckpt-example SOCKET WORKLOAD_DIR WORK_DIR PREFIX
 *
 * It runs the counter workload, checkpoints it into a pipe, restarts it
 * from a pipe, lets the counter check itself, finds it in the list, and
 * asks for a checkpoint ckptd must refuse, expecting the refusal in fields.
 * Prints "PASS libckpt example" when all went as it should. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ckpt/ckpt.h>

static struct ckpt *h;
static struct ckpt_error err;

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define CALL(what, expr)                                                               \
	do {                                                                           \
		if ((expr) < 0)                                                        \
			die("%s: %s (%s)", what, err.message, err.code_name);          \
	} while (0)

/* How many lines of NAME's log contain pattern. */
static int log_count(const char *name, const char *pattern)
{
	static char buf[1 << 20];
	size_t len = 0;
	ssize_t n;
	int fd, count = 0;

	CALL("logs", ckpt_logs(h, name, &fd, &err));
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	if (strstr(buf, "FAIL"))
		die("%s reported a failure:\n%s", name, buf);
	for (char *p = buf; (p = strstr(p, pattern)); p++)
		count++;
	return count;
}

static void wait_log(const char *name, const char *pattern, int count)
{
	for (int i = 0; i < 300; i++) {
		if (log_count(name, pattern) >= count)
			return;
		usleep(100 * 1000);
	}
	die("%s: no %d lines with '%s' in 30 s", name, count, pattern);
}

static enum ckpt_state state_of(const char *name, int *ret_pid)
{
	struct ckpt_list_result l;
	enum ckpt_state s = CKPT_STATE_UNKNOWN;

	CALL("list", ckpt_list(h, &l, &err));
	for (size_t i = 0; i < l.n_containers; i++)
		if (!strcmp(l.containers[i].name, name)) {
			s = l.containers[i].state;
			if (ret_pid)
				*ret_pid = l.containers[i].has_pid ? l.containers[i].pid : 0;
		}
	ckpt_list_result_free(&l);
	return s;
}

static int progress_calls;

static void on_progress(const char *phase, bool has_done, uint64_t done, bool has_total,
			uint64_t total, void *userdata)
{
	progress_calls++;
}

/* A child copies between a pipe and a memfd, so the call and the copy
 * run at once as they must for a pipe. */
static pid_t copier(int from, int to, int close_in_child)
{
	pid_t pid = fork();
	char buf[65536];
	ssize_t n;

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid)
		return pid;
	close(close_in_child);
	while ((n = read(from, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(to, buf + off, n - off);

			if (w < 0)
				_exit(1);
			off += w;
		}
	_exit(n < 0);
}

static void reap(pid_t pid, const char *what)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("%s: the copier failed", what);
}

int main(int argc, char **argv)
{
	char counter[4096], refuse[4096], name[128], refused[128], magic[4];
	const char *cargv[1], *rargv[2];
	struct ckpt_container_result run;
	struct ckpt_checkpoint_result cr;
	struct ckpt_restart_result rr;
	struct ckpt_version_result v;
	int p[2], img, pid = 0, first_pid;
	off_t size;
	pid_t child;

	if (argc != 5)
		die("usage: ckpt-example SOCKET WORKLOAD_DIR WORK_DIR PREFIX");
	snprintf(counter, sizeof(counter), "%s/counter", argv[2]);
	snprintf(refuse, sizeof(refuse), "%s/refuse", argv[2]);
	snprintf(name, sizeof(name), "%s-lib", argv[4]);
	snprintf(refused, sizeof(refused), "%s-libsud", argv[4]);

	CALL("connect", ckpt_connect(argv[1], &h, &err));
	ckpt_set_progress(h, on_progress, NULL);
	CALL("version", ckpt_version(h, &v, &err));
	if (v.proto_version != CKPT_PROTO_VERSION)
		die("ckptd speaks protocol %u, the library %d", v.proto_version, CKPT_PROTO_VERSION);
	printf("ckptd %s, protocol %u\n", v.version, v.proto_version);
	ckpt_version_result_free(&v);

	cargv[0] = counter;
	CALL("run", ckpt_run(h, name, &(struct ckpt_run_opts){ .argc = 1, .argv = cargv, .cwd = argv[3] },
			     &run, &err));
	if (run.container.state != CKPT_STATE_RUNNING || !run.container.has_pid)
		die("run: %s is %s", name, ckpt_state_name(run.container.state));
	first_pid = pid = run.container.pid;
	printf("started %s: pid %d, host pid %d\n", name, pid, run.container.host_pid);
	ckpt_container_result_free(&run);
	wait_log(name, "counter 1", 1);

	/* checkpoint into a pipe; a child drains it into a memfd */
	img = memfd_create("image", MFD_CLOEXEC);
	if (img < 0 || pipe(p) < 0)
		die("memfd/pipe: %s", strerror(errno));
	child = copier(p[0], img, p[1]);
	close(p[0]);
	CALL("checkpoint", ckpt_checkpoint(h, name, &(struct ckpt_checkpoint_opts){ .to_fd = true, .fd = p[1] },
					   &cr, &err));
	close(p[1]);
	reap(child, "checkpoint");
	size = lseek(img, 0, SEEK_END);
	if (cr.image_id || (off_t)cr.image_bytes != size || size < 4096)
		die("checkpoint: id %s, %llu bytes said, %lld in the pipe", cr.image_id ?: "-",
		    (unsigned long long)cr.image_bytes, (long long)size);
	if (pread(img, magic, 4, 0) != 4 || memcmp(magic, "CKPT", 4))
		die("the image does not start with its magic");
	printf("checkpointed %s into a pipe: %lld bytes, frozen %llu us\n", name, (long long)size,
	       (unsigned long long)cr.frozen_us);
	ckpt_checkpoint_result_free(&cr);
	if (state_of(name, NULL) != CKPT_STATE_CHECKPOINTED)
		die("%s is not checkpointed", name);
	int before = log_count(name, "counter ");

	/* restart from a pipe that a child fills from the memfd */
	if (lseek(img, 0, SEEK_SET) < 0 || pipe(p) < 0)
		die("lseek/pipe: %s", strerror(errno));
	child = copier(img, p[1], p[0]);
	close(p[1]);
	CALL("restart", ckpt_restart(h, name, &(struct ckpt_restart_opts){ .from_fd = true, .fd = p[0] },
				     &rr, &err));
	close(p[0]);
	reap(child, "restart");
	close(img);
	if (strcmp(rr.container.name, name) || rr.container.pid != pid)
		die("restart: %s with pid %d, was %s with %d", rr.container.name, rr.container.pid, name, pid);
	if (state_of(name, NULL) != CKPT_STATE_RUNNING)
		die("restart: %s is not running", name);
	printf("restarted %s from the pipe: pid %d, %llu bytes\n", name, rr.container.pid,
	       (unsigned long long)rr.image_bytes);
	ckpt_restart_result_free(&rr);

	/* the counter counts on from where it was and checks itself */
	wait_log(name, "counter ", before + 2);
	CALL("kill", ckpt_kill(h, name, SIGUSR2, &err));
	wait_log(name, "PASS counter", 1);
	if (state_of(name, &pid) != CKPT_STATE_RUNNING || pid != first_pid)
		die("list: %s is not running as pid %d", name, first_pid);
	printf("list: %s running as pid %d\n", name, pid);

	/* a checkpoint ckptd must refuse: the refusal comes back in fields */
	rargv[0] = refuse;
	rargv[1] = "sud";
	CALL("run", ckpt_run(h, refused, &(struct ckpt_run_opts){ .argc = 2, .argv = rargv, .cwd = argv[3] },
			     &run, &err));
	pid = run.container.pid;
	int host_pid = run.container.host_pid;
	ckpt_container_result_free(&run);
	wait_log(refused, "READY", 1);
	int r = ckpt_checkpoint(h, refused, NULL, &cr, &err);
	if (r != -EOPNOTSUPP || err.code != CKPT_E_UNSUPPORTED)
		die("checkpoint of %s: %d, code %s", refused, r, err.code_name ?: "-");
	if (err.task_pid != pid || err.task_host_pid != host_pid)
		die("refusal names task %d (host %d), the workload is %d (host %d)", err.task_pid,
		    err.task_host_pid, pid, host_pid);
	if (!strstr(err.object, "syscall user dispatch") || !strstr(err.reason, "not supported") ||
	    !strstr(err.message, err.object))
		die("refusal: object '%s' reason '%s' message '%s'", err.object, err.reason, err.message);
	printf("refused: code %s, task %d (host %d), object '%s', reason '%s'\n", err.code_name,
	       err.task_pid, err.task_host_pid, err.object, err.reason);
	if (state_of(refused, NULL) != CKPT_STATE_RUNNING)
		die("%s does not run after the refusal", refused);
	int ticks = log_count(refused, "tick ");
	wait_log(refused, "tick ", ticks + 2);

	/* a name the library refuses itself, before any exchange */
	if (ckpt_rm(h, "../etc", &err) != -EINVAL || err.code != CKPT_E_INVALID_REQUEST)
		die("rm ../etc: %s", err.message);
	if (ckpt_rm(h, "nosuch-container", &err) != -ENOENT || err.code != CKPT_E_NOT_FOUND)
		die("rm of an unknown container: %s", err.message);

	CALL("rm", ckpt_rm(h, name, &err));
	CALL("rm", ckpt_rm(h, refused, &err));
	if (state_of(name, NULL) != CKPT_STATE_UNKNOWN || state_of(refused, NULL) != CKPT_STATE_UNKNOWN)
		die("containers left after rm");
	printf("progress callbacks: %d\n", progress_calls);
	ckpt_close(h);
	printf("PASS libckpt example\n");
	return 0;
}
