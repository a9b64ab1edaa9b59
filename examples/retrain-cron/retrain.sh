#!/bin/sh
# retrain.sh: retrain the line's model when new labelled data has arrived,
# and promote the new model only if it does not regress on a fixed test set.
#
#   AOI_HOME/inbox/*.jsonl   new labelled records, dropped there by whoever
#                            labels parts; their image paths are absolute or
#                            relative to AOI_HOME, like those of train.jsonl
#   AOI_HOME/train.jsonl     everything trained on so far
#   AOI_HOME/test.jsonl      the fixed test set the models are judged on
#   AOI_HOME/model.aoi       the model in production (swapped atomically)
#   AOI_HOME/retrain.log     one line per run
#
# Runs under flock, so a slow run and the next cron tick never overlap.
# Crontab line (every night at 02:30):
#   30 2 * * * AOI_HOME=/srv/aoi /usr/local/share/aoi/retrain.sh
set -eu

: "${AOI_HOME:?set AOI_HOME to the model's directory}"
: "${ARCH:=mbv2-unet-s}"
: "${TRAIN_FLAGS:=--gray --epochs 10 --batch 16 --lr 0.0005}"
: "${METRIC:=.segmentation.miou_defects}"   # jq path in aoi-metrics' JSON
: "${MIN_GAIN:=0}"                          # promote when new >= old + MIN_GAIN
cd "$AOI_HOME"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >> retrain.log; }

exec 9> retrain.lock
flock -n 9 || { log "skipped: another run holds the lock"; exit 0; }

set -- inbox/*.jsonl
[ -e "$1" ] || exit 0                                  # nothing new
work=$(mktemp -d "$AOI_HOME/retrain.XXXXXX")
trap 'rm -rf "$work"' EXIT

# the new data must be sound before anything is trained on it
cat "$@" > "$work/new.jsonl"
if ! aoi-datatool validate --root . < "$work/new.jsonl" > "$work/validate.json" 2> "$work/validate.err"; then
	log "refused: new data does not validate: $(head -n 1 "$work/validate.err")"
	exit 1
fi
cat train.jsonl "$work/new.jsonl" > "$work/train.jsonl"

score() {   # score MODEL: the metric of MODEL on the fixed test set
	aoi-infer -m "$1" --masks "$work/masks" test.jsonl > "$work/pred.jsonl" 2>> "$work/infer.err"
	aoi-metrics --truth test.jsonl "$work/pred.jsonl" | jq -r "$METRIC"
}

# from the current model's weights, so that retraining is short
aoi-train --arch "$ARCH" --init model.aoi $TRAIN_FLAGS --root . \
	--log "$work/train.log" -o "$work/model.aoi" < "$work/train.jsonl" 2> "$work/train.err" ||
	{ log "failed: aoi-train: $(tail -n 1 "$work/train.err")"; exit 1; }

old=$(score model.aoi)
new=$(score "$work/model.aoi")
if awk -v n="$new" -v o="$old" -v g="$MIN_GAIN" 'BEGIN { exit !(n >= o + g) }'; then
	cp "$work/model.aoi" model.aoi.new
	mv model.aoi.new model.aoi                         # atomic swap
	mv "$work/train.jsonl" train.jsonl
	mkdir -p done && mv "$@" done/
	log "promoted: $METRIC $old -> $new ($(wc -l < "$work/new.jsonl") new records)"
else
	log "kept the old model: $METRIC $old -> $new falls short"
	mkdir -p rejected && mv "$@" rejected/
fi
