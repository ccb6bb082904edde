// SPDX-License-Identifier: GPL-2.0-or-later
/* Keyed image MACs: HMAC-SHA256 through mac.h against RFC 4231, the page
 * MAC (AES-256-GMAC) against NIST's GCM vectors and its key derivation, and
 * the image reader refusing what no given key made, or a changed page,
 * after the unkeyed chain checksums were fixed up the way anyone could. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include <endian.h>

#include "image.h"
#include "image.pb-c.h"
#include "imgtest.h"
#include "mac.h"

#define HDR sizeof(struct image_rec_hdr)
#define NPAGES 8

static void unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
}

/* RFC 4231 test cases 1 and 2, one shot and in pieces. */
static void test_rfc4231(void **state)
{
	uint8_t key1[20], want[MAC_LEN], got[MAC_LEN];
	struct mac_state s;

	(void)state;
	memset(key1, 0x0b, sizeof(key1));
	unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want, MAC_LEN);
	assert_int_equal(mac_hmac_sha256(key1, sizeof(key1), "Hi There", 8, got), 0);
	assert_memory_equal(got, want, MAC_LEN);

	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, MAC_LEN);
	assert_int_equal(mac_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, got), 0);
	assert_memory_equal(got, want, MAC_LEN);
	assert_true(mac_equal(got, want));
	/* a peek leaves the state running: the tail sees what the IMG_MAC saw */
	assert_int_equal(mac_init(&s, (const uint8_t *)"Jefe", 4), 0);
	assert_int_equal(mac_update(&s, "what do ya ", 11), 0);
	assert_int_equal(mac_peek(&s, got), 0);
	assert_false(mac_equal(got, want));
	assert_int_equal(mac_update(&s, "want for nothing?", 17), 0);
	assert_int_equal(mac_peek(&s, got), 0);
	assert_memory_equal(got, want, MAC_LEN);
	mac_free(&s);
	got[MAC_LEN - 1] ^= 1;
	assert_false(mac_equal(got, want));
}

/* NIST GCM test vectors (gcmEncryptExtIV256, PT empty, AAD 128 bits,
 * count 0): a GMAC, fed in pieces and peeked on the way. */
static void test_gmac(void **state)
{
	uint8_t key[MAC_KEY_LEN], iv[MAC_PAGE_IV_LEN], aad[16], want[MAC_PAGE_TAG_LEN], got[MAC_PAGE_TAG_LEN];
	uint8_t empty[MAC_PAGE_TAG_LEN];
	struct mac_state s;

	(void)state;
	unhex("78dc4e0aaf52d935c3c01eea57428f00ca1fd475f5da86a49c8dd73d68c8e223", key, sizeof(key));
	unhex("d79cf22d504cc793c3fb6c8a", iv, sizeof(iv));
	unhex("b96baa8c1c75a671bfb2d08d06be5f36", aad, sizeof(aad));
	unhex("3e5d486aa2e30b22e040b85723a06e76", want, sizeof(want));
	assert_int_equal(mac_gmac_init(&s, key, iv), 0);
	assert_int_equal(mac_gmac_peek(&s, empty), 0);
	assert_int_equal(mac_update(&s, aad, 5), 0);
	assert_int_equal(mac_gmac_peek(&s, got), 0);
	assert_false(mac_tag_equal(got, want));
	assert_int_equal(mac_update(&s, aad + 5, sizeof(aad) - 5), 0);
	assert_int_equal(mac_gmac_peek(&s, got), 0);
	assert_memory_equal(got, want, sizeof(want));
	assert_true(mac_tag_equal(got, want));
	mac_free(&s);
	/* the tag of nothing depends on the key and IV alone */
	assert_false(mac_tag_equal(empty, want));
	iv[0] ^= 1;
	assert_int_equal(mac_gmac_init(&s, key, iv), 0);
	assert_int_equal(mac_update(&s, aad, sizeof(aad)), 0);
	assert_int_equal(mac_gmac_peek(&s, got), 0);
	assert_false(mac_tag_equal(got, want));
	mac_free(&s);
}

