"""Hyperparameters of the PPO learners, by name: the paper's settings and Agora's tuned ones.

Every hyperparameter of :class:`mechanism.learners.PPO` and :class:`mechanism.learners.MonolithicPPO`
defaults to None, "take it from ``settings``"; a value passed explicitly wins. After construction
every field holds the value in force, so :class:`mechanism.TrainConfig` records the settings that
ran, not their names alone.

``settings="paper"`` (Chang et al. 2020 and their code, :doc:`PAPER.md`): PPO with policy lr 4e-5,
value lr 5e-3, entropy 0.1 (constant), clip 0.2, GAE λ 0.95 ("memoryless": every stored transition
has mask 0, so the advantage is U − V(s) and λ has no effect), 4,096 env steps per epoch,
minibatch 256, one pass, a policy encoder Linear(S, 16) with no activation and a Beta head
starting at Beta(1, 1), a critic MLP (S, 16, 1) with ReLU and 1e−3·Σθ², the policy gradient
clipped at norm 40, advantages normalised over each network's buffer. Redundancy 2 is
``train(clones=2)``, the default.

``settings="agora"``: the defaults measured in ``tests/benchmarks/test_bench_ppo.py`` (its
docstring lists what each change does on the chain): the concentration learned in log units and
capped at 3·10⁴ (:mod:`mechanism.learners.ppo_core`), an update every 256 env steps, a larger
policy step (3e-3), a small entropy bonus decaying in env steps, and per-auction primitive dropout
0.1, without which a primitive that loses at a state stops being pinned by its utility and its
bids die.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from mechanism.learners.ppo_core import CONCENTRATIONS
from mechanism.neural.features import Features, check_features
from mechanism.neural.layers import check_activation

__all__ = ["PPO_SETTINGS", "PPOHyperparameters"]

_COMMON_PAPER: dict[str, Any] = {
    "lr": 4e-5,
    "value_lr": 5e-3,
    "entropy": 0.1,
    "entropy_final": 0.1,
    "entropy_steps": 1e5,
    "clip": 0.2,
    "lam": 0.95,
    "epoch_steps": 4096,
    "minibatch": 256,
    "epochs": 1,
    "hidden": (16,),
    "activation": "identity",
    "value_hidden": (16,),
    "value_activation": "relu",
    "value_l2": 1e-3,
    "max_grad_norm": 40.0,
    "normalize": True,
    "memoryless": True,
    "dropout": 0.0,
    "concentration": "softplus",
    "max_concentration": float("inf"),
}

#: Settings by name: every hyperparameter of the PPO learners (module docstring).
PPO_SETTINGS: dict[str, dict[str, Any]] = {
    "paper": _COMMON_PAPER,
    "agora": {
        **_COMMON_PAPER,
        "lr": 3e-3,
        "value_lr": 1e-2,
        "entropy": 0.01,
        "entropy_final": 0.0,
        "entropy_steps": 2e4,
        "epoch_steps": 256,
        "dropout": 0.1,
        "concentration": "log",
        "max_concentration": 3e4,
    },
}


def _positive(value: Any, key: str, kind: type = float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or not value > 0:
        raise ValueError(f"{key} must be a positive {kind.__name__}; got {value!r}.")
    if kind is int and int(value) != value:
        raise ValueError(f"{key} must be a positive int; got {value!r}.")


def _sizes(value: Any, key: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(d) for d in value)
    except TypeError as err:
        raise TypeError(f"{key} must be a sequence of positive ints (hidden layer widths); got {value!r}.") from err
    if not sizes or min(sizes) < 1 or any(int(d) != d for d in value):
        raise ValueError(f"{key} must be a non-empty sequence of positive ints; got {value!r}.")
    return sizes


@dataclass(frozen=True)
class PPOHyperparameters:
    """The hyperparameters both PPO learners share; None takes the value of ``settings``.

    Parameters
    ----------
    settings : {"agora", "paper"}
        Where the unset hyperparameters come from (:data:`PPO_SETTINGS`).
    features : "onehot", "coords" or callable
        The networks' input per state (:func:`mechanism.neural.features.state_features`).
    lr, value_lr : float
        Adam's step for the policy and the critic.
    entropy, entropy_final, entropy_steps : float
        Entropy bonus c_t = c_final + (c − c_final)·T/(T + t) after t env steps per seed, T =
        ``entropy_steps`` (:func:`mechanism.learners.base.exploration_rate`'s schedule).
    clip : float
        PPO's ε.
    lam : float in [0, 1]
        GAE's λ (used when ``memoryless`` is False, and always by the monolithic baseline).
    epoch_steps : int
        Env steps per seed between updates (rounded up to whole rounds of ``train``'s episodes).
    minibatch, epochs : int
        Samples per minibatch (per network) and passes over the buffer per update.
    hidden, activation, value_hidden, value_activation
        Hidden widths and activations of the policy and the critic (identity, relu or tanh).
    value_l2 : float
        c of the critic's c·Σθ² penalty (0: none).
    max_grad_norm : float
        The policy gradient's global norm per network is clipped to it.
    normalize : bool
        Normalise the advantages over each network's buffer.
    """

    settings: str = "agora"
    features: Features = "onehot"
    lr: float = None  # type: ignore[assignment]  # None: from settings
    value_lr: float = None  # type: ignore[assignment]  # None: from settings
    entropy: float = None  # type: ignore[assignment]  # None: from settings
    entropy_final: float = None  # type: ignore[assignment]  # None: from settings
    entropy_steps: float = None  # type: ignore[assignment]  # None: from settings
    clip: float = None  # type: ignore[assignment]  # None: from settings
    lam: float = None  # type: ignore[assignment]  # None: from settings
    epoch_steps: int = None  # type: ignore[assignment]  # None: from settings
    minibatch: int = None  # type: ignore[assignment]  # None: from settings
    epochs: int = None  # type: ignore[assignment]  # None: from settings
    hidden: tuple[int, ...] = None  # type: ignore[assignment]  # None: from settings
    activation: str = None  # type: ignore[assignment]  # None: from settings
    value_hidden: tuple[int, ...] = None  # type: ignore[assignment]  # None: from settings
    value_activation: str = None  # type: ignore[assignment]  # None: from settings
    value_l2: float = None  # type: ignore[assignment]  # None: from settings
    max_grad_norm: float = None  # type: ignore[assignment]  # None: from settings
    normalize: bool = None  # type: ignore[assignment]  # None: from settings

    def __post_init__(self) -> None:
        if not isinstance(self.settings, str) or self.settings not in PPO_SETTINGS:
            raise ValueError(f"settings must be one of {sorted(PPO_SETTINGS)}; got {self.settings!r}.")
        check_features(self.features)
        chosen = PPO_SETTINGS[self.settings]
        for f in dataclasses.fields(self):
            if f.name in chosen and getattr(self, f.name) is None:
                object.__setattr__(self, f.name, chosen[f.name])
        self._check()

    def _check(self) -> None:
        for key in ("lr", "value_lr", "entropy_steps", "clip", "max_grad_norm"):
            _positive(getattr(self, key), key)
        for key in ("epoch_steps", "minibatch", "epochs"):
            _positive(getattr(self, key), key, int)
            object.__setattr__(self, key, int(getattr(self, key)))
        for key in ("entropy", "entropy_final", "value_l2"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"{key} must be a number >= 0; got {value!r}.")
        if not 0.0 <= float(self.lam) <= 1.0:
            raise ValueError(f"lam must lie in [0, 1]; got {self.lam!r}.")
        for key in ("hidden", "value_hidden"):
            object.__setattr__(self, key, _sizes(getattr(self, key), key))
        for key in ("activation", "value_activation"):
            check_activation(getattr(self, key), key)
        if not isinstance(self.normalize, bool):
            raise TypeError(f"normalize must be a bool; got {self.normalize!r}.")


def check_dropout_and_link(dropout: Any, concentration: Any, memoryless: Any, max_concentration: Any) -> None:
    """The bidders' own hyperparameters: dropout in [0, 1), a known concentration link and a cap > 2 on it,
    memoryless a bool."""
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must lie in [0, 1) (the chance a primitive sits an auction out); got {dropout!r}.")
    if concentration not in CONCENTRATIONS:
        raise ValueError(f"concentration must be one of {CONCENTRATIONS}; got {concentration!r}.")
    cap = max_concentration
    if isinstance(cap, bool) or not isinstance(cap, int | float) or not cap > 2:
        raise ValueError(f"max_concentration must be a number > 2 (Beta(1, 1) has κ = 2), or inf; got {cap!r}.")
    if not isinstance(memoryless, bool):
        raise TypeError(f"memoryless must be a bool; got {memoryless!r}.")
