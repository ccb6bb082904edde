// SPDX-License-Identifier: GPL-2.0-or-later
/* State shared by the steps of one restart (restart.c drives them). */
#pragma once
#include "cr.h"
#include "dump.h"
#include "image.h"
#include "image.pb-c.h"
#include "objhash.h"
#include "rtask.h"

#define SCRATCH_LEN (64u << 10)   /* our page of code + data inside a task being restored */

/* One process of the image being restored. */
struct rproc {
	const Ckpt__Img__TreeTask *tt;   /* its TREE entry */
	int parent;                   /* index in restore_ctx.procs; -1: init */
	Ckpt__Img__Task *task;
	Ckpt__Img__Mm *mm;
	Ckpt__Img__Thread **threads;  /* THREAD records, tt->threads order */
	size_t nthreads;
	pid_t host_pid;
	int pidfd;
	struct rtask rt;              /* the main thread, seized */
	struct rtask *trt;            /* the other threads, once created */
	size_t ntrt;                  /* ... how many of them are seized */
	uint64_t scratch;             /* SCRATCH_LEN bytes, RWX, syscall insn at +0 */
	bool seized;
	bool forked;                  /* made by fork from its restored parent: has its layout */
	bool mm_done;                 /* all its pages are in */
	int *stale_fds;               /* its children's pidfds, closed at release */
	size_t nstale;
	struct rlock *locks;          /* its POSIX locks, re-taken once every fd is in */
	size_t nlocks;
	struct rfown *owners;         /* its fds' SIGIO owners, set then too */
	size_t nowners;
	int *map_slots;               /* per mapping: its file's pool slot, or -1 */
	size_t nmap_slots;
};

/* The SIGIO owner and signal of a description, set through an fd. */
struct rfown {
	uint32_t fd, type;
	int32_t pid;
	uint32_t sig;
	bool async;                   /* the description had O_ASYNC */
};

/* A POSIX lock of a process, on its fd. */
struct rlock {
	uint32_t fd;
	Ckpt__Img__FileLock l;
};

/* The restart's phases, timed for its "us by phase" log line (restart.c). */
enum { RP_PLAN, RP_NS, RP_MEMORY, RP_FINISH, RP_LAZY, RP_RELEASED, RP_CLEANUP, RESTORE_PHASES };

struct restore_ctx {
	const struct cr_restart_req *req;
	struct cr_error *err;
	struct image_reader rd;
	struct page_push *push;       /* pages written into a task on a second thread (mm_restore.c) */
	Ckpt__Img__Header *hdr;
	struct cg_limits limits;   /* the header's run --memory/--pids/--cpus */
	uint64_t xfeatures;           /* this CPU's, probed with the header check */
	struct cr_net_config net;     /* the image's network (Header.net) */
	bool net_held;                /* its traffic dropped until the tasks run */
	struct objhash *objs;         /* FILE, PIPE, SHM ids -> struct restore_obj */
	int *pool;                    /* worker fds of files and shm objects ... */
	size_t npool, pool_cap;       /* ... which tasks get at pool_base + index */
	int pool_base;
	Ckpt__Img__Tree *tree;
	struct rproc *procs;          /* tree order */
	size_t nprocs;
	struct rproc *helpers;        /* session leaders that had exited (proc_restore.c) */
	Ckpt__Img__TreeTask *helper_tt;
	size_t nhelpers;
	size_t next;                  /* where the next TASK must be in the tree */
	struct rproc *cur;            /* the process whose records arrive now */
	struct restore_obj *cur_shm;  /* the shm object whose pages arrive now */
	struct ipc_rstate *ipc;       /* SysV segments made in its IPC namespace (ipc.c) */
	uint64_t pages;
	struct late_fd *late;         /* fds files_restore_late installs */
	size_t nlate;
	struct usk_rtab *usk;         /* unix sockets made so far (sock_unix.h) */
	struct sock_repaired *repaired;   /* TCP connections in repair mode (sock.h) */
	size_t nrepaired;
	struct tty_restore *ttys;     /* the ptys made so far (tty.c) */
	struct files_defer *defer;    /* files made at their holders (files_defer.c) */
	struct incr_chain *chain;     /* an incremental image's parents, indexed (incr.h) */
	const struct restart_plan *plan;  /* the checked metadata being replayed */
	struct mapped_file *mapped;   /* files the image maps, opened as the owner (mm_restore.c) */
	size_t nmapped;
	struct lazy_restore *lazy;    /* restart --lazy (lazy.h) */
	uint64_t t_phase[RESTORE_PHASES];   /* when each phase ended (restart.c) */
};

