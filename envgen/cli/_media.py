"""Media for `envgen play`: GIF and PNG (Pillow), MP4 (imageio, optional), contact sheets,
and plots of reward, return and the observation over time (matplotlib, optional)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from envgen.cli._failure import Failure


def png_bytes(image: Any) -> bytes:
    """A PNG of an H×W×3 uint8 array (Pillow)."""
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def contact_sheet(frames: list[Any], count: int = 8) -> Any:
    """Up to `count` frames, evenly spaced, side by side in rows of 4, on a grey background."""
    import numpy as np

    picks = sorted(
        {round(i * (len(frames) - 1) / max(count - 1, 1)) for i in range(min(count, len(frames)))}
    )
    chosen = [frames[i] for i in picks]
    height = max(f.shape[0] for f in chosen)
    width = max(f.shape[1] for f in chosen)
    columns = min(4, len(chosen))
    rows = math.ceil(len(chosen) / columns)
    gap = 4
    sheet = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap, 3), 128, np.uint8)
    for i, frame in enumerate(chosen):
        r, c = divmod(i, columns)
        y, x = gap + r * (height + gap), gap + c * (width + gap)
        sheet[y : y + frame.shape[0], x : x + frame.shape[1]] = frame
    return sheet


class GifWriter:
    """An animated GIF written with Pillow (frames kept until `close`)."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.duration_ms = max(20, round(1000 / max(fps, 1)))
        self.frames: list[Any] = []

    def add(self, frame: Any) -> None:
        from PIL import Image

        self.frames.append(Image.fromarray(frame).quantize(256, dither=0))

    def close(self) -> None:
        if self.frames:
            self.frames[0].save(
                self.path,
                save_all=True,
                append_images=self.frames[1:],
                duration=self.duration_ms,
                loop=0,
            )


class Mp4Writer:
    """An MP4 video, through imageio-ffmpeg (the `media` extra)."""

    def __init__(self, path: Path, fps: float) -> None:
        try:
            import imageio.v2 as imageio
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise Failure(
                "writing .mp4 needs imageio and imageio-ffmpeg",
                "pip install 'envgen[media]' (or imageio imageio-ffmpeg); or write a .gif",
            ) from None
        self.writer = imageio.get_writer(str(path), fps=fps, macro_block_size=1)

    def add(self, frame: Any) -> None:
        self.writer.append_data(frame)

    def close(self) -> None:
        self.writer.close()


class PngWriter:
    """A PNG contact sheet of 8 frames of the recording."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.frames: list[Any] = []

    def add(self, frame: Any) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        if self.frames:
            self.path.write_bytes(png_bytes(contact_sheet(self.frames)))


#: Frame writers by file suffix: `Writer(path, fps)`, `.add(frame)`, `.close()`.
WRITERS = {".gif": GifWriter, ".mp4": Mp4Writer, ".png": PngWriter}


def check_frame(frame: Any, env_id: str) -> Any:
    """A rendered frame as H×W×3 uint8, or a :class:`Failure` if it is not an image."""
    import numpy as np

    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise Failure(f"{env_id}: render() returned shape {array.shape}, not an H×W×3 image")
    return array[..., :3].astype(np.uint8, copy=False)


def _obs_values(space: Any, obs: Any, prefix: str = "obs") -> list[tuple[str, float]] | None:
    """The observation as named numbers (a Discrete as its value, not one-hot); None for
    spaces without a fixed size (Text, Sequence, Graph, OneOf)."""
    import numpy as np
    from gymnasium import spaces as sp

    if isinstance(space, sp.Dict):
        out: list[tuple[str, float]] = []
        for key, sub in space.spaces.items():
            part = _obs_values(sub, obs[key], f"{prefix}.{key}")
            if part is None:
                return None
            out += part
        return out
    if isinstance(space, sp.Tuple):
        out = []
        for i, sub in enumerate(space.spaces):
            part = _obs_values(sub, obs[i], f"{prefix}[{i}]")
            if part is None:
                return None
            out += part
        return out
    if isinstance(space, (sp.Box, sp.Discrete, sp.MultiDiscrete, sp.MultiBinary)):
        values = np.asarray(obs, dtype=np.float64).ravel()
        if values.size == 1:
            return [(prefix, float(values[0]))]
        return [(f"{prefix}[{i}]", float(v)) for i, v in enumerate(values)]
    return None


def write_plot(path: Path, env_id: str, episodes: list[dict[str, Any]], space: Any) -> str | None:
    """A PNG of reward, return and each observation dimension over time; a note or None."""
    try:
        import matplotlib
    except ImportError:
        raise Failure(
            "--plot needs matplotlib", "pip install 'envgen[media]' (or matplotlib)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    note = None
    named = [[_obs_values(space, o) for o in e["obs"]] for e in episodes]
    names: list[str] = []
    flat: list[list[list[float]]] = []
    if all(v is not None for ep in named for v in ep):
        names = [name for name, _ in named[0][0]]
        flat = [[[value for _, value in v] for v in ep] for ep in named]  # type: ignore[union-attr]
        if len(names) > 12:
            note = f"the observation has {len(names)} dimensions; plotted the first 12"
            names = names[:12]
    else:
        note = "the observation space has no fixed size; plotted reward and return only"
    panels = 2 + len(names)
    fig, axes = plt.subplots(panels, 1, figsize=(8, 1.6 * panels + 0.8), sharex=True, squeeze=False)
    axes = axes[:, 0]
    offset = 0
    for e, episode in enumerate(episodes):
        rewards = np.asarray(episode["rewards"], dtype=float)
        t_steps = offset + np.arange(1, len(rewards) + 1)
        t_obs = offset + np.arange(len(episode["obs"]))
        axes[0].plot(t_steps, rewards, drawstyle="steps-post", color="C0")
        axes[1].plot(
            np.concatenate([[offset], t_steps]),
            np.concatenate([[0.0], np.cumsum(rewards)]),
            color="C1",
        )
        if names:
            values = np.stack(flat[e])[:, : len(names)]
            for i in range(len(names)):
                axes[2 + i].plot(t_obs, values[:, i], color=f"C{2 + i % 8}")
        if e:
            for ax in axes:
                ax.axvline(offset, color="grey", linewidth=0.8, linestyle=":")
        offset += len(rewards)
    for ax, label in zip(axes, ["reward", "return", *names], strict=False):
        ax.set_ylabel(label, rotation=0, ha="right", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("step")
    axes[0].set_title(f"{env_id}: {len(episodes)} episode(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return note
