"""MentalRotation as a finite MDP: a computation graph of affine primitives, unrolled for two steps.

The paper's computation-graph task (Chang et al. 2020, §6; the authors' ``mnist/mnist_env.py``):
a digit is rotated by ±60° and then translated, and a society of six primitives (rotate left or
right by 60°, translate up, down, left or right) gets two steps to re-represent it; the episode
pays 1 when a frozen classifier recognises the result. Here the digits are Agora's procedural
glyphs (:mod:`tasks.glyphs`) and the classifier is the one fitted there.

*Distortions.* Exactly the authors' set: every start image is an upright glyph rotated by
+``angle`` or −``angle`` (one rotation primitive) and then shifted by one translation primitive:
2 x 4 = 8 distortions, balanced over the images. The inverse is "translate back, then rotate
back" (in that order: a rotation about the image centre after the shift would move the glyph),
so every image can be undone in two steps up to interpolation blur and ink lost at the edge, and
the other 35 sequences leave it rotated or shifted: solvable, not trivially (the reverse order
leaves a shift of ``shift`` pixels, since |R(60°) − I| = 1).

*The MDP.* For n images, S = 7n + 1 states: the root of image i is state i (depth 0, the distorted
image); the state after primitive a at the root of i is n + 6i + a (depth 1); state 7n is the one
absorbing terminal. Depth 2 is the terminal: the second step moves every depth-1 state there and
pays R = 1 when the classifier is right on the image after both primitives, else 0. Transitions
are deterministic, ``start`` is uniform over the n roots, every episode lasts exactly two steps
(no time limit is needed). γ = 0.99 (the paper's), so V^π(root) = γ·(reward of π's sequence) and
the mean reward of a policy is start·V^π/γ.

*Features* for neural bidders (:attr:`RotationTask.features`, :class:`PixelFeatures`): the pixels
of the state's current image (size² values in [0, 1]; zeros at the terminal) and the depth one-hot
(3 values): the ``features=`` of :class:`mechanism.learners.PPO`.

*Held-out images.* ``split="heldout"`` draws other glyphs and distortions from the same ``seed``
(a different stream), with the same classifier: the same construction on images the learners
never saw.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from tasks.glyphs import ANGLE, PRIMITIVES, SIZE, Classifier, apply_primitive, frozen_classifier, render_glyphs
from tasks.mdp import FiniteMDP

__all__ = ["GAMMA", "SPLITS", "PixelFeatures", "RotationTask", "rotation", "rotation_features", "rotation_task"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: The discount (the paper's γ).
GAMMA = 0.99
#: Image streams by split: the training images and the held-out ones.
SPLITS: tuple[str, ...] = ("train", "heldout")
#: Number of primitives (actions).
A = len(PRIMITIVES)
#: The primitive that undoes each one (rotate left <-> right, up <-> down, left <-> right).
INVERSE: tuple[int, ...] = (1, 0, 3, 2, 5, 4)


class PixelFeatures:
    """The feature callable of a rotation task: ``f(states) -> (len(states), d)`` rows of its matrix.

    A named callable (not a lambda) so that a learner's recorded configuration says what it was.
    """

    __slots__ = ("label", "matrix")

    def __init__(self, matrix: FloatArray, label: str) -> None:
        self.matrix, self.label = matrix, label

    def __call__(self, states: NDArray[np.intp]) -> FloatArray:
        """Rows ``states`` of the (S, d) feature matrix."""
        return self.matrix[np.asarray(states, dtype=np.intp)]

    def __repr__(self) -> str:
        return f"PixelFeatures({self.label}, d={self.matrix.shape[1]})"


@dataclass(frozen=True, eq=False)
class RotationTask:
    """A mental-rotation MDP with everything it was built from.

    Attributes
    ----------
    mdp : FiniteMDP
        S = 7n + 1 states, 6 actions (module docstring).
    upright : float array (n, size, size)
        The glyphs before distortion.
    labels : int array (n,)
    distortion : int array (n, 2)
        The two primitives that made each start image from its upright glyph (rotation, then translation).
    images : float array (S, size, size)
        The image at every state (zeros at the terminal).
    correct : bool array (n, 6, 6)
        ``correct[i, a, b]``: the classifier is right on image i after primitive a, then b (= R at depth 1).
    depth : int array (S,)
        0 at the roots, 1 after one step, 2 at the terminal.
    classifier : tasks.glyphs.Classifier
    features : float array (S, size² + 3)
        Pixels and depth one-hot per state.
    split, seed, angle, shift : the construction's arguments.
    """

    mdp: FiniteMDP
    upright: FloatArray
    labels: IntArray
    distortion: IntArray
    images: FloatArray
    correct: NDArray[np.bool_]
    depth: IntArray
    classifier: Classifier
    features: FloatArray
    split: str
    seed: int
    angle: float
    shift: int

    @property
    def n_images(self) -> int:
        """n, the number of start images."""
        return int(self.labels.shape[0])

    @property
    def terminal_state(self) -> int:
        """The absorbing terminal, 7n."""
        return 7 * self.n_images

    def state(self, image: int, first: int | None = None) -> int:
        """The root of ``image`` (``first`` None) or the state after primitive ``first`` there."""
        return image if first is None else self.n_images + A * image + first

    def feature_fn(self) -> PixelFeatures:
        """The features as the callable a PPO learner takes (``features=task.feature_fn()``)."""
        return PixelFeatures(self.features, f"rotation {self.split} n={self.n_images} seed={self.seed}")


def _check(n_images: int, split: str, shift: int, size: int) -> None:
    if isinstance(n_images, bool) or not isinstance(n_images, int | np.integer) or n_images < 1:
        raise ValueError(f"n_images must be a positive int (how many start images); got {n_images!r}.")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}.")
    if isinstance(shift, bool) or not isinstance(shift, int | np.integer) or not 1 <= shift < size // 2:
        raise ValueError(f"shift must be an int in [1, size/2) pixels; got {shift!r} for size {size}.")


def _distorted(
    n: int, seed: int, split: str, size: int, angle: float, shift: int
) -> tuple[FloatArray, IntArray, IntArray, FloatArray]:
    """Upright glyphs, labels, distortions (n, 2) (balanced over the 8) and the start images."""
    stream = SPLITS.index(split)
    upright, labels = render_glyphs(n, [seed, 3 + 2 * stream], size)
    rng = np.random.default_rng([seed, 4 + 2 * stream])
    kind = rng.permutation(np.arange(n) % 8)
    distortion = np.stack([kind // 4, 2 + kind % 4], axis=1).astype(np.intp)  # (rotate l/r, translate u/d/l/r)
    start = np.empty_like(upright)
    for a, b in {(int(a), int(b)) for a, b in distortion}:
        at = (distortion[:, 0] == a) & (distortion[:, 1] == b)
        start[at] = apply_primitive(apply_primitive(upright[at], a, angle, shift), b, angle, shift)
    return upright, labels, distortion, start


def _kernel(n: int) -> tuple[sp.csr_array, NDArray[np.bool_]]:
    """The (S·A, S) deterministic kernel: root i --a--> n + 6i + a; depth 1 --b--> terminal; terminal stays."""
    S = 7 * n + 1
    succ = np.empty((S, A), dtype=np.intp)
    succ[:n] = n + A * np.arange(n)[:, None] + np.arange(A)
    succ[n:] = S - 1
    terminal = np.zeros(S, dtype=bool)
    terminal[-1] = True
    K = sp.csr_array((np.ones(S * A), (np.arange(S * A), succ.ravel())), shape=(S * A, S))
    return K, terminal


def rotation_task(
    n_images: int = 100,
    seed: int = 0,
    split: str = "train",
    angle: float = ANGLE,
    shift: int = 3,
    size: int = SIZE,
    gamma: float = GAMMA,
    classifier_seed: int = 0,
) -> RotationTask:
    """Build the mental-rotation task (module docstring); cached per argument tuple.

    Parameters
    ----------
    n_images : int
        Start images n; S = 7n + 1.
    seed : int
        Seeds the glyphs and their distortions (per split).
    split : {"train", "heldout"}
        Which image stream: held-out images share nothing with the training ones but the classifier.
    angle : float
        Degrees of the rotation primitives and of the distortion.
    shift : int
        Pixels of the translation primitives and of the distortion.
    size : int
        Image side, pixels.
    gamma : float
        Discount (the paper's 0.99).
    classifier_seed : int
        Seed of the frozen classifier (:func:`tasks.glyphs.frozen_classifier`).
    """
    _check(n_images, split, shift, size)
    return _build(int(n_images), int(seed), split, float(angle), int(shift), int(size), float(gamma),
                  int(classifier_seed))


@functools.lru_cache(maxsize=16)
def _build(
    n: int, seed: int, split: str, angle: float, shift: int, size: int, gamma: float, classifier_seed: int
) -> RotationTask:
    """:func:`rotation_task` with its arguments checked and normalised (one cache key per task)."""
    clf = frozen_classifier(size, classifier_seed)
    upright, labels, distortion, start = _distorted(n, seed, split, size, angle, shift)
    first = np.stack([apply_primitive(start, a, angle, shift) for a in range(A)], axis=1)  # (n, A, size, size)
    second = np.stack([apply_primitive(first.reshape(-1, size, size), b, angle, shift) for b in range(A)], axis=1)
    correct = (clf.predict(second).reshape(n, A, A) == labels[:, None, None])
    K, terminal = _kernel(n)
    R = np.zeros((7 * n + 1, A))
    R[n:-1] = correct.reshape(n * A, A)
    images = np.concatenate([start, first.reshape(-1, size, size), np.zeros((1, size, size))])
    depth = np.concatenate([np.zeros(n), np.ones(n * A), [2]]).astype(np.intp)
    features = np.concatenate([images.reshape(len(images), -1), np.eye(3)[depth]], axis=1)
    start_dist = np.zeros(7 * n + 1)
    start_dist[:n] = 1.0 / n
    mdp = FiniteMDP(K, R, gamma, start=start_dist, terminal=terminal, name=f"rotation[{split},n={n},seed={seed}]")
    for arr in (upright, labels, distortion, images, correct, depth, features):
        arr.setflags(write=False)
    return RotationTask(mdp, upright, labels, distortion, images, correct, depth, clf, features, split, seed, angle,
                        shift)


def rotation(
    n_images: int = 100, seed: int = 0, split: str = "train", angle: float = ANGLE, shift: int = 3, size: int = SIZE,
    gamma: float = GAMMA,
) -> FiniteMDP:
    """The mental-rotation MDP alone (the registry's builder): ``rotation_task(...).mdp``."""
    return rotation_task(n_images, seed, split, angle, shift, size, gamma).mdp


def rotation_features(
    n_images: int = 100, seed: int = 0, split: str = "train", angle: float = ANGLE, shift: int = 3, size: int = SIZE,
    gamma: float = GAMMA,
) -> PixelFeatures:
    """The pixel-and-depth features of :func:`rotation`'s MDP with the same arguments, as a PPO ``features=``."""
    return rotation_task(n_images, seed, split, angle, shift, size, gamma).feature_fn()
