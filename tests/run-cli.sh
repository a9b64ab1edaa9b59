#!/bin/sh
# run-cli.sh: run every tests/cli/*.sh with AOI_BIN on PATH; one summary line.
# Each script exits 0 when all its cases pass and prints its failures.
here=$(cd "$(dirname "$0")" && pwd)
: "${AOI_BIN:?AOI_BIN must name the directory of the built programs}"
export AOI_BIN PATH="$AOI_BIN:$PATH" AOI_TOP="$(dirname "$here")"
export AOI_SHARED="${AOI_SHARED:-$(dirname "$AOI_TOP")/shared}"
pass=0 fail=0
for t in "$here"/cli/*.sh; do
	[ -e "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	name=$(basename "$t" .sh)
	if out=$(sh "$t" 2>&1); then
		pass=$((pass + 1))
		printf 'ok   %s (%s)\n' "$name" "$(echo "$out" | tail -n 1)"
	else
		fail=$((fail + 1))
		printf 'FAIL %s\n' "$name"
		echo "$out" | tail -n 40 | sed 's/^/     /'
	fi
done
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
