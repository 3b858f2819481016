/* handlers_config.c - GET /v1/config (the running config, decoded, key redacted),
 * POST /v1/config (apply: strict decode, identity check, VM admission, diff, atomic store,
 * the modes) and
 * POST /v1/config/confirm (keeps a try apply); the validation the config sources share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <config.h>

#include "server.h"
#include "storage.h"
#include "vm.h"

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
	json_t *config = server_config_ref(server, NULL);

	(void)req;
	if (!config) {
		reply_error(reply, 404, "no config stored", NULL);
		return;
	}
	reply_json(reply, 200, json_pack("{s:o}", "config", config_redacted(config)));
	json_decref(config);
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

int config_validate(const char *name, const char *text, size_t len, json_t **config,
		    json_t **details)
{
	struct config_errors errs = { 0 };
	const char *error;
	int rc = -1;

	*config = NULL;
	*details = NULL;
	if (config_decode(name, text, len, config, &errs) < 0)
		*details = error_lines(&errs);
	else if (identity_usable(*config, &error) < 0) {
		*details = json_pack("[s]", error);
		json_decref(*config);
		*config = NULL;
	} else
		rc = 0;
	config_errors_free(&errs);
	return rc;
}

/* The caller holds the lock. */
static bool identity_changed(const struct api_server *server, const json_t *config)
{
	const char *ca = identity_field(config, "ca"), *cert = identity_field(config, "cert"),
		   *key = identity_field(config, "key");

	if (!config)
		return !server->maintenance;
	return server->maintenance || !server->tls_ca || !ca || !cert || !key ||
	       strcmp(server->tls_ca, ca) != 0 || strcmp(server->tls_cert, cert) != 0 ||
	       strcmp(server->tls_key, key) != 0;
}

bool server_adopt_config(struct api_server *server, json_t *config, const char *text,
			 size_t len, const char *source)
{
	bool changed = identity_changed(server, config);

	json_decref(server->config);
	server->config = config;
	if (config)
		store_sha256(text, len, server->config_sha256);
	else
		server->config_sha256[0] = '\0';
	server->staged_sha256[0] = '\0';
	server->config_revision++;
	server->source = source;
	if (!config)
		server->stage = "waiting-config";
	else if (strcmp(server->stage, "waiting-config") == 0 ||
		 strcmp(server->stage, "fetching-config") == 0)
		server->stage = "booting";
	server->reconcile_now = true;
	server_wake(server);
	return changed;
}

/* A pending try ends because another config was stored. The caller holds the lock. */
static void try_supersede(struct api_server *server, enum apply_mode mode)
{
	if (server->try.state != TRY_PENDING)
		return;
	free(server->try.prev_text);
	server->try.prev_text = NULL;
	server->try.state = TRY_SUPERSEDED;
	store_try_clear(server->state_dir);
	fprintf(stderr, "cairnd: try: superseded by an apply in mode %s: no revert\n",
		apply_mode_name(mode));
}

/* Mode try, before the store: the stored bytes to restore, unless a try is already pending
 * (its rollback point stays). The caller holds the lock. 0, or -1 with REPLY set. */
static int try_prepare(struct api_server *server, char **prev, size_t *prev_len,
		       struct api_reply *reply)
{
	const char *what;
	int rc;

	*prev = NULL;
	*prev_len = 0;
	if (server->maintenance) {
		reply_error(reply, 400, "mode try is not available in maintenance mode: there is no config to return to",
			    NULL);
		return -1;
	}
	if (server->try.state == TRY_PENDING)
		return 0;
	rc = store_read(server->state_dir, prev, prev_len);
	if (rc <= 0) {
		reply_error(reply, rc < 0 ? 500 : 400, rc < 0 ?
			    "cannot read the stored config to return to" :
			    "mode try needs a stored config to return to", NULL);
		return -1;
	}
	/* kept on disk first: a cairnd restart before the deadline reverts at start */
	if (store_try_save(server->state_dir, *prev, *prev_len, &what) < 0) {
		char detail[512];
		snprintf(detail, sizeof detail, "%s: %s: %s", server->state_dir, what, strerror(errno));
		reply_error(reply, 500, "cannot keep the config to return to", json_pack("[s]", detail));
		free(*prev);
		*prev = NULL;
		return -1;
	}
	return 0;
}

/* Mode try, once stored: the rollback point (PREV, stolen, unless one is kept) and the
 * deadline. The caller holds the lock. */