/* page key = HMAC-SHA256(image key, "ckptd page mac" || salt) */
static void test_page_key(void **state)
{
	uint8_t key[MAC_KEY_LEN], salt[MAC_PAGE_SALT_LEN], want[MAC_KEY_LEN], got[MAC_KEY_LEN], other[MAC_KEY_LEN];

	(void)state;
	memset(key, 0x55, sizeof(key));
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	unhex("449f4c7f153d3586fe3b1206f86459fbb7ab5a7ef94c8fb3856df84da1704c6c", want, sizeof(want));
	assert_int_equal(mac_page_key(key, salt, got), 0);
	assert_memory_equal(got, want, sizeof(want));
	/* another salt, another key; another image key, another key */
	salt[31] ^= 1;
	assert_int_equal(mac_page_key(key, salt, other), 0);
	assert_memory_not_equal(other, want, sizeof(want));
	salt[31] ^= 1;
	key[0] ^= 1;
	assert_int_equal(mac_page_key(key, salt, other), 0);
	assert_memory_not_equal(other, want, sizeof(want));
}

static void test_key_id(void **state)
{
	struct mac_key k;
	char hex[MAC_KEY_ID_HEX];
	uint8_t md[32];

	(void)state;
	/* SHA-256 of 32 zero bytes, first 8 bytes */
	imgtest_key(&k, 0);
	unhex("66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925", md, 32);
	assert_memory_equal(k.id, md, MAC_KEY_ID_LEN);
	mac_key_id_hex(k.id, hex);
	assert_string_equal(hex, "66687aadf862bd77");
}

/* HEADER, PAGES, [MAC], PAGES, TAIL (and, keyed, the MAC the writer puts
 * before the first PAGES); returns the stream in a memfd. */
