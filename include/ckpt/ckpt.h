// SPDX-License-Identifier: GPL-2.0-or-later
/* libckpt: the C client library of ckptd.
 *
 * One handle is one connection to ckptd's socket. Each verb of the RPC
 * (proto/rpc.proto) is one call: it takes the handle, the container name
 * and, where the verb has any, a small options struct (zero-initialised
 * means every default), and fills a result struct the caller releases with
 * the matching ckpt_*_result_free(). Every call returns 0 on success or a
 * negative errno; when it fails and err is not NULL, *err says why in
 * fields (the daemon's error code, the task, the object and the reason).
 *
 * Image streams never travel as paths: a checkpoint writes into, and a
 * restart reads from, a file descriptor the caller owns (a file, a pipe or
 * a socket); it is passed to ckptd with SCM_RIGHTS and stays the caller's.
 *
 * A handle is not thread-safe; use one per thread. Strings in results stay
 * valid until the result is freed. The options and result structs only
 * ever grow at their end; CKPT_API_VERSION counts those changes. */
#ifndef CKPT_CKPT_H
#define CKPT_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CKPT_API_VERSION 3
#define CKPT_PROTO_VERSION 1   /* of proto/rpc.proto, as VersionResponse reports it */

#if defined(CKPT_BUILDING_LIB) && defined(__GNUC__)
#define CKPT_EXPORT __attribute__((visibility("default")))
#else
#define CKPT_EXPORT
#endif

struct ckpt;   /* opaque: one connection */

/* The daemon's error codes (rpc.proto ErrorCode), and CKPT_E_CLIENT for a
 * failure on this side: connect, send, a malformed or unexpected reply. */
enum ckpt_errc {
	CKPT_E_NONE = 0,
	CKPT_E_INVALID_REQUEST = 1,
	CKPT_E_PERMISSION_DENIED = 2,
	CKPT_E_NOT_FOUND = 3,
	CKPT_E_EXISTS = 4,
	CKPT_E_BAD_STATE = 5,
	CKPT_E_UNSUPPORTED = 6,
	CKPT_E_BAD_IMAGE = 7,
	CKPT_E_IO = 8,
	CKPT_E_BUSY = 9,
	CKPT_E_KERNEL = 10,
	CKPT_E_INTERNAL = 11,
	CKPT_E_CANCELED = 12,     /* ckptctl cancel (ckpt_cancel) or ckptd's death; nothing changed */
	CKPT_E_CLIENT = 100,
};

struct ckpt_error {
	int code;                 /* enum ckpt_errc */
	const char *code_name;    /* "ERR_UNSUPPORTED", ..., "CLIENT"; static */
	int sys_errno;            /* the system error behind it; 0: none known */
	int task_pid;             /* the task it concerns, in the container; 0: none */
	int task_host_pid;        /* ... and on the host */
	char message[512];        /* one printable line that says it all */
	char object[128];         /* what could not be saved or restored; "" */
	char reason[384];         /* why, without task and object; "" */
	/* API 3: what the user can do about it, where ckptd (or, for a
	 * failure to reach ckptd, ckptctl) knows: one printable line; "" */
	char hint[256];
};

enum ckpt_state {
	CKPT_STATE_UNKNOWN = 0,
	CKPT_STATE_RUNNING = 1,
	CKPT_STATE_CHECKPOINTED = 2,
	CKPT_STATE_STOPPED = 3,
	CKPT_STATE_BUSY = 4,
};

enum ckpt_net {
	CKPT_NET_DEFAULT = 0,     /* run: private */
	CKPT_NET_PRIVATE = 1,
	CKPT_NET_HOST = 2,
};

struct ckpt_image {
	const char *id;
	const char *container;
	bool has_size, has_created;
	uint64_t size;            /* bytes */
	int64_t created;          /* unix seconds */
	bool has_owner_uid, has_trusted;
	uint32_t owner_uid;       /* its container's owner when it was written */
	bool trusted;             /* in ckpt_images: its MAC verifies under a key ckptd trusts */
	const char *key_id;       /* the key its MAC names (hex); NULL: no MAC */
	const char *parent_id;    /* an incremental image: its parent's id; NULL: a full one */
};

