"""python -m train.evaluate: held-out numbers for one or more checkpoints, as a table and JSON.

    python -m train.evaluate runs/a/model.safetensors runs/b/model.safetensors --data fer2013.csv \
        --classifier runs/classifier/classifier.safetensors

Per checkpoint: negative ELBO (nats per image, bits/dim), reconstruction MSE and PSNR, active units.
With a classifier: the Frechet distance between 2,000 samples (and reconstructions) and held-out faces
in the classifier's feature space, the sharpness ratio, and for multi-decoder models the swap table.
Samples come from the prior and, as the demo draws them, from a Gaussian fitted to the codes of the
training split (`_fitted`; vae.latent.CodeDistribution).

Identity: no face-recognition weights can be had offline and FER2013 has no identity labels, so the
identity kept by a swap is measured by re-identification: given a swapped face, find its source
among all held-out faces by the correlation of their coarse (12x12) structure -- head pose, face
shape, hair, lighting -- which carries who a 48-pixel face is while the expression lives in finer
detail. The trivial baseline, the mean face of the target expression, re-identifies at chance.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from train.artifacts import write_json
from train.classifier import per_class_accuracy, predict
from train.heldout import heldout_metrics
from vae.checkpoint import CheckpointError, load_checkpoint
from vae.classifier import ExpressionClassifier
from vae.conv_vae import ConvVAE
from vae.data import DataConfig, DataError, FaceData, as_float, load_faces
from vae.latent import CodeDistribution, encode_posteriors
from vae.metrics import frechet_distance, sharpness_ratio, spectral_excess
from vae.multi_decoder import MAX_DETAIL, MAX_STRENGTH, MultiDecoderVAE, check_detail, check_strength


def to_classifier_input(images: torch.Tensor, classifier: ExpressionClassifier) -> torch.Tensor:
    """Any model's faces in the classifier's format: grayscale, its size."""
    if images.shape[1] != classifier.config.channels:
        images = images.mean(1, keepdim=True)
    size = classifier.config.image_size
    if images.shape[-1] != size:
        images = F.interpolate(
            images, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return images


@torch.inference_mode()
def embed(classifier: ExpressionClassifier, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    classifier.eval()
    return torch.cat([classifier.embed(to_classifier_input(b, classifier)) for b in images.split(batch_size)])


def identity_features(images: torch.Tensor, size: int = 12) -> torch.Tensor:
    """Coarse structure, standardised per face so that brightness and contrast do not count."""
    coarse = F.adaptive_avg_pool2d(images.mean(1, keepdim=True), size).flatten(1)
    coarse = coarse - coarse.mean(1, keepdim=True)
    return coarse / coarse.norm(dim=1, keepdim=True).clamp_min(1e-8)


def reidentification(sources: torch.Tensor, candidates: torch.Tensor) -> tuple[float, float]:
    """Share of candidates whose most similar source is their own, and the mean own correlation."""
    similarity = identity_features(candidates) @ identity_features(sources).T
    own = similarity.diagonal()
    top1 = float((similarity.argmax(1) == torch.arange(len(sources))).float().mean())
    return top1, float(own.mean())


@torch.inference_mode()
def decode_in_batches(model: ConvVAE, z: torch.Tensor, expression: int | None, batch_size: int = 512):
    return torch.cat([model.decode(b, expression) for b in z.split(batch_size)])


@torch.inference_mode()
def swap_metrics(
    model: MultiDecoderVAE,
    classifier: ExpressionClassifier,
    faces: FaceData,
    train_faces: FaceData,
    real_features: torch.Tensor,
    strength: float = 1.0,
    num_samples: int = 2000,
    detail: float = 0.0,
) -> dict[str, Any]:
    """Every held-out face through every decoder at `strength` and `detail` (MultiDecoderVAE.swap),
    judged by the classifier; identity per target; the Frechet distance of `num_samples` swapped
    faces (an equal share per target) from the held-out faces, whose `real_features` (`embed`) are
    computed once by the caller; their sharpness and spectral excess against the held-out faces,
    the excess also per target, since a texture is usually one decoder's."""
    images = as_float(faces.images)
    every = torch.cat([model.swap(b, strength, detail) for b in images.split(256)])  # [N, expressions, ...]
    names = model.config.expressions
    per_target, excess, identity, baseline = {}, {}, {}, {}
    for k, name in enumerate(names):
        swapped = every[:, k]
        predicted = predict(classifier, to_classifier_input(swapped, classifier))
        per_target[name] = float((predicted == k).float().mean())
        excess[name] = spectral_excess(swapped, images)
        identity[name] = reidentification(images, swapped)
        mean_face = as_float(train_faces.images[train_faces.labels == k]).mean(0, keepdim=True)
        baseline[name] = reidentification(images, mean_face.expand_as(images))
    real_predicted = predict(classifier, to_classifier_input(images, classifier))
    real_accuracy = per_class_accuracy(real_predicted, faces.labels, len(names))
    real_per_expression = {n: a if a == a else None for n, a in zip(names, real_accuracy)}  # NaN: no face
    present = [a for a in real_per_expression.values() if a is not None]
    shown = every.flatten(0, 1)[:num_samples]  # the first faces, each through every decoder
    return {
        "swap_strength": strength,
        "swap_detail": detail,
        "fd_swaps": frechet_distance(embed(classifier, shown), real_features),
        "sharpness_swaps": sharpness_ratio(shown, images),
        "spectral_excess_swaps": spectral_excess(shown, images),
        "spectral_excess_swaps_per_target": excess,
        "swap_accuracy": sum(per_target.values()) / len(per_target),
        "swap_accuracy_per_target": per_target,
        "classifier_accuracy_on_real": float((real_predicted == faces.labels).float().mean()),
        # The judge's score on real faces, averaged over expressions as swap_accuracy is: the
        # yardstick for the swap, since the judge misreads real expressions too.
        "classifier_accuracy_on_real_per_expression": real_per_expression,
        "classifier_mean_accuracy_on_real": sum(present) / len(present),
        "identity_top1": sum(v[0] for v in identity.values()) / len(identity),
        "identity_corr": sum(v[1] for v in identity.values()) / len(identity),
        "identity_top1_per_target": {k: v[0] for k, v in identity.items()},
        "mean_face_identity_top1": sum(v[0] for v in baseline.values()) / len(baseline),
        "mean_face_identity_corr": sum(v[1] for v in baseline.values()) / len(baseline),
    }


