/* net.c - HTTPS requests to the nodes with libcurl's multi interface: one transfer per node,
 * all at once, TLS 1.3 with the cluster CA and the client certificate (or, with --insecure,
 * neither), retries with exponential backoff, whole replies or streams of lines, and one line
 * of reason per failure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>

#include "net.h"

#define CONNECT_TIMEOUT_MAX_MS 10000
#define POLL_MAX_MS 1000

struct transfer {
	struct net_target *target;
	const struct net_options *options;
	const struct net_request *request;
	struct net_result *result;
	size_t index;
	CURL *easy;
	struct curl_slist *headers;
	char *buf;               /* the reply, or a stream's unfinished line */
	size_t len, cap;
	int attempts;            /* made so far */
	int closures;            /* connections the node closed before the request went out */
	long long retry_at;      /* monotonic ms of the next attempt; 0: none due */
	bool done;
	bool delivered;          /* a stream has handed out data: never retried */
	bool too_big;
	char errbuf[CURL_ERROR_SIZE];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool append(struct transfer *t, const char *data, size_t n)
{
	if (n > NET_BODY_MAX - t->len) {
		t->too_big = true;
		return false;
	}
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *grown;
		while (cap < t->len + n + 1)
			cap *= 2;
		grown = realloc(t->buf, cap);
		if (!grown)
			return false;
		t->buf = grown;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return true;
}

static void emit_line(struct transfer *t, char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	t->request->on_line(t->request->context, t->target, t->index, line, len);
}

/* Hands out every complete line of a stream and keeps the rest. */
static void emit_lines(struct transfer *t)
{
	size_t start = 0;
	char *newline;

	while ((newline = memchr(t->buf + start, '\n', t->len - start))) {
		emit_line(t, t->buf + start, (size_t)(newline - (t->buf + start)));
		start = (size_t)(newline - t->buf) + 1;
	}
	memmove(t->buf, t->buf + start, t->len - start);
	t->len -= start;
	if (t->buf)
		t->buf[t->len] = '\0';
}

static bool is_stream_data(struct transfer *t)
{
	long status = 0;

	if (!t->request->on_line)
		return false;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	return status >= 200 && status < 300;
}

static size_t on_data(char *data, size_t size, size_t count, void *user)
{
	struct transfer *t = user;
	size_t n = size * count;

	if (!append(t, data, n))
		return 0;   /* curl fails the transfer with CURLE_WRITE_ERROR */
	if (is_stream_data(t)) {
		t->delivered = true;
		emit_lines(t);
	}
	return n;
}

int net_easy_setup(CURL *easy, const struct net_target *target, const char *url,
		   long connect_timeout_ms, char *errbuf)
{
	if (connect_timeout_ms > CONNECT_TIMEOUT_MAX_MS)
		connect_timeout_ms = CONNECT_TIMEOUT_MAX_MS;
	if (curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK)   /* curl copies strings */
		return -1;
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(easy, CURLOPT_PROXY, "");  /* no proxy from the environment */
	curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, NET_USER_AGENT);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
	if (target->insecure) {
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(easy, CURLOPT_CAINFO, target->ca_path);
		curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);   /* the cluster CA only */
		curl_easy_setopt(easy, CURLOPT_SSLCERT, target->cert_path);
		curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(easy, CURLOPT_SSLKEY, target->key_path);
		curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
	return 0;
}

static int setup(struct transfer *t)
{
	const struct net_request *req = t->request;
	char *url = NULL, *content_type = NULL;
	int rc = -1;

	t->easy = curl_easy_init();
	if (!t->easy || asprintf(&url, "%s%s", t->target->nodes[t->index].url, req->path) < 0)
		return -1;
	t->headers = curl_slist_append(NULL, "Expect:");   /* no 100-continue round trip */
	if (!t->headers)
		goto out;
	if (req->body) {
		struct curl_slist *more = NULL;
		if (asprintf(&content_type, "Content-Type: %s", req->content_type ?
			     req->content_type : "application/yaml") >= 0)
			more = curl_slist_append(t->headers, content_type);
		if (!more)
			goto out;
		t->headers = more;
	}
	if (net_easy_setup(t->easy, t->target, url, t->options->timeout_ms, t->errbuf) < 0)
		goto out;
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	if (!req->on_line)   /* a stream lasts as long as it lasts */
		curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, t->options->timeout_ms);
	if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(t->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, req->method);
	}
	rc = 0;