/* An object of the image, by id (objhash types OBJ_*). */
struct restore_obj {
	int slot;                     /* FILE, SHM: index in the pool; -1: none */
	int pipe[2];                  /* PIPE: both ends until the tree arrives */
	bool pipe_used[2];
	bool pipe_end_used;           /* PIPE: a FILE_PIPE took an end */
	bool fifo;                    /* PIPE: a named pipe's; pipe[0] is the worker's O_RDWR hold */
	bool ghost;                   /* SHM: a deleted file made again (not a memfd) */
	char *ghost_path;             /* ... where it was */
	int64_t ghost_mtime_ns;       /* ... its mtime, given back once its pages are in (-1: none saved) */
	uint64_t size;                /* SHM: object size */
	uint32_t seals;               /* SHM (memfd): applied before release */
	bool memfd;
	char *proc_path;              /* FILE (a /proc file): opened late, by its holder */
	uint32_t flags;               /* FILE: its open flags */
	uint32_t kind;                /* FILE: its FileKind */
	pid_t pidfd_pid;              /* FILE (a pidfd): the pid in the container */
	bool pidfd_thread;            /* ... PIDFD_THREAD */
	uint64_t pos;                 /* FILE: its offset */
	uint32_t pty_index;           /* FILE (a pty end): its index */
	/* FILE made only when its holders get it (files_defer.c): its
	 * record until then, the worker's fd while a holder still needs it */
	bool deferred;
	void *rec;
	size_t rec_len;
	int dfd;
	uint32_t users;               /* ... fd table entries that still need it */
	int rep;                      /* ... its entry in restore_ctx.repaired; -1: none */
};

/* An fd installed once every task exists (a /proc file naming them). */
struct late_fd {
	size_t proc;                  /* index in restore_ctx.procs */
	uint32_t fd, file_id;
	bool cloexec;
	bool has_own;                 /* its SIGIO owner, set once it is installed */
	struct rfown own;
};

/* The pool: objects the worker opened, handed to tasks at fixed numbers. */
int restore_pool_add(struct restore_ctx *ctx, int fd);   /* takes fd; returns its slot */
static inline int restore_pool_fd(const struct restore_ctx *ctx, int slot)
{
	return ctx->pool_base + slot;
}

/* files.c */
/* f (a file reopened by path) opened in the container's root as its
 * owner: the fd, or -errno with why in why (-ESTALE: not what was saved). */
int files_open_as_owner(struct restore_ctx *ctx, const Ckpt__Img__File *f, bool allow_changed, char *why, size_t len);
/* A task's working directory, opened in the container's root as its owner
 * (no symlink leads out of the root; a directory the owner may not enter
 * is refused): the fd, or -errno. */
int files_open_cwd(struct restore_ctx *ctx, const char *path);
int files_restore_file(struct restore_ctx *ctx, const void *payload, size_t len);
/* Make the object of file record f (the worker's fd), its locks taken. */
int files_make(struct restore_ctx *ctx, const Ckpt__Img__File *f);

/* files_defer.c: established TCP connections are made when their holders
 * get them, so that no process of the restart holds more than one task's
 * fds of them at a time. */
struct restart_plan;
/* Before the replay: which files the checkpoint's other records name
 * (epoll targets, descriptors in flight) and so must be made in order. */
int files_defer_scan(struct restore_ctx *ctx, const struct restart_plan *pl);
/* Whether the file of this record waits for its holders; if so, its object. */
int files_defer_file(struct restore_ctx *ctx, const Ckpt__Img__File *f, const void *payload, size_t len, bool *ret_deferred);
/* An fd of the current task whose file waits: installed by files_defer_deliver. */
int files_defer_fd(struct restore_ctx *ctx, struct restore_obj *o, const Ckpt__Img__Fd *e);
/* The tree: the channel the tasks receive their deferred files through, in the pool. */
int files_defer_channel(struct restore_ctx *ctx);
/* Every task exists: make each waiting file and install it in its holders. */
int files_defer_deliver(struct restore_ctx *ctx);
void files_defer_free(struct restore_ctx *ctx);
/* The FDS record: create the current process (spawn by init or fork by
 * its parent) and give it its fd table. */
int files_restore_fds(struct restore_ctx *ctx, const void *payload, size_t len);
/* Once every task exists: the fds on /proc files, opened by their tasks. */
int files_restore_late(struct restore_ctx *ctx);
/* evfd.c: make an eventfd, timerfd, signalfd or epoll (its targets
 * registered) as f says; a new fd. */
int evfd_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f);
/* At release, once p's pool is closed: its fds' SIGIO owners and its
 * POSIX locks, by injected fcntl (a lock someone took meanwhile fails the
 * restart). */
