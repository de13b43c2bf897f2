"""A prepared corpus: the cleaned, split poems (and their keywords) in one compressed JSON file.

It lets training run where the raw corpus or `datasets` is not at hand — a rented GPU box, say:
    python -m poetry_rnn.prepared --source ../shared/data/tang --out tang.prepared.json.xz [--keywords]
    python -m poetry_rnn train --source tang.prepared.json.xz ...
The file also carries the raw test-split bodies, so evaluation there matches `evaluate` here. It is
compressed by its name: `.prepared.json.xz` (LZMA, about 27 % smaller: what travels to a GPU machine is
limited) or `.prepared.json.gz` (gzip, quicker to write).
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
from pathlib import Path

from poetry_rnn.corpus import FORMS, Corpus, Poem
from poetry_rnn.errors import UserError
from poetry_rnn.files import write_atomic

SUFFIXES = (".prepared.json.xz", ".prepared.json.gz")
_XZ_MAGIC = b"\xfd7zXZ\x00"


def is_prepared(source: str) -> bool:
    return str(source).endswith(SUFFIXES)


def write_prepared(
    corpus: Corpus,
    path: str | Path,
    keywords: dict[str, list[str]] | None = None,
    eval_bodies: dict[str, list[tuple[str, str]]] | None = None,
) -> None:
    document = {
        "format": "poetry_rnn.prepared/1",
        "report": corpus.report,
        "poems": [[p.title, p.author, list(p.lines), p.form, p.split] for p in corpus.poems],
        "keywords": keywords or {},
        "eval_bodies": eval_bodies or {},
    }
    data = json.dumps(document, ensure_ascii=False).encode("utf-8")
    if str(path).endswith(".xz"):
        write_atomic(path, lzma.compress(data, preset=9))
    else:
        write_atomic(path, gzip.compress(data, mtime=0))


def read_prepared(path: str | Path) -> tuple[Corpus, dict[str, list[str]], dict[str, list[tuple[str, str]]]]:
    try:
        packed = Path(path).read_bytes()
        # by its content, not its name: a file renamed by hand still reads
        data = lzma.decompress(packed) if packed.startswith(_XZ_MAGIC) else gzip.decompress(packed)
        document = json.loads(data)
    except (OSError, EOFError, lzma.LZMAError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not a readable prepared corpus ({error})", field="source") from None
    if not isinstance(document, dict) or document.get("format") != "poetry_rnn.prepared/1":
        raise UserError(f"{path}: not a poetry_rnn prepared corpus", field="source")
    poems = [
        Poem(title=t, author=a, lines=tuple(lines), form=f, split=s)
        for t, a, lines, f, s in document["poems"]
    ]
    eval_bodies = {k: [tuple(x) for x in v] for k, v in document.get("eval_bodies", {}).items()}
    return Corpus(poems=poems, report=document.get("report", {})), document.get("keywords", {}), eval_bodies


def main(argv: list[str] | None = None) -> int:
    from poetry_rnn.corpus import load_corpus
    from poetry_rnn.perplexity import evaluation_bodies

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--out", required=True, help=f"file name ending in {' or '.join(SUFFIXES)}")
    parser.add_argument("--keywords", action="store_true", help="include jieba keywords of the train poems")
    args = parser.parse_args(argv)
    if not is_prepared(args.out):
        parser.error(f"--out must end in {' or '.join(SUFFIXES)}")
    corpus = load_corpus(args.source)
    keywords = None
    if args.keywords:
        from poetry_rnn.keywords import corpus_keywords

        keywords = corpus_keywords(corpus.split("train"))
    eval_bodies = {
        split: evaluation_bodies(args.source, split, FORMS, bodies="raw") for split in ("valid", "test")
    }
    write_prepared(corpus, args.out, keywords, eval_bodies)
    print(f"wrote {args.out}: {len(corpus.poems):,} poems, {len(keywords or {}):,} with keywords")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
