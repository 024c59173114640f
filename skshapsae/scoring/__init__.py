"""The scoring stage: the layer games and the reconstruction game, and the Shapley
estimators that score them (links -> importances). Imports the network stage only."""
