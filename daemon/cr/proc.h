// SPDX-License-Identifier: GPL-2.0-or-later
/* Parsers for /proc files. Each takes an open fd (or a buffer) so unit tests
 * can feed fixtures; the *_pid helpers open /proc/PID/... themselves.
 * All return 0 or -errno (-EINVAL for malformed input). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* VmFlags of /proc/PID/smaps, one bit each. */
enum {
	VMF_RD = 1ull << 0, VMF_WR = 1ull << 1, VMF_EX = 1ull << 2, VMF_SH = 1ull << 3,
	VMF_MR = 1ull << 4, VMF_MW = 1ull << 5, VMF_ME = 1ull << 6, VMF_MS = 1ull << 7,
	VMF_GD = 1ull << 8, VMF_PF = 1ull << 9, VMF_LO = 1ull << 10, VMF_IO = 1ull << 11,
	VMF_SR = 1ull << 12, VMF_RR = 1ull << 13, VMF_DC = 1ull << 14, VMF_DE = 1ull << 15,
	VMF_AC = 1ull << 16, VMF_NR = 1ull << 17, VMF_HT = 1ull << 18, VMF_SF = 1ull << 19,
	VMF_AR = 1ull << 20, VMF_WF = 1ull << 21, VMF_DD = 1ull << 22, VMF_SD = 1ull << 23,
	VMF_MM = 1ull << 24, VMF_HG = 1ull << 25, VMF_NH = 1ull << 26, VMF_MG = 1ull << 27,
	VMF_UM = 1ull << 28, VMF_UW = 1ull << 29, VMF_SS = 1ull << 30, VMF_SL = 1ull << 31,
	VMF_BT = 1ull << 32, VMF_MT = 1ull << 33, VMF_UI = 1ull << 34, VMF_DP = 1ull << 35,
	VMF_LF = 1ull << 36, VMF_OTHER = 1ull << 63,
};

struct proc_vma {
	uint64_t start, end;
	uint64_t pgoff;          /* bytes */
	uint32_t prot;           /* PROT_READ|PROT_WRITE|PROT_EXEC */
	bool shared;             /* 's' in perms */
	unsigned dev_major, dev_minor;
	uint64_t ino;
	char *path;              /* NULL for anonymous; "[heap]", "[anon:x]", "/x (deleted)" as printed */
	uint64_t vmflags;        /* VMF_* (smaps only; 0 from maps) */
};

/* Parse /proc/PID/maps or /proc/PID/smaps text from fd. */
int proc_parse_vmas(int fd, struct proc_vma **ret_vmas, size_t *ret_n);
int proc_vmas_pid(pid_t pid, bool smaps, struct proc_vma **ret_vmas, size_t *ret_n);
void proc_vmas_free(struct proc_vma *vmas, size_t n);

struct proc_status {
	char name[64];
	char state;
	pid_t tgid, pid, ppid, tracer_pid;
	pid_t nspid[8];   int nspid_n;    /* NSpid: outermost first */
	pid_t nspgid[8];  int nspgid_n;
	pid_t nssid[8];   int nssid_n;
	uint32_t uid[4], gid[4];         /* real, effective, saved, fs */
	uint32_t groups[64]; int ngroups;
	int threads;
	uint32_t umask;
	uint64_t sigq_cur, sigq_max;
	uint64_t sigpnd, shdpnd, sigblk, sigign, sigcgt;
	uint64_t capinh, capprm, capeff, capbnd, capamb;
	int no_new_privs;
	int seccomp;
};
int proc_parse_status(int fd, struct proc_status *ret);
int proc_status_pid(pid_t pid, struct proc_status *ret);
/* One number of a status file's text (proc_status_text): the value of the
 * line "key:" in base 10 or 16 (a "kB" after it allowed); 0, -ENOENT if no
 * line has that key, -EINVAL if its value is not a number. */
int proc_status_field(const char *text, const char *key, int base, uint64_t *ret);
/* /proc/PID/status as a malloc'd NUL-terminated text. */
int proc_status_text(pid_t pid, char **ret_buf);