int files_restore_fd_state(struct restore_ctx *ctx, struct rproc *p);
/* pipe.c */
int pipe_restore(struct restore_ctx *ctx, const void *payload, size_t len);
/* The description of one end of pipe id (flags: its open flags); a new fd. */
int pipe_restore_end(struct restore_ctx *ctx, uint32_t id, uint32_t flags);
/* Once every file is in: close the ends no description uses. */
void pipe_restore_close_unused(struct restore_ctx *ctx);
/* A FIFO's bytes go into hold (taken: the worker's O_RDWR open of it). */
bool pipe_restore_fifo_held(struct restore_ctx *ctx, uint32_t id);
int pipe_restore_fifo(struct restore_ctx *ctx, uint32_t id, int hold);
/* ghost.c */
int ghost_restore(struct restore_ctx *ctx, const void *payload, size_t len);
/* The pool slot of t's removed working directory (Task.cwd_ghost), checked. */
int ghost_restore_cwd(struct restore_ctx *ctx, const Ckpt__Img__Task *t);
/* inotify.c */
int inotify_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f);
int inotify_restore_drain(struct restore_ctx *ctx);

/* fanotify.c */
int fanotify_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f);
int fanotify_restore_drain(struct restore_ctx *ctx);
/* shm.c */
int shm_restore(struct restore_ctx *ctx, const void *payload, size_t len);
int shm_restore_pages(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm, const void *pages, size_t len);
int shm_restore_seal(struct restore_ctx *ctx, bool late);

/* tree_restore.c */
int tree_restore(struct restore_ctx *ctx, const void *payload, size_t len);
/* proc_restore.c: create the current process at its pid (spawn.h for
 * init's children, an injected fork for the others), with its fds. */
int proc_restore_create(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__Fds *fds);
/* Zombies, then process groups, once every live process exists. */
int proc_restore_zombies(struct restore_ctx *ctx);
int proc_restore_groups(struct restore_ctx *ctx);
/* Helper leaders of process groups whose leader had exited, forked by a
 * live member, before the zombies and groups are made. */
int proc_restore_group_helpers(struct restore_ctx *ctx);
/* The helper leaders exit: their children go back to their parents. */
int proc_restore_end_helpers(struct restore_ctx *ctx);
/* thread_restore.c */
int thread_restore_record(struct restore_ctx *ctx, const void *payload, size_t len);
int thread_restore_create(struct restore_ctx *ctx, struct rproc *p);
int thread_restore_state(struct restore_ctx *ctx, struct rproc *p);
int thread_restore_hand_off(struct restore_ctx *ctx, struct rproc *p);

/* mm_restore.c */
/* Before the pool goes to init: every file the plan's mappings name,
 * opened as files are (files_open_as_owner), into the pool. */
int mm_restore_open_files(struct restore_ctx *ctx);
void mm_restore_files_free(struct restore_ctx *ctx);
int mm_restore_layout(struct restore_ctx *ctx, const void *payload, size_t len);
int mm_restore_pages(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm, const void *pages, size_t len);
/* Pages mm_restore_pages hands a second thread (the reader's payload, while
 * the next record is read) are in the task once this returns 0; then any
 * other record may act on the task. */
int mm_restore_pages_flush(struct restore_ctx *ctx);
/* Flush, ignoring its result, and end the thread. */
void mm_restore_pages_free(struct restore_ctx *ctx);
int mm_restore_drop(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm);
/* A PARENT_REF of an incremental image: those pages from its parents. */
int mm_restore_parent_ref(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm);
struct rbatch;
int mm_restore_finish(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b);
int mm_restore_lock_none(struct restore_ctx *ctx, struct rproc *p);
/* Batches of injected calls (rbatch.h) in p's scratch page. */
struct rbatch *restore_batch_new(struct rproc *p);
/* Run b in rt (a thread of p) and check every call; b is empty after. */
int restore_batch_run(struct restore_ctx *ctx, struct rproc *p, struct rtask *rt, struct rbatch *b, const char *what);
/* The same, but the results stay in b for the caller to read. */
int restore_batch_run_keep(struct restore_ctx *ctx, struct rproc *p, struct rtask *rt, struct rbatch *b, const char *what);
/* Run b first if it has no room for one more call with len bytes. */
int restore_batch_room(struct restore_ctx *ctx, struct rproc *p, struct rtask *rt, struct rbatch *b, size_t len, const char *what);
/* Seize a task spawned by init (p->pidfd), ready for injections. */
int restore_seize_spawned(struct restore_ctx *ctx, struct rproc *p);
/* A syscall instruction and the park loop a forked task runs (see arch). */
int mm_restore_plant_scratch(struct restore_ctx *ctx, struct rproc *p, uint64_t base);

/* task_restore.c */
int task_restore_check(struct restore_ctx *ctx, Ckpt__Img__Task *t);
/* Everything but pending signals, while the scratch page is there (the
 * zombies are forked after it: they inherit its signal actions). */
int task_restore_finish(struct restore_ctx *ctx, struct rproc *p);
/* POSIX timers and pending signals, then close the pool and unmap the scratch page. */
int task_restore_release(struct restore_ctx *ctx, struct rproc *p);
int task_restore_hand_off(struct restore_ctx *ctx, struct rproc *p);

/* Copy bytes into p's scratch page at off (>= PAGE_SZ: the data area);
 * returns their address in the task, or -errno. */
long restore_scratch_put(struct rproc *p, size_t off, const void *data, size_t len);
