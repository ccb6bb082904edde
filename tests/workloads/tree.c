// SPDX-License-Identifier: GPL-2.0-or-later
/* tree: a fork tree three levels deep, its levels talking through pipes.
 *
 *   tree [unix|tcp]
 *
 * r (the workload) forks c1 and c2; each forks two grandchildren (g11, g12,
 * g21, g22). Every node below r writes a deterministic byte stream (byte n
 * of edge e is a function of e and n only) into a pipe to its parent, which
 * checks every byte it reads against that function: a lost, duplicated or
 * reordered byte is caught at its position. Writers outrun readers (readers
 * sleep 2 ms between reads), so the pipes are full at checkpoint time; the
 * c1->r pipe is 256 KiB (F_SETPIPE_SZ, checked with F_GETPIPE_SZ at both
 * ends).
 *
 * Every node below r sends fixed-size checksummed status records (identity,
 * byte counts, a sequence number) into one status pipe whose write end was
 * dup()ed by r and inherited by everyone: one open file description shared
 * by seven processes. r checks each node's sequence (no record lost or
 * repeated), identity (pid, parent, group, session unchanged) and counters
 * (never backwards). Every node checks its own getpid/getppid/getpgrp/getsid
 * against what it saw at start, and reaps nothing: a child that dies is a
 * FAIL of its parent.
 *
 * READY once every node has reported, with the pids: "READY tree r:2 c1:3 ...".
 * SIGUSR2 (to r; the other nodes take it too and just check themselves):
 * once every edge has moved on since the last PASS (within 10 s),
 * "PASS tree n=<passes> e=<bytes c1,c2,g11,g12,g21,g22> st=<records> pids:...".
 *
 * unix|tcp: g22 also holds a unix socketpair with one of its ends in
 * flight (SCM_RIGHTS), or a listening TCP socket with a connection it has
 * not accepted holding a byte (and that connection's other end), which a checkpoint must
 * refuse (18-tree-refusals.sh). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define NODES 7
#define CHUNK 4096
#define BIG_PIPE (256 * 1024)
#define STATUS_NS (50ULL * 1000 * 1000)
#define PRINT_NS (2000ULL * 1000 * 1000)
#define PROGRESS_NS (10000ULL * 1000 * 1000)
#define REC_MAGIC 0x54524545u
#define MAX_FD 1024

/* Heap layout: node i's parent is (i - 1) / 2, its children 2i+1 and 2i+2. */
static const char *const node_name[NODES] = { "r", "c1", "c2", "g11", "g12", "g21", "g22" };

struct rec {
	uint32_t magic, idx;
	int32_t pid, ppid, pgid, sid;
	uint64_t seq, checks, up, down[2];
	uint64_t sum;
};

struct node {
	int idx;
	pid_t pid, ppid, pgid, sid;
	int up_fd;		/* data pipe to the parent, -1 for r */
	uint64_t up_pos;	/* bytes written up */
	int nchild;
	int down_fd[2];		/* data pipes from the children */
	pid_t down_pid[2];
	uint64_t down_pos[2];	/* bytes read and checked */
	int status_fd;		/* where this node sends its records */
	uint64_t seq, checks, next_status;
	int sock;		/* the thing a checkpoint must refuse, or -1 */
};

/* r only */
struct root {
	int status_rd;
	uint8_t buf[64 * sizeof(struct rec)];
	size_t have;
	struct rec last[NODES];
	int ready;
	uint64_t passes, pass_edge[6], pass_seq[NODES];
	uint64_t pending_until, next_print;
};

static struct node self;
static const char *refuse_mode;
static int status_dup = -1;	/* r's dup() of the status write end: the grandchildren's */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000 * 1000 };

	nanosleep(&ts, NULL);	/* a signal cutting it short is harmless */
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Byte pos of the stream on the edge from node `edge` to its parent. */
static uint64_t stream_word(int edge, uint64_t k)
{
	return mix(((uint64_t)edge << 56) ^ k);
}

