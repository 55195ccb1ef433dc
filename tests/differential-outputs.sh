#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every whole-cluster output (matrix in every format, connlist, diff; with
# --services where the cluster has Services) read
# back and compared with `eval --batch` (tests/differential/outputs-diff.c):
# random clusters from `podwall gen` (Kubernetes; Calico; Calico with nets,
# notNets and network sets), each also diffed against the same cluster
# with more policies, under each engine flag; and the behaviour cases with
# outside addresses.
# Environment: OUTPUTS_DIFF (default build/asan/outputs-diff), PODWALL.
: "${OUTPUTS_DIFF:=build/asan/outputs-diff}"
: "${PODWALL:=./podwall}"
here=$(dirname "$0")
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-outputs.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
pass=0
fail=0
run() {
	"$OUTPUTS_DIFF" "$@" > "$T/out" 2>&1
	rc=$?
	grep -v ': [0-9]* passed, [0-9]* failed$' "$T/out" | grep -v 'workloads, .* addresses' | grep -v ': warning: ' | head -20
	line=$(grep -E '^outputs-diff: [0-9]+ passed, [0-9]+ failed$' "$T/out")
	if [ -z "$line" ]; then
		echo "FAIL: outputs-diff $* printed no summary (exit $rc)"
		tail -5 "$T/out"
		fail=$((fail + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
	pass=$((pass + p))
	fail=$((fail + f))
}
for s in 1 2 3 4 5 6 7 8 9; do
	case $((s % 3)) in
	0) kind= ;;
	1) kind=--calico ;;
	2) kind=--nets ;;
	esac
	[ $((s % 2)) = 0 ] && kind="$kind --services"
	pods=$((20 + s * 8))
	pols=$((15 + s * 4))
	$PODWALL gen --pods $pods --policies $pols --namespaces 4 --seed $s $kind > "$T/a-$s.yaml"
	$PODWALL gen --pods $pods --policies $((pols + 12)) --namespaces 4 --seed $s $kind > "$T/b-$s.yaml"
	run --flags $((s % 4 == 0 ? 1 : s % 4 == 2 ? 2 : 0)) "$PODWALL" "$T/a-$s.yaml" "$T/b-$s.yaml"
done
# the behaviour cases that name addresses outside the cluster
for d in $(grep -lE 'ipBlock|nets:|NetworkSet|projectcalico|AdminNetworkPolicy|ClusterNetworkPolicy' \
	"$here"/cases/*/*.yaml | xargs -n1 dirname | sort -u); do
	run "$PODWALL" "$d"
done
echo "differential-outputs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
