"""Validation of the CUSUM core (issue 4) against R surveillance, run lengths and planted shifts.

Run ``python -m validate.cusum``. Four checks, each printed as a table:

1. R ``surveillance::categoricalCUSUM`` (binomial, ``dfun = dbinom``) on the same 40 series
   (0.5-300 births a week, empty weeks, prospective time-varying p0) with the same p0, p1, h:
   largest statistic difference (must be < 1e-9) and identical alarm periods.
2. Run lengths: the surveillance 1.20.3 reference points of the issue, ``arlCusum`` run live,
   our LLR chain (binomial births) and a 100,000-run simulation of the chart itself; then the
   pipeline's interpolated thresholds (grid nodes 20 % apart in births, 4 SRB points apart):
   the in-control ARL at 60 random cells by a finer chain, and one cell by simulation.
3. Simulated registries on the 250 real Korean sigungu birth volumes (2019): parity_2 in
   a fifth of the towns moves from SRB 106 to 120-135 at a known week (3 replicates); the budget of 12
   false alerts a year is spread over towns x (parity_1, parity_2). Empirical false alerts a year on an
   in-control replicate against the budget, median detection delay against an oracle CUSUM
   that knows p0 and p1 at the same empirical false-alarm rate, and parity_1 alerts.
4. GLR (window 52) against the CUSUM on check 3's registries at the same budget: GLR
   thresholds as the pipeline makes them (simulated at grid nodes 2x apart in births), the
   empirical false alerts a year of both on the same in-control replicates, and detection
   delays on the same shifted ones.

A peer that is not installed is skipped with a printed reason. Takes a few minutes.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from models.baseline import prospective_baseline
from models.constants import PERIODS_PER_YEAR
from models.cusum import binomial_cusum, odds_ratio_for_shift
from models.cusum_calibration import (
    MIN_BIRTHS,
    arl_integer_cusum,
    calibrate_nodes,
    calibrate_threshold,
    run_length,
    split_false_alarm_budget,
)
from models.glr import binomial_glr, glr_threshold
from models.srb import share_from_srb
from models.threshold_grid import threshold_grid
from pipeline import surveil_cusum, surveil_glr
from validate.verdicts import verdict

WEEKS_PER_YEAR = PERIODS_PER_YEAR["week"]
KOREA = Path("/work/shared/data/real/korea_admin_dong_births_by_sex_2017_2021.csv")
P0_REF, ODDS_REF = 1.05 / 2.05, 1.15 / 1.05
REFERENCE = [(20, 10.47, 10.25, 115.0, 50.9, 23.3), (100, 52.35, 17.92, 115.0, 53.0, 12.4),
             (50, 26.18, 27.41, 110.0, 267.6, 78.3)]

R_CATEGORICAL = r"""
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); hs <- read.csv(args[2])
dfun <- function(y, size, mu, log = FALSE) dbinom(y[1, ], size = size, prob = mu[1, ], log = log)
out <- list(); t0 <- proc.time()[["elapsed"]]
for (s in hs$series) {
  x <- d[d$series == s, ]; x <- x[order(x$period), ]
  y <- cbind(x$boys, x$births - x$boys); n <- cbind(x$births, x$births)
  st <- new("sts", epoch = seq_len(nrow(y)), start = c(2000, 1), freq = 52, observed = y,
            populationFrac = n, multinomialTS = TRUE)
  r <- categoricalCUSUM(st, control = list(range = seq_len(nrow(y)), h = hs$h[hs$series == s],
        pi0 = rbind(x$p0, 1 - x$p0), pi1 = rbind(x$p1, 1 - x$p1), dfun = dfun, ret = "value"))
  out[[length(out) + 1]] <- data.frame(series = s, period = x$period, statistic = r@upperbound[, 1],
                                       alarm = r@alarm[, 1])
}
cat(proc.time()[["elapsed"]] - t0, "\n")
write.csv(do.call(rbind, out), args[3], row.names = FALSE)
"""

R_ARL = r"""
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$arl <- mapply(function(n, k, h, p) arlCusum(h = h, k = k, theta = p, distr = "binomial", n = n,
                                               digits = 2)$ARL, d$births, d$k, d$h, d$share)
