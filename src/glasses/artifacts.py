"""What each step's output folder holds: every file name, in one place that producers and
consumers (and the KFP components) import. What the files contain is the business of the
module that writes them: the manifest (glasses.data.manifest), the shards
(glasses.data.shard_format), a model folder (glasses.model.train), and so on.

Each step's output is a folder (a local path or a ``gs://`` prefix):

    ingest    OUT/manifest.csv, OUT/ingest_report.json
    shard     SHARDS/{split}-{i:05d}-of-{n:05d}.tfrecord[.gz], SHARDS/metadata.json,
              SHARDS/shard_report.json
    tune      TUNING/best_hparams.json, TUNING/trials.json
    train     MODEL/model.keras, MODEL/export/, MODEL/hparams.json, MODEL/history.json,
              MODEL/training.json, MODEL/reference.json, MODEL/training_curves.png
    evaluate  EVAL/metrics.json, EVAL/report.html, EVAL/test_predictions.csv
    score     PRED/predictions.csv, PRED/score_report.json, PRED/batch_report.{json,html}
    registry  REGISTRY/latest.json, REGISTRY/<version>/ (a model folder)
    audit     AUDIT/label_issues.csv, AUDIT/audit_report.json, AUDIT/review.html,
              AUDIT/label_studio_tasks.json, AUDIT/label_studio_config.xml, AUDIT/corrections.csv
    experiments EXP/paper_tables.{md,json}, EXP/experiments.html, EXP/runs/.../result.json
              (glasses.experiments.run says the layout)
    (fan-out) OUT/_parts/ (glasses.parts)
"""

# ---- the dataset as Kaggle ships it (and glasses synth writes it) ----------------------------
LABELLED_CSV = "train.csv"
UNLABELLED_CSV = "test.csv"
GROUND_TRUTH = "ground_truth.csv"  # synth only: the true labels behind the given ones

# ---- ingest ---------------------------------------------------------------------------------
MANIFEST = "manifest.csv"
INGEST_REPORT = "ingest_report.json"

# ---- shard ----------------------------------------------------------------------------------
SHARD_METADATA = "metadata.json"
SHARD_REPORT = "shard_report.json"

# ---- tune and train -------------------------------------------------------------------------
BEST_HPARAMS = "best_hparams.json"
TRIALS = "trials.json"
MODEL_FILE = "model.keras"
EXPORT_DIR = "export"
HPARAMS = "hparams.json"
HISTORY = "history.json"
TRAINING_SUMMARY = "training.json"
REFERENCE = "reference.json"
TRAINING_CURVES = "training_curves.png"

# ---- evaluate, score, registry --------------------------------------------------------------
METRICS = "metrics.json"
EVALUATION_PAGE = "report.html"
TEST_PREDICTIONS = "test_predictions.csv"
PREDICTIONS = "predictions.csv"
SCORE_REPORT = "score_report.json"
BATCH_REPORT = "batch_report.json"
BATCH_PAGE = "batch_report.html"
REGISTRY_LATEST = "latest.json"

# ---- review queues: the audit's faces, and a scored batch's uncertain ones -----------------
REVIEW_PAGE = "review.html"
LABEL_STUDIO_TASKS = "label_studio_tasks.json"
LABEL_STUDIO_CONFIG = "label_studio_config.xml"

# ---- audit ----------------------------------------------------------------------------------
LABEL_ISSUES = "label_issues.csv"
AUDIT_REPORT = "audit_report.json"
AUDIT_PAGE = REVIEW_PAGE
CORRECTIONS = "corrections.csv"
NO_AUDIT = "no_audit.json"  # in an audit folder that holds no audit (the pipeline's audit: off)

# ---- the paper's experiments ----------------------------------------------------------------
EXPERIMENT_RESULT = "result.json"  # one configuration at one seed, written last
PAPER_TABLES_MD = "paper_tables.md"
PAPER_TABLES_JSON = "paper_tables.json"
EXPERIMENTS_PAGE = "experiments.html"
