/* routes.c - the route table of cairnd (method, path with "*" segments, least role, handler),
 * route lookup and the query options of POST /v1/config. Pure: no I/O, no TLS. */
#include <string.h>

#include "server.h"

const struct api_route api_routes[] = {
	{ "GET",  "/v1/version",  ROLE_READER,   false, handle_version, 0 },
	{ "GET",  "/v1/health",   ROLE_READER,   false, handle_health, 0 },
	{ "GET",  "/v1/config",   ROLE_READER,   false, handle_config_get, 0 },
	{ "POST", "/v1/config",   ROLE_ADMIN,    true,  handle_config_apply, 0 },
	{ "POST", "/v1/reboot",   ROLE_OPERATOR, false, handle_reboot, 0 },
	{ "POST", "/v1/shutdown", ROLE_OPERATOR, false, handle_shutdown, 0 },
	{ "GET",  "/v1/services", ROLE_READER,   false, handle_services, 0 },
	{ "POST", "/v1/config/confirm",     ROLE_ADMIN,    false, handle_config_confirm, 0 },
	{ "POST", "/v1/services/*/start",   ROLE_OPERATOR, false, handle_service_action, 0 },
	{ "POST", "/v1/services/*/stop",    ROLE_OPERATOR, false, handle_service_action, 0 },
	{ "POST", "/v1/services/*/restart", ROLE_OPERATOR, false, handle_service_action, 0 },
	{ "POST", "/v1/services/*/kill",    ROLE_OPERATOR, false, handle_service_action, 0 },
	{ "GET",  "/v1/resources",          ROLE_READER,   false, handle_resource_kinds, 0 },
	{ "GET",  "/v1/resources/*",        ROLE_READER,   false, handle_resource_get, 0 },
	{ "GET",  "/v1/logs/*",             ROLE_READER,   false, handle_logs, 0 },
	{ "GET",  "/v1/dmesg",              ROLE_READER,   false, handle_dmesg, 0 },
	{ "POST", "/v1/vms/*/start",        ROLE_OPERATOR, false, handle_vm_action, 0 },
	{ "POST", "/v1/vms/*/stop",         ROLE_OPERATOR, false, handle_vm_action, 0 },
	{ "POST", "/v1/vms/*/restart",      ROLE_OPERATOR, false, handle_vm_action, 0 },
	{ "GET",  "/v1/vms/*/console",      ROLE_OPERATOR, false, handle_vm_console, 0 },
	{ "POST", "/v1/vms/*/monitor",      ROLE_OPERATOR, false, handle_vm_monitor, 0 },
	{ "POST", "/v1/volumes/*/outdate",  ROLE_NODE,     false, handle_volume_outdate, 0 },
	{ "POST", "/v1/volumes/*/peer-down", ROLE_ADMIN,   false, handle_volume_peer_down, 0 },
	{ "POST", "/v1/volumes/*/resolve",  ROLE_ADMIN,    false, handle_volume_resolve, 0 },
	{ "GET",  "/v1/kubeconfig",         ROLE_ADMIN,    false, handle_kubeconfig, 0 },
	{ "POST", "/v1/images",             ROLE_ADMIN,    false, handle_image_import,
	  API_UPLOAD_MAX },
	{ "GET",  "/v1/etcd/snapshot",      ROLE_ADMIN,    false, handle_etcd_snapshot, 0 },
	{ "POST", "/v1/etcd/restore",       ROLE_ADMIN,    false, handle_etcd_restore,
	  API_UPLOAD_MAX },
	{ NULL, NULL, ROLE_NONE, false, NULL, 0 },
};

/* Walks PATTERN and PATH segment by segment; a "*" segment matches one non-empty segment
 * without '/'. With BUF, copies the INDEX-th such segment. 1: match; 0: none; -1: too long. */
static int path_match(const char *pattern, const char *path, unsigned index, char *buf,
		      size_t size)
{
	unsigned star = 0;
	int found = buf ? 0 : 1;

	while (*pattern && *path) {
		if (pattern[0] == '*' && (pattern[1] == '/' || pattern[1] == '\0')) {
			size_t len = strcspn(path, "/");
			if (len == 0)
				return 0;
			if (buf && star == index) {
				if (len >= size)
					return -1;
				memcpy(buf, path, len);
				buf[len] = '\0';
				found = 1;
			}
			star++;
			pattern++;
			path += len;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0' ? found : 0;
}

int route_param(const char *pattern, const char *path, unsigned index, char *buf, size_t size)
{
	return path_match(pattern, path, index, buf, size) == 1 ? 0 : -1;
}

const struct api_route *route_find(const char *method, const char *path, unsigned *status)
{
	bool path_known = false;

	for (const struct api_route *route = api_routes; route->method; route++) {
		if (path_match(route->path, path, 0, NULL, 0) != 1)
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
	out->try_timeout_ms = API_TRY_TIMEOUT_DEFAULT_MS;
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
	/* "?dry_run" with no value counts as true, like a flag */
	if (flag_parse(dry_run, &out->dry_run) < 0) {
		*error = "invalid dry_run: expected 1, true, 0 or false";
		return -1;
	}
	return 0;
}

int apply_options_parse_timeout(const char *timeout, struct apply_options *out,
				const char **error)
{
	long long ms;

	if (!timeout)
		return 0;
	if (out->mode != APPLY_TRY) {
		*error = "timeout applies only to mode=try";
		return -1;
	}
	if (duration_parse(timeout, &ms) < 0 || ms < 1000 || ms > API_TRY_TIMEOUT_MAX_MS) {
		*error = "invalid timeout: expected a duration of 1s to 24h (e.g. 30s, 2m)";
		return -1;
	}
	out->try_timeout_ms = ms;
	return 0;
}
