/* modules.c - the kernel modules controller: runs `modprobe NAME PARAMETERS...` for each
 * module of .spec.kernel.modules that is not loaded (/proc/modules, /sys/module/NAME), once
 * per set of parameters while it succeeds, and publishes `modules`
 * [{id, name, loaded, parameters, error}]. Parameters of a module already loaded are not
 * changed (that needs a reload); a failed modprobe is tried again on the next pass. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net.h"
#include "resources.h"

#define MODPROBE_TIMEOUT_MS 10000

/* The kernel's name: dashes become underscores. */
static void kernel_name(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s", name);
	for (char *p = out; *p; p++)
		if (*p == '-')
			*p = '_';
}

static bool module_loaded(const char *name)
{
	char kname[64], path[128], *list, *line, *save = NULL;
	struct stat st;
	bool found = false;
	size_t len;

	kernel_name(name, kname, sizeof(kname));
	len = strlen(kname);
	snprintf(path, sizeof(path), "/sys/module/%s", kname);
	if (stat(path, &st) == 0)
		return true;
	list = fileio_read("/proc/modules", CTRL_FILE_MAX, NULL);
	for (line = list ? strtok_r(list, "\n", &save) : NULL; line && !found;
	     line = strtok_r(NULL, "\n", &save))
		found = strncmp(line, kname, len) == 0 && line[len] == ' ';
	free(list);
	return found;
}

/* The last non-empty line of OUT, for the error message. */
static void last_line(const char *out, char *buf, size_t size)
{
	const char *end = out ? out + strlen(out) : NULL, *start;

	buf[0] = '\0';
	while (end && end > out && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	if (!end || end == out)
		return;
	for (start = end; start > out && start[-1] != '\n'; start--)
		;
	snprintf(buf, size, "%.*s", (int)(end - start), start);
}

static json_t *run_modprobe(struct ctrl *ctrl, const char *name, const json_t *params)
{
	size_t count = json_array_size(params), i;
	char **argv = calloc(count + 3, sizeof(*argv));
	char *out = NULL, reason[256];
	int status;

	if (!argv)
		abort();
	argv[0] = (char *)ctrl->modprobe;
	argv[1] = (char *)name;
	for (i = 0; i < count; i++)
		argv[2 + i] = (char *)json_string_value(json_array_get(params, i));
	status = run_command(argv, &out, MODPROBE_TIMEOUT_MS);
	free(argv);
	last_line(out, reason, sizeof(reason));
	free(out);
	if (status < 0)
		return ctrl_fail(ctrl->report, name, "%s: %s", ctrl->modprobe,
				 strerror(errno));
	if (status != 0)
		return ctrl_fail(ctrl->report, name, "%s exited with status %d%s%s",
				 ctrl->modprobe, status, reason[0] ? ": " : "", reason);
	ctrl_changed(ctrl->report, name, "loaded with %s", ctrl->modprobe);
	return NULL;
}

static json_t *module_item(struct ctrl *ctrl, const json_t *module, json_t *done)
{
	const char *name = json_string_value(json_object_get(module, "name"));
	json_t *params = json_object_get(module, "parameters");
	json_t *error = NULL;
	bool loaded;

	params = params ? json_incref(params) : json_array();
	loaded = module_loaded(name);
	/* a module modprobe accepted that still does not show (built in, an alias) is not
	 * probed again with the same parameters */
	if (!loaded && !json_equal(json_object_get(ctrl->modules_done, name), params)) {
		error = run_modprobe(ctrl, name, params);
		loaded = module_loaded(name);
		if (!error && !loaded)
			json_object_set(done, name, params);
	} else if (!loaded) {
		json_object_set(done, name, params);
	}
	return json_pack("{s:s, s:s, s:b, s:o, s:o}", "id", name, "name", name, "loaded",
			 loaded, "parameters", params, "error", error ? error : json_null());
}

void ctrl_modules(struct ctrl *ctrl)
{
	const json_t *modules = json_object_get(json_object_get(ctrl->spec, "kernel"), "modules");
	json_t *items = json_array(), *done = json_object(), *module;
	size_t i;

	json_array_foreach(modules, i, module)
		json_array_append_new(items, module_item(ctrl, module, done));
	json_decref(ctrl->modules_done);
	ctrl->modules_done = done;
	resources_publish("modules", items);
}
