// SPDX-License-Identifier: GPL-2.0-or-later
/* The exit watch of a background copy (snapshot.h): while the copy runs,
 * a thread of its own keeps every thread of the watched processes
 * PTRACE_SEIZEd with PTRACE_O_TRACEEXIT (and PTRACE_O_TRACECLONE, for the
 * threads they start). A thread that exits stops in do_exit before it
 * lets go of its mm; when it is the last holder of that mm, save() reads
 * the rest of the process through its /proc/PID/mem there, and only then
 * does the thread go on exiting. Every other stop is passed on as the
 * program would take it untraced (ptguard_pass_on), and everything is let
 * go at the end. No PTRACE_O_EXITKILL: should this process die, the
 * kernel lets the threads go, running. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

struct snap_exit;

/* The process pids[i] (0: not watched) is about to lose its memory. */
typedef void (*snap_exit_save_fn)(void *arg, size_t i);

/* Watch the n processes pids; save is called from the watch's thread. */
int snap_exit_start(struct snap_exit **ret, const pid_t *pids, size_t n, snap_exit_save_fn save, void *arg);
/* Let every thread go and end the watch. w may be NULL. */
void snap_exit_stop(struct snap_exit *w);