out:
	free(content_type);
	free(url);
	return rc;
}

/* Whether the node closed (or reset) the connection before any byte of the request was
 * written: during the TLS handshake (GnuTLS says the peer ended it, or the socket failed
 * under it, or it was reset at once), or at the request's first write, or with no reply to a request never written.
 * Such a request cannot have been acted on. */
static bool closed_before_request(struct transfer *t, CURLcode code)
{
	curl_off_t pretransfer = 0, uploaded = 0;
	long request_size = 0, os_errno = 0;

	curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_size);
	curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &uploaded);
	if (request_size != 0 || uploaded != 0)
		return false;
	switch (code) {
	case CURLE_COULDNT_CONNECT:   /* reset as soon as it was accepted */
		curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
		return os_errno == ECONNRESET;
	case CURLE_SSL_CONNECT_ERROR:
		return pretransfer == 0 && (strstr(t->errbuf, "non-properly terminated") ||
					    strstr(t->errbuf, "pull function") ||
					    strstr(t->errbuf, "push function") ||
					    strstr(t->errbuf, "reset by peer") ||
					    strstr(t->errbuf, "Connection reset"));
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return true;
	default:
		return false;
	}
}

/* How many attempts a request whose connections the node keeps closing gets in all. */
static int closed_attempts_max(const struct transfer *t)
{
	int retries = t->options->retries < NET_CLOSED_RETRIES ? t->options->retries :
		NET_CLOSED_RETRIES;

	return retries + 1;
}

/* Whether a failed attempt may be made again: a refused connection, a connection the node
 * closed before the request was written, or a time-out when the request cannot have been
 * acted on (nothing sent yet, or a GET). Never a reply, nor a request that went out. Sets
 * *DELAY_MS to the wait before the next attempt. */
static bool retryable(struct transfer *t, CURLcode code, long long *delay_ms)
{
	curl_off_t pretransfer = 0;

	*delay_ms = (long long)NET_BACKOFF_FIRST_MS << (t->attempts - 1);
	if (t->attempts > t->options->retries || t->delivered)
		return false;
	if (closed_before_request(t, code)) {
		if (t->closures + 1 >= closed_attempts_max(t))
			return false;
		t->closures++;
		*delay_ms = (long long)NET_CLOSED_BACKOFF_FIRST_MS << (t->closures - 1);
		fprintf(stderr, "cairnctl: %s: connection closed before the request was sent; "
			"retrying (%d/%d)\n", t->target->nodes[t->index].name, t->closures + 1,
			closed_attempts_max(t));
		return true;
	}
	if (code == CURLE_COULDNT_CONNECT)
		return true;
	if (code != CURLE_OPERATION_TIMEDOUT)
		return false;
	curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	return pretransfer == 0 || strcmp(t->request->method, "GET") == 0;
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	return text;
}

static void trim(char *text)
{
	size_t len = strlen(text);

	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\n' || text[len - 1] == '.'))
		text[--len] = '\0';
}

/* A certificate the node presented that did not verify. */
static char *tls_verify_reason(CURL *easy, const char *errbuf)
{
	gnutls_datum_t text = { NULL, 0 };
	long verify = 0;
	char *reason;

	if (strstr(errbuf, "does not match"))
		return format("TLS: the node's certificate is not valid for this address (%s)",
			      errbuf);
	curl_easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &verify);
	if (verify == 0 || gnutls_certificate_verification_status_print(
		    (unsigned)verify, GNUTLS_CRT_X509, &text, 0) < 0)
		return format("TLS: the node's certificate does not verify: %s", errbuf);
	trim((char *)text.data);
	reason = format("TLS: the node's certificate does not verify against the cairnconfig's "
			"CA: %s (a node of another cluster, or one in maintenance mode, which "
			"takes only apply-config --insecure)", (char *)text.data);
	gnutls_free(text.data);
	return reason;
}

