"""Build poetry_rnn/prosody/data/plan_keywords.json: which keywords go together in a poem, for plans.

    python scripts/build_plan_data.py [--corpus ../shared/data/tang] [--out FILE]

A plan gives each couplet one keyword (poetry_rnn/generation/plan.py). Its keywords come from the TRAIN
split of the corpus only:
- each poem's keywords are those the model was trained with (poetry_rnn.keywords.corpus_keywords: jieba
  dictionary words ranked by TF-IDF over the corpus), KEYWORDS_PER_POEM of them, keeping words of one or
  two characters (a keyword must fit in a line beside other words);
- the plan vocabulary is the keywords found in at least MIN_KEYWORD_POEMS poems, each with its number of
  poems (free plans draw their first keyword by it) and where in a poem it tends to stand (0 the first
  couplet, 100 the last: plans put their keywords in that order, as poems move from scene to feeling);
- a poem's title words (and their characters) count as its keys too, so a title such as 送别 finds the
  keywords of the poems written to that occasion;
- for each key, its neighbours: the plan keywords found in the same poems, scored by
  log P(b | a) − DAMPING · log P(b) (smoothed): between the conditional probability, which favours
  stock words found everywhere (人間, 春風), and pointwise mutual information (DAMPING = 1), which favours
  words seen twice. Words that share a character with the key are no neighbours (明月 says nothing new
  beside 月).
The output is deterministic (sorted everywhere, rounded scores); tests/test_plan.py rebuilds it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.corpus import default_source, load_corpus  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.generation.plan import DATA_FILE, DATA_VERSION, MAX_WORD_CHARS  # noqa: E402

KEYWORDS_PER_POEM = 16
MIN_KEYWORD_POEMS = 25  # rarer keywords are mostly names and segmentation accidents
MIN_KEY_POEMS = 12
MIN_PAIR_POEMS = 4
DAMPING = 0.5
SMOOTHING = 5.0  # pseudo-poems of the background distribution in P(b | a)
NEIGHBOURS = 14
IMAGE_TAGS = ("n", "s", "t")  # jieba's part of speech: nouns (n, ng, ns, nz ...), places, times
# images and feelings jieba's dictionary tags otherwise (花 as to spend, 月 as a month), among the keywords of
# the most poems
IMAGE_WORDS = frozenset("花 月 家 树 枝 天 归 愁 恨 醉 相思 相逢 别离 少年 万里 千里 十年 归去".split())
# nouns by jieba that name nothing, and single characters it tags as nouns but verse uses otherwise
EMPTY_NOUNS = frozenset(
    "处 事 意 物 时 期 者 性 样 间 里 问 成 当 飞 流 静 忆 思 闲 空 宿 晚 长".split()
)  # simplified


def is_image_word(word: str) -> bool:
    """Whether a keyword can carry a couplet: a noun, a place or a time in jieba's dictionary (柳, 孤帆,
    明月, 黃昏), and not one of the few nouns that name nothing (處, 事)."""
    from jieba import posseg

    from poetry_rnn.keywords import _jieba
    from poetry_rnn.script import to_simplified

    _jieba()
    simplified = to_simplified(word)
    tag = posseg.dt.word_tag_tab.get(simplified, "x")
    return (tag[:1] in IMAGE_TAGS and simplified not in EMPTY_NOUNS) or simplified in IMAGE_WORDS


def title_words(titles: list[str]) -> list[list[str]]:
    """Each title's dictionary words (as keywords.extract_keywords reads text) and their characters, in the
    title's own characters."""
    from poetry_rnn.keywords import _is_candidate, _jieba
    from poetry_rnn.script import to_simplified

    jieba = _jieba()
    frequencies = jieba.dt.FREQ
    simplified = to_simplified("\n".join(titles)).split("\n")
    if len(simplified) != len(titles):
        simplified = [to_simplified(title) for title in titles]
    found = []
    for title, text in zip(titles, simplified, strict=True):
        aligned = len(title) == len(text)
        words, offset = set(), 0
        for word in jieba.cut(text, HMM=False):
            if _is_candidate(word, frequencies):
                original = title[offset : offset + len(word)] if aligned else word
                words.add(original)
                words.update(c for c in original if _is_candidate(to_simplified(c), frequencies))
            offset += len(word)
        found.append(sorted(words))
    return found


