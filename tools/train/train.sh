#!/bin/sh
# Reproduces tern's default model in one command (about 50 minutes on 2 cores):
#   tools/train/train.sh [train.py options...]
# trains the sentencepiece tokenizer and the BitNet b1.58 model on ../shared/corpus's TinyStories,
# exports models/tinystories-bitnet.gguf and writes the model card's numbers to
# build/train/results.json (the training log goes to build/train/train.log). Needs Debian's
# python3-torch, python3-numpy and python3-sentencepiece (the system /usr/bin/python3). Build tern
# first (cmake --build --preset release) to also get `tern perplexity` on the held-out text.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${TERN_TRAIN_PYTHON:-/usr/bin/python3}
tern="$repo/build/release/bin/tern"
[ -x "$tern" ] || tern="$repo/build/dev/bin/tern"
mkdir -p "$repo/build/train"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
status="$repo/build/train/.status"
{ "$python" "$here/train.py" --tern "$tern" "$@" 2>&1; echo $? > "$status"; } | tee "$repo/build/train/train.log"
exit "$(cat "$status")"
