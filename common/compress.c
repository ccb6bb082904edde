// SPDX-License-Identifier: GPL-2.0-or-later
/* zstd for page chunks (compress.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <zstd.h>

#include "compress.h"

void compress_free(struct compress_state *s)
{
	ZSTD_freeCCtx(s->cctx);
	ZSTD_freeDCtx(s->dctx);
	free(s->buf);
	*s = (struct compress_state){ 0 };
}

/* s->buf holds at least len bytes; no realloc: its old contents are dead. */
static int compress_reserve(struct compress_state *s, size_t len)
{
	void *p;

	if (s->buf && s->cap >= len)
		return 0;
	p = malloc(len);
	if (!p)
		return -ENOMEM;
	free(s->buf);
	s->buf = p;
	s->cap = len;
	return 0;
}

ssize_t compress_chunk(struct compress_state *s, const void *src, size_t len)
{
	size_t bound = ZSTD_compressBound(len), n;
	int r;

	if (ZSTD_isError(bound))
		return -EFBIG;
	if (!s->cctx) {
		s->cctx = ZSTD_createCCtx();
		if (!s->cctx)
			return -ENOMEM;
		/* the frame header states the size, which a reader checks;
		 * the content checksum catches a damaged frame that would
		 * still decode (restart then refuses it instead of restoring
		 * wrong pages) */
		ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, COMPRESS_LEVEL);
		ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_contentSizeFlag, 1);
		ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_checksumFlag, 1);
	}
	r = compress_reserve(s, bound);
	if (r < 0)
		return r;
	n = ZSTD_compress2(s->cctx, s->buf, s->cap, src, len);
	return ZSTD_isError(n) ? -EIO : (ssize_t)n;
}

/* A zstd frame (not a skippable one) whose descriptor says it carries a
 * content checksum (RFC 8878 3.1.1.1). */
static bool frame_checked(const unsigned char *src, size_t len)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	return len > sizeof(magic) && !memcmp(src, magic, sizeof(magic)) && (src[4] & 0x04);
}

ssize_t decompress_chunk(struct compress_state *s, const void *src, size_t len, size_t max, size_t unit,
			 char *why, size_t why_len)
{
	unsigned long long size = ZSTD_getFrameContentSize(src, len);
	size_t frame = ZSTD_findFrameCompressedSize(src, len), n;
	int r;

	if (size == ZSTD_CONTENTSIZE_ERROR || ZSTD_isError(frame))
		return snprintf(why, why_len, "not a zstd frame"), -EBADMSG;
	if (!frame_checked(src, len))
		return snprintf(why, why_len, "a zstd frame without a content checksum"), -EBADMSG;
	if (size == ZSTD_CONTENTSIZE_UNKNOWN)
		return snprintf(why, why_len, "a zstd frame that does not state its size"), -EBADMSG;
	if (frame != len)
		return snprintf(why, why_len, "a zstd frame of %zu bytes in a record of %zu", frame, len), -EBADMSG;
	if (size == 0 || size > max || size % unit)
		return snprintf(why, why_len, "a zstd frame stating %llu bytes (at most %zu, in units of %zu)", size,
				max, unit), -EBADMSG;
	if (!s->dctx && !(s->dctx = ZSTD_createDCtx()))
		return -ENOMEM;
	r = compress_reserve(s, size);
	if (r < 0)
		return r;
	/* into exactly the stated size: a frame holding more fails here */
	n = ZSTD_decompressDCtx(s->dctx, s->buf, size, src, len);
	if (ZSTD_isError(n))
		return snprintf(why, why_len, "corrupt zstd frame: %s", ZSTD_getErrorName(n)), -EBADMSG;
	if (n != size)
		return snprintf(why, why_len, "a zstd frame stating %llu bytes holds %zu", size, n), -EBADMSG;
	return (ssize_t)n;
}
