// SPDX-License-Identifier: GPL-2.0-or-later
/* Restart: read the image's metadata whole and check it (plan.h) before
 * anything is created; then replay it, building the tasks record by
 * record, and read each segment of pages from the stream where its
 * placeholder stands. Release the tasks only after the tail proved the
 * image complete. A failed restart kills what it built. */
#include "restore.h"
#include "incr.h"
#include "sleep.h"
#include "plan.h"
#include "contain.h"
#include "tty.h"
#include "spawn.h"
#include "netcfg.h"
#include "sock.h"
#include "ipc.h"
#include "lazy.h"
#include "image_lazy.h"
#include "validate.h"
#include "arch.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A private network is configured again before any task or socket exists,
 * and its traffic held until the tasks run again: held from before the
 * veth leads there, or an outside peer's segment (a host client's of a
 * published port) would meet the reset of a namespace without sockets. */
static int restore_net(struct restore_ctx *ctx)
{
	const struct cr_net_ops *ops = ctx->req->net_ops;
	int r;

	if (!ctx->net.private_ns)
		return 0;
	if (!ops)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, "the container's network", "a private network can't be set up here");
	if (ctx->net.addr) {    /* without a veth no peer is outside */
		r = ops->hold(ops->arg, ctx->req->init_pid, true, ctx->err);
		if (r < 0)
			return r;
		ctx->net_held = true;
	}
	return ops->setup(ops->arg, ctx->req->init_pid, &ctx->net, ctx->err);
}

/* Host ids (the worker's view) as the container's user namespace sees
 * them; false if one is not of it. No user namespace: unchanged. */
static bool restore_ids_inside(const struct restore_ctx *ctx, uint32_t *uid, uint32_t *gid)
{
	const struct cr_contain *k = ctx->req->contain;

	if (!k || !k->userns)
		return true;
	if (*uid < k->userns_base || *uid - k->userns_base >= k->userns_count || *gid < k->userns_base ||
	    *gid - k->userns_base >= k->userns_count)
		return false;
	*uid -= k->userns_base;
	*gid -= k->userns_base;
	return true;
}

/* The container's namespaces, set up by its init before the first task is
 * born into them: the hostname, and clocks that continue from where they
 * were when the container was frozen. An image without them gets the
 * container's name and the host's clocks. Then the SysV semaphore sets of
 * its IPC namespace. */
static int restore_ns(struct restore_ctx *ctx, const Ckpt__Img__Header *h)
{
	struct cr_ns_config cfg = { 0 };
	const char *why = validate_header_ns(h);
	int r;

	if (why)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "header: %s", why);
	snprintf(cfg.nodename, sizeof(cfg.nodename), "%s", h->uts_nodename ? h->uts_nodename : ctx->req->name);
	snprintf(cfg.domainname, sizeof(cfg.domainname), "%s", h->uts_domainname ? h->uts_domainname : "(none)");
	cfg.has_clocks = h->has_clock_monotonic_ns;
	cfg.monotonic_ns = h->clock_monotonic_ns;
	cfg.boottime_ns = h->clock_boottime_ns;
	netcfg_from_image(h->net, &ctx->net);
	cfg.net_private = ctx->net.private_ns;
	r = spawn_ns_setup(ctx->req->init_ctl_fd, &cfg);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "setting up the container's hostname, clocks and network namespace in its init");
	r = restore_net(ctx);
	if (r < 0)
		return r;
	r = cr_enter_netns(ctx->req->init_pid, ctx->err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < h->n_sysv_sems; i++) {
		const Ckpt__Img__SysvSem *m = h->sysv_sems[i];
		static struct cr_sem_set set;
		char obj[96];

		set = (struct cr_sem_set){ .key = m->key, .id = m->id, .mode = m->mode, .uid = m->uid,
					   .gid = m->gid, .nsems = m->n_values };
		snprintf(obj, sizeof(obj), "SysV semaphore set key %#x (semid %d)", (unsigned)m->key, m->id);
		/* saved as the host sees them; init sets them inside the container's user namespace */
		if (!restore_ids_inside(ctx, &set.uid, &set.gid))
			return cr_fail_obj(ctx->err, CR_ERR_BAD_IMAGE, 0, obj, "its owner %u:%u is not of the container's user namespace",
					   m->uid, m->gid);
		for (size_t k = 0; k < m->n_values; k++)
			set.values[k] = m->values[k];
		r = spawn_sem_create(ctx->req->init_ctl_fd, &set);
		if (r < 0) {
			return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "creating it again in the container's IPC namespace");
		}
	}
	r = ipc_restore_ns(ctx, h);
	if (r < 0)
		return r;
	ctx->t_phase[RP_NS] = cr_now_us();
	return cr_phase(ctx->req->phase, ctx->req->phase_arg, "namespaces-set-up", ctx->err);
}

