/* logring.c - bounded ring of log lines (see logring.h). */
#include "logring.h"

#include <stdlib.h>
#include <string.h>

int logring_init(struct logring *ring)
{
	memset(ring, 0, sizeof *ring);
	ring->buf = malloc(LOGRING_SIZE);
	return ring->buf ? 0 : -1;
}

void logring_free(struct logring *ring)
{
	free(ring->buf);
	memset(ring, 0, sizeof *ring);
}

static size_t tail_pos(const struct logring *ring)
{
	return (ring->head + LOGRING_SIZE - ring->used) % LOGRING_SIZE;
}

static void drop_oldest(struct logring *ring)
{
	size_t pos = tail_pos(ring), n = 0;

	while (n < ring->used && ring->buf[(pos + n) % LOGRING_SIZE] != '\n')
		n++;
	ring->used -= n < ring->used ? n + 1 : n;
	ring->lines--;
}

static void store_line(struct logring *ring, const char *line, size_t len)
{
	if (len > LOGRING_LINE_MAX)
		len = LOGRING_LINE_MAX;
	while (ring->used + len + 1 > LOGRING_SIZE)
		drop_oldest(ring);
	for (size_t i = 0; i <= len; i++) {
		ring->buf[ring->head] = i < len ? (line[i] == '\n' ? ' ' : line[i]) : '\n';
		ring->head = (ring->head + 1) % LOGRING_SIZE;
	}
	ring->used += len + 1;
	ring->lines++;
}

static void complete_line(struct logring *ring, logring_line_fn *fn, void *arg)
{
	size_t len = ring->partial_len;

	if (len > 0 && ring->partial[len - 1] == '\r')
		len--;
	store_line(ring, ring->partial, len);
	if (fn)
		fn(ring->partial, len, arg);
	ring->partial_len = 0;
}

void logring_feed(struct logring *ring, const char *data, size_t len, logring_line_fn *fn, void *arg)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			complete_line(ring, fn, arg);
			continue;
		}
		ring->partial[ring->partial_len++] = data[i];
		if (ring->partial_len == LOGRING_LINE_MAX)
			complete_line(ring, fn, arg);
	}
}

void logring_flush(struct logring *ring, logring_line_fn *fn, void *arg)
{
	if (ring->partial_len > 0)
		complete_line(ring, fn, arg);
}

size_t logring_tail(const struct logring *ring, size_t n, logring_line_fn *fn, void *arg)
{
	char line[LOGRING_LINE_MAX];
	size_t skip = ring->lines > n ? ring->lines - n : 0, pos = tail_pos(ring), left = ring->used;
	size_t emitted = 0, len = 0;

	while (left > 0) {
		char c = ring->buf[pos];
		pos = (pos + 1) % LOGRING_SIZE;
		left--;
		if (c != '\n') {
			if (len < sizeof line)
				line[len++] = c;
			continue;
		}
		if (skip > 0) {
			skip--;
		} else {
			if (fn)
				fn(line, len, arg);
			emitted++;
		}
		len = 0;
	}
	return emitted;
}
