"""The ``synthgen`` command: parse options, call ``workflow``, print what was written.

User mistakes (``UserError``) print one line on stderr and exit 2; Ctrl-C exits 130.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, get_args

import click
import yaml

from synthgen.config import (
    ColumnKind,
    EvalConfig,
    FitConfig,
    PipelineConfig,
    SampleConfig,
    TrackingConfig,
    deep_merge,
    read_yaml,
    validate,
)
from synthgen.errors import UserError


class _Group(click.Group):
    """Turns user errors into one line and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)
        except click.UsageError as e:  # click's own option errors, also on one line
            where = f"synthgen {e.ctx.info_name}" if e.ctx is not None and e.ctx.info_name else "synthgen"
            click.echo(f"error: {e.format_message()} (see `{where} -h`)", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="synthgen")
def main() -> None:
    """Class-conditional synthetic data for medical tables and scans.

    \b
      synthgen fit --data patients.csv --condition diagnosis
      synthgen sample --n 5000 --balance
      synthgen evaluate
      synthgen run pipelines/breast_cancer.yaml
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def _tracking_options(f):
    f = click.option("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else ./mlflow.db).")(f)
    f = click.option("--no-tracking", is_flag=True, help="Do not log to MLflow.")(f)
    return f


def _data_option(f):
    # The model folder records only the data's fingerprint, not where it lives (privacy).
    return click.option(
        "--data", "data_path", type=click.Path(path_type=Path),
        help="The data the model was fitted on (default: where the fit found it, on this machine).",
    )(f)


def _tracking_overrides(tracking_uri: str | None, no_tracking: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if tracking_uri:
        out["uri"] = tracking_uri
    if no_tracking:
        out["enabled"] = False
    return out


def _column_kind(value: str) -> str:
    kinds = get_args(ColumnKind)
    if value not in kinds:
        raise ValueError(f"unknown kind; use one of {', '.join(kinds)}")
    return value


def _parse_pairs(pairs: tuple[str, ...], what: str, cast=str) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"{what} {pair!r} must look like NAME=VALUE")
        try:
            out[key] = cast(value)
        except ValueError as e:
            reason = str(e) if cast is _column_kind else "not a valid value"  # int()'s text is noise
            raise UserError(f"{what} {pair!r}: {value!r}: {reason}") from None
    return out


# ----------------------------------------------------------------------------------------------
@main.command()
@click.option("--data", "data_path", type=click.Path(path_type=Path), help="Table (.csv/.tsv/.parquet), folder of scans, or .npz.")
@click.option("--condition", help="Column (or manifest column) holding the class label.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="YAML config (see configs/).")
@click.option("--name", help="Run name: the model goes to runs/<name>/ (default: <data>-<time>).")
@click.option("--epochs", type=int, help="Passes over the training rows (default: a budget of steps).")
@click.option("--max-steps", type=int, help="Optimizer steps (tables default: 3000, however many rows).")
@click.option("--max-minutes", type=float, help="Wall-clock training budget; ends the fit on time.")
@click.option("--batch-size", type=int)
@click.option("--seed", type=int, help="Seeds training and the split.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]),
              help="auto (default): mixed precision on CUDA, fp32 on CPU.")
@click.option("--spatial-dims", type=click.Choice(["2", "3"]), help="Scans: 2 = slices, 3 = volumes.")
@click.option("--image-size", type=int, help="Scans: side length after crop/pad/resize.")
@click.option("--labels", type=click.Path(path_type=Path), help="Scans: manifest CSV (default <folder>/labels.csv).")
@click.option("--kind", "kinds", multiple=True, metavar="COLUMN=KIND", help="Override a column's kind (continuous, integer, categorical, boolean, datetime).")
@click.option("--drop", multiple=True, metavar="COLUMN", help="Leave a column out (e.g. an id).")
@click.option("--runs-dir", type=click.Path(path_type=Path))
@_tracking_options
@click.option("--resume", is_flag=True, help="Continue an interrupted fit (the last one of this data without --name).")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
def fit(data_path, condition, config_path, name, epochs, max_steps, max_minutes, batch_size, seed, device, precision, spatial_dims,
        image_size, labels, kinds, drop, runs_dir, tracking_uri, no_tracking, resume, dry_run) -> None:
    """Fit a conditional GAN on the train split of DATA and save it to runs/<name>/."""
    from synthgen import workflow

    doc = read_yaml(config_path) if config_path else {}
    model_flags = {"spatial_dims": int(spatial_dims) if spatial_dims else None, "image_size": image_size}
    if any(v is not None for v in model_flags.values()):
        doc = deep_merge(doc, {"model": {"kind": "image", **model_flags}})
    flags = {
        "name": name,
        "runs_dir": runs_dir,
        "data": {"path": data_path, "condition": condition, "labels": labels,
                 "kinds": _parse_pairs(kinds, "--kind", _column_kind) or None, "drop": list(drop) or None},
        "train": {"epochs": epochs, "max_steps": max_steps, "max_minutes": max_minutes,
                  "batch_size": batch_size, "seed": seed, "device": device,
                  "precision": precision, "resume": resume or None},
        "split": {"seed": seed},
        "tracking": _tracking_overrides(tracking_uri, no_tracking),
    }
    config = validate(FitConfig, deep_merge(doc, flags), str(config_path or "options"))
    if dry_run:
        resolved = workflow.resolve_fit_config(config)
        click.echo(yaml.safe_dump(resolved.model_dump(mode="json"), sort_keys=False), nl=False)
        return
    from synthgen import distributed

    with distributed.process_group_scope():
        result = workflow.fit(config)
    if result.main:  # under torchrun, one line for the whole job
        click.echo(f"model: {result.run_dir}")


# ----------------------------------------------------------------------------------------------
@main.command()
@click.option("--model", "model_dir", type=click.Path(path_type=Path), help="Model folder (default: runs/latest).")
@click.option("--n", type=int, help="How many samples in all.")
@click.option("--balance", type=click.Choice(["equal", "fill"]), is_flag=False, flag_value="equal", default=None,
              help="equal (the default when given bare): same count per class; fill: what each minority class lacks.")
@click.option("--class", "classes", multiple=True, metavar="LABEL=COUNT", help="Exact count for a class (repeatable).")
@click.option("--seed", type=int, default=None)
@click.option("--out", type=click.Path(path_type=Path), help="Output file or folder (default: in the model folder).")
@click.option("--privacy-filter", is_flag=True, help="Replace samples closer to a training item than real unseen data is.")
@click.option("--mark-synthetic", is_flag=True, help="Add a 'synthetic' column (tables).")
@_data_option
@_tracking_options
def sample(model_dir, n, balance, classes, seed, out, privacy_filter, mark_synthetic, data_path, tracking_uri, no_tracking) -> None:
    """Draw class-conditional samples from a fitted model, in the input's own format."""
    from synthgen import workflow

    if n is not None and n < 1:
        raise UserError(f"--n must be a positive number of samples, got {n}")
    config = validate(SampleConfig, deep_merge({}, {
        "n": n, "balance": balance, "classes": _parse_pairs(classes, "--class", int) or None,
        "seed": seed, "out": out, "privacy_filter": privacy_filter, "mark_synthetic": mark_synthetic,
    }), "options")
    result = workflow.sample(
        model_dir, config, tracking=_tracking_for(model_dir, tracking_uri, no_tracking), data_path=data_path
    )
    counts = ", ".join(f"{k}={v}" for k, v in result.counts.items())
    click.echo(f"samples: {result.path} ({counts})")


