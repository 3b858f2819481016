/* fuzz_qmp.c - libFuzzer harness for lib/qmp: the framing and message classification
 * (qmp_frame.c) on arbitrary splits, then the whole client (qmp.c, qmp_commands.c) reading the
 * input as everything a peer sent on the socket before closing it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp.h"
#include "qmp_frame.h"

static void check_error(const struct qmp_error *err)
{
	if (strncmp(err->message, "qmp fuzz: ", 10) != 0 || strchr(err->message, '\n') ||
	    !err->class[0] || err->kind == QMP_ERROR_NONE)
		__builtin_trap();
}

/* Frames DATA fed in chunks of CHUNK bytes against a line cap of MAX. */
static void fuzz_framing(const char *data, size_t size, size_t chunk, size_t max)
{
	struct qmp_frame frame = { .max = max };
	size_t start = 0, have = 0;

	while (have < size) {
		have = have + chunk < size ? have + chunk : size;
		for (;;) {
			size_t consumed = 0;
			json_t *msg = NULL;
			char why[128] = "";
			enum qmp_frame_status status = qmp_frame_next(&frame, data + start,
								      have - start, &consumed,
								      &msg, why, sizeof(why));
			if (consumed > have - start)
				__builtin_trap();
			start += consumed;
			if (status == QMP_FRAME_INVALID) {
				if (!why[0] || msg)
					__builtin_trap();
				return;
			}
			if (status == QMP_FRAME_INCOMPLETE)
				break;
			if (!json_is_object(msg))
				__builtin_trap();
			uint64_t id;
			(void)qmp_message_kind(msg);
			(void)qmp_message_id(msg, &id);
			json_decref(msg);
		}
	}
}

static void fuzz_commands(struct qmp *q)
{
	struct qmp_error err;
	struct qmp_status status;
	struct qmp_migration migration;
	struct qmp_version version;
	struct qmp_cpu *cpus;
	size_t ncpus;
	char *text;
	json_t *reply;

	if (qmp_query_status(q, &status, &err, 0) < 0)
		check_error(&err);
	if (qmp_query_cpus_fast(q, &cpus, &ncpus, &err, 0) < 0)
		check_error(&err);
	else
		free(cpus);
	if (qmp_query_migrate(q, &migration, &err, 0) < 0)
		check_error(&err);
	if (qmp_query_version(q, &version, &err, 0) < 0)
		check_error(&err);
	if (qmp_human_monitor_command(q, "info status", &text, &err, 0) < 0)
		check_error(&err);
	else
		free(text);
	if (qmp_query_block(q, &reply, &err, 0) < 0)
		check_error(&err);
	else
		json_decref(reply);
}

static void fuzz_client(const uint8_t *data, size_t size)
{
	struct qmp_error err;
	struct qmp_event ev;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	if (write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	shutdown(sv[1], SHUT_WR); /* the client sees all of DATA, then end of file: never waits */
	struct qmp *q = qmp_connect_fd(sv[0], "fuzz", 0, &err);
	if (!q) {
		check_error(&err);
	} else {
		fuzz_commands(q);
		while (qmp_next_event(q, &ev, 0, &err) == 1) {
			if (qmp_event_type_from_name(ev.name) != ev.type)
				__builtin_trap();
			qmp_event_clear(&ev);
		}
		if (qmp_dispatch(q, 0, &err) < 0)
			check_error(&err);
		qmp_close(q);
	}
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	fuzz_framing((const char *)data + 2, size - 2, 1 + data[0] % 64, 16 + data[1] * 16u);
	fuzz_client(data + 2, size - 2);
	return 0;
}
