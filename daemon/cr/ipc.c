// SPDX-License-Identifier: GPL-2.0-or-later
/* SysV shared memory segments and message queues and POSIX message queues
 * of the container's IPC namespace.
 *
 * Checkpoint reads them from inside that namespace while the container is
 * frozen: a segment's pages through a read-only attach of our own, a
 * queue's messages with msgrcv(MSG_COPY), which leaves them queued, a POSIX
 * queue's by receiving them all and sending them back in the same order
 * (nothing of the container runs meanwhile). Restart enters the new
 * container's IPC namespace and creates each at its old id (the next_id
 * sysctls) or name, with its owner, mode and contents; tasks attach the
 * segments again, and a segment removed while attached is removed again
 * once they have. */
#include "restore.h"
#include "ipc.h"
#include "sem_undo.h"
#include "contain.h"
#include "validate.h"
#include "log.h"
#include "macro.h"
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/msg.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

const char *const ipc_sysctl_names[IPC_NSYSCTLS] = {
	"kernel/shmmax", "kernel/shmall", "kernel/shmmni", "kernel/shm_rmid_forced",
	"kernel/msgmax", "kernel/msgmnb", "kernel/msgmni", "kernel/sem",
	"fs/mqueue/msg_max", "fs/mqueue/msgsize_max", "fs/mqueue/queues_max",
	"fs/mqueue/msg_default", "fs/mqueue/msgsize_default",
};

/* ---- checkpoint ---- */

/* These files answer for the reader's IPC namespace. */
static int read_sysctls(struct cr_error *err, struct ns_ipc *ipc)
{
	char path[96], buf[IPC_SYSCTL_VALUE_MAX + 2];
	size_t i;

	for (i = 0; i < IPC_NSYSCTLS; i++) {
		_cleanup_close_ int fd = -1;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/sys/%s", ipc_sysctl_names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (n < 0)
			return cr_fail(err, CR_ERR_KERNEL, errno, "reading %s of the container's IPC namespace", path);
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		buf[n] = 0;
		if (asprintf(&ipc->sysctls[i], "%s=%s", ipc_sysctl_names[i], buf) < 0)
			return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "IPC limits");
		ipc->nsysctls = i + 1;
	}
	return 0;
}

/* The ids of a /proc/sysvipc file ("key id ..." lines after a header), as
 * the reader's IPC namespace has them. */
static int sysvipc_ids(const char *name, int **ret, size_t *ret_n, size_t max)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ int *ids = NULL;
	char path[64], line[512];
	size_t n = 0;
	int key, id;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		return -EPROTO;
	ids = calloc(max + 1, sizeof(int));
	if (!ids)
		return -ENOMEM;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %d", &key, &id) != 2)
			return -EPROTO;
		if (n > max)
			return -E2BIG;
		ids[n++] = id;
	}
	*ret = TAKE_PTR(ids);
	*ret_n = n;
	return 0;
}

/* A read-only attach of our own gives the segment's file (its pages, with
 * holes where none were touched); the attach is gone before we return. */
static int shm_open_pages(int id, uint64_t size, bool writable, int *ret_fd, bool *ret_huge)
{
	char path[96];
	struct statfs sfs;
	void *a = shmat(id, NULL, writable ? 0 : SHM_RDONLY);
	int fd;

	if (a == (void *)-1)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)a,
		 (unsigned long)a + (unsigned long)ALIGN_UP(size, PAGE_SZ));
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	fd = fd < 0 ? -errno : fd;
	shmdt(a);
	if (fd < 0)
		return fd;
	if (fstatfs(fd, &sfs) < 0) {
		close(fd);
		return -errno;
	}
	*ret_huge = sfs.f_type == HUGETLBFS_MAGIC;
	*ret_fd = fd;
	return 0;
}

