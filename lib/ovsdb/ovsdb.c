/* ovsdb.c - the OVSDB connection: connect and reconnect, synchronous JSON-RPC requests, the
 * handling of what arrives meanwhile (updates, echo), monitor and transact (see ovsdb.h).
 * Framing and the cache live in ovsdb_proto.c and ovsdb_cache.c, the builder in ovsdb_txn.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MSG_NOSIGNAL, SOCK_CLOEXEC with -std=c11 */
#endif
#include "ovsdb_internal.h"
#include "ovsdb_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#define ECHO_REPLY_MS 1000 /* the deadline to answer an echo, whatever the caller's timeout */

struct ovsdb {
	int fd;
	enum ovsdb_state state;
	char name[256];            /* the remote, or the caller's label, for messages */
	bool has_remote;           /* name is a remote that ovsdb_reconnect() can dial */
	uint64_t last_id;
	uint64_t updates;          /* update notifications applied, ever */

	char *rbuf;                /* received bytes: rbuf[rpos..rlen) not yet framed */
	size_t rpos, rlen, rcap;
	struct ovsdb_frame frame;

	struct ovsdb_cache *caches;
};

/* ---- errors ---- */

static const char *const local_error[] = {
	[OVSDB_ERROR_NONE] = "",
	[OVSDB_ERROR_SERVER] = "error",
	[OVSDB_ERROR_TXN] = "error",
	[OVSDB_ERROR_TIMEOUT] = "timeout",
	[OVSDB_ERROR_CLOSED] = "connection closed",
	[OVSDB_ERROR_PROTOCOL] = "protocol error",
	[OVSDB_ERROR_SYSTEM] = "system error",
	[OVSDB_ERROR_INVALID] = "invalid argument",
};

/* Replaces control characters (a newline from the peer) so that a message stays one line. */
static void make_one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void finish_error(struct ovsdb_error *err)
{
	make_one_line(err->op);
	make_one_line(err->error);
	make_one_line(err->details);
	make_one_line(err->message);
}

int ovsdb_set_error(struct ovsdb_error *err, const char *name, const char *what,
		    enum ovsdb_error_kind kind, const char *error, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	memset(err, 0, sizeof(*err));
	err->kind = kind;
	err->op_index = -1;
	snprintf(err->error, sizeof(err->error), "%s", error && *error ? error : local_error[kind]);
	va_start(ap, fmt);
	vsnprintf(err->details, sizeof(err->details), fmt, ap);
	va_end(ap);
	if (kind == OVSDB_ERROR_SERVER)
		snprintf(err->message, sizeof(err->message), "ovsdb %s: %s: %s%s%s", name, what,
			 err->error, err->details[0] ? ": " : "", err->details);
	else
		snprintf(err->message, sizeof(err->message), "ovsdb %s: %s: %s", name, what,
			 err->details);
	finish_error(err);
	return -1;
}

int ovsdb_set_txn_error(struct ovsdb_error *err, const char *name, const char *what, int index,
			const char *op, const char *error, const char *details)
{
	char where[96];

	if (!err)
		return -1;
	memset(err, 0, sizeof(*err));
	err->kind = OVSDB_ERROR_TXN;
	err->op_index = index;
	snprintf(err->op, sizeof(err->op), "%s", op);
	snprintf(err->error, sizeof(err->error), "%s", error && *error ? error : "error");
	snprintf(err->details, sizeof(err->details), "%s", details ? details : "");
	if (index >= 0)
		snprintf(where, sizeof(where), "operation %d (%s)", index, op);
	else
		snprintf(where, sizeof(where), "%s", op);
	snprintf(err->message, sizeof(err->message), "ovsdb %s: %s: %s: %s%s%s", name, what, where,
		 err->error, err->details[0] ? ": " : "", err->details);
	finish_error(err);
	return -1;
}

/* A failure after which the stream is unusable: close the socket, state CLOSED. */
static int fail_connection(struct ovsdb *c, struct ovsdb_error *err, const char *what,
			   enum ovsdb_error_kind kind, const char *reason)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = OVSDB_STATE_CLOSED;
	return ovsdb_set_error(err, c->name, what, kind, NULL, "%s", reason);
}

