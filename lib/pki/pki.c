/* pki.c - CA and certificate generation with GnuTLS (see pki.h). */
#include "pki.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#define SKEW_SECONDS 3600

static int fail(char err[PKI_ERROR_MAX], const char *what, int rc)
{
	snprintf(err, PKI_ERROR_MAX, "%s: %s", what, gnutls_strerror(rc));
	return -1;
}

/* A datum made by GnuTLS into a malloc()ed NUL-terminated string. */
static char *datum_to_string(gnutls_datum_t *datum)
{
	char *s = malloc(datum->size + 1);

	if (s) {
		memcpy(s, datum->data, datum->size);
		s[datum->size] = '\0';
	}
	gnutls_free(datum->data);
	datum->data = NULL;
	return s;
}

static int export_key(gnutls_x509_privkey_t key, char **pem, char err[PKI_ERROR_MAX])
{
	gnutls_datum_t out = { NULL, 0 };
	int rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
						   GNUTLS_PKCS_PLAIN, &out);

	if (rc < 0)
		return fail(err, "exporting a key", rc);
	*pem = datum_to_string(&out);
	return *pem ? 0 : fail(err, "exporting a key", GNUTLS_E_MEMORY_ERROR);
}

static int export_cert(gnutls_x509_crt_t cert, char **pem, char err[PKI_ERROR_MAX])
{
	gnutls_datum_t out = { NULL, 0 };
	int rc = gnutls_x509_crt_export2(cert, GNUTLS_X509_FMT_PEM, &out);

	if (rc < 0)
		return fail(err, "exporting a certificate", rc);
	*pem = datum_to_string(&out);
	return *pem ? 0 : fail(err, "exporting a certificate", GNUTLS_E_MEMORY_ERROR);
}

static int new_key(gnutls_x509_privkey_t *key, char err[PKI_ERROR_MAX])
{
	int rc = gnutls_x509_privkey_init(key);

	if (rc < 0)
		return fail(err, "making a key", rc);
	rc = gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
					  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (rc < 0) {
		gnutls_x509_privkey_deinit(*key);
		*key = NULL;
		return fail(err, "making a key", rc);
	}
	return 0;
}

/* Version, random positive serial, validity, subject, public key, subject key id. */
static int fill_common(gnutls_x509_crt_t cert, gnutls_x509_privkey_t key, const char *cn,
		       const char *org, unsigned days, char err[PKI_ERROR_MAX])
{
	unsigned char serial[16], id[64];
	size_t id_size = sizeof id;
	time_t now = time(NULL);
	int rc;

	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial)) < 0)
		return fail(err, "making a serial number", rc);
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);   /* positive, no leading 0 */
	if ((rc = gnutls_x509_crt_set_version(cert, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(cert, serial, sizeof serial)) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(cert, now - SKEW_SECONDS)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(cert, now - SKEW_SECONDS +
						      (time_t)days * 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(cert, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						(unsigned)strlen(cn))) < 0 ||
	    (org && (rc = gnutls_x509_crt_set_dn_by_oid(cert, GNUTLS_OID_X520_ORGANIZATION_NAME,
							 0, org, (unsigned)strlen(org))) < 0) ||
	    (rc = gnutls_x509_crt_set_key(cert, key)) < 0 ||
	    (rc = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, id, &id_size)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(cert, id, id_size)) < 0)
		return fail(err, "filling in a certificate", rc);
	return 0;
}