static int read_shms(struct cr_error *err, struct ns_ipc *ipc)
{
	_cleanup_free_ int *ids = NULL;
	size_t n = 0, i;
	char obj[128];
	int r;

	r = sysvipc_ids("shm", &ids, &n, CR_MAX_SYSV_SHMS);
	if (r == -E2BIG)
		return cr_fail(err, CR_ERR_UNSUPPORTED, 0, "the container's IPC namespace: more than %d SysV shared memory segments",
			       CR_MAX_SYSV_SHMS);
	if (r < 0)
		return cr_fail(err, CR_ERR_KERNEL, -r, "reading /proc/sysvipc/shm of the container's IPC namespace");
	ipc->shms = calloc(n + 1, sizeof(*ipc->shms));
	if (!ipc->shms)
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "SysV shared memory segments");
	for (i = 0; i < n; i++) {
		struct ipc_shm *s = &ipc->shms[ipc->nshms];
		struct shmid_ds ds;
		bool huge = false;

		snprintf(obj, sizeof(obj), "SysV shared memory segment shmid %d", ids[i]);
		if (shmctl(ids[i], IPC_STAT, &ds) < 0)
			return cr_fail_obj(err, CR_ERR_KERNEL, errno, obj, "IPC_STAT");
		*s = (struct ipc_shm){ .key = ds.shm_perm.__key, .id = ids[i], .mode = ds.shm_perm.mode & 0777,
				       .uid = ds.shm_perm.uid, .gid = ds.shm_perm.gid, .size = ds.shm_segsz,
				       .removed = !!(ds.shm_perm.mode & SHM_DEST), .locked = !!(ds.shm_perm.mode & SHM_LOCKED),
				       .fd = -1 };
		snprintf(obj, sizeof(obj), "SysV shared memory segment key %#x (shmid %d, %lu bytes)", (unsigned)s->key, s->id,
			 (unsigned long)s->size);
		if (s->size == 0 || s->size > CR_SHM_MAX_SIZE)
			return cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "larger than %llu bytes", (unsigned long long)CR_SHM_MAX_SIZE);
		r = shm_open_pages(s->id, s->size, false, &s->fd, &huge);
		if (r < 0)
			return cr_fail_obj(err, CR_ERR_KERNEL, -r, obj, "attaching it to read its pages");
		ipc->nshms++;
		if (huge)
			return cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "SHM_HUGETLB segments are not saved");
	}
	return 0;
}

static int msq_add_msg(Ckpt__Img__SysvMsq *q, long mtype, const void *text, size_t len)
{
	Ckpt__Img__SysvMsg *m = malloc(sizeof(*m));
	void *d = malloc(len + 1);

	if (!m || !d) {
		free(m);
		free(d);
		return -ENOMEM;
	}
	ckpt__img__sysv_msg__init(m);
	memcpy(d, text, len);
	m->mtype = mtype;
	m->text.data = d;
	m->text.len = len;
	q->msgs[q->n_msgs++] = m;
	return 0;
}

/* Every message by its position: MSG_COPY copies, the queue keeps it. */
static int msq_read_msgs(struct cr_error *err, struct ns_ipc *ipc, Ckpt__Img__SysvMsq *q, const struct msqid_ds *ds,
			 const char *obj)
{
	_cleanup_free_ struct { long mtype; char text[]; } *buf = NULL;
	size_t cap = ds->__msg_cbytes + 1, i;
	ssize_t n;

	if (ipc->nmsgs + ds->msg_qnum > CR_IPC_MAX_MSGS || ipc->msg_bytes + ds->__msg_cbytes > CR_IPC_MAX_MSG_BYTES)
		return cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "the container's queues hold more than %u messages or %u bytes",
				   CR_IPC_MAX_MSGS, CR_IPC_MAX_MSG_BYTES);
	buf = malloc(sizeof(*buf) + cap);
	q->msgs = calloc(ds->msg_qnum + 1, sizeof(*q->msgs));
	if (!buf || !q->msgs)
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "SysV messages");
	for (i = 0; i < ds->msg_qnum; i++) {
		n = msgrcv(q->id, buf, cap, i, IPC_NOWAIT | MSG_COPY);
		if (n < 0)
			return cr_fail_obj(err, CR_ERR_KERNEL, errno, obj, "copying message %zu (msgrcv MSG_COPY)", i);
		if (msq_add_msg(q, buf->mtype, buf->text, n) < 0)
			return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "SysV messages");
	}
	ipc->nmsgs += ds->msg_qnum;
	ipc->msg_bytes += ds->__msg_cbytes;
	return 0;
}

