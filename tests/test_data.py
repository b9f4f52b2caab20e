"""The data layer: checksums, the mirror fill, and the documented error for missing or corrupt files."""
import gzip

import pytest
import torch

from study import data


def test_corrupt_idx_file_is_rejected_with_file_and_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "no-mirror"))
    raw = data.raw_folder("mnist", tmp_path)
    raw.mkdir(parents=True)
    for fname in data.MD5["mnist"]:
        (raw / fname).write_bytes(b"\x00\x00\x08\x03 not an idx file")
    with pytest.raises(data.DataError) as err:
        data.ensure("mnist", tmp_path, download=False, verbose=False)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and data.MD5["mnist"]["train-images-idx3-ubyte"] in msg
    assert "STUDY_DATA_MIRROR" in msg  # says how to supply it


def test_missing_file_error_names_file(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "no-mirror"))
    with pytest.raises(data.DataError, match="missing"):
        data.verify("fashion-mnist", tmp_path)


def test_mirror_fill_with_bad_gz_is_not_accepted(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "mnist"
    mirror.mkdir(parents=True)
    for fname in data.MD5["mnist"]:
        with gzip.open(mirror / f"{fname}.gz", "wb") as f:
            f.write(b"wrong bytes")
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "mirror"))
    with pytest.raises(data.DataError):
        data.ensure("mnist", tmp_path / "root", download=False, verbose=False)
    # nothing wrong or half-written is left behind
    assert not any(p.suffix == ".part" for p in (tmp_path / "root").rglob("*"))
    assert not any((tmp_path / "root").rglob("*-ubyte"))


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="dataset"):
        data.raw_folder("cifar10")
    with pytest.raises(ValueError, match="split"):
        data.load("mnist", "validation")


def test_balanced_indices_are_balanced_and_disjoint():
    labels = torch.arange(10).repeat_interleave(50)
    g = torch.Generator().manual_seed(0)
    a = data.balanced_indices(labels, 20, generator=g)
    b = data.balanced_indices(labels, 10, generator=g, exclude=a)
    assert torch.bincount(labels[a]).tolist() == [20] * 10
    assert torch.bincount(labels[b]).tolist() == [10] * 10
    assert not set(a.tolist()) & set(b.tolist())
    with pytest.raises(ValueError, match="per_class"):
        data.balanced_indices(labels, 51, generator=g)


@pytest.mark.skipif(not (data.raw_folder("mnist") / "t10k-labels-idx1-ubyte").exists(), reason="run `make data`")
def test_real_mnist_loads_as_uint8_tensors():
    test = data.load("mnist", "test")
    assert test.images.shape == (10000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert torch.bincount(test.labels).sum() == 10000 and test.labels.max() == 9
    x = test.float()
    assert 0.0 <= x.min() and x.max() <= 1.0
