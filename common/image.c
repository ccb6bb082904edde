// SPDX-License-Identifier: GPL-2.0-or-later
/* The image stream: typed records with chained checksums, written and read
 * front to back once, so it works on pipes and sockets as well as files.
 * Everything read is untrusted: lengths are bounded before anything is
 * allocated or read, and every record is checked before it is handed out. */
#include <endian.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>

#include "hash.h"
#include "image.h"
#include "image_lazy.h"
#include "image.pb-c.h"
#include "macro.h"

#define IMAGE_MIN_BUF 4096u

static const char *const image_type_names[] = {
	[IMG_HEADER] = "header", [IMG_TASK] = "task", [IMG_FILE] = "file",
	[IMG_FDS] = "fds", [IMG_MM] = "mm", [IMG_PAGEMAP] = "pagemap",
	[IMG_PAGES] = "pages", [IMG_TAIL] = "tail", [IMG_ERROR] = "error",
	[IMG_PIPE] = "pipe", [IMG_SHM] = "shm", [IMG_TREE] = "tree",
	[IMG_THREAD] = "thread", [IMG_DROP] = "drop",
	[IMG_GHOST] = "ghost", [IMG_SYSV_SHM] = "sysv-shm",
	[IMG_SEGMENT] = "segment", [IMG_META_END] = "meta-end",
	[IMG_MAC] = "mac",
	[IMG_PARENT_REF] = "parent-ref",
	[IMG_ZPAGES] = "zpages",
};

const char *image_rec_type_name(uint32_t type)
{
	return type >= IMG_HEADER && type <= IMG_TYPE_MAX && image_type_names[type] ? image_type_names[type] : "unknown";
}

static bool image_type_valid(uint32_t type)
{
	return type >= IMG_HEADER && type <= IMG_TYPE_MAX && image_type_names[type];
}

static uint64_t image_type_bound(uint32_t type)
{
	return type == IMG_PAGES || type == IMG_ZPAGES ? IMAGE_MAX_PAGES : IMAGE_MAX_META;
}

uint64_t image_record_checksum(uint64_t chain, uint32_t type, uint64_t len, const void *payload)
{
	struct ckpt_hash_state s;
	unsigned char tl[12];
	uint32_t t = htole32(type);
	uint64_t l = htole64(len);

	memcpy(tl, &t, sizeof(t));
	memcpy(tl + 4, &l, sizeof(l));
	ckpt_hash_init(&s, chain);
	ckpt_hash_update(&s, tl, sizeof(tl));
	ckpt_hash_update(&s, payload, len);
	return ckpt_hash_final(&s);
}

static void image_hdr_make(struct image_rec_hdr *h, uint32_t type, uint64_t len, uint64_t sum)
{
	*h = (struct image_rec_hdr){
		.magic = htole32(IMAGE_MAGIC), .type = htole32(type),
		.length = htole64(len), .checksum = htole64(sum),
	};
}

static bool image_type_pages(uint32_t type)
{
	return type == IMG_PAGES || type == IMG_ZPAGES;
}

/* The MACs cover a record as it is on the wire: its header goes to the
 * HMAC m, its payload too, unless it is page data: that goes to the page
 * MAC pm. The header's checksum goes as zero: the unkeyed chain is a
 * function of what the MACs cover (the reader recomputes it), and with it
 * the HMAC would hang on page payloads through a hash anyone can forge;
 * without it, page data is the page MAC's alone, and a change to it is
 * that MAC's to catch. */
static int image_mac_feed(struct mac_state *m, struct mac_state *pm, const struct image_rec_hdr *h, const void *payload,
			  size_t len)
{
	struct image_rec_hdr hm = *h;
	int r;

	hm.checksum = 0;
	r = mac_update(m, &hm, sizeof(hm));

	if (r < 0)
		return r;
	return mac_update(image_type_pages(le32toh(h->type)) ? pm : m, payload, len);
}

/* What a MAC's HMAC covers after the records: the page MAC's state. */
struct image_page_fields {
	uint8_t salt[MAC_PAGE_SALT_LEN];
	uint8_t iv[MAC_PAGE_IV_LEN];
	uint8_t tag[MAC_PAGE_TAG_LEN];
} __attribute__((packed));

/* An fd handed to us (a client's pipe) may be O_NONBLOCK: wait, don't fail. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int (*image_io_interrupted)(void);

/* A signal interrupted us: go on (0) or stop (<0), as the hook says. */
static int image_io_eintr(void)
{
	return image_io_interrupted ? image_io_interrupted() : 0;
}

/* Wait until fd is ready, or fail with -ETIMEDOUT at the deadline. */
static int image_wait_fd(const struct image_io *io, short events)
{
	struct pollfd p = { .fd = io->fd, .events = events };
	int timeout = -1, n;

	if (io->deadline_ms) {
		uint64_t now = now_ms();

		if (now >= io->deadline_ms)
			return -ETIMEDOUT;
		timeout = (int)MIN(io->deadline_ms - now, (uint64_t)INT32_MAX);
	}
	n = poll(&p, 1, timeout);
	if (n < 0 && errno != EINTR)
		return -errno;
	if (n < 0)
		return image_io_eintr();
	return n == 0 ? -ETIMEDOUT : 0;
}

