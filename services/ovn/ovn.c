/* ovn.c - the ovn controller: on a node whose MachineConfig has `ovn`, Open vSwitch and OVN
 * run as supervised foreground services with their run and database folders under
 * /run/cairn/ovn and /var/lib/cairn/ovn; the chassis settings go into the local Open_vSwitch
 * database through lib/ovsdb; on the central node the NB database is reconciled from the
 * Network kind (nb.c). Publishes the resources networks, chassis and ports. A node without
 * `ovn` runs none of it. See README.md ("Wiring"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "controller.h"
#include "nb.h"
#include "ovn.h"
#include "ovsdb.h"
#include "resources.h"

#define OVN_RUN "/run/cairn/ovn"
#define OVN_DB_DIR "/var/lib/cairn/ovn"
#define OVN_LOCAL_SOCK OVN_RUN "/db.sock"
#define OVN_NB_SOCK OVN_RUN "/ovnnb_db.sock"
#define OVN_SB_SOCK OVN_RUN "/ovnsb_db.sock"
#define OVN_TIMEOUT_MS 5000
#define OVN_CONNECT_MS 1000

static const char *const ovn_service_names[] = {
	"ovn-ovsdb-local", "ovn-vswitchd", "ovn-controller", "ovn-nb", "ovn-sb", "ovn-northd", NULL,
};

struct ovn_state {
	const struct controller_env *env;
	struct ovsdb *local, *nb, *sb;
	struct ovsdb_cache *local_cache, *nb_cache, *sb_cache;
	uint64_t nb_seqno;            /* NB cache seqno after our last pass */
	char nb_error[1024];
};

/* The environment every OVS/OVN daemon gets: all their default folders point to Cairn's. */
#define OVN_ENV \
	"env = OVS_RUNDIR=" OVN_RUN "\n" \
	"env = OVS_DBDIR=" OVN_DB_DIR "\n" \
	"env = OVS_LOGDIR=" OVN_RUN "\n" \
	"env = OVN_RUNDIR=" OVN_RUN "\n" \
	"env = OVN_DBDIR=" OVN_DB_DIR "\n" \
	"env = OVN_LOGDIR=" OVN_RUN "\n" \
	"restart = always\n" \
	"restart_delay = 1s\n" \
	"restart_delay_max = 15s\n" \
	"stop_timeout = 10s\n"
#define OVN_LOG "-vconsole:info -vsyslog:off -vfile:off"
/* Makes the folders and, when missing, the database DB from SCHEMA, then runs ovsdb-server. */
#define OVSDB_PREP(db, schema) \
	"mkdir -p " OVN_RUN " " OVN_DB_DIR " && { [ -e " OVN_DB_DIR "/" db " ] || " \
	"/usr/bin/ovsdb-tool create " OVN_DB_DIR "/" db " " schema "; } && exec /usr/sbin/ovsdb-server "

static const char local_db_service[] =
	"# rendered by cairnd: the node's Open_vSwitch database\n"
	"command = /bin/sh -c '" OVSDB_PREP("conf.db", "/usr/share/openvswitch/vswitch.ovsschema")
	OVN_DB_DIR "/conf.db --remote=punix:" OVN_LOCAL_SOCK
	" --unixctl=" OVN_RUN "/ovsdb-server.ctl " OVN_LOG "'\n"
	"ready = socket:" OVN_LOCAL_SOCK "\n" OVN_ENV;

static int render_vswitchd(const struct controller_env *env, char **out)
{
	return asprintf(out,
		"# rendered by cairnd: Open vSwitch on the kernel datapath\n"
		"command = /bin/sh -c '%s openvswitch && exec /usr/lib/openvswitch-switch/ovs-vswitchd "
		"unix:" OVN_LOCAL_SOCK " --unixctl=" OVN_RUN "/ovs-vswitchd.ctl " OVN_LOG "'\n"
		"needs = ovn-ovsdb-local\n"
		"ready = socket:" OVN_RUN "/ovs-vswitchd.ctl\n" OVN_ENV,
		env->modprobe ? env->modprobe : "/sbin/modprobe");
}

