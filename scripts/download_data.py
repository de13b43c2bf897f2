"""Fetch the upstream Tang poems (chinese-poetry, folder 全唐诗, files poet.tang.N.json) for a fresh machine.

    python scripts/download_data.py --out data/tang_upstream
    python -m poetry_rnn data --source data/tang_upstream

Needs internet access to raw.githubusercontent.com (or a mirror: --base-url). Each file is checked (a JSON
list of poem objects) and written atomically, so an interrupted run leaves no half file; files already
present and valid are kept, so a second run only fetches what is missing. The LICENSE (MIT) comes along.

Note: the shared copy in ../shared/data/tang withholds 1,200 regular-form poems for independent
evaluation. The upstream files contain them: do not write them into that folder (this script refuses to)
and do not use a model trained on the upstream files for that evaluation.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from poetry_rnn.files import write_atomic  # noqa: E402

BASE_URL = "https://raw.githubusercontent.com/chinese-poetry/chinese-poetry/master/"
FOLDER = "全唐诗"
TANG_FILES = [f"poet.tang.{n}.json" for n in range(0, 58000, 1000)]  # 58 files, 57,000+ poems
SHARED_COPY = (REPO_DIR.parent / "shared" / "data" / "tang").resolve()


class DownloadError(Exception):
    pass


def fetch(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - https or file only
            return response.read()
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url}: the server answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(
            f"could not reach {url} ({reason}). This needs internet access to raw.githubusercontent.com; "
            f"offline, copy the {FOLDER}/poet.tang.*.json files into the output folder by hand"
        ) from None


def check_poems(name: str, payload: bytes) -> int:
    """The number of poems in a downloaded file; DownloadError if it is not a list of poem objects."""
    try:
        records = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DownloadError(f"{name}: the download is not valid JSON ({error})") from None
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and isinstance(r.get("paragraphs"), list) for r in records
    ):
        raise DownloadError(f"{name}: expected a JSON list of poems with 'paragraphs'")
    return len(records)


def is_valid(path: Path) -> bool:
    try:
        check_poems(path.name, path.read_bytes())
        return True
    except (OSError, DownloadError):
        return False


def download(out: Path, base_url: str = BASE_URL, timeout: float = 60.0, force: bool = False) -> dict:
    if out.resolve() == SHARED_COPY:
        raise DownloadError(
            f"{out} is the shared copy, which withholds poems for evaluation; choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    base = base_url if base_url.endswith("/") else base_url + "/"
    folder = base + urllib.parse.quote(FOLDER) + "/"
    fetched = kept = poems = 0
    for name in TANG_FILES:
        target = out / name
        if not force and is_valid(target):
            kept += 1
            continue
        payload = fetch(folder + name, timeout)
        poems += check_poems(name, payload)
        write_atomic(target, payload)
        fetched += 1
        print(f"{name}: ok", file=sys.stderr, flush=True)
    licence = out / "LICENSE"
    if force or not licence.is_file():
        write_atomic(licence, fetch(base + "LICENSE", timeout))
    return {"folder": str(out), "fetched": fetched, "already_present": kept, "poems_fetched": poems}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write the files into")
    parser.add_argument("--base-url", default=BASE_URL, help="repository root URL (a mirror, or file://)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--force", action="store_true", help="fetch again files already present")
    args = parser.parse_args(argv)
    try:
        summary = download(Path(args.out), args.base_url, args.timeout, args.force)
    except DownloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write into {args.out} ({error.strerror})", file=sys.stderr)
        return 2
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
