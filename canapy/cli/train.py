"""``canapy train``: train annotators on an annotated corpus."""

from __future__ import annotations

import argparse

from canapy.cli.common import (
    add_cache_args,
    add_cluster_args,
    add_config_args,
    add_data_args,
    add_store_arg,
    cache_dir,
    cluster,
    corpus_of_args,
    load_cfg,
    print_metrics,
    version_number,
    warn,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``train``."""
    p = subparsers.add_parser("train", help="train annotators on an annotated corpus")
    add_data_args(p)
    p.add_argument("--output", "-o", required=True, help="run folder to write the models into")
    add_config_args(p)
    p.add_argument(
        "--model-kind",
        metavar="KIND[,KIND...]",
        help="models to train, overriding training.models: syntactic, nonsyntactic, "
        "ensemble (Echo State Networks), logreg (logistic regression over context frames); "
        "the first one becomes the default unless the config's default is listed",
    )
    add_cluster_args(p)
    p.add_argument(
        "--from-version",
        type=version_number,
        help="train on this version of the annotation store (no export needed)",
    )
    add_store_arg(p)
    add_cache_args(p)
    p.set_defaults(func=run)


def with_model_kinds(cfg, kinds: str | None):
    """``cfg`` training the comma-separated ``kinds`` (unchanged if None)."""
    from canapy.config import config_from_dict, config_to_dict

    if not kinds:
        return cfg
    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    default = cfg.training.default_model
    if default not in (*wanted, "auto"):
        default = wanted[0]
    data = config_to_dict(cfg)
    data["training"].update(models=wanted, default_model=default)
    return config_from_dict(data)


def run(args: argparse.Namespace) -> int:
    """Train, save the run folder, print the held-out metrics.

    A run folder inside the data (or audio) folder is refused before anything is read:
    its files would sit among the annotations, and the folder is the user's originals.
    """
    from canapy.io_utils import refuse_write_into
    from canapy.progress import terminal_progress
    from canapy.workflow import train

    refuse_write_into(args.output, [args.data_dir, args.audio_dir], "write a run folder")
    cfg = with_model_kinds(load_cfg(args), args.model_kind)
    corpus, source = corpus_of_args(args)
    for warning in corpus.check():
        warn(warning)
    print(
        f"training on {len(corpus.annotated)} annotated files ({source}), "
        f"{len(corpus.segments)} segments, labels: {', '.join(corpus.labels)}"
    )
    with cluster(args) as client, terminal_progress("train", args.quiet) as progress:
        submit = None
        if client is not None:
            from canapy.distributed import dask_submitter

            submit = dask_submitter(client)
        result = train(corpus, cfg, args.output, cache_dir(args), progress, submit)
    print(f"trained {', '.join(result.annotators)} in {result.seconds:.1f} s -> {result.run_dir}")
    if result.granularity is not None:
        print(f"annotation granularity: {result.granularity.describe()}")
    if result.validation:
        print(f"held-out metrics ({len(result.validation_files)} files):")
        print_metrics(result.validation)
    if result.default_choice is not None:
        choice = result.default_choice
        print(f"default model for annotate: {choice.model} ({choice.reason})")
    return 0
