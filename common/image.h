// SPDX-License-Identifier: GPL-2.0-or-later
/* The image stream: one forward-only sequence of typed records.
 *
 *   record  = struct image_rec_hdr (24 bytes, little endian) + payload
 *   checksum of record i = ckpt_hash64(hdr.type,hdr.length ++ payload,
 *                                      seed = checksum of record i-1,
 *                                      seed of record 0 = IMAGE_MAGIC)
 * so a dropped, reordered or altered record breaks every checksum after it.
 * That chain detects corruption; it is no defence against whoever can write
 * the image, since anyone can compute it. Authenticity is the keyed MAC
 * (mac.h): a writer given a key feeds every record (its 24-byte header as
 * written but for the checksum, as zero, then its payload) to HMAC-SHA256;
 * an IMG_MAC record and the
 * TAIL carry the MAC of everything before them and the key's id, and a
 * reader given keys refuses an image whose MACs none of them made.
 * Since format 6 the payloads of page records (PAGES, ZPAGES) go to the
 * page MAC instead (AES-256-GMAC under a key of this image alone, mac.h):
 * the HMAC still takes their headers, and every MAC (IMG_MAC, TAIL) carries
 * the page MAC's salt, IV and tag so far, which its HMAC covers too. So one
 * HMAC check covers every byte, and a reader learns the page key from the
 * first MAC: a keyed writer puts one before its first page record, and
 * ends a segment after every page record (image_lazy.h), so that each
 * payload can be verified alone.
 * The first record is HEADER, the last is TAIL (record and byte counts) or
 * ERROR (a writer failed part-way, with its reason). Payload sizes are
 * bounded: metadata <= IMAGE_MAX_META, pages <= IMAGE_MAX_PAGES.
 * Nothing here buffers the whole stream; it works on pipes and sockets.
 *
 * Since format 4 an image has two parts (proto/image.proto says which
 * records go where):
 *   metadata: HEADER, every metadata record, with a SEGMENT placeholder
 *             where a task's or a shared object's pages belong, META_END;
 *   pages:    for each segment in placeholder order, a SEGMENT marker (the
 *             placeholder's payload again) and its PAGEMAP/PAGES pairs
 *             and DROPs; then (since format 7) the lazy parts; then TAIL.
 * A lazy part holds the pages of one task's mappings that a lazy restart
 * leaves to its filler (lazy_rule.h), which its task segment lacks: a
 * SEGMENT marker no placeholder stands for (owner SEG_TASK, id the task's
 * pid, index the segment count of META_END, then +1 per part), then its
 * PAGEMAP/PAGES pairs, in address order. The parts come in the tasks'
 * order, one per task at most. So a restart from a stream can release the
 * tasks as soon as the first lazy part begins.
 * A reader can thus read and check all of the metadata (bounded by
 * CR_META_MAX_BYTES/CR_META_MAX_RECORDS) before it acts on any, and knows
 * every mapping before the first page. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "compress.h"
#include "mac.h"
#include "macpipe.h"

#define IMAGE_MAGIC 0x54504b43u          /* "CKPT" */
#define IMAGE_FORMAT_VERSION 7
/* Format 6 differs only in where a lazy restart's pages are: last in each
 * task's segment, with no lazy parts. Read as ever (from a stream every
 * page is in before the tasks run), so images stored before an upgrade
 * stay restorable. */
#define IMAGE_FORMAT_OLDEST 6
#define IMAGE_MAX_META (4u << 20)
#define IMAGE_MAX_PAGES (64u << 20)
/* A PAGES payload is whole pages: what a ZPAGES frame states is checked so. */
#define IMAGE_PAGE_UNIT 4096u