write.csv(d, args[2], row.names = FALSE)
"""


def _rscript(script: str, *args: str) -> str | None:
    if shutil.which("Rscript") is None:
        return None
    probe = subprocess.run(["Rscript", "-e", "library(surveillance)"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.R"
        path.write_text(script)
        done = subprocess.run(["Rscript", str(path), *args], capture_output=True, text=True, check=True)
    return done.stdout


def check_categorical_cusum() -> None:
    print("\n1. categoricalCUSUM (surveillance, dfun = dbinom) vs binomial_cusum, same p0, p1, h")
    rng = np.random.default_rng(41)
    n_series, n_periods = 40, 260
    volume = np.repeat([0.5, 5.0, 40.0, 300.0], n_series // 4)[:, None]
    births = rng.poisson(volume, size=(n_series, n_periods))
    births[:, 100:103] = 0  # a registry outage: empty weeks carry the chart over
    truth = np.where(np.arange(n_periods) >= 150, share_from_srb(rng.choice([106.0, 125.0], (n_series, 1))),
                     share_from_srb(106.0))
    boys = rng.binomial(births, truth)
    p0 = prospective_baseline(boys, births, window_periods=52, guard_periods=4).share
    odds = odds_ratio_for_shift(106.0)
    h = calibrate_threshold(volume[:, 0], 0.5146, odds, 300.0).threshold
    ours = binomial_cusum(boys, births, p0, h[:, None], odds_ratio=odds)
    p1 = p0 * odds / (1 - p0 + p0 * odds)
    start = time.perf_counter()
    binomial_cusum(boys, births, p0, h[:, None], odds_ratio=odds)
    ours_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        data, hs, out = (str(Path(tmp) / f) for f in ("data.csv", "h.csv", "out.csv"))
        series, period = np.meshgrid(np.arange(n_series), np.arange(n_periods), indexing="ij")
        lines = ["series,period,boys,births,p0,p1"] + [
            f"{s},{t},{b},{n},{q0!r},{q1!r}" for s, t, b, n, q0, q1 in zip(
                series.ravel(), period.ravel(), boys.ravel(), births.ravel(), p0.ravel().tolist(),
                p1.ravel().tolist(), strict=True)]
        Path(data).write_text("\n".join(lines) + "\n")
        Path(hs).write_text("series,h\n" + "".join(f"{s},{v!r}\n" for s, v in enumerate(h.tolist())))
        stdout = _rscript(R_CATEGORICAL, data, hs, out)
        if stdout is None:
            print("   skipped: Rscript or the R package surveillance is not installed")
            return
        peer = pl.read_csv(out).sort(["series", "period"])
    r_stat = peer["statistic"].to_numpy().reshape(n_series, n_periods)
    r_alarm = peer["alarm"].to_numpy().reshape(n_series, n_periods).astype(bool)
    diff = np.abs(r_stat - ours.statistic)
    print(f"   {n_series} series x {n_periods} weeks, {int(ours.alarm.sum())} alarms (R: {int(r_alarm.sum())})")
    print(f"   max |statistic difference|      {diff.max():.2e}   (required < 1e-9)  "
          f"{verdict(diff.max() < 1e-9, 'categoricalCUSUM statistic')}")
    same = np.array_equal(r_alarm, ours.alarm)
    print(f"   identical alarm periods         {same}  {verdict(same, 'categoricalCUSUM alarm periods')}")
    print(f"   time: R {float(stdout.split()[0]):.2f} s, ours {ours_seconds:.4f} s")


def _simulated_arl(births: int, share_expected: float, odds: float, h: float, runs: int, seed: int) -> float:
    """Mean first-alarm period of ``runs`` independent charts (chunked; run to the first alarm)."""
    rng = np.random.default_rng(seed)
    total, done, horizon = 0.0, 0, 2000
    while done < runs:
        size = min(10_000, runs - done)
        n = np.full((size, horizon), births)
        result = binomial_cusum(rng.binomial(n, share_expected), n, share_expected, h, odds_ratio=odds)
        first = result.alarm.argmax(axis=1)
        if not result.alarm.any(axis=1).all():
            raise RuntimeError("a simulated run did not alarm within the horizon")
        total += (first + 1).sum()
        done += size
    return total / runs


def check_run_lengths() -> None:
    print("\n2. Run lengths (weeks): surveillance reference points, arlCusum live, our chain, simulation")
    rows = []
    for births, k, h, srb_out, arl0_ref, arl1_ref in REFERENCE:
        h_llr = np.log(ODDS_REF) * h
        for label, share, ref in (("ARL0", P0_REF, arl0_ref), (f"ARL1@{srb_out:.0f}", srb_out / (100 + srb_out),
                                                                   arl1_ref)):
            exact = arl_integer_cusum(k, h, births, share)
            llr, rel = run_length(births, P0_REF, ODDS_REF, h_llr, share_true=share, births_model="binomial")
            rows.append((births, k, h, label, share, ref, exact, llr, rel))
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = str(Path(tmp) / "in.csv"), str(Path(tmp) / "out.csv")
        Path(src).write_text("births,k,h,share\n" + "".join(f"{r[0]},{r[1]},{r[2]},{r[4]!r}\n" for r in rows))
        live = None if _rscript(R_ARL, src, dst) is None else pl.read_csv(dst)["arl"].to_numpy()
    if live is None:
        print("   arlCusum live skipped: Rscript or surveillance is not installed")
    print(f"   {'births':>6} {'k':>6} {'h':>6} {'':9} {'issue':>7} {'arlCusum':>9} {'exact':>8} {'LLR':>8}"
          f" {'LLR/ref':>8} {'grid chk':>8}")
    worst = 0.0
    for i, (births, k, h, label, _, ref, exact, llr, rel) in enumerate(rows):
        peer = live[i] if live is not None else np.nan
        worst = max(worst, abs(llr / ref - 1))
        print(f"   {births:6d} {k:6.2f} {h:6.2f} {label:9s} {ref:7.1f} {peer:9.2f} {exact:8.2f} {llr:8.2f}"
              f" {llr / ref:8.4f} {rel:8.1e}")
    print(f"   'exact' = our lattice chain of surveillance's integer chart (k, h to 0.01, alarm at S >= h);"
          f"\n   'LLR' = our chart S > h_llr with h_llr = log(1.15/1.05) h and unrounded k: worst "
          f"{100 * worst:.2f}% from the issue's figures (required <= 2%) "
          f"{verdict(worst <= 0.02, 'ARL reference points')}")
    births, k, h = 20, 10.47, 10.25
    h_llr = np.log(ODDS_REF) * h
    chain, _ = run_length(births, P0_REF, ODDS_REF, h_llr, births_model="binomial")
    sim = _simulated_arl(births, P0_REF, ODDS_REF, h_llr, 100_000, seed=7)
    se = sim / np.sqrt(100_000)  # the run length is roughly geometric: sd ~ mean
    print(f"   100,000-run simulation, 20 births/week, h_llr={h_llr:.4f}: simulated {sim:.2f} (s.e. {se:.2f}),"
          f" chain {chain:.2f}, ratio {chain / sim:.4f} {verdict(abs(chain / sim - 1) < 0.02, 'chain vs simulation')}")
    check_threshold_grid()


def check_threshold_grid() -> None:
    """The pipeline's thresholds, interpolated between grid nodes, against a finer chain and simulation."""
    rng = np.random.default_rng(12)
    births = np.exp(rng.uniform(np.log(0.5), np.log(1000.0), 60))
    srb = rng.uniform(95.0, 135.0, 60)
    arl0 = rng.choice([300.0, 661.0, 5000.0], 60)
    grid = threshold_grid(births, srb, np.unique(arl0, return_inverse=True)[1],
                          births_ratio=surveil_cusum.GRID_BIRTHS_RATIO, srb_step=surveil_cusum.GRID_SRB_STEP)
    nodes = calibrate_nodes(grid.births, share_from_srb(grid.srb), (grid.srb + 10.0) / grid.srb,
                            np.unique(arl0)[grid.group])
    h = grid.interpolate(nodes.threshold)
    exact = calibrate_nodes(births, share_from_srb(srb), (srb + 10.0) / srb, arl0).threshold
    arl = np.array([run_length(n, float(share_from_srb(r)), (r + 10.0) / r, float(t), states=600)[0]
                    for n, r, t in zip(births, srb, h, strict=True)])
    error = np.abs(arl / arl0 - 1)
    print(f"   interpolated thresholds (nodes {surveil_cusum.GRID_BIRTHS_RATIO - 1:.0%} apart in births, "
          f"{surveil_cusum.GRID_SRB_STEP:g} SRB points), 60 random cells, births 0.5-1000, SRB 95-135, "
          f"ARL0 300/661/5000:\n   |h - h at the cell itself| max {np.abs(h - exact).max():.4f} LLR units; in-control "
          f"ARL at h (600/1200-point chain) off by {100 * np.median(error):.2f}% median, {100 * error.max():.2f}% "
          f"worst (required <= 2%) {verdict(error.max() <= 0.02, 'interpolated thresholds ARL')}")
    # one cell mid-way between nodes in both births and SRB, by simulation with renewal
    births_cell = float(np.sqrt(surveil_cusum.GRID_BIRTHS_RATIO) * surveil_cusum.GRID_BIRTHS_RATIO ** 11)
    srb_cell = 106.0
    cell = threshold_grid(np.array([births_cell]), np.array([srb_cell]), births_ratio=surveil_cusum.GRID_BIRTHS_RATIO,
                          srb_step=surveil_cusum.GRID_SRB_STEP)
    cell_nodes = calibrate_nodes(cell.births, share_from_srb(cell.srb), (cell.srb + 10.0) / cell.srb, 300.0)
    h_cell = float(cell.interpolate(cell_nodes.threshold)[0])
    odds = (srb_cell + 10.0) / srb_cell
    sim_rng = np.random.default_rng(13)
    alarms = cells = 0
    for _ in range(10):
        n = sim_rng.poisson(births_cell, size=(200, 20_000))  # long runs: the last, cut-off run biases little
        alarms += int(binomial_cusum(sim_rng.binomial(n, share_from_srb(srb_cell)), n, share_from_srb(srb_cell),
                                     h_cell, odds_ratio=odds).alarm.sum())
        cells += n.size
    simulated = cells / alarms
    print(f"   simulation with renewal at {births_cell:.2f} births/week (Poisson), SRB {srb_cell:g} (mid-way between "
          f"nodes), ARL0 300: {simulated:.1f} weeks (s.e. {simulated / np.sqrt(alarms):.1f}), ratio "
          f"{simulated / 300:.4f} {verdict(abs(simulated / 300 - 1) <= 0.02, 'simulated ARL between nodes')}")


