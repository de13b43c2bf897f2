"""Build poetry_rnn/prosody/data/parallel.json: what faces what in a parallel couplet (对仗).

    python scripts/build_parallel_data.py [--corpus ../shared/data/tang] [--lexicon ../shared/data/lexicon]

Knowledge comes from three sources, strongest first:
1. Seeds: a short hand list of characters per class (天文, 地理 … 数目, 颜色, 方位, 代词, 虚字 …), and
   jieba's dictionary part of speech of single characters (n, v, a, m, f, r, d, p …) as a weak prior.
2. 聲律啓蒙 (the lexicon folder): its `X對Y` pairs and paired phrases, position by position.
3. The TRAIN split of the Tang corpus: in a 律诗 the middle couplets (lines 3–4, 5–6) are parallel by
   convention, so characters that face each other there (same position, two lines) share a class.
   Its lines of every form also attest two-character words by the rhythm (`rhythm_words`), by which the
   analysis cuts a line's last three characters 2+1 or 1+2.

Classes are spread from the seeds over the graph of facing characters (label propagation); each
character keeps its three likeliest classes. Pairs that face each other in middle couplets far more often
than in first couplets and quatrains (mostly not parallel) are kept as attested pairs. The verdict
thresholds are then chosen on the VALID split; `scripts/eval_parallel.py` reports the TEST split.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from poetry_rnn.corpus import load_corpus  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.prosody.parallel import CLASSES, DATA_FILE, DATA_VERSION, ParallelTable  # noqa: E402
from poetry_rnn.script import normalize_variants, to_traditional  # noqa: E402

# Seed characters per class (traditional). Short on purpose: the corpus spreads the classes.
# fmt: off
SEEDS: dict[str, str] = {
    "天文": "天日月星辰雲風雨雪霜露虹霞煙霧雷電霓斗漢",
    "地理": "山水江河湖海峰嶺石泉溪澗浦洲渚岸沙野田原林谷川波浪潮濤灘島岩崖峽塞路徑郊陌塘池潭嶂岫丘壑",
    "时令": "春夏秋冬朝暮晨夕夜晝曉晚年歲時宵旦昏節臘昔今",
    "植物": "花草木樹柳松竹梅蘭菊桃李荷蓮葉枝藤苔蘚萍桂楓槐桑麻稻禾麥蕙蘿藻梧桐杏蘆荻柏菱芷蒲葵",
    "动物": "鳥雁鶴鶯燕猿猴馬龍魚蟬雞犬鷗鷺鵲鴉蝶蜂蛩虎豹鹿羊牛蛇鳳鴻鷹雀蟲螢鵑麟",
    "器物": "琴書劍酒杯燈舟船車衣帆笛簫鐘鼓旗弓箭杖冠簾枕席鏡扇硯筆墨紙帶袖裳觴樽盃",
    "宫室": "樓臺殿閣門窗亭院宮城軒堂廊闕戶牆室館寺廟庭檻階橋井郭",
    "人伦": "人客臣僧友主兒女孫父母兄弟翁叟童郎妾妻侯王帝將士民仙佛",
    "形体": "身心眼目手頭髮鬢眉顏骨淚魂夢腸耳面首足",
    "数目": "一二三四五六七八九十百千萬兩雙半",
    "颜色": "紅白青黃綠翠碧紫丹朱玄蒼皓赤黑",
    "方位": "東西南北上下左右前後中外裡間內邊",
    "代词": "我吾余君爾汝誰此彼其伊孰",
    "副词": "不無未已猶尚自又亦還復更獨偏正相皆俱常曾初忽乍漸頻屢欲將應須莫休只唯惟",
    "介连": "於與而以之為因從向在如似若且及何",
    "动作": "來去歸行飛落開生看聞見入出流照吹鳴啼聽坐臥起送別思憶望登過到留隨迎度移迴",
    "形状": "高深長遠寒清新古大小多少明暗冷暖靜閑淺輕重疏密老幽危孤殘",
}
# fmt: on
# jieba's part of speech of a single character → the class it hints at (a weak prior only).
JIEBA_HINTS = {
    "n": "名物",
    "ng": "名物",
    "nr": "名物",
    "ns": "地理",
    "nz": "名物",
    "v": "动作",
    "vg": "动作",
    "vn": "动作",
    "a": "形状",
    "ag": "形状",
    "m": "数目",
    "f": "方位",
    "r": "代词",
    "d": "副词",
    "p": "介连",
    "c": "介连",
    "u": "介连",
    "t": "时令",
    "q": "名物",
}  # fmt: skip

SEED_WEIGHT = 4.0  # 聲律啓蒙 pairs count as this many corpus couplets
MIN_PAIR_COUNT = 3  # an attested pair faces in at least this many middle couplets
MIN_PAIR_SHARE = 0.6  # … and at least this share of its facings (rate-adjusted) are in middle couplets
MAX_PAIRS = 24000
# A pair of characters is kept as a word when it stands where a line has a word this many times more often
# than across a word boundary (the excess): 12,544 words, 73 KiB. At 5 (20,412 words, 119 KiB) the cut
# matches a reader's on as many of tests/data/parallel_cuts.txt (103 of 109), and the two cut 21 of the
# test split's 912 middle couplets differently: 11 right at 5, 8 at 8, 2 unclear. Not worth the size.
MIN_WORD_EXCESS = 8
ITERATIONS = 12
TOP_CLASSES = 3


def facing_pairs(first: str, second: str):
    for a, b in zip(first, second, strict=True):
        if a != b:
            yield (a, b) if a < b else (b, a)


def lexicon_pairs(lexicon: Path) -> list[tuple[str, str]]:
    """Position-aligned phrase pairs of 聲律啓蒙: `雲對雨`, `來鴻對去燕`, and paired clauses."""
    path = lexicon / "shenglvqimeng.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    pairs: list[tuple[str, str]] = []
    for volume in data["content"]:
        for chapter in volume["content"]:
            for paragraph in chapter["paragraphs"]:
                for sentence in re.split("[。]", normalize_variants(paragraph)):
                    halves = sentence.split("；")
                    if len(halves) == 2:
                        left, right = (re.split("[，]", h) for h in halves)
                        if len(left) == len(right):
                            pairs += [(a, b) for a, b in zip(left, right, strict=True) if len(a) == len(b)]
                        continue
                    clauses = [c for c in sentence.split("，") if c]
                    loose = []
                    for clause in clauses:
                        if "對" in clause:
                            a, _, b = clause.partition("對")
                            if len(a) == len(b) and a:
                                pairs.append((a, b))
                        else:
                            loose.append(clause)
                    for a, b in zip(loose[::2], loose[1::2], strict=False):
                        if len(a) == len(b):
                            pairs.append((a, b))
    return pairs


def jieba_hints() -> dict[str, str]:
    """Single characters of jieba's dictionary (simplified) with a part of speech we map, as traditional."""
    import jieba

    best: dict[str, tuple[int, str]] = {}
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as handle:
        for line in handle:
            word, frequency, tag = line.split()
            if len(word) == 1 and tag in JIEBA_HINTS and int(frequency) > best.get(word, (0, ""))[0]:
                best[word] = (int(frequency), JIEBA_HINTS[tag])
    simplified = "".join(best)
    traditional = to_traditional(simplified, verse=False)  # a modern dictionary: OpenCC's modern forms
    hints = {}
    for simp, trad in zip(simplified, traditional, strict=True):
        hints.setdefault(trad, best[simp][1])
        hints.setdefault(simp, best[simp][1])
    return hints


