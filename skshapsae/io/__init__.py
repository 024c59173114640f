"""Files, above the estimator: the safe model format (``save`` / ``load``), its
preprocessing columns, atomic writes, and the export for deployment. It builds and reads
fitted estimators, so it imports the estimator (inside functions)."""
