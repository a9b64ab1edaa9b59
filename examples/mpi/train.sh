#!/bin/sh
# train.sh DATASET [MODEL]: AlexNet on PCB images (seed 000) with one
# aoi-train process per machine of ./hostfile, each with all its cores.
# The global batch of 32 is split 8 + 8 + 8 + 8 over four machines.
set -eu
dataset=${1:?usage: train.sh DATASET [MODEL]}
model=${2:-alexnet.aoim}
here=$(cd "$(dirname "$0")" && pwd)
exec mpirun --hostfile "$here/hostfile" --map-by node --bind-to none \
	aoi-train --arch alexnet --optim sgd --lr 0.001 --batch 32 --epochs 30 \
	--augment flip --checkpoint "$model.ckpt" --log "$model.log" -o "$model" "$dataset"
