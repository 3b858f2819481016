/* validate.c - `cairnctl validate -f FILE...`: config files checked offline with lib/config.
 * Table output: "FILE: valid" on stdout, or every error line of lib/config on stdout;
 * -o json|yaml: one object per file {"file", "valid", "errors": [{line, document, kind,
 * path, message}]}. Exit 1 when a file is invalid or unreadable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "yaml_json.h"

static json_t *errors_json(const struct config_errors *errs)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < errs->count; i++) {
		const struct config_error *e = &errs->items[i];
		json_t *item = json_object();
		if (!item)
			break;
		if (e->line)
			json_object_set_new(item, "line", json_integer(e->line));
		if (e->document)
			json_object_set_new(item, "document", json_integer(e->document));
		if (e->kind)
			json_object_set_new(item, "kind", json_string(e->kind));
		if (e->path)
			json_object_set_new(item, "path", json_string(e->path));
		json_object_set_new(item, "message", json_string(e->message));
		json_object_set_new(item, "text", json_string(e->text));
		json_array_append_new(list, item);
	}
	return list;
}

static int print_structured(const struct ctl_globals *globals, json_t *results)
{
	char *text;

	if (globals->output == CTL_OUTPUT_JSON)
		text = json_dumps(results, JSON_INDENT(2));
	else
		text = json_to_yaml(results, NULL);
	if (!text) {
		ctl_error("validate", "out of memory");
		return -1;
	}
	fputs(text, stdout);
	if (globals->output == CTL_OUTPUT_JSON)
		fputc('\n', stdout);
	free(text);
	return 0;
}

int ctl_cmd_validate(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option options[] = {
		{ "file", required_argument, NULL, 'f' },
		CTL_GLOBAL_LONG_OPTIONS,
		{ 0 },
	};
	struct config_errors errs = { 0 };
	const char **files = calloc((size_t)argc + 1, sizeof *files);
	json_t *results = json_array();
	size_t count = 0;
	int c, rc, status = CTL_EXIT_OK;

	if (!files || !results) {
		free(files);
		json_decref(results);
		ctl_error("validate", "out of memory");
		return CTL_EXIT_FAIL;
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS "f:", options, NULL)) != -1) {
		if (c == 'f') {
			files[count++] = optarg;
		} else if ((rc = ctl_global_option(globals, c, optarg, argv)) != CTL_EXIT_OK) {
			status = rc == CTL_DONE ? CTL_EXIT_OK : rc;
			goto out;
		}
	}
	if (optind < argc) {
		status = ctl_usage_error("validate", "unexpected argument '%s' (files go after -f)",
					 argv[optind]);
		goto out;
	}
	if (count == 0) {
		status = ctl_usage_error("validate", "no file given (-f FILE)");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		json_t *config = NULL;
		bool valid = config_decode_file(files[i], &config, &errs) == 0;
		json_decref(config);
		if (!valid)
			status = CTL_EXIT_FAIL;
		if (globals->output != CTL_OUTPUT_TABLE) {
			json_array_append_new(results, json_pack("{s:s, s:b, s:o}", "file", files[i],
								 "valid", valid, "errors",
								 errors_json(&errs)));
		} else if (valid) {
			printf("%s: valid\n", files[i]);
		} else {
			config_errors_print(stdout, &errs);
		}
	}
	if (globals->output != CTL_OUTPUT_TABLE && print_structured(globals, results) < 0)
		status = CTL_EXIT_FAIL;
out:
	config_errors_free(&errs);
	json_decref(results);
	free(files);
	return status;
}
