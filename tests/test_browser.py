"""The app in a real browser: headless Debian Chromium driven by Playwright.

Writes an acrostic through the form, reads the poem back from the rendered page, checks it with the 格律
checker, and saves screenshots to artifacts/ (git-ignored). Skips when /usr/bin/chromium is absent
(`apt-get install -y chromium fonts-wqy-microhei`; CI installs it, see .ci/run).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
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

# The rendered poem, line by line: each character is a <span class="ch"> holding the character, beside it
# a <span class="mark"> with its 平仄 mark; the line's punctuation is a <span class="punct">.
READ_POEM = """() => Array.from(document.querySelectorAll('#poem-view .poem-line')).map(
    line => Array.from(line.querySelectorAll('.ch')).map(ch => ch.firstChild.textContent).join(''))"""
READ_RHYMES = """() => Array.from(document.querySelectorAll('#poem-view .poem-line')).map(
    line => Array.from(line.querySelectorAll('.ch')).findIndex(ch => ch.classList.contains('rhyme')))"""
FINISHED = """(lines) => !document.querySelector('#poem-view.streaming')
    && document.querySelectorAll('#poem-view .poem-line').length === lines"""
READ_MARKS = """() => Array.from(document.querySelectorAll('#poem-view .poem-line')).map(
    l => Array.from(l.querySelectorAll('.mark')).map(r => r.textContent).join(''))"""
# Gradio's red "Error" status over an output, and its toasts: a refusal must show neither.
ERROR_PILLS = """() => Array.from(document.querySelectorAll('.error, .toast-body, .toast-wrap'))
    .filter(e => e.offsetParent !== null).map(e => e.innerText)"""


def until_it_holds(page, act, holds, settle_ms: int = 300, tries: int = 5) -> None:
    """Set a field in the options just opened, again if need be. Gradio mounts those fields when the
    accordion first opens and, a few frames later, sets each to its value from the page's state, which
    overwrites a value given in between (a person is never that quick; a test is)."""
    for _ in range(tries):
        act()
        page.wait_for_timeout(settle_ms)
        if holds():
            return
    raise AssertionError(f"the field did not keep its value in {tries} tries")


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
        window.captions = new Set();
        new MutationObserver(() => {
            if (document.querySelector('#poem-view.streaming')) window.sawStreaming = true;
            const caption = document.querySelector('#poem-writing');
            if (caption) window.captions.add(caption.textContent); })
            .observe(document.body, {subtree: true, childList: true, attributes: true}); }"""
    )
    page.get_by_label("七绝").check()
    page.get_by_label("藏头").check()
    page.locator("#text textarea").fill("春江花月")
    page.get_by_label("中华新韵").check()
    page.evaluate("() => { window.announcerAtLoad = document.getElementById('announcer'); }")
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
    marks = page.evaluate(READ_MARKS)
    assert marks == [line.tone_marks for line in analysis.lines]
    # The plain-text copy and the seed shown; the copy is read by a screen reader (named, not disabled).
    plain = page.locator("#poem-text textarea").input_value()
    assert plain.replace("\n", "") == text
    assert page.get_by_role("textbox", name="这首诗的纯文本，可复制").is_enabled()
    # The poems' arrival is said in the live region the page made as it loaded (one made with its words is
    # often not read out).
    page.wait_for_function(
        "() => document.getElementById('announcer').textContent.startsWith('已写成 4 首，第 ')"
    )
    said = page.locator("#announcer").text_content()
    assert said.endswith(f"首：{text}"), said
    assert page.evaluate("() => document.getElementById('announcer') === window.announcerAtLoad")
    assert page.locator("#announcer").get_attribute("aria-live") == "polite"
    assert "种子" in page.locator("#poem-info").inner_text()
    assert page.evaluate("() => window.sawStreaming") is True
    # four poems (the default) are written one after another, each said while it is written
    captions = page.evaluate("() => Array.from(window.captions)")
    assert "正在写第 1 首，共 4 首；写完再排列。" in captions and len(captions) >= 2, captions
    page.screenshot(path=str(ARTIFACTS / "screenshot.png"), full_page=True)

    # Another candidate, clicked in the table, takes the poem's place; its seed can be reused.
    second = page.locator("#candidates div[role=row]").nth(1).locator("[role=gridcell]").nth(1)
    second_text = second.inner_text().replace("\n", "").strip()  # the table shows a couplet a line
    assert second_text and second_text != text
    second.click()
    page.wait_for_function(
        "(text) => document.querySelector('#poem-text textarea').value.replace(/\\n/g, '') === text",
        arg=second_text,
    )
    assert "".join(page.evaluate(READ_POEM)) == "".join(c for c in second_text if c not in "，。")
    seed_shown = page.locator("#poem-info code").first.inner_text()
    page.get_by_role("button", name="用此种子").click()
    # the (closed) options open on the seed, and a notice says what it does
    page.locator("#seed input").wait_for(state="visible")
    page.wait_for_function("(seed) => document.querySelector('#seed input')?.value === seed", arg=seed_shown)
    page.get_by_text(f"种子 {seed_shown} 已填入").wait_for()

    # Hiding the tone marks re-renders the same poem without them.
    page.get_by_label("显示平仄（○平 ●仄 ◐两读）").uncheck()
    page.wait_for_function("() => document.querySelectorAll('#poem-view .mark').length === 0")
    assert "".join(page.evaluate(READ_POEM)) == "".join(c for c in second_text if c not in "，。")


