/* net.h - what the files of services/network/ share: the state the network controllers have
 * in common (netlink sockets, the lease folder, what cairnd owns, caches of what the kernel
 * did) and the netlink helpers. Not part of network.h. Per-pass data of one controller is
 * never read by another: that goes through resources. */
#ifndef CAIRN_NETWORK_NET_H
#define CAIRN_NETWORK_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "controller.h"
#include "fileio.h"
#include "network.h"
#include "runcmd.h"

struct nl_sock;
struct nl_cache;
struct nl_addr;

#define CTRL_DHCP_METRIC 1024       /* default route from a DHCP lease */
#define CTRL_FILE_MAX (1024 * 1024) /* largest file a network controller reads */

struct ctrl {
	int refs;            /* rows sharing this state */
	/* env with defaults filled in, borrowed from the runtime */
	const char *run_dir, *services_dir, *proc_sys, *modprobe;
	bool set_hostname;
	char *etc_dir;       /* RUN/etc */
	char *dhcp_dir;      /* RUN/dhcp: lease files written by the udhcpc hook */
	char *state_path;    /* RUN/cairnd/owned.json: what the network controllers created */

	struct nl_sock *sock;    /* requests */
	struct nl_sock *events;  /* link, address and route notifications */
	int inotify_fd;

	json_t *owned;        /* {"links":{}, "addresses":{}, "routes":{}}, persisted */
	json_t *modules_done; /* modules: name -> parameters modprobe accepted */
	json_t *sysctls_read; /* sysctls: key -> {desired, actual}: what the kernel made of a write */

	/* the pass of the controller running now */
	struct ctrl_report *report;
	const json_t *spec;      /* .spec of the MachineConfig; NULL without one */
	struct nl_cache *links;  /* fresh link cache of this pass, or NULL */
	json_t *desired;         /* links: the wanted links of this pass */
	json_t *link_errors;     /* links: ifname or MAC -> reason */
};

/* Saves ctrl->owned to ctrl->state_path (atomically). */
void ctrl_save_owned(struct ctrl *ctrl);

/* The controllers' bodies (each file), called with ctrl->report and ctrl->spec set. */
void ctrl_modules(struct ctrl *ctrl);
void ctrl_links(struct ctrl *ctrl);
void ctrl_sysctls(struct ctrl *ctrl);
void ctrl_dhcp(struct ctrl *ctrl);
void ctrl_addresses(struct ctrl *ctrl);
void ctrl_routes(struct ctrl *ctrl);
void ctrl_resolvers(struct ctrl *ctrl);
void ctrl_hostname(struct ctrl *ctrl);
void ctrl_time(struct ctrl *ctrl);

/* The items of resource KIND (a new reference to the array). */
json_t *net_resource_items(const char *kind);
/* The wanted interfaces (resource `interfaces`) as ifname -> {ifname, dhcp, addresses,
 * routes, mtu?, parent?, vlan_id?, present}. A new object. */
json_t *net_wanted_interfaces(void);
/* The active DHCP leases (resource `dhcp`, items with an address) as ifname -> item. */
json_t *net_active_leases(void);

/* links.c helpers shared with the address and route controllers */
/* Refills ctrl->links; false (logged) on failure. */
bool net_refresh_links(struct ctrl *ctrl);
/* The name of link IFINDEX in ctrl->links into BUF (16 bytes), or NULL. */
const char *net_ifname(struct ctrl *ctrl, int ifindex, char *buf);
/* The index of link NAME in ctrl->links, or 0. */
int net_ifindex(struct ctrl *ctrl, const char *name);
/* ADDR (an IPv4 or IPv6 nl_addr, possibly of length 0 for a default route) as inet_ntop
 * text, with "/PREFIXLEN" when PREFIX. */
void net_addr_text(struct nl_addr *addr, bool prefix, char *buf, size_t size);

#endif
