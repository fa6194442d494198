"""Efficient Balanced Networks trained with the discrete learning rule (Büchel et al. 2021)."""
