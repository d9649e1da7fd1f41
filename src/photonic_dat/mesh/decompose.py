"""Haar-random unitaries and their decomposition into MZI meshes (Clements and Reck layouts).

Conventions (those of :mod:`.mzi`, :mod:`.layout` and :mod:`.mesh`, not redefined here):

* one MZI on the neighbouring modes ``(m, m + 1)`` is ``T(theta, phi) = P(phi) B Q(theta) B``
  with the 50:50 coupler ``B = 1/sqrt(2) [[1, i], [i, 1]]``, the push-pull ("Bloch") internal
  phase ``Q(theta) = diag(exp(i theta/2), exp(-i theta/2))`` and the external phase
  ``P(phi) = diag(exp(i phi), 1)`` on the *upper output* arm::

      T(theta, phi) = i [[e^{i phi} s, e^{i phi} c], [c, -s]],  s = sin(theta/2), c = cos(theta/2)

  (built in exactly one place here, :func:`_mzi`, checked against :func:`~.mzi.mzi_matrix` by
  the tests);
* a mesh is ``U = C_{L-1} ... C_1 C_0 diag(exp(i gamma))``: the input phase screen ``gamma``
  first, then the columns of :func:`~.layout.make_layout` (``C_0`` first), acting on column
  vectors (``out = U @ in``);
* ``theta`` and ``phi`` are returned in layout order (column by column, then by top mode).

Method. Both decompositions work on the transpose ``V = U^T``. Because ``B`` and ``Q`` are
symmetric, ``T(theta, phi)^T = S(theta, phi) = B Q(theta) B P(phi) = S(theta, 0) P(phi)``, an MZI
whose external phase sits on the upper *input* arm, and
``V = diag(exp(i gamma)) C_0^T C_1^T ... C_{L-1}^T`` has its phase screen at the *output*: the
setting of Reck et al. (1994) and Clements et al. (2016). With

    S(theta, phi) = i [[s e^{i phi}, c], [c e^{i phi}, -s]],

* right-multiplying by ``S^{-1}`` on columns ``(m, m+1)`` zeroes the entry ``x`` of a row
  ``(..., x, y, ...)`` for ``theta = 2 atan2(|y|, |x|)`` and ``phi = arg x - arg y + pi`` (only
  ratios of entries matter, so a common phase of the MZI would not change these); whatever
  phases the MZI leaves on the two columns stay in ``V`` and end up on its diagonal;
* a left multiplication by any 2x2 unitary ``G`` on rows ``(m, m+1)`` (used by Clements) is
  undone later: ``G^{-1} diag(d_m, d_{m+1})`` is a 2x2 unitary and every 2x2 unitary ``W``
  factors as ``W = diag(d'_m, d'_{m+1}) S(theta, phi)`` (:func:`_factor_phase_mzi`), so the
  diagonal moves to the left of the new MZI (it is "pushed through" to the output of ``V``,
  which is the input screen ``gamma`` of ``U``).

Transposing back turns every ``S(theta, phi)`` into ``T(theta, phi)`` with the same phases and
reverses the order of the factors. The column of each MZI is found by as-soon-as-possible
scheduling of the resulting sequence of 2x2 operations (light order) and looked up in the
layout, which these algorithms reproduce exactly; a mismatch raises ``RuntimeError``.

All internal arithmetic is float64 / complex128 (numpy, for the many small 2x2 updates); the
returned tensors are torch float64. Internal phases ``theta`` come out in ``[0, pi]``; every
phase is wrapped into ``[0, 2 pi)``.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
import torch

from .layout import make_layout

TWO_PI = 2.0 * math.pi
UNITARITY_ATOL = 1e-6  # max |U U^H - I| accepted for double-precision (and integer) inputs
UNITARITY_ATOL_SINGLE = 1e-4  # float32 / complex64 inputs (a 64-mode complex64 mesh: ~1e-6)
UNITARITY_ATOL_HALF = 1e-2  # float16 / bfloat16 / complex32 inputs

# one 2x2 operation of a decomposition: (top mode m, theta, phi) for an MZI on (m, m + 1)
_Op = tuple[int, float, float]


def haar_unitary(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Haar-random ``n x n`` unitary, complex128 (Mezzadri's recipe).

    The QR decomposition ``Z = Q R`` of a matrix ``Z`` of i.i.d. standard complex Gaussians is
    made unique by requiring a positive real diagonal of ``R``: ``Q <- Q diag(R_jj / |R_jj|)``.
    That ``Q`` is distributed by the Haar measure on U(n). The Gaussians come from
    ``torch.randn`` (float64, CPU) with ``generator``, so a seeded generator gives the same
    matrix on every platform up to rounding.

    Args:
        n: matrix size (>= 1).
        generator: random generator (``None``: torch's global one).
    """
    if n < 1:
        raise ValueError(f"haar_unitary needs n >= 1, got n={n}")
    g = torch.randn(n, n, 2, generator=generator, dtype=torch.float64) / math.sqrt(2.0)
    z = torch.complex(g[..., 0], g[..., 1])
    q, r = torch.linalg.qr(z)
    d = torch.diagonal(r)
    mag = d.abs()
    phase = torch.where(mag > 0, d / mag.clamp_min(1e-300), torch.ones_like(d))
    return q * phase.unsqueeze(0)


