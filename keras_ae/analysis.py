"""How well codes organise the classes: t-SNE maps and the numbers that go with them.

General functions, for any codes ``(N, D)`` with integer class labels ``(N,)``:

- :func:`select_subset` picks the images to embed (seeded; stratified by class by default).
- :func:`tsne_2d` is scikit-learn's t-SNE with fixed, documented settings.
- :func:`knn_accuracy` (fit on one set, score on a held-out one) and :func:`knn_cv_accuracy`
  (stratified k-fold on one set) measure how predictive a code's neighbourhoods are of the class.
- :func:`tsne_trustworthiness` says how faithfully the 2-D map keeps the codes' neighbourhoods.
- :func:`silhouette`, :func:`neighbour_confusion`, :func:`active_dimensions` describe the
  clusters and the code itself.
- :func:`code_quality` bundles them into one row for a table; :func:`describe_code_quality`
  turns such a row into the few sentences a report asks for.

None of these needs the labels to train anything but the kNN probe; the codes are fixed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from keras_ae.errors import DataError

TSNE_PERPLEXITY = 30.0
KNN_K = 5
NEIGHBOURS = 10  # trustworthiness and neighbour purity


def _check(x, labels=None, name="codes") -> tuple[np.ndarray, np.ndarray | None]:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise DataError(f"{name} must be a non-empty (N, D) array, found shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name} hold NaN or infinite values")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(x),):
            raise DataError(f"expected {len(x)} labels for {name} of shape {x.shape}, found shape {labels.shape}")
        labels = labels.astype(np.int64)
    return x, labels


def select_subset(labels, n: int, seed: int = 0, stratified: bool = True) -> np.ndarray:
    """Sorted indices of ``n`` items drawn without replacement (seeded).

    ``stratified=True`` takes (as nearly as possible) the same number from every class, so that
    a scatter plot of 500 Fashion-MNIST images has about 50 of each; ``False`` draws uniformly.
    """
    labels = np.asarray(labels)
    if not 1 <= n <= len(labels):
        raise DataError(f"cannot select {n} items from {len(labels)}")
    rng = np.random.default_rng(seed)
    if not stratified:
        return np.sort(rng.choice(len(labels), size=n, replace=False))
    classes = np.unique(labels)
    pools = {c: rng.permutation(np.flatnonzero(labels == c)) for c in classes}
    share = {c: 0 for c in classes}
    # Round-robin over the classes in a seeded order until n are taken (small classes run out).
    order = list(rng.permutation(classes))
    taken = 0
    while taken < n:
        for c in order:
            if taken == n:
                break
            if share[c] < len(pools[c]):
                share[c] += 1
                taken += 1
    return np.sort(np.concatenate([pools[c][: share[c]] for c in classes]))


def tsne_2d(x, perplexity: float = TSNE_PERPLEXITY, seed: int = 0, max_iter: int = 1000) -> np.ndarray:
    """2-D t-SNE coordinates of ``x`` (scikit-learn, PCA initialisation, automatic learning rate)."""
    from sklearn.manifold import TSNE

    x, _ = _check(x)
    if len(x) <= 3 * perplexity:
        raise DataError(f"t-SNE with perplexity {perplexity} needs more than {3 * perplexity:g} points, got {len(x)}")
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                max_iter=max_iter, random_state=seed)
    return tsne.fit_transform(x).astype(np.float32)


def knn_correct(train_x, train_y, test_x, test_y, k: int = KNN_K) -> np.ndarray:
    """Per test item, whether a k-nearest-neighbour classifier fitted on ``train_x`` (Euclidean)
    classifies it right (a boolean array): what a paired test of two codes compares."""
    from sklearn.neighbors import KNeighborsClassifier

    train_x, train_y = _check(train_x, train_y, "training codes")
    test_x, test_y = _check(test_x, test_y, "test codes")
    if train_x.shape[1] != test_x.shape[1]:
        raise DataError(f"training codes have {train_x.shape[1]} dimensions, test codes {test_x.shape[1]}")
    clf = KNeighborsClassifier(n_neighbors=min(k, len(train_x))).fit(train_x, train_y)
    return clf.predict(test_x) == test_y


def knn_accuracy(train_x, train_y, test_x, test_y, k: int = KNN_K) -> float:
    """Accuracy on ``test_x`` of a k-nearest-neighbour classifier fitted on ``train_x`` (Euclidean)."""
    return float(np.mean(knn_correct(train_x, train_y, test_x, test_y, k)))


def knn_cv_accuracy(x, labels, k: int = KNN_K, folds: int = 5, seed: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of kNN accuracy over stratified ``folds``-fold cross-validation:
    every item is classified once by a kNN fitted on the other folds (a held-out split)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    x, labels = _check(x, labels)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_score(KNeighborsClassifier(n_neighbors=k), x, labels, cv=splitter)
    return float(np.mean(scores)), float(np.std(scores))


def tsne_trustworthiness(x, coords, n_neighbors: int = NEIGHBOURS) -> float:
    """scikit-learn's trustworthiness of the 2-D map: 1 when the ``n_neighbors`` nearest
    neighbours of every point in the map are also among its nearest in ``x``."""
    from sklearn.manifold import trustworthiness

    x, _ = _check(x)
    coords, _ = _check(coords, name="coordinates")
    if len(x) != len(coords):
        raise DataError(f"{len(x)} codes but {len(coords)} map coordinates")
    return float(trustworthiness(x, coords, n_neighbors=n_neighbors))


def silhouette(x, labels) -> float:
    """Mean silhouette of the classes in ``x`` (-1..1; higher: classes are tighter and further
    apart). NaN when it is undefined (one class, or all points identical)."""
    from sklearn.metrics import silhouette_score

    x, labels = _check(x, labels)
    if len(np.unique(labels)) < 2 or np.ptp(x, axis=0).max() == 0.0:
        return float("nan")
    return float(silhouette_score(x, labels))


def active_dimensions(codes, tol: float = 1e-6) -> int:
    """Code dimensions whose value varies over the data (a ReLU unit that is always 0 is dead)."""
    codes, _ = _check(codes)
    return int(np.sum(np.std(codes, axis=0) > tol))


def neighbour_confusion(x, labels, n_classes: int, k: int = NEIGHBOURS) -> np.ndarray:
    """``C[a, b]``: the fraction of the ``k`` nearest neighbours (itself excluded) of the points of
    class ``a`` that belong to class ``b``. The diagonal is each class's neighbourhood purity."""
    from sklearn.neighbors import NearestNeighbors

    x, labels = _check(x, labels)
    k = min(k, len(x) - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    neigh = labels[idx[:, 1:]]
    conf = np.zeros((n_classes, n_classes))
    for a in range(n_classes):
        rows = neigh[labels == a]
        if len(rows):
            conf[a] = np.bincount(rows.ravel(), minlength=n_classes)[:n_classes] / rows.size
        else:
            conf[a] = np.nan
    return conf


def most_confused_pairs(conf: np.ndarray, top: int = 3) -> list[tuple[int, int, float]]:
    """The class pairs ``(a, b, share)`` that mix most: ``share`` is the mean of ``C[a, b]`` and
    ``C[b, a]`` from :func:`neighbour_confusion`, largest first."""
    sym = (conf + conf.T) / 2.0
    pairs = [(a, b, float(sym[a, b])) for a in range(len(conf)) for b in range(a + 1, len(conf))
             if np.isfinite(sym[a, b])]
    return sorted(pairs, key=lambda p: -p[2])[:top]


def code_quality(codes, labels, coords=None, train_codes=None, train_labels=None, test_codes=None,
                 test_labels=None, k: int = KNN_K, neighbours: int = NEIGHBOURS, folds: int = 5,
                 seed: int = 0) -> dict:
    """One table row of numbers for the codes ``codes`` of the embedded images.

    - ``knn_cv``/``knn_cv_std``: kNN accuracy on ``codes`` by stratified ``folds``-fold CV.
    - ``knn_test`` (with ``train_codes``/``test_codes``): kNN fitted on the training codes,
      scored on the held-out test codes.
    - ``silhouette_code``; with ``coords`` (the t-SNE map of ``codes``) also ``trustworthiness``,
      ``knn_cv_tsne`` (kNN in the plane) and ``silhouette_tsne``.
    - ``dims``/``active_dims``: code size and how many of its units vary.
    """
    codes, labels = _check(codes, labels)
    row = {"n": len(codes), "dims": codes.shape[1], "active_dims": active_dimensions(codes)}
    row["knn_cv"], row["knn_cv_std"] = knn_cv_accuracy(codes, labels, k, folds, seed)
    if train_codes is not None and test_codes is not None:
        row["knn_test"] = knn_accuracy(train_codes, train_labels, test_codes, test_labels, k)
        row["knn_train_n"], row["knn_test_n"] = len(train_codes), len(test_codes)
    row["silhouette_code"] = silhouette(codes, labels)
    if coords is not None:
        row["trustworthiness"] = tsne_trustworthiness(codes, coords, neighbours)
        row["knn_cv_tsne"], _ = knn_cv_accuracy(coords, labels, k, folds, seed)
        row["silhouette_tsne"] = silhouette(coords, labels)
    return row


def describe_code_quality(name: str, row: dict, conf: np.ndarray, class_names: Sequence[str],
                          reference: dict | None = None, reference_name: str = "raw pixels",
                          k: int = KNN_K, neighbours: int = NEIGHBOURS, folds: int = 5) -> str:
    """A few sentences on how well codes organise the classes, from :func:`code_quality`'s
    ``row`` and the plane's :func:`neighbour_confusion` ``conf`` (optionally against a
    ``reference`` row, for example the raw pixels of the same images)."""
    purity = np.diag(conf)
    order = [int(i) for i in np.argsort(-np.nan_to_num(purity, nan=-1.0))]
    clean = ", ".join(f"{class_names[i]} ({purity[i]:.2f})" for i in order[:3])
    mixed = ", ".join(f"{class_names[i]} ({purity[i]:.2f})" for i in order[::-1][:3])
    pairs = "; ".join(f"{class_names[a]} / {class_names[b]} ({s:.2f})" for a, b, s in most_confused_pairs(conf))
    text = [f"{name}: {row['dims']}-d codes ({row['active_dims']} of {row['dims']} units active) of {row['n']} test images."]
    knn = f"A {k}-nearest-neighbour classifier on the codes is right {100 * row['knn_cv']:.1f}% of the time " \
          f"({folds}-fold held-out CV on these images, +-{100 * row['knn_cv_std']:.1f})"
    if "knn_test" in row:
        knn += f", {100 * row['knn_test']:.1f}% when fitted on {row['knn_train_n']} training codes and scored on " \
               f"{row['knn_test_n']} test codes"
    if reference is not None:
        ref = f"{100 * reference['knn_cv']:.1f}% CV"
        if "knn_test" in reference:
            ref += f", {100 * reference['knn_test']:.1f}% train->test"
        knn += f"; on the {reference_name} of the same images: {ref}"
    text.append(knn + " (chance: 10%).")
    if "trustworthiness" in row:
        text.append(f"The 2-D t-SNE map keeps the codes' neighbourhoods well (trustworthiness "
                    f"{row['trustworthiness']:.3f} at {neighbours} neighbours; kNN in the plane "
                    f"{100 * row['knn_cv_tsne']:.1f}%). Class silhouette: {row['silhouette_code']:.2f} in code "
                    f"space, {row['silhouette_tsne']:.2f} in the plane."
                    if row["trustworthiness"] >= 0.9 else
                    f"The 2-D t-SNE map keeps the codes' neighbourhoods only partly (trustworthiness "
                    f"{row['trustworthiness']:.3f} at {neighbours} neighbours). Class silhouette: "
                    f"{row['silhouette_code']:.2f} in code space, {row['silhouette_tsne']:.2f} in the plane.")
    text.append(f"In the plane the cleanest classes (share of the {neighbours} nearest neighbours in the same "
                f"class) are {clean}; the most mixed are {mixed}. The pairs that overlap most: {pairs}.")
    return " ".join(text)
