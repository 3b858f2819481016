/* fuzz_ovsdb.c - libFuzzer harness for lib/ovsdb: the framer (ovsdb_proto.c) on arbitrary
 * splits and caps, every framed message applied as <table-updates> to a cache (ovsdb_cache.c)
 * and read back, then the whole client (ovsdb.c, ovsdb_txn.c) reading the input as everything
 * a server sent on the socket before closing it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ovsdb.h"
#include "ovsdb_proto.h"

static void check_error(const struct ovsdb_error *err)
{
	if (strncmp(err->message, "ovsdb fuzz: ", 12) != 0 || strchr(err->message, '\n') ||
	    !err->error[0] || err->kind == OVSDB_ERROR_NONE) {
		fprintf(stderr, "bad error: kind %d error \"%s\" message \"%s\"\n", err->kind,
			err->error, err->message);
		__builtin_trap();
	}
}

/* Reads every row of every table of CACHE through the public accessors. */
static void read_cache(const struct ovsdb_cache *cache, const char *const *tables)
{
	for (; *tables; tables++) {
		struct ovsdb_rows it;
		struct ovsdb_row row, again;
		size_t n = 0;

		for (ovsdb_rows_init(&it, cache, *tables); ovsdb_rows_next(&it, &row); n++) {
			if (!ovsdb_uuid_is_valid(row.uuid) ||
			    !ovsdb_cache_get(cache, *tables, row.uuid, &again) ||
			    again.columns != row.columns)
				__builtin_trap();
			const char *column;
			const json_t *datum;
			json_object_foreach((json_t *)row.columns, column, datum) {
				int64_t i;
				bool b;
				const json_t *k, *v;
				if (!ovsdb_datum_is_valid(datum))
					__builtin_trap();
				(void)ovsdb_datum_string(datum);
				(void)ovsdb_datum_integer(datum, &i);
				(void)ovsdb_datum_boolean(datum, &b);
				(void)ovsdb_datum_uuid(datum);
				for (size_t j = 0; j < ovsdb_datum_set_size(datum); j++)
					if (!ovsdb_datum_set_at(datum, j))
						__builtin_trap();
				for (size_t j = 0; j < ovsdb_datum_map_size(datum); j++)
					if (!ovsdb_datum_map_at(datum, j, &k, &v))
						__builtin_trap();
				(void)ovsdb_row_map_string(&row, column, "k");
			}
		}
		if (n != ovsdb_cache_count(cache, *tables))
			__builtin_trap();
	}
}

static const char *const tables[] = { "T", "Logical_Switch", NULL };

/* Applies MSG, and its params[1] if it looks like an update, to CACHE. */
static void fuzz_apply(struct ovsdb_cache *cache, const json_t *msg)
{
	char why[256];
	const json_t *candidates[] = { msg, json_array_get(json_object_get(msg, "params"), 1),
				       json_object_get(msg, "result") };

	for (size_t i = 0; i < 3; i++) {
		if (!candidates[i])
			continue;
		uint64_t seqno = ovsdb_cache_seqno(cache);
		why[0] = '\0';
		if (ovsdb_cache_apply(cache, candidates[i], why, sizeof(why)) < 0) {
			if (!why[0] || ovsdb_cache_seqno(cache) != seqno)
				__builtin_trap();
		} else if (ovsdb_cache_seqno(cache) != seqno + 1) {
			__builtin_trap();
		}
	}
	read_cache(cache, tables);
}

/* Frames DATA fed in chunks of CHUNK bytes against a cap of MAX. */
static void fuzz_framing(const char *data, size_t size, size_t chunk, size_t max)
{
	struct ovsdb_frame frame = { .max = max };
	struct ovsdb_cache *cache = ovsdb_cache_create(
		"DB", json_object(),
		json_pack("{s:{s:[s]}, s:{s:[s]}}", "T", "columns", "name", "Logical_Switch",
			  "columns", "name"));
	size_t start = 0, have = 0;

	while (have < size) {
		have = have + chunk < size ? have + chunk : size;
		for (;;) {
			size_t consumed = 0;
			json_t *msg = NULL;
			char why[128] = "";
			enum ovsdb_frame_status status = ovsdb_frame_next(&frame, data + start,
									  have - start, &consumed,
									  &msg, why, sizeof(why));
			if (consumed > have - start)
				__builtin_trap();
			start += consumed;
			if (status == OVSDB_FRAME_INVALID) {
				if (!why[0] || msg)
					__builtin_trap();
				goto out;
			}
			if (status == OVSDB_FRAME_INCOMPLETE)
				break;
			if (!json_is_object(msg) || consumed == 0)
				__builtin_trap();
			uint64_t id;
			(void)ovsdb_msg_kind(msg);
			(void)ovsdb_msg_id(msg, &id);
			fuzz_apply(cache, msg);
			json_decref(msg);
		}
	}
out:
	ovsdb_cache_destroy(cache);
}

/* The client against a peer that sent DATA and closed: every call ends (timeout 0 or the end
 * of the stream), errors are well formed. */
static void fuzz_client(const uint8_t *data, size_t size)
{
	struct ovsdb_error err;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	if (write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	shutdown(sv[1], SHUT_WR);
	struct ovsdb *c = ovsdb_connect_fd(sv[0], "fuzz", &err);
	if (!c) {
		close(sv[1]);
		return;
	}
	json_t *names = NULL;
	if (ovsdb_list_dbs(c, &names, &err, 0) < 0)
		check_error(&err);
	json_decref(names);
	struct ovsdb_monitor_table mt[] = { { "T", NULL } };
	struct ovsdb_cache *cache = ovsdb_monitor(c, "DB", mt, 1, &err, 0);
	if (!cache)
		check_error(&err);
	struct ovsdb_txn *txn = ovsdb_txn_new("DB");
	ovsdb_txn_insert(txn, "T", json_pack("{s:s}", "name", "x"), "new");
	ovsdb_txn_delete(txn, "T", json_array());
	if (ovsdb_transact(c, txn, &err, 0) < 0)
		check_error(&err);
	else
		(void)ovsdb_txn_inserted(txn, "new");
	ovsdb_txn_free(txn);
	if (ovsdb_echo(c, &err, 0) < 0)
		check_error(&err);
	while (ovsdb_dispatch(c, 0, &err) > 0)
		;
	if (cache)
		read_cache(cache, (const char *const[]){ "T", NULL });
	ovsdb_close(c);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	fuzz_framing((const char *)data + 2, size - 2, 1 + data[0] % 64, 16 + data[1] * 64u);
	fuzz_client(data + 2, size - 2);
	return 0;
}
