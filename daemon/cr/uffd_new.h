// SPDX-License-Identifier: GPL-2.0-or-later
/* A userfaultfd for a seized task's memory, made in the task and taken by us. */
#pragma once
#include "rtask.h"
#include <stdint.h>

/* Make a userfaultfd (flags: O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY)
 * for t's mm and put our own fd on it in *ret_uffd (FD_CLOEXEC). Through
 * /dev/userfaultfd, which we open and pass in, so that the task needs no
 * capability even for kernel-mode faults; through the userfaultfd()
 * syscall where the device is missing. scratch: the address of
 * UFFD_NEW_SCRATCH writable bytes in the task to use, or 0 (a page is
 * mapped and unmapped). t must be prepared (rtask_prepare). The task's fd
 * table and mappings are left exactly as they were: -EEXIST if an fd or
 * the page made in it could not be undone. Returns 0 or -errno; *ret_uffd
 * is untouched on failure. */
#define UFFD_NEW_SCRATCH 256
int uffd_new_in_task(struct rtask *t, uint64_t scratch, int flags, int *ret_uffd);

/* Put our fd (a userfaultfd or any other) into t's fd table, over a socket
 * pair made in t and closed again there: returns its number in t, or
 * -errno (-EEXIST if a close made in it failed). scratch:
 * UFFD_NEW_SCRATCH writable bytes in t. For a task whose other threads
 * may run: the fd table is not checked afterwards. The caller closes the
 * fd in t. */
long uffd_give_to_task(struct rtask *t, uint64_t scratch, int fd);
