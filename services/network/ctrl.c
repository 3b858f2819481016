/* ctrl.c - cairnd's controller loop: opens netlink and the DHCP lease folder, runs every
 * controller once per ctrl_reconcile() and keeps the failure log quiet between changes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/route/rtnl.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "ctrl_int.h"

static char *dup_or(const char *value, const char *fallback)
{
	char *copy = strdup(value ? value : fallback);

	if (!copy)
		abort();
	return copy;
}

json_t *ctrl_fail(struct ctrl *ctrl, const char *controller, const char *object,
		  const char *fmt, ...)
{
	char reason[512], key[256];
	const char *before;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(key, sizeof(key), "%s: %s", controller, object);
	before = json_string_value(json_object_get(ctrl->errors, key));
	if (!before || strcmp(before, reason) != 0)
		fprintf(stderr, "cairnd: %s: %s\n", key, reason);
	json_object_set_new(ctrl->errors_next, key, json_string(reason));
	ctrl->failed = true;
	return json_string(reason);
}

void ctrl_changed(struct ctrl *ctrl, const char *controller, const char *object,
		  const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cairnd: %s: %s: %s\n", controller, object, what);
	ctrl->changes++;
}

void ctrl_save_owned(struct ctrl *ctrl)
{
	char *text = json_dumps(ctrl->owned, JSON_SORT_KEYS | JSON_INDENT(1));

	if (!text || fileio_write_if_changed(ctrl->state_path, text, 0600) < 0)
		json_decref(ctrl_fail(ctrl, "state", ctrl->state_path, "cannot write: %s",
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

static int open_epoll(struct ctrl *ctrl)
{
	struct epoll_event ev = { .events = EPOLLIN };

	ctrl->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (ctrl->epoll_fd < 0)
		return -1;
	ev.data.fd = nl_socket_get_fd(ctrl->events);
	if (epoll_ctl(ctrl->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -1;
	ev.data.fd = ctrl->inotify_fd;
	return epoll_ctl(ctrl->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
}

static int open_inotify(struct ctrl *ctrl)
{
	if (fileio_mkdirs(ctrl->dhcp_dir, 0755) < 0) {
		fprintf(stderr, "cairnd: ctrl: %s: cannot create: %s\n", ctrl->dhcp_dir,
			strerror(errno));
		return -1;
	}
	ctrl->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ctrl->inotify_fd < 0 ||
	    inotify_add_watch(ctrl->inotify_fd, ctrl->dhcp_dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
		fprintf(stderr, "cairnd: ctrl: %s: cannot watch: %s\n", ctrl->dhcp_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void init_paths(struct ctrl *ctrl, const struct ctrl_env *env)
{
	ctrl->run_dir = dup_or(env ? env->run_dir : NULL, "/run/cairn");
	ctrl->services_dir = dup_or(env ? env->services_dir : NULL, "/run/cairn/services");
	ctrl->init_socket = dup_or(env ? env->init_socket : NULL, "/run/cairn/init.sock");
	ctrl->proc_sys = dup_or(env ? env->proc_sys : NULL, "/proc/sys");
	ctrl->modprobe = dup_or(env ? env->modprobe : NULL, "/sbin/modprobe");
	ctrl->set_hostname = env ? env->set_hostname : false;
	ctrl->etc_dir = path_join(ctrl->run_dir, "etc");
	ctrl->dhcp_dir = path_join(ctrl->run_dir, "dhcp");
	ctrl->state_path = path_join(ctrl->run_dir, "cairnd/owned.json");
}

struct ctrl *ctrl_open(const struct ctrl_env *env)
{
	struct ctrl *ctrl = calloc(1, sizeof(*ctrl));
	int err;

	if (!ctrl)
		return NULL;
	ctrl->inotify_fd = ctrl->epoll_fd = -1;
	init_paths(ctrl, env);
	ctrl->errors = json_object();
	ctrl->errors_next = json_object();
	ctrl->modules_done = json_object();
	ctrl->sysctls_read = json_object();
	load_owned(ctrl);
	ctrl->sock = nl_socket_alloc();
	err = ctrl->sock ? nl_connect(ctrl->sock, NETLINK_ROUTE) : -NLE_NOMEM;
	if (err >= 0)
		err = open_events(ctrl);
	if (err < 0) {
		fprintf(stderr, "cairnd: ctrl: netlink: cannot open: %s\n", nl_geterror(err));
		ctrl_close(ctrl);
		return NULL;
	}
	if (open_inotify(ctrl) < 0) {
		ctrl_close(ctrl);
		return NULL;
	}
	if (open_epoll(ctrl) < 0) {
		fprintf(stderr, "cairnd: ctrl: epoll: %s\n", strerror(errno));
		ctrl_close(ctrl);
		return NULL;
	}
	return ctrl;
}

void ctrl_close(struct ctrl *ctrl)
{
	if (!ctrl)
		return;
	if (ctrl->epoll_fd >= 0)
		close(ctrl->epoll_fd);
	if (ctrl->inotify_fd >= 0)
		close(ctrl->inotify_fd);
	nl_socket_free(ctrl->events);
	nl_socket_free(ctrl->sock);
	json_decref(ctrl->owned);
	json_decref(ctrl->errors);
	json_decref(ctrl->errors_next);
	json_decref(ctrl->modules_done);
	json_decref(ctrl->sysctls_read);
	free(ctrl->run_dir);
	free(ctrl->services_dir);
	free(ctrl->init_socket);
	free(ctrl->proc_sys);
	free(ctrl->modprobe);
	free(ctrl->etc_dir);
	free(ctrl->dhcp_dir);
	free(ctrl->state_path);
	free(ctrl);
}

int ctrl_fd(struct ctrl *ctrl)
{
	return ctrl->epoll_fd;
}

/* Empties the netlink and inotify queues: the pass reads the state itself. */
static void drain(struct ctrl *ctrl)
{
	char buf[16384];
	int fd = nl_socket_get_fd(ctrl->events);

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 || errno == ENOBUFS)
		;
	while (read(ctrl->inotify_fd, buf, sizeof(buf)) > 0)
		;
}

static void end_pass(struct ctrl *ctrl)
{
	if (ctrl->services_changed)
		ctrl_rescan(ctrl);
	json_decref(ctrl->errors);
	ctrl->errors = ctrl->errors_next;
	ctrl->errors_next = json_object();
	if (ctrl->links)
		nl_cache_free(ctrl->links);
	ctrl->links = NULL;
	json_decref(ctrl->leases);
	json_decref(ctrl->desired);
	json_decref(ctrl->link_errors);
	ctrl->leases = ctrl->desired = ctrl->link_errors = NULL;
}

int ctrl_reconcile(struct ctrl *ctrl, const json_t *config)
{
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;

	drain(ctrl);
	ctrl->changes = 0;
	ctrl->failed = false;
	ctrl->services_changed = false;
	ctrl->spec = machine ? json_object_get(machine, "spec") : NULL;
	ctrl_modules(ctrl);
	ctrl_links(ctrl);
	ctrl_sysctls(ctrl);
	ctrl_dhcp(ctrl);
	ctrl_addresses(ctrl);
	ctrl_routes(ctrl);
	ctrl_links_publish(ctrl);
	ctrl_resolvers(ctrl);
	ctrl_hostname(ctrl);
	ctrl_time(ctrl);
	ctrl_libvirtd(ctrl);
	end_pass(ctrl);
	return ctrl->failed ? -1 : ctrl->changes;
}
