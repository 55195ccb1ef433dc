#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The lab runs on an agent (root):
# a. `lab up` starts an agent that `lab status` reports ready.
# b. a policy written straight into the lab's source directory is
#    enforced: lab probe agrees after the change log shows it applied.
# c. a bad manifest through `lab apply` is rejected (exit 1, FILE:LINE:COL)
#    and the probes still equal the engine.
# d. kill -9 of the agent: traffic stays enforced (the probe loads the
#    source itself), and `lab down` leaves nothing: no namespace, no
#    process, no state.
# e. random changes (Kubernetes and Calico policies added, edited and
#    deleted, pods relabelled) one `lab apply` / `lab delete` at a time,
#    lab probe equal to the engine every PROBE_EVERY changes
#    (LAB_AGENT_CHANGES, default 1000; PROBE_EVERY, default 50: about 80 s,
#    230 s on the ASan build).
. "$(dirname "$0")/../lib.sh"
L=pwt-agent-lab
SRC=/run/podwall/lab/$L/source
trap '$PODWALL lab down --name $L > /dev/null 2>&1; rm -rf "$TMP"' EXIT INT TERM
$PODWALL lab down --name $L > /dev/null 2>&1

# probe_ok NAME: lab probe exits 0 (observed == engine)
probe_ok() {
	$PODWALL lab probe --name $L --port TCP/80 --port TCP/81 -o tsv > "$TMP/probe" 2> "$TMP/perr"
	rc=$?
	if [ $rc -eq 0 ] && [ -s "$TMP/probe" ]; then
		pass
	else
		fail "$1: lab probe exit $rc: $(awk -F'\t' '$4 != $5' "$TMP/probe" | head -3) $(head -2 "$TMP/perr")"
	fi
}

# pods: a0..a3 in namespace a, b0..b3 in b
pods() {
	for ns in a b; do
		for i in 0 1 2 3; do
			n=$((i + 1))
			[ $ns = b ] && n=$((n + 10))
			printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s%d, namespace: %s, labels: {app: %s%d, role: r%d}}\nstatus: {podIP: 10.64.0.%d}\n---\n' \
				$ns $i $ns $ns $i $((i % 2)) $n
		done
	done
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {team: a}}\n---\n'
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: b, labels: {team: b}}\n'
}
pods > "$TMP/pods.yaml"

# a. up starts an agent, reported ready
if $PODWALL lab up -f "$TMP/pods.yaml" --name $L --no-external > "$TMP/up" 2>&1; then
	pass
else
	fail "lab up: $(tail -3 "$TMP/up")"
fi
$PODWALL lab status --name $L > "$TMP/status" 2>&1
if grep -q '^agent pid [0-9]*: ready$' "$TMP/status" && grep -q '^  change 1 applied' "$TMP/status"; then
	pass
else
	fail "status: the agent is not ready: $(tail -3 "$TMP/status")"
fi

# b. a policy written into the source directory
cat > "$TMP/direct.yaml" << 'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: direct, namespace: a}
spec:
  podSelector: {matchLabels: {app: a1}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: a0}}
EOF
cp "$TMP/direct.yaml" "$SRC/.direct.yaml.tmp" && mv "$SRC/.direct.yaml.tmp" "$SRC/direct.yaml"
seen=0
for i in $(seq 1 100); do
	if $PODWALL lab status --name $L 2> /dev/null | grep -q 'applied (direct.yaml)'; then
		seen=1
		break
	fi
	sleep 0.05
done
[ $seen = 1 ] && pass || fail "a file written into the source: no change applied: $(tail -3 "$TMP/status")"
probe_ok "written into the source"
grep -q '^a/a2	a/a1	TCP/80	deny	deny$' "$TMP/probe" && grep -q '^a/a0	a/a1	TCP/80	allow	allow$' "$TMP/probe" &&
	pass || fail "written into the source: not in force: $(grep '	a/a1	TCP/80' "$TMP/probe" | head -3)"

# c. a bad manifest through lab apply
cat > "$TMP/bad.yaml" << 'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: a}
spec:
  podSelector: {}
  ingress:
  - ports:
    - {protocol: TCPX, port: 80}
EOF
$PODWALL lab apply -f "$TMP/bad.yaml" --name $L > "$TMP/out" 2> "$TMP/err"
rc=$?
if [ $rc -eq 1 ] && grep -q 'bad.yaml:[0-9]*:[0-9]*: error' "$TMP/err"; then
	pass
else
	fail "bad manifest: exit $rc: $(head -2 "$TMP/err")"
fi
probe_ok "after a rejected change"
grep -q '^a/a2	a/a1	TCP/80	deny	deny$' "$TMP/probe" && pass ||
	fail "after a rejected change: the previous policy is not in force"

# d. kill -9 of the agent
pid=$($PODWALL lab status --name $L | sed -n 's/^agent pid \([0-9]*\): .*/\1/p')
if [ -n "$pid" ] && kill -9 "$pid"; then
	pass
else
	fail "kill -9: no agent pid in status"
fi
sleep 0.2
$PODWALL lab status --name $L 2>&1 | grep -q '^agent: not running' && pass ||
	fail "kill -9: status does not say the agent is down"
