"""The defaults both command lines share: ``glasses STEP --flag`` and ``pipeline.py --flag``
(the KFP run form) start from these values, and so do the steps' functions. The uncertain band
is in glasses.metrics and the batch-health thresholds in glasses.health.Thresholds, beside the
rules they feed."""

RESOLUTION = 64  # px; 32 and 128 work too
VAL_FRACTION = 0.1
TEST_FRACTION = 0.1
SEED = 0
TUNER = "random"  # the paper's
SEARCH_SPACE = "architecture"
MAX_TRIALS = 5
TUNE_EPOCHS = 10  # per trial
TUNE_PATIENCE = 3
EPOCHS = 30
PATIENCE = 10
# early stopping watches validation accuracy: under label noise it keeps tracking the truth,
# while the validation loss also punishes right answers on mislabelled faces
MONITOR = "val_accuracy"
MIN_ACCURACY = 0.85
MAX_REGRESSION = 0.01