static int write_image(const struct mac_key *key, bool mac_record)
{
	static unsigned char pages[NPAGES * 4096];
	struct image_writer w;
	Ckpt__Img__Header h;
	int fd = imgtest_writer(&w, key);

	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (unsigned char)(i * 7 + 3);
	imgtest_header(&h);
	if (!key)
		assert_int_equal(image_write_mac(&w), -ENOKEY);
	assert_int_equal(image_write_msg(&w, IMG_HEADER, &h.base), 0);
	if (key)
		assert_int_equal(image_writer_set_key(&w, key), -EBUSY);
	assert_int_equal(image_write_record(&w, IMG_PAGES, pages, sizeof(pages)), 0);
	if (mac_record)
		assert_int_equal(image_write_mac(&w), 0);
	assert_int_equal(image_write_record(&w, IMG_PAGES, pages, sizeof(pages)), 0);
	assert_int_equal(image_write_tail(&w), 0);
	image_writer_free(&w);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Read fd to the end; returns the reader's last result, *ret_n the records
 * handed out. */
static int read_image(int fd, const struct mac_key *keys, size_t nkeys, bool verify, size_t *ret_n,
		      char *err, size_t errlen)
{
	struct image_reader r;
	const void *p;
	uint32_t type;
	size_t len, n = 0;
	int ret;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	image_reader_init(&r, fd);
	if (verify)
		assert_int_equal(image_reader_verify(&r, keys, nkeys), 0);
	while ((ret = image_read_record(&r, &type, &p, &len)) == 1) {
		assert_int_not_equal(type, IMG_MAC);
		n++;
	}
	if (ret == 0)
		assert_true(!verify || r.mac_ok);
	if (err)
		snprintf(err, errlen, "%s", r.error);
	image_reader_free(&r);
	*ret_n = n;
	return ret;
}

/* The offset of the nth (from 0; -1: the last) record of type. */
static off_t record_of(int fd, uint32_t type, int nth)
{
	off_t end = lseek(fd, 0, SEEK_END), off = 0, found = -1;
	struct image_rec_hdr h;

	while (off < end) {
		assert_int_equal(pread(fd, &h, HDR, off), (ssize_t)HDR);
		if (le32toh(h.type) == type) {
			found = off;
			if (nth >= 0 && nth-- == 0)
				break;
		}
		off += HDR + le64toh(h.length);
	}
	assert_true(found >= 0 && nth < 0);
	return found;
}

static void test_round_trip(void **state)
{
	struct mac_key keys[2];
	char err[256];
	size_t n;
	int fd;

	(void)state;
	imgtest_key(&keys[0], 0x11);
	imgtest_key(&keys[1], 0x22);
	for (int rec = 0; rec < 2; rec++) {
		fd = write_image(&keys[1], rec);
		/* the writer's key among others, and alone */
		assert_int_equal(read_image(fd, keys, 2, true, &n, err, sizeof(err)), 0);
		assert_int_equal(n, 3);
		assert_int_equal(read_image(fd, &keys[1], 1, true, &n, err, sizeof(err)), 0);
		/* a reader that verifies nothing reads it too */
		assert_int_equal(read_image(fd, NULL, 0, false, &n, err, sizeof(err)), 0);
		assert_int_equal(n, 3);
		close(fd);
	}
}

static void test_wrong_key(void **state)
{
	struct mac_key keys[2];
	char err[256], hex[MAC_KEY_ID_HEX], want[128];
	size_t n;
	int fd;

	(void)state;
	imgtest_key(&keys[0], 0x11);
	imgtest_key(&keys[1], 0x22);
	mac_key_id_hex(keys[1].id, hex);
	snprintf(want, sizeof(want), "image not signed by this ckptd or a trusted key (key id %s)", hex);
	/* refused at the first IMG_MAC record, before any page */
	for (int rec = 0; rec < 2; rec++) {
		fd = write_image(&keys[1], rec);
		assert_int_equal(read_image(fd, keys, 1, true, &n, err, sizeof(err)), -EKEYREJECTED);
		assert_int_equal(n, 1);
		assert_non_null(strstr(err, want));
		assert_int_equal(read_image(fd, NULL, 0, true, &n, err, sizeof(err)), -EKEYREJECTED);
		close(fd);
	}
	/* an image without any MAC: refused at its first page */
	fd = write_image(NULL, false);
	assert_int_equal(read_image(fd, keys, 2, true, &n, err, sizeof(err)), -EKEYREJECTED);
	assert_int_equal(n, 1);
	assert_non_null(strstr(err, "no MAC before its page data"));
	assert_int_equal(read_image(fd, NULL, 0, false, &n, err, sizeof(err)), 0);
	close(fd);
}

static void test_flipped_byte(void **state)
{
	struct mac_key key;
	char err[256];
	size_t n;
	int fd;

	(void)state;
	imgtest_key(&key, 0x33);
	/* a byte of the first page record, before the second IMG_MAC record */
	fd = write_image(&key, true);
	imgtest_flip(fd, record_of(fd, IMG_PAGES, 0) + HDR + 100);
	/* the unkeyed chain catches it: corrupt */
	assert_int_equal(read_image(fd, &key, 1, true, &n, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "checksum mismatch"));
	/* fixed up: only the page MAC stands in the way, at the next MAC */
	imgtest_rechecksum(fd);
	assert_int_equal(read_image(fd, NULL, 0, false, &n, err, sizeof(err)), 0);
	assert_int_equal(read_image(fd, &key, 1, true, &n, err, sizeof(err)), -EKEYREJECTED);
	assert_int_equal(n, 2);
	assert_non_null(strstr(err, "the page MAC (AES-256-GMAC) does not match"));
	close(fd);
	/* the last byte of the last page: the tail refuses it */
	fd = write_image(&key, true);
	imgtest_flip(fd, record_of(fd, IMG_PAGES, -1) + HDR + NPAGES * 4096 - 1);
	imgtest_rechecksum(fd);
	assert_int_equal(read_image(fd, &key, 1, true, &n, err, sizeof(err)), -EKEYREJECTED);
	assert_int_equal(n, 3);
	assert_non_null(strstr(err, "the page MAC (AES-256-GMAC) does not match"));
	close(fd);
	/* a byte of a record header (the HMAC's part): the MAC after it */
	fd = write_image(&key, true);
	imgtest_flip(fd, record_of(fd, IMG_HEADER, 0) + HDR + 2);
	imgtest_rechecksum(fd);
	assert_int_equal(read_image(fd, &key, 1, true, &n, err, sizeof(err)), -EKEYREJECTED);
	assert_int_equal(n, 1);
	assert_non_null(strstr(err, "the MAC does not match"));
	close(fd);
}

/* A MAC record's payload through edit(m), its checksums fixed up. */
static void edit_mac(int fd, int nth, void (*edit)(Ckpt__Img__Mac *m))
{
	off_t off = record_of(fd, IMG_MAC, nth), size = lseek(fd, 0, SEEK_END);
	struct image_rec_hdr h;
	unsigned char *buf, *out;
	Ckpt__Img__Mac *m;
	size_t len, nlen;

	assert_int_equal(pread(fd, &h, HDR, off), (ssize_t)HDR);
	len = le64toh(h.length);
	buf = malloc(size);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, size, 0), size);
	m = ckpt__img__mac__unpack(NULL, len, buf + off + HDR);
	assert_non_null(m);
	edit(m);
	nlen = ckpt__img__mac__get_packed_size(m);
	out = malloc(size + nlen);
	assert_non_null(out);
	memcpy(out, buf, off);
	h.length = htole64(nlen);
	memcpy(out + off, &h, HDR);
	ckpt__img__mac__pack(m, out + off + HDR);
	memcpy(out + off + HDR + nlen, buf + off + HDR + len, size - off - HDR - len);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, out, size - len + nlen, 0), (ssize_t)(size - len + nlen));
	ckpt__img__mac__free_unpacked(m, NULL);
	free(buf);
	free(out);
	imgtest_rechecksum(fd);
}

