/* test_runtime.c - cairnd's controller runtime (services/api/runtime.c) with small test
 * controllers that publish real resources (services/api/resources.c): the run order derived
 * from reads and writes, a cycle refused, a round that runs only the due controllers (a
 * changed input flows down the table in the same round), failure reporting, and the owned-set
 * reconcile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resources.h"
#include "runtime.h"

/* runtime.h's table symbols, unused here (controllers.c is cairnd's) */
const struct controller controller_table[1];
const size_t controller_count = 0;

static char trace[256];   /* the names of the controllers that ran, in order */
static int upstream_value;

static void *test_init(const struct controller_env *env)
{
	(void)env;
	return trace;
}

/* "links": publishes `links` with upstream_value */
static int upstream(void *state, const json_t *config, struct ctrl_report *report)
{
	(void)state;
	(void)config;
	strcat(trace, "up ");
	resources_publish("links", json_pack("[{s:s, s:i}]", "id", "x", "v", upstream_value));
	ctrl_changed(report, "x", "published %d", upstream_value);
	return 1;
}

/* reads `links`, writes `addresses` */
static int middle(void *state, const json_t *config, struct ctrl_report *report)
{
	(void)state;
	(void)config;
	(void)report;
	strcat(trace, "mid ");
	return 0;
}

/* fails every pass */
static int failing(void *state, const json_t *config, struct ctrl_report *report)
{
	(void)state;
	(void)config;
	strcat(trace, "fail ");
	json_decref(ctrl_fail(report, "thing", "broken"));
	return -1;
}

#define KINDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct controller table[] = {
	/* listed before its writer on purpose: the order comes from reads and writes */
	{ "middle", KINDS("MachineConfig"), KINDS("links"), KINDS("addresses"),
	  test_init, middle, NULL, NULL },
	{ "failing", KINDS("VirtualMachine"), NULL, NULL, test_init, failing, NULL, NULL },
	{ "upstream", KINDS("MachineConfig"), NULL, KINDS("links"), test_init, upstream, NULL, NULL },
};

static void test_order(void **state)
{
	size_t order[3];
	char error[256];
	const struct controller cycle[] = {
		{ "a", NULL, KINDS("routes"), KINDS("links"), test_init, middle, NULL, NULL },
		{ "b", NULL, KINDS("links"), KINDS("routes"), test_init, middle, NULL, NULL },
		{ "c", NULL, NULL, KINDS("hostname"), test_init, middle, NULL, NULL },
	};

	(void)state;
	assert_int_equal(runtime_order(table, 3, order, error, sizeof error), 0);
	assert_int_equal(order[0], 1);   /* failing: free, first in table order */
	assert_int_equal(order[1], 2);   /* upstream before middle, which reads what it writes */
	assert_int_equal(order[2], 0);
	assert_int_equal(runtime_order(cycle, 3, order, error, sizeof error), -1);
	assert_string_equal(error, "controller table: a cycle through a b");   /* not c */
	struct controller_env env = { 0 };
	assert_null(runtime_open(cycle, 3, &env, NULL));
}

static bool not_failing(const char *name)
{
	return strcmp(name, "failing") != 0;
}

static void test_rounds(void **state)
{
	struct controller_env env = { .run_dir = "/nonexistent", .init_socket = "/nonexistent/sock" };
	struct runtime *rt = runtime_open(table, 3, &env, not_failing);
	json_t *config = json_pack("[{s:s, s:{}}]", "kind", "MachineConfig", "spec");
	json_t *names;

	(void)state;
	assert_non_null(rt);
	names = runtime_running(rt);
	assert_int_equal(json_array_size(names), 2);
	assert_string_equal(json_string_value(json_array_get(names, 0)), "upstream");
	json_decref(names);
	assert_null(runtime_state(rt, "failing"));
	assert_non_null(runtime_state(rt, "middle"));
	assert_int_equal(runtime_fd(rt), runtime_fd(rt));

	trace[0] = '\0';
	assert_int_equal(runtime_reconcile(rt, config, false), 1);   /* first pass: all */
	assert_string_equal(trace, "up mid ");
	trace[0] = '\0';
	assert_int_equal(runtime_reconcile(rt, config, false), 0);   /* nothing due */
	assert_string_equal(trace, "");
	trace[0] = '\0';
	assert_int_equal(runtime_reconcile(rt, config, true), 1);    /* all: both run */
	assert_string_equal(trace, "up mid ");
	/* a changed config runs upstream; its new output runs middle in the same round */
	json_t *changed = json_pack("[{s:s, s:{s:s}}]", "kind", "MachineConfig", "spec",
				    "hostname", "n1");
	upstream_value = 7;
	trace[0] = '\0';
	assert_int_equal(runtime_reconcile(rt, changed, false), 1);
	assert_string_equal(trace, "up mid ");
	/* a document of a kind neither reads changes nothing */
	json_t *with_vm = json_pack("[{s:s, s:{s:s}}, {s:s}]", "kind", "MachineConfig", "spec",
				    "hostname", "n1", "kind", "VirtualMachine");
	trace[0] = '\0';
	assert_int_equal(runtime_reconcile(rt, with_vm, false), 0);
	assert_string_equal(trace, "");
	/* maintenance mode (no config) is a change for both */
	trace[0] = '\0';
	runtime_reconcile(rt, NULL, false);
	assert_string_equal(trace, "up mid ");
	trace[0] = '\0';
	runtime_reconcile(rt, NULL, false);
	assert_string_equal(trace, "");
	json_decref(with_vm);
	json_decref(changed);
	json_decref(config);
	runtime_close(rt);
}

