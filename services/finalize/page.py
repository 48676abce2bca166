"""index.html: a self-contained storyboard page (inline CSS, no scripts, no outside resources).

Everything that came from the brief or a provider is escaped; links are only ever http(s) or the run's own JSON files (a fixed list, checked by pattern); images are only
ever the run's own relative frame files (`frames/s1-start.png`, beside index.html). Frames that are not
rendered are drawn as labelled boxes (pending / failed / skipped), never as broken images.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from storyreel.shared import colors
from storyreel.shared.contracts import (
    CreativeContext,
    Frame,
    FrameStatus,
    OptimizerDecision,
    Scene,
    StageTiming,
    Storyboard,
    Transcript,
    ViralityComponent,
    ViralityReport,
)

CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;background:#f4f2ed;overflow-wrap:anywhere}
main{max-width:1280px;margin:0 auto;padding:16px 24px 40px}
h1{margin:0 0 2px;font-size:26px;line-height:1.25}h2{margin:28px 0 10px;font-size:20px;border-bottom:2px solid #ddd;padding-bottom:4px}
h3{margin:0 0 8px;font-size:17px}
a{color:#1d4ed8}
:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.muted{color:#5f5f5f}.small{font-size:13px}
.meta{margin:0 0 6px;font-size:13px}
.summary{margin:0 0 6px}
nav.toc{font-size:13px;margin:0 0 8px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#ddd;vertical-align:middle}
.status-succeeded{background:#d6f5dc;color:#14532d}.status-failed{background:#fde2e2;color:#7f1d1d}
.status-running,.status-queued{background:#e0ecff;color:#1e3a8a}
.notes{background:#fff8db;border:1px solid #f1d77a;border-radius:6px;padding:4px 12px;margin:6px 0;font-size:13px}
.notes ul{margin:0;padding-left:18px}
.error{background:#fde2e2;border:1px solid #f5a3a3;border-radius:6px;padding:8px 16px;margin:6px 0}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}
th,td{border:1px solid #e2e0da;padding:5px 8px;text-align:left;vertical-align:top}th{background:#f0eee8}
.num{text-align:right;font-variant-numeric:tabular-nums}
.chosen{font-weight:700;background:#eef7ee}
#scenes h2{margin-top:10px}
.scene{background:#fff;border:1px solid #e2e0da;border-radius:8px;padding:14px 16px;margin:0 0 16px}
.facts{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:13px;color:#444;margin:8px 0}
.frames{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:14px}
@media (max-width:760px){.frames{grid-template-columns:minmax(0,1fr)}main{padding:10px 10px 32px}h1{font-size:22px}
.scene{padding:10px}th,td{padding:4px 5px}}
figure{margin:0;min-width:0}
figure img{display:block;width:100%;height:auto;border:1px solid #ccc;border-radius:4px;background:#eee}
.slot{aspect-ratio:7/4;display:flex;align-items:center;justify-content:center;flex-direction:column;text-align:center;
border:2px dashed #b9b5aa;border-radius:4px;background:repeating-linear-gradient(45deg,#f7f5f0,#f7f5f0 10px,#efece5 10px,#efece5 20px);padding:12px}
.slot strong{font-size:16px}.slot-failed{border-color:#d66;color:#7f1d1d}.slot-skipped{color:#555}
figcaption{font-size:13px;margin-top:4px}
.prompt{font-size:13px;background:#faf9f6;border-left:3px solid #cfcabd;padding:4px 8px;margin:4px 0;white-space:pre-wrap}
blockquote{margin:6px 0;padding:4px 10px;border-left:3px solid #9cb2d6;background:#f3f6fb;font-style:italic}
.swatch{display:inline-block;width:14px;height:14px;border:1px solid #888;border-radius:3px;vertical-align:-2px;margin-right:4px}
.score{font-size:34px;font-weight:700}
ul.evidence{margin:4px 0 0;padding-left:18px;font-size:13px}
details{margin:6px 0}summary{cursor:pointer}
details.more{background:#fff;border:1px solid #e2e0da;border-radius:8px;margin:12px 0;padding:0 14px}
details.more>summary{padding:10px 0}details.more[open]>summary{border-bottom:1px solid #e2e0da;margin-bottom:10px}
details.more>summary h2{display:inline;margin:0;border:0;padding:0;font-size:18px}
details.more[open]{padding-bottom:12px}
"""

