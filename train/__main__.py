"""python -m train: train a FaceVAE model (see `python -m train --help`)."""

from train.cli import main

main()
