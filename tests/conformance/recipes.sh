#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ahmetb network-policy recipes: scenario verdicts (ip:ADDR = outside host).
. "$(dirname "$0")/../lib.sh"
root="$SHARED/conformance/recipes/scenarios"
[ -d "$root" ] || { echo "recipes: $root missing"; exit 1; }
for sc in "$root"/*/; do
	name=recipes/$(basename "$sc")
	awk -F'\t' 'NR > 1 { sub(/^ip:/, "", $1); sub(/^ip:/, "", $2); print $1, $2, $3 "/" $4, $5 }' \
		"$sc/expected.tsv" > "$TMP/exp"
	if ! $PODWALL eval -f "$sc/manifests.yaml" --batch "$TMP/exp" > "$TMP/act" 2> "$TMP/err"; then
		fail "$name: podwall exited non-zero: $(head -3 "$TMP/err")"
		continue
	fi
	compare_verdicts "$name" "$TMP/exp" "$TMP/act"
done
summary recipes
