// SPDX-License-Identifier: GPL-2.0-or-later
/* Unix sockets, shared by sock_unix*.c.
 *
 * Checkpoint reads every unix socket of the container's network namespace
 * once through sock_diag (names, peers, pending connections, queue
 * lengths, shutdown) and which task of the container holds each; a socket
 * is then saved with the inodes of what it is connected to, and its
 * receive queue is peeked, never consumed.
 *
 * Restart makes each connection once: a pair with socketpair(), a
 * listener's accepted and pending connections through the listener (whose
 * record comes first), and keeps the ends it made ahead until the record
 * of their inode takes them. Queues, shutdown and SO_PEEK_OFF are set once
 * every socket and task exists (sock_unix_restore_finish). */
#pragma once
#include "sock.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#define USK_NAME_MAX ((int)sizeof(((struct sockaddr_un *)0)->sun_path))

/* What sock_diag tells of one unix socket, and who holds it. */
struct usk_diag {
	uint32_t ino;
	uint8_t type, state, shutdown;
	bool has_peer, has_vfs;
	uint32_t peer;                /* 0: an embryo or a closed socket */
	uint32_t vfs_ino, vfs_dev;    /* bound to a path: its socket file */
	uint32_t rqueue, wqueue;      /* bytes queued; listening: pending, backlog */
	char name[USK_NAME_MAX];
	uint32_t namelen;             /* 0: unnamed */
	uint32_t *icons;              /* listening: its clients' inodes, oldest first */
	uint32_t nicons;
	pid_t holder;                 /* a task of the container holding it (host pid), or 0 */
	int holder_fd;
};

/* The container's unix sockets, sorted by inode (checkpoint). */
struct usk_table {
	struct usk_diag *v;
	size_t n;
	int *inflight;                /* the worker's fds on files in flight, kept to the end */
	size_t ninflight;
};

/* sock_unix_diag.c */
int usk_table_read(struct dump_ctx *ctx, struct usk_table **ret);
void usk_table_free(struct usk_table *t);
struct usk_diag *usk_table_find(const struct usk_table *t, uint32_t ino);
/* "socket:[INO] (NAME)" for messages. */
const char *usk_describe(const struct usk_diag *d, char *buf, size_t len);

/* sock_unix_queue.c: the receive queue without consuming it (its
 * SO_PEEK_OFF put back), refusing what can't be sent again. */
int usk_queue_dump(struct sock_dump *sd, const struct usk_diag *d, Ckpt__Img__UnixSock *u);
void usk_queue_free(Ckpt__Img__UnixSock *u);

/* One socket of the image at restart, by its inode at the checkpoint. */
struct usk_rent {
	uint32_t ino;
	int fd;               /* the worker's fd once its record took it (the pool owns it), or -1 */
	int ahead;            /* made by its pair or listener, not yet taken (owned), or -1 */
	int orphan;           /* the end of its pair whose socket was closed: closed once its queue is in (owned) */
	uint32_t file_id;
	uint8_t *packed;      /* its Socket record, for the finish */
	size_t plen;
};

struct usk_rtab {
	struct usk_rent *v;
	size_t n, cap;
};

/* sock_unix_restore.c */
struct usk_rent *usk_find(struct restore_ctx *ctx, uint32_t ino);
/* A sockaddr for a saved name; a path needs *dirfd, an O_PATH fd on its
 * directory in the container's root (the caller closes it). */
int usk_name_addr(struct restore_ctx *ctx, const ProtobufCBinaryData *name, struct sockaddr_un *sa, socklen_t *len, int *dirfd);
