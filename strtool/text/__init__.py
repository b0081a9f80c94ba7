"""Text layer: languages and groups, charsets, normalisation and token units, script
detection, tokenizers. Pure Python (tokenizers use torch tensors only at the edges)."""
