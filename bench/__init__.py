"""Benchmarks: how fast and how good FaceVAE is on the machine they run on (docs/benchmarks.md).

Each script prints a table and writes JSON; ``--quick`` runs it in seconds (for tests, not numbers).

    python -m bench.inference     # decode, encode, the demo's selfie swap; FLOP-bound limit
    python -m bench.app           # the demo over HTTP: cold start, memory, slider and swap latency
    python -m bench.training      # training images/s: default, large128, PyTorch-VAE VanillaVAE
    python -m bench.quality --data fer2013.csv   # same wall-clock budget, held-out MSE and -ELBO
    python -m bench.load          # many clients, mixed requests, against the running demo
    python -m bench.detectors     # face detectors (Haar, dlib HOG) on faces with known boxes

Shared pieces: ``bench.common`` (timing statistics, machine description, tables, JSON) and
``bench.server`` (start the demo on a free loopback port, call its API over raw HTTP).
"""
