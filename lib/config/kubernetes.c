/* kubernetes.c - MachineConfig's .spec.kubernetes: the node's part in the cluster's Kubernetes
 * (services/kube). The cluster secrets come from `cairnctl gen config --kubernetes`: the
 * Kubernetes CA's certificate (every node) and key (control planes, which issue their own
 * certificates; a worker's kubelet gets its own through its bootstrap token, whose Secret the
 * control planes make from bootstrapTokens), and on
 * control-plane nodes the etcd CA and the service-account key pair. `nodes` lists every node
 * of the cluster with its address and pod range: the routes between pods go over the cluster
 * network, and the control-plane nodes among them are etcd's members. With `ovnNetwork` the
 * pods go on that OVN Network instead (services/kube/cni), which needs the node's `ovn`. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "schema.h"
#include "yaml_tree.h"

/* A bootstrap token: [a-z0-9]{6}.[a-z0-9]{16} (Kubernetes' format). */
static bool valid_token(const char *value, struct config_check *check)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	if (strlen(value) == 23 && strspn(value, set) == 6 && value[6] == '.' &&
	    strspn(value + 7, set) == 16)
		return true;
	snprintf(check->reason, sizeof check->reason,
		 "is not a bootstrap token (6 and 16 of a-z 0-9, joined by '.')");
	return false;
}

static const struct config_schema ipv4 = {
	.type = CONFIG_STRING, .what = "an IPv4 address", .validator = config_valid_ipv4 };
static const struct config_schema network = {
	.type = CONFIG_STRING, .what = "an IPv4 CIDR", .validator = config_valid_ipv4_network };
static const struct config_schema pod_network = {
	.type = CONFIG_STRING, .what = "an IPv4 CIDR", .validator = config_valid_ipv4_network,
	.default_yaml = "10.244.0.0/16" };
static const struct config_schema service_network = {
	.type = CONFIG_STRING, .what = "an IPv4 CIDR", .validator = config_valid_ipv4_network,
	.default_yaml = "10.96.0.0/12" };
static const struct config_schema certificate = {
	.type = CONFIG_STRING, .what = "a PEM certificate",
	.validator = config_valid_pem_certificate };
static const struct config_schema private_key = {
	.type = CONFIG_STRING, .what = "a PEM private key",
	.validator = config_valid_pem_private_key, .secret = true };
static const struct config_schema public_key = {
	.type = CONFIG_STRING, .what = "a PEM public key",
	.validator = config_valid_pem_public_key };
static const struct config_schema token = {
	.type = CONFIG_STRING, .what = "a bootstrap token", .validator = valid_token,
	.secret = true };
/* Each node's own bootstrap token, by name: a control plane makes the workers' Secrets and
 * approves a token's requests for its node only. */
static const struct config_schema tokens = {
	.type = CONFIG_MAP, .items = &token, .key_validator = config_valid_node_name,
	.max_items = 256 };
static const struct config_schema boolean = { .type = CONFIG_BOOL };
static const struct config_schema network_name = {
	.type = CONFIG_STRING, .what = "a Network name", .validator = config_valid_object_name };

static const struct config_field ca_fields[] = {
	{ "cert", &certificate, true },
	{ "key", &private_key, true },
	{ NULL, NULL, false },
};
static const struct config_schema ca = { .type = CONFIG_OBJECT, .fields = ca_fields };
/* The Kubernetes CA: its key only on control planes (config_check_machine_kubernetes); a
 * worker's kubelet gets its certificates through the bootstrap token. */
static const struct config_field kube_ca_fields[] = {
	{ "cert", &certificate, true },
	{ "key", &private_key, false },
	{ NULL, NULL, false },
};
static const struct config_schema kube_ca = { .type = CONFIG_OBJECT, .fields = kube_ca_fields };
static const struct config_field sa_fields[] = {
	{ "key", &private_key, true },
	{ "public", &public_key, true },
	{ NULL, NULL, false },
};
static const struct config_schema service_account = {
	.type = CONFIG_OBJECT, .fields = sa_fields };

