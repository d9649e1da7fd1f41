"""A simulated physical system: the ideal model plus a hidden, fixed error realisation."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch

from ..errors import ErrorSpec, seeded_generator
from ..models.base import PhotonicNetwork
from ..models.ensemble import draw_errors
from .protocol import Measurement


class SimulatedSystem:
    """Stands in for hardware: same physics as the model, with systematic errors it keeps to itself.

    Args:
        model: the ideal network (copied; the system never shares parameters with the trainer).
        errors: the error spec; a realisation is drawn once with ``error_seed``.
        error_seed: seed of the realisation (same seed -> same system, on any device); for an
            ensemble network (:mod:`photonic_dat.models.ensemble`), one seed per member.
        read_noise: std of additive detector noise relative to the mean intensity of each
            sample's plane (0 = noiseless). Random, drawn fresh at each measurement.
        noise_seed: seed of the read-noise generator.
        internal_detection: ``"intensity"`` (cameras or photodiodes: what a lab records) or
            ``"field"``: the internal planes are returned as complex fields, as a coherent
            (interferometric) detector with a phase reference would see them. A simulation study
            of what phase information at the internal planes is worth; the output stays an
            intensity. Read noise then adds a complex Gaussian of the same relative std.
    """

    def __init__(
        self,
        model: PhotonicNetwork,
        errors: ErrorSpec,
        error_seed: int | Sequence[int] = 0,
        read_noise: float = 0.0,
        noise_seed: int = 0,
        internal_detection: str = "intensity",
    ) -> None:
        if read_noise < 0:
            raise ValueError(f"system.read_noise={read_noise} must be >= 0")
        if internal_detection not in ("intensity", "field"):
            raise ValueError(f"internal_detection={internal_detection!r}: use 'intensity' or 'field'")
        self.internal_detection = internal_detection
        self.__model = copy.deepcopy(model).requires_grad_(False).eval()
        self.__errors = draw_errors(errors, self.__model, error_seed)
        self.__read_noise = float(read_noise)
        self.__noise = seeded_generator(noise_seed)
        self.queries = 0
        self.spec = errors  # the statistics are public knowledge; the draw is not

    def state_dict(self) -> dict:
        """What a checkpoint needs to continue exactly: read-noise RNG state and query count."""
        return {"noise_rng": self.__noise.get_state(), "queries": self.queries}

    def load_state_dict(self, state: dict) -> None:
        self.__noise.set_state(state["noise_rng"])
        self.queries = int(state["queries"])

    def program(self, params: Mapping[str, torch.Tensor]) -> None:
        self.__model.load_physical_params(params)

    def _detect(self, intensity: torch.Tensor) -> torch.Tensor:
        if self.__read_noise == 0:
            return intensity
        dims = tuple(range(1, intensity.ndim))
        scale = intensity.mean(dim=dims, keepdim=True) * self.__read_noise
        noise = torch.randn(intensity.shape, generator=self.__noise, dtype=torch.float32)
        return (intensity + scale * noise.to(intensity.device, intensity.dtype)).clamp(min=0)

    def _detect_field(self, field: torch.Tensor) -> torch.Tensor:
        """Coherent detection: the complex field, with read noise relative to its RMS amplitude."""
        if self.__read_noise == 0:
            return field
        dims = tuple(range(1, field.ndim))
        rms = (field.real**2 + field.imag**2).mean(dim=dims, keepdim=True).sqrt()
        noise = torch.randn((2, *field.shape), generator=self.__noise, dtype=torch.float32)
        noise = torch.complex(noise[0], noise[1]) / 2**0.5
        return field + rms * self.__read_noise * noise.to(field.device, field.dtype)

    @torch.no_grad()
    def measure(self, x: torch.Tensor, *, internal: bool = False) -> Measurement:
        trace = self.__model(x.detach(), errors=self.__errors)
        self.queries += int(x.shape[0])
        out = self._detect(trace.intensity)
        inner = None
        if internal and self.internal_detection == "field":
            inner = [self._detect_field(p) for p in trace.planes[:-1]]
        elif internal:
            inner = [self._detect(i) for i in trace.plane_intensities()[:-1]]
        return Measurement(output=out, internal=inner)

    @torch.no_grad()
    def measure_layer(self, i: int, field_in: torch.Tensor) -> torch.Tensor:
        if not 0 <= i < self.__model.n_planes:
            raise IndexError(f"layer {i} out of range 0..{self.__model.n_planes - 1}")
        field = self.__model.propagate(i, field_in.detach(), self.__errors)
        self.queries += int(field_in.shape[0])
        return self._detect(field.real**2 + field.imag**2)
