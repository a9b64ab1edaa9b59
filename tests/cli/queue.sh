# queue.sh: queue workers over a real RabbitMQ broker on loopback: every
# record comes out although a worker is killed mid-run (at-least-once), a
# bad record goes to the dead-letter queue, SIGTERM exits 0.
. "$AOI_TOP/tests/cli/lib.sh"

# Without rabbitmq-c the queue options fail clearly (checked whatever the
# broker): one line, exit 1.
run aoi-datatool consume --amqp amqp://127.0.0.1:1/ --queue q --idle 1
if grep -q 'built without AMQP support' "$T/err"; then
	expect_status 1 "no AMQP: exit 1"
	expect_one_line_error aoi-datatool "no AMQP: one line"
	done_testing
	exit
fi
expect_status 1 "no broker on port 1: exit 1"
expect_one_line_error aoi-datatool "no broker: one line"
expect_err 'cannot connect to 127\.0\.0\.1:1' "no broker: says where"

run aoi-classify -r /dev/null --amqp amqp://x/ --consume a
expect_status 2 "--amqp without --publish is a usage error"

# the Debian /usr/sbin wrappers switch to the rabbitmq user and its files;
# the scripts behind them run the broker as we are, on our directories
RMQ=/usr/lib/rabbitmq/bin/rabbitmq-server
[ -x "$RMQ" ] || RMQ=$(command -v rabbitmq-server || echo none)
if [ ! -x "$RMQ" ]; then
	echo "skipped: rabbitmq-server is absent"
	done_testing
	exit
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- a private broker on loopback ----
R="$T/rabbit"
mkdir -p "$R/mnesia" "$R/log" "$R/home"
PORT=$(free_port)
export RABBITMQ_NODENAME="aoitest$$@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
	RABBITMQ_NODE_PORT=$PORT RABBITMQ_DIST_PORT=$(free_port) \
	RABBITMQ_MNESIA_BASE="$R/mnesia" RABBITMQ_LOG_BASE="$R/log" \
	RABBITMQ_PID_FILE="$R/pid" RABBITMQ_ENABLED_PLUGINS_FILE="$R/plugins" \
	HOME="$R/home" \
	ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$(free_port)