int image_io_set_deadline(struct image_io *io, int fd, bool write, uint64_t deadline_ms)
{
	struct stat st;
	char path[64];
	int nfd;

	if (fstat(fd, &st) < 0)
		return -errno;
	io->deadline_ms = deadline_ms;
	if (S_ISSOCK(st.st_mode)) {
		io->sock = true;
	} else if (S_ISFIFO(st.st_mode) && !io->owned) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		nfd = open(path, (write ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
		if (nfd < 0)
			return -errno;
		io->fd = nfd;
		io->owned = true;
	}
	return 0;
}

/* ETIMEDOUT here only ever means the stream's deadline. */
static const char *image_io_error(int err)
{
	return err == ETIMEDOUT ? "the operation's deadline passed (--timeout)" : strerror(err);
}

void image_io_close(struct image_io *io)
{
	if (io->owned)
		close(io->fd);
	io->owned = false;
}

/* ---- writer ---- */

void image_writer_init(struct image_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->io.fd = fd;
	w->chain = IMAGE_MAGIC;
}

void image_writer_free(struct image_writer *w)
{
	image_io_close(&w->io);
	compress_free(&w->z);
	macpipe_free(&w->mp);
	mac_free(&w->mac);
	mac_free(&w->gmac);
	explicit_bzero(w->page_key, sizeof(w->page_key));
	w->keyed = false;
	free(w->scratch);
	w->scratch = NULL;
	w->scratch_cap = 0;
	free(w->wbuf);
	w->wbuf = NULL;
	w->wlen = 0;
}

static int image_writev_full(const struct image_io *io, struct iovec *iov, int n)
{
	while (n > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
		ssize_t k = io->sock ? sendmsg(io->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) : writev(io->fd, iov, n);

		if (k < 0) {
			if (errno == EINTR && image_io_eintr() == 0)
				continue;
			if (errno == EINTR)
				return image_io_eintr();
			if (errno == EAGAIN) {
				int r = image_wait_fd(io, POLLOUT);

				if (r < 0)
					return r;
				continue;
			}
			return -errno;
		}
		/* drop what went out, resume mid-iovec on a short write */
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

static int image_writer_feed(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct image_writer *w = arg;

	(void)alen;
	return image_mac_feed(&w->mac, &w->gmac, a, b, blen);
}

/* Large records go to the MAC thread, the rest after what it holds. */
static int image_writer_mac(struct image_writer *w, const struct image_rec_hdr *h, const void *buf, size_t len)
{
	int r;

	if (len >= MACPIPE_MIN && buf == w->ref_buf)
		return macpipe_feed_ref(&w->mp, h, sizeof(*h), buf, len);
	if (len >= MACPIPE_MIN)
		return macpipe_feed(&w->mp, h, sizeof(*h), buf, len);
	r = macpipe_wait(&w->mp);
	return r < 0 ? r : image_mac_feed(&w->mac, &w->gmac, h, buf, len);
}

static int image_write_mac_rec(struct image_writer *w);

/* The IMG_MAC due after a page record: written when the next record comes
 * rather than at once, so the MAC thread finishes the payload meanwhile;
 * before that record is packed, since the MAC is packed in w->scratch too. */
static int image_end_page_segment(struct image_writer *w)
{
	return w->mac_due ? image_write_mac_rec(w) : 0;
}

/* Records this small are gathered in w->wbuf and go out together: at 1%
 * of a mapping written, an incremental image is thousands of records of a
 * page or less, a system call each otherwise. */
#define IMAGE_WBUF_SMALL (16u << 10)
#define IMAGE_WBUF_CAP (256u << 10)

/* What w->wbuf holds goes out, with the iovecs after it (n of them, maybe
 * none) in the same call. */
static int image_write_out(struct image_writer *w, struct iovec *iov, int n)
{
	struct iovec all[3];
	int k = 0, r;

	if (w->wlen)
		all[k++] = (struct iovec){ .iov_base = w->wbuf, .iov_len = w->wlen };
	for (int i = 0; i < n && k < (int)ARRAY_SIZE(all); i++)
		all[k++] = iov[i];
	if (!k)
		return 0;
	r = image_writev_full(&w->io, all, k);
	w->wlen = 0;
	return r;
}

/* A record (header, payload) into w->wbuf, or out with what it holds. */
static int image_write_gather(struct image_writer *w, struct iovec iov[2], int n)
{
	size_t len = iov[0].iov_len + (n > 1 ? iov[1].iov_len : 0);

	if (len > IMAGE_WBUF_SMALL)
		return image_write_out(w, iov, n);
	if (!w->wbuf && !(w->wbuf = malloc(IMAGE_WBUF_CAP)))
		return image_write_out(w, iov, n);
	if (w->wlen + len > IMAGE_WBUF_CAP) {
		int r = image_write_out(w, NULL, 0);

		if (r < 0)
			return r;
	}
	for (int i = 0; i < n; i++) {
		memcpy((char *)w->wbuf + w->wlen, iov[i].iov_base, iov[i].iov_len);
		w->wlen += iov[i].iov_len;
	}
	return 0;
}

int image_writer_flush(struct image_writer *w)
{
	int r;

	if (!w->wlen)
		return 0;
	r = image_write_out(w, NULL, 0);
	/* part of a record may be out: nothing after it could be read */
	if (r < 0)
		w->ended = true;
	return r;
}

static int image_write_raw(struct image_writer *w, uint32_t type, const void *buf, size_t len)
{
	struct image_rec_hdr h;
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)buf, .iov_len = len },
	};
	uint64_t sum;
	int r;

	if (w->ended)
		return -EPIPE;
	if (!image_type_valid(type))
		return -EINVAL;
	if (len > image_type_bound(type))
		return -EFBIG;
	/* a MAC or the tail ends the segment itself, an ERROR the stream */
	if (type != IMG_MAC && type != IMG_TAIL && type != IMG_ERROR && (r = image_end_page_segment(w)) < 0)
		return r;
	/* a reader verifies pages under the key the first MAC gives it */
	if (w->keyed && !w->mac_out && image_type_pages(type) && (r = image_write_mac_rec(w)) < 0)
		return r;
	sum = image_record_checksum(w->chain, type, len, buf);
	image_hdr_make(&h, type, len, sum);
	if (w->keyed && (r = image_writer_mac(w, &h, buf, len)) < 0) {
		/* the MAC no longer matches the stream: end it */
		w->ended = true;
		return r;
	}
	r = image_write_gather(w, iov, len ? 2 : 1);
	/* the stream's end, and what a reader waits for, goes out now */
	if (r >= 0 && (type == IMG_TAIL || type == IMG_ERROR))
		r = image_write_out(w, NULL, 0);
	if (r < 0) {
		/* part of a record may be out: nothing after it could be read */
		w->ended = true;
		return r;
	}
	w->chain = sum;
	w->records++;
	w->bytes += len;
	w->offset += sizeof(h) + len;
	/* each page record its own segment: a reader can verify it alone
	 * (with page_seg_bound, segments of that much) */
	if (w->keyed && image_type_pages(type)) {
		w->page_seg_bytes += len;
		w->mac_due = !w->shared_page_seg && w->page_seg_bytes >= w->page_seg_bound;
	}
	return 0;
}

