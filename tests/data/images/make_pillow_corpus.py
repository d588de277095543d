#!/usr/bin/env python3
"""Writes the pixel-exactness corpus: images of every kind 4M's rgb members come in, and what
Pillow makes of each for 4M's rgb@S path (docs/raw-modalities.md#rgbs).

    make_pillow_corpus.py OUT_DIR [--count 520] [--seed 1] [--pixels]

For case i it writes OUT_DIR/case_i.jpg or .png, and a line of OUT_DIR/manifest.jsonl with
the file, kind, crop, flip, S, the SHA-256 of convert("RGB").tobytes() and the SHA-256 of the
uint8 (S, S, 3) result of

    Image.open(f).convert("RGB").crop((left, top, left + w, top + h)).resize((S, S), BICUBIC)
    then .transpose(FLIP_LEFT_RIGHT) when flipped

(as 4M's RGB transform does, torchvision's crop/resize on PIL images being exactly these
calls); with --pixels also that result itself, OUT_DIR/case_i.rgb, to look at a mismatch.
Kinds: JPEG baseline and progressive at 4:4:4, 4:2:2 and
4:2:0, greyscale and CMYK JPEG; PNG RGB, RGBA, L, LA, P (with and without transparency, 1-8
bits), 1-bit, 16-bit grey, and (written here, as Pillow cannot) 16-bit RGB/RGBA/LA, 2- and
4-bit grey and Adam7-interlaced files. Sizes 16 to 2,000 px, every aspect ratio; crops partly
outside the image; S = 224 and 448. Needs Debian's python3-pil and python3-numpy.
"""
import argparse
import hashlib
import io
import json
import os
import random
import struct
import zlib

import numpy as np
from PIL import Image

JPEG_KINDS = ["jpeg444", "jpeg422", "jpeg420", "jpeg444p", "jpeg422p", "jpeg420p", "jpegL",
              "jpegCMYK"]
PNG_KINDS = ["pngRGB", "pngRGBA", "pngL", "pngLA", "pngP", "pngPtrns", "pngP4", "png1",
             "pngI16", "pngRGB16", "pngRGBA16", "pngLA16", "pngL2", "pngL4", "pngRGBadam7",
             "pngPadam7"]


def natural(rng, h, w):
    """Photo-like content: smooth gradients and soft blobs (drawn on a coarse grid, then
    scaled up), a few hard edges and sensor noise."""
    sh, sw = min(h, 160), min(w, 160)
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float32)
    small = np.zeros((sh, sw, 3), np.float32)
    for c in range(3):
        a, b, d = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0, 255)
        small[..., c] = d + 120 * (a * x / sw + b * y / sh)
    for _ in range(rng.randint(2, 6)):
        cy, cx = rng.uniform(0, sh), rng.uniform(0, sw)
        r = rng.uniform(0.05, 0.5) * max(sh, sw)
        blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
        small += blob[..., None] * np.array([rng.uniform(-150, 150) for _ in range(3)],
                                            np.float32)
    img = np.stack([np.asarray(Image.fromarray(small[..., c], "F").resize((w, h),
                                                                           Image.BILINEAR))
                    for c in range(3)], axis=-1)
    for _ in range(rng.randint(0, 4)):  # hard edges: a rectangle
        y0, x0 = rng.randrange(h), rng.randrange(w)
        img[y0:y0 + rng.randint(1, h), x0:x0 + rng.randint(1, w)] += rng.uniform(-90, 90)
    noise = np.random.default_rng(rng.randrange(1 << 30)).standard_normal(img.shape,
                                                                          np.float32)
    return np.clip(img + 6 * noise, 0, 255).astype(np.uint8)


