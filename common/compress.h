// SPDX-License-Identifier: GPL-2.0-or-later
/* Page chunks compressed one by one with zstd: each ZPAGES record is one
 * zstd frame that states its own decompressed size, so a stream stays
 * forward-only and any chunk can be decompressed alone (by offset).
 * A frame read from an image is untrusted: it must carry a content checksum
 * and state its size, the size must be within the caller's bound, and the
 * frame must decompress to exactly it. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The zstd level of `--compress zstd`: fast enough to keep up with a copy. */
#define COMPRESS_LEVEL 1

struct compress_state {
	void *cctx;                   /* ZSTD_CCtx, made on first use */
	void *dctx;                   /* ZSTD_DCtx, made on first use */
	void *buf;                    /* output of the last call */
	size_t cap;
};

void compress_free(struct compress_state *s);
/* Compress src[0..len) into s->buf; returns the frame's size, or -errno.
 * A result >= len means the chunk does not shrink: store it raw. */
ssize_t compress_chunk(struct compress_state *s, const void *src, size_t len);
/* Decompress one frame of len bytes into s->buf; returns the size it
 * states and holds (a multiple of unit, at most max), or -EBADMSG with why
 * saying what is wrong, -ENOMEM. */
ssize_t decompress_chunk(struct compress_state *s, const void *src, size_t len, size_t max, size_t unit,
			 char *why, size_t why_len);
