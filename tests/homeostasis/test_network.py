"""E/I network builder: sizes, connection probability per ordered pair, clusters, ensemble."""
import math

import numpy as np
import pytest

from homeostasis.interface import SYNAPSE_TYPES
from homeostasis.network import MEM, NetworkConfig, add_ensemble, build_network


def test_paper_network_statistics():
    net = build_network(NetworkConfig(), seed=1)
    assert net.exc.size == 200 and net.inh.size == 50
    assert np.all(net.exc // 256 == 0) and np.all(net.inh // 256 == 1)
    assert not np.any(net.pre == net.post)
    # each block: Binomial(n_pairs, 0.1); 5-sigma bounds
    blocks = {0: 200 * 199, 1: 200 * 50, 2: 50 * 200, 3: 50 * 49}
    for k, n_pairs in blocks.items():
        count = int(np.sum(net.weight_class == k))
        sd = math.sqrt(n_pairs * 0.1 * 0.9)
        assert abs(count - 0.1 * n_pairs) < 5 * sd, (k, count)
    # synapse types: excitatory AMPA, inhibitory GABA_A
    exc_pre = np.isin(net.pre, net.exc)
    assert np.all(np.array(SYNAPSE_TYPES)[net.syn_type[exc_pre]] == "AMPA")
    assert np.all(np.array(SYNAPSE_TYPES)[net.syn_type[~exc_pre]] == "GABA_A")
    # weight classes agree with pre/post populations
    e_post = np.isin(net.post, net.exc)
    assert np.all(net.weight_class[exc_pre & e_post] == 0)
    assert np.all(net.weight_class[exc_pre & ~e_post] == 1)
    assert np.all(net.weight_class[~exc_pre & e_post] == 2)
    assert np.all(net.weight_class[~exc_pre & ~e_post] == 3)
    assert net.fan_in().max() <= 64
    # same seed same network, different seed different network
    again = build_network(NetworkConfig(), seed=1)
    assert np.array_equal(again.pre, net.pre) and np.array_equal(again.post, net.post)
    other = build_network(NetworkConfig(), seed=2)
    assert other.pre.size != net.pre.size or not np.array_equal(other.post, net.post)
    assert net.weight_target(0) == (0, net.config.weight_bias_names[0])
    assert net.weight_target(1)[0] == 1 and net.weight_target(3)[0] == 1


def test_clusters_have_no_cross_talk():
    cfg = NetworkConfig(n_exc=50, n_inh=15, p=0.35, n_clusters=5)
    net = build_network(cfg, seed=3)
    lab = np.full(1024, -1)
    for c, (e, i) in enumerate(net.clusters):
        assert e.size == 50 and i.size == 15
        lab[e] = c
        lab[i] = c
    assert np.all(lab[net.pre] == lab[net.post])
    assert np.all(lab[net.pre] >= 0)


def test_ensemble_probability_and_weight_class():
    net = build_network(NetworkConfig(), seed=4)
    ens_net = add_ensemble(net, seed=5, size=32, p_within=0.5)
    ens = ens_net.ensemble
    assert ens.size == 32 and np.all(np.isin(ens, net.exc))
    inside = np.isin(ens_net.pre, ens) & np.isin(ens_net.post, ens) & np.isin(ens_net.weight_class, (0, MEM))
    assert np.all(ens_net.weight_class[inside] == MEM)
    n = int(inside.sum())
    n_pairs = 32 * 31
    assert abs(n - 0.5 * n_pairs) < 5 * math.sqrt(n_pairs * 0.25)
    # the rest of the network is untouched
    assert ens_net.n_connections - n == net.n_connections - int(
        np.sum(np.isin(net.pre, ens) & np.isin(net.post, ens) & (net.weight_class == 0)))
    assert net.ensemble.size == 0


def test_validation_and_fan_in_limit():
    with pytest.raises(ValueError, match="p="):
        NetworkConfig(p=0.0)
    with pytest.raises(ValueError, match="n_exc"):
        NetworkConfig(n_exc=60, n_clusters=5)
    with pytest.raises(ValueError, match="inputs"):
        build_network(NetworkConfig(n_exc=200, n_inh=50, p=0.5), seed=0)
    with pytest.raises(ValueError, match=r"weight_bias_names\[1\] \(ie\)='W9'"):
        NetworkConfig(weight_bias_names=("W0", "W9", "W1", "W1", "W2"))
    with pytest.raises(ValueError, match="same core"):
        NetworkConfig(weight_bias_names=("W0", "W0", "W0", "W1", "W2"))  # ee and ei on one bias
