#!/usr/bin/env bash
# Regenerate examples/brief.wav (16 kHz mono, under 1 MB) from examples/brief.txt with espeak-ng.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/speak.sh examples/brief.txt examples/brief.wav
size=$(stat -c %s examples/brief.wav)
[ "$size" -lt 1048576 ] || { echo "examples/brief.wav is $size bytes: over 1 MB" >&2; exit 1; }
echo "examples/brief.wav: $(ffprobe -v error -show_entries format=duration -of csv=p=0 examples/brief.wav) s, $size bytes"
