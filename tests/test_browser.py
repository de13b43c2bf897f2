"""The app in a real browser: headless Debian Chromium driven by Playwright.

Writes an acrostic through the form, reads the poem back from the rendered page, checks it with the 格律
checker, and saves screenshots to artifacts/ (git-ignored). Skips when /usr/bin/chromium is absent
(`apt-get install -y chromium fonts-wqy-microhei`; CI installs it, see .ci/run).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from app_server import REPO, running_app

from poetry_rnn.prosody.check import analyze
from poetry_rnn.script import to_simplified

CHROMIUM = Path(os.environ.get("POETRY_RNN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "artifacts"
TIMEOUT_MS = 90_000  # generous: the CPU is shared with other work

NO_CHROMIUM = f"no Chromium at {CHROMIUM}: apt-get install -y chromium fonts-wqy-microhei"
if not CHROMIUM.exists() and os.environ.get("CI") == "true":
    # .ci/run installs it: in CI a missing browser is a broken setup, not a reason to skip.
    pytest.fail(NO_CHROMIUM + " (CI=true: .ci/run should have installed it)", pytrace=False)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM),
    pytest.mark.skipif(
        not (REPO / "data" / "default_model" / "model.safetensors").exists(),
        reason="no shipped model in data/default_model",
    ),
]

playwright_api = pytest.importorskip("playwright.sync_api")

# The rendered poem, line by line: each character is a <ruby class="ch"> whose first text node is the
# character (the <rt> holds its 平仄 mark).
READ_POEM = """() => Array.from(document.querySelectorAll('#poem-view .poem-line')).map(
    line => Array.from(line.querySelectorAll('.ch')).map(ch => ch.firstChild.textContent).join(''))"""
READ_RHYMES = """() => Array.from(document.querySelectorAll('#poem-view .poem-line')).map(
    line => Array.from(line.querySelectorAll('.ch')).findIndex(ch => ch.classList.contains('rhyme')))"""
FINISHED = """(lines) => !document.querySelector('#poem-view.streaming')
    && document.querySelectorAll('#poem-view .poem-line').length === lines"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("browser") / "app.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    outside = []
    page.on(
        "request",
        lambda request: outside.append(request.url) if not request.url.startswith(app_url) else None,
    )
    page.goto(app_url)
    page.wait_for_selector("#generate-button")
    yield page
    context.close()
    assert not [u for u in outside if not u.startswith(("data:", "blob:"))], (
        f"requests off the app: {outside}"
    )


