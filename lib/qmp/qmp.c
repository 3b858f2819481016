/* qmp.c - QMP connection: connect and negotiate, synchronous commands, the event queue
 * (see qmp.h for the contract). Framing lives in qmp_frame.c, typed helpers in qmp_commands.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MSG_NOSIGNAL, SOCK_CLOEXEC with -std=c11 */
#endif
#include "qmp.h"
#include "qmp_frame.h"
#include "qmp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK 65536

struct qmp {
	int fd;
	enum qmp_state state;
	char name[128];            /* socket path or caller's label, for messages */
	uint64_t last_id;
	json_t *greeting;

	char *rbuf;                /* received bytes: rbuf[rpos..rlen) not yet framed */
	size_t rpos, rlen, rcap;
	struct qmp_frame frame;

	struct qmp_event *events;  /* ring of QMP_EVENT_QUEUE_MAX */
	size_t ev_head, ev_count;
	uint64_t ev_dropped;
	qmp_event_handler handler;
	void *handler_opaque;
	bool delivering;
};

/* ---- errors ---- */

static const char *const local_class[] = {
	[QMP_ERROR_NONE] = "",
	[QMP_ERROR_QEMU] = "",
	[QMP_ERROR_TIMEOUT] = "Timeout",
	[QMP_ERROR_CLOSED] = "ConnectionClosed",
	[QMP_ERROR_PROTOCOL] = "ProtocolError",
	[QMP_ERROR_SYSTEM] = "SystemError",
	[QMP_ERROR_INVALID] = "InvalidArgument",
};

/* Replaces control characters (a newline from the peer) so that a message stays one line. */
static void make_one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

int qmp_set_error(struct qmp_error *err, const char *name, const char *what,
		  enum qmp_error_kind kind, const char *class, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->kind = kind;
	snprintf(err->class, sizeof(err->class), "%s", class ? class : local_class[kind]);
	va_start(ap, fmt);
	vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
	va_end(ap);
	if (kind == QMP_ERROR_QEMU)
		snprintf(err->message, sizeof(err->message), "qmp %s: %s: %s: %s", name, what,
			 err->class, err->desc);
	else
		snprintf(err->message, sizeof(err->message), "qmp %s: %s: %s", name, what, err->desc);
	make_one_line(err->class);
	make_one_line(err->desc);
	make_one_line(err->message);
	return -1;
}

/* A failure after which the stream is unusable: close the socket, state CLOSED. */
static int fail_connection(struct qmp *q, struct qmp_error *err, const char *what,
			   enum qmp_error_kind kind, const char *reason)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->state = QMP_STATE_CLOSED;
	return qmp_set_error(err, q->name, what, kind, NULL, "%s", reason);
}

static int fail_closed(struct qmp *q, struct qmp_error *err, const char *what)
{
	return qmp_set_error(err, q->name, what, QMP_ERROR_CLOSED, NULL, "connection closed");
}

/* ---- time ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Milliseconds left until DEADLINE, as a poll(2) timeout (-1: forever). */
static int remaining_ms(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	int64_t left = deadline - now_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits for EVENTS on the socket until DEADLINE. Returns 1 ready, 0 timed out, -1 errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int n = poll(&pfd, 1, remaining_ms(deadline));
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -1;
	}
}

/* ---- events ---- */

/* Sorted by name for bsearch, as libvirt dispatches events. */
static const struct {
	const char *name;
	enum qmp_event_type type;
} event_table[] = {
	{ "DEVICE_DELETED", QMP_EVENT_DEVICE_DELETED },
	{ "MIGRATION", QMP_EVENT_MIGRATION },
	{ "POWERDOWN", QMP_EVENT_POWERDOWN },
	{ "RESET", QMP_EVENT_RESET },
	{ "RESUME", QMP_EVENT_RESUME },
	{ "SHUTDOWN", QMP_EVENT_SHUTDOWN },
	{ "STOP", QMP_EVENT_STOP },
};
#define EVENT_TABLE_LEN (sizeof(event_table) / sizeof(event_table[0]))

static int compare_event_name(const void *key, const void *entry)
{
	return strcmp(key, *(const char *const *)entry);
}

enum qmp_event_type qmp_event_type_from_name(const char *name)
{
	const void *hit = bsearch(name, event_table, EVENT_TABLE_LEN, sizeof(event_table[0]),
				  compare_event_name);

	return hit ? event_table[(size_t)((const char *)hit - (const char *)event_table) /
				 sizeof(event_table[0])].type
		   : QMP_EVENT_OTHER;
}

