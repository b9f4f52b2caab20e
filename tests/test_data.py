"""The data layer: checksums, the mirror fill, and the documented error for missing or corrupt files."""
import gzip
import hashlib
import io
import os
import types

import pytest
import torch

from study import data

SHARED_MIRROR = data.DEFAULT_MIRROR  # the real one, read before any test replaces it


def test_corrupt_idx_file_is_rejected_with_file_and_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "no-mirror"))
    raw = data.raw_folder("mnist", tmp_path)
    raw.mkdir(parents=True)
    for fname in data.MD5["mnist"]:
        (raw / fname).write_bytes(b"\x00\x00\x08\x03 not an idx file")
    with pytest.warns(data.DataSourceWarning) as rec, pytest.raises(data.DataError) as err:
        data.ensure("mnist", tmp_path, download=False, verbose=False)
    assert any("STUDY_DATA_MIRROR='" in str(w.message) for w in rec)  # the bad variable is named
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and data.MD5["mnist"]["train-images-idx3-ubyte"] in msg
    assert "STUDY_DATA_MIRROR" in msg  # says how to supply it


def test_missing_file_error_names_file(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "no-mirror"))
    with pytest.raises(data.DataError, match="missing"):
        data.verify("fashion-mnist", tmp_path)


def test_a_folder_where_a_data_file_belongs_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "no-mirror"))
    raw = data.raw_folder("mnist", tmp_path)
    (raw / "train-images-idx3-ubyte").mkdir(parents=True)
    with pytest.raises(data.DataError, match=r"train-images-idx3-ubyte is not a file .*MD5"):
        data.verify("mnist", tmp_path, split="train")


def test_mirror_fill_with_bad_gz_is_not_accepted(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "mnist"
    mirror.mkdir(parents=True)
    for fname in data.MD5["mnist"]:
        with gzip.open(mirror / f"{fname}.gz", "wb") as f:
            f.write(b"wrong bytes")
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "mirror"))
    with pytest.warns(data.DataSourceWarning, match="uncompressed MD5"), pytest.raises(data.DataError):
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


# ---------------------------------------------------------------- sources, fall-through and the no-download loader
# Tiny fake IDX files stand in for the real ones: their MD5s replace the canonical ones in `data.MD5` for the test.
# Every test is cut off from the real mirror, Debian's folder and the network (the download is a recorder).