/* run --memory/--pids/--cpus, on the restart's new cgroups before any task
 * exists: init is in them, so every task it creates is too. */
static int restore_limits(struct restore_ctx *ctx, const Ckpt__Img__Header *h)
{
	struct cg_limits l = {
		.memory = h->has_limit_memory ? h->limit_memory : 0,
		.pids = h->has_limit_pids ? h->limit_pids : 0,
		.cpus_milli = h->has_limit_cpus_milli ? h->limit_cpus_milli : 0,
	};
	char why[512];
	const char *bad;
	int r;

	if ((h->has_limit_memory && !l.memory) || (h->has_limit_pids && !l.pids) ||
	    (h->has_limit_cpus_milli && !l.cpus_milli))
		return cr_fail_obj(ctx->err, CR_ERR_BAD_IMAGE, 0, "the container's limits", "a limit of 0");
	bad = cg_limits_check(&l, why, sizeof(why));
	if (bad)
		return cr_fail_obj(ctx->err, CR_ERR_BAD_IMAGE, 0, "the container's limits", "%s", bad);
	if (!cg_limits_any(&l))
		return 0;
	r = cg_limits_apply(ctx->req->name, ctx->req->cgroup, &l, ctx->req->init_pid, why, sizeof(why));
	if (r < 0)
		return cr_fail_obj(ctx->err, r == -EOPNOTSUPP ? CR_ERR_UNSUPPORTED : CR_ERR_IO, -r,
				   "the container's limits", "%s", why);
	ctx->limits = l;
	return 0;
}

static int check_header(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__Header *h;
	const char *why;
	char buf[600];
	uint64_t xf;
	uint32_t xs;
	int r;

	if (ctx->hdr)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "a second header record");
	h = ctx->hdr = image_unpack(&ctx->rd, &ckpt__img__header__descriptor, payload, len);
	if (!h)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "header: %s", ctx->rd.error);
	/* the plan checked the rest of the header; what remains is this machine's */
	if (sysconf(_SC_PAGESIZE) != (long)PAGE_SZ)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image is for %s with %u-byte pages", h->arch, h->page_size);
	if (arch_xstate_info(&xf, &xs) < 0)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "this CPU has no XSAVE");
	ctx->xfeatures = xf;
	if (h->xfeatures & ~xf)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "image needs CPU state features %#lx, this machine has %#lx",
			       (unsigned long)h->xfeatures, (unsigned long)xf);
	if (ctx->req->contain && (why = contain_check_header(h, ctx->req->contain, buf, sizeof(buf))))
		return cr_fail_obj(ctx->err, CR_ERR_BAD_IMAGE, 0, "the container's privileges", "%s", why);
	r = restore_limits(ctx, h);
	if (r >= 0)
		r = tty_restore_header(ctx, h);
	if (r >= 0)
		r = incr_chain_open(ctx);
	return r < 0 ? r : restore_ns(ctx, h);
}