static void strip_page_mac(Ckpt__Img__Mac *m)
{
	m->has_page_salt = m->has_page_iv = m->has_page_tag = false;
}

static void zero_salt(Ckpt__Img__Mac *m)
{
	memset(m->page_salt.data, 0, m->page_salt.len);
}

/* The page MAC's salt and IV are the image's own, and its HMAC covers them. */
static void test_page_fields(void **state)
{
	uint8_t salt[2][MAC_PAGE_SALT_LEN], iv[2][MAC_PAGE_IV_LEN];
	struct mac_key key;
	char err[256];
	size_t n;
	int fd;

	(void)state;
	imgtest_key(&key, 0x66);
	for (int i = 0; i < 2; i++) {
		off_t off;
		struct image_rec_hdr h;
		unsigned char buf[256];
		Ckpt__Img__Mac *m;

		fd = write_image(&key, false);
		off = record_of(fd, IMG_MAC, 0);
		assert_int_equal(pread(fd, &h, HDR, off), (ssize_t)HDR);
		assert_true(le64toh(h.length) <= sizeof(buf));
		assert_int_equal(pread(fd, buf, le64toh(h.length), off + HDR), (ssize_t)le64toh(h.length));
		m = ckpt__img__mac__unpack(NULL, le64toh(h.length), buf);
		assert_non_null(m);
		assert_true(m->has_page_salt && m->page_salt.len == MAC_PAGE_SALT_LEN);
		assert_true(m->has_page_iv && m->page_iv.len == MAC_PAGE_IV_LEN);
		assert_true(m->has_page_tag && m->page_tag.len == MAC_PAGE_TAG_LEN);
		memcpy(salt[i], m->page_salt.data, MAC_PAGE_SALT_LEN);
		memcpy(iv[i], m->page_iv.data, MAC_PAGE_IV_LEN);
		ckpt__img__mac__free_unpacked(m, NULL);
		close(fd);
	}
	/* two images of one key: two page keys */
	assert_memory_not_equal(salt[0], salt[1], MAC_PAGE_SALT_LEN);
	assert_memory_not_equal(iv[0], iv[1], MAC_PAGE_IV_LEN);
	/* a MAC without its page fields (format 5's): refused, and said why */
	fd = write_image(&key, false);
	edit_mac(fd, 0, strip_page_mac);
	assert_int_equal(read_image(fd, &key, 1, true, &n, err, sizeof(err)), -EKEYREJECTED);
	assert_int_equal(n, 1);
	assert_non_null(strstr(err, "no page MAC: an image format before 6"));
	close(fd);
	/* a salt changed (another page key): the HMAC refuses it */
	fd = write_image(&key, false);
	edit_mac(fd, 0, zero_salt);
	assert_int_equal(read_image(fd, &key, 1, true, &n, err, sizeof(err)), -EKEYREJECTED);
	assert_int_equal(n, 1);
	assert_non_null(strstr(err, "the MAC does not match"));
	close(fd);
}

