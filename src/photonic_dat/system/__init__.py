"""The hardware boundary: PhysicalSystem protocol, a simulated system with hidden errors, and
a robust wrapper (timeouts, retries, validation, measurement log) for faulty hardware."""

from .flaky import FlakySystem
from .lab import Calibration, CameraSLMSystem, LabDevices, SimulatedLabDevices
from .protocol import Measurement, PhysicalSystem
from .robust import HardwareError, InvalidMeasurement, RobustSystem
from .simulated import SimulatedSystem

__all__ = [
    "Calibration", "CameraSLMSystem", "FlakySystem", "HardwareError", "InvalidMeasurement",
    "LabDevices", "Measurement", "PhysicalSystem", "RobustSystem", "SimulatedLabDevices",
    "SimulatedSystem",
]
