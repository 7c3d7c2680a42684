"""Small hand-written Gymnasium envs, each with one deliberate bug (and one without any).

`Walker` is correct: a point on a line, pushed left/right/not at all, with its own time limit
(``max_episode_steps``, the attribute envgen fuzz reads for unregistered envs). Every other
class changes one thing to break one contract.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class Walker(gym.Env):
    metadata = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}
    max_episode_steps = 30

    def __init__(self, render_mode=None):
        self.observation_space = spaces.Box(-10.0, 10.0, (2,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.render_mode = render_mode
        self.pos, self.vel, self.t = 0.0, 0.0, 0

    def _obs(self):
        return np.array([self.pos, self.vel], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.pos = float(self.np_random.uniform(-1.0, 1.0))
        self.vel = 0.0
        return self._obs(), {}

    def _push(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r} for {self.action_space}")
        self.vel = 0.9 * self.vel + 0.1 * (int(action) - 1)

    def step(self, action):
        self._push(action)
        self.t += 1
        self.pos = float(np.clip(self.pos + self.vel, -10.0, 10.0))
        reward = -abs(self.pos)
        truncated = self.t >= self.max_episode_steps
        return self._obs(), reward, False, truncated, {}

    def render(self):
        if self.render_mode == "ansi":
            return f"pos={self.pos:.2f} vel={self.vel:.2f}"
        if self.render_mode == "rgb_array":
            frame = np.zeros((16, 32, 3), dtype=np.uint8)
            frame[:, int(np.clip((self.pos + 10) * 1.5, 0, 31))] = 255
            return frame
        return None


class ObsDrift(Walker):
    """Position integrates a constant drift and is never clipped: leaves the Box after ~20
    steps."""

    def step(self, action):
        self._push(action)
        self.t += 1
        self.pos = self.pos + self.vel + 0.5
        truncated = self.t >= self.max_episode_steps
        return self._obs(), -abs(self.pos), False, truncated, {}


class LastStepIndexError(Walker):
    """Wind precomputed for max_episode_steps steps, read one past its end on the last step."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        self.wind = self.np_random.normal(0.0, 0.01, size=self.max_episode_steps)
        return obs, info

    def step(self, action):
        self._push(action)
        self.t += 1
        self.vel += float(self.wind[self.t])  # bug: should be self.t - 1
        self.pos = float(np.clip(self.pos + self.vel, -10.0, 10.0))
        truncated = self.t >= self.max_episode_steps
        return self._obs(), -abs(self.pos), False, truncated, {}


class GlobalRNG(Walker):
    """Draws the start position from NumPy's global generator, not self.np_random."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = float(np.random.uniform(-1.0, 1.0))
        return self._obs(), {}


class SometimesFloat64(Walker):
    """Builds the observation without a dtype while moving right: float64 on those steps."""

    def _obs(self):
        if self.vel > 0:
            return np.array([self.pos, self.vel])
        return np.array([self.pos, self.vel], dtype=np.float32)


class NaNReward(Walker):
    """Speed bonus sqrt(velocity): NaN as soon as the walker moves left."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        with np.errstate(invalid="ignore"):
            reward = float(np.sqrt(self.vel))
        return obs, reward, terminated, truncated, info


class LateTruncation(Walker):
    """Off-by-one: truncates after max_episode_steps + 1 steps."""

    def step(self, action):
        obs, reward, terminated, _, info = super().step(action)
        return obs, reward, terminated, self.t > self.max_episode_steps, info


class AcceptsInvalid(Walker):
    """Never checks the action: 7, -3 or 1.5 push the walker like any other number."""

    def _push(self, action):
        self.vel = 0.9 * self.vel + 0.1 * (float(action) - 1)


class RenderShapeChange(Walker):
    """The frame's width follows the walker's distance from the origin."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def render(self):
        return np.zeros((16, 32 + int(abs(self.pos) * 4), 3), dtype=np.uint8)


class SharedState(Walker):
    """Keeps its state in a class-level array: every instance moves the same walker."""

    state = np.zeros(2)

    def reset(self, *, seed=None, options=None):
        gym.Env.reset(self, seed=seed)
        self.t = 0
        self.state[:] = (self.np_random.uniform(-1.0, 1.0), 0.0)
        return self.state.astype(np.float32), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}")
        self.t += 1
        self.state[1] = 0.9 * self.state[1] + 0.1 * (int(action) - 1)
        self.state[0] = np.clip(self.state[0] + self.state[1], -10.0, 10.0)
        truncated = self.t >= self.max_episode_steps
        return self.state.astype(np.float32), -abs(float(self.state[0])), False, truncated, {}


class ReusedObsArray(Walker):
    """Returns its internal buffer as the observation and updates it in place."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.buffer = self._obs()
        return self.buffer, {}

    def step(self, action):
        _, reward, terminated, truncated, info = super().step(action)
        self.buffer[:] = (self.pos, self.vel)
        return self.buffer, reward, terminated, truncated, info


class ObsOnlyReset(Walker):
    """Old Gym API: reset returns the observation alone, without the info dict."""

    def reset(self, *, seed=None, options=None):
        obs, _ = super().reset(seed=seed, options=options)
        return obs


class IgnoresSeed(Walker):
    """Never passes the seed on: every episode starts from the same fixed generator state."""

    def reset(self, *, seed=None, options=None):
        self._np_random = np.random.default_rng(42)
        self.t, self.vel = 0, 0.0
        self.pos = float(self._np_random.uniform(-1.0, 1.0))
        return self._obs(), {}


class CloseTwiceFails(Walker):
    """Releases a resource in close() without remembering that it already did."""

    def reset(self, *, seed=None, options=None):
        self.log = []
        return super().reset(seed=seed, options=options)

    def close(self):
        del self.log


class Unpicklable(Walker):
    """Keeps a generator (of wind gusts) in its state: it cannot be pickled."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        self.gusts = (0.0 for _ in iter(int, 1))
        return obs, info


class LeakyReset(Walker):
    """reset() forgets to zero the velocity: a seeded reset mid-episode differs from a fresh one."""

    def reset(self, *, seed=None, options=None):
        vel = self.vel
        obs, info = super().reset(seed=seed, options=options)
        self.vel = vel
        return self._obs(), info


def good_vector_walker(num_envs, **kwargs):
    """A vector entry point: Walkers in a SyncVectorEnv (sub-env i seeded seed + i)."""
    return gym.vector.SyncVectorEnv([lambda: Walker(**kwargs) for _ in range(num_envs)])


class _DoubleRewards(gym.vector.VectorWrapper):
    def step(self, actions):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        return obs, rewards * 2, terminations, truncations, infos


def bad_vector_walker(num_envs, **kwargs):
    """A vector entry point whose rewards are twice the single env's."""
    return _DoubleRewards(good_vector_walker(num_envs, **kwargs))
