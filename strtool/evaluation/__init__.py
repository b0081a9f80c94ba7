"""Recognition metrics (WRR, CRR, 1-NED) and reports per language / script."""
