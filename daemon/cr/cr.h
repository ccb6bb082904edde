// SPDX-License-Identifier: GPL-2.0-or-later
/* The C/R engine's interface to the service. Synchronous, no libevent, no
 * libsystemd: a worker process calls one of these and reports the result. */
#pragma once
#include "cr_limits.h"
#include "cgroup.h"
#include "cglimits.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum cr_errcode {
	CR_OK = 0,
	CR_ERR_UNSUPPORTED,   /* state we refuse to save or restore */
	CR_ERR_BAD_IMAGE,     /* truncated, corrupt, oversized, incompatible */
	CR_ERR_IO,            /* image fd or files */
	CR_ERR_KERNEL,        /* unexpected syscall failure */
	CR_ERR_BAD_STATE,     /* nothing to checkpoint, task gone, ... */
	CR_ERR_INTERNAL,
	CR_ERR_CANCELED,      /* cr_cancel(): by request, deadline or ckptd's death */
};

/* One refusal collected by a checkpoint --check (struct cr_error.collect). */
struct cr_refusal {
	pid_t task_pid, task_host_pid;
	int sys_errno;
	char object[128];
	char reason[384];
	char msg[512];
	bool transient;            /* cr_mark_transient(): a state that passes by itself */
};

#define CR_REFUSALS_MAX 256

struct cr_refusals {
	struct cr_refusal *v;
	size_t n, cap;
	bool truncated;            /* more than CR_REFUSALS_MAX */
};

/* The first error of a job, sent back to the client: a one-line message
 * for people, and the same facts as fields for programs. */
struct cr_error {
	enum cr_errcode code;
	int sys_errno;             /* the errno behind it; 0: none */
	pid_t task_pid;            /* the task it concerns, in the container; 0: none */
	pid_t task_host_pid;       /* ... and on the host */
	char object[128];          /* what ckptd could not save or restore; "" if none */
	char reason[384];          /* why, without the task and object */
	char msg[512];             /* the whole line */
	/* The task being worked on (cr_error_scope): recorded with the
	 * first error, so a failure deep in a helper still names it. */
	pid_t scope_pid, scope_host_pid;
	/* A checkpoint --check: every CR_ERR_UNSUPPORTED failure is added
	 * here instead of becoming the job's error (code stays CR_OK), so
	 * the engine can go on and find the next. NULL: the first error ends
	 * the job, as always. */
	struct cr_refusals *collect;
	/* The first error is a state that passes by itself (a vfork whose
	 * child has not exec'ed yet): the checkpoint lets the container run a
	 * moment and tries again (cr_mark_transient). */
	bool transient;
	/* failures recorded so far, and the count when the first error (or
	 * the last refusal collected) was kept: cr_mark_transient marks only
	 * the failure just recorded */
	unsigned nfailed, kept_at;
};

/* How many refusals were collected so far (0 when not collecting). */
static inline size_t cr_refusal_count(const struct cr_error *e)
{
	return e && e->collect ? e->collect->n + e->collect->truncated : 0;
}
/* A failure r < 0 of a step begun when cr_refusal_count() was before is
 * only refusals, collected: the caller may go on with the next object. */
static inline bool cr_refusal_absorbed(const struct cr_error *e, int r, size_t before)
{
	return r < 0 && e && e->collect && e->code == CR_OK && cr_refusal_count(e) > before;
}

