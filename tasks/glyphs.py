"""Procedural digit-like glyphs, the affine primitives that move them, and a frozen classifier.

Agora's stand-in for the MNIST digits of the paper's MentalRotation task (Chang et al. 2020, §6;
the authors' ``mnist/mnist_env.py``): no download, everything drawn from a seed.

*Glyphs.* Ten classes, each a few polylines in a unit box (x right, y up, y in [-1, 1]) shaped
like the digits 0-9 (:data:`STROKES`). A sample is its class's strokes under a per-sample jitter
(scale, aspect, slant, a small rotation, an offset of under a pixel, noise on every vertex, the
stroke width), rendered anti-aliased on a ``size x size`` grid: a pixel at distance d from the
nearest stroke segment has intensity clip(w/2 + 1/2 − d, 0, 1), the area of a unit pixel covered
by a stroke of width w when the stroke is straight on the pixel's scale (a box filter).

*Primitives* (:data:`PRIMITIVES`, the authors' six): rotate left (counter-clockwise on screen) or
right by :data:`ANGLE` = 60° about the image centre, bilinear (the authors' ``grid_sample``,
zero outside the image), and translate up, down, left or right by a whole number of pixels
(exact, zero fill). Rotating left then right is the identity up to the two interpolations'
blur; translating there and back is the identity unless ink left the frame.

*Classifier* (:func:`frozen_classifier`): multinomial logistic regression on the pixels, fitted
by L-BFGS (:func:`scipy.optimize.minimize`) to upright glyphs with their mild jitter, then frozen.
It is cached per argument tuple: the first call costs a fraction of a second.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import logsumexp

__all__ = [
    "ANGLE",
    "N_CLASSES",
    "PRIMITIVES",
    "SIZE",
    "STROKES",
    "Classifier",
    "apply_primitive",
    "apply_sequence",
    "fit_classifier",
    "frozen_classifier",
    "render_glyphs",
    "rotate",
    "translate",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Side of the square image, pixels.
SIZE = 16
#: Number of glyph classes (digit-like 0-9).
N_CLASSES = 10
#: The rotation primitives' angle, degrees (the authors' ``rotate_param``).
ANGLE = 60.0
#: The six primitives in action order (the authors' ``PrimitiveAffineTransform``).
PRIMITIVES: tuple[str, ...] = (
    "rotate_left", "rotate_right", "translate_up", "translate_down", "translate_left", "translate_right",
)
#: (rows, cols) step of each translation primitive, in units of its shift (row axis points down).
_MOVES = {"translate_up": (-1, 0), "translate_down": (1, 0), "translate_left": (0, -1), "translate_right": (0, 1)}


def _arc(cx: float, cy: float, r: float, start: float, stop: float, n: int = 9, ry: float | None = None) -> list:
    """Points of an elliptic arc from angle ``start`` to ``stop`` (degrees, counter-clockwise positive)."""
    t = np.radians(np.linspace(start, stop, n))
    return list(zip(cx + r * np.cos(t), cy + (r if ry is None else ry) * np.sin(t), strict=True))


#: Per class, its polylines in the unit box (x in about [-0.55, 0.55], y in [-1, 1], y up).
STROKES: tuple[tuple[tuple[tuple[float, float], ...], ...], ...] = tuple(
    tuple(tuple((float(x), float(y)) for x, y in line) for line in glyph)
    for glyph in (
        (_arc(0.0, 0.0, 0.5, 0, 360, 17, ry=0.95),),  # 0
        ([(-0.3, 0.65), (0.05, 1.0), (0.05, -1.0)],),  # 1
        ([*_arc(0.0, 0.5, 0.45, 160, -20, 8), (-0.5, -1.0), (0.55, -1.0)],),  # 2
        (_arc(0.0, 0.5, 0.45, 150, -90, 9) + _arc(0.0, -0.45, 0.52, 90, -150, 9),),  # 3
        ([(0.25, 1.0), (-0.55, -0.35), (0.55, -0.35)], [(0.25, 1.0), (0.25, -1.0)]),  # 4
        ([(0.5, 1.0), (-0.4, 1.0), (-0.45, 0.12), *_arc(0.0, -0.42, 0.55, 125, -150, 9)],),  # 5
        (_arc(0.55, -0.2, 1.05, 115, 190, 6) + _arc(0.0, -0.5, 0.48, 180, -180, 13),),  # 6
        ([(-0.55, 1.0), (0.55, 1.0), (-0.1, -1.0)],),  # 7
        (_arc(0.0, 0.52, 0.4, -90, 270, 13, ry=0.45), _arc(0.0, -0.5, 0.5, 90, 450, 13)),  # 8
        (_arc(0.0, 0.5, 0.48, 0, 360, 13), [(0.48, 0.5), (0.35, -1.0)]),  # 9
    )
)


def _vertices_and_pairs(label: int) -> tuple[FloatArray, IntArray]:
    """A class's stroke vertices (V, 2) and its segments as vertex index pairs (K, 2)."""
    lines = STROKES[label]
    verts = np.concatenate([np.asarray(line) for line in lines])
    starts = np.cumsum([0, *(len(line) for line in lines)])
    pairs = [np.stack([np.arange(a, b - 1), np.arange(a + 1, b)], axis=1) for a, b in itertools.pairwise(starts)]
    return verts, np.concatenate(pairs)