void image_writer_set_compress(struct image_writer *w, bool on)
{
	w->compress = on;
}

/* A PAGES record, compressed if that makes it smaller. */
static int image_write_pages(struct image_writer *w, const void *buf, size_t len)
{
	ssize_t n = -1;
	int r;

	if (len > IMAGE_MAX_PAGES)
		return -EFBIG;
	if (w->compress && len) {
		n = compress_chunk(&w->z, buf, len);
		if (n < 0)
			return (int)n;
	}
	if (n >= 0 && (size_t)n < len)
		r = image_write_raw(w, IMG_ZPAGES, w->z.buf, (size_t)n);
	else
		r = image_write_raw(w, IMG_PAGES, buf, len);
	if (r < 0)
		return r;
	w->pages_in += len;
	w->pages_out += n >= 0 && (size_t)n < len ? (size_t)n : len;
	return 0;
}

int image_write_record(struct image_writer *w, uint32_t type, const void *buf, size_t len)
{
	/* the stream's end is only written by image_write_tail/_error */
	if (type == IMG_TAIL || type == IMG_ERROR)
		return -EINVAL;
	if (type == IMG_PAGES)
		return image_write_pages(w, buf, len);
	return image_write_raw(w, type, buf, len);
}

int image_write_record_ref(struct image_writer *w, uint32_t type, const void *buf, size_t len)
{
	int r;

	/* a compressed payload is the writer's own buffer, and copied */
	w->ref_buf = buf;
	r = image_write_record(w, type, buf, len);
	w->ref_buf = NULL;
	return r;
}

/* Pack msg into w->scratch; returns its length or -errno. */
static ssize_t image_pack(struct image_writer *w, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (len > IMAGE_MAX_META)
		return -EFBIG;
	if (len > w->scratch_cap || !w->scratch) {
		size_t cap = MAX((size_t)IMAGE_MIN_BUF, len);
		void *p;

		/* round up so small growth doesn't realloc every record */
		if (cap < IMAGE_MAX_META / 2)
			cap = MIN((size_t)IMAGE_MAX_META, cap * 2);
		p = realloc(w->scratch, cap);
		if (!p)
			return -ENOMEM;
		w->scratch = p;
		w->scratch_cap = cap;
	}
	if (protobuf_c_message_pack(msg, w->scratch) != len)
		return -EINVAL;
	return (ssize_t)len;
}

int image_write_msg(struct image_writer *w, uint32_t type, const ProtobufCMessage *msg)
{
	ssize_t len;
	int r;

	if (w->ended)
		return -EPIPE;
	if (type != IMG_MAC && (r = image_end_page_segment(w)) < 0)
		return r;
	len = image_pack(w, msg);
	if (len < 0)
		return (int)len;
	return image_write_record(w, type, w->scratch, (size_t)len);
}

/* The page MAC of segment seg: from one MAC record to the next. */
static int page_mac_segment(struct mac_state *g, const uint8_t key[MAC_KEY_LEN], const uint8_t base_iv[MAC_PAGE_IV_LEN],
			    uint32_t seg)
{
	uint8_t iv[MAC_PAGE_IV_LEN];

	/* 2^32 segments would bring back the first nonce */
	if (seg == UINT32_MAX)
		return -EOVERFLOW;
	mac_free(g);
	mac_gmac_iv(base_iv, seg, iv);
	return mac_gmac_init(g, key, iv);
}

int image_page_mac_segment(struct mac_state *g, const uint8_t key[MAC_KEY_LEN], const uint8_t base_iv[MAC_PAGE_IV_LEN],
			   uint32_t seg)
{
	return page_mac_segment(g, key, base_iv, seg);
}

/* A page key of this image alone: a fresh salt and base IV. */
static int image_writer_page_key(struct image_writer *w, const struct mac_key *key)
{
	int r;

	if (getrandom(w->page_salt, sizeof(w->page_salt), 0) != sizeof(w->page_salt) ||
	    getrandom(w->page_iv, sizeof(w->page_iv), 0) != sizeof(w->page_iv))
		return errno ? -errno : -EIO;
	r = mac_page_key(key->key, w->page_salt, w->page_key);
	w->page_seg = 0;
	return r < 0 ? r : page_mac_segment(&w->gmac, w->page_key, w->page_iv, 0);
}

int image_writer_set_key(struct image_writer *w, const struct mac_key *key)
{
	int r;

	/* a MAC of part of the stream would authenticate nothing */
	if (w->records || w->keyed)
		return -EBUSY;
	r = mac_init(&w->mac, key->key, sizeof(key->key));
	if (r >= 0)
		r = image_writer_page_key(w, key);
	if (r < 0) {
		mac_free(&w->mac);
		mac_free(&w->gmac);
		return r;
	}
	macpipe_init(&w->mp, image_writer_feed, w);
	memcpy(w->key_id, key->id, sizeof(w->key_id));
	w->keyed = true;
	return 0;
}

/* The Mac of everything written so far, into m (mac, pf: its storage):
 * the tag of the page MAC's segment since the last MAC, then the HMAC of
 * the records and the page fields; the next segment starts. */