static void stream_fill(int edge, uint64_t pos, uint8_t *b, size_t n)
{
	uint64_t w = stream_word(edge, pos >> 3);

	for (size_t i = 0; i < n; i++, pos++) {
		if (i && (pos & 7) == 0)
			w = stream_word(edge, pos >> 3);
		b[i] = w >> ((pos & 7) * 8);
	}
}

static void stream_check(int edge, uint64_t *pos, const uint8_t *b, size_t n)
{
	uint64_t w = stream_word(edge, *pos >> 3);

	for (size_t i = 0; i < n; i++, (*pos)++) {
		if (i && (*pos & 7) == 0)
			w = stream_word(edge, *pos >> 3);
		if (b[i] != (uint8_t)(w >> ((*pos & 7) * 8)))
			fail("tree: edge %s->%s: byte %lu is %#x, want %#x\n", node_name[edge],
			     node_name[(edge - 1) / 2], (unsigned long)*pos, b[i],
			     (uint8_t)(w >> ((*pos & 7) * 8)));
	}
}

static uint64_t rec_sum(const struct rec *r)
{
	const uint64_t *w = (const uint64_t *)r;
	uint64_t s = 0;

	for (size_t i = 0; i < offsetof(struct rec, sum) / 8; i++)
		s = mix(s ^ w[i]);
	return s;
}

static void check_identity(void)
{
	if (getpid() != self.pid || getppid() != self.ppid || getpgrp() != self.pgid ||
	    getsid(0) != self.sid)
		fail("tree %s: identity pid %d ppid %d pgid %d sid %d, was %d %d %d %d\n",
		     node_name[self.idx], getpid(), getppid(), getpgrp(), getsid(0), self.pid,
		     self.ppid, self.pgid, self.sid);
	self.checks++;
}