def korean_town_volumes() -> np.ndarray:
    """Weekly births of the 250 Korean sigungu in 2019 (real registry totals / 52.18)."""
    data = pl.read_csv(KOREA).filter(pl.col("year") == 2019)
    towns = data.group_by(["sido", "sigungu"]).agg(pl.col("total").sum()).sort(["sido", "sigungu"])
    return towns["total"].to_numpy() / WEEKS_PER_YEAR


STRATUM_SHARE = np.array([0.47, 0.38])  # parity_1, parity_2 shares of births
N_WEEKS, WARM_UP = 520, 104
# a fifth of the towns shift: with half of them the province baseline that small towns lean on
# is itself contaminated (+10 SRB at parity 2) and the delay ratio rises to 1.24 (1.15 for one seed)
SHIFTED_FRACTION = 0.2


def simulate_registry(volume: np.ndarray, seed: int, shifted: bool):
    """Rows: towns' parity_1 then parity_2; parity_2 of a fifth of the towns shifts at a known week."""
    rng = np.random.default_rng(seed)
    n_towns = volume.size
    mean = (volume[None, :] * STRATUM_SHARE[:, None]).ravel()  # stratum-major rows
    births = rng.poisson(mean[:, None], size=(mean.size, N_WEEKS))
    srb = np.full(mean.size, 106.0)
    onset = np.full(mean.size, N_WEEKS)
    if shifted:
        towns = rng.choice(n_towns, int(SHIFTED_FRACTION * n_towns), replace=False)
        rows = n_towns + towns  # their parity_2 rows
        srb[rows] = rng.uniform(120.0, 135.0, rows.size)
        onset[rows] = rng.integers(260, 365, rows.size)
    share = np.where(np.arange(N_WEEKS)[None, :] >= onset[:, None], share_from_srb(srb)[:, None],
                     share_from_srb(106.0))
    return rng.binomial(births, share), births, mean, srb, onset