def _wrap(x: np.ndarray) -> np.ndarray:
    """Phases wrapped into ``[0, 2 pi)`` (also catching ``x % 2pi`` rounding up to ``2pi``)."""
    w = np.mod(x, TWO_PI)
    return np.where(w >= TWO_PI, 0.0, w)


def _default_atol(dtype: torch.dtype) -> float:
    """Unitarity tolerance for an input of ``dtype``: 1e-6, looser below double precision."""
    if dtype in (torch.float32, torch.complex64):
        return UNITARITY_ATOL_SINGLE
    if dtype in (torch.float16, torch.bfloat16, torch.complex32):
        return UNITARITY_ATOL_HALF
    return UNITARITY_ATOL


def _check_and_project(u: torch.Tensor, atol: float | None) -> np.ndarray:
    """Validate ``u`` (square, finite, ``max |U U^H - I| < atol``); return it as complex128 numpy.

    The matrix is replaced by its nearest unitary (polar factor from the SVD) so that inputs
    that are unitary only to single precision decompose into an exactly unitary mesh.
    """
    if not isinstance(u, torch.Tensor):
        u = torch.as_tensor(u)
    if u.ndim != 2 or u.shape[0] != u.shape[1]:
        raise ValueError(f"decompose needs a square matrix, got shape {tuple(u.shape)}")
    tol = _default_atol(u.dtype) if atol is None else atol
    a = u.detach().to(device="cpu", dtype=torch.complex128).numpy()
    n = a.shape[0]
    if not np.all(np.isfinite(a)):
        raise ValueError("decompose needs a finite matrix; got NaN or inf entries")
    dev = float(np.abs(a @ a.conj().T - np.eye(n)).max())
    if not dev < tol:
        raise ValueError(
            f"decompose needs a unitary matrix: max |U U^H - I| = {dev:.3g} "
            f"(tolerance {tol:g})"
        )
    w, _, vh = np.linalg.svd(a)
    return w @ vh


def _null_right(v: np.ndarray, row: int, m: int) -> _Op:
    """``v <- v S(theta, phi)^{-1}`` on columns ``(m, m+1)``, zeroing ``v[row, m]``."""
    x, y = complex(v[row, m]), complex(v[row, m + 1])
    theta = 2.0 * math.atan2(abs(y), abs(x))
    phi = cmath.phase(x) - cmath.phase(y) + math.pi
    s_inv = _s_matrix(theta, phi).conj().T
    v[:, m : m + 2] = v[:, m : m + 2] @ s_inv
    v[row, m] = 0.0
    return m, theta, phi


def _null_left(v: np.ndarray, row: int, col: int) -> np.ndarray:
    """``v <- G v`` on rows ``(row-1, row)`` with a unitary ``G`` zeroing ``v[row, col]``.

    Returns ``G``.
    """
    x, y = complex(v[row - 1, col]), complex(v[row, col])
    r = math.hypot(abs(x), abs(y))
    if r == 0.0:
        return np.eye(2, dtype=np.complex128)
    g = np.array([[x.conjugate(), y.conjugate()], [-y, x]], dtype=np.complex128) / r
    v[row - 1 : row + 1, :] = g @ v[row - 1 : row + 1, :]
    v[row, col] = 0.0
    return g


def _mzi(theta: float, phi: float) -> np.ndarray:
    """``T(theta, phi)`` of :mod:`.mzi` (ideal couplers) as a 2x2 complex128 array.

    The only place where this module spells out the MZI convention: every 2x2 matrix of the
    decompositions is derived from it (see :func:`_s_matrix`, :func:`_factor_phase_mzi`).
    """
    s, c = math.sin(0.5 * theta), math.cos(0.5 * theta)
    ie_phi = 1j * cmath.exp(1j * phi)
    return np.array([[ie_phi * s, ie_phi * c], [1j * c, -1j * s]], dtype=np.complex128)


