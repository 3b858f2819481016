/* sources.c - where the config comes from when none is stored (DESIGN "Boot and storage",
 * step 4): cairn.config=URL on the kernel command line (${mac} and ${uuid} substituted,
 * fetched with libcurl over http or https in a background thread, retried with exponential
 * backoff from 1 s to 30 s, forever), else cairn.config.inline=BASE64. A config found there is
 * validated like an apply; a valid one is stored and served at once (secure mode), an
 * invalid one is logged with every error line and the node stays in maintenance mode. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <config.h>
#include <curl/curl.h>
#include <gnutls/gnutls.h>

#include "cmdline.h"
#include "server.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define FETCH_TIMEOUT_S 60
#define URL_MAX 2048

/* --- pure: URL templates ---------------------------------------------------------------- */

int url_expand(const char *template, const char *mac, const char *uuid, char *out, size_t size,
	       const char **error)
{
	size_t len = 0;

	for (const char *p = template; *p;) {
		const char *value = NULL, *piece = p;
		size_t piece_len = 1;

		if (p[0] == '$' && p[1] == '{') {
			const char *close = strchr(p, '}');
			if (!close) {
				*error = "unclosed ${ in the URL";
				return -1;
			}
			if ((size_t)(close - p) == 5 && strncmp(p, "${mac}", 6) == 0)
				value = mac;
			else if ((size_t)(close - p) == 6 && strncmp(p, "${uuid}", 7) == 0)
				value = uuid;
			else {
				*error = "unknown variable in the URL (known: ${mac}, ${uuid})";
				return -1;
			}
			if (!value) {
				*error = strncmp(p, "${mac}", 6) == 0 ?
					 "${mac}: no Ethernet link with a device" :
					 "${uuid}: no product UUID";
				return -1;
			}
			piece = value;
			piece_len = strlen(value);
			p = close + 1;
		} else {
			p++;
		}
		if (piece_len >= size - len) {
			*error = "the URL is too long";
			return -1;
		}
		memcpy(out + len, piece, piece_len);
		len += piece_len;
	}
	if (size == 0) {
		*error = "the URL is too long";
		return -1;
	}
	out[len] = '\0';
	return 0;
}

/* --- machine identity from sysfs ------------------------------------------------------ */

/* The first line of PATH, trimmed and lowercased, into BUF. 0, or -1. */
static int read_value(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	while (n > 0 && (buf[strlen(buf) - 1] == ' ' || buf[strlen(buf) - 1] == '\t'))
		buf[strlen(buf) - 1] = '\0', n--;
	for (char *c = buf; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return buf[0] ? 0 : -1;
}

/* The MAC of the Ethernet link (type 1) with a device and the lowest ifindex. */
static int machine_mac(const char *sysfs, char mac[32])
{
	char path[PATH_MAX], value[64];
	long best = -1;
	struct dirent *entry;
	DIR *dir;

	snprintf(path, sizeof path, "%s/class/net", sysfs);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((entry = readdir(dir))) {
		long index;

		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/class/net/%s/type", sysfs, entry->d_name);
		if (read_value(path, value, sizeof value) < 0 || strcmp(value, "1") != 0)
			continue;
		snprintf(path, sizeof path, "%s/class/net/%s/device", sysfs, entry->d_name);
		if (access(path, F_OK) < 0)
			continue;
		snprintf(path, sizeof path, "%s/class/net/%s/ifindex", sysfs, entry->d_name);
		if (read_value(path, value, sizeof value) < 0)
			continue;
		index = strtol(value, NULL, 10);
		snprintf(path, sizeof path, "%s/class/net/%s/address", sysfs, entry->d_name);
		if ((best < 0 || index < best) && read_value(path, value, sizeof value) == 0 &&
		    strlen(value) == 17) {
			best = index;
			memcpy(mac, value, 18);
		}
	}
	closedir(dir);
	return best < 0 ? -1 : 0;
}

static int machine_uuid(const char *sysfs, char uuid[64])
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/class/dmi/id/product_uuid", sysfs);
	return read_value(path, uuid, 64);
}

