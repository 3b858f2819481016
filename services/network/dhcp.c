/* dhcp.c - the DHCP controller: one supervised udhcpc per link that wants DHCP (the config's
 * `dhcp: true` links; every Ethernet link when the config has no interfaces or there is no
 * config) as the service definition dhcp-IFNAME; definitions and leases of links that no
 * longer want it are removed. The hook
 * script (rootfs/overlay/usr/lib/cairn/udhcpc.script) only reports: it writes
 * RUN/dhcp/IFNAME.lease atomically, and this controller reads it. Reads `interfaces`;
 * publishes `dhcp` [{id: ifname, state, address, router, dns, domain, lease_s, updated}], which
 * the address, route and resolver controllers read: a lease is active when its item has an
 * address. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "net.h"
#include "resources.h"

#define UDHCPC "/usr/bin/udhcpc"
#define UDHCPC_SCRIPT "/usr/lib/cairn/udhcpc.script"

static char *lease_path(struct ctrl *ctrl, const char *ifname)
{
	char *path;

	if (asprintf(&path, "%s/%s.lease", ctrl->dhcp_dir, ifname) < 0)
		abort();
	return path;
}

static void want_service(struct ctrl *ctrl, const char *ifname)
{
	char *name, *text;

	if (asprintf(&name, "dhcp-%s", ifname) < 0 ||
	    asprintf(&text, "command = %s -f -i %s -s %s\nenv = CAIRN_DHCP_DIR=%s\n"
		     "restart = always\nrestart_delay = 1s\nrestart_delay_max = 30s\n"
		     "capabilities = CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE\n",
		     UDHCPC, ifname, UDHCPC_SCRIPT, ctrl->dhcp_dir) < 0)
		abort();
	ctrl_service_write(ctrl->report, name, text);
	free(text);
	free(name);
}

static void remove_unwanted(struct ctrl *ctrl, const json_t *wanted)
{
	json_t *names = ctrl_service_list(ctrl->report, "dhcp-"), *name;
	size_t i;

	json_array_foreach(names, i, name) {
		const char *ifname = json_string_value(name) + strlen("dhcp-");
		const json_t *want = json_object_get(wanted, ifname);
		char *path;

		if (want && json_is_true(json_object_get(want, "dhcp")))
			continue;
		ctrl_service_remove(ctrl->report, json_string_value(name));
		path = lease_path(ctrl, ifname);
		fileio_remove(path);
		free(path);
	}
	json_decref(names);
}

/* "key=value" lines into an object of strings. */
static json_t *parse_lease(char *text)
{
	json_t *lease = json_object();
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq || eq == line)
			continue;
		*eq = '\0';
		json_object_set_new(lease, line, json_string(eq + 1));
	}
	return lease;
}

/* Space-separated words into an array of strings. */
static json_t *words(const char *text)
{
	json_t *list = json_array();
	char *copy = strdup(text ? text : ""), *save = NULL;

	if (!copy)
		abort();
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		json_array_append_new(list, json_string(w));
	free(copy);
	return list;
}

static bool valid_ipv4(const char *text)
{
	unsigned char buf[4];

	return text && inet_pton(AF_INET, text, buf) == 1;
}

