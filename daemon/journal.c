// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptd's log sink under systemd: when stderr is the journal's stream
 * (JOURNAL_STREAM names its device and inode, systemd.exec(5)), each line
 * goes to journald as one entry with MESSAGE, PRIORITY and the caller's
 * structured fields (CKPT_CONTAINER, CKPT_OPERATION, ...). Printing the
 * "ckptd[pid]:" prefix there would double the one journald adds. */
#include "journal.h"
#include "log.h"
#include "macro.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#define JOURNAL_MAX_FIELDS 8

static void journal_sink(enum log_level lvl, const char *msg, const struct log_field *fields,
			 size_t n_fields)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char head[3][2200], extra[JOURNAL_MAX_FIELDS][256];
	struct iovec iov[3 + JOURNAL_MAX_FIELDS];
	size_t n = 0;

	snprintf(head[0], sizeof(head[0]), "MESSAGE=%s", msg);
	snprintf(head[1], sizeof(head[1]), "PRIORITY=%d", prio[lvl]);
	snprintf(head[2], sizeof(head[2]), "SYSLOG_IDENTIFIER=ckptd");
	for (size_t i = 0; i < 3; i++)
		iov[n++] = (struct iovec){ head[i], strlen(head[i]) };
	for (size_t i = 0; i < n_fields && i < JOURNAL_MAX_FIELDS; i++) {
		if (!fields[i].value)
			continue;
		snprintf(extra[i], sizeof(extra[i]), "%s=%s", fields[i].name, fields[i].value);
		iov[n++] = (struct iovec){ extra[i], strlen(extra[i]) };
	}
	if (sd_journal_sendv(iov, (int)n) < 0)
		fprintf(stderr, "%s\n", msg);   /* journald gone: the stream still reaches it or a terminal */
}

bool journal_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void journal_setup(void)
{
	if (journal_stderr_is_journal())
		log_set_sink(journal_sink);
}
