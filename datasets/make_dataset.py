"""Generate the course's cat / non-cat dataset: procedurally drawn, no photographs.

The original deeplearning.ai images may not be redistributed, so the course
ships this drawn replacement in exactly the same HDF5 schema:

* ``train_catvnoncat.h5``: ``train_set_x`` uint8 (209, 64, 64, 3),
  ``train_set_y`` int64 (209,), ``list_classes`` = [b'non-cat', b'cat'];
* ``test_catvnoncat.h5``: ``test_set_x`` uint8 (50, 64, 64, 3),
  ``test_set_y`` int64 (50,), ``list_classes``.

Every picture is drawn with ``PIL.ImageDraw`` on a canvas four times larger than
the final 64 x 64 image and then shrunk with a Lanczos filter, which smooths the
edges.  Cats (close-up faces, sitting, lying and walking cats in nine coats)
are drawn against the same kinds of backgrounds as the non-cats (dogs, owls,
rabbits, bears, birds, chairs, cars, houses, balls, flowers, fruit, mugs,
landscapes and rooms).  Fur strokes, lighting changes and pixel noise make the
pictures less clean.

All randomness comes from one ``numpy.random.Generator`` seeded explicitly, so
the same seed gives the same arrays (on the same numpy and Pillow versions, which
are stored as attributes of the HDF5 files).

Usage::

    python datasets/make_dataset.py [--seed N] [--out DIR] [--grid PATH]
"""

import argparse
import colorsys
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import PIL
from PIL import Image, ImageChops, ImageDraw, ImageFilter

DEFAULT_SEED = 31  # chosen by a search over seeds 0..40, see README.md
SIZE = 64  # side of the final images, in pixels
SCALE = 4  # the drawing canvas is SCALE times larger, for anti-aliasing
CANVAS = SIZE * SCALE
SPLITS = {"train": (209, 72), "test": (50, 33)}  # images, of which cats
CLASSES = np.array([b"non-cat", b"cat"])
FILES = {"train": "train_catvnoncat.h5", "test": "test_catvnoncat.h5"}

BLACK = (20, 18, 20)
WHITE = (245, 245, 240)
PINK = (232, 150, 160)


# --------------------------------------------------------------------------
# Colours and geometry
# --------------------------------------------------------------------------


def clamp(colour):
    """Round a colour to a tuple of three ints in 0..255."""
    return tuple(int(v) for v in np.clip(np.rint(colour), 0, 255))


def shade(colour, factor):
    """Darken (factor < 1) or lighten (factor > 1) a colour."""
    return clamp(np.asarray(colour, float) * factor)


def mix(a, b, t):
    """Blend colour a into colour b by the fraction t."""
    return clamp((1 - t) * np.asarray(a, float) + t * np.asarray(b, float))


def vary(rng, colour, amount=15):
    """A colour near *colour*: a random brightness shift plus a small tint."""
    return clamp(np.asarray(colour, float) + rng.normal(0, amount) + rng.normal(0, amount / 3, 3))


def hsv(h, s, v):
    """Colour from hue, saturation and value, each in 0..1."""
    return clamp(np.array(colorsys.hsv_to_rgb(h % 1.0, s, v)) * 255)


def random_colour(rng, saturation=(0.2, 0.8), value=(0.3, 0.95)):
    """A colour of random hue with saturation and value drawn from the ranges."""
    return hsv(rng.uniform(), rng.uniform(*saturation), rng.uniform(*value))


def choose(rng, weighted):
    """Pick one item from a tuple of (item, weight) pairs."""
    items, weights = zip(*weighted, strict=True)
    weights = np.asarray(weights, float) / np.sum(weights)
    return items[rng.choice(len(items), p=weights)]


def bezier(p0, p1, p2, n=12):
    """Points along the quadratic Bezier curve from p0 to p2 pulled towards p1."""
    t = np.linspace(0, 1, n)[:, None]
    points = (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t**2 * np.asarray(p2)
    return [tuple(p) for p in points]


def shrink(points, factor, dy=0.0):
    """Shrink a polygon towards its centroid (and shift it down by dy)."""
    points = np.asarray(points, float)
    centre = points.mean(axis=0)
    return [(x, y + dy) for x, y in centre + factor * (points - centre)]


# --------------------------------------------------------------------------
# Drawing on the enlarged canvas
# --------------------------------------------------------------------------


def new_layer():
    """A transparent RGBA canvas."""
    return Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))


class Pen:
    """``ImageDraw`` wrapper taking coordinates and widths in final-image pixels (0..64)."""

    def __init__(self, image):
        self.draw = ImageDraw.Draw(image)

    @staticmethod
    def _scaled(points):
        return [(x * SCALE, y * SCALE) for x, y in points]

    def polygon(self, points, fill):
        """Filled polygon."""
        self.draw.polygon(self._scaled(points), fill=fill)

    def ellipse(self, cx, cy, rx, ry, fill, angle=0.0):
        """Filled ellipse with radii rx, ry, rotated by *angle* degrees."""
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        x, y = rx * np.cos(t), ry * np.sin(t)
        self.polygon(list(zip(cx + c * x - s * y, cy + s * x + c * y, strict=True)), fill)

    def circle(self, cx, cy, r, fill):
        """Filled circle."""
        self.ellipse(cx, cy, r, r, fill)

    def line(self, points, fill, width):
        """Polyline with rounded joints."""
        self.draw.line(self._scaled(points), fill=fill, width=max(1, round(width * SCALE)), joint="curve")

    def rect(self, x0, y0, x1, y1, fill, radius=0.0):
        """Filled rectangle, optionally with rounded corners."""
        box = [x0 * SCALE, y0 * SCALE, x1 * SCALE, y1 * SCALE]
        self.draw.rounded_rectangle(box, radius=radius * SCALE, fill=fill)


class Part:
    """One body part or object, drawn on three layers.

    ``shape`` holds the silhouette, ``marks`` the stripes, patches and fur
    strokes (clipped to the silhouette when flattened) and ``details`` the
    features on top (eyes, nose, whiskers).  Each layer has a :class:`Pen`.
    """

    def __init__(self):
        self.layers = [new_layer(), new_layer(), new_layer()]
        self.shape, self.marks, self.details = (Pen(layer) for layer in self.layers)

    def fur(self, rng, colour, box, n=60, length=1.5, angle=90.0, spread=25.0):
        """Short strokes in lighter and darker shades of *colour* over *box* (x0, y0, x1, y1)."""
        x0, y0, x1, y1 = box
        tones = [shade(colour, factor) for factor in (0.72, 0.85, 1.15, 1.3)]
        x, y = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
        a = np.radians(angle + rng.normal(0, spread, n))
        dx, dy = length * np.cos(a), length * np.sin(a)
        ends = SCALE * np.stack([x - dx, y - dy, x + dx, y + dy], axis=1)
        for end, tone in zip(ends.tolist(), rng.integers(len(tones), size=n), strict=True):
            self.marks.draw.line(end, fill=tones[tone], width=1)

    def flatten(self):
        """Merge the three layers into one RGBA image."""
        shape, marks, details = self.layers
        marks.putalpha(ImageChops.multiply(marks.getchannel("A"), shape.getchannel("A")))
        return Image.alpha_composite(Image.alpha_composite(shape, marks), details)


def compose(parts):
    """Stack parts (or ready RGBA layers) from back to front into one layer."""
    layer = new_layer()
    for part in parts:
        layer.alpha_composite(part.flatten() if isinstance(part, Part) else part)
    return layer