/* Checks the reported values; the lease becomes active when bound and not expired. */
static void check_lease(struct ctrl *ctrl, const char *ifname, json_t *lease, time_t updated)
{
	const char *event = json_string_value(json_object_get(lease, "event"));
	const char *ip = json_string_value(json_object_get(lease, "ip"));
	const char *prefix = json_string_value(json_object_get(lease, "prefix"));
	const char *router = json_string_value(json_object_get(lease, "router"));
	const char *lease_text = json_string_value(json_object_get(lease, "lease"));
	long seconds = lease_text ? atol(lease_text) : 0;
	long bits = prefix ? atol(prefix) : 24;
	bool bound = event && (!strcmp(event, "bound") || !strcmp(event, "renew"));
	json_t *routers = words(router), *first = json_array_get(routers, 0);
	char address[64];

	json_object_set_new(lease, "state", json_string(event ? event : "unknown"));
	json_object_set_new(lease, "updated", json_integer((json_int_t)updated));
	json_object_set_new(lease, "lease_s", seconds ? json_integer(seconds) : json_null());
	json_object_set_new(lease, "dns", words(json_string_value(json_object_get(lease, "dns"))));
	json_object_set_new(lease, "router", first ? json_incref(first) : json_null());
	json_decref(routers);
	if (bound && (!valid_ipv4(ip) || bits < 1 || bits > 32 ||
		      (first && !valid_ipv4(json_string_value(first))))) {
		json_object_set_new(lease, "state", json_string("invalid"));
		json_object_set_new(lease, "error", ctrl_fail(ctrl->report, ifname,
			"lease file has a bad ip, prefix or router"));
		bound = false;
	}
	if (bound && seconds > 0 && time(NULL) > updated + seconds) {
		json_object_set_new(lease, "state", json_string("expired"));
		bound = false;
	}
	snprintf(address, sizeof(address), "%s/%ld", ip ? ip : "", bits);
	json_object_set_new(lease, "address", bound ? json_string(address) : json_null());
	json_object_set_new(lease, "active", json_boolean(bound));
}

static json_t *read_lease(struct ctrl *ctrl, const char *ifname)
{
	char *path = lease_path(ctrl, ifname), *text = fileio_read(path, CTRL_FILE_MAX, NULL);
	struct stat st;
	json_t *lease;

	if (!text) {
		if (errno != ENOENT)
			json_decref(ctrl_fail(ctrl->report, path, "cannot read: %s",
					      strerror(errno)));
		free(path);
		return json_pack("{s:s, s:b, s:n, s:n, s:[], s:n, s:n}", "state", "waiting",
				 "active", 0, "address", "router", "dns", "lease_s", "updated");
	}
	lease = parse_lease(text);
	if (!json_object_get(lease, "prefix") && json_object_get(lease, "mask"))
		json_object_set(lease, "prefix", json_object_get(lease, "mask"));
	check_lease(ctrl, ifname, lease, stat(path, &st) == 0 ? st.st_mtime : time(NULL));
	free(text);
	free(path);
	return lease;
}

static json_t *dhcp_item(const char *ifname, const json_t *lease)
{
	return json_pack("{s:s, s:O, s:O, s:O, s:O, s:O?, s:O, s:O, s:O?}", "id", ifname,
			 "state", json_object_get(lease, "state"),
			 "address", json_object_get(lease, "address"),
			 "router", json_object_get(lease, "router"),
			 "dns", json_object_get(lease, "dns"),
			 "domain", json_object_get(lease, "domain"),
			 "lease_s", json_object_get(lease, "lease_s"),
			 "updated", json_object_get(lease, "updated"),
			 "error", json_object_get(lease, "error"));
}

void ctrl_dhcp(struct ctrl *ctrl)
{
	json_t *items, *wanted, *want;
	const char *ifname;

	if (!net_refresh_links(ctrl))
		return;  /* links unknown: change nothing */
	wanted = net_wanted_interfaces();
	items = json_array();
	remove_unwanted(ctrl, wanted);
	json_object_foreach(wanted, ifname, want) {
		json_t *lease;

		if (!json_is_true(json_object_get(want, "dhcp")))
			continue;
		if (!net_ifindex(ctrl, ifname)) {  /* a VLAN that could not be created */
			json_array_append_new(items, json_pack("{s:s, s:s}", "id", ifname,
							       "state", "no link"));
			continue;
		}
		want_service(ctrl, ifname);
		lease = read_lease(ctrl, ifname);
		json_array_append_new(items, dhcp_item(ifname, lease));
		json_decref(lease);
	}
	json_decref(wanted);
	resources_publish("dhcp", items);
}
