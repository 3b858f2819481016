/* test_ovsdb.c - unit tests for lib/ovsdb: the pure framing, message shapes, datums, cache and
 * transaction builder; fake servers on a socketpair (echo, garbage, late responses, silence);
 * then a real ovsdb-server (Debian's openvswitch-common) serving the OVN Northbound and the
 * Open_vSwitch schemas from a temporary folder: list_dbs, get_schema, transact and the monitor
 * cache, failing transactions, a second client, a server killed mid-request, reconnect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ovsdb.h"
#include "ovsdb_internal.h"
#include "ovsdb_proto.h"

#define NB_SCHEMA "/usr/share/ovn/ovn-nb.ovsschema"
#define VS_SCHEMA "/usr/share/openvswitch/vswitch.ovsschema"
#define NB "OVN_Northbound"
#define TIMEOUT 5000
#define WATCHDOG_S 60 /* a hang becomes a failure (SIGALRM kills the test) */

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static json_t *parse(const char *text)
{
	json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);

	assert_non_null(value);
	return value;
}

/* ---- framing (pure) ---- */

struct framed {
	json_t *msgs[8];
	size_t count;
	enum ovsdb_frame_status last;
	char why[256];
};

/* Feeds TEXT (LEN bytes) to the framer in chunks of CHUNK bytes, as a reader would. */
static void frame_text(const char *text, size_t len, size_t chunk, size_t max, struct framed *out)
{
	struct ovsdb_frame frame = { .max = max };
	size_t have = 0, start = 0;

	memset(out, 0, sizeof(*out));
	while (have < len) {
		have = have + chunk < len ? have + chunk : len;
		for (;;) {
			size_t consumed;
			json_t *msg = NULL;
			out->last = ovsdb_frame_next(&frame, text + start, have - start, &consumed,
						     &msg, out->why, sizeof(out->why));
			assert_true(consumed <= have - start);
			start += consumed;
			if (out->last != OVSDB_FRAME_MESSAGE)
				break;
			assert_true(out->count < 8);
			out->msgs[out->count++] = msg;
		}
		if (out->last == OVSDB_FRAME_INVALID)
			break;
	}
}

static void framed_free(struct framed *f)
{
	for (size_t i = 0; i < f->count; i++)
		json_decref(f->msgs[i]);
	f->count = 0;
}

/* Three messages back to back, with what could fool a naive splitter: braces and brackets in
 * strings, escaped quotes and backslashes, unicode escapes, whitespace between messages. */
static const char transcript[] =
	"{\"id\":1,\"result\":[\"OVN_Northbound\",\"_Server\"],\"error\":null}"
	"{\"id\":null,\"method\":\"update\",\"params\":[3,{\"T\":{\"x\":{\"new\":{\"name\":"
	"\"a}b]{\\\"c\\\\\\\\\\u007d\"}}}}]}\n\r\t "
	"{\"id\":\"echo\",\"method\":\"echo\",\"params\":[]}";

static void test_frame_any_split(void **state)
{
	size_t len = strlen(transcript);

	(void)state;
	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct framed f;
		frame_text(transcript, len, chunk, OVSDB_RECV_MAX, &f);
		assert_int_equal(f.count, 3);
		assert_int_equal(f.last, OVSDB_FRAME_INCOMPLETE);
		assert_int_equal(ovsdb_msg_kind(f.msgs[0]), OVSDB_MSG_RESPONSE);
		assert_int_equal(ovsdb_msg_kind(f.msgs[1]), OVSDB_MSG_NOTIFY);
		assert_int_equal(ovsdb_msg_kind(f.msgs[2]), OVSDB_MSG_REQUEST);
		json_t *name = json_object_get(json_object_get(json_object_get(json_object_get(
			json_array_get(json_object_get(f.msgs[1], "params"), 1), "T"), "x"), "new"),
			"name");
		assert_string_equal(json_string_value(name), "a}b]{\"c\\\\}");
		framed_free(&f);
	}
}

static void test_frame_incomplete_and_whitespace(void **state)
{
	struct ovsdb_frame frame = { .max = 100 };
	size_t consumed = 99;
	json_t *msg = NULL;
	char why[128];

	(void)state;
	assert_int_equal(ovsdb_frame_next(&frame, "  \n", 3, &consumed, &msg, why, sizeof(why)),
			 OVSDB_FRAME_INCOMPLETE);
	assert_int_equal(consumed, 3);
	assert_int_equal(ovsdb_frame_next(&frame, " {\"a\": [1,", 10, &consumed, &msg, why,
					  sizeof(why)), OVSDB_FRAME_INCOMPLETE);
	assert_int_equal(consumed, 1); /* the blank is dropped, the message start kept */
	assert_null(msg);
	assert_int_equal(ovsdb_frame_next(&frame, "{\"a\": [1, 2]}", 13, &consumed, &msg, why,
					  sizeof(why)), OVSDB_FRAME_MESSAGE);
	assert_int_equal(consumed, 13);
	assert_int_equal(json_array_size(json_object_get(msg, "a")), 2);
	json_decref(msg);
}

static void test_frame_rejects_garbage(void **state)
{
	struct framed f;

	(void)state;
	frame_text("hello", 5, 2, OVSDB_RECV_MAX, &f);
	assert_int_equal(f.last, OVSDB_FRAME_INVALID);
	assert_non_null(strstr(f.why, "not a JSON object"));
	frame_text("[1, 2]", 6, 100, OVSDB_RECV_MAX, &f);
	assert_int_equal(f.last, OVSDB_FRAME_INVALID);
	frame_text("{\"a\": 1 x}", 10, 3, OVSDB_RECV_MAX, &f);
	assert_int_equal(f.last, OVSDB_FRAME_INVALID);
	assert_non_null(strstr(f.why, "invalid JSON"));
	frame_text("{\"a\": 1]", 8, 100, OVSDB_RECV_MAX, &f); /* mismatched bracket */
	assert_int_equal(f.last, OVSDB_FRAME_INVALID);
	frame_text("{}}", 3, 100, OVSDB_RECV_MAX, &f); /* a good one, then a stray brace */
	assert_int_equal(f.count, 1);
	assert_int_equal(f.last, OVSDB_FRAME_INVALID);
	framed_free(&f);
	frame_text("{\"a\": \"\0\"}", 10, 100, OVSDB_RECV_MAX, &f); /* a NUL byte */
	assert_int_equal(f.last, OVSDB_FRAME_INVALID);
}

static void test_frame_caps_message_length(void **state)
{
	struct framed f;

	(void)state;
	frame_text("{\"a\":\"xx\"}{}", 12, 3, 10, &f); /* exactly 10 bytes */
	assert_int_equal(f.count, 2);
	framed_free(&f);
	frame_text("{\"a\":\"xxx\"}", 11, 3, 10, &f);
	assert_int_equal(f.last, OVSDB_FRAME_INVALID);
	assert_string_equal(f.why, "message longer than 10 bytes");
	frame_text("{\"a\":\"xxxxxxxxxxxxxxxxxxxx", 25, 1, 10, &f); /* never closes */
	assert_int_equal(f.last, OVSDB_FRAME_INVALID);
	assert_int_equal(f.count, 0);
}