def shadow(cx, ground, rx, strength=90):
    """A soft dark ellipse on the ground under a standing or sitting subject."""
    layer = new_layer()
    Pen(layer).ellipse(cx, ground, rx, rx * 0.18, (0, 0, 0, strength))
    return layer.filter(ImageFilter.GaussianBlur(2 * SCALE))


def place(rng, image, layer, max_angle=10.0):
    """Composite *layer* onto *image*, randomly mirrored and slightly rotated."""
    if rng.uniform() < 0.5:
        layer = layer.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    layer = layer.rotate(rng.uniform(-max_angle, max_angle), resample=Image.Resampling.BICUBIC)
    image.alpha_composite(layer)


# --------------------------------------------------------------------------
# Backgrounds (shared by cats and non-cats)
# --------------------------------------------------------------------------


def gradient(top, bottom, y0=0.0, y1=SIZE):
    """RGBA image with a vertical gradient from *top* at y0 to *bottom* at y1."""
    t = np.clip((np.arange(CANVAS) / SCALE - y0) / max(y1 - y0, 1e-6), 0, 1)[:, None, None]
    rows = (1 - t) * np.asarray(top, float) + t * np.asarray(bottom, float)
    pixels = np.broadcast_to(rows, (CANVAS, CANVAS, 3)).astype(np.uint8)
    return Image.fromarray(pixels, "RGB").convert("RGBA")


def sky_colours(rng):
    """Top and bottom colours of a day, dusk or overcast sky."""
    kind = rng.choice(["day", "dusk", "overcast"])
    if kind == "day":
        return vary(rng, (90, 150, 220), 20), vary(rng, (190, 220, 240), 15)
    if kind == "dusk":
        return vary(rng, (70, 60, 130), 20), vary(rng, (240, 160, 110), 20)
    grey = rng.uniform(120, 200)
    return vary(rng, (grey, grey, grey + 10), 10), vary(rng, (grey + 30,) * 3, 10)


def ground_colour(rng):
    """Grass, earth, sand or stone."""
    options = [(90, 140, 60), (120, 95, 60), (200, 180, 130), (130, 130, 125), (60, 100, 50)]
    return vary(rng, options[rng.integers(len(options))], 18)


def room_background(rng):
    """A wall with a floor, sometimes a window or a picture on the wall."""
    wall = random_colour(rng, (0.05, 0.45), (0.45, 0.9))
    floor = vary(rng, [(150, 105, 65), (110, 80, 55), (170, 160, 150), (90, 90, 100)][rng.integers(4)], 15)
    horizon = rng.uniform(36, 52)
    image = gradient(shade(wall, 1.1), shade(wall, 0.85), 0, horizon)
    pen = Pen(image)
    pen.rect(0, horizon, SIZE, SIZE, floor)
    for y in np.arange(horizon + 3, SIZE, rng.uniform(3, 6)):  # floor boards
        pen.line([(0, y), (SIZE, y)], shade(floor, 0.85), 0.3)
    pen.rect(0, horizon - 1.2, SIZE, horizon, shade(wall, 0.7))
    if rng.uniform() < 0.5:
        x, y, w, h = rng.uniform(-4, 44), rng.uniform(3, 12), rng.uniform(12, 22), rng.uniform(12, 20)
        pen.rect(x - 1, y - 1, x + w + 1, y + h + 1, WHITE)
        pen.rect(x, y, x + w, y + h, vary(rng, (160, 200, 235), 20))
        pen.line([(x + w / 2, y), (x + w / 2, y + h)], WHITE, 0.8)
    elif rng.uniform() < 0.5:
        x, y, w, h = rng.uniform(0, 50), rng.uniform(4, 14), rng.uniform(8, 14), rng.uniform(6, 12)
        pen.rect(x - 1, y - 1, x + w + 1, y + h + 1, vary(rng, (90, 60, 40), 20))
        pen.rect(x, y, x + w, y + h, random_colour(rng))
    return image


def outdoor_background(rng):
    """Sky, maybe clouds and hills, and a ground of grass, earth or sand."""
    top, bottom = sky_colours(rng)
    horizon = rng.uniform(28, 50)
    image = gradient(top, bottom, 0, horizon)
    pen = Pen(image)
    for _ in range(rng.integers(0, 3)):
        x, y = rng.uniform(0, 64), rng.uniform(4, horizon - 8)
        for dx in (-3, 0, 3):
            pen.ellipse(x + dx * rng.uniform(0.8, 1.5), y + rng.uniform(-1, 1), 4, 2.5, vary(rng, WHITE, 8))
    if rng.uniform() < 0.5:
        hill = mix(ground_colour(rng), top, 0.4)
        xs = np.linspace(-4, 68, 9)
        ys = horizon - rng.uniform(2, 9, xs.size)
        pen.polygon([(-4, horizon + 1), *zip(xs, ys, strict=True), (68, horizon + 1)], hill)
    ground = ground_colour(rng)
    ground_layer = gradient(ground, shade(ground, 0.75), horizon, SIZE)
    mask = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(mask).rectangle([0, int(horizon * SCALE), CANVAS, CANVAS], fill=255)
    image.paste(ground_layer, (0, 0), mask)
    return image


def wallpaper_background(rng):
    """A patterned wall: stripes, dots or checks."""
    base = random_colour(rng, (0.05, 0.6), (0.3, 0.9))
    second = shade(vary(rng, base, 20), rng.choice([0.7, 1.25]))
    image = Image.new("RGBA", (CANVAS, CANVAS), base)
    pen = Pen(image)
    kind = rng.choice(["stripes", "dots", "checks"])
    step = rng.uniform(5, 10)
    if kind == "stripes":
        vertical = rng.uniform() < 0.5
        for p in np.arange(-2, SIZE, step):
            pen.rect(*((p, 0, p + step / 2, SIZE) if vertical else (0, p, SIZE, p + step / 2)), second)
    elif kind == "dots":
        for y in np.arange(step / 2, SIZE, step):
            for x in np.arange(step / 2 + (y % (2 * step)) / 2, SIZE, step):
                pen.circle(x, y, step / 5, second)
    else:
        for i, y in enumerate(np.arange(0, SIZE, step)):
            for j, x in enumerate(np.arange(0, SIZE, step)):
                if (i + j) % 2 == 0:
                    pen.rect(x, y, x + step, y + step, second)
    return image


def bokeh_background(rng):
    """Blurred blobs of light, like an out-of-focus photograph."""
    image = gradient(random_colour(rng, (0.1, 0.6), (0.15, 0.7)), random_colour(rng, (0.1, 0.6), (0.15, 0.7)))
    pen = Pen(image)
    for _ in range(rng.integers(8, 20)):
        x, y, radius = rng.uniform(0, 64), rng.uniform(0, 64), rng.uniform(2, 7)
        pen.circle(x, y, radius, random_colour(rng, (0.1, 0.6), (0.4, 1.0)))
    return image.filter(ImageFilter.GaussianBlur(3 * SCALE))


def plain_background(rng):
    """A soft vertical gradient between two related colours."""
    colour = random_colour(rng, (0.0, 0.5), (0.25, 0.95))
    return gradient(shade(colour, rng.uniform(0.8, 1.2)), vary(rng, colour, 25))


BACKGROUNDS = (room_background, outdoor_background, wallpaper_background, bokeh_background, plain_background)


def background(rng):
    """One background drawn from the shared set."""
    return BACKGROUNDS[rng.integers(len(BACKGROUNDS))](rng)


# --------------------------------------------------------------------------
# Cats
# --------------------------------------------------------------------------


@dataclass
class Coat:
    """Colours of a cat: base fur, optional tabby stripes, pale patches, darker points or patches."""

    base: tuple
    stripes: tuple = None
    light: tuple = None
    points: tuple = None
    patches: tuple = ()


