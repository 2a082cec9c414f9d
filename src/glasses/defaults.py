"""Every default, written once. The steps' functions take their defaults from here (and so
does ``glasses STEP --help``, which reads them from the functions' signatures), and so does
the pipeline's run form (``pipeline.py --flag``). The hyperparameters' defaults are the
untuned model, ``glasses.model.hparams.HParams``.
"""

from typing import Final

SEED: Final = 0

# synth: the stand-in for the real data
SYNTH_COUNT: Final = 5000
SYNTH_SIZE: Final = 1024  # px, as Kaggle's faces
UNLABELLED_FRACTION: Final = 0.1  # Kaggle: 500 of 5000 faces in test.csv
LABEL_NOISE: Final = 0.0  # the real data: about 0.115
NOISE_MODEL: Final = "uniform"  # a coin toss per label; "instance": where faces are hard
# the share of flips that are "glasses" on a face without glasses; None: wherever the hard faces
# are (the instance model), or a coin toss (uniform). The real set's: about 0.8 (train.csv has
# 63.5 % glasses, a hand-cleaned copy 56 %, with 11.5 % of the labels wrong)
NOISE_ASYMMETRY: Final = None
REAL_NOISE_ASYMMETRY: Final = 0.8
STYLE: Final = "classic"

# ingest
VAL_FRACTION: Final = 0.1
TEST_FRACTION: Final = 0.1

# shard
RESOLUTION: Final = 64  # px; 32 and 128 work too
SHARD_SIZE: Final = 450  # a 4500-row split gives 10 shards, as in the paper
COMPRESSION: Final = "NONE"
# 1024x1024 is 1 Mpx; anything over 64 Mpx is not a face from this pipeline, and decoding it
# could take gigabytes (a "decompression bomb"): refused from the header, before decoding
MAX_PIXELS: Final = 64_000_000

# tune
TUNER: Final = "random"  # the paper's
SEARCH_SPACE: Final = "architecture"
MAX_TRIALS: Final = 5
TUNE_EPOCHS: Final = 10  # per trial
TUNE_PATIENCE: Final = 3

# train
EPOCHS: Final = 30
PATIENCE: Final = 10
# early stopping watches validation accuracy: under label noise it keeps tracking the truth,
# while the validation loss also punishes right answers on mislabelled faces
MONITOR: Final = "val_accuracy"

# evaluate and score: a face is uncertain when its probability is in [low, high]
UNCERTAIN_LOW: Final = 0.4
UNCERTAIN_HIGH: Final = 0.6
MIN_ACCURACY: Final = 0.85
MAX_REGRESSION: Final = 0.01

# score
BATCH_SIZE: Final = 256  # faces per model call
PART_SIZE: Final = 500  # images per resumable part
# the batch health report; measured on in-distribution batches (docs/figures.md)
MAX_UNCERTAIN_SHARE: Final = 0.15
MAX_DRIFT: Final = 0.25  # KS distance, or difference of class shares
DRIFT_P_VALUE: Final = 0.001

# audit
AUDIT_FOLDS: Final = 5
AUDIT_ROUNDS: Final = 2
AUDIT_FILTER: Final = "confident_learning"  # chosen by measurement (docs/figures.md)
AUDIT_APPLY: Final = "drop"

# the pipeline's own
AUDIT_MODE: Final = "off"
NUM_SHARD_WORKERS: Final = 2
NUM_SCORE_WORKERS: Final = 2
NUM_AUDIT_WORKERS: Final = 5

# experiments: the seed paper's studies (glasses.experiments.studies holds its figures)
EXPERIMENT_STUDIES: Final = "resolution,batch,models"
EXPERIMENT_SEEDS: Final = 3
EXPERIMENT_PROTOCOL: Final = "paper"  # its plain loss and epochs; "project": the defaults
EXPERIMENT_TRIALS: Final = 5  # the paper's random search: 5 trials