static int fail_closed(struct ovsdb *c, struct ovsdb_error *err, const char *what)
{
	return ovsdb_set_error(err, c->name, what, OVSDB_ERROR_CLOSED, NULL, "connection closed");
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

/* Waits for EVENTS on FD until DEADLINE. Returns 1 ready, 0 timed out, -1 errno. */
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

/* ---- receiving ---- */

/* Makes room for one read at the end of the buffer. Returns 0, or -1 (out of memory). */
static int reserve_read_space(struct ovsdb *c)
{
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rcap - c->rlen >= READ_CHUNK)
		return 0;
	size_t cap = c->rcap ? c->rcap * 2 : 2 * READ_CHUNK;
	while (cap - c->rlen < READ_CHUNK)
		cap *= 2;
	char *buf = realloc(c->rbuf, cap);
	if (!buf)
		return -1;
	c->rbuf = buf;
	c->rcap = cap;
	return 0;
}

/* Reads once from the socket, waiting until DEADLINE. Returns 1 (bytes added, or a spurious
 * wake-up), 0 (timed out), -1 (connection failed: closed, reset, system error). */
static int read_some(struct ovsdb *c, int64_t deadline, const char *what,
		     struct ovsdb_error *err)
{
	int ready = wait_fd(c->fd, POLLIN, deadline);

	if (ready < 0)
		return fail_connection(c, err, what, OVSDB_ERROR_SYSTEM, strerror(errno));
	if (ready == 0)
		return 0;
	if (reserve_read_space(c) < 0)
		return fail_connection(c, err, what, OVSDB_ERROR_SYSTEM, "out of memory");
	for (;;) {
		ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			return 1;
		}
		if (n == 0 || errno == ECONNRESET)
			return fail_connection(c, err, what, OVSDB_ERROR_CLOSED,
					       "connection closed by the server");
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		if (errno != EINTR)
			return fail_connection(c, err, what, OVSDB_ERROR_SYSTEM, strerror(errno));
	}
}

/* Takes the next complete message out of the buffer. Returns 1 (*msg set), 0 (none complete),
 * -1 (garbage: connection failed). */
static int take_message(struct ovsdb *c, json_t **msg, const char *what, struct ovsdb_error *err)
{
	char why[256];
	size_t consumed;

	if (c->rpos == c->rlen)
		return 0;
	enum ovsdb_frame_status status = ovsdb_frame_next(&c->frame, c->rbuf + c->rpos,
							  c->rlen - c->rpos, &consumed, msg,
							  why, sizeof(why));

	c->rpos += consumed;
	if (status == OVSDB_FRAME_INVALID)
		return fail_connection(c, err, what, OVSDB_ERROR_PROTOCOL, why);
	return status == OVSDB_FRAME_MESSAGE;
}

/* ---- sending ---- */

/* Writes all of BUF by DEADLINE. A timeout after part of it went out closes the connection
 * (the server would hold half a message); a timeout before the first byte does not. */
static int send_all(struct ovsdb *c, const char *buf, size_t len, int64_t deadline,
		    const char *what, struct ovsdb_error *err)
{
	const char *start = buf;

	while (len > 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return fail_connection(c, err, what, OVSDB_ERROR_CLOSED,
					       "connection closed by the server");
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return fail_connection(c, err, what, OVSDB_ERROR_SYSTEM, strerror(errno));
		int ready = wait_fd(c->fd, POLLOUT, deadline);
		if (ready < 0)
			return fail_connection(c, err, what, OVSDB_ERROR_SYSTEM, strerror(errno));
		if (ready == 0 && buf > start)
			return fail_connection(c, err, what, OVSDB_ERROR_TIMEOUT,
					       "timed out part way through sending the request");
		if (ready == 0)
			return ovsdb_set_error(err, c->name, what, OVSDB_ERROR_TIMEOUT, NULL,
					       "timed out sending the request");
	}
	return 0;
}

/* Sends MSG (stolen) as compact JSON. */
static int send_message(struct ovsdb *c, json_t *msg, int64_t deadline, const char *what,
			struct ovsdb_error *err)
{
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;

	json_decref(msg);
	if (!text)
		return ovsdb_set_error(err, c->name, what, OVSDB_ERROR_INVALID, NULL,
				       "the request cannot be encoded as JSON");
	int rc = send_all(c, text, strlen(text), deadline, what, err);
	free(text);
	return rc;
}

