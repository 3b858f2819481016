/* serving.c - a worker's kubelet restarted to ask again for its serving certificate (kube.c,
 * watch_serving_cert): how long to wait before each restart, and the count of restarts that
 * the kubelet's definition carries, read back after cairnd itself restarts. Pure, tested in
 * tests/unit/test_kube.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"

long long kube_serving_wait_ms(unsigned tries)
{
	static const long long wait_s[] = { 180, 360, 720, 900 };

	return 1000 * wait_s[tries < 3 ? tries : 3];
}

unsigned kube_serving_asks_in(const char *definition)
{
	const char *at = definition ? strstr(definition, KUBE_SERVING_NOTE) : NULL;
	char *end;
	unsigned long n;

	if (!at)
		return 0;
	at += strlen(KUBE_SERVING_NOTE);
	if (*at < '0' || *at > '9')
		return 0;
	n = strtoul(at, &end, 10);
	return *end == '\n' && n <= 1000000 ? (unsigned)n : 0;
}
