"""End to end: `python app.py` on a free port with the shipped model, driven through gradio_client.

One app process serves the whole module. Every poem is re-checked here with the 格律 checker, and bad
input must come back as the app's own message naming the field.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import io
import itertools
import logging
import re
import time

import pytest
from app_server import REPO, running_app

from poetry_rnn.prosody.check import analyze
from poetry_rnn.script import to_simplified

gradio_client = pytest.importorskip("gradio_client")
from gradio_client.exceptions import AppError  # noqa: E402

DEFAULT_MODEL = REPO / "data" / "default_model" / "model.safetensors"
pytestmark = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model in data/default_model")

FORM_SHAPES = {"wujue": (5, 4), "qijue": (7, 4), "wulv": (5, 8), "qilv": (7, 8)}


@pytest.fixture(scope="module")
def app_log(tmp_path_factory):
    return tmp_path_factory.mktemp("app") / "app.log"


@pytest.fixture(scope="module")
def app_url(app_log):
    with running_app(app_log) as url:
        yield url


@pytest.fixture(scope="module")
def client(app_url):
    return gradio_client.Client(app_url, verbose=False)


def import_app(role: str):
    """A module of the app package (imported when a test needs it: it imports gradio)."""
    return importlib.import_module(f"poetry_rnn.app.{role}")


def generate(client, **options) -> dict:
    return client.predict(api_name="/generate", **options)


def assert_regular(poem: dict, form: str, scheme: str = "pingshui", strictness: str = "strict") -> None:
    """The poem has the form's shape and the checker (run here, not in the app) finds no fault."""
    chars, count = FORM_SHAPES[form]
    assert len(poem["lines"]) == count
    assert all(len(line) == chars for line in poem["lines"]), poem["lines"]
    analysis = analyze(poem["text"], scheme=scheme, strictness=strictness)
    assert analysis.form == form
    assert analysis.faults == [], analysis.format()
    assert poem["ok"] is True


# ------------------------------------------------------------------------------------------- /generate
@pytest.mark.parametrize(
    ("form", "mode", "text", "scheme", "tone", "script"),
    [
        ("wujue", "free", "", "pingshui", "strict", "simplified"),
        ("qijue", "acrostic", "春江花月", "pingshui", "strict", "simplified"),
        ("wulv", "first_line", "白日依山尽", "pingshui", "strict", "simplified"),
        ("qilv", "title", "秋夜寄远", "pingshui", "strict", "traditional"),
        ("qijue", "theme", "春天到了，江边的桃花都开了", "xinyun", "strict", "simplified"),
        ("wujue", "acrostic", "風花雪月", "xinyun", "standard", "traditional"),
        ("qilv", "acrostic", "春江花月夜色正明", "pingshui", "strict", "simplified"),
    ],
)
def test_each_form_and_mode_gives_a_regular_poem(client, form, mode, text, scheme, tone, script):
    result = generate(
        client, form=form, mode=mode, text=text, rhyme_scheme=scheme, tone=tone, n=2, seed=5, script=script
    )
    poems = result["poems"]
    assert 1 <= len(poems) <= 2
    assert result["seed"] == 5 and 5 in [poem["seed"] for poem in poems]
    for poem in poems:
        assert_regular(poem, form, scheme=scheme, strictness=tone)
        assert poem["script"] == script
        # the poems are written one by one, with the request's seed and the next (or a fresh one, drawn for
        # a poem that echoed a line of the first)
        assert poem["seed"] == 5 or poem["seed"] >= 6
        if script == "simplified":
            assert to_simplified(poem["text"]) == poem["text"]
        if mode == "acrostic":
            heads = "".join(line[0] for line in poem["lines"])
            assert to_simplified(heads) == to_simplified(text)
        if mode == "first_line":
            assert poem["lines"][0] == text
    assert [p["rank_score"] for p in poems] == sorted((p["rank_score"] for p in poems), reverse=True)


def test_rhyme_group_and_first_line_rhymes_are_kept(client):
    result = generate(
        client,
        form="qijue",
        rhyme_group="下平七阳",
        first_line_rhymes="yes",
        n=2,
        seed=3,
        script="traditional",
    )
    for poem in result["poems"]:
        assert_regular(poem, "qijue")
        analysis = analyze(poem["text"], scheme="pingshui")
        assert analysis.rhyme_groups == ["下平七陽"]
        assert analysis.pattern.endswith("首句入韵")
        assert poem["rhyme_group_label"] == "下平七陽"


def test_same_seed_gives_the_same_poems(client):
    options = {"form": "wujue", "mode": "acrostic", "text": "山高水长", "n": 2, "seed": 123}
    first = generate(client, **options)
    again = generate(client, **options)
    assert [p["text"] for p in first["poems"]] == [p["text"] for p in again["poems"]]
    other = generate(client, **{**options, "seed": 124})
    assert [p["text"] for p in other["poems"]] != [p["text"] for p in first["poems"]]


def test_random_seed_is_reported_and_reproduces_the_poem(client):
    first = generate(client, form="wujue", seed=-1)
    seed = first["seed"]
    assert isinstance(seed, int) and seed >= 0
    again = generate(client, form="wujue", seed=seed)
    assert again["poems"][0]["text"] == first["poems"][0]["text"]


def test_concurrent_requests_match_sequential_ones(client):
    """The shared generator is thread-safe: answers under concurrency equal the same requests made alone."""
    seeds = [11, 12, 13, 14]
    sequential = {s: generate(client, form="wujue", seed=s)["poems"][0]["text"] for s in seeds}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        jobs = {s: pool.submit(generate, client, form="wujue", seed=s) for s in seeds}
        concurrent_results = {s: job.result(timeout=120)["poems"][0]["text"] for s, job in jobs.items()}
    assert concurrent_results == sequential
    assert len(set(sequential.values())) == len(seeds)


