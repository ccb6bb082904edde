// SPDX-License-Identifier: GPL-2.0-or-later
/* Container cgroups, found through mountinfo (never an assumed mount point):
 * cgroup2 first, the v1 freezer hierarchy as a fallback. Whatever fails, a
 * cgroup we froze is thawed before we return. */
#include "fault.h"
#include "cgroup.h"
#include "macro.h"
#include "proc.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#define MOUNTINFO_LINE_MAX (64u << 10)
#define KILL_TIMEOUT_MS 5000
#define REMOVE_TIMEOUT_MS 2000

/* ---- mountinfo and /proc/PID/cgroup ---- */

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo. */
static void unescape_octal(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0');
			s += 3;
		} else
			*o++ = *s;
	}
	*o = 0;
}

static bool has_token(char *list, const char *tok)
{
	char *t, *save = NULL;

	for (t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (streq(t, tok))
			return true;
	return false;
}

/* "id parent maj:min root mountpoint opts [optional...] - fstype source superopts":
 * true if this line is the hierarchy we look for; root and point point into line. */
static bool mountinfo_match(char *line, const char *v1, char **ret_root, char **ret_point)
{
	char *f[6], *fstype, *super, *save = NULL, *sep;
	int i;

	sep = strstr(line, " - ");
	if (!sep)
		return false;
	*sep = 0;
	for (i = 0; i < 6; i++) {
		f[i] = strtok_r(i ? NULL : line, " ", &save);
		if (!f[i])
			return false;
	}
	save = NULL;
	fstype = strtok_r(sep + 3, " ", &save);
	if (!fstype || !strtok_r(NULL, " ", &save))   /* source */
		return false;
	super = strtok_r(NULL, " ", &save);
	if (!super)
		return false;
	if (v1 ? !streq(fstype, "cgroup") || !has_token(super, v1) : !streq(fstype, "cgroup2"))
		return false;
	unescape_octal(f[3]);
	unescape_octal(f[4]);
	if (f[3][0] != '/' || f[4][0] != '/')
		return false;
	*ret_root = f[3];
	*ret_point = f[4];
	return true;
}

static int mountinfo_find(int fd, const char *v1, char *root, size_t rlen, char *point, size_t plen)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int dfd = dup(fd);

	if (dfd < 0)
		return -errno;
	f = fdopen(dfd, "r");
	if (!f) {
		close(dfd);
		return -errno;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *r, *p;

		if ((size_t)n > MOUNTINFO_LINE_MAX)
			return -EINVAL;
		line[strcspn(line, "\n")] = 0;
		if (!mountinfo_match(line, v1, &r, &p))
			continue;
		if (snprintf(root, rlen, "%s", r) >= (int)rlen || snprintf(point, plen, "%s", p) >= (int)plen)
			return -ENAMETOOLONG;
		return 0;
	}
	return ferror(f) ? -EIO : -ENOENT;
}

int cgroup_parse_mountinfo(int fd, bool v1_freezer, char *ret_path, size_t len)
{
	char root[PATH_MAX], point[PATH_MAX];
	int r = mountinfo_find(fd, v1_freezer ? "freezer" : NULL, root, sizeof(root), point, sizeof(point));

	if (r < 0)
		return r;
	return snprintf(ret_path, len, "%s", point) < (int)len ? 0 : -ENAMETOOLONG;
}

/* /proc/PID/cgroup: "0::/path" (v2) or "N:ctrl,ctrl:/path" (v1); the path is
 * the rest of the line and may itself hold ':'. */
static int parse_self(int fd, const char *v1, char *ret_path, size_t len)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int dfd = dup(fd);

	if (dfd < 0)
		return -errno;
	f = fdopen(dfd, "r");
	if (!f) {
		close(dfd);
		return -errno;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		bool match;

		if (!b)
			return -EINVAL;
		line[strcspn(line, "\n")] = 0;
		*a = *b = 0;
		if (v1)
			match = has_token(a + 1, v1);
		else
			match = streq(line, "0") && a + 1 == b;
		if (!match)
			continue;
		if (b[1] != '/')
			return -EINVAL;
		return snprintf(ret_path, len, "%s", b + 1) < (int)len ? 0 : -ENAMETOOLONG;
	}
	return ferror(f) ? -EIO : -ENOENT;
}

