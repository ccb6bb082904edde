// SPDX-License-Identifier: GPL-2.0-or-later
/* UTS and time namespaces of a container (see ns.h).
 *
 * CLONE_NEWTIME can't be given to clone3() for the init itself: a time
 * namespace takes its offsets only before any process entered it. So the
 * init, born in the host's, unshares one (which only becomes its children's),
 * writes the offsets, and then enters it itself: its children, the
 * workload or the restored tasks, are born into it. */
#include "ns.h"
#include "macro.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/sem.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSEC 1000000000ll

bool ns_hostname_valid(const char *name)
{
	size_t n = strlen(name), i, label = 0;

	if (n < 1 || n > NS_HOSTNAME_MAX)
		return false;
	for (i = 0; i <= n; i++) {
		char ch = name[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') && ch != '-')
			return false;
		if (label == 0 && ch == '-')
			return false;
		label++;
	}
	return true;
}

void ns_default_hostname(const char *container, char buf[NS_HOSTNAME_MAX + 1])
{
	size_t i;

	snprintf(buf, NS_HOSTNAME_MAX + 1, "%s", container);
	for (i = 0; buf[i]; i++)
		if (buf[i] == '_')
			buf[i] = '-';
}

/* want - the caller's clock now, as a timens_offsets line. */
static int offset_line(clockid_t id, const char *name, uint64_t want, char *buf, size_t len)
{
	struct timespec now;
	int64_t off;
	long long s, ns;

	if (clock_gettime(id, &now) < 0)
		return -errno;
	off = (int64_t)want - (now.tv_sec * NSEC + now.tv_nsec);
	s = off / NSEC;
	ns = off % NSEC;
	if (ns < 0) {
		ns += NSEC;
		s--;
	}
	return snprintf(buf, len, "%s %lld %lld\n", name, s, ns);
}

static int write_offsets(const struct cr_ns_config *cfg)
{
	_cleanup_close_ int fd = -1;
	char buf[128];
	ssize_t w;
	int n, m;

	n = offset_line(CLOCK_MONOTONIC, "monotonic", cfg->monotonic_ns, buf, sizeof(buf));
	if (n < 0)
		return n;
	m = offset_line(CLOCK_BOOTTIME, "boottime", cfg->boottime_ns, buf + n, sizeof(buf) - n);
	if (m < 0)
		return m;
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w = write(fd, buf, n + m);
	if (w < 0)
		return -errno;
	return w == n + m ? 0 : -EIO;
}

static int time_setup(const struct cr_ns_config *cfg)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (unshare(CLONE_NEWTIME) < 0)
		return -errno;
	if (cfg->has_clocks) {
		r = write_offsets(cfg);
		if (r < 0)
			return r;
	}
	fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return setns(fd, CLONE_NEWTIME) < 0 ? -errno : 0;
}

bool ns_net_at_clone;

int ns_setup(const struct cr_ns_config *cfg)
{
	/* a --userns init has its network namespace from clone3 already (its
	 * /sys needs one its user namespace owns): the image's must be private */
	if (ns_net_at_clone)
		return cfg->net_private ? 0 : -EINVAL;
	/* restart: the image's network is private; the worker configures it */
	if (cfg->net_private && unshare(CLONE_NEWNET) < 0)
		return -errno;
	if (sethostname(cfg->nodename, strlen(cfg->nodename)) < 0)
		return -errno;
	if (setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
		return -errno;
	return time_setup(cfg);
}

/* The set gets its old id: the IPC namespace is new and init alone in it,
 * so sem_next_id decides the id of the next semget. */
int ns_sem_create(const struct cr_sem_set *set)
{
	_cleanup_close_ int fd = -1;
	struct semid_ds ds;
	char buf[16];
	int n, id;

	fd = open("/proc/sys/kernel/sem_next_id", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d", set->id);
	if (write(fd, buf, n) != n)
		return -errno;
	id = semget(set->key, set->nsems, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		return -errno;
	if (id != set->id) {
		semctl(id, 0, IPC_RMID);
		return -EADDRINUSE;
	}
	if (semctl(id, 0, SETALL, set->values) < 0)
		return -errno;
	if (semctl(id, 0, IPC_STAT, &ds) < 0)
		return -errno;
	ds.sem_perm.uid = set->uid;
	ds.sem_perm.gid = set->gid;
	ds.sem_perm.mode = set->mode;
	return semctl(id, 0, IPC_SET, &ds) < 0 ? -errno : 0;
}