static int read_msqs(struct cr_error *err, struct ns_ipc *ipc)
{
	_cleanup_free_ int *ids = NULL;
	size_t n = 0, i;
	char obj[128];
	int r;

	r = sysvipc_ids("msg", &ids, &n, CR_MAX_MSQS);
	if (r == -E2BIG)
		return cr_fail(err, CR_ERR_UNSUPPORTED, 0, "the container's IPC namespace: more than %d SysV message queues", CR_MAX_MSQS);
	if (r < 0)
		return cr_fail(err, CR_ERR_KERNEL, -r, "reading /proc/sysvipc/msg of the container's IPC namespace");
	ipc->msqs = calloc(n + 1, sizeof(*ipc->msqs));
	if (!ipc->msqs)
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "SysV message queues");
	for (i = 0; i < n; i++) {
		Ckpt__Img__SysvMsq *q = calloc(1, sizeof(*q));
		struct msqid_ds ds;

		if (!q)
			return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "SysV message queues");
		ckpt__img__sysv_msq__init(q);
		ipc->msqs[ipc->nmsqs++] = q;
		snprintf(obj, sizeof(obj), "SysV message queue msqid %d", ids[i]);
		if (msgctl(ids[i], IPC_STAT, &ds) < 0)
			return cr_fail_obj(err, CR_ERR_KERNEL, errno, obj, "IPC_STAT");
		q->key = ds.msg_perm.__key;
		q->id = ids[i];
		q->mode = ds.msg_perm.mode & 0777;
		q->uid = ds.msg_perm.uid;
		q->gid = ds.msg_perm.gid;
		q->qbytes = ds.msg_qbytes;
		snprintf(obj, sizeof(obj), "SysV message queue key %#x (msqid %d, %lu messages)", (unsigned)q->key, q->id,
			 (unsigned long)ds.msg_qnum);
		r = msq_read_msgs(err, ipc, q, &ds, obj);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "QSIZE:n NOTIFY:n SIGNO:n NOTIFY_PID:n": who mq_notify()ed, if anyone. */
static int mq_notify_pid(int dfd, const char *name, int *ret)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	char buf[256];
	const char *p;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	p = strstr(buf, "NOTIFY_PID:");
	if (!p)
		return -EPROTO;
	*ret = atoi(p + 11);
	return 0;
}

static int mq_add_msg(Ckpt__Img__PosixMq *q, unsigned prio, const void *data, size_t len)
{
	Ckpt__Img__PosixMqMsg *m = malloc(sizeof(*m));
	void *d = malloc(len + 1);

	if (!m || !d) {
		free(m);
		free(d);
		return -ENOMEM;
	}
	ckpt__img__posix_mq_msg__init(m);
	memcpy(d, data, len);
	m->prio = prio;
	m->data.data = d;
	m->data.len = len;
	q->msgs[q->n_msgs++] = m;
	return 0;
}

/* Take every message out in receive order, then put them back in it: the
 * queue is as it was (nothing of the frozen container can run between). */
static int mq_read_msgs(struct cr_error *err, struct ns_ipc *ipc, Ckpt__Img__PosixMq *q, mqd_t mq,
			const struct mq_attr *at, const char *obj)
{
	_cleanup_free_ char *buf = malloc(at->mq_msgsize + 1);
	size_t i;
	int r = 0;

	q->msgs = calloc(at->mq_curmsgs + 1, sizeof(*q->msgs));
	if (!buf || !q->msgs)
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "POSIX messages");
	for (i = 0; i < (size_t)at->mq_curmsgs; i++) {
		unsigned prio;
		ssize_t n = mq_receive(mq, buf, at->mq_msgsize, &prio);

		if (n < 0) {
			r = cr_fail_obj(err, CR_ERR_KERNEL, errno, obj, "receiving message %zu", i);
			break;
		}
		if (mq_add_msg(q, prio, buf, n) < 0) {
			r = cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "POSIX messages");
			break;
		}
		ipc->msg_bytes += n;
	}
	for (i = 0; i < q->n_msgs; i++)
		if (mq_send(mq, (char *)q->msgs[i]->data.data, q->msgs[i]->data.len, q->msgs[i]->prio) < 0)
			return cr_fail_obj(err, CR_ERR_KERNEL, errno, obj, "sending message %zu back", i);
	ipc->nmsgs += q->n_msgs;
	return r;
}

