#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Inputs whose size is small but whose naive cost is not: the cube of
# tests/scale/cube.sh (one policy, 300 rules aliasing one list of 300
# ipBlocks and one of 300 port ranges).  The answers are checked, with the
# fast engine (eval --batch) and with the rule walk that explains them
# (eval, which stops with an internal error if the two disagree); times are
# for make bench (bench/cube.sh), not here.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/cube.sh" > "$TMP/cube.yaml"
grep -v '^#' "$here/cube.verdicts" > "$TMP/want"
awk '{ print $1, $2, $3 }' "$TMP/want" > "$TMP/q"
if $PODWALL eval -f "$TMP/cube.yaml" --batch "$TMP/q" > "$TMP/got" 2> "$TMP/err" || [ $? = 1 ]; then
	compare_verdicts scale/cube-batch "$TMP/want" "$TMP/got"
else
	fail "scale/cube: eval --batch: $(head -3 "$TMP/err")"
fi
while read -r src dst port want; do
	got=$($PODWALL eval -f "$TMP/cube.yaml" --src "$src" --dst "$dst" --port "$port" 2> "$TMP/err" | head -1)
	if [ "$got" = "$want" ]; then pass; else fail "scale/cube: eval $src $dst $port: $got, want $want: $(head -2 "$TMP/err")"; fi
done < "$TMP/want"
# the whole matrix agrees with the batch answers on the ports it names
$PODWALL matrix -f "$TMP/cube.yaml" -o csv > "$TMP/csv" 2> "$TMP/err" || fail "scale/cube: matrix: $(head -2 "$TMP/err")"
ranges=$(awk 'BEGIN { for (j = 0; j < 300; j++) printf "%s%d-%d", j ? "," : "", 1000 + 10 * j, 1004 + 10 * j }')
grep -qxF "198.18.5.0/24[External],cube/server[Pod],\"TCP $ranges\"" "$TMP/csv" && pass ||
	fail "scale/cube: matrix -o csv: 198.18.5.0/24 -> cube/server is not TCP on the 300 ranges: $(grep '^198.18.5.0/24' "$TMP/csv" | cut -c1-100)"
grep -qxF '198.19.44.0-255.255.255.255[External],cube/server[Pod],"No Connections"' "$TMP/csv" && pass ||
	fail "scale/cube: matrix -o csv: addresses after the last peer reach cube/server: $(grep '^198.19.44' "$TMP/csv" | cut -c1-100)"
summary scale
