"""The Shapley estimators on a trained 784->256 sigmoid layer (Fashion-MNIST).

Per estimator (own process): seconds per sample, peak memory, error of the values and
link importances against a converged reference; then the whole-model cost and the
background size.
Run:  python benchmarks/bench_importance.py [--quick]     Writes results/importance.json.
"""

import multiprocessing as mp

import numpy as np

from _common import Timer, images, parser, peak_rss_mb, print_table, write_json


def _run_estimator(kind, options, W, b, background, points, queue):
    from skshapsae.scoring._shapley import ESTIMATORS, LayerGame

    game = LayerGame(W, b, options.pop("activation", "logistic"), background)
    seed = options.pop("seed", 0)
    estimator = ESTIMATORS[kind](**options)
    base = peak_rss_mb()
    repeats = 1
    if kind not in ("kernel", "shap-permutation"):
        # steady state: one untimed sample first (torch's thread pool and allocator warm
        # up), then the best of 3 timed passes (this machine's timings are noisy); the two
        # shap estimators spend seconds per sample and run once
        estimator.for_game(game, seed=seed).shapley_values(game, points[:1])
        repeats = 3
    seconds = []
    for _ in range(repeats):  # same seed: every pass computes the same values
        est = estimator.for_game(game, seed=seed)
        with Timer() as t:
            phi, var = est.shapley_values(game, points)
        seconds.append(t.seconds)
    queue.put((phi, var, min(seconds) / len(points), peak_rss_mb() - base))


def run_in_process(kind, options, W, b, background, points):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    args = (kind, dict(options), W, b, background, points, queue)
    proc = ctx.Process(target=_run_estimator, args=args)
    proc.start()
    result = queue.get()
    proc.join()
    return result


def top_agreement(est, ref, share):
    k = max(1, int(share * ref.size))
    top_ref = set(np.argsort(-ref.ravel(), kind="stable")[:k])
    top_est = set(np.argsort(-est.ravel(), kind="stable")[:k])
    return len(top_ref & top_est) / k


