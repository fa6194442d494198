"""Resumable EBN experiments: a stored run is reused only for the same settings."""
from ebn.config import EBNConfig, TrainConfig
from ebn.experiments import seed_table


def _no_times(rows):
    return [{k: v for k, v in r.items() if not k.endswith("wall_s")} for r in rows]


def test_stored_runs_are_keyed_by_every_setting(tmp_path):
    small = seed_table(EBNConfig(n_neurons=20), TrainConfig(n_iterations=0), [1], out=tmp_path)
    again = seed_table(EBNConfig(n_neurons=20), TrainConfig(n_iterations=0), [1], out=tmp_path)
    assert again == small and len(list((tmp_path / "runs").glob("*.json"))) == 1
    # other network size and training length, same seed and folder: a new run, not the stored one
    other = seed_table(EBNConfig(n_neurons=30), TrainConfig(n_iterations=1), [1], out=tmp_path)
    fresh = seed_table(EBNConfig(n_neurons=30), TrainConfig(n_iterations=1), [1])
    assert _no_times(other) != _no_times(small) and _no_times(other) == _no_times(fresh)
    assert len(list((tmp_path / "runs").glob("*.json"))) == 2
