"""A GPU re-render that never answers (Batch killed it, its retries ran out, or no instance ever ran it) does not
stay "rendering" forever: past RENDER_GIVE_UP it shows failed with why, and the frame can be edited again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from storyreel.services.edit import step as edit_step
from storyreel.shared.contracts import RenderJob, utcnow
from storyreel.shared.stores import put_model

from testkit.fakes import make_context


def _request(ctx, fid: str, hours_ago: float) -> None:
    job = RenderJob(
        frame_id=fid,
        frames=[fid],
        provider="batch",
        job_id=f"job-{fid}",
        requested_at=utcnow() - timedelta(hours=hours_ago),
    )
    put_model(ctx.blobs, ctx.key(f"{edit_step.RENDERS}{fid}.json"), job)


def test_a_render_past_its_deadline_shows_failed_and_frees_the_frame(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    _request(ctx, "s1-start", hours_ago=1)
    _request(ctx, "s2-start", hours_ago=5)
    jobs = edit_step.render_jobs(ctx)
    assert jobs["s1-start"].status == "rendering" and jobs["s1-start"].error is None
    assert jobs["s2-start"].status == "failed"
    assert jobs["s2-start"].error.startswith("GPU job job-s2-start sent no answer in 4 h")
    assert edit_step.rendering(ctx, "s2-start") == []  # it may be re-rendered again
    assert edit_step.rendering(ctx, "s1-start") == ["s1-start"]
    # the same request seen before its deadline is still rendering
    later = utcnow() - timedelta(hours=2)
    assert edit_step.render_jobs(ctx, now=later)["s2-start"].status == "rendering"
