"""Physics-aware training (Wright et al. 2022): the hardware's output in the loss, backward in silico."""

from __future__ import annotations

from .methods import Method, check_measurement, task_step


class PAT(Method):
    """Each step: measure the system; the loss value is computed on the measured output (fused
    with the model's phase), the gradient flows through the ideal model. No SEPN."""

    name = "pat"
    uses_system = True

    def step(self, images, labels, epoch):
        x = self.model.encode(images)
        self.calibrate(x)
        self.system.program(self.model.physical_params())
        meas = check_measurement(self.system.measure(x))
        measured = [None] * (self.model.n_planes - 1) + [meas.output]
        trace = self.model(x, measured=measured, errors=self.alignment)
        loss = self.loss_fn(trace.scores, labels)
        task_step(self, loss)
        return {"loss": float(loss.detach()),
                "train_acc": float((trace.scores.argmax(1) == labels).float().mean())}
