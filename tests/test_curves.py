"""Synthetic regular vs shaky curves (study.curves)."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from study import curves

SMALL = dict(image_size=16, n_train=24, n_test=8, amplitude=(0.03, 0.05), wavelength=(0.12, 0.24))


@pytest.mark.parametrize("name", curves.DATASETS)
def test_generate_is_binary_balanced_and_seeded(name):
    p = curves.CurveParams(dataset=name, **SMALL)
    a = curves.generate(p, seed=1, cache_dir=None, progress=False)
    b = curves.generate(p, seed=1, cache_dir=None, progress=False)
    c = curves.generate(p, seed=2, cache_dir=None, progress=False)
    assert a.x_train.shape == (24, 1, 16, 16) and a.x_train.dtype == torch.uint8
    assert set(a.x_train.unique().tolist()) <= {0, 1} and a.x_train.sum() > 0
    assert a.y_train.sum().item() == 12 and a.y_test.sum().item() == 4
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


def test_cache_roundtrip_and_manifest(tmp_path):
    p = curves.CurveParams(dataset="shapes", **SMALL)
    a = curves.generate(p, seed=0, cache_dir=tmp_path)
    b = curves.generate(p, seed=0, cache_dir=tmp_path)
    assert not a.cached and b.cached
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    man = json.loads((tmp_path / f"shapes-{curves.cache_key(p, 0)}.json").read_text())
    assert man["seed"] == 0 and man["params"]["image_size"] == 16 and man["generation_seconds"] >= 0
    # other parameters -> another file
    assert curves.cache_key(replace(p, n_waves=2), 0) != curves.cache_key(p, 0) != curves.cache_key(p, 1)


def test_tremor_moves_points_along_normals_within_amplitude():
    pts, nrm = curves.resample_closed(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float), 0.01)
    assert len(pts) == 400 and np.allclose(np.linalg.norm(nrm, axis=1), 1)
    moved = curves.tremor(pts, nrm, np.random.default_rng(0), (0.01, 0.02), (0.1, 0.2), 3, 0.01)
    d = moved - pts
    along = (d * nrm).sum(1)
    assert np.allclose(d, along[:, None] * nrm)               # only along the normal
    assert np.abs(along).max() <= 3 * 0.02 + 1e-12            # bounded by the summed amplitudes
    assert np.abs(along).max() > 0.01                         # and really moved


def test_augment_identity_when_all_ranges_are_zero():
    p = curves.CurveParams(dataset="shapes", image_size=16, degrees=0, shear=0, scale=(1.0, 1.0), translate=0,
                           elastic_alpha=0.0)
    img = (torch.rand(5, 1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    assert torch.equal(curves.augment(img, p, seed=0), img.to(torch.uint8))


def test_match_ink_reduces_the_ink_gap():
    base = dict(dataset="shapes", image_size=24, n_train=200, n_test=40, amplitude=(0.02, 0.032),
                wavelength=(0.08, 0.16), elastic_alpha=0.0)
    gaps = {}
    for m in (False, True):
        cs = curves.generate(curves.CurveParams(**base, match_ink=m), seed=0, cache_dir=None)
        ink = cs.x_train.float().mean(dim=(1, 2, 3))
        gaps[m] = (ink[cs.y_train == 1].mean() - ink[cs.y_train == 0].mean()).item()
    assert gaps[False] > 0 and abs(gaps[True]) < 0.5 * gaps[False]


@pytest.mark.parametrize("bad", [dict(dataset="digits"), dict(image_size=20), dict(n_train=7), dict(n_waves=0),
                                 dict(amplitude=(0.02, 0.01)), dict(spacing=1.0)])
def test_bad_parameters_raise(bad):
    with pytest.raises(ValueError):
        curves.generate(curves.CurveParams(**{**SMALL, **bad}), seed=0, cache_dir=None)
    with pytest.raises(ValueError):
        curves.generate(curves.CurveParams(**SMALL), seed=-1, cache_dir=None)


def test_cache_files_are_written_whole_even_when_writers_interleave(tmp_path):
    target = tmp_path / "set.pt"

    def inner(f):
        f.write(b"second writer")

    def outer(f):
        f.write(b"first ")
        curves._write_whole(target, inner)  # another writer finishes while this one is half way
        f.write(b"writer")

    curves._write_whole(target, outer)
    assert target.read_bytes() == b"first writer"  # the last rename wins, whole
    with pytest.raises(RuntimeError):
        curves._write_whole(target, lambda f: (f.write(b"partial"), (_ for _ in ()).throw(RuntimeError("disk"))))
    assert target.read_bytes() == b"first writer" and sorted(p.name for p in tmp_path.iterdir()) == ["set.pt"]


def _generate_shapes(cache_dir):
    cs = curves.generate(curves.CurveParams(dataset="shapes", **SMALL), seed=5, cache_dir=cache_dir)
    return cs.x_train


def test_two_processes_may_generate_the_same_set_at_once(tmp_path):
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        a, b = pool.map(_generate_shapes, [tmp_path, tmp_path])
    loaded = curves.generate(curves.CurveParams(dataset="shapes", **SMALL), seed=5, cache_dir=tmp_path)
    assert loaded.cached and torch.equal(a, b) and torch.equal(loaded.x_train, a)
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".part"]
    assert json.loads(next(tmp_path.glob("*.json")).read_text())["seed"] == 5
