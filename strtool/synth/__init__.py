"""Synthetic data: fonts and coverage, corpora, rendering, augmentation, pipeline."""