const char *qmp_event_type_name(enum qmp_event_type type)
{
	for (size_t i = 0; i < EVENT_TABLE_LEN; i++)
		if (event_table[i].type == type)
			return event_table[i].name;
	return "OTHER";
}

void qmp_event_clear(struct qmp_event *ev)
{
	if (!ev)
		return;
	json_decref(ev->data);
	memset(ev, 0, sizeof(*ev));
}

/* Builds an event from a message that qmp_message_kind() called QMP_MESSAGE_EVENT. */
static void event_from_message(const json_t *msg, struct qmp_event *ev)
{
	const json_t *stamp = json_object_get(msg, "timestamp");

	memset(ev, 0, sizeof(*ev));
	snprintf(ev->name, sizeof(ev->name), "%s", json_string_value(json_object_get(msg, "event")));
	ev->type = qmp_event_type_from_name(ev->name);
	ev->data = json_incref(json_object_get(msg, "data"));
	ev->seconds = json_integer_value(json_object_get(stamp, "seconds"));
	ev->microseconds = json_integer_value(json_object_get(stamp, "microseconds"));
}

static void queue_event(struct qmp *q, const json_t *msg)
{
	if (q->ev_count == QMP_EVENT_QUEUE_MAX) {
		qmp_event_clear(&q->events[q->ev_head]);
		q->ev_head = (q->ev_head + 1) % QMP_EVENT_QUEUE_MAX;
		q->ev_count--;
		q->ev_dropped++;
	}
	event_from_message(msg, &q->events[(q->ev_head + q->ev_count) % QMP_EVENT_QUEUE_MAX]);
	q->ev_count++;
}

static bool dequeue_event(struct qmp *q, struct qmp_event *ev)
{
	if (q->ev_count == 0)
		return false;
	*ev = q->events[q->ev_head];
	memset(&q->events[q->ev_head], 0, sizeof(*ev));
	q->ev_head = (q->ev_head + 1) % QMP_EVENT_QUEUE_MAX;
	q->ev_count--;
	return true;
}

/* Hands queued events to the handler. Not re-entered: a handler that runs a command leaves
 * the events that command queued to this loop. */
static void deliver_events(struct qmp *q)
{
	struct qmp_event ev;

	if (!q->handler || q->delivering)
		return;
	q->delivering = true;
	while (q->handler && dequeue_event(q, &ev)) {
		q->handler(q, &ev, q->handler_opaque);
		qmp_event_clear(&ev);
	}
	q->delivering = false;
}

void qmp_set_event_handler(struct qmp *q, qmp_event_handler handler, void *opaque)
{
	q->handler = handler;
	q->handler_opaque = opaque;
	deliver_events(q);
}

size_t qmp_events_queued(const struct qmp *q)
{
	return q->ev_count;
}

uint64_t qmp_events_dropped(const struct qmp *q)
{
	return q->ev_dropped;
}

/* ---- receiving ---- */

/* Makes room for one read at the end of the buffer. Returns 0, or -1 (out of memory). */
static int reserve_read_space(struct qmp *q)
{
	if (q->rpos > 0) {
		memmove(q->rbuf, q->rbuf + q->rpos, q->rlen - q->rpos);
		q->rlen -= q->rpos;
		q->rpos = 0;
	}
	if (q->rcap - q->rlen >= READ_CHUNK)
		return 0;
	size_t cap = q->rcap ? q->rcap * 2 : 2 * READ_CHUNK;
	while (cap - q->rlen < READ_CHUNK)
		cap *= 2;
	char *buf = realloc(q->rbuf, cap);
	if (!buf)
		return -1;
	q->rbuf = buf;
	q->rcap = cap;
	return 0;
}

/* Reads once from the socket, waiting until DEADLINE. Returns 1 (bytes added), 0 (timed out),
 * -1 (connection failed: closed, reset, system error). */
static int read_some(struct qmp *q, int64_t deadline, const char *what, struct qmp_error *err)
{
	int ready = wait_fd(q->fd, POLLIN, deadline);

	if (ready < 0)
		return fail_connection(q, err, what, QMP_ERROR_SYSTEM, strerror(errno));
	if (ready == 0)
		return 0;
	if (reserve_read_space(q) < 0)
		return fail_connection(q, err, what, QMP_ERROR_SYSTEM, "out of memory");
	for (;;) {
		ssize_t n = recv(q->fd, q->rbuf + q->rlen, q->rcap - q->rlen, 0);
		if (n > 0) {
			q->rlen += (size_t)n;
			return 1;
		}
		if (n == 0 || errno == ECONNRESET)
			return fail_connection(q, err, what, QMP_ERROR_CLOSED, "connection closed");
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1; /* spurious wake-up: nothing added, the caller loops */
		if (errno != EINTR)
			return fail_connection(q, err, what, QMP_ERROR_SYSTEM, strerror(errno));
	}
}

