"""What each model predicts, how it is fitted (LightGBM gradient-boosted trees) and how it is backtested.

Out-of-time backtest: the model is fitted on a snapshot at now - 2H (labels: what happened in the H days after),
then judged on the snapshot at now - H, whose outcome (the most recent H days) it never saw. The model judged is
the model used. Plain numpy and LightGBM: no Django here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import lightgbm as lgb
import numpy as np

from predictions.features import FEATURES, Snapshot

HORIZON = timedelta(days=21)
ACTIVE_WINDOW_FEATURE = "engaged_28d"


@dataclass(frozen=True)
class Requirements:
    """The least data a model is trained on; below it, scores are null ("not enough data")."""

    min_population: int = 500
    min_positives: int = 25
    min_auc: float = 0.65  # a backtest below this fails: the model is not used
    max_examples: int = 200_000  # a larger population is sampled (evenly, by seed): AUC moves little beyond


@dataclass
class Examples:
    X: np.ndarray
    y: np.ndarray

    @property
    def positives(self) -> int:
        return int(self.y.sum())


@dataclass
class Fitted:
    booster: lgb.Booster | None
    metrics: dict = field(default_factory=dict)
    quality: str = ""
    passed: bool = False
    message: str = ""


def examples(kind: str, snapshot: Snapshot) -> Examples:
    """Return the population and labels of `kind` in a labelled snapshot.

    - churn_risk: contacts active in the 28 days before; positive when silent over the horizon.
    - conversion: every contact that existed; positive when it purchased over the horizon.
    - engagement_decay: contacts engaged at least twice in the 28 days before; positive when they engage less
      than half as much (per day) over the horizon.
    """
    existed = snapshot.column("age_days") >= 0
    before = snapshot.column(ACTIVE_WINDOW_FEATURE)
    after = snapshot.engaged_after
    if kind == "churn_risk":
        population, label = existed & (before > 0), after == 0
    elif kind == "conversion":
        population, label = existed, snapshot.purchases_after > 0
    elif kind == "engagement_decay":
        per_28 = after * 28 / HORIZON.days
        population, label = existed & (before >= 2), per_28 < 0.5 * before
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    return Examples(X=snapshot.X[population], y=label[population].astype(np.float32))


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Return the ROC AUC (Mann-Whitney, ties counted half)."""
    positives = labels > 0
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(average, counts)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def lift_top_decile(scores: np.ndarray, labels: np.ndarray) -> float:
    """Return the positive rate among the top 10 % of scores over the base rate."""
    base = float(labels.mean()) if len(labels) else 0.0
    if base == 0:
        return float("nan")
    top = np.argsort(-scores, kind="mergesort")[:max(1, len(scores) // 10)]
    return float(labels[top].mean() / base)


def quality_label(value: float, requirements: Requirements) -> str:
    if not value >= requirements.min_auc:  # NaN too
        return "poor"
    return "excellent" if value >= 0.85 else "good" if value >= 0.75 else "fair"


PARAMS = {
    "objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "max_depth": 5, "min_data_in_leaf": 20,
    "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    # One thread: on a shared two-core host, OpenMP's spinning threads made a fit 20 times slower, not faster.
    "num_threads": 1, "deterministic": True, "force_col_wise": True, "seed": 7, "verbose": -1,
}
ROUNDS = 80


def fit_and_backtest(kind: str, train: Snapshot, test: Snapshot, requirements: Requirements) -> Fitted:
    """Fit on `train`, judge on `test`; the result passes when both have enough data and the AUC is enough."""
    fit_on, judge_on = examples(kind, train), examples(kind, test)
    counts = {"train_population": len(fit_on.y), "train_positives": fit_on.positives,
              "backtest_population": len(judge_on.y), "backtest_positives": judge_on.positives}
    short = _not_enough(fit_on, judge_on, requirements)
    if short:
        return Fitted(booster=None, metrics=counts, message=short)
    fit_on = _sample(fit_on, requirements.max_examples)
    booster = lgb.train(PARAMS, lgb.Dataset(fit_on.X, fit_on.y, feature_name=FEATURES, free_raw_data=True),
                        num_boost_round=ROUNDS)
    scores = booster.predict(judge_on.X)
    value = auc(scores, judge_on.y)
    metrics = {**counts, "auc": round(value, 4), "lift_top_decile": round(lift_top_decile(scores, judge_on.y), 3),
               "base_rate": round(float(judge_on.y.mean()), 4)}
    quality = quality_label(value, requirements)
    passed = quality != "poor"
    message = "" if passed else (f"The backtest AUC {value:.2f} is below {requirements.min_auc:.2f}: "
                                 "the model would not rank contacts better than chance by enough to be used.")
    return Fitted(booster=booster, metrics=metrics, quality=quality, passed=passed, message=message)


def _sample(part: Examples, at_most: int) -> Examples:
    if len(part.y) <= at_most:
        return part
    keep = np.sort(np.random.default_rng(PARAMS["seed"]).choice(len(part.y), at_most, replace=False))
    return Examples(X=part.X[keep], y=part.y[keep])


def _not_enough(fit_on: Examples, judge_on: Examples, requirements: Requirements) -> str:
    for name, part in (("training", fit_on), ("backtest", judge_on)):
        negatives = len(part.y) - part.positives
        if len(part.y) < requirements.min_population:
            return (f"Not enough data: {len(part.y)} contacts in the {name} snapshot, "
                    f"at least {requirements.min_population} are needed.")
        if min(part.positives, negatives) < requirements.min_positives:
            return (f"Not enough data: {part.positives} positive and {negatives} negative outcomes in the {name} "
                    f"snapshot, at least {requirements.min_positives} of each are needed.")
    return ""