int pki_ca_generate(const char *cluster, struct pki_ca *ca, char err[PKI_ERROR_MAX])
{
	int rc;

	memset(ca, 0, sizeof *ca);
	if (new_key(&ca->key, err) < 0)
		return -1;
	if ((rc = gnutls_x509_crt_init(&ca->cert)) < 0) {
		pki_ca_free(ca);
		return fail(err, "making the CA", rc);
	}
	if (fill_common(ca->cert, ca->key, cluster, "cairn", PKI_CA_DAYS, err) < 0) {
		pki_ca_free(ca);
		return -1;
	}
	if ((rc = gnutls_x509_crt_set_basic_constraints(ca->cert, 1, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(ca->cert, GNUTLS_KEY_KEY_CERT_SIGN |
						GNUTLS_KEY_CRL_SIGN)) < 0 ||
	    (rc = gnutls_x509_crt_sign2(ca->cert, ca->cert, ca->key, GNUTLS_DIG_SHA256, 0)) < 0) {
		pki_ca_free(ca);
		return fail(err, "signing the CA", rc);
	}
	return 0;
}

int pki_ca_import(const char *cert_pem, const char *key_pem, struct pki_ca *ca,
		  char err[PKI_ERROR_MAX])
{
	gnutls_datum_t cert_datum = { (unsigned char *)cert_pem, (unsigned)strlen(cert_pem) };
	gnutls_datum_t key_datum = { (unsigned char *)key_pem, (unsigned)strlen(key_pem) };
	unsigned char cert_id[64], key_id[64];
	size_t cert_id_size = sizeof cert_id, key_id_size = sizeof key_id;
	unsigned critical = 0;
	int rc;

	memset(ca, 0, sizeof *ca);
	if ((rc = gnutls_x509_crt_init(&ca->cert)) < 0 ||
	    (rc = gnutls_x509_crt_import(ca->cert, &cert_datum, GNUTLS_X509_FMT_PEM)) < 0) {
		pki_ca_free(ca);
		return fail(err, "reading the CA certificate", rc);
	}
	if ((rc = gnutls_x509_privkey_init(&ca->key)) < 0 ||
	    (rc = gnutls_x509_privkey_import2(ca->key, &key_datum, GNUTLS_X509_FMT_PEM, NULL,
					       GNUTLS_PKCS_PLAIN)) < 0) {
		pki_ca_free(ca);
		return fail(err, "reading the CA key", rc);
	}
	if (gnutls_x509_crt_get_basic_constraints(ca->cert, &critical, NULL, NULL) != 1) {
		pki_ca_free(ca);
		snprintf(err, PKI_ERROR_MAX, "the CA certificate is not a CA");
		return -1;
	}
	if ((rc = gnutls_x509_crt_get_key_id(ca->cert, GNUTLS_KEYID_USE_SHA256, cert_id,
					     &cert_id_size)) < 0 ||
	    (rc = gnutls_x509_privkey_get_key_id(ca->key, GNUTLS_KEYID_USE_SHA256, key_id,
						 &key_id_size)) < 0) {
		pki_ca_free(ca);
		return fail(err, "comparing the CA key and certificate", rc);
	}
	if (cert_id_size != key_id_size || memcmp(cert_id, key_id, key_id_size) != 0) {
		pki_ca_free(ca);
		snprintf(err, PKI_ERROR_MAX, "the CA key does not belong to the CA certificate");
		return -1;
	}
	return 0;
}

int pki_ca_export(const struct pki_ca *ca, char **cert_pem, char **key_pem,
		  char err[PKI_ERROR_MAX])
{
	*cert_pem = *key_pem = NULL;
	if (export_cert(ca->cert, cert_pem, err) < 0)
		return -1;
	if (export_key(ca->key, key_pem, err) < 0) {
		free(*cert_pem);
		*cert_pem = NULL;
		return -1;
	}
	return 0;
}

void pki_ca_free(struct pki_ca *ca)
{
	if (ca->cert)
		gnutls_x509_crt_deinit(ca->cert);
	if (ca->key)
		gnutls_x509_privkey_deinit(ca->key);
	ca->cert = NULL;
	ca->key = NULL;
}

static int add_san(gnutls_x509_crt_t cert, const char *san, char err[PKI_ERROR_MAX])
{
	unsigned char ip[16];
	int rc;

	if (inet_pton(AF_INET, san, ip) == 1)
		rc = gnutls_x509_crt_set_subject_alt_name(cert, GNUTLS_SAN_IPADDRESS, ip, 4,
							  GNUTLS_FSAN_APPEND);
	else if (inet_pton(AF_INET6, san, ip) == 1)
		rc = gnutls_x509_crt_set_subject_alt_name(cert, GNUTLS_SAN_IPADDRESS, ip, 16,
							  GNUTLS_FSAN_APPEND);
	else
		rc = gnutls_x509_crt_set_subject_alt_name(cert, GNUTLS_SAN_DNSNAME, san,
							  (unsigned)strlen(san), GNUTLS_FSAN_APPEND);
	if (rc < 0) {
		snprintf(err, PKI_ERROR_MAX, "adding the name %s: %s", san, gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

static int fill_leaf(gnutls_x509_crt_t cert, const struct pki_ca *ca,
		     const struct pki_request *request, char err[PKI_ERROR_MAX])
{
	unsigned char id[64];
	size_t id_size = sizeof id;
	unsigned critical;
	int rc;

	if ((rc = gnutls_x509_crt_set_basic_constraints(cert, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(cert, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (request->server &&
	     (rc = gnutls_x509_crt_set_key_purpose_oid(cert, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0) ||
	    (request->client &&
	     (rc = gnutls_x509_crt_set_key_purpose_oid(cert, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0))
		return fail(err, "filling in a certificate", rc);
	if (gnutls_x509_crt_get_subject_key_id(ca->cert, id, &id_size, &critical) >= 0 &&
	    (rc = gnutls_x509_crt_set_authority_key_id(cert, id, id_size)) < 0)
		return fail(err, "filling in a certificate", rc);
	for (const char *const *san = request->sans; san && *san; san++)
		if (add_san(cert, *san, err) < 0)
			return -1;
	if ((rc = gnutls_x509_crt_sign2(cert, ca->cert, ca->key, GNUTLS_DIG_SHA256, 0)) < 0)
		return fail(err, "signing a certificate", rc);
	return 0;
}

int pki_issue(const struct pki_ca *ca, const struct pki_request *request, char **cert_pem,
	      char **key_pem, char err[PKI_ERROR_MAX])
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t cert = NULL;
	int rc, status = -1;

	*cert_pem = *key_pem = NULL;
	if (new_key(&key, err) < 0)
		return -1;
	if ((rc = gnutls_x509_crt_init(&cert)) < 0) {
		fail(err, "making a certificate", rc);
		goto out;
	}
	if (fill_common(cert, key, request->common_name, request->organization, request->days,
			err) < 0 ||
	    fill_leaf(cert, ca, request, err) < 0 ||
	    export_cert(cert, cert_pem, err) < 0 || export_key(key, key_pem, err) < 0)
		goto out;
	status = 0;
out:
	if (status < 0) {
		free(*cert_pem);
		free(*key_pem);
		*cert_pem = *key_pem = NULL;
	}
	if (cert)
		gnutls_x509_crt_deinit(cert);
	gnutls_x509_privkey_deinit(key);
	return status;
}

int pki_keypair_generate(char **key_pem, char **public_pem, char err[PKI_ERROR_MAX])
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_privkey_t priv = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t out = { NULL, 0 };
	int rc;

	*key_pem = *public_pem = NULL;
	if (new_key(&key, err) < 0)
		return -1;
	if (export_key(key, key_pem, err) < 0)
		goto fail;
	if ((rc = gnutls_privkey_init(&priv)) < 0 ||
	    (rc = gnutls_privkey_import_x509(priv, key, 0)) < 0 ||
	    (rc = gnutls_pubkey_init(&pub)) < 0 ||
	    (rc = gnutls_pubkey_import_privkey(pub, priv, 0, 0)) < 0 ||
	    (rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &out)) < 0) {
		fail(err, "exporting a public key", rc);
		goto fail;
	}
	if (!(*public_pem = datum_to_string(&out))) {
		fail(err, "exporting a public key", GNUTLS_E_MEMORY_ERROR);
		goto fail;
	}
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);
	gnutls_x509_privkey_deinit(key);
	return 0;
fail:
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (priv)
		gnutls_privkey_deinit(priv);
	gnutls_x509_privkey_deinit(key);
	free(*key_pem);
	*key_pem = NULL;
	return -1;
}
