// SPDX-License-Identifier: GPL-2.0-or-later
/* The keyed MACs of large records on a second thread (HMAC-SHA256, and for
 * page data AES-256-GMAC: image.h): the caller copies a chunk into the
 * pipe's buffer and goes on with the next one while the thread MACs this
 * one. Bytes reach the MAC in the order
 * they are fed; a caller that feeds the MAC itself, or reads it, waits first
 * (macpipe_wait), so nothing is ever MACed out of order. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Below this, a record is MACed in the caller's thread (after a wait). */
#define MACPIPE_MIN (64u << 10)

struct macpipe {
	/* what the thread does with each chunk (a record's header a and its
	 * payload b): feed them to the MAC(s) */
	int (*feed)(void *arg, const void *a, size_t alen, const void *b, size_t blen);
	void *arg;
	bool started, busy, stop, off;
	int err;                      /* the first failure of feed */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *buf;
	size_t alen, len, cap;
	const void *ref;              /* a payload fed by reference (macpipe_feed_ref) ... */
	unsigned char hdr[64];        /* ... and the header copied before it */
};

/* Set up p (no thread yet); CKPT_MAC_INLINE=1 in the environment keeps
 * every MAC in the caller's thread (for comparisons). */
void macpipe_init(struct macpipe *p, int (*feed)(void *arg, const void *a, size_t alen, const void *b, size_t blen),
		  void *arg);
/* Hand a (the record's header) and b (its payload) to the thread once it is
 * done with the chunk before; 0 or -errno (a feed that failed before). */
int macpipe_feed(struct macpipe *p, const void *a, size_t alen, const void *b, size_t blen);
/* The same without copying b: the thread reads it where it is, so the
 * caller leaves it unchanged until the next feed or wait returns (two
 * buffers used in turn do). alen is at most 64. */
int macpipe_feed_ref(struct macpipe *p, const void *a, size_t alen, const void *b, size_t blen);
/* Wait until everything fed is MACed; 0 or the first failure. */
int macpipe_wait(struct macpipe *p);
/* In a child forked after macpipe_wait: the thread stayed behind, the
 * next feed starts one of the child's own. */
void macpipe_after_fork(struct macpipe *p);
/* Wait, end the thread, free the buffer. */
void macpipe_free(struct macpipe *p);
