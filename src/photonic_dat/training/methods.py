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
from ..models.base import PhotonicNetwork
from ..system.protocol import Measurement, PhysicalSystem
from .distributed import sync_grads


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
        #: errors of the hardware the numerical model knows (e.g. fitted mask shifts), passed as
        #: ``errors=`` to its forwards; None = the ideal model
        self.alignment: Any | None = None
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

    def state_dict(self) -> dict[str, Any]:
        return {"opt": self.opt.state_dict(), "sched": self.sched.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])

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
