"""The gate plot at 2, 16 and 64 units and 3, 20 and 200 steps: line plots up to 8 units and 30 steps, heatmaps above.

Each image is written as PNG, read back, and checked for its size in pixels and for being drawn (many
colours, not one flat background). The images were also looked at: legends outside the panels, tick
labels apart, masked steps shaded (line plots) or hatched (heatmaps).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_weights

import refgru
from refgru.teach import plot

SIZES = [(u, t) for u in (2, 16, 64) for t in (3, 20, 200)] + [(8, 30), (9, 30), (8, 31)]


@pytest.mark.parametrize(("units", "steps"), SIZES, ids=lambda v: str(v))
def test_gate_plot_kind_size_and_ink(tmp_path, units, steps):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    rng = np.random.default_rng(units * 1000 + steps)
    x = rng.normal(size=(2, steps, 3)).astype(np.float32)
    mask = np.ones((2, steps), bool)
    mask[0, steps // 3: steps // 3 + max(1, steps // 6)] = False
    tr = refgru.trace(x, random_weights(rng, 3, units), mask=mask)
    path = tmp_path / "gates.png"
    fig = tr.plot(str(path), sequence=0)
    heatmap = units > plot.LINE_UNITS or steps > plot.LINE_STEPS
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 4
    if heatmap:
        images = [ax.images[0] for ax in panels]
        assert [im.get_array().shape for im in images] == [(units, steps)] * 4
        assert images[0].get_clim() == images[1].get_clim() == (0.0, 1.0)  # z, r: the sigmoid's range
        assert images[2].get_clim() == images[3].get_clim()  # hh and h share one scale, symmetric around 0
        assert images[2].get_clim()[0] == -images[2].get_clim()[1]
        np.testing.assert_array_equal(images[3].get_array(), tr.h[0].T)
    else:
        assert all(len(ax.lines) == units and not ax.images for ax in panels)
        np.testing.assert_array_equal(panels[3].lines[-1].get_ydata(), tr.h[0][:, -1])
        assert fig.legends and not any(ax.get_legend() for ax in panels)  # the legend sits outside the panels
    image = imread(path)
    assert image.shape[:2] == ((800, 1200) if heatmap else (700, 1000))
    rgb = image[..., :3].reshape(-1, 3)
    assert (rgb.std(axis=0) > 0.05).all()
    assert len(np.unique((rgb * 255).astype(np.uint8), axis=0)) > 50
    assert (rgb.min(axis=1) < 0.9).mean() > 0.1  # a tenth of the pixels is ink, not background