static void test_message_kinds(void **state)
{
	static const struct {
		const char *text;
		enum ovsdb_msg_kind kind;
	} cases[] = {
		{ "{\"id\": 1, \"result\": [], \"error\": null}", OVSDB_MSG_RESPONSE },
		{ "{\"id\": 1, \"result\": null, \"error\": \"x\"}", OVSDB_MSG_RESPONSE },
		{ "{\"id\": null, \"method\": \"update\", \"params\": []}", OVSDB_MSG_NOTIFY },
		{ "{\"method\": \"update\", \"params\": []}", OVSDB_MSG_NOTIFY },
		{ "{\"id\": \"e\", \"method\": \"echo\", \"params\": []}", OVSDB_MSG_REQUEST },
		{ "{\"id\": 1, \"method\": \"echo\", \"params\": {}}", OVSDB_MSG_INVALID },
		{ "{\"id\": 1, \"method\": 3, \"params\": []}", OVSDB_MSG_INVALID },
		{ "{\"result\": []}", OVSDB_MSG_INVALID },
		{ "{}", OVSDB_MSG_INVALID },
	};
	uint64_t id = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *msg = parse(cases[i].text);
		assert_int_equal(ovsdb_msg_kind(msg), cases[i].kind);
		json_decref(msg);
	}
	json_t *msg = parse("{\"id\": 7, \"result\": 1}");
	assert_int_equal(ovsdb_msg_id(msg, &id), 1);
	assert_int_equal(id, 7);
	json_decref(msg);
	msg = parse("{\"id\": \"x\", \"result\": 1}");
	assert_int_equal(ovsdb_msg_id(msg, &id), -1);
	json_decref(msg);
	msg = parse("{\"id\": null, \"result\": 1}");
	assert_int_equal(ovsdb_msg_id(msg, &id), 0);
	json_decref(msg);
}

/* ---- datums and builders (pure) ---- */

static void test_datums(void **state)
{
	const char *u = "0b3d8a5e-46a6-4d47-9f2b-3a4f4e3f1d2c";
	int64_t n = 0;
	bool b = false;
	const json_t *k, *v;

	(void)state;
	json_t *s = parse("\"sw1\""), *set1 = parse("[\"set\", [\"sw1\"]]");
	json_t *empty = parse("[\"set\", []]"), *i = parse("42"), *t = parse("true");
	json_t *uuid = ovsdb_uuid(u), *uuids = ovsdb_set(json_pack("[oo]", ovsdb_uuid(u),
				   ovsdb_named_uuid("p")));
	json_t *map = ovsdb_string_map("cairn-network", "net1", "owner", "cairn", NULL);
	json_t *bad[] = { parse("[\"uuid\", \"nope\"]"), parse("[\"set\", [[1]]]"),
			  parse("[\"map\", [[\"a\"]]]"), parse("{}"), parse("null"),
			  parse("[\"set\", [\"a\"], 1]") };

	assert_true(ovsdb_datum_is_valid(s) && ovsdb_datum_is_valid(set1) &&
		    ovsdb_datum_is_valid(empty) && ovsdb_datum_is_valid(uuids) &&
		    ovsdb_datum_is_valid(map));
	for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
		assert_false(ovsdb_datum_is_valid(bad[j]));
		json_decref(bad[j]);
	}
	assert_string_equal(ovsdb_datum_string(s), "sw1");
	assert_string_equal(ovsdb_datum_string(set1), "sw1");
	assert_null(ovsdb_datum_string(empty));
	assert_null(ovsdb_datum_string(NULL));
	assert_int_equal(ovsdb_datum_set_size(empty), 0);
	assert_int_equal(ovsdb_datum_set_size(NULL), 0);
	assert_true(ovsdb_datum_integer(i, &n) && n == 42);
	assert_false(ovsdb_datum_integer(s, &n));
	assert_true(ovsdb_datum_boolean(t, &b) && b);
	assert_string_equal(ovsdb_datum_uuid(uuid), u);
	assert_int_equal(ovsdb_datum_set_size(uuids), 2);
	assert_true(ovsdb_datum_set_has_uuid(uuids, u));
	assert_false(ovsdb_datum_set_has_uuid(uuids, "p"));
	assert_int_equal(ovsdb_datum_map_size(map), 2);
	assert_true(ovsdb_datum_map_at(map, 1, &k, &v));
	assert_string_equal(json_string_value(k), "owner");
	assert_string_equal(json_string_value(ovsdb_datum_map_get(map, "cairn-network")), "net1");
	assert_null(ovsdb_datum_map_get(map, "missing"));
	assert_false(ovsdb_datum_map_at(map, 2, &k, &v));
	assert_true(ovsdb_uuid_is_valid(u));
	assert_false(ovsdb_uuid_is_valid("0b3d8a5e-46a6-4d47-9f2b-3a4f4e3f1d2"));
	assert_false(ovsdb_uuid_is_valid("0b3d8a5e+46a6-4d47-9f2b-3a4f4e3f1d2c"));
	/* builders steal and pass NULL through */
	assert_null(ovsdb_string_map("key-without-value", NULL));
	assert_null(ovsdb_set(NULL));
	assert_null(ovsdb_cond("name", "==", NULL));
	json_t *where = ovsdb_where_uuid(u);
	char *text = json_dumps(where, JSON_COMPACT);
	assert_string_equal(text, "[[\"_uuid\",\"==\",[\"uuid\",\"0b3d8a5e-46a6-4d47-9f2b-3a4f4e3f1d2c\"]]]");
	free(text);
	json_decref(where);
	json_decref(s);
	json_decref(set1);
	json_decref(empty);
	json_decref(i);
	json_decref(t);
	json_decref(uuid);
	json_decref(uuids);
	json_decref(map);
}

/* ---- cache (pure) ---- */

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"

static struct ovsdb_cache *small_cache(void)
{
	struct ovsdb_cache *cache = ovsdb_cache_create(
		"DB", json_object(), parse("{\"T\": {\"columns\": [\"name\", \"ids\"]}}"));

	assert_non_null(cache);
	return cache;
}

static void apply_ok(struct ovsdb_cache *cache, const char *text)
{
	char why[256] = "";
	json_t *updates = parse(text);

	assert_int_equal(ovsdb_cache_apply(cache, updates, why, sizeof(why)), 0);
	json_decref(updates);
}

static void apply_bad(struct ovsdb_cache *cache, const char *text, const char *reason)
{
	char why[256] = "";
	json_t *updates = parse(text);
	uint64_t seqno = ovsdb_cache_seqno(cache);

	assert_int_equal(ovsdb_cache_apply(cache, updates, why, sizeof(why)), -1);
	assert_non_null(strstr(why, reason));
	assert_int_equal(ovsdb_cache_seqno(cache), seqno);
	json_decref(updates);
}

