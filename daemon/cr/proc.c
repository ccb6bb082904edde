// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc parsers. Each works on an fd so tests can feed fixtures; the text is
 * read a line at a time through a fixed buffer, so no line and no file can
 * make us allocate without bound. Numbers are parsed strictly: a field that
 * is not what proc(5) says it is makes the whole parse fail with -EINVAL. */
#include "proc.h"
#include "macro.h"
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define PROC_FILE_MAX (16u << 20)       /* proc_read_file cap */
#define LINE_MAX_LEN 8192               /* a maps line: PATH_MAX path + header */
#define PROC_VMAS_MAX (1u << 20)        /* vm.max_map_count is 65530 by default */

/* ---- bounded line reader ---- */

struct line_reader {
	int fd;
	size_t start, end;
	bool eof;
	char buf[LINE_MAX_LEN + 1];
};

static void lr_init(struct line_reader *lr, int fd)
{
	lr->fd = fd;
	lr->start = lr->end = 0;
	lr->eof = false;
}

/* 1 and *ret_line (NUL-terminated, without '\n') per line, 0 at EOF,
 * -EINVAL for a line longer than the buffer (malformed for every file we
 * read this way), -errno on read errors. */
static int lr_next(struct line_reader *lr, char **ret_line)
{
	for (;;) {
		char *nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
		ssize_t n;

		if (nl || (lr->eof && lr->end > lr->start)) {
			char *line = lr->buf + lr->start;

			if (!nl)
				nl = lr->buf + lr->end;   /* last line without '\n' */
			if (memchr(line, 0, nl - line))
				return -EINVAL;           /* /proc text never holds NULs */
			*nl = 0;
			lr->start = nl - lr->buf + 1;
			if (lr->start > lr->end)
				lr->start = lr->end;
			*ret_line = line;
			return 1;
		}
		if (lr->eof)
			return 0;
		if (lr->start > 0) {
			memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
			lr->end -= lr->start;
			lr->start = 0;
		}
		if (lr->end == LINE_MAX_LEN)
			return -EINVAL;
		n = read(lr->fd, lr->buf + lr->end, LINE_MAX_LEN - lr->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			lr->eof = true;
		lr->end += n;
	}
}

static int read_fd_capped(int fd, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 4096, len = 0;

	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= max)
				return -EFBIG;
			cap = MIN(cap * 2, max);
			nb = realloc(buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int proc_read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return read_fd_capped(fd, PROC_FILE_MAX, ret_buf, ret_len);
}

static int open_pid(pid_t pid, const char *what)
{
	char path[64];
	int fd;

	if (pid <= 0)
		return -EINVAL;
	if (snprintf(path, sizeof(path), "/proc/%d/%s", pid, what) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* ---- strict number parsing ---- */

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Unsigned number in base 8, 10 or 16 at *s, at least one digit, no sign,
 * no overflow; *s is moved past it. */
static int parse_u64(const char **s, int base, uint64_t *ret)
{
	const char *p = *s;
	uint64_t v = 0;

	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (d >= base)
			break;
		if (v > (UINT64_MAX - d) / base)
			return -EINVAL;
		v = v * base + d;
	}
	if (p == *s)
		return -EINVAL;
	*s = p;
	*ret = v;
	return 0;
}

static int parse_s64(const char **s, int64_t *ret)
{
	const char *p = *s;
	bool neg = *p == '-';
	uint64_t v;

	if (neg)
		p++;
	if (parse_u64(&p, 10, &v) < 0 || v > (uint64_t)INT64_MAX + neg)
		return -EINVAL;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	*s = p;
	return 0;
}

/* The whole value (after blanks) is one number, trailing blanks allowed. */
static int parse_u64_all(const char *s, int base, uint64_t max, uint64_t *ret)
{
	uint64_t v;

	s = skip_blanks(s);
	if (parse_u64(&s, base, &v) < 0 || v > max || *skip_blanks(s))
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_int_all(const char *s, int min, int max, int *ret)
{
	int64_t v;

	s = skip_blanks(s);
	if (parse_s64(&s, &v) < 0 || v < min || v > max || *skip_blanks(s))
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* ---- maps / smaps ---- */

static const struct { char name[3]; uint64_t bit; } vmflag_names[] = {
	{ "rd", VMF_RD }, { "wr", VMF_WR }, { "ex", VMF_EX }, { "sh", VMF_SH }, { "mr", VMF_MR },
	{ "mw", VMF_MW }, { "me", VMF_ME }, { "ms", VMF_MS }, { "gd", VMF_GD }, { "pf", VMF_PF },
	{ "lo", VMF_LO }, { "io", VMF_IO }, { "sr", VMF_SR }, { "rr", VMF_RR }, { "dc", VMF_DC },
	{ "de", VMF_DE }, { "ac", VMF_AC }, { "nr", VMF_NR }, { "ht", VMF_HT }, { "sf", VMF_SF },
	{ "ar", VMF_AR }, { "wf", VMF_WF }, { "dd", VMF_DD }, { "sd", VMF_SD }, { "mm", VMF_MM },
	{ "hg", VMF_HG }, { "nh", VMF_NH }, { "mg", VMF_MG }, { "um", VMF_UM }, { "uw", VMF_UW },
	{ "ss", VMF_SS }, { "sl", VMF_SL }, { "bt", VMF_BT }, { "mt", VMF_MT }, { "ui", VMF_UI },
	{ "dp", VMF_DP }, { "lf", VMF_LF },
};

/* Unknown mnemonics (newer kernels add them: "lf", "dp", "gu", ...) become
 * VMF_OTHER so a caller can refuse what it does not understand. */
static uint64_t parse_vmflags(const char *s)
{
	uint64_t f = 0;

	for (;;) {
		size_t len, i;

		s = skip_blanks(s);
		if (!*s)
			return f;
		len = strcspn(s, " \t");
		for (i = 0; len == 2 && i < ARRAY_SIZE(vmflag_names); i++)
			if (s[0] == vmflag_names[i].name[0] && s[1] == vmflag_names[i].name[1])
				break;
		f |= len == 2 && i < ARRAY_SIZE(vmflag_names) ? vmflag_names[i].bit : VMF_OTHER;
		s += len;
	}
}

static int parse_perms(const char *p, struct proc_vma *v)
{
	if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 's' && p[3] != 'p') || p[4] != ' ')
		return -EINVAL;
	v->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		  (p[2] == 'x' ? PROT_EXEC : 0);
	v->shared = p[3] == 's';
	return 0;
}

/* "start-end perms offset maj:min inode   path": the path is the rest of the
 * line, spaces and " (deleted)" included; no path means anonymous. */
static int parse_vma_line(const char *p, struct proc_vma *v)
{
	uint64_t maj, min;
	long page = sysconf(_SC_PAGESIZE);

	memset(v, 0, sizeof(*v));
	if (parse_u64(&p, 16, &v->start) < 0 || *p++ != '-' ||
	    parse_u64(&p, 16, &v->end) < 0 || *p++ != ' ')
		return -EINVAL;
	if (v->start >= v->end || v->start % page || v->end % page)
		return -EINVAL;
	if (parse_perms(p, v) < 0)
		return -EINVAL;
	p += 5;
	if (parse_u64(&p, 16, &v->pgoff) < 0 || *p++ != ' ' ||
	    parse_u64(&p, 16, &maj) < 0 || *p++ != ':' ||
	    parse_u64(&p, 16, &min) < 0 || *p++ != ' ' ||
	    parse_u64(&p, 10, &v->ino) < 0)
		return -EINVAL;
	if (maj > UINT_MAX || min > UINT_MAX || (*p && *p != ' '))
		return -EINVAL;
	v->dev_major = maj;
	v->dev_minor = min;
	p = skip_blanks(p);
	if (*p) {
		v->path = strdup(p);
		if (!v->path)
			return -ENOMEM;
	}
	return 0;
}

static bool is_vma_line(const char *line)
{
	const char *p = line;

	while (isxdigit((unsigned char)*p))
		p++;
	return p != line && *p == '-';
}

/* smaps per-VMA lines are "Key: value"; the key is an identifier. */
static bool is_key_line(const char *line)
{
	const char *p = line;

	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	return *p == ':';
}

static int vmas_push(struct proc_vma **vmas, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct proc_vma *nv;

		if (*n >= PROC_VMAS_MAX)
			return -E2BIG;
		nv = reallocarray(*vmas, ncap, sizeof(**vmas));
		if (!nv)
			return -ENOMEM;
		*vmas = nv;
		*cap = ncap;
	}
	return 0;
}

int proc_parse_vmas(int fd, struct proc_vma **ret_vmas, size_t *ret_n)
{
	_cleanup_free_ struct line_reader *lr = malloc(sizeof(*lr));
	struct proc_vma *vmas = NULL;
	size_t n = 0, cap = 0;
	char *line;
	int r;

	if (!lr)
		return -ENOMEM;
	lr_init(lr, fd);
	while ((r = lr_next(lr, &line)) > 0) {
		if (is_vma_line(line)) {
			r = vmas_push(&vmas, &n, &cap);
			if (r < 0)
				break;
			r = parse_vma_line(line, &vmas[n]);
			if (r < 0)
				break;
			/* the kernel prints them sorted and disjoint */
			if (n && vmas[n].start < vmas[n - 1].end) {
				free(vmas[n].path);
				r = -EINVAL;
				break;
			}
			n++;
		} else if (strncmp(line, "VmFlags:", 8) == 0) {
			if (!n) {
				r = -EINVAL;
				break;
			}
			vmas[n - 1].vmflags = parse_vmflags(line + 8);
		} else if (!n || !is_key_line(line)) {
			r = -EINVAL;
			break;
		}
	}
	if (r < 0) {
		proc_vmas_free(vmas, n);
		return r;
	}
	*ret_vmas = vmas;
	*ret_n = n;
	return 0;
}

int proc_vmas_pid(pid_t pid, bool smaps, struct proc_vma **ret_vmas, size_t *ret_n)
{
	_cleanup_close_ int fd = open_pid(pid, smaps ? "smaps" : "maps");

	if (fd < 0)
		return fd;
	return proc_parse_vmas(fd, ret_vmas, ret_n);
}

void proc_vmas_free(struct proc_vma *vmas, size_t n)
{
	size_t i;

	for (i = 0; vmas && i < n; i++)
		free(vmas[i].path);
	free(vmas);
}

/* ---- status ---- */

/* A list of numbers; more than max entries is -E2BIG rather than a silently
 * shortened list (NSpid's innermost pid is the last one). */
static int parse_num_list(const char *s, uint64_t maxval, uint32_t *out, int max)
{
	int n = 0;

	for (;;) {
		uint64_t v;

		s = skip_blanks(s);
		if (!*s)
			return n;
		if (parse_u64(&s, 10, &v) < 0 || v > maxval || (*s && *s != ' ' && *s != '\t'))
			return -EINVAL;
		if (n == max)
			return -E2BIG;
		out[n++] = v;   /* pids are <= INT_MAX: same bits in a pid_t */
	}
}

static int parse_ids4(const char *s, uint32_t out[4])
{
	int n = parse_num_list(s, UINT32_MAX, out, 4);

	return n == 4 ? 0 : -EINVAL;
}

enum {
	ST_NAME = 1 << 0, ST_STATE = 1 << 1, ST_TGID = 1 << 2, ST_PID = 1 << 3,
	ST_PPID = 1 << 4, ST_UID = 1 << 5, ST_GID = 1 << 6, ST_NSPID = 1 << 7,
	ST_REQUIRED = (1 << 8) - 1,
};

static int status_hex(const char *key, const char *v, struct proc_status *st)
{
	static const struct { const char *key; size_t off; } hex[] = {
		{ "SigPnd", offsetof(struct proc_status, sigpnd) },
		{ "ShdPnd", offsetof(struct proc_status, shdpnd) },
		{ "SigBlk", offsetof(struct proc_status, sigblk) },
		{ "SigIgn", offsetof(struct proc_status, sigign) },
		{ "SigCgt", offsetof(struct proc_status, sigcgt) },
		{ "CapInh", offsetof(struct proc_status, capinh) },
		{ "CapPrm", offsetof(struct proc_status, capprm) },
		{ "CapEff", offsetof(struct proc_status, capeff) },
		{ "CapBnd", offsetof(struct proc_status, capbnd) },
		{ "CapAmb", offsetof(struct proc_status, capamb) },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hex); i++)
		if (streq(key, hex[i].key))
			return parse_u64_all(v, 16, UINT64_MAX, (uint64_t *)((char *)st + hex[i].off));
	return 1;   /* not a mask */
}

