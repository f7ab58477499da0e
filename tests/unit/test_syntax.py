"""Syntax figures against independent computations on known sources."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from canapy.analysis.compare import compare_sequences, js_divergence_bits
from canapy.analysis.sequences import as_sequence_table, bout_sequences, phrase_table
from canapy.analysis.syntax import (
    END,
    START,
    analyze_syntax,
    conditional_entropy,
    duration_stats,
    linearity_consistency,
    repeat_distribution,
    transition_matrix,
    transition_table,
)
from canapy.exceptions import AnalysisError


def table(labels, gap=0.02, dur=0.05, wave="a.wav", t0=0.0) -> pd.DataFrame:
    """A marron1csv-like table of consecutive segments."""
    starts = t0 + np.arange(len(labels)) * (dur + gap)
    return pd.DataFrame(
        {"wave": wave, "start": starts, "end": starts + dur, "syll": [str(x) for x in labels]}
    )


def test_aaabbbccc_is_three_phrases_of_three():
    phrases = phrase_table(table("aaabbbccc"))
    assert phrases["label"].tolist() == ["a", "b", "c"]
    assert phrases["repeats"].tolist() == [3, 3, 3]
    assert phrases["duration_s"].round(6).tolist() == [0.19, 0.19, 0.19]
    assert phrases["bout"].tolist() == [0, 0, 0]


def test_bouts_split_at_long_gaps_and_files_and_silence_is_ignored():
    seg = pd.concat(
        [table("ab"), table("c", t0=2.0), table("d", wave="b.wav"), table(["SIL"], t0=3.0)]
    )
    assert bout_sequences(seg, gap_s=0.5) == [["a", "b"], ["c"], ["d"]]
    assert bout_sequences(seg, gap_s=5.0) == [["a", "b", "c"], ["d"]]
    assert bout_sequences(seg, gap_s=5.0, ignore=()) == [["a", "b", "c", "SIL"], ["d"]]


def test_phrase_does_not_cross_a_bout_boundary():
    seg = pd.concat([table("aa"), table("aa", t0=3.0)])
    assert phrase_table(seg, gap_s=0.5)["repeats"].tolist() == [2, 2]
    assert bout_sequences(seg, unit="phrase") == [["a"], ["a"]]


def test_canapy_layout_and_numeric_labels_are_read_as_strings():
    seg = pd.DataFrame(
        {
            "audio_path": ["x.wav"] * 2,
            "onset_s": [0.0, 0.1],
            "offset_s": [0.05, 0.15],
            "label": [0, 1],
        }
    )
    assert as_sequence_table(seg)["label"].tolist() == ["0", "1"]
    with pytest.raises(AnalysisError, match="no 'label' column"):
        as_sequence_table(seg.drop(columns="label"))


def test_deterministic_chain_has_zero_entropy():
    s = analyze_syntax(table(list("abcd") * 200))
    assert s.entropy_rate_bits == 0.0
    assert s.conditional_entropy_bits[2] == 0.0
    assert s.conditional_entropy_bits[0] == pytest.approx(2.0)
    assert s.normalised_entropy_rate == 0.0
    assert (s.linearity, s.consistency) == (1.0, 1.0)


@pytest.mark.parametrize("k", [2, 5, 10])
def test_iid_uniform_source_gives_log2_k(k):
    rng = np.random.default_rng(k)
    seq = [str(x) for x in rng.integers(0, k, size=100_000)]
    h1 = conditional_entropy([seq], 1)
    assert h1 == pytest.approx(math.log2(k), abs=0.05)
    assert conditional_entropy([seq], 0) == pytest.approx(math.log2(k), abs=0.01)


def test_second_order_chain_lowers_entropy_at_order_two():
    # x_n depends on x_{n-2}: x_n = x_{n-2} with prob 0.9, else a random other symbol
    rng = np.random.default_rng(0)
    seq = [0, 1]
    for _ in range(20_000):
        seq.append(seq[-2] if rng.random() < 0.9 else int(rng.integers(0, 3)))
    seqs = [[str(x) for x in seq]]
    h1, h2 = conditional_entropy(seqs, 1), conditional_entropy(seqs, 2)
    assert h2 < h1 - 0.3


def test_entropy_rate_equals_independent_formula():
    seqs = [list("abacabbbca"), list("cab")]
    # independent: Σ_i π_i H(P_i.) with π_i the frequency of i as a predecessor
    pairs = [(s[i], s[i + 1]) for s in seqs for i in range(len(s) - 1)]
    expected = 0.0
    for a in sorted({p for p, _ in pairs}):
        nxt = [n for p, n in pairs if p == a]
        probs = np.array([nxt.count(x) for x in set(nxt)]) / len(nxt)
        expected += len(nxt) / len(pairs) * -(probs * np.log2(probs)).sum()
    assert conditional_entropy(seqs, 1) == pytest.approx(expected)


def test_transition_tables_have_start_and_end_and_probabilities_sum_to_one():
    seqs = [list("abc"), list("abd")]
    t1 = transition_table(seqs, 1)
    assert t1.groupby("context")["probability"].sum().round(9).eq(1).all()
    row = t1[(t1["context"] == ("b",))].set_index("next")["probability"].to_dict()
    assert row == {"c": 0.5, "d": 0.5}
    t2 = transition_table(seqs, 2)
    assert t2[t2["context"] == (START, START)]["next"].tolist() == ["a"]
    assert t2[t2["context"] == ("a", "b")]["count"].sum() == 2
    mat = transition_matrix(seqs)
    assert mat.index[0] == START and mat.columns[-1] == END
    assert mat.loc["b", "c"] == 1 and mat.loc[START, "a"] == 2


def test_linearity_consistency_scharff_nottebohm():
    # transitions ab ab ba ac ca: 3 labels, 4 types; dominant counts a:2 b:1 c:1 of 5
    assert linearity_consistency([list("abacab")]) == (0.75, 0.8)
    assert linearity_consistency([["a"]]) == (None, None)


def test_repeat_distribution_and_duration_stats():
    phrases = phrase_table(table(list("aaabaab")))
    rep = repeat_distribution(phrases)
    assert rep.values.tolist() == [["a", 2, 1], ["a", 3, 1], ["b", 1, 2]]
    stats = duration_stats(phrases).set_index("label")
    assert stats.loc["a", "max_repeats"] == 3
    assert stats.loc["b", "duration_std_s"] == 0.0
    assert not stats.isna().any().any()


def test_bad_input_gives_messages_not_nan():
    with pytest.raises(AnalysisError, match="no segment to analyse"):
        analyze_syntax(table([]))
    with pytest.raises(AnalysisError, match="no segment"):
        analyze_syntax(table(["SIL", "SIL"]))
    one = analyze_syntax(table("aaaa"))
    assert one.entropy_rate_bits == 0.0 and one.normalised_entropy_rate is None
    assert any("only one label" in n for n in one.notes)
    once = analyze_syntax(table("ababx"))
    assert any("'x'" in n and "once" in n for n in once.notes)
    single = analyze_syntax(pd.concat([table("a"), table("b", t0=5.0)]))
    assert single.entropy_rate_bits is None and single.linearity is None
    assert any("no transition inside a bout" in n for n in single.notes)
    text = json.dumps(single.to_dict(), allow_nan=False)  # no NaN anywhere
    assert '"entropy_rate_bits": null' in text


def test_to_dict_holds_figures_and_counts():
    d = analyze_syntax(table("abcabc")).to_dict()
    assert d["n_symbols"] == 6 and d["conditional_entropy_bits"]["1"] == 0.0
    first = d["transitions"]["order_1"][0]
    assert first == {"context": [START], "next": "a", "count": 1, "probability": 1.0}
    json.dumps(d, allow_nan=False)


def test_compare_identical_and_disjoint_sets():
    same = compare_sequences([list("abab")], [list("abab")])
    assert same.js_joint_bits == 0.0 and same.js_mean_bits == 0.0
    assert (same.transitions["difference"] == 0).all()
    apart = compare_sequences([list("aaaa")], [list("bbbb")])
    assert apart.js_joint_bits == pytest.approx(1.0)
    assert apart.js_mean_bits == pytest.approx(1.0)
    part = compare_sequences([list("abab")], [list("abac")])
    assert 0 < part.js_joint_bits < 1
    row = part.transitions.set_index(["from", "to"]).loc[("a", "c")]
    assert row["p_a"] == 0.0 and row["p_b"] == 0.5


def test_js_divergence_matches_definition():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.5, 0.5])
    m = (p + q) / 2

    def kl(x, y):
        mask = x > 0
        return float((x[mask] * np.log2(x[mask] / y[mask])).sum())

    assert js_divergence_bits(p, q) == pytest.approx(0.5 * kl(p, m) + 0.5 * kl(q, m))
