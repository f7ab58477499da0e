"""Fixing planted annotation errors through the dashboard: the numeric form vs direct editing.

On a copy of the gy6or6 Bengalese finch corpus (annotations copied, audio linked, in a
temporary folder), 10 label errors and 5 boundary errors are planted (seeded, recorded in
the result). For each of two ways, a fresh ``canapy dash`` (its own process and port) is
driven in headless Chromium to fix all 15, then the corrections are saved as a store version
and that version is compared with the clean annotations:

- ``before``, the path that existed before the canvas editor: the recordings table, the
  segment list (paged), the *Known labels* list + *Relabel* for a label, typing seconds
  into *Start*/*End* + *Move* for a boundary;
- ``after``, the direct path: *Find suspects*, a click on the suspect's row then ``a``
  (accept the suggestion) or, when the suggestion is not the right label, a click on the
  box and the label's key; for a boundary, the recordings table, a few wheel-zooms and a
  drag of the edge on the spectrogram.

Recorded per way: the user actions (clicks, key presses, drags, wheel steps; a choice in a
drop-down list counts two clicks, typing a number one key per character) and the time the
page took to apply them: after every action the benchmark waits on the page's state (the
segment shown by the canvas, the selection), so the time measures the tool, not a person;
a person's looking and thinking time is not in it. *Find suspects* (training the review
models) is timed on its own. Times are wall-clock on whatever machine runs it; the server's
CPU time is recorded beside them.

Usage: ``python benchmarks/bench_correction.py [--data FOLDER] [--seed 0] [--json PATH]``
(needs Debian's ``/usr/bin/chromium`` and Playwright's Python package). Writes
``benchmarks/results/correction-<date>.json`` through ``run_metadata.write_results``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from run_metadata import canapy_command, collect_metadata, write_results

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "bengalese_finch" / "bfsongrepo_gy6or6"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
WAIT_MS = 900_000  # a busy machine: generous; every wait is on the page's state
TOLERANCE_S = 0.002
"""A boundary counts as fixed within one feature frame (2 ms), as in the drag test."""
RARE = {"-", "x"}
"""gy6or6 labels seen once or twice: never planted, never used as a wrong label."""
PAGE_ROWS = 8
"""Rows per page of the Re-annotate segment list."""
FIX_TIMEOUT_MS = 90_000
"""A fix not applied by then is redone (counted in ``retries``; seen once under heavy load)."""
UNITS = "200"
"""Reservoir units set in the Train tab before *Find suspects* (a faster review)."""


@dataclass
class Planted:
    """One planted error: the file, the clean segment, what was written instead."""

    kind: str  # "label" or "boundary"
    file: str
    clean_onset_s: float
    clean_offset_s: float
    clean_label: str
    onset_s: float
    offset_s: float
    label: str
    edge: str = ""  # the boundary moved: "onset" or "offset"


def read_marron(folder: Path) -> pd.DataFrame:
    """Every ``*.csv`` of ``folder`` (marron1csv) as one table, labels kept as strings."""
    parts = [
        pd.read_csv(p, dtype={"syll": str}, keep_default_na=False)
        for p in sorted(folder.glob("*.csv"))
    ]
    return pd.concat(parts, ignore_index=True)


def plant_errors(
    table: pd.DataFrame, n_label: int, n_boundary: int, seed: int
) -> tuple[pd.DataFrame, list[Planted]]:
    """Relabel ``n_label`` segments and move one edge of ``n_boundary`` others by 10–30 ms.

    A wrong label is another common label; a moved edge stays inside the gap to its
    neighbour (at least 5 ms away from it), so the clean position can be dragged back to.
    """
    rng = np.random.default_rng(seed)
    out = table.copy()
    common = sorted(set(out["syll"]) - RARE)
    candidates = rng.permutation(np.flatnonzero(~out["syll"].isin(RARE).to_numpy()))
    planted: list[Planted] = []
    used: set[int] = set()
    for i in candidates:
        if len(planted) == n_label + n_boundary:
            break
        row = out.loc[i]
        same = out[out["wave"] == row["wave"]].sort_values("start")
        pos = list(same.index).index(i)
        if {i, *same.index[max(0, pos - 1) : pos + 2]} & used:
            continue  # one error per neighbourhood: fixes do not interact
        on, off, lab = float(row["start"]), float(row["end"]), str(row["syll"])
        if sum(p.kind == "label" for p in planted) < n_label:
            wrong = str(rng.choice([c for c in common if c != lab]))
            out.loc[i, "syll"] = wrong
            planted.append(Planted("label", row["wave"], on, off, lab, on, off, wrong))
        else:
            shift = float(rng.uniform(0.010, 0.030))
            edge = str(rng.choice(["onset", "offset"]))
            prev_off = float(same["end"].iloc[pos - 1]) if pos > 0 else 0.0
            next_on = float(same["start"].iloc[pos + 1]) if pos + 1 < len(same) else np.inf
            grow = bool(rng.integers(2))  # widen into the gap, or shrink the syllable
            if edge == "onset":
                new_on = on - shift if grow and on - shift > prev_off + 0.005 else on + shift
                if new_on >= off - 0.010:
                    continue
                out.loc[i, "start"] = new_on
                planted.append(
                    Planted("boundary", row["wave"], on, off, lab, new_on, off, lab, edge)
                )
            else:
                new_off = off + shift if grow and off + shift < next_on - 0.005 else off - shift
                if new_off <= on + 0.010:
                    continue
                out.loc[i, "end"] = new_off
                planted.append(
                    Planted("boundary", row["wave"], on, off, lab, on, new_off, lab, edge)
                )
        used.add(int(i))
    return out, sorted(planted, key=lambda p: (p.file, p.kind, p.clean_onset_s))


def write_corpus(src: Path, dst: Path, table: pd.DataFrame) -> Path:
    """``dst`` with ``src``'s audio linked and ``table``'s annotations, one CSV per file."""
    dst.mkdir(parents=True)
    for wav in sorted(src.glob("*.wav")):
        (dst / wav.name).symlink_to(wav)
    for wave, rows in table.groupby("wave", sort=True):
        rows.to_csv(dst / Path(wave).with_suffix(".csv").name, index=False)
    return dst


def check_store(data: Path, clean: pd.DataFrame) -> dict:
    """Compare the store's head with the clean annotations (labels equal, edges within 2 ms)."""
    from canapy.store import AnnotationStore

    store = AnnotationStore.for_data_dir(data)
    saved = store.load(store.head)
    saved = saved.assign(wave=[Path(p).name for p in saved["audio_path"]])
    saved = saved.sort_values(["wave", "onset_s"]).reset_index(drop=True)
    ref = clean.sort_values(["wave", "start"]).reset_index(drop=True)
    if len(saved) != len(ref) or list(saved["wave"]) != list(ref["wave"]):
        return {"version": int(store.head), "all_fixed": False, "why": "segment counts differ"}
    wrong_labels = int((saved["label"].astype(str) != ref["syll"].astype(str)).sum())
    err = np.maximum(
        np.abs(saved["onset_s"].to_numpy() - ref["start"].to_numpy()),
        np.abs(saved["offset_s"].to_numpy() - ref["end"].to_numpy()),
    )
    return {
        "version": int(store.head),
        "wrong_labels": wrong_labels,
        "boundaries_off_by_more_than_2ms": int((err > TOLERANCE_S).sum()),
        "max_boundary_error_ms": round(float(err.max()) * 1000, 3),
        "all_fixed": wrong_labels == 0 and bool((err <= TOLERANCE_S).all()),
    }