int cgroup_parse_self(int fd, bool v1_freezer, char *ret_path, size_t len)
{
	return parse_self(fd, v1_freezer ? "freezer" : NULL, ret_path, len);
}

static int open_self(int fd, const char *path, int *ret_owned)
{
	if (fd >= 0)
		return fd;
	*ret_owned = open(path, O_RDONLY | O_CLOEXEC);
	return *ret_owned < 0 ? -errno : *ret_owned;
}

static int base_dir(int mountinfo_fd, int cgroup_fd, const char *v1, char *ret_path, size_t len)
{
	_cleanup_close_ int mi_owned = -1, cg_owned = -1;
	char root[PATH_MAX], point[PATH_MAX], self[PATH_MAX];
	const char *rel;
	size_t rootlen;
	int mi, cg, r;

	mi = open_self(mountinfo_fd, "/proc/self/mountinfo", &mi_owned);
	if (mi < 0)
		return mi;
	cg = open_self(cgroup_fd, "/proc/self/cgroup", &cg_owned);
	if (cg < 0)
		return cg;
	r = mountinfo_find(mi, v1, root, sizeof(root), point, sizeof(point));
	if (r < 0)
		return r;
	r = parse_self(cg, v1, self, sizeof(self));
	if (r < 0)
		return r;
	/* Our path is relative to the cgroup namespace root; the mount may show
	 * only a subtree of it (its root field). Outside that subtree, or above
	 * our namespace root ("/.."), this mount can't reach our cgroup. */
	if (strstr(self, "/..") || strstr(self, "/./"))
		return -ENOENT;
	rootlen = streq(root, "/") ? 0 : strlen(root);
	if (strncmp(self, root, rootlen) != 0 || (self[rootlen] != '/' && self[rootlen]))
		return -ENOENT;
	rel = self + rootlen;
	if (streq(rel, "/"))
		rel = "";
	if (streq(point, "/") && *rel)
		return snprintf(ret_path, len, "%s", rel) < (int)len ? 0 : -ENAMETOOLONG;
	return snprintf(ret_path, len, "%s%s", point, rel) < (int)len ? 0 : -ENAMETOOLONG;
}

int cgroup_base_dir(int mountinfo_fd, int cgroup_fd, bool v1_freezer, char *ret_path, size_t len)
{
	return base_dir(mountinfo_fd, cgroup_fd, v1_freezer ? "freezer" : NULL, ret_path, len);
}

int cgroup_v1_base_dir(const char *controller, char *ret_path, size_t len)
{
	return base_dir(-1, -1, controller, ret_path, len);
}

/* ---- small file helpers ---- */

