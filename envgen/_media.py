"""Media for `envgen play`: GIF / PNG encoders (no dependencies), MP4 through imageio,
contact sheets, and plots of reward, return and the observation over time (matplotlib)."""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path
from typing import Any

from envgen._failure import Failure


def png_bytes(image: Any) -> bytes:
    """A PNG of an H×W×3 uint8 array (no dependencies)."""
    import numpy as np

    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape[:2]
    raw = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


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
    """An animated GIF written frame by frame, without dependencies.

    Uses Pillow (smaller, LZW-compressed files) when it is installed; otherwise writes
    uncompressed LZW codes itself (valid everywhere, but larger).
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.delay = max(2, round(100 / max(fps, 1)))
        self.frames: list[Any] = []
        self.handle: Any = None
        self.previous: Any = None
        try:
            import PIL.Image  # noqa: F401

            self.pillow = True
        except ImportError:
            self.pillow = False

    def add(self, frame: Any) -> None:
        if self.pillow:
            from PIL import Image

            self.frames.append(Image.fromarray(frame).quantize(256, dither=0))
            return
        if self.handle is None:
            self.handle = self.path.open("wb")
            height, width = frame.shape[:2]
            self.handle.write(b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0))
            self.handle.write(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")
        self.handle.write(_gif_frame(frame, self.delay, self.previous))
        self.previous = frame

    def close(self) -> None:
        if self.pillow:
            if self.frames:
                self.frames[0].save(
                    self.path,
                    save_all=True,
                    append_images=self.frames[1:],
                    duration=self.delay * 10,
                    loop=0,
                    optimize=False,
                )
            return
        if self.handle is not None:
            self.handle.write(b"\x3b")
            self.handle.close()


def _gif_frame(frame: Any, delay: int, previous: Any = None) -> bytes:
    """One GIF image (graphic control, descriptor, local palette, uncompressed LZW data).

    Only the rectangle that changed since `previous` is stored (drawn over it).
    """
    import numpy as np

    frame = np.asarray(frame, dtype=np.uint8)[..., :3]
    left = top = 0
    if previous is not None and previous.shape == frame.shape:
        changed = (frame != previous).any(axis=2)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        if len(rows) == 0:
            rows = cols = np.array([0])
        top, left = int(rows[0]), int(cols[0])
        frame = frame[top : rows[-1] + 1, left : cols[-1] + 1]
    height, width = frame.shape[:2]
    packed = (
        (frame[..., 0].astype(np.uint32) << 16)
        | (frame[..., 1].astype(np.uint32) << 8)
        | frame[..., 2]
    )
    colors, indices = np.unique(packed.ravel(), return_inverse=True)
    if len(colors) > 256:  # a 6×7×6 colour cube
        levels = np.array([6, 7, 6])
        q = frame.reshape(-1, 3).astype(np.uint32) * levels // 256
        indices = (q[:, 0] * 42 + q[:, 1] * 6 + q[:, 2]).astype(np.int64)
        grid = np.stack(np.meshgrid(np.arange(6), np.arange(7), np.arange(6), indexing="ij"), -1)
        palette = (grid.reshape(-1, 3) * 255 // (levels - 1)).astype(np.uint8)
    else:
        palette = np.stack([(colors >> 16) & 255, (colors >> 8) & 255, colors & 255], -1)
        palette = palette.astype(np.uint8)
    table = np.zeros((256, 3), np.uint8)
    table[: len(palette)] = palette
    pixels = indices.astype(np.uint16).ravel()
    # Codes are 9 bits: a clear code (256) before every 254 pixels keeps the table small.
    chunks = math.ceil(len(pixels) / 254)
    body = np.full(chunks * 254, 0xFFFF, np.uint16)
    body[: len(pixels)] = pixels
    padded = np.concatenate(
        [np.full((chunks, 1), 256, np.uint16), body.reshape(chunks, 254)], axis=1
    ).ravel()
    codes = np.concatenate([padded[padded != 0xFFFF], np.array([257], np.uint16)])
    bits = ((codes[:, None] >> np.arange(9, dtype=np.uint16)) & 1).astype(np.uint8)
    data = np.packbits(bits.ravel(), bitorder="little").tobytes()
    blocks = b"".join(
        bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)
    )
    return (
        b"\x21\xf9\x04\x04"
        + struct.pack("<H", delay)
        + b"\x00\x00"
        + b"\x2c"
        + struct.pack("<HHHHB", left, top, width, height, 0x87)
        + table.tobytes()
        + b"\x08"
        + blocks
        + b"\x00"
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
