/* fuzz_api_routes.c - cairnd's pure request parsing. The input is up to ten lines: METHOD,
 * PATH, mode, dry_run, listen address, try timeout, a tail count or flag, a service name, a
 * config URL template, a /dev/kmsg record; the whole input also goes to the PID 1 reply
 * parser and, as log file data, to log_overlap(). Checks the invariants of each parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define FIELDS 10

static void check_route(const char *method, const char *path)
{
	const struct api_route *route;
	unsigned status = 0;
	char param[128];

	route = route_find(method, path, &status);
	if (route) {
		if (strcmp(route->method, method) != 0)
			abort();
		/* a matched "*" gives a non-empty segment without '/' */
		if (strchr(route->path, '*') &&
		    route_param(route->path, path, 0, param, sizeof param) == 0 &&
		    (param[0] == '\0' || strchr(param, '/')))
			abort();
		if (!strchr(route->path, '*') && strcmp(route->path, path) != 0)
			abort();
	} else if (status != 404 && status != 405) {
		abort();
	}
}

static void check_args(char **fields)
{
	struct apply_options options;
	const char *error = NULL;
	long long ms;
	long count;
	bool flag;
	char text[32];

	if (apply_options_parse(fields[2], fields[3], &options, &error) == 0) {
		if (options.mode > APPLY_TRY || strcmp(apply_mode_name(options.mode),
						       fields[2] ? fields[2] : "auto") != 0)
			abort();
		if (apply_options_parse_timeout(fields[5], &options, &error) == 0) {
			if (options.try_timeout_ms < 1000 || options.try_timeout_ms > API_TRY_TIMEOUT_MAX_MS)
				abort();
		} else if (!error) {
			abort();
		}
	} else if (!error) {
		abort();
	}
	if (fields[5] && duration_parse(fields[5], &ms) == 0) {
		long long again;
		if (ms < 0)
			abort();
		duration_format(ms, text, sizeof text);   /* formatting round-trips */
		if (duration_parse(text, &again) < 0 || again != ms)
			abort();
	}
	if (count_parse(fields[6], 0, API_TAIL_MAX, API_TAIL_DEFAULT, &count) == 0 &&
	    (count < 0 || count > API_TAIL_MAX))
		abort();
	if (flag_parse(fields[6], &flag) < 0 && !fields[6])
		abort();
	if (fields[7] && service_name_valid(fields[7]) &&
	    (strpbrk(fields[7], " \t\r/") || strlen(fields[7]) > API_SERVICE_NAME_MAX))
		abort();
}

static void check_url(const char *template)
{
	char out[256];
	const char *error = NULL;

	if (url_expand(template, "52:54:00:ab:cd:ef", "4c4c4544-0042", out, sizeof out, &error) == 0) {
		if (strlen(out) >= sizeof out || strstr(out, "${mac}") || strstr(out, "${uuid}"))
			abort();
	} else if (!error) {
		abort();
	}
	if (url_expand(template, NULL, NULL, out, sizeof out, &error) == 0 && strstr(template, "${"))
		abort();
}

static void check_kmsg(const char *record)
{
	char out[64];
	int n = kmsg_format(record, strlen(record), out, sizeof out);

	if (n >= (int)sizeof out || (n >= 0 && (out[0] != '[' || strlen(out) != (size_t)n)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *fields[FIELDS] = { NULL }, *cursor;
	struct sockaddr_storage addr;
	json_t *lines = NULL;
	char *reply_error = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	cursor = text;
	for (int i = 0; i < FIELDS && cursor; i++) {
		fields[i] = cursor;
		cursor = strchr(cursor, '\n');
		if (cursor)
			*cursor++ = '\0';
	}
	check_route(fields[0], fields[1] ? fields[1] : "");
	check_args(fields);
	if (fields[4])
		server_parse_listen(fields[4], &addr);
	if (fields[8])
		check_url(fields[8]);
	if (fields[9])
		check_kmsg(fields[9]);
	int rc = initctl_parse_reply((const char *)data, size, &lines, &reply_error);
	if ((rc == 1) != (lines != NULL) || (rc < 0) != (reply_error != NULL))
		abort();
	if (lines) {
		/* the reply's own lines as a tail against the raw input as log data */
		size_t skip = log_overlap(lines, (const char *)data, size);
		if (skip > size || (skip > 0 && data[skip - 1] != '\n'))
			abort();
	}
	json_decref(lines);
	free(reply_error);
	free(text);
	return 0;
}
