"""Experiment plumbing: summaries, the CLI, and a short chip-in-the-loop training on the numba chip model."""
import json

import numpy as np
import pytest

from homeostasis import experiments as ex
from homeostasis.__main__ import build_parser, main
from homeostasis.network import NetworkConfig, build_network
from homeostasis.trainer import TrainConfig, train

COMMANDS = ("train", "sweep", "regime", "paradoxical", "no-inhibitory", "ensemble", "sizes", "clusters")


def _fake_result(seed, chip, e, i, w, conv=True):
    m = {"targets_hz": {"pyr": 20.0, "pv": 40.0}, "final_rates_hz": {"pyr": [e], "pv": [i]},
         "converged": [conv], "chip_seed": chip, "final_currents_a": list(w) + [0.0]}
    return m, {}


def test_summary_rms_fraction_and_correlations():
    rng = np.random.default_rng(0)
    res = {}
    for k in range(30):
        wee = rng.uniform(1e-8, 1e-7)
        wie = rng.uniform(1e-8, 1e-7)
        w = (wee, wie, 2 * wee + 1e-9 * rng.standard_normal(), 0.5 * wie)
        res[f"r{k}"] = _fake_result(k, k % 2, 20.0 + (1.0 if k % 2 else -1.0), 43.0, w, conv=k != 0)
    # a run stuck far from the set-points, off the weight relation
    res["stuck"] = _fake_result(99, 0, 2.0, 40.0, (1e-7, 1e-7, 1e-9, 1e-6), conv=False)
    s = ex.summarise_runs(res)
    assert s["rms_e_hz"] == pytest.approx(np.sqrt((30 * 1.0 + 18.0**2) / 31))
    assert s["rms_i_hz"] == pytest.approx(np.sqrt(30 * 9.0 / 31))
    assert s["converged_fraction"] == pytest.approx(29 / 31)
    for c in ("0", "1"):
        assert s["corr"][c]["wee_wei"][0] > 0.95 and s["corr"][c]["wee_wei"][1] < 1e-6
        assert s["corr"][c]["wie_wii"][0] == pytest.approx(1.0)
    # correlations over converged runs only (chip 0: 14 of its 16 runs), every run in corr_all_runs
    assert s["corr"]["0"]["n"] == 14 and s["corr"]["1"]["n"] == 15 and s["corr_all_runs"]["0"]["n"] == 16
    assert s["corr_all_runs"]["0"]["wie_wii"][0] < 0.9
    assert s["rms_last_iteration_hz"] is None  # no per-iteration rates given
    rates = {name: np.array([[[0.0, 0.0]], [[20.0 + 2.0, 40.0 - 6.0]]]) for name in res}
    s = ex.summarise_runs({name: (m, {"rates_hz": rates[name]}) for name, (m, _) in res.items()})
    assert s["rms_last_iteration_hz"] == pytest.approx({"pyr": 2.0, "pv": 6.0})


def test_iterations_to_return():
    r = np.array([[50.0, 80.0]] * 5 + [[20.0, 40.0]] * 20)
    assert ex._iterations_to_return(r, {"pyr": 20.0, "pv": 40.0}) == 5
    assert ex._iterations_to_return(r[:8], {"pyr": 20.0, "pv": 40.0}) is None
    # the implant's jump is one off-target iteration: it is not "returned", whatever the mean after it
    jump = np.array([[35.0, 70.0]] + [[20.0, 40.0]] * 15)
    assert ex._iterations_to_return(jump, {"pyr": 20.0, "pv": 40.0}) == 1
    # on target at 3, but the 10-iteration mean from there is not
    dip = np.array([[30.0, 40.0]] * 3 + [[20.0, 40.0]] + [[40.0, 40.0]] * 2 + [[20.0, 40.0]] * 12)
    assert ex._iterations_to_return(dip, {"pyr": 20.0, "pv": 40.0}) == 6