static int read_mq(struct cr_error *err, struct ns_ipc *ipc, int dfd, const char *name)
{
	char obj[CR_MQ_NAME_MAX + 64], path[CR_MQ_NAME_MAX + 2];
	Ckpt__Img__PosixMq *q;
	struct mq_attr at;
	struct stat st;
	mqd_t mq;
	int pid = 0, r;

	snprintf(obj, sizeof(obj), "POSIX message queue /%s", name);
	if (ipc->nmqs >= CR_MAX_MQS)
		return cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "more than %d POSIX message queues", CR_MAX_MQS);
	q = calloc(1, sizeof(*q));
	if (!q)
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "POSIX message queues");
	ckpt__img__posix_mq__init(q);
	ipc->mqs[ipc->nmqs++] = q;
	q->name = strdup(name);
	if (!q->name)
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "POSIX message queues");
	r = mq_notify_pid(dfd, name, &pid);
	if (r < 0)
		return cr_fail_obj(err, CR_ERR_KERNEL, -r, obj, "reading its state");
	if (pid)
		return cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "an mq_notify() registration (by host pid %d) is not saved", pid);
	if (fstatat(dfd, name, &st, 0) < 0)
		return cr_fail_obj(err, CR_ERR_KERNEL, errno, obj, "stat");
	q->mode = st.st_mode & 07777;
	q->uid = st.st_uid;
	q->gid = st.st_gid;
	snprintf(path, sizeof(path), "/%s", name);
	mq = mq_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (mq < 0)
		return cr_fail_obj(err, CR_ERR_KERNEL, errno, obj, "opening it");
	if (mq_getattr(mq, &at) < 0) {
		r = cr_fail_obj(err, CR_ERR_KERNEL, errno, obj, "mq_getattr");
		goto out;
	}
	q->maxmsg = at.mq_maxmsg;
	q->msgsize = at.mq_msgsize;
	/* a full queue may have senders asleep in mq_send(): taking a message
	 * out would hand one of theirs in */
	if (at.mq_curmsgs >= at.mq_maxmsg) {
		r = cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "it is full (%ld messages): a sender may be waiting on it",
				(long)at.mq_curmsgs);
		goto out;
	}
	if ((uint64_t)ipc->nmsgs + at.mq_curmsgs > CR_IPC_MAX_MSGS) {
		r = cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "the container's queues hold more than %u messages",
				CR_IPC_MAX_MSGS);
		goto out;
	}
	r = mq_read_msgs(err, ipc, q, mq, &at, obj);
	if (r >= 0 && ipc->msg_bytes > CR_IPC_MAX_MSG_BYTES)
		r = cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, obj, "the container's queues hold more than %u bytes of messages",
				CR_IPC_MAX_MSG_BYTES);
out:
	mq_close(mq);
	return r;
}

/* The queues live in the IPC namespace's mqueue filesystem: a detached
 * mount of it (fsopen takes the caller's IPC namespace) lists them. */
static int read_mqs(struct cr_error *err, struct ns_ipc *ipc)
{
	_cleanup_close_ int fs = -1, mnt = -1;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int dfd, r;

	ipc->mqs = calloc(CR_MAX_MQS + 1, sizeof(*ipc->mqs));
	if (!ipc->mqs)
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "POSIX message queues");
	fs = syscall(SYS_fsopen, "mqueue", FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return cr_fail(err, CR_ERR_KERNEL, errno, "mounting the mqueue filesystem of the container's IPC namespace");
	mnt = syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		return cr_fail(err, CR_ERR_KERNEL, errno, "mounting the mqueue filesystem of the container's IPC namespace");
	dfd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && fstat(dfd, &st) == 0)
		ipc->mq_dev = st.st_dev;
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return cr_fail(err, CR_ERR_KERNEL, errno, "listing the POSIX message queues of the container");
	}
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		r = read_mq(err, ipc, dirfd(d), de->d_name);
		if (r < 0)
			return r;
	}
	return 0;
}

