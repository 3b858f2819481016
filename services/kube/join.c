/* join.c - how a worker joins without the Kubernetes CA's key (kube.h, "Joining"): the part a
 * control plane's cairnd does, through the local API server as cairn-admin (libcurl).
 *
 * - The cluster objects TLS bootstrapping needs: each worker's bootstrap token's Secret (from
 *   kubernetes.bootstrapTokens; the API server authenticates a token as system:bootstrap:ID,
 *   a member of system:bootstrappers) and the bindings that let a bootstrapper ask for a
 *   kubelet client certificate, a node renew its own (kube-controller-manager approves the
 *   renewals), and a node's identity run kube-proxy (system:node-proxier). Written when they
 *   change, and again every JOIN_OBJECTS_EVERY_MS in case someone removed one. Bootstrap-token
 *   Secrets this node made earlier (label JOIN_TOKEN_LABEL) under another name are deleted: a
 *   replaced token, or that of a worker gone from the config, stops working.
 * - The certificate requests, decided by kube_csr_verdict() (csr.c):
 *   - a client certificate asked with a token is approved only for the worker whose token it
 *     is. kube-controller-manager would approve any node name for whoever holds a token
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

/* True when a failed request's answer may only mean that the API server is still starting: it
 * answers before its /readyz does, and meanwhile refuses what it will allow a moment later (a
 * 404 for the kube-system namespace it has not made yet, a 403 for cairn-admin approving a
 * certificate request while its RBAC rules are not loaded). Such a failure is waited for, not
 * reported; asked only after a failure, so a ready cluster costs no further request. */
static bool still_starting(long status)
{
	char err[256];

	return status == 0 || ((status == 403 || status == 404) &&
			       api("GET", "/readyz", NULL, NULL, err, sizeof err) != 200);
}

/* OBJECT created at COLLECTION, or replaced at COLLECTION/NAME when it exists: the last HTTP
 * status (0: no answer; ERR says why when not ok()). */
static long put_object(const char *collection, const json_t *object, char *err, size_t errlen)
{
	const char *name = kube_str(json_object_get(object, "metadata"), "name");
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

/* Deletes the bootstrap-token Secrets of JOIN_TOKEN_LABEL not in KEEP (an array of Secrets):
 * 200, or the HTTP status of a request that failed (0: no answer; ERR says why). */
static long delete_other_tokens(const json_t *keep, struct ctrl_report *report, char *err,
				size_t errlen)
{
	json_t *list = NULL;
	const json_t *item, *k;
	size_t i, n;
	long rc = api("GET", SECRETS "?labelSelector=" JOIN_TOKEN_LABEL, NULL, &list, err, errlen);

	if (rc != 200) {
		json_decref(list);
		return rc;
	}
	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *name = kube_str(json_object_get(item, "metadata"), "name");
		bool kept = false;
		char path[256];
		json_array_foreach(keep, n, k) {
			const char *keep_name = kube_str(json_object_get(k, "metadata"), "name");
			kept = kept || (name && keep_name && strcmp(name, keep_name) == 0);
		}
		if (!name || kept)
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

/* The Secret of bootstrap TOKEN, WORKER's (NULL: an older config's one token for all). */
static json_t *token_secret(const char *token, const char *worker)
{
	char id[7], name[32], description[160];

	memcpy(id, token, 6);
	id[6] = '\0';
	snprintf(name, sizeof name, "bootstrap-token-%s", id);
	if (worker)
		snprintf(description, sizeof description, "cairn: worker %s's kubelet joins with it "
			 "(MachineConfig kubernetes.bootstrapTokens)", worker);
	else
		snprintf(description, sizeof description, "cairn: the workers' kubelets join with it "
			 "(MachineConfig kubernetes.bootstrapToken)");
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s, s:{s:s, s:s, s:s, s:s}}",
			 "apiVersion", "v1", "kind", "Secret",
			 "metadata", "name", name, "namespace", "kube-system",
			 "labels", JOIN_TOKEN_LABEL, "true",
			 "type", "bootstrap.kubernetes.io/token",
			 "stringData", "token-id", id, "token-secret", token + 7,
			 "usage-bootstrap-authentication", "true", "description", description);
}

