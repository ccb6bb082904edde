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
