#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Services on real packets (root): the lab translates a service address
# and port to a backend in the router, before policy, as kube-proxy does.
# 1. From every pod of seed 004's services case, curl (lab exec) to every
#    service address whose backends serve the target port: it must connect
#    exactly where `eval` says ALLOW for that address.
# 2. `lab probe --services` there (TCP and UDP, from pods and hosts), and on
#    tests/lab/svc: several backends reached in turn, one of them closed,
#    and a pod reaching itself through its Service.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
case=$here/cases/108-seed004-services
L=pwt-svc
trap '$PODWALL lab down --name $L > /dev/null 2>&1; rm -rf "$TMP"' EXIT INT TERM
$PODWALL lab down --name $L > /dev/null 2>&1
# 192.0.2.80: the outside backend of legacy-db's Endpoints
if ! $PODWALL lab up -f "$case" --name $L --external 192.0.2.80 --external 203.0.113.10 \
	> "$TMP/up" 2>&1; then
	fail "lab up: $(tail -2 "$TMP/up")"
	summary lab-services
	exit 1
fi
pods="dev/centos dev/nginx default/frontend default/recommendationservice
default/loadgenerator kube-system/coredns dev/frontend-dev"
# nginx-svc, frontend (cluster IP), frontend-external (cluster and load
# balancer IP), kube-dns over TCP
targets="10.96.10.20:80 10.96.20.10:80 10.96.20.11:80 203.0.113.50:80 10.96.0.10:53"
for p in $pods; do
	for t in $targets; do
		echo "$p ${t%:*} TCP/${t#*:}"
	done
done > "$TMP/q"
$PODWALL eval -f "$case" --batch "$TMP/q" > "$TMP/want" 2> "$TMP/err" || fail "eval --batch: $(head -2 "$TMP/err")"
while read -r src dst port want; do
	if $PODWALL lab exec "$src" --name $L -- curl -sS --connect-timeout 1 -m 2 \
		-o /dev/null "http://$dst:${port#TCP/}/" > /dev/null 2>&1; then
		got=ALLOW
	else
		got=DENY
	fi
	if [ "$got" = "$want" ]; then pass; else fail "curl $src -> $dst $port: lab $got, engine $want"; fi
done < "$TMP/want"
# the flow log names the Service each allowed curl went through, and the
# backend it reached
$PODWALL flows --lab $L --verdict allowed -o json > "$TMP/flows" 2> "$TMP/err" ||
	fail "flows --lab: $(head -2 "$TMP/err")"
while read -r src dst port want; do
	[ "$want" = ALLOW ] || continue
	# a pod reaching itself through its Service (hairpin) is no policy's
	# decision: no record
	$PODWALL eval -f "$case" --src "$src" --dst "$dst" --port "$port" -o json 2> /dev/null |
		grep -q "\"endpoint\": \"$src\"" && continue
	ns=${src%/*} name=${src#*/}
	if grep -F "\"source_namespace\":\"$ns\",\"source_name\":\"$name\"" "$TMP/flows" |
		grep -F "\"dest_service_port_num\":${port#TCP/}" | grep '"dest_type":"wep"' |
		grep -q '"dest_service_name":"[a-z]'; then
		pass
	else
		fail "flows: no record of $src -> $dst $port through its Service"
	fi
done < "$TMP/want"
# both verdicts occur, or the test proves little
grep -q ' ALLOW$' "$TMP/want" && grep -q ' DENY$' "$TMP/want" && pass ||
	fail "the services case should have allowed and denied connections"
# every service address and port (TCP and UDP), from every pod and host
$PODWALL lab probe --services --name $L -o tsv > "$TMP/probe" 2> "$TMP/err"
awk -F'\t' '$4 == "untested" || $4 != $5 { print "probe:", $0 }' "$TMP/probe" > "$TMP/bad"
if [ -s "$TMP/bad" ] || [ ! -s "$TMP/probe" ]; then
	fail "lab probe --services differs from the engine or is untested: $(head -5 "$TMP/bad") $(head -2 "$TMP/err")"
else
	pass
fi
awk -F'\t' '$3 ~ /^UDP/ && $4 == "allow"' "$TMP/probe" | grep -q . && pass ||
	fail "lab probe --services: no UDP connection through a Service was reached"
$PODWALL lab down --name $L > /dev/null 2>&1
# several backends in turn (tests/lab/svc): through "web" one backend in
# three refuses, so the client is denied; web-2 reaches itself (hairpin)
if $PODWALL lab up -f "$here/lab/svc" --name $L --no-external > "$TMP/up" 2>&1 &&
	$PODWALL lab probe --services --name $L -o tsv > "$TMP/probe" 2> "$TMP/err"; then
	awk -F'\t' '$4 == "untested" || $4 != $5' "$TMP/probe" > "$TMP/bad"
	if [ -s "$TMP/bad" ]; then fail "svc: lab probe --services differs: $(head -3 "$TMP/bad")"; else pass; fi
	if grep -q '^svc/client	svc/web=10.96.70.1	TCP/80	deny	deny$' "$TMP/probe" &&
		grep -q '^svc/client	svc/open=10.96.70.2	TCP/80	allow	allow$' "$TMP/probe" &&
		grep -q '^svc/web-2	svc/web=10.96.70.1	TCP/80	allow	allow$' "$TMP/probe"; then
		pass
	else
		fail "svc: round robin or hairpin: $(cat "$TMP/probe")"
	fi
else
	fail "svc: lab up or probe --services failed: $(tail -2 "$TMP/up") $(head -2 "$TMP/err")"
fi
summary lab-services