def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main(args):
    quick = args.quick
    from skshapsae import SHAPSparseAutoencoder

    rng = np.random.default_rng(0)
    X_all = images("fashion_mnist")[0]
    X = X_all[rng.choice(len(X_all), 2000 if quick else 10000, replace=False)]
    n_points = 2 if quick else 8
    n_kernel = 1 if quick else 2
    ref_pairs = 4 if quick else 32

    print("training 784-256-64-256-784 and scoring the whole model ...")
    ae = SHAPSparseAutoencoder(
        (256, 64),
        out_activation="logistic",
        max_iter=2 if quick else 10,
        batch_size=128,
        learning_rate_init=1e-3,
        n_background=100,
        n_explain=20 if quick else 200,
        device="cpu",
        random_state=0,
    ).fit(X)
    whole = {
        "architecture": "784-256-64-256-784",
        "n_explain": ae.get_params()["n_explain"],
        "n_background": 100,
        "estimator": "auto (permutation, 1 antithetic pair)",
        "training_seconds": ae.fit_times_["training"],
        "scoring_seconds": ae.fit_times_["scoring"],
    }
    print(f"whole model scored in {whole['scoring_seconds']:.1f}s (n_explain={whole['n_explain']})")

    W, b = ae.dense_weights_[0], ae.dense_intercepts_[0]
    background = X[rng.choice(len(X), 100, replace=False)]
    points = X[rng.choice(len(X), n_points, replace=False)]

    print(f"reference: permutation with {ref_pairs} antithetic pairs on {n_points} samples ...")
    ref_phi, ref_var, ref_sec, ref_mem = run_in_process(
        "permutation", {"n_permutations": ref_pairs, "seed": 123}, W, b, background, points
    )
    ref_err = float(np.sqrt(ref_var.sum()) / np.linalg.norm(ref_phi))
    print(f"reference estimated relative error {ref_err:.4f}")

    configs = [
        ("permutation x1 (default)", "permutation", {"n_permutations": 1}, n_points),
        ("permutation x2", "permutation", {"n_permutations": 2}, n_points),
        ("permutation x4", "permutation", {"n_permutations": 4}, n_points),
        ("kernel (shap default budget)", "kernel", {}, n_kernel),
        ("shap permutation (2n+1 evals)", "shap-permutation", {}, n_kernel),
        ("pre-activation closed form", "linear", {"activation": "identity"}, n_points),
    ]
    rows = []
    for label, kind, options, n in configs:
        print(f"running {label} on {n} samples ...")
        phi, _, sec, mem = run_in_process(kind, options, W, b, background, points[:n])
        li, li_ref = np.abs(phi).mean(axis=0), np.abs(ref_phi[:n]).mean(axis=0)
        # peak MB: above the process baseline after imports
        row = {"estimator": label, "samples": n, "s/sample": sec, "peak MB": mem}
        row.update({"phi rel L2": rel_l2(phi, ref_phi[:n]), "LI rel L2": rel_l2(li, li_ref)})
        rows.append(
            {**row, **{f"top{p}%": top_agreement(li, li_ref, p / 100) for p in (10, 20, 50)}}
        )
    kernel_sec = next(r["s/sample"] for r in rows if r["estimator"].startswith("kernel"))
    for r in rows:
        r["speed-up vs kernel"] = kernel_sec / r["s/sample"]
    print()
    columns = ["estimator", "samples", "s/sample", "speed-up vs kernel", "peak MB"]
    print_table(rows, columns + ["phi rel L2", "LI rel L2", "top10%", "top20%", "top50%"])

    print("\nbackground size (permutation x1), LI compared with a 1000-row background ...")
    big = X[rng.choice(len(X), 300 if quick else 1000, replace=False)]
    li_by_bg, bg_rows = {}, []
    for label, bg in [("100 rows", big[:100]), ("300 rows", big[:300]), ("1000 rows", big)]:
        phi, _, sec, _ = run_in_process("permutation", {}, W, b, bg, points)
        li_by_bg[label] = np.abs(phi).mean(axis=0)
        bg_rows.append({"background": label, "s/sample": sec})
    # background_rows=100: every explained point draws its own 100 rows of the 1000
    from skshapsae.scoring._scoring import ScoringConfig, _score_task
    from skshapsae.scoring._shapley import LayerGame

    config = ScoringConfig(estimator="permutation", seed=0, background_rows=100)
    game = LayerGame(W, b, "logistic", big)
    _score_task(game, points[:1], config, 0, None)  # warm-up
    with Timer() as t:
        total, _ = _score_task(game, points, config, 0, None)
    pool = "100 rows per point from a 1000-row pool"
    li_by_bg[pool] = total / len(points)
    bg_rows.append({"background": pool, "s/sample": t.seconds / len(points)})
    import shap

    centres = shap.kmeans(big, 50).data
    phi, _, sec, _ = run_in_process("permutation", {}, W, b, centres, points)
    li_by_bg["k-means 50 (unweighted)"] = np.abs(phi).mean(axis=0)
    bg_rows.append({"background": "k-means 50 (unweighted)", "s/sample": sec})
    for r in bg_rows:
        r["LI rel L2 vs 1000"] = rel_l2(li_by_bg[r["background"]], li_by_bg["1000 rows"])
    print_table(bg_rows, ["background", "s/sample", "LI rel L2 vs 1000"])

    reference = {"estimator": f"permutation, {ref_pairs} antithetic pairs"}
    reference.update({"estimated_relative_error": ref_err, "s/sample": ref_sec})
    layer = "784->256 sigmoid, Fashion-MNIST, 100 background rows"
    payload = dict(quick=quick, layer=layer, reference=reference, estimators=rows)
    write_json("importance", {**payload, "whole_model": whole, "background": bg_rows}, args)


if __name__ == "__main__":
    main(parser(__doc__).parse_args())
