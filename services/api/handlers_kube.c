/* handlers_kube.c - the Kubernetes endpoints. GET /v1/kubeconfig (role admin): an admin
 * kubeconfig for the cluster's Kubernetes, issued by this node from the CA in its config
 * (services/kube/kubeconfig.c). POST /v1/images: an image archive into containerd.
 * GET /v1/etcd/snapshot and POST /v1/etcd/restore: the cluster's store, saved and put back.
 * ?server=URL names the API server's address as the client reaches it (default: the
 * endpoint in the config, port 6443); ?days=N the certificate's validity (1..3650, 365). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "api.h"
#include "config.h"
#include "fileio.h"
#include "initctl.h"
#include "kube.h"
#include "runcmd.h"
#include "server.h"

void handle_kubeconfig(struct api_server *server, const struct api_request *req,
		       struct api_reply *reply)
{
	const char *url = req->query(req, "server"), *days_arg = req->query(req, "days");
	json_t *config = server_config_ref(server, NULL);
	char err[256], *yaml, *end = NULL;
	long days = 365;

	if (days_arg) {
		days = strtol(days_arg, &end, 10);
		if (!*days_arg || *end || days < 1 || days > 3650) {
			json_decref(config);
			reply_error(reply, 400, "days: not a number of days in 1..3650", NULL);
			return;
		}
	}
	if (url && (strncmp(url, "https://", 8) != 0 || strlen(url) > 256 ||
		    strpbrk(url, " \t\r\n\"'\\"))) {
		json_decref(config);
		reply_error(reply, 400, "server: not an https:// URL (up to 256 characters)", NULL);
		return;
	}
	if (!config) {
		reply_error(reply, 404, "no config stored", NULL);
		return;
	}
	yaml = kube_admin_kubeconfig(config, url, (unsigned)days, err, sizeof err);
	json_decref(config);
	if (!yaml) {
		reply_error(reply, strstr(err, "no kubernetes") ? 404 : 500, err, NULL);
		return;
	}
	reply_json(reply, 200, json_pack("{s:s}", "kubeconfig", yaml));
	memset(yaml, 0, strlen(yaml));
	free(yaml);
}

/* POST /v1/images (role admin): an OCI or Docker image archive, streamed to a file
 * (upload_max in routes.c), imported into containerd's k8s.io namespace, where kubelet finds
 * it (no registry). The reply names the images imported. */
void handle_image_import(struct api_server *server, const struct api_request *req,
			 struct api_reply *reply)
{
	char *argv[] = { "/usr/bin/ctr", "--address", KUBE_CONTAINERD_SOCK, "-n", "k8s.io", "images",
			 "import", (char *)req->upload_path, NULL };
	char *out = NULL, *line, *save = NULL;
	json_t *images;
	struct stat st;
	int rc;

	(void)server;
	if (!req->upload_path || req->upload_len == 0) {
		reply_error(reply, 400, "no image archive in the request body", NULL);
		return;
	}
	if (stat(KUBE_CONTAINERD_SOCK, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		reply_error(reply, 409, "containerd is not running on this node (its config has no "
			    "kubernetes section, or containerd is starting)", NULL);
		return;
	}
	rc = run_command(argv, &out, 300000);
	if (rc != 0) {
		json_t *details = json_array();
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			json_array_append_new(details, json_string(line));
		reply_error(reply, 422, "containerd could not import the archive (ctr images "
			    "import failed)", details);
		free(out);
		return;
	}
	images = json_array();
	/* "unpacking NAME (sha256:...)...done" per image */
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *name = strstr(line, "unpacking "), *end;
		if (!name)
			continue;
		name += strlen("unpacking ");
		end = strstr(name, " (");
		if (end)
			json_array_append_new(images, json_stringn(name, (size_t)(end - name)));
	}
	free(out);
	reply_json(reply, 200, json_pack("{s:o, s:I}", "images", images, "bytes",
					 (json_int_t)req->upload_len));
}

#define API_SNAPSHOT_MAX (256UL << 20)

/* ---- etcd snapshots ------------------------------------------------------------------ */

/* The node's etcd member name, peer URL and data folder (kube_etcd_data_dir()) from its
 * config, or a 409 reply. */
