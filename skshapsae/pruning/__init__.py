"""The pruning stage, pure numpy: importances -> masks and sparse weights, and the feature
selection read from the input attribution. Imports the network stage only (activations)."""
