"""The shared interface of training methods, and the simplest one: in-silico training.

A method owns its optimisers and does one training step on a batch; the loop around it
(epochs, validation, checkpoints) is the same for all methods (``loop.py``). Methods reach the
hardware only through the PhysicalSystem protocol and the model only through its forward/Trace.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import RunConfig
from ..errors.diffractive import DiffractiveRealisation
from ..models.base import PhotonicNetwork
from ..system.protocol import Measurement, PhysicalSystem
from .alignment import alignment, fit_mask_shifts
from .distributed import broadcast_object, sync_grads


class NonFiniteError(RuntimeError):
    """A loss, a measurement or a parameter is NaN/Inf (the message names the tensor)."""


def check_measurement(meas: Measurement) -> Measurement:
    """Refuse measurements with NaN/Inf before they reach a loss."""
    if not torch.isfinite(meas.output).all():
        raise NonFiniteError("the physical system returned a non-finite output measurement")
    for k, plane in enumerate(meas.internal or []):
        if not torch.isfinite(plane).all():
            raise NonFiniteError(f"the physical system returned a non-finite plane {k + 1}")
    return meas


def step_optimizer(opt: torch.optim.Optimizer) -> None:
    """Average gradients across data-parallel ranks, then step."""
    sync_grads(p for group in opt.param_groups for p in group["params"])
    opt.step()


class Method:
    """Base class. Subclasses implement :meth:`step`."""

    name = "base"
    uses_system = False  # True when the hardware is in the training loop

    def __init__(self, model: PhotonicNetwork, system: PhysicalSystem | None, cfg: RunConfig):
        self.model, self.system, self.cfg = model, system, cfg
        t = cfg.train
        self.opt = torch.optim.Adam(model.parameters(), lr=t.lr)
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, t.lr_step, t.lr_gamma)
        self.sepns: nn.ModuleList | None = None
        #: errors of the hardware the numerical model knows (the fitted mask shifts of
        #: ``train.fit_shifts``), passed as ``errors=`` to its forwards; None = the ideal model
        self.alignment: DiffractiveRealisation | None = None
        self.loss_fn = nn.CrossEntropyLoss()

    # -- one step -----------------------------------------------------------------------
    def step(self, images: torch.Tensor, labels: torch.Tensor, epoch: int) -> dict[str, float]:
        raise NotImplementedError

    def end_epoch(self, epoch: int) -> None:
        self.sched.step()

    # -- what the numerical model is at evaluation time -----------------------------------
    def sepn_weight(self, epoch: int) -> float:
        return 0.0

    # -- state --------------------------------------------------------------------------
    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt]

    def scale_lr(self, factor: float) -> None:
        """Multiply the learning rate of every optimiser (the step schedules continue from it)."""
        for opt in self.optimizers():
            for group in opt.param_groups:
                group["lr"] *= factor

    def calibrate(self, x: torch.Tensor) -> None:
        """``train.fit_shifts``: once, before the first step, measure every plane for the
        encoded batch ``x`` (its queries count) and fit each mask's lateral shift to it
        (:func:`~photonic_dat.training.alignment.fit_mask_shifts`); the numerical model carries
        the fitted shifts from then on, resumed runs included."""
        if not self.cfg.train.fit_shifts or self.alignment is not None:
            return
        self.system.program(self.model.physical_params())
        meas = check_measurement(self.system.measure(x, internal=True))
        shifts = fit_mask_shifts(self.model, x, meas.planes(), self.cfg.train.shift_search)
        # data-parallel ranks fit on their own share of the batch: all use rank 0's shifts
        self.alignment = alignment(broadcast_object(shifts))

    def fitted_shifts(self) -> list[list[float]] | None:
        """The mask shifts fitted with ``train.fit_shifts`` (pixels, per mask ``[dx, dy]``)."""
        return None if self.alignment is None else self.alignment.shifts

    def state_dict(self) -> dict[str, Any]:
        return {"opt": self.opt.state_dict(), "sched": self.sched.state_dict(),
                "fitted_shifts": self.fitted_shifts()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        if self.cfg.train.fit_shifts:  # a resume that turned the fit off trains without it
            self.alignment = alignment(state.get("fitted_shifts"))

    def describe(self) -> dict[str, Any]:
        return {"method": self.name, "internal_states": "none", "sepn": ""}


def task_step(method: Method, loss: torch.Tensor) -> None:
    """Backward the task loss into the physical parameters and step their optimiser."""
    if not torch.isfinite(loss):
        raise NonFiniteError(f"the task loss is {float(loss)}")
    method.opt.zero_grad(set_to_none=True)
    loss.backward()
    step_optimizer(method.opt)


class InSilico(Method):
    """Train the ideal model; the hardware is used only to evaluate (direct deployment)."""

    name = "insilico"

    def step(self, images, labels, epoch):
        x = self.model.encode(images)
        trace = self.model(x)
        loss = self.loss_fn(trace.scores, labels)
        task_step(self, loss)
        return {"loss": float(loss.detach()),
                "train_acc": float((trace.scores.argmax(1) == labels).float().mean())}