def sample_faces(model: ConvVAE, z: torch.Tensor) -> torch.Tensor:
    """Decode codes; a multi-decoder model draws an equal share of them through each decoder."""
    if model.config.kind != "multi":
        return decode_in_batches(model, z, None)
    parts = z.chunk(len(model.config.expressions))
    return torch.cat([decode_in_batches(model, part, k) for k, part in enumerate(parts)])


@torch.inference_mode()
def realism_metrics(
    model: ConvVAE,
    classifier: ExpressionClassifier,
    faces: FaceData,
    train_faces: FaceData,
    real_features: torch.Tensor,
    num_samples: int,
    seed: int,
) -> dict[str, float]:
    """Frechet distances in the classifier's feature space, and sharpness against real faces.

    Samples are drawn twice: from the prior (`samples`), and from the Gaussian fitted to the
    training codes (`samples_fitted`), which is what the demo draws from (vae.latent.CodeDistribution).
    """
    real = as_float(faces.images)
    fitted = CodeDistribution.fit(*encode_posteriors(model, as_float(train_faces.images)))
    # Reconstructions use each face's own expression (a single-decoder model ignores it).
    mu, _ = encode_posteriors(model, real, batch_size=512)
    generated = {
        "samples": sample_faces(
            model, CodeDistribution.prior(fitted.latent_dim).sample(num_samples, 1.0, seed)
        ),
        "samples_fitted": sample_faces(model, fitted.sample(num_samples, 1.0, seed)),
        "recon": torch.cat([model.decode(m, e) for m, e in zip(mu.split(512), faces.labels.split(512))]),
    }
    metrics = {}
    for name, images in generated.items():
        metrics[f"fd_{name}"] = frechet_distance(embed(classifier, images), real_features)
        metrics[f"sharpness_{name}"] = sharpness_ratio(images, real)
        metrics[f"spectral_excess_{name}"] = spectral_excess(images, real)
    return metrics


def evaluate(
    checkpoint: Path,
    data: str,
    split: str,
    classifier: ExpressionClassifier | None,
    samples: int,
    seed: int,
    labels: str | None = None,
    strength: float = 1.0,
    detail: float = 0.0,
) -> dict[str, Any]:
    """`labels` None: the labels the model was trained on (they pick each face's decoder);
    `strength` and `detail`: how the swaps are drawn (vae.multi_decoder.exaggerate, keep_detail)."""
    loaded = load_checkpoint(checkpoint)
    model, config = loaded.model, loaded.model.config
    labels = labels or loaded.metadata.get("train_config", {}).get("labels", "fer")
    size, channels = config.image_size, config.channels
    faces = load_faces(DataConfig(data, split=split, image_size=size, channels=channels, labels=labels))
    result: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "data": faces.source,
        "labels": labels,
        "faces": len(faces),
    }
    result.update(heldout_metrics(model, faces.images, faces.labels, seed=seed))
    if classifier is not None:
        real_features = embed(classifier, as_float(faces.images))
        train_faces = load_faces(
            DataConfig(data, split="train", image_size=size, channels=channels, labels=labels)
        )
        result.update(realism_metrics(model, classifier, faces, train_faces, real_features, samples, seed))
        if config.kind == "multi":
            swaps = swap_metrics(
                model, classifier, faces, train_faces, real_features, strength, samples, detail=detail
            )
            result.update(swaps)
    return result


