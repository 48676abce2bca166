#!/usr/bin/env bash
# Speak a text file with espeak-ng into a 16 kHz mono WAV: the voice every test, example and benchmark uses.
# usage: scripts/speak.sh TEXT_FILE OUT.wav
# The Klatt variant of the US English voice: pocketsphinx's en-us model recognises about 0.55-0.6 of its
# words, against 0.1-0.2 for espeak-ng's default voice (measured in docs/transcribe.md).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 TEXT_FILE OUT.wav" >&2; exit 2; }
voice="${ESPEAK_VOICE:-en-us+klatt}"
tmp="$(mktemp --suffix=.wav)"
trap 'rm -f "$tmp"' EXIT
espeak-ng -v "$voice" -f "$1" -w "$tmp"
ffmpeg -nostdin -v error -y -i "$tmp" -ar 16000 -ac 1 -c:a pcm_s16le -map_metadata -1 -fflags +bitexact "$2"