static int status_pid_key(const char *key, const char *v, struct proc_status *st, unsigned *seen)
{
	static const struct { const char *key; size_t off; unsigned bit; } pids[] = {
		{ "Tgid", offsetof(struct proc_status, tgid), ST_TGID },
		{ "Pid", offsetof(struct proc_status, pid), ST_PID },
		{ "PPid", offsetof(struct proc_status, ppid), ST_PPID },
		{ "TracerPid", offsetof(struct proc_status, tracer_pid), 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pids); i++)
		if (streq(key, pids[i].key)) {
			*seen |= pids[i].bit;
			return parse_int_all(v, 0, INT_MAX, (pid_t *)((char *)st + pids[i].off));
		}
	return 1;
}

static int status_line(char *key, const char *v, struct proc_status *st, unsigned *seen)
{
	uint64_t u;
	int r;

	if ((r = status_hex(key, v, st)) <= 0 || (r = status_pid_key(key, v, st, seen)) <= 0)
		return r;
	if (streq(key, "Name")) {
		*seen |= ST_NAME;
		snprintf(st->name, sizeof(st->name), "%s", v);   /* as printed, truncated */
	} else if (streq(key, "State")) {
		*seen |= ST_STATE;
		if (!isalpha((unsigned char)v[0]))
			return -EINVAL;
		st->state = v[0];
	} else if (streq(key, "NSpid")) {
		*seen |= ST_NSPID;
		st->nspid_n = r = parse_num_list(v, INT_MAX, (uint32_t *)st->nspid, ARRAY_SIZE(st->nspid));
	} else if (streq(key, "NSpgid"))
		st->nspgid_n = r = parse_num_list(v, INT_MAX, (uint32_t *)st->nspgid, ARRAY_SIZE(st->nspgid));
	else if (streq(key, "NSsid"))
		st->nssid_n = r = parse_num_list(v, INT_MAX, (uint32_t *)st->nssid, ARRAY_SIZE(st->nssid));
	else if (streq(key, "Uid")) {
		*seen |= ST_UID;
		r = parse_ids4(v, st->uid);
	} else if (streq(key, "Gid")) {
		*seen |= ST_GID;
		r = parse_ids4(v, st->gid);
	} else if (streq(key, "Groups"))
		st->ngroups = r = parse_num_list(v, UINT32_MAX, st->groups, ARRAY_SIZE(st->groups));
	else if (streq(key, "Threads"))
		r = parse_int_all(v, 0, INT_MAX, &st->threads);
	else if (streq(key, "Umask")) {
		r = parse_u64_all(v, 8, 0777, &u);
		st->umask = u;
	} else if (streq(key, "SigQ")) {
		const char *p = skip_blanks(v);

		if (parse_u64(&p, 10, &st->sigq_cur) < 0 || *p++ != '/' ||
		    parse_u64_all(p, 10, UINT64_MAX, &st->sigq_max) < 0)
			return -EINVAL;
	} else if (streq(key, "NoNewPrivs"))
		r = parse_int_all(v, 0, 1, &st->no_new_privs);
	else if (streq(key, "Seccomp"))
		r = parse_int_all(v, 0, 2, &st->seccomp);
	return r < 0 ? r : 0;   /* other keys: kernels keep adding them */
}

