#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# podwall recommend (lib/recommend/, cli/cmd-recommend.c); no root.  Each
# directory CASE/ holds cluster.yaml (the manifests), records.jsonl (flow
# records, as `podwall flows -o json` prints them), args (the options after
# --store, -f and -n storefront, one line; may be absent), exit (the exit
# status wanted; absent: 0), expected.yaml (stdout: the policies, the proof
# and the diff) and expected.err (the summary on stderr).  For each case:
#  - the output and the exit status are the expected ones (REGEN=1 rewrites
#    the expected files);
#  - -o json: valid JSON whose proof.proven agrees with the exit status;
#  - the differential check: every record evaluated again by `podwall eval`
#    on the cluster plus the recommended YAML (with --staged: its staged
#    verdict), in the record's direction (egress for a source's report,
#    ingress for a destination's); the verdict must be the record's action,
#    except for the records the proof lists as changing, where it must be
#    the other one: the proof and eval agree.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
case $PODWALL in /*) ;; *) PODWALL=$(pwd)/$PODWALL ;; esac

for dir in "$here"/*/; do
	name=$(basename "$dir")
	args=$(cat "$dir/args" 2> /dev/null)
	want=$(cat "$dir/exit" 2> /dev/null || echo 0)
	cd "$dir" || exit 2
	# shellcheck disable=SC2086
	"$PODWALL" recommend --store records.jsonl -f cluster.yaml -n storefront $args \
		> "$TMP/out" 2> "$TMP/err"
	rc=$?
	if [ -n "$REGEN" ]; then
		cp "$TMP/out" expected.yaml
		cp "$TMP/err" expected.err
	fi
	[ "$rc" = "$want" ] && pass || fail "$name: exit $rc, want $want: $(head -3 "$TMP/err")"
	if cmp -s expected.yaml "$TMP/out"; then pass; else
		fail "$name: stdout differs"
		diff expected.yaml "$TMP/out" | head -10
	fi
	if cmp -s expected.err "$TMP/err"; then pass; else
		fail "$name: stderr differs"
		diff expected.err "$TMP/err" | head -10
	fi

	# -o json
	# shellcheck disable=SC2086
	"$PODWALL" recommend --store records.jsonl -f cluster.yaml -n storefront $args \
		-o json > "$TMP/json" 2> /dev/null
	proven=$(jq -r .proof.proven "$TMP/json" 2> /dev/null)
	case $rc/$proven in
	0/true | 1/false) pass ;;
	*) fail "$name: -o json: proof.proven is '$proven', exit $rc" ;;
	esac
	# every rule of the JSON says what it covers
	n=$(jq '[.policies[].spec | (.ingress // [])[], (.egress // [])[] |
		select(.action != "Deny") | select(.covers == null)] | length' "$TMP/json")
	[ "$n" = 0 ] && pass || fail "$name: -o json: $n rules without covers"

	# the differential check against podwall eval
	staged=
	case " $args " in *" --staged "*) staged=--staged ;; esac
	jq -r '.proof.changes[].record' "$TMP/json" | jq -cS . > "$TMP/changed"
	: > "$TMP/diffs"
	while IFS= read -r line; do
		set -- $(printf '%s\n' "$line" | jq -r '
			def ep(p): if .[p + "_type"] == "wep" then
				.[p + "_namespace"] + "/" +
				(.[p + "_name_aggr"] | sub("-[a-z0-9]+-\\*$"; ""))
				else .[p + "_ip"] end;
			[ep("source"), ep("dest"), (.proto | ascii_upcase) + "/" +
			 (.dest_port | tostring), .action, .reporter] | join(" ")')
		dirn=ingress
		[ "$5" = src ] && dirn=egress
		w=$(echo "$4" | tr a-z A-Z)
		if grep -qxF "$(printf '%s\n' "$line" | jq -cS .)" "$TMP/changed"; then
			[ "$w" = ALLOW ] && w=DENY || w=ALLOW
		fi
		if [ -n "$staged" ]; then
			sel=".staged.$dirn.verdict"
		else
			sel=".$dirn.verdict"
		fi
		got=$("$PODWALL" eval -f cluster.yaml -f "$TMP/out" --src "$1" --dst "$2" \
			--port "$3" $staged -o json 2> "$TMP/everr" | jq -r "$sel")
		[ -n "$got" ] && [ "$got" = "$w" ] || echo "$1 $2 $3 ($5): eval $got, proof $w" >> "$TMP/diffs"
	done < records.jsonl
	if [ -s "$TMP/diffs" ]; then
		fail "$name: the proof and podwall eval disagree"
		head -5 "$TMP/diffs"
	else
		pass
	fi
	cd "$here" || exit 2
done

# bad usage: exit 2
"$PODWALL" recommend -f "$here/storefront/cluster.yaml" -n storefront > /dev/null 2>&1
[ $? = 2 ] && pass || fail "no records: want exit 2"
"$PODWALL" recommend --store "$here/storefront/records.jsonl" -f "$here/storefront/cluster.yaml" \
	-n nowhere > /dev/null 2>&1
[ $? = 2 ] && pass || fail "unknown namespace: want exit 2"
"$PODWALL" recommend --store "$here/storefront/records.jsonl" -f "$here/storefront/cluster.yaml" \
	-n storefront --kind istio > /dev/null 2>&1
[ $? = 2 ] && pass || fail "--kind istio: want exit 2"

summary recommend
