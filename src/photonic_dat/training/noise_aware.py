"""Noise-aware training: a fresh random draw of the error spec at every step (no hardware)."""

from __future__ import annotations

from ..models.ensemble import draw_errors, members_of
from .methods import InSilico, task_step


class NoiseAware(InSilico):
    """In-silico training through randomly perturbed models, so the optimum is robust to the spec.

    Each step draws a new realisation of ``cfg.errors`` (the statistics of the hardware's errors,
    not its actual draw) with a seed derived from the run seed, the epoch and the step.
    """

    name = "noise_aware"

    def __init__(self, model, system, cfg):
        super().__init__(model, system, cfg)
        self.spec = cfg.error_spec()
        self._count = 0

    def step(self, images, labels, epoch):
        # a seed space far from the small error seeds of simulated systems
        members = members_of(self.model)
        seeds = [self.cfg.train.seed] if members is None else [m.seed for m in members]
        draw = [(s + 1) * 1_000_000_007 + self._count for s in seeds]
        self._count += 1
        errors = draw_errors(self.spec, self.model, draw[0] if members is None else draw)
        x = self.model.encode(images)
        trace = self.model(x, errors=errors)
        loss = self.loss_fn(trace.scores, labels)
        task_step(self, loss)
        return {"loss": float(loss.detach()),
                "train_acc": float((trace.scores.argmax(1) == labels).float().mean())}

    def state_dict(self):
        return {**super().state_dict(), "count": self._count}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self._count = int(state.get("count", 0))
