"""The sky130 models: trimmed deck, explicit sources, PDK_ROOT."""
import time

import pytest

from circuits import pdk


def test_trimmed_deck_has_both_corners_and_devices():
    lib = pdk.deck_path("tt")
    text = lib.read_text()
    assert ".lib tt\n" in text and ".lib tt_mm\n" in text
    assert "MC_MM_SWITCH=1" in text
    fets = (lib.parent / "fet_01v8.spice").read_text()
    for dev in pdk.DEVICES:
        assert f".subckt  {dev} " in fets or f".subckt {dev} " in fets


def test_explicit_source_and_pdk_root(tmp_path, monkeypatch):
    trimmed = pdk.deck_path("tt")
    # a user library file without its continuous/ tree is used as it is
    lib = tmp_path / "sky130A" / "libs.tech" / "ngspice" / "sky130.lib.spice"
    lib.parent.mkdir(parents=True)
    lib.write_text(trimmed.read_text())
    assert pdk.deck_path("tt", source=lib) == lib
    monkeypatch.setenv("PDK_ROOT", str(tmp_path))
    assert pdk.deck_path("tt") == lib
    assert pdk.lib_line("tt_mm").endswith(" tt_mm")


def test_bad_source_and_corner(tmp_path):
    with pytest.raises(pdk.PDKError, match="not found"):
        pdk.deck_path("tt", source=tmp_path / "nothing")
    with pytest.raises(ValueError, match="corner"):
        pdk.deck_path("ff")


@pytest.mark.spice
def test_trimmed_deck_loads_fast():
    from circuits import spice

    text = "* t\nVD d 0 0.9\nVG g 0 0.3\nXM1 d g 0 0 sky130_fd_pr__nfet_01v8 W=2 L=2\n"
    spice.run_op(text)
    t0 = time.perf_counter()
    spice.run_op(text)
    # measured ~0.05 s here; the full library takes ~5 s. 1 s leaves room for a loaded CI machine.
    assert time.perf_counter() - t0 < 1.0
