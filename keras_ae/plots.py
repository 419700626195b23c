"""Matplotlib figures: image grids, loss curves, 2-D embeddings (one or side by side). One helper per figure kind."""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402

from keras_ae.io import atomic_path  # noqa: E402


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> str:
    """Write ``fig`` to ``path`` atomically (folders created; :mod:`keras_ae.io`) and close it."""
    path = os.fspath(path)
    try:
        with atomic_path(path) as tmp:
            # the format named, so that matplotlib never appends a suffix to the temporary name
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=os.path.splitext(path)[1][1:] or "png")
    finally:
        plt.close(fig)
    return path


def _as_images(images, image_shape):
    images = np.asarray(images, dtype=np.float32)
    if image_shape is not None:
        images = images.reshape(len(images), *image_shape)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    return np.clip(images, 0.0, 1.0)


def plot_image_grid(series: Sequence[tuple[str, np.ndarray]], path: str | os.PathLike, title: str,
                    image_shape: tuple[int, ...] | None = (28, 28), orientation: str = "rows",
                    sample_titles: Sequence[str] | None = None, cell: float = 1.0,
                    cell_labels: Sequence[Sequence[str]] | None = None) -> str:
    """A grid of images: each labelled series (values in [0, 1]) is one row (or one column).

    ``orientation="rows"``: series are rows, samples run left to right (ten inputs over their
    reconstructions). ``"columns"``: series are columns, samples run down (sheet 003's figure of
    variants side by side). ``sample_titles`` label the samples (class names, for instance).
    ``cell_labels[s][i]``, when given, is written under image ``i`` of series ``s`` (a
    per-image number such as its PSNR).
    """
    if orientation not in ("rows", "columns"):
        raise ValueError("orientation must be 'rows' or 'columns'")
    series = [(label, _as_images(imgs, image_shape)) for label, imgs in series]
    n_series, n_samples = len(series), len(series[0][1])
    if any(len(imgs) != n_samples for _, imgs in series):
        raise ValueError("every series needs the same number of images")
    shape = (n_series, n_samples) if orientation == "rows" else (n_samples, n_series)
    height = shape[0] * cell + 0.8
    fig, axes = plt.subplots(*shape, figsize=(shape[1] * cell + 0.8, height), squeeze=False)
    fig.subplots_adjust(top=1.0 - 0.55 / height)  # the title's room in inches, not a fraction of a tall grid
    for s, (label, imgs) in enumerate(series):
        for i, img in enumerate(imgs):
            ax = axes[s, i] if orientation == "rows" else axes[i, s]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if orientation == "rows" and i == 0:
                ax.set_ylabel(label, fontsize=9)
            if orientation == "columns" and i == 0:
                ax.set_title(label, fontsize=8)
            if cell_labels is not None and cell_labels[s][i]:
                ax.set_xlabel(cell_labels[s][i], fontsize=8)
            if sample_titles is not None:
                if orientation == "rows" and s == 0:
                    ax.set_title(sample_titles[i], fontsize=7)
                if orientation == "columns" and s == 0:
                    ax.set_ylabel(sample_titles[i], fontsize=7)
    fig.suptitle(title, fontsize=10, y=1.0 - 0.2 / height)
    return save_figure(fig, path)


def plot_curves(series: Mapping[str, tuple[Sequence[float], ...]], path: str | os.PathLike | None,
                title: str, xlabel: str = "epoch", ylabel: str = "loss", logy: bool = False,
                logx: bool = False, ax=None) -> str | None:
    """Line plot of labelled (x, y) series, for example train and test loss over epochs.

    A series given as (x, y, yerr) is drawn with error bars of +-yerr (a mean and its spread); one
    labelled ``paper...`` (a published number) is dotted and drawn beneath the others.
    With ``ax`` given the curves are drawn there (for side-by-side panels) and nothing is saved.
    """
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, (xs, ys, *err) in series.items():
        if err:
            ax.errorbar(xs, ys, yerr=err[0], marker="o", markersize=4, capsize=4, label=label)
        elif label.startswith("paper"):  # a published reference: dotted, wide, beneath a measured line it equals
            ax.plot(xs, ys, linestyle=":", linewidth=3, zorder=1, label=label)
        else:
            ax.plot(xs, ys, marker="o" if len(xs) <= 12 else None, markersize=3, label=label, zorder=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if all(float(x).is_integer() for xs, *_ in series.values() for x in xs):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs
    if logy:
        ax.set_yscale("log")
    if logx:  # ticks at the data's own x values (100, 1000, ...) rather than powers of ten
        ax.set_xscale("log")
        ticks = sorted({float(x) for xs, *_ in series.values() for x in xs})
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if own and len(series) > 4:  # a long legend goes below the axes, where it hides no curve
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize="small")
    else:
        ax.legend()
    return save_figure(fig, path) if own else None