char *net_transport_reason(CURL *easy, CURLcode code, const char *errbuf, long timeout_ms,
			   int attempts)
{
	char *note = attempts > 1 ? format(" (%d attempts)", attempts) : strdup(""), *reason;
	long os_errno = 0;

	curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
	switch (code) {
	case CURLE_COULDNT_CONNECT:
		reason = format("cannot connect: %s%s", os_errno ? strerror((int)os_errno) :
				errbuf, note ? note : "");
		break;
	case CURLE_OPERATION_TIMEDOUT:
		reason = format("no reply within %ld ms%s", timeout_ms, note ? note : "");
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		reason = format("cannot resolve the host name (not a node name of the "
				"cairnconfig's context either): %s", errbuf);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		reason = tls_verify_reason(easy, errbuf);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		reason = format("TLS handshake failed: %s%s", errbuf, note ? note : "");
		break;
	case CURLE_SSL_CERTPROBLEM:
		reason = format("the cairnconfig's client certificate or key does not load: %s",
				errbuf);
		break;
	case CURLE_SSL_CACERT_BADFILE:
		reason = format("the cairnconfig's CA does not load: %s", errbuf);
		break;
	case CURLE_GOT_NOTHING:
		reason = format("the node closed the connection without a reply%s",
				note ? note : "");
		break;
	default:
		reason = format("%s%s%s", curl_easy_strerror(code), errbuf[0] ? ": " : "", errbuf);
		break;
	}
	free(note);
	return reason;
}

static char *transport_reason(struct transfer *t, CURLcode code)
{
	if (code == CURLE_WRITE_ERROR)
		return strdup(t->too_big ? "the reply is larger than 64 MiB" : "out of memory");
	return net_transport_reason(t->easy, code, t->errbuf, t->options->timeout_ms,
				    t->attempts);
}

/* "HTTP STATUS: ERROR" from an error reply, with its details kept apart. */
static void http_failure(struct transfer *t)
{
	struct net_result *r = t->result;
	const char *error = json_string_value(json_object_get(r->json, "error"));

	if (json_is_array(json_object_get(r->json, "details")))
		r->details = json_incref(json_object_get(r->json, "details"));
	if (error) {
		r->error = format("HTTP %ld: %s", r->status, error);
	} else {
		size_t line = strcspn(r->body ? r->body : "", "\n");
		r->error = format("HTTP %ld%s%.*s", r->status, line ? ": " : "",
				  (int)(line > 200 ? 200 : line), r->body ? r->body : "");
	}
}

static void finish(struct transfer *t, CURLcode code)
{
	struct net_result *r = t->result;
	char *type = NULL;

	t->done = true;
	if (code != CURLE_OK) {
		r->error = transport_reason(t, code);
		return;
	}
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (is_stream_data(t)) {
		if (t->len > 0)
			emit_line(t, t->buf, t->len);
		t->len = 0;
		return;
	}
	r->body = t->buf ? t->buf : strdup("");
	r->len = t->len;
	t->buf = NULL;
	t->len = t->cap = 0;
	curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
	if (r->body && r->len)
		r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
	if (r->status < 200 || r->status >= 300)
		http_failure(t);
	else if (!r->json && type && strstr(type, "json"))
		r->error = strdup("the node's reply is not valid JSON");
	if (!r->body && !r->error)
		r->error = strdup("out of memory");
}

static void on_done(CURLM *multi, struct transfer *t, CURLcode code)
{
	long long delay;

	curl_multi_remove_handle(multi, t->easy);
	if (code != CURLE_OK && retryable(t, code, &delay)) {
		t->retry_at = now_ms() + delay;
		t->len = 0;
		t->errbuf[0] = '\0';
		return;
	}
	finish(t, code);
}

/* Starts the attempts that are due; returns how long until the next one (ms), or -1. */
static long start_due(CURLM *multi, struct transfer *transfers, size_t count)
{
	long long now = now_ms(), next = -1;

	for (size_t i = 0; i < count; i++) {
		struct transfer *t = &transfers[i];
		if (t->done || !t->retry_at)
			continue;
		if (t->retry_at <= now) {
			t->retry_at = 0;
			t->attempts++;
			curl_multi_add_handle(multi, t->easy);
		} else if (next < 0 || t->retry_at - now < next) {
			next = t->retry_at - now;
		}
	}
	return (long)next;
}