static void try_begin(struct api_server *server, long long timeout_ms, char *prev,
		      size_t prev_len)
{
	struct timespec now;

	if (prev) {
		free(server->try.prev_text);
		server->try.prev_text = prev;
		server->try.prev_len = prev_len;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	server->try.state = TRY_PENDING;
	server->try.timeout_ms = timeout_ms;
	server->try.deadline_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 + timeout_ms;
	server->try.deadline_wall = time(NULL) + (time_t)((timeout_ms + 999) / 1000);
}

/* With the lock held: stores and applies per OPTIONS. CONFIG is stolen. */
static void apply_locked(struct api_server *server, const struct api_request *req,
			 const struct apply_options *options, json_t *config, json_t *changes,
			 struct api_reply *reply)
{
	const char *what, *mode = apply_mode_name(options->mode);
	char *prev = NULL;
	size_t prev_len = 0;

	if (options->mode == APPLY_TRY && try_prepare(server, &prev, &prev_len, reply) < 0) {
		json_decref(config);
		return;
	}
	if (store_write(server->state_dir, req->body, req->body_len, &what) < 0) {
		char detail[512];
		snprintf(detail, sizeof detail, "%s: %s: %s", server->state_dir, what, strerror(errno));
		fprintf(stderr, "cairnd: store config: %s\n", detail);
		reply_error(reply, 500, "cannot store the config", json_pack("[s]", detail));
		if (prev)   /* this try never began */
			store_try_clear(server->state_dir);
		free(prev);
		json_decref(config);
		return;
	}
	if (options->mode == APPLY_TRY)
		try_begin(server, options->try_timeout_ms, prev, prev_len);
	else
		try_supersede(server, options->mode);
	if (options->mode == APPLY_STAGED) {
		store_sha256(req->body, req->body_len, server->staged_sha256);
		if (strcmp(server->staged_sha256, server->config_sha256) == 0)
			server->staged_sha256[0] = '\0';
		json_decref(config);
		fprintf(stderr, "cairnd: config staged for the next boot (%zu changes)\n",
			json_array_size(changes));
		reply_json(reply, 200, json_pack("{s:b, s:s, s:O, s:s}", "applied", 1, "mode", mode,
						  "changes", changes, "effective", "next boot"));
		return;
	}
	reply->reload_identity = server_adopt_config(server, config, req->body, req->body_len,
						     "api");
	fprintf(stderr, "cairnd: config applied (mode %s, %zu changes)\n", mode,
		json_array_size(changes));
	reply_json(reply, 200, json_pack("{s:b, s:s, s:O, s:s}", "applied", 1, "mode", mode,
					  "changes", changes, "effective", "now"));
	if (options->mode == APPLY_TRY) {
		char timeout[32];
		duration_format(options->try_timeout_ms, timeout, sizeof timeout);
		json_object_set_new(reply->body, "try", status_try_json(server));
		fprintf(stderr, "cairnd: try: confirm within %s or the previous config returns\n",
			timeout);
	}
}

void handle_config_apply(struct api_server *server, const struct api_request *req,
			 struct api_reply *reply)
{
	struct apply_options options;
	json_t *config = NULL, *empty = json_array(), *changes = NULL, *details;
	const char *error;

	if (apply_options_parse(req->mode, req->dry_run, &options, &error) < 0 ||
	    apply_options_parse_timeout(req->query(req, "timeout"), &options, &error) < 0) {
		reply_error(reply, 400, error, NULL);
		goto out;
	}
	if (config_validate("request", req->body, req->body_len, &config, &details) < 0) {
		reply_error(reply, 400, "config rejected", details);
		goto out;
	}
	/* the VMs for this node must fit in its memory: refused, nothing changes */
	if (vm_admit(config, NULL, &details) < 0) {
		reply_error(reply, 400, "config rejected: the VMs do not fit on this node", details);
		goto out;
	}
	/* the decode may have taken long: a client that left gets nothing applied */
	if (req->client_gone && req->client_gone(req)) {
		reply_error(reply, 408, "client went away before the apply: nothing was stored", NULL);
		goto out;
	}
	/* the pools' disks must exist here and be free: refused, nothing stored or touched
	 * (sysfs and /proc are read without the server's lock, against the config in force now) */
	{
		json_t *current = server_config_ref(server, NULL);
		int rc = storage_admit(config, current, server->sysfs, &details);
		json_decref(current);
		if (rc < 0) {
			reply_error(reply, 400, "config rejected: a pool's disk cannot be used on "
				    "this node", details);
			goto out;
		}
	}
	pthread_mutex_lock(&server->lock);
	changes = diff_lines(server->config ? server->config : empty, config);
	if (!changes) {
		pthread_mutex_unlock(&server->lock);
		reply_error(reply, 500, "out of memory", NULL);
		goto out;
	}
	if (options.dry_run) {
		pthread_mutex_unlock(&server->lock);
		reply_json(reply, 200, json_pack("{s:b, s:s, s:O}", "dry_run", 1, "mode",
						  apply_mode_name(options.mode), "changes", changes));
		goto out;
	}
	apply_locked(server, req, &options, config, changes, reply);
	config = NULL;
	pthread_mutex_unlock(&server->lock);
	if (reply->status == 200 && options.mode == APPLY_REBOOT) {
		json_t *lines;
		char *init_error;
		int rc = initctl_request(server->init_socket, "reboot", &lines, &init_error);
		if (rc == 0) {
			json_object_set_new(reply->body, "reboot", json_string("requested"));
			pthread_mutex_lock(&server->lock);
			server->stage = "rebooting";
			pthread_mutex_unlock(&server->lock);
		} else
			json_object_set_new(reply->body, "reboot", json_string(init_error ? init_error : "failed"));
		json_decref(lines);
		free(init_error);
	}
out:
	json_decref(changes);
	json_decref(config);
	json_decref(empty);
}

void handle_config_confirm(struct api_server *server, const struct api_request *req,
			   struct api_reply *reply)
{
	(void)req;
	pthread_mutex_lock(&server->lock);
	if (server->try.state != TRY_PENDING) {
		pthread_mutex_unlock(&server->lock);
		reply_error(reply, 409, "no try apply is pending", NULL);
		return;
	}
	free(server->try.prev_text);
	server->try.prev_text = NULL;
	server->try.state = TRY_CONFIRMED;
	store_try_clear(server->state_dir);
	pthread_mutex_unlock(&server->lock);
	fprintf(stderr, "cairnd: try: confirmed: the config stays\n");
	reply_json(reply, 200, json_pack("{s:b}", "confirmed", 1));
}
