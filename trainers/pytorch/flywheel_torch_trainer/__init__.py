"""Flywheel's PyTorch reference trainer: speaks the command-trainer contract (training/COMMAND_TRAINER.md)."""

__all__ = ["__version__"]
__version__ = "0.1.0"
