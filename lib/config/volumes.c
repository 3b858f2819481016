/* volumes.c - the Volume kind (a block device replicated by DRBD 8.4 on two nodes, services/
 * storage/volumes.c) and the checks across documents that involve it: the DRBD minor and TCP
 * port each Volume derives from its name do not collide with another Volume's, a node has one
 * address in every Volume that names it, and a VM disk on a Volume names a Volume of the
 * config that has a replica on the VM's node and no other VM disk. Lines come from the YAML
 * tree, so every error points at the value. Cost: linear in the documents (hash sets). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crossdoc.h"
#include "hashset.h"
#include "schema.h"

/* FNV-1a (32 bits) of NAME, reduced to a slot: stable across versions and machines, so both
 * replicas and every later config derive the same minor and port. */
unsigned config_volume_slot(const char *name)
{
	uint32_t hash = 2166136261u;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		hash ^= *c;
		hash *= 16777619u;
	}
	return hash % CONFIG_VOLUME_SLOTS;
}

unsigned config_volume_minor(const char *name)
{
	return CONFIG_VOLUME_MINOR_BASE + config_volume_slot(name);
}

unsigned config_volume_port(const char *name)
{
	return CONFIG_VOLUME_PORT_BASE + config_volume_slot(name);
}

/* ---- the schema ---- */

static const struct config_schema string_volume_name = {
	.type = CONFIG_STRING, .what = "a volume name", .validator = config_valid_disk_name };
static const struct config_schema string_api_version = {
	.type = CONFIG_STRING, .what = "an apiVersion", .validator = config_valid_api_version };
static const struct config_schema string_kind = { .type = CONFIG_STRING, .what = "a kind" };
static const struct config_schema string_size = {
	.type = CONFIG_STRING, .what = "a size", .validator = config_valid_disk_size,
	.with_mib = true };
static const struct config_schema string_node = {
	.type = CONFIG_STRING, .what = "a node name", .validator = config_valid_node_name };
static const struct config_schema string_ipv4 = {
	.type = CONFIG_STRING, .what = "an IPv4 address", .validator = config_valid_ipv4 };
static const struct config_schema string_pool = {
	.type = CONFIG_STRING, .what = "a pool name", .validator = config_valid_pool_name };
static const struct config_schema string_path = {
	.type = CONFIG_STRING, .what = "an absolute path", .validator = config_valid_absolute_path };

static const struct config_field replica_fields[] = {
	{ "name", &string_node, true },
	{ "address", &string_ipv4, true },
	{ "pool", &string_pool, false },
	{ NULL, NULL, false },
};
static const struct config_schema replica = { .type = CONFIG_OBJECT, .fields = replica_fields };
static const char *const replica_unique[] = { "name", "address", NULL };
static const struct config_schema list_replica = {
	.type = CONFIG_LIST, .items = &replica, .unique_keys = replica_unique, .max_items = 2 };

/* What a node does with the LV of a Volume removed from its config (README, "Volumes"). */
static bool valid_reclaim(const char *value, struct config_check *check)
{
	if (strcmp(value, "retain") == 0 || strcmp(value, "delete") == 0)
		return true;
	snprintf(check->reason, sizeof check->reason, "is not a reclaim policy (retain: the LV "
		 "and its data stay on the pool; delete: metadata wiped and the LV removed)");
	return false;
}
static const struct config_schema string_reclaim = {
	.type = CONFIG_STRING, .what = "a reclaim policy", .validator = valid_reclaim,
	.default_yaml = "retain" };

/* Exactly two replicas (DRBD 8.4 pairs two nodes). */
static void check_volume_spec(struct config_decoder *decoder, const struct ynode *node,
			      json_t *spec)
{
	const struct ynode *nodes = ynode_mapping_get(node, "nodes");
	json_t *list = json_object_get(spec, "nodes");

	if (nodes && json_is_array(list) && json_array_size(list) < 2)
		config_decoder_error(decoder, nodes->line, "nodes", "has %zu node%s; a Volume has "
				     "exactly 2 (the two replicas)", json_array_size(list),
				     json_array_size(list) == 1 ? "" : "s");
}

