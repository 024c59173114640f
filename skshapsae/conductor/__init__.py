"""The conductor: what the estimator runs the stages with (parameters -> configurations,
the stages composed, the fitted schema, the checks, data sources, Dask collections).
Imports the stages; never the estimator."""
