"""The scoring stage: the probability of glasses for every face of a new batch, the uncertain
ones flagged, and whether the batch is like what the model was trained on (health)."""