def _segments(y: IntArray, rng: np.random.Generator, size: int) -> tuple[FloatArray, FloatArray]:
    """The jittered strokes of glyphs of classes ``y`` as segments (n, K, 2, 2) in (row, col) pixels
    (padded to a common K by repeating a glyph's first segment, which leaves every distance as it is),
    and their stroke widths (n,)."""
    n = len(y)
    half = 0.3 * size * rng.uniform(0.85, 1.1, n)  # half the glyph's height, pixels
    aspect, slant = rng.uniform(0.85, 1.15, n), rng.uniform(-0.3, 0.3, n)
    tilt = np.radians(rng.uniform(-8.0, 8.0, n))
    centre = (size - 1) / 2.0 + rng.uniform(-0.5, 0.5, (n, 2))
    width = rng.uniform(1.0, 1.8, n)
    shapes = [_vertices_and_pairs(c) for c in range(N_CLASSES)]
    K = max(pairs.shape[0] for _, pairs in shapes)
    segs = np.empty((n, K, 2, 2))
    for c, (verts, pairs) in enumerate(shapes):
        at = np.flatnonzero(y == c)
        p = verts + rng.normal(0.0, 0.03, (at.size, *verts.shape))  # (m, V, 2)
        x = aspect[at, None] * (p[..., 0] + slant[at, None] * p[..., 1])
        cos, sin = np.cos(tilt[at, None]), np.sin(tilt[at, None])
        x, z = cos * x - sin * p[..., 1], sin * x + cos * p[..., 1]
        rc = np.stack([centre[at, None, 0] - half[at, None] * z, centre[at, None, 1] + half[at, None] * x], axis=-1)
        padded = np.concatenate([pairs, np.repeat(pairs[:1], K - len(pairs), axis=0)])
        segs[at] = rc[:, padded]  # (m, K, 2, 2)
    return segs, width


def _draw(segs: FloatArray, width: FloatArray, size: int) -> FloatArray:
    """Anti-aliased rendering of (n, K, 2, 2) segments with widths (n,): clip(w/2 + 1/2 − d, 0, 1), d the
    distance from a pixel centre to the nearest segment; (n, size, size)."""
    r, c = (g.reshape(1, -1) for g in np.meshgrid(np.arange(size), np.arange(size), indexing="ij"))
    d2 = np.full((segs.shape[0], size * size), np.inf)
    for k in range(segs.shape[1]):  # one segment of every glyph at a time: (n, size²) temporaries
        ar, ac, br, bc = (segs[:, k, j, x, None] for j in (0, 1) for x in (0, 1))  # each (n, 1)
        er, ec = br - ar, bc - ac
        t = np.clip(((r - ar) * er + (c - ac) * ec) / np.maximum(er * er + ec * ec, 1e-12), 0.0, 1.0)
        np.minimum(d2, (r - ar - t * er) ** 2 + (c - ac - t * ec) ** 2, out=d2)
    return np.clip(width[:, None] / 2.0 + 0.5 - np.sqrt(d2), 0.0, 1.0).reshape(-1, size, size)