/* kernel.shm_rmid_forced removes a segment nobody attaches when its
 * creator exits: restart's creator is its worker, which exits at once. */
static int check_rmid_forced(struct cr_error *err, const struct ns_ipc *ipc)
{
	for (size_t i = 0; i < ipc->nsysctls; i++)
		if (streq(ipc->sysctls[i], "kernel/shm_rmid_forced=1") && ipc->nshms)
			return cr_fail_obj(err, CR_ERR_UNSUPPORTED, 0, "the container's IPC namespace",
					   "kernel.shm_rmid_forced is set while it holds SysV shared memory segments: "
					   "they would not survive the restart's own process");
	return 0;
}

int ipc_read(struct cr_error *err, struct ns_ipc *ipc)
{
	int r = read_sysctls(err, ipc);

	if (r >= 0)
		r = read_shms(err, ipc);
	if (r >= 0)
		r = check_rmid_forced(err, ipc);
	if (r >= 0)
		r = read_msqs(err, ipc);
	if (r >= 0)
		r = read_mqs(err, ipc);
	return r;
}

void ipc_free(struct ns_ipc *ipc)
{
	size_t i, k;

	for (i = 0; i < ipc->nshms; i++)
		if (ipc->shms[i].fd >= 0)
			close(ipc->shms[i].fd);
	for (i = 0; i < ipc->nmsqs; i++) {
		for (k = 0; k < ipc->msqs[i]->n_msgs; k++) {
			free(ipc->msqs[i]->msgs[k]->text.data);
			free(ipc->msqs[i]->msgs[k]);
		}
		free(ipc->msqs[i]->msgs);
		free(ipc->msqs[i]);
	}
	for (i = 0; i < ipc->nmqs; i++) {
		for (k = 0; k < ipc->mqs[i]->n_msgs; k++) {
			free(ipc->mqs[i]->msgs[k]->data.data);
			free(ipc->mqs[i]->msgs[k]);
		}
		free(ipc->mqs[i]->msgs);
		free(ipc->mqs[i]->name);
		free(ipc->mqs[i]);
	}
	for (i = 0; i < ipc->nsysctls; i++)
		free(ipc->sysctls[i]);
	free(ipc->shms);
	free(ipc->msqs);
	free(ipc->mqs);
	free(ipc->sems);
	*ipc = (struct ns_ipc){ 0 };
}

/* Undo lists: see sem_undo.c. */
int ipc_check_undo(struct dump_ctx *ctx, struct dump_proc *p)
{
	return sem_undo_check(ctx, p);
}

const struct ipc_shm *ipc_find_shm(const struct ns_ipc *ipc, int id)
{
	for (size_t i = 0; ipc && i < ipc->nshms; i++)
		if (ipc->shms[i].id == id)
			return &ipc->shms[i];
	return NULL;
}

