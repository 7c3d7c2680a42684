"""Small hand-written Gymnasium envs, each with one deliberate bug (and one without any).

`Walker` is correct: a point on a line, pushed left/right/not at all, with its own time limit
(``max_episode_steps``, the attribute envgen fuzz reads for unregistered envs). Every other
class changes one thing to break one contract.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle


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


class TerminatesAtLimit(Walker):
    """Its time limit of 30 steps (declared) ends every episode with terminated=True at step 29."""

    def step(self, action):
        obs, reward, _, _, info = super().step(action)
        return obs, reward, self.t >= self.max_episode_steps - 1, False, info


class FixedHorizon(Walker):
    """Declares no time limit, but terminates every episode at step 25, whatever the actions."""

    max_episode_steps = None

    def step(self, action):
        self._push(action)
        self.t += 1
        self.pos = float(np.clip(self.pos + self.vel, -10.0, 10.0))
        return self._obs(), -abs(self.pos), self.t >= 25, False, {}


class FixedLengthTask(Walker):
    """Not broken: a fixed-length task (bsuite's Catch) whose 7th step is a real terminal
    state, with a declared safety time limit of 30 far beyond it."""

    def step(self, action):
        obs, reward, _, _, info = super().step(action)
        return obs, reward, self.t >= 7, False, info


class FixedStartGusts(Walker):
    """Not broken: every episode starts at 0 (whatever the seed) and seeded gusts push it."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed, options=options)
        self.pos = 0.0
        return self._obs(), {}

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self.pos = float(np.clip(self.pos + self.np_random.normal(0.0, 0.1), -10.0, 10.0))
        return self._obs(), -abs(self.pos), terminated, truncated, info


class FixedStartNoDraws(FixedStartGusts):
    """Starts at 0 and never draws: the seed changes nothing."""

    def step(self, action):
        return Walker.step(self, action)


class InfoAliasesState(Walker):
    """Reports its state in info as the very array it keeps updating in place."""

    def reset(self, *, seed=None, options=None):
        obs, _ = super().reset(seed=seed, options=options)
        self.state = np.array([self.pos, self.vel])
        return obs, {}

    def step(self, action):
        obs, reward, terminated, truncated, _ = super().step(action)
        self.state[:] = (self.pos, self.vel)
        return obs, reward, terminated, truncated, {"state": self.state}


class ResetInfoAliased(Walker):
    """reset() reports the goal in info; every step then moves that same array in place."""

    def reset(self, *, seed=None, options=None):
        obs, _ = super().reset(seed=seed, options=options)
        self.goal = np.array([5.0])
        return obs, {"goal": self.goal}

    def step(self, action):
        self.goal += 0.1  # the goal drifts
        return super().step(action)


class MaxStepsLate(Walker):
    """Keeps its limit as max_steps (like MiniGrid) and truncates one step too late."""

    max_episode_steps = None
    max_steps = 20

    def step(self, action):
        self._push(action)
        self.t += 1
        self.pos = float(np.clip(self.pos + self.vel, -10.0, 10.0))
        return self._obs(), -abs(self.pos), False, self.t > self.max_steps, {}


class MaxPathLength(Walker):
    """Keeps its limit as max_path_length (like Metaworld), and truncates right at it."""

    max_episode_steps = None
    max_path_length = 20

    def step(self, action):
        self._push(action)
        self.t += 1
        self.pos = float(np.clip(self.pos + self.vel, -10.0, 10.0))
        return self._obs(), -abs(self.pos), False, self.t >= self.max_path_length, {}


class EzWalker(Walker, EzPickle):
    """Pickles through its constructor arguments (EzPickle): a pickled clone is a fresh env."""

    def __init__(self, render_mode=None, drag=0.9):
        Walker.__init__(self, render_mode=render_mode)
        EzPickle.__init__(self, render_mode=render_mode, drag=drag)
        self.drag = drag

    def _push(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r} for {self.action_space}")
        self.vel = self.drag * self.vel + 0.1 * (int(action) - 1)


class EzWalkerWrongArgs(EzWalker):
    """Records the wrong constructor arguments for EzPickle: its clones have another drag."""

    def __init__(self, render_mode=None, drag=0.9):
        super().__init__(render_mode=render_mode, drag=drag)
        EzPickle.__init__(self, render_mode=render_mode, drag=0.5)


class SlowWalker(Walker):
    """A correct Walker whose step takes 20 ms (a physics engine, say)."""

    def step(self, action):
        time.sleep(0.02)
        return super().step(action)


class ReseedDrift(Walker):
    """reset(seed=...) starts a little further right each time it is called on one instance."""

    def __init__(self, render_mode=None):
        super().__init__(render_mode=render_mode)
        self.resets = 0

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        if seed is not None:
            self.resets += 1
            self.pos += 0.001 * (self.resets - 1)
        return self._obs(), info


class ReseedCrash(Walker):
    """Frees its wind table on a second seeded reset of one instance; the next step crashes."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        if not hasattr(self, "wind"):
            self.wind, self.seeded = np.zeros(self.max_episode_steps + 1), False
        if seed is not None:
            if self.seeded:
                self.wind = None
            self.seeded = True
        return obs, info

    def step(self, action):
        self.vel += float(self.wind[self.t])  # TypeError once wind is None
        return super().step(action)


class OneAtATime(Walker):
    """Holds a class-wide device: with two instances open, the fourth step of an episode fails."""

    open_instances: list = []

    def __init__(self, render_mode=None):
        super().__init__(render_mode=render_mode)
        self.open_instances.append(self)

    def step(self, action):
        if self.t >= 3 and len(self.open_instances) > 1:
            raise RuntimeError("the device is held by another instance")
        return super().step(action)

    def close(self):
        if self in self.open_instances:
            self.open_instances.remove(self)


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


# ---------------------------------------------------------------------------------------------
# vector envs: VecWalkers is correct (NEXT_STEP); each subclass breaks one part of the contract
# ---------------------------------------------------------------------------------------------


class VecWalkers(gym.vector.VectorEnv):
    """``num_envs`` Walkers stepped together (an episode also ends when a walker hits a wall),
    sub-env i seeded seed + i, NEXT_STEP autoreset."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}
    limit = 30

    def __init__(self, num_envs=2, render_mode=None):
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.single_observation_space = spaces.Box(-10.0, 10.0, (2,), np.float32)
        self.single_action_space = spaces.Discrete(3)
        batch = gym.vector.utils.batch_space
        self.observation_space = batch(self.single_observation_space, num_envs)
        self.action_space = batch(self.single_action_space, num_envs)
        self.pos = np.zeros(num_envs)
        self.vel = np.zeros(num_envs)
        self.t = np.zeros(num_envs, dtype=np.int64)
        self.done = np.zeros(num_envs, dtype=bool)
        self.rngs = [np.random.default_rng() for _ in range(num_envs)]

    def _obs(self):
        return np.stack([self.pos, self.vel], axis=1).astype(np.float32)

    def _info(self):
        return {"t": self.t.copy(), "_t": np.ones(self.num_envs, dtype=bool)}

    def _reset_one(self, i):
        self.pos[i] = self.rngs[i].uniform(-1.0, 1.0)
        self.vel[i], self.t[i], self.done[i] = 0.0, 0, False

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rngs = [np.random.default_rng(seed + i) for i in range(self.num_envs)]
        mask = (options or {}).get("reset_mask")
        for i in range(self.num_envs) if mask is None else np.flatnonzero(mask):
            self._reset_one(i)
        return self._obs(), self._info()

    def _advance(self, i, action):
        self.vel[i] = 0.9 * self.vel[i] + 0.1 * (int(action) - 1)
        self.t[i] += 1
        self.pos[i] = np.clip(self.pos[i] + self.vel[i], -10.0, 10.0)

    def step(self, actions):
        if not self.action_space.contains(np.asarray(actions)):
            raise ValueError(f"invalid actions {actions!r}")
        rewards = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        for i in range(self.num_envs):
            if self.done[i]:
                self._reset_one(i)
                continue
            self._advance(i, actions[i])
            rewards[i] = -abs(self.pos[i])
            terminated[i] = abs(self.pos[i]) >= 10.0  # hit a wall
            truncated[i] = self.t[i] >= self.limit
        self.done = terminated | truncated
        return self._obs(), rewards, terminated, truncated, self._info()


class VecReusesBuffers(VecWalkers):
    """Returns one observation buffer, refilled in place on every call (Gymnasium#1681)."""

    def _obs(self):
        if not hasattr(self, "buffer"):
            self.buffer = np.zeros((self.num_envs, 2), dtype=np.float32)
        self.buffer[:, 0], self.buffer[:, 1] = self.pos, self.vel
        return self.buffer


class VecNoInfoMasks(VecWalkers):
    """Reports info['t'] without its mask info['_t']."""

    def _info(self):
        return {"t": self.t.copy()}


class VecNextStepKeepsFlags(VecWalkers):
    """Declares NEXT_STEP, but on the resetting step repeats the last reward and flags."""

    def step(self, actions):
        was_done = self.done.copy()
        obs, rewards, terminated, truncated, info = super().step(actions)
        truncated = truncated | was_done
        rewards = np.where(was_done, -1.0, rewards)
        self.done = (terminated | truncated) & ~was_done
        return obs, rewards, terminated, truncated, info


class VecSameStepNoFinalObs(VecWalkers):
    """Declares SAME_STEP and resets ended sub-envs at once, but reports no final_obs."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}

    def step(self, actions):
        obs, rewards, terminated, truncated, info = super().step(actions)
        for i in np.flatnonzero(self.done):
            self._reset_one(i)
        return self._obs(), rewards, terminated, truncated, info


class VecDisabledResetsAll(VecWalkers):
    """Declares DISABLED, but reset(options={'reset_mask': ...}) resets every sub-env."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.DISABLED}

    def reset(self, *, seed=None, options=None):
        return super().reset(seed=seed)

    def step(self, actions):
        self.done[:] = False  # DISABLED: the caller resets
        return super().step(actions)


class VecCoupled(VecWalkers):
    """Every sub-env is pushed by the mean of all the actions, not by its own."""

    def step(self, actions):
        mean = int(np.round(np.mean(actions)))
        return super().step(np.full(self.num_envs, mean, dtype=np.int64))


class VecWrongBatchSpace(VecWalkers):
    """Declares a batched observation space of one sub-env too many."""

    def __init__(self, num_envs=2, render_mode=None):
        super().__init__(num_envs=num_envs, render_mode=render_mode)
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, num_envs + 1
        )


