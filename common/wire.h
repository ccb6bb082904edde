// SPDX-License-Identifier: GPL-2.0-or-later
/* RPC framing on the ckptd socket: one protobuf message per SOCK_SEQPACKET
 * datagram, fds as SCM_RIGHTS. Shared by ckptd and ckptctl; see proto/rpc.proto. */
#pragma once
#include <stddef.h>
#include <sys/types.h>
#include <protobuf-c/protobuf-c.h>

#define CKPT_RPC_MAX_MSG (1u << 20)
#define CKPT_RPC_MAX_FDS 4
#define CKPTD_DEFAULT_SOCKET "/run/ckptd/ckptd.sock"

/* Send one datagram with up to CKPT_RPC_MAX_FDS fds. Returns 0 or -errno. */
int wire_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds);

/* Pack and send a protobuf message. Returns 0 or -errno (-EMSGSIZE if too big). */
int wire_send_msg(int sock, const ProtobufCMessage *msg, const int *fds, size_t nfds);

/* Receive one datagram into buf (cap bytes). Received fds (O_CLOEXEC) go to
 * ret_fds, at most max_fds; extra fds are closed and -EBADMSG returned.
 * Returns the datagram length, 0 on EOF, -EMSGSIZE if truncated, or -errno.
 * On error no fd is left open. */
ssize_t wire_recv(int sock, void *buf, size_t cap, int *ret_fds, size_t max_fds, size_t *ret_nfds);

/* Socket path from an explicit argument, else $CKPTD_SOCKET, else the default. */
const char *wire_socket_path(const char *arg);
