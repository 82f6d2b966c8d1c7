"""Physics-guided costs (the course's physics-informed chapter, eqs. 4.4-4.15).

The physics-guided objective (eq. 4.4) adds to the data misfit a weight penalty and a physics penalty
that needs no labels, only the predictions Y^ and the inputs X:

    J(theta) = mean_i L_loss(Y^_i, Y_i) + lam R(theta) + lam_phy mean_i L_phy(Y^_i, X_i).

The building blocks for L_phy are plain differentiable functions:

* ``threshold_penalty``     ReLU(|r| - tau): a residual only costs beyond a tolerance (eq. 4.6);
* ``monotonic_penalty``     mean ReLU(-Delta y): e.g. water density must not decrease with depth (eq. 4.7);
* ``conservation_penalty``  mean (E - E0)^2 or the variance of E: energy conservation (eq. 4.12);
* ``normalization_penalty`` (int |Psi|^2 dx - 1)^2, trapezoid rule: a normalised wave function (eq. 4.15).

L1/L2 weight penalties R(theta) are ``physnn.costs.L1``/``L2``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp

from physnn.costs import L1, L2, as_loss


def _relu(z):
    return jnp.maximum(z, 0)


def threshold_penalty(residual, tau: float):
    """Threshold penalty, L_phy = ReLU(|r| - tau), elementwise (eq. 4.6).

    A physical residual r (e.g. the violation of a balance law) smaller than the tolerance tau
    costs nothing; beyond it the cost grows linearly.

    Arguments:
        residual: array of any shape.
        tau: tolerance >= 0.

    Returns:
        An array of the shape of ``residual``.
    """
    if not (isinstance(tau, (int, float)) and tau >= 0):
        raise ValueError(f"tau must be a number >= 0, got {tau!r}")
    return _relu(jnp.abs(residual) - tau)


def monotonic_penalty(values, axis: int = 0, increasing: bool = True):
    """Monotonicity penalty, L_phy = mean ReLU(-(v_{k+1} - v_k)) along ``axis`` (eq. 4.7).

    The course's example: the predicted density of lake water must not decrease with depth, so every
    decrease between consecutive depths is penalised. With ``increasing=False`` increases are penalised.

    Arguments:
        values: array with at least two entries along ``axis`` (ordered by the physical coordinate).
        axis: the axis of the ordering coordinate.
        increasing: the required direction.

    Returns:
        A scalar, the mean over all consecutive differences.
    """
    values = jnp.asarray(values)
    if values.ndim == 0 or values.shape[axis] < 2:
        raise ValueError(f"values needs at least 2 entries along axis={axis}, got shape {values.shape}")
    delta = jnp.diff(values, axis=axis)
    return jnp.mean(_relu(-delta if increasing else delta))


def conservation_penalty(energy, E0=None):
    """Conservation penalty, L_phy = mean_i (E_i - E0)^2, or the variance of E when E0 is None (eq. 4.12).

    E_i is a conserved quantity evaluated on each sample, e.g. E = m v^2 / 2 + k x^2 / 2 for a spring.
    The variance form only asks E to be constant; a known E0 also fixes its value.

    Arguments:
        energy: array of shape [n] (or [n, 1]) with n >= 1.
        E0: the known value of the conserved quantity, or None.

    Returns:
        A scalar.
    """
    energy = jnp.ravel(jnp.asarray(energy))
    if energy.size == 0:
        raise ValueError("energy must hold at least one value, got an empty array")
    reference = jnp.mean(energy) if E0 is None else E0
    return jnp.mean((energy - reference) ** 2)


def normalization_penalty(psi, x):
    """Normalisation penalty, L_phy = (int |Psi(x)|^2 dx - 1)^2 (eq. 4.15).

    The integral is the trapezoid rule on the grid of the batch: the samples are sorted by x first, so
    a shuffled batch gives the same value. Complex Psi is allowed (|Psi|^2 = Psi Psi*).

    Arguments:
        psi: wave-function values, shape [n] or [n, 1].
        x: their positions, shape [n] or [n, 1], n >= 2.

    Returns:
        A scalar.
    """
    psi = jnp.ravel(jnp.asarray(psi))
    x = jnp.ravel(jnp.asarray(x))
    if psi.shape != x.shape or x.size < 2:
        raise ValueError(f"psi and x must hold the same number (>= 2) of values, "
                         f"got psi {psi.shape}, x {x.shape}")
    order = jnp.argsort(x)
    x, density = x[order], jnp.abs(psi[order]) ** 2
    integral = jnp.sum(0.5 * (density[1:] + density[:-1]) * jnp.diff(x))
    return (integral - 1.0) ** 2


class PhysicsGuidedLoss:
    """Physics-guided cost J(theta) = mean L_loss(Y^, Y) + lam R(theta) + lam_phy mean L_phy(Y^, X) (eq. 4.4).

    Arguments:
        data_loss: a loss name ("mse", "mae", ...), a course cost (``CostOLS``) or a callable
            loss(y_true, y_pred) -> scalar.
        lam: the weight of R(theta) when ``regularizer`` is given by name.
        regularizer: None, "l1" or "l2" (R = sum |theta| or sum theta^2, weighted by ``lam``), or a callable
            params -> scalar that carries its own weight, such as ``physnn.costs.L2(1e-3)`` (then ``lam``
            must stay 0, so the weight is never applied twice).
        lam_phy: the weight of the physics terms, one number, or one per term.
        physics: callables term(y_pred, x) -> per-sample penalties or a scalar; each is averaged.

    Call ``loss(y_true, y_pred, x=..., params=...)``; the trainer passes ``x`` and ``params`` because the
    signature accepts them. ``loss.as_cost()`` gives the course's cost-closure form.

    Example:
        >>> import jax.numpy as jnp
        >>> loss = PhysicsGuidedLoss("mse", lam_phy=0.1,
        ...                          physics=[lambda y, x: normalization_penalty(y, x)])
        >>> x = jnp.linspace(0.0, 1.0, 101)[:, None]
        >>> psi = jnp.sqrt(2.0) * jnp.sin(jnp.pi * x)    # normalised: the penalty vanishes, only the mse is left
        >>> round(float(loss(psi + 0.1, psi, x=x)), 4)
        0.01
    """

    def __init__(self, data_loss: str | Callable = "mse", lam: float = 0.0, regularizer=None,
                 lam_phy: float | Sequence[float] = 1.0, physics: Sequence[Callable] = ()):
        self.data_loss = as_loss(data_loss)
        if not (isinstance(lam, (int, float)) and lam >= 0):
            raise ValueError(f"lam must be a number >= 0, got {lam!r}")
        if isinstance(regularizer, str):
            names = {"l1": L1, "l2": L2}
            if regularizer.lower() not in names:
                raise ValueError(f"regularizer={regularizer!r} is not known; use 'l1', 'l2' or a callable")
            if lam == 0:
                raise ValueError(f"regularizer={regularizer!r} needs a weight lam > 0, got lam=0")
            self.regularizer = names[regularizer.lower()](lam)
        elif callable(regularizer):
            if lam != 0:
                raise ValueError(f"regularizer={regularizer!r} carries its own weight; leave lam=0 "
                                 f"(got lam={lam}) or pass regularizer='l1'/'l2'")
            self.regularizer = regularizer
        elif regularizer is None:
            if lam != 0:
                raise ValueError(f"lam={lam} has no effect without a regularizer ('l1' or 'l2')")
            self.regularizer = None
        else:
            raise ValueError(f"regularizer={regularizer!r} must be None, 'l1', 'l2' or a callable "
                             "params -> scalar")
        self.physics = list(physics)
        for term in self.physics:
            if not callable(term):
                raise ValueError(f"physics terms must be callables term(y_pred, x), got {term!r}")
        if isinstance(lam_phy, (int, float)):
            weights = [float(lam_phy)] * len(self.physics)
        else:
            weights = [float(w) for w in lam_phy]
            if len(weights) != len(self.physics):
                raise ValueError(f"lam_phy needs one weight per physics term ({len(self.physics)}), "
                                 f"got {len(weights)}")
        if any(not w >= 0 for w in weights):
            raise ValueError(f"lam_phy must be >= 0, got {lam_phy!r}")
        self.lam, self.lam_phy, self._weights = lam, lam_phy, weights

    def terms(self, y_true, y_pred, *, x=None, params=None) -> dict:
        """The three parts of eq. 4.4 separately: {"data": ..., "regularizer": ..., "physics": ...}."""
        parts = {"data": self.data_loss(y_true, y_pred),
                 "regularizer": jnp.zeros(()), "physics": jnp.zeros(())}
        if self.regularizer is not None:
            if params is None:
                raise ValueError("this PhysicsGuidedLoss has a regularizer and needs params=, got None")
            parts["regularizer"] = self.regularizer(params)
        for weight, term in zip(self._weights, self.physics, strict=True):
            parts["physics"] = parts["physics"] + weight * jnp.mean(term(y_pred, x))
        return parts

    def __call__(self, y_true, y_pred, *, x=None, params=None):
        """J(theta) of eq. 4.4 for one batch; returns a scalar."""
        parts = self.terms(y_true, y_pred, x=x, params=params)
        return parts["data"] + parts["regularizer"] + parts["physics"]

    def as_cost(self) -> Callable:
        """The course's cost-closure form: ``cost(target, *, x=None, params=None)`` returns pred -> J."""

        def cost(target, *, x=None, params=None):
            return lambda prediction: self(target, prediction, x=x, params=params)

        return cost

    @property
    def needs_params(self) -> bool:
        """True when J depends on the parameters through R(theta)."""
        return self.regularizer is not None

    def __repr__(self):
        names = [getattr(t, "__name__", type(t).__name__) for t in self.physics]
        return (f"PhysicsGuidedLoss(data_loss={getattr(self.data_loss, '__name__', self.data_loss)!r}, "
                f"regularizer={self.regularizer!r}, lam_phy={self.lam_phy!r}, physics={names})")
