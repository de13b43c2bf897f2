"""A round's ratings summed up: means per source, form, mode, arm and reader, the share of each source
judged the other, and arms compared prompt by prompt (they share prompts and seeds)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from poetry_rnn.blind.ratings import MEASURES, SOURCES, Rating
from poetry_rnn.blind.sheet import MODES
from poetry_rnn.corpus import FORMS


def stats(values: Sequence[float]) -> dict:
    if not values:
        return {"n": 0, "mean": None, "sd": None, "min": None, "max": None}
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 3),
        "sd": round(sd, 3),
        "min": min(values),
        "max": max(values),
    }


def _group(rows: list[tuple[str, int, Rating]], key: dict) -> dict:
    """Means per source and measure, and the share of each source judged the other, for `rows`."""
    out = {}
    for source in SOURCES:
        ratings = [r for _, n, r in rows if key[str(n)]["source"] == source]
        wrong = "human" if source == "generated" else "machine"
        out[source] = {m: stats([getattr(r, m) for r in ratings]) for m in MEASURES}
        share = sum(r.guess == wrong for r in ratings) / len(ratings) if ratings else None
        out[source][f"judged_{wrong}"] = round(share, 3) if share is not None else None
    return out


def summarize(key: dict, ratings_by_reader: dict[str, dict[int, Rating]]) -> dict:
    poems = key["poems"]
    rows = [
        (reader, n, r) for reader, ratings in ratings_by_reader.items() for n, r in sorted(ratings.items())
    ]
    summary = {"round": key.get("round"), "readers": list(ratings_by_reader), "ratings": len(rows)}
    summary["known_ratings"] = sum(r.known for _, _, r in rows)
    summary["by_source"] = _group(rows, poems)
    summary["generated_judged_human"] = summary["by_source"]["generated"]["judged_human"]
    summary["real_judged_machine"] = summary["by_source"]["real"]["judged_machine"]
    forms = sorted({p["form"] for p in poems.values()}, key=lambda f: FORMS.index(f) if f in FORMS else 99)
    summary["by_form"] = {f: _group([x for x in rows if poems[str(x[1])]["form"] == f], poems) for f in forms}
    modes = [m for m in MODES if any(p.get("mode") == m for p in poems.values())]
    summary["by_mode"] = {
        m: _group([x for x in rows if poems[str(x[1])].get("mode") == m], poems)["generated"] for m in modes
    }
    summary["by_reader"] = {r: _group([x for x in rows if x[0] == r], poems) for r in ratings_by_reader}
    arms = sorted({arm for p in poems.values() for arm in p.get("arms", ())})
    if len(arms) > 1:  # each arm's poems, those it shares with other arms included
        summary["by_arm"] = {
            arm: _group([x for x in rows if arm in poems[str(x[1])].get("arms", ())], poems)["generated"]
            for arm in arms
        }
    if len(arms) > 1:
        summary["paired"] = {
            f"{a} − {b}": paired_stats(prompt_differences(poems, rows, a, b)) for a, b in arm_pairs(arms)
        }
    summary["by_poem"] = {
        n: {
            "source": p["source"],
            "form": p["form"],
            "overall": stats([r.overall for _, m, r in rows if str(m) == n])["mean"],
            "judged_human": sum(r.guess == "human" for _, m, r in rows if str(m) == n),
            "known": sum(r.known for _, m, r in rows if str(m) == n),
        }
        for n, p in sorted(poems.items(), key=lambda item: int(item[0]))
    }
    return summary


def arm_pairs(arms: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(arms) for b in arms[i + 1 :]]


def prompt_differences(
    poems: dict, rows: list[tuple[str, int, Rating]], first: str, second: str
) -> list[dict[str, float]]:
    """Per prompt (the request's seed) that both arms wrote for: arm `first`'s poem minus arm `second`'s,
    each measure the mean over readers (a poem both arms wrote differs by 0)."""
    means: dict[str, dict[str, float]] = {}
    for number, poem in poems.items():
        ratings = [r for _, n, r in rows if str(n) == number]
        if poem["source"] == "generated" and ratings:
            means[number] = {m: statistics.fmean(getattr(r, m) for r in ratings) for m in MEASURES}
    by_arm: dict[str, dict[int, str]] = {first: {}, second: {}}
    for number, poem in poems.items():
        seed = poem.get("request", {}).get("seed")
        for arm in poem.get("arms", ()):
            if arm in by_arm and number in means and seed is not None:
                by_arm[arm][seed] = number
    shared = sorted(by_arm[first].keys() & by_arm[second].keys())
    return [
        {m: means[by_arm[first][seed]][m] - means[by_arm[second][seed]][m] for m in MEASURES}
        for seed in shared
    ]


def paired_stats(differences: Sequence[dict[str, float]]) -> dict:
    """Per measure: the mean difference, its standard error, and how many prompts went each way."""
    found = {"prompts": len(differences)}
    for measure in MEASURES:
        values = [d[measure] for d in differences]
        error = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else None
        found[measure] = {
            "mean": round(statistics.fmean(values), 4) if values else None,
            "se": None if error is None else round(error, 4),
            "better": sum(v > 0 for v in values),
            "equal": sum(v == 0 for v in values),
            "worse": sum(v < 0 for v in values),
        }
    return found


def paired_markdown(paired: dict) -> list[str]:
    def cell(s: dict) -> str:
        if s["mean"] is None:
            return "–"
        spread = "" if s["se"] is None else f" ± {s['se']:.2f}"
        return f"{s['mean']:+.2f}{spread} ({s['better']}/{s['equal']}/{s['worse']})"

    out = [
        "",
        "Paired by prompt (mean difference ± standard error; prompts better / equal / worse):",
        "",
        "| arms | prompts | " + " | ".join(MEASURES) + " |",
        "|---" * (len(MEASURES) + 2) + "|",
    ]
    for name, found in paired.items():
        out.append(f"| {name} | {found['prompts']} | " + " | ".join(cell(found[m]) for m in MEASURES) + " |")
    return out


def summary_markdown(summary: dict) -> str:
    def cell(s: dict) -> str:
        return "–" if s["n"] == 0 else f"{s['mean']:.2f} ± {s['sd']:.2f} (n {s['n']})"

    def share(value: float | None) -> str:
        return "–" if value is None else f"{value:.0%}"

    def both_sources(kind: str, groups: dict) -> list[str]:
        """A table of generated against real poems, one row per group (a form, a reader)."""
        rows = [
            "",
            f"| {kind} | generated overall | real overall | generated judged human | real judged machine |",
            "|---|---|---|---|---|",
        ]
        for name, group in groups.items():
            rows.append(
                f"| {name} | {cell(group['generated']['overall'])} | {cell(group['real']['overall'])} | "
                f"{share(group['generated']['judged_human'])} | {share(group['real']['judged_machine'])} |"
            )
        return rows

    out = [
        f"# Summary of {summary['round']}",
        "",
        f"Readers: {', '.join(summary['readers'])}; {summary['ratings']} ratings "
        f"({summary['known_ratings']} of a poem the reader recognised).",
        "",
        f"- generated poems judged human: **{share(summary['generated_judged_human'])}**",
        f"- real poems judged machine: **{share(summary['real_judged_machine'])}**",
        "",
        "| source | " + " | ".join(MEASURES) + " |",
        "|---" * (len(MEASURES) + 1) + "|",
    ]
    for source in SOURCES:
        out.append(
            f"| {source} | " + " | ".join(cell(summary["by_source"][source][m]) for m in MEASURES) + " |"
        )
    out += both_sources("form", summary["by_form"])
    out += ["", "| generated, by mode | overall | fluency | judged human |", "|---|---|---|---|"]
    for mode, group in summary["by_mode"].items():
        out.append(
            f"| {mode} | {cell(group['overall'])} | {cell(group['fluency'])} | {share(group['judged_human'])} |"
        )
    if "by_arm" in summary:
        out += [
            "",
            "| arm | " + " | ".join(MEASURES) + " | judged human |",
            "|---" * (len(MEASURES) + 2) + "|",
        ]
        for arm, group in summary["by_arm"].items():
            cells = " | ".join(cell(group[m]) for m in MEASURES)
            out.append(f"| {arm} | {cells} | {share(group['judged_human'])} |")
    if "paired" in summary:
        out += paired_markdown(summary["paired"])
    out += both_sources("reader", summary["by_reader"])
    out += ["", "| poem | source | form | overall | judged human | recognised |", "|---|---|---|---|---|---|"]
    for number, poem in summary["by_poem"].items():
        overall = "–" if poem["overall"] is None else f"{poem['overall']:.2f}"
        out.append(
            f"| {number} | {poem['source']} | {poem['form']} | {overall} | {poem['judged_human']} | "
            f"{poem['known']} |"
        )
    return "\n".join(out) + "\n"
