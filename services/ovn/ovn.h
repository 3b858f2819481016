/* ovn.h - the ovn controller (a row of services/api/controllers.c): Open vSwitch and OVN
 * services on nodes whose MachineConfig has `ovn`, the chassis settings in the local
 * Open_vSwitch database, the NB reconcile on the central node, and the resources networks,
 * chassis and ports. See README.md ("Wiring"). */
#ifndef CAIRN_OVN_H
#define CAIRN_OVN_H

#include <jansson.h>

#include "controller.h"

void *ovn_init(const struct controller_env *env);
int ovn_reconcile(void *state, const json_t *config, struct ctrl_report *report);
int ovn_fd(void *state);
void ovn_halt(void *state);

#endif