static int image_mac_now(struct image_writer *w, Ckpt__Img__Mac *m, uint8_t mac[MAC_LEN], struct image_page_fields *pf)
{
	int r = macpipe_wait(&w->mp);

	w->mac_due = false;
	w->page_seg_bytes = 0;
	memcpy(pf->salt, w->page_salt, sizeof(pf->salt));
	memcpy(pf->iv, w->page_iv, sizeof(pf->iv));
	if (r >= 0)
		r = mac_gmac_peek(&w->gmac, pf->tag);
	if (r >= 0)
		r = mac_peek_with(&w->mac, pf, sizeof(*pf), mac);
	if (r >= 0)
		r = page_mac_segment(&w->gmac, w->page_key, w->page_iv, ++w->page_seg);
	if (r < 0)
		return r;
	m->key_id = (ProtobufCBinaryData){ .len = MAC_KEY_ID_LEN, .data = w->key_id };
	m->mac = (ProtobufCBinaryData){ .len = MAC_LEN, .data = mac };
	m->has_page_salt = m->has_page_iv = m->has_page_tag = true;
	m->page_salt = (ProtobufCBinaryData){ .len = sizeof(pf->salt), .data = pf->salt };
	m->page_iv = (ProtobufCBinaryData){ .len = sizeof(pf->iv), .data = pf->iv };
	m->page_tag = (ProtobufCBinaryData){ .len = sizeof(pf->tag), .data = pf->tag };
	return 0;
}

static int image_write_mac_rec(struct image_writer *w)
{
	Ckpt__Img__Mac m = CKPT__IMG__MAC__INIT;
	struct image_page_fields pf;
	uint8_t mac[MAC_LEN];
	ssize_t len;
	int r;

	if (w->ended)
		return -EPIPE;
	if (!w->keyed)
		return -ENOKEY;
	r = image_mac_now(w, &m, mac, &pf);
	if (r < 0)
		return r;
	len = image_pack(w, &m.base);
	if (len < 0)
		return (int)len;
	w->mac_out = true;
	return image_write_record(w, IMG_MAC, w->scratch, (size_t)len);
}

int image_write_mac(struct image_writer *w)
{
	int r = image_write_mac_rec(w);

	/* a reader may act on what this MAC authenticates: it goes out now */
	return r < 0 ? r : image_writer_flush(w);
}

static int image_write_tail_of(struct image_writer *w, Ckpt__Img__Mac *m)
{
	Ckpt__Img__Tail t = CKPT__IMG__TAIL__INIT;
	ssize_t len;
	int r;

	if (w->ended)
		return -EPIPE;
	t.records = w->records;
	t.bytes = w->bytes;
	t.mac = m;
	len = image_pack(w, &t.base);
	if (len < 0)
		return (int)len;
	r = image_write_raw(w, IMG_TAIL, w->scratch, (size_t)len);
	w->ended = true;
	return r;
}

int image_write_tail(struct image_writer *w)
{
	Ckpt__Img__Mac m = CKPT__IMG__MAC__INIT;
	struct image_page_fields pf;
	uint8_t mac[MAC_LEN];
	int r;

	if (w->ended)
		return -EPIPE;
	if (!w->keyed)
		return image_write_tail_of(w, NULL);
	r = image_mac_now(w, &m, mac, &pf);
	if (r < 0)
		return r;
	return image_write_tail_of(w, &m);
}

int image_write_tail_mac(struct image_writer *w, const struct Ckpt__Img__Mac *m)
{
	if (w->keyed)
		return -EINVAL;
	return image_write_tail_of(w, (Ckpt__Img__Mac *)m);
}

int image_write_error(struct image_writer *w, const char *message)
{
	Ckpt__Img__ErrorRec e = CKPT__IMG__ERROR_REC__INIT;
	char msg[1024];
	ssize_t len;
	int r;

	if (w->ended)
		return -EPIPE;
	/* bounded: the reader keeps only sizeof(r->error) of it anyway */
	snprintf(msg, sizeof(msg), "%s", message && *message ? message : "writer failed");
	e.message = msg;
	len = image_pack(w, &e.base);
	if (len < 0) {
		w->ended = true;
		return (int)len;
	}
	r = image_write_raw(w, IMG_ERROR, w->scratch, (size_t)len);
	w->ended = true;
	return r;
}

/* ---- reader ---- */

struct image_mac_cand {
	struct mac_key key;
	struct mac_state st;
};

static void image_mac_drop(struct image_reader *r)
{
	macpipe_free(&r->mp);
	for (size_t i = 0; i < r->ncand; i++)
		mac_free(&r->cand[i].st);
	mac_free(&r->gmac);
	explicit_bzero(r->page_key, sizeof(r->page_key));
	r->page_keyed = false;
	r->gmac_due = false;
	if (r->cand)
		explicit_bzero(r->cand, r->ncand * sizeof(*r->cand));
	free(r->cand);
	r->cand = NULL;
	r->ncand = 0;
}

static int image_reader_feed(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
	struct image_reader *r = arg;

	(void)alen;
	for (size_t i = 0; i < r->ncand; i++)
		if (image_mac_feed(&r->cand[i].st, &r->gmac, a, b, blen) < 0)
			return -EIO;
	return 0;
}

