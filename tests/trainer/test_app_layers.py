"""The comparator's display layers (trainer.app.layers): conversion, placement, pyramid, heat-map."""

from __future__ import annotations

import numpy as np

from trainer.app.layers import Layer, build_pyramid, colormap_lut, heatmap, to_display_u8


def layers(w=64, h=48, scale=4):
    rng = np.random.default_rng(0)
    lr = rng.integers(0, 255, (h // scale, w // scale, 3), dtype=np.uint8)
    out = {"lr": Layer("lr", "LR", lr, factor=scale, nearest=True)}
    for key in ("bicubic", "sr", "hr"):
        out[key] = Layer(key, key, rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    return out


def test_lr_layer_is_placed_on_the_canvas_by_its_factor():
    lay = layers(64, 48)
    assert lay["lr"].canvas_size == (64, 48) and lay["lr"].pixels.shape[:2] == (12, 16)


def test_display_conversion_of_16bit_grey_and_alpha():
    rng = np.random.default_rng(1)
    u16 = rng.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    assert np.array_equal(to_display_u8(u16), np.round(u16 / 257.0).astype(np.uint8))
    dark = np.full((2, 2, 1), 200, np.uint16)  # a dark 16-bit image is not mistaken for 8-bit
    assert to_display_u8(dark).max() == 1
    grey = rng.integers(0, 256, (4, 4), dtype=np.uint8)
    assert np.array_equal(to_display_u8(grey), np.repeat(grey[:, :, None], 3, axis=2))
    rgb = np.full((1, 2, 3), 100, np.uint8)
    alpha = np.array([[0, 255]], np.uint8)
    assert to_display_u8(rgb, alpha).tolist() == [[[255, 255, 255], [100, 100, 100]]]


def test_pyramid_and_heatmap():
    arr = np.zeros((1000, 600, 3), np.uint8)
    arr[::2, ::2] = 255
    levels = build_pyramid(arr)
    assert [lv.shape[:2] for lv in levels] == [(1000, 600), (500, 300), (250, 150)]
    assert levels[1].min() == 64 and levels[1].max() == 64  # box average: (255 + 3 * 0) / 4
    lut = colormap_lut()
    assert heatmap(np.array([[0.0, 1000.0]]), 32.0).tolist() == [[lut[0].tolist(), lut[255].tolist()]]


def test_layers_are_c_contiguous_so_the_view_never_copies_them():
    transposed = np.zeros((3, 40, 30), np.uint8).transpose(1, 2, 0)  # like imresize's output
    assert not transposed.flags["C_CONTIGUOUS"]
    layer = Layer("bicubic", "Bicubic", transposed)
    assert all(level.flags["C_CONTIGUOUS"] for level in layer.levels)