static const struct config_field volume_spec_fields[] = {
	{ "size", &string_size, true },
	{ "nodes", &list_replica, true },
	{ "image", &string_path, false },
	{ "reclaim", &string_reclaim, false },
	{ NULL, NULL, false },
};
static const struct config_schema volume_spec = {
	.type = CONFIG_OBJECT, .fields = volume_spec_fields, .check = check_volume_spec };

static const struct config_field volume_metadata_fields[] = {
	{ "name", &string_volume_name, true },
	{ NULL, NULL, false },
};
static const struct config_schema volume_metadata = {
	.type = CONFIG_OBJECT, .fields = volume_metadata_fields };
static const struct config_field volume_fields[] = {
	{ "apiVersion", &string_api_version, true },
	{ "kind", &string_kind, true },
	{ "metadata", &volume_metadata, true },
	{ "spec", &volume_spec, true },
	{ NULL, NULL, false },
};
const struct config_schema config_volume_document = {
	.type = CONFIG_OBJECT, .fields = volume_fields };

/* ---- across documents ---- */

struct check {
	struct config_cross x;
};

static bool is_kind(const json_t *doc, const char *kind)
{
	return config_doc_kind(doc) && strcmp(config_doc_kind(doc), kind) == 0 && config_doc_name(doc);
}

struct volume_ref {
	const char *name;
	size_t doc;
	bool used;             /* a VM disk is on it */
	size_t used_doc;
	const char *used_vm, *used_disk;
};

struct replica_ref {
	const char *node, *address;
	size_t doc, item;
};

static bool same_node(const void *context, size_t a, size_t b)
{
	const struct replica_ref *r = context;

	return strcmp(r[a].node, r[b].node) == 0;
}

static int compare_volumes(const void *a, const void *b)
{
	return strcmp(((const struct volume_ref *)a)->name, ((const struct volume_ref *)b)->name);
}