def checked_arg(check: Callable[[float], float]) -> Callable[[str], float]:
    """An argparse type: a number from the command line passed through `check` (argparse reports
    the reason it gives)."""

    def parse(text: str) -> float:
        try:
            return check(float(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


strength_arg = checked_arg(check_strength)
detail_arg = checked_arg(check_detail)


def add_detail_option(parser: argparse.ArgumentParser) -> None:
    """`--detail`, as every command that draws swaps takes it."""
    parser.add_argument(
        "--detail",
        type=detail_arg,
        default=0.0,
        help=f"pixels of each face's own detail the swaps keep, 0..{MAX_DETAIL} (default: 0, none)",
    )


COLUMNS = [
    ("neg_elbo", "-ELBO nats"),
    ("bits_per_dim", "bits/dim"),
    ("kl", "KL nats"),
    ("active_units", "active"),
    ("mse", "MSE"),
    ("psnr", "PSNR dB"),
    ("fd_samples", "FD samples"),
    ("fd_samples_fitted", "FD samples fitted"),
    ("fd_recon", "FD recon"),
    ("sharpness_samples", "sharp samples"),
    ("sharpness_samples_fitted", "sharp samples fitted"),
    ("sharpness_recon", "sharp recon"),
    ("spectral_excess_samples", "excess samples"),
    ("spectral_excess_recon", "excess recon"),
    ("fd_swaps", "FD swaps"),
    ("sharpness_swaps", "sharp swaps"),
    ("spectral_excess_swaps", "excess swaps"),
    ("swap_accuracy", "swap acc"),
    ("identity_top1", "id top-1"),
]


def markdown_table(results: list[dict[str, Any]]) -> str:
    columns = [(k, title) for k, title in COLUMNS if any(r.get(k) is not None for r in results)]
    lines = ["| model | " + " | ".join(t for _, t in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for r in results:
        cells = [_cell(r.get(k)) for k, _ in columns]
        lines.append(f"| {r['checkpoint']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m train.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoints", nargs="+", type=Path)
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--classifier", type=Path, help="expression classifier from python -m train.classifier")
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="write all results here")
    p.add_argument(
        "--labels",
        choices=["fer", "ferplus"],
        help="FER2013 labels of the held-out faces (default: those each model was trained on)",
    )
    p.add_argument(
        "--strength",
        type=strength_arg,
        default=1.0,
        help=f"expression strength of the swaps, 0..{MAX_STRENGTH} (default: 1, as the decoders draw)",
    )
    add_detail_option(p)
    args = p.parse_args(argv)
    try:
        classifier = load_checkpoint(args.classifier).model if args.classifier else None
        results = [
            evaluate(
                c,
                args.data,
                args.split,
                classifier,
                args.samples,
                args.seed,
                labels=args.labels,
                strength=args.strength,
                detail=args.detail,
            )
            for c in args.checkpoints
        ]
    except (DataError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(markdown_table(results))
    for r in results:
        if "swap_accuracy_per_target" in r:
            print(
                f"\n{r['checkpoint']}: swap accuracy per target expression at strength "
                f"{r['swap_strength']}, detail {r['swap_detail']}"
            )
            print(" ".join(f"{k} {v:.3f}" for k, v in r["swap_accuracy_per_target"].items()))
            print("spectral excess per target (0: no frequency stronger than in real faces):")
            print(" ".join(f"{k} {v:.4f}" for k, v in r["spectral_excess_swaps_per_target"].items()))
            print(
                f"identity re-identification top-1 {r['identity_top1']:.3f} (mean face of the target: "
                f"{r['mean_face_identity_top1']:.4f}); classifier accuracy on real faces "
                f"{r['classifier_accuracy_on_real']:.3f}, {r['classifier_mean_accuracy_on_real']:.3f} "
                "averaged over expressions like the swap accuracy:"
            )
            real = r["classifier_accuracy_on_real_per_expression"]
            print(" ".join(f"{k} {_cell(v)}" for k, v in real.items()))
    if args.json:
        write_json(results, args.json)


if __name__ == "__main__":
    main()
