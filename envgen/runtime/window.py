"""`render_mode="human"` for a spec that draws only `rgb_array` frames: show them in a window.

Generated envs whose spec says `render: {human: true}` and draws `rgb_array` (but no `ansi`
text to print) call :func:`show_frame` from `render()` in human mode, at every reset and
step, and :func:`close_window` from `close()`. The window is pygame's, as Gymnasium's
`HumanRendering` wrapper opens it, and matplotlib's where pygame is not installed; with
neither, :func:`require` refuses the render mode when the env is made.
"""

from __future__ import annotations

import importlib.util
from typing import Any

#: What to install for a window (Gymnasium's own extra brings pygame).
INSTALL_HINT = 'pip install pygame (or "gymnasium[classic_control]"), or matplotlib'


class WindowUnavailable(ImportError):
    """Neither pygame nor matplotlib is installed: no window for render_mode='human'."""


def _backend() -> str:
    for name in ("pygame", "matplotlib"):
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):  # a module set to None in sys.modules
            continue
    raise WindowUnavailable(
        f"render_mode='human' shows the env's rgb_array frames in a window, which needs "
        f"pygame or matplotlib: {INSTALL_HINT}; or make the env with render_mode='rgb_array'"
    )


def require() -> None:
    """Refuse render_mode='human' at construction when no window can be opened."""
    _backend()


class FrameWindow:
    """A window showing H×W×3 uint8 frames at `fps` (pygame, else matplotlib)."""

    def __init__(self, title: str, fps: float) -> None:
        self.title = title
        self.fps = max(float(fps), 1.0)
        self.backend = _backend()
        self.screen: Any = None  # pygame's display surface
        self.clock: Any = None
        self.figure: Any = None  # matplotlib's figure
        self.image: Any = None

    def show(self, frame: Any) -> None:
        if self.backend == "pygame":
            self._show_pygame(frame)
        else:
            self._show_matplotlib(frame)

    def _show_pygame(self, frame: Any) -> None:
        import pygame

        height, width = frame.shape[:2]
        if self.screen is None or self.screen.get_size() != (width, height):
            pygame.display.init()  # the display alone (pygame.init() would open audio too)
            self.screen = pygame.display.set_mode((width, height))
            pygame.display.set_caption(self.title)
            self.clock = pygame.time.Clock()
        surface = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
        self.screen.blit(surface, (0, 0))
        pygame.event.pump()
        self.clock.tick(self.fps)
        pygame.display.flip()

    def _show_matplotlib(self, frame: Any) -> None:
        import matplotlib.pyplot as plt

        if self.figure is None or not plt.fignum_exists(self.figure.number):
            plt.ion()
            self.figure, axes = plt.subplots(num=self.title)
            axes.axis("off")
            self.image = axes.imshow(frame)
            self.figure.tight_layout()
        else:
            self.image.set_data(frame)
        self.figure.canvas.draw_idle()
        self.figure.canvas.flush_events()
        plt.pause(1.0 / self.fps)

    def close(self) -> None:
        if self.screen is not None:
            import pygame

            pygame.display.quit()
            pygame.quit()
            self.screen = None
        if self.figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self.figure)
            self.figure = None


def show_frame(env: Any, frame: Any) -> None:
    """Show `frame` in `env`'s window, opening it on first use."""
    window = getattr(env, "_window", None)
    if window is None:
        title = env.spec.id if getattr(env, "spec", None) is not None else type(env).__name__
        window = FrameWindow(title, env.metadata.get("render_fps") or 30)
        env._window = window
    window.show(frame)


def close_window(env: Any) -> None:
    """Close `env`'s window, if it opened one."""
    window = getattr(env, "_window", None)
    if window is not None:
        window.close()
        env._window = None