def test_a_refusal_shows_its_message_beside_the_field_and_keeps_the_result(page):
    page.locator("#example-0").click()  # 自由 · 五绝, seed 11: a result to keep
    page.wait_for_function(FINISHED, arg=4)
    poem_before = page.evaluate(READ_POEM)
    plain_before = page.locator("#poem-text textarea").input_value()
    info_before = page.locator("#poem-info").inner_text()

    page.get_by_label("五律").check()
    page.get_by_label("藏头").check()
    page.locator("#text textarea").fill("春江花月")  # a 五律 has 8 lines
    page.locator("#generate-button").click()
    message = page.locator("#text-error .field-error")
    message.wait_for()
    assert "藏头" in message.inner_text() and "8" in message.inner_text()
    # Beside the field: just below the text box, in the form's column.
    field_box = page.locator("#text textarea").bounding_box()
    message_box = message.bounding_box()
    assert 0 <= message_box["y"] - (field_box["y"] + field_box["height"]) < 80, (field_box, message_box)
    assert abs(message_box["x"] - field_box["x"]) < 40
    # No toast, no red "Error" over the results; the last poem, its text and its info stay as they were.
    page.wait_for_timeout(500)
    assert page.evaluate(ERROR_PILLS) == []
    assert page.evaluate(READ_POEM) == poem_before
    assert page.locator("#poem-text textarea").input_value() == plain_before
    assert page.locator("#poem-info").inner_text() == info_before
    assert "Traceback" not in page.content()
    assert page.locator("#text textarea").input_value() == "春江花月"
    page.screenshot(path=str(ARTIFACTS / "error.png"))

    # The form can be used again at once; the next request succeeds and the message goes.
    page.locator("#text textarea").fill("春江花月夜色正明")
    page.locator("#generate-button").click()
    page.wait_for_function(FINISHED, arg=8)
    lines = page.evaluate(READ_POEM)
    assert "".join(line[0] for line in lines) == "春江花月夜色正明"
    assert not message.is_visible()


def test_a_refusal_goes_when_the_form_it_was_about_changes(page):
    page.get_by_label("五律").check()
    page.get_by_label("藏头").check()
    page.locator("#text textarea").fill("春江花月")  # four heads: a 五律 has 8 lines
    page.locator("#generate-button").click()
    message = page.locator("#text-error .field-error")
    message.wait_for()
    page.get_by_label("七绝").check()  # four lines: the message no longer holds
    message.wait_for(state="hidden")


def test_contradictory_options_are_refused_beside_the_option(page):
    page.get_by_label("不押韵").check()
    page.get_by_text("更多选项").click()
    until_it_holds(
        page,
        lambda: page.get_by_label("入韵", exact=True).check(),
        lambda: page.get_by_label("入韵", exact=True).is_checked(),
    )
    page.get_by_text("更多选项").click()  # closed again: the refusal opens it
    page.locator("#generate-button").click()
    message = page.locator("#options-error .field-error")
    message.wait_for()
    assert message.inner_text().startswith("首句入韵")
    assert message.is_visible()
    assert page.evaluate(ERROR_PILLS) == []