static const struct config_field member_fields[] = {
	{ "address", &ipv4, true },
	{ "podCIDR", &network, true },
	{ "controlPlane", &boolean, false },
	{ NULL, NULL, false },
};
static const struct config_schema member = { .type = CONFIG_OBJECT, .fields = member_fields };
static const struct config_schema members = {
	.type = CONFIG_MAP, .items = &member, .key_validator = config_valid_node_name,
	.max_items = 256 };

/* Every node of bootstrapTokens is in nodes, and no two tokens share an ID (the API server knows
 * a token by it, and so does the approval of its requests). */
static void check_tokens(struct config_decoder *decoder, const struct ynode *node,
			 const json_t *kube)
{
	const json_t *tokens = json_object_get(kube, "bootstrapTokens"), *t, *o;
	const struct ynode *ytokens = ynode_mapping_get(node, "bootstrapTokens");
	const char *name, *other;

	json_object_foreach((json_t *)tokens, name, t) {
		const struct ynode *at = ytokens && ytokens->type == YNODE_MAPPING ?
			ynode_mapping_get(ytokens, name) : NULL;
		unsigned line = at ? at->line : node->line;
		const char *token = json_string_value(t);
		char field[96];

		snprintf(field, sizeof field, "bootstrapTokens.%.60s", name);
		if (!json_object_get(json_object_get(kube, "nodes"), name))
			config_decoder_error(decoder, line, field,
					     "names node %s, which is not in nodes", name);
		json_object_foreach((json_t *)tokens, other, o) {
			const char *otoken = json_string_value(o);
			if (strcmp(other, name) < 0 && token && otoken &&
			    strncmp(token, otoken, 6) == 0)
				config_decoder_error(decoder, line, field,
						     "has the token ID of node %s's token (each "
						     "node's token needs its own ID)", other);
		}
	}
}

/* Every member's pod range lies in the cluster's and overlaps no other; one control plane at
 * least; the endpoint is a control plane's address; the tokens name nodes (check_tokens). */
static void check_kubernetes(struct config_decoder *decoder, const struct ynode *node,
			     json_t *kube)
{
	const char *cluster = json_string_value(json_object_get(kube, "podSubnet"));
	const char *endpoint = json_string_value(json_object_get(kube, "endpoint"));
	const json_t *nodes = json_object_get(kube, "nodes"), *m, *o;
	const struct ynode *ynodes = ynode_mapping_get(node, "nodes");
	uint32_t cnet, net, onet;
	unsigned cprefix, prefix, oprefix;
	bool control_plane = false, endpoint_found = false;
	const char *name, *other;

	if (nodes)
		check_tokens(decoder, node, kube);
	if (!cluster || !config_ipv4_cidr_parse(cluster, &cnet, &cprefix))
		return;
	json_object_foreach((json_t *)nodes, name, m) {
		const char *cidr = json_string_value(json_object_get(m, "podCIDR"));
		const char *address = json_string_value(json_object_get(m, "address"));
		const struct ynode *at = ynodes && ynodes->type == YNODE_MAPPING ?
			ynode_mapping_get(ynodes, name) : NULL;
		unsigned line = at ? at->line : node->line;
		char field[96];

		snprintf(field, sizeof field, "nodes.%.60s.podCIDR", name);
		if (json_is_true(json_object_get(m, "controlPlane"))) {
			control_plane = true;
			endpoint_found = endpoint_found || (address && endpoint &&
							    strcmp(address, endpoint) == 0);
		}
		if (!cidr || !config_ipv4_cidr_parse(cidr, &net, &prefix))
			continue;
		if (prefix < cprefix || (net & config_ipv4_mask(cprefix)) != cnet)
			config_decoder_error(decoder, line, field, "%s is not inside podSubnet %s",
					     cidr, cluster);
		json_object_foreach((json_t *)nodes, other, o) {
			const char *ocidr = json_string_value(json_object_get(o, "podCIDR"));
			unsigned p;
			if (strcmp(other, name) >= 0 || !ocidr ||
			    !config_ipv4_cidr_parse(ocidr, &onet, &oprefix))
				continue;
			p = prefix < oprefix ? prefix : oprefix;
			if ((net & config_ipv4_mask(p)) == (onet & config_ipv4_mask(p)))
				config_decoder_error(decoder, line, field,
						     "%s overlaps node %s's %s", cidr, other, ocidr);
		}
	}
	if (nodes && !control_plane)
		config_decoder_error(decoder, node->line, "nodes",
				     "names no node with controlPlane: true (etcd needs a member)");
	else if (nodes && endpoint && !endpoint_found)
		config_decoder_error(decoder, node->line, "endpoint",
				     "%s is not the address of a node with controlPlane: true",
				     endpoint);
}

