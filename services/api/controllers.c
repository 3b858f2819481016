/* controllers.c - the controller table: every controller cairnd runs, with what it reads and
 * what it writes. The runtime (runtime.c) derives the run order from it: a controller that
 * reads a resource kind runs after the ones that write it. Adding a controller: a folder
 * under services/ and a row here (README.md and the folder's README show this table). */
#include "kube.h"
#include "libvirt.h"
#include "network.h"
#include "ovn.h"
#include "runtime.h"
#include "drbd.h"
#include "storage.h"
#include "vm_controller.h"

#define KINDS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE NULL

const struct controller controller_table[] = {
	{ "modules", KINDS("MachineConfig"), NONE, KINDS("modules"),
	  net_init, net_modules, NULL, net_halt },
	{ "links", KINDS("MachineConfig"), KINDS("modules"), KINDS("links", "interfaces"),
	  net_init, net_links, net_netlink_fd, net_halt },
	{ "sysctls", KINDS("MachineConfig"), KINDS("modules", "links"), KINDS("sysctls"),
	  net_init, net_sysctls, NULL, net_halt },
	{ "dhcp", KINDS("MachineConfig"), KINDS("interfaces"), KINDS("dhcp"),
	  net_init, net_dhcp, net_lease_fd, net_halt },
	{ "addresses", KINDS("MachineConfig"), KINDS("interfaces", "dhcp"), KINDS("addresses"),
	  net_init, net_addresses, net_netlink_fd, net_halt },
	{ "routes", KINDS("MachineConfig"), KINDS("interfaces", "dhcp", "addresses"), KINDS("routes"),
	  net_init, net_routes, net_netlink_fd, net_halt },
	{ "resolvers", KINDS("MachineConfig"), KINDS("dhcp"), KINDS("resolvers"),
	  net_init, net_resolvers, NULL, net_halt },
	{ "hostname", KINDS("MachineConfig"), NONE, KINDS("hostname"),
	  net_init, net_hostname, NULL, net_halt },
	{ "time", KINDS("MachineConfig"), NONE, KINDS("time"),
	  net_init, net_time, NULL, net_halt },
	{ "libvirtd", KINDS("MachineConfig"), NONE, NONE,
	  libvirtd_init, libvirtd_reconcile, NULL, NULL },
	{ "storage", KINDS("MachineConfig"), NONE, KINDS("disks", "pools"),
	  storage_init, storage_reconcile, NULL, storage_halt },
	{ "volumes", KINDS("MachineConfig", "VirtualMachine", "Volume"), KINDS("pools"),
	  KINDS("volumes"), volumes_init, volumes_reconcile, NULL, volumes_halt },
	{ "vm", KINDS("MachineConfig", "VirtualMachine"), KINDS("pools", "volumes"), KINDS("vms"),
	  vm_controller_init, vm_controller_reconcile, vm_controller_fd, vm_controller_halt },
	{ "ovn", KINDS("MachineConfig", "Network", "VirtualMachine"), NONE,
	  KINDS("networks", "chassis", "ports"), ovn_init, ovn_reconcile, ovn_fd, ovn_halt },
	{ "kube", KINDS("MachineConfig"), NONE, NONE,
	  kube_init, kube_reconcile, NULL, kube_halt },
};

const size_t controller_count = sizeof controller_table / sizeof controller_table[0];