# -- the server and the page -----------------------------------------------------------------
def serve(data: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    """``canapy dash DATA`` on a free port, in its own process; its URL once it listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp / "server.log"
    cmd = canapy_command("dash", str(data), "--no-browser")
    cmd += ["--port", str(port), "--output", str(tmp / "runs")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CANAPY_CACHE_DIR": str(tmp / "cache")}
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    while "canapy dashboard: http" not in log.read_text(errors="replace"):
        if proc.poll() is not None:
            raise SystemExit(f"canapy dash failed:\n{log.read_text()}")
        time.sleep(0.3)
    return proc, f"http://127.0.0.1:{port}/"


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Session:
    """One page of the Re-annotate tab, counting user actions and timing each fix."""

    canvas_css = ".canapy-reannotate-tab .canapy-viewer-plot canvas"

    def __init__(self, page) -> None:
        self.page = page
        self.canvas = page.locator(self.canvas_css).first
        self.actions: Counter[str] = Counter()

    # counted actions
    def click(self, locator, n: int = 1) -> None:
        locator.click()
        self.actions["click"] += n

    def key(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.actions["key"] += 1

    def type_number(self, locator, value: float) -> None:
        """Click a number box, select its text, type the value, press Enter."""
        text = f"{value:.4f}"
        self.click(locator)
        self.key("Control+a")
        self.page.keyboard.type(text)
        self.actions["key"] += len(text)
        self.key("Enter")

    def drag(self, x_from: float, x_to: float, y: float) -> None:
        mouse = self.page.mouse
        mouse.move(x_from, y)
        mouse.down()
        for k in range(1, 11):
            mouse.move(x_from + (x_to - x_from) * k / 10, y)
        mouse.up()
        self.actions["drag"] += 1

    def wheel_zoom(self, t: float, max_span_s: float) -> None:
        """Wheel-zoom (time) around ``t`` until at most ``max_span_s`` is shown."""
        while True:
            g = self.geometry()
            if g["v1"] - g["v0"] <= max_span_s:
                return
            self.page.mouse.move(self.x(g, t), g["spec_y"])
            self.page.mouse.wheel(0, -400)
            self.actions["wheel"] += 1
            self.wait("+c.dataset.view1 - +c.dataset.view0 < a[0] - 1e-6", g["v1"] - g["v0"])

    # the page's state
    def wait(self, condition: str, *args: float | str) -> None:
        self.page.wait_for_function(
            f"([c, a]) => {condition}", arg=[self.canvas.element_handle(), list(args)]
        )

    def geometry(self) -> dict:
        self.canvas.scroll_into_view_if_needed()
        box, attr = self.canvas.bounding_box(), self.canvas.get_attribute
        return {
            "x0": box["x"] + float(attr("data-left")),
            "w": float(attr("data-plot-width")),
            "v0": float(attr("data-view0")),
            "v1": float(attr("data-view1")),
            "track_y": box["y"] + float(attr("data-track-y")),
            "spec_y": box["y"] + float(attr("data-spec-top")) + 40,
        }

    @staticmethod
    def x(g: dict, t: float) -> float:
        return g["x0"] + (t - g["v0"]) / (g["v1"] - g["v0"]) * g["w"]

    def segments(self) -> list[list]:
        return json.loads(self.canvas.get_attribute("data-segments"))

    def wait_segment(self, onset_s: float, offset_s: float, label: str) -> None:
        """Wait until the file shown has a segment at these times (±2 ms) with this label.

        At most :data:`FIX_TIMEOUT_MS`: a fix the page did not apply is then done again.
        """
        self.page.wait_for_function(
            "([c, a]) => JSON.parse(c.dataset.segments).some((s) => Math.abs(s[0] - a[0]) <= a[3]"
            " && Math.abs(s[1] - a[1]) <= a[3] && s[2] == a[2])",
            arg=[self.canvas.element_handle(), [onset_s, offset_s, label, TOLERANCE_S]],
            timeout=FIX_TIMEOUT_MS,
        )

    def show_file(self, file: str) -> None:
        """Click the file's row in the recordings table (unless it is shown already)."""
        title = self.page.locator(".canapy-reannotate-tab .canapy-viewer-title div").first
        if file in title.inner_text():
            return
        table = self.page.locator(".canapy-review-files .tabulator-tableholder").first
        row = self.page.locator(".canapy-review-files .tabulator-row", has_text=file)
        while not row.count():  # the table draws the rows in view only: scroll down to it
            table.hover()
            self.page.mouse.wheel(0, 200)
            self.actions["wheel"] += 1
            self.page.wait_for_timeout(100)  # no page state to wait on: the scroll is local
        self.click(row.first)
        from playwright.sync_api import expect

        expect(title).to_contain_text(file, timeout=FIX_TIMEOUT_MS)
        self.wait("c.dataset.ready == '1'")

    def expect_selected(self, p: Planted, timeout_ms: float = FIX_TIMEOUT_MS) -> None:
        from playwright.sync_api import expect

        info = self.page.locator(".canapy-reannotate-tab .canapy-selection div").first
        expect(info).to_contain_text(f"{p.onset_s:.3f}–{p.offset_s:.3f} s", timeout=timeout_ms)


# -- the two ways ----------------------------------------------------------------------------
def select_in_list(s: Session, p: Planted) -> None:
    """The segment list: page to the segment (page buttons), click its row."""
    from playwright.sync_api import expect

    segs = s.segments()
    k = min(range(len(segs)), key=lambda i: abs(segs[i][0] - p.onset_s))
    target = k // PAGE_ROWS + 1
    pages = s.page.locator(".canapy-segments .tabulator-page")
    while True:
        active = int(
            s.page.locator(".canapy-segments .tabulator-page.active").get_attribute("data-page")
        )
        if active == target:
            break
        shown = [
            int(v) for v in pages.evaluate_all("bs => bs.map((b) => b.dataset.page)") if v.isdigit()
        ]
        step = target if target in shown else (max(shown) if target > active else min(shown))
        s.click(s.page.locator(f".canapy-segments .tabulator-page[data-page='{step}']"))
        expect(
            s.page.locator(f".canapy-segments .tabulator-page.active[data-page='{step}']")
        ).to_be_visible()
    s.click(s.page.locator(".canapy-segments .tabulator-row").nth(k % PAGE_ROWS))
    s.expect_selected(p)


def fix_before(s: Session, p: Planted) -> str:
    s.show_file(p.file)
    select_in_list(s, p)
    if p.kind == "label":
        s.page.locator(".canapy-label-pick select").select_option(p.clean_label)
        s.actions["click"] += 2  # open the drop-down, choose
        s.click(s.page.locator(".canapy-relabel button"))
    else:
        box = ".canapy-edit-onset input" if p.edge == "onset" else ".canapy-edit-offset input"
        s.type_number(
            s.page.locator(box), p.clean_onset_s if p.edge == "onset" else p.clean_offset_s
        )
        s.click(s.page.locator(".canapy-move button"))
    s.wait_segment(p.clean_onset_s, p.clean_offset_s, p.clean_label)
    return "segment list + form"


def fix_after(s: Session, p: Planted) -> str:
    if p.kind == "label":
        row = suspect_row(s, p)
        if row is not None:
            suggested = row.locator("[tabulator-field='suggested']").inner_text().strip()
            s.click(row)
            try:
                s.expect_selected(p, timeout_ms=15_000)
            except AssertionError:  # the row was current already: the click changed nothing
                row, suggested = None, ""
                s.show_file(p.file)
            if suggested == p.clean_label:
                s.key("a")  # accept the suggestion
                s.wait_segment(p.clean_onset_s, p.clean_offset_s, p.clean_label)
                return "suspect row + a"
        else:
            s.show_file(p.file)
        s.wheel_zoom((p.onset_s + p.offset_s) / 2, 3.0)
        g = s.geometry()
        s.page.mouse.click(s.x(g, (p.onset_s + p.offset_s) / 2), g["track_y"])
        s.actions["click"] += 1
        s.key(p.clean_label)
        s.wait_segment(p.clean_onset_s, p.clean_offset_s, p.clean_label)
        return ("suspect row + " if row is not None else "recordings + ") + "box + key"
    s.show_file(p.file)
    wrong, clean = (
        (p.onset_s, p.clean_onset_s) if p.edge == "onset" else (p.offset_s, p.clean_offset_s)
    )
    s.wheel_zoom(wrong, 1.0)
    g = s.geometry()
    s.drag(s.x(g, wrong), s.x(g, clean), g["track_y"])
    s.wait_segment(p.clean_onset_s, p.clean_offset_s, p.clean_label)
    return "recordings + wheel + drag"


def suspect_row(s: Session, p: Planted):
    """The suspect's row among the rows the table has drawn (None if it is not there)."""
    start = re.compile(rf"^{re.escape(repr(round(p.onset_s, 3)))}$")
    rows = s.page.locator(".canapy-suspects .tabulator-row", has_text=p.file).filter(
        has=s.page.locator("[tabulator-field='start']", has_text=start)
    )
    return rows.first if rows.count() else None


def find_suspects(s: Session) -> float:
    """Click *Find suspects* (counted) and wait for the table; the seconds it took."""
    from playwright.sync_api import expect

    t0 = time.perf_counter()
    s.click(s.page.locator(".canapy-find-suspects button"))
    info = s.page.locator(".canapy-suspect-info").first
    expect(info).to_contain_text("segments judged", timeout=WAIT_MS)
    expect(s.page.locator(".canapy-suspects .tabulator-row").first).to_be_visible(timeout=WAIT_MS)
    return time.perf_counter() - t0


def run_way(
    way: str,
    src: Path,
    corrupted: pd.DataFrame,
    clean: pd.DataFrame,
    planted: list[Planted],
    browser,
) -> dict:
    """Serve a fresh copy of the corrupted corpus and fix every planted error one way."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    with tempfile.TemporaryDirectory(prefix=f"canapy-bench-{way}-") as tmp:
        data = write_corpus(src, Path(tmp) / "data", corrupted)
        proc, url = serve(data, Path(tmp))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(WAIT_MS)
            page.goto(url, timeout=WAIT_MS)
            expect(page.locator(".canapy-data-summary div").first).to_contain_text("audio files")
            expect(page.locator(".canapy-label-table .tabulator-row").first).to_be_visible()
            units = page.locator(".canapy-cfg-reservoir-units input")
            units.fill(UNITS)
            units.press("Enter")
            page.locator(".bk-tab", has_text="Re-annotate").click()
            s = Session(page)
            s.wait("c.dataset.ready == '1'")
            cpu0 = process_cpu_s(proc.pid)
            out: dict = {"find_suspects_s": None}
            if way == "after":
                out["find_suspects_s"] = round(find_suspects(s), 2)
            cpu_fix0 = process_cpu_s(proc.pid)
            page.set_default_timeout(FIX_TIMEOUT_MS)  # a stuck fix is redone, not waited on
            expect.set_options(timeout=FIX_TIMEOUT_MS)
            fixes, retries = [], []
            for p in planted:
                before = Counter(s.actions)
                t0 = time.perf_counter()
                fix = fix_before if way == "before" else fix_after
                try:
                    how = fix(s, p)
                except (PlaywrightTimeout, AssertionError) as exc:
                    shot = (
                        Path(tempfile.gettempdir()) / f"bench-correction-{way}-{len(retries)}.png"
                    )
                    page.screenshot(path=shot, full_page=True)
                    print(f"{way}: redoing {p.file} ({exc}); page: {shot}", flush=True)
                    retries.append({"file": p.file, "kind": p.kind})
                    how = fix(s, p) + " (redone)"
                seconds = time.perf_counter() - t0
                n = sum((s.actions - before).values())
                fixes.append(
                    {
                        "kind": p.kind,
                        "file": p.file,
                        "how": how,
                        "actions": n,
                        "seconds": round(seconds, 3),
                    }
                )
                print(
                    f"{way}: {p.kind:8s} {p.file} {how}: {n} actions, {seconds:.2f} s", flush=True
                )
            expect.set_options(timeout=WAIT_MS)
            t0 = time.perf_counter()
            s.click(page.locator(".canapy-save button"))
            expect(page.locator(".canapy-edit-state div").first).to_contain_text(
                "0 unsaved change(s)"
            )
            save_s = time.perf_counter() - t0
            cpu1 = process_cpu_s(proc.pid)
            page.close()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        check = check_store(data, clean)
        shutil.rmtree(data / ".canapy", ignore_errors=True)
    fix_s = sum(f["seconds"] for f in fixes)
    return {
        **out,
        "actions": dict(s.actions),
        "n_actions": sum(s.actions.values()),
        "fix_seconds": round(fix_s, 2),
        "save_seconds": round(save_s, 2),
        "server_cpu_seconds_fixing": round(cpu1 - cpu_fix0, 2),
        "server_cpu_seconds_total": round(cpu1 - cpu0, 2),
        "fixes": fixes,
        "retries": retries,
        "check": check,
    }


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import expect, sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of wav + marron1csv")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", type=int, default=10, help="label errors to plant")
    parser.add_argument("--boundaries", type=int, default=5, help="boundary errors to plant")
    parser.add_argument("--ways", default="before,after", help="which ways to run")
    parser.add_argument("--json", type=Path, help="result file (default benchmarks/results/)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `kill` stops the server too
    meta = collect_metadata()
    clean = read_marron(args.data)
    corrupted, planted = plant_errors(clean, args.labels, args.boundaries, args.seed)
    expect.set_options(timeout=WAIT_MS)
    ways = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for way in args.ways.split(","):
            ways[way] = run_way(way, args.data, corrupted, clean, planted, browser)
            w = ways[way]
            print(f"{way}: {w['n_actions']} actions, {w['fix_seconds']} s, {w['check']}")
        browser.close()
    payload = {
        "data": str(args.data.relative_to(ROOT.parent))
        if args.data.is_relative_to(ROOT.parent)
        else str(args.data),
        "seed": args.seed,
        "tolerance_s": TOLERANCE_S,
        "reservoir_units_for_review": int(UNITS),
        "planted": [asdict(p) for p in planted],
        "ways": ways,
        "note": (
            "actions = clicks, key presses (one per typed character), drags, wheel steps; "
            "seconds = the page applying them (the benchmark waits on the page state after "
            "each action), not a person's time; the machine may have been shared"
        ),
    }
    path = write_results("correction", payload, args.json, meta)
    print(path)
    return 0 if all(w["check"]["all_fixed"] for w in ways.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