static const char controller_service[] =
	"# rendered by cairnd: the OVN chassis (br-int's flows from the SB database)\n"
	"command = /usr/bin/ovn-controller unix:" OVN_LOCAL_SOCK " --unixctl=" OVN_RUN
	"/ovn-controller.ctl " OVN_LOG "\n"
	"needs = ovn-ovsdb-local ovn-vswitchd\n"
	"ready = socket:" OVN_RUN "/ovn-controller.ctl\n" OVN_ENV;

static int render_central_db(const char *which, const char *address, int port, char **out)
{
	return asprintf(out,
		"# rendered by cairnd: OVN's %s database (central node)\n"
		"command = /bin/sh -c '" OVSDB_PREP("ovn%s_db.db", "/usr/share/ovn/ovn-%s.ovsschema")
		OVN_DB_DIR "/ovn%s_db.db --remote=punix:" OVN_RUN "/ovn%s_db.sock --remote=ptcp:%d:%s"
		" --unixctl=" OVN_RUN "/ovn%s_db.ctl " OVN_LOG "'\n"
		"ready = socket:" OVN_RUN "/ovn%s_db.sock\n" OVN_ENV,
		which[0] == 'n' ? "Northbound" : "Southbound", which, which, which, which, which,
		port, address, which, which);
}

static const char northd_service[] =
	"# rendered by cairnd: OVN's translation of NB into SB (central node)\n"
	"command = /usr/bin/ovn-northd --ovnnb-db=unix:" OVN_NB_SOCK " --ovnsb-db=unix:" OVN_SB_SOCK
	" --unixctl=" OVN_RUN "/ovn-northd.ctl " OVN_LOG "\n"
	"needs = ovn-nb ovn-sb\n"
	"ready = socket:" OVN_RUN "/ovn-northd.ctl\n" OVN_ENV;

void *ovn_init(const struct controller_env *env)
{
	struct ovn_state *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->env = env;
	return s;
}

static void drop(struct ovsdb **c, struct ovsdb_cache **cache)
{
	ovsdb_close(*c);
	*c = NULL;
	*cache = NULL;
}

void ovn_halt(void *state)
{
	struct ovn_state *s = state;

	if (!s)
		return;
	drop(&s->local, &s->local_cache);
	drop(&s->nb, &s->nb_cache);
	drop(&s->sb, &s->sb_cache);
	free(s);
}

int ovn_fd(void *state)
{
	struct ovn_state *s = state;

	if (s->nb && ovsdb_state(s->nb) == OVSDB_STATE_READY)
		return ovsdb_fd(s->nb);
	if (s->sb && ovsdb_state(s->sb) == OVSDB_STATE_READY)
		return ovsdb_fd(s->sb);
	return -1;
}

/* Keeps *C connected to REMOTE with a monitor of TABLES: connects (a socket that is not there
 * yet is not an error: the service is starting), reads what arrived, reconnects after a
 * break. 0 when the cache is usable; -1 with ERR otherwise. */
static int keep(struct ovsdb **c, struct ovsdb_cache **cache, const char *remote, const char *db,
		const struct ovsdb_monitor_table *tables, size_t count, struct ovsdb_error *err)
{
	if (*c && ovsdb_state(*c) == OVSDB_STATE_READY &&
	    ovsdb_dispatch(*c, 0, err) < 0 && ovsdb_state(*c) != OVSDB_STATE_READY)
		ovsdb_reconnect(*c, OVN_CONNECT_MS, err);
	else if (*c && ovsdb_state(*c) != OVSDB_STATE_READY)
		ovsdb_reconnect(*c, OVN_CONNECT_MS, err);
	if (*c && ovsdb_state(*c) == OVSDB_STATE_READY)
		return 0;
	if (*c)
		return -1;
	*c = ovsdb_connect(remote, OVN_CONNECT_MS, err);
	if (!*c)
		return -1;
	*cache = ovsdb_monitor(*c, db, tables, count, err, OVN_TIMEOUT_MS);
	if (!*cache) {
		drop(c, cache);
		return -1;
	}
	return 0;
}

