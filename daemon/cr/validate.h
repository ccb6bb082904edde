// SPDX-License-Identifier: GPL-2.0-or-later
/* Whether a record can be restored, judged from the record alone.
 *
 * Restart runs these on every record it decodes (images are hostile
 * input), and the checkpoint runs the same ones on every record it is about
 * to write (dump_write_msg), so it fails before it kills anything rather
 * than write an image restart would refuse. Pure: no system calls, no
 * context beyond the arguments. Each returns NULL, or why the record is
 * refused (a static string, or buf when one is given). */
#pragma once
#include "image.pb-c.h"
#include "cr_limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The header's namespace fields (UTS names, clocks, network). */
const char *validate_header_ns(const Ckpt__Img__Header *h);
/* A container's network (Header.net). */
const char *validate_net(const Ckpt__Img__NetConfig *n);
const char *validate_file(const Ckpt__Img__File *f);
/* The character devices an image may name (the rest are refused). */
bool validate_chr_allowed(uint64_t rdev);
/* The header's terminal fields (console, controlling terminals). */
const char *validate_header_tty(const Ckpt__Img__Header *h);
/* A socket's state (validate_sock.c), whatever its family. */
const char *validate_socket(const Ckpt__Img__Socket *s);
bool validate_timer_armed(const Ckpt__Img__File *f);
const char *validate_epoll_target(const Ckpt__Img__EpollTarget *t);
/* A /proc file (FILE_PROC): which names reopen faithfully, and how. */
const char *validate_proc_path(const char *path, uint32_t flags);
/* The pid a valid /proc path names (/proc/PID/... or task/TID), 0 if none. */
pid_t validate_proc_pid(const char *path);
const char *validate_shm(const Ckpt__Img__Shm *m);
const char *validate_sysv_shm(const Ckpt__Img__SysvShm *m);
const char *validate_pipe(const Ckpt__Img__Pipe *m);
const char *validate_ghost(const Ckpt__Img__Ghost *m);
/* One fd table; fd numbers up to max_fd (the tree's). */
const char *validate_fds(const Ckpt__Img__Fds *m, uint32_t max_fd);
/* The whole tree; task_count from the header. On failure *ret_pid names
 * the entry at fault (0: the tree as a whole). */
const char *validate_tree(const Ckpt__Img__Tree *t, uint32_t task_count, pid_t *ret_pid);
/* The live process that makes again a group whose leader exited (its
 * first live member), or -1. */
int tree_group_creator(const Ckpt__Img__Tree *t, pid_t pgid);
/* Some process or thread of the tree has this id. */
bool tree_id_used(const Ckpt__Img__Tree *t, pid_t id);
/* A TASK record, without what depends on this CPU (its xstate features). */
const char *validate_task(const Ckpt__Img__Task *t, char *buf, size_t len);
const char *validate_thread(const Ckpt__Img__Thread *th, char *buf, size_t len);
/* The most a task's credentials may be (creds_allowed()): the container's
 * capability set and, for a container whose owner is not root, the
 * owner's ids and groups. */
struct cr_creds_limit {
	uint64_t caps;
	bool ids_fixed;
	uint32_t uid, gid;
	uint32_t ngroups;
	uint32_t groups[CR_MAX_GROUPS];
	uint32_t id_count;   /* run --userns: every id below it (as seen inside); 0: any */
};
/* A TASK's or THREAD's credentials within lim (NULL lim: no bound; NULL c:
 * refused, a task without credentials would keep its creator's). */
const char *validate_creds_allowed(const Ckpt__Img__Creds *c, const struct cr_creds_limit *lim, char *buf, size_t len);
/* An MM record; on failure *ret_index is the mapping at fault. Which
 * shared memory objects exist is the caller's to check. */
const char *validate_mm(const Ckpt__Img__Mm *mm, size_t *ret_index);