/* --- adopting a config found at start ------------------------------------------------- */

/* Validates TEXT from SOURCE (a name for the logs); when valid, stores it and makes it the
 * running config, unless one was applied meanwhile. True when adopted. */
static bool source_adopt(struct api_server *server, const char *source, const char *text,
			 size_t len)
{
	json_t *config, *details, *line;
	const char *what;
	size_t index;
	bool adopted = false;

	if (config_validate("cairn.config", text, len, &config, &details) < 0) {
		fprintf(stderr, "cairnd: %s: config rejected: staying in maintenance mode\n", source);
		json_array_foreach(details, index, line)
			fprintf(stderr, "cairnd: %s: %s\n", source, json_string_value(line));
		json_decref(details);
		return false;
	}
	pthread_mutex_lock(&server->lock);
	if (server->config) {
		fprintf(stderr, "cairnd: %s: a config was applied meanwhile: ignoring this one\n", source);
		json_decref(config);
	} else if (store_write(server->state_dir, text, len, &what) < 0) {
		fprintf(stderr, "cairnd: %s: store config: %s: %s: %s\n", source, server->state_dir,
			what, strerror(errno));
		json_decref(config);
	} else {
		server->reload_now = server_adopt_config(server, config, text, len, source);
		adopted = true;
		fprintf(stderr, "cairnd: %s: config stored (%zu bytes): secure mode\n", source, len);
	}
	pthread_mutex_unlock(&server->lock);
	server_wake(server);
	return adopted;
}

/* --- the fetch thread ----------------------------------------------------------------- */

struct fetch {
	struct api_server *server;
	char template[URL_MAX];
	struct api_buf body;
	bool too_big;
};

static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
	struct fetch *fetch = arg;
	size_t len = size * count;

	if (fetch->body.len + len > CONFIG_TEXT_MAX || buf_append(&fetch->body, data, len) < 0) {
		fetch->too_big = true;
		return 0;
	}
	return len;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct fetch *fetch = arg;

	(void)a, (void)b, (void)c, (void)d;
	return __atomic_load_n(&fetch->server->stopping, __ATOMIC_RELAXED) ? 1 : 0;
}

/* One attempt at URL. 0 with fetch->body; -1 with REASON. */
static int fetch_once(struct fetch *fetch, const char *url, char *reason, size_t size)
{
	char curl_error[CURL_ERROR_SIZE] = "";
	CURL *curl = curl_easy_init();
	long status = 0;
	CURLcode rc;

	fetch->body.len = 0;
	fetch->too_big = false;
	if (!curl) {
		snprintf(reason, size, "libcurl: cannot initialise");
		return -1;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)FETCH_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "cairnd/" API_VERSION);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, fetch);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, fetch);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (fetch->too_big)
		snprintf(reason, size, "the config is larger than %d bytes", CONFIG_TEXT_MAX);
	else if (rc != CURLE_OK)
		snprintf(reason, size, "%s", curl_error[0] ? curl_error : curl_easy_strerror(rc));
	else if (status != 200)
		snprintf(reason, size, "HTTP status %ld", status);
	else
		return 0;
	return -1;
}

/* Sleeps MS unless cairnd stops or a config gets applied. False: give up. */
static bool fetch_sleep(struct api_server *server, long long ms)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&server->poll_lock);
	while (!__atomic_load_n(&server->stopping, __ATOMIC_RELAXED) &&
	       pthread_cond_timedwait(&server->poll_wake, &server->poll_lock, &deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&server->poll_lock);
	return !__atomic_load_n(&server->stopping, __ATOMIC_RELAXED);
}

static bool config_present(struct api_server *server)
{
	bool present;

	pthread_mutex_lock(&server->lock);
	present = server->config != NULL;
	pthread_mutex_unlock(&server->lock);
	return present;
}

