"""The hardware boundary: PhysicalSystem protocol and a simulated system with hidden errors."""

from .protocol import Measurement, PhysicalSystem
from .simulated import SimulatedSystem

__all__ = ["Measurement", "PhysicalSystem", "SimulatedSystem"]
