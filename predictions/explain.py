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
import scipy.sparse


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
        # Every tree's leaves one after the other: a row's leaves are then one row of a sparse 0/1 matrix, and its
        # sums over the trees one product (in tree order, as a loop over the trees would add them, so the same
        # float32 sums), 3.5 times faster than gathering a row of every tree's table: a million contacts' three
        # scores spent 5 s doing that.
        self.first_leaf = np.cumsum([0] + [len(values) for values in self.values])[:-1]
        self.leaf_values = np.concatenate(self.values) if self.values else np.zeros(0)
        self.leaf_paths = np.concatenate(self.tables) if self.tables else np.zeros((0, n_features), np.float32)

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
        return 1.0 / (1.0 + np.exp(-(self._reached(leaves, np.float64) @ self.leaf_values)))

    def contributions(self, leaves: np.ndarray) -> np.ndarray:
        return self._reached(leaves, np.float32) @ self.leaf_paths

    def _reached(self, leaves: np.ndarray, dtype) -> scipy.sparse.csr_matrix:
        """Return the rows' leaves as a 0/1 matrix over all the trees' leaves (a row: one leaf per tree)."""
        trees = len(self.values)
        if not trees:
            return scipy.sparse.csr_matrix((len(leaves), 0), dtype=dtype)
        columns = (leaves + self.first_leaf).ravel()
        return scipy.sparse.csr_matrix((np.ones(len(columns), dtype), columns, np.arange(0, len(columns) + 1, trees)),
                                       shape=(len(leaves), len(self.leaf_values)))
