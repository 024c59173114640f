"""A fit's memory, checked before any work: the training and scoring stages' estimates
against this machine's physical memory."""

from ..network._network import training_memory_bytes
from ..scoring._scoring import scoring_memory_bytes
from ..scoring._shapley import physical_memory_bytes


def check_fit_memory(sizes, activations, scoring, n_background, n_samples, batch_size):
    """Fail before any work when training or scoring needs more memory than exists."""
    available = physical_memory_bytes()
    if available is None:
        return
    training = training_memory_bytes(sizes, n_samples, batch_size)
    scoring_need, layer = scoring_memory_bytes(sizes, activations, scoring, n_background)
    if max(training, scoring_need) > available:
        gib = 2.0**30
        raise ValueError(
            f"This fit needs about {training / gib:.1f} GiB of memory to train the "
            f"{'-'.join(map(str, sizes))} network and {scoring_need / gib:.1f} GiB to "
            f"score layer {layer + 1} with shapley_estimator={scoring.estimator!r} "
            f"(n_permutations={scoring.n_permutations}, n_background={n_background}), more "
            f"than this machine's {available / gib:.1f} GiB. Use smaller hidden_layer_sizes, "
            "fewer rows or n_background, a smaller budget (n_permutations, "
            "background_rows of the shapley_estimator), or shapley_estimator='permutation'."
        )