int image_reader_verify(struct image_reader *r, const struct mac_key *keys, size_t n)
{
	int ret;

	if (r->records || r->verify)
		return -EBUSY;
	if (n > MAC_MAX_KEYS)
		return -E2BIG;
	r->verify = true;
	if (!n)
		return 0;
	macpipe_init(&r->mp, image_reader_feed, r);
	r->cand = calloc(n, sizeof(*r->cand));
	if (!r->cand)
		return -ENOMEM;
	for (; r->ncand < n; r->ncand++) {
		r->cand[r->ncand].key = keys[r->ncand];
		ret = mac_init(&r->cand[r->ncand].st, keys[r->ncand].key, MAC_KEY_LEN);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void image_reader_init(struct image_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->io.fd = fd;
	r->chain = IMAGE_MAGIC;
	pthread_mutex_init(&r->hold_lock, NULL);
	pthread_cond_init(&r->hold_cond, NULL);
}

struct image_buf *image_reader_hold(struct image_reader *r, const void *payload)
{
	struct image_buf *b = &r->bufs[r->cur];

	if (!payload || payload != b->p || r->unzipped)
		return NULL;
	pthread_mutex_lock(&r->hold_lock);
	b->holds++;
	pthread_mutex_unlock(&r->hold_lock);
	return b;
}

void image_reader_release(struct image_reader *r, struct image_buf *b)
{
	pthread_mutex_lock(&r->hold_lock);
	if (b->holds && !--b->holds)
		pthread_cond_broadcast(&r->hold_cond);
	pthread_mutex_unlock(&r->hold_lock);
}

static bool image_buf_busy(struct image_reader *r, const struct image_buf *b)
{
	bool busy;

	pthread_mutex_lock(&r->hold_lock);
	busy = b->mac || b->holds;
	pthread_mutex_unlock(&r->hold_lock);
	return busy;
}

/* Until no other thread reads b. The MAC thread is done with it once it
 * is idle; a MAC failure stays in the pipe for the next check to report. */
static void image_buf_wait(struct image_reader *r, struct image_buf *b)
{
	if (b->mac) {
		(void)macpipe_wait(&r->mp);
		b->mac = false;
	}
	pthread_mutex_lock(&r->hold_lock);
	while (b->holds)
		pthread_cond_wait(&r->hold_cond, &r->hold_lock);
	pthread_mutex_unlock(&r->hold_lock);
}

void image_reader_free(struct image_reader *r)
{
	image_lazy_release(r->lazy);
	r->lazy = NULL;
	free(r->win);
	r->win = NULL;
	image_io_close(&r->io);
	image_mac_drop(r);
	compress_free(&r->z);
	for (size_t i = 0; i < ARRAY_SIZE(r->bufs); i++)
		free(r->bufs[i].p);
	memset(r->bufs, 0, sizeof(r->bufs));
	r->buf = NULL;
	pthread_cond_destroy(&r->hold_cond);
	pthread_mutex_destroy(&r->hold_lock);
}

static int image_fail(struct image_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int image_reader_before_fork(struct image_reader *r)
{
	return macpipe_wait(&r->mp);
}

void image_reader_after_fork(struct image_reader *r)
{
	macpipe_after_fork(&r->mp);
	pthread_mutex_init(&r->hold_lock, NULL);
	pthread_cond_init(&r->hold_cond, NULL);
	r->io.deadline_ms = 0;
	image_io_interrupted = NULL;
}

static int image_fail(struct image_reader *r, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->error, sizeof(r->error), "offset %" PRIu64 ": ", r->offset);
	if (n < 0 || (size_t)n >= sizeof(r->error))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->error + n, sizeof(r->error) - n, fmt, ap);
	va_end(ap);
	return err;
}

/* Read exactly len bytes; returns the bytes read (< len only at EOF) or -errno. */
static ssize_t image_read_full(const struct image_io *io, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t k = io->sock ? recv(io->fd, (char *)buf + done, len - done, MSG_DONTWAIT)
				     : read(io->fd, (char *)buf + done, len - done);

		if (k < 0) {
			if (errno == EINTR && image_io_eintr() == 0)
				continue;
			if (errno == EINTR)
				return image_io_eintr();
			if (errno == EAGAIN) {
				int r = image_wait_fd(io, POLLIN);

				if (r < 0)
					return r;
				continue;
			}
			return -errno;
		}
		if (k == 0)
			break;
		done += k;
	}
	return (ssize_t)done;
}

/* A lazy reader's read (image_lazy.h): from its window, refilled at pos;
 * what is left of a payload larger than the window goes straight in. The
 * file's own offset stays where lazy mode began. */
static ssize_t image_read_window(struct image_reader *r, void *buf, size_t len)
{
	size_t done = 0, k;
	ssize_t n;

	while (done < len) {
		if (r->win_off < r->win_len) {
			k = MIN(len - done, r->win_len - r->win_off);
			memcpy((char *)buf + done, r->win + r->win_off, k);
			r->win_off += k;
			r->pos += k;
			done += k;
			continue;
		}
		if (len - done >= IMAGE_WINDOW)
			n = pread(r->io.fd, (char *)buf + done, len - done, (off_t)r->pos);
		else
			n = pread(r->io.fd, r->win, IMAGE_WINDOW, (off_t)r->pos);
		if (n < 0 && errno == EINTR && image_io_eintr() == 0)
			continue;
		if (n < 0)
			return errno == EINTR ? image_io_eintr() : -errno;
		if (n == 0)
			break;
		if (len - done >= IMAGE_WINDOW) {
			r->pos += (uint64_t)n;
			done += (size_t)n;
		} else {
			r->win_off = 0;
			r->win_len = (size_t)n;
		}
	}
	return (ssize_t)done;
}

/* The next len bytes of the stream, as the reader's mode reads them. */
static ssize_t image_read_in(struct image_reader *r, void *buf, size_t len)
{
	return r->win ? image_read_window(r, buf, len) : image_read_full(&r->io, buf, len);
}

/* Past len bytes a lazy reader leaves in the file. */
static void image_skip_window(struct image_reader *r, uint64_t len)
{
	if (len < r->win_len - r->win_off) {
		r->win_off += len;
	} else {
		r->win_off = r->win_len = 0;
	}
	r->pos += len;
}

static int image_reserve(struct image_reader *r, size_t len)
{
	struct image_buf *b = &r->bufs[r->cur];
	size_t cap;
	void *p;

	/* the current buffer if no other thread reads it, else the other one,
	 * once they are done with it */
	if (image_buf_busy(r, b)) {
		r->cur = !r->cur;
		b = &r->bufs[r->cur];
		image_buf_wait(r, b);
	}
	r->buf = b->p;
	if (b->p && b->cap >= len)
		return 0;
	cap = MAX((size_t)IMAGE_MIN_BUF, len);
	/* no realloc: the old payload is dead, copying it would be wasted work */
	p = malloc(cap);
	if (!p)
		return -ENOMEM;
	free(b->p);
	r->buf = b->p = p;
	b->cap = cap;
	return 0;
}

