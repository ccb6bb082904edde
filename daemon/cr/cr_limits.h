// SPDX-License-Identifier: GPL-2.0-or-later
/* Bounds an image must keep: the checkpoint refuses what exceeds them
 * (validate.h runs on every record it writes) and restart refuses images
 * that exceed them. One place, so both sides agree. */
#pragma once

#define CR_MAX_TASKS 32768            /* processes and zombies in a tree */
#define CR_MAX_IDS (1u << 17)         /* pids and tids together */
#define CR_PID_MAX (1 << 22)
#define CR_MAX_FDS 8192               /* entries of one fd table */
#define CR_MAX_FD_NR (1u << 20)       /* fd numbers (the pool sits above them) */
#define CR_MAX_VMAS 65536             /* mappings of one process */
#define CR_PATH_MAX 4000              /* saved paths (files, cwd, exe, mappings) */
#define CR_MEMFD_NAME_MAX 249         /* memfd_create() name, without "memfd:" */
#define CR_SHM_MAX_SIZE (1ull << 40)  /* a shared memory object or memfd */
#define CR_PIPE_MAX_SIZE (16u << 20)  /* a pipe's buffer and its data */
#define CR_EPOLL_MAX_TARGETS 65536    /* interest list of one epoll */
#define CR_TIMER_MAX_NS (1ull << 62)  /* a timerfd's value, period or deadline */
#define CR_MAX_SIGPENDING 1024        /* queued signals of a task or thread */
#define CR_SIGINFO_SIZE 128
#define CR_ANON_NAME_MAX 80
#define CR_MAX_PTIMERS 4096          /* POSIX timers of a process */
#define CR_PTIMER_NS_MAX (1ull << 62) /* a timer's time left or interval */
#define CR_UTS_NAME_MAX 64           /* nodename and domainname, without the NUL */
#define CR_CLOCK_MAX_NS (1ull << 61)  /* a saved container clock (73 years) */
#define CR_MAX_SEM_SETS 1024          /* SysV semaphore sets of a container */
#define CR_SEM_MAX_NSEMS 1024         /* semaphores of one set */
#define CR_SEM_VALUE_MAX 32767        /* SEMVMX */
#define CR_MAX_SEM_UNDO 4096          /* undo entries of one process */
#define CR_MAX_LOCKS 32                /* file locks of one description, or of one fd */
#define CR_MAX_GROUPS 64              /* supplementary groups of a thread */
#define CR_MAX_SECCOMP_FILTERS 256    /* seccomp filters of a thread */
#define CR_SECCOMP_MAX_INSNS 2048     /* BPF instructions of one filter (fits a batch) */
#define CR_SOCK_MAX_OPTS 64           /* saved options of one socket */
/* A checkpoint that froze a state passing by itself (cr_mark_transient)
 * thaws and tries again: at most this many freezes, waiting the first
 * delay, doubled each time, and never longer in all than the last bound. */
#define CR_TRANSIENT_TRIES 8
#define CR_TRANSIENT_WAIT_MS 2
#define CR_TRANSIENT_MAX_MS 1000

/* Published ports of one container. */
#define CR_NET_MAX_PUBLISH 32
/* ckptd's addresses for container veths: 10.213.0.0/16 in /30s, the host
 * end at .1 and the container's at .2 of each. */
#define CR_NET_RANGE_BASE 0x0ad50000u
#define CR_NET_RANGE_MASK 0xffff0000u
#define CR_NET_PREFIX_LEN 30
/* NetConfig.mode */
#define CR_NET_MODE_PRIVATE 1
#define CR_NET_MODE_HOST 2
#define CR_GHOST_MAX_SIZE (1ull << 40) /* a file deleted while open (the user's --ghost-limit bounds it more) */
#define CR_GHOST_LIMIT_DEFAULT (1u << 20) /* --ghost-limit when not given */
#define CR_INOTIFY_MAX_WATCHES 8192   /* watches of one inotify instance */
#define CR_FANOTIFY_MAX_MARKS 8192    /* marks of one fanotify group */
/* fanotify_init() flags restart makes a group with: FAN_CLOEXEC,
 * FAN_NONBLOCK, FAN_CLASS_CONTENT, FAN_CLASS_PRE_CONTENT,
 * FAN_UNLIMITED_QUEUE, FAN_UNLIMITED_MARKS, FAN_REPORT_TID */
