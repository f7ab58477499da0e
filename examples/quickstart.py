"""Train, evaluate and annotate with the Python API on the built-in synthetic corpus.

Run: ``python examples/quickstart.py [WORK_DIR]``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from canapy.config import config_from_dict
from canapy.corpus import load_corpus
from canapy.runs import load_default_annotator
from canapy.synthetic import make_example_corpus
from canapy.workflow import annotate_files, train


def main(work: Path) -> None:
    """Write the example corpus, train on it, annotate its unlabelled files."""
    data = make_example_corpus(work / "data", n_files=12, seed=0)
    corpus = load_corpus(data)
    print(f"{len(corpus.annotated)} annotated files, labels {corpus.labels}")
    cfg = config_from_dict({"reservoir": {"units": 300}})
    result = train(corpus, cfg, work / "run", cache_dir=work / "cache")
    for kind, metrics in result.validation.items():
        s = metrics.summary()
        print(
            f"{kind:>13}: frame accuracy {s['frame_accuracy']:.3f}, "
            f"syllable error rate {s['syllable_error_rate']:.3f}"
        )
    annotator = load_default_annotator(work / "run")
    written = annotate_files(annotator, corpus.unannotated_paths, work / "annotations")
    print(f"wrote {len(written)} annotation files to {work / 'annotations'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="canapy-")))
