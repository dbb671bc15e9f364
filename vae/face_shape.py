"""Face geometry: 68 landmarks normalised for position, scale and rotation, and the warps between shapes.

A face's shape is its landmarks mapped by the similarity that puts its rigid points (eye corners,
nose) onto a template's. The template is the mean FER2013 face in that data set's 48x48 framing, so
a normalised shape is in FER2013 pixels, and the same similarity cuts a FER2013-framed crop out of
any photo (what the expression models and judges were trained on).

Shapes are warped piecewise-affinely over one triangulation of the template (plus a ring of
points around the face that never move), so each triangle of one face maps to the same triangle of
another, and motion fades to nothing at the ring.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

POINTS = 68
JAW = np.arange(0, 17)
BROWS = np.arange(17, 27)
NOSE = np.arange(27, 36)
EYES = np.arange(36, 48)
# Each eye's landmarks, in order round its opening: a corner, the upper lid, the other corner, the
# lower lid (the person's right eye first, on the photo's left).
EACH_EYE = (np.arange(36, 42), np.arange(42, 48))
OUTER_LIPS = np.arange(48, 60)
INNER_LIPS = np.arange(60, 68)
MOUTH = np.arange(48, 68)
NOSE_BRIDGE, CHIN = 27, 8  # the top of the nose's bridge and the chin's tip
# Points an expression barely moves: eye corners and the nose. Aligning on these, the jaw, lips and
# brows keep their expression's displacement instead of sharing it with the head's pose.
RIGID = np.array([27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45])
# The mirror image of each point (a face flipped left-right), for flip-consistency checks.
MIRROR = np.array(
    [*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, 35, 34, 33, 32, 31,
     45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,
     54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,
     64, 63, 62, 61, 60, 67, 66, 65]
)  # fmt: skip
RING_POINTS = 20  # fixed points around the face that anchor the warp
RING_SCALE = 1.6  # the ring's radius in units of the face's radius about the nose
EYE_DISTANCE = (36, 45)  # outer eye corners: the face's scale for tolerances
DETAIL_SIGMA = 1.0  # px: finer detail than this is copied pixel for pixel by the warp


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 rotation + uniform scale + translation taking points `source` [N, 2] closest to
    `target` in least squares (Umeyama, 1991), without reflection."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    a = (s * t).sum()  # sum of x x' + y y'
    b = (s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0]).sum()  # sum of x y' - y x'
    norm = max((s**2).sum(), 1e-12)
    linear = np.array([[a, -b], [b, a]]) / norm
    return np.hstack([linear, (mu_t - linear @ mu_s)[:, None]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points [N, 2] through a 2x3 affine."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def invert(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(matrix)


def normalise(points: np.ndarray, template: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(shape in the template's frame, the 2x3 photo -> template similarity) of landmarks [68, 2]."""
    matrix = similarity(points[RIGID], template[RIGID])
    return apply(matrix, points), matrix


def mean_shape(shapes: np.ndarray, rounds: int = 5) -> np.ndarray:
    """Generalised Procrustes mean of shapes [N, 68, 2] on their rigid points, in the shapes' plain
    mean position and scale (the data set's own framing).

    Each round's mean is put back onto the plain mean: a least-squares fit of a noisy shape onto the
    template underestimates its scale, so unanchored rounds shrink the template (by about 2% a round
    on FER2013)."""
    start = shapes.mean(0)
    template = start
    for _ in range(rounds):
        aligned = np.stack([normalise(shape, template)[0] for shape in shapes])
        template = normalise(aligned.mean(0), start)[0]
    return template


def eye_distance(points: np.ndarray) -> float:
    """Outer eye corner to outer eye corner: the scale of a face."""
    return float(np.linalg.norm(points[EYE_DISTANCE[1]] - points[EYE_DISTANCE[0]]))


def face_up(points: np.ndarray) -> np.ndarray:
    """The unit vector up the face (chin to the top of the nose's bridge): its vertical axis, tilted
    with the face."""
    up = points[NOSE_BRIDGE] - points[CHIN]
    return up / max(float(np.linalg.norm(up)), 1e-9)