int restore_pool_add(struct restore_ctx *ctx, int fd)
{
	if (ctx->npool >= SPAWN_MAX_POOL) {
		close(fd);
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "more than %u open files and shared memory objects", SPAWN_MAX_POOL);
	}
	if (ctx->npool == ctx->pool_cap) {
		size_t cap = ctx->pool_cap ? ctx->pool_cap * 2 : 64;
		int *v = realloc(ctx->pool, cap * sizeof(int));

		if (!v) {
			close(fd);
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "file pool");
		}
		ctx->pool = v;
		ctx->pool_cap = cap;
	}
	ctx->pool[ctx->npool] = fd;
	return (int)ctx->npool++;
}

/* A TASK record starts the next live process of the tree; the one before
 * it is complete then (its children may be forked from it). */
static int on_task(struct restore_ctx *ctx, const void *payload, size_t len)
{
	struct rproc *p;

	if (!ctx->tree)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task record before the tree");
	if (ctx->cur && !ctx->cur->mm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: no mm record", ctx->cur->tt->pid);
	if (ctx->cur)
		ctx->cur->mm_done = true;
	while (ctx->next < ctx->nprocs && ctx->procs[ctx->next].tt->zombie)
		ctx->next++;
	if (ctx->next >= ctx->nprocs)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "more task records than live processes in the tree");
	p = ctx->cur = &ctx->procs[ctx->next++];
	cr_error_scope(ctx->err, p->tt->pid, 0);
	p->task = image_unpack(&ctx->rd, &ckpt__img__task__descriptor, payload, len);
	if (!p->task)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task record: %s", ctx->rd.error);
	return task_restore_check(ctx, p->task);
}

static int on_pages(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm, const void *p, size_t len)
{
	if (ctx->tree)
		return mm_restore_pages(ctx, pm, p, len);
	if (ipc_restore_has_pages(ctx))
		return ipc_restore_pages(ctx, pm, p, len);
	if (!ctx->cur_shm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pages before any shared memory object or task");
	return shm_restore_pages(ctx, pm, p, len);
}

static int on_drop(struct restore_ctx *ctx, const void *p, size_t len)
{
	Ckpt__Img__Pagemap *pm = image_unpack(&ctx->rd, &ckpt__img__pagemap__descriptor, p, len);
	int r;

	if (!pm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "drop: %s", ctx->rd.error);
	r = mm_restore_drop(ctx, pm);
	protobuf_c_message_free_unpacked(&pm->base, NULL);
	return r;
}

static int on_parent_ref(struct restore_ctx *ctx, const void *p, size_t len)
{
	Ckpt__Img__Pagemap *pm = image_unpack(&ctx->rd, &ckpt__img__pagemap__descriptor, p, len);
	int r;

	if (!pm)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "parent-ref: %s", ctx->rd.error);
	r = mm_restore_parent_ref(ctx, pm);
	protobuf_c_message_free_unpacked(&pm->base, NULL);
	return r;
}

/* Records that only come before the tree (shared objects) or after it. */
static bool in_order(const struct restore_ctx *ctx, uint32_t type)
{
	switch (type) {
	case IMG_HEADER:
		return true;
	case IMG_FILE:
	case IMG_PIPE:
	case IMG_SHM:
	case IMG_GHOST:
	case IMG_SYSV_SHM:
	case IMG_TREE:
		return ctx->hdr && !ctx->tree;
	case IMG_PAGEMAP:
	case IMG_PAGES:
		return ctx->hdr != NULL;
	default:
		return ctx->tree != NULL;
	}
}

