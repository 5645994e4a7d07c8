"""The evidence page: ``write_report`` (``page``) with its template, CSS and script as files."""

from counterfeit_vision.report.page import write_report

__all__ = ["write_report"]