enum image_rec_type {
	IMG_HEADER = 1,
	IMG_TASK = 2,
	IMG_FILE = 3,
	IMG_FDS = 4,
	IMG_MM = 5,
	IMG_PAGEMAP = 6,
	IMG_PAGES = 7,
	IMG_TAIL = 8,
	IMG_ERROR = 9,
	IMG_PIPE = 10,
	IMG_SHM = 11,
	IMG_TREE = 12,
	IMG_THREAD = 13,
	IMG_DROP = 14,     /* a Pagemap: pages to drop from an inherited mapping */
	IMG_GHOST = 15,    /* a file deleted while open; its pages follow */
	IMG_SYSV_SHM = 17, /* a SysV shared memory segment (pages: its segment) */
	IMG_SEGMENT = 18,  /* a Segment: where a page segment belongs, or where it starts */
	IMG_META_END = 19, /* a MetaEnd: the metadata part is over, the pages follow */
	IMG_MAC = 20,      /* a Mac: the keyed MAC of every record before it */
	IMG_PARENT_REF = 21, /* a Pagemap: pages of an incremental image that its parent holds */
	IMG_ZPAGES = 23,   /* a PAGES payload as one zstd frame (compress.h) */
	IMG_TYPE_MAX = IMG_ZPAGES,
};

struct image_rec_hdr {
	uint32_t magic;
	uint32_t type;
	uint64_t length;
	uint64_t checksum;
} __attribute__((packed));

const char *image_rec_type_name(uint32_t type);
/* A record's checksum: hash(type, length ++ payload), seeded with the
 * previous record's checksum (IMAGE_MAGIC for the first). */
uint64_t image_record_checksum(uint64_t chain, uint32_t type, uint64_t len, const void *payload);

/* How a stream's bytes move, and how long a wait may last. */
struct image_io {
	int fd;                  /* what is read or written: the stream's fd, or
				  * a non-blocking reopen of the same pipe */
	bool owned;              /* fd is ours to close */
	bool sock;               /* a socket: MSG_DONTWAIT per call */
	uint64_t deadline_ms;    /* CLOCK_MONOTONIC; 0: waits are unbounded */
};
/* Bound every later wait on the stream by deadline_ms (CLOCK_MONOTONIC,
 * ms): a stuck reader or writer at the other end then fails the call with
 * -ETIMEDOUT. A pipe or FIFO is reopened non-blocking through
 * /proc/self/fd (the client's own description keeps its flags); a socket
 * is used with MSG_DONTWAIT; a regular file never waits. */
int image_io_set_deadline(struct image_io *io, int fd, bool write, uint64_t deadline_ms);
/* Asked when a signal interrupts a call or wait on a stream (NULL: go on):
 * a value < 0 ends it with that error. A worker sets it, so that a cancel
 * or its deadline does not wait for the other end. */
extern int (*image_io_interrupted)(void);
void image_io_close(struct image_io *io);

struct Ckpt__Img__Mac;

struct image_writer {
	int fd;
	struct image_io io;
	uint64_t records;
	uint64_t bytes;          /* payload bytes written */
	uint64_t chain;          /* checksum of the last record */
	uint64_t offset;         /* stream bytes written, headers included */
	void *scratch;           /* packing buffer for metadata */
	size_t scratch_cap;
	bool ended;              /* tail or error written */
	bool keyed;              /* mac runs: IMG_MAC and the tail carry it */
	bool mac_out;            /* an IMG_MAC is out: readers have the page key */
	struct mac_state mac;
	struct mac_state gmac;   /* the page MAC, of page payloads */
	uint8_t page_salt[MAC_PAGE_SALT_LEN];
	uint8_t page_iv[MAC_PAGE_IV_LEN];
	uint8_t page_key[MAC_KEY_LEN];
	uint32_t page_seg;       /* segments the MACs out so far ended */
	struct macpipe mp;       /* ... fed page records on a second thread */
	uint8_t key_id[MAC_KEY_ID_LEN];
	bool compress;           /* PAGES go out as ZPAGES where they shrink */
	struct compress_state z;
	const void *ref_buf;     /* a payload the MAC thread may read in place */
	uint64_t pages_in;       /* PAGES payload bytes given ... */
	uint64_t pages_out;      /* ... and written for them, compressed or not */
	bool mac_due;            /* a page record went out: an IMG_MAC ends its
				  * page-MAC segment before any other record */
	bool shared_page_seg;    /* tests only: page records share segments,
				  * the layout before per-record page MACs */
	uint64_t page_seg_bound; /* 0: a page record is a segment; else a
				  * segment ends once it holds this many
				  * payload bytes (an image no lazy reader
				  * reads: one with a parent) */
	uint64_t page_seg_bytes; /* page payload bytes of this segment */
	void *wbuf;              /* small records gathered, not yet out */
	size_t wlen;
};