/* Dispatch one record; pm holds a PAGEMAP until its PAGES arrive. */
static int on_record(struct restore_ctx *ctx, uint32_t type, const void *p, size_t len, Ckpt__Img__Pagemap **pm)
{
	int r;

	if ((*pm != NULL) != (type == IMG_PAGES))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pagemap and pages records out of pairs");
	/* anything but more pages may act on what the pages before made */
	if (type != IMG_PAGEMAP && type != IMG_PAGES && (r = mm_restore_pages_flush(ctx)) < 0)
		return r;
	if (!in_order(ctx, type))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "%s record out of order", image_rec_type_name(type));
	if (type != IMG_SHM && type != IMG_GHOST && type != IMG_PAGEMAP && type != IMG_PAGES)
		ctx->cur_shm = NULL;
	if (type != IMG_PAGEMAP && type != IMG_PAGES)
		ipc_restore_end_pages(ctx);
	switch (type) {
	case IMG_HEADER:
		return check_header(ctx, p, len);
	case IMG_FILE:
		return files_restore_file(ctx, p, len);
	case IMG_PIPE:
		return pipe_restore(ctx, p, len);
	case IMG_SHM:
		return shm_restore(ctx, p, len);
	case IMG_GHOST:
		return ghost_restore(ctx, p, len);
	case IMG_SYSV_SHM:
		return ipc_restore_shm(ctx, p, len);
	case IMG_TREE:
		return tree_restore(ctx, p, len);
	case IMG_TASK:
		return on_task(ctx, p, len);
	case IMG_FDS:
		return files_restore_fds(ctx, p, len);
	case IMG_THREAD:
		return thread_restore_record(ctx, p, len);
	case IMG_MM:
		return mm_restore_layout(ctx, p, len);
	case IMG_DROP:
		return on_drop(ctx, p, len);
	case IMG_PARENT_REF:
		return on_parent_ref(ctx, p, len);
	case IMG_PAGEMAP:
		*pm = image_unpack(&ctx->rd, &ckpt__img__pagemap__descriptor, p, len);
		if (!*pm)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pagemap: %s", ctx->rd.error);
		if (lazy_restore_wants(ctx, *pm))
			image_reader_skip_next(&ctx->rd);   /* its pages stay in the file */
		return 0;
	case IMG_PAGES:
		r = p ? on_pages(ctx, *pm, p, len) : lazy_restore_add(ctx, *pm, len);
		protobuf_c_message_free_unpacked(&(*pm)->base, NULL);
		*pm = NULL;
		/* a page count that crossed a 64 MiB mark; a lazy record adds
		 * none (ctx->pages stays), and would say it once per record */
		if (p && ctx->req->progress && (ctx->pages & 0x3fff) < len / PAGE_SZ)
			ctx->req->progress(ctx->req->progress_arg, "memory", ctx->pages, 0);
		return r;
	default:
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "unexpected %s record", image_rec_type_name(type));
	}
}

static int stream_fail(struct restore_ctx *ctx, int r)
{
	if (ctx->lazy && r == -EPROTO)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, "the image", "%s: made before per-record page MACs: "
				   "restart without --lazy", ctx->rd.error);
	return cr_fail(ctx->err, r == -EBADMSG || r == -EPROTO || r == -EFBIG || r == -ENODATA || r == -EKEYREJECTED ?
		       CR_ERR_BAD_IMAGE : CR_ERR_IO, 0, "image: %s", ctx->rd.error);
}

/* HEADER .. META_END, held and checked: nothing has been done yet. */
static int read_plan(struct restore_ctx *ctx, struct restart_plan *pl)
{
	const void *payload;
	uint32_t type;
	size_t len;
	int r;

	while (!pl->ended) {
		r = image_read_record(&ctx->rd, &type, &payload, &len);
		if (r == 0)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: the tail before the end of the metadata");
		if (r < 0)
			return stream_fail(ctx, r);
		r = plan_add(pl, type, payload, len);
		if (r < 0)
			return cr_fail(ctx->err, r == -ENOMEM ? CR_ERR_INTERNAL : CR_ERR_BAD_IMAGE, 0, "image: %s", pl->error);
	}
	/* authenticated before it is checked or acted on */
	r = image_read_mac(&ctx->rd);
	if (r < 0)
		return stream_fail(ctx, r);
	r = plan_check(pl);
	return r < 0 ? cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: %s", pl->error) : 0;
}

/* Where the page part of the stream is: the marker of the next segment
 * (read when the segment before ended), or the tail. */
struct seg_cursor {
	void *next;                   /* the next SEGMENT's payload, or NULL */
	size_t next_len;
	bool tail;
};

