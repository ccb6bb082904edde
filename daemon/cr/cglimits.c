// SPDX-License-Identifier: GPL-2.0-or-later
/* Resource limits of a container: cgroup2 files where the controller reaches
 * the container's cgroup, else the controller's v1 hierarchy (see cglimits.h). */
#include "cglimits.h"
#include "macro.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPU_PERIOD_US 100000u
#define V1_REMOVE_TRIES 100

const char *cg_limits_check(const struct cg_limits *l, char *buf, size_t len)
{
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (l->memory && (l->memory < CG_LIMIT_MEMORY_MIN || l->memory > CG_LIMIT_MEMORY_MAX))
		return "memory limit out of range (4 MiB to 1 PiB)";
	if (l->pids > CG_LIMIT_PIDS_MAX)
		return "process limit out of range (1 to 4194304)";
	if (ncpus < 1)
		ncpus = 1;
	if (l->cpus_milli > (uint64_t)ncpus * 1000) {
		snprintf(buf, len, "CPU limit %u.%03u beyond this machine's %ld CPUs", l->cpus_milli / 1000,
			 l->cpus_milli % 1000, ncpus);
		return buf;
	}
	return NULL;
}

/* Whether the container's cgroup2 dir lists the controller as enabled for it. */
static bool v2_has(const struct cgroup *cg, const char *ctrl)
{
	char path[PATH_MAX + 64], buf[512], *t, *save = NULL;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (!cg || cg->v1 || !cg->dir[0])
		return false;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", cg->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (streq(t, ctrl))
			return true;
	return false;
}

static int v1_dir(const char *ctrl, const char *name, char *dir, size_t len)
{
	char base[PATH_MAX];
	int r = cgroup_v1_base_dir(ctrl, base, sizeof(base));

	if (r < 0)
		return r;
	return snprintf(dir, len, "%s/ckptd-%s", base, name) < (int)len ? 0 : -ENAMETOOLONG;
}

/* One controller: v2 file (v2file = v2val), or v1 cgroup with file = val,
 * then (v1) the pid moved in. */
static int apply_one(const char *name, const struct cgroup *cg, const char *ctrl, const char *v2file,
		     const char *v2val, const char *v1file, const char *v1val, const char *v1file2,
		     const char *v1val2, pid_t pid, char *why, size_t whylen)
{
	char dir[PATH_MAX + 64], buf[32];
	int r;

	if (v2_has(cg, ctrl)) {
		r = cgroup_write_file(cg->dir, v2file, v2val);
		if (r < 0)
			snprintf(why, whylen, "writing %s/%s: %s", cg->dir, v2file, strerror(-r));
		return r;
	}
	r = v1_dir(ctrl, name, dir, sizeof(dir));
	if (r < 0) {
		snprintf(why, whylen, "this machine has no %s cgroup controller ckptd can use (neither enabled on cgroup2 for the container's cgroup nor a v1 hierarchy)", ctrl);
		return -EOPNOTSUPP;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(why, whylen, "making cgroup %s: %s", dir, strerror(-r));
		return r;
	}
	if (v1file2 && (r = cgroup_write_file(dir, v1file2, v1val2)) < 0) {
		snprintf(why, whylen, "writing %s/%s: %s", dir, v1file2, strerror(-r));
		return r;
	}
	r = cgroup_write_file(dir, v1file, v1val);
	if (r < 0) {
		snprintf(why, whylen, "writing %s/%s: %s", dir, v1file, strerror(-r));
		return r;
	}
	snprintf(buf, sizeof(buf), "%d", pid);
	r = cgroup_write_file(dir, "cgroup.procs", buf);
	if (r < 0)
		snprintf(why, whylen, "moving init %d into %s: %s", pid, dir, strerror(-r));
	return r;
}

int cg_limits_apply(const char *name, const struct cgroup *cg, const struct cg_limits *l, pid_t pid, char *why,
		    size_t whylen)
{
	char a[64], b[64];
	int r;

	if (!cg_limits_any(l))
		return 0;
	if (pid <= 0 || cg_limits_check(l, why, whylen))
		return -EINVAL;
	if (l->memory) {
		snprintf(a, sizeof(a), "%" PRIu64, l->memory);
		r = apply_one(name, cg, "memory", "memory.max", a, "memory.limit_in_bytes", a, NULL, NULL, pid, why,
			      whylen);
		if (r < 0)
			return r;
	}
	if (l->pids) {
		snprintf(a, sizeof(a), "%u", l->pids);
		r = apply_one(name, cg, "pids", "pids.max", a, "pids.max", a, NULL, NULL, pid, why, whylen);
		if (r < 0)
			return r;
	}
	if (l->cpus_milli) {
		uint64_t quota = (uint64_t)l->cpus_milli * CPU_PERIOD_US / 1000;

		snprintf(a, sizeof(a), "%" PRIu64 " %u", quota, CPU_PERIOD_US);
		snprintf(b, sizeof(b), "%" PRIu64, quota);
		r = apply_one(name, cg, "cpu", "cpu.max", a, "cpu.cfs_quota_us", b, "cpu.cfs_period_us", "100000", pid,
			      why, whylen);
		if (r < 0)
			return r;
	}
	return 0;
}

void cg_limits_remove(const char *name)
{
	static const char *const ctrls[] = { "memory", "pids", "cpu" };
	char dir[PATH_MAX + 64];
	size_t i;
	int t;

	for (i = 0; i < ARRAY_SIZE(ctrls); i++) {
		if (v1_dir(ctrls[i], name, dir, sizeof(dir)) < 0)
			continue;
		/* killed members leave asynchronously, after the v2 cgroup emptied */
		for (t = 0; t < V1_REMOVE_TRIES && rmdir(dir) < 0 && errno == EBUSY; t++)
			poll(NULL, 0, 10);
	}
}
