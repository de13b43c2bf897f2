"""Refusals by message id (poetry_rnn/refusals.py): both languages from the same values, and no refusal on the
app's path without an id (so none reaches the Chinese app in English)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from poetry_rnn.errors import MAX_MESSAGE_CHARS, UserError
from poetry_rnn.refusals import REFUSALS

PACKAGE = Path(__file__).resolve().parent.parent / "poetry_rnn"
# Every module a request, a generation or a check passes through on its way from the app.
APP_PATH_MODULES = [
    "generation/request.py",
    "generation/resolve.py",
    "generation/plan.py",
    "generation/generator.py",
    "decoding/search.py",
    "model/loading.py",
    "prosody/check.py",
    "app/handlers.py",
]
CJK = re.compile(r"[\u4e00-\u9fff]")


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("message_id", sorted(REFUSALS))
def test_each_refusal_reads_in_both_languages_from_the_same_values(message_id):
    english, chinese = REFUSALS[message_id]
    assert fields_of(chinese) <= fields_of(english), message_id  # Chinese may leave a value out, not add one
    assert CJK.search(chinese), message_id
    values = dict.fromkeys(fields_of(english), 7)
    error = UserError.of(message_id, "form", **values)
    assert str(error) == english.format(**values) == error.text("en")
    assert error.text("zh") == chinese.format(**values) and error.field == "form"


def _calls(path: Path) -> list[ast.Call]:
    return [
        node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Call)
    ]


def test_no_refusal_on_the_apps_path_lacks_an_id_and_every_id_is_known():
    used: set[str] = set()
    for name in APP_PATH_MODULES:
        for call in _calls(PACKAGE / name):
            function = call.func
            assert not (isinstance(function, ast.Name) and function.id == "UserError"), (
                f"{name}:{call.lineno}: raise UserError.of(message_id, field, ...) so the app can show it in Chinese"
            )
            if isinstance(function, ast.Attribute) and function.attr == "of" and call.args:
                first = call.args[0]
                if isinstance(first, ast.Constant):
                    assert first.value in REFUSALS, (
                        f"{name}:{call.lineno}: unknown message id {first.value!r}"
                    )
                    used.add(first.value)
    # ids named elsewhere (the app's empty-mode messages) count as used; none is left over
    sources = "".join(path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py"))
    unused = [
        key for key in REFUSALS if key not in used and f'"{key}"' not in sources.replace("REFUSALS", "")
    ]
    assert not unused, unused


def test_a_refusal_without_an_id_stays_english_and_long_ones_are_shortened_in_both_languages():
    plain = UserError("something went wrong with the model file", "model")
    assert plain.text("zh") == str(plain) and plain.message_id is None
    error = UserError.of("not_chinese", "title", what="the title", found="x" * 3000)
    assert len(str(error)) <= MAX_MESSAGE_CHARS + 100 and "characters left out" in str(error)
    assert len(error.text("zh")) <= MAX_MESSAGE_CHARS + 100 and error.text("zh").startswith("只能用汉字")


def test_refusals_the_request_and_the_checker_raise_read_in_chinese():
    from poetry_rnn.generation.request import GenerationRequest
    from poetry_rnn.prosody.check import MAX_POEM_CHARS, analyze

    cases = [
        (lambda: GenerationRequest(form="wulv", plan="春风,柳,孤城,归,雁"), "给了 5 个词，此体只有 4 联"),
        (lambda: GenerationRequest(form="qijue", plan="春风,柳,孤城"), "给了 3 个词，此体只有 2 联"),
        (lambda: GenerationRequest(rhyme_group="下平九十"), "不是平水韵的平声韵部"),
        (lambda: GenerationRequest(keywords="春风 一二三四五六七八九十"), "太长"),
        (lambda: GenerationRequest(top_p=2), "须大于 0 且至多为 1"),
        (lambda: analyze("hello world"), "没有汉字"),
        (lambda: analyze("春" * (MAX_POEM_CHARS + 1)), f"诗太长（{MAX_POEM_CHARS + 1} 字）"),
    ]
    for make, expected in cases:
        with pytest.raises(UserError) as caught:
            make()
        assert expected in caught.value.text("zh"), (expected, caught.value.text("zh"))
        assert not re.search(r"[A-Za-z]{4,}", caught.value.text("zh")), caught.value.text("zh")
