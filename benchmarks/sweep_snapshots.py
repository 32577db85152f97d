"""Snapshot-selection rules compared offline, from ONE fit (used for the Adult rows of the ablations).

    SYNTHGEN_THREADS=1 PYTHONPATH=.:benchmarks .venv/bin/python benchmarks/sweep_snapshots.py --table adult \
        --set train.max_steps=6000 --set train.validate_every=100 \
        --rules "base:upto=30;tstr07:w_tstr=0.7,upto=30;long_p16:upto=60,patience=16"

The fit runs with patience off and keeps a copy of every scored snapshot (a wrapper around
SnapshotScorer); each rule (weight of TSTR vs detection, privacy weight, patience, rounds used)
then picks its snapshot, which is scored on the real test split as bench_quality.py scores.
Rounds up to a step are identical to a fit with that budget (scoring draws no training randomness).
"""
import argparse, copy, json, sys, time
from pathlib import Path
import numpy as np, torch
import bench_quality as bq
from quality_tables import TABLES
from synthgen.config import TabularModelConfig, TrainConfig, deep_merge
from synthgen.data.tabular import DISCRETE_KINDS, infer_schema
from synthgen.models.tabular import validation
from synthgen.models.tabular.synthesizer import TabularSynthesizer

RECORD = []
_orig = validation.SnapshotScorer.__call__
def traced(self, generator):
    out = _orig(self, generator)
    RECORD.append((dict(out), copy.deepcopy(generator.state_dict())))
    return out
validation.SnapshotScorer.__call__ = traced

def select(rows, w_tstr=0.5, privacy=1.0, patience=8, upto=None):
    best, stale, bi = -1e9, 0, None
    for i, r in enumerate(rows):
        if upto is not None and i >= upto: break
        auc, tstr = r["val_detection_auc"], r["val_tstr"]
        pen = r.get("_excess", 0.0)
        s = (1 - w_tstr) * (1 - 2 * abs(auc - 0.5)) + w_tstr * tstr - privacy * pen
        if s > best: best, stale, bi = s, 0, i
        else:
            stale += 1
            if patience and stale >= patience: break
    return bi

p = argparse.ArgumentParser()
p.add_argument("--table"); p.add_argument("--set", action="append", default=[])
p.add_argument("--rules", default="base")
p.add_argument("--out")
a = p.parse_args()
df, cond = TABLES[a.table]()
train, test = bq.split(df, cond, 0)
schema = infer_schema(train, cond)
cats = [c.name for c in schema.columns if c.kind in DISCRETE_KINDS]
ov = bq.parse_overrides(a.set)
model = TabularModelConfig.model_validate(ov.get("model", {}))
cfg = TrainConfig.model_validate(deep_merge({"seed": 0, "device": "cpu", "progress": False, "patience": 0}, ov.get("train", {})))
t, cpu = time.perf_counter(), time.process_time()
synth = TabularSynthesizer(model, cfg).fit(train, cond)
print(f"fit {time.perf_counter()-t:.0f}s wall {time.process_time()-cpu:.0f}s cpu", flush=True)
steps = synth.history_["step"]
rows = []
for (sc, _), st in zip(RECORD, steps):
    r = dict(sc); r["step"] = st
    share = r.get("val_dcr_share")
    rows.append(r)
for r in rows:
    print({k: round(v, 3) for k, v in r.items()}, flush=True)
# excess as the scorer computes it: val_score - unpenalised
for r in rows:
    base = 0.5 * (1 - 2 * abs(r["val_detection_auc"] - 0.5)) + 0.5 * r["val_tstr"]
    r["_excess"] = max(0.0, base - r["val_score"])
rules = {}
for spec in a.rules.split(";"):
    name, _, kv = spec.partition(":")
    kw = {k: float(v) for k, v in (x.split("=") for x in kv.split(",") if x)}
    if "patience" in kw: kw["patience"] = int(kw["patience"])
    if "upto" in kw: kw["upto"] = int(kw["upto"])
    rules[name] = select(rows, **kw)
print("chosen:", {k: (v, rows[v]["step"]) for k, v in rules.items()}, flush=True)
counts = train[cond].astype(str).value_counts().to_dict()
results, done = {}, {}
for name, i in rules.items():
    if i not in done:
        synth.generator_.load_state_dict(RECORD[i][1]); synth.generator_.eval()
        sample = synth.generate(counts, seed=1).astype({cond: train[cond].dtype})
        done[i] = bq.score(train, test, sample, cond, cats, 0)
    results[name] = {"round": i, "step": rows[i]["step"], **{k: round(v, 4) for k, v in rows[i].items() if k != "step"}, **done[i]}
    print(name, results[name], flush=True)
if a.out:
    Path(a.out).write_text(json.dumps({"rows": rows, "results": results}, indent=1, default=float))
