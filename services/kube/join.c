/* join.c - how a worker joins without the Kubernetes CA's key (kube.h, "Joining"): the part a
 * control plane's cairnd does, through the local API server as cairn-admin (libcurl).
 *
 * - The cluster objects TLS bootstrapping needs: the bootstrap token's Secret (from
 *   kubernetes.bootstrapToken; the API server authenticates it as a member of
 *   system:bootstrappers) and the bindings that let a bootstrapper ask for a kubelet client
 *   certificate, a node renew its own (kube-controller-manager approves the renewals), and a
 *   node's identity run kube-proxy (system:node-proxier). Written when they change, and again
 *   every JOIN_OBJECTS_EVERY_MS in case someone removed one. Bootstrap-token Secrets this node
 *   made earlier (label JOIN_TOKEN_LABEL) under another name are deleted: a replaced token stops
 *   working.
 * - The certificate requests, decided by kube_csr_verdict() (csr.c):
 *   - a client certificate asked with the token is approved only for a worker that the config
 *     names. kube-controller-manager would approve any node name for whoever holds the token
 *     (kubeadm's binding to ...:nodeclient), so that binding is not made, and removed where an
 *     earlier Cairn made it;
 *   - a worker's kubelet asks for its serving certificate (serverTLSBootstrap), which nothing
 *     in Kubernetes 1.20 approves; it is approved only when it is what the config says the node
 *     is: its name, its address, server use. The API server checks kubelets' serving
 *     certificates against the cluster CA (--kubelet-certificate-authority), so `kubectl logs`
 *     and `exec` still verify whom they talk to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "kube.h"

#define JOIN_OBJECTS_EVERY_MS (5 * 60 * 1000)
#define JOIN_CSRS_EVERY_MS 10000
#define JOIN_TOKEN_LABEL "cairn.dev/bootstrap-token"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long api(const char *method, const char *path, const json_t *body, json_t **reply,
		char *err, size_t errlen)
{
	return kube_api(&kube_local_admin, method, path, body, reply, err, errlen);
}

static bool ok(long status)
{
	return status >= 200 && status < 300;
}

/* OBJECT created at COLLECTION, or replaced at COLLECTION/NAME when it exists: the last HTTP
 * status (0: no answer; ERR says why when not ok()). */
static long put_object(const char *collection, const json_t *object, char *err, size_t errlen)
{
	const char *name = str(json_object_get(object, "metadata"), "name");
	long status = api("POST", collection, object, NULL, err, errlen);
	char path[384];

	if (status != 409)
		return status;
	snprintf(path, sizeof path, "%s/%s", collection, name);
	return api("PUT", path, object, NULL, err, errlen);
}

static json_t *binding(const char *name, const char *group, const char *role)
{
	return json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}",
			 "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "ClusterRoleBinding",
			 "metadata", "name", name,
			 "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole",
			 "name", role,
			 "subjects", "apiGroup", "rbac.authorization.k8s.io", "kind", "Group",
			 "name", group);
}

#define SECRETS "/api/v1/namespaces/kube-system/secrets"
#define BINDINGS "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
#define OLD_AUTOAPPROVE "cairn:node-autoapprove-bootstrap"

/* Deletes the bootstrap-token Secrets of JOIN_TOKEN_LABEL but KEEP: 200, or the HTTP status
 * of a request that failed (0: no answer; ERR says why). */
static long delete_other_tokens(const char *keep, struct ctrl_report *report, char *err,
				size_t errlen)
{
	json_t *list = NULL;
	const json_t *item;
	size_t i;
	long rc = api("GET", SECRETS "?labelSelector=" JOIN_TOKEN_LABEL, NULL, &list, err, errlen);

	if (rc != 200) {
		json_decref(list);
		return rc;
	}
	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *name = str(json_object_get(item, "metadata"), "name");
		char path[256];
		if (!name || (keep && strcmp(name, keep) == 0))
			continue;
		snprintf(path, sizeof path, SECRETS "/%s", name);
		long status = api("DELETE", path, NULL, NULL, err, errlen);
		if (ok(status) || status == 404)
			ctrl_changed(report, "join", "deleted the former bootstrap token %s", name);
		else
			rc = status;
	}
	json_decref(list);
	return rc;
}

/* The token's Secret and the bindings, when KUBE's token changed or every
 * JOIN_OBJECTS_EVERY_MS. */
