"""A worker: takes trials from a study one at a time until the search is done.

Every worker, on this machine or another, runs the same loop against the shared storage:
fail the trials of dead workers (their heartbeat stopped; Optuna queues them again once),
take the next trial (a queued configuration, or a new one from the sampler), train it while
a heartbeat thread tells the storage it is alive, and record the outcome. A queued
configuration is taken by switching its state from WAITING to RUNNING, which the storage
does atomically, so two workers never evaluate the same grid point.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

FINISHED = ("COMPLETE", "PRUNED")


def finished_count(study: Any, running: bool = False) -> int:
    """Trials that count toward ``--trials``: completed and pruned ones (and running ones, if asked)."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED) + ((TrialState.RUNNING,) if running else ())
    return len(study.get_trials(deepcopy=False, states=states))


def _claim_queued(study: Any) -> Any | None:
    """The next queued trial, now RUNNING and ours; None when the queue is empty."""
    import optuna
    from optuna.trial import TrialState

    storage = study._storage  # Optuna keeps no public handle on a study's storage
    study_id = storage.get_study_id_from_name(study.study_name)
    for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        try:
            if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                return optuna.Trial(study, trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # taken and finished by another worker meanwhile
    return None


class _Heartbeat:
    """Records a running trial's heartbeat every interval, in a thread, while the trial trains."""

    def __init__(self, storage: Any, trial_id: int) -> None:
        self.enabled = hasattr(storage, "record_heartbeat") and storage.get_heartbeat_interval() is not None
        self.storage, self.trial_id = storage, trial_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        interval = self.storage.get_heartbeat_interval()
        while True:
            self.storage.record_heartbeat(self.trial_id)
            if self.stop.wait(interval):
                return

    def __enter__(self) -> _Heartbeat:
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.stop.set()
            self.thread.join()


def _fail_stale(study: Any) -> None:
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def run_worker(study: Any, objective: Callable[[Any], float], n_trials: int | None = None,
               total: int | None = None, timeout_s: float | None = None, queued_only: bool = False,
               on_trial: Callable[[Any, Any], None] | None = None) -> int:
    """Run trials of ``study`` until ``n_trials`` ran here, the study has ``total`` finished trials,
    ``timeout_s`` passed (no new trial starts after it), or, with ``queued_only`` (grid and manual
    searches), the queue is empty. ``on_trial(study, frozen_trial)`` is called after each one.
    Returns the number of trials this worker ran."""
    import optuna
    from optuna.trial import TrialState

    start = time.monotonic()
    ran = 0
    while n_trials is None or ran < n_trials:
        if timeout_s is not None and time.monotonic() - start >= timeout_s:
            break
        _fail_stale(study)
        if total is not None and finished_count(study, running=True) >= total:
            break  # the trials still running elsewhere will make up the total
        trial = _claim_queued(study)
        if trial is None:
            if queued_only:
                break
            with warnings.catch_warnings():  # Optuna expects heartbeats only from Study.optimize; ours beat too
                warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
                trial = study.ask()
        with _Heartbeat(study._storage, trial._trial_id):
            try:
                value = objective(trial)
            except optuna.TrialPruned:
                frozen = study.tell(trial, state=TrialState.PRUNED)
            except BaseException as exc:  # recorded as failed, whatever stopped it (Ctrl-C too)
                trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
                study.tell(trial, state=TrialState.FAIL)
                fixed = study._storage.get_trial(trial._trial_id).system_attrs.get("fixed_params")
                if isinstance(exc, KeyboardInterrupt) and fixed is not None:
                    study.enqueue_trial(fixed)  # an interrupted grid point is evaluated on --resume
                raise
            else:
                if math.isfinite(value):
                    frozen = study.tell(trial, value)
                else:
                    trial.set_user_attr("error", f"the metric is {value} (training diverged)")
                    frozen = study.tell(trial, state=TrialState.FAIL)
        ran += 1
        if on_trial is not None:
            on_trial(study, frozen)
    return ran