/* The chassis settings this node wants in Open_vSwitch's external_ids: KEY, VALUE pairs. */
static void chassis_settings(const json_t *ovn, const char *hostname, const char *central_ip,
			     char kv[5][2][512])
{
	const char *address = json_string_value(json_object_get(ovn, "address"));
	const json_t *maps = json_object_get(ovn, "bridgeMappings");
	const char *name;
	const json_t *bridge;
	size_t used = 0;

	snprintf(kv[0][0], 512, "system-id");
	snprintf(kv[0][1], 512, "%s", hostname);
	snprintf(kv[1][0], 512, "ovn-remote");
	snprintf(kv[1][1], 512, "tcp:%s:6642", central_ip);
	snprintf(kv[2][0], 512, "ovn-encap-type");
	snprintf(kv[2][1], 512, "geneve");
	snprintf(kv[3][0], 512, "ovn-encap-ip");
	snprintf(kv[3][1], 512, "%s", address ? address : "");
	snprintf(kv[4][0], 512, "ovn-bridge-mappings");
	kv[4][1][0] = '\0';
	json_object_foreach((json_t *)maps, name, bridge) {
		int n = snprintf(kv[4][1] + used, 512 - used, "%s%s:%s", used ? "," : "", name,
				 json_string_value(bridge));
		if (n < 0 || (size_t)n >= 512 - used)
			break;
		used += (size_t)n;
	}
}

/* Puts the chassis settings into the local Open_vSwitch row (inserting the row into a new
 * database: ovs-vswitchd waits for it). Only keys that differ are written. */
static int set_chassis(struct ovn_state *s, struct ctrl_report *report, const json_t *ovn,
		       const char *hostname, const char *central_ip)
{
	static const char *const columns[] = { "external_ids", NULL };
	static const struct ovsdb_monitor_table tables[] = { { "Open_vSwitch", columns } };
	struct ovsdb_error err;
	struct ovsdb_rows it;
	struct ovsdb_row row;
	char kv[5][2][512];
	bool have = false;
	json_t *keys, *pairs;
	unsigned changed = 0;

	if (keep(&s->local, &s->local_cache, "unix:" OVN_LOCAL_SOCK, "Open_vSwitch", tables, 1,
		 &err) < 0)
		return -1; /* ovsdb-server not up yet: the next pass tries again */
	chassis_settings(ovn, hostname, central_ip, kv);
	ovsdb_rows_init(&it, s->local_cache, "Open_vSwitch");
	have = ovsdb_rows_next(&it, &row);
	keys = json_array();
	pairs = json_array();
	for (size_t i = 0; i < 5; i++) {
		const char *now = have ? ovsdb_row_map_string(&row, "external_ids", kv[i][0]) : NULL;
		if (!kv[i][1][0] && !now)
			continue;
		if (now && strcmp(now, kv[i][1]) == 0)
			continue;
		json_array_append_new(keys, json_string(kv[i][0]));
		if (kv[i][1][0])
			json_array_append_new(pairs, json_pack("[ss]", kv[i][0], kv[i][1]));
		changed++;
	}
	if (have && !changed) {
		json_decref(keys);
		json_decref(pairs);
		return 0;
	}
	struct ovsdb_txn *t = ovsdb_txn_new("Open_vSwitch");
	if (!have) {
		json_decref(keys);
		ovsdb_txn_insert(t, "Open_vSwitch", json_pack("{s:o}", "external_ids", ovsdb_map(pairs)),
				 NULL);
	} else {
		ovsdb_txn_mutate(t, "Open_vSwitch", json_array(),
				 json_pack("[oo]", ovsdb_mutation("external_ids", "delete", ovsdb_set(keys)),
					   ovsdb_mutation("external_ids", "insert", ovsdb_map(pairs))));
	}
	int rc = ovsdb_transact(s->local, t, &err, OVN_TIMEOUT_MS);
	ovsdb_txn_free(t);
	if (rc < 0) {
		ctrl_fail(report, "chassis", "%s", err.message);
		return -1;
	}
	ctrl_changed(report, "chassis", "%u Open_vSwitch external_ids set (system-id %s, ovn-remote tcp:%s:6642)",
		     have ? changed : 5, hostname, central_ip);
	return 1;
}

