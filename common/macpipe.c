// SPDX-License-Identifier: GPL-2.0-or-later
/* The MAC of page data on a second thread (macpipe.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "macpipe.h"

void macpipe_init(struct macpipe *p, int (*feed)(void *arg, const void *a, size_t alen, const void *b, size_t blen),
		  void *arg)
{
	const char *inl = getenv("CKPT_MAC_INLINE");

	memset(p, 0, sizeof(*p));
	p->feed = feed;
	p->arg = arg;
	p->off = inl && !strcmp(inl, "1");
}

static void *macpipe_main(void *arg)
{
	struct macpipe *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->busy && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->busy)
			break;
		pthread_mutex_unlock(&p->lock);
		/* the buffer is the thread's alone while busy */
		int r = p->err ? 0
			: p->ref ? p->feed(p->arg, p->hdr, p->alen, p->ref, p->len - p->alen)
				 : p->feed(p->arg, p->buf, p->alen, (char *)p->buf + p->alen, p->len - p->alen);
		pthread_mutex_lock(&p->lock);
		if (r < 0 && !p->err)
			p->err = r;
		p->busy = false;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* The thread takes no signal: the caller's handlers and waits stay its own. */
static int macpipe_start(struct macpipe *p)
{
	sigset_t all, old;
	int r;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&p->thread, NULL, macpipe_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		return -r;
	}
	p->started = true;
	return 0;
}

int macpipe_wait(struct macpipe *p)
{
	int r;

	if (!p->started)
		return p->err;
	pthread_mutex_lock(&p->lock);
	while (p->busy)
		pthread_cond_wait(&p->cond, &p->lock);
	r = p->err;
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* The chunk into the pipe's buffer: a, then b behind it. */
static int macpipe_copy(struct macpipe *p, const void *a, size_t alen, const void *b, size_t blen)
{
	if (p->cap < alen + blen) {
		void *n = malloc(alen + blen);

		if (!n)
			return -ENOMEM;
		free(p->buf);
		p->buf = n;
		p->cap = alen + blen;
	}
	memcpy(p->buf, a, alen);
	memcpy((char *)p->buf + alen, b, blen);
	return 0;
}

/* Both feeds: once the thread is done with the chunk before, b is copied
 * (by_ref false) or left where it is, and the thread is woken. */
static int macpipe_hand(struct macpipe *p, const void *a, size_t alen, const void *b, size_t blen, bool by_ref)
{
	int r;

	if (by_ref && alen > sizeof(p->hdr))
		return -EINVAL;
	if (p->off || (!p->started && macpipe_start(p) < 0)) {
		/* no thread: the caller's own, in order */
		return p->feed(p->arg, a, alen, b, blen);
	}
	r = macpipe_wait(p);
	if (r < 0)
		return r;
	if (by_ref)
		memcpy(p->hdr, a, alen);
	else if ((r = macpipe_copy(p, a, alen, b, blen)) < 0)
		return r;
	pthread_mutex_lock(&p->lock);
	p->ref = by_ref ? b : NULL;
	p->alen = alen;
	p->len = alen + blen;
	p->busy = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int macpipe_feed(struct macpipe *p, const void *a, size_t alen, const void *b, size_t blen)
{
	return macpipe_hand(p, a, alen, b, blen, false);
}

int macpipe_feed_ref(struct macpipe *p, const void *a, size_t alen, const void *b, size_t blen)
{
	return macpipe_hand(p, a, alen, b, blen, true);
}

void macpipe_after_fork(struct macpipe *p)
{
	p->started = p->busy = p->stop = false;
}

void macpipe_free(struct macpipe *p)
{
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		while (p->busy)
			pthread_cond_wait(&p->cond, &p->lock);
		p->stop = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
	}
	free(p->buf);
	p->buf = NULL;
	p->cap = 0;
	p->started = false;
}