def test_paradoxical_stats_per_trial():
    """during < before and < after (one-sided), after vs before (two-sided), over trials."""
    from scipy.stats import ttest_rel
    rng = np.random.default_rng(1)
    before = rng.normal(40.0, 2.0, 20)
    r = np.stack([before, before - 12.0 + rng.normal(0, 1.0, 20), before + rng.normal(0, 1.0, 20)], axis=1)
    st = ex.paradoxical_stats(r)
    assert st["n"] == 20 and st["df"] == 19
    assert st["during_hz"] < st["before_hz"] and st["p_during_lt_before"] < 1e-10
    assert st["p_during_lt_after"] == pytest.approx(ttest_rel(r[:, 1], r[:, 2], alternative="less").pvalue)
    assert st["log10_p_during_lt_after"] == pytest.approx(np.log10(st["p_during_lt_after"]), abs=1e-6)
    assert st["p_after_vs_before"] == pytest.approx(ttest_rel(r[:, 2], r[:, 0]).pvalue) and st["p_after_vs_before"] > 0.01
    # no recovery: after stays down; during < after then fails
    r2 = r.copy()
    r2[:, 2] = r2[:, 1] + rng.normal(0, 1.0, 20)
    st2 = ex.paradoxical_stats(r2)
    assert st2["p_after_vs_before"] < 1e-10 and st2["p_during_lt_after"] > 0.01
    assert ex.paradoxical_stats(r[:1]) == {}
    with pytest.raises(ValueError, match="shape"):
        ex.paradoxical_stats(r[:, :2])


def test_paired_error_test_of_frozen_inhibition():
    def m(e, i):
        return {"final_rates_hz": {"pyr": [e], "pv": [i]}, "targets_hz": {"pyr": 20.0, "pv": 40.0}}
    full = [m(20.0 + d, 40.0 - d) for d in (0.1, -0.2, 0.3, 0.0, 0.5, -0.1, 0.2, 0.4)]
    worse = [m(20.0 + 3 * d, 40.0 + 5.0 + k) for k, d in enumerate((1, -1, 2, 1, -2, 1, 3, -1))]
    t = ex.paired_error_test(worse, full, "pv")
    assert t["n"] == 8 and t["frozen_worse"] == 8 and t["p"] == pytest.approx(1 / 256)
    same = ex.paired_error_test(full, full, "pyr")
    assert same["p"] == 1.0 and same["frozen_worse"] == 0
    better = ex.paired_error_test(full, worse, "pv")
    assert better["p"] > 0.9
    assert np.isnan(ex.paired_error_test(full[:1], worse[:1], "pv")["p"])
    with pytest.raises(ValueError, match="pair up"):
        ex.paired_error_test(full, worse[:3], "pv")


def test_cli_registers_every_experiment():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for c in COMMANDS:
        assert c in sub.choices
        args = parser.parse_args([c, "--out", "x", "--quick"])
        assert callable(args.func)
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--seed", "-1"])


def test_rule_settings():
    assert ex.rule_config("text").alpha == 0.05 and ex.rule_config("text").presyn == "rate"
    code = ex.rule_config("code")
    assert code.alpha == 0.005 and code.presyn == "max1" and code.clip_fine == 5.0
    with pytest.raises(ValueError, match="rule"):
        ex.rule_config("other")


def test_training_on_chip_model_moves_rates_toward_targets():
    """From a runaway start (all weights strong, both populations far above target) a few
    iterations of the rule (authors' code setting) bring both rates down towards 20/40 Hz."""
    chip = ex.make_chip(1)
    net = build_network(NetworkConfig(), seed=1)
    init = np.array([[5, 27], [4, 95], [5, 75], [5, 115]])
    cfg = TrainConfig(n_iterations=14, n_reps=2, final_window=3, rule=ex.rule_config("code"))
    res = train(chip, net, cfg, seed=1, init_codes=init)
    e0, i0 = res.rates_hz[0, 0]
    ef, i_f = res.final_rates()[0]
    assert e0 > 100 and i0 > 80  # runaway start
    assert abs(ef - 20) < 0.5 * abs(e0 - 20) and abs(i_f - 40) < 0.5 * abs(i0 - 40)
    assert ef > 10 and i_f > 20  # toward the targets, not into silence (which also shrinks the error)
    # the rule moved every weight in the direction eq. 2 prescribes for E, I above target
    d = res.codes[-1, :4].astype(float) @ [256, 1] - res.codes[0, :4].astype(float) @ [256, 1]
    assert d[0] < 0 and d[1] > 0 and d[2] > 0 and d[3] < 0