_SAFE_FRAME_KEY = re.compile(r"^[A-Za-z0-9_./-]+\.(?:png|jpg|jpeg|webp)$")


def e(value: object) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: float | int | None, fmt: str = "{:.2f}") -> str:
    return "—" if value is None else e(fmt.format(value))


# The run's own files, beside index.html: what the content components cite (transcript.json#t=3.0,8.1).
_RUN_FILE = re.compile(r"^(transcript|scenes|context|decision|virality)\.json(#t=[0-9.]+,[0-9.]+)?$")


def _link(url: str, text: str) -> str:
    if re.match(r"^https?://", url or "", re.IGNORECASE):
        return f'<a href="{e(url)}" rel="noopener noreferrer nofollow">{e(text)}</a>'
    if _RUN_FILE.match(url or ""):
        return f"<a href=\"{e(url)}\">{e(text)}</a> <span class='muted'>({e(url)})</span>"
    return f"{e(text)} <span class='muted'>({e(url)})</span>"


def _frame_src(frame: Frame) -> str | None:
    """The frame's image, only if it is a rendered relative file inside the run folder."""
    key = frame.image_key or ""
    if (
        frame.status != FrameStatus.rendered
        or not _SAFE_FRAME_KEY.match(key)
        or ".." in key
        or key.startswith("/")
    ):
        return None
    return key


def _swatch(entry: str) -> str:
    rgb = colors.to_rgb(entry)
    chip = (
        f'<span class="swatch" style="background:#{rgb[0]:02X}{rgb[1]:02X}{rgb[2]:02X}"></span>'
        if rgb
        else ""
    )
    return f"{chip}{e(entry)}"


