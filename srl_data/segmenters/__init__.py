"""Segmenters: one module per rule, registered by name in :data:`SEGMENTERS`.

Add a segmenter by writing a :class:`Segmenter` subclass decorated with
:func:`register` in a new module here and importing it below.
"""

from .base import SEGMENTERS, Segmented, Segmenter, get_segmenter, register, scan_lines
from . import numbered, headers, lines, paragraphs, auto, agent  # noqa: F401  (registration)

__all__ = ["SEGMENTERS", "Segmented", "Segmenter", "get_segmenter", "register", "scan_lines"]
