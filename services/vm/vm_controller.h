/* vm_controller.h - the VM controller (vm.h) as a row of cairnd's controller table
 * (services/api/controller.h): an adapter over vm_open(), vm_reconcile(), vm_fd() and
 * vm_close(). The VM controller logs its own failures (vm.h); its pass result is accounted
 * in the runtime's report like every controller's. */
#ifndef CAIRN_VM_CONTROLLER_H
#define CAIRN_VM_CONTROLLER_H

#include <jansson.h>

#include "controller.h"

void *vm_controller_init(const struct controller_env *env);
int vm_controller_reconcile(void *state, const json_t *config, struct ctrl_report *report);
int vm_controller_fd(void *state);
void vm_controller_halt(void *state);

#endif
