/* ovn.c - the ovn controller: on a node whose MachineConfig has `ovn`, Open vSwitch and OVN
 * run as supervised foreground services with their run and database folders under
 * /run/cairn/ovn and /var/lib/cairn/ovn; the chassis settings go into the local Open_vSwitch
 * database through lib/ovsdb; on the central node the NB database is reconciled from the
 * Network kind (nb.c). Publishes the resources networks, chassis and ports. A node without
 * `ovn` runs none of it. See README.md ("Wiring"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
#define OVN_USER "cairn-ovn"    /* the databases and northd: they parse what peers send */
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
/* The database servers and northd run as OVN_USER, with no way back to privileges. */
#define OVN_UNPRIVILEGED "user = " OVN_USER "\nno_new_privs = yes\n"
/* Makes the folders and, when missing, the database DB from SCHEMA, then runs ovsdb-server. */
#define OVSDB_PREP(db, schema) \
	"mkdir -p " OVN_RUN " " OVN_DB_DIR " && { [ -e " OVN_DB_DIR "/" db " ] || " \
	"/usr/bin/ovsdb-tool create " OVN_DB_DIR "/" db " " schema "; } && exec /usr/sbin/ovsdb-server "

static const char local_db_service[] =
	"# rendered by cairnd: the node's Open_vSwitch database\n"
	"command = /bin/sh -c '" OVSDB_PREP("conf.db", "/usr/share/openvswitch/vswitch.ovsschema")
	OVN_DB_DIR "/conf.db --remote=punix:" OVN_LOCAL_SOCK
	" --unixctl=" OVN_RUN "/ovsdb-server.ctl " OVN_LOG "'\n"
	"ready = socket:" OVN_LOCAL_SOCK "\n" OVN_UNPRIVILEGED OVN_ENV;

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
		"ready = socket:" OVN_RUN "/ovn%s_db.sock\n" OVN_UNPRIVILEGED OVN_ENV,
		which[0] == 'n' ? "Northbound" : "Southbound", which, which, which, which, which,
		port, address, which, which);
}

static const char northd_service[] =
	"# rendered by cairnd: OVN's translation of NB into SB (central node)\n"
	"command = /usr/bin/ovn-northd --ovnnb-db=unix:" OVN_NB_SOCK " --ovnsb-db=unix:" OVN_SB_SOCK
	" --unixctl=" OVN_RUN "/ovn-northd.ctl " OVN_LOG "\n"
	"needs = ovn-nb ovn-sb\n"
	"ready = socket:" OVN_RUN "/ovn-northd.ctl\n" OVN_UNPRIVILEGED OVN_ENV;

/* The run and database folders, made by cairnd (root) and given to OVN_USER, with what is in
 * them (a database made by root before keeps working). */