CAT_COATS = (  # (coat, how often)
    (Coat(base=(222, 140, 60), stripes=(160, 82, 30), light=(246, 228, 205)), 3),  # orange tabby
    (Coat(base=(145, 145, 150), stripes=(65, 65, 72), light=(228, 228, 228)), 3),  # grey tabby
    (Coat(base=(150, 118, 82), stripes=(68, 50, 36), light=(222, 204, 178)), 2),  # brown tabby
    (Coat(base=(38, 36, 42)), 1),  # black
    (Coat(base=(34, 34, 38), light=(240, 240, 240)), 1),  # black and white
    (Coat(base=(236, 233, 226)), 1),  # white
    (Coat(base=(232, 218, 192), points=(85, 60, 48)), 1),  # siamese
    (Coat(base=(238, 234, 226), patches=((215, 130, 55), (45, 40, 40))), 1),  # calico
    (Coat(base=(118, 124, 136)), 1),  # plain grey
)
EYE_COLOURS = ((115, 190, 60), (225, 195, 45), (232, 145, 35), (95, 165, 225))


def random_coat(rng):
    """A cat coat with slightly varied colours."""
    coat = choose(rng, CAT_COATS)
    return Coat(
        base=vary(rng, coat.base, 12),
        stripes=coat.stripes and vary(rng, coat.stripes, 10),
        light=coat.light,
        points=coat.points,
        patches=coat.patches,
    )


