"""Keras decoder layers of UNet / FCN / DeepLab models: Conv2DTranspose -> TRANSPOSE_CONV and
UpSampling2D(interpolation="bilinear") -> RESIZE_BILINEAR (tf.image.resize: half-pixel centers).
Installed into converters/keras.LAYER_HANDLERS by ``install``."""
from __future__ import annotations

import numpy as np

from converters.keras_layers import pair, single_input
from tinycnn.ir import Op


def conv2d_transpose_layer(cx, inputs):
    x = single_input(cx, inputs, (4,))
    kernel, strides = pair(cx.cfg("kernel_size")), pair(cx.cfg("strides", 1))
    if tuple(pair(cx.cfg("dilation_rate", 1))) != (1, 1):
        cx.fail("Conv2DTranspose with dilation_rate > 1 is not supported")
    if int(cx.cfg("groups", 1) or 1) != 1:
        cx.fail("grouped Conv2DTranspose is not supported")
    filters, cin = int(cx.cfg("filters")), cx.shape(x)[3]
    out_pad = cx.cfg("output_padding")
    out_pad = [0, 0] if out_pad is None else list(pair(out_pad))
    same = str(cx.cfg("padding", "valid")) == "same"
    _, h, w, _ = cx.shape(x)
    pads, size = [0, 0, 0, 0], []
    for i, n in enumerate((h, w)):
        k, s = kernel[i], strides[i]
        out = n * s if same else (n - 1) * s + k
        total = max((n - 1) * s + k - out, 0) if same else 0
        pads[i], pads[i + 2] = total // 2, total - total // 2
        size.append(out + out_pad[i])
    use_bias = bool(cx.cfg("use_bias", True))
    wts = cx.weights(["kernel"] + (["bias"] if use_bias else []),
                     {"kernel": (kernel[0], kernel[1], filters, cin), "bias": (filters,)})
    wk = wts["kernel"].reshape(kernel[0], kernel[1], filters, cin).transpose(2, 0, 1, 3)  # [Cout, KH, KW, Cin]
    bias = wts["bias"] if use_bias else np.zeros(filters, np.float32)
    y = cx.emit(Op.TRANSPOSE_CONV, [x, cx.const("kernel", wk), cx.const("bias", bias)],
                {"stride": list(strides), "pad": pads, "output_size": size})
    return cx.activation(y, cx.cfg("activation"))


def _upsampling_bilinear(nearest):
    def handler(cx, inputs):
        if str(cx.cfg("interpolation", "nearest")) != "bilinear":
            return nearest(cx, inputs)
        x = single_input(cx, inputs, (4,))
        sh, sw = pair(cx.cfg("size", 2))
        _, h, w, _ = cx.shape(x)
        return cx.emit(Op.RESIZE_BILINEAR, [x], {"size": [h * sh, w * sw], "align_corners": False,
                                                 "half_pixel_centers": True})
    return handler


def install(handlers):
    handlers.update({"Conv2DTranspose": conv2d_transpose_layer, "Convolution2DTranspose": conv2d_transpose_layer,
                     "UpSampling2D": _upsampling_bilinear(handlers["UpSampling2D"])})