/* Takes the next complete message out of the buffer. Returns 1 (*msg set), 0 (none complete),
 * -1 (garbage: connection failed). */
static int take_message(struct qmp *q, json_t **msg, const char *what, struct qmp_error *err)
{
	char why[256];
	size_t consumed;

	if (q->rpos == q->rlen)
		return 0;
	enum qmp_frame_status status = qmp_frame_next(&q->frame, q->rbuf + q->rpos,
						      q->rlen - q->rpos, &consumed, msg,
						      why, sizeof(why));

	q->rpos += consumed;
	if (status == QMP_FRAME_INVALID)
		return fail_connection(q, err, what, QMP_ERROR_PROTOCOL, why);
	return status == QMP_FRAME_MESSAGE;
}

/* The next message, reading until DEADLINE. Returns 1, 0 (timed out), -1. */
static int next_message(struct qmp *q, json_t **msg, int64_t deadline, const char *what,
			struct qmp_error *err)
{
	for (;;) {
		int rc = take_message(q, msg, what, err);
		if (rc != 0)
			return rc;
		if (q->state == QMP_STATE_CLOSED)
			return fail_closed(q, err, what);
		rc = read_some(q, deadline, what, err);
		if (rc <= 0)
			return rc;
	}
}

/* ---- sending ---- */

/* Writes all of BUF by DEADLINE. A timeout after part of it went out leaves QEMU holding half a
 * command, so it closes the connection; a timeout before the first byte does not. */
static int send_all(struct qmp *q, const char *buf, size_t len, int64_t deadline,
		    const char *what, struct qmp_error *err)
{
	const char *start = buf;

	while (len > 0) {
		ssize_t n = send(q->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return fail_connection(q, err, what, QMP_ERROR_CLOSED, "connection closed");
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return fail_connection(q, err, what, QMP_ERROR_SYSTEM, strerror(errno));
		int ready = wait_fd(q->fd, POLLOUT, deadline);
		if (ready < 0)
			return fail_connection(q, err, what, QMP_ERROR_SYSTEM, strerror(errno));
		if (ready == 0 && buf > start)
			return fail_connection(q, err, what, QMP_ERROR_TIMEOUT,
					       "timed out part way through sending the command");
		if (ready == 0)
			return qmp_set_error(err, q->name, what, QMP_ERROR_TIMEOUT, NULL,
					     "timed out sending the command");
	}
	return 0;
}

/* Sends {"execute": NAME, "arguments": ARGS, "id": N}. Returns 0 with *id = N, or -1. */
static int send_command(struct qmp *q, const char *name, json_t *args, uint64_t *id,
			int64_t deadline, struct qmp_error *err)
{
	*id = ++q->last_id;
	json_t *cmd = json_pack("{s:s, s:I}", "execute", name, "id", (json_int_t)*id);
	if (!cmd || (args && json_object_set(cmd, "arguments", args) < 0)) {
		json_decref(cmd);
		return qmp_set_error(err, q->name, name, QMP_ERROR_SYSTEM, NULL, "out of memory");
	}
	char *text = json_dumps(cmd, JSON_COMPACT);
	json_decref(cmd);
	if (!text)
		return qmp_set_error(err, q->name, name, QMP_ERROR_INVALID, NULL,
				 "arguments cannot be encoded as JSON");
	size_t len = strlen(text);
	text[len] = '\n'; /* replaces the terminator; the length is known */
	int rc = send_all(q, text, len + 1, deadline, name, err);
	free(text);
	return rc;
}

/* Turns a message of the wrong place (greeting after the greeting, unknown shape) into a
 * protocol failure. */
static int fail_unexpected(struct qmp *q, json_t *msg, const char *what, struct qmp_error *err)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	char reason[200];

	snprintf(reason, sizeof(reason), "unexpected message %.120s%s", text ? text : "?",
		 text && strlen(text) > 120 ? "..." : "");
	free(text);
	json_decref(msg);
	return fail_connection(q, err, what, QMP_ERROR_PROTOCOL, reason);
}

/* Reads until the reply to command ID arrives, queueing events and dropping stale replies.
 * Returns 0 with *reply (the whole message), or -1. */
