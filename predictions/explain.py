"""Scores and per-feature contributions from the trees' leaves, in one pass.

A row's raw score is the sum of the values of the leaves it reaches, one per tree; its contributions are the
changes of the node values along each path, credited to the feature split on (Saabas' path attribution, as in
`treeinterpreter`). Both depend only on the leaves, so one `pred_leaf` pass and table look-ups give them for a
million rows in seconds. LightGBM's exact TreeSHAP (`pred_contrib=True`) gives close rankings of the top
features but cost 0.65 ms per row here (11 minutes for a million contacts), too slow for daily scoring.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np


class TreeExplainer:
    def __init__(self, booster: lgb.Booster, n_features: int) -> None:
        self.booster = booster
        self.values: list[np.ndarray] = []
        self.tables: list[np.ndarray] = []
        for tree in booster.dump_model()["tree_info"]:
            values = np.zeros(tree["num_leaves"])
            table = np.zeros((tree["num_leaves"], n_features), np.float32)
            self._walk(tree["tree_structure"], np.zeros(n_features), values, table)
            self.values.append(values)
            self.tables.append(table)

    def _walk(self, node: dict, path: np.ndarray, values: np.ndarray, table: np.ndarray) -> None:
        if "leaf_index" in node or "split_feature" not in node:
            index = node.get("leaf_index", 0)
            values[index] = node["leaf_value"]
            table[index] = path
            return
        here = node["internal_value"]
        for side in ("left_child", "right_child"):
            child = node[side]
            child_value = child["leaf_value"] if "split_feature" not in child else child["internal_value"]
            step = path.copy()
            step[node["split_feature"]] += child_value - here
            self._walk(child, step, values, table)

    def leaves(self, X: np.ndarray) -> np.ndarray:
        if not len(X):
            return np.zeros((0, len(self.values)), np.int32)
        return self.booster.predict(X, pred_leaf=True, num_threads=1).astype(np.int32).reshape(len(X), -1)

    def probabilities(self, leaves: np.ndarray) -> np.ndarray:
        raw = np.zeros(len(leaves))
        for t, values in enumerate(self.values):
            raw += values[leaves[:, t]]
        return 1.0 / (1.0 + np.exp(-raw))

    def contributions(self, leaves: np.ndarray) -> np.ndarray:
        total = np.zeros((len(leaves), self.tables[0].shape[1] if self.tables else 0), np.float32)
        for t, table in enumerate(self.tables):
            total += table[leaves[:, t]]
        return total
