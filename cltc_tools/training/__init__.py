"""Training and evaluating classifiers: architectures, features, the train loop, optimisers, checkpoints,
resumable snapshots, data-parallel runs, the sentence-alignment task and classification metrics."""