static int reconcile_objects(struct kube_join *j, struct ctrl_report *report, const json_t *kube)
{
	const char *token = str(kube, "bootstrapToken");
	char id[7] = "", secret_name[32] = "", err[512] = "";
	json_t *objects[4] = { 0 };
	long status = 200;

	if (j->applied && strcmp(j->token, token ? token : "") == 0 &&
	    now_ms() - j->objects_ms < JOIN_OBJECTS_EVERY_MS)
		return 0;
	if (token) {
		memcpy(id, token, 6);
		snprintf(secret_name, sizeof secret_name, "bootstrap-token-%s", id);
		objects[0] = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s, s:{s:s, s:s, s:s, s:s}}",
			"apiVersion", "v1", "kind", "Secret",
			"metadata", "name", secret_name, "namespace", "kube-system",
			"labels", JOIN_TOKEN_LABEL, "true",
			"type", "bootstrap.kubernetes.io/token",
			"stringData", "token-id", id, "token-secret", token + 7,
			"usage-bootstrap-authentication", "true",
			"description", "cairn: the workers' kubelets join with it "
				       "(MachineConfig kubernetes.bootstrapToken)");
	}
	objects[1] = binding("cairn:kubelet-bootstrap", "system:bootstrappers",
			     "system:node-bootstrapper");
	objects[2] = binding("cairn:node-autoapprove-renewal", "system:nodes",
			     "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient");
	objects[3] = binding("cairn:node-proxier", "system:nodes", "system:node-proxier");
	for (int i = 0; i < 4 && ok(status); i++)
		if (objects[i])
			status = put_object(i == 0 ? SECRETS : BINDINGS, objects[i], err, sizeof err);
	if (ok(status) && !j->old_binding_gone) {
		/* made by Cairn before its own approval of the token's requests (see above); once
		 * gone, nothing makes it again */
		status = api("DELETE", BINDINGS "/" OLD_AUTOAPPROVE, NULL, NULL, err, sizeof err);
		if (ok(status))
			ctrl_changed(report, "join", "deleted the binding %s: cairnd approves the "
				     "token's requests for the config's workers only", OLD_AUTOAPPROVE);
		else if (status == 404)
			status = 200;
		j->old_binding_gone = ok(status);
	}
	if (ok(status))
		status = delete_other_tokens(token ? secret_name : NULL, report, err, sizeof err);
	for (int i = 0; i < 4; i++)
		json_decref(objects[i]);
	if (status == 0)
		return 0;     /* the API server not answering yet is waited for, quietly */
	if (!ok(status)) {
		ctrl_fail(report, "join", "the workers' join objects: %s", err);
		return -1;
	}
	if (!j->applied || strcmp(j->token, token ? token : "") != 0)
		ctrl_changed(report, "join", "the bootstrap token's Secret and the join bindings "
			     "are in the cluster");
	j->applied = true;
	snprintf(j->token, sizeof j->token, "%s", token ? token : "");
	j->objects_ms = now_ms();
	return 0;
}

/* Approves (or denies, saying why) the pending kubelet requests kube_csr_verdict() decides. */
static int reconcile_csrs(struct kube_join *j, struct ctrl_report *report, const json_t *kube)
{
	json_t *list = NULL;
	const json_t *item;
	char err[512];
	size_t i;
	int rc = 0;

	if (now_ms() - j->csrs_ms < JOIN_CSRS_EVERY_MS)
		return 0;
	j->csrs_ms = now_ms();
	long status = api("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests", NULL,
			  &list, err, sizeof err);
	if (status != 200) {
		json_decref(list);
		if (!status)
			return 0;    /* not answering yet */
		ctrl_fail(report, "join", "listing the certificate requests: %s", err);
		return -1;
	}
	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *name = str(json_object_get(item, "metadata"), "name");
		char why[256], path[384];
		int verdict = kube_csr_verdict(item, kube, why, sizeof why);
		json_t *done;
		if (verdict == KUBE_CSR_SKIP || !name)
			continue;
		done = json_deep_copy(item);
		if (!json_is_object(json_object_get(done, "status")))
			json_object_set_new(done, "status", json_object());
		json_object_set_new(json_object_get(done, "status"), "conditions", json_pack(
			"[{s:s, s:s, s:s, s:s}]", "type", verdict == KUBE_CSR_APPROVE ? "Approved" :
			"Denied", "status", "True", "reason", verdict == KUBE_CSR_APPROVE ?
			"CairnApproved" : "CairnDenied", "message", why));
		snprintf(path, sizeof path,
			 "/apis/certificates.k8s.io/v1/certificatesigningrequests/%s/approval", name);
		status = api("PUT", path, done, NULL, err, sizeof err);
		json_decref(done);
		if (status == 409)    /* another control plane decided first */
			continue;
		if (status != 200) {
			ctrl_fail(report, name, "deciding the certificate request: %s", err);
			rc = -1;
		} else if (verdict == KUBE_CSR_APPROVE) {
			ctrl_changed(report, "join", "approved %s: %s", name, why);
		} else {
			ctrl_fail(report, name, "denied the kubelet's certificate request: %s", why);
		}
	}
	json_decref(list);
	return rc;
}

int kube_join_reconcile(struct kube_join *j, struct ctrl_report *report, const json_t *kube)
{
	int a = reconcile_objects(j, report, kube);
	int b = reconcile_csrs(j, report, kube);

	return a < 0 || b < 0 ? -1 : 0;
}
