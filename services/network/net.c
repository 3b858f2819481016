/* net.c - the state the network controllers share (net.h): netlink sockets, the lease
 * folder's inotify watch, the owned set; and the rows of network.h, each of which sets up
 * one controller's pass and runs its body. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/route/rtnl.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "net.h"
#include "resources.h"

static struct ctrl *shared;   /* one per cairnd: every network row gets it (main thread only) */

void ctrl_save_owned(struct ctrl *ctrl)
{
	char *text = json_dumps(ctrl->owned, JSON_SORT_KEYS | JSON_INDENT(1));

	if (!text || fileio_write_if_changed(ctrl->state_path, text, 0600) < 0)
		json_decref(ctrl_fail(ctrl->report, ctrl->state_path, "cannot write: %s",
				      strerror(errno)));
	free(text);
}

static void load_owned(struct ctrl *ctrl)
{
	const char *kinds[] = { "links", "addresses", "routes" };
	json_t *loaded = json_load_file(ctrl->state_path, 0, NULL);

	ctrl->owned = json_is_object(loaded) ? loaded : json_object();
	if (!json_is_object(loaded))
		json_decref(loaded);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!json_is_object(json_object_get(ctrl->owned, kinds[i])))
			json_object_set_new(ctrl->owned, kinds[i], json_object());
}

static int open_events(struct ctrl *ctrl)
{
	int err;

	ctrl->events = nl_socket_alloc();
	if (!ctrl->events)
		return -NLE_NOMEM;
	nl_socket_disable_seq_check(ctrl->events);
	err = nl_connect(ctrl->events, NETLINK_ROUTE);
	if (err >= 0)
		err = nl_socket_add_memberships(ctrl->events, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
						RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
						RTNLGRP_IPV6_ROUTE, 0);
	if (err >= 0)
		err = nl_socket_set_nonblocking(ctrl->events);
	return err;
}

