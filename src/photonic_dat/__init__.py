"""photonic-dat: dual adaptive training of photonic neural networks."""

__version__ = "0.1.0"
