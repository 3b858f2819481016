/* logs.c - GET /v1/logs/NAME (the last lines from PID 1's log ring, then, with follow, new
 * lines from the mirrored file LOG_DIR/NAME.log, across rotation and truncation) and
 * GET /v1/dmesg (kernel records from /dev/kmsg as "[SECONDS.MICROS] MESSAGE"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

#define FOLLOW_POLL_MS 200
#define PARTIAL_MAX (64 * 1024)   /* a longer unfinished line is sent as it is */

/* --- pure pieces ---------------------------------------------------------------------- */

static bool digits(const char *p, size_t len, unsigned long long *value)
{
	*value = 0;
	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		*value = *value * 10 + (unsigned long long)(p[i] - '0');
	}
	return true;
}

int kmsg_format(const char *record, size_t len, char *out, size_t size)
{
	const char *semicolon = memchr(record, ';', len), *field = record, *end;
	unsigned long long value, usec = 0;
	int n;

	if (len == 0 || record[0] == ' ' || !semicolon)
		return -1;
	for (int i = 0; i < 3; i++) {   /* priority, sequence, microseconds */
		end = memchr(field, ',', (size_t)(semicolon - field));
		if (!end && i < 2)
			return -1;
		if (!end)
			end = semicolon;
		if (!digits(field, (size_t)(end - field), &value))
			return -1;
		usec = value;
		field = end + 1;
		if (end == semicolon && i < 2)
			return -1;
	}
	n = snprintf(out, size, "[%llu.%06llu] %.*s", usec / 1000000, usec % 1000000,
		     (int)(len - (size_t)(semicolon + 1 - record)), semicolon + 1);
	if (n < 0)
		return -1;
	return (size_t)n < size ? n : (int)size - 1;
}

size_t log_overlap(const json_t *tail, const char *data, size_t len)
{
	size_t lines = 0, count = json_array_size(tail);
	const char *starts[256];

	for (size_t i = 0; i < len && lines < 256; i++)
		if (i == 0 || data[i - 1] == '\n') {
			if (!memchr(data + i, '\n', len - i))
				break;
			starts[lines++] = data + i;
		}
	for (size_t j = lines < count ? lines : count; j > 0; j--) {
		bool same = true;
		for (size_t i = 0; i < j && same; i++) {
			const json_t *line = json_array_get(tail, count - j + i);
			size_t line_len = json_string_length(line);
			const char *nl = memchr(starts[i], '\n', len - (size_t)(starts[i] - data));
			same = (size_t)(nl - starts[i]) == line_len &&
			       memcmp(starts[i], json_string_value(line), line_len) == 0;
		}
		if (same) {
			const char *nl = memchr(starts[j - 1], '\n', len - (size_t)(starts[j - 1] - data));
			return (size_t)(nl + 1 - data);
		}
	}
	return 0;
}

/* --- following a log file ------------------------------------------------------------- */

struct log_follow {
	char path[PATH_MAX];
	int fd;                  /* -1: the file does not exist (yet) */
	dev_t dev;
	ino_t ino;
	off_t offset;
	struct api_buf partial;  /* an unfinished last line */
};

/* Appends the whole lines written since the last call to OUT. 0, or -1. */
static int follow_read(struct log_follow *follow, struct api_buf *out)
{
	char chunk[16384];

	while (follow->fd >= 0) {
		ssize_t n = pread(follow->fd, chunk, sizeof chunk, follow->offset);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		follow->offset += n;
		if (buf_append(&follow->partial, chunk, (size_t)n) < 0)
			return -1;
		nl = memrchr(follow->partial.data, '\n', follow->partial.len);
		size_t whole = nl ? (size_t)(nl + 1 - follow->partial.data) :
			       follow->partial.len >= PARTIAL_MAX ? follow->partial.len : 0;
		if (whole) {
			if (buf_append(out, follow->partial.data, whole) < 0)
				return -1;
			memmove(follow->partial.data, follow->partial.data + whole,
				follow->partial.len - whole);
			follow->partial.len -= whole;
		}
	}
	return 0;
}

/* Opens the file when it appears, switches to the new one after a rotation (once the old
 * one is read to its end), starts over after a truncation. True when it changed files. */
