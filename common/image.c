/* The image stream: records with chained checksums, read and written once. */
#include "image.h"
#include "hash.h"
#include "image.pb-c.h"
#include "macro.h"
#include <stdarg.h>
#include <sys/uio.h>

static const char *const type_names[] = {
	[IMG_HEADER] = "header", [IMG_TASK] = "task", [IMG_FILE] = "file",
	[IMG_FDS] = "fds", [IMG_MM] = "mm", [IMG_PAGEMAP] = "pagemap",
	[IMG_PAGES] = "pages", [IMG_TAIL] = "tail", [IMG_ERROR] = "error",
};

const char *image_rec_type_name(uint32_t type)
{
	return type >= 1 && type <= IMG_TYPE_MAX ? type_names[type] : "unknown";
}

static size_t type_bound(uint32_t type)
{
	return type == IMG_PAGES ? IMAGE_MAX_PAGES : IMAGE_MAX_META;
}

static uint64_t rec_checksum(uint64_t chain, uint32_t type, uint64_t len, const void *payload)
{
	struct ckpt_hash_state s;

	ckpt_hash_init(&s, chain);
	ckpt_hash_update(&s, &type, sizeof(type));
	ckpt_hash_update(&s, &len, sizeof(len));
	ckpt_hash_update(&s, payload, len);
	return ckpt_hash_final(&s);
}

/* ---- writer ---- */

void image_writer_init(struct image_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->chain = IMAGE_MAGIC;
}

void image_writer_free(struct image_writer *w)
{
	free(w->scratch);
	w->scratch = NULL;
	w->scratch_cap = 0;
}

static int write_full(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t k = writev(fd, iov, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= k;
		}
	}
	return 0;
}

static int write_rec(struct image_writer *w, uint32_t type, const void *buf, size_t len)
{
	struct image_rec_hdr h = { .magic = IMAGE_MAGIC, .type = type, .length = len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, len } };
	int r;

	if (w->ended)
		return -EPIPE;
	if (len > type_bound(type))
		return -EFBIG;
	h.checksum = rec_checksum(w->chain, type, len, buf);
	r = write_full(w->fd, iov, len ? 2 : 1);
	if (r < 0)
		return r;
	w->chain = h.checksum;
	return 0;
}

int image_write_record(struct image_writer *w, uint32_t type, const void *buf, size_t len)
{
	int r;

	if (type < IMG_HEADER || type > IMG_TYPE_MAX || type == IMG_TAIL || type == IMG_ERROR)
		return -EINVAL;
	r = write_rec(w, type, buf, len);
	if (r < 0)
		return r;
	w->records++;
	w->bytes += len;
	return 0;
}

static int pack(struct image_writer *w, const ProtobufCMessage *msg, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (len > IMAGE_MAX_META)
		return -EFBIG;
	if (len > w->scratch_cap) {
		void *p = realloc(w->scratch, len);
		if (!p)
			return -ENOMEM;
		w->scratch = p;
		w->scratch_cap = len;
	}
	protobuf_c_message_pack(msg, w->scratch);
	*ret_len = len;
	return 0;
}

int image_write_msg(struct image_writer *w, uint32_t type, const ProtobufCMessage *msg)
{
	size_t len;
	int r = pack(w, msg, &len);

	return r < 0 ? r : image_write_record(w, type, w->scratch, len);
}

int image_write_tail(struct image_writer *w)
{
	Ckpt__Img__Tail t = CKPT__IMG__TAIL__INIT;
	size_t len;
	int r;

	t.records = w->records;
	t.bytes = w->bytes;
	r = pack(w, &t.base, &len);
	if (r >= 0)
		r = write_rec(w, IMG_TAIL, w->scratch, len);
	if (r >= 0)
		w->ended = true;
	return r;
}

int image_write_error(struct image_writer *w, const char *message)
{
	Ckpt__Img__ErrorRec e = CKPT__IMG__ERROR_REC__INIT;
	size_t len;
	int r;

	e.message = (char *)message;
	r = pack(w, &e.base, &len);
	if (r >= 0)
		r = write_rec(w, IMG_ERROR, w->scratch, len);
	w->ended = true;   /* never a tail after an error */
	return r;
}

/* ---- reader ---- */

void image_reader_init(struct image_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->chain = IMAGE_MAGIC;
}

