"""Which trained model a run annotates with by default.

With ``training.default_model = "auto"`` (the default) the run's default is chosen on its
own held-out files, never on test data: the ensemble, unless another model's held-out
syllable error rate is clearly lower (by :data:`MIN_GAIN_ABS` and :data:`MIN_GAIN_REL` of
the ensemble's). The ensemble is usually the safest choice, but on some songs one of its
two members is better alone (e.g. the syntactic model on Bengalese finch song with strongly
stereotyped sequences); the held-out measurement says which, per bird.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["AUTO", "MIN_GAIN_ABS", "MIN_GAIN_REL", "DefaultChoice", "choose_default_model"]

AUTO = "auto"
"""``training.default_model`` value asking for the choice on held-out files."""
MIN_GAIN_ABS = 0.002
"""A model replaces the ensemble only if its held-out SER is lower by at least this..."""
MIN_GAIN_REL = 0.1
"""...and by at least this share of the ensemble's held-out SER."""


@dataclass(frozen=True)
class DefaultChoice:
    """The chosen default model and why, in words a user reads in the training summary."""

    model: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form (stored in the run's ``run.json``)."""
        return {"model": self.model, "reason": self.reason}


def choose_default_model(
    requested: str, models: Sequence[str], held_out_ser: Mapping[str, float]
) -> DefaultChoice:
    """The model ``annotate`` uses unless told otherwise.

    Parameters
    ----------
    requested : str
        ``training.default_model``: a model kind, or ``"auto"``.
    models : list of str
        Kinds trained in the run.
    held_out_ser : dict
        Held-out syllable error rate per kind (empty when nothing was held out).

    Returns
    -------
    DefaultChoice

    Examples
    --------
    >>> kinds = ["syntactic", "nonsyntactic", "ensemble"]
    >>> choose_default_model("auto", kinds, {"syntactic": 0.029, "nonsyntactic": 0.036,
    ...                                      "ensemble": 0.033}).model
    'syntactic'
    >>> choose_default_model("auto", kinds, {"syntactic": 0.032, "nonsyntactic": 0.04,
    ...                                      "ensemble": 0.033}).model
    'ensemble'
    >>> choose_default_model("auto", kinds, {}).model
    'ensemble'
    >>> choose_default_model("nonsyntactic", kinds, {}).reason
    'set by training.default_model'
    """
    if requested != AUTO:
        return DefaultChoice(requested, "set by training.default_model")
    base = "ensemble" if "ensemble" in models else models[0]
    scored = {k: float(v) for k, v in held_out_ser.items() if k in models}
    if base not in scored:
        return DefaultChoice(base, "no held-out measurement: the ensemble when trained")
    best = min(scored, key=lambda k: (scored[k], k != base))
    margin = max(MIN_GAIN_ABS, MIN_GAIN_REL * scored[base])
    summary = ", ".join(f"{k} {v:.3f}" for k, v in sorted(scored.items(), key=lambda kv: kv[1]))
    if best != base and scored[best] <= scored[base] - margin:
        return DefaultChoice(best, f"clearly lowest held-out SER ({summary})")
    return DefaultChoice(base, f"no model clearly better on held-out files ({summary})")
