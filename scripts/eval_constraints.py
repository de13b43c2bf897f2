"""How well generated poems keep the rules: a fixed, seeded prompt suite through the public generator API.

    python scripts/eval_constraints.py [--model DIR] [--per-prompt 10] [--json-out out.json] [--show 20]

Suite: every form (五绝 七绝 五律 七律) × (free / acrostic / first line / title / theme) × both rhyme schemes
(平水韵, 中华新韵), tone="strict"; plus every form × scheme with tone="standard" for the fixed-position
rate. Each prompt asks for --per-prompt poems with its own seed (default 10 → 400 strict poems), which
the generator writes one by one with line selection, as it writes any request for several poems.

Reports: format, rhyme in the chosen scheme, acrostic compliance, strict poems without any fault,
standard fixed positions kept, 孤平/三平尾 in strict, lines copied verbatim from the corpus (all splits;
given first lines excluded), distinct-2 over the suite, poems with a character three or more times.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from poetry_rnn.decoding.originality import CorpusLines, default_corpus_source  # noqa: E402
from poetry_rnn.errors import UserError  # noqa: E402
from poetry_rnn.files import write_atomic  # noqa: E402
from poetry_rnn.generation.generator import PoetryGenerator  # noqa: E402
from poetry_rnn.prosody.check import analyze  # noqa: E402
from poetry_rnn.prosody.patterns import fixed_positions, get_form  # noqa: E402
from poetry_rnn.script import to_simplified  # noqa: E402

FORMS = ("wujue", "qijue", "wulv", "qilv")
SCHEMES = ("pingshui", "xinyun")
CONDITIONS = ("free", "acrostic", "first_line", "title", "theme")
ACROSTICS = {4: ["春夏秋冬", "山水花月", "風花雪月"], 8: ["春江花月夜色正明", "天地玄黃宇宙洪荒"]}
# Regular first lines (they fit a pattern under both schemes); verbatim from famous poems on purpose:
# the copy count excludes them.
FIRST_LINES = {5: ["白日依山盡", "床前明月光", "空山新雨後"], 7: ["朝辭白帝彩雲間", "兩個黃鸝鳴翠柳"]}
TITLES = ["春夜喜雨", "登高", "秋興", "送別", "山居秋暝", "江上"]
THEMES = ["春天夜里细雨无声，润泽万物", "秋日登高望远，思念故乡亲人", "送别友人于江边，依依不舍"]
THEME_FALLBACK_KEYWORDS = [["春雨", "夜"], ["登高", "故鄉"], ["送別", "江"]]


def prompt_suite(per_prompt: int) -> list[dict]:
    prompts = []
    seed = 1000
    for tone in ("strict", "standard"):
        for form in FORMS:
            shape = get_form(form)
            for scheme in SCHEMES:
                conditions = CONDITIONS if tone == "strict" else ("free",)
                for condition in conditions:
                    seed += 1
                    choice = random.Random(seed)
                    request = dict(form=form, rhyme_scheme=scheme, tone=tone, n=per_prompt, seed=seed)
                    if condition == "acrostic":
                        request["acrostic"] = choice.choice(ACROSTICS[shape.line_count])
                    elif condition == "first_line":
                        request["first_line"] = choice.choice(FIRST_LINES[shape.chars_per_line])
                    elif condition == "title":
                        request["title"] = choice.choice(TITLES)
                    elif condition == "theme":
                        index = choice.randrange(len(THEMES))
                        request["theme"] = THEMES[index]
                        request["_fallback_keywords"] = THEME_FALLBACK_KEYWORDS[index]
                    prompts.append({"condition": condition, "request": request})
    return prompts


def load_reference_lines(generator: PoetryGenerator) -> tuple[CorpusLines | None, str]:
    """All lines of the corpus (every split) if the corpus is here, else the model's train-split lines."""
    source = default_corpus_source()
    if source.exists():
        from poetry_rnn.corpus import load_corpus

        corpus = load_corpus(str(source))
        return CorpusLines(
            line for poem in corpus.poems for line in poem.lines
        ), f"corpus {source} (all splits)"
    lines = generator.corpus_lines()
    return lines, "model corpus_lines.txt (train split)" if lines is not None else "none"