static int open_inotify(struct ctrl *ctrl)
{
	if (fileio_mkdirs(ctrl->dhcp_dir, 0755) < 0) {
		fprintf(stderr, "cairnd: network: %s: cannot create: %s\n", ctrl->dhcp_dir,
			strerror(errno));
		return -1;
	}
	ctrl->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ctrl->inotify_fd < 0 ||
	    inotify_add_watch(ctrl->inotify_fd, ctrl->dhcp_dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
		fprintf(stderr, "cairnd: network: %s: cannot watch: %s\n", ctrl->dhcp_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void net_free(struct ctrl *ctrl)
{
	if (ctrl->inotify_fd >= 0)
		close(ctrl->inotify_fd);
	nl_socket_free(ctrl->events);
	nl_socket_free(ctrl->sock);
	if (ctrl->links)
		nl_cache_free(ctrl->links);
	json_decref(ctrl->owned);
	json_decref(ctrl->modules_done);
	json_decref(ctrl->sysctls_read);
	free(ctrl->etc_dir);
	free(ctrl->dhcp_dir);
	free(ctrl->state_path);
	free(ctrl);
}

void *net_init(const struct controller_env *env)
{
	struct ctrl *ctrl;
	int err;

	if (shared) {
		shared->refs++;
		return shared;
	}
	ctrl = calloc(1, sizeof(*ctrl));
	if (!ctrl)
		return NULL;
	ctrl->inotify_fd = -1;
	ctrl->run_dir = env->run_dir;
	ctrl->services_dir = env->services_dir;
	ctrl->proc_sys = env->proc_sys;
	ctrl->modprobe = env->modprobe;
	ctrl->set_hostname = env->set_hostname;
	ctrl->etc_dir = path_join(ctrl->run_dir, "etc");
	ctrl->dhcp_dir = path_join(ctrl->run_dir, "dhcp");
	ctrl->state_path = path_join(ctrl->run_dir, "cairnd/owned.json");
	ctrl->modules_done = json_object();
	ctrl->sysctls_read = json_object();
	load_owned(ctrl);
	ctrl->sock = nl_socket_alloc();
	err = ctrl->sock ? nl_connect(ctrl->sock, NETLINK_ROUTE) : -NLE_NOMEM;
	if (err >= 0)
		err = open_events(ctrl);
	if (err < 0) {
		fprintf(stderr, "cairnd: network: netlink: cannot open: %s\n", nl_geterror(err));
		net_free(ctrl);
		return NULL;
	}
	if (open_inotify(ctrl) < 0) {
		net_free(ctrl);
		return NULL;
	}
	ctrl->refs = 1;
	shared = ctrl;
	return ctrl;
}

void net_halt(void *state)
{
	struct ctrl *ctrl = state;

	if (!ctrl || --ctrl->refs > 0)
		return;
	if (ctrl == shared)
		shared = NULL;
	net_free(ctrl);
}

int net_netlink_fd(void *state)
{
	return nl_socket_get_fd(((struct ctrl *)state)->events);
}

int net_lease_fd(void *state)
{
	return ((struct ctrl *)state)->inotify_fd;
}

/* Empties the netlink queue (links) or the inotify queue (dhcp): the pass reads the state
 * itself. */
static void drain_netlink(struct ctrl *ctrl)
{
	char buf[16384];
	int fd = nl_socket_get_fd(ctrl->events);

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 || errno == ENOBUFS)
		;
}

static void drain_inotify(struct ctrl *ctrl)
{
	char buf[4096];

	while (read(ctrl->inotify_fd, buf, sizeof(buf)) > 0)
		;
}

/* One controller's pass: BODY with the report and the MachineConfig's spec set. */
static int run(void *state, const json_t *config, struct ctrl_report *report,
	       void (*body)(struct ctrl *))
{
	struct ctrl *ctrl = state;
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;

	ctrl->report = report;
	ctrl->spec = machine ? json_object_get(machine, "spec") : NULL;
	body(ctrl);
	if (ctrl->links)
		nl_cache_free(ctrl->links);
	ctrl->links = NULL;
	ctrl->report = NULL;
	ctrl->spec = NULL;
	return 0;
}

int net_modules(void *state, const json_t *config, struct ctrl_report *report)
{
	return run(state, config, report, ctrl_modules);
}

int net_links(void *state, const json_t *config, struct ctrl_report *report)
{
	drain_netlink(state);
	return run(state, config, report, ctrl_links);
}

int net_sysctls(void *state, const json_t *config, struct ctrl_report *report)
{
	return run(state, config, report, ctrl_sysctls);
}

int net_dhcp(void *state, const json_t *config, struct ctrl_report *report)
{
	drain_inotify(state);
	return run(state, config, report, ctrl_dhcp);
}

int net_addresses(void *state, const json_t *config, struct ctrl_report *report)
{
	return run(state, config, report, ctrl_addresses);
}

int net_routes(void *state, const json_t *config, struct ctrl_report *report)
{
	return run(state, config, report, ctrl_routes);
}

int net_resolvers(void *state, const json_t *config, struct ctrl_report *report)
{
	return run(state, config, report, ctrl_resolvers);
}

int net_hostname(void *state, const json_t *config, struct ctrl_report *report)
{
	return run(state, config, report, ctrl_hostname);
}

int net_time(void *state, const json_t *config, struct ctrl_report *report)
{
	return run(state, config, report, ctrl_time);
}

json_t *net_resource_items(const char *kind)
{
	json_t *snapshot = resources_get(kind), *items = json_object_get(snapshot, "items");

	items = items ? json_incref(items) : json_array();
	json_decref(snapshot);
	return items;
}

json_t *net_wanted_interfaces(void)
{
	json_t *items = net_resource_items("interfaces"), *wanted = json_object(), *item;
	size_t i;

	json_array_foreach(items, i, item)
		json_object_set(wanted, json_string_value(json_object_get(item, "id")), item);
	json_decref(items);
	return wanted;
}

json_t *net_active_leases(void)
{
	json_t *items = net_resource_items("dhcp"), *leases = json_object(), *item;
	size_t i;

	json_array_foreach(items, i, item)
		if (json_string_value(json_object_get(item, "address")))
			json_object_set(leases, json_string_value(json_object_get(item, "id")), item);
	json_decref(items);
	return leases;
}
