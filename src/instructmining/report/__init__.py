"""A self-contained HTML report of a workspace: plots and tables of every stage that has run."""

from instructmining.report.build import build_report, render_report

__all__ = ["build_report", "render_report"]
