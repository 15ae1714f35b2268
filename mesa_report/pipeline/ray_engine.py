"""The Ray engine of a cohort batch: inference actors, and rows and reports as CPU tasks.

Nights go in chunks to inference actors (one per GPU with ``--device cuda``, each holding
``num_gpus=1``), which store each result in the result cache; every night's row and reports are
then :func:`mesa_report.pipeline.batch.finish_night` run as a Ray task. The outcomes are those of
:func:`mesa_report.pipeline.batch.run_local`, recorded by the same
:class:`~mesa_report.core.jobs.JobRunner`. An existing cluster's nodes must see the store, the
checkpoint and the cache folder at the same paths (a shared file system).

Examples
--------
>>> RAY_INSTALL
'pip install "ray[default]"'
"""

from __future__ import annotations

import dataclasses
import os

from mesa_report.core.errors import ConfigError, MesaReportError
from mesa_report.core.jobs import JobRunner, Outcome, attempt
from mesa_report.core.settings import load_settings
from mesa_report.pipeline.batch import InferenceSettings, Plan, chunk_size, finish_night, infer_chunk, open_store

RAY_INSTALL = 'pip install "ray[default]"'
"""How to install Ray, named by every error that needs it."""


def import_ray():
    """The ``ray`` module, or a clear error naming how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--engine ray needs Ray, which is not installed: {RAY_INSTALL} "
                          "(or use --engine local)") from None
    return ray


def connect_ray(address: str | None):
    """Ray, initialised (joining ``address`` or starting locally); whether this call started it."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    configured = load_settings().ray_address
    local = address in (None, "local") and (address == "local" or not configured)
    try:
        if local:
            ray.init(address="local", include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address or configured!r} "
                          f"({exc}); check --ray-address, or leave it out to start Ray here") from None
    return ray, True


class InferenceActor:
    """Ray actor: one model on one device, inferring chunks of nights into the result cache."""

    def __init__(self, settings: InferenceSettings) -> None:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)  # Ray starts its workers with one thread
        self.settings = settings
        self.loaded, self.service = settings.open()

    def infer(self, preprocessed_dir: str, csv_path: str | None,
              chunk: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
        store = open_store(preprocessed_dir, csv_path)
        outcomes, nights = [], []
        for mesaid, _ in chunk:
            try:
                nights.append(store.night(mesaid))
            except MesaReportError as exc:
                outcomes.append((mesaid, "", str(exc)))
        return outcomes + list(infer_chunk(self.loaded, self.service, self.settings, nights, dict(chunk)))


def run_ray(plan: Plan, settings: InferenceSettings, make_job, runner: JobRunner, *, address: str | None,
            actors: int | None) -> int:
    """Nights in chunks to inference actors; rows and reports as CPU tasks. Returns the nights computed."""
    import torch

    ray, started = connect_ray(address)
    store = (make_job.keywords["preprocessed_dir"], make_job.keywords["csv_path"])
    cuda = torch.device(settings.device).type == "cuda"
    computed, workers = 0, []
    try:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if cuda and gpus < 1:
            raise ConfigError("--device cuda was asked for, but the Ray cluster has no GPU; use "
                              "--device cpu or a cluster with GPU nodes")
        if actors is None:
            actors = gpus if cuda else 1
        finish = ray.remote(attempt).options(num_cpus=1)
        actor_class = ray.remote(InferenceActor).options(num_cpus=1, num_gpus=1 if cuda else 0)
        # each actor sees only its own GPU, as device "cuda"
        actor_settings = dataclasses.replace(settings, device="cuda") if cuda else settings
        if plan.to_infer:
            workers = [actor_class.remote(actor_settings) for _ in range(actors)]
        pending = {finish.remote(finish_night, m, make_job(mesaid=m, entry=e)): None for m, e in plan.cached}
        size = chunk_size(len(plan.to_infer), len(workers))
        chunks = [[(m, key) for m, _, key in plan.to_infer[i:i + size]]
                  for i in range(0, len(plan.to_infer), size)]
        idle = list(workers)
        while pending or chunks:
            while idle and chunks:
                worker = idle.pop()
                pending[worker.infer.remote(*store, chunks.pop(0))] = worker
            ready, _ = ray.wait(list(pending), num_returns=1)
            worker = pending.pop(ready[0])
            value = ray.get(ready[0])
            if worker is None:
                runner.add(value)
                continue
            idle.append(worker)
            for mesaid, entry, error in value:
                if error:
                    runner.add(Outcome(mesaid, error=error))
                else:
                    computed += 1
                    pending[finish.remote(finish_night, mesaid, make_job(mesaid=mesaid, entry=entry))] = None
    finally:
        for worker in workers:
            ray.kill(worker)
        if started:
            ray.shutdown()
    return computed
