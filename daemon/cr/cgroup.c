/* Container cgroups: found through mountinfo, v2 first, v1 freezer fallback. */
#include "cgroup.h"
#include "macro.h"
#include "proc.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

/* mountinfo: "id parent maj:min root mountpoint opts - fstype source superopts" */
int cgroup_parse_mountinfo(int fd, bool v1_freezer, char *ret_path, size_t len)
{
	_cleanup_fclose_ FILE *f = fdopen(dup(fd), "r");
	char line[4096];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], fstype[64], super[1024];
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if (sscanf(sep + 3, "%63s %*s %1023s", fstype, super) != 2)
			continue;
		if (!v1_freezer && streq(fstype, "cgroup2"))
			return snprintf(ret_path, len, "%s", mnt) < (int)len ? 0 : -ENAMETOOLONG;
		if (v1_freezer && streq(fstype, "cgroup")) {
			char *tok, *save = NULL;
			for (tok = strtok_r(super, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				if (streq(tok, "freezer"))
					return snprintf(ret_path, len, "%s", mnt) < (int)len ? 0 : -ENAMETOOLONG;
		}
	}
	return -ENOENT;
}

/* /proc/PID/cgroup: "0::/path" (v2) or "N:freezer:/path" (v1). */
int cgroup_parse_self(int fd, bool v1_freezer, char *ret_path, size_t len)
{
	_cleanup_fclose_ FILE *f = fdopen(dup(fd), "r");
	char line[4096];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		bool match;

		if (!b)
			continue;
		line[strcspn(line, "\n")] = 0;
		*b = 0;
		if (v1_freezer) {
			char *tok, *save = NULL;
			match = false;
			for (tok = strtok_r(a + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				match |= streq(tok, "freezer");
		} else {
			match = a + 1 == b && a == line + 1 && line[0] == '0';   /* "0::" */
		}
		if (match)
			return snprintf(ret_path, len, "%s", b + 1) < (int)len ? 0 : -ENAMETOOLONG;
	}
	return -ENOENT;
}

static int base_dir(bool v1, char *buf, size_t len)
{
	char mnt[PATH_MAX], self[PATH_MAX];
	_cleanup_close_ int mi = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int cg = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	int r;

	if (mi < 0 || cg < 0)
		return -errno;
	r = cgroup_parse_mountinfo(mi, v1, mnt, sizeof(mnt));
	if (r >= 0)
		r = cgroup_parse_self(cg, v1, self, sizeof(self));
	if (r < 0)
		return r;
	return snprintf(buf, len, "%s%s", mnt, streq(self, "/") ? "" : self) < (int)len ? 0 : -ENAMETOOLONG;
}

static int write_file(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	size_t n = strlen(val);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write(fd, val, n) == (ssize_t)n ? 0 : -errno;
}

static int read_file(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

static int try_create(bool v1, const char *name, struct cgroup *cg)
{
	char base[PATH_MAX], probe[PATH_MAX + 64];
	struct stat st;
	int r = base_dir(v1, base, sizeof(base));

	if (r < 0)
		return r;
	if (snprintf(cg->dir, sizeof(cg->dir), "%s/ckptd-%s", base, name) >= (int)sizeof(cg->dir))
		return -ENAMETOOLONG;
	cg->v1 = v1;
	if (mkdir(cg->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(probe, sizeof(probe), "%s/%s", cg->dir, v1 ? "freezer.state" : "cgroup.freeze");
	if (stat(probe, &st) < 0) {
		r = -errno;
		rmdir(cg->dir);
		return r;
	}
	return 0;
}

int cgroup_create(const char *name, struct cgroup *ret)
{
	struct cgroup cg = { 0 };
	int r = try_create(false, name, &cg);

	if (r < 0)
		r = try_create(true, name, &cg);
	if (r < 0)
		return r;
	*ret = cg;
	return 0;
}

int cgroup_open(const struct cgroup *cg)
{
	int fd = open(cg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int cgroup_attach(const struct cgroup *cg, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", pid);
	return write_file(cg->dir, "cgroup.procs", buf);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static bool is_frozen(const struct cgroup *cg)
{
	char buf[512];

	if (cg->v1)
		return read_file(cg->dir, "freezer.state", buf, sizeof(buf)) == 0 && strncmp(buf, "FROZEN", 6) == 0;
	return read_file(cg->dir, "cgroup.events", buf, sizeof(buf)) == 0 && strstr(buf, "frozen 1");
}

int cgroup_freeze(const struct cgroup *cg, int timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	int r = write_file(cg->dir, cg->v1 ? "freezer.state" : "cgroup.freeze", cg->v1 ? "FROZEN" : "1");

	if (r < 0)
		return r;
	while (!is_frozen(cg)) {
		if (now_ms() > deadline) {
			cgroup_thaw(cg);   /* never leave it half frozen */
			return -ETIMEDOUT;
		}
		if (cg->v1)   /* v1 wants the request repeated while FREEZING */
			write_file(cg->dir, "freezer.state", "FROZEN");
		poll(NULL, 0, 1);
	}
	return 0;
}

int cgroup_thaw(const struct cgroup *cg)
{
	return write_file(cg->dir, cg->v1 ? "freezer.state" : "cgroup.freeze", cg->v1 ? "THAWED" : "0");
}

int cgroup_pids(const struct cgroup *cg, pid_t **ret_pids, size_t *ret_n)
{
	char path[PATH_MAX + 64], *buf = NULL, *p, *end;
	pid_t *arr = NULL;
	size_t n = 0, len;
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	arr = calloc(len / 2 + 1, sizeof(pid_t));
	if (!arr) {
		free(buf);
		return -ENOMEM;
	}
	for (p = buf; *p; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		arr[n++] = v;
		while (*end == '\n')
			end++;
	}
	free(buf);
	*ret_pids = arr;
	*ret_n = n;
	return 0;
}

int cgroup_kill(const struct cgroup *cg)
{
	int tries;

	cgroup_thaw(cg);   /* frozen tasks can't die */
	if (!cg->v1 && write_file(cg->dir, "cgroup.kill", "1") == 0)
		return 0;
	for (tries = 0; tries < 100; tries++) {
		pid_t *pids;
		size_t n, i;
		int r = cgroup_pids(cg, &pids, &n);

		if (r < 0)
			return r;
		for (i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		free(pids);
		if (!n)
			return 0;
		poll(NULL, 0, 10);
	}
	return -EBUSY;
}

int cgroup_remove(const struct cgroup *cg)
{
	int tries;

	cgroup_thaw(cg);
	for (tries = 0; tries < 200; tries++) {
		if (rmdir(cg->dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		poll(NULL, 0, 10);
	}
	return -EBUSY;
}
