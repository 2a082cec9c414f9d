"""The seed paper's experiments as one step: its three studies (resolution, batch size, tuned
models) run through the project's own ingest, shard, tune, train and evaluate, each
configuration over several seeds, and gathered into the paper's tables beside its figures."""