def test_acrostic_poem_written_in_the_browser_is_regular(page):
    ARTIFACTS.mkdir(exist_ok=True)
    # Record whether the poem was ever shown half-written (streaming), before it is finished.
    page.evaluate(
        """() => { window.sawStreaming = false;
        new MutationObserver(() => { if (document.querySelector('#poem-view.streaming')) window.sawStreaming = true; })
            .observe(document.body, {subtree: true, childList: true, attributes: true}); }"""
    )
    page.get_by_label("七绝 qijue").check()
    page.get_by_label("藏头 acrostic").check()
    page.locator("#text textarea").fill("春江花月")
    page.get_by_label("中华新韵 xinyun").check()
    page.locator("#generate-button").click()
    page.wait_for_function(FINISHED, arg=4)

    lines = page.evaluate(READ_POEM)
    assert len(lines) == 4 and all(len(line) == 7 for line in lines), lines
    assert "".join(line[0] for line in lines) == "春江花月"
    text = "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(lines))
    analysis = analyze(text, scheme="xinyun", strictness="strict")
    assert analysis.faults == [], analysis.format()
    assert to_simplified(text) == text  # the default output script is simplified

    # Rhyme characters are marked on the rhyme lines (2 and 4, and line 1 when it rhymes) and nowhere else.
    rhymes = page.evaluate(READ_RHYMES)
    rhyme_lines = {i for i, line in enumerate(analysis.lines) if line.rhymes}
    assert {i for i, position in enumerate(rhymes) if position == 6} == rhyme_lines
    assert all(position in (-1, 6) for position in rhymes)
    # 平仄 marks: one per character, as the checker reads them.
    marks = page.evaluate(
        "() => Array.from(document.querySelectorAll('#poem-view .poem-line')).map("
        "l => Array.from(l.querySelectorAll('rt')).map(r => r.textContent).join(''))"
    )
    assert marks == [line.tone_marks for line in analysis.lines]
    # The plain-text copy and the seed shown.
    plain = page.locator("#poem-text textarea").input_value()
    assert plain.replace("\n", "") == text
    assert "seed" in page.locator("#poem-info").inner_text()
    assert page.evaluate("() => window.sawStreaming") is True
    page.screenshot(path=str(ARTIFACTS / "screenshot.png"), full_page=True)

    # Another candidate, clicked in the table, takes the poem's place; its seed can be reused.
    second = page.locator("#candidates div[role=row]").nth(1).locator("[role=gridcell]").nth(1)
    second_text = second.inner_text().strip()
    assert second_text and second_text != text
    second.click()
    page.wait_for_function(
        "(text) => document.querySelector('#poem-text textarea').value.replace(/\\n/g, '') === text",
        arg=second_text,
    )
    assert "".join(page.evaluate(READ_POEM)) == "".join(c for c in second_text if c not in "，。")
    seed_shown = page.locator("#poem-info code").first.inner_text()
    page.get_by_role("button", name="用此种子 reuse this seed").click()
    page.get_by_text("采样 sampling").click()  # the seed field is in this (closed) accordion
    page.wait_for_function("(seed) => document.querySelector('#seed input')?.value === seed", arg=seed_shown)

    # Hiding the tone marks re-renders the same poem without them.
    page.get_by_label("显示平仄 show tone marks ○●").uncheck()
    page.wait_for_function("() => document.querySelectorAll('#poem-view rt').length === 0")
    assert "".join(page.evaluate(READ_POEM)) == "".join(c for c in second_text if c not in "，。")


def test_bad_input_shows_the_field_and_keeps_the_text(page):
    page.get_by_label("五律 wulv").check()
    page.get_by_label("藏头 acrostic").check()
    page.locator("#text textarea").fill("春江花月")  # a 五律 has 8 lines
    page.locator("#generate-button").click()
    toast = page.locator(".toast-body", has_text="藏头 acrostic")
    toast.wait_for()
    assert "8" in toast.inner_text()
    assert "Traceback" not in page.content()
    assert page.locator("#text textarea").input_value() == "春江花月"
    # No frozen spinner: the form can be used again at once, and the next request succeeds.
    page.locator("#text textarea").fill("春江花月夜色正明")
    page.locator("#generate-button").click()
    page.wait_for_function(FINISHED, arg=8)
    lines = page.evaluate(READ_POEM)
    assert "".join(line[0] for line in lines) == "春江花月夜色正明"
    page.screenshot(path=str(ARTIFACTS / "after_error.png"), full_page=True)


def test_example_button_writes_a_poem_in_one_click(page):
    page.locator("#example-2").click()  # 首句 · 五律 · 白日依山尽
    page.wait_for_function(FINISHED, arg=8)
    lines = page.evaluate(READ_POEM)
    assert lines[0] == "白日依山尽"
    assert page.locator("#text textarea").input_value() == "白日依山尽"
    text = "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(lines))
    assert analyze(text).faults == []


def test_check_tab_annotates_a_pasted_poem(page):
    page.get_by_role("tab", name="格律检测 Check").click()
    page.locator("#check-text textarea").fill("床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。")
    page.locator("#check-button").click()
    page.locator("#check-view").wait_for()
    rows = page.locator("#check-view tr")
    assert rows.count() == 4
    # Character cells that break the pattern are marked: 上 (line 2), 頭 (line 3, 失粘), 頭 (line 4, 失对).
    bad = page.evaluate(
        "() => Array.from(document.querySelectorAll('#check-view td.bad .ch')).map(c => c.textContent)"
    )
    assert bad == ["上", "頭", "頭"]
    faults = page.locator("#check-faults").inner_text()
    assert "不协平仄" in faults and "第2句第4字「上」应平" in faults
    page.screenshot(path=str(ARTIFACTS / "check.png"), full_page=True)
