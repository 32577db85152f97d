"""The pyfunc's output frame for image models: one row per image, label + shape + pixels."""

import numpy as np

from synthgen.models.imaging.synthesizer import SyntheticImages
from synthgen.serving import samples_to_frame


def test_image_samples_become_one_row_per_image():
    images = np.arange(3 * 1 * 4 * 4, dtype=np.float32).reshape(3, 1, 4, 4) / 48.0
    frame = samples_to_frame(SyntheticImages(images, ["a", "a", "b"]), {"a": 2, "b": 1})
    assert frame["label"].tolist() == ["a", "a", "b"]
    assert frame["shape"].tolist() == [[1, 4, 4]] * 3
    assert np.allclose(np.asarray(frame["pixels"][2]).reshape(1, 4, 4), images[2])