static void test_cache_apply(void **state)
{
	struct ovsdb_cache *cache = small_cache();
	struct ovsdb_row row;
	struct ovsdb_rows it;

	(void)state;
	apply_ok(cache, "{\"T\": {\"" U1 "\": {\"new\": {\"name\": \"a\", \"ids\": [\"map\", "
			"[[\"k\", \"v\"]]]}}, \"" U2 "\": {\"new\": {\"name\": \"b\"}}}}");
	assert_int_equal(ovsdb_cache_count(cache, "T"), 2);
	assert_true(ovsdb_cache_get(cache, "T", U1, &row));
	assert_string_equal(row.uuid, U1);
	assert_string_equal(ovsdb_row_string(&row, "name"), "a");
	assert_string_equal(ovsdb_row_map_string(&row, "ids", "k"), "v");
	assert_true(ovsdb_cache_find(cache, "T", "name", "b", &row));
	assert_string_equal(row.uuid, U2);
	/* modify: old holds the changed columns, new the row */
	apply_ok(cache, "{\"T\": {\"" U1 "\": {\"old\": {\"name\": \"a\"}, \"new\": {\"name\": "
			"\"c\", \"ids\": [\"map\", [[\"k\", \"v\"]]]}}}}");
	assert_true(ovsdb_cache_get(cache, "T", U1, &row));
	assert_string_equal(ovsdb_row_string(&row, "name"), "c");
	/* delete */
	apply_ok(cache, "{\"T\": {\"" U2 "\": {\"old\": {\"name\": \"b\"}}}}");
	assert_false(ovsdb_cache_get(cache, "T", U2, &row));
	size_t n = 0;
	for (ovsdb_rows_init(&it, cache, "T"); ovsdb_rows_next(&it, &row);)
		n++;
	assert_int_equal(n, 1);
	for (ovsdb_rows_init(&it, cache, "Other"); ovsdb_rows_next(&it, &row);)
		fail();
	assert_int_equal(ovsdb_cache_seqno(cache), 3);
	/* a bad update anywhere is rejected whole: the good row before it is not applied */
	apply_bad(cache, "{\"T\": {\"" U2 "\": {\"new\": {\"name\": \"d\"}}, \"nope\": "
			 "{\"new\": {}}}}", "not a uuid");
	assert_false(ovsdb_cache_get(cache, "T", U2, &row));
	apply_bad(cache, "{\"X\": {}}", "not monitored");
	apply_bad(cache, "[]", "not an object");
	apply_bad(cache, "{\"T\": {\"" U2 "\": {}}}", "neither old nor new");
	apply_bad(cache, "{\"T\": {\"" U2 "\": {\"new\": {\"name\": {}}}}}", "not an OVSDB datum");
	apply_bad(cache, "{\"T\": {\"" U2 "\": {\"new\": 3}}}", "not an object");
	assert_int_equal(ovsdb_cache_count(cache, "T"), 1);
	ovsdb_cache_clear(cache);
	assert_int_equal(ovsdb_cache_count(cache, "T"), 0);
	ovsdb_cache_destroy(cache);
}

static void test_monitor_requests_from_schema(void **state)
{
	static const char *const cols[] = { "name", "external_ids", NULL };
	static const char *const bad_cols[] = { "name", "nope", NULL };
	char why[256];

	(void)state;
	json_t *schema = json_load_file(NB_SCHEMA, 0, NULL);
	if (!schema) {
		print_message("skipped: %s missing (apt-get install ovn-central)\n", NB_SCHEMA);
		skip();
	}
	struct ovsdb_monitor_table good[] = { { "Logical_Switch", cols },
					      { "Logical_Switch_Port", NULL } };
	json_t *req = ovsdb_monitor_requests(schema, good, 2, why, sizeof(why));
	assert_non_null(req);
	assert_int_equal(json_array_size(json_object_get(json_object_get(req, "Logical_Switch"),
							 "columns")), 2);
	/* NULL: every column of the schema */
	assert_true(json_array_size(json_object_get(json_object_get(req, "Logical_Switch_Port"),
						    "columns")) > 10);
	json_decref(req);
	struct ovsdb_monitor_table unknown_table[] = { { "Logical_Swich", NULL } };
	assert_null(ovsdb_monitor_requests(schema, unknown_table, 1, why, sizeof(why)));
	assert_string_equal(why, "the schema has no table Logical_Swich");
	struct ovsdb_monitor_table unknown_col[] = { { "Logical_Switch", bad_cols } };
	assert_null(ovsdb_monitor_requests(schema, unknown_col, 1, why, sizeof(why)));
	assert_string_equal(why, "table Logical_Switch has no column nope");
	struct ovsdb_monitor_table twice[] = { { "Logical_Switch", NULL }, { "Logical_Switch", NULL } };
	assert_null(ovsdb_monitor_requests(schema, twice, 2, why, sizeof(why)));
	assert_null(ovsdb_monitor_requests(schema, good, 0, why, sizeof(why)));
	json_decref(schema);
}

/* ---- transaction builder (pure) ---- */

static void test_txn_builder(void **state)
{
	char why[256];

	(void)state;
	struct ovsdb_txn *txn = ovsdb_txn_new(NB);
	assert_int_equal(ovsdb_txn_insert(txn, "Logical_Switch", json_pack("{s:s}", "name", "a"),
					  "sw"), 0);
	assert_int_equal(ovsdb_txn_mutate(txn, "Logical_Switch", json_array(),
					  json_pack("[o]", ovsdb_mutation("external_ids", "insert",
						ovsdb_string_map("k", "v", NULL)))), 1);
	assert_int_equal(ovsdb_txn_wait(txn, "Logical_Switch", json_array(),
					json_pack("[s]", "name"), "==", json_array(), 0), 2);
	assert_int_equal(ovsdb_txn_comment(txn, "hello"), 3);
	json_t *params = ovsdb_txn_params(txn, why, sizeof(why));
	assert_non_null(params);
	assert_int_equal(json_array_size(params), 5);
	assert_string_equal(json_string_value(json_array_get(params, 0)), NB);
	assert_string_equal(json_string_value(json_object_get(json_array_get(params, 1),
							      "uuid-name")), "sw");
	json_decref(params);
	/* a NULL from a failed builder marks the transaction bad, naming the operation */
	assert_int_equal(ovsdb_txn_update(txn, "Logical_Switch", ovsdb_where_uuid(NULL),
					  json_object()), -1);
	assert_int_equal(ovsdb_txn_delete(txn, "Logical_Switch", NULL), -1);
	assert_null(ovsdb_txn_params(txn, why, sizeof(why)));
	assert_string_equal(why, "operation 4 (update Logical_Switch): an argument is NULL or of "
				 "the wrong type");
	assert_int_equal(ovsdb_txn_count(txn), 4);
	ovsdb_txn_free(txn);
	txn = ovsdb_txn_new(NB);
	assert_null(ovsdb_txn_params(txn, why, sizeof(why)));
	assert_string_equal(why, "the transaction has no operation");
	assert_int_equal(ovsdb_txn_op(txn, json_pack("{s:i}", "no-op", 1)), -1);
	ovsdb_txn_free(txn);
}

/* ---- fake servers on a socketpair ---- */