/* Read and check one record header; returns 1, or 0 at a clean EOF. */
static int image_read_hdr(struct image_reader *r, uint32_t *ret_type, uint64_t *ret_len, uint64_t *ret_sum)
{
	struct image_rec_hdr h;
	uint32_t type;
	uint64_t len;
	ssize_t n;

	n = image_read_in(r, &h, sizeof(h));
	if (n < 0)
		return image_fail(r, (int)n, "reading a record header: %s", image_io_error((int)-n));
	if (n == 0)
		return 0;
	if ((size_t)n < sizeof(h))
		return image_fail(r, -ENODATA, "truncated: stream ends inside a record header");
	if (le32toh(h.magic) != IMAGE_MAGIC)
		return image_fail(r, -EPROTO, "bad record magic 0x%08x: not a ckptd image, or corrupt",
				  le32toh(h.magic));
	type = le32toh(h.type);
	len = le64toh(h.length);
	if (!image_type_valid(type))
		return image_fail(r, -EPROTO, "unknown record type %u", type);
	if (r->records == 0 && type != IMG_HEADER && type != IMG_ERROR)
		return image_fail(r, -EPROTO, "first record is %s, not header", image_rec_type_name(type));
	if (r->records > 0 && type == IMG_HEADER)
		return image_fail(r, -EPROTO, "a second header record");
	if (len > image_type_bound(type))
		return image_fail(r, -EFBIG, "%s record of %" PRIu64 " bytes, at most %" PRIu64,
				  image_rec_type_name(type), len, image_type_bound(type));
	*ret_type = type;
	*ret_len = len;
	*ret_sum = le64toh(h.checksum);
	return 1;
}

/* Once a MAC names its key, the other candidates are dead weight. */
static void image_mac_keep(struct image_reader *r, size_t i)
{
	for (size_t j = 0; j < r->ncand; j++)
		if (j != i)
			mac_free(&r->cand[j].st);
	r->cand[0] = r->cand[i];
	if (r->ncand > 1)
		explicit_bzero(&r->cand[1], (r->ncand - 1) * sizeof(*r->cand));
	r->ncand = 1;
}

#define IMAGE_NOT_SIGNED "image not signed by this ckptd or a trusted key"

/* The page fields of m, checked for size; NULL if it has none. */
static const char *image_page_fields(const Ckpt__Img__Mac *m, struct image_page_fields *ret)
{
	if (!m->has_page_salt || !m->has_page_iv || !m->has_page_tag)
		return "";
	if (m->page_salt.len != sizeof(ret->salt) || m->page_iv.len != sizeof(ret->iv) ||
	    m->page_tag.len != sizeof(ret->tag))
		return "malformed page MAC fields";
	memcpy(ret->salt, m->page_salt.data, sizeof(ret->salt));
	memcpy(ret->iv, m->page_iv.data, sizeof(ret->iv));
	memcpy(ret->tag, m->page_tag.data, sizeof(ret->tag));
	return NULL;
}

/* The first MAC that verifies names the key and, under its HMAC, the page
 * MAC's salt and IV: from here on page payloads go to that page MAC. */
static int image_page_mac_start(struct image_reader *r, const struct image_page_fields *pf)
{
	int ret = mac_page_key(r->cand[0].key.key, pf->salt, r->page_key);

	r->page_seg = 0;
	r->gmac_due = false;
	if (ret >= 0)
		ret = page_mac_segment(&r->gmac, r->page_key, pf->iv, 0);
	if (ret < 0)
		return ret;
	memcpy(r->page_salt, pf->salt, sizeof(r->page_salt));
	memcpy(r->page_iv, pf->iv, sizeof(r->page_iv));
	r->page_keyed = true;
	return 0;
}

/* The page MAC of the reader's current segment, from when it is needed. */
static int image_gmac_ready(struct image_reader *r)
{
	if (!r->gmac_due)
		return 0;
	r->gmac_due = false;
	return page_mac_segment(&r->gmac, r->page_key, r->page_iv, r->page_seg);
}

/* The page payloads since the last MAC against the tag a verified MAC
 * holds; the next segment starts. */
static int image_page_mac_check(struct image_reader *r, const struct image_page_fields *pf, const char *hex)
{
	uint8_t tag[MAC_PAGE_TAG_LEN];
	int kept;

	if (!r->page_keyed && image_page_mac_start(r, pf) < 0)
		return image_fail(r, -EIO, "computing the image's page MAC failed");
	if (memcmp(pf->salt, r->page_salt, sizeof(pf->salt)) || memcmp(pf->iv, r->page_iv, sizeof(pf->iv)))
		return image_fail(r, -EKEYREJECTED, IMAGE_NOT_SIGNED " (key id %s: its page MAC changes key part-way)", hex);
	/* payloads left in the file: their tag, authentic under the HMAC just
	 * checked, is compared when image_lazy_read reads them */
	kept = r->lazy ? image_lazy_end_segment(r->lazy, r->page_seg, r->page_key, r->page_iv, pf->tag) : 0;
	if (kept < 0)
		return image_fail(r, kept, "keeping a page MAC for later reads: %s", strerror(-kept));
	if (!kept && (image_gmac_ready(r) < 0 || mac_gmac_peek(&r->gmac, tag) < 0))
		return image_fail(r, -EIO, "computing the image's page MAC failed");
	if (!kept && !mac_tag_equal(tag, pf->tag))
		return image_fail(r, -EKEYREJECTED, IMAGE_NOT_SIGNED " (key id %s: the page MAC (AES-256-GMAC) does not "
				  "match: page data altered since it was written)", hex);
	/* 2^32 segments would bring back the first nonce (page_mac_segment) */
	if (++r->page_seg == UINT32_MAX)
		return image_fail(r, -EIO, "computing the image's page MAC failed");
	mac_free(&r->gmac);
	r->gmac_due = true;
	return 0;
}

/* m (NULL: the image has none) against the MAC of every record read so
 * far: its HMAC of the records and its page fields, then its page tag. */
