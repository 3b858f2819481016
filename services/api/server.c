/* server.c - the HTTPS server: libmicrohttpd over GnuTLS, TLS 1.3 only, with its own
 * listening thread and one thread per connection (handlers may block on PID 1, streams wait
 * for data). Feeds the connection gate (gate.c) from libmicrohttpd's notifications. Admits
 * each request (strict parsing, maintenance rule, client certificate, the gate's caps, route,
 * role, body size) before reading its body, collects the body, calls the route's handler, sends JSON or
 * a stream, and asks the main loop to restart the daemon on the same listen socket when an
 * apply changed the identity. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <config.h>
#include <microhttpd.h>

#include "server.h"

#define STREAM_BLOCK 16384
#define STREAM_SLICE_MS 500   /* streams check their client and the stop flags this often */

struct upgrade_job;

struct request_state {
	uint64_t conn_id;         /* the gate's id of the connection */
	bool admitted;            /* the first call (admission) happened */
	char *raw_uri;            /* the request target as sent, before unescaping */
	const struct api_route *route;
	enum api_role role;
	char *body;               /* NUL-terminated */
	size_t len;
	int upload_fd;            /* an upload route's body file, -1 before its first byte */
	char *upload_path;
	unsigned long long upload_len;
	int upload_errno;         /* the body could not be stored: the rest is read and dropped */
	bool rejected;            /* a response was queued on admission */
	bool reload_after;        /* the handler asked for a new identity */
	struct upgrade_job *upgrade;  /* a 101 queued: its job, freed on completion */
	char param[2][128];
};

struct api_stream {
	struct api_server *server;
	uint64_t conn_id;         /* counted in its certificate's streams: the gate's id */
	int conn_fd;
	api_stream_next *next;
	void *state;
	void (*free_state)(void *state);
	struct api_buf buf;
	size_t offset;            /* sent part of buf */
	bool done;
};

int server_init(struct api_server *server)
{
	pthread_condattr_t attr;

	server->reconcile_fd = -1;
	server->log_dir = API_LOG_DIR_DEFAULT;
	server->kmsg_path = API_KMSG_DEFAULT;
	server->cmdline_path = API_CMDLINE_DEFAULT;
	server->sysfs = API_SYSFS_DEFAULT;
	server->stage = "booting";
	server->source = "none";
	server->started = time(NULL);
	sigemptyset(&server->run_sigmask);
	pthread_mutex_init(&server->lock, NULL);
	pthread_mutex_init(&server->poll_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&server->poll_wake, &attr);
	pthread_condattr_destroy(&attr);
	gate_init(&server->gate);
	server->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return server->wake_fd < 0 ? -1 : 0;
}

void server_destroy(struct api_server *server)
{
	json_decref(server->config);
	server->config = NULL;
	free(server->try.prev_text);
	server->try.prev_text = NULL;
	if (server->wake_fd >= 0)
		close(server->wake_fd);
	server->wake_fd = -1;
	gate_destroy(&server->gate);
	pthread_cond_destroy(&server->poll_wake);
	pthread_mutex_destroy(&server->poll_lock);
	pthread_mutex_destroy(&server->lock);
}