def test_waiting_requests_are_told_their_queue_position(client):
    """More requests than the concurrency limit (2): the others wait in the queue and are told where they
    stand, and every one is answered."""
    jobs = [client.submit(form="qilv", n=8, seed=s, api_name="/generate") for s in range(6)]
    seen = set()
    deadline = time.monotonic() + 180
    while not all(job.done() for job in jobs) and time.monotonic() < deadline:
        for index, job in enumerate(jobs):
            status = job.status()
            seen.add((index, status.code.name, status.rank, status.queue_size))
        time.sleep(0.02)
    assert all(len(job.result(timeout=60)["poems"]) == 8 for job in jobs)
    queued = [entry for entry in seen if entry[1] == "IN_QUEUE" and entry[3]]
    assert any(rank is not None and rank >= 1 for _, _, rank, _ in queued), sorted(seen)


def test_time_limit_stops_a_request_with_a_message(monkeypatch):
    """POETRY_RNN_TIME_LIMIT reaches the generator: a request over it ends with a message, not a hang."""
    handlers = import_app("handlers")
    from poetry_rnn.generation.generator import PoetryGenerator

    monkeypatch.setattr(import_app("settings"), "TIME_LIMIT", 1e-6)
    poetry_app = handlers.PoetryApp(PoetryGenerator.from_pretrained())
    with pytest.raises(Exception) as caught:
        poetry_app.api_generate(form="qilv", n=8)
    assert caught.value.message.startswith("time_limit · 时限 time limit:"), caught.value.message


# ------------------------------------------------------------------------------------------- /check
def test_check_a_classic_in_either_script(client):
    simplified = client.predict(text="白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", api_name="/check")
    assert simplified["ok"] is True
    assert simplified["form"] == "wujue"
    assert simplified["pattern"] == "仄起首句不入韵"
    assert simplified["rhyme_group_labels"] == ["下平十一尤"]
    assert [line["tone_marks"] for line in simplified["lines"]][1] == "○○●●○"
    traditional = client.predict(text="白日依山盡\n黃河入海流\n欲窮千里目\n更上一層樓", api_name="/check")
    assert traditional["ok"] is True and traditional["pattern"] == simplified["pattern"]


def test_check_names_the_faults_of_an_irregular_poem(client):
    analysis = client.predict(
        text="床前明月光，疑是地上霜。举头望明月，低头思故乡。", scheme="pingshui", strictness="strict",
        api_name="/check",
    )  # fmt: skip
    assert analysis["ok"] is False
    faults = {(f["name"], f["line"], f["index"]) for f in analysis["faults"]}
    assert ("不协平仄", 1, 3) in faults  # 上 in line 2 should be level
    wrong = analysis["lines"][1]["chars"][3]
    assert wrong["char"] == "上" and wrong["fits"] is False
    xinyun = client.predict(
        text="床前明月光，疑是地上霜。举头望明月，低头思故乡。", scheme="xinyun", api_name="/check"
    )
    assert xinyun["scheme"] == "xinyun"


# ------------------------------------------------------------------------------------------- bad input
# the /generate parameter each refusal names first: a mode's text, or the option itself
PARAMETER_OF = {
    "藏头 acrostic": "text", "主题 theme": "text", "首句 first line": "text", "题目 title": "text",
    "韵部 rhyme group": "rhyme_group", "体裁 form": "form", "模式 mode": "mode", "首数 number of poems": "n",
    "温度 temperature": "temperature", "平仄 tone rules": "tone",
}  # fmt: skip


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"mode": "acrostic", "text": "春江"}, "藏头 acrostic"),
        ({"mode": "acrostic", "text": ""}, "藏头 acrostic"),
        ({"mode": "acrostic", "text": "Spring"}, "藏头 acrostic"),
        ({"mode": "acrostic", "text": "春江花🌸"}, "藏头 acrostic"),
        ({"mode": "theme", "text": "秋" * 2000}, "主题 theme"),
        ({"mode": "theme", "text": "autumn night"}, "主题 theme"),
        ({"mode": "first_line", "text": "白日依山尽", "form": "qijue"}, "首句 first line"),
        # 尽 is oblique, so this first line cannot rhyme as 首句入韵 asks.
        (
            {"mode": "first_line", "text": "白日依山尽", "form": "wujue", "first_line_rhymes": "yes"},
            "首句 first line",
        ),
        ({"mode": "title", "text": "   "}, "题目 title"),
        ({"rhyme_scheme": "none", "rhyme_group": "下平七阳"}, "韵部 rhyme group"),
        ({"rhyme_scheme": "xinyun", "rhyme_group": "下平七阳"}, "韵部 rhyme group"),
        ({"form": "sonnet"}, "体裁 form"),
        ({"mode": "haiku"}, "模式 mode"),
        ({"n": 100}, "首数 number of poems"),
        ({"temperature": 0.0}, "温度 temperature"),
        ({"tone": "loose"}, "平仄 tone rules"),
    ],
)
def test_bad_generate_input_names_the_field(client, options, field):
    with pytest.raises(AppError) as caught:
        generate(client, **options)
    message = str(caught.value)
    # the endpoint's parameter first (a program can tell which), then its name in both languages
    assert message.startswith(f"{PARAMETER_OF[field]} · {field}:"), message
    assert "Traceback" not in message
    assert len(message) < 600


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"text": ""}, "输入 text"),
        ({"text": "Roses are red, violets are blue"}, "输入 text"),
        ({"text": "床" * 2000}, "输入 text"),
        ({"text": "白日依山尽", "scheme": "cantonese"}, "韵书 rhyme scheme"),
    ],
)
def test_bad_check_input_names_the_field(client, options, field):
    with pytest.raises(AppError) as caught:
        client.predict(api_name="/check", **options)
    parameter = {"输入 text": "text", "韵书 rhyme scheme": "scheme"}[field]
    assert str(caught.value).startswith(f"{parameter} · {field}:"), str(caught.value)