struct fake {
	struct ovsdb *c;
	int peer;
};

static void fake_open(struct fake *f)
{
	int sv[2];
	struct ovsdb_error err;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->c = ovsdb_connect_fd(sv[0], "fake", &err);
	assert_non_null(f->c);
	f->peer = sv[1];
}

static void fake_close(struct fake *f)
{
	ovsdb_close(f->c);
	close(f->peer);
}

static void fake_send(struct fake *f, const char *text)
{
	assert_int_equal(write(f->peer, text, strlen(text)), (ssize_t)strlen(text));
}

/* Reads the messages the client sent (waiting up to a second for the first). */
static size_t fake_read(struct fake *f, json_t **msgs, size_t max)
{
	static char buf[65536];
	struct ovsdb_frame frame = { .max = sizeof(buf) };
	struct pollfd pfd = { .fd = f->peer, .events = POLLIN };
	size_t len = 0, start = 0, count = 0;

	while (poll(&pfd, 1, len ? 100 : 1000) == 1) {
		ssize_t n = read(f->peer, buf + len, sizeof(buf) - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	for (;;) {
		size_t consumed;
		char why[128];
		json_t *msg = NULL;
		enum ovsdb_frame_status st = ovsdb_frame_next(&frame, buf + start, len - start,
							      &consumed, &msg, why, sizeof(why));
		start += consumed;
		if (st != OVSDB_FRAME_MESSAGE)
			break;
		assert_true(count < max);
		msgs[count++] = msg;
	}
	return count;
}

static void test_fake_echo_answered_while_waiting(void **state)
{
	struct fake f;
	struct ovsdb_error err;
	json_t *names = NULL, *sent[4];

	(void)state;
	fake_open(&f);
	/* the server's echo request and a stale response arrive before the awaited one */
	fake_send(&f, "{\"id\":\"e1\",\"method\":\"echo\",\"params\":[\"ping\"]}"
		      "{\"id\":99,\"result\":[\"stale\"],\"error\":null}\n"
		      "{\"id\":null,\"method\":\"locked\",\"params\":[\"x\"]}"
		      "{\"id\":\"q\",\"method\":\"transact\",\"params\":[]}"
		      "{\"id\":1,\"result\":[\"A\",\"B\"],\"error\":null}");
	assert_int_equal(ovsdb_list_dbs(f.c, &names, &err, TIMEOUT), 0);
	assert_int_equal(json_array_size(names), 2);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "A");
	json_decref(names);
	size_t n = fake_read(&f, sent, 4);
	assert_int_equal(n, 3);
	assert_string_equal(json_string_value(json_object_get(sent[0], "method")), "list_dbs");
	assert_int_equal(json_integer_value(json_object_get(sent[0], "id")), 1);
	assert_string_equal(json_string_value(json_object_get(sent[1], "id")), "e1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(sent[1], "result"),
							      0)), "ping");
	assert_true(json_is_null(json_object_get(sent[1], "error")));
	assert_string_equal(json_string_value(json_object_get(sent[2], "id")), "q");
	assert_non_null(json_object_get(sent[2], "error"));
	for (size_t i = 0; i < n; i++)
		json_decref(sent[i]);
	assert_int_equal(ovsdb_state(f.c), OVSDB_STATE_READY);
	fake_close(&f);
}

static void test_fake_server_error_and_timeout(void **state)
{
	struct fake f;
	struct ovsdb_error err;
	json_t *schema = (json_t *)1;

	(void)state;
	fake_open(&f);
	fake_send(&f, "{\"id\":1,\"result\":null,\"error\":{\"error\":\"unknown database\","
		      "\"details\":\"get_schema request specifies\\nunknown database X\"}}");
	assert_int_equal(ovsdb_get_schema(f.c, "X", &schema, &err, TIMEOUT), -1);
	assert_null(schema);
	assert_int_equal(err.kind, OVSDB_ERROR_SERVER);
	assert_string_equal(err.error, "unknown database");
	assert_string_equal(err.message, "ovsdb fake: get_schema X: unknown database: get_schema "
					 "request specifies unknown database X");
	/* silence: a timeout, still READY; the late answer is then dropped */
	assert_int_equal(ovsdb_echo(f.c, &err, 50), -1);
	assert_int_equal(err.kind, OVSDB_ERROR_TIMEOUT);
	assert_int_equal(ovsdb_state(f.c), OVSDB_STATE_READY);
	fake_send(&f, "{\"id\":2,\"result\":[\"cairn\"],\"error\":null}"
		      "{\"id\":3,\"result\":[\"cairn\"],\"error\":null}");
	assert_int_equal(ovsdb_echo(f.c, &err, TIMEOUT), 0);
	/* an error without a name (found by the fuzzer) still reads as one */
	fake_send(&f, "{\"id\":4,\"result\":null,\"error\":{\"error\":\"\"}}");
	assert_int_equal(ovsdb_echo(f.c, &err, TIMEOUT), -1);
	assert_int_equal(err.kind, OVSDB_ERROR_SERVER);
	assert_string_equal(err.error, "error");
	assert_string_equal(err.message, "ovsdb fake: echo: error");
	fake_close(&f);
}

static void test_fake_garbage_closes(void **state)
{
	static const char *const garbage[] = {
		"{\"id\":1,\"result\":[],\"error\":null}xyz",
		"{\"id\":1,\"result\":[],\"error\":null}{\"hello\":1}",
		"{\"id\":1,\"result\":[],\"error\":null}{\"method\":\"update\",\"params\":[1]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		struct fake f;
		struct ovsdb_error err;
		json_t *names = NULL;

		fake_open(&f);
		fake_send(&f, garbage[i]);
		assert_int_equal(ovsdb_list_dbs(f.c, &names, &err, TIMEOUT), 0);
		json_decref(names);
		assert_int_equal(ovsdb_list_dbs(f.c, &names, &err, TIMEOUT), -1);
		assert_int_equal(err.kind, OVSDB_ERROR_PROTOCOL);
		assert_int_equal(ovsdb_state(f.c), OVSDB_STATE_CLOSED);
		assert_int_equal(ovsdb_fd(f.c), -1);
		assert_int_equal(ovsdb_list_dbs(f.c, &names, &err, TIMEOUT), -1);
		assert_int_equal(err.kind, OVSDB_ERROR_CLOSED);
		assert_int_equal(ovsdb_reconnect(f.c, TIMEOUT, &err), -1);
		assert_int_equal(err.kind, OVSDB_ERROR_INVALID);
		fake_close(&f);
	}
	/* a peer that closes: CLOSED, not a hang */
	struct fake f;
	struct ovsdb_error err;
	fake_open(&f);
	shutdown(f.peer, SHUT_WR);
	assert_int_equal(ovsdb_echo(f.c, &err, OVSDB_WAIT_FOREVER), -1);
	assert_int_equal(err.kind, OVSDB_ERROR_CLOSED);
	fake_close(&f);
}

