#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The kernel accepts the ruleset rendered for every behaviour case (both the
# set-based and the linear rendering), checked by nft in a private network
# namespace (unshare -n): nothing outside it is touched.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
for d in "$here"/cases/*/ "$here"/cli/0021-matrix-port-classes/ "$here"/cli/0060-calico-eval-tiers/; do
	name=nft/$(basename "$d")
	flags=$(cat "$d/flags" 2>/dev/null | sed 's/--staged//')
	for lin in 0 1; do
		# shellcheck disable=SC2086
		if ! PODWALL_NFT_LINEAR=$lin $PODWALL lab render -f "$d" $flags > "$TMP/script" 2> "$TMP/err"; then
			fail "$name: render: $(head -2 "$TMP/err")"
			continue
		fi
		if unshare -n nft -c -f "$TMP/script" > "$TMP/err" 2>&1; then
			pass
		else
			fail "$name (linear=$lin): nft refused the ruleset: $(head -3 "$TMP/err")"
		fi
	done
done
summary nft-check
