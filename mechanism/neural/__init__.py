"""A small torch-free network library: batched dense networks, heads, losses, Adam, ``.npz`` files.

Every network of a society lives in one set of arrays with leading network axes (seeds x
primitives, say), so one matmul runs them all; every backward pass is written by hand and checked
against finite differences in the tests. ``import mechanism.neural`` (``mechanism.learners`` loads
it for the PPO learners, :mod:`mechanism.learners.ppo`). State features for finite MDPs:
:mod:`mechanism.neural.features`.

A Beta bidder network and one PPO-clip step, for N networks on B samples each::

    import numpy as np
    from mechanism import neural as nn

    head = nn.BetaHead()
    net = nn.MLP((S, 16, head.n_inputs), activation="tanh", output_init="zeros", output_bias=head.initial_bias)
    params = net.init_params(np.random.default_rng(0), batch_shape=(N,))   # Beta(1, 1) everywhere
    z, cache = net.forward(params, x)                                       # x (N, B, S)
    ev = head.evaluate(z, bids)                                             # bids (N, B)
    pi = nn.ppo_clip(ev.log_prob, log_prob_old, advantage, clip=0.2)
    ent = nn.entropy_bonus(ev.entropy, 0.1)
    grads = net.backward(params, cache, ev.input_grad(pi.grad, ent.grad)).params
    opt = nn.Adam(lr=4e-5, max_grad_norm=40.0)
    step = opt.update(params, grads, opt.init(params))
"""

from mechanism.neural.features import FEATURES, state_features
from mechanism.neural.gradcheck import (
    max_relative_error,
    numerical_gradient,
    numerical_param_gradients,
    relative_error,
)
from mechanism.neural.heads import BetaHead, CategoricalHead, GaussianHead, Head, HeadEval, ValueHead
from mechanism.neural.init import INITS, Array, Params, ParamsLike, init_dense
from mechanism.neural.io import load_params, save_params
from mechanism.neural.layers import (
    ACTIVATIONS,
    DenseCache,
    DenseGrads,
    activate,
    activation_backward,
    dense_backward,
    dense_forward,
)
from mechanism.neural.lookup import lookup, lookup_backward
from mechanism.neural.losses import (
    Advantages,
    LossGrad,
    PPOClipLoss,
    entropy_bonus,
    gae,
    l2_penalty,
    normalize_advantages,
    one_step_advantage,
    ppo_clip,
    reinforce,
    value_mse,
)
from mechanism.neural.mlp import MLP, MLPGrads, cast_params
from mechanism.neural.optim import (
    SCHEDULES,
    Adam,
    AdamState,
    AdamUpdate,
    Schedule,
    clip_by_global_norm,
    global_norm,
)

__all__ = [
    "ACTIVATIONS",
    "FEATURES",
    "INITS",
    "MLP",
    "SCHEDULES",
    "Adam",
    "AdamState",
    "AdamUpdate",
    "Advantages",
    "Array",
    "BetaHead",
    "CategoricalHead",
    "DenseCache",
    "DenseGrads",
    "GaussianHead",
    "Head",
    "HeadEval",
    "LossGrad",
    "MLPGrads",
    "PPOClipLoss",
    "Params",
    "ParamsLike",
    "Schedule",
    "ValueHead",
    "activate",
    "activation_backward",
    "cast_params",
    "clip_by_global_norm",
    "dense_backward",
    "dense_forward",
    "entropy_bonus",
    "gae",
    "global_norm",
    "init_dense",
    "l2_penalty",
    "load_params",
    "lookup",
    "lookup_backward",
    "max_relative_error",
    "normalize_advantages",
    "numerical_gradient",
    "numerical_param_gradients",
    "one_step_advantage",
    "ppo_clip",
    "reinforce",
    "relative_error",
    "save_params",
    "state_features",
    "value_mse",
]
