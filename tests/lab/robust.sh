#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The lab against kill -9, concurrency and inputs that go (root):
# 1. `lab apply` adding pods, killed with -9 at several moments: the retry
#    succeeds with nothing on stderr (no "File exists", no errors repeated),
#    every pod's server runs, and lab probe agrees with the engine.
# 2. the files and directories a lab was built from removed: status, probe,
#    apply and delete work from the lab's source (its agent's copy).
# 3. concurrent `lab apply` (one policy each) all succeed and the probes
#    agree with the engine on the final state; of two concurrent `lab up` of
#    one name one succeeds and the other says the lab is up; `lab down`
#    leaves nothing of the lab.
# 4. every command on a lab that does not exist: exit 2, "no lab named",
#    and no state directory made (down: "is not up", exit 0).
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
in=$here/robust
L=pwt-rob
trap '$PODWALL lab down --name $L > /dev/null 2>&1; rm -rf "$TMP"' EXIT INT TERM
$PODWALL lab down --name $L > /dev/null 2>&1

# probe_ok NAME: lab probe exits 0 (observed == engine), nothing untested
probe_ok() {
	$PODWALL lab probe --name $L --port TCP/80 --port TCP/81 -o tsv > "$TMP/probe" 2> "$TMP/perr"
	rc=$?
	if [ $rc -ne 0 ] || [ ! -s "$TMP/probe" ]; then
		fail "$1: lab probe exit $rc: $(awk -F'\t' '$4 != $5' "$TMP/probe" | head -3) $(head -2 "$TMP/perr")"
	elif grep -q '	untested	' "$TMP/probe"; then
		fail "$1: lab probe: untested cells: $(grep '	untested	' "$TMP/probe" | head -3)"
	else
		pass
	fi
}

up() {
	if $PODWALL lab up --name $L --no-external "$@" > "$TMP/up" 2>&1; then
		return 0
	fi
	fail "lab up $*: $(tail -2 "$TMP/up")"
	return 1
}

# 1. kill -9 of an apply that adds pods
for i in $(seq 1 12); do
	printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: n%d, namespace: rob, labels: {app: n}}\n---\n' "$i"
done > "$TMP/more.yaml"
cat "$in/deny-db.yaml" >> "$TMP/more.yaml"
for delay in 0.05 0.2 0.4 0.7; do
	name="apply killed at $delay s"
	up -f "$in/pods.yaml" || continue
	$PODWALL lab apply -f "$TMP/more.yaml" --name $L > /dev/null 2>&1 &
	pid=$!
	sleep $delay
	kill -9 $pid 2> /dev/null
	wait $pid 2> /dev/null
	if $PODWALL lab apply -f "$TMP/more.yaml" --name $L > "$TMP/out" 2> "$TMP/err" &&
		[ ! -s "$TMP/err" ]; then
		pass
	else
		fail "$name: the retry: $(head -4 "$TMP/err")"
	fi
	# and once more: nothing left to repeat
	$PODWALL lab apply -f "$TMP/more.yaml" --name $L > "$TMP/out" 2> "$TMP/err" &&
		[ ! -s "$TMP/err" ] && pass || fail "$name: a second retry: $(head -4 "$TMP/err")"
	probe_ok "$name"
	$PODWALL lab status --name $L > "$TMP/status" 2>&1
	grep -q '^lab pwt-rob: 15 pods, 0 external hosts, 15/15 servers running$' "$TMP/status" &&
		! grep -q missing "$TMP/status" && pass || fail "$name: status: $(head -2 "$TMP/status")"
	$PODWALL lab down --name $L > /dev/null || fail "$name: lab down"
done