/* The next record of the page part; 0 at the tail. */
static int next_page_rec(struct restore_ctx *ctx, struct seg_cursor *sc, uint32_t *type, const void **p, size_t *len)
{
	int r = image_read_record(&ctx->rd, type, p, len);

	if (r < 0)
		return stream_fail(ctx, r);
	if (r == 0)
		sc->tail = true;
	return r;
}

/* The records of one segment or lazy part after its marker: PAGEMAP/PAGES
 * pairs and DROPs up to the next marker (kept in sc) or the tail, handed
 * to today's handlers. */
static int read_part(struct restore_ctx *ctx, struct seg_cursor *sc)
{
	Ckpt__Img__Pagemap *pm = NULL;
	const void *p;
	uint32_t type;
	size_t len;
	int r;

	for (;;) {
		r = next_page_rec(ctx, sc, &type, &p, &len);
		if (r <= 0)
			break;
		if (type == IMG_SEGMENT) {
			sc->next = malloc(len ? len : 1);
			if (!sc->next) {
				r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "segment marker");
				break;
			}
			memcpy(sc->next, p, len);
			sc->next_len = len;
			break;
		}
		if (type != IMG_PAGEMAP && type != IMG_PAGES && type != IMG_DROP && type != IMG_PARENT_REF) {
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: a %s record among the pages", image_rec_type_name(type));
			break;
		}
		r = on_record(ctx, type, p, len, &pm);
		if (r < 0)
			break;
	}
	if (pm) {
		protobuf_c_message_free_unpacked(&pm->base, NULL);
		if (r >= 0)
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "pagemap and pages records out of pairs");
	}
	/* the part's pages are in before what follows acts on its task */
	if (r >= 0)
		r = mm_restore_pages_flush(ctx);
	return r < 0 ? r : 0;
}

/* Placeholder rec stands where its pages go: read them from the stream
 * (its marker, then the rest of the segment). */
static int read_segment(struct restore_ctx *ctx, struct seg_cursor *sc, const struct plan_rec *rec)
{
	const void *p;
	uint32_t type;
	size_t len;
	int r;

	if (!sc->next && !sc->tail) {
		r = next_page_rec(ctx, sc, &type, &p, &len);
		if (r > 0 && type != IMG_SEGMENT)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: a %s record before the first segment marker",
				       image_rec_type_name(type));
		if (r > 0 && !(sc->next = malloc(len ? len : 1)))
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "segment marker");
		if (r > 0) {
			memcpy(sc->next, p, len);
			sc->next_len = len;
		}
		if (r < 0)
			return r;
	}
	if (!sc->next || sc->next_len != rec->len || memcmp(sc->next, rec->payload, rec->len) != 0)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: the pages do not follow the segments of the metadata");
	free(sc->next);
	sc->next = NULL;
	return read_part(ctx, sc);
}

/* The tasks' lazy parts after the segments (image.h), index the first
 * one's: each read into its task as a segment is, unless a lazy restart
 * from a stream stops at the first and leaves the rest to its filler. */
static int read_lazy_parts(struct restore_ctx *ctx, struct seg_cursor *sc, uint32_t index)
{
	struct rproc *cur = ctx->cur;
	pid_t *pids = calloc(ctx->nprocs + 1, sizeof(*pids));
	ssize_t k = -1;
	int r = 0;

	if (!pids)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lazy parts");
	for (size_t i = 0; i < ctx->nprocs; i++)
		pids[i] = lazy_part_pid(&ctx->procs[i]);
	while (r >= 0 && sc->next) {
		Ckpt__Img__Segment *s = plan_segment_unpack(sc->next, sc->next_len);

		k = s ? lazy_part_owner(s, index, pids, ctx->nprocs, k) : -1;
		if (s)
			protobuf_c_message_free_unpacked(&s->base, NULL);
		if (k < 0) {
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: a segment marker after the segments that is not the "
				    "lazy part of a later task");
			break;
		}
		free(sc->next);
		sc->next = NULL;
		index++;
		ctx->cur = &ctx->procs[k];
		cr_error_scope(ctx->err, ctx->cur->tt->pid, 0);
		/* from a stream the reader stops here: the rest is the filler's */
		r = lazy_restore_stop(ctx, (size_t)k, index);
		if (r > 0)
			break;
		if (r >= 0)
			r = read_part(ctx, sc);
	}
	ctx->cur = cur;
	cr_error_scope(ctx->err, cur ? cur->tt->pid : 0, 0);
	free(pids);
	return r < 0 ? r : 0;
}

