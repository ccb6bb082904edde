// SPDX-License-Identifier: GPL-2.0-or-later
/* The socket options ckptd saves and sets again (sock_optab.c), shared by
 * the checkpoint, the restart and the pure image checks. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sopt_kind {
	SOPT_INT,        /* an int (a flag or a number) */
	SOPT_BUF,        /* SO_RCVBUF/SO_SNDBUF: the kernel doubles what is set */
	SOPT_BYTES,      /* a struct of exactly len bytes */
	SOPT_STRING,     /* up to len bytes, NUL not included (a device name) */
};

struct sock_opt_desc {
	int family;       /* 0: any family */
	int level, name;
	const char *label;
	enum sopt_kind kind;
	uint32_t len;     /* SOPT_BYTES: its size; SOPT_STRING: the most */
	int set_name;     /* the option to set it with, if not name (SO_RCVBUFFORCE) */
	int phase;        /* enum sock_opt_phase */
	bool nostream;    /* not a stream socket's: the kernel won't set it there */
};

#define SOCK_OPTAB_MAX 256   /* rows the table may have */
/* SO_BUF_LOCK's bits: SOCK_SNDBUF_LOCK (1) and SOCK_RCVBUF_LOCK (2), set by
 * SO_SNDBUF and SO_RCVBUF; TCP grows an unlocked buffer by itself */
#define SOCK_BUF_LOCKS 3

extern const struct sock_opt_desc sock_optab[];
extern const size_t sock_optab_len;
/* The entry for (level, name) that applies to family, or NULL (type
 * decides nothing: callers check nostream). */
const struct sock_opt_desc *sock_opt_find(int family, int level, int name);