class LosesStateOnPickle(Walker):
    """Drops its wind table when pickled (or deep-copied): a clone crashes on its next step."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        self.wind = np.zeros(self.max_episode_steps + 1)
        return obs, info

    def step(self, action):
        self.vel += float(self.wind[self.t])
        return super().step(action)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("wind", None)
        return state


# ---------------------------------------------------------------------------------------------
# round three: vector entry points with kwargs, declared determinism, action masks
# ---------------------------------------------------------------------------------------------


class _NudgedRewards(gym.vector.VectorWrapper):
    def step(self, actions):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        return obs, np.nextafter(rewards, np.inf), terminations, truncations, infos


def ulp_vector_walker(num_envs, **kwargs):
    """A vector entry point whose rewards differ from the single env's by one ulp (rounding)."""
    return _NudgedRewards(good_vector_walker(num_envs, **kwargs))


def exact_ulp_vector_walker(num_envs, **kwargs):
    """As ulp_vector_walker, but it promises results bit for bit (``metadata["bit_exact"]``)."""
    vec = good_vector_walker(num_envs, **kwargs)
    vec.metadata = {**vec.metadata, "bit_exact": True}
    return _NudgedRewards(vec)


def ignoring_vector_walker(num_envs, autoreset_mode=None, **kwargs):
    """A vector entry point that takes ``autoreset_mode`` and ignores it (stays NEXT_STEP)."""
    return good_vector_walker(num_envs, **kwargs)