def ring(points: np.ndarray, count: int = RING_POINTS, scale: float = RING_SCALE) -> np.ndarray:
    """Fixed anchor points [count, 2] on an ellipse around the face, wider than the face by `scale`.

    The ellipse follows the face's own axes (about the nose tip, through the brows and the chin),
    so it sits the same way round a tilted face; it reaches above the brows, where the forehead
    takes up a brow's movement.
    """
    centre = points[30]
    up = face_up(points)
    right = np.array([-up[1], up[0]])
    offsets = points - centre
    half_width = np.abs(offsets @ right).max() * scale
    half_height = np.abs(offsets @ up).max() * scale
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return centre + np.outer(np.cos(angles) * half_width, right) + np.outer(np.sin(angles) * half_height, up)


@functools.cache
def _mesh_triangles(template_key: bytes) -> np.ndarray:
    """Delaunay triangles [T, 3] over a template's landmarks and ring (cached per template)."""
    template = np.frombuffer(template_key, dtype=np.float64).reshape(POINTS, 2)
    return Delaunay(np.vstack([template, ring(template)])).simplices.astype(np.int32)


@dataclass(frozen=True)
class Mesh:
    """One triangulation shared by every face: a template's landmarks plus its ring."""

    template: np.ndarray  # [68, 2]

    @property
    def triangles(self) -> np.ndarray:
        return _mesh_triangles(np.ascontiguousarray(self.template, dtype=np.float64).tobytes())

    def vertices(self, points: np.ndarray) -> np.ndarray:
        """A face's landmarks and its ring [68 + RING_POINTS, 2], in the mesh's vertex order.

        The ring comes from the template mapped onto the face (by the rigid similarity), so it is
        the same for any expression of the same face.
        """
        matrix = invert(similarity(points[RIGID], self.template[RIGID]))
        return np.vstack([points, apply(matrix, ring(self.template))])


MOUTH_GAP = 0.12  # the canonical shape's inner-lip gap, in eye distances (see canonical_shape)


def canonical_shape(template: np.ndarray) -> np.ndarray:
    """The template with its inner lips parted by MOUTH_GAP eye distances: the shape every face's
    texture is warped to. With the lips apart, an open mouth's inside (dark, teeth) keeps some pixels
    in the shape-free frame instead of being squeezed into a line; a closed mouth fills them with its
    lip line."""
    shape = template.copy()
    gap = MOUTH_GAP * eye_distance(template)
    upper, lower = [61, 62, 63], [67, 66, 65]
    middle = (shape[upper] + shape[lower]) / 2
    half_gap = np.array([0.0, gap / 2])
    shape[upper] = middle - half_gap
    shape[lower] = middle + half_gap
    return shape