/* SYSV_SHM records and their pages' segments, before the tree. */
int ipc_dump_shms(struct dump_ctx *ctx, const struct ns_ipc *ipc)
{
	size_t i;
	int r;

	for (i = 0; i < ipc->nshms; i++) {
		const struct ipc_shm *s = &ipc->shms[i];
		Ckpt__Img__SysvShm m = CKPT__IMG__SYSV_SHM__INIT;

		m.key = s->key;
		m.id = s->id;
		m.mode = s->mode;
		m.uid = s->uid;
		m.gid = s->gid;
		m.size = s->size;
		m.has_removed = m.removed = s->removed;
		m.has_locked = m.locked = s->locked;
		r = dump_write_msg(ctx, 0, IMG_SYSV_SHM, &m.base);
		if (r >= 0)
			r = dump_object_pages_later(ctx, CKPT__IMG__SEGMENT_OWNER__SEG_SYSV_SHM, (uint32_t)s->id, s->fd, s->size);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- restart ---- */

struct ipc_rshm {
	int32_t id;
	uint64_t size;
	bool removed;
};

struct ipc_rstate {
	struct ipc_rshm *shms;
	size_t nshms;
	int cur_fd;                   /* the segment whose pages arrive now */
	uint64_t cur_size;
};

/* Writing next_id makes the next object of that kind get that id: the
 * namespace is new, and nothing else creates objects in it yet. */
static int set_next_id(const char *kind, int id)
{
	_cleanup_close_ int fd = -1;
	char path[64], buf[16];
	int n;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s_next_id", kind);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d", id);
	return write(fd, buf, n) == n ? 0 : -errno;
}

static int msq_create(const Ckpt__Img__SysvMsq *q)
{
	_cleanup_free_ struct { long mtype; char text[]; } *buf = NULL;
	struct msqid_ds ds;
	size_t i, max = 0;
	int id, r;

	r = set_next_id("msg", q->id);
	if (r < 0)
		return r;
	id = msgget(q->key, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		return -errno;
	if (id != q->id)
		return -EADDRINUSE;
	if (msgctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	ds.msg_perm.uid = q->uid;
	ds.msg_perm.gid = q->gid;
	ds.msg_perm.mode = q->mode;
	ds.msg_qbytes = q->qbytes;
	if (msgctl(id, IPC_SET, &ds) < 0)
		return -errno;
	for (i = 0; i < q->n_msgs; i++)
		max = MAX(max, q->msgs[i]->text.len);
	buf = malloc(sizeof(*buf) + max + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < q->n_msgs; i++) {
		buf->mtype = q->msgs[i]->mtype;
		memcpy(buf->text, q->msgs[i]->text.data, q->msgs[i]->text.len);
		if (msgsnd(id, buf, q->msgs[i]->text.len, IPC_NOWAIT) < 0)
			return -errno;
	}
	return 0;
}

/* In a user namespace (run --userns) the mqueue filesystem creates files
 * only for an fsuid and fsgid it maps: the namespace's root's, for the
 * open alone (fs capabilities go and come back with fsuid 0). */
static mqd_t mq_open_as(const char *path, struct mq_attr *at, const struct cr_contain *k)
{
	mqd_t mq;
	int e;

	if (!k || !k->userns)
		return mq_open(path, O_CREAT | O_EXCL | O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0600, at);
	syscall(SYS_setfsgid, k->userns_base);
	syscall(SYS_setfsuid, k->userns_base);
	mq = mq_open(path, O_CREAT | O_EXCL | O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0600, at);
	e = errno;
	syscall(SYS_setfsuid, 0);
	syscall(SYS_setfsgid, 0);
	errno = e;
	return mq;
}

static int mq_create(const Ckpt__Img__PosixMq *q, const struct cr_contain *k)
{
	struct mq_attr at = { .mq_maxmsg = q->maxmsg, .mq_msgsize = q->msgsize };
	char path[CR_MQ_NAME_MAX + 2];
	mqd_t mq;
	size_t i;
	int r = 0;

	snprintf(path, sizeof(path), "/%s", q->name);
	mq = mq_open_as(path, &at, k);
	if (mq < 0)
		return -errno;
	/* mq_send() queues by priority, FIFO within one: the saved order */
	for (i = 0; i < q->n_msgs && r >= 0; i++)
		if (mq_send(mq, (char *)q->msgs[i]->data.data, q->msgs[i]->data.len, q->msgs[i]->prio) < 0)
			r = -errno;
	if (r >= 0 && (fchown(mq, q->uid, q->gid) < 0 || fchmod(mq, q->mode) < 0))
		r = -errno;
	mq_close(mq);
	return r;
}

/* "name=value", checked by validate_header_ns: a name of the list. A
 * value the namespace already has is not written: /proc/sys may be
 * read-only where ckptd runs (in a container of its own), and a new
 * IPC namespace starts with the defaults most images saved. */
static int write_sysctl(const char *s)
{
	_cleanup_close_ int fd = -1;
	const char *eq = strchr(s, '=');
	char path[96], cur[IPC_SYSCTL_VALUE_MAX + 2];
	ssize_t got;
	size_t n = strlen(eq + 1);

	snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)(eq - s), s);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	got = fd < 0 ? -1 : read(fd, cur, sizeof(cur) - 1);
	if (got >= 0) {
		while (got > 0 && cur[got - 1] == '\n')
			got--;
		if ((size_t)got == n && memcmp(cur, eq + 1, n) == 0)
			return 0;
	}
	close(fd);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write(fd, eq + 1, n) == (ssize_t)n ? 0 : -errno;
}

/* In a user namespace (run --userns) the IPC namespace's sysctls are its
 * root's to write: the kernel checks them by effective uid alone, no
 * capability counts. The worker takes that euid for the write (its
 * effective capabilities go and come back with euid 0). */
static int write_sysctl_as(const char *s, const struct cr_contain *k)
{
	int r;

	if (!k || !k->userns)
		return write_sysctl(s);
	if (syscall(SYS_setresuid, -1, k->userns_base, -1) < 0)
		return -errno;
	r = write_sysctl(s);
	if (syscall(SYS_setresuid, -1, 0, -1) < 0)
		return -errno;
	return r;
}

int ipc_restore_ns(struct restore_ctx *ctx, const Ckpt__Img__Header *h)
{
	_cleanup_close_ int ns = -1;
	char path[64], obj[CR_MQ_NAME_MAX + 64];
	size_t i;
	int r;

	ctx->ipc = calloc(1, sizeof(*ctx->ipc));
	if (!ctx->ipc)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "IPC objects");
	ctx->ipc->cur_fd = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", ctx->req->init_pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWIPC) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "entering the IPC namespace of the container (init %d)",
			       ctx->req->init_pid);
	/* limits first: the objects were made within them */
	for (i = 0; i < h->n_ipc_sysctls; i++) {
		r = write_sysctl_as(h->ipc_sysctls[i], ctx->req->contain);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "setting %s in the container's IPC namespace", h->ipc_sysctls[i]);
	}
	for (i = 0; i < h->n_sysv_msqs; i++) {
		r = msq_create(h->sysv_msqs[i]);
		if (r < 0) {
			snprintf(obj, sizeof(obj), "SysV message queue key %#x (msqid %d)", (unsigned)h->sysv_msqs[i]->key,
				 h->sysv_msqs[i]->id);
			return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "creating it again in the container's IPC namespace");
		}
	}
	for (i = 0; i < h->n_posix_mqs; i++) {
		r = mq_create(h->posix_mqs[i], ctx->req->contain);
		if (r < 0) {
			snprintf(obj, sizeof(obj), "POSIX message queue /%s", h->posix_mqs[i]->name);
			return cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "creating it again in the container's IPC namespace");
		}
	}
	return 0;
}