static void publish_status(struct ovn_state *s, const json_t *config)
{
	json_t *networks = json_array(), *chassis = json_array(), *ports = json_array();
	size_t i;
	const json_t *doc;
	struct ovsdb_rows it;
	struct ovsdb_row row;

	json_array_foreach((json_t *)config, i, doc) {
		if (!json_is_string(json_object_get(doc, "kind")) ||
		    strcmp(json_string_value(json_object_get(doc, "kind")), "Network") != 0)
			continue;
		const json_t *spec = json_object_get(doc, "spec");
		const char *name = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
		char sw[OVN_NB_NAME_MAX + 16];
		struct ovsdb_row lsw;
		bool present = false;
		size_t nports = 0;
		snprintf(sw, sizeof sw, "cairn_net_%s", name ? name : "");
		if (s->nb_cache && ovsdb_cache_find(s->nb_cache, "Logical_Switch", "name", sw, &lsw)) {
			present = true;
			nports = ovsdb_datum_set_size(ovsdb_row_get(&lsw, "ports"));
		}
		json_t *item = json_pack("{s:s?, s:O?, s:O?, s:b, s:I}", "id", name,
					 "cidr", json_object_get(spec, "cidr"),
					 "gateway", json_object_get(spec, "gateway"),
					 "in_nb", present, "ports", (json_int_t)nports);
		if (item && s->nb_error[0])
			json_object_set_new(item, "error", json_string(s->nb_error));
		if (item)
			json_array_append_new(networks, item);
	}
	if (s->sb_cache) {
		ovsdb_rows_init(&it, s->sb_cache, "Chassis");
		while (ovsdb_rows_next(&it, &row)) {
			const json_t *encaps = ovsdb_row_get(&row, "encaps");
			const char *ip = NULL, *type = NULL;
			struct ovsdb_row encap;
			if (ovsdb_datum_set_size(encaps) > 0 &&
			    ovsdb_cache_get(s->sb_cache, "Encap",
					    ovsdb_datum_uuid(ovsdb_datum_set_at(encaps, 0)), &encap)) {
				ip = ovsdb_row_string(&encap, "ip");
				type = ovsdb_row_string(&encap, "type");
			}
			json_t *item = json_pack("{s:s?, s:s?, s:s?, s:s?}", "id", ovsdb_row_string(&row, "name"),
						 "hostname", ovsdb_row_string(&row, "hostname"),
						 "encap", type, "encap_ip", ip);
			if (item)
				json_array_append_new(chassis, item);
		}
		ovsdb_rows_init(&it, s->sb_cache, "Port_Binding");
		while (ovsdb_rows_next(&it, &row)) {
			const char *lport = ovsdb_row_string(&row, "logical_port");
			const char *chassis_uuid = ovsdb_datum_uuid(ovsdb_row_get(&row, "chassis"));
			const char *on = NULL, *vm = ovsdb_row_map_string(&row, "external_ids", "cairn:vm");
			struct ovsdb_row ch;
			bool up = false;
			if (!lport || strncmp(lport, "cairn_", 6) != 0)
				continue;
			if (chassis_uuid && ovsdb_cache_get(s->sb_cache, "Chassis", chassis_uuid, &ch))
				on = ovsdb_row_string(&ch, "name");
			ovsdb_datum_boolean(ovsdb_row_get(&row, "up"), &up);
			json_t *item = json_pack("{s:s, s:s?, s:s?, s:s?, s:b}", "id", lport,
						 "type", ovsdb_row_string(&row, "type"), "vm", vm,
						 "chassis", on, "up", up);
			if (item)
				json_array_append_new(ports, item);
		}
	}
	resources_publish("networks", networks);
	resources_publish("chassis", chassis);
	resources_publish("ports", ports);
}