/* The Secrets of the tokens the workers join with: each worker's of kubernetes.bootstrapTokens
 * (a control plane's token is made only once it is a worker), or, in an older config without
 * them, the cluster's one bootstrapToken. */
static json_t *token_secrets(const json_t *kube)
{
	const json_t *tokens = json_object_get(kube, "bootstrapTokens"), *t;
	const json_t *nodes = json_object_get(kube, "nodes");
	json_t *secrets = json_array();
	const char *name;

	if (!tokens && kube_str(kube, "bootstrapToken"))
		json_array_append_new(secrets,
				      token_secret(kube_str(kube, "bootstrapToken"), NULL));
	json_object_foreach((json_t *)tokens, name, t) {
		const json_t *node = json_object_get(nodes, name);
		if (node && !json_is_true(json_object_get(node, "controlPlane")) &&
		    json_string_value(t))
			json_array_append_new(secrets, token_secret(json_string_value(t), name));
	}
	return secrets;
}

/* FNV-1a of SECRETS, to tell when they changed. */
static unsigned long long secrets_hash(const json_t *secrets)
{
	char *text = json_dumps(secrets, JSON_SORT_KEYS | JSON_COMPACT);
	unsigned long long h = 14695981039346656037ULL;

	for (const char *c = text ? text : ""; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	free(text);
	return h;
}

/* The tokens' Secrets and the bindings, when KUBE's tokens changed or every
 * JOIN_OBJECTS_EVERY_MS. */
static int reconcile_objects(struct kube_join *j, struct ctrl_report *report, const json_t *kube)
{
	json_t *secrets = token_secrets(kube), *bindings[3], *item;
	unsigned long long hash = secrets_hash(secrets);
	size_t count = json_array_size(secrets), i;
	char err[512] = "";
	long status = 200;

	if (j->applied && j->tokens == hash && now_ms() - j->objects_ms < JOIN_OBJECTS_EVERY_MS) {
		json_decref(secrets);
		return 0;
	}
	bindings[0] = binding("cairn:kubelet-bootstrap", "system:bootstrappers",
			      "system:node-bootstrapper");
	bindings[1] = binding("cairn:node-autoapprove-renewal", "system:nodes",
			      "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient");
	bindings[2] = binding("cairn:node-proxier", "system:nodes", "system:node-proxier");
	json_array_foreach(secrets, i, item)
		if (ok(status))
			status = put_object(SECRETS, item, err, sizeof err);
	for (i = 0; i < 3 && ok(status); i++)
		status = put_object(BINDINGS, bindings[i], err, sizeof err);
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
		status = delete_other_tokens(secrets, report, err, sizeof err);
	for (i = 0; i < 3; i++)
		json_decref(bindings[i]);
	json_decref(secrets);
	if (!ok(status) && still_starting(status))
		return 0;     /* waited for, quietly (the next pass asks again) */
	if (!ok(status)) {
		ctrl_fail(report, "join", "the workers' join objects: %s", err);
		return -1;
	}
	if (!j->applied || j->tokens != hash)
		ctrl_changed(report, "join", "the workers' bootstrap token Secrets (%zu) and the join "
			     "bindings are in the cluster", count);
	j->applied = true;
	j->tokens = hash;
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
		if (still_starting(status))
			return 0;
		ctrl_fail(report, "join", "listing the certificate requests: %s", err);
		return -1;
	}
	json_array_foreach(json_object_get(list, "items"), i, item) {
		const char *name = kube_str(json_object_get(item, "metadata"), "name");
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
		if (status != 200 && still_starting(status))
			break;       /* asked again JOIN_CSRS_EVERY_MS later */
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