class StartWalker(Walker):
    """Walker with a constructor param: where it starts (a param make_vec must pass on too)."""

    def __init__(self, render_mode=None, start=0.0):
        super().__init__(render_mode)
        self.start = float(start)

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        self.pos = self.start + 0.1 * self.pos
        return self._obs(), info


def start_vector_walker(num_envs, **kwargs):
    """The vector entry point of StartWalker: its params go to every sub-env."""
    return gym.vector.SyncVectorEnv([lambda: StartWalker(**kwargs) for _ in range(num_envs)])


class FixedStartWalker(Walker):
    """A deterministic walker: it always starts at 0.5, and says so (metadata)."""

    metadata = {**Walker.metadata, "deterministic": True}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed, options=options)
        self.pos = 0.5
        return self._obs(), {}


class ClaimsDeterminism(FixedStartWalker):
    """Says it is deterministic, but its steps add noise from its seeded generator."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self.pos = float(np.clip(self.pos + self.np_random.normal(0.0, 0.01), -10.0, 10.0))
        return self._obs(), reward, terminated, truncated, info


class MaskedWalker(Walker):
    """Walker with Gymnasium's action mask convention (Taxi): info['action_mask'], int8, one
    entry per action; pushing towards a wall it stands next to is masked out."""

    def _mask(self):
        mask = np.ones(3, dtype=np.int8)
        if self.pos <= -9.0:
            mask[0] = 0
        if self.pos >= 9.0:
            mask[2] = 0
        return mask

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return obs, {"action_mask": self._mask()}

    def step(self, action):
        obs, reward, terminated, truncated, _ = super().step(action)
        return obs, reward, terminated, truncated, {"action_mask": self._mask()}

    def action_masks(self):
        """sb3-contrib's MaskablePPO convention: one bool per action."""
        return self._mask().astype(bool)


