/* storage.c - the schema of MachineConfig's .spec.storage: the disks Cairn may use, each a
 * pool (an LVM thin pool on a whole disk, or a directory of files for tests), and the pool
 * that holds the node's persistent state volume. services/storage acts on it; everything a
 * config can get wrong without looking at the node is refused here, with its path and line. */
#include <stdio.h>
#include <string.h>

#include "schema.h"

/* A pool's name: 1..32 of [a-z0-9-], not starting or ending with '-'. It names the volume
 * group cairn-NAME, so it stays short and needs no escaping in LVM or device-mapper names. */
bool config_valid_pool_name(const char *value, struct config_check *check)
{
	size_t len = strlen(value);

	if (len == 0 || len > 32 || value[0] == '-' || value[len - 1] == '-' ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != len) {
		snprintf(check->reason, sizeof check->reason, "is not a pool name (1..32 of a-z, 0-9, "
			 "'-', not starting or ending with '-')");
		return false;
	}
	return true;
}

static bool valid_pool_type(const char *value, struct config_check *check)
{
	if (strcmp(value, "lvm") == 0 || strcmp(value, "file") == 0)
		return true;
	snprintf(check->reason, sizeof check->reason, "is not a pool type (lvm or file)");
	return false;
}

static const struct config_schema string_pool_name = {
	.type = CONFIG_STRING, .what = "a pool name", .validator = config_valid_pool_name };
static const struct config_schema string_pool_type = {
	.type = CONFIG_STRING, .what = "a pool type", .validator = valid_pool_type,
	.default_yaml = "lvm" };
static const struct config_schema string_pool_disk = {
	.type = CONFIG_STRING, .what = "a device path", .validator = config_valid_device_path };
static const struct config_schema string_pool_path = {
	.type = CONFIG_STRING, .what = "an absolute path", .validator = config_valid_absolute_path };
static const struct config_schema boolean_wipe = { .type = CONFIG_BOOL, .default_yaml = "false" };
static const struct config_schema string_state_size = {
	.type = CONFIG_STRING, .what = "a size", .validator = config_valid_disk_size,
	.with_mib = true };

/* An lvm pool is a disk (and may allow its wipe); a file pool is a directory. */
static void check_pool(struct config_decoder *decoder, const struct ynode *node, json_t *pool)
{
	const char *type = json_string_value(json_object_get(pool, "type"));
	const struct ynode *disk = ynode_mapping_get(node, "disk");
	const struct ynode *path = ynode_mapping_get(node, "path");
	const struct ynode *wipe = ynode_mapping_get(node, "wipe");

	if (!type)
		return;
	if (strcmp(type, "lvm") == 0) {
		if (!disk)
			config_decoder_error(decoder, node->line, "disk", "is required for an lvm pool "
					     "(the whole disk it takes, /dev/disk/by-id/...)");
		if (path)
			config_decoder_error(decoder, path->line, "path", "goes with type: file; an "
					     "lvm pool takes a 'disk'");
	} else {
		if (!path)
			config_decoder_error(decoder, node->line, "path", "is required for a file "
					     "pool (the directory that holds its files)");
		if (disk)
			config_decoder_error(decoder, disk->line, "disk", "goes with type: lvm; a file "
					     "pool is a directory ('path')");
		if (wipe)
			config_decoder_error(decoder, wipe->line, "wipe", "goes with type: lvm; a file "
					     "pool never erases anything");
		json_object_del(pool, "wipe");   /* the default is for lvm pools */
	}
}

static const struct config_field pool_fields[] = {
	{ "name", &string_pool_name, true },
	{ "type", &string_pool_type, false },
	{ "disk", &string_pool_disk, false },
	{ "path", &string_pool_path, false },
	{ "wipe", &boolean_wipe, false },
	{ NULL, NULL, false },
};
static const struct config_schema pool = {
	.type = CONFIG_OBJECT, .fields = pool_fields, .check = check_pool };
