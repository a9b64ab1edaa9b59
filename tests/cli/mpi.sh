# mpi.sh: data-parallel training under mpirun (lib/dist.c, aoi-train).
# Skipped, with a message, when mpirun is missing or aoi was built without
# MPI. Two processes on this machine (--oversubscribe: CI may have one
# core); the ASan build's Open MPI leaks are suppressed by tests/lsan.supp.
. "$AOI_TOP/tests/cli/lib.sh"

TESTS_BIN=$(dirname "$AOI_BIN")/tests
if ! command -v mpirun >/dev/null 2>&1; then
	echo "skipped: mpirun is not installed (make deps MPI=1)"
	done_testing
	exit
fi

# What every mpirun here gets: root allowed (CI), no binding (the test
# processes share whatever cores there are), shared-memory copies without
# ptrace (containers forbid it), sanitizer options passed to every rank.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_mca_base_component_disable_dlclose=1
export PMIX_MCA_mca_base_component_disable_dlclose=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$AOI_TOP/tests/lsan.supp:print_suppressions=0"
mpi() {
	np=$1
	shift
	timeout 300 mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$np" \
		-x ASAN_OPTIONS -x LSAN_OPTIONS -x AOI_TEST_STDIN -x OMP_NUM_THREADS "$@"
}
export OMP_NUM_THREADS=1

# The collectives, standard input and the sharded gradient identity, in
# the unit test run as two processes.
export AOI_TEST_STDIN='{"id":"a"}
{"id":"b"}
'
printf '%s' "$AOI_TEST_STDIN" >"$T/stdin"
run mpi 2 "$TESTS_BIN/test_dist" <"$T/stdin"
if grep -q "built without MPI" "$T/err" "$T/out"; then
	echo "skipped: aoi was built without MPI (make MPI=1)"
	done_testing
	exit
fi
expect_status 0 "test_dist under mpirun -np 2"
expect_eq "$(grep -c '0 failed' "$T/out")" 2 "test_dist: both ranks pass"

done_testing