@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real mirror, no Debian folder, no network: the torchvision download records its call and fails."""
    monkeypatch.delenv("STUDY_DATA_MIRROR", raising=False)
    monkeypatch.setattr(data, "DEFAULT_MIRROR", tmp_path / "no-default-mirror")
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "no-debian")
    calls = []

    def offline(name, dest):
        calls.append((name, dest))
        raise OSError("network unreachable (test)")
    monkeypatch.setattr(data, "_torchvision_download", offline)
    return calls


def _idx(fname: str, n: int = 3, seed: int = 0) -> bytes:
    g = torch.Generator().manual_seed(seed)
    if "images" in fname:
        body = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
        return (0x803).to_bytes(4, "big") + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + body.numpy().tobytes()
    body = torch.randint(0, 10, (n,), generator=g, dtype=torch.uint8)
    return (0x801).to_bytes(4, "big") + n.to_bytes(4, "big") + body.numpy().tobytes()


def fake_set(monkeypatch, name: str) -> dict[str, bytes]:
    """Tiny valid IDX files for `name` (3 images per split), their MD5s made the expected ones."""
    files = {f: _idx(f, seed=i) for i, f in enumerate(data.MD5[name])}
    monkeypatch.setitem(data.MD5, name, {f: hashlib.md5(b).hexdigest() for f, b in files.items()})
    return files


def write_gz(folder, files: dict[str, bytes], truncate: dict[str, int] = {}):
    folder.mkdir(parents=True, exist_ok=True)
    for fname, content in files.items():
        blob = gzip.compress(content)
        (folder / f"{fname}.gz").write_bytes(blob[:truncate[fname]] if fname in truncate else blob)


def assert_filled(name, root, files):
    raw = data.raw_folder(name, root)
    for fname, content in files.items():
        assert (raw / fname).read_bytes() == content
    assert not list(raw.glob("*.part"))


def test_truncated_gz_in_mirror_falls_through_to_next_source(tmp_path, monkeypatch, isolated):
    files = fake_set(monkeypatch, "fashion-mnist")
    bad = "train-images-idx3-ubyte"
    write_gz(tmp_path / "mirror" / "fashion-mnist", files, truncate={bad: 200})
    write_gz(tmp_path / "debian", files)
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "debian")
    with pytest.warns(data.DataSourceWarning) as rec:
        data.ensure("fashion-mnist", tmp_path / "root", verbose=False)
    msgs = [str(w.message) for w in rec if issubclass(w.category, data.DataSourceWarning)]
    assert len(msgs) == 1  # only the bad file is reported
    assert f"{bad}.gz" in msgs[0] and "truncated" in msgs[0] and data.MD5["fashion-mnist"][bad] in msgs[0]
    assert_filled("fashion-mnist", tmp_path / "root", files)
    assert not isolated  # never reached the download
    split = data.load("fashion-mnist", "train", tmp_path / "root")
    assert split.images.shape == (3, 1, 28, 28) and split.images.dtype == torch.uint8
    assert split.labels.shape == (3,) and split.labels.dtype == torch.int64
    assert split.images.numpy().tobytes() == files[bad][16:]


@pytest.mark.skipif(not (SHARED_MIRROR / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file(),
                    reason="no shared data mirror")
def test_truncated_real_gz_falls_through_to_download(tmp_path, monkeypatch):
    fname = "t10k-labels-idx1-ubyte"
    real_gz = SHARED_MIRROR / "mnist" / f"{fname}.gz"
    monkeypatch.setitem(data.MD5, "mnist", {fname: data.MD5["mnist"][fname]})
    (tmp_path / "mirror" / "mnist").mkdir(parents=True)
    blob = real_gz.read_bytes()
    (tmp_path / "mirror" / "mnist" / f"{fname}.gz").write_bytes(blob[: len(blob) // 2])
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "mirror"))
    calls = []

    def download(name, dest):
        calls.append(name)
        raw = data.raw_folder(name, dest)
        raw.mkdir(parents=True)
        (raw / fname).write_bytes(gzip.decompress(blob))
        return raw
    monkeypatch.setattr(data, "_torchvision_download", download)
    with pytest.warns(data.DataSourceWarning, match=rf"{fname}\.gz: truncated gzip.*{data.MD5['mnist'][fname]}"):
        raw = data.ensure("mnist", tmp_path / "root", verbose=False)
    assert calls == ["mnist"]
    assert data.md5sum(raw / fname) == data.MD5["mnist"][fname]
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["MNIST"]  # the download folder is gone


def test_all_sources_bad_names_file_checksum_and_each_source(tmp_path, monkeypatch, isolated):
    files = fake_set(monkeypatch, "fashion-mnist")
    fname = "t10k-images-idx3-ubyte"
    md5 = data.MD5["fashion-mnist"][fname]
    root = tmp_path / "root"
    raw = data.raw_folder("fashion-mnist", root)
    raw.mkdir(parents=True)
    for f, content in files.items():
        (raw / f).write_bytes(content)
    (raw / fname).write_bytes(b"corrupt")  # already there, wrong
    write_gz(tmp_path / "mirror" / "fashion-mnist", {fname: files[fname]}, truncate={fname: 30})
    (tmp_path / "debian").mkdir()
    (tmp_path / "debian" / f"{fname}.gz").write_bytes(gzip.compress(b"other bytes"))
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "debian")
    with pytest.warns(data.DataSourceWarning), pytest.raises(data.DataError) as err:
        data.ensure("fashion-mnist", root, verbose=False)
    msg = str(err.value)
    assert fname in msg and md5 in msg
    assert "already there" in msg and hashlib.md5(b"corrupt").hexdigest() in msg
    assert str(tmp_path / "mirror" / "fashion-mnist" / f"{fname}.gz") in msg and "truncated gzip" in msg
    assert str(tmp_path / "debian" / f"{fname}.gz") in msg and hashlib.md5(b"other bytes").hexdigest() in msg
    assert "torchvision download: failed" in msg and "network unreachable" in msg and len(isolated) == 1
    assert "STUDY_DATA_MIRROR" in msg and "make data" in msg  # how to supply it
    assert "train-images-idx3-ubyte" not in msg  # the good files are not blamed
    assert (raw / fname).read_bytes() == b"corrupt"  # nothing replaced it; nothing half-written
    assert not list(root.rglob("*.part")) and not list(root.glob(".download-*"))


def test_interrupted_decompression_leaves_no_partial_file(tmp_path, monkeypatch):
    files = fake_set(monkeypatch, "mnist")
    write_gz(tmp_path / "mirror" / "mnist", files)
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setattr(data, "_CHUNK", 64)

    class Interrupted(io.BytesIO):  # the second block read never comes (Ctrl-C mid-file)
        def read(self, n=-1):
            if self.tell():
                raise KeyboardInterrupt
            return super().read(n)
    monkeypatch.setattr(data, "gzip", types.SimpleNamespace(open=lambda p, mode: Interrupted(b"x" * 1000)))
    with pytest.raises(KeyboardInterrupt):
        data.ensure("mnist", tmp_path / "root", download=False, verbose=False)
    assert not any(data.raw_folder("mnist", tmp_path / "root").iterdir())


def test_load_never_downloads_nor_copies(tmp_path, monkeypatch, isolated):
    import torchvision
    files = fake_set(monkeypatch, "mnist")
    write_gz(tmp_path / "mirror" / "mnist", files)  # a good mirror is there: load must not use it either
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "mirror"))
    tv_calls = []
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", lambda self: tv_calls.append(self))
    with pytest.raises(data.DataError) as err:
        data.load("mnist", "test", tmp_path / "root")
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte is missing" in msg and data.MD5["mnist"]["t10k-images-idx3-ubyte"] in msg
    assert "make data" in msg
    assert not isolated and not tv_calls and not (tmp_path / "root").exists()
    # filled by `ensure`, it loads; a file corrupted afterwards (same size and mtime) is refused
    data.ensure("mnist", tmp_path / "root", download=False, verbose=False)
    assert len(data.load("mnist", "test", tmp_path / "root")) == 3
    path = data.raw_folder("mnist", tmp_path / "root") / "train-labels-idx1-ubyte"
    st = path.stat()
    path.write_bytes(path.read_bytes()[:-1] + b"\xff")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(data.DataError, match="train-labels-idx1-ubyte is corrupt"):
        data.load("mnist", "train", tmp_path / "root")
    assert not isolated and not tv_calls


@pytest.mark.parametrize("case", ["missing", "file", "no-subfolder"])
def test_bad_mirror_variable_is_named(tmp_path, monkeypatch, case):
    value = tmp_path / "m"
    if case == "file":
        value.write_text("not a folder")
    elif case == "no-subfolder":
        (value / "MNIST").mkdir(parents=True)
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(value))
    fake_set(monkeypatch, "mnist")
    with pytest.warns(data.DataSourceWarning, match=rf"STUDY_DATA_MIRROR='{value}'"), \
            pytest.raises(data.DataError) as err:
        data.ensure("mnist", tmp_path / "root", verbose=False)
    assert f"STUDY_DATA_MIRROR='{value}'" in str(err.value)
    # and the next source is still tried: Debian's folder gives Fashion-MNIST
    files = fake_set(monkeypatch, "fashion-mnist")
    write_gz(tmp_path / "debian", files)
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "debian")
    with pytest.warns(data.DataSourceWarning, match="STUDY_DATA_MIRROR"):
        data.ensure("fashion-mnist", tmp_path / "root", verbose=False)
    assert_filled("fashion-mnist", tmp_path / "root", files)


def test_default_mirror_used_when_variable_unset(tmp_path, monkeypatch, isolated):
    files = fake_set(monkeypatch, "mnist")
    write_gz(tmp_path / "shared" / "mnist", files)
    monkeypatch.setattr(data, "DEFAULT_MIRROR", tmp_path / "shared")
    data.ensure("mnist", tmp_path / "root", verbose=False)
    assert_filled("mnist", tmp_path / "root", files)
    assert not isolated


def test_main_reverifies_existing_files_every_time(tmp_path, monkeypatch, capsys):
    sets = {name: fake_set(monkeypatch, name) for name in data.MD5}
    for name, files in sets.items():
        write_gz(tmp_path / "mirror" / name, files)
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "mirror"))
    assert data.main([str(tmp_path / "root")]) == 0
    monkeypatch.setenv("STUDY_DATA_MIRROR", str(tmp_path / "gone"))
    path = data.raw_folder("mnist", tmp_path / "root") / "t10k-labels-idx1-ubyte"
    st = path.stat()
    path.write_bytes(b"\x00" * st.st_size)  # same size and mtime: only hashing can tell
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    capsys.readouterr()
    assert data.main([str(tmp_path / "root")]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert any(x.startswith("fashion-mnist: verified") for x in lines)
    assert not any(x.startswith("mnist: verified") for x in lines)
    assert "warning:" in err and "error:" in err and "t10k-labels-idx1-ubyte" in err
    assert data.MD5["mnist"]["t10k-labels-idx1-ubyte"] in err and "STUDY_DATA_MIRROR" in err
