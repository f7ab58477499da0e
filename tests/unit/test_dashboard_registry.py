"""The registry part of the dashboard state (register, promote, compare), without a server."""

from __future__ import annotations

import pandas as pd
import pytest

from canapy.corpus import load_corpus
from canapy.dashboards.registry_view import ComparePanel, RegisterPanel, f1_bars
from canapy.dashboards.state import AppState, heldout_paths, source_options
from canapy.exceptions import CanapyError
from canapy.model_ops import compare_models
from canapy.registry import Registry
from canapy.runs import read_run


@pytest.fixture
def state(small_run, tmp_path):
    state = AppState(
        small_run["data"],
        run_root=small_run["run"].parent,
        cache_dir=small_run["cache"],
        registry_dir=tmp_path / "registry",
    )
    state.load_corpus().result()
    yield state
    state.close()


def test_registry_defaults_to_the_cli_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("CANAPY_REGISTRY", str(tmp_path / "env-registry"))
    state = AppState()
    assert state.registry.root == str(tmp_path / "env-registry")
    assert state.registry.versions.empty
    state.close()


def test_name_is_validated_as_typed(state):
    reg = state.registry
    assert not reg.can_register and reg.name_error == ""  # nothing typed: no error shown
    reg.model_name = "bird/../x"
    assert "invalid model name 'bird/../x'" in reg.name_error and not reg.can_register
    reg.model_name = "bird/test"
    assert reg.name_error == "" and reg.can_register
    reg.model_name = "a/b/c/d"
    with pytest.raises(CanapyError, match="invalid model name"):
        reg.register(state.runs["path"].iloc[0])


def test_register_promote_and_list(state, small_run):
    reg = state.registry
    run_dir = str(small_run["run"])
    reg.model_name = "bird/test"
    reg.register(run_dir, promote=True).result()
    assert reg.last_registered == "bird/test@1"
    reg.register(run_dir, kind="logreg").result()
    assert reg.last_registered == "bird/test@2"
    table = reg.versions
    assert table["ref"].tolist() == ["bird/test@2", "bird/test@1"]  # newest first
    assert table["kind"].tolist() == ["logreg", "syntactic"]
    assert table["promoted"].tolist() == [False, True]
    heldout = read_run(run_dir).validation["syntactic"]["syllable_error_rate"]
    assert table["heldout_ser"].iloc[1] == pytest.approx(heldout)
    assert reg.promote("bird/test@2") == "bird/test@2"
    assert reg.versions["promoted"].tolist() == [True, False]
    assert Registry(reg.root).promoted("bird/test") == 2  # the same registry as the CLI's
    card = Registry(reg.root).card("bird/test@1")
    assert card["lineage"]["run"] == str(small_run["run"].absolute())


def test_compare_gives_what_model_ops_gives(state, small_run):
    reg = state.registry
    reg.model_name = "bird/cmp"
    reg.register(str(small_run["run"])).result()
    reg.register(str(small_run["run"]), kind="logreg").result()
    options = source_options(reg.versions, state.runs)
    assert options["bird/cmp@1"] == "bird/cmp@1"
    assert options[f"run {small_run['run'].name}"] == str(small_run["run"])
    files = heldout_paths(str(small_run["run"]), state.corpus)
    assert files and {p.name for p in files} == {
        p.split("/")[-1] for p in read_run(small_run["run"]).validation_files
    }
    with pytest.raises(CanapyError, match="two or more"):
        reg.compare(["bird/cmp@1"], state.corpus)
    reg.compare(
        ["bird/cmp@1", "bird/cmp@2"], state.corpus, paths=files, cache_dir=small_run["cache"]
    ).result()
    shown = reg.compared
    expected = compare_models(
        ["bird/cmp@1", "bird/cmp@2"],
        load_corpus(small_run["data"]).subset(files),
        Registry(reg.root),
        small_run["cache"],
    )
    pd.testing.assert_frame_equal(
        shown.summary().set_index("model"), expected.summary_table(), check_names=False
    )
    pd.testing.assert_frame_equal(shown.per_class().set_index("label"), expected.f1_table())
    assert f"{len(files)} annotated file(s)" in shown.description


def test_compare_a_folder_loads_it_in_the_background(state, small_run):
    reg = state.registry
    reg.model_name = "bird/folder"
    reg.register(str(small_run["run"])).result()
    sources = ["bird/folder@1", str(small_run["run"])]  # a version and a run side by side
    reg.compare(sources, folder=small_run["data"], cache_dir=small_run["cache"]).result()
    summary = reg.compared.summary()
    assert summary["model"].tolist() == ["bird/folder@1", f"{small_run['run'].name}/syntactic"]
    assert summary["frame_accuracy"].iloc[0] == summary["frame_accuracy"].iloc[1]  # same model


def test_panels_show_the_state(state, small_run):
    register, compare = RegisterPanel(state=state), ComparePanel(state=state)
    assert register._run.value == str(small_run["run"])
    assert register._kind.options[0] == "syntactic" and "logreg" in register._kind.options
    assert register._register.disabled  # no name yet
    register._name.value = "bird/../x"
    assert register._name_error.visible and "invalid model name" in register._name_error.object
    register._name.value = "bird/panel"
    assert not register._name_error.visible and not register._register.disabled
    register._promote_new.value = True
    register._register.clicks += 1
    state.wait()
    assert register._done.visible and "bird/panel@1" in register._done.object
    assert register._versions.value["promoted"].tolist() == ["yes"]
    assert "bird/panel@1" in compare._sources.options.values()
    assert compare._files.value == "data"  # no active run: no held-out files to offer
    state.select_run(small_run["run"])
    state.wait()
    assert compare._files.value == "heldout"  # the default once a run is active
    n_heldout = len(read_run(small_run["run"]).validation_files)
    assert f"held-out files of the active run ({n_heldout})" in compare._files.options
    compare._sources.value = ["bird/panel@1", str(small_run["run"])]
    compare._go.clicks += 1
    state.wait()
    about, summary = compare._results.objects[:2]
    assert f"{n_heldout} annotated file(s)" in about.object
    assert summary.value["model"].tolist() == ["bird/panel@1", f"{small_run['run'].name}/syntactic"]
    assert summary.height == 42 + 30 * 2  # fitted to its two rows


def test_f1_bars_group_models_under_labels_in_label_colours():
    f1 = pd.DataFrame({"m@1": [0.9, 0.5], "m@2": [0.8, 0.4]}, index=["a", "b"])
    bars = f1_bars(f1, {"a": "#111111", "b": "#222222"})
    data = bars.data
    assert [d.name for d in bars.kdims] == ["label", "model"]
    assert data.loc[data["label"] == "b", "color"].unique().tolist() == ["#222222"]
    assert data.groupby("model")["alpha"].first().tolist() == pytest.approx([1.0, 0.45])