static bool control_plane(struct api_server *server, struct api_reply *reply, char **name,
			  char **peer, char **data)
{
	json_t *config = server_config_ref(server, NULL);
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;
	const json_t *spec = json_object_get(machine, "spec");
	const json_t *kube = json_object_get(spec, "kubernetes");
	const char *role = json_string_value(json_object_get(spec, "role"));
	const char *host = kube_node_name(machine);

	if (!kube || !role || strcmp(role, "controlplane") != 0 || !host) {
		json_decref(config);
		reply_error(reply, 409, "this node runs no etcd (its config has no kubernetes section "
			    "or its role is not controlplane)", NULL);
		return false;
	}
	*name = strdup(host);
	if (asprintf(peer, "https://%s:2380",
		     json_string_value(json_object_get(kube, "address"))) < 0)
		*peer = NULL;
	if (data)
		*data = strdup(kube_etcd_data_dir(spec));
	json_decref(config);
	return *name && *peer && (!data || *data);
}

static json_t *output_lines(char *out)
{
	json_t *lines = json_array();
	char *line, *save = NULL;

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		json_array_append_new(lines, json_string(line));
	return lines;
}

/* GET /v1/etcd/snapshot (role admin): `etcdctl snapshot save` of the local member, in the
 * reply as base64 with its size and SHA-256. */
void handle_etcd_snapshot(struct api_server *server, const struct api_request *req,
			  struct api_reply *reply)
{
	char *name = NULL, *peer = NULL, *path = NULL, *out = NULL, *data = NULL, *b64 = NULL;
	unsigned char digest[32];
	char hex[65];
	size_t len = 0;
	int fd;

	(void)req;
	if (!control_plane(server, reply, &name, &peer, NULL))
		goto out;
	if ((mkdir(server->upload_dir, 0700) < 0 && errno != EEXIST) ||
	    asprintf(&path, "%s/etcd-snapshot-XXXXXX", server->upload_dir) < 0 ||
	    (fd = mkstemp(path)) < 0) {
		reply_error(reply, 500, "cannot make a temporary file for the snapshot", NULL);
		goto out;
	}
	close(fd);
	{
		char *argv[] = { "/usr/bin/etcdctl", "--endpoints", "https://127.0.0.1:2379",
				 KUBE_ETCD_CLIENT_TLS, "snapshot", "save", path, NULL };
		if (run_command(argv, &out, 120000) != 0) {
			reply_error(reply, 502, "etcdctl snapshot save failed", output_lines(out));
			goto out;
		}
	}
	data = fileio_read(path, API_SNAPSHOT_MAX, &len);
	if (!data) {
		reply_error(reply, 500, errno == EFBIG ? "the snapshot is larger than 256 MiB" :
			    "cannot read the snapshot", NULL);
		goto out;
	}
	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, digest);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	b64 = kube_base64(data, len);
	if (!b64) {
		reply_error(reply, 500, "out of memory", NULL);
		goto out;
	}
	fprintf(stderr, "cairnd: etcd snapshot of member %s: %zu bytes, sha256 %s\n", name, len, hex);
	reply_json(reply, 200, json_pack("{s:s, s:I, s:s, s:s}", "member", name, "bytes",
					 (json_int_t)len, "sha256", hex, "snapshot", b64));
out:
	if (path)
		unlink(path);
	free(path);
	free(name);
	free(peer);
	free(out);
	free(data);
	free(b64);
}

/* Asks PID 1 to ACTION (stop, start, restart) SERVICE; for stop, waits until it has no
 * process (at most 60 s). 0, or -1. */
static int service_do(struct api_server *server, const char *action, const char *service)
{
	char request[96], *error = NULL;
	json_t *lines = NULL;

	snprintf(request, sizeof request, "%s %s", action, service);
	if (initctl_request(server->init_socket, request, &lines, &error) != 0) {
		free(error);
		return -1;
	}
	json_decref(lines);
	for (int i = 0; strcmp(action, "stop") == 0 && i < 600; i++) {
		json_t *services, *svc;
		size_t k;
		bool running = false;
		if (initctl_request(server->init_socket, "list", &lines, &error) != 0) {
			free(error);
			return -1;
		}
		services = initctl_services_json(lines);
		json_decref(lines);
		json_array_foreach(services, k, svc)
			if (strcmp(json_string_value(json_object_get(svc, "name")) ?: "", service) == 0)
				running = json_integer_value(json_object_get(svc, "pid")) > 0;
		json_decref(services);
		if (!running)
			return 0;
		usleep(100 * 1000);
	}
	return strcmp(action, "stop") == 0 ? -1 : 0;
}

/* POST /v1/etcd/restore (role admin, the snapshot as the body): the local etcd member is
 * replaced by the snapshot's data, as a one-member cluster: the API server, the controllers and
 * etcd stop, `etcdctl snapshot restore` makes a new data folder, the old one is kept as
 * DATA.before-restore (DATA: kube_etcd_data_dir(), on the state volume with a pool), and
 * everything starts again. */
