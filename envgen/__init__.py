"""envgen: a declarative environment compiler for reinforcement learning."""

__version__ = "0.1.0"
