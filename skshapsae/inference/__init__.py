"""The inference stage: the compacted plan of a pruned network, its forward pass and the
sparse (numba) kernel it runs. Imports the network stage only (activations, threads)."""
