"""A study's plots as PNG files, drawn by Optuna's matplotlib visualisations.

``history.png``: the metric of each trial and the best so far; ``params.png``: the metric
against each parameter; ``importances.png``: how much of the metric's variation each
parameter explains (fANOVA with 16 trees, seeded; needs two completed trials with different parameters).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

from ..files import atomic_write


def _save(ax: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
    fig.set_size_inches(max(6.0, fig.get_size_inches()[0]), 4.5)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return atomic_write(path, buffer.getvalue())


def save_plots(study: Any, out_dir: str | Path, metric: str = "value") -> list[Path]:
    """Write the plots the study's trials allow into ``out_dir``; returns the paths written."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import optuna
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as ovm

    out = Path(out_dir)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    written: list[Path] = []
    if not complete:
        return written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)  # a one-value parameter
        written.append(_save(ovm.plot_optimization_history(study, target_name=metric), out / "history.png"))
        if any(t.params for t in complete):
            written.append(_save(ovm.plot_slice(study, target_name=metric), out / "params.png"))
        distinct = {tuple(sorted(t.params.items())) for t in complete}
        if len(distinct) >= 2:
            try:
                evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=16, seed=0)
                ax = ovm.plot_param_importances(study, evaluator=evaluator, target_name=metric)
            except (RuntimeError, ValueError):  # every trial alike in the explaining parameters
                pass
            else:
                written.append(_save(ax, out / "importances.png"))
    return written
