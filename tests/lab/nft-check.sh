#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The kernel accepts the ruleset rendered for every behaviour case and for
# random clusters from `podwall gen` (Kubernetes, Calico with nets, with
# Services), both the set-based and the linear rendering, loaded by nft in
# a private network namespace (unshare -n): nothing outside it is touched.
# (Overlapping elements of an interval set of concatenations, which the
# kernel refuses with "File exists", show up only on such clusters.)
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
for s in 1 2 3 4 5 6; do
	mkdir -p "$TMP/gen-$s"
	case $((s % 3)) in
	0) kind= ;;
	1) kind=--services ;;
	2) kind=--nets ;;
	esac
	$PODWALL gen --pods $((12 + s * 6)) --policies $((8 + s * 4)) --namespaces 2 --seed $s $kind \
		> "$TMP/gen-$s/cluster.yaml"
done
for d in "$here"/cases/*/ "$here"/cli/0021-matrix-port-classes/ "$here"/cli/0060-calico-eval-tiers/ \
	"$TMP"/gen-*/; do
	name=nft/$(basename "$d")
	flags=$(cat "$d/flags" 2>/dev/null | sed 's/--staged//')
	for lin in 0 1; do
		# shellcheck disable=SC2086
		if ! PODWALL_NFT_LINEAR=$lin $PODWALL lab render -f "$d" $flags > "$TMP/script" 2> "$TMP/err"; then
			fail "$name: render: $(head -2 "$TMP/err")"
			continue
		fi
		if unshare -n nft -f "$TMP/script" > "$TMP/err" 2>&1; then
			pass
		else
			fail "$name (linear=$lin): nft refused the ruleset: $(head -3 "$TMP/err")"
		fi
	done
done
summary nft-check
