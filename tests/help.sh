#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every command's --help against its parser, and README against the
# commands (as curl's test1139): the options a command accepts are read from
# its source (cli_optval(), cli_file_opt() (-f) and strcmp(argv[i], "--x") in
# cli/cmd-NAME.c, and
# the common options of cli/common.c where it calls cli_parse() or
# cli_common_opt()); each must be in `podwall NAME --help`, each option the
# help names must be accepted, and README must show `podwall NAME`.  A
# command whose --help lists "subcommands:" (lab) has its options in the
# subcommands' --help, and each subcommand takes exactly those its --help
# names (check_subs).
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)

# options in C source text on stdin, one a line: -x and --long
opts_of() {
	sed -n -e 's/.*cli_optval([^"]*\("-[^"]*"\)\{0,1\}[^"]*"\(--[a-z0-9-]*\)".*/\1 \2/p' \
		-e 's/.*strcmp(argv\[[a-z*]*\], "\(-[-a-z0-9]*\)").*/\1/p' \
		-e 's/.*cli_file_opt(.*/-f --filename/p' |
		tr -d '"' | tr ' ' '\n' | grep -E '^-' | grep -vxE -- '--|-h|--help' | sort -u
}

# a value for an option's metavariable in a help text
value_of() {
	case $1 in
	NAME) echo pwt-help ;;
	N) echo 2 ;;
	MS) echo 100 ;;
	ADDR) echo 192.0.2.1 ;;
	PROTO/N) echo TCP/80 ;;
	FORMAT) echo tsv ;;
	KIND) echo etcd ;;
	DURATION) echo 2s ;;
	*) echo /dev/null ;;
	esac
}

# check_subs CMD SUB...: every long option a subcommand's --help names is
# taken by it (`podwall CMD SUB OPT [VALUE] --help` exits 0: options are
# read in order, and --help stops before anything runs), and every other
# option of the command is refused by it with exit 2, naming the option.
check_subs() {
	c=$1
	shift
	for s in "$@"; do
		"$PODWALL" "$c" "$s" --help 2> /dev/null |
			grep -oE -- '--[a-z][a-z0-9-]*( [A-Z][A-Z/]*)?' | sort -u > "$TMP/sub-$s"
		"$PODWALL" "$c" "$s" --help | head -1 | grep -q "^usage: podwall $c $s" && pass ||
			fail "help: 'podwall $c $s --help' does not start with its usage"
	done
	cat "$TMP"/sub-* | sort -u > "$TMP/sub-all"
	for s in "$@"; do
		while read -r o m; do
			[ "$o" = --help ] && continue
			v=
			[ -n "$m" ] && v=$(value_of "$m")
			# shellcheck disable=SC2086
			"$PODWALL" "$c" "$s" "$o" $v --help > /dev/null 2> "$TMP/err"
			rc=$?
			if grep -q -- "^$o\( \|$\)" "$TMP/sub-$s"; then
				[ $rc -eq 0 ] && pass ||
					fail "help: 'podwall $c $s --help' lists $o, which it refuses: $(head -1 "$TMP/err")"
			elif [ $rc -eq 2 ] && grep -q -- "$o" "$TMP/err"; then
				pass
			else
				fail "help: 'podwall $c $s $o' is not refused with exit 2 naming $o (exit $rc)"
			fi
		done < "$TMP/sub-all"
	done
	rm -f "$TMP"/sub-*
}

common=$(sed -n '/^int cli_common_opt/,/^}/p' "$root/cli/common.c" | opts_of)
[ -n "$common" ] && pass || fail "help: no common options found in cli/common.c"

"$PODWALL" --help > "$TMP/main" 2>&1
for src in "$root"/cli/cmd-*.c; do
	cmd=$(basename "$src" .c | sed 's/^cmd-//')
	if grep -qE "^  $cmd " "$TMP/main"; then pass; else fail "help: '$cmd' is not in 'podwall --help'"; fi
	if grep -q "podwall $cmd" "$root/README.md"; then pass; else fail "help: README does not show 'podwall $cmd'"; fi
	if ! "$PODWALL" "$cmd" --help > "$TMP/help" 2>&1; then
		fail "help: 'podwall $cmd --help' exits non-zero"
		continue
	fi
	# a command with subcommands: its options are in theirs
	subs=$(sed -n '/^subcommands:$/,/^$/p' "$TMP/help" | awk 'NF > 1 { print $1 }')
	for sub in $subs; do
		"$PODWALL" "$cmd" "$sub" --help >> "$TMP/help" 2>&1 ||
			fail "help: 'podwall $cmd $sub --help' exits non-zero"
	done
	[ -n "$subs" ] && check_subs "$cmd" $subs
	{
		opts_of < "$src"
		grep -qE 'cli_parse\(|cli_common_opt\(' "$src" && echo "$common"
	} | sort -u > "$TMP/accepted"
	[ -s "$TMP/accepted" ] && pass || fail "help: no options found in $src"
	while read -r o; do
		if grep -qE -- "(^|[ ,[|(])$o([] ,=:.)]|\$)" "$TMP/help"; then
			pass
		else
			fail "help: 'podwall $cmd' accepts $o but its --help does not list it"
		fi
	done < "$TMP/accepted"
	# and every option the help names is accepted
	grep -oE -- "(^|[ ,[|])--[a-z0-9][a-z0-9-]*" "$TMP/help" | sed 's/^[ ,[|]//' |
		sort -u | grep -vx -- '--help' > "$TMP/named"
	while read -r o; do
		if grep -qx -- "$o" "$TMP/accepted"; then
			pass
		else
			fail "help: 'podwall $cmd --help' lists $o, which it does not accept"
		fi
	done < "$TMP/named"
done
summary help
