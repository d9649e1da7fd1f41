"""Dual adaptive training (Zheng et al., Nat. Mach. Intell. 2023).

Per iteration, with one measurement of the physical system on the batch:

1. *Similarity step*: the numerical model (ideal physics + one SEPN per plane, weight 1) is fitted
   to the measurement: MSE between the model's and the measured class scores, plus (with
   internal states) MSE between L2-normalised intensities at every internal plane. The SEPN
   optimiser steps; the physical parameters keep this gradient for the task step (as in the
   paper's code; ``dat.sim_to_physical: false`` drops it). With coherent detection
   (``system.internal_detection: field``, a simulation study) an internal plane is compared as
   L2-normalised complex fields, and fusion there takes the measured phase too.
   ``separable``: before that, each SEPN is also fitted to its own layer, probed alone with
   ``measure_layer`` on the model's input to that layer.
2. *Task step*: forward again with the SEPN weight w (0 during the warm-up epochs, then 1) and
   state fusion at the output (and, with internal states, at every measured plane): the loss
   value is the hardware's, the gradient runs through the numerical model. Only the physical
   parameters step.

Options (``dat`` section of the config):

* ``plane_loss``: how an internal plane enters the similarity loss. ``"mse"`` (the paper's MPNN
  code): mean over pixels of the squared difference of the L2-normalised intensities, so a plane
  of P pixels weighs about 1/P of a unit-norm mismatch and a 4,096-pixel diffractive plane
  almost nothing beside the class scores. ``"l2"``: the squared distance of the normalised
  intensities summed over pixels (in [0, 2] whatever the plane size), i.e. ``P x "mse"``.
* ``fit_output_plane``: also fit the whole output-plane intensity (as a plane term), not only
  the class scores read from it. A diffractive network's detector camera records the full
  image, but its ten region energies constrain the last SEPN only inside the ten squares.
* ``shared_forward``: when the task step would repeat the similarity forward (SEPN weight 1 and
  fusion at the output only), compute both losses on one forward pass; the task gradient then
  sees the SEPNs as they were before this iteration's similarity update (one Adam step earlier).
  Saves one forward of the physics and the SEPNs per iteration.
* ``sepn_weight_decay``: decoupled weight decay of the SEPN optimiser (AdamW; 0 = Adam). It
  pulls what the measurements leave undetermined (e.g. a linear SEPN's action on field
  directions the data hardly excites, which the task gradient still uses) towards the ideal
  model instead of letting Adam's normalised steps random-walk it.
* ``sepn_only_epochs``: epochs at the start in which only the SEPNs train (similarity step
  only; the physical parameters stay), so the numerical model knows the hardware before its
  gradient steers the network. Each such epoch still measures the hardware once per batch.
* ``sepn_modulation``: add a learnable per-pixel complex map to every SEPN
  (:class:`~photonic_dat.sepn.ModulatedSEPN`), for errors fixed in position (a diffractive
  mask's fabrication phase or shift), which a convolutional SEPN cannot represent.

With ``train.fit_shifts`` (:meth:`Method.calibrate`) the numerical model is the ideal physics
with the fitted mask shifts, plus the SEPNs.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models.ensemble import EnsembleModule, members_of
from ..models.fusion import fuse
from ..sepn import build_sepn, learnable_families, sepn_name
from .methods import Method, NonFiniteError, check_measurement, step_optimizer


class DAT(Method):
    name = "dat"
    uses_system = True

    def __init__(self, model, system, cfg):
        super().__init__(model, system, cfg)
        d = cfg.dat
        device = next(model.parameters()).device
        members = members_of(model)
        per_member = []
        # the mesh-parameter SEPN learns the error families the (public) error spec has
        learn = learnable_families(cfg.error_spec()) if d.sepn == "mesh" else None
        for seed in [cfg.train.seed] if members is None else [m.seed for m in members]:
            torch.manual_seed(seed + 12345)
            per_member.append([
                build_sepn(d.sepn, tuple(d.sepn_features), dtype=d.sepn_dtype,
                           modulation_shape=shape if d.sepn_modulation else None,
                           plane_shape=shape, zero_output=d.sepn_zero_init,
                           **({"mesh": model.meshes[k], "learn": learn} if learn else {}))
                for k, shape in enumerate(model.plane_shapes)])
        # an ensemble: per plane, one SEPN per member on the member-major batch
        sepns = per_member[0] if members is None else [
            EnsembleModule(plane) for plane in zip(*per_member, strict=True)]
        self.sepns = nn.ModuleList(sepns).to(device)
        if d.sepn_weight_decay > 0:  # decoupled: pulls what the data leaves free towards 0
            self.sepn_opt = torch.optim.AdamW(self.sepns.parameters(), lr=d.sepn_lr,
                                              weight_decay=d.sepn_weight_decay)
        else:
            self.sepn_opt = torch.optim.Adam(self.sepns.parameters(), lr=d.sepn_lr)
        self.sepn_sched = torch.optim.lr_scheduler.StepLR(
            self.sepn_opt, cfg.train.lr_step, cfg.train.lr_gamma
        )
        self.internal = d.internal_states
        self.fuse_internal = d.fuse_internal
        self.mse = nn.MSELoss()

    def sepn_weight(self, epoch: int) -> float:
        return 0.0 if epoch < self.cfg.dat.warmup_epochs else 1.0

    def _separable_fit(self, x: torch.Tensor) -> float:
        """Fit each SEPN to its own layer, probed alone on the model's input to that layer."""
        model, total = self.model, 0.0
        known = self.alignment
        with torch.no_grad():
            trace = model(x, sepns=self.sepns, sepn_weight=1.0, errors=known)
        field_in = x
        for k in range(model.n_planes):
            if k > 0:
                with torch.no_grad():
                    field_in = model.after_plane(k - 1, trace.planes[k - 1], known)
            measured = self.system.measure_layer(k, field_in)
            if not torch.isfinite(measured).all():
                raise NonFiniteError(f"the physical system returned a non-finite layer {k + 1} probe")
            with torch.no_grad():
                ideal = model.propagate(k, field_in, known)
            pred = ideal + model.apply_sepn(k, self.sepns[k], ideal)
            loss = self._plane_loss(pred, measured)
            self.sepn_opt.zero_grad(set_to_none=True)
            loss.backward()
            step_optimizer(self.sepn_opt)
            total += float(loss.detach())
        return total

    def _plane_loss(self, field: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
        model = self.model
        if measured.is_complex():  # coherent detection: compare L2-normalised fields
            diff = model.normalise_plane(field) - model.normalise_plane(measured)
            per_sample = (diff.real**2 + diff.imag**2).sum(dim=1)
        else:
            diff = (model.normalise_plane(field.real**2 + field.imag**2)
                    - model.normalise_plane(measured))
            per_sample = (diff**2).sum(dim=1)
        if self.cfg.dat.plane_loss == "mse":
            per_sample = per_sample / diff.shape[1]
        return per_sample.mean()

    def _similarity_loss(self, trace, meas, use_is: bool) -> torch.Tensor:
        loss = self.mse(trace.scores, self.model.readout(meas.output))
        if use_is:
            for k, inten in enumerate(meas.internal or []):
                loss = loss + self._plane_loss(trace.planes[k], inten)
        if self.cfg.dat.fit_output_plane:
            loss = loss + self._plane_loss(trace.planes[-1], meas.output)
        if not torch.isfinite(loss):
            raise NonFiniteError(f"the similarity loss is {float(loss)}")
        return loss

    def _task_loss(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        loss = self.loss_fn(scores, labels)
        if not torch.isfinite(loss):
            raise NonFiniteError(f"the task loss is {float(loss)}")
        return loss

    def step(self, images, labels, epoch):
        model, system = self.model, self.system
        x = model.encode(images)
        system.program(model.physical_params())
        use_is = self.internal in ("unitary", "separable")
        self.calibrate(x)
        meas = check_measurement(system.measure(x, internal=use_is))
        stats: dict[str, float] = {}
        if self.internal == "separable":
            stats["loss_sep"] = self._separable_fit(x)
        params = [p for p in model.parameters() if p.requires_grad]
        sepn_params = list(self.sepns.parameters())
        w = self.sepn_weight(epoch)
        fuse_all = use_is and self.fuse_internal
        sepn_only = epoch < self.cfg.dat.sepn_only_epochs  # the physical parameters stay
        shared = self.cfg.dat.shared_forward and w == 1.0 and not fuse_all and not sepn_only
        self.opt.zero_grad(set_to_none=True)
        self.sepn_opt.zero_grad(set_to_none=True)

        # 1. similarity: numerical model (SEPN on) vs measurement
        trace = model(x, sepns=self.sepns, sepn_weight=1.0, errors=self.alignment)
        loss_sim = self._similarity_loss(trace, meas, use_is)
        task_grads = None
        if shared:  # task loss on the same forward: fuse the output plane only
            out = fuse(trace.planes[-1], meas.output)
            scores = model.readout(out.real**2 + out.imag**2)
            loss_task = self._task_loss(scores, labels)
            task_grads = torch.autograd.grad(loss_task, params, retain_graph=True)
        if self.cfg.dat.sim_to_physical and not sepn_only:
            loss_sim.backward()  # the paper: physical parameters keep this gradient too
        else:
            for p, g in zip(sepn_params, torch.autograd.grad(loss_sim, sepn_params), strict=True):
                p.grad = g
        step_optimizer(self.sepn_opt)
        if sepn_only:
            self.opt.step()  # no gradients: a no-op that keeps the lr scheduler's order check
            scores = model.readout(meas.output)  # the hardware's, as in the other epochs
            stats.update(loss=float(self._task_loss(scores, labels).detach()),
                         loss_sim=float(loss_sim.detach()),
                         train_acc=float((scores.argmax(1) == labels).float().mean()))
            return stats

        # 2. task: fused states, gradient into the physical parameters only
        if not shared:
            measured: list[torch.Tensor | None] = [None] * (model.n_planes - 1) + [meas.output]
            if fuse_all:
                measured = meas.planes()
            trace = model(x, sepns=self.sepns, sepn_weight=w, measured=measured,
                          errors=self.alignment)
            scores = trace.scores
            loss_task = self._task_loss(scores, labels)
            task_grads = torch.autograd.grad(loss_task, params)
        for p, g in zip(params, task_grads, strict=True):
            p.grad = g if p.grad is None else p.grad + g
        step_optimizer(self.opt)
        stats.update(
            loss=float(loss_task.detach()),
            loss_sim=float(loss_sim.detach()),
            train_acc=float((scores.argmax(1) == labels).float().mean()),
        )
        return stats

    def end_epoch(self, epoch: int) -> None:
        super().end_epoch(epoch)
        self.sepn_sched.step()

    def optimizers(self):
        return [self.opt, self.sepn_opt]

    def state_dict(self):
        return {**super().state_dict(), "sepns": self.sepns.state_dict(),
                "sepn_opt": self.sepn_opt.state_dict(), "sepn_sched": self.sepn_sched.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.sepns.load_state_dict(state["sepns"])
        self.sepn_opt.load_state_dict(state["sepn_opt"])
        self.sepn_sched.load_state_dict(state["sepn_sched"])

    def describe(self):
        d = self.cfg.dat
        return {"method": self.name, "internal_states": self.internal,
                "sepn": sepn_name(d.sepn, tuple(d.sepn_features), d.sepn_modulation)
                + ("-bf16" if d.sepn_dtype == "bfloat16" and d.sepn != "linear" else "")}