/* ---- what arrives besides the awaited response ---- */

static struct ovsdb_cache *cache_by_monitor_id(struct ovsdb *c, const json_t *id)
{
	if (!json_is_integer(id))
		return NULL;
	for (struct ovsdb_cache *cache = c->caches; cache; cache = cache->next)
		if ((json_int_t)cache->monitor_id == json_integer_value(id))
			return cache;
	return NULL;
}

/* An "update" notification: [monitor-id, table-updates]. Updates for a monitor this
 * connection does not hold (cancelled) are ignored; a malformed one fails the connection. */
static int handle_update(struct ovsdb *c, const json_t *params, const char *what,
			 struct ovsdb_error *err)
{
	char why[320];

	if (json_array_size(params) != 2)
		return fail_connection(c, err, what, OVSDB_ERROR_PROTOCOL,
				       "update notification without [monitor-id, updates]");
	struct ovsdb_cache *cache = cache_by_monitor_id(c, json_array_get(params, 0));
	if (!cache)
		return 0;
	if (ovsdb_cache_apply(cache, json_array_get(params, 1), why, sizeof(why)) < 0) {
		char reason[400];
		snprintf(reason, sizeof(reason), "bad update of %s: %s", cache->db, why);
		return fail_connection(c, err, what, OVSDB_ERROR_PROTOCOL, reason);
	}
	c->updates++;
	return 0;
}

/* A request from the server: "echo" is answered with its params; anything else with an
 * error (a client offers no methods). */
static int handle_request(struct ovsdb *c, const json_t *msg, const char *what,
			  struct ovsdb_error *err)
{
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *reply;

	if (!strcmp(method, "echo"))
		reply = json_pack("{s:O, s:n, s:O}", "result", json_object_get(msg, "params"),
				  "error", "id", json_object_get(msg, "id"));
	else
		reply = json_pack("{s:n, s:{s:s}, s:O}", "result", "error", "error",
				  "unknown method", "id", json_object_get(msg, "id"));
	return send_message(c, reply, deadline_after(ECHO_REPLY_MS), what, err);
}

/* Handles MSG (stolen) unless it is a response. Returns 1 (a response, left in *MSG), 0
 * (handled and released), or -1 (the connection failed). */
static int absorb(struct ovsdb *c, json_t *msg, const char *what, struct ovsdb_error *err)
{
	int rc = 0;

	switch (ovsdb_msg_kind(msg)) {
	case OVSDB_MSG_RESPONSE:
		return 1;
	case OVSDB_MSG_REQUEST:
		rc = handle_request(c, msg, what, err);
		break;
	case OVSDB_MSG_NOTIFY:
		if (!strcmp(json_string_value(json_object_get(msg, "method")), "update"))
			rc = handle_update(c, json_object_get(msg, "params"), what, err);
		break; /* "locked", "stolen", ...: this client takes no locks */
	case OVSDB_MSG_INVALID: {
		char *text = json_dumps(msg, JSON_COMPACT);
		char reason[200];
		snprintf(reason, sizeof(reason), "not a JSON-RPC message: %.120s%s",
			 text ? text : "?", text && strlen(text) > 120 ? "..." : "");
		free(text);
		rc = fail_connection(c, err, what, OVSDB_ERROR_PROTOCOL, reason);
		break;
	}
	}
	json_decref(msg);
	return rc;
}

/* Reads until the response to request ID arrives, handling everything else. Returns 0 with
 * *response (the whole message), or -1. */
