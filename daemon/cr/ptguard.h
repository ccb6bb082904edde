// SPDX-License-Identifier: GPL-2.0-or-later
/* A guard ties a task's life to this process's through the kernel: a
 * thread of its own holds the task PTRACE_SEIZEd with PTRACE_O_EXITKILL
 * and passes on every stop the task reports (each signal delivered, a
 * group stop), so the task runs as it would untraced; should this process
 * die by any means, SIGKILL included, the kernel kills the task. A
 * container's init killed so takes its whole pid namespace with it.
 *
 * The process that starts a guard must keep SIGCHLD blocked in every one
 * of its threads (the guard thread learns of the task's stops from a
 * signalfd) and must have no children of its own waiting to be reaped. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

struct ptguard;

/* Start guarding pid, once after_fd (a pidfd of whatever traces pid
 * now, or -1) reports that process's exit: a task is traced by one
 * tracer at a time. */
int ptguard_start(struct ptguard **ret, pid_t pid, int after_fd);
/* Let the task go (detached, as it was: running, or stopped by a signal)
 * and end the guard thread. g may be NULL. */
void ptguard_stop(struct ptguard *g);
/* Should the guard fail while the task lives (it could not be seized:
 * traced by another, say), the task is not tied to this process: the
 * caller must act on it. This eventfd then becomes readable (-1 for a
 * NULL g), and ptguard_error says why (-errno; 0 while all is well). */
int ptguard_fail_fd(const struct ptguard *g);
int ptguard_error(const struct ptguard *g);
/* One stop st (waitpid's status) of a task traced by the calling thread
 * passed on as the task would take it untraced: a signal about to be
 * delivered is delivered, a group stop held (PTRACE_LISTEN) until SIGCONT,
 * any other stop (an event, an interrupt) resumed; detach: the task let
 * go at this stop instead, its signal delivered, its group stop kept.
 * False once the task is no longer traced (gone, or let go). */
bool ptguard_pass_on(pid_t pid, int st, bool detach);