static int image_mac_check(struct image_reader *r, const Ckpt__Img__Mac *m)
{
	struct image_page_fields pf;
	char hex[MAC_KEY_ID_HEX];
	uint8_t mac[MAC_LEN];
	bool known = false;
	const char *why;

	if (m && (m->key_id.len != MAC_KEY_ID_LEN || m->mac.len != MAC_LEN))
		return image_fail(r, -EBADMSG, "malformed MAC (%zu-byte key id, %zu-byte MAC)", m->key_id.len, m->mac.len);
	if (m) {
		memcpy(r->mac_key_id, m->key_id.data, MAC_KEY_ID_LEN);
		r->mac_seen = true;
	}
	if (!r->verify)
		return 0;
	r->mac_ok = false;
	if (!m)
		return image_fail(r, -EKEYREJECTED, IMAGE_NOT_SIGNED " (it carries no MAC)");
	mac_key_id_hex(r->mac_key_id, hex);
	why = image_page_fields(m, &pf);
	if (why && !*why)
		return image_fail(r, -EKEYREJECTED, IMAGE_NOT_SIGNED " (key id %s: its MAC has no page MAC: an image "
				  "format before 6)", hex);
	if (why)
		return image_fail(r, -EBADMSG, "%s", why);
	if (macpipe_wait(&r->mp) < 0)
		return image_fail(r, -EIO, "computing the image's MAC failed");
	for (size_t i = 0; i < r->ncand; i++) {
		if (memcmp(r->cand[i].key.id, r->mac_key_id, MAC_KEY_ID_LEN))
			continue;
		known = true;
		if (mac_peek_with(&r->cand[i].st, &pf, sizeof(pf), mac) < 0)
			return image_fail(r, -EIO, "computing the image's MAC failed");
		if (mac_equal(mac, m->mac.data)) {
			int ret;

			image_mac_keep(r, i);
			ret = image_page_mac_check(r, &pf, hex);
			r->mac_ok = ret >= 0;
			return ret;
		}
	}
	return image_fail(r, -EKEYREJECTED, IMAGE_NOT_SIGNED " (key id %s%s)", hex,
			  known ? ": a known key, but the MAC does not match: altered since it was written" : "");
}

/* An IMG_MAC record. */
static int image_take_mac(struct image_reader *r, const void *payload, size_t len)
{
	Ckpt__Img__Mac *m = ckpt__img__mac__unpack(NULL, len, payload);
	int ret;

	if (!m)
		return image_fail(r, -EBADMSG, "malformed mac record");
	ret = image_mac_check(r, m);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return ret;
}

/* The TAIL: its counts must match what we read, its MAC what we computed. */
static int image_check_tail(struct image_reader *r, const void *payload, size_t len)
{
	Ckpt__Img__Tail *t = ckpt__img__tail__unpack(NULL, len, payload);
	int ret = 0;

	if (!t)
		return image_fail(r, -EBADMSG, "malformed tail record");
	if (t->records != r->records || t->bytes != r->bytes)
		ret = image_fail(r, -EBADMSG, "tail counts %" PRIu64 " records, %" PRIu64 " bytes; read %" PRIu64 " and %" PRIu64,
				 t->records, t->bytes, r->records, r->bytes);
	if (ret >= 0)
		ret = image_mac_check(r, t->mac);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	return ret;
}

static int image_feed_cands(struct image_reader *r, uint32_t type, uint64_t len, uint64_t sum)
{
	struct image_rec_hdr h;
	int ret;

	if (!r->ncand)
		return 0;
	/* the writer puts a MAC before its first page */
	if (image_type_pages(type) && !r->page_keyed)
		return image_fail(r, -EKEYREJECTED, IMAGE_NOT_SIGNED " (no MAC before its page data)");
	if (image_type_pages(type) && image_gmac_ready(r) < 0)
		return image_fail(r, -EIO, "computing the image's MAC failed");
	image_hdr_make(&h, type, len, sum);
	if (len >= MACPIPE_MIN && r->ncand == 1) {
		/* read where it is: the next record goes into the other buffer */
		ret = macpipe_feed_ref(&r->mp, &h, sizeof(h), r->buf, len);
		r->bufs[r->cur].mac = ret >= 0;
	} else if ((ret = macpipe_wait(&r->mp)) >= 0)
		for (size_t i = 0; i < r->ncand && ret >= 0; i++)
			ret = image_mac_feed(&r->cand[i].st, &r->gmac, &h, r->buf, len);
	return ret < 0 ? image_fail(r, -EIO, "computing the image's MAC failed") : 0;
}

/* An ERROR record: the writer gave up; its reason becomes ours. */
static int image_take_error(struct image_reader *r, const void *payload, size_t len)
{
	Ckpt__Img__ErrorRec *e = ckpt__img__error_rec__unpack(NULL, len, payload);

	if (!e)
		return image_fail(r, -EBADMSG, "the image ends with a malformed error record");
	snprintf(r->error, sizeof(r->error), "%s", e->message);
	protobuf_c_message_free_unpacked(&e->base, NULL);
	return -EBADMSG;
}

/* A ZPAGES payload of len bytes in r->buf: checked and decompressed into
 * r->z.buf; returns its size. */
static int image_unzip(struct image_reader *r, size_t len)
{
	char why[160];
	ssize_t n = decompress_chunk(&r->z, r->buf, len, IMAGE_MAX_PAGES, IMAGE_PAGE_UNIT, why, sizeof(why));

	if (n == -ENOMEM)
		return image_fail(r, -ENOMEM, "zpages record %" PRIu64 ": out of memory", r->records);
	if (n < 0)
		return image_fail(r, -EBADMSG, "zpages record %" PRIu64 ": %s", r->records, why);
	return (int)n;
}

#define IMAGE_OLD_SEGMENTS "page-MAC segment %" PRIu32 " holds payloads read and payloads left for later: image " \
	"made before per-record page MACs: restart without --lazy"

