// SPDX-License-Identifier: GPL-2.0-or-later
/* The container's namespaces as its processes see them: UTS names read
 * from inside its UTS namespace, clocks from its time namespace's offsets,
 * SysV semaphore sets from inside its IPC namespace (its other IPC objects:
 * ipc.c). Restart sets them again in the fresh init (spawn.h NS and SEM)
 * before any task. */
#include "cr.h"
#include "log.h"
#include "macro.h"
#include "dump.h"
#include "ipc.h"
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define NSEC 1000000000ll

/* uname() answers for the caller's UTS namespace: enter init's, read, and
 * come back (a worker is single-threaded and owns nothing there). */
static int read_uts(pid_t pid, struct cr_ns_config *cfg)
{
	_cleanup_close_ int self = -1, target = -1;
	char path[64];
	struct utsname u;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/ns/uts", pid);
	self = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0)
		return -errno;
	if (setns(target, CLONE_NEWUTS) < 0)
		return -errno;
	if (uname(&u) < 0)
		r = -errno;
	if (setns(self, CLONE_NEWUTS) < 0)
		return -errno;
	if (r < 0)
		return r;
	snprintf(cfg->nodename, sizeof(cfg->nodename), "%s", u.nodename);
	snprintf(cfg->domainname, sizeof(cfg->domainname), "%s", u.domainname);
	return 0;
}

/* /proc/PID/timens_offsets: "monotonic S N" and "boottime S N" lines. */
static int read_offsets(pid_t pid, int64_t *mono, int64_t *boot)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], name[16];
	long long s, ns;
	int seen = 0;

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%15s %lld %lld", name, &s, &ns) == 3) {
		if (ns < 0 || ns >= NSEC || s > INT32_MAX * 4ll || s < -(INT32_MAX * 4ll))
			return -ERANGE;
		if (streq(name, "monotonic")) {
			*mono = s * NSEC + ns;
			seen |= 1;
		} else if (streq(name, "boottime")) {
			*boot = s * NSEC + ns;
			seen |= 2;
		}
	}
	return seen == 3 ? 0 : -EPROTO;
}

static int clock_with(clockid_t id, int64_t off, uint64_t *ret)
{
	struct timespec ts;
	int64_t v;

	if (clock_gettime(id, &ts) < 0)
		return -errno;
	v = ts.tv_sec * NSEC + ts.tv_nsec + off;
	if (v < 0 || (uint64_t)v >= CR_CLOCK_MAX_NS)
		return -ERANGE;
	*ret = v;
	return 0;
}

int cr_ns_read(pid_t init_pid, struct cr_ns_config *ret)
{
	struct cr_ns_config cfg = { .has_clocks = true };
	int64_t mono = 0, boot = 0;
	int r;

	r = read_uts(init_pid, &cfg);
	if (r >= 0)
		r = read_offsets(init_pid, &mono, &boot);
	if (r >= 0)
		r = clock_with(CLOCK_MONOTONIC, mono, &cfg.monotonic_ns);
	if (r >= 0)
		r = clock_with(CLOCK_BOOTTIME, boot, &cfg.boottime_ns);
	if (r < 0)
		return r;
	*ret = cfg;
	return 0;
}

/* ---- the IPC namespace ---- */

/* The lines of a /proc/sysvipc file after its header, as read from inside
 * the container's IPC namespace (the file shows the opener's). */
static FILE *sysvipc_open(const char *name)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", name);
	f = fopen(path, "re");
	if (f && !fgets(line, sizeof(line), f)) {
		fclose(f);
		errno = EPROTO;
		return NULL;
	}
	return f;
}

static int read_sems(struct cr_error *err, struct cr_sem_set **ret, size_t *ret_n)
{
	_cleanup_fclose_ FILE *f = sysvipc_open("sem");
	_cleanup_free_ struct cr_sem_set *sets = NULL;
	struct cr_sem_set *s;
	char obj[96];
	int key, id;
	unsigned long mode, nsems, uid, gid;
	size_t n = 0;

	if (!f)
		return cr_fail(err, CR_ERR_KERNEL, errno, "reading /proc/sysvipc/sem of the container's IPC namespace");
	while (fscanf(f, "%d %d %lo %lu %lu %lu %*[^\n]", &key, &id, &mode, &nsems, &uid, &gid) == 6) {
		snprintf(obj, sizeof(obj), "SysV semaphore set key %#x (semid %d)", (unsigned)key, id);
		if (n >= CR_MAX_SEM_SETS)
			return cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "more than %d semaphore sets", CR_MAX_SEM_SETS);
		if (nsems < 1 || nsems > CR_SEM_MAX_NSEMS)
			return cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "%lu semaphores, at most %d are saved",
					   nsems, CR_SEM_MAX_NSEMS);
		s = realloc(sets, (n + 1) * sizeof(*sets));
		if (!s)
			return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "semaphore sets");
		sets = s;
		s = &sets[n];
		*s = (struct cr_sem_set){ .key = key, .id = id, .mode = mode & 0777, .uid = uid, .gid = gid,
					  .nsems = nsems };
		if (semctl(id, 0, GETALL, s->values) < 0)
			return cr_fail_obj(err, CR_ERR_KERNEL, errno, obj, "reading its values");
		n++;
	}
	*ret = TAKE_PTR(sets);
	*ret_n = n;
	return 0;
}

int ns_ipc_read(pid_t init_pid, struct cr_error *err, struct ns_ipc *ret)
{
	_cleanup_close_ int self = -1, target = -1;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", init_pid);
	self = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	target = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0 || setns(target, CLONE_NEWIPC) < 0)
		return cr_fail(err, CR_ERR_KERNEL, errno, "entering the IPC namespace of the container (init %d)", init_pid);
	r = read_sems(err, &ret->sems, &ret->nsems);
	if (r >= 0)
		r = ipc_read(err, ret);
	if (setns(self, CLONE_NEWIPC) < 0 && r >= 0)
		r = cr_fail(err, CR_ERR_KERNEL, errno, "leaving the IPC namespace of the container");
	return r;
}