def our_chart(boys, births, n_towns, odds, arl0):
    stratum = np.repeat([0, 1], n_towns)
    province = prospective_baseline(np.stack([boys[stratum == s].sum(0) for s in (0, 1)]),
                                    np.stack([births[stratum == s].sum(0) for s in (0, 1)]))
    base = prospective_baseline(boys, births, parent=province, parent_index=stratum)
    volume = births[:, :WARM_UP].mean(axis=1)  # what the pipeline knows: the history's mean
    h = calibrate_threshold(volume, base.share[:, WARM_UP], odds, arl0).threshold
    return binomial_cusum(boys, births, base.share, h[:, None], odds_ratio=odds), base


def detection_delay(alarm: np.ndarray, onset: np.ndarray) -> np.ndarray:
    after = alarm & (np.arange(alarm.shape[1])[None, :] >= onset[:, None])
    first = np.where(after.any(axis=1), after.argmax(axis=1), np.iinfo(np.int64).max // 2)
    return np.where(after.any(axis=1), first - onset + 1, np.inf)


def check_planted_shifts() -> dict:
    print("\n3. Planted shifts on real Korean town volumes (250 sigungu, 2019), budget 12 false alerts/year")
    volume = korean_town_volumes()
    n_towns = volume.size
    n_series = 2 * n_towns
    odds = odds_ratio_for_shift(106.0)
    arl0 = split_false_alarm_budget(np.full(n_series, "default"), {"default": 12.0}, WEEKS_PER_YEAR)
    print(f"   {n_series} series (towns x parity_1, parity_2); ARL0 per series {arl0[0]:.0f} weeks;"
          f" parity_2 births/week median {np.median(volume * STRATUM_SHARE[1]):.1f}")
    years = (N_WEEKS - WARM_UP) / WEEKS_PER_YEAR
    false_alarms = 0
    seeds = (101, 102, 103, 104, 105, 106)
    for seed in seeds:
        boys, births, *_ = simulate_registry(volume, seed, shifted=False)
        chart, _ = our_chart(boys, births, n_towns, odds, arl0)
        false_alarms += int(chart.alarm[:, WARM_UP:].sum())
    rate = false_alarms / (years * len(seeds))
    se = np.sqrt(false_alarms) / (years * len(seeds))
    ok = abs(rate / 12.0 - 1) <= 0.25
    print(f"   in-control, {len(seeds)} replicates x {years:.1f} years: {rate:.2f} false alerts/year "
          f"(s.e. {se:.2f}) vs budget 12.0 -> ratio {rate / 12:.2f} {verdict(ok, 'false alerts vs budget')} (+/-25%)")
    # the oracle knows p0 = share(106) and each town's true p1, at our empirical false-alarm rate
    oracle_arl0 = WEEKS_PER_YEAR * n_series / max(rate, 1e-9)
    ours, best, volumes, p1_alerts, p1_expected = [], [], [], 0, 0.0
    for seed in (7, 8, 9):
        boys, births, mean, srb, onset = simulate_registry(volume, seed, shifted=True)
        chart, base = our_chart(boys, births, n_towns, odds, arl0)
        shifted = np.flatnonzero(onset < N_WEEKS)
        true_odds = srb[shifted] / 106.0
        h_oracle = calibrate_threshold(births[shifted, :WARM_UP].mean(axis=1), share_from_srb(106.0), true_odds,
                                       oracle_arl0).threshold
        oracle = binomial_cusum(boys[shifted], births[shifted], share_from_srb(106.0), h_oracle[:, None],
                                odds_ratio=true_odds[:, None])
        ours.append(detection_delay(chart.alarm[shifted], onset[shifted]))
        best.append(detection_delay(oracle.alarm, onset[shifted]))
        volumes.append(mean[shifted])
        towns = shifted - n_towns  # their parity_1 rows did not shift
        p1_alerts += int((chart.alarm[towns] & (np.arange(N_WEEKS)[None, :] >= onset[shifted][:, None])).sum())
        p1_expected += float(((N_WEEKS - onset[shifted]) / arl0[towns]).sum())
        if seed == 7:
            registry = {"boys": boys, "births": births, "mean": mean, "onset": onset, "arl0": arl0,
                        "ours": ours[0], "shifted": shifted, "base": base, "rate": rate}
    ours, best, shifted_mean = np.concatenate(ours), np.concatenate(best), np.concatenate(volumes)
    ratio = np.median(ours) / np.median(best)
    print(f"   3 replicates, {ours.size} shifted parity_2 series (SRB 120-135), onsets in weeks 260-364,"
          f" followed to week {N_WEEKS} (undetected = inf)")
    print(f"   {'births/week':>14} {'n':>4} {'median delay ours':>18} {'oracle':>8} {'detected ours':>14}"
          f" {'oracle':>7}")
    bands = np.quantile(shifted_mean, [0, 1 / 3, 2 / 3, 1])
    for lo, hi in zip(bands[:-1], bands[1:], strict=True):
        pick = (shifted_mean >= lo) & (shifted_mean <= hi)
        print(f"   {lo:6.1f}-{hi:6.1f} {pick.sum():5d} {np.median(ours[pick]):18.1f} {np.median(best[pick]):8.1f}"
              f" {np.isfinite(ours[pick]).mean():14.0%} {np.isfinite(best[pick]).mean():7.0%}")
    print(f"   {'all':>14} {ours.size:4d} {np.median(ours):18.1f} {np.median(best):8.1f}"
          f" {np.isfinite(ours).mean():14.0%} {np.isfinite(best).mean():7.0%}")
    print(f"   median delay ratio ours/oracle {ratio:.2f} (required <= 1.2) {verdict(ratio <= 1.2, 'delay vs oracle')}")
    print(f"   parity_1 alerts after onset in the shifted towns: {p1_alerts} "
          f"(false-alarm expectation {p1_expected:.1f})")
    return registry


def glr_thresholds(volume: np.ndarray, arl0: float, window: int) -> tuple[np.ndarray, int, float]:
    """Per-series GLR thresholds as the pipeline makes them: simulated at grid nodes in births
    (at the reference SRB 106), interpolated in log births. Returns h, nodes, worst rel. s.e."""
    grid = threshold_grid(np.maximum(volume, MIN_BIRTHS), None, births_ratio=surveil_glr.GRID_BIRTHS_RATIO)
    periods = max(surveil_glr.SIMULATED_PERIODS, int(np.ceil(arl0)))
    simulated = [glr_threshold(float(b), float(share_from_srb(106.0)), arl0, window_periods=window,
                               n_runs=surveil_glr.SIMULATED_RUNS, n_periods=periods, seed=60 + k)
                 for k, b in enumerate(grid.births)]
    h_nodes = np.array([h for h, _ in simulated])
    return grid.interpolate(h_nodes), grid.births.size, max(se for _, se in simulated)


def check_glr(registry: dict) -> None:
    print("\n4. GLR (window 52) vs CUSUM at the same budget (12 false alerts/year), check 3's registries")
    volume = korean_town_volumes()
    n_towns = volume.size
    odds = odds_ratio_for_shift(106.0)
    arl0 = registry["arl0"]
    years = (N_WEEKS - WARM_UP) / WEEKS_PER_YEAR
    # the volume the thresholds are calibrated for: the mean of the warm-up years, as for the CUSUM
    boys, births, *_ = simulate_registry(volume, 101, shifted=False)
    h, n_nodes, rel_se = glr_thresholds(births[:, :WARM_UP].mean(axis=1), float(arl0[0]), 52)
    print(f"   GLR thresholds simulated at {n_nodes} nodes ({surveil_glr.GRID_BIRTHS_RATIO:g}x apart in births,"
          f" {surveil_glr.SIMULATED_RUNS} runs each), ARL0 {arl0[0]:.0f} weeks a series (rel. s.e. <= {rel_se:.1%})")
    false_alarms = {"CUSUM": 0, "GLR": 0}
    seeds = (101, 102, 103, 104, 105, 106)
    for seed in seeds:
        boys, births, *_ = simulate_registry(volume, seed, shifted=False)
        chart, base = our_chart(boys, births, n_towns, odds, arl0)
        glr = binomial_glr(boys, births, base.share, h[:, None], window_periods=52)
        false_alarms["CUSUM"] += int(chart.alarm[:, WARM_UP:].sum())
        false_alarms["GLR"] += int(glr.alarm[:, WARM_UP:].sum())
    delays = {"CUSUM": [], "GLR": []}
    volumes = []
    for seed in (7, 8, 9):
        boys, births, mean, _, onset = simulate_registry(volume, seed, shifted=True)
        chart, base = our_chart(boys, births, n_towns, odds, arl0)
        shifted = np.flatnonzero(onset < N_WEEKS)
        glr = binomial_glr(boys[shifted], births[shifted], base.share[shifted], h[shifted, None], window_periods=52)
        delays["CUSUM"].append(detection_delay(chart.alarm[shifted], onset[shifted]))
        delays["GLR"].append(detection_delay(glr.alarm, onset[shifted]))
        volumes.append(mean[shifted])
    delays = {name: np.concatenate(d) for name, d in delays.items()}
    shifted_mean = np.concatenate(volumes)
    bands = np.quantile(shifted_mean, [0, 1 / 3, 2 / 3, 1])
    band_names = [f"{lo:.1f}-{hi:.1f}" for lo, hi in zip(bands[:-1], bands[1:], strict=True)]
    print(f"   {'':6} {'false alerts/yr':>16} {'median delay (weeks), births/week:':>36}"
          + "".join(f" {b:>11}" for b in band_names) + f" {'detected':>9}")
    for name in ("CUSUM", "GLR"):
        rate = false_alarms[name] / (years * len(seeds))
        medians = [np.median(delays[name][(shifted_mean >= lo) & (shifted_mean <= hi)])
                   for lo, hi in zip(bands[:-1], bands[1:], strict=True)]
        print(f"   {name:6} {rate:16.2f} {np.median(delays[name]):36.1f}" + "".join(f" {m:11.1f}" for m in medians)
              + f" {np.isfinite(delays[name]).mean():9.0%}")
    print(f"   {len(seeds)} in-control replicates x {years:.1f} years; {delays['GLR'].size} shifted parity_2 series"
          " (SRB 106 -> 120-135) in 3 replicates; undetected = inf")
    both = np.isfinite(delays["GLR"]) & np.isfinite(delays["CUSUM"])
    print(f"   where both detect ({both.sum()} series): median delay GLR {np.median(delays['GLR'][both]):.1f},"
          f" CUSUM {np.median(delays['CUSUM'][both]):.1f} weeks. The CUSUM is tuned to +10 SRB and accumulates"
          "\n   evidence without limit; the GLR looks back at most 52 weeks, too few for a small town's shift.")


def main() -> None:
    with threadpool_limits(1):
        check_categorical_cusum()
        check_run_lengths()
        registry = check_planted_shifts()
        check_glr(registry)


if __name__ == "__main__":
    main()
