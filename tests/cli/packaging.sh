# packaging.sh: the build and the test runner themselves: make notices a
# change of MPI, make install/uninstall into a DESTDIR leave nothing behind,
# aoi.pc names the libraries this build linked, run-cli.sh reports a suite
# that ran no case as SKIPPED.
. "$AOI_TOP/tests/cli/lib.sh"

# make as a user would run it, not as a child of `make check` (whose
# command-line variables would come in through MAKEFLAGS)
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$AOI_TOP" "$@"
}
BUILD=$(dirname "$AOI_BIN")

# ---- run-cli.sh: a suite that ran no case is SKIPPED, with its reason ----
mkdir -p "$T/suites"
cat >"$T/suites/works.sh" <<'EOF'
. "$AOI_TOP/tests/cli/lib.sh"
expect_true "true is true" true
done_testing
EOF
cat >"$T/suites/nowidget.sh" <<'EOF'
. "$AOI_TOP/tests/cli/lib.sh"
echo "skipped: the widget server is absent"
done_testing
EOF
run sh "$AOI_TOP/tests/run-cli.sh" "$T/suites/nowidget.sh" "$T/suites/works.sh"
expect_status 0 "run-cli.sh: a skipped suite is not a failure"
expect_out '^SKIP nowidget \(the widget server is absent\)$' "run-cli.sh: the suite's line says SKIP"
expect_out '^cli: 1 passed, 1 SKIPPED \(nowidget: the widget server is absent\), 0 failed$' \
	"run-cli.sh: the summary names the skipped suite and why"

# ---- a change of MPI rebuilds lib/train/dist_mpi.o (was: .SECONDARY made
# the missing stamp count as up to date) ----
S="$T/build"
mk BUILD="$S" MPI=0 "$S/lib/train/dist_mpi.o" >/dev/null 2>&1
run mk -n BUILD="$S" MPI=1 "$S/lib/train/dist_mpi.o"
expect_out 'dist_mpi\.c' "make MPI=1 after MPI=0 recompiles dist_mpi.c"
run mk -q BUILD="$S" MPI=0 "$S/lib/train/dist_mpi.o"
expect_status 0 "MPI unchanged: dist_mpi.o is up to date"

# ---- aoi.pc lists what the build links ----
run mk -s BUILD="$S" MPI=1 AMQP=1 "$S/aoi.pc"
expect_true "aoi.pc with MPI and AMQP: -lrabbitmq" grep -q -- '^Libs.private:.*-lrabbitmq' "$S/aoi.pc"
if command -v mpicc >/dev/null 2>&1; then
	expect_true "aoi.pc with MPI: -lmpi" grep -q -- '^Libs.private:.*-lmpi' "$S/aoi.pc"
fi
run mk -s BUILD="$S" MPI=0 AMQP=0 "$S/aoi.pc"
expect_true "aoi.pc without them: neither" sh -c "! grep -Eq -- '-lmpi|-lrabbitmq' '$S/aoi.pc'"

# ---- make install / uninstall into a DESTDIR ----
# Only on a finished build (install must not compile here).
progs=$(cd "$AOI_TOP/cmd" && ls aoi-*.c | sed "s|^|$BUILD/bin/|; s|\.c\$||")
if ! mk -q BUILD="$BUILD" "$BUILD/libaoi.a" $progs 2>/dev/null; then
	echo "skipped: install (the build in $BUILD is not finished)"
	done_testing
	exit
fi
D="$T/dest"
run mk BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr install
expect_status 0 "make install into a DESTDIR"
for f in bin/aoi-train lib/libaoi.a lib/pkgconfig/aoi.pc include/aoi/base/error.h \
	share/man/man1/aoi-train.1 share/man/man5/aoi-model.5 share/man/man7/aoi.7 \
	share/bash-completion/completions/aoi-train share/zsh/site-functions/_aoi-train; do
	expect_true "installed: $f" test -f "$D/usr/$f"
done
expect_true "installed: share/aoi/retrain.sh, executable (the README's crontab line)" \
	test -x "$D/usr/share/aoi/retrain.sh"
run mk BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr uninstall
expect_status 0 "make uninstall from the DESTDIR"
expect_eq "$(find "$D" -type f -o -type l | head -n 5)" "" "uninstall leaves no file behind"
expect_true "uninstall removes aoi's own folders" sh -c "[ ! -e '$D/usr/include/aoi' ] && [ ! -e '$D/usr/share/aoi' ]"
done_testing
