"""Keras (.keras zip / .h5) -> tinycnn IR (float, NHWC), with h5py and the standard library only.

Keras is channels-last, so the graph input is NHWC (meta input layout "NHWC") and Flatten is a
plain RESHAPE. Files: keras_format.py (reading configs and weights), keras_graph.py (walking
Sequential / Functional models, nested models flattened), keras_layers.py and
keras_shape_layers.py (one handler per Keras layer class).

Extending: ``LAYER_HANDLERS`` maps a Keras ``class_name`` to a handler

    def handler(cx: converters.keras_graph.LayerContext, inputs: list[str]) -> str | list[str]

``inputs`` are the IR tensor names feeding the layer call; the handler reads ``cx.config`` /
``cx.cfg(key, default)``, gets weight arrays with ``cx.weights(["kernel", "bias"], shapes)``
(names in the order Keras creates them — .keras files store them by position), emits nodes
with ``cx.emit(op, inputs, attrs, suffix=None)`` / ``cx.const(suffix, array)``, applies a
Keras activation with ``cx.activation(x, cx.cfg("activation"))``, raises with
``cx.fail(reason)``, and returns the output tensor name(s). Other modules register handlers
by adding to this dict (see converters/keras_larq.py, imported at the end of this module).
"""
from __future__ import annotations

from pathlib import Path

from converters import keras_layers as L
from converters import keras_shape_layers as S
from converters.keras_format import open_keras_file
from converters.keras_graph import KerasImporter
from converters.keras_seg_layers import install as install_seg_layers
from tinycnn.ir import Graph

_DROPPED = ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
            "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity"]

LAYER_HANDLERS = {
    "Conv2D": L.conv2d_layer, "Convolution2D": L.conv2d_layer, "Conv1D": L.conv1d_layer,
    "Convolution1D": L.conv1d_layer,
    "DepthwiseConv2D": L.depthwise_conv2d_layer, "SeparableConv2D": L.separable_conv2d_layer,
    "SeparableConvolution2D": L.separable_conv2d_layer, "Dense": L.dense_layer,
    "BatchNormalization": L.batch_norm_layer, "Normalization": L.normalization_layer,
    "Rescaling": L.rescaling_layer,
    "Activation": L.activation_layer, "ReLU": L.relu_layer, "LeakyReLU": L.leaky_relu_layer,
    "PReLU": L.prelu_layer, "Softmax": L.softmax_layer,
    "MaxPooling2D": S.max_pool2d, "MaxPool2D": S.max_pool2d,
    "AveragePooling2D": S.avg_pool2d, "AvgPool2D": S.avg_pool2d,
    "MaxPooling1D": S.max_pool1d, "MaxPool1D": S.max_pool1d,
    "AveragePooling1D": S.avg_pool1d, "AvgPool1D": S.avg_pool1d,
    "GlobalAveragePooling2D": S.global_avg_pool2d, "GlobalAvgPool2D": S.global_avg_pool2d,
    "GlobalMaxPooling2D": S.global_max_pool2d, "GlobalMaxPool2D": S.global_max_pool2d,
    "GlobalAveragePooling1D": S.global_avg_pool1d, "GlobalAvgPool1D": S.global_avg_pool1d,
    "GlobalMaxPooling1D": S.global_max_pool1d, "GlobalMaxPool1D": S.global_max_pool1d,
    "Flatten": S.flatten_layer, "Reshape": S.reshape_layer,
    "Add": S.add_layer, "Subtract": S.subtract_layer, "Multiply": S.multiply_layer,
    "Concatenate": S.concatenate_layer,
    "ZeroPadding2D": S.zero_padding2d, "ZeroPadding1D": S.zero_padding1d,
    "Cropping2D": S.cropping2d, "Cropping1D": S.cropping1d,
    "UpSampling2D": S.upsampling2d, "UpSampling1D": S.upsampling1d,
    **{name: S.identity_layer for name in _DROPPED},
}
install_seg_layers(LAYER_HANDLERS)  # Conv2DTranspose, bilinear UpSampling2D (converters/keras_seg_layers.py)


def load_keras(path, pool_backend=None, input_shapes=None) -> Graph:
    """Read a Keras .keras / .h5 model file into a float NHWC Graph (no passes applied).

    pool_backend: whose padding rule to reproduce for asymmetric 'same' average pooling
    ('torch' replicates the edge; 'tensorflow' / 'jax' exclude the padding). Default: the
    backend recorded in an .h5 file; for .keras files (which record none), 'torch'.
    input_shapes: {input name: shape} for inputs with None spatial dims (converters/input_shapes.py)."""
    kf = open_keras_file(Path(path))
    try:
        return KerasImporter(kf, LAYER_HANDLERS, pool_backend, input_shapes).run()
    finally:
        kf.close()


try:
    import converters.keras_larq  # noqa: F401  (registers Larq layers)
except ModuleNotFoundError as exc:
    if exc.name != "converters.keras_larq":
        raise
