/* apiclient.c - cairnd's requests to a Kubernetes API server (kube.h, kube_api): JSON over
 * HTTPS with a client certificate, through libcurl, the cluster CA checking the server. For a
 * control plane's join objects and certificate decisions (join.c) and every node's Service
 * list for cluster DNS (kube.c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kube.h"

#define API_REPLY_MAX (8u << 20)
#define STR(x) #x
#define XSTR(x) STR(x)

const struct kube_api_creds kube_local_admin = {
	.server = "https://127.0.0.1:" XSTR(KUBE_APISERVER_PORT),
	.cert = KUBE_PKI "/admin.crt", .key = KUBE_PKI "/admin.key",
};

struct reply {
	char *data;
	size_t len;
	bool too_long;
};

static size_t take(char *ptr, size_t size, size_t count, void *user)
{
	struct reply *r = user;
	size_t n = size * count;
	char *grown;

	if (r->len + n + 1 > API_REPLY_MAX) {
		r->too_long = true;
		return 0;
	}
	grown = realloc(r->data, r->len + n + 1);
	if (!grown)
		return 0;
	r->data = grown;
	memcpy(r->data + r->len, ptr, n);
	r->len += n;
	r->data[r->len] = '\0';
	return n;
}

long kube_api(const struct kube_api_creds *creds, const char *method, const char *path,
	      const json_t *body, json_t **reply, char *err, size_t errlen)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	struct reply r = { NULL, 0, false };
	char url[512], *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long status = 0;
	CURLcode rc;

	if (reply)
		*reply = NULL;
	if (!curl || (body && !text)) {
		snprintf(err, errlen, "out of memory");
		curl_easy_cleanup(curl);
		free(text);
		return 0;
	}
	snprintf(url, sizeof url, "%s%s", creds->server, path);
	headers = curl_slist_append(headers, "Accept: application/json");
	if (text)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (text)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(curl, CURLOPT_CAINFO, KUBE_PKI "/ca.crt");
	curl_easy_setopt(curl, CURLOPT_SSLCERT, creds->cert);
	curl_easy_setopt(curl, CURLOPT_SSLKEY, creds->key);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 2L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 15L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK)
		snprintf(err, errlen, "%s %s: %s", method, path,
			 r.too_long ? "the answer is too long" : curl_easy_strerror(rc));
	else
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status && reply && r.data)
		*reply = json_loads(r.data, 0, NULL);
	if (status >= 300) {     /* Kubernetes' Status object says why */
		json_t *st = json_loads(r.data ? r.data : "", 0, NULL);
		snprintf(err, errlen, "%s %s: HTTP %ld: %.300s", method, path, status,
			 kube_str(st, "message") ? kube_str(st, "message") : "no message");
		json_decref(st);
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(r.data);
	free(text);
	return status;
}