static int await_reply(struct qmp *q, uint64_t id, json_t **reply, int64_t deadline,
		       const char *what, struct qmp_error *err)
{
	for (;;) {
		json_t *msg = NULL;
		int rc = next_message(q, &msg, deadline, what, err);
		if (rc == 0)
			return qmp_set_error(err, q->name, what, QMP_ERROR_TIMEOUT, NULL,
					 "no reply within the timeout");
		if (rc < 0)
			return -1;
		enum qmp_message_kind kind = qmp_message_kind(msg);
		if (kind == QMP_MESSAGE_EVENT) {
			queue_event(q, msg);
			json_decref(msg);
			continue;
		}
		if (kind != QMP_MESSAGE_RETURN && kind != QMP_MESSAGE_ERROR)
			return fail_unexpected(q, msg, what, err);
		uint64_t reply_id = 0;
		int has_id = qmp_message_id(msg, &reply_id);
		if (has_id == 0 || (has_id == 1 && reply_id == id)) {
			*reply = msg;
			return 0;
		}
		json_decref(msg); /* the late reply to a command that timed out */
	}
}

/* Sends a command and waits for its reply; a QEMU error becomes QMP_ERROR_QEMU.
 * Returns 0 with *ret (new reference to "return", if RET), or -1. */
static int execute(struct qmp *q, const char *name, json_t *args, json_t **ret,
		   int64_t deadline, struct qmp_error *err)
{
	uint64_t id;
	json_t *reply = NULL;

	if (send_command(q, name, args, &id, deadline, err) < 0 ||
	    await_reply(q, id, &reply, deadline, name, err) < 0)
		return -1;
	if (qmp_message_kind(reply) == QMP_MESSAGE_ERROR) {
		const json_t *error = json_object_get(reply, "error");
		qmp_set_error(err, q->name, name, QMP_ERROR_QEMU,
			  json_string_value(json_object_get(error, "class")), "%s",
			  json_string_value(json_object_get(error, "desc")));
		json_decref(reply);
		return -1;
	}
	if (ret)
		*ret = json_incref(json_object_get(reply, "return"));
	json_decref(reply);
	return 0;
}

int qmp_command(struct qmp *q, const char *name, json_t *args, json_t **reply,
		struct qmp_error *err, int timeout_ms)
{
	int rc;

	if (reply)
		*reply = NULL;
	if (!name || !*name)
		return qmp_set_error(err, q->name, "command", QMP_ERROR_INVALID, NULL,
				 "empty command name");
	if (args && !json_is_object(args))
		return qmp_set_error(err, q->name, name, QMP_ERROR_INVALID, NULL,
				 "arguments must be a JSON object");
	if (q->state != QMP_STATE_READY)
		return fail_closed(q, err, name);
	rc = execute(q, name, args, reply, deadline_after(timeout_ms), err);
	deliver_events(q);
	return rc;
}

/* ---- events, read side ---- */

/* Handles one message that arrived outside a command: events are queued, stray replies
 * dropped, anything else fails the connection. Returns 1 (event), 0, or -1. */
static int absorb_message(struct qmp *q, json_t *msg, const char *what, struct qmp_error *err)
{
	enum qmp_message_kind kind = qmp_message_kind(msg);

	if (kind == QMP_MESSAGE_EVENT)
		queue_event(q, msg);
	else if (kind != QMP_MESSAGE_RETURN && kind != QMP_MESSAGE_ERROR)
		return fail_unexpected(q, msg, what, err);
	json_decref(msg);
	return kind == QMP_MESSAGE_EVENT;
}

int qmp_next_event(struct qmp *q, struct qmp_event *ev, int timeout_ms, struct qmp_error *err)
{
	int64_t deadline = deadline_after(timeout_ms);

	memset(ev, 0, sizeof(*ev));
	while (!dequeue_event(q, ev)) {
		json_t *msg = NULL;
		int rc = next_message(q, &msg, deadline, "event wait", err);
		if (rc <= 0)
			return rc;
		if (absorb_message(q, msg, "event wait", err) < 0)
			return -1;
	}
	return 1;
}

/* Absorbs every complete message in the buffer. Returns the number of events, or -1. */
static int absorb_buffered(struct qmp *q, struct qmp_error *err)
{
	int events = 0, rc;
	json_t *msg = NULL;

	while ((rc = take_message(q, &msg, "dispatch", err)) == 1) {
		if ((rc = absorb_message(q, msg, "dispatch", err)) < 0)
			return -1;
		events += rc;
	}
	return rc < 0 ? -1 : events;
}

