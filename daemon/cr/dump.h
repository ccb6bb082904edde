// SPDX-License-Identifier: GPL-2.0-or-later
/* State shared by the steps of one checkpoint (checkpoint.c drives them). */
#pragma once
#include "cr.h"
#include "image.h"
#include "image.pb-c.h"
#include "lazy_rule.h"
#include "objhash.h"
#include "plan.h"
#include "rtask.h"
#include "proc.h"
#include <stdbool.h>
#include <sys/stat.h>

/* One process of the container (or a zombie), as checkpoint sees it. */
struct dump_proc {
	pid_t pid;                    /* host pid */
	pid_t nspid, nsppid, nspgid, nssid;   /* inside the container */
	int parent;                   /* index in dump_ctx.procs; -1: init */
	bool zombie;
	int wait_status;              /* zombie: what wait() will report */
	char comm[16];                /* zombie: its name */
	int exit_signal;
	struct proc_status st;        /* main thread's status, read while frozen */
	struct proc_stat ps;          /* its stat, read then too */
	pid_t *tids, *nstids;         /* host and ns thread ids; [0] is the main thread */
	size_t ntids;
	struct rtask *rt;             /* per thread, once seized */
	bool *seized;
	struct proc_vma *vmas;        /* smaps, read by the first pass */
	size_t nvmas;
	Ckpt__Img__Vma *vma_ents;     /* ... classified then, for the MM record */
	Ckpt__Img__Vma **vma_ptrs;
	size_t nvma_ents;
	Ckpt__Img__Fd *fds;           /* the fd table, built by the first pass */
	size_t nfds;
	bool cwd_ghost;               /* its cwd was removed: the Ghost made for it ... */
	uint32_t cwd_ghost_id;        /* ... by the first pass */
	bool undo_shared;             /* its threads share a SEM_UNDO list, read last (sem_undo.h) */
	bool undo_moved;              /* ... its threads left it to have it read ... */
	bool undo_back;               /* ... and its main thread alone took it back */
	struct lazy_area *rseq;       /* its threads' rseq areas, as registered */
	size_t nrseq;
	uint32_t mlockall;            /* what the Task record says of mlockall() */
};

/* What to read for one segment of pages, once the metadata is out
 * (dump_page_jobs_run). Fixed while the container is stopped: which task or
 * object, not yet its pages. */
struct page_job {
	uint32_t seg;                 /* its SEGMENT's index */
	Ckpt__Img__SegmentOwner owner;
	int32_t id;                   /* the Segment's id: the task's pid in the container, the object's id */
	size_t proc;                  /* SEG_TASK: index in dump_ctx.procs */
	int fd;                       /* objects: the object, open (owned); else -1 */
	uint64_t size;                /* ... and its size */
};

struct dump_ctx {
	const struct cr_checkpoint_req *req;
	struct cr_error *err;
	struct image_writer w;
	struct restart_plan meta;     /* the metadata part, held until it is complete and checked */
	struct page_job *jobs;        /* one per SEGMENT of meta, in order */
	size_t njobs;
	struct objhash *files;        /* open file descriptions, written once */
	void *pagebuf;                /* staging for page data */
	size_t pagebuf_len;
	void *pagering[2];            /* a task's pages, read into each in turn: the MAC
				       * thread reads one while the next is filled */
	unsigned pagering_next;
	uint64_t pages;
	uint64_t vdso_hash;           /* of the first task's [vdso] */
	uint64_t vdso_size, vvar_size, vvar_vclock_size;
	struct proc_status init_st;   /* the container's init, for credentials */
	struct check_base *check;     /* ... and what else every thread shares with it */
	struct dump_proc *procs;      /* parents before children */
	size_t nprocs;
	int max_fd;
	struct sleep_census *sleeps;  /* threads asleep before the freeze (sleep.h) */
	const struct ns_ipc *ipc;     /* its IPC namespace's objects (SysV shm for mm_dump) */
	struct proc_lock *locks;      /* every lock saved, as its fdinfo showed it ... */
	size_t nlocks;                /* ... for task_check_locks to account for */
	struct usk_table *usk;        /* the container's unix sockets, once one is saved (sock_unix.h) */
	struct sock_held *held;       /* socket inodes the container's tasks hold (sock_held.c) */
	size_t nheld;
	bool held_read;
	struct sock_repaired *repaired;   /* TCP connections in repair mode (sock.h) */
	size_t nrepaired;
	struct tcp_pend *tcp_pend;    /* TCP sockets of the network, for accept queues (sock_tcp_pending.c) */
	struct tty_dump *ttys;        /* the container's ptys (tty.c) */
	struct snapshot *snap;        /* a background copy under way (snapshot.h) */
	struct snapshot *snap_state;  /* ... its userfaultfds and pages, from the first one taken */
	struct incr_state *incr;      /* write tracking of --incremental (incr.h) */
};

