/* handlers_volumes.c - the Volume endpoints (services/storage/README.md, "Failover"):
 *   POST /v1/volumes/NAME/outdate    (a node: the peer's fence-peer handler) marks this node's
 *        copy Outdated, unless this node is Primary or StandAlone;
 *   POST /v1/volumes/NAME/peer-down  (admin) records the operator's statement that the peer of
 *        Volume NAME is down, which lets this node promote without it;
 *   POST /v1/volumes/NAME/resolve?keep=NODE  (admin) ends a split brain: the node kept
 *        connects again, the other one gives up its changes since the split
 *        (`drbdadm connect --discard-my-data`) and resyncs from it.
 * They only run drbdadm and write under DRBD_RUN_DIR; the controller (services/storage/volumes.c)
 * does the rest at its next pass. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drbd.h"
#include "resources.h"
#include "runcmd.h"
#include "server.h"

#define DRBDADM "/usr/sbin/drbdadm"
#define DRBDADM_TIMEOUT_MS 30000

/* Runs `drbdadm WHAT NAME`: its exit status, *OUT its output (first line, trimmed). */
static int drbdadm(const char *what, const char *name, char *out, size_t size)
{
	char *argv[] = { DRBDADM, (char *)what, (char *)name, NULL }, *text = NULL;
	int rc = run_command(argv, &text, DRBDADM_TIMEOUT_MS);

	snprintf(out, size, "%s", text ? text : "");
	out[strcspn(out, "\n")] = '\0';
	free(text);
	return rc;
}

/* Runs drbdadm with ARGV (NULL-ended, after the program): its exit status, OUT as above. */
static int drbdadm_run(char *out, size_t size, const char *const *args)
{
	char *argv[8] = { DRBDADM }, *text = NULL;
	size_t n = 1;
	int rc;

	for (; *args && n < 7; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	rc = run_command(argv, &text, DRBDADM_TIMEOUT_MS);
	snprintf(out, size, "%s", text ? text : "");
	out[strcspn(out, "\n")] = '\0';
	free(text);
	return rc;
}

/* The Volume named by the path, when it has a replica (a resource file) on this node. */
static const char *volume_here(const struct api_request *req, struct api_reply *reply)
{
	const char *name = req->param[0];
	char path[300];

	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
			reply_error(reply, 400, "not a Volume name", json_pack("[s]", name));
			return NULL;
		}
	snprintf(path, sizeof path, DRBD_RUN_DIR "/%s.res", name);
	if (access(path, F_OK) != 0) {
		reply_error(reply, 404, "no Volume with a replica on this node", json_pack("[s]", name));
		return NULL;
	}
	return name;
}

void handle_volume_outdate(struct api_server *server, const struct api_request *req,
			   struct api_reply *reply)
{
	const char *name = volume_here(req, reply);
	char role[256], cstate[256], out[512], message[600];

	(void)server;
	if (!name)
		return;
	if (drbdadm("role", name, role, sizeof role) != 0 ||
	    drbdadm("cstate", name, cstate, sizeof cstate) != 0) {
		reply_error(reply, 500, "drbdadm role/cstate failed", json_pack("[s, s]", role, cstate));
		return;
	}
	if (strncmp(role, "Primary", 7) == 0) {
		snprintf(message, sizeof message, "Volume %s is Primary on this node: its copy is in "
			 "use and is not outdated", name);
		reply_error(reply, 409, message, json_pack("[s]", role));
		return;
	}
	if (strcmp(cstate, "StandAlone") == 0 || strcmp(cstate, "Connected") == 0) {
		snprintf(message, sizeof message, "Volume %s is %s on this node: not outdated (%s)",
			 name, cstate, cstate[0] == 'S' ? "a split brain, or disconnected by hand: "
			 "the operator decides" : "the peer can promote without fencing");
		reply_error(reply, 409, message, NULL);
		return;
	}
	if (drbdadm("outdate", name, out, sizeof out) != 0) {
		snprintf(message, sizeof message, "drbdadm outdate %s: %s", name, out);
		reply_error(reply, 500, message, NULL);
		return;
	}
	drbdadm("dstate", name, out, sizeof out);
	out[strcspn(out, "/")] = '\0';
	fprintf(stderr, "cairnd: volume %s: outdated at the peer's request (disk %s)\n", name, out);
	reply_json(reply, 200, json_pack("{s:s, s:s}", "volume", name, "disk", out));
}

void handle_volume_peer_down(struct api_server *server, const struct api_request *req,
			     struct api_reply *reply)
{
	const char *name = volume_here(req, reply);
	char cstate[256], path[300], line[64];
	int fd;

