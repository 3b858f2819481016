/* resources.c - the status resources: one snapshot per kind behind one mutex, a revision that
 * grows on each real change, and a condition variable that wakes the watchers. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "resources.h"

const char *const resource_kinds[] = {
	"links", "addresses", "routes", "services", "hostname", "time", "resolvers",
	"sysctls", "modules", "dhcp", "machinestatus", "vms", "interfaces", "networks", "chassis",
	"ports", "disks", "pools", "volumes", "members", NULL,
};

#define KIND_COUNT (sizeof resource_kinds / sizeof resource_kinds[0] - 1)

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;          /* broadcast on every revision change (CLOCK_MONOTONIC) */
	json_t *items[KIND_COUNT];       /* never NULL after init */
	json_int_t revision[KIND_COUNT];
} store = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t store_once = PTHREAD_ONCE_INIT;

static void store_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&store.changed, &attr);
	pthread_condattr_destroy(&attr);
	for (size_t i = 0; i < KIND_COUNT; i++)
		store.items[i] = json_array();
}

void resources_init(void)
{
	pthread_once(&store_once, store_init);
}

static int kind_index(const char *kind)
{
	for (size_t i = 0; kind && i < KIND_COUNT; i++)
		if (strcmp(resource_kinds[i], kind) == 0)
			return (int)i;
	return -1;
}

/* Every item an object with a string "id", each id once. */
static const char *items_problem(const json_t *items)
{
	size_t i, j;
	json_t *item;

	if (!json_is_array(items))
		return "items are not a JSON array";
	json_array_foreach(items, i, item) {
		const char *id = json_string_value(json_object_get(item, "id"));
		if (!json_is_object(item) || !id)
			return "an item has no string \"id\"";
		for (j = 0; j < i; j++)
			if (strcmp(id, json_string_value(json_object_get(json_array_get(items, j),
									  "id"))) == 0)
				return "two items have the same \"id\"";
	}
	return NULL;
}

int resources_publish(const char *kind, json_t *items)
{
	int index = kind_index(kind);
	const char *problem = items_problem(items);

	resources_init();
	if (index < 0 || problem) {
		fprintf(stderr, "cairnd: resources: publish %s: %s\n", kind ? kind : "(null)",
			index < 0 ? "not a known kind" : problem);
		json_decref(items);
		return -1;
	}
	pthread_mutex_lock(&store.lock);
	if (!json_equal(store.items[index], items)) {
		json_decref(store.items[index]);
		store.items[index] = items;
		items = NULL;
		store.revision[index]++;
		pthread_cond_broadcast(&store.changed);
	}
	pthread_mutex_unlock(&store.lock);
	json_decref(items);
	return 0;
}

/* "uptime_s" of each item with a "started_at", as of now (see resources.h). */
static void add_uptimes(json_t *items)
{
	time_t now = time(NULL);
	size_t i;
	json_t *item;

	json_array_foreach(items, i, item) {
		const char *started = json_string_value(json_object_get(item, "started_at"));
		struct tm tm = { 0 };
		const char *end = started ? strptime(started, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
		if (end && *end == '\0') {
			time_t since = timegm(&tm);
			json_object_set_new(item, "uptime_s", json_integer(now > since ? now - since : 0));
		}
	}
}

/* The snapshot of kind INDEX; the caller holds the lock. Items are copied: a reader may
 * change its copy while the next publish replaces the original. */
static json_t *snapshot(int index)
{
	json_t *items = json_deep_copy(store.items[index]);

	add_uptimes(items);
	return json_pack("{s:s, s:I, s:o}", "kind", resource_kinds[index], "revision",
			 store.revision[index], "items", items);
}

json_t *resources_get(const char *kind)
{
	int index = kind_index(kind);
	json_t *result;

	resources_init();
	if (index < 0)
		return NULL;
	pthread_mutex_lock(&store.lock);
	result = snapshot(index);
	pthread_mutex_unlock(&store.lock);
	return result;
}

json_t *resources_wait(const char *kind, json_int_t after, int timeout_ms)
{
	int index = kind_index(kind);
	struct timespec deadline;
	json_t *result;

	resources_init();
	if (index < 0)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&store.lock);
	while (store.revision[index] <= after &&
	       pthread_cond_timedwait(&store.changed, &store.lock, &deadline) != ETIMEDOUT)
		;
	result = snapshot(index);
	pthread_mutex_unlock(&store.lock);
	return result;
}
