"""The network stage, the bottom of the house: the dense autoencoder in PyTorch, its
activations (numpy and torch) and the threads its work may use, read by every stage above."""
