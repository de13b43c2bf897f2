"""The corpus: load poems from any source through Hugging Face `datasets`, clean them, split them.

Sources (one `source` string):
- a folder or glob of chinese-poetry JSON files (`../shared/data/tang`, an upstream `全唐诗` folder);
- parquet or JSON-lines files (`poems.parquet`, `data/*.jsonl`), one poem a row;
- a Hub dataset, `hf:owner/name` with optional `:config` and `@split` (`hf:owner/name:config@train`).
Rows may hold the body as a list of lines (`paragraphs`) or as one string (`content`, `body`, `text`...);
`columns` maps our names (title, author, body) to the dataset's when they differ.

Cleaning (`poetry_rnn.cleaning`) counts every poem it drops by reason; exact duplicate bodies are dropped
too.

The cleaned corpus of a local source is cached (`$POETRY_RNN_CACHE`, default `~/.cache/poetry_rnn`), keyed
by the files' paths, sizes and modification times and by the cleaning rules, so a second load does not
even import `datasets`.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from poetry_rnn.cleaning import (
    CLEANING_FINGERPRINT,
    FORMS,
    SPLITS,
    clean_body,
    clean_title,
    detect_form,
    split_of,
)
from poetry_rnn.errors import UserError
from poetry_rnn.files import default_cache_dir, write_atomic
from poetry_rnn.format import render_body

CACHE_FORMAT = 1

BODY_COLUMNS = ("paragraphs", "content", "body", "text", "poem")
FILE_KINDS = {".json": "json", ".jsonl": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True)
class Poem:
    title: str
    author: str
    lines: tuple[str, ...]
    form: str  # one of FORMS or "other"
    split: str  # train / valid / test
    source: str = ""  # the corpus's name in a run on several corpora (its tag, `<tang>`); "" otherwise

    @property
    def body(self) -> str:
        """The body in the canonical layout: "，" after odd lines, "。" after even lines."""
        return render_body(self.lines)


# ---------------------------------------------------------------- loading


def default_source() -> str:
    """The Tang corpus: $POETRY_RNN_CORPUS, else `../shared/data/tang` beside the repository. The default
    for training, evaluation, the originality rule's corpus lines and the tests."""
    override = os.environ.get("POETRY_RNN_CORPUS")
    if override:
        return override
    return str(Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tang")


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
        # Author lists and the upstream `*.simplified.json` copies (same poems, other script) are no poems.
        files = sorted(
            str(p)
            for p in path.iterdir()
            if p.is_file()
            and p.suffix in FILE_KINDS
            and not p.name.startswith("authors")
            and not p.name.endswith(".simplified.json")
        )
        if not files:
            raise UserError(f"folder {source} holds no .json, .jsonl or .parquet files", field="source")
        return files
    if path.is_file():
        files = [str(path)]
    else:
        files = sorted(f for f in glob.glob(os.path.expanduser(source)) if os.path.isfile(f))
        if not files:
            raise UserError(f"no such file, folder or glob: {source}", field="source")
    unknown = [f for f in files if Path(f).suffix not in FILE_KINDS]
    if unknown:
        raise UserError(
            f"{unknown[0]}: unsupported file type; give .json (chinese-poetry), .jsonl or .parquet files",
            field="source",
        )
    return files


def source_fingerprint(source: str, columns: dict[str, str] | None = None) -> str | None:
    """A key for a local source that changes when a file is added, removed or modified, or the cleaning
    rules change. None for Hub sources (their fingerprint comes from `datasets` after loading)."""
    if source.startswith("hf:"):
        return None
    entries = []
    for name in _expand_local(source):
        stat = os.stat(name)
        entries.append((os.path.abspath(name), stat.st_size, stat.st_mtime_ns))
    payload = json.dumps([CLEANING_FINGERPRINT, sorted((columns or {}).items()), entries], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _one_line(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read_records(name: str, kind: str) -> Iterable[tuple[str, object]]:
    """(where, record) for each record of a JSON or JSON-lines file; UserError naming the file otherwise."""
    try:
        with open(name, encoding="utf-8") as handle:
            if kind == "jsonl":
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        try:
                            yield f"{name} line {number}", json.loads(line)
                        except json.JSONDecodeError as error:
                            raise UserError(
                                f"{name} line {number} is not valid JSON ({error})", field="source"
                            ) from None
                return
            records = json.load(handle)
    except UnicodeDecodeError as error:
        raise UserError(f"{name} is not UTF-8 text ({error})", field="source") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{name} is not valid JSON ({error})", field="source") from None
    except OSError as error:
        raise UserError(f"{name} could not be read ({error.strerror})", field="source") from None
    if isinstance(records, dict):  # a single poem object
        records = [records]
    if not isinstance(records, list):
        raise UserError(
            f"{name} must hold a JSON list of poem objects, found {type(records).__name__}", field="source"
        )
    for index, record in enumerate(records):
        yield f"{name} record {index}", record


def _rows_from_json(files: list[str], kind: str, columns: dict[str, str]):
    """Read JSON / JSON-lines files record by record: used when `datasets` cannot build one table from
    them (extra keys, a body that is a string in one file and a list in another, a bad value). Names the
    file and record that is wrong; a record without a usable body is kept, to be counted as dropped."""
    import datasets

    data: dict[str, list] = {"title": [], "author": [], "body": [], "body_error": []}
    seen_keys: set[str] = set()
    for name in files:
        for where, record in _read_records(name, kind):
            if not isinstance(record, dict):
                raise UserError(
                    f"{where} is not a JSON object (found {type(record).__name__})", field="source"
                )
            seen_keys.update(record)
            body_key = columns.get("body") or next((c for c in BODY_COLUMNS if c in record), None)
            body = record.get(body_key) if body_key else None
            error = ""
            if isinstance(body, str):
                body = [body]
            elif isinstance(body, list) and all(p is None or isinstance(p, str) for p in body):
                body = [p for p in body if p is not None]
            elif body is not None:
                body, error = None, "bad_body"
            data["body"].append(body)
            data["body_error"].append(error)
            for ours in ("title", "author"):
                value = record.get(columns.get(ours, ours))
                data[ours].append(value if isinstance(value, str) else "")
    if not data["body"]:
        raise UserError(
            f"{files[0] if len(files) == 1 else 'the source files'}: no records (an empty list); a corpus is "
            "a list of poems, each with a body (paragraphs / content / body / text / poem)",
            field="source",
        )
    if not any(b is not None or e for b, e in zip(data["body"], data["body_error"], strict=True)):
        wanted = columns.get("body") or " / ".join(BODY_COLUMNS)
        raise UserError(
            f"{files[0] if len(files) == 1 else 'the source files'}: no record has a poem body ({wanted}); "
            f"keys found: {sorted(seen_keys)}. Name the body key with columns={{'body': '<key>'}} "
            f"(the data and evaluate commands: --columns body=<key>; training reads only those keys)",
            field="columns",
        )
    features = datasets.Features(
        {
            "title": datasets.Value("string"),
            "author": datasets.Value("string"),
            "body": datasets.Sequence(datasets.Value("string")),
            "body_error": datasets.Value("string"),
        }
    )
    return datasets.Dataset.from_dict(data, features=features)


def _load_hub(source: str, cache_dir: str | None):
    import datasets

    spec = source[3:]
    split = "train"
    if "@" in spec:
        spec, split = spec.rsplit("@", 1)
    name, _, config = spec.partition(":")
    if not name:
        raise UserError(f"{source}: give a dataset id, e.g. hf:owner/name[:config][@split]", field="source")
    try:
        return datasets.load_dataset(name, config or None, split=split, cache_dir=cache_dir)
    except Exception as error:  # noqa: BLE001 - `datasets` raises many types; the user needs one message
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"
        hint = " (offline: only datasets already in the local cache can be loaded)" if offline else ""
        raise UserError(
            f"could not load Hub dataset {name!r} split {split!r}{hint}: {_one_line(error)}", field="source"
        ) from None


def load_rows(source: str, columns: dict[str, str] | None = None, cache_dir: str | None = None):
    """Load a source into a `datasets.Dataset` with columns body (a list of lines or one string), title and
    author where present (and body_error when the rows were read record by record)."""
    import datasets
    from datasets.utils.logging import CRITICAL, disable_progress_bar, set_verbosity

    disable_progress_bar()
    # a file datasets cannot read is read again record by record below and any fault told in words; its
    # own log line ("Failed to load JSON from file ...") would only stand before that message
    set_verbosity(CRITICAL)
    columns = dict(columns or {})
    if source.startswith("hf:"):
        dataset = _load_hub(source, cache_dir)
    else:
        files = _expand_local(source)
        kinds = {FILE_KINDS[Path(f).suffix] for f in files}
        if len(kinds) > 1:
            raise UserError(
                f"{source} mixes file types ({', '.join(sorted(kinds))}); give one kind at a time",
                field="source",
            )
        kind = kinds.pop()
        try:
            if kind == "parquet":
                dataset = datasets.load_dataset(
                    "parquet", data_files=files, split="train", cache_dir=cache_dir
                )
            elif kind == "jsonl":
                dataset = datasets.load_dataset("json", data_files=files, split="train", cache_dir=cache_dir)
            else:
                dataset = datasets.load_dataset(
                    "json", data_files=files, features=_json_features(), split="train", cache_dir=cache_dir
                )
        except Exception as error:  # noqa: BLE001 - diagnosed below, in words the user can act on
            if kind == "parquet":
                raise UserError(
                    f"{source}: could not read the parquet files ({_one_line(error)})", field="source"
                ) from None
            return _rows_from_json(files, kind, columns)
    body_column = columns.get("body") or next((c for c in BODY_COLUMNS if c in dataset.column_names), None)
    if body_column is None or body_column not in dataset.column_names:
        raise UserError(
            f"{source}: no poem body column; found columns {dataset.column_names}. Name it with "
            f"columns={{'body': '<column>'}} (the data and evaluate commands: --columns body=<column>; training "
            "reads only the usual names)",
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
    fingerprint: str = ""  # identifies source + cleaning (+ script): keys the caches built from the corpus
    cache_dir: Path | None = None  # where those caches live (None: do not cache)
    script: str = "traditional"

    def split(self, name: str, forms: Iterable[str] | None = None) -> list[Poem]:
        wanted = set(forms) if forms is not None else None
        return [p for p in self.poems if p.split == name and (wanted is None or p.form in wanted)]


def _clean_batch(batch: dict) -> dict:
    out: dict[str, list] = {"lines": [], "reason": [], "title": [], "author": [], "form": [], "split": []}
    count = len(batch["body"])
    titles = batch.get("title") or [""] * count
    authors = batch.get("author") or [""] * count
    errors = batch.get("body_error") or [""] * count
    for body, title, author, error in zip(batch["body"], titles, authors, errors, strict=True):
        lines, reason = (None, error) if error else clean_body(body)
        out["lines"].append(list(lines) if lines else [])
        out["reason"].append(reason or "")
        out["title"].append(clean_title(title))
        out["author"].append(author if isinstance(author, str) else "")
        out["form"].append(detect_form(lines) if lines else "")
        out["split"].append(split_of(lines) if lines else "")
    return out


def _cache_file(root: Path, source: str, key: str) -> Path:
    where = hashlib.sha256(os.path.abspath(source).encode("utf-8")).hexdigest()[:12]
    return root / f"corpus-{where}-{key[:24]}.json"


def _read_cache(path: Path, key: str) -> tuple[list[Poem], dict] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != CACHE_FORMAT or document.get("key") != key:
            return None
        columns = document["poems"]
        poems = [
            Poem(title=t, author=a, lines=tuple(b.split("\n")), form=f, split=s)
            for t, a, b, f, s in zip(
                columns["title"],
                columns["author"],
                columns["lines"],
                columns["form"],
                columns["split"],
                strict=True,
            )
        ]
        return poems, document["report"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing or damaged: rebuild


def _write_cache(path: Path, key: str, poems: list[Poem], report: dict) -> None:
    document = {
        "format": CACHE_FORMAT,
        "key": key,
        "report": report,
        "poems": {
            "title": [p.title for p in poems],
            "author": [p.author for p in poems],
            "lines": ["\n".join(p.lines) for p in poems],
            "form": [p.form for p in poems],
            "split": [p.split for p in poems],
        },
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(document, ensure_ascii=False, separators=(",", ":")))
        prefix = path.name.rsplit("-", 1)[0] + "-"
        for old in path.parent.glob(f"{prefix}*.json"):  # earlier versions of the same source
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache only costs speed


def load_corpus(
    source: str,
    columns: dict[str, str] | None = None,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> Corpus:
    """Load, clean, de-duplicate and split a corpus.

    `cache_dir` holds both the `datasets` cache and this module's (under `poetry_rnn/`); by default they
    are `datasets`' own and `default_cache_dir()`. A local source's cleaned corpus is reused while its
    files and the cleaning rules are unchanged; `use_cache=False` always rebuilds (and writes nothing)."""
    started = time.perf_counter()
    source = str(source)
    if not source.strip():
        raise UserError(
            "the corpus source is empty: name a folder of chinese-poetry JSON files, a .json/.jsonl/.parquet "
            "file or a Hub dataset id",
            field="source",
        )
    columns = dict(columns or {})
    root = (Path(cache_dir) / "poetry_rnn" if cache_dir else default_cache_dir()) if use_cache else None
    key = source_fingerprint(source, columns)  # also: a clear error for a missing path, before `datasets`

    def from_cache(key: str) -> Corpus | None:
        cached = _read_cache(_cache_file(root, source, key), key) if root is not None else None
        if cached is None:
            return None
        poems, report = cached
        report = {**report, "cached": True, "seconds_load_clean": round(time.perf_counter() - started, 3)}
        return Corpus(poems=poems, report=report, fingerprint=key, cache_dir=root)

    if key is not None and (corpus := from_cache(key)) is not None:
        return corpus
    rows = load_rows(source, columns, str(cache_dir) if cache_dir else None)
    if key is None:  # Hub: `datasets` fingerprints what it loaded; the cache then saves the cleaning
        payload = json.dumps([CLEANING_FINGERPRINT, sorted(columns.items()), rows._fingerprint])
        key = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        if (corpus := from_cache(key)) is not None:
            return corpus
    cleaned = rows.map(
        _clean_batch,
        batched=True,
        batch_size=2000,
        remove_columns=rows.column_names,
        new_fingerprint=f"{rows._fingerprint}-clean-{CLEANING_FINGERPRINT}",
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
        body_key = "".join(lines)
        if body_key in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(body_key)
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
    }
    if root is not None:
        _write_cache(_cache_file(root, source, key), key, poems, report)
    report = {**report, "cached": False, "seconds_load_clean": round(time.perf_counter() - started, 3)}
    return Corpus(poems=poems, report=report, fingerprint=key, cache_dir=root)


# ---------------------------------------------------------------- CLI: python -m poetry_rnn data


def parse_columns(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    mapping = {}
    for part in text.split(","):
        ours, sep, theirs = part.partition("=")
        if not sep or ours.strip() not in ("title", "author", "body") or not theirs.strip():
            raise UserError(
                f"--columns takes ours=theirs pairs for title, author, body; got {part!r}", field="columns"
            )
        mapping[ours.strip()] = theirs.strip()
    return mapping


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        default=default_source(),
        help="folder/glob of chinese-poetry JSON, parquet/jsonl files, or hf:owner/name[:config][@split]",
    )
    parser.add_argument("--columns", help="column mapping, e.g. body=content,title=name")
    parser.add_argument("--tokenizer", choices=("char", "sentencepiece"), default="char")
    parser.add_argument("--min-count", type=int, default=2, help="characters rarer than this become <unk>")
    parser.add_argument("--vocab-size", type=int, default=8192, help="SentencePiece vocabulary size")
    parser.add_argument("--script", choices=("traditional", "simplified"), default="traditional")
    parser.add_argument("--cache-dir", help="cache folder (default: datasets' and $POETRY_RNN_CACHE)")
    parser.add_argument("--no-cache", action="store_true", help="rebuild everything, write no cache")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from poetry_rnn.tokenizer import build_tokenizer, corpus_texts

    started = time.perf_counter()
    corpus = load_corpus(
        args.source, parse_columns(args.columns), cache_dir=args.cache_dir, use_cache=not args.no_cache
    )
    if args.script == "simplified":
        corpus = to_script(corpus, "simplified")
    tokenize_started = time.perf_counter()
    tokenizer, coverage = build_tokenizer(
        args.tokenizer, corpus, min_count=args.min_count, vocab_size=args.vocab_size
    )
    tokens = sum(len(ids) for ids in tokenizer.encode_many(list(corpus_texts(corpus, split=None))))
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
        print(f"  dropped {reason:<16}{count:,}")
    print("forms           " + "  ".join(f"{k} {v:,}" for k, v in report["forms"].items()))
    print("splits          " + "  ".join(f"{k} {v:,}" for k, v in report["splits"].items()))
    print(f"vocabulary      {report['vocab_size']:,} ({args.tokenizer}, script {args.script})")
    print(f"char coverage   {coverage:.4%}")
    print(f"tokens          {tokens:,} (all splits, bodies and titles)")
    print(
        f"seconds         {report['seconds']:.2f} (load+clean {report['seconds_load_clean']:.2f}"
        f"{', cached' if report.get('cached') else ''}, tokenize {report['seconds_tokenize']:.2f})"
    )
    return 0


def to_script(corpus: Corpus, script: str) -> Corpus:
    """The corpus converted to another script (training a simplified model). One OpenCC call for all
    bodies and one for all titles: lines never contain a line break, so the layout survives."""
    from poetry_rnn.script import SCRIPTS, convert

    if script not in SCRIPTS:
        raise UserError(f"unknown script {script!r}; choose one of {', '.join(SCRIPTS)}", field="script")
    if script == corpus.script:
        return corpus
    bodies = convert("\n\n".join("\n".join(p.lines) for p in corpus.poems), script).split("\n\n")
    titles = convert("\n".join(p.title.replace("\n", " ") for p in corpus.poems), script).split("\n")
    if len(bodies) != len(corpus.poems) or len(titles) != len(corpus.poems):  # never seen; be safe
        bodies = ["\n".join(convert(line, script) for line in p.lines) for p in corpus.poems]
        titles = [convert(p.title, script) for p in corpus.poems]
    poems = [
        Poem(
            title=title,
            author=p.author,
            lines=tuple(body.split("\n")),
            form=p.form,
            split=p.split,
            source=p.source,
        )
        for p, body, title in zip(corpus.poems, bodies, titles, strict=True)
    ]
    fingerprint = f"{corpus.fingerprint}-{script}" if corpus.fingerprint else ""
    return Corpus(
        poems=poems, report=corpus.report, fingerprint=fingerprint, cache_dir=corpus.cache_dir, script=script
    )
