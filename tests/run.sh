#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs every test suite and ends with one line "N passed, M failed".
# Environment: PODWALL (binary under test), SHARED (../shared), UNIT_BINS,
# REACH_DIFF (the differential runner).
: "${PODWALL:=./podwall}"
: "${SHARED:=../shared}"
case $PODWALL in /*) ;; *) PODWALL=$(pwd)/$PODWALL ;; esac
case $SHARED in /*) ;; *) SHARED=$(pwd)/$SHARED ;; esac
export PODWALL SHARED
here=$(dirname "$0")
log=$(mktemp "${TMPDIR:-/tmp}/podwall-run.XXXXXX")
trap 'rm -f "$log"' EXIT
total_pass=0
total_fail=0
suites_failed=0

run_suite() {
	t0=$(date +%s)
	"$@" > "$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	grep -v ': [0-9]* passed, [0-9]* failed$' "$log" | head -40
	line=$(grep -E ': [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "SUITE ERROR: $* printed no summary (exit $rc)"
		total_fail=$((total_fail + 1))
		suites_failed=$((suites_failed + 1))
		return
	fi
	echo "$line"
	echo "  ($secs s)"
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
	f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "SUITE ERROR: $* exited $rc"
		total_fail=$((total_fail + 1))
	fi
}

for u in $UNIT_BINS; do
	run_suite "$u"
done
run_suite sh "$here/run-cases.sh"
run_suite sh "$here/run-cli.sh"
run_suite sh "$here/run-rbac.sh"
run_suite sh "$here/help.sh"
run_suite sh "$here/conformance/k8s-e2e.sh"
run_suite sh "$here/conformance/recipes.sh"
run_suite sh "$here/conformance/netpol-analyzer.sh"
run_suite sh "$here/conformance/nca-calico.sh"
run_suite sh "$here/conformance/rbac.sh"
run_suite sh "$here/differential.sh"
run_suite sh "$here/differential-outputs.sh"
run_suite sh "$here/lint-dns.sh"
run_suite sh "$here/scale/run.sh"
# the Kubernetes API source against recorded responses (no root)
run_suite sh "$here/kube/run.sh"
# the agent and the lab need root (network namespaces, nftables); CI runs
# as root
if [ "$(id -u)" = 0 ]; then
	run_suite sh "$here/agent/run.sh"
else
	echo "agent: not run (needs root)"
fi
if [ "$(id -u)" = 0 ] && [ -z "$PODWALL_SKIP_LAB" ]; then
	run_suite sh "$here/lab/nft-check.sh"
	run_suite sh "$here/lab/run.sh"
	run_suite sh "$here/lab/services.sh"
	run_suite sh "$here/lab/gen.sh"
	run_suite sh "$here/lab/steps.sh"
	run_suite sh "$here/lab/robust.sh"
	run_suite sh "$here/lab/agent.sh"
	run_suite sh "$here/lab/nodes.sh"
	run_suite sh "$here/lab/etcd.sh"
else
	echo "lab: not run (needs root)"
fi
if [ -n "$VALGRIND_PODWALL" ]; then
	run_suite sh "$here/run-valgrind.sh"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