def test_a_second_tap_while_a_poem_is_written_is_not_lost(page):
    page.get_by_label("七律").check()
    page.locator("#generate-button").click()
    page.locator("#poem-view.streaming").wait_for()  # the 七律 is being written
    page.get_by_label("五绝").check()
    page.locator("#generate-button").click()
    # the second tap runs once the first is done: the page ends on a 五绝, as the form now asks
    page.wait_for_function(
        """() => !document.querySelector('#poem-view.streaming')
            && Array.from(document.querySelectorAll('#poem-view .poem-line')).map(
                l => l.querySelectorAll('.ch').length).join() === '5,5,5,5'"""
    )


def test_a_seed_out_of_range_is_refused_beside_the_options_in_chinese(page):
    page.get_by_text("更多选项").click()
    seed = page.locator("#seed input")
    until_it_holds(page, lambda: (seed.fill("-5"), seed.press("Tab")), lambda: seed.input_value() == "-5")
    page.locator("#generate-button").click()
    message = page.locator("#options-error .field-error")
    message.wait_for()
    assert message.inner_text().startswith("种子") and "-5" in message.inner_text()
    page.wait_for_timeout(500)
    assert page.evaluate(ERROR_PILLS) == []  # not Gradio's own English toast


LUMINANCE = """(selector) => {
    const rgb = getComputedStyle(document.querySelector(selector)).color.match(/\\d+/g).map(Number);
    return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255; }"""


def test_the_poem_card_reads_in_a_dark_theme(browser, app_url):
    context = browser.new_context(
        viewport={"width": 1400, "height": 1100}, locale="zh-CN", color_scheme="dark"
    )
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app_url)
        page.locator("#example-0").click()
        page.wait_for_function(FINISHED, arg=4)
        # the page is dark (its own text light), the card paper with dark characters and red rhymes
        assert page.evaluate(LUMINANCE, "#poem-info") > 0.6
        assert page.evaluate(LUMINANCE, "#poem-view .ch:not(.rhyme)") < 0.2
        assert page.evaluate(LUMINANCE, "#poem-view .ch.rhyme") < 0.4
        page.screenshot(path=str(ARTIFACTS / "dark.png"))
        page.get_by_role("tab", name="格律检测").click()
        page.locator("#check-text textarea").fill("床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。")
        page.locator("#check-button").click()
        page.locator("#check-view td.bad .ch").first.wait_for()
        assert page.evaluate(LUMINANCE, "#check-view td.bad .ch") < 0.2  # on its pink cell
    finally:
        context.close()


def test_a_check_example_is_checked_as_it_is_put_in(page):
    page.get_by_role("tab", name="格律检测").click()
    assert page.locator("#check-text textarea").get_attribute("placeholder").startswith("贴入一首诗，例如：")
    page.locator("#check-examples button").first.click()
    page.locator("#check-view").wait_for()
    assert page.locator("#check-text textarea").input_value()
    assert page.locator("#check-view tr").count() >= 4


def test_vertical_poem_keeps_punctuation_and_marks_beside_their_characters(page):
    page.locator("#example-2").click()  # 首句 · 五律 · 白日依山尽
    page.wait_for_function(FINISHED, arg=8)
    boxes = page.evaluate(
        """() => Array.from(document.querySelectorAll('#poem-view .poem-line')).map(line => ({
            chars: Array.from(line.querySelectorAll('.ch')).map(c => c.getBoundingClientRect().toJSON()),
            marks: Array.from(line.querySelectorAll('.cell')).map(
                cell => cell.querySelector('.mark')?.getBoundingClientRect().toJSON()),
            punct: line.querySelector('.punct').getBoundingClientRect().toJSON()}))"""
    )
    every_char = [box for line in boxes for box in line["chars"]]

    def overlap(a, b) -> bool:
        return (
            a["left"] < b["right"]
            and b["left"] < a["right"]
            and a["top"] < b["bottom"]
            and b["top"] < a["bottom"]
        )

    for line in boxes:
        assert line["punct"]["height"] > 0
        assert not any(overlap(line["punct"], char) for char in every_char), line
        last = line["chars"][-1]
        assert line["punct"]["top"] >= last["bottom"] - 0.5  # below the column's last character
        for char, mark in zip(line["chars"], line["marks"], strict=True):
            assert mark is not None
            char_middle = (char["top"] + char["bottom"]) / 2
            mark_middle = (mark["top"] + mark["bottom"]) / 2
            assert abs(char_middle - mark_middle) < 3, (char, mark)  # level with its character
            assert mark["left"] >= char["right"] - 0.5  # beside it, not on it
    # Columns run right to left: the first line is the rightmost.
    lefts = [line["chars"][0]["left"] for line in boxes]
    assert lefts == sorted(lefts, reverse=True)


