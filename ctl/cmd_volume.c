/* cmd_volume.c - `cairnctl volume peer-down NAME` (POST /v1/volumes/NAME/peer-down): the
 * operator's statement, to the node that is to take over Volume NAME, that the other node of
 * the Volume is down, so that node may promote it without the peer (services/storage/README.md,
 * "Failover"); `cairnctl volume resolve NAME --keep NODE` (POST
 * /v1/volumes/NAME/resolve?keep=NODE): the end of a split brain, to both nodes of the Volume,
 * keeping NODE's data (README.md, "Split brain"). Like the other node commands they go to
 * every node of -n. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "net.h"
#include "render.h"

#define VOLUME_NAME_MAX 63

static const char *const peer_down_columns[] = { "volume", "peer_down", "connection", NULL };
static const char *const resolve_columns[] = { "volume", "keep", "was", "here", NULL };

static bool volume_name_ok(const char *name)
{
	return *name && strlen(name) <= VOLUME_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(name);
}

/* The options (net options, and --keep into *KEEP when KEEP is not NULL) and the one Volume
 * NAME of both commands. CTL_EXIT_OK with *NAME set, or the exit code to return. */
static int volume_args(struct ctl_globals *globals, int argc, char **argv,
		       struct net_options *options, const char **name, const char **keep)
{
	static const struct option long_options[] = {
		{ "keep", required_argument, NULL, 'k' },
		NET_LONG_OPTIONS, CTL_GLOBAL_LONG_OPTIONS, { 0 },
	};
	const char *cmd = globals->command->name;
	int c, rc;

	net_options_init(options);
	optind = 0;
	opterr = 0;
	/* without KEEP, --keep is not an option of the command (an unknown option, as ever) */
	while ((c = getopt_long(argc, argv, CTL_GLOBAL_SHORT_OPTIONS, keep ? long_options :
				long_options + 1, NULL)) != -1) {
		if (c == 'k' && keep)
			*keep = optarg;
		else if ((rc = net_option(globals, options, c, optarg, argv)) != CTL_EXIT_OK)
			return rc == CTL_DONE ? CTL_DONE : rc;
	}
	if (argc - optind != 1)
		return ctl_usage_error(cmd, "expected one Volume NAME");
	*name = argv[optind];
	if (!volume_name_ok(*name))
		return ctl_usage_error(cmd, "'%s' is not a Volume name (lower-case letters, digits, "
				       "'-')", *name);
	return CTL_EXIT_OK;
}

int ctl_cmd_volume_peer_down(struct ctl_globals *globals, int argc, char **argv)
{
	const char *cmd = globals->command->name, *name;
	struct net_options options;
	char path[64 + VOLUME_NAME_MAX];
	int rc = volume_args(globals, argc, argv, &options, &name, NULL);

	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	snprintf(path, sizeof path, "/v1/volumes/%s/peer-down", name);
	return net_command(globals, &options, cmd,
			   &(struct net_request){ .method = "POST", .path = path },
			   render_replies, (void *)peer_down_columns);
}

int ctl_cmd_volume_resolve(struct ctl_globals *globals, int argc, char **argv)
{
	const char *cmd = globals->command->name, *name, *keep = NULL;
	struct net_options options;
	char path[96 + 2 * VOLUME_NAME_MAX];
	int rc = volume_args(globals, argc, argv, &options, &name, &keep);

	if (rc != CTL_EXIT_OK)
		return rc == CTL_DONE ? CTL_EXIT_OK : rc;
	if (!keep)
		return ctl_usage_error(cmd, "--keep NODE is required: the node whose data is kept "
				       "(the other node's writes since the split are discarded)");
	if (!*keep || strlen(keep) > VOLUME_NAME_MAX ||
	    strspn(keep, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
	    strlen(keep))
		return ctl_usage_error(cmd, "--keep: '%s' is not a node name", keep);
	snprintf(path, sizeof path, "/v1/volumes/%s/resolve?keep=%s", name, keep);
	return net_command(globals, &options, cmd,
			   &(struct net_request){ .method = "POST", .path = path },
			   render_replies, (void *)resolve_columns);
}
