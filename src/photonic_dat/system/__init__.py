"""The hardware boundary: PhysicalSystem protocol, a simulated system with hidden errors, and
a robust wrapper (timeouts, retries, validation, measurement log) for faulty hardware."""

from .flaky import FlakySystem
from .protocol import Measurement, PhysicalSystem
from .robust import HardwareError, InvalidMeasurement, RobustSystem
from .simulated import SimulatedSystem

__all__ = [
    "FlakySystem", "HardwareError", "InvalidMeasurement", "Measurement", "PhysicalSystem",
    "RobustSystem", "SimulatedSystem",
]
