#!/bin/sh
# run-unit.sh BIN...: run each unit test binary, then one summary line.
pass=0 fail=0
for t in "$@"; do
	name=$(basename "$t")
	if out=$("$t" 2>&1); then
		pass=$((pass + 1))
		printf 'ok   %s (%s)\n' "$name" "$(echo "$out" | tail -n 1)"
	else
		fail=$((fail + 1))
		printf 'FAIL %s\n' "$name"
		echo "$out" | tail -n 40 | sed 's/^/     /'
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
