#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A small input with a large naive cost: one policy of 300 ingress rules,
# each aliasing one YAML list of 300 ipBlocks and one of 300 port ranges
# (tests/scale/cube.sh, 37 KB).  Before the engine took a Kubernetes rule's
# peers as one unit it cost 58 s and 730 MiB here (27 s and 780 MiB when
# issue 9 measured it).  Goal: each command within 1 s and 64 MiB.
# Time is wall clock for the whole command; peak RSS from --stats.
set -u
: "${PODWALL:=./podwall}"
here=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-cube.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
sh "$here/tests/scale/cube.sh" 300 300 300 > "$T/cube.yaml"
grep -v '^#' "$here/tests/scale/cube.verdicts" | awk '{ print $1, $2, $3 }' > "$T/q"
now_ms() { date +%s%N | awk '{ printf "%.1f", $1 / 1e6 }'; }
# label, then the podwall arguments
run() {
	label=$1
	shift
	t0=$(now_ms)
	"$PODWALL" "$@" --stats > /dev/null 2> "$T/err"
	rc=$?
	t1=$(now_ms)
	mib=$(sed -n 's/.*peak RSS \([0-9.]*\) MiB.*/\1/p' "$T/err" | tail -1)
	if [ "$rc" -gt 1 ] || [ -z "$mib" ]; then
		echo "cube 300x300x300, $label: FAILED (exit $rc): $(head -2 "$T/err")"
		return
	fi
	awk -v l="$label" -v t0="$t0" -v t1="$t1" -v m="$mib" 'BEGIN {
		ms = t1 - t0
		printf "cube 300x300x300, %-28s %6.0f ms (goal 1000 ms, %.2fx it), peak RSS %5.1f MiB (goal 64 MiB, %.2fx it)\n",
			l ":", ms, ms / 1000, m, m / 64 }'
}
wc -c < "$T/cube.yaml" | awk '{ printf "cube 300x300x300: %.0f KB of YAML, 1 pod, 1 policy\n", $1 / 1024 }'
run "eval (explained)" eval -f "$T/cube.yaml" --src 198.18.5.7 --dst cube/server --port TCP/1052
run "eval --batch (10 lines)" eval -f "$T/cube.yaml" --batch "$T/q"
run "matrix -o csv" matrix -f "$T/cube.yaml" -o csv
run "matrix --port TCP/1052" matrix -f "$T/cube.yaml" --port TCP/1052
run "matrix (every port class)" matrix -f "$T/cube.yaml"