/* A copy of fd, record by record, by a reader that hands IMG_MAC records
 * out and an unkeyed writer carrying the tail's MAC (what import and
 * inspect --encode do); returns it in a memfd. */
static int copy_image(int fd)
{
	struct image_reader r;
	struct image_writer w;
	Ckpt__Img__Tail *t;
	const void *p;
	uint32_t type;
	size_t len, macs = 0;
	int out = imgtest_writer(&w, NULL), ret;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	image_reader_init(&r, fd);
	r.pass_mac = true;
	while ((ret = image_read_record(&r, &type, &p, &len)) == 1) {
		macs += type == IMG_MAC;
		assert_int_equal(image_write_record(&w, type, p, len), 0);
	}
	assert_int_equal(ret, 0);
	assert_int_equal(macs, 2);
	t = ckpt__img__tail__unpack(NULL, len, p);
	assert_non_null(t);
	assert_non_null(t->mac);
	assert_int_equal(image_write_tail_mac(&w, t->mac), 0);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	image_reader_free(&r);
	image_writer_free(&w);
	return out;
}

static void test_copy(void **state)
{
	struct mac_key key;
	struct image_writer w;
	char err[256];
	off_t size;
	size_t n;
	int fd, copy;

	(void)state;
	imgtest_key(&key, 0x44);
	fd = write_image(&key, true);
	copy = copy_image(fd);
	size = lseek(fd, 0, SEEK_END);
	assert_int_equal(lseek(copy, 0, SEEK_END), size);
	{
		unsigned char *a = malloc(size), *b = malloc(size);

		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(pread(fd, a, size, 0), size);
		assert_int_equal(pread(copy, b, size, 0), size);
		assert_memory_equal(a, b, size);
		free(a);
		free(b);
	}
	assert_int_equal(read_image(copy, &key, 1, true, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	close(copy);
	close(fd);
	/* a keyed writer's tail MAC is its own */
	image_writer_init(&w, -1);
	assert_int_equal(image_writer_set_key(&w, &key), 0);
	assert_int_equal(image_write_tail_mac(&w, NULL), -EINVAL);
	image_writer_free(&w);
}

/* The page tag of one segment as the reader must find it. */
static void gmac_of(const uint8_t pk[MAC_KEY_LEN], const uint8_t base[MAC_PAGE_IV_LEN], uint32_t seg, const void *data,
		    size_t len, uint8_t ret[MAC_PAGE_TAG_LEN])
{
	uint8_t iv[MAC_PAGE_IV_LEN];
	struct mac_state s;

	mac_gmac_iv(base, seg, iv);
	assert_int_equal(mac_gmac_init(&s, pk, iv), 0);
	if (len)
		assert_int_equal(mac_update(&s, data, len), 0);
	assert_int_equal(mac_gmac_peek(&s, ret), 0);
	mac_free(&s);
}

/* A Mac's page fields, from the nth MAC record or (nth < 0) the tail. */
static void page_fields_of(int fd, int nth, uint8_t salt[MAC_PAGE_SALT_LEN], uint8_t iv[MAC_PAGE_IV_LEN],
			   uint8_t tag[MAC_PAGE_TAG_LEN])
{
	off_t off = record_of(fd, nth < 0 ? IMG_TAIL : IMG_MAC, nth < 0 ? 0 : nth);
	struct image_rec_hdr h;
	unsigned char buf[512];
	Ckpt__Img__Tail *t = NULL;
	Ckpt__Img__Mac *m;

	assert_true(off >= 0);
	assert_int_equal(pread(fd, &h, HDR, off), (ssize_t)HDR);
	assert_true(le64toh(h.length) <= sizeof(buf));
	assert_int_equal(pread(fd, buf, le64toh(h.length), off + HDR), (ssize_t)le64toh(h.length));
	if (nth < 0) {
		t = ckpt__img__tail__unpack(NULL, le64toh(h.length), buf);
		assert_non_null(t);
		m = t->mac;
	} else {
		m = ckpt__img__mac__unpack(NULL, le64toh(h.length), buf);
	}
	assert_non_null(m);
	memcpy(salt, m->page_salt.data, MAC_PAGE_SALT_LEN);
	memcpy(iv, m->page_iv.data, MAC_PAGE_IV_LEN);
	memcpy(tag, m->page_tag.data, MAC_PAGE_TAG_LEN);
	if (t)
		ckpt__img__tail__free_unpacked(t, NULL);
	else
		ckpt__img__mac__free_unpacked(m, NULL);
}

/* Each MAC's tag covers the page payloads since the MAC before it, under
 * a nonce of its own: one nonce giving two tags (of the empty prefix and
 * of the whole stream) would give away GHASH's key and let pages be
 * forged. write_image(.., true): MAC (before any page), PAGES, MAC,
 * PAGES, tail. */
static void test_segment_nonces(void **state)
{
	static unsigned char pages[NPAGES * 4096];
	uint8_t salt[3][MAC_PAGE_SALT_LEN], iv[3][MAC_PAGE_IV_LEN], tag[3][MAC_PAGE_TAG_LEN];
	uint8_t pk[MAC_KEY_LEN], want[MAC_PAGE_TAG_LEN], a[MAC_PAGE_IV_LEN], b[MAC_PAGE_IV_LEN];
	struct mac_key key;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (unsigned char)(i * 7 + 3);
	imgtest_key(&key, 0x77);
	fd = write_image(&key, true);
	page_fields_of(fd, 0, salt[0], iv[0], tag[0]);
	page_fields_of(fd, 1, salt[1], iv[1], tag[1]);
	page_fields_of(fd, -1, salt[2], iv[2], tag[2]);
	close(fd);
	assert_memory_equal(salt[0], salt[2], MAC_PAGE_SALT_LEN);
	assert_memory_equal(iv[0], iv[2], MAC_PAGE_IV_LEN);
	assert_int_equal(mac_page_key(key.key, salt[0], pk), 0);
	gmac_of(pk, iv[0], 0, NULL, 0, want);
	assert_memory_equal(tag[0], want, sizeof(want));
	gmac_of(pk, iv[0], 1, pages, sizeof(pages), want);
	assert_memory_equal(tag[1], want, sizeof(want));
	gmac_of(pk, iv[0], 2, pages, sizeof(pages), want);
	assert_memory_equal(tag[2], want, sizeof(want));
	/* segment nonces: the base for 0, distinct after */
	mac_gmac_iv(iv[0], 0, a);
	assert_memory_equal(a, iv[0], MAC_PAGE_IV_LEN);
	mac_gmac_iv(iv[0], 1, a);
	mac_gmac_iv(iv[0], 2, b);
	assert_memory_not_equal(a, iv[0], MAC_PAGE_IV_LEN);
	assert_memory_not_equal(a, b, MAC_PAGE_IV_LEN);
	mac_gmac_iv(iv[0], 0x01000000, b);
	assert_memory_not_equal(b, iv[0], MAC_PAGE_IV_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4231),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_gmac),
		cmocka_unit_test(test_page_key),
		cmocka_unit_test(test_page_fields),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_segment_nonces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
