// SPDX-License-Identifier: GPL-2.0-or-later
/* cgroups for containers: locate mounts from mountinfo (never assumed), create
 * a container cgroup under ckptd's own, freeze/thaw, kill, remove.
 * cgroup v2 (cgroup.freeze) when available, the v1 freezer as fallback. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct cgroup {
	char dir[PATH_MAX];      /* v2 dir, or v1 freezer dir */
	bool v1;
};

/* Mount point of the first cgroup2 mount (v1: the hierarchy with "freezer"
 * in its super options) in a mountinfo text read from fd. */
int cgroup_parse_mountinfo(int fd, bool v1_freezer, char *ret_path, size_t len);
/* This process's path in the v2 hierarchy ("0::/x") or v1 freezer hierarchy,
 * from a /proc/PID/cgroup text read from fd. */
int cgroup_parse_self(int fd, bool v1_freezer, char *ret_path, size_t len);
/* ckptd's own cgroup dir in the v2 (or v1 freezer) hierarchy: the mount from
 * mountinfo joined with our path from /proc/PID/cgroup (minus the mount's
 * root). fds < 0 read /proc/self/{mountinfo,cgroup}. */
int cgroup_base_dir(int mountinfo_fd, int cgroup_fd, bool v1_freezer, char *ret_path, size_t len);
/* ckptd's own cgroup dir in the v1 hierarchy of CONTROLLER ("memory"). */
int cgroup_v1_base_dir(const char *controller, char *ret_path, size_t len);
/* Write val into DIR/FILE whole: 0, or -errno (-EIO: a short write). */
int cgroup_write_file(const char *dir, const char *file, const char *val);

/* Create (or reuse, if empty) <ckptd's cgroup>/ckptd-<name>. v2 first, v1 freezer fallback. */
int cgroup_create(const char *name, struct cgroup *ret);
/* Open the cgroup dir (O_DIRECTORY|O_CLOEXEC), for clone3(CLONE_INTO_CGROUP); v2 only. */
int cgroup_open(const struct cgroup *cg);
/* Move a process in (writes cgroup.procs). */
int cgroup_attach(const struct cgroup *cg, pid_t pid);
/* Freeze and wait until the kernel reports it frozen (timeout_ms), or thaw. */
int cgroup_freeze(const struct cgroup *cg, int timeout_ms);
int cgroup_thaw(const struct cgroup *cg);
/* SIGKILL every process in it (cgroup.kill on v2 if present, else by list). */
int cgroup_kill(const struct cgroup *cg);
/* The same, without waiting for them to be gone (for an event loop). */
int cgroup_kill_nowait(const struct cgroup *cg);
/* Pids listed in cgroup.procs. */
int cgroup_pids(const struct cgroup *cg, pid_t **ret_pids, size_t *ret_n);
/* One attempt at removing it: 0, -EBUSY while members are still leaving. */
int cgroup_try_remove(const struct cgroup *cg);
/* Remove the (empty) cgroup dir; thaws first. */
int cgroup_remove(const struct cgroup *cg);