/* Keep the first error only; returns -err (err > 0 is an errno). */
int cr_fail(struct cr_error *e, enum cr_errcode code, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same, naming the object (an fd, a mapping, a thread, ...): the
 * message reads "task P (host H): OBJECT: REASON". */
int cr_fail_obj(struct cr_error *e, enum cr_errcode code, int err, const char *object, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The failure just recorded (by cr_fail or cr_fail_obj) is a state that
 * passes by itself: the checkpoint may try again before it refuses. A
 * failure that was not kept (not the first) is left as it is. */
void cr_mark_transient(struct cr_error *e);
/* The job's error, or one refusal collected, is transient. */
bool cr_error_transient(const struct cr_error *e);
/* Forget every error and refusal, to try the whole step again. */
void cr_error_reset(struct cr_error *e);
/* Add to the message of the error and of each transient refusal. */
void cr_error_append(struct cr_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* From here on, errors concern this task (0, 0: none). */
static inline void cr_error_scope(struct cr_error *e, pid_t pid, pid_t host_pid)
{
	if (e) {
		e->scope_pid = pid;
		e->scope_host_pid = host_pid;
	}
}

/* The container's namespaces as a restart recreates them, in the fresh init
 * before any task exists: its UTS names, and the clocks its time namespace
 * continues from (CLOCK_MONOTONIC and CLOCK_BOOTTIME as the container saw
 * them when it was frozen). */
struct cr_ns_config {
	char nodename[CR_UTS_NAME_MAX + 1];
	char domainname[CR_UTS_NAME_MAX + 1];
	bool has_clocks;           /* false: the container's clocks are the host's */
	uint64_t monotonic_ns, boottime_ns;
	bool net_private;          /* the init unshares a network namespace of its own */
};

/* A container's network (image.proto NetConfig): the host's, or a network
 * namespace of its own with loopback up and, when ports are published, a
 * veth pair with addresses from ckptd's range and DNAT on the host. */
struct cr_net_publish {
	uint16_t host_port, port;
	uint8_t protocol;          /* IPPROTO_TCP or IPPROTO_UDP */
};

struct cr_net_config {
	bool private_ns;
	uint32_t addr, host_addr;  /* IPv4, host byte order; 0: no veth */
	uint8_t prefix_len;
	size_t npublish;
	struct cr_net_publish publish[CR_NET_MAX_PUBLISH];
};

/* What the service does to a container's network for the engine. */
/* A TCP connection as its packets carry it: its own address and port,
 * then its peer's (AF_INET: the first 4 bytes of each address). */
struct cr_tcp_conn {
	int family;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t cookie[2];      /* sock_diag's: this socket, not its listener */
};

struct cr_net_ops {
	/* Restart: the init has a new network namespace and no task exists
	 * yet; give it cfg's interfaces, addresses, routes and host NAT. */
	int (*setup)(void *arg, pid_t init_pid, const struct cr_net_config *cfg, struct cr_error *err);
	/* Checkpoint: refuse what the namespace holds beyond cfg (made inside). */
	int (*check)(void *arg, pid_t init_pid, const struct cr_net_config *cfg, struct cr_error *err);
	/* Drop every packet to or from the container (on), or stop (off). */
	int (*hold)(void *arg, pid_t init_pid, bool on, struct cr_error *err);
	/* Checkpoint, held, the container ending: let the resets of these
	 * connections out (may be NULL). */
	int (*pass_resets)(void *arg, pid_t init_pid, const struct cr_tcp_conn *v, size_t n, struct cr_error *err);
	void *arg;
};

/* A SysV semaphore set of the container's IPC namespace: restart creates
 * it again at the same id with the same key, owner, mode and values. */
struct cr_sem_set {
	int32_t key, id;
	uint32_t mode, uid, gid, nsems;
	uint16_t values[CR_SEM_MAX_NSEMS];
};

/* What a container sees of its namespaces now: init's UTS names, and its
 * clocks (the host's plus the offsets of init's time namespace). */
int cr_ns_read(pid_t init_pid, struct cr_ns_config *ret);

struct mac_key;

typedef void (*cr_progress_fn)(void *arg, const char *phase, uint64_t done, uint64_t total);
/* A phase of the operation ("frozen", "namespaces-set-up", ...) that the
 * caller may act at: 0 goes on; < 0 aborts, with err set by the callee. */
typedef int (*cr_phase_fn)(void *arg, const char *phase, struct cr_error *err);

static inline int cr_phase(cr_phase_fn fn, void *arg, const char *phase, struct cr_error *err)
{
	return fn ? fn(arg, phase, err) : 0;
}

struct cr_contain;
struct cr_creds_limit;

struct cr_checkpoint_req {
	const char *name;          /* container name, recorded in the header */
	pid_t init_pid;            /* host pid of the container's init */
	const char *cgroup_dir;    /* container cgroup (v2 dir, or v1 freezer dir) */
	bool cgroup_v1;
	int image_fd;              /* stream to write */
	bool leave_running;        /* thaw instead of kill */
	bool check_only;           /* list refusals in err->collect; image_fd is a sink */
	uint64_t ghost_limit;      /* bytes of one file deleted while open (ghost.c) */
	bool external_unix_drop;   /* a unix peer outside: saved as hung up, not refused */
	bool tcp_pending_reset;    /* a queued connection from outside: reset as the container ends, not refused */
	uint64_t deadline_ms;      /* CLOCK_MONOTONIC; image I/O fails past it (0: none) */
	dev_t log_dev;             /* fds on this inode are the container log */
	int console_fd;            /* master of the console pty ckptd holds; -1: none */
	ino_t log_ino;
	const struct cr_net_config *net;  /* recorded in the header; NULL: the host's */
	const struct cr_net_ops *net_ops; /* hold its traffic while frozen; may be NULL */
	const struct mac_key *key; /* the image's MAC key (image.h); NULL: no MAC */
	const struct cr_contain *contain; /* recorded in the header (contain.h); NULL: none */
	const struct cg_limits *limits;   /* run --memory/--pids/--cpus, recorded in the header */
	const struct cr_creds_limit *creds_limit; /* no task holds more (validate.h); NULL: no bound */
	cr_progress_fn progress;
	void *progress_arg;
	uid_t owner_uid;           /* the container's owner: files are probed as restart reopens them */
	gid_t owner_gid;
	/* Called once the image is whole, before any task is killed or let
	 * go (may be NULL): make it durable there. A failure rolls back. */
	int (*commit)(void *arg, struct cr_error *err);
	void *commit_arg;
	cr_phase_fn phase;         /* may be NULL */
	void *phase_arg;
	/* --incremental (incr.h): write tracking is used and, with
	 * leave_running, armed for the next one. parent_id (NULL: a full
	 * image) and parent_digest name the image whose pages the unwritten
	 * ones are; incr_tracked: ckptd keeps write tracking in the container's
	 * processes (their VMAs registered with its userfaultfds). */
	bool incremental;
	bool incr_tracked;
	bool compress;             /* --compress zstd: page chunks compressed (image.h ZPAGES) */
	const char *parent_id;
	uint64_t parent_digest;
};

struct cr_checkpoint_stats {
	uint64_t frozen_us;
	uint64_t total_us;
	uint64_t image_bytes;
	uint64_t pages;
	uint32_t tasks;
	char copy[200];            /* how memory was copied: "background", or "frozen: why" */
	uint64_t digest;           /* the image's last record checksum (incr.h) */
	uint64_t pages_raw, pages_stored;   /* page payload bytes, before and after compression */
	int *uffds;                /* write tracking to keep (the caller closes and frees) */
	size_t nuffds;
};

int cr_checkpoint(const struct cr_checkpoint_req *req, struct cr_checkpoint_stats *ret_stats,
		  struct cr_error *err);

struct cr_restart_req {
	const char *name;
	int image_fd;              /* stream to read */
	pid_t init_pid;            /* host pid of the fresh container init */
	int init_ctl_fd;           /* SOCK_SEQPACKET to that init (spawn.h protocol) */
	int log_fd;                /* container log, O_WRONLY|O_APPEND */
	int console_fd;            /* master of the fresh console pty; -1: none */
	uint64_t deadline_ms;      /* CLOCK_MONOTONIC; image I/O fails past it (0: none) */
	const struct cr_net_ops *net_ops; /* a private network needs it */
	const struct mac_key *keys; /* the image must carry a MAC of one of them */
	size_t nkeys;
	bool trust_image;          /* root said so: no MAC is checked */
	const struct cr_contain *contain; /* the container's, set up by its init; the image's must fit */
	const struct cgroup *cgroup;      /* the container's: the image's limits are set on it */
	const struct cr_creds_limit *creds_limit; /* no restored task gets more (validate.h) */
	cr_progress_fn progress;
	void *progress_arg;
	uid_t owner_uid;           /* the container's owner: files are reopened as it */
	gid_t owner_gid;
	bool allow_changed_files;  /* reopen regular files whose size or mtime changed */
	/* The images an incremental image names, its parent first, each
	 * with the id its child names (incr.h). */
	const int *parent_fds;
	const char *const *parent_ids;
	size_t nparents;
	cr_phase_fn phase;         /* may be NULL */
	void *phase_arg;
	bool lazy;                 /* private memory filled after the tasks run (lazy.h) */
};

struct cr_restart_stats {
	struct cr_net_config net;  /* the network the container got */
	uint64_t total_us;
	uint64_t image_bytes;
	uint64_t pages;
	pid_t root_pid;            /* first task, pid inside the namespace */
	pid_t root_host_pid;       /* the same task, host pid */
	struct cg_limits limits;   /* the image's, now the container's */
	/* lazy: the filler's report socket, its pidfd and a dup of every
	 * userfaultfd it serves (the caller's to close and free); the page
	 * bytes it fills after the return */
	int *lazy_fds;
	size_t nlazy_fds;
	uint64_t lazy_bytes;
};

/* On failure everything created inside the container is killed. */
int cr_restart(const struct cr_restart_req *req, struct cr_restart_stats *ret_stats,
	       struct cr_error *err);