void image_writer_init(struct image_writer *w, int fd);
void image_writer_free(struct image_writer *w);
/* Write one record (header + payload) with writev, retrying short writes;
 * a small one may wait in the writer for the next (image_writer_flush).
 * Returns 0 or -errno (-EFBIG if len exceeds its bound). */
int image_write_record(struct image_writer *w, uint32_t type, const void *buf, size_t len);
/* The same, but the MAC thread reads buf in place instead of a copy: buf
 * stays unchanged until the next record written so from another buffer
 * (or the next MAC, tail or image_writer_free) returns. Two buffers used
 * in turn keep that. */
int image_write_record_ref(struct image_writer *w, uint32_t type, const void *buf, size_t len);
/* Pack a protobuf message and write it as one record. */
int image_write_msg(struct image_writer *w, uint32_t type, const ProtobufCMessage *msg);
int image_write_tail(struct image_writer *w);
/* Small records are gathered and written together; the tail, an error
 * record, image_write_mac and this send out what is gathered. */
int image_writer_flush(struct image_writer *w);
/* An unkeyed writer copying an image: its tail with the counts of what was
 * written and the copied image's own MAC m (NULL: none), so the copy is the
 * same bytes. -EINVAL on a keyed writer (its MAC is its own). */
int image_write_tail_mac(struct image_writer *w, const struct Ckpt__Img__Mac *m);
/* MAC every record from here on (call before the first) under key. */
int image_writer_set_key(struct image_writer *w, const struct mac_key *key);
/* Write an IMG_MAC record: the MAC of every record so far, so a reader can
 * authenticate them before acting on them. -ENOKEY without a key. */
int image_write_mac(struct image_writer *w);
/* Compress every PAGES record from here on (zstd, one frame a record;
 * a chunk that does not shrink stays a plain PAGES record). */
void image_writer_set_compress(struct image_writer *w, bool on);
/* Best effort: end a failed stream with an ERROR record. */
int image_write_error(struct image_writer *w, const char *message);

/* A buffer of the reader and who else reads it: a record is never read
 * into it while they do. */
struct image_buf {
	void *p;
	size_t cap;
	unsigned holds;          /* image_reader_hold, not yet released */
	bool mac;                /* the MAC thread reads it (macpipe_feed_ref) */
};