static bool follow_check(struct log_follow *follow, struct api_buf *out)
{
	struct stat st;

	if (stat(follow->path, &st) < 0)
		return false;
	if (follow->fd >= 0 && st.st_dev == follow->dev && st.st_ino == follow->ino) {
		if (st.st_size < follow->offset) {   /* truncated */
			follow->offset = 0;
			follow->partial.len = 0;
		}
		return false;
	}
	if (follow->fd >= 0) {   /* rotated: what is left of the old file first */
		follow_read(follow, out);
		if (follow->partial.len && buf_append(out, follow->partial.data,
						      follow->partial.len) == 0)
			buf_append(out, "\n", 1);   /* the old file ended without a newline */
		follow->partial.len = 0;
		close(follow->fd);
	}
	follow->fd = open(follow->path, O_RDONLY | O_CLOEXEC);
	follow->offset = 0;
	if (follow->fd >= 0 && fstat(follow->fd, &st) == 0) {
		follow->dev = st.st_dev;
		follow->ino = st.st_ino;
	}
	return follow->fd >= 0;
}

static int follow_next(void *state, struct api_stream *stream, struct api_buf *out)
{
	struct log_follow *follow = state;

	for (;;) {
		if (follow_read(follow, out) < 0)
			return -1;
		if (out->len)
			return 1;
		if (follow_check(follow, out))
			continue;
		if (out->len)
			return 1;
		if (stream_wait(stream, -1, FOLLOW_POLL_MS) < 0)
			return 0;
	}
}

static void follow_free(void *state)
{
	struct log_follow *follow = state;

	if (follow->fd >= 0)
		close(follow->fd);
	buf_free(&follow->partial);
	free(follow);
}

/* Opens PATH at its end, before PID 1 is asked for the tail. */
static struct log_follow *follow_open(const char *log_dir, const char *name)
{
	struct log_follow *follow = calloc(1, sizeof *follow);
	struct stat st;

	if (!follow)
		return NULL;
	snprintf(follow->path, sizeof follow->path, "%s/%s.log", log_dir, name);
	follow->fd = open(follow->path, O_RDONLY | O_CLOEXEC);
	if (follow->fd >= 0 && fstat(follow->fd, &st) == 0) {
		follow->dev = st.st_dev;
		follow->ino = st.st_ino;
		follow->offset = st.st_size;
	}
	return follow;
}

/* --- GET /v1/logs/NAME ---------------------------------------------------------------- */

static int join_lines(struct api_buf *out, const json_t *lines, size_t from)
{
	for (size_t i = from; i < json_array_size(lines); i++) {
		const json_t *line = json_array_get(lines, i);
		if (buf_append(out, json_string_value(line), json_string_length(line)) < 0 ||
		    buf_append(out, "\n", 1) < 0)
			return -1;
	}
	return 0;
}

void handle_logs(struct api_server *server, const struct api_request *req,
		 struct api_reply *reply)
{
	const char *name = req->param[0];
	struct log_follow *follow = NULL;
	struct api_buf fresh = { 0 };
	char request[128];
	json_t *lines;
	bool following;
	long tail;

	if (!service_name_valid(name)) {
		reply_error(reply, 400, "invalid service name", NULL);
		return;
	}
	if (count_parse(req->query(req, "tail"), 0, API_TAIL_MAX, API_TAIL_DEFAULT, &tail) < 0 ||
	    flag_parse(req->query(req, "follow"), &following) < 0) {
		reply_error(reply, 400, "invalid tail or follow: expected tail=0..100000, follow=1 or 0",
			    NULL);
		return;
	}
	if (following && !(follow = follow_open(server->log_dir, name)))
		return;
	snprintf(request, sizeof request, "logs %s %ld", name, tail > 0 ? tail : 1);
	lines = handler_init_request(server, request, reply);
	if (!lines) {
		if (follow)
			follow_free(follow);
		return;
	}
	reply->status = 200;
	reply->content_type = "text/plain; charset=utf-8";
	if (join_lines(&reply->stream_head, lines,
		       json_array_size(lines) > (size_t)tail ? json_array_size(lines) - (size_t)tail : 0) < 0)
		reply->status = 500;
	if (follow) {
		/* lines PID 1 wrote while it answered are in the file and maybe in the tail too */
		follow_check(follow, &fresh);
		follow_read(follow, &fresh);
		size_t skip = log_overlap(lines, fresh.data ? fresh.data : "", fresh.len);
		if (buf_append(&reply->stream_head, fresh.data + skip, fresh.len - skip) < 0)
			reply->status = 500;
		buf_free(&fresh);
		reply->stream_next = follow_next;
		reply->stream_state = follow;
		reply->stream_free = follow_free;
	}
	json_decref(lines);
}

/* --- GET /v1/dmesg -------------------------------------------------------------------- */

struct kmsg_reader {
	int fd;
	bool pollable;          /* a character device or FIFO: poll; a regular file: sleep */
	bool at_end;            /* the last read found no data */
	bool eof;               /* ... and said end of file (no writer, or a regular file) */
	struct api_buf partial;
	json_t *tail;           /* with a tail limit: the last lines, formatted */
	long tail_max;
};

