"""OncoBoard's model side: plain Python and torch, never Django.

Public functions take and return the frozen dataclasses of :mod:`inference.schema`.
"""

from __future__ import annotations

__all__: list[str] = []
