/* qmp_commands.c - typed helpers over qmp_command(): one function per QMP command that Cairn
 * uses, with C structs for the replies it reads (see qmp.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MSG_NOSIGNAL, SOCK_CLOEXEC with -std=c11 */
#endif
#include "qmp.h"
#include "qmp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reply of an unexpected shape; the connection stays usable. Returns -1. */
static int bad_reply(struct qmp *q, struct qmp_error *err, const char *command, const char *what)
{
	return qmp_set_error(err, qmp_name(q), command, QMP_ERROR_PROTOCOL, NULL,
			     "unexpected reply: %s", what);
}

static int bad_argument(struct qmp *q, struct qmp_error *err, const char *command,
			const char *what)
{
	return qmp_set_error(err, qmp_name(q), command, QMP_ERROR_INVALID, NULL, "%s", what);
}

static int out_of_memory(struct qmp *q, struct qmp_error *err, const char *command)
{
	return qmp_set_error(err, qmp_name(q), command, QMP_ERROR_SYSTEM, NULL, "out of memory");
}

static void copy_string(char *dst, size_t size, const json_t *value)
{
	snprintf(dst, size, "%s", json_is_string(value) ? json_string_value(value) : "");
}

static int64_t integer_or(const json_t *value, int64_t fallback)
{
	return json_is_integer(value) ? (int64_t)json_integer_value(value) : fallback;
}

/* A command without arguments whose reply is ignored. */
static int simple(struct qmp *q, const char *name, struct qmp_error *err, int timeout_ms)
{
	return qmp_command(q, name, NULL, NULL, err, timeout_ms);
}

/* A command whose only argument is the string KEY = VALUE. */
static int with_string(struct qmp *q, const char *name, const char *key, const char *value,
		       struct qmp_error *err, int timeout_ms)
{
	if (!value || !*value)
		return bad_argument(q, err, name, "missing or empty argument");
	json_t *args = json_pack("{s:s}", key, value);
	if (!args)
		return bad_argument(q, err, name, "argument is not valid UTF-8");
	int rc = qmp_command(q, name, args, NULL, err, timeout_ms);
	json_decref(args);
	return rc;
}

int qmp_cont(struct qmp *q, struct qmp_error *err, int timeout_ms)
{
	return simple(q, "cont", err, timeout_ms);
}

int qmp_stop(struct qmp *q, struct qmp_error *err, int timeout_ms)
{
	return simple(q, "stop", err, timeout_ms);
}

int qmp_system_powerdown(struct qmp *q, struct qmp_error *err, int timeout_ms)
{
	return simple(q, "system_powerdown", err, timeout_ms);
}

int qmp_system_reset(struct qmp *q, struct qmp_error *err, int timeout_ms)
{
	return simple(q, "system_reset", err, timeout_ms);
}

int qmp_quit(struct qmp *q, struct qmp_error *err, int timeout_ms)
{
	return simple(q, "quit", err, timeout_ms);
}

int qmp_query_status(struct qmp *q, struct qmp_status *status, struct qmp_error *err, int timeout_ms)
{
	json_t *reply = NULL;

	memset(status, 0, sizeof(*status));
	if (qmp_command(q, "query-status", NULL, &reply, err, timeout_ms) < 0)
		return -1;
	const json_t *running = json_object_get(reply, "running");
	const json_t *state = json_object_get(reply, "status");
	int rc = 0;
	if (json_is_boolean(running) && json_is_string(state)) {
		status->running = json_is_true(running);
		copy_string(status->status, sizeof(status->status), state);
	} else {
		rc = bad_reply(q, err, "query-status", "no 'running' boolean and 'status' string");
	}
	json_decref(reply);
	return rc;
}

int qmp_query_version(struct qmp *q, struct qmp_version *version, struct qmp_error *err,
		      int timeout_ms)
{
	json_t *reply = NULL;

	memset(version, 0, sizeof(*version));
	if (qmp_command(q, "query-version", NULL, &reply, err, timeout_ms) < 0)
		return -1;
	const json_t *qemu = json_object_get(reply, "qemu");
	int rc = 0;
	if (json_is_integer(json_object_get(qemu, "major"))) {
		version->major = (int)integer_or(json_object_get(qemu, "major"), 0);
		version->minor = (int)integer_or(json_object_get(qemu, "minor"), 0);
		version->micro = (int)integer_or(json_object_get(qemu, "micro"), 0);
		copy_string(version->package, sizeof(version->package),
			    json_object_get(reply, "package"));
	} else {
		rc = bad_reply(q, err, "query-version", "no 'qemu.major' integer");
	}
	json_decref(reply);
	return rc;
}

static void cpu_from_json(const json_t *entry, struct qmp_cpu *cpu)
{
	cpu->cpu_index = (int)integer_or(json_object_get(entry, "cpu-index"), -1);
	cpu->thread_id = integer_or(json_object_get(entry, "thread-id"), -1);
	copy_string(cpu->qom_path, sizeof(cpu->qom_path), json_object_get(entry, "qom-path"));
	copy_string(cpu->target, sizeof(cpu->target), json_object_get(entry, "target"));
}

int qmp_query_cpus_fast(struct qmp *q, struct qmp_cpu **cpus, size_t *count,
			struct qmp_error *err, int timeout_ms)
{
	json_t *reply = NULL;

	*cpus = NULL;
	*count = 0;
	if (qmp_command(q, "query-cpus-fast", NULL, &reply, err, timeout_ms) < 0)
		return -1;
	size_t n = json_array_size(reply);
	int rc = 0;
	if (!json_is_array(reply)) {
		rc = bad_reply(q, err, "query-cpus-fast", "not an array");
	} else if (n > 0 && !(*cpus = calloc(n, sizeof(**cpus)))) {
		rc = out_of_memory(q, err, "query-cpus-fast");
	} else {
		for (size_t i = 0; i < n; i++)
			cpu_from_json(json_array_get(reply, i), &(*cpus)[i]);
		*count = n;
	}
	json_decref(reply);
	return rc;
}

