#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Random clusters from `podwall gen` on real packets (root): Kubernetes,
# Calico with tiers, nets and network sets, each run in the lab and probed
# from every pod to every other; observed must equal the engine on every
# tested cell, and both verdicts must occur.  (These shapes, unlike the
# hand-written cases, make rules whose (address . protocol . port) lookups
# overlap.)
. "$(dirname "$0")/../lib.sh"
L=pwt-gen
trap '$PODWALL lab down --name $L > /dev/null 2>&1; rm -rf "$TMP"' EXIT INT TERM
# seeds chosen so that some pods may reach others (default deny everywhere
# otherwise): policies seed kind
for spec in "60 5 " "60 5 --calico" "80 1 --nets" "60 5 --services"; do
	pols=${spec%% *}
	rest=${spec#* }
	seed=${rest%% *}
	kind=${rest#* }
	name="gen seed $seed $kind"
	# shellcheck disable=SC2086
	$PODWALL gen --pods 24 --policies $pols --namespaces 2 --seed $seed $kind > "$TMP/c.yaml"
	$PODWALL lab down --name $L > /dev/null 2>&1
	if ! $PODWALL lab up -f "$TMP/c.yaml" --name $L --no-external > "$TMP/up" 2>&1; then
		fail "$name: lab up: $(tail -2 "$TMP/up")"
		continue
	fi
	$PODWALL lab probe --name $L -o tsv > "$TMP/probe" 2> "$TMP/err"
	awk -F'\t' '$4 != "untested" && $4 != $5' "$TMP/probe" > "$TMP/bad"
	if [ -s "$TMP/bad" ] || [ ! -s "$TMP/probe" ]; then
		fail "$name: the lab differs from the engine: $(head -3 "$TMP/bad") $(head -2 "$TMP/err")"
	else
		pass
	fi
	if awk -F'\t' '$4 == "allow"' "$TMP/probe" | grep -q . &&
		awk -F'\t' '$4 == "deny"' "$TMP/probe" | grep -q .; then
		pass
	else
		fail "$name: the probes saw only one verdict"
	fi
done
$PODWALL lab down --name $L > /dev/null 2>&1
summary lab-gen