@dataclass(frozen=True)
class Raster:
    """Which mesh triangle covers each pixel of a target grid, and where in it (barycentric).

    Computing this once per target shape lets any number of source vertex sets (the photo's shape,
    the canonical shape) be sampled at the same pixels: an affine map per triangle is a weighted sum
    of its vertices. Only the covered pixels are kept (flat indices into the grid), with their
    triangle's vertex indices, so a sample is three gathers and a weighted sum per coordinate.
    """

    triangles: np.ndarray  # [T, 3] the mesh's triangles (vertex indices)
    covered: np.ndarray  # [n] flat indices of the grid pixels inside the mesh
    facet: np.ndarray  # [n] the triangle covering each of them
    corners: np.ndarray  # [3, n] that triangle's vertex indices
    weights: np.ndarray  # [3, n] their barycentric weights
    xs: np.ndarray  # [H, W] the grid's x, y in target pixels
    ys: np.ndarray

    @classmethod
    def of(cls, target: np.ndarray, triangles: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> Raster:
        """Rasterise the mesh `target` [V, 2] on a regular grid (`xs`, `ys` from pixel_grid): OpenCV
        fills each triangle's pixels, then every pixel's barycentric weights come in one pass."""
        step_x = xs[0, 1] - xs[0, 0] if xs.shape[1] > 1 else 1.0
        step_y = ys[1, 0] - ys[0, 0] if ys.shape[0] > 1 else 1.0
        grid = (target - (xs[0, 0], ys[0, 0])) / (step_x, step_y)  # vertices in grid cells
        corners = target[triangles]  # [T, 3, 2]
        edges = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=2)  # [T, 2, 2]
        determinant = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
        triangle = np.full(xs.shape, -1, dtype=np.int32)
        fixed = np.round(grid * 16).astype(np.int32)  # 4 fractional bits
        # Smallest first, so a sliver's pixels go to its neighbours wherever they touch it: a pixel only
        # grazed by a nearly collapsed triangle would otherwise read far from where it should.
        # A collapsed triangle covers no pixel.
        polygons = fixed[triangles]
        order = np.argsort(np.abs(determinant))
        for index in order[np.abs(determinant[order]) > 1e-9].tolist():
            cv2.fillConvexPoly(triangle, polygons[index], index, lineType=cv2.LINE_8, shift=4)
        covered = np.flatnonzero(triangle >= 0)
        facet = triangle.ravel()[covered]
        # The inverse of each triangle's edge matrix [[a, b], [c, d]]: [[d, -b], [-c, a]] / determinant.
        scale = 1 / np.where(np.abs(determinant) > 1e-9, determinant, 1.0)
        a, b = edges[:, 0, 0] * scale, edges[:, 0, 1] * scale
        c, d = edges[:, 1, 0] * scale, edges[:, 1, 1] * scale
        offset_x = xs.ravel()[covered] - corners[facet, 0, 0]
        offset_y = ys.ravel()[covered] - corners[facet, 0, 1]
        b1 = d[facet] * offset_x - b[facet] * offset_y
        b2 = a[facet] * offset_y - c[facet] * offset_x
        found = np.stack([1 - b1 - b2, b1, b2])  # [3, n]
        # A rim pixel just outside its triangle extends it; one far outside (a sliver's) takes its edge.
        stray = found.min(0) < -0.25
        clipped = np.clip(found[:, stray], 0, None)
        found[:, stray] = clipped / clipped.sum(0, keepdims=True)
        return cls(triangles, covered, facet, np.ascontiguousarray(triangles[facet].T), found, xs, ys)

    def sample(self, source: np.ndarray, outside: np.ndarray | None = None) -> tuple:
        """(map_x, map_y) float32: each grid pixel's position in the source whose mesh vertices are
        `source` [V, 2] (in the order of the mesh this raster was made from); outside the mesh, the
        2x3 affine `outside` of the pixel (default: itself)."""
        fallback = np.eye(2, 3) if outside is None else outside
        maps = []
        for row, coordinate in zip(fallback, source.T):
            values = (row[0] * self.xs + row[1] * self.ys + row[2]).astype(np.float32)
            w0, w1, w2 = self.weights
            i0, i1, i2 = self.corners
            values.ravel()[self.covered] = w0 * coordinate[i0] + w1 * coordinate[i1] + w2 * coordinate[i2]
            maps.append(values)
        return maps[0], maps[1]

    def area_ratio(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """[H, W] how much the covering triangle grows from `source` to `target` (1 outside the mesh)."""

        def areas(vertices: np.ndarray) -> np.ndarray:
            a, b, c = (vertices[self.triangles[:, i]] for i in range(3))
            return 0.5 * np.abs(
                (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
            )

        ratio = areas(target) / np.maximum(areas(source), 1e-9)
        result = np.ones(self.xs.shape, dtype=np.float32)
        result.ravel()[self.covered] = ratio[self.facet]
        return result


def pixel_grid(window: tuple[int, int, int, int], step: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """x, y of the pixels of `window` (x0, y0, x1, y1), every `step` pixels, as two [H, W] arrays."""
    x0, y0, x1, y1 = window
    xs = np.arange(x0, x1, step, dtype=np.float64)
    ys = np.arange(y0, y1, step, dtype=np.float64)
    return np.meshgrid(xs, ys)


@functools.lru_cache(maxsize=8)
def _canonical_raster(canonical_key: bytes, size: int, oversample: int) -> tuple[Raster, np.ndarray]:
    """The raster of the canonical frame at `oversample` x `size` pixels, and its mesh vertices there."""
    canonical = np.frombuffer(canonical_key, dtype=np.float64).reshape(POINTS, 2)
    mesh = Mesh(canonical)
    target = (mesh.vertices(canonical) + 0.5) * oversample - 0.5
    xs, ys = pixel_grid((0, 0, size * oversample, size * oversample))
    return Raster.of(target, mesh.triangles, xs, ys), target


def shape_free(image: np.ndarray, points: np.ndarray, canonical: np.ndarray, size: int = 48) -> np.ndarray:
    """The face with landmarks `points` in `image`, warped so its landmarks land on `canonical`
    (a size x size frame): the texture without the face's shape or expression geometry.

    The warp is rendered at an integer multiple of `size` near the face's own scale, then area-averaged,
    so a large face is not aliased; outside the mesh the face's rigid similarity applies.
    """
    canonical = np.ascontiguousarray(canonical, dtype=np.float64)
    mesh = Mesh(canonical)
    oversample = int(np.clip(round(eye_distance(points) / eye_distance(canonical)), 2, 8))
    raster, _ = _canonical_raster(canonical.tobytes(), size, oversample)
    to_canonical = similarity(points[RIGID], canonical[RIGID])  # photo -> canonical frame
    scale_down = np.array(
        [[1 / oversample, 0, 0.5 / oversample - 0.5], [0, 1 / oversample, 0.5 / oversample - 0.5]]
    )
    outside = compose(invert(to_canonical), scale_down)  # oversampled frame pixel -> photo pixel
    map_x, map_y = raster.sample(mesh.vertices(points), outside)
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return cv2.resize(warped, (size, size), interpolation=cv2.INTER_AREA)


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 affine of `outer` after `inner`."""
    return np.hstack([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


def framed_face(image: np.ndarray, points: np.ndarray, template: np.ndarray, size: int = 48) -> np.ndarray:
    """The face cut out by its rigid similarity onto `template` (a size x size frame): framed as the
    template's data set frames faces (FER2013 for the shipped models), area-averaged, no aliasing."""
    return warp_down(image, similarity(points[RIGID], template[RIGID]), size)


def warp_down(source: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """warpAffine to `size`; when shrinking by 2x or more, warp at k x size then area-average by k."""
    k = max(1, int(1 / np.hypot(*matrix[0, :2])))
    big_matrix = k * matrix  # photo -> k x crop pixel; pixel centres shift by (k - 1) / 2
    big_matrix[:, 2] += (k - 1) / 2
    big = cv2.warpAffine(
        source, big_matrix, (size * k, size * k), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    return cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA) if k > 1 else big


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels


@dataclass(frozen=True)
class WarpField:
    """The backward map of a window of a target image: where each of its pixels reads from, for any
    source mesh. Rasterised every `step` pixels and interpolated, since a piecewise-affine map is
    smooth inside its triangles; but exactly, pixel by pixel, inside `sharp` (the mouth) and the
    other `exact` boxes (the eyes), where triangles may collapse (a mouth or an eye closing) and
    interpolating across the seam would read what lay between the lips, or draw the lashes as a
    wavy line a grid step wide."""

    window: Box
    coarse: Raster
    fine: tuple[tuple[Box, Raster], ...]  # each exact box and its raster; none at step 1
    sharp: Box | None

    @classmethod
    def of(
        cls,
        target: np.ndarray,
        triangles: np.ndarray,
        window: Box,
        sharp: Box | None = None,
        step: int = 4,
        exact: tuple[Box, ...] = (),
    ) -> WarpField:
        x0, y0, x1, y1 = window
        half = (step - 1) / 2  # coarse samples at the centres of step x step blocks, as cv2.resize expects
        coarse = Raster.of(target, triangles, *pixel_grid((x0 + half, y0 + half, x1, y1), step))

        def inside(box: Box) -> Box | None:
            box = (max(box[0], x0), max(box[1], y0), min(box[2], x1), min(box[3], y1))
            return box if box[2] > box[0] and box[3] > box[1] else None

        sharp = inside(sharp) if sharp is not None else None
        # At step 1 the coarse grid is every pixel, exact everywhere.
        boxes = [box for box in (sharp, *map(inside, exact)) if box is not None] if step > 1 else []
        fine = tuple((box, Raster.of(target, triangles, *pixel_grid(box))) for box in boxes)
        return cls(window, coarse, fine, sharp)

    @property
    def size(self) -> tuple[int, int]:
        return self.window[2] - self.window[0], self.window[3] - self.window[1]

    @functools.cached_property
    def _coarse_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Each window pixel's position on the coarse grid (u, v), for cv2.remap."""
        x0, y0, x1, y1 = self.window
        grid_x, grid_y = self.coarse.xs[0, 0], self.coarse.ys[0, 0]
        step_x = self.coarse.xs[0, 1] - grid_x if self.coarse.xs.shape[1] > 1 else 1.0
        step_y = self.coarse.ys[1, 0] - grid_y if self.coarse.ys.shape[0] > 1 else 1.0
        u = ((np.arange(x0, x1) - grid_x) / step_x).astype(np.float32)
        v = ((np.arange(y0, y1) - grid_y) / step_y).astype(np.float32)
        return np.meshgrid(u, v)

    def _dense(self, coarse: np.ndarray, fine: list[np.ndarray]) -> np.ndarray:
        """A coarse grid's values at every pixel of the window (bilinear), each exact box's pasted in."""
        x0, y0, x1, y1 = self.window
        if coarse.shape == (y1 - y0, x1 - x0):  # sampled at every pixel: exact already
            return coarse.astype(np.float32)
        u, v = self._coarse_positions
        dense = cv2.remap(coarse.astype(np.float32), u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for ((bx0, by0, bx1, by1), _), values in zip(self.fine, fine, strict=True):
            dense[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = values
        return dense

    def sample(self, source: np.ndarray, outside: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(map_x, map_y) over the window at full resolution, for cv2.remap (see Raster.sample)."""
        coarse = self.coarse.sample(source, outside)
        fine = [raster.sample(source, outside) for _, raster in self.fine]
        return self._dense(coarse[0], [x for x, _ in fine]), self._dense(coarse[1], [y for _, y in fine])

    def area_ratio(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        fine = [raster.area_ratio(source, target) for _, raster in self.fine]
        return self._dense(self.coarse.area_ratio(source, target), fine)


def detail_weight(scale: np.ndarray) -> np.ndarray:
    """How much of the photo's finest detail a warp copies where areas scale by `scale`: all of it
    where the warp barely stretches, fading out where it squeezes or stretches a region by more than
    about 2x (copying pixels there would alias or repeat them)."""
    return np.clip((np.minimum(scale, 1 / np.maximum(scale, 1e-6)) - 0.3) / 0.4, 0, 1)


def warp_keeping_detail(
    image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """cv2.remap of `image` that copies its finest detail instead of interpolating it.

    Interpolating at a fraction of a pixel averages neighbours, which halves a photo's pixel-level
    detail (grain, pores, hair) at half a pixel even with Lanczos. So the image is split into a smooth
    base (Gaussian of DETAIL_SIGMA px), warped with cubic interpolation, and the rest, each pixel
    copied from the nearest source pixel (times `weight`, [H, W], where given): the output is as
    sharp as the photo.
    """
    pixels = image.astype(np.float32)
    base = cv2.GaussianBlur(pixels, (0, 0), DETAIL_SIGMA)
    smooth = cv2.remap(base, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    fine = cv2.remap(pixels - base, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
    return smooth + (fine if weight is None else fine * weight[..., None])
