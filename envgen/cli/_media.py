"""Media for `envgen play`: GIF and PNG (Pillow), MP4 (imageio, optional), contact sheets,
and plots of reward, return and the observation over time (matplotlib where installed,
else Pillow)."""

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
    """A PNG of reward, return and each observation dimension over time; a note or None.

    Drawn with matplotlib when it is installed (the `media` extra), else with Pillow (a
    core dependency): the same panels, plainer."""
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
    series = _series(episodes, names, flat)
    title = f"{env_id}: {len(episodes)} episode(s)"
    try:
        import matplotlib
    except ImportError:
        _plot_pillow(path, title, series, _boundaries(episodes))
        return note
    matplotlib.use("Agg")
    _plot_matplotlib(path, title, series, _boundaries(episodes))
    return note


def _boundaries(episodes: list[dict[str, Any]]) -> list[int]:
    """The step at which each episode after the first starts."""
    starts, offset = [], 0
    for episode in episodes:
        if offset:
            starts.append(offset)
        offset += len(episode["rewards"])
    return starts


def _series(
    episodes: list[dict[str, Any]], names: list[str], flat: list[list[list[float]]]
) -> list[tuple[str, list[tuple[Any, Any]]]]:
    """Panels as (label, [(steps, values) per episode]): reward, return, each dimension."""
    import numpy as np

    reward: list[tuple[Any, Any]] = []
    total: list[tuple[Any, Any]] = []
    dims: list[list[tuple[Any, Any]]] = [[] for _ in names]
    offset = 0
    for e, episode in enumerate(episodes):
        rewards = np.asarray(episode["rewards"], dtype=float)
        t_steps = offset + np.arange(1, len(rewards) + 1)
        reward.append((t_steps, rewards))
        total.append(
            (np.concatenate([[offset], t_steps]), np.concatenate([[0.0], np.cumsum(rewards)]))
        )
        if names:
            values = np.stack(flat[e])[:, : len(names)]
            t_obs = offset + np.arange(len(episode["obs"]))
            for i in range(len(names)):
                dims[i].append((t_obs, values[:, i]))
        offset += len(rewards)
    return [("reward", reward), ("return", total), *zip(names, dims, strict=True)]


def _plot_matplotlib(
    path: Path, title: str, series: list[tuple[str, list[tuple[Any, Any]]]], starts: list[int]
) -> None:
    import matplotlib.pyplot as plt

    panels = len(series)
    fig, axes = plt.subplots(panels, 1, figsize=(8, 1.6 * panels + 0.8), sharex=True, squeeze=False)
    axes = axes[:, 0]
    for i, (label, lines) in enumerate(series):
        ax = axes[i]
        for x, y in lines:
            if i == 0:
                ax.plot(x, y, drawstyle="steps-post", color="C0")
            else:
                ax.plot(x, y, color=f"C{1 if i == 1 else 2 + (i - 2) % 8}")
        for start in starts:
            ax.axvline(start, color="grey", linewidth=0.8, linestyle=":")
        ax.set_ylabel(label, rotation=0, ha="right", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("step")
    axes[0].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


#: Line colours of the Pillow plot (matplotlib's default cycle).
_COLOURS = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]  # fmt: skip


def _plot_pillow(
    path: Path, title: str, series: list[tuple[str, list[tuple[Any, Any]]]], starts: list[int]
) -> None:
    """The panels of `_plot_matplotlib`, drawn with Pillow's ImageDraw and default font."""
    import numpy as np
    from PIL import Image, ImageDraw

    width, panel, left, right, top = 640, 110, 110, 16, 28
    height = top + panel * len(series) + 24
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((left, 8), title, fill="black")
    xs = [x for _, lines in series for x, _ in lines if len(x)]
    x_max = max((float(np.max(x)) for x in xs), default=1.0) or 1.0
    for i, (label, lines) in enumerate(series):
        y0, y1 = top + i * panel + 6, top + (i + 1) * panel - 10
        draw.rectangle((left, y0, width - right, y1), outline=(160, 160, 160))
        values = [float(v) for _, y in lines for v in np.asarray(y, dtype=float).ravel()]
        finite = [v for v in values if np.isfinite(v)] or [0.0]
        low, high = min(finite), max(finite)
        if high == low:
            low, high = low - 1.0, high + 1.0
        draw.text((8, (y0 + y1) // 2 - 6), label[:16], fill="black")
        draw.text((left - 48, y0), f"{high:.3g}", fill=(90, 90, 90))
        draw.text((left - 48, y1 - 12), f"{low:.3g}", fill=(90, 90, 90))

        def point(
            x: float, y: float, box: tuple[float, float, float, float] = (y0, y1, low, high)
        ) -> tuple[float, float]:
            top_y, bottom_y, y_low, y_high = box
            u = left + (width - right - left) * x / x_max
            return u, bottom_y - (bottom_y - top_y) * (y - y_low) / (y_high - y_low)

        for start in starts:
            u, _ = point(start, low)
            draw.line((u, y0, u, y1), fill=(200, 200, 200))
        colour = _COLOURS[0 if i == 0 else 1 if i == 1 else 2 + (i - 2) % 8]
        for x, y in lines:
            pts = [point(float(a), float(b)) for a, b in zip(x, y, strict=True) if np.isfinite(b)]
            if len(pts) > 1:
                draw.line(pts, fill=colour, width=2)
            elif pts:
                draw.point(pts, fill=colour)
    draw.text((width // 2, height - 18), f"step (0..{x_max:g})", fill="black")
    image.save(path, format="PNG")