def coat_marks(rng, part, coat, box, stripe_angle=0.0):
    """Fur strokes, tabby stripes and calico patches over *box* of a part."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    part.fur(rng, coat.base, box, n=int(0.25 * w * h) + 10)
    if coat.stripes:
        angle = np.radians(stripe_angle)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        along, across = (np.cos(angle), np.sin(angle)), (-np.sin(angle), np.cos(angle))
        half = max(w, h)
        for offset in np.arange(-half, half, rng.uniform(0.16, 0.24) * min(w, h) + 2.0):
            ox, oy = cx + offset * along[0], cy + offset * along[1]
            bend = rng.uniform(-0.25, 0.25) * half
            start = (ox - half * across[0], oy - half * across[1])
            end = (ox + half * across[0], oy + half * across[1])
            middle = (ox + bend * along[0], oy + bend * along[1])
            part.marks.line(bezier(start, middle, end), coat.stripes, rng.uniform(0.06, 0.1) * min(w, h) + 0.6)
    for colour in coat.patches:
        for _ in range(rng.integers(1, 3)):
            part.marks.ellipse(rng.uniform(x0, x1), rng.uniform(y0, y1), w * rng.uniform(0.2, 0.4),
                               h * rng.uniform(0.2, 0.4), colour, angle=rng.uniform(0, 180))


def cat_eyes(rng, pen, cx, cy, r, sleeping):
    """Two almond eyes with slit pupils, or closed eyes for a sleeping cat."""
    eye_colour = vary(rng, EYE_COLOURS[rng.integers(len(EYE_COLOURS))], 10)
    pupil = rng.uniform(0.04, 0.09) * r
    for side in (-1, 1):
        ex, ey = cx + side * 0.38 * r, cy - 0.05 * r
        if sleeping:
            pen.line(bezier((ex - 0.17 * r, ey), (ex, ey + 0.12 * r), (ex + 0.17 * r, ey)), BLACK, 0.05 * r)
            continue
        pen.ellipse(ex, ey, 0.22 * r, 0.16 * r, BLACK, angle=side * 12)
        pen.ellipse(ex, ey, 0.19 * r, 0.13 * r, eye_colour, angle=side * 12)
        pen.ellipse(ex, ey, pupil, 0.12 * r, BLACK)
        pen.circle(ex + 0.06 * r, ey - 0.05 * r, 0.035 * r, WHITE)


def cat_head(rng, cx, cy, r, coat, sleeping=False):
    """A cat head of radius r at (cx, cy), as a list of parts.

    Pointed ears, cheek tufts, almond eyes with slit pupils, a pink nose, a 'w'
    mouth and whiskers, plus the tabby "M", pale muzzle or Siamese mask.
    """
    head = Part()
    ear_tilt = rng.uniform(-0.1, 0.15) * r
    ears = []
    for side in (-1, 1):
        ear = [(cx + side * 0.95 * r, cy - 0.2 * r), (cx + side * (0.78 * r + ear_tilt), cy - 1.3 * r),
               (cx + side * 0.15 * r, cy - 0.78 * r)]
        ears.append(ear)
        head.shape.polygon(ear, coat.base)
        tuft = [(cx + side * 0.8 * r, cy + 0.05 * r), (cx + side * 1.12 * r, cy + 0.42 * r),
                (cx + side * 0.62 * r, cy + 0.6 * r)]
        head.shape.polygon(tuft, coat.base)
    head.shape.ellipse(cx, cy, r, 0.86 * r, coat.base)

    box = (cx - 1.1 * r, cy - 1.3 * r, cx + 1.1 * r, cy + 0.9 * r)
    coat_marks(rng, head, Coat(coat.base, patches=coat.patches), box)
    if coat.stripes:
        for k in (-1, 0, 1):  # the tabby "M" on the forehead
            head.marks.line([(cx + k * 0.22 * r, cy - 0.85 * r), (cx + k * 0.14 * r, cy - 0.4 * r)],
                            coat.stripes, 0.09 * r)
        for side in (-1, 1):
            for dy in (0.05, 0.25):
                head.marks.line(bezier((cx + side * 1.1 * r, cy + dy * r), (cx + side * 0.85 * r, cy + (dy - 0.05) * r),
                                       (cx + side * 0.62 * r, cy + (dy + 0.02) * r)), coat.stripes, 0.08 * r)
    if coat.points:
        for ear in ears:
            head.marks.polygon(ear, coat.points)
        head.marks.ellipse(cx, cy + 0.25 * r, 0.5 * r, 0.42 * r, coat.points)
    if coat.light:
        for side in (-1, 1):
            head.marks.ellipse(cx + side * 0.17 * r, cy + 0.36 * r, 0.26 * r, 0.2 * r, coat.light)
        head.marks.ellipse(cx, cy + 0.5 * r, 0.25 * r, 0.2 * r, coat.light)

    inner_ear = shade(PINK, 0.8) if coat.base[0] > 100 else (150, 95, 105)
    for ear in ears:
        head.details.polygon(shrink(ear, 0.55, dy=0.08 * r), inner_ear)
    cat_eyes(rng, head.details, cx, cy, r, sleeping)
    nose_colour = PINK if not coat.points else (70, 45, 45)
    nose = [(cx - 0.1 * r, cy + 0.16 * r), (cx + 0.1 * r, cy + 0.16 * r), (cx, cy + 0.28 * r)]
    head.details.polygon(nose, nose_colour)
    dark_face = np.mean(coat.base) < 90 and not coat.light
    mouth = (150, 150, 150) if dark_face else (60, 40, 40)
    head.details.line([(cx, cy + 0.28 * r), (cx, cy + 0.36 * r)], mouth, 0.04 * r)
    for side in (-1, 1):
        head.details.line(bezier((cx, cy + 0.36 * r), (cx + side * 0.1 * r, cy + 0.45 * r),
                                 (cx + side * 0.2 * r, cy + 0.36 * r)), mouth, 0.04 * r)
    whisker = (235, 235, 235) if np.mean(coat.base) < 170 else (70, 70, 70)
    for side in (-1, 1):
        for k in (-1, 0, 1):
            start = (cx + side * 0.3 * r, cy + (0.33 + 0.05 * k) * r)
            end = (cx + side * 1.4 * r, cy + (0.25 + 0.22 * k) * r)
            middle = (cx + side * 0.85 * r, cy + (0.25 + 0.08 * k) * r)
            head.details.line(bezier(start, middle, end, 6), whisker, max(0.25, 0.025 * r))
    return [head]


def cat_tail(part, coat, start, control, end, width):
    """A thick curved tail with ringed stripes for tabbies."""
    points = bezier(start, control, end, 16)
    part.shape.line(points, coat.points or coat.base, width)
    part.shape.circle(*end, width / 2, coat.points or coat.base)
    if coat.stripes:
        for (x0, y0), (x1, y1) in zip(points[2::3], points[3::3], strict=True):
            dx, dy = x1 - x0, y1 - y0
            norm = np.hypot(dx, dy) + 1e-9
            nx, ny = -dy / norm * width, dx / norm * width
            part.marks.line([(x0 - nx, y0 - ny), (x0 + nx, y0 + ny)], coat.stripes, width * 0.3)


def cat_face(rng, image):
    """A close-up cat face with its shoulders, filling much of the picture."""
    coat = random_coat(rng)
    r = rng.uniform(18, 22)
    cx, cy = 32 + rng.uniform(-3, 3), rng.uniform(31, 35)
    body = Part()
    body.shape.ellipse(cx, cy + 1.5 * r, 1.25 * r, 1.0 * r, coat.base)
    coat_marks(rng, body, coat, (cx - 1.3 * r, cy + 0.6 * r, cx + 1.3 * r, SIZE), stripe_angle=0)
    if coat.light:
        body.marks.ellipse(cx, cy + 1.2 * r, 0.45 * r, 0.7 * r, coat.light)
    place(rng, image, compose([body, *cat_head(rng, cx, cy, r, coat)]), max_angle=8)


def cat_sitting(rng, image):
    """A whole cat sitting upright, seen from the front, with its tail curled round."""
    coat = random_coat(rng)
    r = rng.uniform(7.5, 11.5)
    ground = rng.uniform(52, 62)
    cx = rng.uniform(14 + r, 50 - r)
    body = Part()
    cat_tail(body, coat, (cx + 0.8 * r, ground - 0.4 * r), (cx + 2.2 * r, ground),
             (cx + 1.9 * r, ground - 1.8 * r), 0.35 * r)
    body.shape.ellipse(cx, ground - 1.3 * r, 1.05 * r, 1.35 * r, coat.base)
    coat_marks(rng, body, coat, (cx - 1.1 * r, ground - 2.7 * r, cx + 1.1 * r, ground), stripe_angle=90)
    legs = Part()
    for side in (-1, 1):
        legs.shape.rect(cx + side * 0.35 * r - 0.2 * r, ground - 1.5 * r, cx + side * 0.35 * r + 0.2 * r, ground,
                        coat.base, radius=0.15 * r)
        legs.shape.ellipse(cx + side * 0.35 * r, ground - 0.1 * r, 0.26 * r, 0.15 * r, coat.points or coat.base)
    if coat.light:
        legs.marks.ellipse(cx, ground - 1.9 * r, 0.5 * r, 0.8 * r, coat.light)
    coat_marks(rng, legs, Coat(coat.base), (cx - 0.7 * r, ground - 1.5 * r, cx + 0.7 * r, ground))
    head = cat_head(rng, cx + rng.uniform(-0.2, 0.2) * r, ground - 2.95 * r, r, coat)
    place(rng, image, compose([shadow(cx, ground, 1.6 * r), body, legs, *head]))


def cat_lying(rng, image):
    """A cat lying down (loaf or asleep), seen from the side with its head turned to us."""
    coat = random_coat(rng)
    r = rng.uniform(7, 10.5)
    ground = rng.uniform(48, 60)
    cx = rng.uniform(4 + 2.6 * r, 60 - 2.6 * r)
    body = Part()
    cat_tail(body, coat, (cx + 1.6 * r, ground - 0.3 * r), (cx + 2.6 * r, ground + 0.1 * r),
             (cx + 0.6 * r, ground - 0.05 * r), 0.32 * r)
    body.shape.ellipse(cx, ground - 0.85 * r, 2.0 * r, 0.9 * r, coat.base)
    body.shape.ellipse(cx - 1.9 * r, ground - 0.15 * r, 0.45 * r, 0.2 * r, coat.points or coat.base)
    coat_marks(rng, body, coat, (cx - 2.1 * r, ground - 1.8 * r, cx + 2.1 * r, ground), stripe_angle=0)
    head = cat_head(rng, cx - 1.55 * r, ground - 1.55 * r, r, coat, sleeping=rng.uniform() < 0.35)
    place(rng, image, compose([shadow(cx, ground, 2.4 * r), body, *head]), max_angle=6)


def cat_walking(rng, image):
    """A cat walking, seen from the side, with its tail up and head turned to us."""
    coat = random_coat(rng)
    r = rng.uniform(6.5, 9)
    ground = rng.uniform(52, 62)
    cx = rng.uniform(6 + 2.6 * r, 58 - 2.7 * r)
    body = Part()
    cat_tail(body, coat, (cx - 1.6 * r, ground - 2.4 * r), (cx - 2.8 * r, ground - 2.9 * r),
             (cx - 2.4 * r, ground - 4.3 * r), 0.3 * r)
    for dx in (-1.3, -0.9, 0.9, 1.3):
        body.shape.rect(cx + dx * r - 0.17 * r, ground - 2.2 * r, cx + dx * r + 0.17 * r, ground,
                        coat.points or coat.base, radius=0.15 * r)
    body.shape.ellipse(cx, ground - 2.3 * r, 1.8 * r, 0.75 * r, coat.base)
    coat_marks(rng, body, coat, (cx - 1.9 * r, ground - 3.1 * r, cx + 1.9 * r, ground - 1.4 * r), stripe_angle=0)
    head = cat_head(rng, cx + 1.75 * r, ground - 3.1 * r, r, coat)
    place(rng, image, compose([shadow(cx, ground, 2.2 * r), body, *head]), max_angle=5)


CAT_POSES = ((cat_face, 0.68), (cat_sitting, 0.16), (cat_lying, 0.08), (cat_walking, 0.08))


# --------------------------------------------------------------------------
# Non-cat animals
# --------------------------------------------------------------------------

ANIMAL_FURS = ((150, 100, 55), (205, 165, 100), (40, 36, 36), (235, 230, 220), (120, 120, 125), (95, 65, 45),
               (225, 140, 70))


def animal_fur(rng):
    """A fur colour for dogs, rabbits and bears: browns, golden, black, white, grey, ginger."""
    return vary(rng, ANIMAL_FURS[rng.integers(len(ANIMAL_FURS))], 12)


def round_eyes(pen, cx, cy, r, spacing=0.38, size=0.12):
    """Two round dark eyes with a highlight."""
    for side in (-1, 1):
        ex = cx + side * spacing * r
        pen.circle(ex, cy, size * r, BLACK)
        pen.circle(ex + 0.04 * r, cy - 0.04 * r, 0.035 * r, WHITE)


def dog_head(rng, cx, cy, r, fur):
    """A dog head: floppy or pricked ears, a long pale muzzle, a big black nose, sometimes a tongue."""
    ears, head = Part(), Part()
    ear_colour = shade(fur, rng.uniform(0.6, 1.0))
    pricked = rng.uniform() < 0.3
    for side in (-1, 1):
        if pricked:
            ears.shape.polygon([(cx + side * 0.9 * r, cy - 0.1 * r), (cx + side * 0.75 * r, cy - 1.35 * r),
                                (cx + side * 0.2 * r, cy - 0.75 * r)], ear_colour)
        else:
            ears.shape.ellipse(cx + side * 0.95 * r, cy + 0.15 * r, 0.32 * r, 0.8 * r, ear_colour, angle=-side * 18)
    coat_marks(rng, ears, Coat(ear_colour), (cx - 1.4 * r, cy - 1.4 * r, cx + 1.4 * r, cy + 1.0 * r))
    head.shape.ellipse(cx, cy, 0.92 * r, 0.95 * r, fur)
    head.shape.ellipse(cx, cy + 0.55 * r, 0.5 * r, 0.45 * r, fur)
    coat_marks(rng, head, Coat(fur), (cx - r, cy - r, cx + r, cy + r))
    head.marks.ellipse(cx, cy + 0.55 * r, 0.45 * r, 0.4 * r, mix(fur, WHITE, rng.uniform(0.2, 0.6)))
    if rng.uniform() < 0.4:
        head.marks.ellipse(cx + 0.4 * r, cy - 0.2 * r, 0.35 * r, 0.3 * r, shade(fur, 0.5))
    round_eyes(head.details, cx, cy - 0.15 * r, r)
    head.details.ellipse(cx, cy + 0.38 * r, 0.2 * r, 0.14 * r, BLACK)
    head.details.line([(cx, cy + 0.45 * r), (cx, cy + 0.62 * r)], BLACK, 0.04 * r)
    if rng.uniform() < 0.5:
        head.details.ellipse(cx, cy + 0.78 * r, 0.14 * r, 0.18 * r, (220, 90, 110))
    for side in (-1, 1):
        head.details.line(bezier((cx, cy + 0.62 * r), (cx + side * 0.15 * r, cy + 0.72 * r),
                                 (cx + side * 0.3 * r, cy + 0.62 * r)), BLACK, 0.04 * r)
    return [ears, head]


def dog_face(rng, image):
    """A close-up dog face with its shoulders."""
    fur = animal_fur(rng)
    r = rng.uniform(15, 23)
    cx, cy = 32 + rng.uniform(-6, 6), rng.uniform(26, 38)
    body = Part()
    body.shape.ellipse(cx, cy + 1.5 * r, 1.2 * r, 1.0 * r, fur)
    coat_marks(rng, body, Coat(fur), (cx - 1.3 * r, cy + 0.6 * r, cx + 1.3 * r, SIZE))
    place(rng, image, compose([body, *dog_head(rng, cx, cy, r, fur)]), max_angle=12)


def dog_standing(rng, image):
    """A whole dog standing, seen from the side, head turned to us."""
    fur = animal_fur(rng)
    r = rng.uniform(7, 9.5)
    ground = rng.uniform(52, 62)
    cx = rng.uniform(4 + 2.4 * r, 60 - 3.2 * r)
    body = Part()
    body.shape.line([(cx - 1.7 * r, ground - 2.4 * r), (cx - 2.3 * r, ground - 3.3 * r)], fur, 0.3 * r)
    for dx in (-1.3, -0.9, 0.9, 1.3):
        body.shape.rect(cx + dx * r - 0.22 * r, ground - 2.2 * r, cx + dx * r + 0.22 * r, ground, fur, radius=0.15 * r)
    body.shape.ellipse(cx, ground - 2.3 * r, 1.8 * r, 0.85 * r, fur)
    coat_marks(rng, body, Coat(fur), (cx - 2.3 * r, ground - 3.3 * r, cx + 1.9 * r, ground))
    head = dog_head(rng, cx + 1.7 * r, ground - 3.3 * r, 1.05 * r, fur)
    place(rng, image, compose([shadow(cx, ground, 2.2 * r), body, *head]), max_angle=5)


def rabbit(rng, image):
    """A sitting rabbit with long upright ears."""
    fur = vary(rng, [(235, 232, 225), (150, 125, 100), (130, 130, 135), (95, 75, 60)][rng.integers(4)], 10)
    r = rng.uniform(7, 12)
    ground = rng.uniform(50, 62)
    cx = rng.uniform(12 + 1.5 * r, 52 - 1.5 * r)
    hx, hy = cx + rng.uniform(-0.5, 0.5) * r, ground - 2.5 * r
    body, head = Part(), Part()
    body.shape.ellipse(cx, ground - 1.1 * r, 1.35 * r, 1.15 * r, fur)
    body.shape.circle(cx + 1.3 * r, ground - 0.5 * r, 0.35 * r, WHITE)
    coat_marks(rng, body, Coat(fur), (cx - 1.4 * r, ground - 2.3 * r, cx + 1.4 * r, ground))
    lean = rng.uniform(-15, 15)
    for side in (-1, 1):
        head.shape.ellipse(hx + side * 0.35 * r, hy - 1.3 * r, 0.22 * r, 0.9 * r, fur, angle=side * 10 + lean)
        head.details.ellipse(hx + side * 0.35 * r, hy - 1.25 * r, 0.1 * r, 0.65 * r, PINK, angle=side * 10 + lean)
    head.shape.ellipse(hx, hy, 0.75 * r, 0.7 * r, fur)
    coat_marks(rng, head, Coat(fur), (hx - r, hy - 2.3 * r, hx + r, hy + r))
    round_eyes(head.details, hx, hy - 0.1 * r, r, spacing=0.35, size=0.1)
    head.details.ellipse(hx, hy + 0.22 * r, 0.08 * r, 0.06 * r, PINK)
    place(rng, image, compose([shadow(cx, ground, 1.7 * r), body, head]))


def bear(rng, image):
    """A bear or teddy bear: round head, round ears, pale muzzle, sitting or close up."""
    fur = vary(rng, [(120, 80, 45), (70, 50, 35), (30, 28, 28), (190, 140, 80), (235, 232, 220)][rng.integers(5)], 12)
    close_up = rng.uniform() < 0.5
    r = rng.uniform(14, 21) if close_up else rng.uniform(7, 10)
    ground = rng.uniform(52, 62)
    cx = 32 + rng.uniform(-6, 6) if close_up else rng.uniform(14 + 1.5 * r, 50 - 1.5 * r)
    cy = rng.uniform(26, 38) if close_up else ground - 2.6 * r
    body, head = Part(), Part()
    if close_up:
        body.shape.ellipse(cx, cy + 1.5 * r, 1.3 * r, 1.0 * r, fur)
    else:
        body.shape.ellipse(cx, ground - 1.1 * r, 1.2 * r, 1.2 * r, fur)
        for side in (-1, 1):
            body.shape.ellipse(cx + side * 0.8 * r, ground - 0.25 * r, 0.45 * r, 0.3 * r, fur)
            body.shape.ellipse(cx + side * 1.05 * r, ground - 1.2 * r, 0.3 * r, 0.6 * r, fur, angle=side * 20)
    coat_marks(rng, body, Coat(fur), (cx - 1.5 * r, cy + 0.6 * r, cx + 1.5 * r, SIZE))
    for side in (-1, 1):
        head.shape.circle(cx + side * 0.7 * r, cy - 0.7 * r, 0.32 * r, fur)
    head.shape.ellipse(cx, cy, r, 0.9 * r, fur)
    coat_marks(rng, head, Coat(fur), (cx - r, cy - r, cx + r, cy + r))
    for side in (-1, 1):
        head.details.circle(cx + side * 0.7 * r, cy - 0.7 * r, 0.16 * r, shade(fur, 0.7))
    head.details.ellipse(cx, cy + 0.35 * r, 0.38 * r, 0.3 * r, mix(fur, (230, 210, 180), 0.5))
    head.details.ellipse(cx, cy + 0.25 * r, 0.14 * r, 0.1 * r, BLACK)
    round_eyes(head.details, cx, cy - 0.15 * r, r, spacing=0.35, size=0.09)
    layers = [body, head] if close_up else [shadow(cx, ground, 1.6 * r), body, head]
    place(rng, image, compose(layers), max_angle=10)


def owl(rng, image):
    """An owl on a branch: big round eyes, ear tufts, beak and chevron feathers."""
    feathers = vary(rng, [(130, 100, 70), (160, 150, 140), (200, 190, 170), (95, 75, 55)][rng.integers(4)], 12)
    r = rng.uniform(9, 15)
    cx, cy = rng.uniform(12 + r, 52 - r), rng.uniform(22, 34)
    branch = Part()
    branch.shape.line([(-2, cy + 1.3 * r), (66, cy + 1.3 * r + rng.uniform(-4, 4))], vary(rng, (90, 65, 40)), 2.5)
    bird = Part()
    for side in (-1, 1):
        bird.shape.polygon([(cx + side * 0.75 * r, cy - 0.7 * r), (cx + side * 0.85 * r, cy - 1.35 * r),
                            (cx + side * 0.25 * r, cy - 0.95 * r)], feathers)
    bird.shape.ellipse(cx, cy, 0.85 * r, 1.3 * r, feathers)
    coat_marks(rng, bird, Coat(feathers), (cx - r, cy - 1.4 * r, cx + r, cy + 1.4 * r))
    for side in (-1, 1):
        bird.marks.ellipse(cx + side * 0.75 * r, cy + 0.35 * r, 0.3 * r, 0.8 * r, shade(feathers, 0.7), angle=side * 10)
    belly = mix(feathers, WHITE, 0.45)
    bird.marks.ellipse(cx, cy + 0.45 * r, 0.5 * r, 0.75 * r, belly)
    for y in np.arange(cy + 0.1 * r, cy + 1.1 * r, 0.25 * r):
        for x in np.arange(cx - 0.3 * r, cx + 0.35 * r, 0.3 * r):
            bird.marks.line([(x - 0.08 * r, y), (x, y + 0.08 * r), (x + 0.08 * r, y)], shade(feathers, 0.6), 0.05 * r)
    face = mix(feathers, WHITE, 0.3)
    for side in (-1, 1):
        ex, ey = cx + side * 0.35 * r, cy - 0.55 * r
        bird.details.circle(ex, ey, 0.36 * r, face)
        bird.details.circle(ex, ey, 0.24 * r, vary(rng, (240, 170, 40), 15))
        bird.details.circle(ex, ey, 0.13 * r, BLACK)
        bird.details.circle(ex + 0.06 * r, ey - 0.06 * r, 0.04 * r, WHITE)
    bird.details.polygon([(cx - 0.1 * r, cy - 0.35 * r), (cx + 0.1 * r, cy - 0.35 * r), (cx, cy - 0.05 * r)],
                         (90, 80, 60))
    for side in (-1, 1):
        bird.details.ellipse(cx + side * 0.3 * r, cy + 1.3 * r, 0.16 * r, 0.09 * r, (200, 170, 60))
    place(rng, image, compose([branch, bird]), max_angle=6)


def bird(rng, image):
    """A small bright songbird on a branch."""
    colour = random_colour(rng, (0.5, 0.9), (0.6, 0.95))
    r = rng.uniform(5, 9)
    cx, cy = rng.uniform(14 + 2 * r, 50 - 2 * r), rng.uniform(24, 40)
    part = Part()
    part.shape.line([(-2, cy + 1.1 * r), (66, cy + 1.1 * r + rng.uniform(-5, 5))], vary(rng, (90, 65, 40)), 2)
    tail = [(cx - 0.8 * r, cy), (cx - 2.2 * r, cy + 0.2 * r), (cx - 2.0 * r, cy + 0.8 * r)]
    part.shape.polygon(tail, shade(colour, 0.7))
    part.shape.ellipse(cx, cy, 1.2 * r, 0.85 * r, colour)
    part.shape.circle(cx + 1.0 * r, cy - 0.6 * r, 0.6 * r, colour)
    part.marks.ellipse(cx - 0.2 * r, cy - 0.05 * r, 0.8 * r, 0.45 * r, shade(colour, 0.7), angle=10)
    part.marks.ellipse(cx + 0.3 * r, cy + 0.4 * r, 0.7 * r, 0.4 * r, mix(colour, WHITE, 0.5))
    part.details.polygon([(cx + 1.5 * r, cy - 0.75 * r), (cx + 2.1 * r, cy - 0.55 * r), (cx + 1.5 * r, cy - 0.4 * r)],
                         (230, 170, 40))
    part.details.circle(cx + 1.15 * r, cy - 0.7 * r, 0.12 * r, BLACK)
    place(rng, image, compose([part]), max_angle=6)


# --------------------------------------------------------------------------
# Objects and scenes
# --------------------------------------------------------------------------


def wood(rng):
    """A wood or paint colour for furniture."""
    if rng.uniform() < 0.6:
        return vary(rng, [(150, 100, 60), (110, 70, 40), (190, 150, 100)][rng.integers(3)], 12)
    return random_colour(rng, (0.3, 0.7), (0.4, 0.9))


def chair(rng, image):
    """A wooden chair with a slatted back."""
    colour = wood(rng)
    s = rng.uniform(0.75, 1.25)
    cx, ground = rng.uniform(20, 44), rng.uniform(52, 62)
    seat = ground - 16 * s
    part = Part()
    for dx in (-9, 9):
        part.shape.rect(cx + dx * s - 1.2 * s, seat, cx + dx * s + 1.2 * s, ground, shade(colour, 0.85))
    part.shape.rect(cx - 9.5 * s, seat - 20 * s, cx - 7 * s, seat, colour)
    part.shape.rect(cx + 7 * s, seat - 20 * s, cx + 9.5 * s, seat, colour)
    part.shape.rect(cx - 9.5 * s, seat - 20 * s, cx + 9.5 * s, seat - 16 * s, colour, radius=1)
    for dx in (-3, 2):
        part.shape.rect(cx + dx * s, seat - 16 * s, cx + (dx + 1.5) * s, seat, shade(colour, 0.9))
    part.shape.rect(cx - 11 * s, seat - 1.5 * s, cx + 11 * s, seat + 2 * s, shade(colour, 1.1), radius=1)
    part.fur(rng, colour, (cx - 11 * s, seat - 20 * s, cx + 11 * s, ground), n=40, length=2, angle=90, spread=5)
    place(rng, image, compose([shadow(cx, ground, 13 * s), part]), max_angle=4)


def car(rng, image):
    """A small car seen from the side."""
    colour = random_colour(rng, (0.2, 0.9), (0.2, 0.95))
    s = rng.uniform(0.8, 1.2)
    cx, ground = rng.uniform(24, 40), rng.uniform(50, 60)
    part = Part()
    part.shape.rect(cx - 24 * s, ground - 16 * s, cx + 24 * s, ground - 5 * s, colour, radius=4 * s)
    part.shape.polygon([(cx - 14 * s, ground - 15 * s), (cx - 9 * s, ground - 25 * s), (cx + 9 * s, ground - 25 * s),
                        (cx + 15 * s, ground - 15 * s)], colour)
    glass = vary(rng, (170, 200, 220), 15)
    part.details.polygon([(cx - 12 * s, ground - 16 * s), (cx - 8 * s, ground - 23 * s), (cx - 1 * s, ground - 23 * s),
                          (cx - 1 * s, ground - 16 * s)], glass)
    part.details.polygon([(cx + 1 * s, ground - 16 * s), (cx + 1 * s, ground - 23 * s), (cx + 8 * s, ground - 23 * s),
                          (cx + 12.5 * s, ground - 16 * s)], glass)
    for dx in (-14, 14):
        part.details.circle(cx + dx * s, ground - 5 * s, 5 * s, BLACK)
        part.details.circle(cx + dx * s, ground - 5 * s, 2.2 * s, (180, 180, 185))
    part.details.rect(cx + 21 * s, ground - 13 * s, cx + 24 * s, ground - 10 * s, (250, 230, 150))
    place(rng, image, compose([shadow(cx, ground, 26 * s), part]), max_angle=3)


def house(rng, image):
    """A house with a pitched roof, a door and windows."""
    wall, roof = random_colour(rng, (0.1, 0.5), (0.5, 0.95)), vary(rng, [(150, 60, 50), (80, 80, 90)][rng.integers(2)])
    s = rng.uniform(0.8, 1.2)
    cx, ground = rng.uniform(24, 40), rng.uniform(52, 62)
    part = Part()
    part.shape.rect(cx - 17 * s, ground - 22 * s, cx + 17 * s, ground, wall)
    part.shape.polygon([(cx - 21 * s, ground - 21 * s), (cx, ground - 38 * s), (cx + 21 * s, ground - 21 * s)], roof)
    part.fur(rng, wall, (cx - 17 * s, ground - 22 * s, cx + 17 * s, ground), n=30, length=2, angle=0, spread=3)
    part.details.rect(cx - 3.5 * s, ground - 12 * s, cx + 3.5 * s, ground, wood(rng))
    for dx in (-11, 11):
        part.details.rect(cx + dx * s - 3.5 * s, ground - 17 * s, cx + dx * s + 3.5 * s, ground - 10 * s, WHITE)
        part.details.rect(cx + dx * s - 2.8 * s, ground - 16.3 * s, cx + dx * s + 2.8 * s, ground - 10.7 * s,
                          vary(rng, (150, 190, 220), 20))
    place(rng, image, compose([part]), max_angle=2)


def balls(rng, image):
    """One to three balls: beach balls, basketballs or tennis balls."""
    for _ in range(rng.integers(1, 4)):
        r = rng.uniform(6, 16)
        cx, cy = rng.uniform(r, 64 - r), rng.uniform(30, 62 - r)
        part = Part()
        kind = rng.choice(["beach", "basket", "tennis"])
        base = {"beach": WHITE, "basket": (215, 110, 40), "tennis": (200, 225, 60)}[kind]
        part.shape.circle(cx, cy, r, vary(rng, base, 10))
        if kind == "beach":
            for k in range(3):
                angle = np.radians(60 * k + rng.uniform(0, 60))
                part.marks.polygon([(cx, cy), (cx + 2 * r * np.cos(angle), cy + 2 * r * np.sin(angle)),
                                    (cx + 2 * r * np.cos(angle + 0.5), cy + 2 * r * np.sin(angle + 0.5))],
                                   random_colour(rng, (0.6, 0.9), (0.7, 0.95)))
        else:
            seam = BLACK if kind == "basket" else WHITE
            part.marks.line([(cx - r, cy), (cx + r, cy)], seam, 0.08 * r)
            part.marks.line(bezier((cx - 0.5 * r, cy - r), (cx - 0.1 * r, cy), (cx - 0.5 * r, cy + r)), seam, 0.08 * r)
            part.marks.line(bezier((cx + 0.5 * r, cy - r), (cx + 0.1 * r, cy), (cx + 0.5 * r, cy + r)), seam, 0.08 * r)
        part.marks.circle(cx - 0.35 * r, cy - 0.35 * r, 0.25 * r, (255, 255, 255, 90))
        image.alpha_composite(compose([shadow(cx, cy + r, r), part]))


def flowers(rng, image):
    """One to five flowers with round petals, stems and leaves."""
    for _ in range(rng.integers(1, 6)):
        r = rng.uniform(4, 11)
        cx, cy = rng.uniform(8, 56), rng.uniform(10, 45)
        petal = random_colour(rng, (0.4, 0.9), (0.6, 1.0))
        part = Part()
        part.shape.line([(cx, cy), (cx + rng.uniform(-4, 4), 66)], (60, 120, 50), 0.12 * r + 0.5)
        part.shape.ellipse(cx + 0.6 * r, cy + 2 * r, 0.8 * r, 0.3 * r, (70, 140, 60), angle=-30)
        n = int(rng.integers(5, 9))
        for k in range(n):
            angle = 2 * np.pi * k / n
            part.shape.ellipse(cx + 0.6 * r * np.cos(angle), cy + 0.6 * r * np.sin(angle), 0.5 * r, 0.3 * r, petal,
                               angle=np.degrees(angle))
        part.details.circle(cx, cy, 0.3 * r, vary(rng, (240, 190, 40), 20))
        image.alpha_composite(compose([part]))


def fruit(rng, image):
    """Apples, oranges and lemons in a bowl on a table."""
    top = rng.uniform(44, 56)
    cx, r = rng.uniform(22, 42), rng.uniform(11, 16)
    rim = top - 0.5 * r
    bowl = random_colour(rng, (0.1, 0.6), (0.5, 0.95))
    part = Part()
    part.shape.rect(-2, top, 66, 66, wood(rng))
    part.details.ellipse(cx, rim, 1.05 * r, 0.15 * r, shade(bowl, 0.6))
    for _ in range(rng.integers(3, 6)):
        colour = vary(rng, [(200, 40, 40), (240, 150, 30), (120, 180, 50), (240, 210, 60)][rng.integers(4)], 15)
        size = rng.uniform(0.28, 0.4) * r
        part.details.circle(cx + rng.uniform(-0.65, 0.65) * r, rim - rng.uniform(0.2, 0.8) * size, size, colour)
    t = np.linspace(0, np.pi, 24)
    part.details.polygon(list(zip(cx + 1.05 * r * np.cos(t), rim + 0.5 * r * np.sin(t), strict=True)), bowl)
    part.details.rect(cx - 0.3 * r, rim + 0.4 * r, cx + 0.3 * r, top, shade(bowl, 0.85))
    image.alpha_composite(compose([part]))


def mug(rng, image):
    """A mug on a table."""
    colour = random_colour(rng, (0.1, 0.8), (0.3, 0.95))
    top = rng.uniform(44, 56)
    s = rng.uniform(0.8, 1.4)
    cx = rng.uniform(22, 42)
    part = Part()
    part.shape.rect(-2, top, 66, 66, wood(rng))
    part.details.ellipse(cx + 11 * s, top - 10 * s, 5 * s, 6 * s, colour)
    part.details.ellipse(cx + 11 * s, top - 10 * s, 2.8 * s, 3.8 * s, shade(colour, 0.6))
    part.details.rect(cx - 10 * s, top - 22 * s, cx + 10 * s, top, colour, radius=3 * s)
    part.details.ellipse(cx, top - 22 * s, 10 * s, 2.5 * s, shade(colour, 0.5))
    part.details.rect(cx - 6 * s, top - 14 * s, cx + 4 * s, top - 8 * s, mix(colour, WHITE, 0.5), radius=2 * s)
    image.alpha_composite(compose([part]))


def mountains(rng, image):
    """A landscape: sky, snow-capped mountains, a lake or meadow, fir trees."""
    top, bottom = sky_colours(rng)
    image.paste(gradient(top, bottom, 0, 45))
    pen = Pen(image)
    if rng.uniform() < 0.6:
        pen.circle(rng.uniform(8, 56), rng.uniform(6, 18), rng.uniform(3, 6), vary(rng, (250, 240, 200), 10))
    horizon = rng.uniform(38, 50)
    for layer in range(2):
        rock = mix(vary(rng, (110, 110, 125), 20), top, 0.4 - 0.3 * layer)
        for _ in range(rng.integers(2, 4)):
            px, h, w = rng.uniform(-5, 69), rng.uniform(15, 32), rng.uniform(14, 26)
            pen.polygon([(px - w, horizon), (px, horizon - h), (px + w, horizon)], rock)
            pen.polygon([(px - 0.25 * w, horizon - 0.75 * h), (px, horizon - h), (px + 0.25 * w, horizon - 0.75 * h)],
                        WHITE)
    ground = vary(rng, (70, 130, 160), 20) if rng.uniform() < 0.5 else ground_colour(rng)
    pen.rect(0, horizon, SIZE, SIZE, ground)
    for _ in range(rng.integers(0, 5)):
        tx, tb, h = rng.uniform(0, 64), rng.uniform(horizon, 64), rng.uniform(6, 14)
        pen.polygon([(tx - h / 3, tb), (tx, tb - h), (tx + h / 3, tb)], vary(rng, (40, 90, 50), 12))


def room(rng, image):
    """A room with furniture: a sofa, a lamp, shelves, a plant."""
    image.paste(room_background(rng))
    pen = Pen(image)
    floor = rng.uniform(44, 54)
    for item in rng.permutation(["sofa", "lamp", "shelf", "plant"])[: rng.integers(2, 4)]:
        x = rng.uniform(6, 52)
        if item == "sofa":
            colour = random_colour(rng, (0.2, 0.7), (0.3, 0.85))
            pen.rect(x - 14, floor - 16, x + 14, floor - 2, shade(colour, 0.85), radius=2)
            pen.rect(x - 16, floor - 8, x + 16, floor, colour, radius=2)
        elif item == "lamp":
            pen.rect(x - 0.6, floor - 24, x + 0.6, floor, BLACK)
            pen.polygon([(x - 5, floor - 22), (x - 3, floor - 30), (x + 3, floor - 30), (x + 5, floor - 22)],
                        vary(rng, (240, 220, 170), 15))
        elif item == "shelf":
            colour = wood(rng)
            pen.rect(x - 8, floor - 30, x + 8, floor, colour)
            for y in (floor - 22, floor - 12):
                for bx in np.arange(x - 7, x + 6, 2):
                    pen.rect(bx, y - 6, bx + 1.6, y, random_colour(rng))
        else:
            pen.rect(x - 4, floor - 8, x + 4, floor, vary(rng, (180, 90, 60), 15))
            for _ in range(6):
                pen.ellipse(x + rng.uniform(-6, 6), floor - 8 - rng.uniform(2, 12), 2, 4, vary(rng, (60, 130, 60), 20),
                            angle=rng.uniform(-40, 40))


NON_CAT_KINDS = (
    (dog_face, 0.13), (dog_standing, 0.09), (owl, 0.08), (rabbit, 0.08), (bear, 0.08), (bird, 0.05),
    (chair, 0.06), (car, 0.06), (house, 0.05), (balls, 0.06), (flowers, 0.06), (fruit, 0.05), (mug, 0.05),
    (mountains, 0.05), (room, 0.05),
)


# --------------------------------------------------------------------------
# Whole pictures and the dataset
# --------------------------------------------------------------------------


def finish(rng, image):
    """Shrink the canvas to 64 x 64 and add lighting changes and sensor noise."""
    small = np.asarray(image.convert("RGB").resize((SIZE, SIZE), Image.Resampling.LANCZOS), float)
    gain = rng.uniform(0.7, 1.1) * (1 + rng.normal(0, 0.05, 3))  # exposure and colour cast
    pixels = small * gain + rng.uniform(-25, 10) + rng.normal(0, rng.uniform(2, 7), small.shape)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def draw_image(rng, is_cat):
    """One 64 x 64 x 3 uint8 picture: a cat if *is_cat*, otherwise a non-cat.

    Every picture starts from a shared background; the landscape and room
    drawers paint their own scene over it.
    """
    image = background(rng)
    choose(rng, CAT_POSES if is_cat else NON_CAT_KINDS)(rng, image)
    return finish(rng, image)


def make_dataset(seed=DEFAULT_SEED):
    """Draw the whole dataset in memory.

    Returns a dict with ``train_set_x``, ``train_set_y``, ``test_set_x``,
    ``test_set_y`` and ``list_classes``, in the dtypes and shapes of the files.
    """
    rng = np.random.default_rng(seed)
    data = {}
    for split, (n, n_cats) in SPLITS.items():
        labels = rng.permutation(np.repeat(np.array([1, 0], dtype=np.int64), [n_cats, n - n_cats]))
        data[f"{split}_set_x"] = np.stack([draw_image(rng, label == 1) for label in labels])
        data[f"{split}_set_y"] = labels
    data["list_classes"] = CLASSES.copy()
    return data


def write_dataset(data, folder, seed):
    """Write the two HDF5 files and SHA256SUMS into *folder*, byte-reproducibly.

    The numpy and Pillow versions are stored as file attributes, because other
    versions may draw slightly different pixels from the same seed; the h5py and
    HDF5 versions too, because other versions may lay out the same arrays in
    different bytes.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, filename in FILES.items():
        with h5py.File(folder / filename, "w", libver="earliest", track_order=False) as f:
            for key in (f"{split}_set_x", f"{split}_set_y", "list_classes"):
                f.create_dataset(key, data=data[key], track_times=False)
            f.attrs["generator"] = "datasets/make_dataset.py"
            f.attrs["generator_seed"] = seed
            f.attrs["generator_numpy"] = np.__version__
            f.attrs["generator_pillow"] = PIL.__version__
            f.attrs["generator_h5py"] = f"{h5py.__version__} (HDF5 {h5py.version.hdf5_version})"
    lines = [f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}\n" for name in sorted(FILES.values())]
    (folder / "SHA256SUMS").write_text("".join(lines))


