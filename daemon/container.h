// SPDX-License-Identifier: GPL-2.0-or-later
/* The container table: what ckptd knows about each container, persisted under
 * STATE/containers/NAME/ so that it survives a ckptd restart. */
#pragma once
#include "cgroup.h"
#include "cr.h"
#include "contain.h"
#include "rpc.pb-c.h"
#include "store.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct server;
struct conn;
struct worker;
struct event;

#define CONTAINER_NAME_MAX 64

enum container_state {
	CONTAINER_STOPPED = 0,
	CONTAINER_RUNNING,
	CONTAINER_CHECKPOINTED,
};

/* The operation holding a container busy; OP_NONE when idle. */
enum op_kind { OP_NONE = 0, OP_CHECKPOINT, OP_RESTART, OP_KILL, OP_RM, OP_IMPORT, OP_RUN, OP_IMAGE_RM };

struct container {
	struct container *next;
	struct server *srv;
	char name[CONTAINER_NAME_MAX + 1];
	int dir_fd;                  /* STATE/containers/NAME */
	uid_t owner_uid;             /* who created it; access_may_act() decides who may touch it */
	char owner_name[33];         /* its user name, "" if it has none */
	enum container_state state;
	char **argv;                 /* NULL-terminated, for list */
	size_t argc;
	int log_fd;                  /* O_WRONLY|O_APPEND, kept across restarts */
	struct worker *log_worker;   /* moving it to log.1 (logrot.c) */
	char hostname[65];           /* given at run; the image's own wins at restart */
	struct cr_net_config net;    /* given at run; the image's after a restart */
	bool tty;                    /* it has a console (run -t) */
	int console_fd;              /* the console pty's master, while init lives; -1: none */
	struct cr_contain contain;   /* what it may do and see (contain.h) */

	/* The init, while it exists. */
	pid_t init_pid;              /* 0 when none */
	uint64_t init_start;         /* /proc/PID/stat starttime, to recognise it after a restart */
	int init_pidfd;
	struct event *ev_init;
	int init_ready_fd;           /* a run's init: EOF once its workload exists; -1: none */
	struct event *ev_init_ready; /* container_watch_ready */
	void (*ready_done)(struct container *c);
	bool init_is_child;          /* we can collect its status (not re-adopted) */
	pid_t workload_pid;          /* host pid of the task below init, 0 if unknown */
	pid_t workload_nspid;
	bool has_exit_status;
	int exit_status;

	struct store_cache images;   /* list answers from it (store_list_cached) */
	struct cgroup cg;
	struct cg_limits limits;   /* run --memory/--pids/--cpus, or a restored image's */
	bool has_cgroup;
	struct event *ev_cg_gone;    /* retries removing the cgroup of a dead init */
	uint64_t cg_gone_deadline_ms;
	int cg_gone_wait_ms;

	/* The operation in progress. */
	enum op_kind op;
	struct conn *op_conn;        /* client to answer; NULL once it left */
	struct worker *op_worker;
	bool op_wait_init;           /* answer once init has exited */
	bool op_check;               /* a checkpoint --check: nothing is saved */
	uint64_t op_t_req;           /* a restart: when its request came (monotonic us) */
	bool op_from_fd;             /* a restart from an image stream (for hints) */
	bool op_new;                 /* restart created this entry: drop it on failure */
	enum container_state op_prev_state;
	bool op_leave_running;
	char op_image_id[24];        /* checkpoint into the store: the id being written */
	Ckpt__Rpc__Response *op_result;   /* worker's final answer, unpacked */
	Ckpt__Rpc__ErrorCode op_err_code;  /* the failure to report once init is gone */
	char op_err_msg[600];
	/* ... and its fields, when the worker gave them (rpc.proto Error) */
	struct op_err_detail {
		int32_t sys_errno, task_pid, task_host_pid;   /* 0: not known */
		char object[128], reason[384];
	} op_err_detail;

	struct conn *cancel_conn;    /* ckptctl cancel: answered when the operation ends */

	/* Write tracking of --incremental checkpoints (daemon/cr/incr.h): the
	 * userfaultfds registered in its processes, and the image the next
	 * incremental one names as its parent. */
	int *incr_fds;
	size_t incr_nfds;
	char incr_parent[24];        /* "": no chain */
	uint64_t incr_digest;
	int *incr_new;               /* ... handed over by the checkpoint under way */
	size_t incr_nnew;
	bool incr_lost;              /* ... some of which could not be kept */
	bool op_incremental;

	struct lazy_fill *fill;      /* restart --lazy: its memory still filled (lazyfill.h) */

	/* A restart from a stream that this container's own checkpoint feeds
	 * (`ckptctl checkpoint x -o - | ckptctl restart x -i -`): it starts
	 * when the checkpoint is over. */
	struct conn *pending_conn;
	int pending_fd;              /* the spool file the stream is copied into */
	bool pending_spooling;       /* its spool worker still runs */
	int pending_err;             /* the spool failed: -errno */
	bool pending_allow_changed;  /* its --allow-changed-files */
	bool pending_trust;          /* restart it with --trust-image */
	bool pending_lazy;           /* ... with --lazy */
};

