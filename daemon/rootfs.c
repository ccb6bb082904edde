// SPDX-License-Identifier: GPL-2.0-or-later
/* The container's mount namespace (rootfs.h). */
#include "rootfs.h"
#include "macro.h"
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_CG_MOUNTS 32
#define FAIL(r, what) do { *ret_what = (what); return (r); } while (0)

struct cg_mounts {
	char path[MAX_CG_MOUNTS][CONTAIN_PATH_MAX];
	bool v2[MAX_CG_MOUNTS];
	size_t n;
};

/* The cgroup mounts of the host as init inherited them. */
static void cg_mounts_read(struct cg_mounts *m)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], mp[CONTAIN_PATH_MAX], fstype[32];

	m->n = 0;
	while (f && fgets(line, sizeof(line), f) && m->n < MAX_CG_MOUNTS) {
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", mp) != 1 || sscanf(dash + 3, "%31s", fstype) != 1)
			continue;
		if (!streq(fstype, "cgroup") && !streq(fstype, "cgroup2"))
			continue;
		if (strchr(mp, '\\'))   /* an escaped name: not one a system makes */
			continue;
		snprintf(m->path[m->n], sizeof(m->path[0]), "%s", mp);
		m->v2[m->n++] = streq(fstype, "cgroup2");
	}
}

static int mask_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;    /* nothing there to hide */
	return mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") < 0 ? -errno : 0;
}

static int mount_cgroup2(const char *path)
{
	return mount("cgroup2", path, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? -errno : 0;
}

/* The host's cgroup mounts go (detached: nothing left beneath to uncover);
 * each cgroup2 mount is made again in the container's cgroup namespace,
 * v1 hierarchies are not. */
static int cg_remount(const struct cg_mounts *m, bool userns)
{
	size_t i;
	int r;

	for (i = m->n; i-- > 0;) {
		if (umount2(m->path[i], MNT_DETACH) < 0) {
			if (errno != EINVAL)
				return -errno;
			/* locked (a user namespace's): covered instead, and the
			 * kernel mounts no cgroup2 right on the host's own root */
			if (userns && (r = mask_dir(m->path[i])) < 0)
				return r;
		}
		if (m->v2[i] && (r = mount_cgroup2(m->path[i])) < 0)
			return r;
	}
	return 0;
}

static int mkdir_p(char *path, mode_t mode)
{
	char *s;

	for (s = path + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*s = '/';
			return -errno;
		}
		*s = '/';
	}
	return mkdir(path, mode) < 0 && errno != EEXIST ? -errno : 0;
}