int qmp_dispatch(struct qmp *q, int timeout_ms, struct qmp_error *err)
{
	int events = absorb_buffered(q, err);

	if (events == 0 && q->state != QMP_STATE_READY)
		events = fail_closed(q, err, "dispatch");
	if (events == 0) {
		int rc = read_some(q, deadline_after(timeout_ms), "dispatch", err);
		events = rc <= 0 ? rc : absorb_buffered(q, err);
	}
	deliver_events(q);
	return events;
}

/* ---- connection ---- */

static int expect_greeting(struct qmp *q, int64_t deadline, struct qmp_error *err)
{
	json_t *msg = NULL;
	int rc;

	q->state = QMP_STATE_GREETING;
	rc = next_message(q, &msg, deadline, "greeting", err);
	if (rc == 0)
		return qmp_set_error(err, q->name, "greeting", QMP_ERROR_TIMEOUT, NULL,
				 "no greeting within the timeout (is another client connected?)");
	if (rc < 0)
		return -1;
	if (qmp_message_kind(msg) != QMP_MESSAGE_GREETING)
		return fail_unexpected(q, msg, "greeting", err);
	q->greeting = json_incref(json_object_get(msg, "QMP"));
	json_decref(msg);
	return 0;
}

static int negotiate(struct qmp *q, int64_t deadline, struct qmp_error *err)
{
	q->state = QMP_STATE_CAPABILITIES;
	if (execute(q, "qmp_capabilities", NULL, NULL, deadline, err) < 0)
		return -1;
	q->state = QMP_STATE_READY;
	return 0;
}

static struct qmp *new_handle(int fd, const char *name)
{
	struct qmp *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->events = calloc(QMP_EVENT_QUEUE_MAX, sizeof(*q->events));
	if (!q->events) {
		free(q);
		return NULL;
	}
	q->fd = fd;
	q->state = QMP_STATE_CONNECTING;
	q->frame.max = QMP_RECV_MAX;
	snprintf(q->name, sizeof(q->name), "%s", name);
	return q;
}

struct qmp *qmp_connect_fd(int fd, const char *name, int timeout_ms, struct qmp_error *err)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct qmp *q;

	if (!name)
		name = "(fd)";
	if (fd < 0) {
		qmp_set_error(err, name, "connect", QMP_ERROR_INVALID, NULL, "invalid file descriptor");
		return NULL;
	}
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		qmp_set_error(err, name, "connect", QMP_ERROR_SYSTEM, NULL, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	q = new_handle(fd, name);
	if (!q) {
		close(fd);
		qmp_set_error(err, name, "connect", QMP_ERROR_SYSTEM, NULL, "out of memory");
		return NULL;
	}
	if (expect_greeting(q, deadline, err) < 0 || negotiate(q, deadline, err) < 0) {
		qmp_close(q);
		return NULL;
	}
	return q;
}

struct qmp *qmp_connect(const char *path, int timeout_ms, struct qmp_error *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(addr.sun_path)) {
		qmp_set_error(err, path ? path : "(null)", "connect", QMP_ERROR_INVALID, NULL,
			  "socket path is empty or longer than %zu bytes", sizeof(addr.sun_path) - 1);
		return NULL;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		qmp_set_error(err, path, "socket", QMP_ERROR_SYSTEM, NULL, "%s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		qmp_set_error(err, path, "connect", errno == ECONNREFUSED || errno == ENOENT ?
			  QMP_ERROR_CLOSED : QMP_ERROR_SYSTEM, NULL, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	return qmp_connect_fd(fd, path, timeout_ms, err);
}

void qmp_close(struct qmp *q)
{
	struct qmp_event ev;

	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	while (dequeue_event(q, &ev))
		qmp_event_clear(&ev);
	json_decref(q->greeting);
	free(q->events);
	free(q->rbuf);
	free(q);
}

enum qmp_state qmp_state(const struct qmp *q)
{
	return q->state;
}

const char *qmp_state_name(enum qmp_state state)
{
	static const char *const names[] = {
		[QMP_STATE_CONNECTING] = "connecting",
		[QMP_STATE_GREETING] = "greeting",
		[QMP_STATE_CAPABILITIES] = "capabilities",
		[QMP_STATE_READY] = "ready",
		[QMP_STATE_CLOSED] = "closed",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

const char *qmp_name(const struct qmp *q)
{
	return q->name;
}

const json_t *qmp_greeting(const struct qmp *q)
{
	return q->greeting;
}
