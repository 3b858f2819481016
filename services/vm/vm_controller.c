/* vm_controller.c - the adapter of vm_controller.h. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "resources.h"
#include "vm_controller.h"
#include "vm.h"

void *vm_controller_init(const struct controller_env *env)
{
	const struct vm_env vm_env = {
		.run_dir = env->run_dir,
		.services_dir = env->services_dir,
		.init_socket = env->init_socket,
		.state_dir = env->vm_state_dir,
		.kvm = env->vm_accel,
	};

	return vm_open(&vm_env);
}

/* Why VM disks must wait: the MachineConfig names storage pools but resource "pools" does not
 * show the VMs' folder on the state volume yet (services/storage). NULL: no wait. */
static const char *disk_hold(const json_t *config, char *buf, size_t size)
{
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;
	const json_t *storage = json_object_get(json_object_get(machine, "spec"), "storage");
	const char *pool = json_string_value(json_object_get(json_object_get(storage, "state"), "pool"));
	json_t *snapshot, *item;
	size_t i;
	bool ready = false;

	if (!pool)
		return NULL;
	snapshot = resources_get("pools");
	json_array_foreach(json_object_get(snapshot, "items"), i, item)
		if (json_is_true(json_object_get(item, "vms_on_state")) &&
		    strcmp(json_string_value(json_object_get(item, "name")) ?: "", pool) == 0)
			ready = true;
	json_decref(snapshot);
	if (ready)
		return NULL;
	snprintf(buf, size, "waiting for the state volume on pool %s (cairnctl get pools)", pool);
	return buf;
}

/* Volume name -> true for each Volume that resource "volumes" shows Primary here. */
static json_t *primary_volumes(void)
{
	json_t *snapshot = resources_get("volumes"), *item, *primary = json_object();
	size_t i;

	json_array_foreach(json_object_get(snapshot, "items"), i, item)
		if (strcmp(json_string_value(json_object_get(item, "role")) ?: "", "Primary") == 0 &&
		    json_string_value(json_object_get(item, "name")))
			json_object_set_new(primary, json_string_value(json_object_get(item, "name")),
					    json_true());
	json_decref(snapshot);
	return primary;
}

int vm_controller_reconcile(void *state, const json_t *config, struct ctrl_report *report)
{
	char hold[200];
	int rc;

	vm_set_volumes(state, primary_volumes());
	vm_hold_disks(state, disk_hold(config, hold, sizeof hold));
	rc = vm_reconcile(state, config);

	ctrl_account(report, rc > 0 ? rc : 0, rc < 0);
	return rc;
}

int vm_controller_fd(void *state)
{
	return vm_fd(state);
}

void vm_controller_halt(void *state)
{
	vm_close(state);
}
