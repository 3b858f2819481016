/* sysctls.c - the sysctls controller: writes .spec.sysctls to /proc/sys (dots become
 * slashes) when the current value differs, and publishes `sysctls`
 * [{id, desired, actual, error}]. An unknown sysctl is an error of that item only. A value
 * the kernel reads back in another form ("010" as "10") counts as applied while it reads
 * back the same, so it is not written again on every pass. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "resources.h"

/* The value with runs of blanks squeezed to one space and no blank at either end, so
 * "32768\t60999\n" equals "32768 60999". */
static char *squeeze(const char *value)
{
	char *out = malloc(strlen(value) + 1), *w = out;
	bool blank = false;

	if (!out)
		abort();
	for (const char *r = value; *r; r++) {
		if (*r == ' ' || *r == '\t' || *r == '\n') {
			blank = w != out;
			continue;
		}
		if (blank)
			*w++ = ' ';
		blank = false;
		*w++ = *r;
	}
	*w = '\0';
	return out;
}

static char *sysctl_path(struct ctrl *ctrl, const char *key)
{
	char *rel = strdup(key), *path;

	if (!rel)
		abort();
	for (char *p = rel; *p; p++)
		if (*p == '.')
			*p = '/';
	path = path_join(ctrl->proc_sys, rel);
	free(rel);
	return path;
}

static char *sysctl_read(const char *path)
{
	char *raw = fileio_read(path, CTRL_FILE_MAX, NULL), *value;

	if (!raw)
		return NULL;
	value = squeeze(raw);
	free(raw);
	return value;
}

static int sysctl_write(const char *path, const char *value)
{
	FILE *f = fopen(path, "we");
	int rc;

	if (!f)
		return -1;
	rc = fputs(value, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Whether DESIRED was written before and the kernel then read back ACTUAL. */
static bool read_back_same(struct ctrl *ctrl, const char *key, const char *desired,
			   const char *actual)
{
	const json_t *seen = json_object_get(ctrl->sysctls_read, key);
	const char *seen_desired = json_string_value(json_object_get(seen, "desired"));
	const char *seen_actual = json_string_value(json_object_get(seen, "actual"));

	return seen_desired && seen_actual && strcmp(seen_desired, desired) == 0 &&
	       strcmp(seen_actual, actual) == 0;
}

static json_t *sysctl_item(struct ctrl *ctrl, const char *key, const char *desired)
{
	char *path = sysctl_path(ctrl, key), *want = squeeze(desired);
	char *actual = sysctl_read(path);
	json_t *error = json_null();

	if (!actual && errno == ENOENT) {
		error = ctrl_fail(ctrl->report, key, "unknown sysctl: no %s", path);
	} else if (!actual) {
		error = ctrl_fail(ctrl->report, key, "cannot read %s: %s", path,
				  strerror(errno));
	} else if (strcmp(actual, want) != 0 && !read_back_same(ctrl, key, desired, actual)) {
		if (sysctl_write(path, desired) < 0) {
			error = ctrl_fail(ctrl->report, key, "cannot write %s: %s", want,
					  strerror(errno));
		} else {
			ctrl_changed(ctrl->report, key, "%s -> %s", actual, want);
			free(actual);
			actual = sysctl_read(path);
			json_object_set_new(ctrl->sysctls_read, key, json_pack("{s:s, s:s?}",
					    "desired", desired, "actual", actual));
		}
	}
	json_t *item = json_pack("{s:s, s:s, s:s?, s:o}", "id", key, "desired", desired,
				 "actual", actual, "error", error);
	free(actual);
	free(want);
	free(path);
	return item;
}

/* Cairn's own values, kept like the config's unless .spec.sysctls names the key:
 * promote_secondaries, because an address change within a subnet is "add the new, remove the
 * old", and with 0 the kernel deletes the new secondary address with the old primary (the
 * addresses controller then needed a second pass, 5 s). systemd's defaults set it too. */
static const char *const defaults[][2] = {
	{ "net.ipv4.conf.all.promote_secondaries", "1" },
	{ "net.ipv4.conf.default.promote_secondaries", "1" },
};

void ctrl_sysctls(struct ctrl *ctrl)
{
	const json_t *wanted = json_object_get(ctrl->spec, "sysctls");
	json_t *items = json_array(), *value;
	const char *key;

	json_object_foreach((json_t *)wanted, key, value)
		json_array_append_new(items, sysctl_item(ctrl, key, json_string_value(value)));
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		if (!json_object_get(wanted, defaults[i][0])) {
			json_t *item = sysctl_item(ctrl, defaults[i][0], defaults[i][1]);
			json_object_set_new(item, "source", json_string("default"));
			json_array_append_new(items, item);
		}
	resources_publish("sysctls", items);
}
