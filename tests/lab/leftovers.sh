#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# lab down removes everything lab up created, also after kill -9 in the
# middle of lab up, is idempotent, and touches nothing else.
set -u
: "${PODWALL:=./podwall}"
: "${SHARED:=../shared}"
here=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-left.XXXXXX")
trap '$PODWALL lab down --name pwt-kill > /dev/null 2>&1; rm -rf "$T"' EXIT INT TERM
snapshot() {
	{
		echo "# netns"; ip netns list | sort
		echo "# links"; ip -o link show | awk -F': ' '{ print $2 }' | sort
		echo "# routes"; ip route show | sort
		echo "# nft"; nft list tables 2> /dev/null | sort
		echo "# servers"; pgrep -f 'lab __(serve|echo|hold|sink|blast)' | sort
		echo "# state"; ls /run/podwall/lab 2> /dev/null | grep pwt-kill
	} > "$1"
}
rc=0
snapshot "$T/before"
$PODWALL lab up -f "$here/../examples/seed000" --name pwt-kill > /dev/null || rc=1
$PODWALL lab down --name pwt-kill > /dev/null || rc=1
snapshot "$T/after1"
if ! cmp -s "$T/before" "$T/after1"; then echo "after up+down:"; diff "$T/before" "$T/after1"; rc=1; fi
# kill -9 at several moments of lab up
for delay in 0.05 0.15 0.3; do
	$PODWALL lab up -f "$SHARED/conformance/k8s-e2e/E01/step1/manifests.yaml" --name pwt-kill > /dev/null 2>&1 &
	pid=$!
	sleep $delay
	kill -9 $pid 2> /dev/null
	wait $pid 2> /dev/null
	$PODWALL lab down --name pwt-kill > "$T/down" 2>&1 || { echo "down after kill -9 at $delay s failed:"; cat "$T/down"; rc=1; }
	snapshot "$T/after2"
	if ! cmp -s "$T/before" "$T/after2"; then echo "after kill -9 at $delay s and down:"; diff "$T/before" "$T/after2"; rc=1; fi
done
# idempotent
$PODWALL lab down --name pwt-kill | grep -q 'is not up' || { echo "second lab down did not say so"; rc=1; }
exit $rc