void handle_etcd_restore(struct api_server *server, const struct api_request *req,
			 struct api_reply *reply)
{
	static const char *const users[] = { "kube-scheduler", "kube-controller-manager",
					     "kube-apiserver", "etcd" };
	char *name = NULL, *peer = NULL, *out = NULL, *cluster = NULL, *data = NULL;
	char restored[160], before[160];
	const struct passwd *pw = getpwnam("etcd");

	if (!req->upload_path || req->upload_len == 0) {
		reply_error(reply, 400, "no snapshot in the request body", NULL);
		return;
	}
	if (!control_plane(server, reply, &name, &peer, &data))
		goto out;
	snprintf(restored, sizeof restored, "%s.restored", data);
	snprintf(before, sizeof before, "%s.before-restore", data);
	if (!pw) {
		reply_error(reply, 500, "no user etcd on this node", NULL);
		goto out;
	}
	if (asprintf(&cluster, "%s=%s", name, peer) < 0) {
		cluster = NULL;
		reply_error(reply, 500, "out of memory", NULL);
		goto out;
	}
	{   /* check the snapshot before anything stops */
		char *argv[] = { "/usr/bin/etcdctl", "snapshot", "status", (char *)req->upload_path,
				 NULL };
		if (run_command(argv, &out, 60000) != 0) {
			reply_error(reply, 422, "the body is not an etcd snapshot (etcdctl snapshot "
				    "status failed); nothing was changed", output_lines(out));
			goto out;
		}
		free(out);
		out = NULL;
	}
	{
		char *rm[] = { "/bin/rm", "-rf", restored, NULL };
		run_command(rm, NULL, 60000);
	}
	{
		char *argv[] = { "/usr/bin/etcdctl", "snapshot", "restore", (char *)req->upload_path,
				 "--name", name, "--initial-cluster", cluster,
				 "--initial-cluster-token", "cairn-etcd", "--initial-advertise-peer-urls", peer,
				 "--data-dir", restored, "--skip-hash-check=false", NULL };
		if (run_command(argv, &out, 120000) != 0) {
			reply_error(reply, 422, "etcdctl snapshot restore failed; nothing was changed",
				    output_lines(out));
			goto out;
		}
		free(out);
		out = NULL;
	}
	{
		char *argv[] = { "/bin/chown", "-R", "etcd:etcd", restored, NULL };
		if (run_command(argv, &out, 60000) != 0) {
			reply_error(reply, 500, "chown of the restored data failed; nothing was changed",
				    output_lines(out));
			goto out;
		}
		chmod(restored, 0700);
	}
	for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
		if (service_do(server, "stop", users[i]) < 0) {
			reply_error(reply, 502, "the supervisor did not stop the control plane", NULL);
			goto restart;
		}
	{
		char *rm[] = { "/bin/rm", "-rf", before, NULL };
		run_command(rm, NULL, 60000);
	}
	if (rename(data, before) < 0 && errno != ENOENT) {
		reply_error(reply, 500, "cannot move the old data folder aside", NULL);
		goto restart;
	}
	if (rename(restored, data) < 0) {
		rename(before, data);
		reply_error(reply, 500, "cannot put the restored data in place", NULL);
		goto restart;
	}
	{   /* the member's start flags: a cluster of one, with the data in place */
		char *start = NULL;
		const char *what = NULL;
		if (asprintf(&start, "new\n%s\n", cluster) < 0 ||
		    fileio_write_atomic(KUBE_DIR "/etcd-start", start, strlen(start), 0600, &what) < 0)
			/* etcd ignores its start flags once it has data: only a later join would differ */
			fprintf(stderr, "cairnd: etcd restore: %s/etcd-start not written (%s): %s\n",
				KUBE_DIR, what ? what : "asprintf", strerror(errno));
		free(start);
	}
	fprintf(stderr, "cairnd: etcd restored from a snapshot of %llu bytes (the old data is in %s)\n",
		req->upload_len, before);
	reply_json(reply, 200, json_pack("{s:s, s:I, s:s}", "member", name, "bytes",
					 (json_int_t)req->upload_len, "previous_data", before));
restart:   /* whatever happened once a service was asked to stop: start them all again */
	for (size_t i = sizeof users / sizeof users[0]; i-- > 0;)
		if (service_do(server, "start", users[i]) < 0) {
			fprintf(stderr, "cairnd: etcd restore: the supervisor did not start %s\n", users[i]);
			if (reply->status == 200)
				json_object_set_new(reply->body, "not_started", json_string(users[i]));
		}
out:
	free(name);
	free(peer);
	free(data);
	free(out);
	free(cluster);
}
