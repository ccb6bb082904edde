// SPDX-License-Identifier: GPL-2.0-or-later
/* The end of a background copy (snapshot.h): lifting the write-protection
 * from inside the program.
 *
 * Making page-table entries writable again costs far more than protecting
 * them did: some 1.7 s for 1 GiB of small pages on a paravirtualised VM.
 * Made by another process (the worker, through its userfaultfd), those
 * calls stall the program, and much of the machine, for as long, whatever
 * their size; made by a thread of the program itself, a call of a page
 * table's worth holds up that process alone, for a few milliseconds. So
 * one thread of each process is borrowed for a moment at a time (its
 * other threads held in their stops meanwhile): seized, given the
 * userfaultfd, made to lift a few megabytes, cleaned up and let go, then
 * the process is left to run at least as long before the next moment.
 * Nothing of it stays in the process between two moments, and no thread
 * of it runs while something of ours is in it. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct snap_lift_range {
	uint64_t start, end;     /* page-aligned, registered with the userfaultfd */
};

struct snap_lift_stats {
	uint64_t bytes;          /* lifted from inside */
	uint64_t stops;          /* moments a thread was borrowed */
	uint64_t longest_us;     /* the longest of them */
	uint64_t us;             /* from the first moment to the last */
	pid_t tid;               /* the thread borrowed last */
};

/* Lift the protection of the n ranges (ascending) of process pid, whose
 * userfaultfd uffd is ours, from inside it; the handler of its faults
 * keeps running meanwhile. mem_fd: its /proc/PID/mem opened at the
 * freeze, which tells whether that mm is still the process's (an exec
 * or a reused pid is left alone). Returns 0 when all is lifted, or
 * -errno with the reason in why (-ECANCELED: the checkpoint was): what is
 * left then is lifted by unregistering, from outside, as before. The
 * process or its mm gone is 0. */
int snap_lift(pid_t pid, int uffd, int mem_fd, const struct snap_lift_range *r, size_t n,
	      struct snap_lift_stats *st, char *why, size_t whylen);
