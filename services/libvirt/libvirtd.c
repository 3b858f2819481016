/* libvirtd.c - the libvirtd controller: a configured node (one with a MachineConfig) runs
 * libvirtd as a supervised, co-managed service for tools that expect libvirt, with its
 * sockets in the standard places (/run/libvirt). Cairn itself drives QEMU over QMP and never
 * goes through libvirt. The service is ready once `virsh -c qemu:///system version` answers,
 * so `get services` showing it ready means virsh works on the node. A node in maintenance mode
 * runs no libvirtd. Its settings are the image's /etc/libvirt (rootfs/overlay/etc/libvirt). */
#include "config.h"
#include "libvirt.h"

#define LIBVIRTD_SERVICE \
	"# rendered by cairnd: libvirt for tools that expect it (Cairn drives QEMU over QMP)\n" \
	"command = /usr/sbin/libvirtd\n" \
	"ready = exec:/usr/bin/virsh -q -c qemu:///system version\n" \
	"restart = always\n" \
	"restart_delay = 1s\n" \
	"restart_delay_max = 30s\n" \
	"stop_timeout = 15s\n"

void *libvirtd_init(const struct controller_env *env)
{
	static int stateless;

	(void)env;
	return &stateless;
}

int libvirtd_reconcile(void *state, const json_t *config, struct ctrl_report *report)
{
	(void)state;
	if (config && config_find(config, "MachineConfig", NULL))
		return ctrl_service_write(report, "libvirtd", LIBVIRTD_SERVICE);
	ctrl_service_remove(report, "libvirtd");
	return 0;
}