void config_check_volumes(const char *name, struct config_errors *errs, json_t *config,
			  const struct ynode *const *roots, const unsigned *index)
{
	struct check c = { { name, errs, roots, index } };
	size_t n = json_array_size(config), count = 0, replica_count = 0;
	struct volume_ref *volumes = calloc(n + 1, sizeof *volumes);
	struct replica_ref *replicas = calloc(2 * n + 1, sizeof *replicas);
	long *slot_owner = malloc(CONFIG_VOLUME_SLOTS * sizeof *slot_owner);
	struct hashset nodes = { 0 };
	struct hashset_key key;

	if (!volumes || !replicas || !slot_owner || hashset_init(&nodes, 2 * n, same_node, replicas) < 0)
		goto fail;
	hashset_key_init(&key);
	for (size_t i = 0; i < CONFIG_VOLUME_SLOTS; i++)
		slot_owner[i] = -1;
	/* the Volumes: derived slot collisions, one address per node name */
	for (size_t doc = 0; doc < n; doc++) {
		const json_t *d = json_array_get(config, doc);
		const json_t *list = json_object_get(json_object_get(d, "spec"), "nodes"), *r;
		const struct ynode *ynodes = config_yget(config_yget(roots[doc], "spec"), "nodes");
		unsigned slot;
		size_t i;

		if (!is_kind(d, "Volume"))
			continue;
		slot = config_volume_slot(config_doc_name(d));
		if (slot_owner[slot] >= 0) {
			const json_t *other = json_array_get(config, (size_t)slot_owner[slot]);
			config_cross_error(&c.x, doc, config_yline(config_yget(config_yget(roots[doc], "metadata"), "name"), roots[doc]),
			      "Volume", ".metadata.name", "\"%s\" derives DRBD minor %u and port %u, "
			      "as Volume/%s (document %u) does; rename one of them", config_doc_name(d),
			      config_volume_minor(config_doc_name(d)), config_volume_port(config_doc_name(d)),
			      config_doc_name(other), index[slot_owner[slot]]);
		} else {
			slot_owner[slot] = (long)doc;
		}
		volumes[count++] = (struct volume_ref){ .name = config_doc_name(d), .doc = doc };
		json_array_foreach(list, i, r) {
			struct replica_ref *me = &replicas[replica_count];
			size_t first;
			char path[64];

			*me = (struct replica_ref){ json_string_value(json_object_get(r, "name")),
				json_string_value(json_object_get(r, "address")), doc, i };
			if (!me->node || !me->address || i > 1)
				continue;
			first = hashset_first(&nodes, hashset_hash(&key, me->node, strlen(me->node)),
					      replica_count);
			if (first == HASHSET_EMPTY)
				goto fail;
			replica_count++;
			if (first == replica_count - 1 || replicas[first].doc == doc ||
			    strcmp(replicas[first].address, me->address) == 0)
				continue;
			snprintf(path, sizeof path, ".spec.nodes[%zu].address", i);
			config_cross_error(&c.x, doc, config_yline(config_yget(config_yat(ynodes, i), "address"), roots[doc]), "Volume", path,
			      "\"%s\" for node %s, but Volume/%s (document %u) gives it %s; a node has "
			      "one address", me->address, me->node,
			      config_doc_name(json_array_get(config, replicas[first].doc)),
			      index[replicas[first].doc], replicas[first].address);
		}
	}
	qsort(volumes, count, sizeof *volumes, compare_volumes);
	/* VM disks on Volumes */
	for (size_t doc = 0; doc < n; doc++) {
		const json_t *d = json_array_get(config, doc);
		const json_t *spec = json_object_get(d, "spec"), *disk;
		const char *vm_node = json_string_value(json_object_get(spec, "node"));
		const struct ynode *ydisks = config_yget(config_yget(roots[doc], "spec"), "disks");
		size_t i;

		if (!is_kind(d, "VirtualMachine"))
			continue;
		json_array_foreach(json_object_get(spec, "disks"), i, disk) {
			const char *wanted = json_string_value(json_object_get(disk, "volume"));
			const struct ynode *at = config_yget(config_yat(ydisks, i), "volume");
			struct volume_ref probe = { .name = wanted }, *v;
			char path[64];

			if (!wanted)
				continue;
			snprintf(path, sizeof path, ".spec.disks[%zu].volume", i);
			v = bsearch(&probe, volumes, count, sizeof *volumes, compare_volumes);
			if (!v) {
				config_cross_error(&c.x, doc, config_yline(at, roots[doc]), "VirtualMachine", path, "\"%s\" is "
				      "not the name of a Volume in this config", wanted);
				continue;
			}
			const json_t *list = json_object_get(json_object_get(
				json_array_get(config, v->doc), "spec"), "nodes"), *r;
			bool on_node = false;
			size_t k;
			json_array_foreach(list, k, r)
				if (vm_node && strcmp(json_string_value(json_object_get(r, "name")) ?: "",
						      vm_node) == 0)
					on_node = true;
			if (!on_node && vm_node)
				config_cross_error(&c.x, doc, config_yline(at, roots[doc]), "VirtualMachine", path, "Volume/%s "
				      "has no replica on node %s (the VM's .spec.node); its nodes are "
				      "%s and %s", wanted, vm_node,
				      json_string_value(json_object_get(json_array_get(list, 0), "name")) ?: "?",
				      json_string_value(json_object_get(json_array_get(list, 1), "name")) ?: "?");
			if (v->used) {
				config_cross_error(&c.x, doc, config_yline(at, roots[doc]), "VirtualMachine", path, "Volume/%s "
				      "is already disk %s of VirtualMachine/%s (document %u); a Volume "
				      "is the disk of one VM", wanted, v->used_disk, v->used_vm,
				      index[v->used_doc]);
			} else {
				v->used = true;
				v->used_doc = doc;
				v->used_vm = config_doc_name(d);
				v->used_disk = json_string_value(json_object_get(disk, "name")) ?: "?";
			}
		}
	}
	hashset_free(&nodes);
	free(slot_owner);
	free(replicas);
	free(volumes);
	return;
fail:
	hashset_free(&nodes);
	free(slot_owner);
	free(replicas);
	free(volumes);
	config_errors_add(errs, name, 0, 0, NULL, NULL, "out of memory");
}