static int shm_create(const Ckpt__Img__SysvShm *m, int *ret_fd)
{
	struct shmid_ds ds;
	bool huge;
	int id, r;

	r = set_next_id("shm", m->id);
	if (r < 0)
		return r;
	id = shmget(m->key, m->size, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0)
		return -errno;
	if (id != m->id)
		return -EADDRINUSE;
	if (shmctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	ds.shm_perm.uid = m->uid;
	ds.shm_perm.gid = m->gid;
	ds.shm_perm.mode = m->mode;
	if (shmctl(id, IPC_SET, &ds) < 0)
		return -errno;
	if (m->locked && shmctl(id, SHM_LOCK, NULL) < 0)
		return -errno;
	return shm_open_pages(id, m->size, true, ret_fd, &huge);
}

int ipc_restore_shm(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__SysvShm *m = image_unpack(&ctx->rd, &ckpt__img__sysv_shm__descriptor, payload, len);
	struct ipc_rstate *st = ctx->ipc;
	struct ipc_rshm *v;
	const char *why;
	char obj[128];
	int fd = -1, r = 0;

	if (!m)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "SysV shm record: %s", ctx->rd.error);
	snprintf(obj, sizeof(obj), "SysV shared memory segment key %#x (shmid %d)", (unsigned)m->key, m->id);
	why = validate_sysv_shm(m);
	for (size_t i = 0; !why && i < st->nshms; i++)
		if (st->shms[i].id == m->id)
			why = "its shmid appears twice";
	if (!why && st->nshms >= CR_MAX_SYSV_SHMS)
		why = "too many segments";
	if (why) {
		r = cr_fail_obj(ctx->err, CR_ERR_BAD_IMAGE, 0, obj, "%s", why);
		goto out;
	}
	v = realloc(st->shms, (st->nshms + 1) * sizeof(*v));
	if (!v) {
		r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "SysV shared memory segments");
		goto out;
	}
	st->shms = v;
	r = shm_create(m, &fd);
	if (r < 0) {
		r = cr_fail_obj(ctx->err, CR_ERR_KERNEL, -r, obj, "creating it again in the container's IPC namespace");
		goto out;
	}
	st->shms[st->nshms++] = (struct ipc_rshm){ .id = m->id, .size = m->size, .removed = m->removed };
	ipc_restore_end_pages(ctx);
	st->cur_fd = fd;
	st->cur_size = m->size;
