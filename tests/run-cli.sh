#!/bin/sh
# run-cli.sh [SCRIPT...]: run each tests/cli/*.sh (or the scripts named) with
# AOI_BIN on PATH; one summary line.
# Each script exits 0 when all its cases pass and prints its failures. A
# script that ran no case (it prints "skipped: REASON" when the software it
# needs is missing) is reported as SKIPPED with its reason, in its own line
# and in the summary, not as passed.
here=$(cd "$(dirname "$0")" && pwd)
: "${AOI_BIN:?AOI_BIN must name the directory of the built programs}"
export AOI_BIN PATH="$AOI_BIN:$PATH" AOI_TOP="$(dirname "$here")"
export AOI_SHARED="${AOI_SHARED:-$(dirname "$AOI_TOP")/shared}"
[ $# -gt 0 ] || set -- "$here"/cli/*.sh
pass=0 fail=0 skip=0 skipped=
for t in "$@"; do
	[ -e "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	name=$(basename "$t" .sh)
	if out=$(sh "$t" 2>&1); then
		last=$(echo "$out" | tail -n 1)
		why=$(echo "$out" | sed -n 's/^skipped: //p' | head -n 1)
		case $last in
		"0 cases, "*)
			skip=$((skip + 1))
			why=${why:-no case ran}
			skipped="$skipped${skipped:+; }$name: $why"
			printf 'SKIP %s (%s)\n' "$name" "$why"
			;;
		*)
			pass=$((pass + 1))
			printf 'ok   %s (%s%s)\n' "$name" "$last" "${why:+; part skipped: $why}"
			;;
		esac
	else
		fail=$((fail + 1))
		printf 'FAIL %s\n' "$name"
		echo "$out" | tail -n 40 | sed 's/^/     /'
	fi
done
echo "cli: $pass passed, $skip SKIPPED${skipped:+ ($skipped)}, $fail failed"
[ "$fail" -eq 0 ]