def _tracking_for(model_dir, tracking_uri, no_tracking) -> TrackingConfig | None:
    """Flags override the tracking settings recorded with the model."""
    overrides = _tracking_overrides(tracking_uri, no_tracking)
    if not overrides:
        return None
    from synthgen import workflow

    model_dir = workflow.resolve_model_dir(model_dir)
    recorded = workflow.read_run_document(model_dir).tracking().model_dump(mode="json")
    return TrackingConfig.model_validate(deep_merge(recorded, overrides))


# ----------------------------------------------------------------------------------------------
@main.command()
@click.option("--model", "model_dir", type=click.Path(path_type=Path), help="Model folder (default: runs/latest).")
@click.option("--synthetic", type=click.Path(path_type=Path), help="Sample to evaluate (default: the model's last sample).")
@click.option("--report", "report_dir", type=click.Path(path_type=Path), help="Report folder (default: reports/<run>/).")
@click.option("--seeds", type=int, help="Downstream classifier repeats (default 5).")
@_data_option
@_tracking_options
def evaluate(model_dir, synthetic, report_dir, seeds, data_path, tracking_uri, no_tracking) -> None:
    """Report fidelity, memorization risk and downstream gains of a synthetic sample."""
    from synthgen import workflow

    config = validate(EvalConfig, deep_merge({}, {"seeds": seeds}), "options")
    result = workflow.evaluate(
        model_dir, synthetic, report_dir=report_dir, config=config,
        tracking=_tracking_for(model_dir, tracking_uri, no_tracking), data_path=data_path,
    )
    for verdict in result.result.verdicts.items():
        click.echo("%s: %s" % verdict)
    for kind, path in result.files.items():
        click.echo(f"{kind}: {path}")