/* tree_dump.c: list the container's processes and threads (frozen), check
 * what can be rebuilt, write the TREE record. */
int tree_collect(struct dump_ctx *ctx);
int tree_check(struct dump_ctx *ctx);
int tree_dump(struct dump_ctx *ctx);
/* Refuse p if a child of its needs a session helper (its session's leader
 * exited) and p, not init, is no child subreaper to adopt it back. */
int tree_check_reaper(struct dump_ctx *ctx, const struct dump_proc *p, bool subreaper);
void tree_free(struct dump_ctx *ctx);

/* task_check.c: what every thread must share with init (credentials,
 * seccomp, namespaces, cgroup, LSM label); read while frozen. */
/* Inside the container's IPC namespace: its semaphore sets, segments and
 * queues (ipc.h; ipc_free() them). */
struct ns_ipc;
int ns_ipc_read(pid_t init_pid, struct cr_error *err, struct ns_ipc *ret);
int task_check_init(struct dump_ctx *ctx);
int task_check(struct dump_ctx *ctx, const struct dump_proc *p);
/* Locks held by the container's tasks that no fd shows (after files_collect). */
int task_check_locks(struct dump_ctx *ctx);
void task_check_free(struct dump_ctx *ctx);

/* task_dump.c: a process's own state and its threads' (TASK, THREAD*);
 * uses injected syscalls through p->rt (prepared). */
int task_dump(struct dump_ctx *ctx, struct dump_proc *p);
/* files.c: FILE (PIPE, SHM) records for descriptions not yet written and
 * p->fds (first pass); the FDS record (second pass). */
int files_collect(struct dump_ctx *ctx, struct dump_proc *p);
int files_dump_fds(struct dump_ctx *ctx, struct dump_proc *p);
/* The SIGIO owner and signal of p's fds, by batches of injected fcntl
 * (task_dump, in its scratch memory: code, data and table addresses). */
int files_dump_owners(struct dump_ctx *ctx, struct dump_proc *p, uint64_t code, uint64_t data, uint64_t table);
/* Reopen FILE f of task pid's fd (stat st) as restart will, and close it:
 * refuses what restart could not reopen. */
int files_probe(struct dump_ctx *ctx, pid_t pid, int fd, const Ckpt__Img__File *f, const struct stat *st);
/* A mapped file (path, as restart opens it with flags) opened as restart
 * will: from pid's root, as the owner, the same file as st. obj names it. */
int files_probe_mapped(struct dump_ctx *ctx, pid_t pid, const char *path, uint32_t flags, const struct stat *st, const char *obj);
/* dump_write.c: write one metadata record of task pid (host pid; 0: none)
 * after checking it as restart will (validate.h): a record restart would
 * refuse fails the checkpoint, before anything is killed. */
int dump_write_msg(struct dump_ctx *ctx, pid_t pid, uint32_t type, const ProtobufCMessage *msg);
/* The pages of p's private memory (SEG_TASK), or of an object (fd, dup'ed:
 * the caller keeps its own), belong here: a SEGMENT placeholder goes into
 * the metadata and the job is queued. */
int dump_task_pages_later(struct dump_ctx *ctx, struct dump_proc *p);
int dump_object_pages_later(struct dump_ctx *ctx, Ckpt__Img__SegmentOwner owner, uint32_t id, int fd, uint64_t size);
/* The metadata is complete: end it (META_END), check it as restart will
 * (plan_check), and write it. */
int dump_meta_write(struct dump_ctx *ctx);
/* Then the pages, segment by segment, each after its SEGMENT marker:
 * jobs [from, to). */
int dump_page_jobs_run(struct dump_ctx *ctx, size_t from, size_t to);
/* After every job: the tasks' lazy parts (image.h), in job order. */
int dump_lazy_parts_run(struct dump_ctx *ctx);
void dump_page_jobs_free(struct dump_ctx *ctx);
/* pipe.c: the PIPE record for the pipe behind /proc/PID/fd/FD, once;
 * its id in ret_id. */
int pipe_dump(struct dump_ctx *ctx, pid_t pid, int fd, const struct stat *st, uint32_t *ret_id);
/* files.c: the FILE record of task pid's fd (once), for a file another
 * record refers to (an epoll target); its id in ret_id. */
int files_dump_target(struct dump_ctx *ctx, pid_t pid, int fd, uint32_t *ret_id);
/* evfd.c: eventfd, timerfd, signalfd, epoll: link names the kind (f->kind
 * set); evfd_dump fills f from fdinfo (epoll targets written first),
 * evfd_dump_free frees what it allocated in f. */