# 2. inputs that go: a directory and a file, removed after up
mkdir "$TMP/dir"
cp "$in/pods.yaml" "$in/deny-db.yaml" "$TMP/dir/"
cp "$in/egress-app.yaml" "$TMP/egress.yaml"
if up -f "$TMP/dir" -f "$TMP/egress.yaml"; then
	rm -rf "$TMP/dir" "$TMP/egress.yaml"
	$PODWALL lab status --name $L > "$TMP/status" 2>&1 &&
		grep -q '^agent pid [0-9]*: ready$' "$TMP/status" &&
		[ -n "$(ls /run/podwall/lab/$L/source/)" ] &&
		pass || fail "inputs removed: status: $(tail -3 "$TMP/status")"
	probe_ok "inputs removed"
	grep -q '^rob/app	rob/web	TCP/80	deny	deny$' "$TMP/probe" && pass ||
		fail "inputs removed: the removed file's policy is not in force"
	$PODWALL lab apply -f "$in/deny-web.yaml" --name $L > "$TMP/out" 2>&1 && pass ||
		fail "inputs removed: apply: $(head -2 "$TMP/out")"
	probe_ok "inputs removed, then apply"
	# the policy read from the removed file, deleted by name
	$PODWALL lab delete -f "$in/egress-app.yaml" --name $L > "$TMP/out" 2>&1 && pass ||
		fail "inputs removed: delete: $(head -2 "$TMP/out")"
	probe_ok "inputs removed, then delete"
	grep -q '^rob/app	rob/web	TCP/80	allow	allow$' "$TMP/probe" &&
		grep -q '^rob/app	rob/web	TCP/81	deny	deny$' "$TMP/probe" && pass ||
		fail "inputs removed: after delete and apply: $(grep '^rob/app	rob/web' "$TMP/probe")"
	$PODWALL lab status --name $L > "$TMP/status" 2>&1 && pass ||
		fail "inputs removed: status after changes: $(head -2 "$TMP/status")"
	$PODWALL lab down --name $L > /dev/null || fail "inputs removed: lab down"
fi

# 3. concurrent applies, then concurrent ups
if up -f "$in/pods.yaml"; then
	pids=
	for f in deny-app deny-db deny-web egress-app; do
		$PODWALL lab apply -f "$in/$f.yaml" --name $L > "$TMP/$f.out" 2>&1 &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p" && pass || fail "concurrent apply (pid $p) failed: $(cat "$TMP"/*.out | grep -v '^rules in force' | head -3)"
	done
	$PODWALL lab status --name $L > "$TMP/status" 2>&1
	# the agent's initial sync and one change per apply
	[ "$(grep -c '^  change [0-9]* applied' "$TMP/status")" -eq 5 ] && pass ||
		fail "concurrent apply: not one change per apply: $(grep '^  change' "$TMP/status")"
	probe_ok "concurrent apply"
	# the final state has every policy: TCP/81 to any pod denied
	[ "$(grep -c '	TCP/81	deny	deny$' "$TMP/probe")" -eq 6 ] && pass ||
		fail "concurrent apply: not every policy is in force: $(grep 'TCP/81' "$TMP/probe")"
	$PODWALL lab down --name $L > /dev/null || fail "concurrent apply: lab down"
fi
$PODWALL lab up -f "$in/pods.yaml" --name $L --no-external > "$TMP/up1" 2>&1 &
p1=$!
$PODWALL lab up -f "$in/pods.yaml" --name $L --no-external > "$TMP/up2" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
if { [ $r1 -eq 0 ] && [ $r2 -eq 2 ] && grep -q "lab $L is already up" "$TMP/up2"; } ||
	{ [ $r2 -eq 0 ] && [ $r1 -eq 2 ] && grep -q "lab $L is already up" "$TMP/up1"; }; then
	pass
else
	fail "concurrent up: exits $r1 and $r2: $(cat "$TMP/up1" "$TMP/up2" | head -4)"
fi
$PODWALL lab status --name $L > "$TMP/status" 2>&1 &&
	grep -q '3/3 servers running' "$TMP/status" && pass ||
	fail "concurrent up: status: $(head -2 "$TMP/status")"
$PODWALL lab down --name $L > /dev/null || fail "concurrent up: lab down"
if ip netns list | grep -q "^pwl-$L-" || [ -e /run/podwall/lab/$L ] ||
	pgrep -f "lab __serve $L " > /dev/null; then
	fail "concurrent up: lab down left: $(ip netns list | grep "^pwl-$L-") $(ls -d /run/podwall/lab/$L 2>&1)"
else
	pass
fi

# 4. a lab that does not exist
N=pwt-rob-none
for sub in status probe apply delete exec; do
	case $sub in
	apply | delete) set -- -f "$in/deny-db.yaml" ;;
	exec) set -- rob/app --name $N -- true ;;
	*) set -- ;;
	esac
	$PODWALL lab $sub --name $N "$@" > "$TMP/out" 2>&1
	rc=$?
	if [ $rc -eq 2 ] && grep -q "no lab named $N" "$TMP/out" && [ ! -e /run/podwall/lab/$N ]; then
		pass
	else
		fail "lab $sub of no lab: exit $rc, $(head -1 "$TMP/out"), state: $(ls -d /run/podwall/lab/$N 2>&1)"
	fi
done
$PODWALL lab down --name $N > "$TMP/out" 2>&1 && grep -q "lab $N is not up" "$TMP/out" &&
	[ ! -e /run/podwall/lab/$N ] && pass || fail "lab down of no lab: $(head -1 "$TMP/out")"
summary lab-robust
