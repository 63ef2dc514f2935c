"""Behavioural checks for the labs: one module per lab (``lab01`` …), all built on ``framework``."""

from .framework import EXERCISES, CheckFailed

__all__ = ["CheckFailed", "EXERCISES"]
