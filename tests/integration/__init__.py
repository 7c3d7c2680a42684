"""Integration tests: generated envs with Gymnasium vector envs, Stable-Baselines3 and RLlib."""