def couplets(poems, which: str):
    for poem in poems:
        lines = poem.lines
        if which == "middle":
            yield lines[2], lines[3]
            yield lines[4], lines[5]
        elif which == "first":
            yield lines[0], lines[1]
        else:  # every couplet of a quatrain
            yield lines[0], lines[1]
            yield lines[2], lines[3]


def propagate(graph: dict[str, Counter], priors: dict[str, tuple[float, dict[int, float]]]) -> dict:
    """Label propagation: a character's classes are its prior's plus those of the characters facing it."""
    count = len(CLASSES)
    dist = {c: dict(priors[c][1]) if c in priors else {} for c in graph}
    for _ in range(ITERATIONS):
        new = {}
        for char, neighbours in graph.items():
            mass = [0.0] * count
            weight, prior = priors.get(char, (0.0, {}))
            for k, p in prior.items():
                mass[k] += weight * p
            for other, w in neighbours.items():
                for k, p in dist.get(other, {}).items():
                    mass[k] += w * p
            total = sum(mass)
            if total > 0:
                top = sorted(range(count), key=lambda k: -mass[k])[: TOP_CLASSES + 1]
                new[char] = {k: mass[k] / total for k in top if mass[k] > 0}
        dist = new
    return dist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "tang"))
    parser.add_argument("--lexicon", default=str(REPO.parent / "shared" / "data" / "lexicon"))
    parser.add_argument("--out", default=str(DATA_FILE))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    corpus = load_corpus(args.corpus)
    train_lu = corpus.split("train", ["wulv", "qilv"])
    train_jue = corpus.split("train", ["wujue", "qijue"])
    middle = Counter(p for a, b in couplets(train_lu, "middle") for p in facing_pairs(a, b))
    background = Counter(p for a, b in couplets(train_lu, "first") for p in facing_pairs(a, b))
    background.update(p for a, b in couplets(train_jue, "quatrain") for p in facing_pairs(a, b))
    seed_pairs = lexicon_pairs(Path(args.lexicon))
    lexicon = Counter(p for a, b in seed_pairs for p in facing_pairs(a, b))

    graph: dict[str, Counter] = defaultdict(Counter)
    for (a, b), n in middle.items():
        graph[a][b] += n
        graph[b][a] += n
    for (a, b), n in lexicon.items():
        graph[a][b] += SEED_WEIGHT * n
        graph[b][a] += SEED_WEIGHT * n
    index = {name: k for k, (name, _) in enumerate(CLASSES)}
    hints = jieba_hints()
    priors: dict[str, tuple[float, dict[int, float]]] = {}
    for char in graph:
        degree = sum(graph[char].values())
        if char in hints:
            # jieba's "noun" says little about which field: a weaker hint, the corpus decides the field
            strength = 0.1 if hints[char] == "名物" else 0.3
            priors[char] = (strength * degree + 1.0, {index[hints[char]]: 1.0})
    for name, chars in SEEDS.items():
        for char in chars:
            degree = sum(graph[char].values())
            priors[char] = (2.0 * degree + 5.0, {index[name]: 1.0})
    dist = propagate(graph, priors)

    chars = {}
    for char, classes in sorted(dist.items()):
        top = sorted(classes.items(), key=lambda kv: -kv[1])[:TOP_CLASSES]
        chars[char] = "".join(f"{CLASSES[k][0]}{round(p * 100)}" for k, p in top if round(p * 100) > 0)

    # Attested pairs: far likelier to face in middle couplets than elsewhere (rates per couplet).
    middle_couplets = 2 * len(train_lu)
    background_couplets = len(train_lu) + 2 * len(train_jue)
    scale = middle_couplets / background_couplets
    strength = {}
    for pair, n in middle.items():
        share = n / (n + scale * background.get(pair, 0))
        if n >= MIN_PAIR_COUNT and share >= MIN_PAIR_SHARE:
            strength[pair] = n * share
    for pair in lexicon:
        strength[pair] = strength.get(pair, 0) + 100
    kept = sorted(strength, key=lambda p: -strength[p])[:MAX_PAIRS]
    pairs = "".join(a + b for a, b in sorted(kept))

    data = {
        "version": DATA_VERSION,
        "about": "对仗 knowledge built by scripts/build_parallel_data.py from the Tang corpus TRAIN split "
        "(律诗 middle couplets vs first couplets and quatrains) and 聲律啓蒙; classes as name+percent",
        "sources": {
            "train_lushi": len(train_lu),
            "train_jueju": len(train_jue),
            "lexicon_pairs": len(seed_pairs),
        },
        "chars": chars,
        "pairs": pairs,
        "thresholds": {},
    }
    data["words"] = rhythm_words(corpus.split("train"))
    data["compat"] = class_compatibility(ParallelTable(data), middle, background, scale)
    table = ParallelTable(data)
    data["thresholds"] = choose_thresholds(table, corpus)
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    write_atomic(args.out, payload + "\n")
    print(
        f"{len(chars)} characters, {len(kept)} pairs, {len(seed_pairs)} 聲律啓蒙 pairs, "
        f"{sum(len(text) // 2 for text in data['words'].values())} words; "
        f"thresholds {data['thresholds']}; {len(payload.encode()) / 1024:.0f} KiB → {args.out} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def rhythm_words(poems) -> dict[str, str]:
    """Two-character words attested by the rhythm of 五言 and 七言 lines, grouped by strength:
    {"4": "寒月故鄉…", …}. A line has a word at its first two characters (and a 七言 at its third and fourth),
    and a word boundary inside its second and third characters (a 七言's fourth and fifth too): as many
    places of each kind. A pair of characters that is a word stands far more often at the first than across
    the second (寒月, 故鄉, 封侯); one that is not (嘶寒, 侯志), or a subject and its verb (鳥驚, 猿攀), about as
    often. A word's excess is how many more times it stands at the first than across the second; its
    strength, ⌊log2(excess)⌋ + 1, for an excess of at least MIN_WORD_EXCESS."""
    aligned: Counter[str] = Counter()
    straddling: Counter[str] = Counter()
    for poem in poems:
        for line in poem.lines:
            if len(line) not in (5, 7):
                continue
            aligned[line[0:2]] += 1
            straddling[line[1:3]] += 1
            if len(line) == 7:
                aligned[line[2:4]] += 1
                straddling[line[3:5]] += 1
    groups: dict[int, list[str]] = defaultdict(list)
    for word, count in aligned.items():
        excess = count - straddling[word]
        if excess >= MIN_WORD_EXCESS:
            groups[excess.bit_length()].append(word)
    return {str(strength): "".join(sorted(words)) for strength, words in sorted(groups.items())}


def class_compatibility(table: ParallelTable, middle: Counter, background: Counter, scale: float) -> list:
    """How much likelier class k faces class l in a middle couplet than elsewhere, scaled to 0..1."""
    size = len(CLASSES)
    inside = [[0.0] * size for _ in range(size)]
    outside = [[0.0] * size for _ in range(size)]
    for counts, into, weight in ((middle, inside, 1.0), (background, outside, scale)):
        for (a, b), n in counts.items():
            pa, pb = table.probabilities.get(a), table.probabilities.get(b)
            if pa is None or pb is None:
                continue
            for i, p in pa:
                for j, q in pb:
                    into[i][j] += weight * n * p * q
                    into[j][i] += weight * n * p * q
    share = [[inside[i][j] / (inside[i][j] + outside[i][j] + 1e-9) for j in range(size)] for i in range(size)]
    low = min(min(row) for row in share)
    high = max(max(row) for row in share)
    return [[round((v - low) / (high - low), 3) for v in row] for row in share]


TARGET_MIDDLE = 0.88  # on VALID: the share of middle couplets judged parallel (the test goal is 85 %)
TARGET_STRICT = 0.45  # on VALID: the share of middle couplets judged 工对


def choose_thresholds(table: ParallelTable, corpus) -> dict[str, float]:
    """Thresholds of 宽对 and 工对 such that the VALID split's middle couplets reach the targets."""
    poems = corpus.split("valid", ["wulv", "qilv"])
    scores = sorted(table.scores(a, b) for a, b in couplets(poems, "middle"))
    loose = sorted(s[0] for s in scores)
    strict = sorted(s[1] for s in scores)
    return {
        "loose": round(loose[math.floor((1 - TARGET_MIDDLE) * len(loose))], 4),
        "strict": round(strict[math.floor((1 - TARGET_STRICT) * len(strict))], 4),
    }


if __name__ == "__main__":
    raise SystemExit(main())
