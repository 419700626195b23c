"""Data layer: MNIST / Fashion-MNIST (local IDX or TFDS), MNIST-M, user arrays, transforms."""

from keras_ae.data.idx import read_idx, write_idx
from keras_ae.data.images import bsds500_photo_names, load_gray_image, read_image, resolve_image
from keras_ae.data.mnist_m import MnistM, build_mnist_m, load_mnist_m
from keras_ae.data.sources import (
    CLASS_NAMES,
    DATA_DIR_ENV,
    DATASETS,
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    Split,
    cache_dir,
    load_dataset,
    resolve_data_dir,
)
from keras_ae.data.transforms import (
    add_gaussian_noise,
    batches_per_epoch,
    epoch_permutation,
    flatten,
    from_signed,
    image_to_patches,
    load_user_array,
    make_dataset,
    patches_to_image,
    random_patches,
    scale,
    to_display,
    to_signed,
    to_unit,
)

__all__ = [
    "CLASS_NAMES", "DATA_DIR_ENV", "DATASETS", "FASHION_MNIST_CLASSES", "MNIST_CLASSES", "MnistM",
    "Split", "add_gaussian_noise", "batches_per_epoch", "bsds500_photo_names", "build_mnist_m", "cache_dir", "epoch_permutation",
    "flatten", "from_signed", "image_to_patches", "load_dataset", "load_gray_image", "load_mnist_m", "load_user_array",
    "make_dataset", "patches_to_image", "random_patches", "read_idx", "read_image", "resolve_data_dir", "resolve_image",
    "scale", "to_display", "to_signed", "to_unit", "write_idx",
]