void image_reader_free(struct image_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

static int fail(struct image_reader *r, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->error, sizeof(r->error), "at offset %lu: ", (unsigned long)r->offset);

	va_start(ap, fmt);
	vsnprintf(r->error + n, sizeof(r->error) - n, fmt, ap);
	va_end(ap);
	return err;
}

/* Read exactly len bytes; returns bytes read before EOF, or -errno. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t k = read(fd, (char *)buf + done, len - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		done += k;
	}
	return done;
}

static int check_tail(struct image_reader *r, const void *payload, size_t len)
{
	Ckpt__Img__Tail *t = (Ckpt__Img__Tail *)protobuf_c_message_unpack(&ckpt__img__tail__descriptor, NULL, len, payload);
	bool ok;

	if (!t)
		return fail(r, -EBADMSG, "malformed tail");
	ok = t->records == r->records && t->bytes == r->bytes;
	protobuf_c_message_free_unpacked(&t->base, NULL);
	if (!ok)
		return fail(r, -EBADMSG, "tail counts disagree with the stream");
	r->done = true;
	return 0;
}

static int reader_error_record(struct image_reader *r, const void *payload, size_t len)
{
	Ckpt__Img__ErrorRec *e = (Ckpt__Img__ErrorRec *)protobuf_c_message_unpack(&ckpt__img__error_rec__descriptor, NULL, len, payload);

	fail(r, -EBADMSG, "the image was not completed: %s", e && e->message ? e->message : "(no reason)");
	if (e)
		protobuf_c_message_free_unpacked(&e->base, NULL);
	return -EBADMSG;
}

int image_read_record(struct image_reader *r, uint32_t *ret_type, const void **ret_payload, size_t *ret_len)
{
	struct image_rec_hdr h;
	ssize_t n;

	if (r->done)
		return 0;
	n = read_full(r->fd, &h, sizeof(h));
	if (n < 0)
		return fail(r, (int)n, "read: %s", strerror((int)-n));
	if (n < (ssize_t)sizeof(h))
		return fail(r, -ENODATA, "truncated image: the stream ends before its tail");
	if (h.magic != IMAGE_MAGIC)
		return fail(r, -EPROTO, "bad record magic %#x: not a ckptd image, or corrupt", h.magic);
	if (h.type < IMG_HEADER || h.type > IMG_TYPE_MAX)
		return fail(r, -EPROTO, "unknown record type %u", h.type);
	if ((r->records == 0 && r->chain == IMAGE_MAGIC) != (h.type == IMG_HEADER) && h.type != IMG_ERROR)
		return fail(r, -EPROTO, "%s record where %s", image_rec_type_name(h.type),
			    h.type == IMG_HEADER ? "a second header is not allowed" : "the header must come first");
	if (h.length > type_bound(h.type))
		return fail(r, -EFBIG, "%s record of %lu bytes exceeds its bound", image_rec_type_name(h.type), (unsigned long)h.length);
	if (h.length > r->cap) {
		void *p = realloc(r->buf, h.length);
		if (!p)
			return fail(r, -ENOMEM, "out of memory");
		r->buf = p;
		r->cap = h.length;
	}
	n = read_full(r->fd, r->buf, h.length);
	if (n < 0)
		return fail(r, (int)n, "read: %s", strerror((int)-n));
	if ((size_t)n < h.length)
		return fail(r, -ENODATA, "truncated image: %s record cut short", image_rec_type_name(h.type));
	if (rec_checksum(r->chain, h.type, h.length, r->buf) != h.checksum)
		return fail(r, -EBADMSG, "checksum mismatch in %s record: the image is corrupt", image_rec_type_name(h.type));
	r->chain = h.checksum;
	r->offset += sizeof(h) + h.length;
	if (h.type == IMG_TAIL)
		return check_tail(r, r->buf, h.length);
	if (h.type == IMG_ERROR)
		return reader_error_record(r, r->buf, h.length);
	r->records++;
	r->bytes += h.length;
	*ret_type = h.type;
	*ret_payload = r->buf;
	*ret_len = h.length;
	return 1;
}

void *image_unpack(struct image_reader *r, const ProtobufCMessageDescriptor *desc, const void *payload, size_t len)
{
	void *m = protobuf_c_message_unpack(desc, NULL, len, payload);

	if (!m)
		fail(r, 0, "malformed %s record", desc->short_name);
	return m;
}