static const char *const pool_unique[] = { "name", "disk", "path", NULL };
static const struct config_schema list_pool = {
	.type = CONFIG_LIST, .items = &pool, .unique_keys = pool_unique, .max_items = 16 };

static const struct config_field state_fields[] = {
	{ "pool", &string_pool_name, false },
	{ "size", &string_state_size, false },
	{ NULL, NULL, false },
};
static const struct config_schema state = { .type = CONFIG_OBJECT, .fields = state_fields };

/* state.pool names a pool of .pools (default: the first, written here); a state needs a
 * pool. */
static void check_storage(struct config_decoder *decoder, const struct ynode *node,
			  json_t *storage)
{
	json_t *pools = json_object_get(storage, "pools"), *item;
	json_t *state_object = json_object_get(storage, "state");
	const struct ynode *state_node = ynode_mapping_get(node, "state");
	const struct ynode *pool_node = state_node && state_node->type == YNODE_MAPPING ?
		ynode_mapping_get(state_node, "pool") : NULL;
	const char *wanted = json_string_value(json_object_get(state_object, "pool"));
	size_t i;

	if (json_array_size(pools) == 0) {
		if (state_node)
			config_decoder_error(decoder, state_node->line, "state", "needs a pool in "
					     "'pools' to live on");
		return;
	}
	if (!wanted) {
		if (!state_object) {
			state_object = json_object();
			json_object_set_new(storage, "state", state_object);
		}
		wanted = json_string_value(json_object_get(json_array_get(pools, 0), "name"));
		if (wanted) {
			/* "pool" comes before "size" */
			json_t *size = json_incref(json_object_get(state_object, "size"));
			json_t *mib = json_incref(json_object_get(state_object, "size_mib"));
			json_object_clear(state_object);
			json_object_set_new(state_object, "pool", json_string(wanted));
			if (size)
				json_object_set_new(state_object, "size", size);
			if (mib)
				json_object_set_new(state_object, "size_mib", mib);
		}
		return;
	}
	json_array_foreach(pools, i, item)
		if (strcmp(json_string_value(json_object_get(item, "name")) ?: "", wanted) == 0)
			return;
	config_decoder_error(decoder, pool_node ? pool_node->line : node->line, "state.pool",
			     "\"%s\" is not the name of a pool in .spec.storage.pools", wanted);
}

static const struct config_field storage_fields[] = {
	{ "pools", &list_pool, false },
	{ "state", &state, false },
	{ NULL, NULL, false },
};
const struct config_schema config_storage_schema = {
	.type = CONFIG_OBJECT, .fields = storage_fields, .check = check_storage };

/* Across .spec: the install disk is not a pool's disk (the installer would partition it). */
void config_check_machine_storage(struct config_decoder *decoder, const struct ynode *node,
				  json_t *spec)
{
	const char *install = json_string_value(json_object_get(json_object_get(spec, "install"),
								"disk"));
	const json_t *pools = json_object_get(json_object_get(spec, "storage"), "pools"), *item;
	const struct ynode *storage = ynode_mapping_get(node, "storage");
	const struct ynode *list = storage && storage->type == YNODE_MAPPING ?
		ynode_mapping_get(storage, "pools") : NULL;
	size_t i;

	if (!install)
		return;
	json_array_foreach(pools, i, item) {
		const char *disk = json_string_value(json_object_get(item, "disk"));
		if (!disk || strcmp(disk, install) != 0)
			continue;
		char field[64];
		const struct ynode *at = list && list->type == YNODE_SEQUENCE && i < list->count &&
			list->items[i]->type == YNODE_MAPPING ?
			ynode_mapping_get(list->items[i], "disk") : NULL;
		snprintf(field, sizeof field, "storage.pools[%zu].disk", i);
		config_decoder_error(decoder, at ? at->line : node->line, field, "\"%s\" is the "
				     "install disk (.spec.install.disk); a pool needs a disk of its own",
				     disk);
	}
}
