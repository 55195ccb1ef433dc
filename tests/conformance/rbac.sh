#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Kubernetes RBAC conformance ($SHARED/conformance/rbac), through the CLI:
# every row of the authorizer's truth tables (cases/*/requests.tsv) with
# `podwall can-i --batch`, a sample of them again one `podwall can-i` at a
# time (the batch must answer as single calls do), every subject-locator row
# (cases/*/who-can.tsv) with `podwall who-can`, and the bootstrap roles and
# bindings, aggregation computed, against the facts of the data's README
# (tests/rbac/bootstrap.tsv, with the bindings of tests/rbac/bootstrap-extra).
. "$(dirname "$0")/../lib.sh"
root="$SHARED/conformance/rbac"
here=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$root/cases" ] || { echo "rbac: $root missing"; exit 1; }

# a requests.tsv row as can-i's arguments:
# user groups verb apiGroup resource subresource namespace name path expected
to_args() {
	awk -F'\t' 'NR > 1 {
		if ($9 != "-") what = $9
		else {
			what = $5 "." ($4 == "-" ? "" : $4)
			if ($6 != "-") what = what "/" $6
		}
		line = $3 " " what
		if ($8 != "-") line = line " " $8
		line = line ($7 == "-" ? " -A" : " -n " $7)
		line = line " --as=" ($1 == "-" ? "" : $1)
		if ($2 != "-") { n = split($2, g, ","); for (i = 1; i <= n; i++) line = line " --as-group " g[i] }
		print line "\t" ($10 == "allow" ? "yes" : "no")
	}' "$1"
}

# count the "pass" and "FAIL: ..." lines of a file (the FAIL lines shown)
tally() {
	grep -v '^pass$' "$1" || true
	PASS=$((PASS + $(grep -c '^pass$' "$1")))
	FAIL=$((FAIL + $(grep -c '^FAIL' "$1")))
}

# compare can-i --batch answers: rows "ARGS<TAB>WANT" and answers
# "ARGS<TAB>ANSWER", as pass/FAIL lines
judge() {
	paste "$2" "$3" | awk -F'\t' -v name="$1" '
		{ if ($2 == $4) print "pass"; else printf "FAIL: rbac %s: can-i %s: expected %s, got %s\n", name, $1, $2, $4 }'
}

for d in "$root"/cases/*/; do
	name=$(basename "$d")
	if [ -f "$d/requests.tsv" ]; then
		to_args "$d/requests.tsv" > "$TMP/rows"
		cut -f1 "$TMP/rows" > "$TMP/batch"
		if ! $PODWALL can-i -f "$d/objects.yaml" --batch "$TMP/batch" > "$TMP/act" 2> "$TMP/err"; then
			fail "$name: podwall can-i --batch exited non-zero: $(head -3 "$TMP/err")"
			continue
		fi
		judge "$name" "$TMP/rows" "$TMP/act" > "$TMP/res"
		tally "$TMP/res"
		# the same answers one call at a time: every fifth row
		awk -F'\t' 'NR % 5 == 1' "$TMP/rows" | while IFS='	' read -r args want; do
			# shellcheck disable=SC2086
			$PODWALL can-i $args -f "$d/objects.yaml" > "$TMP/one" 2>&1
			rc=$?
			got=$(cat "$TMP/one")
			if { [ "$want" = yes ] && [ $rc -eq 0 ] && [ "$got" = yes ]; } ||
				{ [ "$want" = no ] && [ $rc -eq 1 ] && [ "$got" = no ]; }; then
				echo pass
			else
				echo "FAIL: rbac $name: single can-i $args: exit $rc, '$got', want $want"
			fi
		done > "$TMP/single"
		tally "$TMP/single"
	fi
	if [ -f "$d/who-can.tsv" ]; then
		su=
		[ -f "$d/superuser.txt" ] && su="--superuser $(cat "$d/superuser.txt")"
		tail -n +2 "$d/who-can.tsv" | while IFS='	' read -r verb group res sub ns nm want; do
			what="$res.$([ "$group" = - ] || echo "$group")"
			[ "$sub" = - ] || what="$what/$sub"
			set -- "$verb" "$what"
			[ "$nm" = - ] || set -- "$@" "$nm"
			if [ "$ns" = - ]; then set -- "$@" -A; else set -- "$@" -n "$ns"; fi
			# shellcheck disable=SC2086
			if ! $PODWALL who-can "$@" $su -f "$d/objects.yaml" > "$TMP/who" 2> "$TMP/err"; then
				echo "FAIL: rbac $name: who-can $*: exited non-zero: $(head -1 "$TMP/err")"
				continue
			fi
			got=$(awk 'NR > 2 && !/^ / {
					k = $1 ":" ($1 == "ServiceAccount" && index($2, "/") ? $2 : "/" $2)
					print k }' "$TMP/who" | LC_ALL=C sort -u | paste -sd, -)
			if [ "$got" = "$want" ]; then echo pass; else
				echo "FAIL: rbac $name: who-can $*: expected $want, got $got"; fi
		done > "$TMP/wres"
		tally "$TMP/wres"
	fi
done

# bootstrap: can-i rows "ARGS<TAB>yes|no" and who-can rows
# "who-can ARGS<TAB>SUBJECT-THAT-MUST-BE-LISTED" (or "!SUBJECT": must not)
boot="$here/rbac/bootstrap.tsv"
grep -v '^#' "$boot" | grep -v '^who-can' | awk -F'\t' 'NF == 2' > "$TMP/rows"
cut -f1 "$TMP/rows" > "$TMP/batch"
if $PODWALL can-i -f "$root/bootstrap" -f "$here/rbac/bootstrap-extra" --batch "$TMP/batch" > "$TMP/act" 2> "$TMP/err"; then
	judge bootstrap "$TMP/rows" "$TMP/act" > "$TMP/res"
	tally "$TMP/res"
else
	fail "bootstrap: podwall can-i --batch exited non-zero: $(head -3 "$TMP/err")"
fi
grep '^who-can' "$boot" | while IFS='	' read -r args subj; do
	# shellcheck disable=SC2086
	$PODWALL $args -f "$root/bootstrap" -f "$here/rbac/bootstrap-extra" -o json > "$TMP/who" 2> "$TMP/err" || echo "FAIL: rbac bootstrap: $args: exit $?: $(head -1 "$TMP/err")"
	neg=${subj#!}
	kind=${neg%%:*}
	nm=${neg#*:}
	if grep -A1 "\"kind\": \"$kind\"" "$TMP/who" | grep -q "\"name\": \"$nm\""; then found=1; else found=0; fi
	if { [ "$neg" = "$subj" ] && [ $found = 1 ]; } || { [ "$neg" != "$subj" ] && [ $found = 0 ]; }; then
		echo pass
	else
		echo "FAIL: rbac bootstrap: $args: $subj"
	fi
done > "$TMP/wres"
tally "$TMP/wres"
# the explanation names the role an aggregated rule came from
$PODWALL can-i get pods -n team --as alice -v -f "$root/bootstrap" -f "$here/rbac/bootstrap-extra" > "$TMP/ex" 2>&1
if grep -q "aggregated from ClusterRole system:aggregate-to-view" "$TMP/ex"; then pass; else
	fail "bootstrap: can-i get pods as alice (admin) does not name system:aggregate-to-view: $(tail -2 "$TMP/ex")"; fi
summary rbac
