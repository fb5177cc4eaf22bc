"""Scores and contributions from the trees' leaves (predictions.explain) against LightGBM's own predictions."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from predictions.explain import TreeExplainer


def _booster(rows: int = 600, features: int = 6) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(rows, features))
    y = (X[:, 0] + 0.5 * X[:, 3] * X[:, 1] + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    params = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1, "seed": 1}
    return lgb.train(params, lgb.Dataset(X, y), num_boost_round=25), X


def test_scores_and_contributions_agree_with_lightgbm():
    booster, X = _booster()
    explainer = TreeExplainer(booster, X.shape[1])
    leaves = explainer.leaves(X)

    assert np.allclose(explainer.probabilities(leaves), booster.predict(X), atol=1e-9)
    # Saabas' attribution splits each tree's path exactly: the root values plus the contributions make the raw
    # score, row by row (float32 contributions, so to their precision).
    roots = sum(tree["tree_structure"].get("internal_value", tree["tree_structure"].get("leaf_value", 0.0))
                for tree in booster.dump_model()["tree_info"])
    raw = booster.predict(X, raw_score=True)
    contributions = explainer.contributions(leaves)
    assert contributions.shape == X.shape and contributions.dtype == np.float32
    assert np.allclose(roots + contributions.sum(axis=1, dtype=np.float64), raw, atol=1e-4)
    # Each row's contributions are the sum of its leaves' paths, tree by tree.
    row = 7
    by_hand = np.zeros(X.shape[1], np.float32)
    for tree, leaf in enumerate(leaves[row]):
        by_hand += explainer.tables[tree][leaf]
    assert np.array_equal(contributions[row], by_hand)


def test_no_rows():
    booster, X = _booster()
    explainer = TreeExplainer(booster, X.shape[1])
    leaves = explainer.leaves(X[:0])
    assert explainer.probabilities(leaves).shape == (0,) and explainer.contributions(leaves).shape == (0, X.shape[1])
