// SPDX-License-Identifier: GPL-2.0-or-later
/* Incremental checkpoints. A --incremental checkpoint leaves, in every
 * process it saved (with --leave-running), the kernel's written-page
 * tracking armed: a userfaultfd made in the process and taken out of it,
 * registered in write-protect mode with UFFD_FEATURE_WP_ASYNC over its
 * private memory, everything write-protected while the tasks are still
 * stopped. A write then clears the protection of its page without any
 * fault reaching ckptd, and PAGEMAP_SCAN reports the pages written since
 * (re-protecting them in the same call). ckptd keeps the userfaultfds for
 * the container; the next --incremental checkpoint writes only those
 * pages and names the image before it as its parent (PARENT_REF records
 * stand for the others). A mapping the tracking does not cover (mapped,
 * moved or remapped since, or a new or exec'ed process: the kernel drops
 * the registration then) is written whole.
 *
 * Restart follows the chain (incr_chain_*): every page comes from the
 * newest image that holds it. */
#pragma once
#include "dump.h"

struct restore_ctx;

/* dump: the runs of mapping v of p, from the kernel's page tables walked
 * by PAGEMAP_SCAN (no per-page work): its pages written since the parent
 * image (INCR_WRITE, at most PAGEBUF_LEN each), re-protected, and the rest
 * of its own pages (INCR_PARENT: the parent's); pages in neither are not
 * its own. 0 and no runs: every page counts as written (the mapping is not
 * tracked, or the image has no parent); 1: runs in *ret (free ret->v).
 * Tracked mappings are scanned on every --incremental checkpoint, so the
 * next one counts from this one. */
enum { INCR_WRITE = 1, INCR_PARENT = 2 };
struct incr_run_out {
	uint64_t start, end;
	int action;
};
struct incr_runs {
	struct incr_run_out *v;
	size_t n, cap;
};
int incr_vma_runs(struct dump_ctx *ctx, const struct dump_proc *p, const Ckpt__Img__Vma *v, struct incr_runs *ret);
/* While p's threads are prepared for injection: a userfaultfd for its
 * mappings not yet tracked, made in it and taken out of it. */
void incr_take_uffd(struct dump_ctx *ctx, struct dump_proc *p);
/* The pages are written, the tasks still stopped: register and protect
 * what is not tracked yet. Failures leave mappings untracked (the next
 * image writes them whole), never the checkpoint failed. */
void incr_arm(struct dump_ctx *ctx);
/* The userfaultfds to keep for the container (moved to the caller). */
size_t incr_take_fds(struct dump_ctx *ctx, int **ret_fds);
void incr_free(struct dump_ctx *ctx);

/* restart: the images the one being restored names, newest first
 * (req->parent_fds), read whole, authenticated like the child and
 * indexed. */
int incr_chain_open(struct restore_ctx *ctx);
/* A PARENT_REF record of the current task: its pages from the chain. */
int incr_chain_fill(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm);
void incr_chain_free(struct restore_ctx *ctx);

/* One stored image indexed as a parent is (its pages by task and address,
 * and what it leaves to its own parent), for images rm to fold it into
 * its child (incr_merge.c). */
struct incr_chain;
struct mac_key;
struct incr_trust {
	const struct mac_key *keys;    /* the image must carry a MAC of one of them ... */
	size_t nkeys;
	bool trust;                    /* ... unless root said so (restart --trust-image) */
};
/* Where resolved pages go: data() gets the len bytes (at most
 * IMAGE_MAX_PAGES) of address addr, read from the image that holds them
 * (decompressed if it is compressed); ref() what the oldest image indexed
 * leaves to its own parent (NULL: that is an error). */
struct incr_sink {
	int (*data)(void *arg, uint64_t addr, const void *buf, uint64_t len);
	int (*ref)(void *arg, uint64_t addr, uint64_t len);
	void *arg;
};
/* The image at fd read whole (checksums, tail, MAC as t says) and
 * indexed; its header (the caller frees it) and its digest, the
 * checksum its children name. *ret is freed by incr_index_free even on
 * failure. */
int incr_index_open(int fd, const char *id, const struct incr_trust *t, struct cr_error *err,
		    struct incr_chain **ret, Ckpt__Img__Header **ret_hdr, uint64_t *ret_digest);
/* [addr, end) of task pid (its pid in the container) as the image has
 * it, into sink. */
int incr_index_fill(struct incr_chain *c, const struct incr_sink *sink, int32_t pid, uint64_t addr, uint64_t end);
void incr_index_free(struct incr_chain *c);
/* The image c indexed holds compressed pages (ZPAGES). */
bool incr_index_compressed(const struct incr_chain *c);
/* The image of header ph and digest is the parent a child named by the
 * digest named: it is that image, or a merge rewrote that image into it
 * (Header.replaces_digest). */
bool incr_answers(const Ckpt__Img__Header *ph, uint64_t digest, uint64_t named);

/* incr_merge.c: images rm of parent_id, which child_id names as its
 * parent: the child with the parent's pages it takes from it folded in,
 * naming the parent's parent (or none), written to out_fd, signed with
 * key (NULL: unsigned). Both images are read whole and checked first
 * (MACs as trust says, the child's parent by digest). The image size in
 * *ret_bytes. The caller stores it in the child's place. */
struct incr_merge_req {
	int parent_fd, child_fd, out_fd;
	const char *parent_id, *child_id;
	const struct incr_trust *trust;
	const struct mac_key *key;
};
int incr_merge(const struct incr_merge_req *req, struct cr_error *err, uint64_t *ret_bytes);
