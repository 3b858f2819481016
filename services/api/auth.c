/* auth.c - who is calling: the role named by the client certificate's Organization, once
 * the certificate has verified against the cluster CA the daemon trusts and carries the
 * clientAuth key purpose; its fingerprint for the gate's per-certificate caps. */
#include <string.h>

#include <gnutls/x509.h>

#include "server.h"

static const struct {
	const char *organization;
	enum api_role role;
} role_names[] = {
	{ "cairn:node", ROLE_NODE },
	{ "cairn:reader", ROLE_READER },
	{ "cairn:operator", ROLE_OPERATOR },
	{ "cairn:admin", ROLE_ADMIN },
};

enum api_role role_from_organization(const char *organization, size_t len)
{
	for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
		if (strlen(role_names[i].organization) == len &&
		    memcmp(role_names[i].organization, organization, len) == 0)
			return role_names[i].role;
	return ROLE_NONE;
}

const char *role_name(enum api_role role)
{
	switch (role) {
	case ROLE_NODE: return "node";
	case ROLE_READER: return "reader";
	case ROLE_OPERATOR: return "operator";
	case ROLE_ADMIN: return "admin";
	default: return "none";
	}
}

/* True when the certificate lists the TLS WWW client (clientAuth) key purpose. Checked
 * here, whatever GnuTLS's verification does with purposes (bookworm's does not check them). */
static bool certificate_client_purpose(gnutls_x509_crt_t crt)
{
	for (unsigned index = 0; index < 64; index++) {
		char oid[128];
		size_t size = sizeof oid;
		int rc = gnutls_x509_crt_get_key_purpose_oid(crt, index, oid, &size, NULL);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc < 0)
			continue;
		if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
			return true;
	}
	return false;
}

/* The strongest role among the certificate's Organization values; *client_purpose: whether
 * it may authenticate a TLS client. */
static enum api_role certificate_role(const gnutls_datum_t *der, bool *client_purpose)
{
	gnutls_x509_crt_t crt;
	enum api_role best = ROLE_NONE;

	*client_purpose = false;
	if (gnutls_x509_crt_init(&crt) < 0)
		return ROLE_NONE;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) == 0) {
		*client_purpose = certificate_client_purpose(crt);
		for (unsigned index = 0; index < 16; index++) {
			char value[256];
			size_t size = sizeof value;
			int rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME,
								index, 0, value, &size);
			if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
				break;
			if (rc < 0)
				continue;
			enum api_role role = role_from_organization(value, strnlen(value, size));
			if (role > best)
				best = role;
		}
	}
	gnutls_x509_crt_deinit(crt);
	return best;
}

enum api_role auth_peer_role(gnutls_session_t session, unsigned *status, const char **error,
			     gnutls_datum_t *detail)
{
	unsigned verify = 0, count = 0;
	const gnutls_datum_t *chain;
	enum api_role role;
	bool client_purpose;
	int rc;

	detail->data = NULL;
	detail->size = 0;
	*status = 401;
	if (!session) {
		*error = "client certificate required";
		return ROLE_NONE;
	}
	chain = gnutls_certificate_get_peers(session, &count);
	if (!chain || count == 0) {
		*error = "client certificate required";
		return ROLE_NONE;
	}
	rc = gnutls_certificate_verify_peers2(session, &verify);
	if (rc < 0) {
		*error = "client certificate could not be verified";
		return ROLE_NONE;
	}
	if (verify != 0) {
		gnutls_certificate_verification_status_print(verify, GNUTLS_CRT_X509, detail, 0);
		*error = "client certificate not trusted by the cluster CA";
		return ROLE_NONE;
	}
	role = certificate_role(&chain[0], &client_purpose);
	if (!client_purpose) {
		*status = 403;
		*error = "client certificate lacks the clientAuth key purpose (TLS WWW client, "
			 "1.3.6.1.5.5.7.3.2)";
		return ROLE_NONE;
	}
	if (role == ROLE_NONE) {
		*status = 403;
		*error = "client certificate names no role (O=cairn:admin, cairn:operator or cairn:reader)";
	}
	return role;
}

int auth_peer_fingerprint(gnutls_session_t session, unsigned char fingerprint[32])
{
	unsigned count = 0;
	const gnutls_datum_t *chain = session ? gnutls_certificate_get_peers(session, &count) : NULL;
	size_t size = 32;

	if (!chain || count == 0 ||
	    gnutls_fingerprint(GNUTLS_DIG_SHA256, &chain[0], fingerprint, &size) < 0 || size != 32)
		return -1;
	return 0;
}

int auth_identity_check(const char *ca, const char *cert, const char *key, const char **error)
{
	gnutls_certificate_credentials_t creds;
	gnutls_datum_t ca_pem = { (unsigned char *)ca, (unsigned)strlen(ca) };
	gnutls_datum_t cert_pem = { (unsigned char *)cert, (unsigned)strlen(cert) };
	gnutls_datum_t key_pem = { (unsigned char *)key, (unsigned)strlen(key) };
	int rc = -1;

	if (gnutls_certificate_allocate_credentials(&creds) < 0) {
		*error = "out of memory";
		return -1;
	}
	if (gnutls_certificate_set_x509_key_mem(creds, &cert_pem, &key_pem, GNUTLS_X509_FMT_PEM) < 0)
		*error = ".spec.identity: cert and key do not load as a matching key pair";
	else if (gnutls_certificate_set_x509_trust_mem(creds, &ca_pem, GNUTLS_X509_FMT_PEM) <= 0)
		*error = ".spec.identity.ca: no CA certificate loads";
	else
		rc = 0;
	gnutls_certificate_free_credentials(creds);
	return rc;
}