def _add_caption(fig, caption: str | None, width: int = 110) -> None:
    """A wrapped caption under the axes (the sheets ask for captions on figures)."""
    if caption:
        import textwrap

        fig.text(0.5, -0.01, textwrap.fill(caption, width), ha="center", va="top", fontsize=8)


def plot_embedding(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                   path: str | os.PathLike | None, title: str, xlabel: str = "t-SNE 1",
                   ylabel: str = "t-SNE 2", ax=None, caption: str | None = None,
                   legend: bool = True) -> str | None:
    """2-D scatter of codes with a discrete colour per class and a legend of class names.

    Points with label ``k`` are drawn in colour ``k`` of the 10-colour map and named
    ``class_names[k]`` in the legend. With ``ax`` given the points are drawn there (for
    side-by-side panels) and nothing is saved. ``caption`` goes under the figure.
    """
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.4, 5.2))
    cmap = plt.get_cmap("tab10", len(class_names))
    labels = np.asarray(labels)
    for k, name in enumerate(class_names):
        sel = labels == k
        ax.scatter(coords[sel, 0], coords[sel, 1], s=9, color=cmap(k), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(fontsize=7, markerscale=1.5, loc="best", framealpha=0.8)
    if not own:
        return None
    _add_caption(fig, caption, width=90)
    return save_figure(fig, path)


def plot_embedding_panels(panels: Sequence[tuple[np.ndarray, np.ndarray, str]], class_names: Sequence[str],
                          path: str | os.PathLike, title: str, caption: str | None = None,
                          xlabel: str = "t-SNE 1", ylabel: str = "t-SNE 2") -> str:
    """Several 2-D embeddings side by side, each ``(coords, labels, panel_title)``, one shared
    legend of class names on the right."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels) + 1.6, 5.0), squeeze=False)
    for ax, (coords, labels, panel_title) in zip(axes[0], panels):
        plot_embedding(coords, labels, class_names, None, panel_title, xlabel, ylabel, ax=ax, legend=False)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=1.5,
               title="class")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    _add_caption(fig, caption, width=150)
    return save_figure(fig, path)


def plot_tiles(images: np.ndarray, grid: tuple[int, int], path: str | os.PathLike, title: str,
               image_shape: tuple[int, ...] = (28, 28), xlabel: str | None = None, ylabel: str | None = None,
               xticklabels: Sequence[str] | None = None, yticklabels: Sequence[str] | None = None) -> str:
    """Images (values in [0, 1]) tiled edge to edge into one picture of ``grid`` = (rows, cols).

    For sample grids (generated digits) and latent-space walks; tick labels can mark the
    latent coordinates of each row and column.
    """
    rows, cols = grid
    imgs = _as_images(images, image_shape)
    if len(imgs) != rows * cols:
        raise ValueError(f"{len(imgs)} images do not fill a {rows}x{cols} grid")
    h, w = imgs.shape[1:3]
    canvas = imgs.reshape(rows, cols, h, w, *imgs.shape[3:]).swapaxes(1, 2).reshape(rows * h, cols * w, *imgs.shape[3:])
    fig, ax = plt.subplots(figsize=(min(1 + cols * 0.55, 12), min(1 + rows * 0.55, 12)))
    ax.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([] if xticklabels is None else np.arange(cols) * w + w / 2 - 0.5, xticklabels)
    ax.set_yticks([] if yticklabels is None else np.arange(rows) * h + h / 2 - 0.5, yticklabels)
    ax.tick_params(labelsize=7)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)
