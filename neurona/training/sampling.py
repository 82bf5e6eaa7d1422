"""Hard-example emphasis: the course's "use harder examples", as a sampler for ``fit``.

Samples the model gets badly wrong carry the most information; ones it already
fits well teach little. So after each epoch the sampler knows every sample's loss
(recorded as the sample went through training, no extra forward pass) and the
next epoch draws N samples with replacement, with probabilities

    p_i = (1 - emphasis) / N + emphasis * l_i / sum_j l_j

emphasis = 0 is ordinary shuffling; emphasis = 1 draws purely by loss. Keeping
part of the uniform term means no sample is ever starved. The first epoch, when
no losses are known, is an ordinary permutation.

>>> model.fit(x, y, epochs=10, hard_examples=0.5)        # or hard_examples=HardExampleSampler(0.5)
"""

from __future__ import annotations

from typing import Any

import numpy as np


class HardExampleSampler:
    """Chooses each epoch's sample order; see the module docstring for the rule."""

    def __init__(self, emphasis: float = 0.5) -> None:
        if not 0.0 <= float(emphasis) <= 1.0:
            raise ValueError(f"HardExampleSampler: emphasis must be in [0, 1]. Received: emphasis={emphasis}")
        self.emphasis = float(emphasis)
        self.losses: np.ndarray | None = None
        self.seen: np.ndarray | None = None

    def reset(self, n: int) -> None:
        """Forget every loss (a new dataset of n samples)."""
        self.losses = np.zeros(n, dtype=np.float64)
        self.seen = np.zeros(n, dtype=bool)

    def probabilities(self) -> np.ndarray | None:
        """The current draw probabilities, or None while no loss is known."""
        if self.seen is None or not self.seen.any():
            return None
        losses = np.maximum(self.losses, 0.0)
        # samples not seen yet (an interrupted epoch) count as average ones
        losses = np.where(self.seen, losses, losses[self.seen].mean())
        total = losses.sum()
        n = len(losses)
        if not np.isfinite(total) or total <= 0:
            return np.full(n, 1.0 / n)
        p = (1.0 - self.emphasis) / n + self.emphasis * losses / total
        return p / p.sum()

    def order(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The indices of the next epoch: a permutation, or n draws weighted by loss."""
        if self.losses is None or len(self.losses) != n:
            self.reset(n)
        p = self.probabilities()
        if p is None or self.emphasis == 0.0:
            return rng.permutation(n)
        return rng.choice(n, size=n, replace=True, p=p)

    def record(self, index: Any, losses: Any) -> None:
        """Remember the per-sample losses of one batch (``index`` as used to take the batch)."""
        self.losses[index] = losses
        self.seen[index] = True

    # ---------------------------------------------------------------- checkpoints
    def get_state(self) -> dict[str, Any]:
        return {"losses": self.losses, "seen": self.seen}

    def set_state(self, state: dict[str, Any]) -> None:
        self.losses = None if state.get("losses") is None else np.array(state["losses"], dtype=np.float64)
        self.seen = None if state.get("seen") is None else np.array(state["seen"], dtype=bool)

    def __repr__(self) -> str:
        return f"HardExampleSampler(emphasis={self.emphasis})"


def get_sampler(spec: Any) -> HardExampleSampler | None:
    """None for 0/None/False; a HardExampleSampler for True (emphasis 0.5), an emphasis in (0, 1] or a sampler."""
    if spec is None or spec is False or (isinstance(spec, (int, float)) and spec == 0):
        return None
    if isinstance(spec, HardExampleSampler):
        return spec
    if spec is True:
        return HardExampleSampler()
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return HardExampleSampler(spec)
    raise TypeError(f"hard_examples must be an emphasis in [0, 1] or a HardExampleSampler. Received: {spec!r}")
