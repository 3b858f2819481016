/* routes.c - the route table of cairnd (method, path, least role, handler), route lookup
 * and the query options of POST /v1/config. Pure: no I/O, no TLS. */
#include <string.h>

#include "server.h"

const struct api_route api_routes[] = {
	{ "GET",  "/v1/version",  ROLE_READER,   false, handle_version },
	{ "GET",  "/v1/health",   ROLE_READER,   false, handle_health },
	{ "GET",  "/v1/config",   ROLE_READER,   false, handle_config_get },
	{ "POST", "/v1/config",   ROLE_ADMIN,    true,  handle_config_apply },
	{ "POST", "/v1/reboot",   ROLE_OPERATOR, false, handle_reboot },
	{ "POST", "/v1/shutdown", ROLE_OPERATOR, false, handle_shutdown },
	{ "GET",  "/v1/services", ROLE_READER,   false, handle_services },
	{ NULL, NULL, ROLE_NONE, false, NULL },
};

const struct api_route *route_find(const char *method, const char *path, unsigned *status)
{
	bool path_known = false;

	for (const struct api_route *route = api_routes; route->method; route++) {
		if (strcmp(route->path, path) != 0)
			continue;
		if (strcmp(route->method, method) == 0)
			return route;
		path_known = true;
	}
	*status = path_known ? 405 : 404;
	return NULL;
}

static const char *const apply_mode_names[] = {
	[APPLY_AUTO] = "auto",
	[APPLY_NO_REBOOT] = "no-reboot",
	[APPLY_REBOOT] = "reboot",
	[APPLY_STAGED] = "staged",
	[APPLY_TRY] = "try",
};

const char *apply_mode_name(enum apply_mode mode)
{
	return apply_mode_names[mode];
}

int apply_options_parse(const char *mode, const char *dry_run, struct apply_options *out,
			const char **error)
{
	out->mode = APPLY_AUTO;
	out->dry_run = false;
	if (mode) {
		size_t i, count = sizeof apply_mode_names / sizeof apply_mode_names[0];

		for (i = 0; i < count; i++)
			if (strcmp(mode, apply_mode_names[i]) == 0)
				break;
		if (i == count) {
			*error = "invalid mode: expected auto, no-reboot, reboot, staged or try";
			return -1;
		}
		out->mode = (enum apply_mode)i;
	}
	if (dry_run) {
		/* "?dry_run" with no value counts as true, like a flag */
		if (strcmp(dry_run, "") == 0 || strcmp(dry_run, "1") == 0 ||
		    strcmp(dry_run, "true") == 0)
			out->dry_run = true;
		else if (strcmp(dry_run, "0") != 0 && strcmp(dry_run, "false") != 0) {
			*error = "invalid dry_run: expected 1, true, 0 or false";
			return -1;
		}
	}
	return 0;
}
