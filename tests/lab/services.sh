#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Services on real packets (root): the lab translates a service address
# and port to a backend in the router, before policy, as kube-proxy does.
# From every pod of seed 004's services case, curl (lab exec) to every
# service address whose backends serve the target port; it must connect
# exactly where `eval` says ALLOW for that address.  Then the same through
# `lab probe --services`.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
case=$here/cases/108-seed004-services
L=pwt-svc
trap '$PODWALL lab down --name $L > /dev/null 2>&1; rm -rf "$TMP"' EXIT INT TERM
$PODWALL lab down --name $L > /dev/null 2>&1
if ! $PODWALL lab up -f "$case" --name $L > "$TMP/up" 2>&1; then
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
# both verdicts occur, or the test proves little
grep -q ' ALLOW$' "$TMP/want" && grep -q ' DENY$' "$TMP/want" && pass ||
	fail "the services case should have allowed and denied connections"
summary lab-services