def _s_matrix(theta: float, phi: float) -> np.ndarray:
    """``S(theta, phi) = T(theta, phi)^T = B Q(theta) B P(phi)`` as a 2x2 complex128 array."""
    return _mzi(theta, phi).T


def _factor_phase_mzi(w: np.ndarray) -> tuple[float, float, float, float]:
    """Factor a 2x2 unitary as ``w = diag(exp(i a), exp(i b)) S(theta, phi)``.

    With ``M = S(theta, 0)`` and ``S(theta, phi) = M diag(e^{i phi}, 1)``:
    ``w = [[e^{i(a + phi)} M00, e^{ia} M01], [e^{i(b + phi)} M10, e^{ib} M11]]`` with
    ``|M00| = |M11| = s`` and ``|M01| = |M10| = c``. ``theta = 2 atan2(s, c)`` in ``[0, pi]`` from
    the moduli; the phases ``arg(w_jk) - arg(M_jk)`` come from the two larger entries of one
    column and one entry of the other (any exact zero leaves a free phase, set by
    ``cmath.phase(0) = 0``, and the other phases follow from it consistently).

    Returns:
        ``(a, b, theta, phi)``.
    """
    s = 0.5 * (abs(w[0, 0]) + abs(w[1, 1]))
    c = 0.5 * (abs(w[0, 1]) + abs(w[1, 0]))
    theta = 2.0 * math.atan2(s, c)
    m = _s_matrix(theta, 0.0)

    def arg(j: int, k: int) -> float:  # arg(w_jk) - arg(M_jk)
        return cmath.phase(complex(w[j, k])) - cmath.phase(complex(m[j, k]))

    if s >= c:
        b = arg(1, 1)
        phi = arg(1, 0) - b
        a = arg(0, 0) - phi
    else:
        a = arg(0, 1)
        phi = arg(0, 0) - a
        b = arg(1, 0) - phi
    return a, b, theta, phi


def _reck(v: np.ndarray) -> tuple[list[_Op], np.ndarray]:
    """Reck: null ``V`` row by row from the bottom with right multiplications only.

    Row ``r = N-1, ..., 1``: zero ``V[r, 0], ..., V[r, r-1]`` with MZIs on ``(0,1), ...,
    (r-1, r)``; by unitarity ``V`` ends diagonal, ``V S_1^{-1} ... S_K^{-1} = D``, so
    ``U = V^T = T_1 ... T_K D``: in light order the MZIs come as ``S_K, ..., S_1``, i.e. row 1
    (diagonal 1) first, and row ``k`` gives diagonal ``k`` on top modes ``k-1`` down to 0.

    Returns:
        (ops in light order, diagonal of ``D``).
    """
    n = v.shape[0]
    ops: list[_Op] = []
    for r in range(n - 1, 0, -1):
        for m in range(r):
            ops.append(_null_right(v, r, m))
    return ops[::-1], np.diagonal(v).copy()


