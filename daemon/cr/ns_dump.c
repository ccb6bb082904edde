// SPDX-License-Identifier: GPL-2.0-or-later
/* The container's namespaces as its processes see them: UTS names read
 * from inside its UTS namespace, clocks from its time namespace's offsets.
 * Restart sets them again in the fresh init (spawn.h NS) before any task. */
#include "cr.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <time.h>

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
