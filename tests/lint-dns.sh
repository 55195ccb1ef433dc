#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# lint's DNS findings against eval: on every lint case under tests/cli, for
# every workload, `podwall lint` reports dns-blocked (staged-dns-blocked)
# for exactly the protocols on which `podwall eval` (eval --staged) denies
# DNS to kube-system/coredns, for the workloads that some policy isolates
# for egress.  Inputs without a kube-dns pod are given to eval with
# lint-dns/coredns-eks.yaml, the CoreDNS that lint models for them.
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

for d in "$here"/cli/*-lint-*/; do
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
	while read -r ep; do
		src=${ep%\[*}
		for view in main staged; do
			blocked=""
			for p in UDP TCP; do
				flag=""
				[ $view = staged ] && flag=--staged
				# shellcheck disable=SC2086
				r=$("$PODWALL" eval -f "$d" $extra $flag --src "$src" \
					--dst kube-system/coredns --port $p/53 -o json 2> /dev/null |
					eval_view $view)
				case $r in "DENY isolated") blocked="$blocked $p/53" ;; esac
				[ $view = main ] && eval "main_$p=\"\$r\""
			done
			if [ $view = staged ]; then
				# only what the staged policies newly block
				now=""
				case $main_UDP in "DENY isolated") now="$now UDP/53" ;; esac
				case $main_TCP in "DENY isolated") now="$now TCP/53" ;; esac
				nb=""
				for x in $blocked; do
					case " $now " in *" $x "*) ;; *) nb="$nb $x" ;; esac
				done
				blocked=$nb
			fi
			[ -n "$blocked" ] && echo "$view $ep$blocked" >> "$TMP/want"
		done
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
