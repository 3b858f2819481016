/* validators.c - scalar validators for the config schema: IP addresses and CIDRs (inet_pton),
 * hostnames (RFC 1123), MACs, interface, sysctl and module names, PEM blocks, paths. Each
 * returns true when the value is good, may write a normalized form (lower case, RFC 5952
 * IPv6), and otherwise writes the reason that follows the quoted value in the message. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "schema.h"

static bool fail(struct config_check *check, const char *reason)
{
	snprintf(check->reason, sizeof check->reason, "%s", reason);
	return false;
}

static bool has_space_or_control(const char *s)
{
	for (; *s; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return true;
	return false;
}

/* Parses an address into BYTES (4 or 16); returns the family (4, 6) or 0. */
static int parse_address(const char *s, unsigned char bytes[16])
{
	if (inet_pton(AF_INET, s, bytes) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, bytes) == 1)
		return 6;
	return 0;
}

static void format_address(int family, const unsigned char bytes[16], char *buf, size_t size)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes, buf, (socklen_t)size))
		buf[0] = '\0';
}

bool config_valid_ip(const char *value, struct config_check *check)
{
	unsigned char bytes[16];
	int family = parse_address(value, bytes);

	if (!family)
		return fail(check, "is not an IP address");
	format_address(family, bytes, check->normal, sizeof check->normal);
	return true;
}

int config_address_family(const char *value)
{
	if (strcmp(value, "default") == 0)
		return 0;
	return strchr(value, ':') ? 6 : 4;
}

/* ADDRESS/PREFIX into BYTES, *FAMILY and *PREFIX; false with a reason. */
static bool parse_cidr(const char *value, unsigned char bytes[16], int *family, unsigned *prefix,
		       struct config_check *check)
{
	const char *slash = strchr(value, '/');
	char address[64];
	size_t digits;

	if (!slash || strchr(slash + 1, '/'))
		return fail(check, "is not a CIDR (expected ADDRESS/PREFIX, e.g. 10.0.0.5/24)");
	if ((size_t)(slash - value) >= sizeof address)
		return fail(check, "is not a CIDR: the address is not an IP address");
	memcpy(address, value, (size_t)(slash - value));
	address[slash - value] = '\0';
	*family = parse_address(address, bytes);
	if (!*family)
		return fail(check, "is not a CIDR: the address is not an IP address");
	digits = strspn(slash + 1, "0123456789");
	if (digits == 0 || digits > 3 || slash[1 + digits] != '\0' || (slash[1] == '0' && digits > 1))
		return fail(check, "is not a CIDR: the prefix length is not a number");
	*prefix = (unsigned)atoi(slash + 1);
	if (*prefix > (*family == 4 ? 32u : 128u))
		return fail(check, *family == 4 ? "is not a CIDR: the prefix length is over 32"
						: "is not a CIDR: the prefix length is over 128");
	return true;
}

bool config_valid_cidr(const char *value, struct config_check *check)
{
	unsigned char bytes[16];
	char address[INET6_ADDRSTRLEN];
	unsigned prefix;
	int family;

	if (!parse_cidr(value, bytes, &family, &prefix, check))
		return false;
	format_address(family, bytes, address, sizeof address);
	snprintf(check->normal, sizeof check->normal, "%s/%u", address, prefix);
	return true;
}

/* "default", or a network CIDR with no host bits set. */
bool config_valid_route_destination(const char *value, struct config_check *check)
{
	unsigned char bytes[16], network[16];
	char address[INET6_ADDRSTRLEN];
	unsigned prefix;
	int family;
	size_t size;

	if (strcmp(value, "default") == 0)
		return true;
	if (!parse_cidr(value, bytes, &family, &prefix, check)) {
		if (!strchr(value, '/'))
			return fail(check, "is not \"default\" or a CIDR (e.g. 10.1.0.0/16)");
		return false;
	}
	size = family == 4 ? 4 : 16;
	memset(network, 0, sizeof network);
	for (size_t i = 0; i < size; i++) {
		unsigned bits = prefix > i * 8 ? prefix - (unsigned)i * 8 : 0;
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
		network[i] = bytes[i] & mask;
	}
	format_address(family, network, address, sizeof address);
	if (memcmp(network, bytes, size) != 0) {
		snprintf(check->reason, sizeof check->reason,
			 "has host bits set (the network is %s/%u)", address, prefix);
		return false;
	}
	snprintf(check->normal, sizeof check->normal, "%s/%u", address, prefix);
	return true;
}