static void test_fake_txn_result_shapes(void **state)
{
	struct fake f;
	struct ovsdb_error err;

	(void)state;
	fake_open(&f);
	fake_send(&f, "{\"id\":1,\"result\":[{\"uuid\":[\"uuid\",\"" U1 "\"]},{\"count\":2}],"
		      "\"error\":null}"
		      "{\"id\":2,\"result\":[{}],\"error\":null}"
		      "{\"id\":3,\"result\":[{},{\"error\":\"referential integrity violation\","
		      "\"details\":\"cannot delete\"}],\"error\":null}");
	struct ovsdb_txn *txn = ovsdb_txn_new("DB");
	ovsdb_txn_insert(txn, "T", json_object(), "new");
	ovsdb_txn_delete(txn, "T", json_array());
	assert_int_equal(ovsdb_transact(f.c, txn, &err, TIMEOUT), 0);
	assert_string_equal(ovsdb_txn_inserted(txn, "new"), U1);
	assert_null(ovsdb_txn_inserted(txn, "other"));
	assert_int_equal(ovsdb_txn_rows(txn, 1), 2);
	assert_int_equal(ovsdb_txn_rows(txn, 0), -1);
	/* a transaction runs once */
	assert_int_equal(ovsdb_transact(f.c, txn, &err, TIMEOUT), -1);
	assert_int_equal(err.kind, OVSDB_ERROR_INVALID);
	ovsdb_txn_free(txn);
	/* fewer results than operations and no error */
	txn = ovsdb_txn_new("DB");
	ovsdb_txn_delete(txn, "T", json_array());
	ovsdb_txn_delete(txn, "T", json_array());
	assert_int_equal(ovsdb_transact(f.c, txn, &err, TIMEOUT), -1);
	assert_int_equal(err.kind, OVSDB_ERROR_PROTOCOL);
	ovsdb_txn_free(txn);
	/* an error past the operations: the commit failed */
	txn = ovsdb_txn_new("DB");
	ovsdb_txn_delete(txn, "T", json_array());
	assert_int_equal(ovsdb_transact(f.c, txn, &err, TIMEOUT), -1);
	assert_int_equal(err.kind, OVSDB_ERROR_TXN);
	assert_int_equal(err.op_index, -1);
	assert_string_equal(err.message, "ovsdb fake: transact DB: commit: referential integrity "
					 "violation: cannot delete");
	ovsdb_txn_free(txn);
	fake_close(&f);
}

/* ---- a real ovsdb-server ---- */

struct server {
	char dir[64];
	char remote[128], tcp_remote[64];
	pid_t pid;
};

static struct server srv;

static int run(const char *const argv[])
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool have_ovsdb(void)
{
	return access("/usr/sbin/ovsdb-server", X_OK) == 0 && access(NB_SCHEMA, R_OK) == 0 &&
	       access(VS_SCHEMA, R_OK) == 0;
}

/* A free TCP port on 127.0.0.1 (the kernel picks it; the server binds it right after). */
static int free_port(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	close(fd);
	return ntohs(addr.sin_port);
}

/* Starts ovsdb-server in the foreground on the databases in srv.dir; waits (bounded) until
 * it accepts connections. */