def test_unexpected_errors_show_a_generic_message_and_are_logged(caplog):
    """A failure that is not the user's fault: a clear generic message, the traceback only in the log."""
    handlers = import_app("handlers")

    class BrokenGenerator:
        model_dir = None

        def generate(self, request=None, **options):
            raise RuntimeError("internal detail that must not reach the user")

    broken = handlers.PoetryApp(BrokenGenerator())
    with caplog.at_level(logging.ERROR, logger="poetry_rnn.app"):
        with pytest.raises(Exception) as caught:
            broken.api_generate(form="wujue")
    assert caught.value.message == import_app("text").GENERIC_ERROR
    assert "internal detail" not in str(caught.value)
    assert any("internal detail" in (r.exc_text or "") for r in caplog.records)


def test_a_refused_request_is_one_log_line_without_a_traceback(client, app_log):
    for options in (
        {"mode": "acrostic", "text": "春江"},
        {"rhyme_scheme": "none", "first_line_rhymes": "yes"},
    ):
        with pytest.raises(AppError):
            generate(client, **options)
    with pytest.raises(AppError):
        client.predict(text="", api_name="/check")
    log = app_log.read_text(encoding="utf-8", errors="replace")
    refusals = [line for line in log.splitlines() if " refused (" in line]
    assert len(refusals) >= 3
    assert any("(first_line_rhymes)" in line for line in refusals)
    assert "Traceback" not in log


def test_the_about_tabs_api_snippet_addresses_the_space_it_runs_on(monkeypatch):
    text = import_app("text")
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert 'Client("http://127.0.0.1:7860/")' in text.api_snippet()
    monkeypatch.setenv("SPACE_ID", "someone/poetry-rnn")  # what a Hugging Face Space sets
    assert 'Client("someone/poetry-rnn")' in text.api_snippet() and "127.0.0.1" not in text.api_snippet()