static int prepare_folders(struct ctrl_report *report)
{
	static const char *const folders[] = { "/run/cairn", OVN_RUN, "/var/lib/cairn", OVN_DB_DIR };
	const struct passwd *pw = getpwnam(OVN_USER);
	uid_t uid;
	gid_t gid;

	if (!pw) {
		ctrl_fail(report, "folders", "no user %s in /etc/passwd: the OVN databases would run as "
			  "root; not starting them", OVN_USER);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++)
		if (mkdir(folders[i], 0755) < 0 && errno != EEXIST) {
			ctrl_fail(report, "folders", "mkdir %s: %s", folders[i], strerror(errno));
			return -1;
		}
	for (size_t i = 1; i < sizeof folders / sizeof folders[0]; i += 2) {
		DIR *dir = opendir(folders[i]);
		struct dirent *entry;
		struct stat st;
		if (stat(folders[i], &st) == 0 && (st.st_uid != uid || st.st_gid != gid) &&
		    chown(folders[i], uid, gid) < 0) {
			ctrl_fail(report, "folders", "chown %s: %s", folders[i], strerror(errno));
			if (dir)
				closedir(dir);
			return -1;
		}
		while (dir && (entry = readdir(dir))) {
			if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0 ||
			    fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			/* the root daemons' control sockets stay theirs */
			if (!S_ISREG(st.st_mode) || (st.st_uid == uid && st.st_gid == gid))
				continue;
			if (fchownat(dirfd(dir), entry->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
				ctrl_fail(report, "folders", "chown %s/%s: %s", folders[i], entry->d_name,
					  strerror(errno));
		}
		if (dir)
			closedir(dir);
	}
	return 0;
}

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

#define CHASSIS_KEYS 6
#define GATEWAY_OPTION "enable-chassis-as-gw"

/* The chassis settings this node wants in Open_vSwitch's external_ids: KEY, VALUE pairs (an
 * empty VALUE: the key should be absent). */
static void chassis_settings(const json_t *ovn, const char *hostname, const char *central_ip,
			     char kv[CHASSIS_KEYS][2][512])
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
	snprintf(kv[5][0], 512, "ovn-cms-options");
	snprintf(kv[5][1], 512, "%s", json_is_true(json_object_get(ovn, "gateway")) ? GATEWAY_OPTION : "");
}

/* Whether bridge BRIDGE's ports hold one named NAME; its uuid into UUID. */
static bool bridge_port(const struct ovsdb_cache *cache, const struct ovsdb_row *bridge,
			const char *name, char uuid[37])
{
	const json_t *ports = ovsdb_row_get(bridge, "ports");
	struct ovsdb_row port;

	for (size_t i = 0; i < ovsdb_datum_set_size(ports); i++) {
		const char *id = ovsdb_datum_uuid(ovsdb_datum_set_at(ports, i));
		if (id && ovsdb_cache_get(cache, "Port", id, &port) &&
		    strcmp(ovsdb_row_string(&port, "name") ? ovsdb_row_string(&port, "name") : "", name) == 0) {
			snprintf(uuid, 37, "%s", id);
			return true;
		}
	}
	return false;
}

static bool owned_by_cairn(const struct ovsdb_row *row)
{
	const char *owner = ovsdb_row_map_string(row, "external_ids", OVN_NB_OWNER_KEY);
	return owner && strcmp(owner, OVN_NB_OWNER) == 0;
}

/* Adds to T a port NAME (one interface, TYPE "" for a NIC or "internal") whose uuid-name is
 * TAG, marked as Cairn's. */
static void add_port(struct ovsdb_txn *t, const char *name, const char *type, const char *tag)
{
	char iface[48];

	snprintf(iface, sizeof iface, "%s_i", tag);
	ovsdb_txn_insert(t, "Interface", json_pack("{s:s, s:s}", "name", name, "type", type), iface);
	ovsdb_txn_insert(t, "Port", json_pack("{s:s, s:o, s:o}", "name", name, "interfaces",
					     ovsdb_named_uuid(iface), "external_ids",
					     ovsdb_string_map(OVN_NB_OWNER_KEY, OVN_NB_OWNER, NULL)), tag);
}

/* The bridges of ovn.bridgeMappings, each with its internal port and its uplink NIC
 * (ovn.bridgePorts), into T (nothing when they are as wanted); Cairn's bridges no longer named
 * leave. Returns the number of bridges changed. */
static unsigned plan_bridges(const struct ovsdb_cache *cache, const json_t *ovn, struct ovsdb_txn *t)
{
	const json_t *mappings = json_object_get(ovn, "bridgeMappings");
	const json_t *uplinks = json_object_get(ovn, "bridgePorts");
	json_t *add = json_array(), *drop = json_array();
	const char *physical, *bridge_name;
	const json_t *value;
	struct ovsdb_rows it;
	struct ovsdb_row row;
	unsigned changed = 0, n = 0;

	json_object_foreach((json_t *)mappings, physical, value) {
		const char *bridge = json_string_value(value);
		const char *nic = json_string_value(json_object_get(uplinks, bridge));
		char tag[32], uplink_tag[32], uuid[37];
		n++;
		snprintf(tag, sizeof tag, "port%u", n);
		snprintf(uplink_tag, sizeof uplink_tag, "uplink%u", n);
		if (!bridge)
			continue;
		if (!ovsdb_cache_find(cache, "Bridge", "name", bridge, &row)) {
			char bridge_tag[32];
			json_t *ports = json_pack("[o]", ovsdb_named_uuid(tag));
			snprintf(bridge_tag, sizeof bridge_tag, "bridge%u", n);
			add_port(t, bridge, "internal", tag);
			if (nic) {
				add_port(t, nic, "", uplink_tag);
				json_array_append_new(ports, ovsdb_named_uuid(uplink_tag));
			}
			ovsdb_txn_insert(t, "Bridge", json_pack("{s:s, s:o, s:o}", "name", bridge, "ports",
				ovsdb_set(ports), "external_ids",
				ovsdb_string_map(OVN_NB_OWNER_KEY, OVN_NB_OWNER, "cairn:physical-network",
						 physical, NULL)), bridge_tag);
			json_array_append_new(add, ovsdb_named_uuid(bridge_tag));
			changed++;
			continue;
		}
		/* the bridge is there: its uplink, and no other uplink of Cairn's */
		json_t *in = json_array(), *out = json_array();
		const json_t *ports = ovsdb_row_get(&row, "ports");
		if (nic && !bridge_port(cache, &row, nic, uuid)) {
			add_port(t, nic, "", uplink_tag);
			json_array_append_new(in, ovsdb_named_uuid(uplink_tag));
		}
		for (size_t i = 0; i < ovsdb_datum_set_size(ports); i++) {
			const char *id = ovsdb_datum_uuid(ovsdb_datum_set_at(ports, i));
			struct ovsdb_row port;
			const char *name;
			if (!id || !ovsdb_cache_get(cache, "Port", id, &port) || !owned_by_cairn(&port))
				continue;
			name = ovsdb_row_string(&port, "name");
			if (name && strcmp(name, bridge) != 0 && (!nic || strcmp(name, nic) != 0))
				json_array_append_new(out, ovsdb_uuid(id));
		}
		if (json_array_size(in) || json_array_size(out)) {
			json_t *mutations = json_array();
			if (json_array_size(in))
				json_array_append_new(mutations, ovsdb_mutation("ports", "insert",
								ovsdb_set(json_incref(in))));
			if (json_array_size(out))
				json_array_append_new(mutations, ovsdb_mutation("ports", "delete",
								ovsdb_set(json_incref(out))));
			ovsdb_txn_mutate(t, "Bridge", ovsdb_where_uuid(row.uuid), mutations);
			changed++;
		}
		json_decref(in);
		json_decref(out);
	}
	/* Cairn's bridges that no mapping names any more */
	for (ovsdb_rows_init(&it, cache, "Bridge"); ovsdb_rows_next(&it, &row);) {
		bool wanted = false;
		if (!owned_by_cairn(&row))
			continue;
		json_object_foreach((json_t *)mappings, bridge_name, value)
			wanted = wanted || (json_string_value(value) &&
					    strcmp(json_string_value(value), ovsdb_row_string(&row, "name") ?
						   ovsdb_row_string(&row, "name") : "") == 0);
		if (!wanted) {
			json_array_append_new(drop, ovsdb_uuid(row.uuid));
			changed++;
		}
	}
	if (json_array_size(add) || json_array_size(drop)) {
		json_t *mutations = json_array();
		if (json_array_size(add))
			json_array_append_new(mutations, ovsdb_mutation("bridges", "insert",
							ovsdb_set(json_incref(add))));
		if (json_array_size(drop))
			json_array_append_new(mutations, ovsdb_mutation("bridges", "delete",
							ovsdb_set(json_incref(drop))));
		ovsdb_txn_mutate(t, "Open_vSwitch", json_array(), mutations);
	}
	json_decref(add);
	json_decref(drop);
	return changed;
}

/* Puts the chassis settings into the local Open_vSwitch row (inserting the row into a new
 * database: ovs-vswitchd waits for it) and makes the mapped bridges. Only what differs is
 * written, in one transaction. */
static int set_chassis(struct ovn_state *s, struct ctrl_report *report, const json_t *ovn,
		       const char *hostname, const char *central_ip)
{
	static const char *const ovs_columns[] = { "external_ids", "bridges", NULL };
	static const char *const bridge_columns[] = { "name", "ports", "external_ids", NULL };
	static const char *const port_columns[] = { "name", "external_ids", NULL };
	static const struct ovsdb_monitor_table tables[] = {
		{ "Open_vSwitch", ovs_columns }, { "Bridge", bridge_columns }, { "Port", port_columns },
	};
	struct ovsdb_error err;
	struct ovsdb_rows it;
	struct ovsdb_row row;
	char kv[CHASSIS_KEYS][2][512];
	bool have = false;
	json_t *keys, *pairs;
	unsigned changed = 0, bridges = 0;

	if (keep(&s->local, &s->local_cache, "unix:" OVN_LOCAL_SOCK, "Open_vSwitch", tables, 3,
		 &err) < 0)
		return -1; /* ovsdb-server not up yet: the next pass tries again */
	chassis_settings(ovn, hostname, central_ip, kv);
	ovsdb_rows_init(&it, s->local_cache, "Open_vSwitch");
	have = ovsdb_rows_next(&it, &row);
	keys = json_array();
	pairs = json_array();
	for (size_t i = 0; i < CHASSIS_KEYS; i++) {
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
	struct ovsdb_txn *t = ovsdb_txn_new("Open_vSwitch");
	if (!have) {
		json_decref(keys);
		ovsdb_txn_insert(t, "Open_vSwitch", json_pack("{s:o}", "external_ids", ovsdb_map(pairs)),
				 NULL);
	} else {
		if (changed)
			ovsdb_txn_mutate(t, "Open_vSwitch", json_array(),
					 json_pack("[oo]", ovsdb_mutation("external_ids", "delete", ovsdb_set(keys)),
						   ovsdb_mutation("external_ids", "insert", ovsdb_map(pairs))));
		else {
			json_decref(keys);
			json_decref(pairs);
		}
		bridges = plan_bridges(s->local_cache, ovn, t);
	}
	if (ovsdb_txn_count(t) == 0) {
		ovsdb_txn_free(t);
		return 0;
	}
	int rc = ovsdb_transact(s->local, t, &err, OVN_TIMEOUT_MS);
	ovsdb_txn_free(t);
	if (rc < 0) {
		ctrl_fail(report, "chassis", "%s", err.message);
		return -1;
	}
	ovsdb_echo(s->local, NULL, OVN_TIMEOUT_MS);   /* the cache sees it before the next pass */
	if (!have || changed)
		ctrl_changed(report, "chassis", "%u Open_vSwitch external_ids set (system-id %s, "
			     "ovn-remote tcp:%s:6642)", have ? changed : CHASSIS_KEYS, hostname, central_ip);
	if (bridges)
		ctrl_changed(report, "bridges", "%u bridge(s) of ovn.bridgeMappings made or changed",
			     bridges);
	return 1;
}

/* The names of the SB chassis that offer to host gateway ports (ovn-cms-options holds
 * enable-chassis-as-gw, in other_config since OVN 22.09, in external_ids before). */
static json_t *gateway_chassis(const struct ovsdb_cache *sb)
{
	json_t *names = json_array();
	struct ovsdb_rows it;
	struct ovsdb_row row;

	if (!sb)
		return names;
	for (ovsdb_rows_init(&it, sb, "Chassis"); ovsdb_rows_next(&it, &row);) {
		const char *options = ovsdb_row_map_string(&row, "other_config", "ovn-cms-options");
		const char *name = ovsdb_row_string(&row, "name");
		if (!options)
			options = ovsdb_row_map_string(&row, "external_ids", "ovn-cms-options");
		if (name && options && strstr(options, GATEWAY_OPTION))
			json_array_append_new(names, json_string(name));
	}
	return names;
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
		/* nb_uuid: the switch's row; the same after an NB restart shows the database kept */
		json_t *item = json_pack("{s:s?, s:O?, s:O?, s:b, s:I, s:s?}", "id", name,
					 "cidr", json_object_get(spec, "cidr"),
					 "gateway", json_object_get(spec, "gateway"),
					 "in_nb", present, "ports", (json_int_t)nports,
					 "nb_uuid", present ? lsw.uuid : NULL);
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
			const char *options = ovsdb_row_map_string(&row, "other_config", "ovn-cms-options");
			if (!options)
				options = ovsdb_row_map_string(&row, "external_ids", "ovn-cms-options");
			json_t *item = json_pack("{s:s?, s:s?, s:s?, s:s?, s:b}", "id",
						 ovsdb_row_string(&row, "name"),
						 "hostname", ovsdb_row_string(&row, "hostname"),
						 "encap", type, "encap_ip", ip, "gateway",
						 options && strstr(options, GATEWAY_OPTION));
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
			/* Cairn's ports, and the chassis-redirect ports of its routers' gateway ports
			 * (bound on the gateway chassis that does the NAT) */
			if (!lport || (strncmp(lport, "cairn_", 6) != 0 && strncmp(lport, "cr-cairn_", 9) != 0))
				continue;
			if (chassis_uuid && ovsdb_cache_get(s->sb_cache, "Chassis", chassis_uuid, &ch))
				on = ovsdb_row_string(&ch, "name");
			ovsdb_datum_boolean(ovsdb_row_get(&row, "up"), &up);
			/* a pod's port (services/kube/cni): northd copies its external_ids */
			const char *ns = ovsdb_row_map_string(&row, "external_ids", "k8s:namespace");
			const char *pod = ovsdb_row_map_string(&row, "external_ids", "k8s:pod");
			char pod_id[512] = "";
			if (ns && pod)
				snprintf(pod_id, sizeof pod_id, "%s/%s", ns, pod);
			json_t *item = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:b}", "id", lport,
						 "type", ovsdb_row_string(&row, "type"), "vm", vm,
						 "pod", pod_id[0] ? pod_id : NULL, "chassis", on, "up", up);
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
	static const char *const chassis_columns[] = { "name", "hostname", "encaps", "other_config",
						       "external_ids", NULL };
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
	if (prepare_folders(report) < 0) {
		ctrl_account(report, 0, true);
		return -1;
	}
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

	/* SB: the chassis (gateways for NB) and the status */
	char sb_remote[64];
	if (central)
		snprintf(sb_remote, sizeof sb_remote, "unix:" OVN_SB_SOCK);
	else
		snprintf(sb_remote, sizeof sb_remote, "tcp:%s:6642", central_ip ? central_ip : "0.0.0.0");
	keep(&s->sb, &s->sb_cache, sb_remote, "OVN_Southbound", sb_tables, 3, &err);

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
			/* without SB the gateways are unknown (NULL): the ports keep theirs */
			json_t *gateways = s->sb && ovsdb_state(s->sb) == OVSDB_STATE_READY ?
				gateway_chassis(s->sb_cache) : NULL;
			int ops = ovn_nb_reconcile(s->nb, s->nb_cache, config, gateways, OVN_TIMEOUT_MS, &r);
			json_decref(gateways);
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

	publish_status(s, config);
	ctrl_account(report, 0, failed);
	return failed ? -1 : changes;
}
