"""The label audit: which labelled faces' labels look wrong, from out-of-fold probabilities and
cleanlab's confident learning (glasses.audit.audit is the step)."""
