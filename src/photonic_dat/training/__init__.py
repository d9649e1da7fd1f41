"""Training methods over one shared loop: in-silico, noise-aware, PAT, DAT."""

from .dat import DAT
from .loop import Trainer, TrainingDiverged
from .methods import InSilico, Method
from .noise_aware import NoiseAware
from .pat import PAT

__all__ = ["DAT", "PAT", "InSilico", "Method", "NoiseAware", "Trainer", "TrainingDiverged"]