def test_cli_train_writes_metrics(tmp_path):
    out = tmp_path / "t"
    assert main(["train", "--out", str(out), "--quick", "--iterations", "2", "--reps", "1", "--quiet",
                 "--seed", "3", "--chip-seed", "2"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    for key in ("final_rates_hz", "targets_hz", "converged", "iterations", "seed", "chip_seed", "wall_s"):
        assert key in m
    assert m["seed"] == 3 and m["chip_seed"] == 2 and m["iterations"] == 2
    assert set(m["final_rates_hz"]) == {"pyr", "pv"}
    assert (out / "fig2ab_training.png").stat().st_size > 0 and (out / "fig2c_raster.png").exists()
    with np.load(out / "data.npz") as z:
        assert z["codes"].shape == (3, 5, 2) and z["rates_hz"].shape == (2, 1, 2)


def _trained(codes, seed=1, chip=0):
    return {"chip_seed": chip, "seed": seed, "dt_s": 1e-4, "mismatch_cv": 0.2,
            "network": {"n_exc": 200, "n_inh": 50, "p": 0.1, "n_clusters": 1}, "final_codes": codes + [[0, 0]]}


def test_sustained_trials_tells_self_sustained_from_transient():
    # final weights of a 400-iteration training (chip 0, seed 1, authors' code rule) whose activity
    # outlives the kick, and the same network with much weaker excitation, whose burst dies with the kick
    sustained = _trained([[4, 207], [4, 179], [5, 130], [5, 32]])
    weak = _trained([[3, 207], [4, 179], [5, 130], [5, 32]])
    assert ex.sustained_trials(sustained) >= 4
    assert ex.sustained_trials(weak) == 0
    ends = ex.activity_end_times(weak)
    # the weak network's activity ends soon after the 40 ms kick, never past 0.9 s
    assert ends.shape == (5,) and np.all(ends < 0.9) and np.all(ends > 0.03)
    assert np.sum(ex.activity_end_times(sustained) >= 0.9) == ex.sustained_trials(sustained)
    # without any inhibition the sustained network's w_ee still ignites lasting activity; the weak one's cannot
    assert ex.excitation_only_sustained(sustained) == 3
    assert ex.excitation_only_sustained(weak) == 0
    res = {"s": ({**sustained, "converged": [True]}, {}), "w": ({**weak, "converged": [True]}, {})}
    g = ex._w_ee_alone(res, ex.run_outcomes(res, {"s": 5, "w": 0}))
    assert g == {"sustained": [1, 1], "not_sustained": [0, 1]}


def test_weights_by_sustain_groups_and_ranges():
    res = {f"n{k}": ({"final_currents_a": [w, 2 * w, 3 * w, 4 * w, 0.0], "converged": [True]}, {})
           for k, w in enumerate((1e-8, 2e-8, 4e-8, 1e-7, 2e-7))}
    trials = {"n0": 0, "n1": 2, "n2": 3, "n3": 5, "n4": 4}
    g = ex.weights_by_sustain(res, ex.run_outcomes(res, trials))
    assert g["sustained"]["n"] == 3 and g["not_sustained"]["n"] == 2
    np.testing.assert_allclose(g["sustained"]["ee"], [4e-8, 1e-7, 2e-7])
    np.testing.assert_allclose(g["sustained"]["ii"], [1.6e-7, 4e-7, 8e-7])
    np.testing.assert_allclose(g["not_sustained"]["ei"], [3e-8, 4.5e-8, 6e-8])
    two = {n: res[n] for n in ("n0", "n1")}
    g = ex.weights_by_sustain(two, ex.run_outcomes(two, trials))
    assert g["sustained"] == {"n": 0, "ee": [], "ie": [], "ei": [], "ii": []}
    json.dumps(g)


def test_ensemble_summary_premise_return_and_weights():
    k = 30
    r = np.zeros((50, 1, 2))
    r[:, 0] = [20.5, 41.0]
    r[k:k + 3, 0] = [60.0, 90.0]          # the jump after the implant
    cur = np.full((50, 5), 1e-7)
    cur[:k, 4] = 0.0
    cur[k:, 4] = 1.1e-7                   # mem above w_ee from the implant on
    m = {"seed": 3, "chip_seed": 1, "targets_hz": {"pyr": 20.0, "pv": 40.0},
         "final_rates_hz": {"pyr": [20.5], "pv": [41.0]}, "converged": [True]}
    # last trial: ensemble neurons 0..3 fire 8 spikes each after the ignored 60 ms, the other 4 Pyr 2 each;
    # spikes in the first 60 ms are not counted
    ens, exc = np.arange(4), np.arange(8)
    n = np.concatenate([np.repeat(ens, 8), np.repeat(np.arange(4, 8), 2), exc])
    t = np.concatenate([np.linspace(0.1, 0.9, 40), np.full(8, 0.03)])
    last = {"last_neurons": n, "last_times_s": t, "ensemble": ens, "exc": exc}
    s = ex._ensemble_summary(m, {"rates_hz": r, "currents_a": cur, **last}, k)
    np.testing.assert_allclose(s["last_trial_rates_hz"]["ensemble"], 8 / 0.94)
    np.testing.assert_allclose(s["ensemble_rate_ratio"], 4.0)
    assert s["ensemble_selective"]
    assert s["converged_before_implant"] and s["converged"] and s["mem_above_wee_all_iterations"]
    assert s["rates_peak_after_implant_hz"] == {"pyr": 60.0, "pv": 90.0}
    assert s["iterations_to_return"] == 3
    r[k - 20:k, 0] = [0.0, 0.0]           # silent before the implant: the premise fails
    cur[k + 5, 4] = 0.9e-7
    s = ex._ensemble_summary(m, {"rates_hz": r, "currents_a": cur, **last}, k)
    assert not s["converged_before_implant"] and not s["mem_above_wee_all_iterations"]


def test_log_t_cdf_matches_scipy_and_stays_finite_in_the_far_tail():
    """The paradoxical p over thousands of neuron-trial pairs underflows; its log must not."""
    from scipy.stats import t as student_t
    from scipy.stats import ttest_rel
    for df in (5, 60, 3049):
        for t in (-3.0, -12.0, -30.0):
            assert ex._log_t_cdf(t, df) == pytest.approx(student_t.logcdf(t, df), rel=1e-9)
    far = [ex._log_t_cdf(t, 3049) for t in (-50.0, -60.0, -80.0)]
    assert np.all(np.isfinite(far)) and far[0] > far[1] > far[2]
    # normal limit at large df: ln Phi(-60) = -1804.9 (Mills ratio), t tails are heavier
    assert -1806.0 < ex._log_t_cdf(-60.0, 10**7) < -1800.0
    rng = np.random.default_rng(0)
    before = rng.normal(20.0, 1.0, 4000)
    res = ttest_rel(before - 3.0 + rng.normal(0.0, 0.3, 4000), before, alternative="less")
    assert res.pvalue == 0.0  # underflowed
    d = ex._t_less(res, 4000)
    assert d["df"] == 3999 and d["t_during_lt_before"] < -100 and np.isfinite(d["log10_p_during_lt_before"])
    assert d["log10_p_during_lt_before"] < -308


def test_cv2_by_rate_bands():
    out = ex._cv2_by_rate([0.1, 0.3, 1.0, 0.05], [5.0, 8.0, 20.0, 80.0])
    assert list(out) == ["0-10 Hz", "10-30 Hz", "30-inf Hz"]
    assert out["0-10 Hz"] == [pytest.approx(0.2), 2]
    assert out["10-30 Hz"] == [pytest.approx(1.0), 1] and out["30-inf Hz"] == [pytest.approx(0.05), 1]
    empty = ex._cv2_by_rate([], [])
    assert all(np.isnan(v[0]) and v[1] == 0 for v in empty.values())


def test_clusters_summarises_every_training(tmp_path):
    m = ex.experiment_clusters(tmp_path, inits=2, seed=3, n_iterations=2, n_reps=1, rule="code", workers=1,
                               quiet=True)
    assert m["inits"] == 2 and [r["seed"] for r in m["runs"]] == [3, 4] and m["shown_seed"] == 3
    assert m["clusters_converged_all_runs"]["of"] == 10
    assert m["clusters_converged_all_runs"]["clusters"] == sum(sum(r["converged_per_cluster"]) for r in m["runs"])
    for r in m["runs"]:
        assert len(r["final_rates_hz"]["pyr"]) == 5
        assert r["spread_hz"]["pyr"] == pytest.approx(max(r["final_rates_hz"]["pyr"]) - min(r["final_rates_hz"]["pyr"]))
    assert m["final_rates_hz"] == m["runs"][0]["final_rates_hz"]
    assert (tmp_path / "fig6_clusters.png").exists() and (tmp_path / "fig6_clusters_seed4.png").exists()
    assert json.loads((tmp_path / "metrics.json").read_text())["runs_all_converged"]["of"] == 2


@pytest.mark.parametrize("fn, kw, match", [
    (ex.experiment_sweep, {"inits": 0}, r"inits=0 is outside the allowed range \[1, 10000\]"),
    (ex.experiment_sweep, {"chips": 2.5}, "chips=2.5"),
    (ex.experiment_regime, {"trials": 0}, "trials=0"),
    (ex.experiment_paradoxical, {"dc_a": -1e-10}, r"dc_a=-1e-10 is outside the allowed range \(0, 1e-06\]"),
    (ex.experiment_no_inhibitory, {"n_reps": 0}, "n_reps=0"),
    (ex.experiment_ensemble, {"rule": "book"}, "rule='book'"),
    (ex.experiment_ensemble, {"n_iterations": 80, "ensemble_at": 100}, r"ensemble_at=100 is outside the allowed range \[1, 79\]"),
    (ex.experiment_sizes, {"seed": -1}, "seed=-1"),
    (ex.experiment_clusters, {"mismatch_cv": 4.0}, r"mismatch_cv=4.0 is outside the allowed range \[0, 3\]"),
])
def test_experiments_check_their_arguments_before_running(tmp_path, fn, kw, match):
    with pytest.raises(ValueError, match=match):
        fn(tmp_path, **kw)
    assert not (tmp_path / "runs").exists()


def test_ensemble_figure_shows_the_last_trial_raster(tmp_path):
    from matplotlib import image

    from homeostasis import plotting_training as pt
    rng = np.random.default_rng(0)
    exc, inh, ens = np.arange(20), 256 + np.arange(5), np.arange(4)
    n = rng.choice(np.concatenate([exc, inh]), 300)
    arrays = {"rates_hz": np.full((30, 1, 2), 20.0), "currents_a": np.full((31, 5), 1e-7), "ensemble": ens,
              "exc": exc, "inh": inh, "last_neurons": n, "last_times_s": np.sort(rng.uniform(0, 1, 300))}
    path = pt.plot_ensemble(arrays, {"pyr": 20.0, "pv": 40.0}, 10, tmp_path / "f.png",
                            {"ensemble": 12.0, "other_pyr": 3.0})
    wide = image.imread(path).shape[1]
    arrays["ensemble"] = np.zeros(0, np.int64)  # no implant: no raster panel
    narrow = image.imread(pt.plot_ensemble(arrays, {"pyr": 20.0, "pv": 40.0}, 10, tmp_path / "g.png")).shape[1]
    assert wide > 1.4 * narrow


def test_outcome_by_initial_coarse_counts_every_run_once():
    def run(c_ee, conv):
        return {"initial_codes": [[c_ee, 50], [4, 50], [4, 50], [4, 50]], "converged": [conv]}, {}
    res = {"a": run(3, True), "b": run(3, False), "c": run(5, True), "d": run(5, True), "e": run(4, True)}
    trials = {"a": 0, "c": 5, "d": 2, "e": 3}
    outcomes = ex.run_outcomes(res, trials)
    out = ex.outcome_by_initial_coarse(res, outcomes)
    assert list(out) == ["3", "4", "5"]
    assert out["3"] == {"sustained": 0, "not_sustained": 1, "not_converged": 1}
    assert out["4"] == {"sustained": 1, "not_sustained": 0, "not_converged": 0}
    assert out["5"] == {"sustained": 1, "not_sustained": 1, "not_converged": 0}
    assert ex.outcome_by_initial_coarse(res, outcomes, weight=1) == {
        "4": {"sustained": 2, "not_sustained": 2, "not_converged": 1}}


def test_weight_scatter_draws_echo_networks_hollow(monkeypatch, tmp_path):
    from homeostasis import plotting_training as pt
    figs = []
    monkeypatch.setattr(pt, "_save", lambda fig, path: figs.append(fig) or path)
    w = np.geomspace(1e-8, 1e-6, 24).reshape(6, 4)
    chips = np.array([0, 0, 0, 1, 1, 1])
    conv = np.array([True, True, False, True, True, True])
    sus = np.array([True, False, True, True, True, False])  # a run that did not converge is never "sustained"
    pt.plot_weight_scatter(w, chips, tmp_path / "e.png", conv, sus)
    ax = figs[-1].axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "chip 0, self-sustained", "chip 0, converged, not self-sustained", "chip 0, not converged",
        "chip 1, self-sustained", "chip 1, converged, not self-sustained"]
    sizes = [len(c.get_offsets()) for c in ax.collections]
    assert sizes == [1, 1, 1, 2, 1]
    assert len(ax.collections[1].get_facecolors()) == 0  # hollow
    assert len(ax.collections[0].get_facecolors()) == 1  # filled
    pt.plot_weight_scatter(w, chips, tmp_path / "f.png", conv)  # without the sustain flags: as before
    assert [t.get_text() for t in figs[-1].axes[0].get_legend().get_texts()] == [
        "chip 0", "chip 0, not converged", "chip 1"]
    for fig in figs:
        pt.plt.close(fig)


def test_model_version_covers_the_trainer_and_a_stale_run_is_reported(capsys, monkeypatch):
    """A stored training is reused by arguments; its version stamp must change with the rule, the rates
    and the network builder too (it covered only the chip model), and a mismatch is said aloud."""
    import hashlib
    from pathlib import Path

    import circuits
    import homeostasis
    here = Path(homeostasis.__file__).parent
    h = hashlib.sha1()
    for name in ("dac.py", "chip.py", "kernels.py", "neuron_types.py", "interface.py", "trainer.py", "rule.py",
                 "rates.py", "network.py"):
        h.update((here / name).read_bytes())
    for name in ("mismatch.py", "constants.py"):
        h.update((Path(circuits.__file__).parent / name).read_bytes())
    h.update(repr(sorted(ex.RULES.items())).encode())
    assert ex.chip_fingerprint() == h.hexdigest()[:12]
    now = ex.chip_fingerprint()
    assert ex._model_versions({"a": ({"chip_model": now}, {})}) == {"trained_on": [now], "analysed_on": now,
                                                                    "same": True}
    assert capsys.readouterr().err == ""
    v = ex._model_versions({"a": ({"chip_model": "0123456789ab"}, {})})
    assert v["same"] is False and "0123456789ab" in capsys.readouterr().err


def test_paradoxical_control_trial_separates_suppression_from_networks_dying_by_themselves(tmp_path, monkeypatch):
    """A trial silent after the stimulus is counted as suppressed only when its paired control (same kick
    and seed, no current) still fires then; otherwise the network died by itself."""
    from types import SimpleNamespace

    exc, inh = np.arange(4), np.arange(256, 258)
    net = SimpleNamespace(exc=exc, inh=inh)

    def rec(pyr_until):  # every neuron fires every 10 ms; Pyr stop at pyr_until
        t = np.arange(0.005, 1.0, 0.01)
        neurons = np.concatenate([np.repeat(exc, (t < pyr_until).sum()), np.repeat(inh, t.size)])
        times = np.concatenate([np.tile(t[t < pyr_until], exc.size), np.tile(t, inh.size)])
        return SimpleNamespace(neurons=neurons, times_s=times)

    # per trial: (stimulated, control) Pyr end times; the control is run only for a silent "after" window
    script = [(1.0, None), (0.45, 1.0), (0.45, 0.5), (0.1, None)]
    calls = []

    def fake_trial(chip, net_, cfg, kick, seed, *, dc_a):
        calls.append((seed, dc_a))
        stim, ctl = script[sum(1 for _, d in calls if d > 0) - 1]
        return rec(stim if dc_a > 0 else ctl)

    m = {"converged": [True], "seed": 3, "chip_model": ex.chip_fingerprint()}
    monkeypatch.setattr(ex, "run_sweep", lambda *a, **k: {"run0": (m, {})})
    monkeypatch.setattr(ex, "_chip_with_codes", lambda m_: (None, net, SimpleNamespace(kick=None)))
    monkeypatch.setattr(ex, "make_kick", lambda rng, pop, kick: None)
    monkeypatch.setattr(ex, "paradoxical_trial", fake_trial)
    out = ex.experiment_paradoxical(tmp_path, inits=1, chips=1, trials=4, quiet=True)
    assert (out["trials_analysed"], out["trials_fully_suppressed"], out["trials_died_without_stimulus"],
            out["trials_not_sustained_before"]) == (1, 1, 1, 1)
    # each control repeats its trial's seed without current
    assert [d for _, d in calls] == [1e-10, 1e-10, 0.0, 1e-10, 0.0, 1e-10]
    assert calls[1][0] == calls[2][0] and calls[3][0] == calls[4][0]


def test_not_converged_diagnostics_tell_a_dac_end_from_a_slow_run():
    t = 200
    tgt = {"pyr": 20.0, "pv": 40.0}

    def run(e_start, e_end, conv=False, sat_col=None, arrays=True):
        rates = np.zeros((t, 1, 2))
        rates[:, 0, 0] = np.linspace(e_start, e_end, t)
        rates[:, 0, 1] = 40.0
        sat = np.zeros((t, 4), bool)
        if sat_col is not None:
            sat[-60:, sat_col] = True  # 60 of the last 100 iterations: held at the end
        m = {"converged": [conv], "targets_hz": tgt, "final_rates_hz": {"pyr": [e_end], "pv": [40.0]},
             "final_codes": [[5, 255], [4, 80], [3, 100], [2, 30], [0, 0]]}
        return m, ({"rates_hz": rates, "saturated": sat} if arrays else {})

    res = {"ok": run(20.0, 20.0, conv=True), "end": run(2.0, 2.0, sat_col=3), "slow": run(0.0, 14.0),
           "flat": run(15.0, 15.0), "bare": run(1.0, 1.0, arrays=False)}
    d = ex.not_converged_diagnostics(res, window=20, lookback=100)
    assert set(d["runs"]) == {"end", "slow", "flat", "bare"}
    assert d["counts"] == {"at_dac_end": 1, "approaching": 1, "not_approaching": 1, "unknown": 1}
    assert d["runs"]["end"]["at_dac_end"] == ["ii"] and d["runs"]["end"]["kind"] == "at_dac_end"
    # distance in units of the criterion: 18 Hz below the Pyr target is 9 tolerances
    assert d["runs"]["end"]["distance"] == pytest.approx([9.0, 9.0])
    d0, d1 = d["runs"]["slow"]["distance"]
    assert d1 < 0.9 * d0 and d["runs"]["slow"]["kind"] == "approaching"
    assert d["runs"]["flat"]["distance"] == pytest.approx([2.5, 2.5]) and d["runs"]["flat"]["kind"] == "not_approaching"
    assert d["runs"]["bare"]["kind"] == "unknown" and "distance" not in d["runs"]["bare"]
    # 40 of 100 saturated iterations are below the threshold: not held at the end
    res["end"][1]["saturated"][-60:-40, 3] = False
    assert ex.not_converged_diagnostics(res, lookback=100)["runs"]["end"]["kind"] == "not_approaching"
    # by default the look back is a quarter of the run, the window at most that: a 60-iteration quick run works too
    short = ex.not_converged_diagnostics({k: (m, {n: v[-60:] for n, v in a.items()}) for k, (m, a) in res.items()})
    assert short["runs"]["slow"]["lookback"] == 15 and short["runs"]["slow"]["window"] == 15
    assert short["runs"]["slow"]["kind"] == "approaching" and short["counts"]["unknown"] == 1
