/* admit.c - what an apply may name: before cairnd stores a config, each LVM pool's disk must be
 * a block device on this node and be in use by nothing but that pool's own volume group.
 * The schema (lib/config/storage.c) refuses what can be seen without the node; this refuses
 * what only the node can see, so a config that would make the controller report "missing" or
 * "refused" is not stored at all and the node goes on with the config it had. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fileio.h"
#include "storage.h"

static const json_t *pools_of(const json_t *config)
{
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;

	return json_object_get(json_object_get(json_object_get(machine, "spec"), "storage"),
			       "pools");
}

static const char *field(const json_t *pool, const char *key)
{
	return json_string_value(json_object_get(pool, key));
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* POOL is in CURRENT's pools as it is now: same name, type and disk. */
static bool in_force(const json_t *current, const json_t *pool)
{
	const json_t *item;
	size_t i;

	json_array_foreach(pools_of(current), i, item)
		if (same(field(item, "name"), field(pool, "name")) &&
		    same(field(item, "type"), field(pool, "type")) &&
		    same(field(item, "disk"), field(pool, "disk")))
			return true;
	return false;
}

int storage_admit(const json_t *config, const json_t *current, const char *sysfs,
		  json_t **details)
{
	const json_t *pools = pools_of(config), *pool;
	char *mountinfo = NULL, *swaps = NULL;
	char (*kernels)[64] = calloc(json_array_size(pools) + 1, sizeof *kernels);
	json_t *lines = json_array();
	size_t i;

	if (!kernels || !lines)
		abort();   /* as the rest of cairnd: out of memory is not a refusal */

	if (!sysfs)
		sysfs = "/sys";
	json_array_foreach(pools, i, pool) {
		const char *name = field(pool, "name"), *disk = field(pool, "disk");
		char why[512], vg[64], *in_use;
		if (!same(field(pool, "type"), "lvm") || !name || !disk)
			continue;
		if (storage_resolve(sysfs, disk, kernels[i], sizeof kernels[i], why, sizeof why) < 0) {
			kernels[i][0] = '\0';
			if (!in_force(current, pool))
				json_array_append_new(lines, json_sprintf(
					"storage.pools[%zu] (pool %s): disk %s: %s", i, name, disk, why));
			continue;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(kernels[k], kernels[i]) == 0)
				json_array_append_new(lines, json_sprintf(
					"storage.pools[%zu] (pool %s): disk %s is /dev/%s, which pool %s "
					"already names", i, name, disk, kernels[i],
					field(json_array_get(pools, k), "name")));
		if (in_force(current, pool))
			continue;
		if (!mountinfo) {
			mountinfo = fileio_read("/proc/self/mountinfo", 4 << 20, NULL);
			swaps = fileio_read("/proc/swaps", 1 << 20, NULL);
		}
		snprintf(vg, sizeof vg, STORAGE_VG_PREFIX "%s", name);
		in_use = storage_disk_in_use(sysfs, kernels[i], mountinfo, swaps, vg);
		if (in_use) {
			char device[96];
			snprintf(device, sizeof device, "/dev/%s", kernels[i]);
			json_array_append_new(lines, json_sprintf(
				"storage.pools[%zu] (pool %s): disk %s%s%s%s is in use: %s; Cairn "
				"does not touch it", i, name, disk, same(disk, device) ? "" : " (",
				same(disk, device) ? "" : device, same(disk, device) ? "" : ")", in_use));
		}
		free(in_use);
	}
	free(kernels);
	free(mountinfo);
	free(swaps);
	if (json_array_size(lines) == 0) {
		json_decref(lines);
		*details = NULL;
		return 0;
	}
	*details = lines;
	return -1;
}
