"""Screenshots of the app for the README and docs/: the 作诗 page on a desktop (docs/screenshot.png, shown by
the README), the 格律检测 tab (docs/screenshot_check.png), a phone (docs/screenshot_phone.png) and a refused
request (docs/screenshot_error.png).

    python scripts/make_screenshot.py

Starts `python app.py` on a free port, drives it with headless Debian Chromium (/usr/bin/chromium) through
Playwright — the 藏头 七绝 example (fixed seed) at 1366×900, a pasted 律诗 in the check tab, the same example
on a 390×844 phone, and a 五律 acrostic of four characters (refused beside its field) — and saves the pages.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from app_server import running_app  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_ARGS, FINISHED  # noqa: E402

DOCS = REPO / "docs"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CHECKED_POEM = (
    "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
)


def main(argv: list[str] | None = None) -> int:
    # no options: the parser only answers --help (and refuses anything else) before any work starts
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        print(f"no Chromium at {CHROMIUM}: apt-get install -y chromium fonts-wqy-microhei", file=sys.stderr)
        return 2
    DOCS.mkdir(exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as folder, running_app(Path(folder) / "app.log") as url:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

            def open_page(viewport: dict, **options):
                page = browser.new_page(viewport=viewport, locale="zh-CN", **options)
                page.set_default_timeout(90_000)
                page.goto(url)
                page.wait_for_selector("#generate-button")
                return page

            def save(page, name: str) -> None:
                page.wait_for_timeout(500)
                page.screenshot(path=str(DOCS / name))
                written.append(name)

            page = open_page(DESKTOP)
            page.locator("#example-1").click()  # 藏头 · 七绝 · 春江花月, seed 7
            page.wait_for_function(FINISHED, arg=4)
            page.evaluate("() => window.scrollTo(0, 0)")
            save(page, "screenshot.png")

            # A refusal: the message under the text box, the poem above kept as it was.
            page.get_by_label("五律").check()
            page.locator("#text textarea").fill("春江花月")
            page.locator("#generate-button").click()
            page.locator("#text-error .field-error").wait_for()
            page.evaluate("() => window.scrollTo(0, 0)")
            save(page, "screenshot_error.png")

            page.get_by_role("tab", name="格律检测").click()
            page.locator("#check-text textarea").fill(CHECKED_POEM)
            page.locator("#check-button").click()
            page.locator("#check-view").wait_for()
            save(page, "screenshot_check.png")
            page.close()

            phone = open_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
            phone.locator("#example-1").click()
            phone.wait_for_function(FINISHED, arg=4)
            save(phone, "screenshot_phone.png")  # where the page is after Generate: at the poem
            browser.close()
    print("wrote " + ", ".join(str(DOCS / name) for name in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
