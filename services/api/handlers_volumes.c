/* handlers_volumes.c - the Volume endpoints (services/storage/README.md, "Failover"):
 *   POST /v1/volumes/NAME/outdate    (a node: the peer's fence-peer handler) marks this node's
 *        copy Outdated, unless this node is Primary or StandAlone;
 *   POST /v1/volumes/NAME/peer-down  (admin) records the operator's statement that the peer of
 *        Volume NAME is down, which lets this node promote without it.
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
