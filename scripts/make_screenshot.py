"""Screenshots of the app for the README: docs/screenshot.png (作诗) and docs/screenshot_check.png (格律检测).

    python scripts/make_screenshot.py

Starts `python app.py` on a free port, drives it with headless Debian Chromium (/usr/bin/chromium) through
Playwright — the 藏头 七绝 example (fixed seed), then a pasted poem in the check tab — and saves the pages.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from app_server import running_app  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_ARGS, FINISHED  # noqa: E402

DOCS = REPO / "docs"


def main() -> int:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        print(f"no Chromium at {CHROMIUM}: apt-get install -y chromium fonts-wqy-microhei", file=sys.stderr)
        return 2
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, running_app(Path(folder) / "app.log") as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            page.set_default_timeout(90_000)
            page.goto(url)
            page.wait_for_selector("#generate-button")
            page.locator("#example-1").click()  # 藏头 · 七绝 · 春江花月, seed 7
            page.wait_for_function(FINISHED, arg=4)
            page.evaluate("() => window.scrollTo(0, 0)")
            page.wait_for_timeout(500)
            page.screenshot(path=str(DOCS / "screenshot.png"))
            page.get_by_role("tab", name="格律检测 Check").click()
            page.locator("#check-text textarea").fill("床前明月光，疑是地上霜。举头望明月，低头思故乡。")
            page.locator("#check-button").click()
            page.locator("#check-view").wait_for()
            page.wait_for_timeout(300)
            page.screenshot(path=str(DOCS / "screenshot_check.png"))
            browser.close()
    print(f"wrote {DOCS / 'screenshot.png'} and {DOCS / 'screenshot_check.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
