"""Local transcription speed and accuracy on espeak-ng speech.

Speaks bench/briefs/brief-60s.txt with scripts/speak.sh (the project's one voice), then transcribes it the
way a CLI run does: each measurement in a fresh Python process (model load and process pool start included),
through the stage function (input checks + decode + recognition). Prints a table and writes
bench/results/transcribe.md and .json.

    python bench/transcribe.py            # 60 s brief: workers 1 and 2, fast vs pocketsphinx defaults, 3 runs each
    python bench/transcribe.py --quick    # the 25 s example brief, one run each (CI-sized)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTION_SETS = {"fast": None, "defaults": {}}  # None: the transcriber's FAST_OPTIONS; {}: pocketsphinx's own


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def wer(reference: str, hypothesis: str) -> float:
    r, h = _words(reference), _words(hypothesis)
    row = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        diag, row[0] = row[0], i
        for j in range(1, len(h) + 1):
            diag, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diag + (r[i - 1] != h[j - 1]))
    return row[len(h)] / max(1, len(r))


def recall(reference: str, hypothesis: str) -> float:
    ref, hyp = Counter(_words(reference)), Counter(_words(hypothesis))
    return sum(min(n, hyp[w]) for w, n in ref.items()) / max(1, sum(ref.values()))


def one(wav: Path, workers: int, option_set: str) -> dict[str, float | str | int]:
    """One cold measurement (runs in its own process)."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    from storyreel.services.transcribe.audio import check_audio
    from storyreel.services.transcribe.providers.sphinx import SphinxTranscriber
    from storyreel.shared.settings import TranscriptionConfig

    t_import = time.perf_counter()
    config = TranscriptionConfig(workers=workers)
    transcriber = SphinxTranscriber(config, options=OPTION_SETS[option_set])
    check_audio(wav, max_minutes=30)
    t_checked = time.perf_counter()
    transcript = transcriber.transcribe(wav, None)
    t_done = time.perf_counter()
    from storyreel.services.transcribe.providers import sphinx

    worker_cpus = [_cpu_of(pid) for pool in sphinx._pools.values() for pid in pool._processes]
    main_cpu = time.process_time() - c0
    return {
        "import_s": t_import - t0,
        "check_s": t_checked - t_import,
        "recognise_s": t_done - t_checked,
        "stage_s": t_done - t_import,
        "cpu_s": main_cpu + sum(worker_cpus),
        # Wall time this run would take with its cores to itself: this process's CPU plus the busiest
        # worker's (the workers run side by side). An estimate from measured CPU seconds, not a measurement.
        "idle_estimate_s": main_cpu + max(worker_cpus, default=0.0),
        "audio_s": transcript.duration_s,
        "segments": len(transcript.segments),
        "text": transcript.text,
    }


def _cpu_of(pid: int) -> float:
    """user + system CPU seconds of a live process (a pool worker: not our child, so not in rusage)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the 25 s example brief, one run per row")
    ap.add_argument("--runs", type=int, default=None, help="runs per row (default 3, --quick 1)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "transcribe")
    ap.add_argument("--one", nargs=3, metavar=("WAV", "WORKERS", "OPTIONS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(Path(args.one[0]), int(args.one[1]), args.one[2])))
        return

    text_file = ROOT / ("examples/brief.txt" if args.quick else "bench/briefs/brief-60s.txt")
    runs = args.runs or (1 if args.quick else 3)
    reference = text_file.read_text(encoding="utf-8")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "brief.wav"
        subprocess.run([str(ROOT / "scripts" / "speak.sh"), str(text_file), str(wav)], check=True)
        for option_set in ("fast", "defaults"):
            for workers in (1, 2):
                results = []
                for _ in range(runs):
                    load = os.getloadavg()[0]
                    wall0 = time.perf_counter()
                    proc = subprocess.run(
                        [sys.executable, __file__, "--one", str(wav), str(workers), option_set],
                        check=True,
                        capture_output=True,
                        text=True,
                        cwd=ROOT,
                    )
                    res = json.loads(proc.stdout.strip().splitlines()[-1])
                    res["process_s"] = time.perf_counter() - wall0
                    res["load_before"] = load
                    results.append(res)
                best = min(results, key=lambda r: r["stage_s"])
                rows.append(
                    {
                        "options": option_set,
                        "workers": workers,
                        "runs": runs,
                        "audio_s": best["audio_s"],
                        "stage_s_min": round(best["stage_s"], 2),
                        "stage_s_median": round(statistics.median(r["stage_s"] for r in results), 2),
                        "check_s": round(best["check_s"], 3),
                        "recognise_s": round(best["recognise_s"], 2),
                        "process_s_min": round(min(r["process_s"] for r in results), 2),
                        "cpu_s": round(best["cpu_s"], 2),
                        "idle_estimate_s": round(min(r["idle_estimate_s"] for r in results), 2),
                        "rtf": round(best["stage_s"] / best["audio_s"], 3),
                        "wer": round(wer(reference, best["text"]), 3),
                        "recall": round(recall(reference, best["text"]), 3),
                        "load_before": round(statistics.mean(r["load_before"] for r in results), 2),
                    }
                )
                print(_row(rows[-1]), flush=True)

    header = (
        f"# Local transcription (pocketsphinx) on {text_file.relative_to(ROOT)} spoken by espeak-ng\n\n"
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared; "
        f"'load' is the 1-min load average before each run). Each run is a fresh process: model load and "
        f"pool start included. stage = check_audio + transcribe; process = the whole `python` including imports; "
        f"CPU = this process + the pool's workers; 'est. s on idle cores' = this process's CPU + the busiest "
        f"worker's CPU (what the run would take with its cores to itself; derived from CPU time, not measured "
        f"wall); RTF = stage / audio.\n"
        f"Command: `python bench/transcribe.py{' --quick' if args.quick else ''}`\n\n"
    )
    table = "\n".join([_head(), *(_row(r) for r in rows)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(header + table + "\n", encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out.with_suffix('.md')} and .json", file=sys.stderr)


_COLS = [
    ("options", "options"),
    ("workers", "workers"),
    ("audio_s", "audio s"),
    ("stage_s_min", "stage s (min)"),
    ("stage_s_median", "stage s (median)"),
    ("check_s", "checks s"),
    ("recognise_s", "recognise s"),
    ("process_s_min", "process s"),
    ("cpu_s", "CPU s"),
    ("idle_estimate_s", "est. s on idle cores"),
    ("rtf", "RTF"),
    ("wer", "WER"),
    ("recall", "word recall"),
    ("load_before", "load"),
]


def _head() -> str:
    return "| " + " | ".join(c[1] for c in _COLS) + " |\n|" + "---|" * len(_COLS)


def _row(r: dict) -> str:
    return "| " + " | ".join(str(r[c[0]]) for c in _COLS) + " |"


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