struct image_reader {
	int fd;
	struct image_io io;
	uint64_t records;
	uint64_t bytes;
	uint64_t chain;
	uint64_t offset;         /* stream offset of the next record */
	uint64_t rec_offset;     /* ... and of the record last handed out */
	void *buf;               /* payload of the current record: bufs[cur].p */
	struct image_buf bufs[2]; /* read into in turn while other threads read the other */
	unsigned cur;
	pthread_mutex_t hold_lock; /* bufs[].holds */
	pthread_cond_t hold_cond;  /* ... fell to zero */
	bool done;               /* tail verified */
	char error[256];         /* why the last call failed */
	/* MAC verification (image_reader_verify): one running MAC per
	 * candidate key until a MAC record names the key that made it. */
	bool verify;
	struct image_mac_cand *cand;
	size_t ncand;
	struct macpipe mp;       /* feeds them page records on a second thread */
	bool page_keyed;         /* the first MAC verified: gmac runs */
	struct mac_state gmac;   /* the page MAC under the key that MAC named */
	uint8_t page_salt[MAC_PAGE_SALT_LEN];
	uint8_t page_iv[MAC_PAGE_IV_LEN];
	uint8_t page_key[MAC_KEY_LEN];
	uint32_t page_seg;       /* segments the verified MACs ended */
	bool gmac_due;           /* gmac is set up for segment page_seg when a
				  * payload first goes to it: a lazy reader
				  * skips most, and the AES key set-up of each
				  * cost more than the rest of its records */
	bool mac_seen;           /* the image carried a MAC (IMG_MAC or tail) */
	bool pass_mac;           /* hand IMG_MAC records out too: tools that copy
				  * or show an image must keep them */
	bool mac_ok;             /* ... and every one verified */
	bool raw_pages;          /* hand ZPAGES records out as they are (tools
				  * that copy an image); else each is checked,
				  * decompressed and handed out as PAGES */
	bool unzipped;           /* ... as the record last handed out was */
	struct compress_state z;
	uint8_t mac_key_id[MAC_KEY_ID_LEN];   /* the key the last MAC names */
	uint64_t page_recs;      /* page records met so far */
	struct image_lazy *lazy; /* lazy mode (image_lazy.h): a hold on it */
	bool skip_next;          /* ... leave the next page payload in the file */
	/* ... which reads the file by offset (pread) through a window: the
	 * records between two skipped payloads in one call, not two each */
	uint64_t pos;            /* file offset of the next byte handed out */
	char *win;               /* IMAGE_WINDOW bytes; win[win_off, win_len) */
	size_t win_off, win_len; /* ... are the file's bytes from pos on */
};

void image_reader_init(struct image_reader *r, int fd);
/* Keep payload, just handed out, for another thread (which writes it
 * out): no record is read into its buffer until image_reader_release(r,
 * the buffer returned), called from any thread; a read that finds both
 * buffers held waits for one. NULL: payload is not in a buffer that can be
 * kept (a decompressed one is rewritten by the next record's). */
struct image_buf *image_reader_hold(struct image_reader *r, const void *payload);
void image_reader_release(struct image_reader *r, struct image_buf *b);
void image_reader_free(struct image_reader *r);
/* A reader handed to a child process that reads on (fork): before the
 * fork, no MAC in flight (0, or the failure of one); in the child, its
 * own locks and MAC thread, and no deadline (the parent's request had it). */
int image_reader_before_fork(struct image_reader *r);
void image_reader_after_fork(struct image_reader *r);
/* Refuse the image unless keys[] made its MACs: an IMG_MAC record and the
 * TAIL must verify under one of them (copied; call before the first read).
 * A reader not told so checks no MAC: for tools that only look at an image,
 * never for one that acts on it. Returns 0 or -errno. */
int image_reader_verify(struct image_reader *r, const struct mac_key *keys, size_t n);
/* Verifying, the next record must be an IMG_MAC that verifies: what was
 * read so far (the metadata) is authenticated before anything acts on it.
 * 0, or -EKEYREJECTED and the others of image_read_record. */
int image_read_mac(struct image_reader *r);
/* Read the next record (IMG_MAC records are checked and skipped here, and
 * returned only if r->pass_mac). Returns 1 with type/payload/len (payload valid until
 * the next call), 0 after a verified TAIL (the caller's signal that the image
 * is complete), or -errno with r->error saying why (a ZPAGES record comes
 * out decompressed, as PAGES, unless r->raw_pages):
 *   -EPROTO   bad magic, unknown type, first record not HEADER
 *   -EFBIG    a length over its bound
 *   -EBADMSG  checksum mismatch, bad tail counts, ERROR record (message copied),
 *             a ZPAGES frame that is corrupt or states a size out of bounds
 *   -EKEYREJECTED  verifying, and no given key made a MAC of the image, or it has none,
 *             or its page MAC does not match
 *   -ENODATA  stream ended before the tail (truncated)
 *   other     read(2) failed */
int image_read_record(struct image_reader *r, uint32_t *ret_type, const void **ret_payload, size_t *ret_len);

/* Unpack a metadata payload; NULL with r->error set if malformed. */
void *image_unpack(struct image_reader *r, const ProtobufCMessageDescriptor *desc, const void *payload, size_t len);