static int await_response(struct ovsdb *c, uint64_t id, json_t **response, int64_t deadline,
			  const char *what, struct ovsdb_error *err)
{
	for (;;) {
		json_t *msg = NULL;
		int rc = take_message(c, &msg, what, err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (c->state != OVSDB_STATE_READY)
				return fail_closed(c, err, what);
			rc = read_some(c, deadline, what, err);
			if (rc == 0)
				return ovsdb_set_error(err, c->name, what, OVSDB_ERROR_TIMEOUT, NULL,
						       "no response within the timeout");
			if (rc < 0)
				return -1;
			continue;
		}
		rc = absorb(c, msg, what, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		uint64_t reply_id = 0;
		int has_id = ovsdb_msg_id(msg, &reply_id);
		if (has_id == 0 || (has_id == 1 && reply_id == id)) {
			*response = msg;
			return 0;
		}
		json_decref(msg); /* the late response to a request that timed out */
	}
}

/* Sends METHOD(PARAMS) (params borrowed) and waits. Returns 0 with *result (a new reference
 * to "result", if RESULT), or -1; a JSON-RPC error is OVSDB_ERROR_SERVER. */
static int call(struct ovsdb *c, const char *method, json_t *params, json_t **result,
		int64_t deadline, const char *what, struct ovsdb_error *err)
{
	json_t *response = NULL;
	uint64_t id = ++c->last_id;

	if (c->state != OVSDB_STATE_READY)
		return fail_closed(c, err, what);
	json_t *msg = json_pack("{s:s, s:O, s:I}", "method", method, "params", params,
				"id", (json_int_t)id);
	if (send_message(c, msg, deadline, what, err) < 0 ||
	    await_response(c, id, &response, deadline, what, err) < 0)
		return -1;
	const json_t *error = json_object_get(response, "error");
	if (error && !json_is_null(error)) {
		const char *e = json_is_string(error) ? json_string_value(error)
				: json_string_value(json_object_get(error, "error"));
		const char *details = json_string_value(json_object_get(error, "details"));
		ovsdb_set_error(err, c->name, what, OVSDB_ERROR_SERVER, e ? e : "error", "%s",
				details ? details : "");
		json_decref(response);
		return -1;
	}
	if (result)
		*result = json_incref(json_object_get(response, "result"));
	json_decref(response);
	return 0;
}

int ovsdb_request(struct ovsdb *c, const char *method, json_t *params, json_t **result,
		  struct ovsdb_error *err, int timeout_ms)
{
	if (result)
		*result = NULL;
	if (!method || !*method)
		return ovsdb_set_error(err, c->name, "request", OVSDB_ERROR_INVALID, NULL,
				       "empty method name");
	if (params && !json_is_array(params))
		return ovsdb_set_error(err, c->name, method, OVSDB_ERROR_INVALID, NULL,
				       "params must be a JSON array");
	json_t *p = params ? json_incref(params) : json_array();
	int rc = call(c, method, p, result, deadline_after(timeout_ms), method, err);
	json_decref(p);
	return rc;
}

int ovsdb_echo(struct ovsdb *c, struct ovsdb_error *err, int timeout_ms)
{
	json_t *params = json_pack("[s]", "cairn"), *result = NULL;
	int rc = call(c, "echo", params, &result, deadline_after(timeout_ms), "echo", err);

	if (rc == 0 && !json_equal(params, result))
		rc = ovsdb_set_error(err, c->name, "echo", OVSDB_ERROR_PROTOCOL, NULL,
				     "the echo came back different");
	json_decref(params);
	json_decref(result);
	return rc;
}

int ovsdb_list_dbs(struct ovsdb *c, json_t **names, struct ovsdb_error *err, int timeout_ms)
{
	json_t *params = json_array(), *result = NULL;
	int rc = call(c, "list_dbs", params, &result, deadline_after(timeout_ms), "list_dbs", err);
	size_t i;
	json_t *name;

	json_decref(params);
	*names = NULL;
	if (rc < 0)
		return -1;
	bool ok = json_is_array(result);
	json_array_foreach(result, i, name)
		ok = ok && json_is_string(name);
	if (!ok) {
		json_decref(result);
		return ovsdb_set_error(err, c->name, "list_dbs", OVSDB_ERROR_PROTOCOL, NULL,
				       "the result is not an array of names");
	}
	*names = result;
	return 0;
}

static int get_schema(struct ovsdb *c, const char *db, json_t **schema, int64_t deadline,
		      struct ovsdb_error *err)
{
	char what[160];
	json_t *params = json_pack("[s]", db), *result = NULL;

	*schema = NULL;
	snprintf(what, sizeof(what), "get_schema %s", db);
	int rc = call(c, "get_schema", params, &result, deadline, what, err);
	json_decref(params);
	if (rc < 0)
		return -1;
	if (!json_is_object(json_object_get(result, "tables"))) {
		json_decref(result);
		return ovsdb_set_error(err, c->name, what, OVSDB_ERROR_PROTOCOL, NULL,
				       "the schema has no \"tables\" object");
	}
	*schema = result;
	return 0;
}

int ovsdb_get_schema(struct ovsdb *c, const char *db, json_t **schema, struct ovsdb_error *err,
		     int timeout_ms)
{
	if (!db || !*db) {
		*schema = NULL;
		return ovsdb_set_error(err, c->name, "get_schema", OVSDB_ERROR_INVALID, NULL,
				       "no database named");
	}
	return get_schema(c, db, schema, deadline_after(timeout_ms), err);
}

/* ---- monitor ---- */

/* Sends CACHE's monitor under a fresh id and rebuilds the cache from the initial contents. */
static int start_monitor(struct ovsdb *c, struct ovsdb_cache *cache, int64_t deadline,
			 struct ovsdb_error *err)
{
	char what[160], why[320];
	json_t *result = NULL;

	snprintf(what, sizeof(what), "monitor %s", cache->db);
	cache->monitor_id = c->last_id + 1; /* the id call() gives the request */
	json_t *params = json_pack("[s, I, O]", cache->db, (json_int_t)cache->monitor_id,
				   cache->requests);
	int rc = call(c, "monitor", params, &result, deadline, what, err);
	json_decref(params);
	if (rc < 0)
		return -1;
	ovsdb_cache_clear(cache);
	rc = ovsdb_cache_apply(cache, result, why, sizeof(why));
	json_decref(result);
	if (rc < 0) {
		ovsdb_cache_clear(cache);
		return fail_connection(c, err, what, OVSDB_ERROR_PROTOCOL, why);
	}
	cache->generation++;
	return 0;
}

struct ovsdb_cache *ovsdb_monitor(struct ovsdb *c, const char *db,
				  const struct ovsdb_monitor_table *tables, size_t count,
				  struct ovsdb_error *err, int timeout_ms)
{
	int64_t deadline = deadline_after(timeout_ms);
	char what[160], why[320];
	json_t *schema = NULL;

	snprintf(what, sizeof(what), "monitor %s", db ? db : "(null)");
	if (!db || !*db || (count && !tables)) {
		ovsdb_set_error(err, c->name, what, OVSDB_ERROR_INVALID, NULL,
				"no database or no tables named");
		return NULL;
	}
	if (get_schema(c, db, &schema, deadline, err) < 0)
		return NULL;
	json_t *requests = ovsdb_monitor_requests(schema, tables, count, why, sizeof(why));
	if (!requests) {
		json_decref(schema);
		ovsdb_set_error(err, c->name, what, OVSDB_ERROR_INVALID, NULL, "%s", why);
		return NULL;
	}
	struct ovsdb_cache *cache = ovsdb_cache_create(db, schema, requests);
	if (!cache) {
		ovsdb_set_error(err, c->name, what, OVSDB_ERROR_SYSTEM, NULL, "out of memory");
		return NULL;
	}
	if (start_monitor(c, cache, deadline, err) < 0) {
		ovsdb_cache_destroy(cache);
		return NULL;
	}
	cache->next = c->caches;
	c->caches = cache;
	return cache;
}

int ovsdb_monitor_cancel(struct ovsdb *c, struct ovsdb_cache *cache, struct ovsdb_error *err,
			 int timeout_ms)
{
	int rc = 0;

	for (struct ovsdb_cache **p = &c->caches; *p; p = &(*p)->next)
		if (*p == cache) {
			*p = cache->next;
			break;
		}
	if (c->state == OVSDB_STATE_READY) {
		json_t *params = json_pack("[I]", (json_int_t)cache->monitor_id);
		rc = call(c, "monitor_cancel", params, NULL, deadline_after(timeout_ms),
			  "monitor_cancel", err);
		json_decref(params);
	}
	ovsdb_cache_destroy(cache);
	return rc;
}

/* ---- transact ---- */

int ovsdb_transact(struct ovsdb *c, struct ovsdb_txn *txn, struct ovsdb_error *err,
		   int timeout_ms)
{
	char what[160], why[320];
	json_t *result = NULL;

	snprintf(what, sizeof(what), "transact %s", ovsdb_txn_db(txn));
	json_t *params = ovsdb_txn_params(txn, why, sizeof(why));
	if (!params)
		return ovsdb_set_error(err, c->name, what, OVSDB_ERROR_INVALID, NULL, "%s", why);
	int rc = call(c, "transact", params, &result, deadline_after(timeout_ms), what, err);
	json_decref(params);
	if (rc < 0)
		return -1;
	return ovsdb_txn_finish(txn, result, c->name, err);
}

/* ---- dispatch ---- */

/* Handles every complete message in the buffer (responses are late ones: dropped). */
static int absorb_buffered(struct ovsdb *c, struct ovsdb_error *err)
{
	json_t *msg = NULL;
	int rc;

	while ((rc = take_message(c, &msg, "dispatch", err)) == 1) {
		rc = absorb(c, msg, "dispatch", err);
		if (rc < 0)
			return -1;
		if (rc == 1)
			json_decref(msg);
	}
	return rc;
}

int ovsdb_dispatch(struct ovsdb *c, int timeout_ms, struct ovsdb_error *err)
{
	uint64_t before = c->updates;

	if (c->state != OVSDB_STATE_READY)
		return fail_closed(c, err, "dispatch");
	if (absorb_buffered(c, err) < 0)
		return -1;
	if (c->updates == before && c->state == OVSDB_STATE_READY) {
		int rc = read_some(c, deadline_after(timeout_ms), "dispatch", err);
		if (rc < 0 || (rc > 0 && absorb_buffered(c, err) < 0))
			return -1;
	}
	return (int)(c->updates - before);
}

/* ---- connection ---- */

static struct ovsdb *new_handle(const char *name, bool has_remote)
{
	struct ovsdb *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = -1;
	c->state = OVSDB_STATE_CONNECTING;
	c->has_remote = has_remote;
	c->frame.max = OVSDB_RECV_MAX;
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -1 : 0;
}

/* Waits for a non-blocking connect() to finish. Returns 0, or -1 with errno set. */
static int finish_connect(int fd, int64_t deadline)
{
	int ready = wait_fd(fd, POLLOUT, deadline), soerr = 0;
	socklen_t len = sizeof(soerr);

	if (ready < 0)
		return -1;
	if (ready == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

static int dial_unix(const char *path, int64_t deadline, char *why, size_t why_len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (!*path || strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(why, why_len, "socket path is empty or longer than %zu bytes",
			 sizeof(addr.sun_path) - 1);
		errno = EINVAL;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 &&
	    (errno != EINPROGRESS || finish_connect(fd, deadline) < 0))
		goto fail;
	return fd;
fail:
	snprintf(why, why_len, "%s", strerror(errno));
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

/* "IP:PORT" or "[IPv6]:PORT", numeric only. */
static int dial_tcp(const char *target, int64_t deadline, char *why, size_t why_len)
{
	char host[128];
	const char *port, *colon = strrchr(target, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *ai = NULL;
	size_t hlen;

	if (!colon || !colon[1] || colon == target) {
		snprintf(why, why_len, "expected tcp:IP:PORT");
		errno = EINVAL;
		return -1;
	}
	port = colon + 1;
	hlen = (size_t)(colon - target);
	if (target[0] == '[' && hlen >= 2 && target[hlen - 1] == ']') {
		target++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		snprintf(why, why_len, "address too long");
		errno = EINVAL;
		return -1;
	}
	memcpy(host, target, hlen);
	host[hlen] = '\0';
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(why, why_len, "bad address %s port %s: %s", host, port, gai_strerror(gai));
		errno = EINVAL;
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    (errno != EINPROGRESS || finish_connect(fd, deadline) < 0)) {
			int saved = errno;
			close(fd);
			fd = -1;
			errno = saved;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0)
		snprintf(why, why_len, "%s", strerror(errno));
	return fd;
}

/* Opens c->name. Returns 0 (READY), or -1 (CLOSED, *err set). */
static int dial(struct ovsdb *c, int64_t deadline, struct ovsdb_error *err)
{
	char why[256] = "";
	int fd;

	c->state = OVSDB_STATE_CONNECTING;
	if (!strncmp(c->name, "unix:", 5)) {
		fd = dial_unix(c->name + 5, deadline, why, sizeof(why));
	} else if (!strncmp(c->name, "tcp:", 4)) {
		fd = dial_tcp(c->name + 4, deadline, why, sizeof(why));
	} else {
		c->state = OVSDB_STATE_CLOSED;
		return ovsdb_set_error(err, c->name, "connect", OVSDB_ERROR_INVALID, NULL,
				       "unsupported remote (use unix:PATH or tcp:IP:PORT)");
	}
	if (fd < 0) {
		enum ovsdb_error_kind kind =
			errno == ECONNREFUSED || errno == ENOENT ? OVSDB_ERROR_CLOSED
			: errno == ETIMEDOUT                    ? OVSDB_ERROR_TIMEOUT
			: errno == EINVAL                       ? OVSDB_ERROR_INVALID
								: OVSDB_ERROR_SYSTEM;
		c->state = OVSDB_STATE_CLOSED;
		return ovsdb_set_error(err, c->name, "connect", kind, NULL, "%s", why);
	}
	c->fd = fd;
	c->state = OVSDB_STATE_READY;
	return 0;
}

struct ovsdb *ovsdb_connect(const char *remote, int timeout_ms, struct ovsdb_error *err)
{
	struct ovsdb *c;

	if (!remote || !*remote || strlen(remote) >= sizeof(c->name)) {
		ovsdb_set_error(err, remote ? remote : "(null)", "connect", OVSDB_ERROR_INVALID,
				NULL, "empty or too long remote");
		return NULL;
	}
	c = new_handle(remote, true);
	if (!c) {
		ovsdb_set_error(err, remote, "connect", OVSDB_ERROR_SYSTEM, NULL, "out of memory");
		return NULL;
	}
	if (dial(c, deadline_after(timeout_ms), err) < 0) {
		ovsdb_close(c);
		return NULL;
	}
	return c;
}

struct ovsdb *ovsdb_connect_fd(int fd, const char *name, struct ovsdb_error *err)
{
	struct ovsdb *c;

	if (!name)
		name = "(fd)";
	if (fd < 0) {
		ovsdb_set_error(err, name, "connect", OVSDB_ERROR_INVALID, NULL,
				"invalid file descriptor");
		return NULL;
	}
	if (set_nonblocking(fd) < 0) {
		ovsdb_set_error(err, name, "connect", OVSDB_ERROR_SYSTEM, NULL, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	c = new_handle(name, false);
	if (!c) {
		close(fd);
		ovsdb_set_error(err, name, "connect", OVSDB_ERROR_SYSTEM, NULL, "out of memory");
		return NULL;
	}
	c->fd = fd;
	c->state = OVSDB_STATE_READY;
	return c;
}

int ovsdb_reconnect(struct ovsdb *c, int timeout_ms, struct ovsdb_error *err)
{
	int64_t deadline = deadline_after(timeout_ms);

	if (!c->has_remote)
		return ovsdb_set_error(err, c->name, "reconnect", OVSDB_ERROR_INVALID, NULL,
				       "a connection made from a file descriptor cannot reconnect");
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rpos = c->rlen = 0;
	memset(&c->frame, 0, sizeof(c->frame));
	c->frame.max = OVSDB_RECV_MAX;
	if (dial(c, deadline, err) < 0)
		return -1;
	for (struct ovsdb_cache *cache = c->caches; cache; cache = cache->next) {
		json_t *schema = NULL;
		if (get_schema(c, cache->db, &schema, deadline, err) < 0)
			goto fail;
		json_decref(cache->schema);
		cache->schema = schema;
		if (start_monitor(c, cache, deadline, err) < 0)
			goto fail;
	}
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = OVSDB_STATE_CLOSED;
	return -1;
}

void ovsdb_close(struct ovsdb *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	while (c->caches) {
		struct ovsdb_cache *next = c->caches->next;
		ovsdb_cache_destroy(c->caches);
		c->caches = next;
	}
	free(c->rbuf);
	free(c);
}

enum ovsdb_state ovsdb_state(const struct ovsdb *c)
{
	return c->state;
}

const char *ovsdb_state_name(enum ovsdb_state state)
{
	static const char *const names[] = {
		[OVSDB_STATE_CONNECTING] = "connecting",
		[OVSDB_STATE_READY] = "ready",
		[OVSDB_STATE_CLOSED] = "closed",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

const char *ovsdb_name(const struct ovsdb *c)
{
	return c->name;
}

int ovsdb_fd(const struct ovsdb *c)
{
	return c->fd;
}
