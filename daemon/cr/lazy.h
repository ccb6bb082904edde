// SPDX-License-Identifier: GPL-2.0-or-later
/* Lazy restart (restart --lazy): the private anonymous memory of a
 * process is left in the image file while the tasks are rebuilt, each of
 * its processes gets a userfaultfd registered on it just before release,
 * and a filler process (lazy_fill.c) answers their faults from the image
 * and pushes the rest in the background until every page is in. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct restore_ctx;
struct image_lazy;
struct Ckpt__Img__Pagemap;
struct ptguard;
struct rproc;

/* Pages of one PAGEMAP left in the file: its extent in the image_lazy
 * table. In a mapping, a run of npages from vaddr whose first page is page
 * `first` of the extent's payload. */
struct lazy_piece {
	uint64_t vaddr;
	uint32_t npages;
	uint32_t first;
	uint32_t ext;
	bool done;                    /* copied in (or found there) */
	bool dead;                    /* unmapped or discarded: never filled, nor given to a fork */
};

/* One address space the filler serves: a restored process's, or one
 * forked from it (which needs the same pages). */
struct lazy_space {
	int uffd;
	struct lazy_piece *v;         /* sorted by ext, then first */
	size_t n, cap;
	bool gone;                    /* its mm exited */
};

/* What the filler tells ckptd over its report socket (SOCK_SEQPACKET). */
enum lazy_report_kind {
	LAZY_REPORT_UFFD = 1,         /* an fd rides along: a forked child's userfaultfd */
	LAZY_REPORT_DONE = 2,         /* every page is in */
	LAZY_REPORT_FAILED = 3,       /* the fill can't go on: why */
};
struct lazy_report {
	uint32_t kind;
	uint32_t pad;
	uint64_t bytes;               /* DONE: page bytes copied in */
	uint64_t us;                  /* DONE: from the filler's start */
	char why[200];                /* FAILED */
};

/* The filler's own fds besides its userfaultfds. */
struct lazy_fill_fds {
	int report; /* to ckptd (SOCK_SEQPACKET) */
	int ct;     /* a pidfd of the container's init, or -1 */
	int status; /* a memfd holding a struct lazy_status, or -1 */
	struct ptguard *guard;        /* ties the container to the filler, or NULL */
	int guard_error;              /* -errno: the guard could not be started */
};

/* The filler's state, in a memfd named LAZY_STATUS_NAME that it holds,
 * so that a ckptd started while a fill goes on can find the filler, the
 * container it fills (by its init's pid) and, once it has exited,
 * whether every page went in (daemon/lazyfill.c). */
#define LAZY_STATUS_NAME "ckptd-fill"
#define LAZY_STATUS_MAGIC "CKPTFILL"
enum lazy_status_state {
	LAZY_STATUS_FILLING = 1,
	LAZY_STATUS_DONE = 2,
	LAZY_STATUS_FAILED = 3,
};
struct lazy_status {
	char magic[8];
	int32_t init_pid;             /* host pid of the container's init */
	uint32_t state;
	uint64_t bytes;               /* DONE: page bytes copied in */
	uint64_t us;                  /* DONE: from the filler's start */
};

/* A restart from a stream (a pipe, a socket) can't read a page twice nor
 * seek: the reader reads every segment itself and stops at the first
 * lazy part (image.h); once the tasks are released the filler reads the
 * rest of the stream in order, each lazy part's extents copied in as they
 * arrive, verified, into every space that still has the addresses of
 * that part's process (placeholder pieces: ext indexes bases[], so moves
 * and removals follow them), and checks the tail. */
struct image_reader;
struct lazy_base {
	uint64_t lo;                  /* the original address of the piece's page 0 */
	uint64_t hi;                  /* ... and the end of its lazy range */
	size_t owner;                 /* its process: the index in pids[] */
};
struct lazy_stream {
	struct image_reader *rd;      /* after the first lazy part's marker */
	const struct lazy_base *bases;  /* per placeholder piece */
	size_t nbases;
	const pid_t *pids;            /* per process: its pid in the container, -1: none */
	size_t nprocs;
	size_t cur;                   /* the process whose lazy part comes first */
	uint32_t next_index;          /* the Segment index of the lazy part after it */
};

/* The pid a lazy part of p's may name (the reader's and the filler's one
 * rule), or -1: a zombie or a process with no memory of its own has none. */
pid_t lazy_part_pid(const struct rproc *p);
/* The process a lazy part's marker s names, if its index is want and it
 * is a task's: the k > after (-1: none yet) with pids[k] == s->id (pids
 * as in lazy_stream). -1 if none: a marker out of order or of no live task. */
struct Ckpt__Img__Segment;
ssize_t lazy_part_owner(const struct Ckpt__Img__Segment *s, uint32_t want, const pid_t *pids, size_t n, ssize_t after);

/* restart.c: the reader goes lazy before its first page record. */
int lazy_restore_begin(struct restore_ctx *ctx);
/* The lazy part of process k begins (its marker read; next_index: the
 * marker's index + 1). From a stream the reader stops here, the filler
 * reads on: 1. Else 0: the reader reads the part. */
int lazy_restore_stop(struct restore_ctx *ctx, size_t k, uint32_t next_index);
/* The reader stopped: the rest of the stream is the filler's. */
bool lazy_restore_stopped(const struct restore_ctx *ctx);
/* This PAGEMAP's pages are to be left in the file. */
bool lazy_restore_wants(struct restore_ctx *ctx, const struct Ckpt__Img__Pagemap *pm);
/* Its PAGES record was left in the file: remember where. */
int lazy_restore_add(struct restore_ctx *ctx, const struct Ckpt__Img__Pagemap *pm, size_t stored_len);
/* Before the tasks are released: a userfaultfd in each process with lazy
 * memory, registered on it, and the filler started. */
int lazy_restore_start(struct restore_ctx *ctx);
/* What ckptd keeps once the tasks run: the filler's report socket, its
 * pidfd, then a dup of every userfaultfd (taken: *ret_fds to free).
 * The page bytes the filler still has to copy. */
int lazy_restore_take(struct restore_ctx *ctx, int **ret_fds, size_t *ret_n, uint64_t *ret_bytes);
/* ok false: the filler is killed. */
void lazy_restore_free(struct restore_ctx *ctx, bool ok);

/* lazy_fill.c, in the filler: serve sp[0..n) (taken) until every piece is
 * in or every space is gone; ext_pages[k]: the page count of extent k of
 * lz. Reports on fds->report and keeps fds->status up to date. A failure
 * with ckptd gone kills the container through fds->ct before returning.
 * Returns 0 or -errno. */
int lazy_fill_run(struct image_lazy *lz, const uint32_t *ext_pages, size_t next, struct lazy_space *sp, size_t n,
		  const struct lazy_fill_fds *fds);
/* The same from a stream: sp[0..n) hold placeholder pieces (see
 * lazy_stream); every extent is copied in as the stream brings it, a fault
 * on a page not yet read waits for it, and the tail ends the fill. */
int lazy_fill_stream(struct lazy_stream *st, struct lazy_space *sp, size_t n, const struct lazy_fill_fds *fds);
