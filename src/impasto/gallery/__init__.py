"""A small gallery of public-domain paintings, usable by name wherever a style image is taken.

``resolve_style("starry-night")`` gives the path of the shipped JPEG (512 px long side); names
are case-insensitive and ``_`` may stand for ``-``. Credits: ``CREDITS.md`` beside the images.

Example:
    >>> sorted(list_styles())[:2]
    ['composition-vii', 'great-wave']
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

GALLERY_DIR = Path(__file__).parent


def list_styles() -> list[str]:
    """Names of the shipped paintings, sorted."""
    return sorted(p.stem for p in GALLERY_DIR.glob("*.jpg"))


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def is_style_name(name: str) -> bool:
    """True when ``name`` names a shipped painting."""
    return _normalise(name) in list_styles()


def resolve_style(name: str) -> Path:
    """Path of the shipped painting ``name``; one-line error listing the names otherwise."""
    key = _normalise(name)
    path = GALLERY_DIR / f"{key}.jpg"
    if not path.is_file():
        raise InputError(f"no style image or gallery painting named {name!r}; gallery: {', '.join(list_styles())}")
    return path


def style_source(item: object) -> object:
    """``item`` with a gallery name replaced by its file: a string that is not an existing file but names a
    shipped painting becomes that painting's path; anything else (paths, arrays, images) is returned as is.

    Every place that takes a style image passes it through this first, so ``"starry-night"`` works there.
    """
    if isinstance(item, str) and not Path(item).exists() and is_style_name(item):
        return resolve_style(item)
    return item