class MaskWrongDtype(MaskedWalker):
    """Reports its mask as bools: Discrete.sample(mask=...) wants int8."""

    def _mask(self):
        return super()._mask().astype(bool)

    def action_masks(self):
        return self._mask()


class MaskWrongShape(MaskedWalker):
    """Reports one mask entry too few (forgets the last action)."""

    def _mask(self):
        return super()._mask()[:2]

    def action_masks(self):
        return self._mask().astype(bool)


class MaskAllowsNothing(MaskedWalker):
    """After 5 steps its mask allows no action, although the episode goes on."""

    def _mask(self):
        mask = super()._mask()
        if self.t >= 5:
            mask[:] = 0
        return mask


class MaskedActionCrashes(MaskedWalker):
    """Masks out 'left' near the left wall, yet crashes on 'right' there (the mask lies)."""

    def _mask(self):
        mask = np.ones(3, dtype=np.int8)
        if self.t >= 3:
            mask[0] = 0
        return mask

    def step(self, action):
        if self.t >= 3 and int(action) == 2:
            raise IndexError("no cell to the right")
        return super().step(action)


class MethodMaskWrongShape(Walker):
    """Only sb3-contrib's action_masks(), with one entry too many."""

    def action_masks(self):
        return np.ones(4, dtype=bool)


class VecMaskedWalkers(VecWalkers):
    """VecWalkers with Gymnasium's action masks, batched: info['action_mask'] of shape (n, 3),
    with its mask info['_action_mask']."""

    def _info(self):
        masks = np.ones((self.num_envs, 3), dtype=np.int8)
        masks[self.pos <= -9.0, 0] = 0
        masks[self.pos >= 9.0, 2] = 0
        return {
            **super()._info(),
            "action_mask": masks,
            "_action_mask": np.ones(self.num_envs, bool),
        }


class VecMaskAllowsNothing(VecMaskedWalkers):
    """Sub-env 1's mask allows nothing from its 4th step on, though its episode goes on."""

    def _info(self):
        info = super()._info()
        if self.num_envs > 1 and 4 <= self.t[1] < self.limit:
            info["action_mask"][1] = 0
        return info


class InfoWalker(Walker):
    """A Walker whose step info says where it is."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {**info, "steps": self.t, "pos": self.pos}


def info_vector_walker(num_envs, **kwargs):
    """InfoWalkers in a SyncVectorEnv (sub-env i seeded seed + i)."""
    return gym.vector.SyncVectorEnv([lambda: InfoWalker(**kwargs) for _ in range(num_envs)])


class _OffByOneSteps(gym.vector.VectorWrapper):
    def step(self, actions):
        obs, rewards, terminations, truncations, infos = self.env.step(actions)
        infos = {**infos, "steps": infos["steps"] + 1} if "steps" in infos else infos
        return obs, rewards, terminations, truncations, infos


def bad_info_vector_walker(num_envs, **kwargs):
    """A vector entry point whose info['steps'] is one more than the single env's."""
    return _OffByOneSteps(info_vector_walker(num_envs, **kwargs))


def slow_vector_walker(num_envs, **kwargs):
    """A correct vector entry point that takes 0.2 s to make (a JIT compile, say)."""
    import time

    time.sleep(0.2)
    return good_vector_walker(num_envs, **kwargs)


class _ShiftedStart(gym.vector.VectorWrapper):
    def reset(self, *, seed=None, options=None):
        obs, infos = self.env.reset(seed=seed, options=options)
        return obs + np.float32(1.0), infos


def shifted_vector_walker(num_envs, **kwargs):
    """A vector entry point whose sub-envs start at 1.5 where the single env starts at 0.5."""
    return _ShiftedStart(
        gym.vector.SyncVectorEnv([lambda: FixedStartWalker(**kwargs) for _ in range(num_envs)])
    )
