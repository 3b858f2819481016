/* fence.c - DRBD's fence-peer handler for Cairn's Volumes (`fencing resource-only`): cairnd
 * run as `cairnd --drbd-fence-peer` by /usr/lib/cairn/drbd-fence-peer when DRBD 8.4 must know
 * that the peer's copy cannot be used before it goes on without it (a Secondary promoted while
 * disconnected, a Primary that lost its peer). It asks the peer's cairnd to outdate its copy
 * (POST /v1/volumes/NAME/outdate, mutual TLS with this node's certificate) and answers with
 * DRBD's exit codes: 3 peer Inconsistent, 4 peer Outdated, 5 peer unreachable (then DRBD marks
 * it Outdated), 6 peer Primary (DRBD outdates this node). Unreachable is answered 5 only when
 * this node is Primary (it goes on writing: the peer's copy is older by definition) or when
 * the operator stated that the peer is down (`cairnctl volume peer-down NAME`, the file
 * RUN_DIR/NAME.peer-down); otherwise 1, and the promotion is refused. See README.md,
 * "Failover". Also the split-brain handler (drbd_split_brain_main, README "Split brain"). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "drbd.h"
#include "fileio.h"

#define FENCE_API_PORT 50000   /* when RUN_DIR/NAME.peer names no port */
#define FENCE_CONNECT_TIMEOUT_S 3L
#define FENCE_TIMEOUT_S 40L

struct body {
	char data[4096];
	size_t len;
};

static size_t take_body(char *ptr, size_t size, size_t count, void *user)
{
	struct body *b = user;
	size_t n = size * count, room = sizeof b->data - 1 - b->len;

	memcpy(b->data + b->len, ptr, n < room ? n : room);
	b->len += n < room ? n : room;
	b->data[b->len] = '\0';
	return n;
}

/* Whether minor MINOR is Primary here (/proc/drbd: " N: cs:... ro:Primary/..."). */
static bool local_primary(const char *minor)
{
	FILE *f = fopen("/proc/drbd", "re");
	char line[512], prefix[32];
	bool primary = false;

	if (!f || !minor)
		return f ? (fclose(f), false) : false;
	snprintf(prefix, sizeof prefix, "%s:", minor);
	while (fgets(line, sizeof line, f)) {
		const char *p = line + strspn(line, " ");
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			primary = strstr(p, "ro:Primary/") != NULL;
	}
	fclose(f);
	return primary;
}