out:
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return r;
}

bool ipc_restore_has_pages(const struct restore_ctx *ctx)
{
	return ctx->ipc && ctx->ipc->cur_fd >= 0;
}

void ipc_restore_end_pages(struct restore_ctx *ctx)
{
	if (ctx->ipc && ctx->ipc->cur_fd >= 0) {
		close(ctx->ipc->cur_fd);
		ctx->ipc->cur_fd = -1;
	}
}

int ipc_restore_pages(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm, const void *pages, size_t len)
{
	struct ipc_rstate *st = ctx->ipc;
	uint64_t end = ALIGN_UP(st->cur_size, PAGE_SZ);
	size_t want;
	ssize_t n;

	if (pm->vaddr % PAGE_SZ || pm->nr_pages == 0 || pm->nr_pages > IMAGE_MAX_PAGES / PAGE_SZ ||
	    len != pm->nr_pages * PAGE_SZ || pm->vaddr > end || len > end - pm->vaddr)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "SysV shm pages at %#lx don't fit the segment", (unsigned long)pm->vaddr);
	want = MIN((uint64_t)len, st->cur_size - pm->vaddr);
	n = pwrite(st->cur_fd, pages, want, pm->vaddr);
	if (n != (ssize_t)want)
		return cr_fail(ctx->err, CR_ERR_KERNEL, n < 0 ? errno : EIO, "writing SysV shm pages at %#lx", (unsigned long)pm->vaddr);
	ctx->pages += pm->nr_pages;
	return 0;
}

int64_t ipc_restore_shm_size(const struct restore_ctx *ctx, uint32_t id)
{
	for (size_t i = 0; ctx->ipc && i < ctx->ipc->nshms; i++)
		if ((uint32_t)ctx->ipc->shms[i].id == id)
			return ctx->ipc->shms[i].size;
	return -ENOENT;
}

/* Every task has attached its segments: remove those that were removed. */
int ipc_restore_finish(struct restore_ctx *ctx)
{
	for (size_t i = 0; ctx->ipc && i < ctx->ipc->nshms; i++) {
		const struct ipc_rshm *s = &ctx->ipc->shms[i];
		char obj[64];

		if (!s->removed)
			continue;
		if (shmctl(s->id, IPC_RMID, NULL) < 0) {
			snprintf(obj, sizeof(obj), "SysV shared memory segment shmid %d", s->id);
			return cr_fail_obj(ctx->err, CR_ERR_KERNEL, errno, obj, "removing it again (IPC_RMID)");
		}
	}
	return 0;
}

void ipc_restore_free(struct restore_ctx *ctx)
{
	if (!ctx->ipc)
		return;
	ipc_restore_end_pages(ctx);
	free(ctx->ipc->shms);
	free(ctx->ipc);
	ctx->ipc = NULL;
}