# ------------------------------------------------------------------------------------------- README
def test_readme_api_snippet_runs_against_the_app(app_url):
    """The README's gradio_client snippet, pointed at this app, runs and prints a poem and a check."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## API from Python (gradio_client)", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert 'api_name="/generate"' in snippet and 'api_name="/check"' in snippet
    assert snippet.strip() in import_app("text").API_SNIPPET  # the About tab shows the same snippet
    snippet = snippet.replace("http://127.0.0.1:7860/", app_url)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(snippet, "README.md", "exec"), {})
    printed = output.getvalue().splitlines()
    poem_lines = [line for line in printed if "，" in line and "。" in line]
    assert poem_lines, printed
    assert analyze(poem_lines[0].split()[0]).ok
    assert printed[-1].startswith("True ")


def test_port_comes_from_the_command_line_or_the_environment(monkeypatch):
    app = import_app("server")
    for name in ("PORT", "GRADIO_SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert app.parse_args([]).port == 7860
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    assert app.parse_args([]).port == 7999
    monkeypatch.setenv("PORT", "8123")
    assert app.parse_args([]).port == 8123
    assert app.parse_args(["--port", "9001"]).port == 9001


def test_space_front_matter_matches_the_pinned_gradio():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    front = readme.split("---\n")[1]
    fields = dict(line.split(": ", 1) for line in front.strip().splitlines())
    pins = dict(
        line.split("==") for line in (REPO / "requirements.txt").read_text().splitlines() if "==" in line
    )
    assert fields["sdk"] == "gradio"
    assert fields["sdk_version"] == pins["gradio"]
    assert fields["app_file"] == "app.py" and (REPO / fields["app_file"]).is_file()
    assert fields["python_version"] == '"3.11"'


# ------------------------------------------------------------------------------------------- the UI's handlers
@pytest.fixture(scope="module")
def poetry_app():
    from poetry_rnn.generation.generator import PoetryGenerator

    return import_app("handlers").PoetryApp(PoetryGenerator.from_pretrained())


def test_the_app_api_reads_every_spelling_the_python_api_reads(poetry_app):
    poem = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    for scheme, strictness in [("PINGSHUI", "STRICT"), ("平水韵", "严格"), ("中華新韻", "standard")]:
        analysis = poetry_app.api_check(poem, scheme, strictness)
        assert analysis["scheme"] == ("xinyun" if "新" in scheme else "pingshui"), scheme
    result = poetry_app.api_generate(
        form="wujue", rhyme_scheme="新韵", tone="STANDARD", script="繁体", n=1, seed=4
    )
    poem = result["poems"][0]
    simplified = poetry_app.api_generate(form="wujue", rhyme_scheme="xinyun", tone="standard", n=1, seed=4)
    assert poem["ok"] and poem["text"] != simplified["poems"][0]["text"] == to_simplified(poem["text"])
    with pytest.raises(
        Exception, match=r"scheme · 韵书 rhyme scheme: unknown rhyme scheme .cantonese."
    ) as caught:
        poetry_app.api_check(poem["text"], "cantonese", "strict")
    assert type(caught.value).__name__ == "Error"  # gradio's, which the client receives as the message


def _generate_ui(app, lang="zh", state=None, parallel="auto", **options) -> list[tuple]:
    values = {
        "form": "qijue", "mode": "free", "text": "", "rhyme_scheme": "pingshui", "rhyme_group": "auto",
        "first_line_rhymes": "auto", "tone": "strict", "n": 2, "temperature": 0.85, "top_p": 0.95,
        "seed": 3, "script": "simplified", "show_tones": True, **options,
    }  # fmt: skip
    return list(app.ui_generate(*values.values(), lang, state, parallel=parallel))


def _shown_messages(answer: tuple) -> dict[str, str]:
    """The error slots that show a message → its text (the slots follow the five result outputs)."""
    handlers = import_app("handlers")
    slots = answer[5 : 5 + len(handlers.ERROR_SLOTS)]
    return {
        name: update.value for name, update in zip(handlers.ERROR_SLOTS, slots, strict=True) if update.visible
    }


def test_the_parallel_option_reaches_the_request(poetry_app):
    """对仗 under More options: a 律诗's middle couplets (auto), a 绝句's last couplet too, or none; by value or
    by label in either language, from the page and from the API."""
    handlers = import_app("handlers")
    form = (
        "qijue",
        "free",
        "",
        "pingshui",
        "auto",
        "auto",
        "strict",
        1,
        0.7,
        0.95,
        3,
        "simplified",
        "",
        True,
    )
    for value, expected in [
        ("auto", None),
        ("绝句末联也对", True),
        ("no", False),
        ("none", False),
        (None, None),
    ]:
        assert handlers.build_request(*form, value)[0].parallel is expected, value
    for value in ("yes", "a jueju's last couplet too"):
        poems = poetry_app.api_generate(form="qijue", parallel=value, n=1, seed=3)["poems"]
        assert poems[0]["analysis"]["couplets"][-1]["parallel"] is True, poems[0]["lines"]
    with pytest.raises(
        Exception, match=r"parallel · 对仗 parallel couplets: .*'maybe' is not one of: auto, yes, no"
    ):
        poetry_app.api_generate(form="qijue", parallel="maybe")
    [refused] = _generate_ui(poetry_app, parallel="maybe")
    assert list(_shown_messages(refused)) == ["options"] and "对仗" in _shown_messages(refused)["options"]


def test_the_poem_card_says_which_couplets_were_asked_to_be_parallel(poetry_app):
    """A 七律 written with 对仗 not required, whose 颈联 is not parallel, shows no 对仗 fault and says 未要求; a 七绝
    asked for a parallel last couplet says 对仗 without 绝句不要求 (the visitor's choice, not the form's rule)."""
    render = import_app("render")
    [loose] = poetry_app.api_generate(form="qilv", parallel="no", n=1, seed=6)["poems"]
    assert loose["analysis"]["parallel_faults"] and loose["ok"] and loose["unasked_faults"] == ["对仗"]
    card = render.poem_html(loose)
    assert "对仗（未要求）" in card and 'class="couplet bad"' not in card
    assert "未要求：对仗" in render.poem_info_markdown(loose, "zh")
    [strict] = poetry_app.api_generate(form="qijue", parallel="yes", n=1, seed=3)["poems"]
    card = render.poem_html(strict)
    assert strict["parallel_couplets"] == [2] and "<b>对仗</b>" in card and "绝句不要求" not in card
    # the checker, which knows no request, keeps the form's rule
    assert 'class="couplet bad"' in render.couplets_html(loose["analysis"])


def test_a_refusal_is_shown_beside_its_field_and_keeps_the_result(poetry_app, caplog):
    import gradio as gr

    [good] = _generate_ui(poetry_app)[-1:]
    state = good[4]
    assert state["poems"] and _shown_messages(good) == {}
    with caplog.at_level(logging.INFO, logger="poetry_rnn.app"):
        [refused] = _generate_ui(poetry_app, state=state, form="wulv", mode="acrostic", text="春江花月")
    # The poem, its text, info, table and state are left as they were; the message is under the text box.
    assert all(isinstance(update, type(gr.skip())) for update in refused[:5])
    assert list(_shown_messages(refused)) == ["text"]
    assert "藏头：给了 4 个字，五律有 8 句" in _shown_messages(refused)["text"]
    # One log line, no traceback.
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None and refusals[0].levelno == logging.INFO
    [english] = _generate_ui(poetry_app, lang="en", form="wulv", mode="acrostic", text="春江花月")
    assert "Acrostic: the acrostic has 4 characters" in _shown_messages(english)["text"]


def test_reusing_a_shown_poems_seed_brings_that_poem_back_first(poetry_app, monkeypatch):
    handlers = import_app("handlers")
    notices = []
    titles = []
    monkeypatch.setattr(
        handlers.gr, "Info", lambda message, title, **_: (notices.append(message), titles.append(title))
    )
    [first] = _generate_ui(poetry_app, n=4, seed=20)[-1:]
    state = first[4]
    # the poems come best first, each with its own seed (the request's and the next ones)
    assert sorted(p["seed"] for p in state["poems"]) == [20, 21, 22, 23]
    # the visitor shows a poem whose seed is not the request's, and reuses its seed
    row = next(i for i, p in enumerate(state["poems"]) if p["seed"] != 20)
    shown = {**state, "selected": row}
    seed, options = poetry_app.ui_reuse_seed(shown, "zh")
    assert seed == state["poems"][row]["seed"] and str(seed) in notices[0]
    assert options.open is True  # More options open on the seed
    # before any poem there is no seed to reuse: said, nothing changed
    skip = handlers.gr.skip()
    assert poetry_app.ui_reuse_seed(None, "zh") == (skip, skip) and "还没有诗" in notices[-1]
    assert set(titles) == {"提示"}  # titled in the page's language, not Gradio's "Info"
    [again] = _generate_ui(poetry_app, n=4, seed=seed)[-1:]
    again_state = again[4]
    poem = again_state["poems"][again_state["selected"]]
    assert poem["seed"] == seed and poem["lines"] == state["poems"][row]["lines"]
    # it is the poem shown, and the one said to a screen reader
    said = f"已写成 4 首，第 {again_state['selected'] + 1} 首：{poem['text']}"
    assert again[0] == import_app("render").poem_html(poem, None, True, "zh", said)


def test_a_poem_or_a_verdict_arriving_is_said_to_a_screen_reader(poetry_app):
    """The result says in one line what has arrived (the page reads it into its live region, see
    layout.after_answer): the poems written, a poem chosen, a check's verdict; a redraw (tone marks, the
    language) says nothing. The result can take focus (the page moves it there on a phone)."""
    from types import SimpleNamespace

    [written] = _generate_ui(poetry_app, n=2, seed=3)[-1:]
    state = written[4]
    shown = state["poems"][state["selected"]]
    said = f"已写成 2 首，第 {state['selected'] + 1} 首：{shown['text']}"
    assert f'<div class="poem-result" tabindex="-1" data-announce="{said}">' in written[0]
    [english] = _generate_ui(poetry_app, lang="en", n=1, seed=3)[-1:]
    assert f'data-announce="1 poem written: {english[4]["poems"][0]["text"]}"' in english[0]
    chosen = poetry_app.ui_select(state, True, "zh", SimpleNamespace(index=[1, 1]))
    assert f'data-announce="第 2 首：{state["poems"][1]["text"]}"' in chosen[0]
    assert "data-announce" not in poetry_app.ui_redraw(state, False, "en")[0]
    checked, _, analysis = poetry_app.ui_check(
        "床前明月光，疑是地上霜。举头望明月，低头思故乡。", "pingshui", "strict"
    )
    assert (
        '<div class="check-result" tabindex="-1" data-announce="问题（3）：不协平仄、失粘、失对">' in checked
    )
    assert "data-announce" not in poetry_app.ui_redraw_check(analysis, "en")
    regular = poetry_app.ui_check(
        "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", "pingshui", "strict", "en"
    )[0]
    assert 'data-announce="Regular: no faults found."' in regular


def test_a_refusal_after_streaming_began_restores_the_last_result():
    handlers = import_app("handlers")
    render = import_app("render")
    from poetry_rnn.errors import UserError

    class Stops:
        model_dir = None

        def generate_stream(self, request):
            yield {"partial": ["春风"]}
            raise UserError.of("first_line_not_writable", "first_line", chars="龘")

    poem = {
        "lines": ["白日依山尽", "黄河入海流"],
        "text": "白日依山尽，黄河入海流。",
        "seed": 1,
        "score": -3.0,
        "script": "simplified",
        "ok": True,
    }
    state = {"poems": [poem], "title": None, "selected": 0}
    answers = _generate_ui(handlers.PoetryApp(Stops()), state=state)
    streaming, refused = answers
    assert "streaming" in streaming[0] and streaming[1] == "" and streaming[2] == ""
    assert refused[0] == render.poem_html(poem, None, True, "zh")  # the last poem, whole again
    assert refused[1] == render.poem_plain_text(poem) and "种子" in refused[2]
    assert _shown_messages(refused) == {"text": _shown_messages(refused)["text"]}
    assert "模型写不出「龘」" in _shown_messages(refused)["text"]


def test_title_limit_is_the_same_for_50_and_2000_characters():
    handlers = import_app("handlers")
    from poetry_rnn.errors import UserError

    messages = []
    for length in (50, 2000):
        with pytest.raises(UserError) as caught:
            handlers.build_request("qijue", "title", "秋" * length, "pingshui", "auto", "auto", "strict", 1,
                                   0.85, 0.95, -1, "simplified")  # fmt: skip
        assert caught.value.field == "title"
        messages.append(str(caught.value))
    assert messages == [f"the title has {n} characters; at most 20 are allowed" for n in (50, 2000)]


def test_no_rhyme_with_a_rhyming_first_line_is_refused_everywhere():
    from poetry_rnn.errors import UserError
    from poetry_rnn.generation.command import configure_parser
    from poetry_rnn.generation.request import GenerationRequest

    with pytest.raises(UserError) as caught:
        GenerationRequest(rhyme_scheme="none", first_line_rhymes=True)
    assert caught.value.field == "first_line_rhymes"
    assert GenerationRequest(rhyme_scheme="none", first_line_rhymes=False).first_line_rhymes is False
    # One default script for every face: the request (Python API), the command line, the app's API.
    import argparse
    import inspect

    assert GenerationRequest().script == "simplified"
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    assert parser.parse_args([]).script == "simplified"
    handlers = import_app("handlers")
    assert inspect.signature(handlers.PoetryApp.api_generate).parameters["script"].default == "simplified"


def test_first_line_message_quotes_the_line_in_the_users_script(poetry_app):
    from poetry_rnn.errors import UserError
    from poetry_rnn.generation.request import GenerationRequest

    # 依 (level) cannot stand at position 3 of a rhyming 五绝 first line under strict rules, and 依山来
    # ends in three level tones (白日依山尽 keeps a pattern whose first line does not rhyme: another refusal).
    request = GenerationRequest(
        form="wujue", first_line="白日依山来", first_line_rhymes=True, script="simplified"
    )
    with pytest.raises(UserError) as caught:
        poetry_app.generator.generate(request)
    assert "「白日依山来」" in str(caught.value) and "來" not in str(caught.value)
    shown = import_app("text").localized_message(caught.value, "zh")
    assert shown.startswith("首句：「白日依山来」") and "fits no" not in shown
    # the nearest pattern and every character that breaks it, not only where the search stopped
    assert "中仄仄平平" in str(caught.value) and "3「依」→仄、三平尾" in shown
    # and what would let it be written: 一三五不论 only where the line keeps a pattern under it
    assert shown.endswith("请换这几个字，或放宽平仄（「不限」）") and "(tone=off)" in str(caught.value)
    with pytest.raises(UserError) as caught:
        poetry_app.generator.generate(form="qijue", first_line="天地地天地地地", seed=1)
    assert "5「地」→平" in str(caught.value) and "(tone=standard, 一三五不论, or off)" in str(caught.value)
    assert import_app("text").localized_message(caught.value, "zh").endswith("（「一三五不论」或「不限」）")
    assert poetry_app.generator.generate(form="qijue", first_line="天地地天地地地", tone="standard", seed=1)
    request = GenerationRequest(
        form="wujue", first_line="白日依山尽", first_line_rhymes=True, script="simplified"
    )
    with pytest.raises(UserError) as caught:
        poetry_app.generator.generate(request)
    shown = import_app("text").localized_message(caught.value, "zh")
    assert shown.startswith("首句：「白日依山尽」") and "「首句入韵」把它排除了" in shown


def test_common_refusals_read_in_chinese():
    """Each of these refusals, as the request words it, is shown in Chinese without English left over."""
    from poetry_rnn.errors import UserError
    from poetry_rnn.generation.request import GenerationRequest

    text = import_app("text")
    for options in [
        {"form": "wulv", "acrostic": "春江"},
        {"title": "秋" * 30},
        {"acrostic": "春江花🌸"},
        {"acrostic": "Spri"},
        {"first_line": "白日依山尽", "form": "qijue"},
        {"rhyme_scheme": "none", "first_line_rhymes": True},
        {"rhyme_scheme": "none", "rhyme_group": "下平七阳"},
        {"n": 100},
        {"temperature": 9},
    ]:
        with pytest.raises(UserError) as caught:
            GenerationRequest(**options)
        shown = text.localized_message(caught.value, "zh")
        assert not re.search(r"[A-Za-z]{3,}", shown.replace("Spri", "")), (options, shown)


def test_a_pailv_is_named_with_its_couplets_in_either_language():
    render = import_app("render")
    twelve = (
        "善鼓雲和瑟，常聞帝子靈。馮夷空自舞，楚客不堪聽。此曲誰人解，飄然入杳冥。"
        "蒼梧來怨慕，白芷動芳馨。流水傳瀟浦，悲風過洞庭。曲終人不見，江上數峰青。"
    )
    analysis = analyze(twelve).to_dict()
    chinese, english = render.analysis_html(analysis, "zh"), render.analysis_html(analysis, "en")
    assert "五言排律" in chinese and "第三联（5–6）" in chinese and "尾联（11–12）" in chinese
    assert "5-character pailü" in english and "couplet 3 (lines 5–6)" in english


def test_a_long_title_wraps_into_columns_no_taller_than_the_poems_lines():
    render = import_app("render")
    poem = {"lines": ["白日依山盡", "黃河入海流", "欲窮千里目", "更上一層樓"], "analysis": {}}
    title = "送杜少府之任蜀州兼寄友人"  # 12 characters over lines of 5
    shown = render.poem_html(poem, title)
    columns = re.findall(r'<div class="poem-title">(.*?)</div>', shown)
    assert [len(re.findall(r'class="tch"', column)) for column in columns] == [5, 5, 2]
    assert "--columns: 7.6" in shown  # four lines and three title columns size the type
    writing = render.partial_html(["白日依山"], title, 4, chars_per_line=5)
    assert len(re.findall(r'<div class="poem-title">', writing)) == 3


def test_rendering_one_language_at_a_time():
    render = import_app("render")
    analysis = analyze("床前明月光，疑是地上霜。举头望明月，低头思故乡。").to_dict()
    chinese = render.analysis_html(analysis, "zh")
    english = render.analysis_html(analysis, "en")
    # the rhyme group read out on the English page
    assert "下平七阳 (the yáng rhyme)" in english and "下平七阳 (" not in chinese
    assert "Pingshui · 5×4 jueju · " in english  # the form as the form choice names it
    assert "第2句第4字「上」应平" in chinese and "line 2, character 4" not in chinese
    assert "line 2, character 4, 上, should be level" in english and "应平" not in english
    assert chinese.count('<li class="couplet') == 2 and "不对" in chinese
    assert "not parallel" in english
    # the pattern's name glossed on the English page, as it is on the Chinese one
    assert (
        f"{analysis['pattern']} (level start, first line " in english
        and f"{analysis['pattern']} (" not in chinese
    )
    assert "对仗（绝句不要求）" in chinese and "parallelism (a jueju needs none)" in english  # no fault
    # A 拗救 the checker accepts is said, in the page's language.
    licensed = analyze("移舟泊烟渚，日暮客愁新。野旷天低树，江清月近人。").to_dict()
    assert "特拗：第1句「泊烟」平仄互换，为特拗（平平仄平仄），合律<" in render.analysis_html(licensed, "zh")
    assert (
        "licence (特拗, special inversion): line 1: characters 3–4, 泊烟, swap tones, the accepted special form (特拗) 平平仄平仄<"
        in render.analysis_html(licensed, "en")
    )
    assert "合律 (line" not in render.analysis_html(licensed, "en")
    # So are the checker's notes: a title line taken off, a single line judged alone.
    titled = analyze("静夜思\n床前明月光，疑是地上霜。举头望明月，低头思故乡。").to_dict()
    single = analyze("白日依山尽").to_dict()
    for noted, chinese_words, english_words in [
        (titled, "不计入诗句", "taken as the title or author"),
        (single, "按单句判", "a single line"),
    ]:
        assert chinese_words in render.analysis_html(noted, "zh") and "注：" in render.analysis_html(
            noted, "zh"
        )
        assert english_words not in render.analysis_html(noted, "zh")
        assert english_words in render.analysis_html(noted, "en")
        assert chinese_words not in render.analysis_html(noted, "en")
    # A 律诗 whose neck couplet is not parallel: the fault is listed and the couplet marked.
    lushi = analyze(
        "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
    ).to_dict()
    # a couplet alone has no name: its lines are said
    couplet = analyze("白日依山尽，黄河入海流。").to_dict()
    assert "<b>第1–2句</b>" in render.couplets_html(couplet, "zh")
    assert "<b>lines 1–2</b>" in render.couplets_html(couplet, "en")
    verdicts = render.couplets_html(lushi, "zh")
    assert [name in verdicts for name in ("首联", "颔联", "颈联", "尾联")] == [True] * 4
    assert "绝句不要求" not in verdicts  # a 律诗 needs its middle couplets parallel


def test_the_check_tab_speaks_one_language_in_reading_and_pattern_notes(poetry_app):
    # 王维《鹿柴》: 闻 is read in its usual 平 where the 仄韵 pattern wants 仄 (a reading note on the fault),
    # and the poem breaks its nearest pattern (a note naming what breaks it)
    poem = "空山不见人，但闻人语响。返景入深林，复照青苔上。"
    chinese = re.sub(r"<[^>]+>", "\n", poetry_app.ui_check(poem, "pingshui", "strict", "zh")[0])
    english = re.sub(r"<[^>]+>", "\n", poetry_app.ui_check(poem, "pingshui", "strict", "en")[0])
    [zh_fault] = [line for line in chinese.splitlines() if "「闻」与上句第2字「山」同声" in line]
    [en_fault] = [
        line
        for line in english.splitlines()
        if "in the line before, line 1: the two lines of a couplet should oppose" in line
    ]
    assert "「闻」此处按常读作平声" in zh_fault and not re.search("[A-Za-z]", zh_fault)
    assert "闻 is read in its usual level tone" in en_fault and "按常读" not in en_fault
    [zh_nearest] = [line for line in chinese.splitlines() if "最近的格式" in line]
    [en_nearest] = [line for line in english.splitlines() if "nearest pattern" in line]
    assert "第2句失对「闻」" in zh_nearest and not re.search("[A-Za-z]", zh_nearest)
    assert (
        "broken opposition in line 2 (闻)" in en_nearest
        and "最近" not in en_nearest
        and "不合处" not in en_nearest
    )


@pytest.mark.parametrize(
    "text, names",
    [
        ("两个黄鹂鸣翠柳，一行白鹭上青天。窗含西岭千秋雪，门泊东吴万里船。", ["前联", "后联"]),
        (
            "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。",
            ["首联", "颔联", "颈联", "尾联"],
        ),
    ],
)
def test_the_cli_and_the_app_name_the_couplets_alike(text, names):
    from poetry_rnn.generation.command import couplet_verdicts

    analysis = analyze(text)
    shown_by_cli = couplet_verdicts(analysis.couplets, len(analysis.lines))
    shown_by_app = import_app("render").couplets_html(analysis.to_dict(), "zh")
    assert [word for word in shown_by_cli.split() if word.endswith("联")] == names
    assert re.findall(r"<b>(\w+联)（", shown_by_app) == names


def test_poem_html_puts_each_mark_beside_its_character():
    render = import_app("render")
    analysis = analyze("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。").to_dict()
    poem = {"lines": ["白日依山尽", "黄河入海流", "欲穷千里目", "更上一层楼"], "analysis": analysis,
            "script": "simplified", "seed": 1, "score": -3.1, "ok": True}  # fmt: skip
    page = render.poem_html(poem, "登鹳雀楼")
    cells = re.findall(
        r'<span class="cell"><span class="ch[^"]*">(.)</span><span class="mark">(.)</span></span>', page
    )
    assert "".join(c for c, _ in cells) == "".join(poem["lines"])
    assert "".join(m for _, m in cells) == "".join(line["tone_marks"] for line in analysis["lines"])
    assert page.count('class="punct"') == 4 and "<ruby" not in page
    info = render.poem_info_markdown(poem, "zh")
    assert "平均对数概率" in info and "-3.10" in info
    assert "log-probability" in render.poem_info_markdown(poem, "en")
    assert "未要求" not in info
    loose = {**poem, "unasked_faults": ["孤平", "三平尾"]}  # tone rules off: named, not passed over
    assert "未要求：孤平、三平尾" in render.poem_info_markdown(loose, "zh")
    assert (
        "not asked for: lone level tone (孤平), three level tones at the end (三平尾)"
        in render.poem_info_markdown(loose, "en")
    )


def _read_out(page: str) -> list[str]:
    """What a screen reader is given of a poem view instead of its drawing: the hidden text, a paragraph
    each."""
    hidden = re.search(r'<div class="sr-only">(.*?)</div>', page).group(1)
    return [re.sub(r"<[^>]+>", "", paragraph) for paragraph in re.findall(r"<p>(.*?)</p>", hidden)]


def test_a_screen_reader_is_given_the_poem_as_text_not_the_drawing():
    """Read aloud, the vertical drawing is its characters and tone marks in turn (床 ○ 前 ○ …): it is hidden
    from a screen reader, which is given the title and the lines as text in the page's language, each with
    its rhyme and any character that breaks the rules; the poem's own words marked as Chinese."""
    render = import_app("render")
    analysis = analyze("床前明月光，疑是地上霜。举头望明月，低头思故乡。").to_dict()
    poem = {"lines": ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"], "analysis": analysis,
            "script": "simplified"}  # fmt: skip
    chinese, english = (
        render.poem_html(poem, "静夜思", lang="zh"),
        render.poem_html(poem, "静夜思", lang="en"),
    )
    for page in (chinese, english):
        assert re.search(r'<div class="poem-vertical" id="poem-view" [^>]*aria-hidden="true"', page)
        assert '<div class="poem-legend" aria-hidden="true">' in page  # it explains the drawing
    assert _read_out(chinese) == [
        "题目：静夜思",
        "第1句：床前明月光（韵：光）",
        "第2句：疑是地上霜（韵：霜；不合格律：上）",
        "第3句：举头望明月（不合格律：头）",
        "第4句：低头思故乡（韵：乡）",
    ]
    assert _read_out(english)[2] == "Line 2: 疑是地上霜 (rhyme: 霜; breaks the rules: 上)"
    assert '<span lang="zh-Hans">疑是地上霜</span>' in english
    # a poem being written: its lines so far, and the caption said as it changes
    writing = render.partial_html(["白日依山尽", "黄河入"], None, 4, "正在写第 1 首，共 4 首", 5, "en")
    assert 'class="poem-vertical streaming" id="poem-view" aria-hidden="true"' in writing
    assert _read_out(writing) == ["Line 1: 白日依山尽", "Line 2: 黄河入"]
    assert '<div class="poem-legend" id="poem-writing" role="status">正在写第 1 首，共 4 首</div>' in writing