/* Lazy mode: the payload stays in the file for image_lazy_read. */
static int image_skip_payload(struct image_reader *r, uint32_t type, uint64_t len, uint64_t sum, uint32_t *ret_type,
			      const void **ret_payload, size_t *ret_len)
{
	struct image_rec_hdr h;
	int ret;

	if (!r->page_keyed)
		return image_fail(r, -EKEYREJECTED, IMAGE_NOT_SIGNED " (no MAC before its page data)");
	if (image_lazy_note(r->lazy, r->page_seg, true) < 0)
		return image_fail(r, -EPROTO, IMAGE_OLD_SEGMENTS, r->page_seg);
	ret = image_lazy_add(r->lazy, r->offset + sizeof(h), len, type, r->page_seg);
	if (ret == -ENODATA)
		return image_fail(r, ret, "truncated: the file ends inside a %s record", image_rec_type_name(type));
	if (ret < 0)
		return image_fail(r, ret, "%s record %" PRIu64 ": keeping its place: %s", image_rec_type_name(type),
				  r->records, strerror(-ret));
	image_skip_window(r, len);
	/* its header goes to the HMAC as image_mac_feed gives it (checksum as
	 * zero), its payload to no MAC here: image_lazy_read does that */
	if (macpipe_wait(&r->mp) < 0)
		return image_fail(r, -EIO, "computing the image's MAC failed");
	image_hdr_make(&h, type, len, 0);
	for (size_t i = 0; i < r->ncand; i++)
		if (mac_update(&r->cand[i].st, &h, sizeof(h)) < 0)
			return image_fail(r, -EIO, "computing the image's MAC failed");
	/* The chain cannot be checked over a payload never read: the next
	 * record is chained to this one's stored checksum instead. Nothing goes
	 * unchecked for it: the HMAC, checked at the MAC record that follows,
	 * covers this header and the segment's tag, and image_lazy_read
	 * compares the payload with that tag before it hands out a byte. */
	r->chain = sum;
	r->offset += sizeof(h) + len;
	r->records++;
	r->bytes += len;
	r->unzipped = false;
	*ret_type = r->raw_pages ? type : IMG_PAGES;
	*ret_payload = NULL;
	*ret_len = len;
	return 1;
}

static int image_read_one(struct image_reader *r, uint32_t *ret_type, const void **ret_payload, size_t *ret_len)
{
	uint64_t len = 0, sum = 0;
	uint32_t type = 0;
	ssize_t n;
	int ret;

	r->rec_offset = r->offset;
	ret = image_read_hdr(r, &type, &len, &sum);
	if (ret == 0)
		return image_fail(r, -ENODATA, "truncated: stream ends after %" PRIu64 " records, before the tail",
				  r->records);
	if (ret < 0)
		return ret;
	if (image_type_pages(type)) {
		r->page_recs++;
		if (r->lazy && r->skip_next)
			return image_skip_payload(r, type, len, sum, ret_type, ret_payload, ret_len);
	}
	ret = image_reserve(r, len);
	if (ret < 0)
		return image_fail(r, ret, "%s record of %" PRIu64 " bytes: out of memory", image_rec_type_name(type), len);
	n = image_read_in(r, r->buf, len);
	if (n < 0)
		return image_fail(r, (int)n, "reading a %s record: %s", image_rec_type_name(type), image_io_error((int)-n));
	if ((uint64_t)n < len)
		return image_fail(r, -ENODATA, "truncated: stream ends inside a %s record (%zd of %" PRIu64 " bytes)",
				  image_rec_type_name(type), n, len);
	if (image_record_checksum(r->chain, type, len, r->buf) != sum)
		return image_fail(r, -EBADMSG, "checksum mismatch in %s record %" PRIu64 ": corrupt, reordered or missing records",
				  image_rec_type_name(type), r->records);
	if (type == IMG_ERROR)
		return image_take_error(r, r->buf, len);
	if (r->lazy && image_type_pages(type) && image_lazy_note(r->lazy, r->page_seg, false) < 0)
		return image_fail(r, -EPROTO, IMAGE_OLD_SEGMENTS, r->page_seg);
	if (type == IMG_MAC && (ret = image_take_mac(r, r->buf, len)) < 0)
		return ret;
	if (type != IMG_TAIL && (ret = image_feed_cands(r, type, len, sum)) < 0)
		return ret;
	if (type == IMG_TAIL) {
		ret = image_check_tail(r, r->buf, len);
		if (ret < 0)
			return ret;
		r->done = true;
	}
	if (type == IMG_ZPAGES && !r->raw_pages && (ret = image_unzip(r, len)) < 0)
		return ret;
	r->chain = sum;
	r->offset += sizeof(struct image_rec_hdr) + len;
	if (!r->done) {
		r->records++;
		r->bytes += len;
	}
	*ret_type = type;
	*ret_payload = r->buf;
	*ret_len = len;
	r->unzipped = type == IMG_ZPAGES && !r->raw_pages;
	if (r->unzipped) {
		*ret_type = IMG_PAGES;
		*ret_payload = r->z.buf;
		*ret_len = (size_t)ret;
	}
	return r->done ? 0 : 1;
}

int image_read_record(struct image_reader *r, uint32_t *ret_type, const void **ret_payload, size_t *ret_len)
{
	int ret;

	if (r->done)
		return 0;
	r->error[0] = 0;
	do
		ret = image_read_one(r, ret_type, ret_payload, ret_len);
	while (ret == 1 && *ret_type == IMG_MAC && !r->pass_mac);
	r->skip_next = false;
	return ret;
}

int image_read_mac(struct image_reader *r)
{
	const void *payload;
	uint32_t type;
	size_t len;
	int ret;

	if (!r->verify)
		return 0;
	if (r->done)
		return image_fail(r, -EKEYREJECTED, "image not signed: it has no MAC after its metadata");
	r->error[0] = 0;
	ret = image_read_one(r, &type, &payload, &len);
	if (ret < 0)
		return ret;
	if (ret == 0 || type != IMG_MAC)
		return image_fail(r, -EKEYREJECTED, "image not signed: it has no MAC after its metadata");
	return r->mac_ok ? 0 : image_fail(r, -EKEYREJECTED, "image not signed by this ckptd or a trusted key");
}

void *image_unpack(struct image_reader *r, const ProtobufCMessageDescriptor *desc, const void *payload, size_t len)
{
	void *m = protobuf_c_message_unpack(desc, NULL, len, payload);

	if (!m)
		snprintf(r->error, sizeof(r->error), "malformed %s message (%zu bytes)", desc->name, len);
	return m;
}