/* Formats each whole record line of the partial buffer into OUT (or the tail). */
static int kmsg_lines(struct kmsg_reader *reader, struct api_buf *out)
{
	char line[8192 + 64];
	size_t start = 0;

	for (;;) {
		char *nl = memchr(reader->partial.data + start, '\n', reader->partial.len - start);
		if (!nl)
			break;
		int n = kmsg_format(reader->partial.data + start,
				    (size_t)(nl - reader->partial.data) - start, line, sizeof line - 1);
		start = (size_t)(nl + 1 - reader->partial.data);
		if (n < 0)
			continue;
		if (reader->tail) {
			json_array_append_new(reader->tail, json_stringn_nocheck(line, (size_t)n));
			if (json_array_size(reader->tail) > (size_t)reader->tail_max)
				json_array_remove(reader->tail, 0);
		} else if (buf_append(out, line, (size_t)n) < 0 || buf_append(out, "\n", 1) < 0) {
			return -1;
		}
	}
	memmove(reader->partial.data, reader->partial.data + start, reader->partial.len - start);
	reader->partial.len -= start;
	return 0;
}

/* Reads what is there now. 0, or -1. */
static int kmsg_read(struct kmsg_reader *reader, struct api_buf *out)
{
	char chunk[16384];

	reader->at_end = reader->eof = false;
	for (;;) {
		ssize_t n = read(reader->fd, chunk, sizeof chunk);

		if (n < 0 && (errno == EINTR || errno == EPIPE))   /* EPIPE: records overwritten */
			continue;
		if (n < 0 && errno == EAGAIN) {
			reader->at_end = true;
			return 0;
		}
		if (n < 0)
			return -1;
		if (n == 0) {
			reader->at_end = reader->eof = true;
			return 0;
		}
		if (reader->partial.len + (size_t)n > PARTIAL_MAX)
			reader->partial.len = 0;   /* no record is this long: resynchronise */
		if (buf_append(&reader->partial, chunk, (size_t)n) < 0 || kmsg_lines(reader, out) < 0)
			return -1;
		if (out->len >= sizeof chunk)
			return 0;
	}
}

static int kmsg_next(void *state, struct api_stream *stream, struct api_buf *out)
{
	struct kmsg_reader *reader = state;

	for (;;) {
		if (kmsg_read(reader, out) < 0)
			return -1;
		if (out->len)
			return 1;
		bool poll_fd = reader->pollable && !reader->eof;
		if (stream_wait(stream, poll_fd ? reader->fd : -1, poll_fd ? 1000 : FOLLOW_POLL_MS) < 0)
			return 0;
	}
}

static void kmsg_free(void *state)
{
	struct kmsg_reader *reader = state;

	close(reader->fd);
	buf_free(&reader->partial);
	json_decref(reader->tail);
	free(reader);
}

void handle_dmesg(struct api_server *server, const struct api_request *req,
		  struct api_reply *reply)
{
	struct kmsg_reader *reader;
	struct stat st;
	bool following;
	long tail;

	if (count_parse(req->query(req, "tail"), 0, API_TAIL_MAX, API_TAIL_DEFAULT, &tail) < 0 ||
	    flag_parse(req->query(req, "follow"), &following) < 0) {
		reply_error(reply, 400, "invalid tail or follow: expected tail=0..100000, follow=1 or 0",
			    NULL);
		return;
	}
	reader = calloc(1, sizeof *reader);
	if (!reader)
		return;
	reader->fd = open(server->kmsg_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (reader->fd < 0) {
		char error[PATH_MAX + 64];
		snprintf(error, sizeof error, "cannot read %s: %s", server->kmsg_path, strerror(errno));
		free(reader);
		reply_error(reply, 503, error, NULL);
		return;
	}
	reader->pollable = fstat(reader->fd, &st) == 0 && !S_ISREG(st.st_mode);
	reader->tail = json_array();
	reader->tail_max = tail;
	reply->status = 200;
	reply->content_type = "text/plain; charset=utf-8";
	if (kmsg_read(reader, &reply->stream_head) < 0 ||
	    join_lines(&reply->stream_head, reader->tail, 0) < 0) {
		kmsg_free(reader);
		reply->content_type = NULL;
		reply_error(reply, 500, "cannot read the kernel log", NULL);
		return;
	}
	json_decref(reader->tail);
	reader->tail = NULL;
	if (!following) {
		kmsg_free(reader);
		return;
	}
	reply->stream_next = kmsg_next;
	reply->stream_state = reader;
	reply->stream_free = kmsg_free;
}