/* A mount point like src (a directory or a file) at path. */
static int make_target(char *path, bool dir)
{
	char *slash = strrchr(path, '/');
	int fd, r;

	if (dir)
		return mkdir_p(path, 0755);
	if (slash && slash != path) {
		*slash = '\0';
		r = mkdir_p(path, 0755);
		*slash = '/';
		if (r < 0)
			return r;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	return 0;
}

/* src bound at root + dst; mkdir: make the mount point if missing (only
 * under a root of the container's own, never in the host's tree). */
static int bind_one(const char *src, const char *root, const char *dst, bool ro, bool mk)
{
	char p[2 * CONTAIN_PATH_MAX];
	struct stat st;
	int r;

	if (stat(src, &st) < 0)
		return -errno;
	snprintf(p, sizeof(p), "%s%s", root, dst);
	if (mk && (r = make_target(p, S_ISDIR(st.st_mode))) < 0)
		return r;
	if (mount(src, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	if (ro && mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
		return -errno;
	return 0;
}

static int binds_setup(const struct cr_contain *k, const char *root)
{
	uint32_t i;
	int r;

	for (i = 0; i < k->nbinds && i < CONTAIN_MAX_BINDS; i++) {
		r = bind_one(k->binds[i].src, root, k->binds[i].dst, k->binds[i].ro, root[0] != '\0');
		if (r < 0)
			return r;
	}
	return 0;
}

/* /dev of a root of the container's own: the harmless devices of the host,
 * bound; ptys from its own devpts; a tmpfs for POSIX shared memory. */
static int dev_setup(const char *root)
{
	static const char *const devs[] = { "null", "zero", "full", "random", "urandom", "tty" };
	char p[2 * CONTAIN_PATH_MAX], src[32];
	size_t i;
	int r;

	snprintf(p, sizeof(p), "%s/dev", root);
	if ((r = mkdir_p(p, 0755)) < 0)
		return r;
	if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		return -errno;
	for (i = 0; i < ARRAY_SIZE(devs); i++) {
		snprintf(src, sizeof(src), "/dev/%s", devs[i]);
		snprintf(p, sizeof(p), "/dev/%s", devs[i]);
		if ((r = bind_one(src, root, p, false, true)) < 0)
			return r;
	}
	snprintf(p, sizeof(p), "%s/dev/shm", root);
	if (mkdir(p, 01777) < 0 || mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return -errno;
	snprintf(p, sizeof(p), "%s/dev/pts", root);
	if (mkdir(p, 0755) < 0)
		return -errno;
	snprintf(p, sizeof(p), "%s/dev/ptmx", root);
	return make_target(p, false);
}

/* userns: in a user namespace (run --userns) the host's mounts came in
 * locked: they can only be covered, and only CAP_SYS_ADMIN of the
 * namespace could take the cover off, which such a container never has. */
static int proc_setup(const char *root, bool userns)
{
	char p[CONTAIN_PATH_MAX + 32];
	int r;

	snprintf(p, sizeof(p), "%s/proc", root);
	if (root[0] && (r = mkdir_p(p, 0555)) < 0)
		return r;
	/* the host's /proc goes, not merely covered: nothing to uncover */
	if (!root[0] && umount2("/proc", MNT_DETACH) < 0 && !(userns && errno == EINVAL))
		return -errno;
	return mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? -errno : 0;
}

/* The container's own devpts: the ptys made inside get the same index
 * again in the fresh one a restart mounts, and the host's terminals are
 * out of sight. /dev/ptmx opens this instance's. */
static int pts_setup(void)
{
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
		return -errno;
	return mount("/dev/pts/ptmx", "/dev/ptmx", NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

static int sys_setup(const char *root)
{
	char p[CONTAIN_PATH_MAX + 32];
	int r;

	snprintf(p, sizeof(p), "%s/sys", root);
	if ((r = mkdir_p(p, 0555)) < 0)
		return r;
	if (mount("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	snprintf(p, sizeof(p), "%s/sys/fs/cgroup", root);
	return mount_cgroup2(p);
}

static int pivot(const char *root)
{
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return -errno;
	/* the host's tree, now stacked under ".", goes */
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return -errno;
	return 0;
}

static int root_setup(const struct cr_contain *k, const char **ret_what)
{
	const char *root = k->root;
	int r;

	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
		FAIL(-errno, "binding the root directory");
	if ((r = proc_setup(root, k->userns)) < 0)
		FAIL(r, "mounting /proc in the root");
	if ((r = dev_setup(root)) < 0)
		FAIL(r, "making /dev in the root");
	if ((r = sys_setup(root)) < 0)
		FAIL(r, "mounting /sys and its cgroup2 in the root");
	if ((r = binds_setup(k, root)) < 0)
		FAIL(r, "binding a --bind source");
	if ((r = pivot(root)) < 0)
		FAIL(r, "pivot_root into the root");
	if ((r = pts_setup()) < 0)
		FAIL(r, "mounting /dev/pts");
	return 0;
}

static int host_root_setup(const struct rootfs_config *cfg, const struct cg_mounts *cg, const char **ret_what)
{
	const struct cr_contain *k = cfg->contain;
	size_t i;
	int r;

	if ((r = proc_setup("", k->userns)) < 0)
		FAIL(r, "mounting /proc");
	if ((r = pts_setup()) < 0)
		FAIL(r, "mounting /dev/pts");
	if (!k->privileged) {
		if ((r = cg_remount(cg, k->userns)) < 0)
			FAIL(r, "mounting the container's cgroups");
		for (i = 0; i < ROOTFS_MAX_HIDE && cfg->hide[i]; i++)
			if ((r = mask_dir(cfg->hide[i])) < 0)
				FAIL(r, "masking ckptd's directories");
	}
	if ((r = binds_setup(k, "")) < 0)
		FAIL(r, "binding a --bind source");
	return 0;
}

int rootfs_setup(const struct rootfs_config *cfg, const char **ret_what)
{
	const struct cr_contain *k = cfg->contain;
	struct cg_mounts cg;

	/* our new mount namespace must not propagate back to the host's */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		FAIL(-errno, "making / private");
	cg_mounts_read(&cg);
	/* init already sits in the container's cgroup: that is the new root */
	if (!k->privileged && unshare(CLONE_NEWCGROUP) < 0)
		FAIL(-errno, "making the cgroup namespace");
	return k->root[0] ? root_setup(k, ret_what) : host_root_setup(cfg, &cg, ret_what);
}