printf '[].\n' >"$R/plugins"
"$RMQ" >"$R/server.out" 2>&1 &
rmq_pid=$!
stop_broker() {
	kill -TERM "$rmq_pid" 2>/dev/null
	wait "$rmq_pid" 2>/dev/null
	# the epmd that our broker started on its own port, no other
	for p in $(pgrep -x epmd); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
			grep -qx "ERL_EPMD_PORT=$ERL_EPMD_PORT" && kill "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap stop_broker EXIT
URL="amqp://guest:guest@127.0.0.1:$PORT"
up=0
for _ in $(seq 1 150); do
	if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null; then
		up=1
		break
	fi
	sleep 0.2
done
if [ "$up" -ne 1 ]; then
	echo "skipped: rabbitmq-server did not start: $(tail -3 "$R/server.out")"
	done_testing
	exit
fi

# ---- records: 400 predictions, every other one a reject ----
N=400
for i in $(seq 1 $N); do
	if [ $((i % 2)) -eq 0 ]; then
		printf '{"id":"r%d","width":4,"height":4,"pred":{"classes":["open"],"masks":{"open":{"size":[4,4],"counts":"4130000"}},"prob":0.9}}\n' "$i"
	else
		printf '{"id":"r%d","width":4,"height":4,"pred":{"masks":{},"prob":0.9}}\n' "$i"
	fi
done >"$T/in.jsonl"
printf '{"default": {"min_area": 2}}\n' >"$T/rules.json"

# a record the rules refuse (its mask RLE is malformed) and one that is not JSON
printf '{"id":"bad1","width":4,"height":4,"pred":{"masks":{"open":{"size":[4,4],"counts":"!!"}}}}\n' >"$T/bad.jsonl"
run aoi-datatool publish --amqp "$URL" --queue preds "$T/bad.jsonl"
expect_status 0 "publish a bad record"
printf '{"id":"x"}\nnot json\n' >"$T/notjson.jsonl"
run aoi-datatool publish --amqp "$URL" --queue preds "$T/notjson.jsonl"
expect_status 1 "publish refuses a line that is not JSON"
expect_err "notjson.jsonl:2" "publish names file:line"

# ---- two workers; one is killed with SIGKILL while records are in hand ----
aoi-classify -r "$T/rules.json" --amqp "$URL" --consume preds --publish decided \
	--prefetch 8 2>"$T/w1.err" &
w1=$!
aoi-classify -r "$T/rules.json" --amqp "$URL" --consume preds --publish decided \
	--prefetch 8 2>"$T/w2.err" &
w2=$!
# the records arrive while both workers are connected and busy (a
# confirmed publish per record); w1 dies with records in hand
sleep 1
aoi-datatool publish --amqp "$URL" --queue preds "$T/in.jsonl" 2>"$T/pub.err" &
pub=$!
sleep 0.4
kill -KILL "$w1"
wait "$w1" 2>/dev/null
wait "$pub"
status=$?
expect_status 0 "publish $N records"
cases=$((cases + 1))
grep -q "published $N records" "$T/pub.err" || fail "publish counts: $(cat "$T/pub.err")"

run aoi-datatool consume --amqp "$URL" --queue decided --idle 3
expect_status 0 "consume the decisions"
ids=$(grep -o '"id":"r[0-9]*"' "$T/out" | sort -u | wc -l)
expect_eq "$ids" "$N" "every record decided although a worker died"
total=$(grep -c . "$T/out")
echo "note: $((total - N)) record(s) decided twice (redelivered after the SIGKILL)"
cases=$((cases + 1))
[ "$total" -ge "$N" ] && [ "$total" -le $((N + 8 + 1)) ] ||
	fail "duplicates beyond the dead worker's prefetch: $total lines"
grep '"decision":"reject"' "$T/out" | grep -o '"id":"r[0-9]*"' | sort -u >"$T/rejects"
expect_eq "$(grep -c . "$T/rejects")" $((N / 2)) "half are rejects"
expect_eq "$(grep -c '[02468]"$' "$T/rejects")" $((N / 2)) "the rejects are the even records"

run aoi-datatool consume --amqp "$URL" --queue preds.dead --idle 2
expect_status 0 "consume the dead letters"
expect_out '"id":"bad1"' "the bad record is in the dead-letter queue"
expect_out '"id":"x"' "and the record without a prediction"
expect_eq "$(grep -c . "$T/out")" 2 "only they"
expect_err 'preds.dead: dead letter: .*(RLE|counts)' "with the reason"

# ---- SIGTERM: the worker finishes and exits 0 ----
kill -TERM "$w2"
wait "$w2"
status=$?
expect_status 0 "SIGTERM exits 0"
cases=$((cases + 1))
grep -Eq 'decided, [0-9]+ dead-lettered' "$T/w2.err" || fail "worker summary: $(cat "$T/w2.err")"

# ---- aoi-infer as a worker: masks on disk, one bad image dead-lettered ----
D="$TESTDATA/train"
aoi-train --arch mbv2-unet-s --size 32x32 --gray --template -b 4 -j 1 -e 1 \
	-o "$T/seg.aoim" "$D/train.jsonl" >/dev/null 2>&1
{ cat "$D/train.jsonl"; printf '{"id":"gone","image":"no-such.png","template":"no-such.png"}\n'; } \
	>"$T/seg-in.jsonl"
nseg=$(grep -c . "$D/train.jsonl")
run aoi-datatool publish --amqp "$URL" --queue images "$T/seg-in.jsonl"
expect_status 0 "publish images"
aoi-infer -m "$T/seg.aoim" -j 1 --root "$D" --masks "$T/masks" --amqp "$URL" \
	--consume images --publish segmented 2>"$T/inf.err" &
inf=$!
run aoi-datatool consume --amqp "$URL" --queue segmented -n "$nseg" --idle 20
expect_status 0 "consume the predictions"
expect_eq "$(grep -c '"pred":{"mask"' "$T/out")" "$nseg" "every image predicted"
expect_eq "$(ls "$T/masks" | grep -c '\.png$')" "$nseg" "with its mask file"
run aoi-datatool consume --amqp "$URL" --queue images.dead -n 1 --idle 10
expect_out '"id":"gone"' "the missing image is dead-lettered"
expect_err 'images\.dead: dead letter: .*no-such\.png' "with the file named"
kill -TERM "$inf"
wait "$inf"
status=$?
expect_status 0 "aoi-infer worker: SIGTERM exits 0"

# consume -n stops after N records
printf '{"id":"n1"}\n{"id":"n2"}\n{"id":"n3"}\n' >"$T/three.jsonl"
run aoi-datatool publish --amqp "$URL" --queue three "$T/three.jsonl"
run aoi-datatool consume --amqp "$URL" --queue three -n 2
expect_status 0 "consume -n 2"
expect_eq "$(grep -c . "$T/out")" 2 "-n 2 writes two"
run aoi-datatool consume --amqp "$URL" --queue three --idle 1
expect_out '"id":"n3"' "the third is still queued"

done_testing