int qmp_query_block(struct qmp *q, json_t **blocks, struct qmp_error *err, int timeout_ms)
{
	if (qmp_command(q, "query-block", NULL, blocks, err, timeout_ms) < 0)
		return -1;
	if (json_is_array(*blocks))
		return 0;
	json_decref(*blocks);
	*blocks = NULL;
	return bad_reply(q, err, "query-block", "not an array");
}

/* A command whose arguments are the caller's object. */
static int with_options(struct qmp *q, const char *name, json_t *options,
			struct qmp_error *err, int timeout_ms)
{
	if (!json_is_object(options))
		return bad_argument(q, err, name, "options must be a JSON object");
	return qmp_command(q, name, options, NULL, err, timeout_ms);
}

int qmp_blockdev_add(struct qmp *q, json_t *options, struct qmp_error *err, int timeout_ms)
{
	return with_options(q, "blockdev-add", options, err, timeout_ms);
}

int qmp_blockdev_del(struct qmp *q, const char *node_name, struct qmp_error *err, int timeout_ms)
{
	return with_string(q, "blockdev-del", "node-name", node_name, err, timeout_ms);
}

int qmp_device_add(struct qmp *q, json_t *options, struct qmp_error *err, int timeout_ms)
{
	return with_options(q, "device_add", options, err, timeout_ms);
}

int qmp_device_del(struct qmp *q, const char *id, struct qmp_error *err, int timeout_ms)
{
	return with_string(q, "device_del", "id", id, err, timeout_ms);
}

int qmp_netdev_add(struct qmp *q, json_t *options, struct qmp_error *err, int timeout_ms)
{
	return with_options(q, "netdev_add", options, err, timeout_ms);
}

int qmp_netdev_del(struct qmp *q, const char *id, struct qmp_error *err, int timeout_ms)
{
	return with_string(q, "netdev_del", "id", id, err, timeout_ms);
}

int qmp_migrate(struct qmp *q, const char *uri, struct qmp_error *err, int timeout_ms)
{
	return with_string(q, "migrate", "uri", uri, err, timeout_ms);
}

int qmp_migrate_incoming(struct qmp *q, const char *uri, struct qmp_error *err, int timeout_ms)
{
	return with_string(q, "migrate-incoming", "uri", uri, err, timeout_ms);
}

static void migration_from_json(const json_t *reply, struct qmp_migration *info)
{
	const json_t *ram = json_object_get(reply, "ram");
	const json_t *status = json_object_get(reply, "status");

	/* QEMU omits "status" before the first migration; that state is "none". */
	if (status)
		copy_string(info->status, sizeof(info->status), status);
	else
		snprintf(info->status, sizeof(info->status), "none");
	info->total_time_ms = integer_or(json_object_get(reply, "total-time"), -1);
	info->ram_transferred = integer_or(json_object_get(ram, "transferred"), -1);
	info->ram_remaining = integer_or(json_object_get(ram, "remaining"), -1);
	info->ram_total = integer_or(json_object_get(ram, "total"), -1);
	copy_string(info->error_desc, sizeof(info->error_desc), json_object_get(reply, "error-desc"));
}

int qmp_query_migrate(struct qmp *q, struct qmp_migration *info, struct qmp_error *err,
		      int timeout_ms)
{
	json_t *reply = NULL;

	memset(info, 0, sizeof(*info));
	if (qmp_command(q, "query-migrate", NULL, &reply, err, timeout_ms) < 0)
		return -1;
	int rc = 0;
	if (json_is_object(reply))
		migration_from_json(reply, info);
	else
		rc = bad_reply(q, err, "query-migrate", "not an object");
	json_decref(reply);
	return rc;
}

static json_t *capabilities_to_json(const struct qmp_capability *caps, size_t count)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < count; i++) {
		json_t *entry = caps[i].name ? json_pack("{s:s, s:b}", "capability", caps[i].name,
							  "state", caps[i].state) : NULL;
		if (json_array_append_new(list, entry) < 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list ? json_pack("{s:o}", "capabilities", list) : NULL;
}

int qmp_migrate_set_capabilities(struct qmp *q, const struct qmp_capability *caps, size_t count,
				 struct qmp_error *err, int timeout_ms)
{
	json_t *args = caps || count == 0 ? capabilities_to_json(caps, count) : NULL;

	if (!args)
		return bad_argument(q, err, "migrate-set-capabilities", "invalid capability name");
	int rc = qmp_command(q, "migrate-set-capabilities", args, NULL, err, timeout_ms);
	json_decref(args);
	return rc;
}

int qmp_human_monitor_command(struct qmp *q, const char *command_line, char **output,
			      struct qmp_error *err, int timeout_ms)
{
	json_t *args, *reply = NULL;

	if (output)
		*output = NULL;
	if (!command_line || !(args = json_pack("{s:s}", "command-line", command_line)))
		return bad_argument(q, err, "human-monitor-command", "missing or invalid command line");
	int rc = qmp_command(q, "human-monitor-command", args, &reply, err, timeout_ms);
	json_decref(args);
	if (rc < 0)
		return -1;
	if (!json_is_string(reply))
		rc = bad_reply(q, err, "human-monitor-command", "not a string");
	else if (output && !(*output = strdup(json_string_value(reply))))
		rc = out_of_memory(q, err, "human-monitor-command");
	json_decref(reply);
	return rc;
}
