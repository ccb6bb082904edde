// SPDX-License-Identifier: GPL-2.0-or-later
/* Sockets (FILE_SOCKET): what every family shares, and each family's part.
 *
 * Checkpoint takes the worker's own fd on the socket (pidfd_getfd), so it
 * can ask the socket itself (getsockopt, sock_diag, peeking its queues)
 * without injecting anything into the task. Restart makes the socket in
 * the worker, which is in the container's network namespace by then (and
 * in no other of its namespaces), and hands it over like any file. */
#pragma once
#include "restore.h"
#include "dump.h"
#include <sys/socket.h>

/* One socket being checkpointed. */
struct sock_dump {
	struct dump_ctx *ctx;
	pid_t pid;                    /* its holder (host pid) ... */
	int fd;                       /* ... and the fd it has there */
	const char *link;             /* "socket:[INO]" */
	ino_t ino;                    /* its inode number: sock_diag's key */
	int sk;                       /* the worker's fd on the same socket */
	Ckpt__Img__Socket *s;         /* what the image keeps (family, type, protocol set) */
};

/* Refuse the socket: "task T (host H): fd N (socket:[INO]): WHY". */
int sock_refuse(struct sock_dump *sd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A kernel call about the socket failed (err: errno). */
int sock_fail(struct sock_dump *sd, int err, const char *what);

/* A classic BPF filter is attached (SO_GET_FILTER): refuse it. */
int sock_refuse_filter(struct sock_dump *sd);

/* sock_diag.c: one sock_diag dump of the worker's network namespace (req:
 * the family's request, no netlink header); fn sees each record and
 * returns 1 when it is the socket it looks for, 0 to go on, or -errno.
 * Returns 1 (found), 0 (not listed) or -errno. */
struct nlmsghdr;
struct nlattr;
int sock_diag_find(const void *req, size_t len, int (*fn)(const struct nlmsghdr *h, void *arg), void *arg);
/* The same for one socket (req's id: its addresses and ports, no dump). */
int sock_diag_get(const void *req, size_t len, int (*fn)(const struct nlmsghdr *h, void *arg), void *arg);
/* SOCK_DESTROY of that one socket: the kernel aborts it (a connection
 * sends its peer an RST). */
int sock_diag_destroy(const void *req, size_t len);
/* The attribute of type in the len bytes from first, or NULL. */
const struct nlattr *sock_diag_attr(const void *first, size_t len, int type);

/* One socket being restarted. */
struct sock_restore {
	struct restore_ctx *ctx;
	const Ckpt__Img__File *f;
	const Ckpt__Img__Socket *s;
};

/* sock.c: called by files.c for a FILE_SOCKET. */
int sock_dump(struct dump_ctx *ctx, pid_t pid, int fd, const char *link, const struct stat *st, Ckpt__Img__File *f);
void sock_dump_free(Ckpt__Img__File *f);
int sock_reopen(struct restore_ctx *ctx, const Ckpt__Img__File *f);   /* a new fd */
/* "file N (socket, FAMILY TYPE)": what restart errors name. */
const char *sock_name(const Ckpt__Img__File *f, char *buf, size_t len);

/* sock_opts.c: the options of sock_optab.c. Dump saves those that differ
 * from a new socket's of the same family, type and protocol; restore sets
 * those of one phase (the family's restore calls it: SOPT_EARLY right
 * after socket(), SOPT_LATE once queues and state are back). */
enum sock_opt_phase { SOPT_EARLY = 0, SOPT_LATE = 1 };
int sock_opts_dump(struct sock_dump *sd);
/* An int option as sock_opts_dump read it (after it): 0, or -ENOENT when it
 * did not read it. */
int sock_opt_int(struct sock_dump *sd, int level, int name, int *ret);
int sock_opts_restore(struct sock_restore *sr, int sk, enum sock_opt_phase phase);

/* Each family: dump fills sd->s (its part, and refuses what it can't
 * keep); free releases what dump allocated in s; restore makes the socket
 * (options included) and returns a new fd. */
int sock_unix_dump(struct sock_dump *sd);
void sock_unix_free(Ckpt__Img__Socket *s);
int sock_unix_restore(struct sock_restore *sr);
/* Checkpoint: drop the table of unix sockets. Restart: once every task
 * and file exists, unix sockets' queues, shutdown and late options; and
 * the end of the restart's unix sockets (closing those not handed over). */
void sock_unix_dump_done(struct dump_ctx *ctx);
int sock_unix_restore_finish(struct restore_ctx *ctx);
void sock_unix_restore_done(struct restore_ctx *ctx);
int sock_inet_dump(struct sock_dump *sd);
void sock_inet_free(Ckpt__Img__Socket *s);
int sock_inet_restore(struct sock_restore *sr);
/* sock_inet.c fills InetSock's addresses, then hands over to TCP
 * (sock_tcp.c) or the datagram and raw kinds (sock_dgram.c). */
int sock_tcp_dump(struct sock_dump *sd);
void sock_tcp_free(Ckpt__Img__Socket *s);
int sock_tcp_restore(struct sock_restore *sr);
const char *sock_tcp_state_name(unsigned state);
/* A connection in TCP repair mode until the operation ends: then left in
 * it (closed by its tasks' death or a failed restart's cleanup, silently)
 * or, resume, taken out of it (reuse: SO_REUSEADDR to set again). The
 * worker keeps no fd on it: pid's fd at checkpoint, the pool's fd at
 * restart. */
struct sock_repaired {
	pid_t pid;                    /* 0: fd is the worker's */
	int fd;
	int reuse;
	/* restart only: a closing connection sends its FIN again (shutdown
	 * in repair mode, once every socket exists); fin_in: it waits for
	 * its peer's; connect: not repaired, a connect in progress made again */
	bool fin_out, fin_in, connect;
	/* pending: a fresh socket, its peer waiting in a listener's accept
	 * queue: connected to dst in rank order, then sndq written, then
	 * (fin_out) its FIN sent */
	bool pending;
	uint32_t rank;
	uint8_t *sndq;
	size_t sndq_len;
	struct sockaddr_storage dst;  /* connect: where to */
	socklen_t dstlen;
	struct tcp_forge *forge;      /* fin_in from a peer outside: sent by the restart */
};

/* The FIN of a peer outside the container, as it sent it: from its
 * address and port to ours, at the sequence number it had. */
struct tcp_forge {
	int family;
	uint8_t peer[16], own[16];
	uint16_t peer_port, own_port;
	uint32_t seq, ack;
	uint16_t win;
	unsigned state;               /* the connection's, at the checkpoint */
	bool after_fin;               /* sent once our own FIN is out (CLOSING) */
};
/* Send it on the container's loopback (a raw socket: the source is the peer's). */
int sock_tcp_forge_fin(const struct tcp_forge *f);
void sock_repaired_end(struct sock_repaired **v, size_t *n, bool resume);
/* The end of a checkpoint: resume when the workload goes on running
 * (before it does), else once it is dead. */
void sock_tcp_dump_end(struct dump_ctx *ctx, bool resume);
/* The end of a restart: resume once every socket exists (before the
 * tasks run), else when a failed restart cleans up. */
void sock_tcp_restore_end(struct restore_ctx *ctx, bool resume);
/* Before sock_tcp_restore_end(resume): closing connections send their FIN
 * again and receive their peer's; connects in progress start again. */
int sock_tcp_restore_close(struct restore_ctx *ctx);
/* The closing states (FIN_WAIT1 to LAST_ACK): which FIN each has sent or
 * received. Its sequence numbers count them. */
static inline bool sock_tcp_fin_sent(unsigned state)
{
	return state == 4 /* FIN_WAIT1 */ || state == 5 /* FIN_WAIT2 */ || state == 11 /* CLOSING */ ||
	       state == 9 /* LAST_ACK */;
}
static inline bool sock_tcp_fin_rcvd(unsigned state)
{
	return state == 8 /* CLOSE_WAIT */ || state == 11 /* CLOSING */ || state == 9 /* LAST_ACK */;
}
/* ... and the FIN it sent is acknowledged (counted in SIOCOUTQ until then). */
static inline bool sock_tcp_fin_acked(unsigned state)
{
	return state == 5 /* FIN_WAIT2 */;
}
/* sock_held.c: the first task of the container (host pid, fd) holding
 * socket inode ino: 1, 0 if none does, or -errno. sock_held_free at the
 * end of the checkpoint. */
int sock_held_find(struct dump_ctx *ctx, uint32_t ino, pid_t *ret_pid, int *ret_fd);
void sock_held_free(struct dump_ctx *ctx);
/* sock_tcp_peer.c: in the host's network, a connection whose peer is
 * not the container's own is refused (its traffic can't be held). */
int sock_tcp_check_peer(struct sock_dump *sd);
/* A connection that received its peer's FIN gets it again at restart only
 * from that peer, restored in a state that sent it: refused otherwise. */
int sock_tcp_check_fin_peer(struct sock_dump *sd, unsigned state);
/* A connect in progress (SYN_SENT): its destination, which getpeername
 * doesn't tell, from sock_diag. */
int sock_tcp_syn_dst(struct sock_dump *sd);
/* sock_tcp_pending.c: connections waiting in a listener's accept queue.
 * A listener's (queued: its accept queue's length) is refused unless each
 * is made again by its peer's connect at restart. sock_tcp_pending_peer:
 * 1 when sd's peer waits there and is made so, 2 when it waits there and
 * its listener refuses it, 0 when it is no such connection. */
int sock_tcp_pending_listener(struct sock_dump *sd, uint32_t queued);
int sock_tcp_pending_peer(struct sock_dump *sd);
/* ... after its queues are read: its record says connect, not repair. */
int sock_tcp_pending_mark(struct sock_dump *sd);
void sock_tcp_pending_free(struct dump_ctx *ctx);
/* Checkpoint, frozen, in the container's network namespace: how many
 * connections wait in an accept queue in a way the dump would refuse
 * (bytes received, a peer outside unless reset_outside, or closing);
 * -errno. A running server accepts them, so the freeze is worth trying
 * again. */
int sock_tcp_pending_unsettled(bool reset_outside);
/* --tcp-pending=reset, the image whole, the container about to be killed:
 * the connections from outside the dump let through are reset (held: the
 * container's traffic is held by these hooks). */
void sock_tcp_pending_reset(struct dump_ctx *ctx, const struct cr_net_ops *held);
/* Restart: 1 once the connection of fd, connected again, waits in its
 * listener's accept queue; 0 not yet; -errno. */
int sock_tcp_pending_queued(int fd);
int sock_dgram_dump(struct sock_dump *sd);
void sock_dgram_free(Ckpt__Img__Socket *s);
int sock_dgram_restore(struct sock_restore *sr);
/* A saved address (4 or 16 bytes; none: the wildcard) and port. */
void sock_inet_sockaddr(int family, const ProtobufCBinaryData *addr, uint32_t port, struct sockaddr_storage *ss, socklen_t *len);
/* The netlink protocols whose sockets hold no kernel state beyond their
 * port id, groups and options: route (getaddrinfo, ip), sock_diag (ss)
 * and uevents (udev listeners). */
static inline bool sock_netlink_kept(int protocol)
{
	return protocol == 0 /* NETLINK_ROUTE */ || protocol == 4 /* NETLINK_SOCK_DIAG */ ||
	       protocol == 15 /* NETLINK_KOBJECT_UEVENT */;
}
int sock_netlink_dump(struct sock_dump *sd);
void sock_netlink_free(Ckpt__Img__Socket *s);
int sock_netlink_restore(struct sock_restore *sr);
int sock_packet_dump(struct sock_dump *sd);
void sock_packet_free(Ckpt__Img__Socket *s);
int sock_packet_restore(struct sock_restore *sr);