/* RFC 1123 labels: 1..63 letters, digits, '-', not starting or ending with '-'; 253 in all. */
static bool hostname_syntax(const char *value, bool *all_numeric)
{
	size_t len = strlen(value), label = 0;
	bool numeric_label = true;

	*all_numeric = true;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = value[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || value[i - 1] == '-')
				return false;
			if (!numeric_label)
				*all_numeric = false;
			label = 0;
			numeric_label = true;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			return false;
		if (label == 0 && c == '-')
			return false;
		if (!isdigit((unsigned char)c))
			numeric_label = false;
		if (++label > 63)
			return false;
	}
	return true;
}

static void lower_copy(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

bool config_valid_hostname(const char *value, struct config_check *check)
{
	bool numeric;

	if (!hostname_syntax(value, &numeric) || numeric)
		return fail(check, "is not a valid hostname (dot-separated labels of 1..63 letters, "
				   "digits and '-', not starting or ending with '-')");
	lower_copy(check->normal, sizeof check->normal, value);
	return true;
}

bool config_valid_host_or_ip(const char *value, struct config_check *check)
{
	bool numeric;

	if (config_valid_ip(value, check))
		return true;
	if (!hostname_syntax(value, &numeric) || numeric)
		return fail(check, "is not an IP address or a hostname");
	lower_copy(check->normal, sizeof check->normal, value);
	return true;
}

/* A certificate subject alternative name: an IP address, a DNS name, or "*.DNS-NAME". */
bool config_valid_san(const char *value, struct config_check *check)
{
	const char *name = strncmp(value, "*.", 2) == 0 ? value + 2 : value;
	bool numeric;

	if (name == value && config_valid_ip(value, check))
		return true;
	if (!hostname_syntax(name, &numeric) || numeric)
		return fail(check, "is not an IP address, a DNS name or a *.DNS-NAME wildcard");
	lower_copy(check->normal, sizeof check->normal, value);
	return true;
}

bool config_valid_mac(const char *value, struct config_check *check)
{
	char separator;

	if (strlen(value) != 17 || ((separator = value[2]) != ':' && separator != '-'))
		return fail(check, "is not a MAC address (expected six hex pairs, aa:bb:cc:dd:ee:ff)");
	for (size_t i = 0; i < 17; i++) {
		bool ok = i % 3 == 2 ? value[i] == separator : isxdigit((unsigned char)value[i]) != 0;
		if (!ok)
			return fail(check, "is not a MAC address (expected six hex pairs, aa:bb:cc:dd:ee:ff)");
	}
	lower_copy(check->normal, sizeof check->normal, value);
	for (size_t i = 2; i < 17; i += 3)
		check->normal[i] = ':';
	return true;
}

/* Linux link names: 1..15 of [A-Za-z0-9_.-], not "." or "..". */
bool config_valid_interface_name(const char *value, struct config_check *check)
{
	size_t len = strlen(value);

	if (len == 0 || len > 15 || strcmp(value, ".") == 0 || strcmp(value, "..") == 0 ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return fail(check, "is not an interface name (1..15 letters, digits, '_', '.', '-')");
	return true;
}

/* Dotted names: at least two segments of [A-Za-z0-9_-], at most 255 characters. */
bool config_valid_sysctl_name(const char *value, struct config_check *check)
{
	size_t len = strlen(value), segment = 0, segments = 0;

	if (len == 0 || len > 255)
		return fail(check, "is not a sysctl name (dotted, e.g. net.ipv4.ip_forward)");
	for (size_t i = 0; i <= len; i++) {
		char c = value[i];
		if (c == '.' || c == '\0') {
			if (segment == 0)
				return fail(check, "is not a sysctl name (dotted, e.g. net.ipv4.ip_forward)");
			segment = 0;
			segments++;
		} else if (isalnum((unsigned char)c) || c == '_' || c == '-') {
			segment++;
		} else {
			return fail(check, "is not a sysctl name (dotted, e.g. net.ipv4.ip_forward)");
		}
	}
	if (segments < 2)
		return fail(check, "is not a sysctl name (dotted, e.g. net.ipv4.ip_forward)");
	return true;
}

bool config_valid_sysctl_value(const char *value, struct config_check *check)
{
	if (value[0] == '\0')
		return fail(check, "is empty");
	if (strlen(value) > 4096)
		return fail(check, "is longer than 4096 characters");
	for (const char *c = value; *c; c++)
		if (*c == '\n' || *c == '\r' || (iscntrl((unsigned char)*c) && *c != '\t'))
			return fail(check, "contains a line break or control character");
	return true;
}

bool config_valid_module_name(const char *value, struct config_check *check)
{
	size_t len = strlen(value);

	if (len == 0 || len > 55 ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != len)
		return fail(check, "is not a module name (1..55 letters, digits, '_', '-')");
	return true;
}

/* NAME or NAME=VALUE, NAME of [A-Za-z0-9_.-], no whitespace. */
bool config_valid_module_parameter(const char *value, struct config_check *check)
{
	size_t name = strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

	if (name == 0 || (value[name] != '\0' && value[name] != '=') || has_space_or_control(value) ||
	    strlen(value) > 1024)
		return fail(check, "is not a module parameter (NAME or NAME=VALUE, no whitespace)");
	return true;
}

/* One "-----BEGIN LABEL-----" ... "-----END LABEL-----" block at *P, base64 inside. The label
 * goes to LABEL; *P moves past the block. */
static bool pem_block(const char **p, char *label, size_t label_size)
{
	const char *s = *p, *end_label, *end;
	size_t label_len, base64 = 0;
	char closing[128];

	if (strncmp(s, "-----BEGIN ", 11) != 0)
		return false;
	s += 11;
	end_label = strstr(s, "-----");
	if (!end_label || end_label == s || (size_t)(end_label - s) >= label_size)
		return false;
	label_len = (size_t)(end_label - s);
	memcpy(label, s, label_len);
	label[label_len] = '\0';
	if (strpbrk(label, "\n\r"))
		return false;
	s = end_label + 5;
	snprintf(closing, sizeof closing, "-----END %s-----", label);
	end = strstr(s, closing);
	if (!end)
		return false;
	for (; s < end; s++) {
		if (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
			continue;
		if (!isalnum((unsigned char)*s) && *s != '+' && *s != '/' && *s != '=')
			return false;
		base64++;
	}
	if (base64 == 0 || base64 % 4 != 0)
		return false;
	*p = end + strlen(closing);
	return true;
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

bool config_valid_pem_certificate(const char *value, struct config_check *check)
{
	const char *p = skip_space(value);
	char label[64];
	int blocks = 0;

	while (*p) {
		if (!pem_block(&p, label, sizeof label) || strcmp(label, "CERTIFICATE") != 0)
			return fail(check, "is not a PEM certificate (-----BEGIN CERTIFICATE----- "
					   "... -----END CERTIFICATE-----)");
		blocks++;
		p = skip_space(p);
	}
	if (blocks == 0)
		return fail(check, "is not a PEM certificate (-----BEGIN CERTIFICATE----- "
				   "... -----END CERTIFICATE-----)");
	return true;
}

bool config_valid_pem_private_key(const char *value, struct config_check *check)
{
	const char *p = skip_space(value);
	char label[64];
	size_t len;

	if (!pem_block(&p, label, sizeof label) || *skip_space(p) != '\0' ||
	    (len = strlen(label)) < 11 || strcmp(label + len - 11, "PRIVATE KEY") != 0)
		return fail(check, "is not one PEM private key block (-----BEGIN PRIVATE KEY----- "
				   "... -----END PRIVATE KEY-----)");
	return true;
}

bool config_valid_pem_public_key(const char *value, struct config_check *check)
{
	const char *p = skip_space(value);
	char label[64];

	if (!pem_block(&p, label, sizeof label) || *skip_space(p) != '\0' ||
	    strcmp(label, "PUBLIC KEY") != 0)
		return fail(check, "is not one PEM public key block (-----BEGIN PUBLIC KEY----- "
				   "... -----END PUBLIC KEY-----)");
	return true;
}

/* /dev/NAME[/NAME...], no whitespace, no "." or ".." segment. */
bool config_valid_device_path(const char *value, struct config_check *check)
{
	const char *reason = "is not a device path (/dev/...)";
	size_t len = strlen(value);

	if (strncmp(value, "/dev/", 5) != 0 || len == 5 || len > 255 || value[len - 1] == '/' ||
	    has_space_or_control(value) || strstr(value, "//") || strstr(value, "/./") ||
	    strstr(value, "/../") || (len >= 3 && strcmp(value + len - 3, "/..") == 0) ||
	    (len >= 2 && strcmp(value + len - 2, "/.") == 0))
		return fail(check, reason);
	return true;
}

/* An image reference or URL: 1..1024 characters, no whitespace. */
bool config_valid_image(const char *value, struct config_check *check)
{
	if (value[0] == '\0' || strlen(value) > 1024 || has_space_or_control(value))
		return fail(check, "is not an image reference (1..1024 characters, no whitespace)");
	return true;
}

bool config_valid_api_version(const char *value, struct config_check *check)
{
	if (strcmp(value, CONFIG_API_VERSION) != 0)
		return fail(check, "is not a supported apiVersion (expected " CONFIG_API_VERSION ")");
	return true;
}

/* Object names: lower-case DNS names (RFC 1123), as Kubernetes names objects. */
bool config_valid_object_name(const char *value, struct config_check *check)
{
	bool numeric;

	for (const char *c = value; *c; c++)
		if (isupper((unsigned char)*c))
			return fail(check, "is not a name (lower-case letters, digits, '-', '.')");
	if (!hostname_syntax(value, &numeric))
		return fail(check, "is not a name (lower-case letters, digits, '-', '.')");
	return true;
}

/* The node a VirtualMachine runs on: a MachineConfig hostname or metadata.name (RFC 1123
 * labels, all-numeric allowed), stored lower case. */
bool config_valid_node_name(const char *value, struct config_check *check)
{
	bool numeric;

	if (!hostname_syntax(value, &numeric))
		return fail(check, "is not a node name (a hostname or metadata.name: dot-separated "
				   "labels of 1..63 letters, digits and '-')");
	lower_copy(check->normal, sizeof check->normal, value);
	return true;
}

/* "NUMBER" + "Mi" or "Gi", NUMBER plain decimal without a leading zero: the MiB, else -1. */
long long config_size_mib(const char *value)
{
	size_t digits = strspn(value, "0123456789");
	long long number;

	if (digits == 0 || digits > 15 || (value[0] == '0' && digits > 1) ||
	    (strcmp(value + digits, "Mi") != 0 && strcmp(value + digits, "Gi") != 0))
		return -1;
	number = strtoll(value, NULL, 10);
	return value[digits] == 'G' ? number * 1024 : number;
}

/* A size in [MIN, MAX] MiB, normalized to "NGi" when a whole number of GiB, else "NMi". */
static bool valid_size(const char *value, long long min, long long max, struct config_check *check)
{
	long long mib = config_size_mib(value);

	if (mib < 0)
		return fail(check, "is not a size (an integer with unit Mi or Gi, e.g. 512Mi or 2Gi)");
	if (mib < min || mib > max) {
		snprintf(check->reason, sizeof check->reason, "is out of range %lld%s..%lld%s",
			 min % 1024 ? min : min / 1024, min % 1024 ? "Mi" : "Gi",
			 max % 1024 ? max : max / 1024, max % 1024 ? "Mi" : "Gi");
		return false;
	}
	snprintf(check->normal, sizeof check->normal, "%lld%s", mib % 1024 ? mib : mib / 1024,
		 mib % 1024 ? "Mi" : "Gi");
	return true;
}

/* VirtualMachine memory: 16Mi..1024Gi. */
bool config_valid_memory(const char *value, struct config_check *check)
{
	return valid_size(value, 16, 1024LL * 1024, check);
}

/* An empty disk to create: 1Mi..65536Gi (64 TiB). */
bool config_valid_disk_size(const char *value, struct config_check *check)
{
	return valid_size(value, 1, 65536LL * 1024, check);
}

/* An absolute path on the node: "/" then segments, at most 4095 characters, no whitespace,
 * control character or ',' (QEMU's option separator), no empty, "." or ".." segment. */
bool config_valid_absolute_path(const char *value, struct config_check *check)
{
	size_t len = strlen(value);

	if (value[0] != '/' || len < 2 || len > 4095 || value[len - 1] == '/' ||
	    has_space_or_control(value) || strchr(value, ',') || strstr(value, "//") ||
	    strstr(value, "/./") || strstr(value, "/../") ||
	    (len >= 3 && strcmp(value + len - 3, "/..") == 0) ||
	    (len >= 2 && strcmp(value + len - 2, "/.") == 0))
		return fail(check, "is not an absolute path (/..., no whitespace, ',', '.' or '..' "
				   "segments)");
	return true;
}

/* A disk of a VM: 1..63 of [a-z0-9-], not starting or ending with '-' (a file name and a QEMU
 * id). */
bool config_valid_disk_name(const char *value, struct config_check *check)
{
	size_t len = strlen(value);

	if (len == 0 || len > 63 || value[0] == '-' || value[len - 1] == '-' ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
		return fail(check, "is not a disk name (1..63 of a-z, 0-9, '-', not starting or "
				   "ending with '-')");
	return true;
}

/* A guest kernel command line: at most 2047 characters (x86 COMMAND_LINE_SIZE less the NUL),
 * no control character. */
bool config_valid_kernel_cmdline(const char *value, struct config_check *check)
{
	if (strlen(value) > 2047)
		return fail(check, "is longer than 2047 characters");
	for (const char *c = value; *c; c++)
		if (iscntrl((unsigned char)*c))
			return fail(check, "contains a line break or control character");
	return true;
}

/* A NIC's MAC: as config_valid_mac, and unicast (the first octet even) and not all zero. */
bool config_valid_unicast_mac(const char *value, struct config_check *check)
{
	if (!config_valid_mac(value, check))
		return false;
	if (strtol(check->normal, NULL, 16) & 1)
		return fail(check, "is a multicast MAC address (the first octet must be even)");
	if (strcmp(check->normal, "00:00:00:00:00:00") == 0)
		return fail(check, "is the all-zero MAC address");
	return true;
}

/* ---- IPv4 for the Network kind ---- */

bool config_ipv4_parse(const char *value, uint32_t *address)
{
	struct in_addr in;

	if (!value || inet_pton(AF_INET, value, &in) != 1)
		return false;
	*address = ntohl(in.s_addr);
	return true;
}

void config_ipv4_format(uint32_t address, char buf[16])
{
	struct in_addr in = { .s_addr = htonl(address) };

	if (!inet_ntop(AF_INET, &in, buf, 16))
		buf[0] = '\0';
}

bool config_ipv4_cidr_parse(const char *value, uint32_t *network, unsigned *prefix)
{
	struct config_check check;
	unsigned char bytes[16];
	int family;

	if (!value || !parse_cidr(value, bytes, &family, prefix, &check) || family != 4)
		return false;
	*network = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
	return true;
}

uint32_t config_ipv4_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

bool config_valid_ipv4(const char *value, struct config_check *check)
{
	uint32_t address;

	if (!config_ipv4_parse(value, &address))
		return fail(check, "is not an IPv4 address");
	config_ipv4_format(address, check->normal);
	return true;
}

/* A Network's or an external network's CIDR: IPv4, no host bits, prefix 8..30 (a /31 or /32
 * has no room for a gateway and a VM; shorter than /8 is a mistake). */
bool config_valid_ipv4_network(const char *value, struct config_check *check)
{
	unsigned char bytes[16];
	char address[16];
	uint32_t network;
	unsigned prefix;
	int family;

	if (!parse_cidr(value, bytes, &family, &prefix, check))
		return false;
	if (family != 4 || !config_ipv4_cidr_parse(value, &network, &prefix))
		return fail(check, "is not an IPv4 CIDR (Networks are IPv4, e.g. 10.10.0.0/24)");
	if (prefix < 8 || prefix > 30) {
		snprintf(check->reason, sizeof check->reason,
			 "has prefix length %u; a network needs 8..30", prefix);
		return false;
	}
	if (network & ~config_ipv4_mask(prefix)) {
		config_ipv4_format(network & config_ipv4_mask(prefix), address);
		snprintf(check->reason, sizeof check->reason,
			 "has host bits set (the network is %s/%u)", address, prefix);
		return false;
	}
	config_ipv4_format(network, address);
	snprintf(check->normal, sizeof check->normal, "%s/%u", address, prefix);
	return true;
}

/* An IPv4 address, or a range FIRST-LAST with FIRST <= LAST. */
bool config_valid_ipv4_range(const char *value, struct config_check *check)
{
	const char *dash = strchr(value, '-');
	char first[16], last[16], text[64];
	uint32_t a, b;

	if (!dash)
		return config_valid_ipv4(value, check);
	if ((size_t)(dash - value) >= sizeof text || strlen(dash + 1) >= sizeof text)
		return fail(check, "is not an IPv4 address or range (10.0.0.2 or 10.0.0.2-10.0.0.9)");
	memcpy(text, value, (size_t)(dash - value));
	text[dash - value] = '\0';
	if (!config_ipv4_parse(text, &a) || !config_ipv4_parse(dash + 1, &b))
		return fail(check, "is not an IPv4 address or range (10.0.0.2 or 10.0.0.2-10.0.0.9)");
	if (a > b)
		return fail(check, "is a range that ends before it starts");
	config_ipv4_format(a, first);
	config_ipv4_format(b, last);
	snprintf(check->normal, sizeof check->normal, "%s-%s", first, last);
	return true;
}

/* The physical network name of a localnet port (ovn-bridge-mappings "NAME:BRIDGE"): 1..64 of
 * letters, digits, '_', '.', '-'. */
bool config_valid_physical_network(const char *value, struct config_check *check)
{
	size_t len = strlen(value);

	if (len == 0 || len > 64 ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return fail(check, "is not a physical network name (1..64 letters, digits, '_', '.', '-')");
	return true;
}