struct ckpt_container {
	const char *name;
	enum ckpt_state state;
	bool has_pid, has_host_pid, has_init_host_pid, has_exit_status;
	int pid;                  /* the workload, in its pid namespace */
	int host_pid;
	int init_host_pid;
	int exit_status;          /* wait status */
	size_t n_argv;
	const char *const *argv;
	size_t n_images;
	const struct ckpt_image *images;
	bool has_net;
	enum ckpt_net net;
	size_t n_publish;
	const char *const *publish;
	const char *net_address, *net_host_address, *net_veth;   /* NULL: none */
	bool tty;
	bool has_owner_uid;
	uint32_t owner_uid;
	const char *owner;        /* that uid's user name; NULL: none */
	bool has_caps;
	uint64_t caps;            /* its capability bounding set */
	bool privileged;
	const char *user;         /* "UID:GID" the workload runs as; NULL: root */
	const char *root;         /* its root filesystem; NULL: the host's */
	size_t n_bind;
	const char *const *bind;  /* "SRC:DST[:ro]" */
	const char *userns;       /* "BASE:COUNT" (run --userns); NULL: the host's ids */
	uint64_t memory_limit;    /* run --memory, bytes; 0: none */
	uint32_t pids_limit;      /* run --pids; 0: none */
	uint32_t cpus_milli;      /* run --cpus in thousandths of a CPU; 0: none */
};

/* Progress of a checkpoint or restart: phase "freeze", "dump", ... */
typedef void (*ckpt_progress_fn)(const char *phase, bool has_done, uint64_t done,
				 bool has_total, uint64_t total, void *userdata);

/* Connect to ckptd at path (NULL or "": $CKPTD_SOCKET, else
 * /run/ckptd/ckptd.sock). */
