#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# lint's DNS findings against eval: on every lint case under tests/cli and
# every Calico and admin-policy case under tests/cases (1xx), for every
# workload, `podwall lint` reports dns-blocked (staged-dns-blocked)
# for exactly the protocols on which `podwall eval` (eval --staged) denies
# DNS, for the workloads that some policy isolates for egress.  Inputs
# without a kube-dns pod are given to eval with
# lint-dns/coredns-eks.yaml, the CoreDNS that lint models for them.  eval
# is asked about the Service kube-system/kube-dns where the input has one,
# else about the workload kube-system/coredns (an input's own DNS pods
# must be that workload; the staged view is asked about it too, as eval
# explains a staged verdict for pods only).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
model=$here/lint-dns/coredns-eks.yaml

# eval -o json on stdin -> "VERDICT ISOLATED" for the main view ($1 = main)
# or the staged one ($1 = staged)
eval_view() {
	awk -v want="$1" '
		/^  "staged": \{/ { view = "staged" }
		/"verdict":/ && !v[view ""] { gsub(/[",]/, "", $2); v[view ""] = $2 }
		/"egress": \{/ { eg = 1 }
		/"ingress": \{/ { eg = 0 }
		eg && /"step": "(rule|end-of-tier)"/ { iso[view ""] = 1 }
		END { k = (want == "staged") ? "staged" : ""; print v[k], (iso[k] ? "isolated" : "open") }'
}

for d in "$here"/cli/*-lint-*/ "$here"/cases/1*/; do
	name=lint-dns/$(basename "$d")
	ls "$d"/*.yaml > /dev/null 2>&1 || continue
	extra=""
	"$PODWALL" matrix -f "$d" -o json > "$TMP/m" 2> /dev/null
	grep -q '"kube-system/coredns\[' "$TMP/m" || extra="-f $model"
	# shellcheck disable=SC2086
	"$PODWALL" matrix -f "$d" $extra -o json 2> /dev/null |
		awk '/"endpoints": \[/ { on = 1; next } on && /^  \]/ { exit } on' |
		tr -d '", ' | grep -v 'External\]$' | grep -v '^kube-system/coredns\[' > "$TMP/eps"
	if ! [ -s "$TMP/eps" ]; then
		fail "$name: no workloads to ask about"
		continue
	fi
	: > "$TMP/want"
	# ask about the kube-dns Service where the input has one: eval
	# translates it to its backends as kube-proxy does
	dst=kube-system/coredns
	# shellcheck disable=SC2086
	"$PODWALL" eval -f "$d" $extra --src "$(head -1 "$TMP/eps" | sed 's/\[.*//')" \
		--dst kube-system/kube-dns --port UDP/53 > /dev/null 2>&1
	[ $? -le 1 ] && dst=kube-system/kube-dns
	staged=""
	grep -q '^kind: Staged' "$d"/*.yaml && staged=--staged
	while read -r ep; do
		src=${ep%\[*}
		now="" then=""
		for p in UDP TCP; do
			# shellcheck disable=SC2086
			"$PODWALL" eval -f "$d" $extra --src "$src" --dst $dst \
				--port "$p/53" -o json > "$TMP/e" 2> /dev/null
			[ "$(eval_view main < "$TMP/e")" = "DENY isolated" ] && now="$now $p/53"
			[ -n "$staged" ] || continue
			# eval explains a staged verdict for pods, not Services
			# shellcheck disable=SC2086
			"$PODWALL" eval -f "$d" $extra --staged --src "$src" \
				--dst kube-system/coredns --port "$p/53" -o json \
				> "$TMP/e" 2> /dev/null
			[ "$(eval_view staged < "$TMP/e")" = "DENY isolated" ] &&
				then="$then $p/53"
		done
		[ -n "$now" ] && echo "main $ep$now" >> "$TMP/want"
		# staged: only what the staged policies newly block
		nb=""
		for x in $then; do
			case " $now " in *" $x "*) ;; *) nb="$nb $x" ;; esac
		done
		[ -n "$nb" ] && echo "staged $ep$nb" >> "$TMP/want"
	done < "$TMP/eps"
	"$PODWALL" lint -f "$d" -o json 2> /dev/null |
		sed -n 's/.*"message": "\(.*\)"$/\1/p' > "$TMP/msgs"
	"$PODWALL" lint -f "$d" -o json 2> /dev/null |
		sed -n 's/.*"check": "\(.*\)",$/\1/p' > "$TMP/checks"
	paste -d'|' "$TMP/checks" "$TMP/msgs" | awk -F'|' '
		$1 == "dns-blocked" || $1 == "staged-dns-blocked" {
			view = $1 == "dns-blocked" ? "main" : "staged"
			ep = $2; sub(/ .*/, "", ep)
			p = $2; sub(/.* on /, "", p); sub(/:.*/, "", p); sub(/ once .*/, "", p)
			gsub(/ and /, " ", p)
			print view, ep, p
		}' > "$TMP/got"
	sort "$TMP/want" > "$TMP/w"
	sort "$TMP/got" > "$TMP/g"
	if cmp -s "$TMP/w" "$TMP/g"; then
		pass
	else
		fail "$name: lint and eval disagree on DNS (< eval, > lint)"
		diff "$TMP/w" "$TMP/g" | head -10
	fi
done
summary lint-dns