/* Replay the checked metadata through the handlers, in image order. */
static int replay(struct restore_ctx *ctx, const struct restart_plan *pl)
{
	struct seg_cursor sc = { 0 };
	Ckpt__Img__Pagemap *pm = NULL;
	int r = files_defer_scan(ctx, pl);
	uint32_t nsegs = 0;

	ctx->plan = pl;
	if (r >= 0)
		r = lazy_restore_begin(ctx);
	for (size_t i = 0; i < pl->nrecs && r >= 0; i++) {
		const struct plan_rec *rec = &pl->recs[i];

		if (rec->type == IMG_SEGMENT) {
			r = read_segment(ctx, &sc, rec);
			nsegs++;
		} else if (rec->type != IMG_META_END)
			r = on_record(ctx, rec->type, rec->payload, rec->len, &pm);
	}
	if (r >= 0)
		r = read_lazy_parts(ctx, &sc, nsegs);
	/* stopped at the lazy pages: the filler reads the rest, and the tail */
	if (r >= 0 && !lazy_restore_stopped(ctx) && (sc.next || !sc.tail)) {
		const void *p;
		uint32_t type;
		size_t len;

		r = sc.next || sc.tail ? 1 : next_page_rec(ctx, &sc, &type, &p, &len);
		if (r > 0)
			r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image: more pages than the metadata has segments");
	}
	free(sc.next);
	ctx->plan = NULL;
	return r;
}

static int read_image(struct restore_ctx *ctx)
{
	struct restart_plan pl;
	int r;

	plan_init(&pl);
	r = read_plan(ctx, &pl);
	ctx->t_phase[RP_PLAN] = cr_now_us();
	if (r >= 0)
		r = replay(ctx, &pl);
	ctx->t_phase[RP_MEMORY] = cr_now_us();
	plan_free(&pl);
	if (r >= 0 && (!ctx->tree || !ctx->cur || !ctx->cur->mm))
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image ends without a complete task");
	if (r >= 0)
		ctx->cur->mm_done = true;
	while (r >= 0 && ctx->next < ctx->nprocs && ctx->procs[ctx->next].tt->zombie)
		ctx->next++;
	if (r >= 0 && ctx->next != ctx->nprocs)
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "image ends before task %d", ctx->procs[ctx->next].tt->pid);
	return r;
}

/* The image is complete: each process's own state, then zombies (forked
 * from their finished parents), groups, pending signals, and the
 * registers last. */
