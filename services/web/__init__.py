"""The web app: a static single-page app in static/ (plain HTML, CSS and ES modules, no build step).

`storyreel serve` serves static/ beside the API; in the cloud infra/constructs/web.py deploys the same folder
behind CloudFront with a config.json that says where the API and the sign-in are (docs/web.md).
"""

from pathlib import Path

STATIC = Path(__file__).parent / "static"
