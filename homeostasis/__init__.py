"""DYNAP-SE2 behavioural chip model and cross-homeostatic chip-in-the-loop training (Maryada et al. 2025)."""