int proc_parse_status(int fd, struct proc_status *ret)
{
	_cleanup_free_ struct line_reader *lr = malloc(sizeof(*lr));
	struct proc_status st = { 0 };
	unsigned seen = 0;
	char *line;
	int r;

	if (!lr)
		return -ENOMEM;
	lr_init(lr, fd);
	while ((r = lr_next(lr, &line)) > 0) {
		char *v = strchr(line, ':');

		if (!v || v == line)
			return -EINVAL;
		*v++ = 0;
		r = status_line(line, skip_blanks(v), &st, &seen);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	if ((seen & ST_REQUIRED) != ST_REQUIRED || st.pid <= 0 || st.nspid_n < 1)
		return -EINVAL;
	*ret = st;
	return 0;
}

int proc_status_pid(pid_t pid, struct proc_status *ret)
{
	_cleanup_close_ int fd = open_pid(pid, "status");

	if (fd < 0)
		return fd;
	return proc_parse_status(fd, ret);
}

int proc_status_field(const char *text, const char *key, int base, uint64_t *ret)
{
	size_t klen = strlen(key);
	const char *l = text;

	while (l) {
		if (!strncmp(l, key, klen) && l[klen] == ':') {
			const char *v = skip_blanks(l + klen + 1);
			uint64_t n;

			if (parse_u64(&v, base, &n) < 0 || (*v && *v != ' ' && *v != '\n'))
				return -EINVAL;
			*ret = n;
			return 0;
		}
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return -ENOENT;
}

int proc_status_text(pid_t pid, char **ret_buf)
{
	_cleanup_close_ int fd = open_pid(pid, "status");
	size_t len;

	if (fd < 0)
		return fd;
	return read_fd_capped(fd, PROC_FILE_MAX, ret_buf, &len);
}

/* ---- stat ---- */

#define STAT_LINE_MAX 4096
#define STAT_FIELDS 52

/* One stat field: unsigned (addresses, RLIM_INFINITY in rsslim) or negative
 * (priority, nice); negatives are kept as their two's complement. */
static int stat_field(const char **p, uint64_t *v)
{
	int64_t s;

	if (**p != '-')
		return parse_u64(p, 10, v);
	if (parse_s64(p, &s) < 0)
		return -EINVAL;
	*v = (uint64_t)s;
	return 0;
}

/* Fields 4..52 of proc(5) numbering after "pid (comm) state". */
static int stat_fields(const char *p, uint64_t f[STAT_FIELDS + 1])
{
	uint64_t x;
	int k;

	for (k = 4; k <= STAT_FIELDS; k++)
		if (*p++ != ' ' || stat_field(&p, &f[k]) < 0)
			return -EINVAL;
	/* later kernels may append fields; they are numbers too */
	while (*p == ' ' && p[1] && p[1] != '\n') {
		p++;
		if (stat_field(&p, &x) < 0)
			return -EINVAL;
	}
	if (*p == ' ')
		p++;
	return (*p == '\n' && !p[1]) || !*p ? 0 : -EINVAL;
}

int proc_read_text(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

static int read_small(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += n;
		if (len == size - 1)
			return -EINVAL;   /* longer than any real one */
	}
	buf[len] = 0;
	return memchr(buf, 0, len) ? -EINVAL : 0;
}

int proc_parse_stat(int fd, struct proc_stat *ret)
{
	char buf[STAT_LINE_MAX + 1];
	uint64_t f[STAT_FIELDS + 1] = { 0 };
	struct proc_stat ps = { 0 };
	const char *p = buf;
	char *open_p, *close_p;
	int64_t pid;
	int r;

	r = read_small(fd, buf, sizeof(buf));
	if (r < 0)
		return r;
	/* comm may hold anything, ") (" included: it ends at the LAST ')' */
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -EINVAL;
	if (parse_s64(&p, &pid) < 0 || pid <= 0 || pid > INT_MAX || p != open_p - 1 || *p != ' ')
		return -EINVAL;
	ps.pid = pid;
	snprintf(ps.comm, sizeof(ps.comm), "%.*s", (int)(close_p - open_p - 1), open_p + 1);
	if (close_p[1] != ' ' || !isalpha((unsigned char)close_p[2]))
		return -EINVAL;
	ps.state = close_p[2];
	if (stat_fields(close_p + 3, f) < 0)
		return -EINVAL;
	ps.ppid = f[4];
	ps.pgrp = f[5];
	ps.session = f[6];
	ps.tty_nr = f[7];
	ps.num_threads = f[20];
	ps.starttime = f[22];
	ps.start_code = f[26];
	ps.end_code = f[27];
	ps.start_stack = f[28];
	ps.exit_signal = f[38];
	ps.start_data = f[45];
	ps.end_data = f[46];
	ps.start_brk = f[47];
	ps.arg_start = f[48];
	ps.arg_end = f[49];
	ps.env_start = f[50];
	ps.env_end = f[51];
	ps.exit_code = f[52];
	*ret = ps;
	return 0;
}

int proc_stat_pid(pid_t pid, struct proc_stat *ret)
{
	_cleanup_close_ int fd = open_pid(pid, "stat");

	if (fd < 0)
		return fd;
	return proc_parse_stat(fd, ret);
}

/* ---- fdinfo ---- */

static int parse_word(const char **p, char *buf, size_t len)
{
	const char *w = skip_blanks(*p);
	size_t n = strcspn(w, " \t\n");

	if (!n || n >= len)
		return -EINVAL;
	memcpy(buf, w, n);
	buf[n] = 0;
	*p = w + n;
	return 0;
}

int proc_parse_lock(const char *line, struct proc_lock *ret)
{
	struct proc_lock l = { 0 };
	const char *p = skip_blanks(line);
	uint64_t id, v;
	char word[24];
	bool neg;

	if (parse_u64(&p, 10, &id) < 0 || *p++ != ':')
		return -EINVAL;
	p = skip_blanks(p);
	if (strncmp(p, "->", 2) == 0) {
		l.waiter = true;
		p += 2;
	}
	if (parse_word(&p, l.kind, sizeof(l.kind)) < 0 || parse_word(&p, l.mode, sizeof(l.mode)) < 0 ||
	    parse_word(&p, l.type, sizeof(l.type)) < 0)
		return -EINVAL;
	p = skip_blanks(p);
	neg = *p == '-';
	p += neg;
	if (parse_u64(&p, 10, &v) < 0 || v > INT_MAX)
		return -EINVAL;
	l.pid = neg ? -(int)v : (int)v;
	p = skip_blanks(p);
	if (parse_u64(&p, 16, &v) < 0 || v > UINT32_MAX || *p++ != ':')
		return -EINVAL;
	l.dev_major = v;
	if (parse_u64(&p, 16, &v) < 0 || v > UINT32_MAX || *p++ != ':')
		return -EINVAL;
	l.dev_minor = v;
	if (parse_u64(&p, 10, &l.ino) < 0)
		return -EINVAL;
	p = skip_blanks(p);
	if (parse_u64(&p, 10, &l.start) < 0 || parse_word(&p, word, sizeof(word)) < 0)
		return -EINVAL;
	if (streq(word, "EOF"))
		l.end = UINT64_MAX;
	else if (parse_u64_all(word, 10, INT64_MAX, &l.end) < 0 || l.end < l.start)
		return -EINVAL;
	*ret = l;
	return 0;
}

int proc_parse_fdinfo(int fd, struct proc_fdinfo *ret)
{
	_cleanup_free_ struct line_reader *lr = malloc(sizeof(*lr));
	struct proc_fdinfo fi = { 0 };
	unsigned seen = 0;
	char *line;
	int r;

	if (!lr)
		return -ENOMEM;
	lr_init(lr, fd);
	while ((r = lr_next(lr, &line)) > 0) {
		uint64_t v;
		char *val = strchr(line, ':');

		if (!val)
			continue;   /* e.g. inotify/fanotify/epoll lines */
		*val++ = 0;
		if (streq(line, "pos")) {
			if (parse_u64_all(val, 10, INT64_MAX, &fi.pos) < 0)
				return -EINVAL;
			seen |= 1;
		} else if (streq(line, "flags")) {
			if (parse_u64_all(val, 8, UINT32_MAX, &v) < 0)
				return -EINVAL;
			fi.flags = v;
			seen |= 2;
		} else if (streq(line, "mnt_id")) {
			if (parse_int_all(val, 0, INT_MAX, &fi.mnt_id) < 0)
				return -EINVAL;
		} else if (streq(line, "ino")) {
			if (parse_u64_all(val, 10, UINT64_MAX, &fi.ino) < 0)
				return -EINVAL;
		} else if (streq(line, "lock")) {
			struct proc_lock l;

			if (proc_parse_lock(val, &l) < 0)
				return -EINVAL;
			if (fi.nlocks == 0)
				snprintf(fi.lock, sizeof(fi.lock), "%s %s", l.kind, l.type);
			if (fi.nlocks < PROC_FDINFO_LOCKS)
				fi.locks[fi.nlocks] = l;
			fi.nlocks++;
		}
	}
	if (r < 0)
		return r;
	if (seen != 3)
		return -EINVAL;
	*ret = fi;
	return 0;
}

int proc_fdinfo_pid(pid_t pid, int fd, struct proc_fdinfo *ret)
{
	char what[48];
	_cleanup_close_ int f = -1;

	if (fd < 0)
		return -EBADF;
	snprintf(what, sizeof(what), "fdinfo/%d", fd);
	f = open_pid(pid, what);
	if (f < 0)
		return f;
	return proc_parse_fdinfo(f, ret);
}

/* ---- limits ---- */

/* Row names of fs/proc/base.c, in RLIMIT_* order. */
static const char *const limit_names[16] = {
	"Max cpu time", "Max file size", "Max data size", "Max stack size",
	"Max core file size", "Max resident set", "Max processes", "Max open files",
	"Max locked memory", "Max address space", "Max file locks", "Max pending signals",
	"Max msgqueue size", "Max nice priority", "Max realtime priority", "Max realtime timeout",
};

static int parse_limit_value(const char **s, uint64_t *v)
{
	if (strncmp(*s, "unlimited", 9) == 0) {
		*s += 9;
		*v = RLIM_INFINITY;
		return 0;
	}
	return parse_u64(s, 10, v);
}

static int parse_limit_row(const char *line, const char *name, struct proc_limit *l)
{
	size_t n = strlen(name);
	const char *p = line + n;

	if (strncmp(line, name, n) != 0 || *p != ' ')
		return -EINVAL;
	p = skip_blanks(p);
	if (parse_limit_value(&p, &l->cur) < 0 || *p != ' ')
		return -EINVAL;
	p = skip_blanks(p);
	if (parse_limit_value(&p, &l->max) < 0 || (*p && *p != ' '))
		return -EINVAL;
	return 0;   /* the units column needs no reading */
}

int proc_parse_limits(int fd, struct proc_limit ret[16])
{
	_cleanup_free_ struct line_reader *lr = malloc(sizeof(*lr));
	struct proc_limit lim[16];
	int r, row = -1;
	char *line;

	if (!lr)
		return -ENOMEM;
	lr_init(lr, fd);
	while ((r = lr_next(lr, &line)) > 0) {
		if (row < 0) {
			if (strncmp(line, "Limit ", 6) != 0)
				return -EINVAL;
		} else if (row >= 16 || parse_limit_row(line, limit_names[row], &lim[row]) < 0)
			return -EINVAL;
		row++;
	}
	if (r < 0)
		return r;
	if (row != 16)
		return -EINVAL;
	memcpy(ret, lim, sizeof(lim));
	return 0;
}

int proc_limits_pid(pid_t pid, struct proc_limit ret[16])
{
	_cleanup_close_ int fd = open_pid(pid, "limits");

	if (fd < 0)
		return fd;
	return proc_parse_limits(fd, ret);
}

/* ---- listings ---- */

struct pid_vec {
	pid_t *v;
	size_t n, cap;
};

static int pid_vec_push(struct pid_vec *pv, pid_t p)
{
	if (pv->n == pv->cap) {
		size_t ncap = pv->cap ? pv->cap * 2 : 16;
		pid_t *nv = reallocarray(pv->v, ncap, sizeof(pid_t));

		if (!nv)
			return -ENOMEM;
		pv->v = nv;
		pv->cap = ncap;
	}
	pv->v[pv->n++] = p;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* A /proc directory entry that is a pid: digits only. */
static pid_t dirent_pid(const struct dirent *de)
{
	int pid;

	if (!isdigit((unsigned char)de->d_name[0]) ||
	    parse_int_all(de->d_name, 1, INT_MAX, &pid) < 0)
		return 0;
	return pid;
}

/* Collects pids of dir (filtered by keep) sorted ascending. */
static int list_pids(const char *dir, pid_t ppid, pid_t **ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct pid_vec pv = { 0 };
	struct dirent *de;

	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		pid_t p = dirent_pid(de);
		struct proc_stat ps;

		if (!p)
			continue;
		/* a process may exit meanwhile: then it is no child of anyone */
		if (ppid > 0 && (proc_stat_pid(p, &ps) < 0 || ps.ppid != ppid))
			continue;
		if (pid_vec_push(&pv, p) < 0) {
			free(pv.v);
			return -ENOMEM;
		}
	}
	if (errno) {
		int r = -errno;

		free(pv.v);
		return r;
	}
	if (pv.n)
		qsort(pv.v, pv.n, sizeof(pid_t), cmp_pid);
	*ret = pv.v;
	*ret_n = pv.n;
	return 0;
}

int proc_children(pid_t ppid, pid_t **ret_pids, size_t *ret_n)
{
	if (ppid <= 0)
		return -EINVAL;
	return list_pids("/proc", ppid, ret_pids, ret_n);
}

struct pid_pair { pid_t pid, ppid; };

static int cmp_pair(const void *a, const void *b)
{
	const struct pid_pair *x = a, *y = b;

	return x->ppid != y->ppid ? (x->ppid < y->ppid ? -1 : 1) : (x->pid < y->pid ? -1 : x->pid > y->pid);
}

/* Every (pid, ppid) on the system, sorted by ppid then pid. */
static int list_pairs(struct pid_pair **ret, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct pid_pair *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		pid_t p = dirent_pid(de);
		struct proc_stat ps;

		if (!p || proc_stat_pid(p, &ps) < 0)
			continue;
		if (n == cap) {
			struct pid_pair *nv = realloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = (struct pid_pair){ p, ps.ppid };
	}
	qsort(v, n, sizeof(*v), cmp_pair);
	*ret = v;
	*ret_n = n;
	return 0;
}

int proc_descendants(pid_t root, pid_t **ret_pids, pid_t **ret_ppids, size_t *ret_n)
{
	_cleanup_free_ struct pid_pair *all = NULL;
	_cleanup_free_ struct pid_pair *stack = NULL;
	_cleanup_free_ pid_t *pids = NULL, *ppids = NULL;
	size_t n = 0, sp = 0, out = 0, i;
	int r;

	if (root <= 0)
		return -EINVAL;
	r = list_pairs(&all, &n);
	if (r < 0)
		return r;
	stack = malloc((n + 1) * sizeof(*stack));
	pids = malloc((n + 1) * sizeof(pid_t));
	ppids = malloc((n + 1) * sizeof(pid_t));
	if (!stack || !pids || !ppids)
		return -ENOMEM;
	/* Depth first, children in pid order: push them in reverse, record
	 * each when it is popped, so a parent always precedes its subtree. */
	stack[sp++] = (struct pid_pair){ root, 0 };
	while (sp) {
		struct pid_pair p = stack[--sp];
		size_t lo = 0, hi = n;

		if (p.pid != root) {
			if (out >= n)
				return -EIO;   /* a cycle: /proc changed under us */
			pids[out] = p.pid;
			ppids[out++] = p.ppid;
		}
		while (lo < hi) {   /* first pair with ppid >= p */
			size_t mid = (lo + hi) / 2;
			if (all[mid].ppid < p.pid)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < n && all[i].ppid == p.pid; i++)
			;
		while (i-- > lo) {
			if (sp >= n)
				return -EIO;
			stack[sp++] = all[i];
		}
	}
	*ret_pids = TAKE_PTR(pids);
	*ret_ppids = TAKE_PTR(ppids);
	*ret_n = out;
	return 0;
}

int proc_threads(pid_t pid, pid_t **ret_tids, size_t *ret_n)
{
	char path[64];

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	return list_pids(path, 0, ret_tids, ret_n);
}

/* "notify: signal/tid.123": the kernel's sigev_notify names, and whose. */
static int parse_timer_notify(const char *v, struct proc_ptimer *t)
{
	static const char *const names[] = { "signal", "none", "thread" };
	size_t i, len;

	v = skip_blanks(v);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		len = strlen(names[i]);
		if (strncmp(v, names[i], len) == 0 && v[len] == '/')
			break;
	}
	if (i == ARRAY_SIZE(names))
		return -EINVAL;
	v += len + 1;
	t->notify = (int)i;
	if (strncmp(v, "tid.", 4) == 0)
		t->notify |= 4;   /* SIGEV_THREAD_ID */
	else if (strncmp(v, "pid.", 4) != 0)
		return -EINVAL;
	return parse_int_all(v + 4, 0, INT_MAX, &t->pid);
}

/* "signal: 10/00007f0012345678": signal number and sigev_value. */
static int parse_timer_signal(const char *v, struct proc_ptimer *t)
{
	const char *p = skip_blanks(v);
	uint64_t sig;
	int r;

	r = parse_u64(&p, 10, &sig);
	if (r < 0 || sig > 64 || *p != '/')
		return -EINVAL;
	t->signo = (int)sig;
	return parse_u64_all(p + 1, 16, UINT64_MAX, &t->value);
}

static int timer_line(const char *line, struct proc_ptimer *t, unsigned *seen)
{
	if (strncmp(line, "signal:", 7) == 0 && !(*seen & 1)) {
		*seen |= 1;
		return parse_timer_signal(line + 7, t);
	}
	if (strncmp(line, "notify:", 7) == 0 && !(*seen & 2)) {
		*seen |= 2;
		return parse_timer_notify(line + 7, t);
	}
	if (strncmp(line, "ClockID:", 8) == 0 && !(*seen & 4)) {
		*seen |= 4;
		return parse_int_all(line + 8, INT_MIN, INT_MAX, &t->clock);
	}
	return -EINVAL;
}

int proc_parse_timers(int fd, size_t max, struct proc_ptimer **ret, size_t *ret_n)
{
	_cleanup_free_ struct line_reader *lr = malloc(sizeof(*lr));
	_cleanup_free_ struct proc_ptimer *v = NULL;
	size_t n = 0, cap = 0;
	unsigned seen = 7;
	char *line;
	int r;

	if (!lr)
		return -ENOMEM;
	lr_init(lr, fd);
	while ((r = lr_next(lr, &line)) > 0) {
		if (strncmp(line, "ID:", 3) != 0) {
			if (n == 0 || (r = timer_line(line, &v[n - 1], &seen)) < 0)
				return -EINVAL;
			continue;
		}
		if (seen != 7 || n >= max)
			return seen != 7 ? -EINVAL : -E2BIG;
		if (n == cap) {
			struct proc_ptimer *nv = reallocarray(v, cap ? cap * 2 : 8, sizeof(*v));

			if (!nv)
				return -ENOMEM;
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		memset(&v[n], 0, sizeof(v[n]));
		seen = 0;
		if (parse_int_all(line + 3, 0, INT_MAX, &v[n++].id) < 0)
			return -EINVAL;
	}
	if (r < 0)
		return r;
	if (seen != 7)
		return -EINVAL;
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int proc_timers_pid(pid_t pid, size_t max, struct proc_ptimer **ret, size_t *ret_n)
{
	_cleanup_close_ int fd = open_pid(pid, "timers");

	if (fd < 0)
		return fd;
	return proc_parse_timers(fd, max, ret, ret_n);
}

int proc_posix_timers(pid_t pid)
{
	_cleanup_free_ struct proc_ptimer *v = NULL;
	size_t n = 0;
	int r = proc_timers_pid(pid, INT_MAX, &v, &n);

	return r < 0 ? r : (int)n;
}

pid_t proc_pidfd_pid(int pidfd)
{
	_cleanup_free_ struct line_reader *lr = malloc(sizeof(*lr));
	_cleanup_close_ int fd = -1;
	char path[64], *line;
	int r, pid;

	if (!lr)
		return -ENOMEM;
	if (pidfd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	lr_init(lr, fd);
	while ((r = lr_next(lr, &line)) > 0) {
		if (strncmp(line, "Pid:", 4) != 0)
			continue;
		/* -1: the process is gone; 0: not visible from our pid namespace */
		if (parse_int_all(line + 4, -1, INT_MAX, &pid) < 0)
			return -EINVAL;
		return pid > 0 ? pid : -ESRCH;
	}
	return r < 0 ? r : -EBADF;   /* not a pidfd */
}