static const struct config_field kubernetes_fields[] = {
	{ "address", &ipv4, true },
	{ "endpoint", &ipv4, true },
	{ "podSubnet", &pod_network, false },
	{ "serviceSubnet", &service_network, false },
	{ "nodes", &members, true },
	{ "ca", &kube_ca, true },
	{ "etcdCA", &ca, false },
	{ "serviceAccount", &service_account, false },
	{ "bootstrapToken", &token, false },
	{ "bootstrapTokens", &tokens, false },
	{ "ovnNetwork", &network_name, false },
	{ NULL, NULL, false },
};
const struct config_schema config_kubernetes_schema = {
	.type = CONFIG_OBJECT, .fields = kubernetes_fields, .check = check_kubernetes };

/* A control-plane node holds the etcd CA and the service-account keys, is in `nodes` as a
 * control plane under its own name, with its own address. */
void config_check_machine_kubernetes(struct config_decoder *decoder, const struct ynode *node,
				     json_t *spec)
{
	const json_t *kube = json_object_get(spec, "kubernetes"), *self = NULL, *m;
	const char *role = json_string_value(json_object_get(spec, "role"));
	const char *address = json_string_value(json_object_get(kube, "address"));
	const struct ynode *ykube = ynode_mapping_get(node, "kubernetes");
	unsigned line = ykube ? ykube->line : node->line;
	bool cp = role && strcmp(role, "controlplane") == 0;
	const char *name;

	if (!kube)
		return;
	if (cp && !json_object_get(kube, "etcdCA"))
		config_decoder_error(decoder, line, "kubernetes.etcdCA",
				     "is required on a node with role controlplane");
	if (cp && json_object_get(kube, "ca") && !json_object_get(json_object_get(kube, "ca"), "key"))
		config_decoder_error(decoder, line, "kubernetes.ca.key",
				     "is required on a node with role controlplane (it signs the "
				     "cluster's certificates)");
	if (!cp && !json_object_get(kube, "bootstrapToken"))
		config_decoder_error(decoder, line, "kubernetes.bootstrapToken",
				     "is required on a node with role worker (its kubelet joins with it)");
	if (!cp && json_object_get(kube, "bootstrapTokens"))
		config_decoder_error(decoder, line, "kubernetes.bootstrapTokens",
				     "is a control plane's (it makes each worker's token); a worker "
				     "holds its own bootstrapToken only");
	if (json_object_get(kube, "ovnNetwork") && !json_object_get(spec, "ovn"))
		config_decoder_error(decoder, line, "kubernetes.ovnNetwork",
				     "puts the pods on an OVN Network, but this node has no ovn section");
	if (cp && !json_object_get(kube, "serviceAccount"))
		config_decoder_error(decoder, line, "kubernetes.serviceAccount",
				     "is required on a node with role controlplane");
	json_object_foreach((json_t *)json_object_get(kube, "nodes"), name, m) {
		const char *a = json_string_value(json_object_get(m, "address"));
		if (address && a && strcmp(a, address) == 0)
			self = m;
	}
	if (address && !self)
		config_decoder_error(decoder, line, "kubernetes.address",
				     "%s is not the address of any node in kubernetes.nodes", address);
	else if (self && cp != json_is_true(json_object_get(self, "controlPlane")))
		config_decoder_error(decoder, line, "kubernetes.nodes",
				     "this node (%s) has role %s but controlPlane: %s", address,
				     role ? role : "?", cp ? "false" : "true");
}
