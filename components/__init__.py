"""The KFP layer, the only code that imports kfp: the components (steps), where each task
runs (placement), the training pipeline's DAG (training), its parameters (parameters), and
where a compiled pipeline runs (runners). The logic of every step is in the glasses package."""