static int finish(struct restore_ctx *ctx)
{
	size_t i;
	int r;

	r = files_defer_deliver(ctx);
	for (i = 0; i < ctx->nprocs && r >= 0; i++)
		if (!ctx->procs[i].tt->zombie)
			r = task_restore_finish(ctx, &ctx->procs[i]);
	if (r >= 0)
		r = proc_restore_group_helpers(ctx);
	if (r >= 0)
		r = proc_restore_zombies(ctx);
	if (r >= 0)
		r = proc_restore_groups(ctx);
	if (r >= 0)
		r = tty_restore_finish(ctx);
	if (r >= 0)
		r = proc_restore_end_helpers(ctx);
	if (r >= 0)
		r = files_restore_late(ctx);
	if (r >= 0)
		r = sock_unix_restore_finish(ctx);
	if (r >= 0)
		r = inotify_restore_drain(ctx);
	if (r >= 0)
		r = fanotify_restore_drain(ctx);
	/* the last forks are done; from here on the filler answers every
	 * fault in lazy memory, the restorer's own included */
	ctx->t_phase[RP_FINISH] = cr_now_us();
	if (r >= 0)
		r = lazy_restore_start(ctx);
	ctx->t_phase[RP_LAZY] = cr_now_us();
	for (i = 0; i < ctx->nprocs && r >= 0; i++)
		if (!ctx->procs[i].tt->zombie)
			r = task_restore_release(ctx, &ctx->procs[i]);
	if (r >= 0)
		r = shm_restore_seal(ctx, true);
	if (r >= 0)
		r = ipc_restore_finish(ctx);
	if (r >= 0 && (r = spawn_pool_drop(ctx->req->init_ctl_fd)) < 0)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "init: dropping the file pool");
	/* every socket exists: restored connections may speak again */
	if (r >= 0)
		r = sock_tcp_restore_close(ctx);
	if (r >= 0)
		sock_tcp_restore_end(ctx, true);
	if (r >= 0)
		r = cr_phase(ctx->req->phase, ctx->req->phase_arg, "before-resume", ctx->err);
	for (i = 0; i < ctx->nprocs && r >= 0; i++)
		if (!ctx->procs[i].tt->zombie)
			r = task_restore_hand_off(ctx, &ctx->procs[i]);
	ctx->t_phase[RP_RELEASED] = cr_now_us();
	return r;
}

static void detach(pid_t tid, bool in_call)
{
	if (in_call)
		sleep_release(tid);
	else if (ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0)
		log_error("task %d: PTRACE_DETACH: %m", tid);
}

