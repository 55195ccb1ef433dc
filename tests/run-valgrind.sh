#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The release binary under valgrind: no memory error and no leak, on each
# command and on the error path.
. "$(dirname "$0")/lib.sh"
: "${VALGRIND_PODWALL:=./podwall}"
here=$(cd "$(dirname "$0")" && pwd)
e2e="$SHARED/conformance/k8s-e2e/E35/step1/manifests.yaml"
npa="$SHARED/conformance/netpol-analyzer/tests/onlineboutique"
printf 'x/a y/b TCP/80\nz/c 10.1.1.1 UDP/81\n192.0.2.1 x/b TCP/80\n' > "$TMP/batch"
vg() {
	name=$1
	shift
	valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
		--errors-for-leak-kinds=all "$VALGRIND_PODWALL" "$@" > /dev/null 2> "$TMP/vg"
	rc=$?
	if [ $rc -eq 99 ] || grep -q '==[0-9]*==' "$TMP/vg"; then
		fail "valgrind $name: $(grep '==[0-9]*==' "$TMP/vg" | head -5)"
	else
		pass
	fi
}
vg eval eval -f "$e2e" --src x/a --dst y/b --port TCP/80
vg eval-json eval -f "$e2e" --src x/a --dst 192.0.2.1 --port UDP/81 -o json
vg batch eval -f "$e2e" --batch "$TMP/batch"
vg matrix matrix -f "$e2e"
vg matrix-yaml matrix -f "$here/cli/0021-matrix-port-classes" -o yaml
vg connlist connlist -f "$npa" --ipblock-excludes-pods --hostnetwork-as-pods
vg lint lint -f "$here/cli/0041-lint-findings"
vg lint-staged lint -f "$here/cli/0049-lint-staged-dns" -o yaml
vg lint-calico-admin lint -f "$here/cli/0091-lint-dns-calico-admin"
vg lint-shadowed lint -f "$here/cli/0047-lint-shadowed-kinds"
vg errors eval -f "$here/cli/0050-errors-all-reported/in" --src x/p --dst x/p --port 80
vg yaml-syntax matrix -f "$here/cli/0051-yaml-syntax"
vg calico-staged eval -f "$here/cli/0061-calico-eval-staged" --src dev/centos --dst dev/nginx --port UDP/53 --staged
vg matrix-netsets matrix -f "$here/cases/124-networksets-and-global" --staged
vg diff diff -f "$here/cli/0064-diff-to/before" --to "$here/cli/0064-diff-to/after"
vg diff-staged diff -f "$here/cases/140-staged-set-and-delete" --staged -o json
vg anp connlist -f "$SHARED/conformance/netpol-analyzer/tests/anp_demo" --ipblock-excludes-pods
vg calico-errors matrix -f "$here/cli/0065-calico-errors"
svc="$here/cases/108-seed004-services"
vg service eval -f "$svc" --src dev/centos --dst kube-dns.kube-system --port TCP/53 --staged
vg service-json eval -f "$svc" --src dev/centos --dst 10.96.10.40 --port TCP/8081 -o json
vg matrix-services matrix -f "$svc" --services -o json
vg connlist-ingress connlist -f "$SHARED/conformance/netpol-analyzer/tests/demo_app_with_routes_and_ingress" --services
vg lab-render lab render -f "$svc"
# flow records, alerts, audit, recommendations
vg flows-import flows --import "$here/flows/records.jsonl" --store "sqlite:$TMP/f.db"
vg flows-sqlite flows --store "sqlite:$TMP/f.db" -n dev --verdict denied -o json
vg flows-jsonl flows --import "$here/flows/records.jsonl" --store "jsonl:$TMP/fj"
vg flows-csv flows --store "jsonl:$TMP/fj" --policy security.blockep-ips -o csv
vg alerts-eval alerts eval -f "$here/alerts/blocked-ips.yaml" --records "$here/alerts/records/seed004.jsonl" --at 1000
vg audit-sarif audit -f "$here/audit/cases/014-all-seed001-002" -o sarif
vg recommend recommend --store "$here/recommend/storefront/records.jsonl" \
	-f "$here/recommend/storefront/cluster.yaml" -n storefront
summary valgrind
