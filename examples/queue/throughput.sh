#!/bin/bash
# throughput.sh URL RECORDS.jsonl "1 2 ..." WORKER-COMMAND...: records per
# second of queue workers on a broker. For each worker count: publish the
# records, start that many workers (the command gets --amqp, --consume,
# --publish and --prefetch appended), time until every record has come
# out, then stop the workers with SIGTERM.
#   examples/queue/throughput.sh amqp://localhost pred.jsonl "1 2" \
#       aoi-classify -q -r rules.json
#   examples/queue/throughput.sh amqp://localhost test.jsonl "1 2" \
#       aoi-infer -m pcb.aoim -j 1 --root data --masks /tmp/masks
set -eu
url=$1 records=$2 counts=$3
shift 3
n=$(grep -c . "$records")
for w in $counts; do
	q=bench$$.$w
	aoi-datatool publish --amqp "$url" --queue "$q.in" "$records" 2>/dev/null
	start=$(date +%s.%N)
	pids=
	for _ in $(seq 1 "$w"); do
		"$@" --amqp "$url" --consume "$q.in" --publish "$q.out" --prefetch 4 2>/dev/null &
		pids="$pids $!"
	done
	aoi-datatool consume --amqp "$url" --queue "$q.out" -n "$n" >/dev/null
	end=$(date +%s.%N)
	kill -TERM $pids
	wait $pids
	echo "$w worker(s): $n records in $(echo "$end - $start" | bc) s," \
		"$(echo "$n / ($end - $start)" | bc) records/s"
done
