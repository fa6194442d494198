"""Efficient Balanced Networks trained with the discrete learning rule (Büchel et al. 2021).

Modules
-------
config        frozen, validated network / training configurations (units, weight grid)
signals       Gaussian-smoothed white-noise inputs and the EBN command signal
kernels       numba kernels: the network step and the discrete rule (paper eq. 3)
network       builder (decoder, optimal weights, initial weights, mismatch chip) and simulate()
metrics       distance to Omega* (Brendel et al. 2020), decoding error, rate, sparsity
training      Fig. 1 training loop with validation
experiments   seed table, granularity sweep, mismatch study (resumable)
reference     a straightforward NumPy implementation of the same network
bench         speed benchmark
plotting      one function per figure
cli_experiments  the ``python -m ebn`` commands
"""