def test_what_the_colours_say_is_said_without_them():
    """A 律诗's unparallel middle couplet, a cell that breaks the pattern and a rhyme are told in words or
    marks too, not by red alone; the legends say how."""
    render = import_app("render")
    # 春望 with its last couplet in the neck: the 颈联 is not parallel
    swapped = analyze(
        "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。白头搔更短，浑欲不胜簪。烽火连三月，家书抵万金。"
    ).to_dict()
    assert '不对<span class="required">（应对仗）</span>' in render.couplets_html(swapped, "zh")
    assert 'not parallel<span class="required"> (should be parallel)</span>' in render.couplets_html(
        swapped, "en"
    )
    assert "应对仗" not in render.couplets_html(analyze("白日依山尽，黄河入海流。").to_dict(), "zh")
    analysis = analyze("床前明月光，疑是地上霜。举头望明月，低头思故乡。").to_dict()
    table = render.analysis_html(analysis, "zh")
    cells = re.findall(r'<td class="([^"]*)"><span class="ch">(.)</span>(.*?)</td>', table)
    marked = [
        char for classes, char, inside in cells if '<span class="miss" aria-hidden="true">✗</span>' in inside
    ]
    assert marked == [char for classes, char, _ in cells if "bad" in classes] == ["上", "头"]
    assert all(
        '<span class="sr-only">不合格式</span>' in inside for classes, _, inside in cells if "bad" in classes
    )
    rhymes = [char for classes, char, inside in cells if '<span class="sr-only">韵脚</span>' in inside]
    assert rhymes == ["光", "霜", "乡"]
    assert "breaks the pattern" in render.analysis_html(analysis, "en")
    assert "红底加 ✗：此处有问题" in table and "红字加下划线：韵脚" in table
    assert "red, underlined: rhyme characters" in render.poem_html({"lines": ["白日依山尽"]}, lang="en")


