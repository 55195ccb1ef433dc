#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# IBM network-config-analyzer's Calico connectivity maps: every
# connectivityMap query with a txt expectedOutput, compared pair by pair
# against the engine by the nca-calico runner (tests/conformance/nca-calico.c).
# Known divergences (NCA's own modelling choices) are listed in
# nca-calico-divergences.txt and count neither way.
# Environment: NCA_RUN (the runner, default build/asan/nca-calico), SHARED
# (default ../shared).  Extra arguments go to the runner (-v, -a, -q SUBSTRING).
: "${NCA_RUN:=build/asan/nca-calico}"
: "${SHARED:=../shared}"
here=$(dirname "$0")
root="$SHARED/conformance/nca-calico"
if [ ! -d "$root" ]; then
	echo "FAIL: $root missing"
	echo "nca-calico: 0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$NCA_RUN" ]; then
	echo "FAIL: runner $NCA_RUN missing (build it from tests/conformance/nca-calico.c)"
	echo "nca-calico: 0 passed, 1 failed"
	exit 1
fi
out=$(mktemp "${TMPDIR:-/tmp}/nca-calico.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM
"$NCA_RUN" -d "$here/nca-calico-divergences.txt" "$@" "$root" > "$out" 2>&1
rc=$?
summary='^nca-calico: [0-9][0-9]* passed, [0-9][0-9]* failed$'
grep -v "$summary" "$out"
line=$(grep "$summary" "$out" | tail -1)
if [ -z "$line" ]; then
	echo "FAIL: $NCA_RUN exited $rc without a summary"
	echo "nca-calico: 0 passed, 1 failed"
	exit 1
fi
passed=$(echo "$line" | sed 's/^nca-calico: \([0-9]*\) passed, \([0-9]*\) failed$/\1/')
failed=$(echo "$line" | sed 's/^nca-calico: \([0-9]*\) passed, \([0-9]*\) failed$/\2/')
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "FAIL: $NCA_RUN exited $rc"
	failed=1
fi
echo "nca-calico: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