def evaluate(generator: PoetryGenerator, per_prompt: int) -> tuple[dict, list[dict]]:
    reference, reference_name = load_reference_lines(generator)
    records = []
    refused = []
    theme_fallbacks = 0
    started = time.perf_counter()
    for prompt in prompt_suite(per_prompt):
        request = {k: v for k, v in prompt["request"].items() if not k.startswith("_")}
        try:
            poems = generator.generate(**request)
        except UserError as error:
            if error.field == "theme" and "_fallback_keywords" in prompt["request"]:
                theme_fallbacks += 1
                request.pop("theme")
                request["keywords"] = prompt["request"]["_fallback_keywords"]
                poems = generator.generate(**request)
            else:
                refused.append({"request": request, "field": error.field, "error": str(error)})
                continue
        for poem in poems:
            records.append({"condition": prompt["condition"], "request": request, "poem": poem})

    strict = [r for r in records if r["request"]["tone"] == "strict"]
    standard = [r for r in records if r["request"]["tone"] == "standard"]
    counts: Counter[str] = Counter()
    for record in records:
        poem, request = record["poem"], record["request"]
        shape = get_form(request["form"])
        form_ok = (
            len(poem.lines) == shape.line_count
            and all(len(line) == shape.chars_per_line for line in poem.lines)
            and poem.text
            == "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(poem.lines))
        )
        strictness = request["tone"]
        analysis = analyze(poem.text, request["rhyme_scheme"], strictness=strictness)
        names = {f.name for f in analysis.faults}
        counts["poems"] += 1
        counts["format_ok"] += form_ok
        counts["rhyme_ok"] += not names & {"出韵", "重韵"}
        if "acrostic" in request:
            counts["acrostic_poems"] += 1
            heads = to_simplified("".join(line[0] for line in poem.lines))
            counts["acrostic_ok"] += heads == to_simplified(request["acrostic"])
        if strictness == "strict":
            counts["strict_poems"] += 1
            counts["strict_ok"] += analysis.ok
            counts["gu_ping"] += sum(f.name == "孤平" for f in analysis.faults)
            counts["san_ping_wei"] += sum(f.name == "三平尾" for f in analysis.faults)
        else:
            for line in analysis.lines:
                for position in fixed_positions(line.template, "standard"):
                    counts["standard_fixed"] += 1
                    counts["standard_fixed_ok"] += line.chars[position].fits
        generated = poem.lines[1:] if "first_line" in request else poem.lines
        counts["generated_lines"] += len(generated)
        if reference is not None:
            counts["copied_lines"] += sum(line in reference for line in generated)
        chars = Counter("".join(poem.lines))
        counts["repeat3"] += max(chars.values()) >= 3
    bigrams = [line[i : i + 2] for r in strict for line in r["poem"].lines for i in range(len(line) - 1)]
    seconds = time.perf_counter() - started

    def rate(numerator: str, denominator: str) -> float | None:
        return counts[numerator] / counts[denominator] if counts[denominator] else None

    summary = {
        "poems": counts["poems"],
        "strict_poems": len(strict),
        "standard_poems": len(standard),
        "refused_prompts": refused,
        "theme_fallback_to_keywords": theme_fallbacks,
        "format": rate("format_ok", "poems"),
        "rhyme": rate("rhyme_ok", "poems"),
        "acrostic": rate("acrostic_ok", "acrostic_poems"),
        "tone_strict_poems_faultless": rate("strict_ok", "strict_poems"),
        "tone_standard_fixed_positions": rate("standard_fixed_ok", "standard_fixed"),
        "gu_ping_strict": counts["gu_ping"],
        "san_ping_wei_strict": counts["san_ping_wei"],
        "copied_lines": rate("copied_lines", "generated_lines") if reference is not None else None,
        "copied_lines_reference": reference_name,
        "distinct_2": len(set(bigrams)) / len(bigrams) if bigrams else None,
        "poems_with_a_char_3plus": rate("repeat3", "poems"),
        "seconds": round(seconds, 1),
    }
    return summary, records


TARGETS = {
    "format": ("== 100%", lambda v: v == 1.0),
    "rhyme": ("== 100%", lambda v: v == 1.0),
    "acrostic": ("== 100%", lambda v: v == 1.0),
    "tone_strict_poems_faultless": ("== 100%", lambda v: v == 1.0),
    "tone_standard_fixed_positions": (">= 99%", lambda v: v >= 0.99),
    "gu_ping_strict": ("== 0", lambda v: v == 0),
    "san_ping_wei_strict": ("== 0", lambda v: v == 0),
    "copied_lines": ("<= 3%", lambda v: v <= 0.03),
    "distinct_2": (">= 0.75", lambda v: v >= 0.75),
    "poems_with_a_char_3plus": ("<= 2%", lambda v: v <= 0.02),
}


def print_table(summary: dict) -> None:
    print(f"{'measure':<32}{'value':>12}  {'target':<10}ok")
    for name, (target, passes) in TARGETS.items():
        value = summary[name]
        if value is None:
            shown, ok = "n/a", "-"
        elif isinstance(value, int):
            shown, ok = str(value), "yes" if passes(value) else "NO"
        else:
            shown = f"{value:.2%}" if name != "distinct_2" else f"{value:.3f}"
            ok = "yes" if passes(value) else "NO"
        print(f"{name:<32}{shown:>12}  {target:<10}{ok}")
    print(
        f"poems {summary['poems']} (strict {summary['strict_poems']}, standard {summary['standard_poems']}); "
        f"refused prompts {len(summary['refused_prompts'])}; theme→keywords fallbacks "
        f"{summary['theme_fallback_to_keywords']}; copies checked against {summary['copied_lines_reference']}; "
        f"{summary['seconds']} s"
    )
    for refusal in summary["refused_prompts"]:
        print(f"  refused ({refusal['field']}): {refusal['error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: data/default_model or $POETRY_RNN_MODEL)")
    parser.add_argument("--per-prompt", type=int, default=10, help="poems per prompt (10 → 400 strict poems)")
    parser.add_argument("--json-out", help="write the summary and every poem as JSON here")
    parser.add_argument("--show", type=int, default=0, help="print this many poems, chosen by --show-seed")
    parser.add_argument("--show-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    generator = PoetryGenerator.from_pretrained(args.model)
    summary, records = evaluate(generator, args.per_prompt)
    print_table(summary)
    if args.show:
        chosen = random.Random(args.show_seed).sample(records, min(args.show, len(records)))
        print()
        for record in chosen:
            poem, request = record["poem"], record["request"]
            extras = {
                k: request[k]
                for k in ("acrostic", "first_line", "title", "theme", "keywords")
                if k in request
            }
            print(
                f"{request['form']} · {request['rhyme_scheme']} · {poem.pattern} · {poem.rhyme_group_label} "
                f"· seed {poem.seed}" + (f" · {extras}" if extras else "")
            )
            for i in range(0, len(poem.lines), 2):
                print(f"  {poem.lines[i]}，{poem.lines[i + 1]}。")
            print()
    if args.json_out:
        document = {
            "summary": summary,
            "poems": [
                {"condition": r["condition"], "request": r["request"], **r["poem"].to_dict()} for r in records
            ],
        }
        for poem in document["poems"]:
            poem.pop("analysis")
        write_atomic(args.json_out, json.dumps(document, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
