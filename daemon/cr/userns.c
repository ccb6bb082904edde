// SPDX-License-Identifier: GPL-2.0-or-later
/* A container's user namespace (userns.h). */
#include "userns.h"
#include "macro.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *userns_range_check(uint32_t base, uint32_t count)
{
	if (count == 0 || count > USERNS_COUNT)
		return "count out of range (1..65536)";
	if (base == 0)
		return "it would map the host's root";
	if ((uint64_t)base + count > 0x80000000ull)
		return "it reaches ids with the sign bit set";
	return NULL;
}

bool userns_overlap(struct userns_range a, struct userns_range b)
{
	return (uint64_t)a.base < (uint64_t)b.base + b.count && (uint64_t)b.base < (uint64_t)a.base + a.count;
}

int userns_pick(const struct userns_range *used, size_t n, uint32_t *ret_base)
{
	for (uint32_t slot = 0; slot < USERNS_POOL_SLOTS; slot++) {
		struct userns_range r = { USERNS_POOL_START + slot * USERNS_COUNT, USERNS_COUNT };
		size_t i;

		for (i = 0; i < n && !userns_overlap(r, used[i]); i++)
			;
		if (i == n) {
			*ret_base = r.base;
			return 0;
		}
	}
	return -ENOSPC;
}

const char *userns_map_check(Ckpt__Img__IdMapExtent *const *m, size_t n)
{
	if (n > USERNS_MAX_EXTENTS)
		return "more than 5 extents";
	for (size_t i = 0; i < n; i++) {
		const Ckpt__Img__IdMapExtent *e = m[i];

		if (e->count == 0 || (uint64_t)e->inside + e->count > 0x100000000ull - 1 ||
		    (uint64_t)e->outside + e->count > 0x100000000ull - 1)
			return "an extent empty or wrapping";
		if (e->outside == 0)
			return "an extent maps the host's root";
		for (size_t k = 0; k < i; k++) {
			struct userns_range a = { e->inside, e->count }, b = { m[k]->inside, m[k]->count };
			struct userns_range c = { e->outside, e->count }, d = { m[k]->outside, m[k]->count };

			if (userns_overlap(a, b) || userns_overlap(c, d))
				return "two extents overlap";
		}
	}
	return NULL;
}

bool userns_map_is(Ckpt__Img__IdMapExtent *const *m, size_t n, uint32_t base, uint32_t count)
{
	return n == 1 && m[0]->inside == 0 && m[0]->outside == base && m[0]->count == count;
}

static int write_map(pid_t pid, const char *file, const char *line)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, line, strlen(line));
	if (n < 0)
		return -errno;
	return (size_t)n == strlen(line) ? 0 : -EIO;
}

int userns_write_maps(pid_t pid, uint32_t base, uint32_t count)
{
	char line[64];
	int r;

	snprintf(line, sizeof(line), "0 %u %u\n", base, count);
	r = write_map(pid, "uid_map", line);
	return r < 0 ? r : write_map(pid, "gid_map", line);
}

int userns_become_root(void)
{
	/* raw calls: this runs in a fresh clone, one thread, no glibc setxid sync needed */
	if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, 0, 0, 0) < 0 ||
	    syscall(SYS_setresuid, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

static bool inside(uint32_t *id, uint32_t base, uint32_t count, uint32_t *ret_bad)
{
	if (*id < base || *id - base >= count) {
		*ret_bad = *id;
		return false;
	}
	*id -= base;
	return true;
}

bool userns_status_inside(struct proc_status *st, uint32_t base, uint32_t count, uint32_t *ret_bad)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!inside(&st->uid[i], base, count, ret_bad) || !inside(&st->gid[i], base, count, ret_bad))
			return false;
	for (i = 0; i < st->ngroups && i < (int)ARRAY_SIZE(st->groups); i++)
		if (!inside(&st->groups[i], base, count, ret_bad))
			return false;
	return true;
}