probe_ok "agent killed"
grep -q '^a/a2	a/a1	TCP/80	deny	deny$' "$TMP/probe" && pass ||
	fail "agent killed: the policy is not enforced any more"
$PODWALL lab down --name $L > "$TMP/out" 2>&1 && pass || fail "kill -9: lab down: $(cat "$TMP/out")"
if ip netns list | grep -q "^pwl-$L-" || [ -e /run/podwall/lab/$L ] ||
	pgrep -f "agent --lab $L " > /dev/null || pgrep -f "lab __serve $L " > /dev/null; then
	fail "kill -9: lab down left: $(ip netns list | grep "^pwl-$L-" | head -2) $(ls -d /run/podwall/lab/$L 2>&1) $(pgrep -af " $L " | head -2)"
else
	pass
fi

# e. random changes, one at a time
N=${LAB_AGENT_CHANGES:-1000}
EVERY=${PROBE_EVERY:-50}
if ! $PODWALL lab up -f "$TMP/pods.yaml" --name $L --no-external > "$TMP/up" 2>&1; then
	fail "changes: lab up: $(tail -3 "$TMP/up")"
	summary lab-agent
	exit
fi
mkdir "$TMP/c"
# ops: "apply FILE" or "delete FILE"; objects: k8s policies k0..k5 and
# Calico policies c0..c5 in a or b, pod labels (relabels)
awk -v n="$N" -v dir="$TMP/c" -v seed=7 'BEGIN {
	srand(seed)
	for (i = 1; i <= n; i++) {
		f = sprintf("%s/%04d.yaml", dir, i)
		r = rand()
		if (r < 0.15) {
			# relabel a pod: its app stays, its role changes
			ns = rand() < 0.5 ? "a" : "b"; p = int(rand() * 4)
			ip = p + 1 + (ns == "b" ? 10 : 0)
			printf "apiVersion: v1\nkind: Pod\nmetadata: {name: %s%d, namespace: %s, labels: {app: %s%d, role: r%d}}\nstatus: {podIP: 10.64.0.%d}\n", ns, p, ns, ns, p, int(rand() * 3), ip > f
			print "apply " f
			close(f)
			continue
		}
		calico = rand() < 0.5
		k = int(rand() * 6)
		name = (calico ? "c" : "k") k
		ns = k < 3 ? "a" : "b"
		key = name
		if (r < 0.35 && (key in live)) {
			printf "%s\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: %s}\n", (calico ? "apiVersion: projectcalico.org/v3" : "apiVersion: networking.k8s.io/v1"), name, ns > f
			print "delete " f
			close(f)
			delete live[key]
			continue
		}
		live[key] = 1
		tgt = int(rand() * 4); src = int(rand() * 4); port = rand() < 0.5 ? 80 : 81
		role = int(rand() * 3)
		if (!calico) {
			printf "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: %s}\nspec:\n", name, ns > f
			printf "  podSelector: {matchLabels: {app: %s%d}}\n  ingress:\n  - from:\n", ns, tgt > f
			if (rand() < 0.5)
				printf "    - podSelector: {matchLabels: {role: r%d}}\n", role > f
			else
				printf "    - namespaceSelector: {matchLabels: {team: %s}}\n      podSelector: {matchLabels: {app: %s%d}}\n", (rand() < 0.5 ? "a" : "b"), (rand() < 0.5 ? "a" : "b"), src > f
			printf "    ports:\n    - {protocol: TCP, port: %d}\n", port > f
		} else {
			act = rand() < 0.5 ? "Deny" : "Allow"
			printf "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: %s}\nspec:\n", name, ns > f
			printf "  order: %d\n  selector: app == \"%s%d\" || role == \"r%d\"\n  types: [Ingress]\n  ingress:\n", 10 + k, ns, tgt, role > f
			printf "  - action: %s\n    protocol: TCP\n    source: {selector: role == \"r%d\"}\n    destination: {ports: [%d]}\n", act, int(rand() * 3), port > f
		}
		print "apply " f
		close(f)
	}
}' > "$TMP/ops"
i=0
bad=0
t0=$(date +%s)
while read -r op f; do
	i=$((i + 1))
	if ! $PODWALL lab $op -f "$f" --name $L --keep-established > "$TMP/out" 2> "$TMP/err"; then
		fail "change $i ($op $(basename "$f")): $(head -2 "$TMP/err")"
		bad=$((bad + 1))
		[ $bad -gt 5 ] && break
	fi
	if [ $((i % EVERY)) -eq 0 ]; then
		probe_ok "after change $i"
	fi
done < "$TMP/ops"
echo "lab agent: $i changes in $(($(date +%s) - t0)) s, probes every $EVERY"
$PODWALL lab status --name $L > "$TMP/status" 2>&1
grep -q '^agent pid [0-9]*: ready$' "$TMP/status" && ! grep -q missing "$TMP/status" && pass ||
	fail "after the changes: status: $(head -3 "$TMP/status")"
$PODWALL lab down --name $L > /dev/null 2>&1 || fail "after the changes: lab down"
summary lab-agent