def build(corpus_dir: str) -> dict:
    from poetry_rnn.cleaning import FORMS
    from poetry_rnn.keywords import corpus_keywords
    from poetry_rnn.script import normalize_variants

    poems = load_corpus(corpus_dir).split("train", FORMS)
    keywords = corpus_keywords(poems, k=KEYWORDS_PER_POEM)
    titles = title_words([poem.title for poem in poems])
    body_sets: list[list[str]] = []
    for poem in poems:
        words = [normalize_variants(w) for w in keywords.get(poem.body, []) if len(w) <= MAX_WORD_CHARS]
        body_sets.append(sorted(set(words)))
    body_count = Counter(w for words in body_sets for w in words)
    vocabulary = {w for w, n in body_count.items() if n >= MIN_KEYWORD_POEMS and is_image_word(w)}
    # where each keyword stands: the couplet it first appears in, 0 (first) .. 1 (last), regular forms
    positions: dict[str, list[float]] = defaultdict(list)
    for poem, words in zip(poems, body_sets, strict=True):
        couplets = [normalize_variants(a + b) for a, b in zip(poem.lines[::2], poem.lines[1::2], strict=True)]
        for word in words:
            if word in vocabulary:
                index = next((i for i, text in enumerate(couplets) if word in text), None)
                if index is not None:
                    positions[word].append(index / (len(couplets) - 1))
    key_sets = []
    for title, words in zip(titles, body_sets, strict=True):
        key_sets.append(sorted(set(words) | {normalize_variants(w) for w in title}))
    key_count = Counter(w for keys in key_sets for w in keys)
    keys = {w for w, n in key_count.items() if n >= MIN_KEY_POEMS}
    pairs: dict[str, Counter] = defaultdict(Counter)
    for key_words, words in zip(key_sets, body_sets, strict=True):
        planned = [w for w in words if w in vocabulary]
        for key in key_words:
            if key in keys:
                pairs[key].update(w for w in planned if not set(w) & set(key))
    total = len(poems)
    vocabulary_mass = sum(body_count[w] for w in vocabulary)
    neighbours = {}
    for key in sorted(keys):
        scored = []
        for word, together in pairs[key].items():
            if together < MIN_PAIR_POEMS:
                continue
            background = body_count[word] / vocabulary_mass
            conditional = (together + SMOOTHING * background) / (key_count[key] + SMOOTHING)
            scored.append((round(math.log(conditional) - DAMPING * math.log(background), 2), word))
        scored.sort(key=lambda item: (-item[0], item[1]))
        if scored:
            neighbours[key] = [[word, score] for score, word in scored[:NEIGHBOURS]]
    return {
        "version": DATA_VERSION,
        "source": "train split of the Tang corpus",
        "poems": total,
        "settings": {
            "keywords_per_poem": KEYWORDS_PER_POEM,
            "min_keyword_poems": MIN_KEYWORD_POEMS,
            "min_key_poems": MIN_KEY_POEMS,
            "min_pair_poems": MIN_PAIR_POEMS,
            "damping": DAMPING,
            "smoothing": SMOOTHING,
        },
        # keyword → [poems it is a keyword of, mean position 0..100]
        "keywords": {
            w: [body_count[w], round(100 * sum(positions[w]) / len(positions[w])) if positions[w] else 50]
            for w in sorted(vocabulary)
        },
        "neighbours": neighbours,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=default_source(), help="the Tang corpus folder")
    parser.add_argument("--out", default=str(DATA_FILE))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = build(args.corpus)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    write_atomic(Path(args.out), text)
    print(
        f"wrote {args.out}: {len(data['keywords']):,} keywords, {len(data['neighbours']):,} keys with "
        f"neighbours, {len(text.encode('utf-8')) / 1e6:.2f} MB in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
