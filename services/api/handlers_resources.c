/* handlers_resources.c - GET /v1/resources (the kinds), GET /v1/resources/KIND (a snapshot)
 * and GET /v1/resources/KIND?watch=1 (NDJSON: the snapshot now, then one per change). */
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "server.h"

#define WATCH_WAIT_MS 500

struct watch {
	char kind[64];
	json_int_t revision;   /* the last one sent */
};

void handle_resource_kinds(struct api_server *server, const struct api_request *req,
			   struct api_reply *reply)
{
	json_t *kinds = json_array();

	(void)server;
	(void)req;
	for (size_t i = 0; resource_kinds[i]; i++)
		json_array_append_new(kinds, json_string(resource_kinds[i]));
	reply_json(reply, 200, json_pack("{s:o}", "kinds", kinds));
}

/* SNAPSHOT (stolen) as one line of compact JSON. */
static int append_line(struct api_buf *out, json_t *snapshot)
{
	char *text = json_dumps(snapshot, JSON_COMPACT);
	int rc = text && buf_append(out, text, strlen(text)) == 0 && buf_append(out, "\n", 1) == 0
			 ? 0 : -1;

	free(text);
	json_decref(snapshot);
	return rc;
}

static int watch_next(void *state, struct api_stream *stream, struct api_buf *out)
{
	struct watch *watch = state;

	for (;;) {
		json_t *snapshot = resources_wait(watch->kind, watch->revision, WATCH_WAIT_MS);
		json_int_t revision = json_integer_value(json_object_get(snapshot, "revision"));

		if (!snapshot)
			return -1;
		if (revision != watch->revision) {
			watch->revision = revision;
			return append_line(out, snapshot) == 0 ? 1 : -1;
		}
		json_decref(snapshot);
		if (stream_wait(stream, -1, 0) < 0)
			return 0;
	}
}

/* machinestatus read now: the node's memory (MemTotal, MemAvailable and their difference,
 * MiB, from /proc/meminfo) added to a copy of the snapshot. Not published: it moves all the
 * time, and a watcher would wake for nothing. */
static json_t *with_memory(json_t *snapshot)
{
	char *text = fileio_read("/proc/meminfo", 65536, NULL), *at;
	long long total = -1, avail = -1;
	json_t *copy, *item;

	if (!text)
		return snapshot;
	if ((at = strstr(text, "MemTotal:")))
		total = strtoll(at + 9, NULL, 10);
	if ((at = strstr(text, "MemAvailable:")))
		avail = strtoll(at + 13, NULL, 10);
	free(text);
	copy = json_deep_copy(snapshot);
	item = json_array_get(json_object_get(copy, "items"), 0);
	if (!copy || !item || total < 0 || avail < 0) {
		json_decref(copy);
		return snapshot;
	}
	/* each rounded down to MiB first, so that used + available == total exactly */
	total /= 1024;
	avail /= 1024;
	json_object_set_new(item, "memory_total_mib", json_integer(total));
	json_object_set_new(item, "memory_available_mib", json_integer(avail));
	json_object_set_new(item, "memory_used_mib", json_integer(total - avail));
	json_decref(snapshot);
	return copy;
}

void handle_resource_get(struct api_server *server, const struct api_request *req,
			 struct api_reply *reply)
{
	json_t *snapshot = resources_get(req->param[0]);
	struct watch *watch;
	bool follow;

	(void)server;
	if (!snapshot) {
		char error[160], known[512] = "known kinds:";
		for (size_t i = 0; resource_kinds[i]; i++)
			snprintf(known + strlen(known), sizeof known - strlen(known), "%s %s",
				 i ? "," : "", resource_kinds[i]);
		snprintf(error, sizeof error, "no such resource kind: %s", req->param[0]);
		reply_error(reply, 404, error, json_pack("[s]", known));
		return;
	}
	if (flag_parse(req->query(req, "watch"), &follow) < 0) {
		json_decref(snapshot);
		reply_error(reply, 400, "invalid watch: expected 1, true, 0 or false", NULL);
		return;
	}
	if (!follow) {
		if (strcmp(req->param[0], "machinestatus") == 0)
			snapshot = with_memory(snapshot);
		reply_json(reply, 200, snapshot);
		return;
	}
	watch = calloc(1, sizeof *watch);
	if (!watch) {
		json_decref(snapshot);
		return;
	}
	snprintf(watch->kind, sizeof watch->kind, "%s", req->param[0]);
	watch->revision = json_integer_value(json_object_get(snapshot, "revision"));
	reply->status = 200;
	reply->content_type = "application/x-ndjson";
	if (append_line(&reply->stream_head, snapshot) < 0) {
		free(watch);
		reply->content_type = NULL;
		reply->status = 500;
		return;
	}
	reply->stream_next = watch_next;
	reply->stream_state = watch;
	reply->stream_free = free;
}