static void *fetch_thread(void *arg)
{
	struct fetch *fetch = arg;
	struct api_server *server = fetch->server;
	long long backoff = BACKOFF_FIRST_MS;

	for (unsigned attempt = 1;; attempt++) {
		char mac[32], uuid[64], url[URL_MAX], reason[CURL_ERROR_SIZE + 64];
		const char *error;
		bool have_mac = machine_mac(server->sysfs, mac) == 0;
		bool have_uuid = machine_uuid(server->sysfs, uuid) == 0;

		if (config_present(server)) {
			fprintf(stderr, "cairnd: cairn.config: a config was applied: no more fetching\n");
			break;
		}
		if (url_expand(fetch->template, have_mac ? mac : NULL, have_uuid ? uuid : NULL, url,
			       sizeof url, &error) < 0) {
			snprintf(reason, sizeof reason, "%s", error);
			snprintf(url, sizeof url, "%s", fetch->template);
		} else if (fetch_once(fetch, url, reason, sizeof reason) == 0) {
			fprintf(stderr, "cairnd: cairn.config: attempt %u: fetched %s (%zu bytes)\n",
				attempt, url, fetch->body.len);
			source_adopt(server, "cairn.config", fetch->body.data ? fetch->body.data : "",
				     fetch->body.len);
			pthread_mutex_lock(&server->lock);
			if (strcmp(server->stage, "fetching-config") == 0)
				server->stage = server->config ? "booting" : "waiting-config";
			pthread_mutex_unlock(&server->lock);
			break;
		}
		if (__atomic_load_n(&server->stopping, __ATOMIC_RELAXED))
			break;
		fprintf(stderr, "cairnd: cairn.config: attempt %u: %s: %s; retrying in %llds\n", attempt,
			url, reason, backoff / 1000);
		if (!fetch_sleep(server, backoff))
			break;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	buf_free(&fetch->body);
	free(fetch);
	return NULL;
}

/* --- start ---------------------------------------------------------------------------- */

static void source_inline(struct api_server *server, const char *base64)
{
	gnutls_datum_t in = { (unsigned char *)base64, (unsigned)strlen(base64) }, out = { 0 };
	int rc = gnutls_base64_decode2(&in, &out);

	if (rc < 0) {
		fprintf(stderr, "cairnd: cairn.config.inline: not valid base64: %s: staying in maintenance mode\n",
			gnutls_strerror(rc));
		return;
	}
	source_adopt(server, "cairn.config.inline", (const char *)out.data, out.size);
	gnutls_free(out.data);
}

void sources_begin(struct api_server *server)
{
	static struct cmdline cmdline;   /* large; its strings point into it */
	char text[CMDLINE_MAX];
	ssize_t len;
	int fd = open(server->cmdline_path, O_RDONLY | O_CLOEXEC);
	struct fetch *fetch;
	int rc;

	if (fd < 0) {
		if (errno != ENOENT)
			fprintf(stderr, "cairnd: read %s: %s\n", server->cmdline_path, strerror(errno));
		return;
	}
	len = read(fd, text, sizeof text - 1);
	close(fd);
	if (len <= 0)
		return;
	cmdline_parse(text, (size_t)len, &cmdline);
	if (cmdline.config_url) {
		fetch = calloc(1, sizeof *fetch);
		if (!fetch)
			return;
		fetch->server = server;
		snprintf(fetch->template, sizeof fetch->template, "%s", cmdline.config_url);
		pthread_mutex_lock(&server->lock);
		server->stage = "fetching-config";
		pthread_mutex_unlock(&server->lock);
		fprintf(stderr, "cairnd: cairn.config: fetching %s in the background\n",
			cmdline.config_url);
		rc = pthread_create(&server->source_thread, NULL, fetch_thread, fetch);
		if (rc != 0) {
			fprintf(stderr, "cairnd: cairn.config: start the fetch thread: %s\n", strerror(rc));
			free(fetch);
			return;
		}
		server->source_running = true;
	} else if (cmdline.config_inline) {
		source_inline(server, cmdline.config_inline);
	}
}

void sources_stop(struct api_server *server)
{
	pthread_mutex_lock(&server->poll_lock);
	pthread_cond_broadcast(&server->poll_wake);
	pthread_mutex_unlock(&server->poll_lock);
	if (server->source_running)
		pthread_join(server->source_thread, NULL);
	server->source_running = false;
}