int cgroup_write_file(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	size_t n = strlen(val);
	ssize_t w;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w = write(fd, val, n);
	if (w < 0)
		return -errno;
	return (size_t)w == n ? 0 : -EIO;
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

static bool file_exists(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* ---- create ---- */

static bool name_valid(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 200 && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..");
}

static int cgroup_is_empty(const struct cgroup *cg)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	int r = cgroup_pids(cg, &pids, &n);

	return r < 0 ? r : n == 0;
}

/* mkdir <base>/ckptd-<name>, or reuse it if a previous run left it empty. */
static int try_create(bool v1, const char *name, struct cgroup *cg)
{
	char base[PATH_MAX];
	bool created;
	int r;

	r = cgroup_base_dir(-1, -1, v1, base, sizeof(base));
	if (r < 0)
		return r;
	if (snprintf(cg->dir, sizeof(cg->dir), "%s/ckptd-%s", base, name) >= (int)sizeof(cg->dir))
		return -ENAMETOOLONG;
	cg->v1 = v1;
	created = mkdir(cg->dir, 0755) == 0;
	if (!created && errno != EEXIST)
		return -errno;
	if (!file_exists(cg->dir, v1 ? "freezer.state" : "cgroup.freeze")) {
		if (created)
			rmdir(cg->dir);
		return -EOPNOTSUPP;
	}
	if (!created) {
		r = cgroup_is_empty(cg);
		if (r <= 0)
			return r < 0 ? r : -EBUSY;
		/* a crashed run may have left it frozen: newcomers would freeze too */
		r = cgroup_thaw(cg);
		if (r < 0)
			return r;
	}
	return 0;
}

int cgroup_create(const char *name, struct cgroup *ret)
{
	struct cgroup cg = { 0 };
	int r, r1;

	if (!name_valid(name))
		return -EINVAL;
	r = try_create(false, name, &cg);
	if (r == -EBUSY)
		return r;   /* ours, in use: never a second one elsewhere */
	if (r < 0) {
		r1 = try_create(true, name, &cg);
		if (r1 < 0)
			return r1 == -ENOENT ? r : r1;
	}
	*ret = cg;
	return 0;
}

int cgroup_open(const struct cgroup *cg)
{
	int fd;

	if (cg->v1)
		return -EOPNOTSUPP;   /* CLONE_INTO_CGROUP is cgroup2 only */
	fd = open(cg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cgroup_attach(const struct cgroup *cg, pid_t pid)
{
	char buf[32];

	if (pid <= 0)
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%d", pid);
	return cgroup_write_file(cg->dir, "cgroup.procs", buf);
}

/* ---- freeze / thaw ---- */

/* 1 if cgroup.events says "frozen 1", 0 if "frozen 0". */
static int v2_frozen(int fd)
{
	char buf[256], *p;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = 0;
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, "frozen ", 7) == 0)
			return p[7] == '1';
	return -EINVAL;
}

static int v2_freeze(const struct cgroup *cg, int timeout_ms)
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	int64_t deadline = now_ms() + timeout_ms;
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.events", cg->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = cgroup_write_file(cg->dir, "cgroup.freeze", "1");
	if (r < 0)
		return r;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		int64_t left;

		r = v2_frozen(fd);
		if (r != 0)
			return r < 0 ? r : 0;
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = cr_cancel_errno();
		if (r < 0)
			return r;
		/* kernfs wakes POLLPRI on every cgroup.events change; the cap only
		 * guards against a missed wake-up */
		if (poll(&pfd, 1, (int)MIN(left, 100)) < 0 && errno != EINTR)
			return -errno;
	}
}

static int v1_freeze(const struct cgroup *cg, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int r, nap = 1;

	for (;;) {
		char state[64];

		/* Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst: while
		 * FREEZING, writing FROZEN again retries the tasks not yet frozen. */
		r = cgroup_write_file(cg->dir, "freezer.state", "FROZEN");
		if (r < 0)
			return r;
		r = read_file(cg->dir, "freezer.state", state, sizeof(state));
		if (r < 0)
			return r;
		if (strncmp(state, "FROZEN", 6) == 0)
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(nap);
		nap = MIN(nap * 2, 20);
	}
}

int cgroup_freeze(const struct cgroup *cg, int timeout_ms)
{
	int r;

	if (timeout_ms < 0)
		return -EINVAL;
	r = cg->v1 ? v1_freeze(cg, timeout_ms) : v2_freeze(cg, timeout_ms);
	if (r < 0)
		cgroup_thaw(cg);   /* never leave it frozen, nor half frozen */
	return r;
}

int cgroup_thaw(const struct cgroup *cg)
{
	return cgroup_write_file(cg->dir, cg->v1 ? "freezer.state" : "cgroup.freeze", cg->v1 ? "THAWED" : "0");
}

/* ---- pids, kill, remove ---- */