CKPT_EXPORT int ckpt_connect(const char *path, struct ckpt **ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_close(struct ckpt *h);
/* The connected socket, for poll() while a request started with
 * ckpt_wait_start() is pending. */
CKPT_EXPORT int ckpt_fd(const struct ckpt *h);
CKPT_EXPORT void ckpt_set_progress(struct ckpt *h, ckpt_progress_fn fn, void *userdata);

/* A phase of a checkpoint or restart that asked to be told of it (the
 * notify/wait lists of its options). When wait is set ckptd waits for the
 * handler: 0 lets the operation go on; anything else aborts it, with the
 * reason the handler wrote (a checkpoint leaves the container running, a
 * restart kills what it built). No handler: every phase goes on. */
struct ckpt_phase {
	const char *name;         /* "frozen", "namespaces-set-up", ... */
	const char *container;
	int init_host_pid;        /* the container's init; 0: unknown */
	const char *netns;        /* "/proc/PID/ns/net" of the container; NULL: unknown */
	bool wait;
};
typedef int (*ckpt_phase_fn)(const struct ckpt_phase *p, char *reason, size_t reason_size, void *userdata);
CKPT_EXPORT void ckpt_set_phase_handler(struct ckpt *h, ckpt_phase_fn fn, void *userdata);

/* A name is [A-Za-z0-9_.-]{1,64}, not starting with '.'. */
CKPT_EXPORT bool ckpt_name_valid(const char *name);
CKPT_EXPORT const char *ckpt_state_name(enum ckpt_state s);   /* "running", ... */

/* run */
struct ckpt_run_opts {
	size_t argc;
	const char *const *argv;  /* argv[0]: absolute path or found in PATH */
	size_t n_env;
	const char *const *env;   /* KEY=VALUE; none: ckptd's default environment */
	const char *cwd;          /* NULL: "/" */
	const char *hostname;     /* NULL: the name */
	enum ckpt_net net;
	size_t n_publish;
	const char *const *publish;   /* "HOSTPORT:PORT[/tcp|/udp]" */
	bool tty;                 /* a console (see ckpt_attach) */
	unsigned rows, cols;      /* its first window size; 0: the kernel's */
	size_t n_cap_add, n_cap_drop;
	const char *const *cap_add;   /* "CAP_NET_ADMIN", "net_admin", "all" */
	const char *const *cap_drop;  /* applied after cap_add */
	bool privileged;          /* every capability, nothing masked */
	const char *user;         /* "UID[:GID]" or a user name; NULL: root */
	const char *root;         /* absolute host dir: its root filesystem; NULL: the host's */
	size_t n_bind;
	const char *const *bind;  /* "SRC:DST[:ro]" */
	bool userns;              /* a user namespace of its own (root only) */
	uint32_t userns_base;     /* its host range's first id; 0: ckptd picks */
	uint64_t memory_limit;    /* cgroup limits: bytes (at least 4 MiB); 0: none */
	uint32_t pids_limit;      /* processes and threads; 0: none */
	uint32_t cpus_milli;      /* thousandths of a CPU; 0: none */
};
struct ckpt_container_result {
	struct ckpt_container container;
	void *priv_;
};
CKPT_EXPORT int ckpt_run(struct ckpt *h, const char *name, const struct ckpt_run_opts *opts,
			 struct ckpt_container_result *ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_container_result_free(struct ckpt_container_result *r);

/* list */
struct ckpt_list_result {
	size_t n_containers;
	const struct ckpt_container *containers;
	void *priv_;
};
CKPT_EXPORT int ckpt_list(struct ckpt *h, struct ckpt_list_result *ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_list_result_free(struct ckpt_list_result *r);

/* checkpoint */
struct ckpt_checkpoint_opts {
	bool leave_running;       /* keep it running afterwards */
	bool to_fd;               /* write the image into fd, not the store */
	int fd;
	uint32_t timeout_s;       /* 0: ckptd's default */
	bool has_ghost_limit;
	uint64_t ghost_limit;     /* bytes a file deleted while open may hold */
	/* phases to be told of ("network-locked", "frozen", "dumped",
	 * "before-resume" with leave_running, "killed"), and of those the
	 * ones ckptd waits at for the phase handler ("killed": never) */
	size_t n_notify, n_wait;
	const char *const *notify, *const *wait;
	/* list everything a checkpoint would refuse (result errors); the
	 * container keeps running and no image is written */
	bool check_only;
	/* a unix stream or seqpacket socket whose peer is outside the
	 * container is saved as one whose peer hung up (default: refused) */
	bool external_unix_drop;
	/* only the pages written since the previous incremental checkpoint,
	 * naming its image as the parent (the first of a chain is full) */
	bool incremental;
	/* "zstd": compress each chunk of pages on its own; NULL or "none": raw */
	const char *compress;
	/* a connection waiting in an accept queue whose client is outside
	 * the container is reset as the checkpoint ends the container
	 * (default: refused; refused with leave_running either way) */
	bool tcp_pending_reset;
	/* begin a new chain: no parent, every page written (with incremental,
	 * or ckptd.conf incremental = auto, the tracking is armed afresh) */
	bool full;
};
struct ckpt_checkpoint_result {
	const char *image_id;     /* NULL unless stored */
	uint64_t image_bytes;
	bool has_pages;
	uint64_t pages;
	uint64_t frozen_us, total_us;
	void *priv_;
	/* check_only: every refusal (CKPT_E_UNSUPPORTED), and last an error
	 * of another code if one stopped the check early; none: a checkpoint
	 * would succeed */
	size_t n_errors;
	const struct ckpt_error *errors;
	/* how memory was copied: "background" (while it ran) or "frozen: why";
	 * NULL if ckptd did not say */
	const char *copy;
	const char *parent_id;    /* an incremental image: the parent it names */
	const char *full_reason;  /* incremental asked, yet a full image: why */
	/* compress: page bytes before compression and as stored (0 if not said) */
	uint64_t pages_raw_bytes, pages_stored_bytes;
};
CKPT_EXPORT int ckpt_checkpoint(struct ckpt *h, const char *name, const struct ckpt_checkpoint_opts *opts,
				struct ckpt_checkpoint_result *ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_checkpoint_result_free(struct ckpt_checkpoint_result *r);

/* restart */
struct ckpt_restart_opts {
	const char *image_id;     /* NULL: the newest stored image */
	bool from_fd;             /* read the image from fd */
	int fd;
	uint32_t timeout_s;       /* 0: ckptd's default */
	/* phases to be told of ("namespaces-set-up": init and namespaces
	 * exist, no task yet; "before-resume"; "resumed"), and of those the
	 * ones ckptd waits at for the phase handler */
	size_t n_notify, n_wait;
	const char *const *notify, *const *wait;
	bool trust_image;         /* restore without a MAC ckptd trusts (root only) */
	bool allow_changed_files; /* reopen regular files whose size or mtime changed */
	uint32_t userns_base;     /* a new container of a --userns image: its range (root only) */
	/* a restart under a new name: the new container's privileges, which
	 * must cover the image's (root only) */
	bool privileged;
	size_t n_cap_add;
	const char *const *cap_add;
	bool lazy;                /* run before the memory is in; fill it on demand */
};
struct ckpt_restart_result {
	struct ckpt_container container;
	uint64_t image_bytes, total_us;
	uint64_t lazy_bytes;      /* lazy: page bytes filled after the reply */
	void *priv_;
};
CKPT_EXPORT int ckpt_restart(struct ckpt *h, const char *name, const struct ckpt_restart_opts *opts,
			     struct ckpt_restart_result *ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_restart_result_free(struct ckpt_restart_result *r);

/* images (name NULL: of every container), images rm */
struct ckpt_images_result {
	size_t n_images;
	const struct ckpt_image *images;
	void *priv_;
};
CKPT_EXPORT int ckpt_images(struct ckpt *h, const char *name, struct ckpt_images_result *ret,
			    struct ckpt_error *err);
CKPT_EXPORT void ckpt_images_result_free(struct ckpt_images_result *r);
CKPT_EXPORT int ckpt_image_rm(struct ckpt *h, const char *name, const char *image_id, struct ckpt_error *err);

/* export: *ret_fd is the stored image (image_id NULL: the newest), open
 * read-only; the caller copies it out and closes it. */
struct ckpt_export_result {
	const char *image_id;
	uint64_t image_bytes;
	int fd;
	void *priv_;
};
CKPT_EXPORT int ckpt_export(struct ckpt *h, const char *name, const char *image_id,
			    struct ckpt_export_result *ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_export_result_free(struct ckpt_export_result *r);   /* closes fd */

/* import: the image stream read from fd is verified whole and stored as
 * the container's newest image; a container that does not exist is
 * created, checkpointed. */
struct ckpt_import_opts {
	int fd;
	uint32_t timeout_s;       /* 0: ckptd's default */
};
struct ckpt_import_result {
	const char *image_id;
	uint64_t image_bytes;
	bool created;             /* the container was made for it */
	void *priv_;
};
CKPT_EXPORT int ckpt_import(struct ckpt *h, const char *name, const struct ckpt_import_opts *opts,
			    struct ckpt_import_result *ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_import_result_free(struct ckpt_import_result *r);

/* cancel: stop the checkpoint or restart running on the container,
 * answered once it has ended (its own caller gets CKPT_E_CANCELED). One
 * past its point of no return completes: canceled is false then.
 * ckpt_cancel_start() only sends the request; closing the handle then
 * does not undo it. */
struct ckpt_cancel_result {
	bool canceled;
	const char *operation;    /* "checkpoint", "restart"; NULL: none ran */
	void *priv_;
};
CKPT_EXPORT int ckpt_cancel(struct ckpt *h, const char *name, struct ckpt_cancel_result *ret,
			    struct ckpt_error *err);
CKPT_EXPORT int ckpt_cancel_start(struct ckpt *h, const char *name, struct ckpt_error *err);
CKPT_EXPORT void ckpt_cancel_result_free(struct ckpt_cancel_result *r);

/* While a call waits for ckptd, a signal that interrupts the wait (its
 * handler installed without SA_RESTART) calls fn; the call keeps waiting
 * for its answer. ckptctl cancels the operation there (ckpt_cancel_start
 * on a second handle). */
typedef void (*ckpt_interrupt_fn)(void *userdata);
CKPT_EXPORT void ckpt_set_interrupt(struct ckpt *h, ckpt_interrupt_fn fn, void *userdata);

/* kill (signal 0: SIGKILL), rm */
CKPT_EXPORT int ckpt_kill(struct ckpt *h, const char *name, int signal, struct ckpt_error *err);
CKPT_EXPORT int ckpt_rm(struct ckpt *h, const char *name, struct ckpt_error *err);

/* logs: *ret_fd is the container log, read-only; attach: the console's pty
 * master (rows/cols 0: leave the window size). The caller closes it. */
CKPT_EXPORT int ckpt_logs(struct ckpt *h, const char *name, int *ret_fd, struct ckpt_error *err);
CKPT_EXPORT int ckpt_attach(struct ckpt *h, const char *name, unsigned rows, unsigned cols,
			    int *ret_fd, struct ckpt_error *err);

/* ps */
struct ckpt_process {
	int pid, host_pid, ppid;  /* pid and ppid in the container (ppid 0: outside) */
	const char *state;        /* "R", "S", ...; NULL: unknown */
	const char *command;
};
struct ckpt_ps_result {
	size_t n_processes;
	const struct ckpt_process *processes;
	void *priv_;
};
CKPT_EXPORT int ckpt_ps(struct ckpt *h, const char *name, struct ckpt_ps_result *ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_ps_result_free(struct ckpt_ps_result *r);

/* wait: answered when the workload ends. ckpt_wait_start() only sends the
 * request, so the caller can poll ckpt_fd(); ckpt_wait_finish() reads the
 * answer. */
CKPT_EXPORT int ckpt_wait(struct ckpt *h, const char *name, struct ckpt_container_result *ret,
			  struct ckpt_error *err);
CKPT_EXPORT int ckpt_wait_start(struct ckpt *h, const char *name, struct ckpt_error *err);
CKPT_EXPORT int ckpt_wait_finish(struct ckpt *h, struct ckpt_container_result *ret, struct ckpt_error *err);

/* stats */
struct ckpt_stats_result {
	enum ckpt_state state;
	bool has_memory_bytes;
	uint64_t memory_bytes;
	const char *memory_source;   /* "memory.current" or "rss" */
	uint32_t processes, images;
	uint64_t image_bytes;
	void *priv_;
	uint64_t memory_limit;       /* its cgroup limits (run --memory/--pids/--cpus); 0: none */
	uint32_t pids_limit;
	uint32_t cpus_milli;         /* thousandths of a CPU */
};
CKPT_EXPORT int ckpt_stats(struct ckpt *h, const char *name, struct ckpt_stats_result *ret,
			   struct ckpt_error *err);
CKPT_EXPORT void ckpt_stats_result_free(struct ckpt_stats_result *r);

/* version, check */
struct ckpt_version_result {
	const char *version;
	uint32_t proto_version, image_version;
	void *priv_;
};
CKPT_EXPORT int ckpt_version(struct ckpt *h, struct ckpt_version_result *ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_version_result_free(struct ckpt_version_result *r);

struct ckpt_feature {
	const char *name;
	bool ok;
	const char *detail;       /* NULL: none */
};
struct ckpt_check_result {
	size_t n_features;
	const struct ckpt_feature *features;
	void *priv_;
};
CKPT_EXPORT int ckpt_check(struct ckpt *h, struct ckpt_check_result *ret, struct ckpt_error *err);
CKPT_EXPORT void ckpt_check_result_free(struct ckpt_check_result *r);

/* events: the lifecycle of every container the caller may see, as it
 * happens. fn is called for each event, the first being "subscribed" (from
 * then on nothing is missed); it returns 0 to go on, anything else to stop,
 * and ckpt_events() then returns that value. A subscriber that fell behind
 * gets "overflow" and the call returns -ENOBUFS. The connection serves
 * nothing else afterwards: close it. */
struct ckpt_event {
	const char *type;         /* "started", "checkpointed", "restarted", "exited",
				     "damaged", "removed"; "subscribed", "overflow" */
	const char *container;    /* NULL for "subscribed" and "overflow" */
	int64_t time_us;          /* unix time */
	const char *details;      /* for people; NULL: none */
};
typedef int (*ckpt_event_fn)(const struct ckpt_event *ev, void *userdata);
CKPT_EXPORT int ckpt_events(struct ckpt *h, ckpt_event_fn fn, void *userdata, struct ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
