"""A synthetic stand-in for the real data in Kaggle's exact layout (``glasses synth``): the
faces' truth (truth), one module per drawing style (classic, portrait, sketch, shared
drawing), and the dataset with its tables (dataset)."""

from glasses.synth.dataset import synth

__all__ = ["synth"]
