# The web app (services/web/static, docs/web.md): its browser tests, the docs' screenshots, the edit bench
.PHONY: test-web screenshots bench-web

test-web: sysdeps $(STAMP) ## the web app and the run page in headless Chromium against `storyreel serve`
	$(BIN)/python -m pytest -q tests/web tests/finalize/test_browser.py $(PYTEST_ARGS)

screenshots: sysdeps $(STAMP) ## refresh docs/screenshots/ (desktop and 390 px phone) from the web app's browser tests
	STORYREEL_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/web -k "desktop or phone"

bench-web: sysdeps $(STAMP) ## edit -> new frame on screen, upload -> first keyframe on screen vs the CLI -> bench/results/web.md
	$(BIN)/python bench/web_edit.py
