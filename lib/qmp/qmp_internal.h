/* qmp_internal.h - what qmp.c shares with qmp_commands.c; not part of the public API. */
#ifndef CAIRN_QMP_INTERNAL_H
#define CAIRN_QMP_INTERNAL_H

#include "qmp.h"

/* Fills *ERR (if not NULL) for a failure of WHAT (a command, "connect", "greeting") on the
 * connection NAME. CLASS NULL means the local class of KIND. Returns -1. */
int qmp_set_error(struct qmp_error *err, const char *name, const char *what,
		  enum qmp_error_kind kind, const char *class, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* The socket path or label the handle was opened with. */
const char *qmp_name(const struct qmp *q);

#endif
