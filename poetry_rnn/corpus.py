"""The corpus: load poems from any source through Hugging Face `datasets`, clean them, split them, and turn
them into training examples.

Sources (one `source` string):
- a folder or glob of chinese-poetry JSON files (`../shared/data/tang`, an upstream `全唐诗` folder);
- parquet or JSON-lines files (`poems.parquet`, `data/*.jsonl`), one poem a row;
- a Hub dataset, `hf:owner/name` with optional `:config` and `@split` (`hf:owner/name:config@train`).
Rows may hold the body as a list of lines (`paragraphs`) or as one string (`content`, `body`, `text`...);
`columns` maps our names (title, author, body) to the dataset's when they differ.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from poetry_rnn.errors import UserError
from poetry_rnn.script import normalize_variants

FORMS = ("wujue", "qijue", "wulv", "qilv")
FORM_SHAPES = {(5, 4): "wujue", (7, 4): "qijue", (5, 8): "wulv", (7, 8): "qilv"}
SPLITS = ("train", "valid", "test")
CLEANING_VERSION = 4  # bump when the rules change, so cached results are not reused

LINE_PUNCTUATION = "，。？！；"
_PUNCT_MAP = str.maketrans(
    {
        ",": "，",
        ".": "。",
        "?": "？",
        "!": "！",
        ";": "；",
        "：": "，",
        ":": "，",
        "、": "，",
        "﹐": "，",
        "｡": "。",
    }
)
# Editorial matter, removed whole: notes in parentheses (（一作…）), {…}, 〖n〗 footnote marks, [一] numbers.
_NOTES = re.compile(r"（[^（）]*）|\([^()]*\)|\{[^{}]*\}|〖[^〖〗]*〗|\[[一二三四五六七八九十\d]+\]")
_BRACKETED_CHAR = re.compile(r"\[([^\[\]]{1,2})\]")  # [縚] marks a restored character: keep it
_QUOTES = re.compile(r"[《》「」『』〈〉“”‘’\"'\s　]")
_MISSING = re.compile(r"[□○●■◻〇?]")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NON_BODY = re.compile(rf"[^{_CJK}{LINE_PUNCTUATION}]")
_LINE_SPLIT = re.compile(rf"[{LINE_PUNCTUATION}]")

BODY_COLUMNS = ("paragraphs", "content", "body", "text", "poem")


@dataclass(frozen=True)
class Poem:
    title: str
    author: str
    lines: tuple[str, ...]
    form: str  # one of FORMS or "other"
    split: str  # train / valid / test

    @property
    def body(self) -> str:
        """The body in the canonical layout: "，" after odd lines, "。" after even lines."""
        return render_body(self.lines)


def render_body(lines: Iterable[str]) -> str:
    return "".join(line + ("，" if index % 2 == 0 else "。") for index, line in enumerate(lines))


def detect_form(lines: Iterable[str]) -> str:
    lengths = {len(line) for line in lines}
    lines = list(lines)
    if len(lengths) != 1:
        return "other"
    return FORM_SHAPES.get((lengths.pop(), len(lines)), "other")


def split_of(lines: Iterable[str]) -> str:
    """Stable split by a hash of the normalised body: the same on every machine, duplicates together."""
    digest = hashlib.sha1("".join(lines).encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:4], "big") % 100
    return "train" if bucket < 96 else "valid" if bucket < 98 else "test"


def clean_body(paragraphs: list[str] | str | None) -> tuple[tuple[str, ...] | None, str | None]:
    """Clean one poem body. Returns (lines, None) or (None, drop reason)."""
    if paragraphs is None:
        return None, "no_body"
    text = paragraphs if isinstance(paragraphs, str) else "".join(p for p in paragraphs if p)
    if not text.strip():
        return None, "empty"
    text = _BRACKETED_CHAR.sub(r"\1", _NOTES.sub("", _NOTES.sub("", text)))  # twice: notes can nest once
    text = _QUOTES.sub("", text.translate(_PUNCT_MAP))
    if _MISSING.search(text):
        return None, "missing_glyph"
    if _NON_BODY.search(text):
        return None, "non_cjk"
    text = normalize_variants(text)
    lines = tuple(line for line in _LINE_SPLIT.split(text) if line)
    if not lines:
        return None, "empty"
    return lines, None


# ---------------------------------------------------------------- loading


def _json_features():
    import datasets

    strings = datasets.Sequence(datasets.Value("string"))
    # Optional keys must be declared, or `datasets` fails on the files that carry them.
    return datasets.Features(
        {
            "author": datasets.Value("string"),
            "title": datasets.Value("string"),
            "paragraphs": strings,
            "id": datasets.Value("string"),
            "tags": strings,
            "notes": strings,
        }
    )


def _expand_local(source: str) -> list[str]:
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(
            str(p)
            for p in path.iterdir()
            if p.suffix in (".json", ".jsonl", ".parquet") and not p.name.startswith("authors")
        )
        if not files:
            raise UserError(f"folder {source} holds no .json, .jsonl or .parquet files", field="source")
        return files
    if path.is_file():
        return [str(path)]
    files = sorted(glob.glob(os.path.expanduser(source)))
    if not files:
        raise UserError(f"no such file, folder or glob: {source}", field="source")
    return files


def _find_bad_json(files: list[str]) -> str:
    """After `datasets` failed: name the file and what is wrong with it."""
    for name in files:
        if not name.endswith(".json"):
            continue
        try:
            with open(name, encoding="utf-8") as handle:
                records = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return f"{name} is not valid JSON ({error})"
        if not isinstance(records, list):
            return f"{name} must hold a JSON list of poem objects, found {type(records).__name__}"
        known = set(_json_features())
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                return f"{name} record {index} is not an object"
            extra = set(record) - known
            if extra:
                return f"{name} record {index} has unexpected keys {sorted(extra)}"
    return "one of the files could not be read"


def load_rows(source: str, columns: dict[str, str] | None = None, cache_dir: str | None = None):
    """Load a source into a `datasets.Dataset` with columns title, author, body (list of lines or a string)."""
    import datasets
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    columns = dict(columns or {})
    if source.startswith("hf:"):
        spec = source[3:]
        split = "train"
        if "@" in spec:
            spec, split = spec.rsplit("@", 1)
        name, _, config = spec.partition(":")
        try:
            dataset = datasets.load_dataset(name, config or None, split=split, cache_dir=cache_dir)
        except Exception as error:  # noqa: BLE001 - `datasets` raises many types; the user needs one message
            offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
            hint = " (offline: only datasets already in the local cache can be loaded)" if offline else ""
            raise UserError(
                f"could not load Hub dataset {name!r} split {split!r}{hint}: {error}", field="source"
            ) from None
    else:
        files = _expand_local(source)
        suffixes = {Path(f).suffix for f in files}
        if len(suffixes) > 1:
            raise UserError(
                f"{source} mixes file types {sorted(suffixes)}; give one kind at a time", field="source"
            )
        suffix = suffixes.pop()
        try:
            if suffix == ".parquet":
                dataset = datasets.load_dataset(
                    "parquet", data_files=files, split="train", cache_dir=cache_dir
                )
            elif suffix == ".jsonl":
                dataset = datasets.load_dataset("json", data_files=files, split="train", cache_dir=cache_dir)
            else:
                dataset = datasets.load_dataset(
                    "json", data_files=files, features=_json_features(), split="train", cache_dir=cache_dir
                )
        except UserError:
            raise
        except Exception:  # noqa: BLE001
            problem = _find_bad_json(files) if suffix == ".json" else f"{source} could not be read"
            raise UserError(problem, field="source") from None
    body_column = columns.get("body") or next((c for c in BODY_COLUMNS if c in dataset.column_names), None)
    if body_column is None or body_column not in dataset.column_names:
        raise UserError(
            f"{source}: no poem body column; found columns {dataset.column_names}. Name it with "
            f"columns={{'body': '<column>'}} (CLI: --columns body=<column>)",
            field="columns",
        )
    keep = {"body": body_column}
    for ours in ("title", "author"):
        theirs = columns.get(ours, ours)
        if theirs in dataset.column_names:
            keep[ours] = theirs
    dataset = dataset.select_columns(list(keep.values()))
    renames = {theirs: ours for ours, theirs in keep.items() if theirs != ours}
    if renames:
        dataset = dataset.rename_columns(renames)
    return dataset


@dataclass
class Corpus:
    poems: list[Poem]
    report: dict = field(default_factory=dict)

    def split(self, name: str, forms: Iterable[str] | None = None) -> list[Poem]:
        wanted = set(forms) if forms is not None else None
        return [p for p in self.poems if p.split == name and (wanted is None or p.form in wanted)]


def _clean_batch(batch: dict) -> dict:
    out: dict[str, list] = {"lines": [], "reason": [], "title": [], "author": [], "form": [], "split": []}
    titles = batch.get("title") or [""] * len(batch["body"])
    authors = batch.get("author") or [""] * len(batch["body"])
    for body, title, author in zip(batch["body"], titles, authors, strict=True):
        lines, reason = clean_body(body)
        out["lines"].append(list(lines) if lines else [])
        out["reason"].append(reason or "")
        out["title"].append(normalize_variants(_QUOTES.sub("", _NOTES.sub("", title or ""))))
        out["author"].append(author or "")
        out["form"].append(detect_form(lines) if lines else "")
        out["split"].append(split_of(lines) if lines else "")
    return out


def load_corpus(source: str, columns: dict[str, str] | None = None, cache_dir: str | None = None) -> Corpus:
    """Load, clean, de-duplicate and split a corpus. Cached by `datasets` (the cleaning step too)."""
    started = time.perf_counter()
    rows = load_rows(source, columns, cache_dir)
    cleaned = rows.map(
        _clean_batch,
        batched=True,
        batch_size=2000,
        remove_columns=rows.column_names,
        new_fingerprint=f"{rows._fingerprint}-clean-v{CLEANING_VERSION}",
    )
    dropped: Counter[str] = Counter()
    seen: set[str] = set()
    poems: list[Poem] = []
    table = cleaned.data  # pyarrow: far faster than row-wise access for the whole corpus
    columns_as_lists = (
        table.column(name).to_pylist() for name in ("lines", "reason", "title", "author", "form", "split")
    )
    for lines, reason, title, author, form, split in zip(*columns_as_lists, strict=True):
        if reason:
            dropped[reason] += 1
            continue
        key = "".join(lines)
        if key in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(key)
        poems.append(Poem(title=title, author=author, lines=tuple(lines), form=form, split=split))
    if not poems:
        raise UserError(
            f"{source}: no usable poems ({len(rows)} rows read; dropped: {dict(dropped)})", field="source"
        )
    forms = Counter(p.form for p in poems)
    splits = Counter(p.split for p in poems)
    report = {
        "source": source,
        "read": len(rows),
        "kept": len(poems),
        "dropped": dict(sorted(dropped.items())),
        "forms": {name: forms.get(name, 0) for name in (*FORMS, "other")},
        "regular_forms": sum(forms.get(name, 0) for name in FORMS),
        "splits": {name: splits.get(name, 0) for name in SPLITS},
        "seconds_load_clean": round(time.perf_counter() - started, 3),
    }
    return Corpus(poems=poems, report=report)


# ---------------------------------------------------------------- training examples


@dataclass(frozen=True)
class ConditioningDropout:
    """Probability of dropping each conditioning part in training, so that each is optional at inference."""

    form: float = 0.1
    title: float = 0.5
    keywords: float = 0.5


def conditioning_ids(
    tokenizer, form: str | None = None, title: str | None = None, keywords: Iterable[str] | None = None
) -> list[int]:
    """Ids of `[form tag] [<title> title] [<kw> keywords] <s>`: the prefix a poem body follows."""
    ids: list[int] = []
    if form:
        ids.append(tokenizer.form_id(form))
    if title:
        ids += [tokenizer.title_id, *tokenizer.encode(title)]
    keywords = [k for k in (keywords or ()) if k]
    if keywords:
        ids.append(tokenizer.keywords_id)
        for keyword in keywords:
            ids += tokenizer.encode(keyword)
    ids.append(tokenizer.bos_id)
    return ids


def example_ids(
    tokenizer,
    poem: Poem,
    rng: random.Random | None,
    keywords: list[str] | None = None,
    dropout: ConditioningDropout = ConditioningDropout(),
    max_title_chars: int = 12,
) -> list[int]:
    """One training sequence: conditioning (parts dropped at random when `rng` is given) + body + `</s>`."""

    def keep(probability: float) -> bool:
        return rng is None or rng.random() >= probability

    form = poem.form if keep(dropout.form) else None
    title = poem.title[:max_title_chars] if poem.title and keep(dropout.title) else None
    chosen = keywords if keywords and keep(dropout.keywords) else None
    return [*conditioning_ids(tokenizer, form, title, chosen), *tokenizer.encode(poem.body), tokenizer.eos_id]


# ---------------------------------------------------------------- CLI: python -m poetry_rnn data


def parse_columns(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    mapping = {}
    for part in text.split(","):
        ours, sep, theirs = part.partition("=")
        if not sep or ours.strip() not in ("title", "author", "body"):
            raise UserError(
                f"--columns takes ours=theirs pairs for title, author, body; got {part!r}", field="columns"
            )
        mapping[ours.strip()] = theirs.strip()
    return mapping


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        default=str(Path(__file__).resolve().parent.parent.parent / "shared/data/tang"),
        help="folder/glob of chinese-poetry JSON, parquet/jsonl files, or hf:owner/name[:config][@split]",
    )
    parser.add_argument("--columns", help="column mapping, e.g. body=content,title=name")
    parser.add_argument("--tokenizer", choices=("char", "sentencepiece"), default="char")
    parser.add_argument("--min-count", type=int, default=2, help="characters rarer than this become <unk>")
    parser.add_argument("--script", choices=("traditional", "simplified"), default="traditional")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from poetry_rnn.tokenizer import build_tokenizer, corpus_texts

    started = time.perf_counter()
    corpus = load_corpus(args.source, parse_columns(args.columns))
    if args.script == "simplified":
        corpus = to_script(corpus, "simplified")
    tokenize_started = time.perf_counter()
    tokenizer, coverage = build_tokenizer(args.tokenizer, corpus, min_count=args.min_count)
    tokens = sum(len(tokenizer.encode(text)) for text in corpus_texts(corpus))
    report = dict(corpus.report)
    report.update(
        {
            "script": args.script,
            "tokenizer": args.tokenizer,
            "vocab_size": tokenizer.vocab_size,
            "char_coverage": coverage,
            "tokens": tokens,
            "seconds_tokenize": round(time.perf_counter() - tokenize_started, 3),
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    print(f"source          {report['source']}")
    print(f"poems read      {report['read']:,}")
    print(f"kept            {report['kept']:,}  (regular forms {report['regular_forms']:,})")
    for reason, count in report["dropped"].items():
        print(f"  dropped {reason:<14}{count:,}")
    print("forms           " + "  ".join(f"{k} {v:,}" for k, v in report["forms"].items()))
    print("splits          " + "  ".join(f"{k} {v:,}" for k, v in report["splits"].items()))
    print(f"vocabulary      {report['vocab_size']:,} ({args.tokenizer}, script {args.script})")
    print(f"char coverage   {coverage:.4%}")
    print(f"tokens          {tokens:,}")
    print(
        f"seconds         {report['seconds']:.2f} (load+clean {report['seconds_load_clean']:.2f}, "
        f"tokenize {report['seconds_tokenize']:.2f})"
    )
    return 0


def to_script(corpus: Corpus, script: str) -> Corpus:
    """The corpus converted to another script (training a simplified model)."""
    from poetry_rnn.script import convert

    poems = [
        Poem(
            title=convert(p.title, script),
            author=p.author,
            lines=tuple(convert("\n".join(p.lines), script).split("\n")),
            form=p.form,
            split=p.split,
        )
        for p in corpus.poems
    ]
    return Corpus(poems=poems, report=corpus.report)
