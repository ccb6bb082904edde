// SPDX-License-Identifier: GPL-2.0-or-later
/* HMAC-SHA256 and AES-256-GMAC through OpenSSL 3's EVP_MAC (mac.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "mac.h"

/* Fetched once per process: EVP_MAC_fetch walks the provider tables. */
static EVP_MAC *mac_hmac(void)
{
	static EVP_MAC *hmac;

	if (!hmac)
		hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	return hmac;
}

static EVP_MAC *mac_gmac(void)
{
	static EVP_MAC *gmac;

	if (!gmac)
		gmac = EVP_MAC_fetch(NULL, "GMAC", NULL);
	return gmac;
}

int mac_key_set_id(struct mac_key *key)
{
	uint8_t md[32];
	unsigned int n = 0;

	if (!EVP_Digest(key->key, sizeof(key->key), md, &n, EVP_sha256(), NULL) || n != sizeof(md))
		return -EIO;
	memcpy(key->id, md, sizeof(key->id));
	return 0;
}

void mac_key_id_hex(const uint8_t id[MAC_KEY_ID_LEN], char ret[MAC_KEY_ID_HEX])
{
	for (size_t i = 0; i < MAC_KEY_ID_LEN; i++)
		snprintf(ret + 2 * i, 3, "%02x", id[i]);
}

static int mac_start(struct mac_state *s, EVP_MAC *mac, const uint8_t *key, size_t key_len, const OSSL_PARAM *params)
{
	EVP_MAC_CTX *ctx;

	s->ctx = NULL;
	if (!mac)
		return -ENOSYS;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx)
		return -ENOMEM;
	if (!EVP_MAC_init(ctx, key, key_len, params)) {
		EVP_MAC_CTX_free(ctx);
		return -EINVAL;
	}
	s->ctx = ctx;
	return 0;
}

int mac_init(struct mac_state *s, const uint8_t *key, size_t key_len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	return mac_start(s, mac_hmac(), key, key_len, params);
}

int mac_gmac_init(struct mac_state *s, const uint8_t page_key[MAC_KEY_LEN], const uint8_t iv[MAC_PAGE_IV_LEN])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-256-GCM", 0),
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, (void *)iv, MAC_PAGE_IV_LEN),
		OSSL_PARAM_construct_end(),
	};

	return mac_start(s, mac_gmac(), page_key, MAC_KEY_LEN, params);
}

int mac_warm(void)
{
	static const uint8_t key[MAC_KEY_LEN], iv[MAC_PAGE_IV_LEN];
	struct mac_state s;
	int r = mac_init(&s, key, sizeof(key));

	if (r < 0)
		return r;
	mac_free(&s);
	r = mac_gmac_init(&s, key, iv);
	if (r < 0)
		return r;
	mac_free(&s);
	return 0;
}

void mac_gmac_iv(const uint8_t base[MAC_PAGE_IV_LEN], uint32_t seg, uint8_t ret[MAC_PAGE_IV_LEN])
{
	memcpy(ret, base, MAC_PAGE_IV_LEN);
	for (int i = 0; i < 4; i++)
		ret[MAC_PAGE_IV_LEN - 1 - i] ^= (uint8_t)(seg >> (8 * i));
}

int mac_page_key(const uint8_t key[MAC_KEY_LEN], const uint8_t salt[MAC_PAGE_SALT_LEN], uint8_t ret[MAC_KEY_LEN])
{
	static const char label[] = "ckptd page mac";
	uint8_t msg[sizeof(label) - 1 + MAC_PAGE_SALT_LEN];
	int r;

	memcpy(msg, label, sizeof(label) - 1);
	memcpy(msg + sizeof(label) - 1, salt, MAC_PAGE_SALT_LEN);
	r = mac_hmac_sha256(key, MAC_KEY_LEN, msg, sizeof(msg), ret);
	explicit_bzero(msg, sizeof(msg));
	return r;
}

int mac_update(struct mac_state *s, const void *data, size_t len)
{
	if (!s->ctx)
		return -EINVAL;
	if (len && !EVP_MAC_update(s->ctx, data, len))
		return -EIO;
	return 0;
}

/* EVP_MAC_final ends a context: finish a copy instead. */
static int mac_peek_n(const struct mac_state *s, const void *extra, size_t len, uint8_t *ret, size_t ret_len)
{
	EVP_MAC_CTX *dup;
	size_t n = 0;
	int r = 0;

	if (!s->ctx)
		return -EINVAL;
	dup = EVP_MAC_CTX_dup(s->ctx);
	if (!dup)
		return -ENOMEM;
	if (len && !EVP_MAC_update(dup, extra, len))
		r = -EIO;
	else if (!EVP_MAC_final(dup, ret, &n, ret_len) || n != ret_len)
		r = -EIO;
	EVP_MAC_CTX_free(dup);
	return r;
}

int mac_peek(const struct mac_state *s, uint8_t ret[MAC_LEN])
{
	return mac_peek_n(s, NULL, 0, ret, MAC_LEN);
}

int mac_peek_with(const struct mac_state *s, const void *extra, size_t len, uint8_t ret[MAC_LEN])
{
	return mac_peek_n(s, extra, len, ret, MAC_LEN);
}

int mac_gmac_peek(const struct mac_state *s, uint8_t ret[MAC_PAGE_TAG_LEN])
{
	return mac_peek_n(s, NULL, 0, ret, MAC_PAGE_TAG_LEN);
}

void mac_free(struct mac_state *s)
{
	EVP_MAC_CTX_free(s->ctx);
	s->ctx = NULL;
}

int mac_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t ret[MAC_LEN])
{
	struct mac_state s;
	int r = mac_init(&s, key, key_len);

	if (r >= 0)
		r = mac_update(&s, data, len);
	if (r >= 0)
		r = mac_peek(&s, ret);
	mac_free(&s);
	return r;
}

bool mac_equal(const uint8_t a[MAC_LEN], const uint8_t b[MAC_LEN])
{
	return CRYPTO_memcmp(a, b, MAC_LEN) == 0;
}

bool mac_tag_equal(const uint8_t a[MAC_PAGE_TAG_LEN], const uint8_t b[MAC_PAGE_TAG_LEN])
{
	return CRYPTO_memcmp(a, b, MAC_PAGE_TAG_LEN) == 0;
}
