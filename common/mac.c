// SPDX-License-Identifier: GPL-2.0-or-later
/* HMAC-SHA256 and AES-256-GMAC through OpenSSL 3's EVP_MAC (mac.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "log.h"
#include "mac.h"

/* libcrypto is opened on first use rather than linked: loading and
 * relocating it is most of a process's start-up, which every ckptctl verb
 * would pay though none computes a MAC. The soname and symbol version are
 * OpenSSL 3's ABI, the one the build requires (libcrypto >= 3.0). */
#define MAC_LIBCRYPTO "libcrypto.so.3"
#define MAC_LIBCRYPTO_VERSION "OPENSSL_3.0.0"

#define MAC_LIB_FUNCS(X) \
	X(CRYPTO_memcmp) X(EVP_Digest) X(EVP_sha256) X(EVP_MAC_fetch) X(EVP_MAC_CTX_new) \
	X(EVP_MAC_CTX_dup) X(EVP_MAC_CTX_free) X(EVP_MAC_init) X(EVP_MAC_update) X(EVP_MAC_final) \
	X(OSSL_PARAM_construct_utf8_string) X(OSSL_PARAM_construct_octet_string) X(OSSL_PARAM_construct_end)

static struct mac_lib {
#define MAC_LIB_FIELD(f) typeof(&f) f;
	MAC_LIB_FUNCS(MAC_LIB_FIELD)
#undef MAC_LIB_FIELD
	EVP_MAC *hmac;           /* fetched once: EVP_MAC_fetch walks the provider tables */
	EVP_MAC *gmac;
} ssl;
static int mac_lib_r = -ELIBACC;
static pthread_once_t mac_lib_once = PTHREAD_ONCE_INIT;

static void mac_lib_load(void)
{
	struct mac_lib l = { 0 };
	void *h = dlopen(MAC_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		log_error("opening %s: %s", MAC_LIBCRYPTO, dlerror());
		return;
	}
#define MAC_LIB_SYM(f)                                                                       \
	if (!(l.f = (typeof(l.f))dlvsym(h, #f, MAC_LIBCRYPTO_VERSION))) {                    \
		log_error("%s has no %s@%s", MAC_LIBCRYPTO, #f, MAC_LIBCRYPTO_VERSION);      \
		dlclose(h);                                                                  \
		return;                                                                      \
	}
	MAC_LIB_FUNCS(MAC_LIB_SYM)
#undef MAC_LIB_SYM
	/* a missing algorithm is an error of each mac_init, not of the library */
	l.hmac = l.EVP_MAC_fetch(NULL, "HMAC", NULL);
	l.gmac = l.EVP_MAC_fetch(NULL, "GMAC", NULL);
	ssl = l;
	mac_lib_r = 0;
}

int mac_lib_open(void)
{
	pthread_once(&mac_lib_once, mac_lib_load);
	return mac_lib_r;
}

int mac_key_set_id(struct mac_key *key)
{
	uint8_t md[32];
	unsigned int n = 0;
	int r = mac_lib_open();

	if (r < 0)
		return r;
	if (!ssl.EVP_Digest(key->key, sizeof(key->key), md, &n, ssl.EVP_sha256(), NULL) || n != sizeof(md))
		return -EIO;
	memcpy(key->id, md, sizeof(key->id));
	return 0;
}

/* By table, not snprintf: a reader names the key of every MAC record it
 * checks, one per page record, thousands before a lazy restart runs. */
void mac_key_id_hex(const uint8_t id[MAC_KEY_ID_LEN], char ret[MAC_KEY_ID_HEX])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < MAC_KEY_ID_LEN; i++) {
		ret[2 * i] = digits[id[i] >> 4];
		ret[2 * i + 1] = digits[id[i] & 0xf];
	}
	ret[2 * MAC_KEY_ID_LEN] = '\0';
}

static int mac_start(struct mac_state *s, EVP_MAC *mac, const uint8_t *key, size_t key_len, const OSSL_PARAM *params)
{
	EVP_MAC_CTX *ctx;

	s->ctx = NULL;
	if (!mac)
		return -ENOSYS;
	ctx = ssl.EVP_MAC_CTX_new(mac);
	if (!ctx)
		return -ENOMEM;
	if (!ssl.EVP_MAC_init(ctx, key, key_len, params)) {
		ssl.EVP_MAC_CTX_free(ctx);
		return -EINVAL;
	}
	s->ctx = ctx;
	return 0;
}

int mac_init(struct mac_state *s, const uint8_t *key, size_t key_len)
{
	s->ctx = NULL;
	if (mac_lib_open() < 0)
		return -ELIBACC;
	OSSL_PARAM params[] = {
		ssl.OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		ssl.OSSL_PARAM_construct_end(),
	};

	return mac_start(s, ssl.hmac, key, key_len, params);
}

int mac_gmac_init(struct mac_state *s, const uint8_t page_key[MAC_KEY_LEN], const uint8_t iv[MAC_PAGE_IV_LEN])
{
	s->ctx = NULL;
	if (mac_lib_open() < 0)
		return -ELIBACC;
	OSSL_PARAM params[] = {
		ssl.OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-256-GCM", 0),
		ssl.OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, (void *)iv, MAC_PAGE_IV_LEN),
		ssl.OSSL_PARAM_construct_end(),
	};

	return mac_start(s, ssl.gmac, page_key, MAC_KEY_LEN, params);
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
	if (len && !ssl.EVP_MAC_update(s->ctx, data, len))
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
	dup = ssl.EVP_MAC_CTX_dup(s->ctx);
	if (!dup)
		return -ENOMEM;
	if (len && !ssl.EVP_MAC_update(dup, extra, len))
		r = -EIO;
	else if (!ssl.EVP_MAC_final(dup, ret, &n, ret_len) || n != ret_len)
		r = -EIO;
	ssl.EVP_MAC_CTX_free(dup);
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
	/* a context exists only once the library is open */
	if (s->ctx)
		ssl.EVP_MAC_CTX_free(s->ctx);
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
	/* without the library no MAC was computed: nothing matches */
	return mac_lib_open() >= 0 && ssl.CRYPTO_memcmp(a, b, MAC_LEN) == 0;
}

bool mac_tag_equal(const uint8_t a[MAC_PAGE_TAG_LEN], const uint8_t b[MAC_PAGE_TAG_LEN])
{
	return mac_lib_open() >= 0 && ssl.CRYPTO_memcmp(a, b, MAC_PAGE_TAG_LEN) == 0;
}