def _list(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(e(i) for i in items) if items else '<span class="muted">—</span>'


def _table(label: str, rows: str) -> str:
    """A table in a labelled region that scrolls sideways on its own, so the page never does."""
    return (
        f'<div class="scroll" role="region" aria-label="{e(label)}" tabindex="0"><table>{rows}</table></div>'
    )


def _more(anchor: str, title: str, body: str) -> str:
    """A section behind a disclosure (closed until opened); its heading is the summary."""
    return (
        f'<details class="more" id="{anchor}"><summary><h2 id="{anchor}-title">{title}</h2></summary>'
        f"{body}</details>"
    )


# --------------------------------------------------------------------------- sections
def _header(board: Storyboard) -> str:
    f = board.frames
    out = [
        f"<h1>{e(board.title)}</h1>",
        f'<p class="meta muted">Run <code>{e(board.run_id)}</code> · '
        f'<span class="badge status-{e(board.status.value)}">{e(board.status.value)}</span> · '
        f"created {e(board.created_at.strftime('%Y-%m-%d %H:%M UTC'))} · "
        f"frames: {f.rendered} rendered, {f.pending} pending, {f.failed} failed, {f.skipped} skipped of {f.total}</p>",
    ]
    if board.error:
        out.append(
            f'<div class="error"><strong>Run failed in stage {e(board.error.stage)}</strong> '
            f"({e(board.error.kind)}): {e(board.error.message)}</div>"
        )
    warning = board.transcript.audio_warning
    if warning is not None:  # the plan comes from part of the brief: say so before anything else
        out.append(
            f'<div class="error" id="audio-warning"><strong>Audio warning:</strong> {e(warning.message)}. '
            "Everything below comes from the part that was read.</div>"
        )
    if board.notes:
        out.append(
            '<div class="notes"><ul>' + "".join(f"<li>{e(n)}</li>" for n in board.notes) + "</ul></div>"
        )
    return "\n".join(out)


def _context(ctx: CreativeContext) -> str:
    rows = [
        ("Subject", e(ctx.subject)),
        ("Intent", e(ctx.intent)),
        ("Vibe", e(ctx.vibe)),
        ("Content style", e(ctx.content_style)),
        ("Target audience", e(ctx.target_audience)),
        ("Platform", e(ctx.platform) if ctx.platform else '<span class="muted">not said</span>'),
        (
            "Target length",
            f"{ctx.target_duration_s:g} s"
            if ctx.target_duration_s
            else '<span class="muted">not said</span>',
        ),
        ("Colour palette", " ".join(_swatch(c) for c in ctx.color_palette) or '<span class="muted">—</span>'),
        ("Visual elements", _list(ctx.visual_elements)),
        ("Sound", _list(ctx.sound_preferences)),
        ("Keywords", _list(ctx.keywords)),
        ("Tone", f"{e(ctx.tone)} (sentiment {ctx.sentiment:+.2f})"),
        (
            "Not in the brief (defaulted)",
            _list(ctx.missing)
            if ctx.missing
            else '<span class="muted">nothing: every field came from the brief</span>',
        ),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return _more("context", "Creative context", _table("Creative context", body))


def _variant_line(variant: dict[str, str]) -> str:
    return ", ".join(f"{e(k)} = <strong>{e(v)}</strong>" for k, v in variant.items())


def _decision(decision: OptimizerDecision | None, plan_variant: dict[str, str]) -> str:
    out: list[str] = []
    title = "Optimizer: choice and posteriors"
    if decision is None:
        variant = plan_variant
        out.append('<p class="muted">No optimizer decision for this run (optimizer off or not reached).</p>')
        if variant:
            out.append("<p>Variant used: " + _variant_line(variant) + "</p>")
        return _more("optimizer", title, "\n".join(out))
    out.append(
        f"<p>Policy <strong>{e(decision.policy)}</strong>, decided {e(decision.decided_at.strftime('%Y-%m-%d %H:%M:%S UTC'))}. "
        "Chosen variant: " + _variant_line(decision.variant) + "</p>"
    )
    if decision.context_features:
        out.append(
            "<p class='small muted'>Context features: "
            + ", ".join(f"{e(k)}={e(v)}" for k, v in decision.context_features.items())
            + "</p>"
        )
    rows = []
    for lever, arms in decision.posterior.items():
        explore = decision.exploration_probability.get(lever)
        for arm, post in arms.items():
            chosen = decision.variant.get(lever) == arm
            sample = decision.samples.get(lever, {}).get(arm)
            rows.append(
                f'<tr class="{"chosen" if chosen else ""}"><td>{e(lever)}</td><td>{e(arm)}{" ✔" if chosen else ""}</td>'
                f'<td class="num">{_num(post.mean, "{:.3f}")}</td><td class="num">{_num(post.alpha, "{:g}")}</td>'
                f'<td class="num">{_num(post.beta, "{:g}")}</td><td class="num">{post.pulls}</td>'
                f'<td class="num">{_num(sample, "{:.3f}")}</td>'
                f'<td class="num">{_num(explore, "{:.0%}") if chosen else ""}</td></tr>'
            )
    if rows:
        out.append(
            _table(
                "Optimizer posteriors",
                "<tr><th>lever</th><th>arm</th><th>posterior mean</th><th>&alpha;</th><th>&beta;</th><th>pulls</th>"
                "<th>this draw</th><th>exploration probability</th></tr>" + "".join(rows),
            )
        )
    elif decision.exploration_probability:
        out.append(
            "<p>Exploration probability: "
            + ", ".join(f"{e(k)} {v:.0%}" for k, v in decision.exploration_probability.items())
            + "</p>"
        )
    return _more("optimizer", title, "\n".join(out))


def _frame(scene: Scene, frame: Frame) -> str:
    role = frame.role.upper()
    src = _frame_src(frame)
    if src:
        visual = f'<img src="{e(src)}" alt="{e(f"Scene {scene.index} {frame.role} keyframe: {frame.prompt[:140]}")}">'
    else:
        status = frame.status.value
        label = {
            "pending": "Pending — not rendered yet",
            "failed": "Failed",
            "skipped": "Skipped — images were off for this run",
            "rendered": "Rendered, but its image is not in this folder",
        }[status]
        detail = ""
        if status == "pending":
            detail = '<span class="small">render it with <code>storyreel images --from-latest</code></span>'
        elif status == "failed" and frame.error:
            detail = f'<span class="small">{e(frame.error)}</span>'
        visual = (
            f'<div class="slot slot-{e(status)}" data-status="{e(status)}" role="img" '
            f'aria-label="Scene {scene.index} {e(frame.role)} keyframe: {e(label)}">'
            f"<strong>S{scene.index} {role}: {e(label)}</strong>{detail}</div>"
        )
    bits = [f"<strong>{role}</strong>", e(frame.status.value)]
    if frame.placeholder and frame.status == FrameStatus.rendered:
        bits.append('<span class="badge">sketch placeholder, not generated art</span>')
    if frame.provider:
        bits.append(e(f"{frame.provider}{' / ' + frame.model if frame.model else ''}"))
    if frame.seed is not None:
        bits.append(f"seed {frame.seed}")
    if frame.render_seconds is not None:
        bits.append(f"{frame.render_seconds:.2f} s")
    if frame.versions and frame.version is not None:
        bits.append(f"version {frame.version} of {len(frame.versions)}")
    negative = (
        f'<details><summary class="small">negative prompt</summary><div class="prompt">{e(frame.negative_prompt)}</div></details>'
        if frame.negative_prompt
        else ""
    )
    return (
        f'<figure class="frame frame-{e(frame.role)}" data-frame="s{scene.index}-{e(frame.role)}">{visual}'
        f'<figcaption>{" · ".join(bits)}<div class="prompt">{e(frame.prompt)}</div>{negative}</figcaption></figure>'
    )


def _clip(scene: Scene) -> str:
    """The scene's clip (services/clips) where one was asked for: a player when it is made, else why not."""
    clip = scene.clip
    if clip is None:
        return ""
    if clip.status.value == "done" and clip.video_key:
        label = (
            f"Scene {scene.index} clip, {clip.seconds:g} s, {clip.model or clip.provider}"
            if clip.seconds
            else ""
        )
        return (
            f'<figure class="clip"><video controls preload="metadata" src="{e(clip.video_key)}" '
            f'aria-label="{e(label or f"Scene {scene.index} clip")}"></video>'
            f'<figcaption class="small muted">{e(label)}</figcaption></figure>'
        )
    why = f": {clip.reason}" if clip.reason else ""
    return f'<p class="small muted clip">Clip {e(clip.status.value)}{e(why)}</p>'


def _scenes(scenes: list[Scene], hook: str) -> str:
    total = sum(s.duration for s in scenes)
    out = [
        '<section id="scenes" aria-labelledby="scenes-title">'
        f'<h2 id="scenes-title">Scenes <span class="muted small">{len(scenes)} scenes, {total:g} s in all</span></h2>'
    ]
    if hook:
        out.append(f'<p>Opening line: <strong class="hook">{e(hook)}</strong></p>')
    for s in sorted(scenes, key=lambda s: s.index):
        facts = [
            f"<span><strong>{s.duration:g} s</strong></span>",
            f"<span>camera: {e(s.camera) or '—'}</span>",
            f"<span>transition: {e(s.transition)}</span>",
        ]
        narration = (
            f"<blockquote>{e(s.narration)}</blockquote>"
            if s.narration
            else '<p class="small muted">No line of the brief behind this scene (the planner filled it in).</p>'
        )
        locked = ' <span class="badge">locked</span>' if s.locked else ""
        out.append(
            f'<section class="scene" id="scene-{s.index}"><h3>{s.index}. {e(s.title)}{locked}</h3>'
            f'<div class="frames">{_frame(s, s.start_frame)}{_frame(s, s.end_frame)}</div>{_clip(s)}'
            f'<div class="facts">{"".join(facts)}</div><p>{e(s.description)}</p>{narration}</section>'
        )
    out.append("</section>")
    return "\n".join(out)


def _component(c: ViralityComponent) -> str:
    numbers = ", ".join(f"{e(k)} = {v:g}" for k, v in c.numbers.items()) or "—"
    evidence = ""
    if c.evidence:
        items = []
        for ev in c.evidence:
            meta = [e(ev.source)]
            if ev.score is not None:
                meta.append(f"{ev.score} points")
            if ev.comments is not None:
                meta.append(f"{ev.comments} comments")
            if ev.age_days is not None:
                meta.append(f"{ev.age_days:.0f} days old")
            snippet = f'<br><span class="muted">{e(ev.snippet)}</span>' if ev.snippet else ""
            items.append(
                f"<li>{_link(ev.url, ev.title)} <span class='muted'>({', '.join(meta)})</span>{snippet}</li>"
            )
        evidence = '<ul class="evidence">' + "".join(items) + "</ul>"
    return (
        f"<tr><td><strong>{e(c.name)}</strong></td><td class='num'>{c.score:.0f}</td><td class='num'>{c.weight:g}</td>"
        f"<td>{e(c.explanation)}<div class='small muted'>{numbers}</div>{evidence}</td></tr>"
    )


def _virality(report: ViralityReport | None) -> str:
    out = ['<section id="virality" aria-labelledby="virality-title"><h2 id="virality-title">Virality</h2>']
    if report is None:
        out.append(
            '<p class="muted">Not evaluated for this run (virality off, or the stage has not finished).</p>'
            "</section>"
        )
        return "\n".join(out)
    score = f"{report.score:.0f}<span class='muted small'>/100</span>" if report.score is not None else "—"
    out.append(
        f'<p><span class="score">{score}</span> confidence {report.confidence:.0%} · method {e(report.method)}</p>'
    )
    if report.components:
        out.append(
            _table(
                "Virality components",
                "<tr><th>component</th><th>score</th><th>weight</th><th>why (numbers and evidence)</th></tr>"
                + "".join(_component(c) for c in report.components),
            )
        )
    if report.not_evaluated:
        out.append(
            "<h3 style='margin-top:12px'>Not evaluated</h3><ul>"
            + "".join(
                f"<li><strong>{e(n.component)}</strong>: {e(n.reason)}</li>" for n in report.not_evaluated
            )
            + "</ul>"
        )
    if report.sources:
        rows = "".join(
            f"<tr><td>{e(s.source)}</td><td>{'ok' if s.ok else 'failed'}{' (cached)' if s.cached else ''}</td>"
            f"<td class='num'>{s.items}</td><td class='num'>{_num(s.seconds)}</td><td>{e(s.error or '')}</td></tr>"
            for s in report.sources
        )
        out.append(
            "<details><summary>Sources "
            f'<span class="muted small">({len(report.sources)})</span></summary>'
            + _table(
                "Virality sources",
                "<tr><th>source</th><th>status</th><th>items</th><th>seconds</th><th>error</th></tr>" + rows,
            )
            + "</details>"
        )
    out.append("</section>")
    return "\n".join(out)


def _timings(timings: dict[str, StageTiming]) -> str:
    title = "Stage timings"
    if not timings:
        return _more("timings", title, '<p class="muted">No stage timings recorded.</p>')
    rows = "".join(
        f"<tr><td>{e(name)}</td><td>{e(t.status)}</td><td class='num'>{_num(t.seconds, '{:.3f}')}</td><td>{e(t.detail)}</td></tr>"
        for name, t in timings.items()
    )
    return _more(
        "timings",
        title,
        _table(
            "Stage timings", f"<tr><th>stage</th><th>status</th><th>seconds</th><th>detail</th></tr>{rows}"
        ),
    )


def _usage(board: Storyboard) -> str:
    if not board.usage:
        return ""
    rows = "".join(
        f"<tr><td>{e(u.stage)}</td><td>{e(u.provider)}</td><td>{e(u.model)}</td><td class='num'>{u.requests}</td>"
        f"<td class='num'>{u.input_tokens}</td><td class='num'>{u.output_tokens}</td><td class='num'>{u.images}</td>"
        f"<td class='num'>{u.audio_seconds:g}</td><td class='num'>{_num(u.cost_usd, '${:.4f}')}</td></tr>"
        for u in board.usage
    )
    return _more(
        "usage",
        "Usage",
        _table(
            "Usage",
            "<tr><th>stage</th><th>provider</th><th>model</th><th>requests</th><th>input tokens</th>"
            "<th>output tokens</th><th>images</th><th>audio s</th><th>cost (est.)</th></tr>" + rows,
        ),
    )


def _read_of(t: Transcript) -> str:
    w = t.audio_warning
    if w is None:
        return ""
    declared = f" of {w.declared_s:.1f} s declared" if w.declared_s is not None else ""
    errors = f", {w.decode_errors} decoding error(s)" if w.decode_errors else ""
    return f" · <strong>{w.decoded_s:.1f} s read{declared}{errors}</strong>"


def _transcript(board: Storyboard) -> str:
    t = board.transcript
    segs = ""
    if t.segments:
        rows = "".join(
            f"<tr><td class='num'>{s.start:.2f}</td><td class='num'>{s.end:.2f}</td><td>{e(s.text)}</td></tr>"
            for s in t.segments
        )
        segs = (
            f"<details><summary>{len(t.segments)} timed segments</summary>"
            + _table("Timed segments", f"<tr><th>start s</th><th>end s</th><th>text</th></tr>{rows}")
            + "</details>"
        )
    return _more(
        "transcript",
        "Transcript",
        f'<p class="small muted">{e(t.provider)}'
        f"{' / ' + e(t.model) if t.model else ''} · {e(t.language)} · {t.duration_s:.1f} s of audio"
        f"{_read_of(t)}</p>"
        f'<div class="prompt">{e(t.text)}</div>{segs}',
    )


def _summary(board: Storyboard) -> str:
    """One line above the scenes: the score and the optimizer's choice (their details are further down)."""
    bits = []
    report = board.virality
    if report is not None and report.score is not None:
        bits.append(f'<a href="#virality">virality</a> <strong>{report.score:.0f}</strong>/100')
    variant = board.decision.variant if board.decision is not None else board.variant
    if variant:
        bits.append('<a href="#optimizer">optimizer chose</a> ' + _variant_line(variant))
    return f'<p class="summary small">{" · ".join(bits)}</p>' if bits else ""


NAV = (
    '<nav class="toc" aria-label="Sections"><a href="#scenes">scenes</a> · <a href="#virality">virality</a> · '
    '<a href="#context">context</a> · <a href="#optimizer">optimizer</a> · <a href="#timings">timings</a> · '
    '<a href="#transcript">transcript</a></nav>'
)


def render_html(board: Storyboard) -> str:
    """The storyboard first (scenes and both keyframes), the virality score below it, and the context, the
    optimizer's posteriors, the timings, the usage and the transcript behind disclosures at the end."""
    body = "\n".join(
        [
            "<header>",
            _header(board),
            _summary(board),
            NAV,
            "</header>",
            _scenes(board.scenes, board.hook),
            _virality(board.virality),
            _context(board.context),
            _decision(board.decision, board.variant),
            _timings(board.timings),
            _usage(board),
            _transcript(board),
        ]
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' data: file:; "
        "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"
        '<link rel="icon" href="data:,">'
        f"<title>{e(board.title)} · storyreel</title><style>{CSS}</style></head>"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )
