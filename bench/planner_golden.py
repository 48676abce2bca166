"""bench-planner (golden): how well the local planner reads the briefs in bench/briefs/golden/.

Each brief carries what a careful reader writes down (subject, audience, platform, length, palette, style,
tone, the scenes the speaker enumerated, in order) and what its keyframe prompts must and must not contain
(bench/briefs/golden/README.md). Every item is one check; the score is the share of checks passed, per brief
and over the set. Prints a table and writes bench/results/planner_golden.{md,json}.

    python bench/planner_golden.py [--set DIR] [--out DIR] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storyreel.services.scenes.providers.local import LocalPlanner  # noqa: E402
from storyreel.shared import colors  # noqa: E402
from storyreel.shared.contracts import CreativeContext, ScenePlan, Transcript  # noqa: E402

GOLDEN = ROOT / "bench" / "briefs" / "golden"
RESULTS = ROOT / "bench" / "results"
GOAL = 0.90

# Rules every frame prompt keeps, whatever the brief: prompt language, not the speaker's sentences.
PRONOUNS = re.compile(r"\b(?:i|i'm|i'd|i'll|we|we're|we'd|we'll|you|you're|our|my|us|me)\b", re.IGNORECASE)
META = re.compile(
    r"\b(?:here'?s the idea|the idea is|scene (?:one|two|three|four|five|\d)|shot (?:one|two|three|four|\d)"
    r"|we agreed|agreed|should be|i want|i'd like|i would|aimed at|the audience|seconds? long|thanks?"
    r"|how was|anyway|sounds good|perfect|love it|okay|so yeah)\b",
    re.IGNORECASE,
)
FEATURING = re.compile(r"\bfeaturing\b", re.IGNORECASE)
MAX_SHOT_WORDS = 16  # what a start frame shows, before its first comma: a shot, not a pasted sentence


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class BriefResult:
    id: str
    kind: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(c.ok for c in self.checks)


def load_set(folder: Path = GOLDEN) -> list[dict[str, Any]]:
    out = []
    for path in sorted(folder.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if "file" in doc:
            doc["text"] = (path.parent / doc["file"]).read_text()
        doc["_path"] = str(path.relative_to(ROOT))
        out.append(doc)
    return out


def _match(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.IGNORECASE) is not None


def _field_checks(exp: dict[str, Any], c: CreativeContext, prompts: list[str]) -> list[Check]:
    out: list[Check] = []
    if "subject" in exp:
        out.append(Check("subject", _match(exp["subject"], c.subject), c.subject))
    if "audience" in exp:
        if exp["audience"] is None:
            ok = "target_audience" in c.missing
        else:
            ok = _match(exp["audience"], c.target_audience) and "target_audience" not in c.missing
        out.append(Check("audience", ok, c.target_audience))
    if "platform" in exp:
        out.append(Check("platform", c.platform == exp["platform"], str(c.platform)))
    if "duration" in exp:
        out.append(Check("duration", c.target_duration_s == exp["duration"], str(c.target_duration_s)))
    if "palette" in exp:
        names = [colors.name_of(p) for p in c.color_palette]
        if exp["palette"]:
            ok = all(n in names for n in exp["palette"]) and "color_palette" not in c.missing
        else:
            ok = "color_palette" in c.missing
        out.append(Check("palette", ok, ", ".join(names)))
    if "tone" in exp:
        out.append(Check("tone", c.tone == exp["tone"], c.tone))
    if "style" in exp:
        bad = [p for p in prompts if not _match(exp["style"], p)]
        out.append(Check("style", not bad, bad[0][:120] if bad else ""))
    return out


def _scene_checks(exp: dict[str, Any], plan: ScenePlan) -> list[Check]:
    out: list[Check] = []
    for i, pattern in enumerate(exp.get("scenes") or [], start=1):
        prompt = plan.scenes[i - 1].start_frame.prompt if i <= len(plan.scenes) else ""
        out.append(Check(f"scene {i}", _match(pattern, prompt), prompt[:120]))
    return out


def _prompt_checks(doc: dict[str, Any], prompts: list[str], plan: ScenePlan) -> list[Check]:
    spec = doc.get("prompts") or {}
    joined = "\n".join(prompts)
    out: list[Check] = []
    for pattern in spec.get("must") or []:
        out.append(Check(f"must /{pattern}/", _match(pattern, joined)))
    for pattern in spec.get("must_not") or []:
        hit = next((p for p in prompts if _match(pattern, p)), None)
        out.append(Check(f"must not /{pattern}/", hit is None, (hit or "")[:120]))
    pron = next((p for p in prompts if PRONOUNS.search(p)), None)
    out.append(Check("no pronouns", pron is None, (pron or "")[:120]))
    feat = next((p for p in prompts if FEATURING.search(p)), None)
    out.append(Check("no 'featuring'", feat is None, (feat or "")[:120]))
    meta = next((p for p in prompts if META.search(p)), None)
    out.append(Check("no meta talk", meta is None, (meta or "")[:120]))
    long = [
        s.start_frame.prompt
        for s in plan.scenes
        if len(s.start_frame.prompt.split(",")[0].split()) > MAX_SHOT_WORDS
    ]
    out.append(Check(f"shots under {MAX_SHOT_WORDS} words", not long, (long[0] if long else "")[:120]))
    return out


def score_brief(doc: dict[str, Any], planner: LocalPlanner | None = None) -> BriefResult:
    planner = planner or LocalPlanner()
    transcript = Transcript(
        text=doc["text"], duration_s=float(doc.get("duration_s", 30.0)), provider="golden"
    )
    context = planner.extract_context(transcript)
    exp = doc.get("expect") or {}
    n = int(doc.get("n_scenes") or max(3, min(10, len(exp.get("scenes") or []) or 5)))
    plan = planner.write_scenes(transcript, context, dict(doc.get("variant") or {}), n)
    prompts = [f.prompt for s in plan.scenes for f in s.frames()]
    result = BriefResult(doc["id"], doc.get("kind", ""))
    result.checks = [
        *_field_checks(exp, context, prompts),
        *_scene_checks(exp, plan),
        *_prompt_checks(doc, prompts, plan),
    ]
    return result


def score_set(folder: Path = GOLDEN) -> dict[str, Any]:
    planner = LocalPlanner()
    results = [score_brief(doc, planner) for doc in load_set(folder)]
    passed = sum(r.passed for r in results)
    total = sum(len(r.checks) for r in results)
    by_kind: dict[str, list[int]] = {}
    for r in results:
        for c in r.checks:
            kind = c.name.split(" ")[0] if c.name.startswith(("scene", "must")) else c.name
            if c.name.startswith("must not"):
                kind = "must not"
            pair = by_kind.setdefault(kind, [0, 0])
            pair[0] += c.ok
            pair[1] += 1
    return {
        "briefs": [
            {
                "id": r.id,
                "kind": r.kind,
                "passed": r.passed,
                "total": len(r.checks),
                "failed": [{"check": c.name, "got": c.detail} for c in r.checks if not c.ok],
            }
            for r in results
        ],
        "by_check": {k: {"passed": v[0], "total": v[1]} for k, v in by_kind.items()},
        "passed": passed,
        "total": total,
        "score": round(passed / total, 4) if total else 0.0,
        "goal": GOAL,
    }


def report(result: dict[str, Any], verbose: bool = False) -> str:
    lines = [
        "# planner golden set",
        "",
        f"{len(result['briefs'])} briefs in bench/briefs/golden/, {result['total']} checks: "
        f"**{result['passed']}/{result['total']} = {100 * result['score']:.1f} %** (goal {100 * GOAL:.0f} %)",
        "",
        "| brief | kind | passed | failed checks |",
        "|---|---|---:|---|",
    ]
    for b in result["briefs"]:
        failed = "; ".join(f["check"] for f in b["failed"]) or "—"
        lines.append(f"| {b['id']} | {b['kind']} | {b['passed']}/{b['total']} | {failed.replace('|', '/')} |")
    lines += ["", "| check | passed |", "|---|---:|"]
    lines += [f"| {k} | {v['passed']}/{v['total']} |" for k, v in result["by_check"].items()]
    if verbose:
        lines += ["", "## what failed", ""]
        for b in result["briefs"]:
            for f in b["failed"]:
                lines.append(f"- {b['id']} · {f['check']}: `{f['got']}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", type=Path, default=GOLDEN)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--verbose", action="store_true", help="also print what each failed check got")
    args = ap.parse_args(argv)
    result = score_set(args.set)
    text = report(result, verbose=True)
    print(text if args.verbose else report(result))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "planner_golden.md").write_text(text)
    (args.out / "planner_golden.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
