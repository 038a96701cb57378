"""A self-contained HTML report of a workspace: plots and tables of every stage that has run.

The page builder is imported on use, so `report.console` (the tables every command prints)
loads without the report's plotting libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["build_report", "render_report"]

if TYPE_CHECKING:
    from instructmining.report.build import build_report, render_report


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'instructmining.report' has no attribute {name!r}")
    from instructmining.report import build

    return getattr(build, name)