# ----------------------------------------------------------------------------------------------
@main.command()
@click.argument("pipeline", type=click.Path(path_type=Path))
@_tracking_options
@click.option("--dry-run", is_flag=True, help="Print the resolved pipeline and exit.")
def run(pipeline, tracking_uri, no_tracking, dry_run) -> None:
    """Run a pipeline YAML: fit -> sample -> evaluate -> report."""
    from synthgen import workflow

    doc = read_yaml(pipeline)
    doc = deep_merge(doc, {"fit": {"tracking": _tracking_overrides(tracking_uri, no_tracking)}})
    config = validate(PipelineConfig, doc, str(pipeline))
    if dry_run:
        resolved = config.model_copy(update={"fit": workflow.resolve_fit_config(config.fit)})
        click.echo(yaml.safe_dump(resolved.model_dump(mode="json"), sort_keys=False), nl=False)
        return
    from synthgen import distributed

    with distributed.process_group_scope():  # a no-op when run_pipeline left the group already
        result = workflow.run_pipeline(config)
    # Under torchrun only the main process gets a result (the others only trained): one
    # summary for the whole job.
    if result is not None:
        click.echo(f"model: {result.fit.run_dir}")
        click.echo(f"samples: {result.sample.path}")
        for verdict in result.evaluate.result.verdicts.items():
            click.echo("%s: %s" % verdict)
        for kind, path in result.evaluate.files.items():
            click.echo(f"{kind}: {path}")


# ----------------------------------------------------------------------------------------------
@main.command("log")
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--tracking-uri", help="MLflow tracking URI (default: the one recorded with the model).")
def log_(model_dir, tracking_uri) -> None:
    """Log a model folder written while MLflow was unreachable as a new fit run."""
    from synthgen import workflow

    run_id = workflow.relog(model_dir, tracking=_tracking_for(model_dir, tracking_uri, False))
    click.echo(f"logged {model_dir} as MLflow run {run_id}")


# ----------------------------------------------------------------------------------------------
@main.command()
@click.argument("name", type=click.Choice(["breast-cancer"]))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Where to write it (default: examples/<name>.csv).")
def example(name, out) -> None:
    """Write a bundled example data set (no download) to disk."""
    from synthgen.examples import write_example

    path = write_example(name, out)
    click.echo(f"data: {path}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
