"""The `check` CLI command: one poem, or a batch of poems one per input line.

    python -m poetry_rnn check "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。" [--scheme xinyun] [--json]
    python -m poetry_rnn check --batch poems.txt --json        # "-" reads stdin; one JSON object a line

In batch mode each input line is one poem (or one couplet), its lines separated by punctuation or
spaces; each output line is the analysis of the input line of the same number (`"line"`, 1-based), or an
error object `{"line": n, "error": "…", "input": "…"}` for an unusable one (a single line, lines of unequal
length or not of 5 or 7 characters, emoji or Latin, too long): the batch goes on. A single poem checked with
--json that cannot be checked prints such an object too (line 1), with exit status 2.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterable, Iterator
from typing import TextIO

from poetry_rnn.errors import UserError
from poetry_rnn.prosody.analysis import counted
from poetry_rnn.prosody.check import MAX_INPUT_CHARS, MAX_POEM_CHARS, analyze
from poetry_rnn.prosody.patterns import STRICT, STRICTNESS_LEVELS
from poetry_rnn.prosody.poem_text import MISSING, QUOTES, split_lines
from poetry_rnn.prosody.rhyme import is_cjk

# What a batch line may hold besides Chinese characters: the separators split_lines understands, and
# quotation marks, which it sets aside.
BATCH_PUNCTUATION = frozenset("，。？！；、,.?!;：: \t\u3000\u00a0" + QUOTES)
MAX_BATCH_LINE_CHARS = 1000  # raw characters of one input line: a 七律 with punctuation has 64
SHOWN_INPUT_CHARS = 40  # how much of an unusable line its error object quotes


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "text", nargs="?", help='the poem (simplified or traditional); "-" reads it from stdin'
    )
    parser.add_argument(
        "--batch",
        metavar="FILE",
        help='check many poems: one per line of FILE ("-": stdin), one result per output line',
    )
    parser.add_argument(
        "--scheme",
        default="pingshui",
        choices=["pingshui", "xinyun"],
        help="rhyme scheme: 平水韵 (default) or 中华新韵",
    )
    parser.add_argument(
        "--strictness",
        default=STRICT,
        choices=list(STRICTNESS_LEVELS),
        help="strict: every fixed position of the pattern; standard: only characters 2, 4, 6 and the line end",
    )
    parser.add_argument("--json", action="store_true", help="print the analysis as JSON")
    parser.epilog = (
        "Exit status: 0 when the poem keeps its form, rhyme and tones (合律; 对仗 faults are reported but do not "
        "count here), 1 when it does not, 2 for unusable input "
        "(in a batch: 2 when any line was unusable, else 1 when any poem was not 合律)."
    )


def run(args: argparse.Namespace) -> int:
    if args.batch is not None:
        if args.text is not None:
            raise UserError("give either a poem or --batch FILE, not both", field="text")
        return run_batch(args.batch, args.scheme, args.strictness, args.json)
    text = sys.stdin.read(MAX_INPUT_CHARS + 1) if args.text == "-" else args.text or ""
    try:
        if args.text is None:
            raise UserError(
                'give a poem to check (or "-" to read it from stdin, or --batch FILE)', field="text"
            )
        if args.text == "-" and len(text) > MAX_INPUT_CHARS:  # read no further: its length is not known
            raise UserError.of("check_stdin_too_long", "text", read=MAX_INPUT_CHARS, most=MAX_POEM_CHARS)
        analysis = analyze(text, scheme=args.scheme, strictness=args.strictness)
    except UserError as error:
        if not args.json:
            raise
        # whoever reads JSON gets JSON, an error object as a batch line's (the exit status says 2 as ever)
        print(json.dumps({"line": 1, "error": str(error), "input": _shown(text)}, ensure_ascii=False))
        return 2
    if args.json:
        print(json.dumps(analysis.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(analysis.format())
    return 0 if analysis.ok else 1


def run_batch(source: str, scheme: str, strictness: str, as_json: bool, out: TextIO | None = None) -> int:
    """Check every line of `source` ("-": stdin); returns the exit status (see configure_parser)."""
    out = out if out is not None else sys.stdout
    status = 0
    for row in check_batch(_input_lines(source), scheme, strictness):
        if "error" in row:
            status = 2
        elif not row["ok"] and status == 0:
            status = 1
        out.write((json.dumps(row, ensure_ascii=False) if as_json else _brief(row)) + "\n")
    out.flush()
    return status


def check_batch(lines: Iterable[str], scheme: str = "pingshui", strictness: str = STRICT) -> Iterator[dict]:
    """One dict per input line: {"line": n, **analysis.to_dict()} or {"line": n, "error", "input"}; a blank
    line (between groups of poems) gives none."""
    for number, raw in enumerate(lines, 1):
        raw = raw.rstrip("\r\n")
        if not raw.strip():
            continue
        try:
            analysis = analyze(_batch_text(raw), scheme=scheme, strictness=strictness)
        except UserError as error:
            yield {"line": number, "error": str(error), "input": _shown(raw)}
        except Exception as error:  # one bad line must not end a batch of thousands
            yield {"line": number, "error": f"internal error: {type(error).__name__}", "input": _shown(raw)}
        else:
            yield {"line": number, **analysis.to_dict()}


def _batch_text(raw: str) -> str:
    """The input line if it is a usable poem or couplet, else UserError saying what is wrong."""
    if len(raw) > MAX_BATCH_LINE_CHARS:
        raise UserError(
            f"the line is too long ({len(raw):,} characters); one poem a line, at most {MAX_POEM_CHARS} "
            "Chinese characters (a 七律 has 56)"
        )
    other = sorted({c for c in raw if not is_cjk(c) and c not in BATCH_PUNCTUATION and c != MISSING})
    if other:
        shown = " ".join(ascii(c)[1:-1] if not c.isprintable() else c for c in other[:20])
        raise UserError(
            f"only Chinese characters and punctuation (，。 or spaces between lines) are allowed; found {shown}"
        )
    lines, _ = split_lines(raw)
    if not lines:
        raise UserError("an empty line: one poem or couplet a line, its lines separated by ，。 or spaces")
    if len(lines) < 2:
        raise UserError(
            f"a single line ({counted(len(lines[0]), 'character')}): give a couplet or a poem, its lines "
            "separated by ，。"
        )
    lengths = sorted({len(line) for line in lines})
    if len(lengths) > 1:
        raise UserError(
            f"lines of unequal length ({', '.join(map(str, lengths))} characters); all have 5 or 7"
        )
    if lengths[0] not in (5, 7):
        raise UserError(f"lines of {counted(lengths[0], 'character')}; regulated verse has lines of 5 or 7")
    return raw


def _input_lines(source: str) -> Iterable[str]:
    if source == "-":  # bytes that are not UTF-8 become U+FFFD, an error for that line only
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    try:
        return open(source, encoding="utf-8", errors="replace")  # noqa: SIM115 - read as the batch runs
    except OSError as error:
        raise UserError(f"cannot read the batch file {source!r}: {error.strerror}", field="batch") from None


def _shown(raw: str) -> str:
    return raw if len(raw) <= SHOWN_INPUT_CHARS else raw[:SHOWN_INPUT_CHARS] + "…"


def _brief(row: dict) -> str:
    """The text form of a batch result: line number, the poem, its faults and couplet verdicts."""
    if "error" in row:
        return f"{row['line']}\terror: {row['error']}"
    faults = "、".join(f["name"] for f in row["faults"] + row["parallel_faults"]) or "合律"
    couplets = " ".join(c["kind"] for c in row["couplets"])
    return f"{row['line']}\t{row['text']}\t{faults}\t{couplets}"
