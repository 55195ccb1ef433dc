// SPDX-License-Identifier: Apache-2.0
/* The one place a dataplane backend is chosen (lib/dp/dp.h). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dp.h"

extern const struct pw_dp_ops pw_dp_nft_ops, pw_dp_dry_ops;

static const struct pw_dp_ops *const backends[] = { &pw_dp_nft_ops, &pw_dp_dry_ops };
static const char *const names[] = { "nftables", "dry-run", NULL };

const char *const *pw_dp_backends(void)
{
	return names;
}

int pw_dp_open(struct pw_dp *dp, const char *name, const char *table,
	       const char *netns, struct pw_buf *err)
{
	memset(dp, 0, sizeof(*dp));
	dp->netns_fd = -1;
	for (size_t i = 0; i < PW_ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i]->name, name))
			dp->ops = backends[i];
	if (!dp->ops) {
		pw_buf_printf(err, "unknown dataplane \"%s\" (known: nftables, dry-run)", name);
		return -1;
	}
	snprintf(dp->table, sizeof(dp->table), "%s", table);
	if (netns) {
		char path[300];
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		dp->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (dp->netns_fd < 0) {
			pw_buf_printf(err, "no network namespace \"%s\"", netns);
			return -1;
		}
	}
	return 0;
}

void pw_dp_close(struct pw_dp *dp)
{
	if (dp->ops && dp->ops->close)
		dp->ops->close(dp);
	if (dp->netns_fd >= 0)
		close(dp->netns_fd);
	dp->netns_fd = -1;
	dp->ops = NULL;
}