static void server_start(void)
{
	char sock_arg[160], tcp_arg[64], ctl_arg[160], pid_arg[160], nb[128], vs[128], log[128];
	int port = free_port();

	snprintf(sock_arg, sizeof(sock_arg), "--remote=punix:%s/db.sock", srv.dir);
	snprintf(tcp_arg, sizeof(tcp_arg), "--remote=ptcp:%d:127.0.0.1", port);
	snprintf(ctl_arg, sizeof(ctl_arg), "--unixctl=%s/ctl", srv.dir);
	snprintf(pid_arg, sizeof(pid_arg), "--pidfile=%s/server.pid", srv.dir);
	snprintf(nb, sizeof(nb), "%s/nb.db", srv.dir);
	snprintf(vs, sizeof(vs), "%s/conf.db", srv.dir);
	snprintf(log, sizeof(log), "%s/server.log", srv.dir);
	snprintf(srv.tcp_remote, sizeof(srv.tcp_remote), "tcp:127.0.0.1:%d", port);
	srv.pid = fork();
	assert_true(srv.pid >= 0);
	if (srv.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("ovsdb-server", "ovsdb-server", sock_arg, tcp_arg, ctl_arg, "--no-chdir",
		       pid_arg, nb, vs, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) { /* up to ~20 s on a loaded machine */
		struct ovsdb *c = ovsdb_connect(srv.remote, 1000, NULL);
		if (c) {
			ovsdb_close(c);
			return;
		}
		pause_ms(50);
	}
	fail_msg("ovsdb-server did not listen on %s (see %s)", srv.remote, log);
}

static void server_kill(int sig)
{
	if (srv.pid > 0) {
		kill(srv.pid, sig);
		waitpid(srv.pid, NULL, 0);
	}
	srv.pid = 0;
}

static int server_setup(void **state)
{
	char nb[128], vs[128];

	(void)state;
	alarm(WATCHDOG_S);
	if (!have_ovsdb())
		return 0;
	snprintf(srv.dir, sizeof(srv.dir), "/tmp/test-ovsdb-XXXXXX");
	assert_non_null(mkdtemp(srv.dir));
	snprintf(srv.remote, sizeof(srv.remote), "unix:%s/db.sock", srv.dir);
	snprintf(nb, sizeof(nb), "%s/nb.db", srv.dir);
	snprintf(vs, sizeof(vs), "%s/conf.db", srv.dir);
	const char *const create_nb[] = { "ovsdb-tool", "create", nb, NB_SCHEMA, NULL };
	const char *const create_vs[] = { "ovsdb-tool", "create", vs, VS_SCHEMA, NULL };
	assert_int_equal(run(create_nb), 0);
	assert_int_equal(run(create_vs), 0);
	server_start();
	return 0;
}

static int server_teardown(void **state)
{
	(void)state;
	server_kill(SIGTERM);
	if (srv.dir[0]) {
		const char *const rm[] = { "rm", "-rf", srv.dir, NULL };
		run(rm);
	}
	memset(&srv, 0, sizeof(srv));
	alarm(0);
	return 0;
}

#define NEED_SERVER()                                                                        \
	do {                                                                                 \
		if (!have_ovsdb()) {                                                         \
			print_message("skipped: ovsdb-server or the schemas are missing "    \
				      "(apt-get install openvswitch-common openvswitch-switch " \
				      "ovn-central)\n");                                     \
			skip();                                                              \
		}                                                                            \
	} while (0)

static struct ovsdb *connect_ok(const char *remote)
{
	struct ovsdb_error err;
	struct ovsdb *c = ovsdb_connect(remote, TIMEOUT, &err);

	if (!c)
		fail_msg("%s", err.message);
	return c;
}

/* Handles what arrives until the cache's switch NAME has (or, EXPECT false, has not) appeared;
 * bounded, not timed: fails only if the update never comes. */
static void wait_switch(struct ovsdb *c, struct ovsdb_cache *cache, const char *name,
			bool expect)
{
	struct ovsdb_error err;
	struct ovsdb_row row;

	for (int i = 0; i < 200; i++) {
		if (ovsdb_cache_find(cache, "Logical_Switch", "name", name, &row) == expect)
			return;
		if (ovsdb_dispatch(c, 100, &err) < 0)
			fail_msg("%s", err.message);
	}
	fail_msg("switch %s never %s the cache", name, expect ? "appeared in" : "left");
}

/* A round trip: every update the server sent before answering has been applied. */
static void sync_updates(struct ovsdb *c)
{
	struct ovsdb_error err;

	if (ovsdb_echo(c, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
}

static void test_server_list_dbs_and_schema(void **state)
{
	struct ovsdb_error err;
	json_t *names = NULL, *schema = NULL;

	(void)state;
	NEED_SERVER();
	const char *remotes[] = { srv.remote, srv.tcp_remote };
	for (size_t r = 0; r < 2; r++) {
		struct ovsdb *c = connect_ok(remotes[r]);
		assert_int_equal(ovsdb_state(c), OVSDB_STATE_READY);
		assert_string_equal(ovsdb_name(c), remotes[r]);
		assert_int_equal(ovsdb_list_dbs(c, &names, &err, TIMEOUT), 0);
		bool nb = false, vs = false;
		size_t i;
		json_t *name;
		json_array_foreach(names, i, name) {
			nb = nb || !strcmp(json_string_value(name), NB);
			vs = vs || !strcmp(json_string_value(name), "Open_vSwitch");
		}
		assert_true(nb && vs);
		json_decref(names);
		assert_int_equal(ovsdb_get_schema(c, "Open_vSwitch", &schema, &err, TIMEOUT), 0);
		assert_string_equal(json_string_value(json_object_get(schema, "name")), "Open_vSwitch");
		assert_true(ovsdb_schema_has_column(schema, "Interface", "external_ids"));
		assert_false(ovsdb_schema_has_column(schema, "Interface", "nope"));
		json_decref(schema);
		assert_int_equal(ovsdb_get_schema(c, "Nope", &schema, &err, TIMEOUT), -1);
		assert_int_equal(err.kind, OVSDB_ERROR_SERVER);
		assert_string_equal(err.error, "unknown database");
		assert_non_null(strstr(err.message, "get_schema Nope: unknown database"));
		assert_int_equal(ovsdb_echo(c, &err, TIMEOUT), 0);
		ovsdb_close(c);
	}
	/* nothing listening, bad remotes */
	char missing[160];
	snprintf(missing, sizeof(missing), "unix:%s/none.sock", srv.dir);
	assert_null(ovsdb_connect(missing, TIMEOUT, &err));
	assert_int_equal(err.kind, OVSDB_ERROR_CLOSED);
	assert_non_null(strstr(err.message, "none.sock: connect: No such file or directory"));
	assert_null(ovsdb_connect("ssl:127.0.0.1:6641", TIMEOUT, &err));
	assert_int_equal(err.kind, OVSDB_ERROR_INVALID);
	assert_null(ovsdb_connect("tcp:localhost:6641", TIMEOUT, &err));
	assert_int_equal(err.kind, OVSDB_ERROR_INVALID);
	assert_null(ovsdb_connect("tcp:127.0.0.1", TIMEOUT, &err));
	assert_int_equal(err.kind, OVSDB_ERROR_INVALID);
}

static const char *const ls_columns[] = { "name", "ports", "external_ids", NULL };

static struct ovsdb_cache *monitor_nb(struct ovsdb *c)
{
	struct ovsdb_error err;
	struct ovsdb_monitor_table tables[] = { { "Logical_Switch", ls_columns },
						{ "Logical_Switch_Port", NULL } };
	struct ovsdb_cache *cache = ovsdb_monitor(c, NB, tables, 2, &err, TIMEOUT);

	if (!cache)
		fail_msg("%s", err.message);
	return cache;
}

/* Inserts switch NAME with one port NAME-p1 owned by cairn. Returns the switch's uuid
 * (static buffer). */
static const char *add_switch(struct ovsdb *c, const char *name)
{
	static char uuid[40];
	char port[64];
	struct ovsdb_error err;
	struct ovsdb_txn *txn = ovsdb_txn_new(NB);

	snprintf(port, sizeof(port), "%s-p1", name);
	ovsdb_txn_insert(txn, "Logical_Switch_Port",
			 json_pack("{s:s, s:s, s:o}", "name", port, "addresses",
				   "02:00:00:00:00:01 10.0.0.2", "external_ids",
				   ovsdb_string_map("cairn-owner", "cairn", NULL)), "p1");
	ovsdb_txn_insert(txn, "Logical_Switch",
			 json_pack("{s:s, s:o, s:o}", "name", name, "ports",
				   ovsdb_set(json_pack("[o]", ovsdb_named_uuid("p1"))),
				   "external_ids", ovsdb_string_map("cairn-network", name,
								    "cairn-owner", "cairn", NULL)),
			 "sw");
	if (ovsdb_transact(c, txn, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
	snprintf(uuid, sizeof(uuid), "%s", ovsdb_txn_inserted(txn, "sw"));
	assert_true(ovsdb_uuid_is_valid(uuid));
	ovsdb_txn_free(txn);
	return uuid;
}

static void test_server_transact_and_monitor(void **state)
{
	struct ovsdb_error err;
	struct ovsdb_row sw, port;
	char sw_uuid[40];

	(void)state;
	NEED_SERVER();
	struct ovsdb *c = connect_ok(srv.remote);
	struct ovsdb_cache *cache = monitor_nb(c);
	assert_int_equal(ovsdb_cache_generation(cache), 1);
	assert_string_equal(ovsdb_cache_db(cache), NB);
	assert_int_equal(ovsdb_cache_count(cache, "Logical_Switch"), 0);
	assert_true(ovsdb_schema_has_table(ovsdb_cache_schema(cache), "ACL"));

	/* insert a switch and its port (named-uuid) */
	snprintf(sw_uuid, sizeof(sw_uuid), "%s", add_switch(c, "net1"));
	wait_switch(c, cache, "net1", true);
	assert_true(ovsdb_cache_get(cache, "Logical_Switch", sw_uuid, &sw));
	assert_string_equal(ovsdb_row_map_string(&sw, "external_ids", "cairn-owner"), "cairn");
	assert_null(ovsdb_row_get(&sw, "acls")); /* not monitored */
	const json_t *ports = ovsdb_row_get(&sw, "ports");
	assert_int_equal(ovsdb_datum_set_size(ports), 1);
	const char *port_uuid = ovsdb_datum_uuid(ports);
	assert_non_null(port_uuid);
	assert_true(ovsdb_cache_get(cache, "Logical_Switch_Port", port_uuid, &port));
	assert_string_equal(ovsdb_row_string(&port, "name"), "net1-p1");
	assert_string_equal(ovsdb_row_string(&port, "addresses"), "02:00:00:00:00:01 10.0.0.2");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&port, "tag")), 0); /* empty optional */

	/* update external_ids, mutate the ports set (a second port) */
	struct ovsdb_txn *txn = ovsdb_txn_new(NB);
	ovsdb_txn_update(txn, "Logical_Switch", ovsdb_where_uuid(sw_uuid),
			 json_pack("{s:o}", "external_ids",
				   ovsdb_string_map("cairn-network", "net1", "cairn-owner", "cairn",
						    "cairn-generation", "2", NULL)));
	ovsdb_txn_insert(txn, "Logical_Switch_Port", json_pack("{s:s}", "name", "net1-p2"), "p2");
	ovsdb_txn_mutate(txn, "Logical_Switch", ovsdb_where_uuid(sw_uuid),
			 json_pack("[o]", ovsdb_mutation("ports", "insert",
							 ovsdb_set(json_pack("[o]",
							   ovsdb_named_uuid("p2"))))));
	if (ovsdb_transact(c, txn, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
	assert_int_equal(ovsdb_txn_rows(txn, 0), 1);
	assert_int_equal(ovsdb_txn_rows(txn, 2), 1);
	char p2_uuid[40];
	snprintf(p2_uuid, sizeof(p2_uuid), "%s", ovsdb_txn_inserted(txn, "p2"));
	ovsdb_txn_free(txn);
	sync_updates(c);
	assert_true(ovsdb_cache_get(cache, "Logical_Switch", sw_uuid, &sw));
	assert_string_equal(ovsdb_row_map_string(&sw, "external_ids", "cairn-generation"), "2");
	assert_int_equal(ovsdb_datum_set_size(ovsdb_row_get(&sw, "ports")), 2);
	assert_true(ovsdb_datum_set_has_uuid(ovsdb_row_get(&sw, "ports"), p2_uuid));
	assert_int_equal(ovsdb_cache_count(cache, "Logical_Switch_Port"), 2);

	/* a second client changes the database; the first one's cache follows */
	struct ovsdb *other = connect_ok(srv.tcp_remote);
	txn = ovsdb_txn_new(NB);
	ovsdb_txn_mutate(txn, "Logical_Switch", json_pack("[o]", ovsdb_cond("name", "==",
							json_string("net1"))),
			 json_pack("[o]", ovsdb_mutation("external_ids", "delete",
							 json_pack("[s, [s]]", "set", "cairn-generation"))));
	if (ovsdb_transact(other, txn, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
	ovsdb_txn_free(txn);
	add_switch(other, "net2");
	wait_switch(c, cache, "net2", true);
	sync_updates(c);
	assert_true(ovsdb_cache_get(cache, "Logical_Switch", sw_uuid, &sw));
	assert_null(ovsdb_row_map_string(&sw, "external_ids", "cairn-generation"));
	assert_int_equal(ovsdb_cache_count(cache, "Logical_Switch"), 2);
	assert_int_equal(ovsdb_cache_count(cache, "Logical_Switch_Port"), 3);

	/* delete the first switch: its ports (non-root rows) are garbage-collected too */
	txn = ovsdb_txn_new(NB);
	ovsdb_txn_delete(txn, "Logical_Switch", ovsdb_where_uuid(sw_uuid));
	if (ovsdb_transact(c, txn, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
	assert_int_equal(ovsdb_txn_rows(txn, 0), 1);
	ovsdb_txn_free(txn);
	wait_switch(c, cache, "net1", false);
	sync_updates(c);
	assert_false(ovsdb_cache_get(cache, "Logical_Switch", sw_uuid, &sw));
	assert_false(ovsdb_cache_get(cache, "Logical_Switch_Port", p2_uuid, &port));
	assert_int_equal(ovsdb_cache_count(cache, "Logical_Switch_Port"), 1);
	struct ovsdb_rows it;
	size_t n = 0;
	for (ovsdb_rows_init(&it, cache, "Logical_Switch_Port"); ovsdb_rows_next(&it, &port);) {
		assert_string_equal(ovsdb_row_string(&port, "name"), "net2-p1");
		n++;
	}
	assert_int_equal(n, 1);

	/* monitoring a table or column the schema does not have: refused, nothing sent */
	static const char *const bad_cols[] = { "nope", NULL };
	struct ovsdb_monitor_table bad[] = { { "Logical_Switch", bad_cols } };
	assert_null(ovsdb_monitor(c, NB, bad, 1, &err, TIMEOUT));
	assert_int_equal(err.kind, OVSDB_ERROR_INVALID);
	assert_string_equal(err.details, "table Logical_Switch has no column nope");
	/* a second monitor on the same connection, of the other database, then cancelled */
	struct ovsdb_monitor_table bridges[] = { { "Bridge", NULL } };
	struct ovsdb_cache *vs = ovsdb_monitor(c, "Open_vSwitch", bridges, 1, &err, TIMEOUT);
	assert_non_null(vs);
	assert_int_equal(ovsdb_cache_count(vs, "Bridge"), 0);
	assert_int_equal(ovsdb_monitor_cancel(c, vs, &err, TIMEOUT), 0);
	add_switch(other, "net3");
	wait_switch(c, cache, "net3", true);
	ovsdb_close(other);
	ovsdb_close(c);
}

static void test_server_failing_transactions(void **state)
{
	struct ovsdb_error err;

	(void)state;
	NEED_SERVER();
	struct ovsdb *c = connect_ok(srv.remote);
	struct ovsdb_cache *cache = monitor_nb(c);
	add_switch(c, "net1");
	wait_switch(c, cache, "net1", true);
	sync_updates(c);
	uint64_t seqno = ovsdb_cache_seqno(cache);

	/* a constraint violation: two ports with one name (the index on name) */
	struct ovsdb_txn *txn = ovsdb_txn_new(NB);
	ovsdb_txn_insert(txn, "Logical_Switch", json_pack("{s:s, s:o}", "name", "net9", "ports",
				ovsdb_set(json_pack("[oo]", ovsdb_named_uuid("a"),
						    ovsdb_named_uuid("b")))), NULL);
	ovsdb_txn_insert(txn, "Logical_Switch_Port", json_pack("{s:s}", "name", "dup"), "a");
	ovsdb_txn_insert(txn, "Logical_Switch_Port", json_pack("{s:s}", "name", "dup"), "b");
	assert_int_equal(ovsdb_transact(c, txn, &err, TIMEOUT), -1);
	print_message("constraint: %s\n", err.message);
	assert_int_equal(err.kind, OVSDB_ERROR_TXN);
	assert_int_equal(err.op_index, -1);
	assert_string_equal(err.op, "commit");
	assert_string_equal(err.error, "constraint violation");
	assert_non_null(strstr(err.details, "Logical_Switch_Port"));
	assert_non_null(strstr(err.message, "transact OVN_Northbound: commit: constraint violation: "));
	assert_null(ovsdb_txn_result(txn));
	ovsdb_txn_free(txn);

	/* a wait that fails: "the switch still has the name I read" no longer holds */
	txn = ovsdb_txn_new(NB);
	ovsdb_txn_wait(txn, "Logical_Switch", json_pack("[o]", ovsdb_cond("name", "==",
						json_string("net1"))),
		       json_pack("[s]", "external_ids"), "==",
		       json_pack("[{s:o}]", "external_ids", ovsdb_string_map("stale", "1", NULL)), 0);
	ovsdb_txn_insert(txn, "Logical_Switch", json_pack("{s:s}", "name", "net-after-wait"), NULL);
	assert_int_equal(ovsdb_transact(c, txn, &err, TIMEOUT), -1);
	print_message("wait: %s\n", err.message);
	assert_int_equal(err.kind, OVSDB_ERROR_TXN);
	assert_int_equal(err.op_index, 0);
	assert_string_equal(err.op, "wait Logical_Switch");
	assert_string_equal(err.error, "timed out");
	assert_non_null(strstr(err.message, "transact OVN_Northbound: operation 0 (wait "
					    "Logical_Switch): timed out"));
	ovsdb_txn_free(txn);

	/* an operation the server cannot parse: named by its index */
	txn = ovsdb_txn_new(NB);
	ovsdb_txn_insert(txn, "Logical_Switch", json_pack("{s:s}", "name", "ok"), NULL);
	ovsdb_txn_update(txn, "Logical_Switch", json_array(), json_pack("{s:i}", "nope", 1));
	assert_int_equal(ovsdb_transact(c, txn, &err, TIMEOUT), -1);
	print_message("bad column: %s\n", err.message);
	assert_int_equal(err.kind, OVSDB_ERROR_TXN);
	assert_int_equal(err.op_index, 1);
	assert_string_equal(err.op, "update Logical_Switch");
	ovsdb_txn_free(txn);

	/* nothing changed: no update came, the database still has exactly one switch */
	sync_updates(c);
	assert_int_equal(ovsdb_dispatch(c, 0, &err), 0);
	assert_int_equal(ovsdb_cache_seqno(cache), seqno);
	assert_int_equal(ovsdb_cache_count(cache, "Logical_Switch"), 1);
	json_t *rows = NULL, *select = json_pack("[s, {s:s, s:s, s:[]}]", NB, "op", "select",
						   "table", "Logical_Switch", "where");
	assert_int_equal(ovsdb_request(c, "transact", select, &rows, &err, TIMEOUT), 0);
	json_decref(select);
	assert_int_equal(json_array_size(json_object_get(json_array_get(rows, 0), "rows")), 1);
	json_decref(rows);
	ovsdb_close(c);
}

/* Kills the server after MS milliseconds from a child process. */
static pid_t kill_later(pid_t victim, int ms)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pause_ms(ms);
		kill(victim, SIGKILL);
		_exit(0);
	}
	return pid;
}

static void test_server_killed_then_reconnect(void **state)
{
	struct ovsdb_error err;
	struct ovsdb_row row;

	(void)state;
	NEED_SERVER();
	struct ovsdb *c = connect_ok(srv.remote);
	struct ovsdb_cache *cache = monitor_nb(c);
	add_switch(c, "keep");
	add_switch(c, "gone");
	wait_switch(c, cache, "keep", true);
	wait_switch(c, cache, "gone", true);
	assert_int_equal(ovsdb_cache_generation(cache), 1);

	/* the server holds a wait (up to 60 s) and is SIGKILLed meanwhile: CLOSED, no hang */
	struct ovsdb_txn *txn = ovsdb_txn_new(NB);
	ovsdb_txn_wait(txn, "Logical_Switch", json_array(), json_pack("[s]", "name"), "==",
		       json_array(), 60000);
	pid_t killer = kill_later(srv.pid, 300);
	assert_int_equal(ovsdb_transact(c, txn, &err, 30000), -1);
	print_message("killed: %s\n", err.message);
	assert_int_equal(err.kind, OVSDB_ERROR_CLOSED);
	assert_int_equal(ovsdb_state(c), OVSDB_STATE_CLOSED);
	ovsdb_txn_free(txn);
	waitpid(killer, NULL, 0);
	waitpid(srv.pid, NULL, 0);
	srv.pid = 0;
	/* every call fails at once; the cache keeps its (stale) rows */
	assert_int_equal(ovsdb_echo(c, &err, OVSDB_WAIT_FOREVER), -1);
	assert_int_equal(err.kind, OVSDB_ERROR_CLOSED);
	assert_int_equal(ovsdb_dispatch(c, OVSDB_WAIT_FOREVER, &err), -1);
	assert_int_equal(ovsdb_cache_count(cache, "Logical_Switch"), 2);
	/* reconnecting while the server is down fails and can be retried */
	assert_int_equal(ovsdb_reconnect(c, TIMEOUT, &err), -1);
	assert_int_equal(err.kind, OVSDB_ERROR_CLOSED);
	assert_int_equal(ovsdb_state(c), OVSDB_STATE_CLOSED);

	/* the server comes back with its database; another client changes it meanwhile */
	server_start();
	struct ovsdb *other = connect_ok(srv.remote);
	txn = ovsdb_txn_new(NB);
	ovsdb_txn_delete(txn, "Logical_Switch", json_pack("[o]", ovsdb_cond("name", "==",
							json_string("gone"))));
	if (ovsdb_transact(other, txn, &err, TIMEOUT) < 0)
		fail_msg("%s", err.message);
	ovsdb_txn_free(txn);
	add_switch(other, "new");
	ovsdb_close(other);

	/* reconnect: the monitor is re-established and the cache rebuilt from scratch */
	if (ovsdb_reconnect(c, TIMEOUT, &err) < 0)
		fail_msg("%s", err.message);
	assert_int_equal(ovsdb_state(c), OVSDB_STATE_READY);
	assert_int_equal(ovsdb_cache_generation(cache), 2);
	assert_int_equal(ovsdb_cache_count(cache, "Logical_Switch"), 2);
	assert_true(ovsdb_cache_find(cache, "Logical_Switch", "name", "keep", &row));
	assert_true(ovsdb_cache_find(cache, "Logical_Switch", "name", "new", &row));
	assert_false(ovsdb_cache_find(cache, "Logical_Switch", "name", "gone", &row));
	assert_int_equal(ovsdb_cache_count(cache, "Logical_Switch_Port"), 2);
	/* and updates flow again */
	add_switch(c, "after");
	wait_switch(c, cache, "after", true);
	ovsdb_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_any_split),
		cmocka_unit_test(test_frame_incomplete_and_whitespace),
		cmocka_unit_test(test_frame_rejects_garbage),
		cmocka_unit_test(test_frame_caps_message_length),
		cmocka_unit_test(test_message_kinds),
		cmocka_unit_test(test_datums),
		cmocka_unit_test(test_cache_apply),
		cmocka_unit_test(test_monitor_requests_from_schema),
		cmocka_unit_test(test_txn_builder),
		cmocka_unit_test(test_fake_echo_answered_while_waiting),
		cmocka_unit_test(test_fake_server_error_and_timeout),
		cmocka_unit_test(test_fake_garbage_closes),
		cmocka_unit_test(test_fake_txn_result_shapes),
		cmocka_unit_test_setup_teardown(test_server_list_dbs_and_schema, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_transact_and_monitor, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_failing_transactions, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_killed_then_reconnect, server_setup,
						server_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
