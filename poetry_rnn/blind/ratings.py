"""Readers' ratings of a blind sheet: one file per reader (the line format `N: H 4 3 3 4` or JSON), each
checked against the round's key: every poem rated once, a guess (human or machine) and four scores 1–5."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from poetry_rnn.errors import UserError

MEASURES = ("fluency", "coherence", "meaning", "overall")
GUESSES = {
    "h": "human",
    "human": "human",
    "人": "human",
    "m": "machine",
    "machine": "machine",
    "机": "machine",
}
SOURCES = ("generated", "real")


@dataclass(frozen=True)
class Rating:
    guess: str  # "human" or "machine"
    fluency: int
    coherence: int
    meaning: int
    overall: int
    known: bool = False  # the reader recognised the poem (`# known` after its line)


_LINE = re.compile(r"^(\d+)\s*[:：.]\s*(.*)$")


def _rating(values: Sequence, where: str, known: bool = False) -> Rating:
    if len(values) != 5:
        raise UserError(
            f"{where}: expected a guess (H or M) and four scores ({' '.join(MEASURES)}), "
            f"got {len(values)} values: {' '.join(map(str, values))!r}"
        )
    guess = GUESSES.get(str(values[0]).strip().lower())
    if guess is None:
        raise UserError(f"{where}: the guess must be H (human) or M (machine), got {values[0]!r}")
    scores = []
    for measure, value in zip(MEASURES, values[1:], strict=True):
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 5:
            raise UserError(f"{where}: {measure} must be a whole number from 1 to 5, got {value!r}")
        scores.append(int(text))
    return Rating(guess, *scores, known=known)


def parse_ratings(text: str, name: str) -> tuple[str | None, dict[int, Rating]]:
    """A ratings file (JSON or the line format of docs/evaluation/README.md): (reader or None, ratings)."""
    if text.lstrip().startswith(("{", "[")):
        return _parse_json(text, name)
    reader, ratings, lines_of = None, {}, {}
    for line_number, raw in enumerate(text.splitlines(), 1):
        line, _, comment = (part.strip() for part in raw.partition("#"))
        if not line:
            continue
        if line.lower().startswith("reader:"):
            reader = line.split(":", 1)[1].strip() or None
            continue
        match = _LINE.match(line)
        if not match:
            raise UserError(
                f"{name} line {line_number}: expected 'N: H 4 3 3 4' (poem number, guess, "
                f"{' '.join(MEASURES)}), got {raw.strip()!r}"
            )
        number = int(match[1])
        if number in ratings:
            raise UserError(
                f"{name} line {line_number}: poem {number} is rated again (first on line {lines_of[number]})"
            )
        values = match[2].replace(",", " ").split()
        # `# known` (or `# known: 王维 …`) marks a poem the reader recognised; "unknown" or "not known" does not
        known = re.match(r"known\b", comment.lower()) is not None
        ratings[number] = _rating(values, f"{name} line {line_number}", known)
        lines_of[number] = line_number
    return reader, ratings


def _parse_json(text: str, name: str) -> tuple[str | None, dict[int, Rating]]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise UserError(f"{name}: not valid JSON ({error})") from None
    if isinstance(document, list):
        document = {"ratings": document}
    entries = document.get("ratings") if isinstance(document, dict) else None
    if isinstance(entries, list):  # [{"poem": 1, "guess": "H", ...}, ...]
        entries = {str(e.get("poem")) if isinstance(e, dict) else "?": e for e in entries}
    if not isinstance(entries, dict):
        raise UserError(f'{name}: expected {{"reader": ..., "ratings": {{"1": {{...}}, ...}}}}')
    ratings = {}
    for number_text, entry in entries.items():
        where = f"{name} poem {number_text}"
        if not str(number_text).isdigit():
            raise UserError(f"{name}: {number_text!r} is not a poem number")
        if isinstance(entry, dict):
            missing = [k for k in ("guess", *MEASURES) if k not in entry]
            if missing:
                raise UserError(f"{where}: missing {', '.join(missing)}")
            known = entry.get("known", False)
            if not isinstance(known, bool):
                raise UserError(f'{where}: "known" must be true or false, got {known!r}')
            entry = [entry["guess"], *(entry[m] for m in MEASURES)]
        elif isinstance(entry, list):
            known = False
        else:
            raise UserError(f"{where}: expected an object or a list [guess, {', '.join(MEASURES)}]")
        ratings[int(number_text)] = _rating(entry, where, known)
    reader = document.get("reader")
    return (str(reader) if reader else None), ratings


def check_complete(ratings: dict[int, Rating], numbers: set[int], name: str) -> None:
    missing = sorted(numbers - ratings.keys())
    unknown = sorted(ratings.keys() - numbers)
    if missing or unknown:
        parts = [f"no rating for poem {', '.join(map(str, missing))}"] if missing else []
        parts += [f"poem {', '.join(map(str, unknown))} is not on the sheet"] if unknown else []
        raise UserError(f"{name}: {'; '.join(parts)} (the sheet has poems 1 to {max(numbers)})")


def load_key(path: Path) -> dict:
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
        poems = key["poems"]
        if not poems or not all(p["source"] in SOURCES and p["form"] for p in poems.values()):
            raise ValueError("no poems or an unknown source")
        if sorted(map(int, poems)) != list(range(1, len(poems) + 1)):
            raise ValueError("poem numbers are not 1 to N")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UserError(f"{path}: not a key written by 'blind_eval.py sheet' ({error})") from None
    return key


def load_ratings(key: dict, paths: Sequence[Path]) -> dict[str, dict[int, Rating]]:
    """Each ratings file checked against the key, by reader."""
    numbers = set(map(int, key["poems"]))
    ratings_by_reader: dict[str, dict[int, Rating]] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8-sig")  # (a byte-order mark, as Notepad writes, is dropped)
        except OSError as error:
            raise UserError(f"cannot read ratings file {path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise UserError(f"ratings file {path} is not UTF-8 text; save it as UTF-8") from None
        reader, ratings = parse_ratings(text, path.name)
        check_complete(ratings, numbers, path.name)
        reader = reader or path.stem
        if reader in ratings_by_reader:
            raise UserError(f"{path.name}: reader {reader!r} already rated this sheet in another file")
        ratings_by_reader[reader] = ratings
    return ratings_by_reader