/* A child that dies is a failure of its parent: nothing here ever exits. */
static void check_children(void)
{
	int st;
	pid_t p = waitpid(-1, &st, WNOHANG);

	if (p > 0) {
		for (int c = 0; c < self.nchild; c++)
			if (self.down_pid[c] == p)
				fail("tree %s: child %s (pid %d) died: %s %d\n", node_name[self.idx],
				     node_name[2 * self.idx + 1 + c], p,
				     WIFEXITED(st) ? "exit" : "signal",
				     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		fail("tree %s: unknown child %d died\n", node_name[self.idx], p);
	}
	if (p < 0 && self.nchild)
		fail("tree %s: waitpid: %d\n", node_name[self.idx], errno);
}

static void check_pipe_size(int fd, const char *end)
{
	int sz = fcntl(fd, F_GETPIPE_SZ);

	if (sz != BIG_PIPE)
		fail("tree %s: F_GETPIPE_SZ of the c1->r pipe (%s end) is %d, want %d\n",
		     node_name[self.idx], end, sz, BIG_PIPE);
}

static void check_sock(void)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (self.sock < 0)
		return;
	if (getsockopt(self.sock, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		fail("tree %s: lost its %s socket (%d)\n", node_name[self.idx], refuse_mode, errno);
}

static void self_check(void)
{
	check_identity();
	check_children();
	check_sock();
	if (self.idx == 1)
		check_pipe_size(self.up_fd, "write");
}

static void send_status(void)
{
	struct rec r = {
		.magic = REC_MAGIC, .idx = self.idx, .pid = self.pid, .ppid = self.ppid,
		.pgid = self.pgid, .sid = self.sid, .seq = ++self.seq, .checks = self.checks,
		.up = self.up_pos, .down = { self.down_pos[0], self.down_pos[1] },
	};
	ssize_t n;

	r.sum = rec_sum(&r);
	/* < PIPE_BUF: atomic, never interleaved with another node's record */
	do
		n = write(self.status_fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(r))
		fail("tree %s: status write: %zd (%d)\n", node_name[self.idx], n, errno);
	self.next_status = now_ns() + STATUS_NS;
}

/* Read and check what one child sent; the fd is non-blocking. */
static void pump_down(int c)
{
	uint8_t buf[CHUNK];
	ssize_t n = read(self.down_fd[c], buf, sizeof(buf));

	if (n == 0)
		fail("tree %s: EOF from %s\n", node_name[self.idx], node_name[2 * self.idx + 1 + c]);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			fail("tree %s: read from %s: %d\n", node_name[self.idx],
			     node_name[2 * self.idx + 1 + c], errno);
		return;
	}
	stream_check(2 * self.idx + 1 + c, &self.down_pos[c], buf, n);
}

/* Write len bytes of our stream up, blocking; a full pipe is the point. */
static void pump_up(size_t len)
{
	uint8_t buf[CHUNK];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t w;

		stream_fill(self.idx, self.up_pos, buf, n);
		w = write(self.up_fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail("tree %s: write up: %d\n", node_name[self.idx], errno);
		self.up_pos += w;
		len -= w;
	}
}

static void record_identity(void)
{
	self.pid = getpid();
	self.ppid = getppid();
	self.pgid = getpgrp();
	self.sid = getsid(0);
}

static void close_all_but(const int *keep, int n)
{
	for (int fd = 3; fd < MAX_FD; fd++) {
		int k = 0;

		while (k < n && keep[k] != fd)
			k++;
		if (k == n)
			close(fd);
	}
}

/* Send fd over sk as SCM_RIGHTS with one byte. */
static int send_fd(int sk, int fd)
{
	union { struct cmsghdr a; char b[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { "x", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sk, &mh, 0) == 1 ? 0 : -1;
}

static void make_refused(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int sv[2];

	if (!refuse_mode)
		return;
	if (!strcmp(refuse_mode, "unix")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			fail("tree: socketpair: %d\n", errno);
		if (send_fd(sv[0], sv[0]) < 0)	/* a socket in flight */
			fail("tree: SCM_RIGHTS: %d\n", errno);
		self.sock = sv[1];
	} else {
		socklen_t len = sizeof(a);
		int cl;

		self.sock = socket(AF_INET, SOCK_STREAM, 0);
		if (self.sock < 0 || bind(self.sock, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    listen(self.sock, 4) < 0 || getsockname(self.sock, (struct sockaddr *)&a, &len) < 0)
			fail("tree: tcp socket: %d\n", errno);
		/* a connection waiting in its accept queue, never accepted,
		 * holding a byte (one with none is queued again at restart) */
		cl = socket(AF_INET, SOCK_STREAM, 0);
		if (cl < 0 || connect(cl, (struct sockaddr *)&a, sizeof(a)) < 0 || write(cl, "q", 1) != 1)
			fail("tree: tcp connect: %d\n", errno);
	}
}

static void node_loop(void);

/* Fork child c of this node; the child never returns. c1 and c2 report
 * through the status write end r made, the grandchildren through r's dup()
 * of it, which c1 and c2 keep for them. */
static void spawn_child(int c)
{
	int status_fd = self.idx == 0 ? self.status_fd : status_dup;
	int idx = 2 * self.idx + 1 + c, p[2];
	pid_t pid;

	if (pipe(p) < 0)
		fail("tree %s: pipe: %d\n", node_name[self.idx], errno);
	if (idx == 1 && fcntl(p[0], F_SETPIPE_SZ, BIG_PIPE) < 0)
		fail("tree: F_SETPIPE_SZ %d: %d\n", BIG_PIPE, errno);
	pid = fork();
	if (pid < 0)
		fail("tree %s: fork: %d\n", node_name[self.idx], errno);
	if (pid == 0) {
		int keep[3] = { p[1], status_fd, status_dup };

		close_all_but(keep, 3);
		memset(&self.down_pos, 0, sizeof(self.down_pos));
		memset(&self.down_pid, 0, sizeof(self.down_pid));
		self.idx = idx;
		self.up_fd = p[1];
		self.up_pos = 0;
		self.nchild = idx <= 2 ? 2 : 0;
		self.status_fd = status_fd;
		self.seq = self.checks = 0;
		record_identity();
		node_loop();
	}
	close(p[1]);
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
		fail("tree: O_NONBLOCK: %d\n", errno);
	self.down_fd[c] = p[0];
	self.down_pid[c] = pid;
}

/* c1, c2 and the grandchildren: write up, read down, report. */
static void node_loop(void)
{
	if (self.idx <= 2) {
		spawn_child(0);
		spawn_child(1);
	}
	if (self.idx == 6)
		make_refused();
	for (;;) {
		for (int c = 0; c < self.nchild; c++)
			pump_down(c);
		pump_up(self.nchild ? 2 * CHUNK : CHUNK);
		if (got_usr2 || now_ns() >= self.next_status) {
			got_usr2 = 0;
			self_check();
			send_status();
		} else {
			check_identity();
		}
		if (self.nchild)
			sleep_ms(2);
	}
}

/* ---- r ---- */

static void root_take(struct root *rt, const struct rec *r)
{
	const struct rec *old;

	if (r->magic != REC_MAGIC || r->sum != rec_sum(r) || r->idx < 1 || r->idx >= NODES)
		fail("tree r: corrupt status record (magic %#x idx %u)\n", r->magic, r->idx);
	old = &rt->last[r->idx];
	if (r->seq != old->seq + 1)
		fail("tree r: %s sent record %lu after %lu\n", node_name[r->idx],
		     (unsigned long)r->seq, (unsigned long)old->seq);
	if (old->seq && (r->pid != old->pid || r->ppid != old->ppid || r->pgid != old->pgid ||
			 r->sid != old->sid))
		fail("tree r: %s identity %d/%d/%d/%d, was %d/%d/%d/%d\n", node_name[r->idx], r->pid,
		     r->ppid, r->pgid, r->sid, old->pid, old->ppid, old->pgid, old->sid);
	if (r->checks < old->checks || r->up < old->up || r->down[0] < old->down[0] ||
	    r->down[1] < old->down[1])
		fail("tree r: %s counters went backwards\n", node_name[r->idx]);
	if (r->pgid != self.pgid || r->sid != self.sid)
		fail("tree r: %s is in group %d session %d, r in %d %d\n", node_name[r->idx], r->pgid,
		     r->sid, self.pgid, self.sid);
	if (r->idx <= 2 && (r->pid != self.down_pid[r->idx - 1] || r->ppid != self.pid))
		fail("tree r: %s says pid %d ppid %d, r forked %d\n", node_name[r->idx], r->pid,
		     r->ppid, self.down_pid[r->idx - 1]);
	if (r->idx > 2 && rt->last[(r->idx - 1) / 2].seq && r->ppid != rt->last[(r->idx - 1) / 2].pid)
		fail("tree r: %s has parent %d, %s is %d\n", node_name[r->idx], r->ppid,
		     node_name[(r->idx - 1) / 2], rt->last[(r->idx - 1) / 2].pid);
	rt->last[r->idx] = *r;
}

static void root_read_status(struct root *rt)
{
	for (;;) {
		ssize_t n = read(rt->status_rd, rt->buf + rt->have, sizeof(rt->buf) - rt->have);
		size_t off = 0;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			fail("tree r: status read: %zd (%d)\n", n, errno);
		rt->have += n;
		for (; rt->have - off >= sizeof(struct rec); off += sizeof(struct rec)) {
			struct rec r;

			memcpy(&r, rt->buf + off, sizeof(r));
			root_take(rt, &r);
		}
		memmove(rt->buf, rt->buf + off, rt->have - off);
		rt->have -= off;
	}
}

static void root_edges(const struct root *rt, uint64_t e[6])
{
	e[0] = self.down_pos[0];
	e[1] = self.down_pos[1];
	e[2] = rt->last[1].down[0];
	e[3] = rt->last[1].down[1];
	e[4] = rt->last[2].down[0];
	e[5] = rt->last[2].down[1];
}

static int root_all_reported(const struct root *rt)
{
	for (int i = 1; i < NODES; i++)
		if (!rt->last[i].seq)
			return 0;
	return 1;
}

static void root_ready(struct root *rt)
{
	const struct rec *l = rt->last;

	rt->ready = 1;
	say("READY tree r:%d c1:%d c2:%d g11:%d g12:%d g21:%d g22:%d%s%s\n", self.pid, l[1].pid,
	    l[2].pid, l[3].pid, l[4].pid, l[5].pid, l[6].pid, refuse_mode ? " refuse:" : "",
	    refuse_mode ? refuse_mode : "");
}

/* A PASS needs every edge and every node to have moved on since the last. */
static void root_try_pass(struct root *rt)
{
	uint64_t e[6], st = 0;
	const struct rec *l = rt->last;
	int i;

	root_edges(rt, e);
	for (i = 0; i < 6; i++)
		if (e[i] <= rt->pass_edge[i])
			break;
	for (int k = 1; i == 6 && k < NODES; k++)
		if (l[k].seq <= rt->pass_seq[k])
			i = 100 + k;
	if (i != 6) {
		if (now_ns() < rt->pending_until)
			return;
		if (i < 6)
			fail("tree r: edge %d stuck at %lu bytes for 10 s\n", i, (unsigned long)e[i]);
		fail("tree r: no status from %s for 10 s\n", node_name[i - 100]);
	}
	self_check();
	check_pipe_size(self.down_fd[0], "read");
	for (i = 1; i < NODES; i++) {
		st += l[i].seq;
		rt->pass_seq[i] = l[i].seq;
	}
	memcpy(rt->pass_edge, e, sizeof(e));
	rt->pending_until = 0;
	say("PASS tree n=%lu e=%lu,%lu,%lu,%lu,%lu,%lu st=%lu pids:%d,%d,%d,%d,%d,%d,%d\n",
	    (unsigned long)++rt->passes, (unsigned long)e[0], (unsigned long)e[1],
	    (unsigned long)e[2], (unsigned long)e[3], (unsigned long)e[4], (unsigned long)e[5],
	    (unsigned long)st, self.pid, l[1].pid, l[2].pid, l[3].pid, l[4].pid, l[5].pid,
	    l[6].pid);
}

static void root_progress(struct root *rt)
{
	uint64_t e[6];

	root_edges(rt, e);
	say("tree e=%lu,%lu,%lu,%lu,%lu,%lu\n", (unsigned long)e[0], (unsigned long)e[1],
	    (unsigned long)e[2], (unsigned long)e[3], (unsigned long)e[4], (unsigned long)e[5]);
	rt->next_print = now_ns() + PRINT_NS;
}

static void root_loop(void)
{
	static struct root rt;
	int sp[2];
	uint64_t start = now_ns();

	if (pipe(sp) < 0 || (status_dup = dup(sp[1])) < 0)
		fail("tree r: status pipe: %d\n", errno);
	if (fcntl(sp[0], F_SETFL, O_NONBLOCK) < 0)
		fail("tree r: O_NONBLOCK: %d\n", errno);
	rt.status_rd = sp[0];
	self.status_fd = sp[1];
	spawn_child(0);
	spawn_child(1);
	check_pipe_size(self.down_fd[0], "read");
	for (;;) {
		pump_down(0);
		pump_down(1);
		root_read_status(&rt);
		check_identity();
		check_children();
		if (!rt.ready) {
			if (root_all_reported(&rt))
				root_ready(&rt);
			else if (now_ns() - start > PROGRESS_NS)
				fail("tree r: not every node reported within 10 s\n");
		}
		if (rt.ready && got_usr2) {
			got_usr2 = 0;
			if (!rt.pending_until)
				rt.pending_until = now_ns() + PROGRESS_NS;
		}
		if (rt.pending_until)
			root_try_pass(&rt);
		if (rt.ready && now_ns() >= rt.next_print)
			root_progress(&rt);
		sleep_ms(2);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };

	if (argc > 1) {
		if (strcmp(argv[1], "unix") && strcmp(argv[1], "tcp"))
			fail("usage: tree [unix|tcp]\n");
		refuse_mode = argv[1];
	}
	sigaction(SIGUSR2, &sa, NULL);
	self.idx = 0;
	self.up_fd = -1;
	self.nchild = 2;
	self.sock = -1;
	record_identity();
	root_loop();
}