#define CR_FANOTIFY_FLAGS_OK 0x13fu
/* its event_f_flags: O_ACCMODE, O_LARGEFILE, O_CLOEXEC, O_APPEND, O_DSYNC, O_NOATIME, O_NONBLOCK, O_SYNC */
#define CR_FANOTIFY_EVENT_FLAGS_OK (03u | 0100000u | 02000000u | 02000u | 010000u | 01000000u | 04000u | 04010000u)
/* FAN_ACCESS_PERM, FAN_OPEN_PERM, FAN_OPEN_EXEC_PERM, FAN_PRE_ACCESS */
#define CR_FANOTIFY_PERM_EVENTS 0x00170000u
#define CR_INOTIFY_MAX_WD (1 << 20)   /* a watch descriptor restart makes again */
#define CR_USK_MAX_QUEUE (64u << 20)  /* bytes queued on one unix socket */
#define CR_USK_MAX_MSGS 65536         /* messages queued on one unix socket */
#define CR_USK_MAX_CONNS 65536        /* pending and accepted connections of one listener */
#define CR_TCP_MAX_QUEUE (64u << 20)  /* a TCP connection's send or receive queue */
#define CR_TCP_MAX_BACKLOG 65536      /* listen() backlog (the kernel caps it lower) */
#define CR_SOCK_FILTER_MAX 4096       /* classic BPF instructions (BPF_MAXINSNS) */
#define CR_DGRAM_MAX_QUEUE 8192       /* unread datagrams of one socket */
#define CR_DGRAM_MAX_BYTES (2u << 20) /* ... and their bytes (the record stays under IMAGE_MAX_META) */
#define CR_DGRAM_MAX_DATA4 65507      /* one UDP datagram's data from an IPv4 sender */
#define CR_DGRAM_MAX_DATA6 65527      /* ... from an IPv6 sender */
#define CR_NETLINK_MAX_GROUP_WORDS 32 /* netlink groups of one socket, 32 a word */
#define CR_MC_MAX_GROUPS 256          /* multicast groups of one socket */
#define CR_MC_MAX_SOURCES 64          /* sources of one group's filter */
#define CR_PTY_MAX_INDEX 4095         /* pty indexes of a devpts instance */
#define CR_PTY_MAX_DATA (1u << 20)    /* bytes waiting in one direction of a pty */
#define CR_PTY_MAX_CANON 4095        /* what N_TTY holds in canonical mode, lines and end-of-files */
#define CR_MAX_SYSV_SHMS 1024         /* SysV shared memory segments of a container */
#define CR_MAX_MSQS 1024              /* SysV message queues of a container */
#define CR_MAX_MQS 256                /* POSIX message queues of a container */
#define CR_IPC_MAX_MSGS 65536         /* messages of all queues together (in the header) */
#define CR_IPC_MAX_MSG_BYTES (2u << 20) /* ... and their bytes */
#define CR_MSQ_MAX_QBYTES 0x7fffffffu /* msg_qbytes (MSGMNB at most INT_MAX) */
#define CR_MQ_MAX_MAXMSG 65536        /* mq_maxmsg (HARD_MSGMAX) */
#define CR_MQ_MAX_MSGSIZE (16u << 20) /* mq_msgsize (HARD_MSGSIZEMAX) */
#define CR_MQ_PRIO_MAX 32768          /* MQ_PRIO_MAX */
#define CR_MQ_NAME_MAX 255
/* The metadata part of an image (everything before the pages), which the
 * checkpoint holds and restart reads whole before it acts on any of it. */
#define CR_META_MAX_BYTES (256ull << 20)  /* payload bytes of all metadata records */
#define CR_META_MAX_RECORDS (1u << 20)    /* metadata records, SEGMENTs included */
/* Incremental images (incr.h): parents one image may name, through its
 * parent, its parent's parent, ...; and page runs one task's segment of a
 * parent may hold. */
#define CR_INCR_CHAIN_MAX 16
#define CR_INCR_RUNS_MAX (1u << 22)
/* Page payload bytes of one page-MAC segment of an image with a parent
 * (checkpoint.c): a reader verifies each at its MAC record. */
#define CR_INCR_SEG_BYTES (1u << 20)