@contextlib.contextmanager
def phone_page(browser, app_url: str, width: int, height: int):
    """The app open on a phone's screen of `width` × `height`, ready to write."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app_url)
        page.wait_for_selector("#generate-button")
        yield page
    finally:
        context.close()


def test_phone_shows_the_result_after_generate_and_reaches_every_tab(browser, app_url):
    with phone_page(browser, app_url, 390, 844) as page:
        # the first screen reaches 作诗: the choices are compact chips, one line each where they fit
        button = page.locator("#generate-button").bounding_box()
        assert button["y"] + button["height"] <= 844, button
        assert page.locator("#mode").bounding_box()["height"] < 100  # five modes in one line
        page.get_by_text("藏头", exact=True).click()  # a chip chooses as the radio did
        page.locator("#text textarea").wait_for(state="visible")
        page.get_by_text("自由", exact=True).click()
        page.locator("#generate-button").click()
        page.wait_for_function(FINISHED, arg=4)
        # In view without scrolling by hand (the page goes there once the answer is in: allow it a moment).
        page.wait_for_function(
            """() => { const box = document.querySelector('#poem-view').getBoundingClientRect();
            return box.top >= 0 && box.top + box.height / 2 < window.innerHeight; }""",
            timeout=10_000,
        )
        # and the keyboard's focus with it, not left on 作诗 above, off the screen
        page.wait_for_function(
            "() => document.activeElement.matches('#poem-html .poem-result')", timeout=10_000
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone.png"))
        # A candidate tapped in the table (below the poem) brings the page back up to its poem.
        second = page.locator("#candidates div[role=row]").nth(1).locator("[role=gridcell]").nth(1)
        second.scroll_into_view_if_needed()
        second.click()
        page.wait_for_function(
            """() => { const box = document.querySelector('#poem-view').getBoundingClientRect();
            return box.top >= 0 && box.top < window.innerHeight / 2; }""",
            timeout=10_000,
        )
        # Every tab is a visible tab (no overflow menu) and opens.
        for name in ("格律检测", "关于"):
            tab = page.get_by_role("tab", name=name)
            assert tab.is_visible()
            tab.click()
        page.locator("#about").get_by_text("怎样用").wait_for(
            state="visible"
        )  # the tab opens (under load: late)
        page.get_by_role("tab", name="格律检测").click()
        page.locator("#check-text textarea").fill(
            "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
        )
        page.locator("#check-button").click()
        page.locator("#check-view").wait_for()
        page.wait_for_function(
            "() => document.activeElement.matches('#check-html .check-result')", timeout=10_000
        )
        # The table is not cut off: it fits, or its box scrolls sideways within the screen.
        fits = page.evaluate(
            """() => { const box = document.querySelector('.check-scroll');
            const table = document.querySelector('#check-view');
            return box.getBoundingClientRect().right <= window.innerWidth + 1
                && (table.scrollWidth <= box.clientWidth || getComputedStyle(box).overflowX === 'auto'); }"""
        )
        assert fits


def test_a_tablet_with_side_by_side_columns_does_not_jump_after_generate(browser, app_url):
    with phone_page(browser, app_url, 768, 1024) as page:
        form, result = page.locator("#form").bounding_box(), page.locator("#poem-html").bounding_box()
        assert result["x"] > form["x"] + form["width"] - 1  # the columns stand side by side
        page.locator("#generate-button").click()
        page.wait_for_function(FINISHED, arg=4)
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.scrollY") < 40  # (a few pixels as the layout settles)


def test_generate_is_above_the_fold_on_a_1366_by_900_desktop(browser, app_url):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(app_url)
        page.wait_for_selector("#generate-button")
        for language, acrostic in (("中文", "藏头"), ("English", "acrostic")):
            page.get_by_text(language, exact=True).click()
            page.get_by_label(acrostic, exact=True).check()  # the text box shows: the longest form
            page.locator("#text textarea").wait_for()
            box = page.locator("#generate-button").bounding_box()
            assert box["y"] + box["height"] <= 900, (language, box)
    finally:
        context.close()


def test_english_switch_changes_the_labels(page):
    page.get_by_text("English", exact=True).click()
    page.get_by_role("tab", name="Check").wait_for()
    assert page.locator("#generate-button").inner_text().strip() == "Write"
    assert page.get_by_label("acrostic", exact=True).is_visible()
    assert page.get_by_text("体裁", exact=True).count() == 0  # one language at a time
    page.get_by_role("tab", name="Check").click()
    page.get_by_role("tabpanel").get_by_text("Examples", exact=True).wait_for()
    assert page.get_by_text("示例", exact=True).count() == 0
    placeholder = page.locator("#check-text textarea").get_attribute("placeholder")
    assert placeholder.startswith("Paste a poem, for example: ")  # an example, not a poem already there
    page.get_by_role("tab", name="Write").click()
    page.get_by_label("acrostic", exact=True).check()
    page.locator("#text textarea").fill("春江")
    page.locator("#generate-button").click()
    message = page.locator("#text-error .field-error")
    message.wait_for()
    assert message.inner_text().startswith("Acrostic: the acrostic has 2 characters")
    page.get_by_text("中文", exact=True).click()
    page.get_by_role("tab", name="格律检测").wait_for()
    assert page.locator("#generate-button").inner_text().strip() == "作诗"


def test_example_button_writes_a_poem_in_one_click(page):
    page.locator("#example-2").click()  # 首句 · 五律 · 白日依山尽
    page.wait_for_function(FINISHED, arg=8)
    lines = page.evaluate(READ_POEM)
    assert lines[0] == "白日依山尽"
    assert page.locator("#text textarea").input_value() == "白日依山尽"
    text = "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(lines))
    assert analyze(text).faults == []


def test_check_tab_annotates_a_pasted_poem(page):
    page.get_by_role("tab", name="格律检测").click()
    page.locator("#check-text textarea").fill("床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。")
    page.locator("#check-button").click()
    page.locator("#check-view").wait_for()
    rows = page.locator("#check-view tr")
    assert rows.count() == 4
    # Character cells that break the pattern are marked: 上 (line 2), 頭 (line 3, 失粘 and 失对); line 4's 頭
    # fits its line.
    bad = page.evaluate(
        "() => Array.from(document.querySelectorAll('#check-view td.bad .ch')).map(c => c.textContent)"
    )
    assert bad == ["上", "頭"]
    faults = page.locator("#check-faults").inner_text()
    assert "不协平仄" in faults and "第2句第4字「上」应平" in faults
    page.wait_for_function(
        "() => document.getElementById('announcer').textContent === '问题（3）：不协平仄、失粘、失对'"
    )
    assert "line 2" not in faults  # one language at a time
    # Each couplet's 对仗 verdict: 举头望明月，低头思故乡 is parallel, the first couplet is not.
    verdicts = page.locator("#couplet-verdicts li").all_inner_texts()
    assert len(verdicts) == 2 and "不对" in verdicts[0] and ("工对" in verdicts[1] or "宽对" in verdicts[1])
    page.screenshot(path=str(ARTIFACTS / "check.png"), full_page=True)


# Which of the poem's lines come fully into the card's view at some scroll position, and whether the first
# line is in view as the card opens.
LINES_REACHABLE = """() => {
    const card = document.querySelector('.poem-card');
    const box = card.getBoundingClientRect();
    const lines = Array.from(card.querySelectorAll('.poem-line'));
    const inView = line => { const r = line.getBoundingClientRect();
        return r.left >= box.left - 1 && r.right <= box.right + 1; };
    const firstAtOpening = inView(lines[0]);
    const seen = lines.map(() => false);
    const range = card.scrollWidth;  // (right to left: scrollLeft runs from 0 down to minus the overflow)
    for (let x = -range; x <= range; x += 8) {
        card.scrollLeft = x;
        lines.forEach((line, k) => { if (inView(line)) seen[k] = true; });
    }
    return {seen, firstAtOpening, overflows: card.scrollWidth > card.clientWidth};
}"""


# How many lines each score (-2.31) and pattern name (平起首句入韵) of the candidates table takes.
CANDIDATE_LABEL_LINES = """() => {
    const walker = document.createTreeWalker(document.querySelector('#candidates'), NodeFilter.SHOW_TEXT);
    const counts = [];
    while (walker.nextNode()) {
        const text = walker.currentNode.textContent.trim();
        if (/^-?\\d+\\.\\d+$/.test(text) || /^[平仄]起首句/.test(text)) {
            const range = document.createRange();
            range.selectNodeContents(walker.currentNode);
            counts.push(new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size);
        }
    }
    return counts;
}"""


# For each couplet of each poem in the candidates table: the lines it takes on the screen.
CANDIDATE_COUPLET_LINES = """() => {
    const found = [];
    for (const span of document.querySelectorAll('#candidates [role=gridcell] span')) {
        const node = Array.from(span.childNodes).find(n => n.nodeType === 3 && n.textContent.includes('，'));
        if (!node) continue;
        const text = node.textContent;
        let start = 0;
        for (const match of text.matchAll(/[。！？]/g)) {
            while (/\\s/.test(text[start])) start++;
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, match.index + 1);
            found.push(new Set(Array.from(range.getClientRects()).filter(r => r.width > 0)
                .map(r => Math.round(r.top))).size);
            start = match.index + 1;
        }
    }
    return found;
}"""


def test_on_a_phone_a_qilv_and_its_title_fit_the_card_with_legible_type(browser, app_url):
    with phone_page(browser, app_url, 360, 780) as page:
        page.locator("#example-3").click()  # 命题 · 七律 · 秋夜寄远
        page.wait_for_function(FINISHED, arg=8)
        found = page.evaluate(LINES_REACHABLE)
        assert all(found["seen"]), found
        assert found["firstAtOpening"], found
        # the whole poem in view at once, not a last couplet to be found by scrolling
        assert not found["overflows"], found
        sizes = page.evaluate(
            """() => ['.ch', '.mark'].map(s => parseFloat(getComputedStyle(
                document.querySelector('#poem-view ' + s)).fontSize))"""
        )
        assert sizes[0] >= 15 and sizes[1] >= 9, sizes
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-qilv.png"))
        # the candidates table scrolls sideways rather than breaking a score or a pattern's name over lines
        page.wait_for_function("() => /首句/.test(document.querySelector('#candidates').innerText)")
        line_counts = page.evaluate(CANDIDATE_LABEL_LINES)
        assert line_counts and set(line_counts) == {1}, line_counts
        # and its poems a couplet a line: no line of verse broken in two
        couplet_lines = page.evaluate(CANDIDATE_COUPLET_LINES)
        assert len(couplet_lines) >= 8 and set(couplet_lines) == {1}, couplet_lines


def test_after_an_example_the_write_button_draws_a_new_poem(page):
    page.locator("#example-0").click()  # 自由 · 五绝, with the example's seed
    page.wait_for_function(FINISHED, arg=4)
    example = page.evaluate(READ_POEM)
    page.locator("#generate-button").click()
    page.wait_for_function(f"() => ({READ_POEM})().join('') !== {json.dumps(''.join(example))}")
    page.wait_for_function(FINISHED, arg=4)
    assert page.evaluate(READ_POEM) != example


# An element's text and outline colours (rgb(…), as getComputedStyle gives them; no outline: null) and the
# first opaque background behind it.
COLOURS = """(selector) => { const element = document.querySelector(selector);
    let behind = element;
    while (behind && /^rgba\\(.*, 0\\)$|^transparent$/.test(getComputedStyle(behind).backgroundColor)) {
        behind = behind.parentElement; }
    const style = getComputedStyle(element);
    return {colour: style.color, outline: style.outlineStyle === 'none' ? null : style.outlineColor,
        outlineWidth: parseFloat(style.outlineWidth),
        background: behind ? getComputedStyle(behind).backgroundColor : 'rgb(255, 255, 255)'}; }"""


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two opaque CSS colours, rgb(…) as getComputedStyle writes them."""

    def luminance(colour: str) -> float:
        red, green, blue = (float(c) / 255 for c in re.findall(r"[\d.]+", colour)[:3])
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_keyboard_focus_is_seen_on_a_phone(browser, app_url):
    """At a phone's width the choices are chips whose radios are hidden: the chip the keyboard is on is
    outlined, as are the slider and a text field, in a colour that stands out from the page (3:1)."""
    with phone_page(browser, app_url, 390, 844) as page:
        page.locator("#form input[type=radio]").first.focus()
        page.keyboard.press("Tab")  # to the next chip by the keyboard, for which focus is shown
        page.wait_for_timeout(400)  # (Gradio's labels fade a new outline in)
        outlined = [page.evaluate(COLOURS, "#form label:has(input:focus)")]
        page.locator("#n input[type=range]").focus()
        page.keyboard.press("ArrowRight")
        outlined.append(page.evaluate(COLOURS, "#n input[type=range]"))
        page.locator("#poem-text textarea").focus()  # (a text field shows its focus however it came)
        outlined.append(page.evaluate(COLOURS, "#poem-text textarea"))
        for shown in outlined:
            assert shown["outline"] and shown["outlineWidth"] >= 2, shown
            assert contrast(shown["outline"], shown["background"]) >= 3, shown