def alpha_of(rng, h, w):
    """An alpha channel with every level: a diagonal ramp of random slope."""
    k = rng.randint(1, 9)
    return (np.add.outer(np.arange(h), np.arange(w)) * k % 256).astype(np.uint8)


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def pack_rows(samples, bit_depth):
    """Rows of samples (h, w*channels) into PNG scanlines (filter byte 0)."""
    h = samples.shape[0]
    out = bytearray()
    for r in range(h):
        out.append(0)
        row = samples[r]
        if bit_depth == 16:
            out += row.astype(">u2").tobytes()
        elif bit_depth == 8:
            out += row.astype(np.uint8).tobytes()
        else:
            out += np.packbits(np.unpackbits(row.astype(np.uint8)[:, None], axis=1)
                               [:, 8 - bit_depth:].reshape(-1)).tobytes()
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def write_png(samples, channels, bit_depth, color_type, palette=None, interlace=False):
    """A PNG of `samples` (h, w, channels), written by hand (any depth, optional Adam7)."""
    h, w = samples.shape[:2]
    flat = samples.reshape(h, w * channels)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += pack_rows(sub.reshape(sub.shape[0], -1), bit_depth)
    else:
        raw = pack_rows(flat, bit_depth)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0,
                                          1 if interlace else 0))
    if palette is not None:
        out += png_chunk(b"PLTE", bytes(palette))
    out += png_chunk(b"IDAT", zlib.compress(raw, 1))
    out += png_chunk(b"IEND", b"")
    return out


def encode(rng, kind, rgb):
    h, w = rgb.shape[:2]
    im = Image.fromarray(rgb, "RGB")
    buf = io.BytesIO()
    if kind.startswith("jpeg"):
        quality = rng.choice([60, 75, 85, 95])
        # Segments before the frame header, as cameras and editors write them: EXIF (with an
        # orientation, which 4M does not apply) and a comment.
        # Drawn from the image, not from rng: the rest of the corpus stays as it was.
        meta = random.Random(int(rgb[0, 0, 0]) * 7919 + h * 31 + w)
        extra = {}
        if meta.random() < 0.3:
            exif = Image.Exif()
            exif[0x0112] = meta.choice([1, 6, 8])
            exif[0x010F] = "maskfeed test camera"
            extra["exif"] = exif.tobytes()
        if meta.random() < 0.2:
            extra["comment"] = "corpus image"
        if kind == "jpegL":
            im.convert("L").save(buf, "JPEG", quality=quality, **extra)
        elif kind == "jpegCMYK":
            im.convert("CMYK").save(buf, "JPEG", quality=quality, **extra)
        else:
            sub = {"444": 0, "422": 1, "420": 2}[kind[4:7]]
            im.save(buf, "JPEG", quality=quality, subsampling=sub,
                    progressive=kind.endswith("p"), optimize=rng.random() < 0.3, **extra)
        return buf.getvalue(), "jpg"
    grey = np.asarray(im.convert("L"))
    alpha = alpha_of(rng, h, w)
    if kind == "pngRGB":
        im.save(buf, "PNG", compress_level=1)
    elif kind == "pngRGBA":
        Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(buf, "PNG", compress_level=1)
    elif kind == "pngL":
        Image.fromarray(grey, "L").save(buf, "PNG", compress_level=1)
    elif kind == "pngLA":
        Image.fromarray(np.dstack([grey, alpha]), "LA").save(buf, "PNG", compress_level=1)
    elif kind in ("pngP", "pngPtrns"):
        p = im.quantize(colors=rng.choice([16, 64, 200, 256]))
        if kind == "pngPtrns":
            p.info["transparency"] = 0
            p.save(buf, "PNG", compress_level=1, transparency=0)
        else:
            p.save(buf, "PNG", compress_level=1)
    elif kind == "pngP4":
        im.quantize(colors=16).save(buf, "PNG", compress_level=1, bits=4)
    elif kind == "png1":
        Image.fromarray(grey, "L").convert("1").save(buf, "PNG", compress_level=1)
    elif kind == "pngI16":
        Image.fromarray((grey.astype(np.uint16) * rng.choice([1, 3, 257])).astype(np.uint16),
                        "I;16").save(buf, "PNG", compress_level=1)
    elif kind == "pngRGB16":
        return write_png(rgb.astype(np.uint16) * 257 + rng.randrange(257), 3, 16, 2), "png"
    elif kind == "pngRGBA16":
        return write_png(np.dstack([rgb, alpha]).astype(np.uint16) * 256 + 77, 4, 16, 6), "png"
    elif kind == "pngLA16":
        return write_png(np.dstack([grey, alpha]).astype(np.uint16) * 257, 2, 16, 4), "png"
    elif kind in ("pngL2", "pngL4"):
        bits = int(kind[-1])
        return write_png((grey >> (8 - bits))[..., None], 1, bits, 0), "png"
    elif kind == "pngRGBadam7":
        return write_png(rgb, 3, 8, 2, interlace=True), "png"
    elif kind == "pngPadam7":
        p = im.quantize(colors=32)
        pal = p.getpalette()[:32 * 3]
        return write_png(np.asarray(p)[..., None], 1, 8, 3, palette=pal, interlace=True), "png"
    return buf.getvalue(), "png"


