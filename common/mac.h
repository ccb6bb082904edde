// SPDX-License-Identifier: GPL-2.0-or-later
/* Keyed MACs of images: HMAC-SHA256 (OpenSSL libcrypto) under a 32-byte
 * key of one ckptd. A key is named by its id, the first 8 bytes of the
 * SHA-256 of the key. A MAC is a shared secret's mark, not a signature:
 * whoever holds the key can make images that verify. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAC_KEY_LEN 32
#define MAC_LEN 32
#define MAC_KEY_ID_LEN 8
#define MAC_KEY_ID_HEX (2 * MAC_KEY_ID_LEN + 1)
/* The keys a reader accepts: its own and the trusted ones. */
#define MAC_MAX_KEYS 64

struct mac_key {
	uint8_t key[MAC_KEY_LEN];
	uint8_t id[MAC_KEY_ID_LEN];
};

/* Opens libcrypto, once (each function below does on first use): 0, or
 * -ELIBACC, logged. A daemon calls it at start, before it forks. */
int mac_lib_open(void);

/* Fill key->id from key->key. Returns 0 or -errno. */
int mac_key_set_id(struct mac_key *key);
/* The id as 16 lowercase hex digits. */
void mac_key_id_hex(const uint8_t id[MAC_KEY_ID_LEN], char ret[MAC_KEY_ID_HEX]);

/* A running HMAC-SHA256, fed in pieces. */
struct mac_state {
	void *ctx;               /* EVP_MAC_CTX */
};

int mac_init(struct mac_state *s, const uint8_t *key, size_t key_len);
int mac_update(struct mac_state *s, const void *data, size_t len);
/* The MAC of everything fed so far; s can go on being fed. */
int mac_peek(const struct mac_state *s, uint8_t ret[MAC_LEN]);
void mac_free(struct mac_state *s);
/* One shot. */
int mac_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t ret[MAC_LEN]);
/* Constant-time equality of two MACs. */
bool mac_equal(const uint8_t a[MAC_LEN], const uint8_t b[MAC_LEN]);
/* The MAC of everything fed so far followed by extra (len bytes), without
 * feeding extra to s. */
int mac_peek_with(const struct mac_state *s, const void *extra, size_t len, uint8_t ret[MAC_LEN]);

/* The page MAC: AES-256-GMAC (GCM with the data as its only AAD) over the
 * page payloads of one image, under a key used for that image alone:
 * HMAC-SHA256(image key, "ckptd page mac" || salt), salt random per image.
 * Each MAC record of the image ends a segment: its tag covers the page
 * payloads since the MAC before it, under a nonce of that segment alone
 * (mac_gmac_iv), so no nonce ever gives two tags; the HMAC, which covers
 * every tag, fixes the order of the segments. */
#define MAC_PAGE_SALT_LEN 32
#define MAC_PAGE_IV_LEN 12
#define MAC_PAGE_TAG_LEN 16

int mac_page_key(const uint8_t key[MAC_KEY_LEN], const uint8_t salt[MAC_PAGE_SALT_LEN], uint8_t ret[MAC_KEY_LEN]);
/* s runs AES-256-GMAC under page_key and iv; fed with mac_update, ended
 * with mac_free. */
int mac_gmac_init(struct mac_state *s, const uint8_t page_key[MAC_KEY_LEN], const uint8_t iv[MAC_PAGE_IV_LEN]);
/* Fetch what both MACs use (their algorithms, SHA-256, AES-256-GCM) into
 * this process's OpenSSL tables, as a first mac_init or mac_gmac_init
 * would: a process that forks a worker per image calls it once, and each
 * worker inherits the tables instead of walking the providers again
 * (some 5 ms of every checkpoint). Returns 0 or -errno. */
int mac_warm(void);
/* The nonce of segment seg: the image's random IV with seg (big endian)
 * XORed into its last four bytes. */
void mac_gmac_iv(const uint8_t base[MAC_PAGE_IV_LEN], uint32_t seg, uint8_t ret[MAC_PAGE_IV_LEN]);
/* The tag of everything fed so far; s can go on being fed. */
int mac_gmac_peek(const struct mac_state *s, uint8_t ret[MAC_PAGE_TAG_LEN]);
/* Constant-time equality of two tags. */
bool mac_tag_equal(const uint8_t a[MAC_PAGE_TAG_LEN], const uint8_t b[MAC_PAGE_TAG_LEN]);
