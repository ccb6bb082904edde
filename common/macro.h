// SPDX-License-Identifier: GPL-2.0-or-later
/* Small helpers shared by ckptd and ckptctl: cleanup attributes and friends. */
#pragma once
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
#define streq(a, b) (strcmp((a), (b)) == 0)
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((typeof(x))(a) - 1))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Hand ownership out of a cleanup variable. */
#define TAKE_PTR(p) ({ typeof(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

/* Return -errno, never a bare -1; errno is assumed positive and set. */
static inline int negerrno(void) { return errno > 0 ? -errno : -EIO; }

/* Room for element n of the array *vp (cap allocated, elem bytes each):
 * doubled when full, first elements the first time. Overflow-checked by
 * reallocarray. 0, or -ENOMEM with *vp and *cap as they were. */
static inline int grow_array(void *vp, size_t *cap, size_t n, size_t elem, size_t first)
{
	void **v = vp;
	size_t c;
	void *nv;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : first;
	if (c < *cap || !(nv = reallocarray(*v, c, elem)))
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}
#define GROW(v, cap, n, first) grow_array(&(v), &(cap), (n), sizeof(*(v)), (first))

/* Microseconds on the monotonic clock: for durations and deadlines. */
static inline uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
