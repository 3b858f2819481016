/* console.h - where PID 1 writes its lines: /dev/console (never blocking) or stderr. */
#ifndef CAIRN_CONSOLE_H
#define CAIRN_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

extern bool console_debug_enabled;

/* Opens PATH (O_WRONLY|O_NOCTTY|O_NONBLOCK) as the console; NULL means stderr.
 * With ALSO_KMSG, the stage 1 error line also goes to /dev/kmsg. */
void console_open(const char *path, bool also_kmsg);
/* Writes "cairn: " + formatted text + "\n" as one write. */
void console_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, only when cairn.debug is set. */
void console_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes raw bytes (one line, newline included by caller); dropped if the console is full.
 * console_line waits up to 200 ms for a full console instead. */
void console_write(const char *buf, size_t len);
/* Stage 1 failure: prints "cairn: stage1: error: WHAT: DETAIL" and halts forever. */
void stage1_fail(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