static void test_failure(void **state)
{
	struct controller_env env = { .run_dir = "/nonexistent" };
	struct runtime *rt = runtime_open(table, 3, &env, NULL);
	json_t *config = json_pack("[{s:s}]", "kind", "VirtualMachine");

	(void)state;
	trace[0] = '\0';
	assert_int_equal(runtime_reconcile(rt, config, true), -1);   /* one failed, all ran */
	assert_string_equal(trace, "fail up mid ");
	json_decref(config);
	runtime_close(rt);
}

/* The owned set: a fake system of keys. */
static json_t *system_keys;
static int saves;

static bool present(void *arg, const char *key)
{
	(void)arg;
	return json_object_get(system_keys, key) != NULL;
}

static json_t *add(void *arg, const char *key, const json_t *want)
{
	(void)arg;
	if (strcmp(key, "bad") == 0)
		return json_string("cannot add");
	json_object_set(system_keys, key, (json_t *)want);
	return NULL;
}

static json_t *remove_key(void *arg, const char *key, const json_t *entry)
{
	(void)arg;
	(void)entry;
	if (strcmp(key, "stuck") == 0)
		return json_string("cannot remove");
	json_object_del(system_keys, key);
	return NULL;
}

static void save(void *arg)
{
	(void)arg;
	saves++;
}

static void test_owned(void **state)
{
	const struct owned_ops ops = { NULL, present, add, remove_key, save };
	json_t *owned = json_pack("{s:i, s:i}", "old", 1, "stuck", 1);
	json_t *desired = json_pack("{s:i, s:i, s:i}", "new", 2, "theirs", 3, "bad", 4);
	json_t *errors = json_object();

	(void)state;
	system_keys = json_pack("{s:i, s:i, s:i, s:i}", "old", 1, "stuck", 1, "theirs", 3,
				"foreign", 9);
	saves = 0;
	ctrl_owned_reconcile(owned, desired, errors, &ops, false);
	assert_non_null(json_object_get(system_keys, "new"));      /* added */
	assert_null(json_object_get(system_keys, "old"));          /* owned, unwanted: removed */
	assert_non_null(json_object_get(system_keys, "foreign"));  /* never owned: kept */
	assert_non_null(json_object_get(owned, "theirs"));         /* existing and wanted: owned */
	assert_null(json_object_get(owned, "old"));
	assert_non_null(json_object_get(owned, "stuck"));          /* failed: tried again later */
	assert_null(json_object_get(owned, "bad"));
	assert_string_equal(json_string_value(json_object_get(errors, "bad")), "cannot add");
	assert_string_equal(json_string_value(json_object_get(errors, "stuck")), "cannot remove");
	assert_int_equal(saves, 3);   /* new, theirs, old */
	saves = 0;
	json_object_clear(errors);
	json_object_del(desired, "bad");
	ctrl_owned_reconcile(owned, desired, errors, &ops, true);   /* converged but stuck */
	assert_int_equal(saves, 0);
	assert_int_equal(json_object_size(errors), 1);
	json_decref(owned);
	json_decref(desired);
	json_decref(errors);
	json_decref(system_keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_rounds),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_owned),
	};
	resources_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