def render_glyphs(
    n: int, seed: int | Sequence[int], size: int = SIZE, labels: Sequence[int] | None = None
) -> tuple[FloatArray, IntArray]:
    """``n`` jittered upright glyphs, (n, size, size) in [0, 1], and their classes (n,).

    Parameters
    ----------
    n : int
        How many.
    seed : int or sequence of int
        The generator's seed (``numpy.random.default_rng(seed)``): the same (n, seed, size, labels)
        gives the same images bit for bit.
    size : int
        Image side in pixels (>= 12: smaller grids cannot hold a stroke's shape).
    labels : sequence of int, optional
        The classes to draw; default: balanced, ``arange(n) % 10`` in a seeded random order.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive int (how many glyphs); got {n!r}.")
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 12:
        raise ValueError(f"size must be an int >= 12 (pixels per side); got {size!r}.")
    rng = np.random.default_rng(seed)
    if labels is None:
        y = rng.permutation(np.arange(n) % N_CLASSES).astype(np.intp)
    else:
        y = np.asarray(labels, dtype=np.intp)
        if y.shape != (n,) or (y < 0).any() or (y >= N_CLASSES).any():
            raise ValueError(f"labels must be {n} ints in [0, {N_CLASSES}); got shape {y.shape}.")
    segs, width = _segments(y, rng, int(size))
    return _draw(segs, width, int(size)), y


# ---------------------------------------------------------------------------- primitives
def _stack(images: NDArray[np.floating]) -> tuple[FloatArray, bool]:
    x = np.asarray(images, dtype=np.float64)
    single = x.ndim == 2
    x = x[None] if single else x
    if x.ndim != 3 or x.shape[1] != x.shape[2]:
        raise ValueError(f"images must be (size, size) or (n, size, size); got shape {np.shape(images)}.")
    return x, single


def rotate(images: NDArray[np.floating], degrees: float) -> FloatArray:
    """Rotate counter-clockwise on screen by ``degrees`` about the image centre, bilinear, zero outside.

    With rows pointing down, a counter-clockwise turn by θ on screen moves the point at offset
    (r, c) from the centre to M·(r, c), M = [[cos θ, −sin θ], [sin θ, cos θ]] (from x = c, y = −r
    and the usual rotation of (x, y)). Output pixel o samples the input at centre + Mᵀ(o − centre)
    (Mᵀ = M⁻¹), bilinearly (:func:`scipy.ndimage.affine_transform`, order 1), 0 outside the image;
    at θ = 90° this is ``numpy.rot90`` up to rounding.
    """
    x, single = _stack(images)
    t = np.radians(float(degrees))
    c, s = np.cos(t), np.sin(t)
    inverse = np.array([[c, s], [-s, c]])  # Mᵀ: source offset per output offset, (row, col)
    centre = (x.shape[1] - 1) / 2.0
    offset = centre - inverse @ np.array([centre, centre])
    matrix = np.eye(3)
    matrix[1:, 1:] = inverse
    out = ndi.affine_transform(x, matrix, offset=np.concatenate([[0.0], offset]), order=1, mode="constant", cval=0.0)
    return out[0] if single else out


def translate(images: NDArray[np.floating], rows: int, cols: int) -> FloatArray:
    """Shift by whole pixels (``rows`` down, ``cols`` right), zero fill: exact, no interpolation."""
    x, single = _stack(images)
    n = x.shape[1]
    out = np.zeros_like(x)
    if abs(rows) < n and abs(cols) < n:
        src_r, dst_r = slice(max(-rows, 0), n - max(rows, 0)), slice(max(rows, 0), n - max(-rows, 0))
        src_c, dst_c = slice(max(-cols, 0), n - max(cols, 0)), slice(max(cols, 0), n - max(-cols, 0))
        out[:, dst_r, dst_c] = x[:, src_r, src_c]
    return out[0] if single else out


def apply_primitive(images: NDArray[np.floating], k: int, angle: float = ANGLE, shift: int = 3) -> FloatArray:
    """Primitive ``k`` of :data:`PRIMITIVES` applied to every image: rotate by ±``angle``, or shift ``shift`` px."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k < len(PRIMITIVES):
        raise ValueError(f"k must be a primitive index in [0, {len(PRIMITIVES)}) ({', '.join(PRIMITIVES)}); got {k!r}.")
    name = PRIMITIVES[int(k)]
    if name == "rotate_left":
        return rotate(images, angle)
    if name == "rotate_right":
        return rotate(images, -angle)
    dr, dc = _MOVES[name]
    return translate(images, dr * shift, dc * shift)


