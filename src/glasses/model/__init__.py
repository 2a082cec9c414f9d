"""The model stage: the hyperparameters, the paper's CNN and its loss, training on every GPU,
the search (tune), the one way to turn faces into probabilities (predict, decision), the
profile a model carries (reference), and the registry of blessed models."""
