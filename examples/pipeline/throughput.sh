#!/bin/sh
# throughput.sh MODEL RECORDS.jsonl [N] [aoi-infer options...]: images per
# second of one aoi-infer at one thread, at two threads, and of N stages
# (default 3) at one thread each, joined by pipes; then checks that the
# pipeline wrote the same records and masks as one process.
#   examples/pipeline/throughput.sh pcb.aoim test.jsonl 3 --size 320x320
set -eu
model=$1 records=$2 n=${3:-3}
shift 2
if [ $# -gt 0 ]; then shift; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count=$(grep -c . "$records")

now() { date +%s.%N; }
rate() { echo "$count / ($2 - $1)" | bc -l | xargs printf '%.2f'; }

for j in 1 2; do
	rm -rf "$tmp/masks"
	t0=$(now)
	aoi-infer -m "$model" -j "$j" --masks "$tmp/masks" "$@" "$records" >"$tmp/one.jsonl"
	t1=$(now)
	echo "one process, -j $j: $(rate "$t0" "$t1") images/s"
done
mv "$tmp/masks" "$tmp/masks1"

# stage K of N at one thread; the first reads the records, the last
# writes them
stage() {
	k=$1
	shift
	if [ "$k" -eq 1 ]; then
		aoi-infer -m "$model" -j 1 --stage "1/$n" "$@" "$records"
	elif [ "$k" -eq "$n" ]; then
		aoi-infer -m "$model" -j 1 --stage "$n/$n" --masks "$tmp/masks" "$@"
	else
		aoi-infer -m "$model" -j 1 --stage "$k/$n" "$@"
	fi
}
# the pipeline stage 1 | stage 2 | ... | stage N, built as a string
pipe="stage 1 \"\$@\""
k=2
while [ "$k" -le "$n" ]; do
	pipe="$pipe | stage $k \"\$@\""
	k=$((k + 1))
done
t0=$(now)
eval "$pipe" >"$tmp/stages.jsonl"
t1=$(now)
echo "$n stages, -j 1 each: $(rate "$t0" "$t1") images/s"
if cmp -s "$tmp/one.jsonl" "$tmp/stages.jsonl" && diff -r "$tmp/masks1" "$tmp/masks" >/dev/null; then
	echo "the same records and masks as one process"
else
	echo "DIFFERENT output from the stages" >&2
	exit 1
fi
