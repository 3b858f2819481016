/* digest.c - SHA-256 of a file with the kernel crypto API (AF_ALG "hash"/"sha256"):
 * no hand-written crypto, and fast under QEMU TCG. */
#include "stage1.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_alg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif

#define DIGEST_CHUNK (1024 * 1024)

int digest_sha256_file(const char *path, char hex[65], const char **error)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG };
	unsigned char sum[32];
	int tfm = -1, op = -1, fd = -1, rc = -1;
	char *buf = NULL;
	ssize_t n;

	strcpy((char *)sa.salg_type, "hash");
	strcpy((char *)sa.salg_name, "sha256");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*error = "open";
		goto out;
	}
	if ((tfm = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(tfm, (struct sockaddr *)&sa, sizeof sa) < 0 || (op = accept(tfm, NULL, 0)) < 0) {
		*error = "AF_ALG sha256 (modules af_alg, algif_hash, sha256)";
		goto out;
	}
	if (!(buf = malloc(DIGEST_CHUNK))) {
		*error = "out of memory";
		goto out;
	}
	while ((n = read(fd, buf, DIGEST_CHUNK)) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t sent = send(op, buf + off, (size_t)(n - off), MSG_MORE);
			if (sent < 0) {
				*error = "AF_ALG send";
				goto out;
			}
			off += sent;
		}
	}
	if (n < 0) {
		*error = "read";
		goto out;
	}
	if (read(op, sum, sizeof sum) != (ssize_t)sizeof sum) {
		*error = "AF_ALG read digest";
		goto out;
	}
	for (size_t i = 0; i < sizeof sum; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
	rc = 0;
out:
	free(buf);
	if (op >= 0)
		close(op);
	if (tfm >= 0)
		close(tfm);
	if (fd >= 0)
		close(fd);
	return rc;
}