	(void)server;
	if (!name)
		return;
	if (drbdadm("cstate", name, cstate, sizeof cstate) == 0 && strcmp(cstate, "Connected") == 0) {
		reply_error(reply, 409, "the peer is connected: it is not down", json_pack("[s]", name));
		return;
	}
	snprintf(path, sizeof path, DRBD_RUN_DIR "/%s" DRBD_PEER_DOWN_SUFFIX, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	snprintf(line, sizeof line, "%lld\n", (long long)time(NULL));
	if (fd < 0 || write(fd, line, strlen(line)) < 0) {
		reply_error(reply, 500, strerror(errno), json_pack("[s]", path));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	fprintf(stderr, "cairnd: volume %s: the operator states the peer is down; this node may "
		"promote without it until the peer connects again\n", name);
	reply_json(reply, 200, json_pack("{s:s, s:b, s:s}", "volume", name, "peer_down", 1,
					 "connection", cstate));
}

/* This node's item of Volume NAME in resource "volumes" (a new reference), or NULL. */
static json_t *volume_item(const char *name)
{
	json_t *all = resources_get("volumes"), *item, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(all, "items"), i, item)
		if (strcmp(json_string_value(json_object_get(item, "name")) ?: "", name) == 0)
			found = json_incref(item);
	json_decref(all);
	return found;
}

void handle_volume_resolve(struct api_server *server, const struct api_request *req,
			   struct api_reply *reply)
{
	const char *name = volume_here(req, reply), *keep = req->query(req, "keep");
	const char *me, *peer, *vm;
	char role[256], cstate[256], out[512], message[1024], path[300];
	json_t *item;
	bool split;

	(void)server;
	if (!name)
		return;
	if (!(item = volume_item(name))) {
		reply_error(reply, 503, "Volume not in resource volumes yet (the controller has not "
			    "run): try again", json_pack("[s]", name));
		return;
	}
	me = json_string_value(json_object_get(item, "node")) ?: "";
	peer = json_string_value(json_object_get(item, "peer")) ?: "";
	vm = json_string_value(json_object_get(item, "vm"));
	if (!keep || (strcmp(keep, me) != 0 && strcmp(keep, peer) != 0)) {
		snprintf(message, sizeof message, "?keep=NODE names the node whose data is kept: %s "
			 "or %s (the nodes of Volume %s)", me, peer, name);
		reply_error(reply, 400, message, json_pack("[s]", keep ? keep : "(none)"));
		json_decref(item);
		return;
	}
	if (drbdadm("role", name, role, sizeof role) != 0 ||
	    drbdadm("cstate", name, cstate, sizeof cstate) != 0) {
		reply_error(reply, 500, "drbdadm role/cstate failed", json_pack("[s, s]", role, cstate));
		json_decref(item);
		return;
	}
	snprintf(path, sizeof path, DRBD_RUN_DIR "/%s" DRBD_SPLIT_BRAIN_SUFFIX, name);
	split = access(path, F_OK) == 0;
	if (strcmp(cstate, "Connected") == 0 ||
	    (!split && strcmp(cstate, "StandAlone") != 0)) {
		snprintf(message, sizeof message, "Volume %s is %s on this node and no split brain is "
			 "recorded: nothing to resolve", name, cstate);
		reply_error(reply, 409, message, NULL);
		json_decref(item);
		return;
	}
	if (strcmp(keep, me) == 0) {
		/* kept: connect again (the peer discards its changes when it connects) */
		if (strcmp(cstate, "StandAlone") == 0 && drbdadm("connect", name, out, sizeof out) != 0) {
			snprintf(message, sizeof message, "drbdadm connect %s: %s", name, out);
			reply_error(reply, 500, message, NULL);
			json_decref(item);
			return;
		}
		fprintf(stderr, "cairnd: volume %s: split brain resolved by the operator: this node's "
			"data is kept; connecting to %s, which resyncs from it\n", name, peer);
		reply_json(reply, 200, json_pack("{s:s, s:s, s:s, s:s}", "volume", name, "keep", keep,
						 "here", "kept: connecting", "was", cstate));
		json_decref(item);
		return;
	}
	/* discarded here: never while a VM of this node uses the Volume (its writes would be
	 * thrown away under it, and the controller would promote it again) */
	if (vm) {
		snprintf(message, sizeof message, "VM %s of this node uses Volume %s: its writes since "
			 "the split would be discarded; move it to %s or stop it first (its `node` or "
			 "`running`), then resolve again", vm, name, keep);
		reply_error(reply, 409, message, json_pack("[s]", vm));
		json_decref(item);
		return;
	}
	if (strncmp(role, "Primary", 7) == 0 &&
	    drbdadm("secondary", name, out, sizeof out) != 0) {
		snprintf(message, sizeof message, "drbdadm secondary %s: %s (still in use here?)", name,
			 out);
		reply_error(reply, 409, message, NULL);
		json_decref(item);
		return;
	}
	if (strcmp(cstate, "StandAlone") != 0)
		drbdadm("disconnect", name, out, sizeof out);
	if (drbdadm_run(out, sizeof out, (const char *const[]){ "connect", "--discard-my-data", name,
								NULL }) != 0) {
		snprintf(message, sizeof message, "drbdadm connect --discard-my-data %s: %s", name, out);
		reply_error(reply, 500, message, NULL);
		json_decref(item);
		return;
	}
	fprintf(stderr, "cairnd: volume %s: split brain resolved by the operator: %s is kept; this "
		"node's changes since the split are discarded (connect --discard-my-data)\n", name, keep);
	reply_json(reply, 200, json_pack("{s:s, s:s, s:s, s:s}", "volume", name, "keep", keep,
					 "here", "discarding this node's changes: resync from the "
					 "kept node", "was", cstate));
	json_decref(item);
}
