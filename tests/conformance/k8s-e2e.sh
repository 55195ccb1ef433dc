#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Upstream Kubernetes e2e truth tables: every (case, step, probe) pair verdict.
. "$(dirname "$0")/../lib.sh"
root="$SHARED/conformance/k8s-e2e"
[ -d "$root" ] || { echo "k8s-e2e: $root missing"; exit 1; }
for step in "$root"/E*/step*/; do
	name=$(echo "$step" | sed "s|$root/||; s|/$||")
	awk -F'\t' 'NR > 1 { print $3, $4, $1 "/" $2, $5 }' "$step/expected.tsv" > "$TMP/exp"
	if ! $PODWALL eval -f "$step/manifests.yaml" --batch "$TMP/exp" > "$TMP/act" 2> "$TMP/err"; then
		fail "$name: podwall exited non-zero: $(head -3 "$TMP/err")"
		continue
	fi
	compare_verdicts "$name" "$TMP/exp" "$TMP/act"
done
summary k8s-e2e
