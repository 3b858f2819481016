/* fuzz_api_routes.c - cairnd's pure request parsing: the input is up to five lines,
 * METHOD, PATH, mode, dry_run, listen address; the whole input is also fed to the PID 1
 * reply parser. Checks the invariants of route_find() and apply_options_parse(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *fields[5] = { NULL }, *cursor;
	struct sockaddr_storage addr;
	struct apply_options options;
	const struct api_route *route;
	const char *error = NULL;
	unsigned status = 0;
	json_t *lines = NULL;
	char *reply_error = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	cursor = text;
	for (int i = 0; i < 5 && cursor; i++) {
		fields[i] = cursor;
		cursor = strchr(cursor, '\n');
		if (cursor)
			*cursor++ = '\0';
	}
	route = route_find(fields[0], fields[1] ? fields[1] : "", &status);
	if (route) {
		if (strcmp(route->method, fields[0]) != 0 || strcmp(route->path, fields[1]) != 0)
			abort();
	} else if (status != 404 && status != 405) {
		abort();
	}
	if (apply_options_parse(fields[2], fields[3], &options, &error) == 0) {
		if (options.mode > APPLY_TRY || strcmp(apply_mode_name(options.mode),
						       fields[2] ? fields[2] : "auto") != 0)
			abort();
	} else if (!error) {
		abort();
	}
	if (fields[4])
		server_parse_listen(fields[4], &addr);
	int rc = initctl_parse_reply((const char *)data, size, &lines, &reply_error);
	if ((rc == 1) != (lines != NULL) || (rc < 0) != (reply_error != NULL))
		abort();
	json_decref(lines);
	free(reply_error);
	free(text);
	return 0;
}