def apply_sequence(images: NDArray[np.floating], ks: Sequence[int], angle: float = ANGLE, shift: int = 3) -> FloatArray:
    """The primitives ``ks`` applied in order (the composition φ_{k_n} ∘ … ∘ φ_{k_1})."""
    out = np.asarray(images, dtype=np.float64)
    for k in ks:
        out = apply_primitive(out, k, angle, shift)
    return out


# ---------------------------------------------------------------------------- the classifier
@dataclass(frozen=True, eq=False)
class Classifier:
    """A frozen multinomial logistic regression on pixels: class = argmax_c (W x + b)_c.

    Attributes
    ----------
    W : float array (10, d)
    b : float array (10,)
    size : int
        The image side it was trained for (d = size²).
    accuracy : float
        Its accuracy on held-out upright glyphs (``n_test`` of them, seeds disjoint from training).
    n_train, n_test : int
    """

    W: FloatArray
    b: FloatArray
    size: int
    accuracy: float
    n_train: int
    n_test: int

    def logits(self, images: NDArray[np.floating]) -> FloatArray:
        """(n, 10) scores of (n, size, size) images (or one (size, size) image: (10,))."""
        x = np.asarray(images, dtype=np.float64)
        flat = x.reshape(-1, self.size * self.size)
        z = flat @ self.W.T + self.b
        return z[0] if x.ndim == 2 else z.reshape(*x.shape[:-2], N_CLASSES)

    def predict(self, images: NDArray[np.floating]) -> IntArray:
        """The predicted class of every image, ties to the lowest class."""
        return np.argmax(self.logits(images), axis=-1).astype(np.intp)


def _loss(theta: FloatArray, X: FloatArray, Y: FloatArray, l2: float) -> tuple[float, FloatArray]:
    """Mean cross-entropy of softmax(X Wᵀ + b) plus (l2/2)·|W|², and its gradient (flat θ = [W, b])."""
    n, d = X.shape
    W, b = theta[: N_CLASSES * d].reshape(N_CLASSES, d), theta[N_CLASSES * d:]
    z = X @ W.T + b
    lse = logsumexp(z, axis=1, keepdims=True)
    loss = float((lse[:, 0] - (z * Y).sum(1)).mean() + 0.5 * l2 * (W * W).sum())
    g = (np.exp(z - lse) - Y) / n
    return loss, np.concatenate([(g.T @ X + l2 * W).ravel(), g.sum(0)])


def fit_classifier(
    images: FloatArray, labels: IntArray, l2: float = 1e-3, maxiter: int = 100
) -> tuple[FloatArray, FloatArray]:
    """Fit (W, b) of multinomial logistic regression by L-BFGS on the mean cross-entropy + (l2/2)|W|².

    Deterministic: L-BFGS from θ = 0 on fixed data.
    """
    X = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    Y = np.eye(N_CLASSES)[np.asarray(labels)]
    d = X.shape[1]
    res = minimize(_loss, np.zeros(N_CLASSES * (d + 1)), args=(X, Y, l2), jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter})
    return res.x[: N_CLASSES * d].reshape(N_CLASSES, d), res.x[N_CLASSES * d:]


def frozen_classifier(size: int = SIZE, seed: int = 0, n_train: int = 2000, n_test: int = 1000) -> Classifier:
    """The task's classifier: fitted on ``n_train`` upright glyphs, measured on ``n_test`` others; cached.

    Its training glyphs are drawn from the seed sequence ``[seed, 1]`` and its test glyphs from
    ``[seed, 2]``; the task's images use other streams (:mod:`tasks.rotation`).
    """
    return _classifier(int(size), int(seed), int(n_train), int(n_test))


@functools.lru_cache(maxsize=8)
def _classifier(size: int, seed: int, n_train: int, n_test: int) -> Classifier:
    """:func:`frozen_classifier` with its arguments normalised, so that the cache sees one key per classifier."""
    X, y = render_glyphs(n_train, [seed, 1], size)
    W, b = fit_classifier(X, y)
    Xt, yt = render_glyphs(n_test, [seed, 2], size)
    clf = Classifier(W, b, int(size), 0.0, n_train, n_test)
    W.setflags(write=False)
    b.setflags(write=False)
    return Classifier(W, b, int(size), float((clf.predict(Xt) == yt).mean()), n_train, n_test)