def test_the_about_tabs_headings_step_down_one_level_at_a_time():
    """The About tab's sections are ### headings (under the page's ##), the model card's below them in
    turn, not a # in the middle of the tab; the card, in English, is marked English on the Chinese page."""
    layout = import_app("layout")
    for lang in ("zh", "en"):
        about = layout.about_markdown(lang, REPO / "data" / "default_model")
        levels, in_code = [], False
        for line in about.split("\n"):
            in_code = in_code != line.startswith("```")
            hashes = re.match(r"#+(?= )", line)
            if hashes and not in_code:
                levels.append(len(hashes.group()))
        assert levels[0] == 3 and min(levels) == 3, levels
        assert all(after - before <= 1 for before, after in itertools.pairwise(levels)), levels
        card = about.split('<div lang="en">', 1)[1]
        assert card.lstrip().startswith("#### Model card") and card.rstrip().endswith("</div>")


@pytest.mark.parametrize("n", [0, -3, 9])
def test_the_number_of_poems_is_refused_with_the_apps_own_range(n):
    from poetry_rnn.errors import UserError

    handlers = import_app("handlers")
    settings = import_app("settings")
    with pytest.raises(UserError) as caught:
        handlers.build_request("qijue", "free", "", "pingshui", "auto", "auto", "strict", n, 0.55, 0.9, -1,
                               "simplified")  # fmt: skip
    assert caught.value.field == "n"
    assert f"from 1 to {settings.MAX_POEMS} here, got {n}" in str(caught.value)
    assert f"首数须在 1 到 {settings.MAX_POEMS} 之间" in caught.value.text("zh")