int cgroup_pids(const struct cgroup *cg, pid_t **ret_pids, size_t *ret_n)
{
	char path[PATH_MAX + 64];
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ pid_t *arr = NULL;
	size_t n = 0, len;
	char *p, *end;
	int r;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	arr = calloc(len / 2 + 1, sizeof(pid_t));   /* "N\n" at least 2 bytes each */
	if (!arr)
		return -ENOMEM;
	for (p = buf; *p; p = end + 1) {
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || *end != '\n' || errno || v <= 0 || v > INT32_MAX)
			return -EINVAL;
		arr[n++] = v;
	}
	*ret_pids = TAKE_PTR(arr);
	*ret_n = n;
	return 0;
}

static bool pid_listed(const pid_t *pids, size_t n, pid_t p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pids[i] == p)
			return true;
	return false;
}

/* SIGKILL what cgroup.procs lists, without hitting a reused pid: hold a pidfd
 * first, then signal only if the pid is still listed afterwards (if it is,
 * the pidfd's process is either that member or already dead). */
static int kill_listed(const struct cgroup *cg, size_t *ret_n)
{
	_cleanup_free_ pid_t *before = NULL, *after = NULL;
	_cleanup_free_ int *fds = NULL;
	size_t nb, na, i;
	int r;

	r = cgroup_pids(cg, &before, &nb);
	if (r < 0)
		return r;
	*ret_n = nb;
	if (!nb)
		return 0;
	fds = malloc(nb * sizeof(int));
	if (!fds)
		return -ENOMEM;
	for (i = 0; i < nb; i++) {
		fds[i] = syscall(SYS_pidfd_open, before[i], 0);
		if (fds[i] < 0)
			fds[i] = -errno;
	}
	r = cgroup_pids(cg, &after, &na);
	for (i = 0; i < nb; i++) {
		if (r >= 0 && pid_listed(after, na, before[i])) {
			if (fds[i] >= 0)
				syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0);
			else if (fds[i] == -ENOSYS)
				kill(before[i], SIGKILL);   /* no pidfds: accept the tiny race */
		}
		if (fds[i] >= 0)
			close(fds[i]);
	}
	return r < 0 ? r : 0;
}

int cgroup_kill_nowait(const struct cgroup *cg)
{
	size_t left;
	int r;

	r = cgroup_thaw(cg);
	if (r == -ENOENT)
		return 0;
	if (!cg->v1 && cgroup_write_file(cg->dir, "cgroup.kill", "1") == 0)
		return 0;
	r = kill_listed(cg, &left);
	return r == -ENOENT ? 0 : r;
}

int cgroup_kill(const struct cgroup *cg)
{
	int64_t deadline = now_ms() + KILL_TIMEOUT_MS;
	bool kill_file = false;
	int r;

	r = cgroup_thaw(cg);   /* v1 frozen tasks can't die */
	if (r == -ENOENT)
		return 0;      /* no cgroup, no members */
	if (!cg->v1)
		kill_file = cgroup_write_file(cg->dir, "cgroup.kill", "1") == 0;
	for (;;) {
		size_t left;

		if (kill_file) {
			r = cgroup_is_empty(cg);
			left = r == 0;
		} else
			r = kill_listed(cg, &left);
		if (r < 0)
			return r == -ENOENT ? 0 : r;
		if (!left)
			return 0;
		if (now_ms() >= deadline)
			return -EBUSY;
		sleep_ms(10);
	}
}

int cgroup_try_remove(const struct cgroup *cg)
{
	if (rmdir(cg->dir) == 0 || errno == ENOENT)
		return 0;
	return -errno;
}

int cgroup_remove(const struct cgroup *cg)
{
	int64_t deadline = now_ms() + REMOVE_TIMEOUT_MS;

	cgroup_thaw(cg);
	for (;;) {
		if (rmdir(cg->dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		/* members that were just killed leave the cgroup asynchronously */
		if (now_ms() >= deadline)
			return -EBUSY;
		sleep_ms(10);
	}
}
