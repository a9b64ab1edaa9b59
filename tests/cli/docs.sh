# docs.sh: every program has a man page that lints cleanly and names every
# option its --help lists, and bash and zsh completions that know them too.
. "$AOI_TOP/tests/cli/lib.sh"

for bin in "$AOI_BIN"/aoi-*; do
	[ -x "$bin" ] || continue
	prog=$(basename "$bin")
	page="$AOI_TOP/man/$prog.1"
	cases=$((cases + 1))
	if [ ! -f "$page" ]; then
		fail "$prog: no man page man/$prog.1"
		continue
	fi
	run mandoc -Tlint -Wwarning "$page"
	expect_status 0 "$prog.1 lints cleanly"
	mandoc -Tascii "$page" 2>/dev/null | sed 's/.\x08//g' >"$T/page.txt"
	run "$bin" --help
	expect_status 0 "$prog --help exits 0"
	for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$T/out" | sort -u); do
		cases=$((cases + 1))
		grep -q -- "$opt" "$T/page.txt" ||
			fail "$prog: option $opt of --help is not in man/$prog.1"
		for comp in "$AOI_TOP/completions/bash/$prog" "$AOI_TOP/completions/zsh/_$prog"; do
			cases=$((cases + 1))
			grep -q -- "$opt" "$comp" 2>/dev/null ||
				fail "$prog: option $opt is not in $(basename "$comp")"
		done
	done
	# a full disk on stdout is a failure, not a silent loss of output
	"$bin" --help >/dev/full 2>"$T/err"
	status=$?
	expect_status 1 "$prog --help >/dev/full fails"
	expect_one_line_error "$prog" "$prog --help >/dev/full"
	run "$bin" --no-such-option
	expect_status 2 "$prog with an unknown option exits 2"
	run "$bin" --version
	expect_out "^$prog \\(aoi\\) [0-9]" "$prog --version"
	run bash -n "$AOI_TOP/completions/bash/$prog"
	expect_status 0 "bash completion of $prog parses"
	if command -v zsh >/dev/null 2>&1; then
		run zsh -n "$AOI_TOP/completions/zsh/_$prog"
		expect_status 0 "zsh completion of $prog parses"
	fi
done

for page in "$AOI_TOP"/man/*.[57]; do
	[ -e "$page" ] || continue
	run mandoc -Tlint -Wwarning "$page"
	expect_status 0 "$(basename "$page") lints cleanly"
done

done_testing
