"""Semi-supervised training on unlabeled crops (`semi` config section): consistency
regularisation with an EMA teacher, SeqCLR-style contrastive learning of the encoder,
and pseudo-label self-training. See `strtool.semi.training`."""