bool container_name_valid(const char *name);
struct container *container_find(struct server *srv, const char *name);
/* Give it to uid (its user name looked up for list). */
void container_set_owner(struct container *c, uid_t uid);
/* New entry owned by owner: creates STATE/containers/NAME (with its log). */
int container_new(struct server *srv, const char *name, uid_t owner, struct container **ret);
void container_free(struct container *c);
/* Unlink from the table and free; removes nothing on disk. */
void container_drop(struct container *c);
/* Remove the dir (images, log, state) and drop the entry. */
int container_destroy(struct container *c);
/* Load every container from the state dir, re-adopting live inits. */
int container_load_all(struct server *srv);
/* Save state and argv (tmp + rename). */
int container_save(struct container *c);
int container_set_argv(struct container *c, char *const *argv, size_t argc);

/* Create the cgroup and spawn a fresh init. run_argv != NULL: the init forks
 * and execs the workload; else it serves spawn requests on the other end of
 * *ret_ctl_fd (restart). */
struct init_run;
int container_spawn(struct container *c, const struct init_run *run, int *ret_ctl_fd, char *why, size_t whylen);
/* A cgroup path read back from a state file names this container's cgroup. */
bool container_cgroup_ours(const char *name, const char *dir);
/* Kill what is left in the cgroup and remove it (keeps it if still busy). */
void container_cleanup_cgroup(struct container *c);
/* Kill every process in the container (init included). */
int container_kill_all(struct container *c);
/* Called by the init watch when init exits (status = its exit code, or -1 unknown). */
void container_init_exited(struct container *c, int status);
/* End its chain of incremental checkpoints: the tracking goes (closing
 * the last userfaultfd unregisters it in the tasks). */
void container_incr_drop(struct container *c);
/* Keep fds[n] (taken) as tracking after image id, whose digest is digest. */
void container_incr_keep(struct container *c, int *fds, size_t n, const char *id, uint64_t digest);
#define CONTAINER_INCR_FDS_MAX 256
/* The console master from init (which keeps one), into c->console_fd. */
int container_take_console(struct container *c);
/* Fill workload_pid/workload_nspid from /proc. */
void container_find_workload(struct container *c);
/* A run's init (init_ready_fd, set by container_spawn when it does not
 * wait itself): done(c) once it says the workload exists, is gone, or 2 s
 * passed; the loop never blocks on it. container_unwatch_ready (done
 * calls it) closes both. 0 or -ENOMEM (then call done yourself). */
int container_watch_ready(struct container *c, void (*done)(struct container *c));
void container_unwatch_ready(struct container *c);

/* What a run asks the container may do and see (--cap-add, --cap-drop,
 * --privileged, --user, --root, --bind), checked; 0, or -errno and why. */
int container_contain_from_run(const Ckpt__Rpc__RunRequest *r, struct cr_contain *ret, char *why, size_t len);
/* run --memory/--pids/--cpus, checked against their bounds. */
int container_limits_from_run(const Ckpt__Rpc__RunRequest *r, struct cg_limits *ret, char *why, size_t len);
/* A --userns container's host range: the one k names, if no other
 * container (but self) holds a part of it, else the lowest free one of
 * the pool (userns.h). No-op without --userns. 0 or -errno, why said. */
int container_userns_assign(struct server *srv, const struct container *self, struct cr_contain *k, char *why, size_t len);

/* The most any of its tasks may hold (creds_allowed): its owner's bound
 * and its capability set. 0 or -errno. */
struct cr_creds_limit;
/* The owner's primary group (its passwd entry; its uid if it has none). */
gid_t container_owner_gid(const struct container *c);
/* Whom files are opened as for the container: its owner, or with --userns
 * the host ids of its namespace's root. */
uid_t container_file_uid(const struct container *c);
gid_t container_file_gid(const struct container *c);
/* Make k a member's: the member's ids and groups, no capability; -EPERM
 * (why set) if the request asked for more. */
int container_contain_member(uid_t member, struct cr_contain *k, char *why, size_t len);
/* A restart under a new name: --privileged and --cap-add (root's) on top
 * of the default set in k. 0, or -EINVAL with why. */
int container_contain_from_restart(const Ckpt__Rpc__RestartRequest *r, struct cr_contain *k, char *why, size_t len);
int container_creds_limit(const struct container *c, struct cr_creds_limit *ret);

/* ContainerInfo for replies; free with container_info_free(). */
int container_info(struct container *c, Ckpt__Rpc__ContainerInfo **ret);
void container_info_free(Ckpt__Rpc__ContainerInfo *ci);
Ckpt__Rpc__ContainerState container_rpc_state(const struct container *c);
