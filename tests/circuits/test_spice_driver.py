"""The ngspice driver: analytical RC check, parameter overrides, analyses and error handling."""
import numpy as np
import pytest

from circuits import spice

pytestmark = pytest.mark.spice


def test_rc_step_response_matches_analytical():
    r = spice.run_tran("benches/rc_tb.cir", step=1e-5, stop=5e-3, corner=None, max_step=1e-5)
    tau = 1e3 * 1e-6
    expected = 1.0 - np.exp(-r.time / tau)
    # trapezoidal integration with dt = tau/100: error well below 0.1 % of the step
    assert np.max(np.abs(r.v("out") - expected)) < 1e-3
    assert r.time[-1] == pytest.approx(5e-3)


def test_parameter_override_changes_tau():
    r = spice.run_tran("benches/rc_tb.cir", step=1e-5, stop=5e-3, corner=None, max_step=1e-5,
                       params={"r": 2e3, "vstep": 0.5})
    # at t = tau = 2 ms the output is 0.5 (1 - 1/e)
    assert np.interp(2e-3, r.time, r.v("out")) == pytest.approx(0.5 * (1 - np.exp(-1)), rel=2e-3)


def test_op_and_dc_vectors_by_name():
    op = spice.run_op("benches/rc_tb.cir", corner=None)
    assert op.v("in")[0] == pytest.approx(0.0)
    text = "* divider\nV1 a 0 1\nR1 a b 1k\nR2 b 0 3k\n"
    dc = spice.run_dc(text, "V1", 0.0, 2.0, 0.5, corner=None)
    assert np.allclose(dc.sweep, [0, 0.5, 1.0, 1.5, 2.0])
    assert np.allclose(dc.v("b"), 0.75 * dc.sweep)
    # ngspice's sign: current into the source's + terminal is negative when it delivers power
    assert np.allclose(dc.i("v1"), -dc.sweep / 4e3)
    with pytest.raises(KeyError, match="available"):
        dc.v("nosuchnode")


def test_sky130_device_in_subthreshold():
    text = "* nfet\nVD d 0 0.9\nVG g 0 0.3\nXM1 d g 0 0 sky130_fd_pr__nfet_01v8 W=2 L=2\n"
    i_d = -spice.run_op(text).i("vd")[0]
    assert 1e-11 < i_d < 1e-8  # subthreshold: nA range at V_GS = 0.3 V


def test_unknown_parameter_is_rejected():
    with pytest.raises(spice.SpiceError, match=r"unknown parameter.*zz"):
        spice.run_op("benches/rc_tb.cir", corner=None, params={"zz": 1})


@pytest.mark.parametrize("text, ngspice_text", [
    ("* bad subckt\nX1 a b nosuchblock\nR1 a 0 1k\n", "unknown subckt"),
    ("* bad model\nR1 a 0 1k\nM1 a a 0 0 nomodel W=1 L=1\n", "could not find a valid modelname"),
    ("* floating\nV1 a 0 1\nC1 a b 1p\nC2 b 0 1p\nR1 b c 1k\n", "singular matrix"),
    ("* missing lib\n.lib /nonexistent/models.lib tt\nR1 a 0 1\nV1 a 0 1\n", "Could not find library file"),
])
def test_ngspice_failures_raise_with_ngspice_text(text, ngspice_text):
    with pytest.raises(spice.SpiceError) as err:
        spice.run_op(text, corner=None)
    assert ngspice_text.lower() in str(err.value).lower()
    assert "<inline netlist>" in str(err.value)


def test_timestep_too_small_raises_and_driver_recovers():
    text = ("* hard switching loop\nV1 a 0 PULSE(0 1 1n 1n 1n 5n 10n)\n"
            "B1 y 0 V={v(a)>0.5 ? (v(x)>0.5?0:1) : 0}\nR1 y x 1k\nC1 x 0 1e-24\n")
    with pytest.raises(spice.SpiceError, match="(?i)timestep too small"):
        spice.run_tran(text, 1e-11, 2e-8, corner=None)
    # the next run works (a fatal error restarts the ngspice worker)
    assert spice.run_op("benches/rc_tb.cir", corner=None).v("in")[0] == 0.0


def test_netlist_name_in_errors_and_missing_file():
    with pytest.raises(spice.SpiceError, match="not found"):
        spice.run_op("benches/does_not_exist.cir")


def test_time_limit_halts_a_long_run():
    text = "* long\nV1 a 0 SIN(0 1 1e6)\nR1 a b 1k\nC1 b 0 1n\n"
    with pytest.raises(spice.SpiceError, match="time limit"):
        spice.run_tran(text, 1e-10, 1.0, corner=None, timeout_s=1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="step"):
        spice.run_tran("benches/rc_tb.cir", step=0, stop=1e-3, corner=None)
    with pytest.raises(ValueError, match="corner"):
        spice.run_op("benches/rc_tb.cir", corner="xx")
    with pytest.raises(ValueError, match="seed"):
        spice.run_op("benches/rc_tb.cir", corner=None, seed=-3)


def test_pyspice_not_imported_by_the_network_packages():
    import subprocess
    import sys
    code = "import sys, ebn, homeostasis, circuits; assert 'PySpice' not in sys.modules, 'PySpice imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parameters_on_continuation_lines_can_be_overridden():
    text = "* continued params\n.param r1=1k\n+ r2=3k\nV1 a 0 1\nR1 a b {r1}\nR2 b 0 {r2}\n"
    assert spice.run_op(text, corner=None).v("b")[0] == pytest.approx(0.75)
    assert spice.run_op(text, corner=None, params={"r2": 1e3}).v("b")[0] == pytest.approx(0.5)
