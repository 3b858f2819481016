/* handlers_config.c - GET /v1/config (the stored config, decoded, key redacted) and
 * POST /v1/config (apply: strict decode, identity check, diff, atomic store). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <config.h>

#include "server.h"

/* A copy of CONFIG with every .spec.identity.key replaced by "<redacted>". */
static json_t *config_redacted(const json_t *config)
{
	json_t *copy = json_deep_copy(config), *document;
	size_t index;

	json_array_foreach(copy, index, document) {
		json_t *identity = json_object_get(json_object_get(document, "spec"), "identity");
		if (json_object_get(identity, "key"))
			json_object_set_new(identity, "key", json_string("<redacted>"));
	}
	return copy;
}

void handle_config_get(struct api_server *server, const struct api_request *req,
		       struct api_reply *reply)
{
	(void)req;
	if (!server->config) {
		reply_error(reply, 404, "no config stored", NULL);
		return;
	}
	reply_json(reply, 200, json_pack("{s:o}", "config", config_redacted(server->config)));
}

/* Every decode error as one line, then "... and N more errors". */
static json_t *error_lines(const struct config_errors *errs)
{
	json_t *lines = json_array();

	for (size_t i = 0; i < errs->count; i++)
		json_array_append_new(lines, json_string(errs->items[i].text));
	if (errs->dropped) {
		char more[64];
		snprintf(more, sizeof more, "... and %zu more errors", errs->dropped);
		json_array_append_new(lines, json_string(more));
	}
	return lines;
}

/* config_diff()'s text as an array of lines. */
static json_t *diff_lines(const json_t *old_config, const json_t *new_config)
{
	char *diff = config_diff(old_config, new_config), *line, *save = NULL;
	json_t *lines = json_array();

	if (!diff) {
		json_decref(lines);
		return NULL;
	}
	for (line = strtok_r(diff, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		json_array_append_new(lines, json_string(line));
	free(diff);
	return lines;
}

static const char *identity_field(const json_t *config, const char *name)
{
	const json_t *machine = config_find(config, "MachineConfig", NULL);

	return json_string_value(json_object_get(
		json_object_get(json_object_get(machine, "spec"), "identity"), name));
}

/* The new config must carry an identity that GnuTLS loads: cairnd serves with it next. */
static int identity_usable(const json_t *config, const char **error)
{
	const char *ca = identity_field(config, "ca"), *cert = identity_field(config, "cert"),
		   *key = identity_field(config, "key");

	if (!ca || !cert || !key) {
		*error = "the MachineConfig has no .spec.identity: cairnd could not serve the API with this config";
		return -1;
	}
	return auth_identity_check(ca, cert, key, error);
}

static bool identity_changed(const struct api_server *server, const json_t *config)
{
	return server->maintenance || !server->tls_ca ||
	       strcmp(server->tls_ca, identity_field(config, "ca")) != 0 ||
	       strcmp(server->tls_cert, identity_field(config, "cert")) != 0 ||
	       strcmp(server->tls_key, identity_field(config, "key")) != 0;
}

void handle_config_apply(struct api_server *server, const struct api_request *req,
			 struct api_reply *reply)
{
	struct config_errors errs = { 0 };
	struct apply_options options;
	json_t *config = NULL, *empty = json_array(), *changes;
	const char *error, *what;

	if (apply_options_parse(req->mode, req->dry_run, &options, &error) < 0) {
		reply_error(reply, 400, error, NULL);
		goto out;
	}
	if (config_decode("request", req->body, req->body_len, &config, &errs) < 0) {
		reply_error(reply, 400, "config rejected", error_lines(&errs));
		goto out;
	}
	if (identity_usable(config, &error) < 0) {
		reply_error(reply, 400, "config rejected", json_pack("[s]", error));
		goto out;
	}
	changes = diff_lines(server->config ? server->config : empty, config);
	if (!changes) {
		reply_error(reply, 500, "out of memory", NULL);
		goto out;
	}
	if (options.dry_run) {
		reply_json(reply, 200, json_pack("{s:b, s:s, s:o}", "dry_run", 1, "mode",
						  apply_mode_name(options.mode), "changes", changes));
		goto out;
	}
	if (store_write(server->state_dir, req->body, req->body_len, &what) < 0) {
		char detail[512];
		snprintf(detail, sizeof detail, "%s: %s: %s", server->state_dir, what, strerror(errno));
		fprintf(stderr, "cairnd: store config: %s\n", detail);
		json_decref(changes);
		reply_error(reply, 500, "cannot store the config", json_pack("[s]", detail));
		goto out;
	}
	server->reload_pending = identity_changed(server, config);
	json_decref(server->config);
	server->config = config;
	config = NULL;
	fprintf(stderr, "cairnd: config applied (mode %s, %zu changes)\n",
		apply_mode_name(options.mode), json_array_size(changes));
	reply_json(reply, 200, json_pack("{s:b, s:s, s:o}", "applied", 1, "mode",
					  apply_mode_name(options.mode), "changes", changes));
	if (options.mode == APPLY_REBOOT) {
		json_t *lines;
		char *init_error;
		int rc = initctl_request(server->init_socket, "reboot", &lines, &init_error);
		if (rc == 0)
			json_object_set_new(reply->body, "reboot", json_string("requested"));
		else
			json_object_set_new(reply->body, "reboot", json_string(init_error ? init_error : "failed"));
		json_decref(lines);
		free(init_error);
	}
out:
	json_decref(config);
	json_decref(empty);
	config_errors_free(&errs);
}