void server_wake(struct api_server *server)
{
	uint64_t one = 1;

	if (write(server->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		fprintf(stderr, "cairnd: wake the main loop: %s\n", strerror(errno));
}

json_t *server_config_ref(struct api_server *server, bool *maintenance)
{
	json_t *config;

	pthread_mutex_lock(&server->lock);
	config = json_incref(server->config);
	if (maintenance)
		*maintenance = server->maintenance;
	pthread_mutex_unlock(&server->lock);
	return config;
}

int server_parse_listen(const char *text, struct sockaddr_storage *addr)
{
	char host[64];
	const char *colon = strrchr(text, ':'), *start = text;
	size_t host_len;
	char *end;
	unsigned long port;

	if (!colon)
		return -1;
	host_len = (size_t)(colon - text);
	if (text[0] == '[') {
		if (host_len < 2 || text[host_len - 1] != ']')
			return -1;
		start = text + 1;
		host_len -= 2;
	}
	if (host_len == 0 || host_len >= sizeof host)
		return -1;
	memcpy(host, start, host_len);
	host[host_len] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port == 0 || port > 65535)
		return -1;
	memset(addr, 0, sizeof *addr);
	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	if (text[0] != '[' && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (text[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

static enum MHD_Result send_json_close(struct MHD_Connection *conn, unsigned status,
				       json_t *body, bool close)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL, *line = NULL;
	struct MHD_Response *response;
	enum MHD_Result result;

	if (!text || asprintf(&line, "%s\n", text) < 0) {
		free(text);
		return MHD_NO;
	}
	free(text);
	response = MHD_create_response_from_buffer(strlen(line), line, MHD_RESPMEM_MUST_FREE);
	if (!response) {
		free(line);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (close) {   /* a refusal for capacity: the slot goes back at once */
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
		if (status == 503)
			MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	}
	result = MHD_queue_response(conn, status, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
	return send_json_close(conn, status, body, false);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, struct request_state *state,
				  unsigned status, const char *error, json_t *details)
{
	struct api_reply reply = { .status = 0 };
	enum MHD_Result result;

	state->rejected = true;
	reply_error(&reply, status, error, details);
	result = send_json_close(conn, reply.status, reply.body, status == 429 || status == 503);
	json_decref(reply.body);
	return result;
}

/* The refusal of a gate verdict other than GATE_OK. */
static enum MHD_Result send_verdict(struct MHD_Connection *conn, struct request_state *state,
				    enum gate_verdict verdict)
{
	char message[200];

	switch (verdict) {
	case GATE_FULL:
		snprintf(message, sizeof message, "server busy: too many requests without a client "
			 "certificate in progress (limit %d per address, %d in all); retry",
			 GATE_UNAUTH_ACTIVE_PER_ADDR, GATE_UNAUTH_ACTIVE_MAX);
		return send_error(conn, state, 503, message, NULL);
	case GATE_CERT_CONNS:
		snprintf(message, sizeof message, "too many connections with this client certificate "
			 "(limit %d)", GATE_CERT_CONN_MAX);
		return send_error(conn, state, 429, message, NULL);
	case GATE_CERT_STREAMS:
		snprintf(message, sizeof message, "too many open streams with this client certificate "
			 "(limit %d watch, follow, console and monitor connections); close one first",
			 GATE_CERT_STREAM_MAX);
		return send_error(conn, state, 429, message, NULL);
	default:
		return MHD_NO;   /* the connection is gone */
	}
}

/* The connection's socket has seen the client's end (FIN, RST) or the gate's shutdown. */
static bool connection_gone(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd fd = { .fd = info ? info->connect_fd : -1, .events = POLLRDHUP };

	if (!info)
		return true;
	return poll(&fd, 1, 0) > 0 && (fd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static bool request_client_gone(const struct api_request *req)
{
	return connection_gone(req->conn);
}

/* --- strict request parsing --------------------------------------------------------- */

struct header_scan {
	unsigned content_length, transfer_encoding, host;
	const char *first_length;
	bool lengths_differ;
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   size_t key_size, const char *value, size_t value_size)
{
	struct header_scan *scan = cls;

	(void)kind;
	(void)key_size;
	(void)value_size;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (scan->content_length++ && strcmp(scan->first_length, value ? value : "") != 0)
			scan->lengths_differ = true;
		else if (scan->content_length == 1)
			scan->first_length = value ? value : "";
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		scan->transfer_encoding++;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		scan->host++;
	}
	return MHD_YES;
}

#define QUERY_KEYS_MAX 32

struct query_scan {
	const char *keys[QUERY_KEYS_MAX];
	size_t sizes[QUERY_KEYS_MAX];
	unsigned count;
	const char *repeated, *nul;   /* the first repeated key, the first key with a NUL */
	bool too_many;
};

static enum MHD_Result scan_query(void *cls, enum MHD_ValueKind kind, const char *key,
				  size_t key_size, const char *value, size_t value_size)
{
	struct query_scan *scan = cls;

	(void)kind;
	if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
		if (!scan->nul)
			scan->nul = key;
		return MHD_YES;
	}
	for (unsigned i = 0; i < scan->count; i++)
		if (scan->sizes[i] == key_size && memcmp(scan->keys[i], key, key_size) == 0) {
			if (!scan->repeated)
				scan->repeated = key;
			return MHD_YES;
		}
	if (scan->count == QUERY_KEYS_MAX) {
		scan->too_many = true;
		return MHD_NO;
	}
	scan->keys[scan->count] = key;
	scan->sizes[scan->count++] = key_size;
	return MHD_YES;
}

/* Refuses with 400 what libmicrohttpd lets through: a NUL (%00) in the path or the query,
 * a repeated query argument, several Content-Length headers, Content-Length with
 * Transfer-Encoding, a Transfer-Encoding other than chunked, HTTP/1.1 without one Host. */
static enum MHD_Result admit_strict(struct MHD_Connection *conn, struct request_state *state,
				    const char *version)
{
	struct header_scan headers = { 0 };
	struct query_scan query = { .count = 0 };
	const char *encoding;
	char message[200];

	if (state->raw_uri && strstr(state->raw_uri, "%00"))
		return send_error(conn, state, 400, "NUL (%00) in the request path or query", NULL);
	MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, scan_query, &query);
	if (query.nul) {
		snprintf(message, sizeof message, "NUL in the query argument %.64s", query.nul);
		return send_error(conn, state, 400, message, NULL);
	}
	if (query.too_many) {
		snprintf(message, sizeof message, "too many query arguments (limit %d)", QUERY_KEYS_MAX);
		return send_error(conn, state, 400, message, NULL);
	}
	if (query.repeated) {
		snprintf(message, sizeof message, "query argument %.64s given more than once",
			 query.repeated);
		return send_error(conn, state, 400, message, NULL);
	}
	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_header, &headers);
	if (headers.content_length > 1)
		return send_error(conn, state, 400, headers.lengths_differ ?
				  "conflicting Content-Length headers" :
				  "Content-Length header given more than once", NULL);
	if (headers.content_length && headers.transfer_encoding)
		return send_error(conn, state, 400,
				  "Content-Length and Transfer-Encoding together", NULL);
	encoding = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					       MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (headers.transfer_encoding > 1 || (encoding && strcasecmp(encoding, "chunked") != 0))
		return send_error(conn, state, 400,
				  "unsupported Transfer-Encoding (only chunked)", NULL);
	if (version && strcmp(version, MHD_HTTP_VERSION_1_1) == 0 && headers.host != 1)
		return send_error(conn, state, 400, headers.host ? "Host header given more than once" :
				  "HTTP/1.1 request without a Host header", NULL);
	return MHD_YES;
}

/* The role of the connection's client certificate, or an error response. */
static enum MHD_Result admit_secure(struct api_server *server, struct MHD_Connection *conn,
				    struct request_state *state, const char *method, const char *url)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_datum_t detail;
	const char *error;
	unsigned status;
	char message[160];

	state->role = auth_peer_role(info ? (gnutls_session_t)info->tls_session : NULL, &status,
				     &error, &detail);
	if (state->role == ROLE_NONE) {
		json_t *details = json_array();
		if (detail.data)
			json_array_append_new(details, json_string((const char *)detail.data));
		gnutls_free(detail.data);
		return send_error(conn, state, status, error, details);
	}
	unsigned char fingerprint[32];
	enum gate_verdict verdict;
	if (auth_peer_fingerprint((gnutls_session_t)info->tls_session, fingerprint) < 0)
		return send_error(conn, state, 401, "client certificate required", NULL);
	verdict = gate_authenticate(&server->gate, state->conn_id, fingerprint);
	if (verdict != GATE_OK)
		return send_verdict(conn, state, verdict);
	state->route = route_find(method, url, &status);
	if (!state->route)
		return send_error(conn, state, status,
				  status == 404 ? "no such endpoint" : "method not allowed", NULL);
	/* ROLE_NODE ranks below reader: a node may call only the node-to-node routes */
	if (state->route->role == ROLE_NODE ? state->role != ROLE_NODE && state->role < ROLE_OPERATOR
					    : state->role < state->route->role) {
		snprintf(message, sizeof message, "role %s may not call %s %s (needs %s)",
			 role_name(state->role), method, url, role_name(state->route->role));
		return send_error(conn, state, 403, message, NULL);
	}
	return MHD_YES;
}

/* First call of a request: decide before reading any body. */
static enum MHD_Result admit(struct api_server *server, struct MHD_Connection *conn,
			     struct request_state *state, const char *method, const char *url,
			     const char *version)
{
	const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned status;
	bool maintenance;
	enum MHD_Result result;

	if (gate_head(&server->gate, state->conn_id) != GATE_OK)
		return MHD_NO;   /* shut down by the gate meanwhile */
	result = admit_strict(conn, state, version);
	if (result != MHD_YES || state->rejected)
		return result;
	pthread_mutex_lock(&server->lock);
	maintenance = server->maintenance;
	pthread_mutex_unlock(&server->lock);
	if (maintenance) {
		state->route = route_find(method, url, &status);
		if (!state->route || !state->route->maintenance)
			return send_error(conn, state, 403,
					  "node is in maintenance mode: only POST /v1/config is accepted",
					  NULL);
		enum gate_verdict verdict = gate_unauth(&server->gate, state->conn_id);
		if (verdict != GATE_OK)
			return send_verdict(conn, state, verdict);
	} else {
		result = admit_secure(server, conn, state, method, url);
		if (result != MHD_YES || state->rejected)
			return result;
	}
	if (state->route && state->route->upload_max) {
		if (length && strtoull(length, NULL, 10) > state->route->upload_max) {
			char message[96];
			snprintf(message, sizeof message, "request body too large (limit %llu MiB)",
				 state->route->upload_max >> 20);
			return send_error(conn, state, 413, message, NULL);
		}
		return MHD_YES;
	}
	if (length && strtoull(length, NULL, 10) > API_BODY_MAX)
		return send_error(conn, state, 413, "request body too large (limit 1 MiB)", NULL);
	return MHD_YES;
}

/* A query argument: NULL when absent, "" when given without a value. */
static const char *query_value(struct MHD_Connection *conn, const char *key)
{
	const char *value = NULL;
	size_t size = 0;

	if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &value,
					  &size) != MHD_YES)
		return NULL;
	return value ? value : "";
}

static const char *request_query(const struct api_request *req, const char *key)
{
	return query_value(req->conn, key);
}

static const char *request_header(const struct api_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* --- upgraded connections (101) --------------------------------------------------------- */

struct upgrade_job {
	struct api_server *server;
	uint64_t conn_id;         /* holds one of its certificate's streams */
	api_upgrade_run *run;
	void *state;
	void (*free_state)(void *state);
	bool started;
};

struct upgrade_thread {
	struct upgrade_job job;
	MHD_socket sock;
	struct MHD_UpgradeResponseHandle *urh;
	char *extra;
	size_t extra_len;
};

static void *upgrade_main(void *arg)
{
	struct upgrade_thread *thread = arg;
	struct api_server *server = thread->job.server;

	thread->job.run(thread->job.state, thread->sock, thread->extra, thread->extra_len,
			&server->upgrades_stop);
	gate_stream_end(&server->gate, thread->job.conn_id);
	MHD_upgrade_action(thread->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(thread->extra);
	free(thread);
	__atomic_sub_fetch(&server->upgrades_active, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* MHD calls this on the connection's thread once the 101 head is out; the relay gets a
 * thread of its own, since this thread moves the bytes between TLS and SOCK after return. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
		       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct upgrade_job *job = cls;
	struct upgrade_thread *thread = calloc(1, sizeof *thread);
	pthread_attr_t attr;
	pthread_t id;

	(void)conn;
	(void)con_cls;
	job->started = true;
	if (thread && extra_in_size && !(thread->extra = malloc(extra_in_size))) {
		free(thread);
		thread = NULL;
	}
	if (!thread) {
		job->free_state(job->state);
		gate_stream_end(&job->server->gate, job->conn_id);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	thread->job = *job;
	thread->sock = sock;
	thread->urh = urh;
	if (extra_in_size)
		memcpy(thread->extra, extra_in, extra_in_size);
	thread->extra_len = extra_in_size;
	__atomic_add_fetch(&job->server->upgrades_active, 1, __ATOMIC_SEQ_CST);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&id, &attr, upgrade_main, thread) != 0) {
		__atomic_sub_fetch(&job->server->upgrades_active, 1, __ATOMIC_SEQ_CST);
		job->free_state(job->state);
		gate_stream_end(&job->server->gate, job->conn_id);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(thread->extra);
		free(thread);
	}
	pthread_attr_destroy(&attr);
}

static void upgrade_job_free(void *cls)
{
	struct upgrade_job *job = cls;

	if (!job->started && job->free_state)
		job->free_state(job->state);
	if (!job->started)
		gate_stream_end(&job->server->gate, job->conn_id);
	free(job);
}

/* Queues the 101 response of REPLY; the upgrade then owns the handler's state. */
static enum MHD_Result send_upgrade(struct api_server *server, struct MHD_Connection *conn,
				    struct request_state *state, struct api_reply *reply)
{
	struct upgrade_job *job = calloc(1, sizeof *job);
	struct MHD_Response *response;
	enum MHD_Result result;

	if (!job) {
		reply->upgrade_free(reply->upgrade_state);
		return MHD_NO;
	}
	*job = (struct upgrade_job){ .server = server, .conn_id = state->conn_id,
				     .run = reply->upgrade_run,
				     .state = reply->upgrade_state, .free_state = reply->upgrade_free };
	response = MHD_create_response_for_upgrade(on_upgrade, job);
	if (!response) {
		upgrade_job_free(job);
		return MHD_NO;
	}
	/* the job lives until the request completes (on_completed frees it) */
	MHD_add_response_header(response, MHD_HTTP_HEADER_UPGRADE, reply->upgrade_protocol);
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
	result = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, response);
	MHD_destroy_response(response);
	if (result != MHD_YES)
		upgrade_job_free(job);
	else
		state->upgrade = job;
	return result;
}

/* --- streams -------------------------------------------------------------------------- */

int stream_wait(struct api_stream *stream, int fd, int timeout_ms)
{
	struct api_server *server = stream->server;

	for (;;) {
		struct pollfd fds[2] = { { .fd = stream->conn_fd, .events = POLLRDHUP },
					 { .fd = fd, .events = POLLIN } };
		int slice = timeout_ms < STREAM_SLICE_MS ? timeout_ms : STREAM_SLICE_MS, n;

		if (__atomic_load_n(&server->stopping, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&server->streams_stop, __ATOMIC_RELAXED))
			return -1;
		n = poll(fds, fd >= 0 ? 2 : 1, slice < 0 ? 0 : slice);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0 && fds[0].revents)   /* the client went away (FIN, RST) */
			return -1;
		if (n > 0 && fd >= 0 && fds[1].revents)
			return 1;
		timeout_ms -= slice;
		if (timeout_ms <= 0)
			return 0;
	}
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct api_stream *stream = cls;
	size_t count;

	(void)pos;
	while (stream->offset == stream->buf.len) {
		int rc;

		stream->buf.len = stream->offset = 0;
		if (stream->done || !stream->next)
			return MHD_CONTENT_READER_END_OF_STREAM;
		rc = stream->next(stream->state, stream, &stream->buf);
		if (rc < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (rc == 0)
			stream->done = true;
	}
	count = stream->buf.len - stream->offset;
	if (count > max)
		count = max;
	memcpy(out, stream->buf.data + stream->offset, count);
	stream->offset += count;
	return (ssize_t)count;
}

static void stream_free(void *cls)
{
	struct api_stream *stream = cls;

	if (stream->free_state)
		stream->free_state(stream->state);
	if (stream->conn_id)
		gate_stream_end(&stream->server->gate, stream->conn_id);
	buf_free(&stream->buf);
	free(stream);
}

/* Queues REPLY's stream; the stream owns the handler's state from here on. */
static enum MHD_Result send_stream(struct api_server *server, struct MHD_Connection *conn,
				   struct request_state *state, struct api_reply *reply)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct api_stream *stream = calloc(1, sizeof *stream);
	struct MHD_Response *response;
	enum MHD_Result result;

	if (!stream || !info) {
		free(stream);
		if (reply->stream_free)
			reply->stream_free(reply->stream_state);
		buf_free(&reply->stream_head);
		return MHD_NO;
	}
	*stream = (struct api_stream){ .server = server, .conn_fd = info->connect_fd,
				       .conn_id = reply->stream_next ? state->conn_id : 0,
				       .next = reply->stream_next, .state = reply->stream_state,
				       .free_state = reply->stream_free, .buf = reply->stream_head };
	reply->stream_head = (struct api_buf){ 0 };
	response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read,
						     stream, stream_free);
	if (!response) {
		stream_free(stream);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	if (stream->next)   /* a stream may be idle for long: no inactivity timeout */
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
	result = MHD_queue_response(conn, reply->status, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result dispatch(struct api_server *server, struct MHD_Connection *conn,
				struct request_state *state, const char *method, const char *url)
{
	struct api_request req = {
		.method = method, .path = url,
		.mode = query_value(conn, "mode"), .dry_run = query_value(conn, "dry_run"),
		.body = state->body ? state->body : "", .body_len = state->len, .role = state->role,
		.upload_path = state->upload_path, .upload_len = state->upload_len,
		.query = request_query, .header = request_header, .client_gone = request_client_gone,
		.conn = conn,
	};
	struct api_reply reply = { .status = 500 };
	enum gate_verdict verdict;
	enum MHD_Result result;

	gate_busy(&server->gate, state->conn_id);
	if (connection_gone(conn))   /* no work for a client that left (or was shut out) */
		return MHD_NO;

	for (unsigned i = 0; i < 2; i++)
		if (route_param(state->route->path, url, i, state->param[i], sizeof state->param[i]) == 0)
			req.param[i] = state->param[i];
	if (strstr(state->route->path, "*") && !req.param[0]) {
		reply_error(&reply, 404, "path segment too long", NULL);
	} else if (state->upload_errno) {
		char reason[320];
		snprintf(reason, sizeof reason, "the node could not store the body in %s: %s",
			 server->upload_dir, strerror(state->upload_errno));
		reply_error(&reply, state->upload_errno == ENOSPC ? 507 : 500, reason, NULL);
	} else {
		state->route->handler(server, &req, &reply);
		state->reload_after = reply.reload_identity;
	}
	/* a stream that stays open, or an upgrade, takes one of the certificate's streams */
	if (((reply.content_type && reply.status < 300 && reply.stream_next) ||
	     (reply.upgrade_run && reply.status == 101)) &&
	    (verdict = gate_stream_begin(&server->gate, state->conn_id)) != GATE_OK) {
		if (reply.upgrade_free)
			reply.upgrade_free(reply.upgrade_state);
		if (reply.stream_free)
			reply.stream_free(reply.stream_state);
		buf_free(&reply.stream_head);
		json_decref(reply.body);
		return send_verdict(conn, state, verdict);
	}
	if (reply.content_type && reply.status < 300)
		return send_stream(server, conn, state, &reply);
	if (reply.upgrade_run && reply.status == 101)
		return send_upgrade(server, conn, state, &reply);
	if (reply.upgrade_free)
		reply.upgrade_free(reply.upgrade_state);
	if (reply.stream_free)
		reply.stream_free(reply.stream_state);
	buf_free(&reply.stream_head);
	if (!reply.body)
		reply_error(&reply, 500, "out of memory", NULL);
	result = send_json(conn, reply.status, reply.body);
	json_decref(reply.body);
	return result;
}

/* Ends a failed upload: the file goes, the reason is kept for the reply (dispatch()). */
static void upload_fail(struct api_server *server, struct request_state *state, int err)
{
	state->upload_errno = err;
	fprintf(stderr, "cairnd: upload to %s: %s (the request is refused)\n", server->upload_dir,
		strerror(err));
	if (state->upload_fd >= 0)
		close(state->upload_fd);
	state->upload_fd = -1;
	if (state->upload_path)
		unlink(state->upload_path);
	free(state->upload_path);
	state->upload_path = NULL;
}

/* An upload route's chunk: appended to a new file in the upload folder (mode 0600). A
 * folder that cannot take it (full, not writable) fails the request with its reason; the
 * rest of the body is read and dropped so the client gets the reply. */
static enum MHD_Result upload_chunk(struct api_server *server, struct request_state *state,
				    const char *data, size_t *size)
{
	size_t n = *size, done = 0;

	if (n > state->route->upload_max - state->upload_len)   /* chunked past the limit */
		return MHD_NO;
	state->upload_len += n;
	*size = 0;
	if (state->upload_errno)
		return MHD_YES;
	if (state->upload_fd < 0) {
		if (mkdir(server->upload_dir, 0700) < 0 && errno != EEXIST) {
			upload_fail(server, state, errno);
			return MHD_YES;
		}
		if (asprintf(&state->upload_path, "%s/upload-XXXXXX", server->upload_dir) < 0) {
			state->upload_path = NULL;
			upload_fail(server, state, ENOMEM);
			return MHD_YES;
		}
		state->upload_fd = mkostemp(state->upload_path, O_CLOEXEC);
		if (state->upload_fd < 0) {
			upload_fail(server, state, errno);
			return MHD_YES;
		}
	}
	while (done < n) {
		ssize_t w = write(state->upload_fd, data + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			upload_fail(server, state, w < 0 ? errno : ENOSPC);
			break;
		}
		done += (size_t)w;
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct api_server *server = cls;
	struct request_state *state = *con_cls;

	if (!state)   /* on_uri() could not allocate it */
		return MHD_NO;
	if (!state->admitted) {
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		state->admitted = true;
		state->conn_id = info ? (uint64_t)(uintptr_t)info->socket_context : 0;
		return admit(server, conn, state, method, url, version);
	}
	if (*upload_data_size)
		gate_body(&server->gate, state->conn_id, *upload_data_size);
	if (state->rejected) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size && state->route && state->route->upload_max)
		return upload_chunk(server, state, upload_data, upload_data_size);
	if (*upload_data_size) {
		size_t size = *upload_data_size;
		char *grown;

		if (size > API_BODY_MAX - state->len)   /* chunked upload past the limit */
			return MHD_NO;
		grown = realloc(state->body, state->len + size + 1);
		if (!grown)
			return MHD_NO;
		memcpy(grown + state->len, upload_data, size);
		state->body = grown;
		state->len += size;
		state->body[state->len] = '\0';
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(server, conn, state, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct api_server *server = cls;
	struct request_state *state = *con_cls;

	(void)conn;
	(void)code;
	if (!state)
		return;
	gate_request_done(&server->gate, state->conn_id, state->upgrade && state->upgrade->started);
	if (state->reload_after) {   /* the config is stored whether or not the reply got out */
		pthread_mutex_lock(&server->lock);
		server->reload_now = true;
		pthread_mutex_unlock(&server->lock);
		server_wake(server);
	}
	if (state->upgrade)
		upgrade_job_free(state->upgrade);
	if (state->upload_fd >= 0)
		close(state->upload_fd);
	if (state->upload_path) {
		unlink(state->upload_path);
		free(state->upload_path);
	}
	free(state->raw_uri);
	free(state->body);
	free(state);
	*con_cls = NULL;
}

/* Called with the request line's target as sent: the request's state starts here, with a
 * copy of the raw target (admit_strict() looks for %00 in it, which libmicrohttpd's
 * unescaping turns into a cut). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request_state *state = calloc(1, sizeof *state);

	(void)cls;
	(void)conn;
	if (state)
		state->upload_fd = -1;
	if (state && uri && !(state->raw_uri = strdup(uri))) {
		free(state);
		state = NULL;
	}
	return state;
}

/* The gate's table follows the connections: started (before the connection's thread runs)
 * and closed (before libmicrohttpd closes the socket). */
/* The server whose connections the handshake hook reports on: GnuTLS's hook carries no
 * argument of ours, and cairnd runs one server (set before its daemon starts). */
static struct api_server *hook_server;

/* GnuTLS calls this on the connection's own thread after each handshake message: a whole
 * ClientHello moves the connection to the server's turn; the client's Finished ends the
 * handshake, and a client certificate that verifies with a role takes the connection out
 * of the pending class at once, before its request head, so no unauthenticated flood can
 * push an operator's connection out. */
static int on_handshake(gnutls_session_t session, unsigned int type, unsigned when,
			unsigned int incoming, const gnutls_datum_t *msg)
{
	struct api_server *server = hook_server;
	uint64_t id;

	(void)msg;
	if (!server)
		return 0;
	/* A connection the gate shut down stops before the server's expensive messages (its
	 * key share, its signature): under a flood on a slow node that CPU is what an operator's
	 * handshake waits for. */
	if (!incoming && when == GNUTLS_HOOK_PRE &&
	    (type == GNUTLS_HANDSHAKE_SERVER_HELLO || type == GNUTLS_HANDSHAKE_CERTIFICATE_VERIFY) &&
	    gate_session_evicted(&server->gate, session))
		return GNUTLS_E_PREMATURE_TERMINATION;
	if (!incoming || when != GNUTLS_HOOK_POST)
		return 0;
	if (type == GNUTLS_HANDSHAKE_CLIENT_HELLO) {
		gate_tls(&server->gate, session, GATE_TLS_HELLO);
	} else if (type == GNUTLS_HANDSHAKE_FINISHED) {
		unsigned char fingerprint[32];
		gnutls_datum_t detail = { NULL, 0 };
		const char *error;
		unsigned status;
		bool maintenance;

		id = gate_tls(&server->gate, session, GATE_TLS_DONE);
		pthread_mutex_lock(&server->lock);
		maintenance = server->maintenance;
		pthread_mutex_unlock(&server->lock);
		if (id && !maintenance &&
		    auth_peer_role(session, &status, &error, &detail) != ROLE_NONE &&
		    auth_peer_fingerprint(session, fingerprint) == 0)
			gate_authenticate(&server->gate, id, fingerprint);   /* a cap: the request says so */
		gnutls_free(detail.data);
	}
	return 0;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct api_server *server = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *addr =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const union MHD_ConnectionInfo *tls =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		gnutls_session_t session = tls ? (gnutls_session_t)tls->tls_session : NULL;
		uint64_t id;

		/* libmicrohttpd makes the session before this notification; without one the gate
		 * ranks the connection by its bytes alone */
		if (session)
			gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_ANY,
							   GNUTLS_HOOK_BOTH, on_handshake);
		id = fd ? gate_open(&server->gate, fd->connect_fd, addr ? addr->client_addr : NULL,
				    session) : 0;
		*socket_context = (void *)(uintptr_t)id;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		gate_close(&server->gate, (uint64_t)(uintptr_t)*socket_context);
		*socket_context = NULL;
	}
}

/* libmicrohttpd's messages (mostly failed TLS handshakes), one "cairnd: http: ..." line each,
 * at most LOG_BURST a second (a flood of failed handshakes would fill the log): the rest
 * are counted and the count logged with the next line that gets through. */
#define LOG_BURST 20
static void on_log(void *cls, const char *format, va_list args)
{
	char text[512];
	size_t len;

	static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
	static time_t second;
	static unsigned lines, dropped;
	time_t now = time(NULL);

	(void)cls;
	pthread_mutex_lock(&log_lock);
	if (now != second) {
		second = now;
		lines = 0;
	}
	if (++lines > LOG_BURST) {
		dropped++;
		pthread_mutex_unlock(&log_lock);
		return;
	}
	if (dropped) {
		fprintf(stderr, "cairnd: http: (%u more messages not logged)\n", dropped);
		dropped = 0;
	}
	pthread_mutex_unlock(&log_lock);
	vsnprintf(text, sizeof text, format, args);
	len = strlen(text);
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	fprintf(stderr, "cairnd: http: %s\n", text);
}

static char *identity_copy(const json_t *config, const char *name)
{
	const json_t *machine = config_find(config, "MachineConfig", NULL);
	const char *value = json_string_value(json_object_get(
		json_object_get(json_object_get(machine, "spec"), "identity"), name));
	return value ? strdup(value) : NULL;
}

static void identity_free(struct api_server *server)
{
	free(server->tls_ca);
	free(server->tls_cert);
	if (server->tls_key)
		explicit_bzero(server->tls_key, strlen(server->tls_key));
	free(server->tls_key);
	server->tls_ca = server->tls_cert = server->tls_key = NULL;
}

int server_start(struct api_server *server, int listen_fd)
{
	struct MHD_OptionItem options[16];
	unsigned count = 0, flags = MHD_USE_TLS | MHD_USE_ERROR_LOG | MHD_USE_ITC |
				    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				    MHD_USE_POLL | MHD_ALLOW_UPGRADE;
	bool maintenance;
	int rc = 0;

	pthread_mutex_lock(&server->lock);
	identity_free(server);
	server->reload_now = false;   /* this start serves the config as it is now */
	maintenance = server->maintenance = server->config == NULL;
	if (maintenance) {
		if (maint_certificate(&server->tls_cert, &server->tls_key) < 0) {
			fprintf(stderr, "cairnd: maintenance certificate: generation failed\n");
			rc = -1;
		}
	} else {
		server->tls_ca = identity_copy(server->config, "ca");
		server->tls_cert = identity_copy(server->config, "cert");
		server->tls_key = identity_copy(server->config, "key");
		if (!server->tls_ca || !server->tls_cert || !server->tls_key) {
			fprintf(stderr, "cairnd: config: no .spec.identity to serve with\n");
			rc = -1;
		}
	}
	pthread_mutex_unlock(&server->lock);
	if (rc < 0)
		return -1;
	hook_server = server;
	if (gate_start(&server->gate) < 0) {
		fprintf(stderr, "cairnd: start the connection watchdog: %s\n", strerror(errno));
		return -1;
	}
	/* The TLS strings change only here, on the main thread, with no daemon running. */
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_log,
						    NULL };   /* first, or MHD warns */
	if (listen_fd >= 0)
		options[count++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL };
	else
		options[count++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &server->addr };
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, server->tls_key };
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, server->tls_cert };
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						    (void *)API_TLS_PRIORITIES };
	if (server->tls_ca)   /* asks for a client certificate and verifies it against the CA */
		options[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0,
							    server->tls_ca };
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED,
						    (intptr_t)on_completed, server };
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri,
						    NULL };
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION,
						    (intptr_t)on_connection, server };
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, GATE_CONN_MAX,
						    NULL };
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL };
	options[count++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	if (server->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	__atomic_store_n(&server->streams_stop, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&server->upgrades_stop, 0, __ATOMIC_RELAXED);
	server->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, server,
					  MHD_OPTION_ARRAY, options, MHD_OPTION_END);
	if (!server->daemon) {
		fprintf(stderr, "cairnd: start HTTPS daemon: failed (address in use, or bad TLS identity)\n");
		return -1;
	}
	fprintf(stderr, "cairnd: serving in %s mode\n", maintenance ? "maintenance" : "secure");
	return 0;
}

