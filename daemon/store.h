// SPDX-License-Identifier: GPL-2.0-or-later
/* The image store of one container: STATE/containers/NAME/images/ID.img.
 * IDs are increasing decimal integers ("1", "2", ...); newest = highest.
 * An image is written as ID.img.tmp and renamed only once complete and synced.
 * Its file is owned by the image's owner (the uid of its container's owner):
 * the store's directories are root's alone, so the owner can't reach it,
 * but whose it is travels with the file, atomically. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "mac.h"

#define STORE_ID_MAX 24

struct store_image {
	char id[STORE_ID_MAX];
	uint64_t size;
	int64_t mtime;
	uid_t owner_uid;     /* the file's owner is the image's */
};

/* What store_list_cached last saw of a container's images. */
struct store_cache {
	struct store_image *imgs;
	size_t n;
	bool valid;
	ino_t ino;
	struct timespec mtime;       /* of the images dir at that scan */
};
void store_cache_free(struct store_cache *sc);

bool store_id_valid(const char *id);
/* Images sorted by id, oldest first. dir_fd: the container dir. */
int store_list(int dir_fd, struct store_image **ret, size_t *ret_n);
/* Highest id, -ENOENT if there is none. */
int store_newest(int dir_fd, char ret_id[STORE_ID_MAX]);
/* The id the next checkpoint gets. */
int store_next_id(int dir_fd, char ret_id[STORE_ID_MAX]);
/* Open an existing image for reading (-ENOENT if absent). */
int store_open(int dir_fd, const char *id);
/* Create ID.img.tmp for writing, owned by owner (the image's owner). */
int store_create_tmp(int dir_fd, const char *id, uid_t owner);
/* fsync fd, rename ID.img.tmp to ID.img, fsync the images dir. */
int store_commit(int dir_fd, const char *id, int fd);
/* Unlink ID.img.tmp (failure or crash of the writer). */
void store_abort(int dir_fd, const char *id);
/* Remove leftovers of writers that died (ckptd crash): every *.img.tmp. */
void store_clean_tmp(int dir_fd);
/* Whether image ID verifies under one of keys[] (its MAC and its
 * checksums, read to the end), and the key id its MAC names
 * (*ret_has_key_id false: none found). The answer for an unchanged file
 * (same inode, size, mtime and ctime) is remembered. */
int store_verify(int dir_fd, const char *id, const struct mac_key *keys, size_t n, bool *ret_trusted,
		 uint8_t ret_key_id[MAC_KEY_ID_LEN], bool *ret_has_key_id);
/* The image an incremental image names as its parent (its header's): 1
 * with it in ret_parent, 0 for a full image, or -errno. */
int store_parent(int dir_fd, const char *id, char ret_parent[STORE_ID_MAX]);
/* How many images name id as their parent, the first of them in ret_child. */
int store_child(int dir_fd, const char *id, char ret_child[STORE_ID_MAX]);
/* Unlink ID.img (-ENOENT if absent) and fsync the images dir. */
int store_remove(int dir_fd, const char *id);

/* Copy the image stream in_fd into out_fd, verifying it on the way: the
 * framing, every checksum, the tail, and that every metadata record
 * unpacks as its message. Waits past deadline_ms (CLOCK_MONOTONIC; 0:
 * none) fail. Returns 0 with the image's size in *ret_bytes, or -errno
 * with why in why (the output is then incomplete: the caller drops it). */
int store_copy_verified(int in_fd, int out_fd, uint64_t deadline_ms, uint64_t *ret_bytes,
			char *why, size_t why_len);

/* store_list answered from the cache while the images dir's mtime says
 * nothing changed (one fstatat instead of a scan: list runs on the loop).
 * A scan less than STORE_CACHE_RACY_MS after that mtime is not trusted
 * (a change in the same clock tick leaves the mtime as it was), as git
 * does with racily clean index entries. *ret is the caller's copy. */
#define STORE_CACHE_RACY_MS 100
int store_list_cached(int dir_fd, struct store_cache *sc, struct store_image **ret, size_t *ret_n);