/* The verdict: to stderr, the kernel log, and RUN_DIR/NAME.fence (read by the controller). */
static int verdict(const char *run_dir, const char *name, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int verdict(const char *run_dir, const char *name, int code, const char *fmt, ...)
{
	char text[1024], path[600], line[1100];
	const char *what = NULL;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	fprintf(stderr, "drbd-fence-peer: %s: exit %d: %s\n", name, code, text);
	if (strcmp(run_dir, DRBD_RUN_DIR) == 0 && (f = fopen("/dev/kmsg", "we"))) {   /* not in tests */
		fprintf(f, "cairn drbd-fence-peer: %s: exit %d: %s\n", name, code, text);
		fclose(f);
	}
	/* the verdict for `get volumes`: whole or not at all (the controller reads it any time) */
	snprintf(path, sizeof path, "%s/%s" DRBD_FENCE_SUFFIX, run_dir, name);
	snprintf(line, sizeof line, "%d %s\n", code, text);
	if (fileio_write_atomic(path, line, strlen(line), 0644, &what) < 0)
		fprintf(stderr, "drbd-fence-peer: %s: %s: %s (the verdict is not shown in get volumes)\n",
			path, what ? what : "write", strerror(errno));
	return code;
}

int drbd_fence_peer_main(const char *run_dir)
{
	const char *name = getenv("DRBD_RESOURCE"), *minor = getenv("DRBD_MINOR");
	char path[600], peer[256] = "", address[256] = "", url[600], resolve[600], error[CURL_ERROR_SIZE] = "";
	int port = FENCE_API_PORT;
	char cert[600], key[600], ca[600];
	struct body body = { .len = 0 };
	struct curl_slist *hosts = NULL;
	long status = 0;
	CURLcode rc;
	CURL *curl;
	FILE *f;

	if (!run_dir)
		run_dir = DRBD_RUN_DIR;
	if (!name || !*name || strchr(name, '/'))
		return fprintf(stderr, "drbd-fence-peer: DRBD_RESOURCE not set\n"), 1;
	snprintf(path, sizeof path, "%s/%s" DRBD_PEER_SUFFIX, run_dir, name);
	if (!(f = fopen(path, "re")) || fscanf(f, "%255s %255s %d", peer, address, &port) < 2 ||
	    port <= 0 || port > 65535) {
		if (f)
			fclose(f);
		return verdict(run_dir, name, 1, "%s: no peer recorded", path);
	}
	fclose(f);
	snprintf(url, sizeof url, "https://%s:%d/v1/volumes/%s/outdate", peer, port, name);
	snprintf(resolve, sizeof resolve, "%s:%d:%s", peer, port, address);
	snprintf(cert, sizeof cert, "%s/" DRBD_IDENTITY_DIR "/node.crt", run_dir);
	snprintf(key, sizeof key, "%s/" DRBD_IDENTITY_DIR "/node.key", run_dir);
	snprintf(ca, sizeof ca, "%s/" DRBD_IDENTITY_DIR "/ca.crt", run_dir);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(curl = curl_easy_init()))
		return verdict(run_dir, name, 1, "libcurl does not start");
	hosts = curl_slist_append(NULL, resolve);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_RESOLVE, hosts);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(curl, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(curl, CURLOPT_SSLKEY, key);
	curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
	curl_easy_setopt(curl, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, FENCE_CONNECT_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, FENCE_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(hosts);

	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
	    (rc == CURLE_RECV_ERROR && status == 0)) {
		snprintf(path, sizeof path, "%s/%s" DRBD_PEER_DOWN_SUFFIX, run_dir, name);
		if (local_primary(minor))
			return verdict(run_dir, name, 5, "peer %s (%s) unreachable (%s); this node is "
				       "Primary and goes on: the peer's copy is older", peer, address,
				       error);
		if (access(path, F_OK) == 0)
			return verdict(run_dir, name, 5, "peer %s (%s) unreachable (%s); the operator "
				       "stated it is down (cairnctl volume peer-down)", peer, address,
				       error);
		return verdict(run_dir, name, 1, "peer %s (%s) unreachable (%s) and not known down: "
			       "not promoted; if %s is down for sure: cairnctl volume peer-down %s",
			       peer, address, error, peer, name);
	}
	if (rc != CURLE_OK)
		return verdict(run_dir, name, 1, "peer %s (%s): %s", peer, address,
			       error[0] ? error : curl_easy_strerror(rc));

	json_t *reply = json_loads(body.data, 0, NULL);
	const char *disk = json_string_value(json_object_get(reply, "disk"));
	const char *why = json_string_value(json_object_get(reply, "error"));
	int code;

	if (status == 200 && disk && (strcmp(disk, "Inconsistent") == 0 || strcmp(disk, "Diskless") == 0))
		code = verdict(run_dir, name, 3, "peer %s: disk %s", peer, disk);
	else if (status == 200)
		code = verdict(run_dir, name, 4, "peer %s outdated its copy (disk %s)", peer,
			       disk ? disk : "?");
	else if (status == 409 && why && strstr(why, "is Primary"))
		code = verdict(run_dir, name, 6, "peer %s is Primary: %s", peer, why);
	else
		code = verdict(run_dir, name, 1, "peer %s refused (HTTP %ld): %s", peer, status,
			       why ? why : body.data);
	json_decref(reply);
	return code;
}

int drbd_split_brain_main(const char *run_dir)
{
	const char *name = getenv("DRBD_RESOURCE"), *what = NULL;
	char path[600], stamp[32];
	FILE *f;

	if (!run_dir)
		run_dir = DRBD_RUN_DIR;
	if (!name || !*name || strchr(name, '/'))
		return fprintf(stderr, "drbd-split-brain: DRBD_RESOURCE not set\n"), 1;
	snprintf(path, sizeof path, "%s/%s" DRBD_SPLIT_BRAIN_SUFFIX, run_dir, name);
	snprintf(stamp, sizeof stamp, "%lld\n", (long long)time(NULL));
	if (fileio_write_atomic(path, stamp, strlen(stamp), 0644, &what) < 0) {
		fprintf(stderr, "drbd-split-brain: %s: %s: %s\n", path, what ? what : "write",
			strerror(errno));
		return 1;
	}
	fprintf(stderr, "drbd-split-brain: %s: split brain, not resolved (StandAlone); "
		"nothing discarded: cairnctl volume resolve %s --keep NODE\n", name, name);
	if (strcmp(run_dir, DRBD_RUN_DIR) == 0 && (f = fopen("/dev/kmsg", "we"))) {   /* not in tests */
		fprintf(f, "cairn drbd-split-brain: %s: split brain, nothing discarded; "
			"cairnctl volume resolve %s --keep NODE\n", name, name);
		fclose(f);
	}
	return 0;
}
