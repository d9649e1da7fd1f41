"""An upper bound for simulation studies: training through the hardware's exact model.

``oracle`` trains the physical parameters by backpropagating through the *same* error
realisation the simulated system measures with (drawn from the system's error spec and seed),
i.e. what any hardware-aware method could reach with a perfect digital twin and the same
training budget. It tells whether a gap between DAT and the error-free network is DAT's or the
erroneous hardware's own limit. It needs the error realisation, which a real system never
reveals, so it exists only for simulated systems (with read noise, the noise is not modelled).
"""

from __future__ import annotations

import copy

from ..models.ensemble import draw_errors, error_seeds
from .methods import Method, task_step


def system_realisation(model, cfg):
    """The error realisation a simulated system built from ``cfg`` measures with (None when
    error-free): the draw depends only on the seed(s) and the model's geometry."""
    return draw_errors(cfg.error_spec(), copy.deepcopy(model), error_seeds(model, cfg))


class Oracle(Method):
    name = "oracle"
    uses_system = True  # selection and evaluation on the (simulated) hardware

    def __init__(self, model, system, cfg):
        super().__init__(model, system, cfg)
        self.errors = system_realisation(model, cfg)

    def step(self, images, labels, epoch):
        x = self.model.encode(images)
        trace = self.model(x, errors=self.errors)
        loss = self.loss_fn(trace.scores, labels)
        task_step(self, loss)
        return {"loss": float(loss.detach()),
                "train_acc": float((trace.scores.argmax(1) == labels).float().mean())}