static void free_proc(struct rproc *p, bool ok)
{
	size_t i;

	if (!ok && p->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
	if (ok) {
		for (i = 0; i < p->ntrt; i++)
			detach(p->trt[i].pid, p->trt[i].in_call);
		if (p->seized)
			detach(p->host_pid, p->rt.in_call);
	}
	if (p->pidfd >= 0)
		close(p->pidfd);
	for (i = 0; i < p->nthreads; i++)
		protobuf_c_message_free_unpacked(&p->threads[i]->base, NULL);
	free(p->threads);
	free(p->trt);
	free(p->stale_fds);
	free(p->locks);
	free(p->owners);
	free(p->map_slots);
	if (p->task)
		protobuf_c_message_free_unpacked(&p->task->base, NULL);
	if (p->mm)
		protobuf_c_message_free_unpacked(&p->mm->base, NULL);
}

static void free_obj(uint32_t type, void *obj)
{
	struct restore_obj *o = obj;

	(void)type;
	for (int i = 0; i < 2; i++)
		if (o->pipe[i] >= 0)
			close(o->pipe[i]);
	if (o->deferred && o->dfd >= 0)
		close(o->dfd);
	free(o->rec);
	free(o->proc_path);
	free(o->ghost_path);
	free(o);
}

static const char *const restore_phase_names[RESTORE_PHASES] = {
	[RP_PLAN] = "plan", [RP_NS] = "namespaces", [RP_MEMORY] = "tasks+memory", [RP_FINISH] = "finish",
	[RP_LAZY] = "lazy", [RP_RELEASED] = "released", [RP_CLEANUP] = "cleanup",
};

/* Where a restart's time went, phase by phase from t0 (those it reached). */
static void log_phases(const struct restore_ctx *ctx, uint64_t t0)
{
	char buf[256];
	size_t n = 0;
	uint64_t prev = t0;

	for (int i = 0; i < RESTORE_PHASES && n < sizeof(buf); i++) {
		if (!ctx->t_phase[i])
			continue;
		n += snprintf(buf + n, sizeof(buf) - n, " %s %" PRIu64, restore_phase_names[i], ctx->t_phase[i] - prev);
		prev = ctx->t_phase[i];
	}
	log_info("restart %s: us by phase:%s", ctx->req->name ? ctx->req->name : "-", buf);
}

static void restart_cleanup(struct restore_ctx *ctx, bool ok)
{
	size_t i;

	mm_restore_pages_free(ctx);
	for (i = 0; i < ctx->nprocs; i++)
		free_proc(&ctx->procs[i], ok);
	for (i = 0; i < ctx->nhelpers; i++)
		free_proc(&ctx->helpers[i], ok);
	free(ctx->procs);
	free(ctx->helpers);
	free(ctx->helper_tt);
	for (i = 0; i < ctx->npool; i++)
		close(ctx->pool[i]);
	free(ctx->pool);
	free(ctx->late);
	mm_restore_files_free(ctx);
	sock_unix_restore_done(ctx);
	sock_tcp_restore_end(ctx, false);
	files_defer_free(ctx);
	tty_restore_done(ctx);
	ipc_restore_free(ctx);
	incr_chain_free(ctx);
	lazy_restore_free(ctx, ok);
	objhash_free(ctx->objs);
	if (ctx->tree)
		protobuf_c_message_free_unpacked(&ctx->tree->base, NULL);
	if (ctx->hdr)
		protobuf_c_message_free_unpacked(&ctx->hdr->base, NULL);
	image_reader_free(&ctx->rd);
}

int cr_restart(const struct cr_restart_req *req, struct cr_restart_stats *ret_stats, struct cr_error *err)
{
	struct restore_ctx ctx = { .req = req, .err = err };
	uint64_t t0 = cr_now_us();
	int r;

	image_reader_init(&ctx.rd, req->image_fd);
	cr_tune_stream(req->image_fd);
	/* Paths are resolved in the container's mount namespace through
	 * /proc/INIT/root (cr_task_path); the worker itself stays outside. */
	ctx.objs = objhash_new(free_obj);
	r = ctx.objs ? 0 : cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "object table");
	if (r >= 0 && req->deadline_ms && (r = image_io_set_deadline(&ctx.rd.io, req->image_fd, false, req->deadline_ms)) < 0)
		r = cr_fail(err, CR_ERR_IO, -r, "preparing the image stream");
	/* an image is root's code and data: only ours or a trusted key's */
	if (r >= 0 && !req->trust_image && (r = image_reader_verify(&ctx.rd, req->keys, req->nkeys)) < 0)
		r = cr_fail(err, CR_ERR_INTERNAL, -r, "the image's MAC keys");
	if (r >= 0)
		r = read_image(&ctx);
	/* the last record's task is not the one later failures concern */
	cr_error_scope(err, 0, 0);
	if (r >= 0)
		r = finish(&ctx);
	if (r >= 0 && ctx.net_held)
		r = req->net_ops->hold(req->net_ops->arg, req->init_pid, false, err);
	if (r >= 0 && ret_stats)
		*ret_stats = (struct cr_restart_stats){
			.total_us = cr_now_us() - t0, .image_bytes = ctx.rd.offset, .pages = ctx.pages,
			.root_pid = ctx.procs[0].tt->pid, .root_host_pid = ctx.procs[0].host_pid,
			.net = ctx.net, .limits = ctx.limits,
		};
	if (r >= 0 && ret_stats && lazy_restore_take(&ctx, &ret_stats->lazy_fds, &ret_stats->nlazy_fds,
						     &ret_stats->lazy_bytes) < 0)
		r = cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "lazy restart");
	restart_cleanup(&ctx, r >= 0);
	ctx.t_phase[RP_CLEANUP] = cr_now_us();
	if (r >= 0)
		log_phases(&ctx, t0);
	/* an abort now fails the restart: the caller kills what runs */
	if (r >= 0)
		r = cr_phase(req->phase, req->phase_arg, "resumed", err);
	if (r < 0 && ret_stats && ret_stats->lazy_fds) {
		/* the tasks may run: the filler keeps serving them until ckptd
		 * has killed them all, then exits as every space is gone */
		for (size_t i = 0; i < ret_stats->nlazy_fds; i++)
			close(ret_stats->lazy_fds[i]);
		free(ret_stats->lazy_fds);
		ret_stats->lazy_fds = NULL;
		ret_stats->nlazy_fds = 0;
	}
	return r < 0 ? r : 0;
}
