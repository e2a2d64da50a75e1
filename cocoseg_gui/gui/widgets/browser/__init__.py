"""The dataset browser: a virtualised thumbnail list with filters and sorting."""

from cocoseg_gui.gui.widgets.browser.browser_widget import DatasetBrowser

__all__ = ["DatasetBrowser"]