int ovn_reconcile(void *state, const json_t *config, struct ctrl_report *report)
{
	static const char *const chassis_columns[] = { "name", "hostname", "encaps", NULL };
	static const char *const encap_columns[] = { "ip", "type", NULL };
	static const char *const binding_columns[] = { "logical_port", "type", "chassis", "up",
						       "external_ids", NULL };
	static const struct ovsdb_monitor_table sb_tables[] = {
		{ "Chassis", chassis_columns },
		{ "Encap", encap_columns },
		{ "Port_Binding", binding_columns },
	};
	struct ovn_state *s = state;
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;
	const json_t *spec = json_object_get(machine, "spec");
	const json_t *ovn = json_object_get(spec, "ovn");
	struct ovsdb_error err;
	int changes = 0;
	bool failed = false;

	if (!ovn) {
		for (size_t i = 0; ovn_service_names[i]; i++)
			ctrl_service_remove(report, ovn_service_names[i]);
		drop(&s->local, &s->local_cache);
		drop(&s->nb, &s->nb_cache);
		drop(&s->sb, &s->sb_cache);
		resources_publish("networks", json_array());
		resources_publish("chassis", json_array());
		resources_publish("ports", json_array());
		return 0;
	}
	bool central = json_is_true(json_object_get(ovn, "central"));
	const char *address = json_string_value(json_object_get(ovn, "address"));
	const char *central_ip = central ? address :
		json_string_value(json_object_get(ovn, "centralAddress"));
	char hostname[256] = "", *text = NULL;
	const char *configured = json_string_value(json_object_get(spec, "hostname"));

	if (configured)
		snprintf(hostname, sizeof hostname, "%s", configured);
	else if (gethostname(hostname, sizeof hostname - 1) < 0)
		snprintf(hostname, sizeof hostname, "localhost");

	/* services */
	if (ctrl_service_write(report, "ovn-ovsdb-local", local_db_service) < 0)
		failed = true;
	if (render_vswitchd(s->env, &text) < 0 || ctrl_service_write(report, "ovn-vswitchd", text) < 0)
		failed = true;
	free(text);
	text = NULL;
	if (ctrl_service_write(report, "ovn-controller", controller_service) < 0)
		failed = true;
	if (central) {
		if (render_central_db("nb", address, 6641, &text) < 0 ||
		    ctrl_service_write(report, "ovn-nb", text) < 0)
			failed = true;
		free(text);
		text = NULL;
		if (render_central_db("sb", address, 6642, &text) < 0 ||
		    ctrl_service_write(report, "ovn-sb", text) < 0)
			failed = true;
		free(text);
		text = NULL;
		if (ctrl_service_write(report, "ovn-northd", northd_service) < 0)
			failed = true;
	} else {
		ctrl_service_remove(report, "ovn-nb");
		ctrl_service_remove(report, "ovn-sb");
		ctrl_service_remove(report, "ovn-northd");
		drop(&s->nb, &s->nb_cache);
	}

	/* chassis settings in the local Open_vSwitch database */
	int rc = set_chassis(s, report, ovn, hostname, central_ip);
	if (rc > 0)
		changes++;

	/* NB: the central node reconciles the Network kind */
	if (central) {
		if (!s->nb) {
			s->nb = ovsdb_connect("unix:" OVN_NB_SOCK, OVN_CONNECT_MS, &err);
			if (s->nb && !(s->nb_cache = ovn_nb_monitor(s->nb, &err, OVN_TIMEOUT_MS)))
				drop(&s->nb, &s->nb_cache);
		} else if (ovsdb_state(s->nb) != OVSDB_STATE_READY) {
			ovsdb_reconnect(s->nb, OVN_CONNECT_MS, &err);
		} else {
			ovsdb_dispatch(s->nb, 0, &err);
		}
		if (s->nb && ovsdb_state(s->nb) == OVSDB_STATE_READY) {
			struct ovn_nb_result r;
			int ops = ovn_nb_reconcile(s->nb, s->nb_cache, config, OVN_TIMEOUT_MS, &r);
			if (ops < 0) {
				snprintf(s->nb_error, sizeof s->nb_error, "%s", r.error);
				ctrl_fail(report, "northbound", "%s", r.error);
				failed = true;
			} else {
				s->nb_error[0] = '\0';
				if (ops > 0) {
					ctrl_changed(report, "northbound", "%u inserts, %u updates, %u deletes, %u mutates",
						     r.inserts, r.updates, r.deletes, r.mutates);
					changes++;
				}
			}
		}
	}

	/* SB: status */
	char sb_remote[64];
	if (central)
		snprintf(sb_remote, sizeof sb_remote, "unix:" OVN_SB_SOCK);
	else
		snprintf(sb_remote, sizeof sb_remote, "tcp:%s:6642", central_ip ? central_ip : "0.0.0.0");
	keep(&s->sb, &s->sb_cache, sb_remote, "OVN_Southbound", sb_tables, 3, &err);
	publish_status(s, config);
	ctrl_account(report, 0, failed);
	return failed ? -1 : changes;
}
