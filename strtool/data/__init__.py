"""Datasets: LMDB schema, gt formats, make-lmdb, training datasets, samplers, transforms."""
