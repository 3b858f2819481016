/* network.h - the network controllers, as rows of cairnd's controller table
 * (services/api/controllers.c, controller.h): modules, links, sysctls, dhcp, addresses,
 * routes, resolvers, hostname, time. They share one state (netlink sockets, the lease folder's
 * inotify watch, what cairnd owns): net_init() opens it for the first row and counts the
 * others, net_halt() closes it after the last. They exchange data only through resources:
 * links publishes `interfaces` (the config's interfaces matched to links) and `links`; dhcp
 * reads `interfaces` and publishes `dhcp` (the leases); addresses, routes and resolvers read
 * `interfaces` and `dhcp`. */
#ifndef CAIRN_NETWORK_H
#define CAIRN_NETWORK_H

#include <jansson.h>

#include "controller.h"

void *net_init(const struct controller_env *env);
void net_halt(void *state);
/* The netlink event socket (links, addresses, routes) and the lease folder's inotify fd (dhcp). */
int net_netlink_fd(void *state);
int net_lease_fd(void *state);

int net_modules(void *state, const json_t *config, struct ctrl_report *report);
int net_links(void *state, const json_t *config, struct ctrl_report *report);
int net_sysctls(void *state, const json_t *config, struct ctrl_report *report);
int net_dhcp(void *state, const json_t *config, struct ctrl_report *report);
int net_addresses(void *state, const json_t *config, struct ctrl_report *report);
int net_routes(void *state, const json_t *config, struct ctrl_report *report);
int net_resolvers(void *state, const json_t *config, struct ctrl_report *report);
int net_hostname(void *state, const json_t *config, struct ctrl_report *report);
int net_time(void *state, const json_t *config, struct ctrl_report *report);

#endif
