/* logring.h - a bounded in-memory ring of log lines. When full, the oldest lines are
 * overwritten; a new line is never dropped. Bytes are assembled into lines first. */
#ifndef CAIRN_LOGRING_H
#define CAIRN_LOGRING_H

#include <stddef.h>

#define LOGRING_SIZE (64 * 1024)  /* bytes kept per service */
#define LOGRING_LINE_MAX 2048     /* longer output is split into lines of this size */

typedef void logring_line_fn(const char *line, size_t len, void *arg);

struct logring {
	char *buf;                 /* LOGRING_SIZE bytes of '\n'-terminated lines */
	size_t head;               /* next write position */
	size_t used;               /* bytes in use */
	size_t lines;              /* complete lines stored */
	size_t partial_len;
	char partial[LOGRING_LINE_MAX];
};

int logring_init(struct logring *ring);  /* allocates; 0 or -1 */
void logring_free(struct logring *ring);
/* Feeds raw output; each completed line is stored and passed to FN (may be NULL). */
void logring_feed(struct logring *ring, const char *data, size_t len, logring_line_fn *fn, void *arg);
/* Stores a pending partial line, if any, as a line (e.g. when the process exits). */
void logring_flush(struct logring *ring, logring_line_fn *fn, void *arg);
/* Calls FN for each of the last N stored lines, oldest first; returns how many. */
size_t logring_tail(const struct logring *ring, size_t n, logring_line_fn *fn, void *arg);

#endif
