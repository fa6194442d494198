"""``python -m circuits plastic-synapse`` rejects bad options before any simulation."""
import pytest

from circuits.__main__ import main


@pytest.mark.parametrize("draws", ["0", "1"])
def test_model_draws_need_two_chips(tmp_path, draws):
    with pytest.raises(ValueError, match=f"--mc-model-draws={draws} is outside the allowed range"):
        main(["plastic-synapse", "--out", str(tmp_path), "--mc", "2", "--mc-model-draws", draws, "--quiet"])
    assert not (tmp_path / "metrics.json").exists()