def _clements(v: np.ndarray) -> tuple[list[_Op], np.ndarray]:
    """Clements: null the anti-diagonals of ``V`` alternately from the right and the left.

    Anti-diagonal ``i = 1 .. N-1`` of the lower-left triangle holds ``i`` entries. Odd ``N``
    (Clements et al.'s order): odd ``i`` zeroes ``V[N-1-j, i-1-j]`` (``j = 0 .. i-1``) by
    ``S^{-1}`` on columns ``(i-1-j, i-j)``; even ``i`` zeroes ``V[N-1+j-i, j-1]`` (``j = 1 .. i``)
    by a unitary ``G`` on rows ``(N-2+j-i, N-1+j-i)``. Even ``N``: the mirror image of that
    order (Clements' order applied to the anti-transpose ``J V^T J``): odd ``i`` zeroes
    ``V[N-i+j, j]`` (``j = 0 .. i-1``) by ``G`` on rows ``(N-i+j-1, N-i+j)``; even ``i`` zeroes
    ``V[N-j, i-j]`` (``j = 1 .. i``) by ``S^{-1}`` on columns ``(i-j, i-j+1)``. The parity choice
    makes the first column (in light order) start at mode 0, as in the layout.

    Either way ``G_K ... G_1 V R = D`` with ``R`` the product of the right ``S^{-1}``, so
    ``V = G_1^{-1} ... G_K^{-1} D R^{-1}``; the diagonal is pushed left through
    ``G_K^{-1}, ..., G_1^{-1}`` by :func:`_factor_phase_mzi`, giving
    ``V = D' S'_1 ... S'_K S_r ... S_1`` and ``U = T_1 ... T_r T'_K ... T'_1 D'``.

    Returns:
        (ops in light order, diagonal of ``D'``).
    """
    n = v.shape[0]
    right: list[_Op] = []
    left: list[tuple[int, np.ndarray]] = []
    mirrored = n % 2 == 0
    for i in range(1, n):
        from_right = (i % 2 == 1) != mirrored
        if from_right and not mirrored:
            for j in range(i):
                right.append(_null_right(v, n - 1 - j, i - 1 - j))
        elif from_right:
            for j in range(1, i + 1):
                right.append(_null_right(v, n - j, i - j))
        elif not mirrored:
            for j in range(1, i + 1):
                row = n - 1 + j - i
                left.append((row - 1, _null_left(v, row, j - 1)))
        else:
            for j in range(i):
                row = n - i + j
                left.append((row - 1, _null_left(v, row, j)))
    d = np.diagonal(v).copy()
    d = d / np.abs(d)
    pushed: list[_Op] = []
    for m, g in reversed(left):
        w = g.conj().T * d[m : m + 2][np.newaxis, :]  # G^{-1} diag(d_m, d_{m+1})
        a, b, theta, phi = _factor_phase_mzi(w)
        d[m], d[m + 1] = cmath.exp(1j * a), cmath.exp(1j * b)
        pushed.append((m, theta, phi))
    # pushed holds S'_K, ..., S'_1; light order is S'_1, ..., S'_K, then S_r, ..., S_1
    return pushed[::-1] + right[::-1], d


def decompose(
    u: torch.Tensor, kind: str = "clements", atol: float | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Phases of an MZI mesh of layout ``kind`` realising the unitary ``u``.

    A :class:`~.mesh.UnitaryMesh` ``(n, kind)`` loaded with the returned ``theta``, ``phi`` and
    ``gamma`` has ``unitary() == u`` (to ~1e-12 in float64 arithmetic). See the module
    docstring for the conventions and the algorithms.

    Args:
        u: ``(n, n)`` unitary (any real or complex dtype; cast to complex128, ``n >= 2``).
            Inputs unitary only to about single precision are projected onto the nearest
            unitary first.
        kind: ``"clements"`` (rectangular) or ``"reck"`` (triangular).
        atol: tolerance on ``max |U U^H - I|`` (after casting to complex128); ``None``: 1e-6
            for double-precision or integer inputs, 1e-4 for float32 / complex64 (whose
            rounding alone reaches ~1e-6 for a 64-mode mesh), 1e-2 for half precision.

    Returns:
        ``theta`` and ``phi`` of shape ``(n_mzi,)`` in the layout order of
        ``make_layout(n, kind)``, and the input phase screen ``gamma`` of shape ``(n,)``; all
        float64, wrapped into ``[0, 2 pi)``.

    Raises:
        ValueError: ``u`` is not square, not finite or not unitary (``max |U U^H - I| >= atol``),
            ``n < 2``, or ``kind`` is unknown.
    """
    if kind not in ("clements", "reck"):
        raise ValueError(f"unknown decomposition kind {kind!r}; allowed: clements, reck")
    a = _check_and_project(u, atol)
    n = a.shape[0]
    layout = make_layout(n, kind)
    v = np.ascontiguousarray(a.T)
    ops, d = _clements(v) if kind == "clements" else _reck(v)

    index = {
        (int(c), int(t)): k
        for k, (c, t) in enumerate(zip(layout.column.tolist(), layout.top.tolist(), strict=True))
    }
    theta = np.zeros(layout.n_mzi)
    phi = np.zeros(layout.n_mzi)
    depth = [0] * n
    seen = np.zeros(layout.n_mzi, dtype=bool)
    for m, th, ph in ops:
        col = max(depth[m], depth[m + 1])
        depth[m] = depth[m + 1] = col + 1
        k = index.get((col, m))
        if k is None or seen[k]:
            raise RuntimeError(f"{kind} decomposition produced an MZI at (column {col}, top {m}) "
                               "that is not in the layout")
        seen[k] = True
        theta[k], phi[k] = th, ph
    if not seen.all():
        raise RuntimeError(f"{kind} decomposition did not fill every MZI of the layout")
    gamma = np.angle(d)
    return (
        torch.from_numpy(_wrap(theta)),
        torch.from_numpy(_wrap(phi)),
        torch.from_numpy(_wrap(gamma)),
    )
