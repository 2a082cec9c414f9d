"""The evaluation stage: metrics on the test split, the blessing gate, the report page."""