int server_reload(struct api_server *server)
{
	MHD_socket listen_fd;

	__atomic_store_n(&server->streams_stop, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&server->upgrades_stop, 1, __ATOMIC_RELAXED);
	listen_fd = MHD_quiesce_daemon(server->daemon);
	MHD_stop_daemon(server->daemon);   /* joins the connection threads */
	server->daemon = NULL;
	return server_start(server, listen_fd == MHD_INVALID_SOCKET ? -1 : listen_fd);
}

void server_stop(struct api_server *server)
{
	__atomic_store_n(&server->stopping, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&server->upgrades_stop, 1, __ATOMIC_RELAXED);
	if (server->daemon) {
		/* Accept nothing new, and give requests in flight (a reboot's own reply, say)
		 * up to 2 s to finish: streams end at once on `stopping`. */
		MHD_socket listen_fd = MHD_quiesce_daemon(server->daemon);
		for (int i = 0; i < 200; i++) {
			const union MHD_DaemonInfo *info = MHD_get_daemon_info(
				server->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
			if (!info || info->num_connections == 0)
				break;
			usleep(10000);
		}
		MHD_stop_daemon(server->daemon);
		if (listen_fd != MHD_INVALID_SOCKET)
			close(listen_fd);
	}
	server->daemon = NULL;
	gate_stop(&server->gate);
	/* relays end within half a second of upgrades_stop; they hold no daemon resources after
	 * MHD_upgrade_action(), but wait so none outlives the process's cleanup */
	for (int i = 0; i < 300 && __atomic_load_n(&server->upgrades_active, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	pthread_mutex_lock(&server->lock);
	identity_free(server);
	pthread_mutex_unlock(&server->lock);
}