def size_of(rng):
    roll = rng.random()
    if roll < 0.08:
        side = rng.randint(16, 64)
    elif roll < 0.95:
        side = rng.randint(64, 900)
    else:
        side = rng.randint(900, 2000)
    aspect = rng.choice([1.0, 4 / 3, 3 / 4, 16 / 9, 9 / 16, 2.5, 0.4, rng.uniform(0.2, 5)])
    h = max(16, min(2000, int(round(side / aspect ** 0.5))))
    w = max(16, min(2000, int(round(side * aspect ** 0.5))))
    return h, w


def crop_of(rng, h, w):
    kind = rng.random()
    if kind < 0.3:  # 4M's row 0: the centre square
        side = min(h, w)
        return (h - side) // 2, (w - side) // 2, side, side
    if kind < 0.75:  # a random-resized crop inside the image
        ch, cw = rng.randint(max(1, h // 4), h), rng.randint(max(1, w // 4), w)
        return rng.randint(0, h - ch), rng.randint(0, w - cw), ch, cw
    # partly outside (negative origin or past the edge), small ones included
    ch, cw = rng.randint(1, int(h * 1.3) + 1), rng.randint(1, int(w * 1.3) + 1)
    return rng.randint(-h // 3, h - 1), rng.randint(-w // 3, w - 1), ch, cw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=520)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pixels", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    kinds = JPEG_KINDS + PNG_KINDS
    with open(os.path.join(args.out, "manifest.jsonl"), "w") as manifest:
        for i in range(args.count):
            kind = kinds[i % len(kinds)]
            h, w = size_of(rng)
            data, ext = encode(rng, kind, natural(rng, h, w))
            name = f"case_{i:04d}.{ext}"
            with open(os.path.join(args.out, name), "wb") as f:
                f.write(data)
            decoded = Image.open(io.BytesIO(data)).convert("RGB")
            top, left, ch, cw = crop_of(rng, h, w)
            flip = rng.random() < 0.5
            size = rng.choice([224, 224, 448])
            out = decoded.crop((left, top, left + cw, top + ch)).resize((size, size),
                                                                         Image.BICUBIC)
            if flip:
                out = out.transpose(Image.FLIP_LEFT_RIGHT)
            if args.pixels:
                with open(os.path.join(args.out, f"case_{i:04d}.rgb"), "wb") as f:
                    f.write(out.tobytes())
            manifest.write(json.dumps({
                "file": name, "kind": kind, "height": decoded.height, "width": decoded.width,
                "decoded_sha256": hashlib.sha256(decoded.tobytes()).hexdigest(),
                "top": top, "left": left, "crop_height": ch, "crop_width": cw,
                "flip": flip, "size": size,
                "out_sha256": hashlib.sha256(out.tobytes()).hexdigest()}) + "\n")


if __name__ == "__main__":
    main()
