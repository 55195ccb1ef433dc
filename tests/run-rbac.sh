#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Data-driven RBAC cases: tests/rbac/cases/NNN-name/ holds manifests
# (*.yaml, *.json: Roles, bindings, aws-auth, EKS access entries) and
# requests.tsv: `podwall can-i` arguments (without -f), a tab, and the
# expected yes or no (# comments).  Adding a case needs no C.
. "$(dirname "$0")/lib.sh"
for d in "$(dirname "$0")"/rbac/cases/*/; do
	name=rbac/$(basename "$d")
	grep -v '^[[:space:]]*#' "$d/requests.tsv" | awk -F'\t' 'NF >= 2' > "$TMP/exp"
	if ! $PODWALL can-i -f "$d" --batch "$TMP/exp" > "$TMP/act" 2> "$TMP/err"; then
		fail "$name: podwall can-i --batch exited non-zero: $(head -3 "$TMP/err")"
		continue
	fi
	out=$(awk -F'\t' -v name="$name" '
		{ if ($2 == $3) p++; else { f++; printf "FAIL: %s: can-i %s: expected %s, got %s\n", name, $1, $2, ($3 == "" ? "nothing" : $3) } }
		END { printf "#%d %d\n", p, f }' "$TMP/act")
	echo "$out" | grep -v '^#' || true
	counts=$(echo "$out" | grep '^#' | tr -d '#')
	PASS=$((PASS + ${counts% *}))
	FAIL=$((FAIL + ${counts#* }))
	[ "$(wc -l < "$TMP/act")" -eq "$(wc -l < "$TMP/exp")" ] && pass ||
		fail "$name: $(wc -l < "$TMP/exp") questions, $(wc -l < "$TMP/act") answers"
done
summary rbac-cases
