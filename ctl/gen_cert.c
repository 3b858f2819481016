/* gen_cert.c - `cairnctl gen cert --ca-dir DIR --role ROLE --name NAME`: a further client
 * certificate (CN=NAME, O=cairn:ROLE) signed by the cluster CA in DIR (ca.crt, ca.key, as
 * `gen config` writes them), written to OUT/NAME.crt and OUT/NAME.key (0600). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "files.h"
#include "pki.h"

#define PEM_MAX (64 * 1024)

static const char cmd[] = "gen cert";

static bool valid_file_name(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= 64 && s[0] != '.' && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

static char *read_pem(const char *dir, const char *name)
{
	char *path = path_join(dir, name), *text;

	if (!path)
		return ctl_error(cmd, "out of memory"), NULL;
	text = fileio_read(path, PEM_MAX, NULL);
	if (!text)
		ctl_error(cmd, "%s: %s", path, strerror(errno));
	free(path);
	return text;
}

int ctl_cmd_gen_cert(struct ctl_globals *globals, int argc, char **argv)
{
	static const struct option options[] = {
		{ "ca-dir", required_argument, NULL, 'C' },
		{ "role", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'N' },
		{ "out", required_argument, NULL, 'O' },
		{ "force", no_argument, NULL, 'F' },
		CTL_GLOBAL_LONG_OPTIONS,
		{ 0 },
	};
	const char *ca_dir = NULL, *role = NULL, *name = NULL, *out_dir = ".";
	char org[32], err[PKI_ERROR_MAX], *ca_cert = NULL, *ca_key = NULL;
	struct out_file files[2] = { { 0 } };
	struct pki_ca ca = { 0 };
	bool force = false;
	int c, rc = CTL_EXIT_OK;

	optind = 0;
	opterr = 0;
	while (rc == CTL_EXIT_OK &&
	       (c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, options, NULL)) != -1) {
		switch (c) {
		case 'C': ca_dir = optarg; break;
		case 'r': role = optarg; break;
		case 'N': name = optarg; break;
		case 'O': out_dir = optarg; break;
		case 'F': force = true; break;
		default: rc = ctl_global_option(globals, c, optarg, argv); break;
		}
	}
	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!ca_dir || !role || !name)
		return ctl_usage_error(cmd, "--ca-dir, --role and --name are required");
	if (strcmp(role, "admin") != 0 && strcmp(role, "operator") != 0 &&
	    strcmp(role, "reader") != 0)
		return ctl_usage_error(cmd, "--role: '%s' is not admin, operator or reader", role);
	if (!valid_file_name(name))
		return ctl_usage_error(cmd, "--name: '%s' is not 1..64 of A-Z, a-z, 0-9, '.', '_' "
				       "and '-' (not starting with '.' or '-')", name);
	snprintf(org, sizeof org, "cairn:%s", role);

	rc = CTL_EXIT_FAIL;
	if (asprintf(&files[0].path, "%s/%s.crt", out_dir, name) < 0)
		files[0].path = NULL;
	if (asprintf(&files[1].path, "%s/%s.key", out_dir, name) < 0)
		files[1].path = NULL;
	if (!files[0].path || !files[1].path) {
		ctl_error(cmd, "out of memory");
		goto out;
	}
	files[0].mode = 0644;
	files[1].mode = 0600;
	if (out_files_check(cmd, files, 2, force) < 0)
		goto out;
	if (!(ca_cert = read_pem(ca_dir, "ca.crt")) || !(ca_key = read_pem(ca_dir, "ca.key")))
		goto out;
	if (pki_ca_import(ca_cert, ca_key, &ca, err) < 0 ||
	    pki_issue(&ca, &(struct pki_request){ .common_name = name, .organization = org,
			    .client = true, .days = PKI_CLIENT_DAYS },
		      &files[0].data, &files[1].data, err) < 0) {
		ctl_error(cmd, "%s", err);
		goto out;
	}
	if (out_files_write(cmd, out_dir, files, 2) == 0)
		rc = CTL_EXIT_OK;
out:
	out_files_free(files, 2);
	free(ca_cert);
	free(ca_key);
	pki_ca_free(&ca);
	return rc;
}