static void report_failure(const char *node, struct net_result *result)
{
	const json_t *detail;
	size_t index;

	fprintf(stderr, "cairnctl: %s: %s", node, result->error);
	json_array_foreach(result->details, index, detail) {
		char *text = json_is_string(detail) ? strdup(json_string_value(detail)) :
			json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text) {
			trim(text);
			fprintf(stderr, "%s%s", index ? "; " : ": ", text);
		}
		free(text);
	}
	fputc('\n', stderr);
	result->reported = true;
}

static void run_all(CURLM *multi, struct transfer *transfers, size_t count)
{
	size_t remaining = 0;
	int running, queued;
	CURLMsg *msg;

	for (size_t i = 0; i < count; i++)
		remaining += !transfers[i].done;
	while (remaining > 0) {
		long wait;
		start_due(multi, transfers, count);
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &queued))) {
			struct transfer *t = NULL;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			on_done(multi, t, msg->data.result);
			remaining -= t->done;
			if (t->done && t->result->error && t->request->on_line) {
				fflush(stdout);
				report_failure(t->target->nodes[t->index].name, t->result);
			}
		}
		if (remaining == 0)
			break;
		wait = start_due(multi, transfers, count);
		if (wait < 0 || wait > POLL_MAX_MS)
			wait = POLL_MAX_MS;
		curl_multi_poll(multi, NULL, 0, (int)wait, NULL);
	}
}

size_t net_run(struct net_target *target, const struct net_options *options,
	       const struct net_request *request, struct net_result *results)
{
	struct transfer *transfers = calloc(target->count, sizeof *transfers);
	CURLM *multi = NULL;
	size_t failed = 0;

	memset(results, 0, target->count * sizeof *results);
	if (!transfers || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto out;
	multi = curl_multi_init();
	if (!multi)
		goto cleanup;
	for (size_t i = 0; i < target->count; i++) {
		struct transfer *t = &transfers[i];
		*t = (struct transfer){ .target = target, .options = options, .request = request,
					.result = &results[i], .index = i, .retry_at = 1 };
		if (setup(t) < 0) {
			t->done = true;
			results[i].error = strdup("out of memory");
		}
	}
	run_all(multi, transfers, target->count);
cleanup:
	for (size_t i = 0; i < target->count; i++) {
		curl_easy_cleanup(transfers[i].easy);
		curl_slist_free_all(transfers[i].headers);
		free(transfers[i].buf);
	}
	curl_multi_cleanup(multi);
	curl_global_cleanup();
out:
	for (size_t i = 0; i < target->count; i++)
		if (!results[i].error && (!transfers || !transfers[i].done))
			results[i].error = strdup("out of memory");
	for (size_t i = 0; i < target->count; i++)
		failed += results[i].error != NULL;
	free(transfers);
	return failed;
}

void net_results_free(struct net_result *results, size_t count)
{
	for (size_t i = 0; results && i < count; i++) {
		free(results[i].body);
		free(results[i].error);
		json_decref(results[i].json);
		json_decref(results[i].details);
	}
}

int net_report_failures(const struct net_target *target, struct net_result *results)
{
	int rc = CTL_EXIT_OK;

	for (size_t i = 0; i < target->count; i++) {
		if (!results[i].error)
			continue;
		rc = CTL_EXIT_FAIL;
		if (!results[i].reported)
			report_failure(target->nodes[i].name, &results[i]);
	}
	return rc;
}

int net_command(struct ctl_globals *globals, const struct net_options *options,
		const char *command, const struct net_request *request, net_render_fn *render,
		void *context)
{
	struct net_target target;
	struct net_result *results;
	int rc = net_target_open(&target, globals, options, command);

	if (rc != CTL_EXIT_OK)
		return rc;
	results = calloc(target.count, sizeof *results);
	if (!results) {
		net_target_close(&target);
		ctl_error(command, "out of memory");
		return CTL_EXIT_FAIL;
	}
	net_run(&target, options, request, results);
	if (render)
		render(globals, &target, results, context);
	fflush(stdout);
	rc = net_report_failures(&target, results);
	net_results_free(results, target.count);
	free(results);
	net_target_close(&target);
	return rc;
}