bool evfd_classify(const char *link, Ckpt__Img__File *f);
bool evfd_kind(Ckpt__Img__FileKind kind);
int evfd_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f);
void evfd_dump_free(Ckpt__Img__File *f);
/* evfd.c: a pidfd: the container pid (or tid) it refers to, from fdinfo. */
int pidfd_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f);
/* shm.c: the SHM record and pages of a shared memory object, once; path
 * opens it (/proc/PID/fd/N or /proc/PID/map_files/A-B). */
int shm_dump(struct dump_ctx *ctx, const char *path, bool memfd, const char *name, uint32_t *ret_id);
/* The device of the kernel's internal shm mount (memfds, shared anonymous
 * memory, SysV segments), 0 if it can't be learnt: what a mapping or file
 * is there, and only there, is shared memory, whatever its name. */
dev_t shm_internal_dev(void);
/* The pages of a file (an shm object's or a ghost's): its page job. */
int shm_write_pages(struct dump_ctx *ctx, int fd, uint64_t size, uint32_t id);
/* A regular file deleted while open or mapped (link: "/path (deleted)"),
 * its contents in the image, once; path opens it (/proc/PID/fd/N or
 * map_files); obj names the fd or mapping in errors. */
bool ghost_link(const char *link);
bool ghost_classify(const char *link, Ckpt__Img__File *f);
int ghost_dump(struct dump_ctx *ctx, pid_t pid, const char *path, const char *link, const char *obj, uint32_t *ret_id);
/* First pass: a removed working directory becomes a Ghost (dir), its id
 * kept in p for the TASK record. */
int ghost_dump_cwd(struct dump_ctx *ctx, struct dump_proc *p);
/* A removed directory's offset can be set again on one (restart seeks it). */
int ghost_dir_probe(struct dump_ctx *ctx, const char *path, uint64_t pos, const char *obj);
/* inotify: its watches, each by path in the container. */
bool inotify_classify(const char *link, Ckpt__Img__File *f);
int inotify_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f);
void inotify_dump_free(Ckpt__Img__File *f);

/* fanotify.c: a group, its init flags and marks, each by path in the container. */
bool fanotify_classify(const char *link, Ckpt__Img__File *f);
int fanotify_dump(struct dump_ctx *ctx, pid_t pid, int fd, Ckpt__Img__File *f);
void fanotify_dump_free(Ckpt__Img__File *f);
/* mm_dump.c: p->vmas and the shared memory they map (first pass); the MM
 * record and the pages (second pass). */
int mm_collect(struct dump_ctx *ctx, struct dump_proc *p);
int mm_dump(struct dump_ctx *ctx, struct dump_proc *p);
/* The pages of p's private mappings (its page job). */
/* The pages of p's mappings a lazy restart fills before the tasks run
 * (lazy false: its segment), or those it leaves to its filler (true: its
 * lazy part, image.h). */
int mm_dump_pages(struct dump_ctx *ctx, struct dump_proc *p, bool lazy);
/* Whether p has a mapping whose pages go to its lazy part. */
bool mm_dump_has_lazy(const struct dump_ctx *ctx, const struct dump_proc *p);
/* mm.c: vdso/vvar facts for the header, from a task's maps. */
int mm_dump_vdso_info(struct dump_ctx *ctx, pid_t pid);

/* path as seen by task `pid` (through /proc/PID/root: its mount namespace),
 * into buf; returns buf, or NULL if it doesn't fit. */
/* CLOCK_MONOTONIC in microseconds, for the stats. */
uint64_t cr_now_us(void);

/* Bigger pipe buffers for image streams through pipes. */
void cr_tune_stream(int fd);

const char *cr_task_path(pid_t pid, const char *path, char *buf, size_t len);

/* The worker joins the container's network namespace (init's), where its
 * sockets are read at checkpoint and made at restart. */
int cr_enter_netns(pid_t init_pid, struct cr_error *err);

#define PAGE_SZ 4096ull
/* Page data moves in pieces this big: small enough to stay in cache between
 * the copy in, the checksum and the copy out, and cheap to fault in. */
#define PAGEBUF_LEN (2u << 20)

/* Vma.madv bits: madvise() advice to reapply on restore. */
enum {
	MADV_BIT_DONTFORK = 1 << 0,
	MADV_BIT_DONTDUMP = 1 << 1,
	MADV_BIT_WIPEONFORK = 1 << 2,
	MADV_BIT_HUGEPAGE = 1 << 3,
	MADV_BIT_NOHUGEPAGE = 1 << 4,
	MADV_BIT_MERGEABLE = 1 << 5,
	MADV_BIT_SEQUENTIAL = 1 << 6,
	MADV_BIT_RANDOM = 1 << 7,
};

/* mmap flag of kernels >= 6.11 (a map type, like MAP_PRIVATE), for
 * libc headers that lack it. */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

/* Object table types (one id space per image). */
enum { OBJ_FILE = 1, OBJ_PIPE = 2, OBJ_SHM = 3 };
