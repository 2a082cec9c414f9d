"""The data stage: the source's tables and images in (ingest), the manifest, label
corrections, and the TFRecord shards every later step reads (shard, dataset)."""