def save_grid(data, path, per_class=16, columns=8):
    """Save a PNG grid of the first training cats (top rows) and non-cats (bottom rows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = data["train_set_x"], data["train_set_y"]
    indices = [*np.flatnonzero(y == 1)[:per_class], *np.flatnonzero(y == 0)[:per_class]]
    rows = len(indices) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.45 * rows))
    for ax, index in zip(axes.flat, indices, strict=True):
        ax.imshow(x[index], interpolation="nearest")
        label = CLASSES[y[index]].decode()
        ax.set_title(f"#{index} {label}", fontsize=8, color="tab:red" if y[index] else "black")
        ax.axis("off")
    fig.suptitle(f"train set: first {per_class} cats (top), first {per_class} non-cats (bottom)", fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=100)
    plt.close(fig)
    Image.open(buffer).convert("RGB").quantize(colors=256).save(path, optimize=True)  # a palette keeps the file small


def main():
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="output folder (default: the folder of this script)")
    parser.add_argument("--grid", type=Path, help="also save a PNG grid of example pictures here")
    args = parser.parse_args()
    data = make_dataset(args.seed)
    write_dataset(data, args.out, args.seed)
    print(f"wrote {', '.join(FILES.values())} and SHA256SUMS to {args.out} (seed {args.seed})")
    if args.grid:
        save_grid(data, args.grid)
        print(f"wrote {args.grid}")


if __name__ == "__main__":
    main()