def test_a_traditional_result_is_traditional_throughout(poetry_app):
    """Title (typed in simplified), plain text, info line and table labels in the poem's script."""
    answers = _generate_ui(poetry_app, form="qilv", mode="title", text="秋夜寄远", script="traditional", n=1)
    view, plain, info, table = answers[-1][:4]
    assert plain.startswith("《秋夜寄遠》") and "遠" in view
    assert "首句入韻" in info or "首句不入韻" in info  # (the UI's own labels stay in its language: 韵部)
    assert any("韻" in str(cell) for row in table.value["data"] for cell in row)
    assert any(partial[0].count("遠") for partial in answers[:-1])  # the title while the poem is written


def test_the_english_page_says_options_terms_and_tables_in_its_own_words():
    from poetry_rnn.app import render
    from poetry_rnn.app.text import localized_message
    from poetry_rnn.errors import UserError
    from poetry_rnn.generation.request import GenerationRequest

    # a refusal names options as the page labels them, not as the API spells them (tone=off)
    refused = UserError.of(
        "first_line_tone", "first_line", line="月落乌啼霜", marks="●●○○○", form="五绝", templates="中平中仄平",
        tone="strict", nearest="中平中仄平", breaks="5「霜」→仄",
    )  # fmt: skip
    english = localized_message(refused, "en")
    assert "under Tone rules: strict" in english and "(Tone rules: off)" in english and "tone=" not in english
    assert "「不限」" in localized_message(refused, "zh")
    # a rhyme book's label the page shows is one the request takes
    assert GenerationRequest(rhyme_scheme="no rhyme").rhyme_scheme == "none"
    # the rules not asked for, by their English names
    poem = {"lines": ["白日依山尽"], "text": "白日依山尽。", "score": -3.0, "seed": 1, "ok": True}
    info = render.poem_info_markdown({**poem, "unasked_faults": ["孤平"]}, "en")
    assert "breaks rules not asked for: lone level tone (孤平)" in info
    # the candidates' patterns and rhyme groups glossed as the info line glosses them
    listed = {**poem, "pattern": "平起首句入韵", "rhyme_group_label": "下平七阳"}
    [row] = render.candidate_rows([listed], "en")
    assert row[3] == "平起首句入韵 (level start, first line rhymes)" and row[4] == "下平七阳 (the yáng rhyme)"
    assert render.candidate_rows([listed], "zh")[0][3:] == ["平起首句入韵", "下平七阳"]
    # a licence by its English name too
    checked = render.analysis_html(
        analyze("移舟泊烟渚，日暮客愁新。野旷天低树，江清月近人。").to_dict(), "en"
    )
    assert "licence (特拗, special inversion)" in checked


def test_a_traditional_poems_check_names_its_pattern_and_rhyme_group_in_traditional():
    from poetry_rnn.app import render

    analysis = analyze("人閒桂花落，夜靜春山空。月出驚山鳥，時鳴春澗中。").to_dict()
    assert analysis["script"] == "traditional" and analysis["rhyme_group_labels"] == ["上平一東"]
    head = re.search("<b>(.*?)</b>", render.analysis_html(analysis, "zh")).group(1)
    assert "不入韻 · " in head and "上平一東" in head  # the page's own labels (平水韵, 韵部) stay simplified
    simplified = analyze("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。").to_dict()
    assert simplified["script"] == "simplified" and "韻" not in render.analysis_html(simplified, "zh")