def test_the_buttons_and_the_chosen_choices_read_against_their_background(browser, app_url):
    """作诗, the chosen chip and tab, the placeholder and the check table's small grey text: at least 4.5:1."""
    with phone_page(browser, app_url, 390, 844) as page:
        for selector in ("#generate-button", "#form label.selected", "[role=tab][aria-selected=true]",
                         ".poem-placeholder"):  # fmt: skip
            shown = page.evaluate(COLOURS, selector)
            assert contrast(shown["colour"], shown["background"]) >= 4.5, (selector, shown)
        page.get_by_role("tab", name="格律检测").click()
        page.locator("#check-text textarea").fill("床前明月光，疑是地上霜。举头望明月，低头思故乡。")
        page.locator("#check-button").click()
        for selector in ("#check-view td.lineno", "#check-view td.linetype", "#check-view .mark",
                         "#couplet-verdicts .kind-不对", "#check-html .poem-legend"):  # fmt: skip
            page.locator(selector).first.wait_for()
            shown = page.evaluate(COLOURS, selector)
            assert contrast(shown["colour"], shown["background"]) >= 4.5, (selector, shown)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-check.png"), full_page=True)


def test_the_page_says_which_language_it_is_in(page):
    """<html lang> follows the language switch (a screen reader's voice, the browser's hyphenation and
    translation read it); the switch has a name; the About tab's English model card is marked English, its
    headings below the tab's own, a level at a time."""
    page.wait_for_function("() => document.documentElement.lang === 'zh-Hans'", timeout=10_000)
    assert "语言 · Language" in page.locator("#language").text_content()  # read out, not shown
    page.get_by_role("tab", name="关于").click()
    card_title = page.locator('#about [lang="en"] h4').first
    card_title.wait_for()
    assert card_title.inner_text().startswith("Model card")
    levels = page.evaluate(
        "() => Array.from(document.querySelectorAll('#about :is(h1, h2, h3, h4, h5, h6)')).map(h => +h.tagName[1])"
    )
    assert min(levels) == 3 and all(after - before <= 1 for before, after in itertools.pairwise(levels)), (
        levels
    )
    page.get_by_text("English", exact=True).click()
    page.wait_for_function("() => document.documentElement.lang === 'en'", timeout=10_000)
    page.get_by_text("中文", exact=True).click()
    page.wait_for_function("() => document.documentElement.lang === 'zh-Hans'", timeout=10_000)
