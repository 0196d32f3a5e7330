"""The explorers' controls: whole labels in JupyterLab, no widget at all when headless."""

from __future__ import annotations

import ipywidgets as w

from labkit import ui


def test_in_jupyterlab_every_control_shows_its_whole_label(monkeypatch):
    monkeypatch.delenv("LABKIT_HEADLESS", raising=False)
    shown = []
    view = ui.explorer(lambda days, strict: shown.append((days, strict)), lambda: dict(
        days=w.IntSlider(7, 1, 14, description="baseline days"), strict=w.Checkbox(False, description="strict")))
    assert [c.style.description_width for c in view.children[:2]] == ["initial", "initial"]
    view.children[0].value = 9  # moving a control re-runs the view
    assert shown[-1] == (9, False)


def test_headless_makes_no_widget(monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_HEADLESS", "1")
    assert ui.explorer(lambda: None, lambda: {"x": w.IntSlider()}) is None
    assert "appear when this notebook runs in JupyterLab" in capsys.readouterr().out
