/* libvirt.h - the libvirtd controller, a row of cairnd's controller table (controller.h):
 * a configured node runs libvirtd as a supervised service; maintenance mode runs none. */
#ifndef CAIRN_LIBVIRT_H
#define CAIRN_LIBVIRT_H

#include <jansson.h>

#include "controller.h"

void *libvirtd_init(const struct controller_env *env);
int libvirtd_reconcile(void *state, const json_t *config, struct ctrl_report *report);

#endif
