"""The first difference between two JSON-shaped values, as a dotted path (used by replay).

Objects are compared by sorted key, lists by index; a leaf differs when its JSON type or its
value differs (``true`` and ``1`` differ, though Python says ``True == 1``).
"""

from __future__ import annotations

from typing import Any

from .._base.errors import ReplayMismatch

__all__ = ["diff_json", "mismatch"]


def diff_json(path: str, x: Any, y: Any) -> tuple[str, Any, Any] | None:
    if isinstance(x, dict) and isinstance(y, dict):
        for key in sorted(set(x) | set(y)):
            found = diff_json(f"{path}.{key}", x.get(key), y.get(key))
            if found is not None:
                return found
        return None
    if isinstance(x, list) and isinstance(y, list):
        for i in range(max(len(x), len(y))):
            found = diff_json(
                f"{path}[{i}]", x[i] if i < len(x) else None, y[i] if i < len(y) else None
            )
            if found is not None:
                return found
        return None
    # type() too: in JSON, true and 1 are different values, though Python says True == 1.
    if type(x) is type(y) and x == y:
        return None
    return path, x, y


def mismatch(where: str, diff: tuple[str, Any, Any]) -> ReplayMismatch:
    """The ReplayMismatch of a recorded and a re-made decision differing at `diff`."""
    field, expected, actual = diff
    return ReplayMismatch(
        f"{where}: {field} differs: recorded {_show(expected)}, re-made {_show(actual)}",
        field=field,
        expected=expected,
        actual=actual,
    )


def _show(value: Any) -> str:
    return "(absent)" if value is None else repr(value)