struct proc_stat {
	pid_t pid;
	char comm[64];                  /* without parentheses; may contain spaces and ')' */
	char state;
	pid_t ppid, pgrp, session;
	int tty_nr;
	long num_threads;
	uint64_t starttime;
	uint64_t start_code, end_code, start_stack;
	int exit_signal;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	int exit_code;
};
int proc_parse_stat(int fd, struct proc_stat *ret);
int proc_stat_pid(pid_t pid, struct proc_stat *ret);

/* One line of /proc/locks or a "lock:" line of fdinfo (fs/locks.c
 * lock_get_status): "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF". */
struct proc_lock {
	char kind[8];                   /* FLOCK, POSIX, OFDLCK, LEASE, DELEG, ACCESS, ... */
	char mode[12];                  /* ADVISORY; leases: ACTIVE, BREAKING, BREAKER */
	char type[8];                   /* READ, WRITE, UNLCK */
	int pid;                        /* as the reader's /proc sees it; -1: OFD */
	unsigned dev_major, dev_minor;
	uint64_t ino;
	uint64_t start, end;            /* end: UINT64_MAX for "EOF" */
	bool waiter;                    /* "->": blocked, waiting for the lock */
};
int proc_parse_lock(const char *line, struct proc_lock *ret);

#define PROC_FDINFO_LOCKS 32
struct proc_fdinfo {
	uint64_t pos;
	uint32_t flags;                 /* octal in the file */
	int mnt_id;
	uint64_t ino;
	int nlocks;                     /* "lock:" lines: locks and leases on this description */
	char lock[40];                  /* the first one's kind and type: "FLOCK WRITE" */
	struct proc_lock locks[PROC_FDINFO_LOCKS];   /* the first ones of them */
};
int proc_parse_fdinfo(int fd, struct proc_fdinfo *ret);
int proc_fdinfo_pid(pid_t pid, int fd, struct proc_fdinfo *ret);

/* /proc/PID/limits: RLIM_NLIMITS entries, RLIM_INFINITY for "unlimited". */
struct proc_limit { uint64_t cur, max; };
int proc_parse_limits(int fd, struct proc_limit ret[16]);
int proc_limits_pid(pid_t pid, struct proc_limit ret[16]);

/* Host pids of the direct children of ppid (walks /proc/[0-9]*stat). */
int proc_children(pid_t ppid, pid_t **ret_pids, size_t *ret_n);
/* Host pids of every process below root with their parents' pids, in
 * the order a depth-first walk meets them: parents before children,
 * siblings in pid order. One pass over /proc. */
int proc_descendants(pid_t root, pid_t **ret_pids, pid_t **ret_ppids, size_t *ret_n);
/* Thread ids of a process (/proc/PID/task). */
int proc_threads(pid_t pid, pid_t **ret_tids, size_t *ret_n);
/* One POSIX timer as /proc/PID/timers shows it. */
struct proc_ptimer {
	int id;
	int signo;
	uint64_t value;               /* sigev_value */
	int notify;                   /* sigev_notify: SIGEV_SIGNAL, _NONE, _THREAD, | SIGEV_THREAD_ID */
	pid_t pid;                    /* the process or thread notified, in the /proc's pid namespace */
	int clock;
};
/* The timers of /proc/PID/timers (at most max: -E2BIG above); *ret is malloc'd. */
int proc_parse_timers(int fd, size_t max, struct proc_ptimer **ret, size_t *ret_n);
int proc_timers_pid(pid_t pid, size_t max, struct proc_ptimer **ret, size_t *ret_n);
/* Number of POSIX timers (/proc/PID/timers entries). */
int proc_posix_timers(pid_t pid);
/* Read a whole small /proc file into a malloc'd NUL-terminated buffer. */
int proc_read_file(const char *path, char **ret_buf, size_t *ret_len);
/* A short /proc file (a number, a label) into buf, NUL-terminated and cut
 * at size - 1 bytes; returns its length or -errno. */
int proc_read_text(const char *path, char *buf, size_t size);
/* Pid of a pidfd as seen from this process's namespace (fdinfo "Pid:"). */
pid_t proc_pidfd_pid(int pidfd);
