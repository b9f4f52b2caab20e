"""MNIST and Fashion-MNIST as in-memory tensors, filled from a local mirror when there is no network.

`ensure` (run by ``make data``, i.e. ``python -m study.data``) makes sure that ``<root>/MNIST/raw/`` and
``<root>/FashionMNIST/raw/`` hold the four uncompressed IDX files of each set with their canonical MD5 sums, taking
each file from the first of these sources that gives it with the right sum:

1. the file already in ``<root>`` (hashed on every call, never trusted from a stamp),
2. a mirror folder of gzipped IDX files: ``$STUDY_DATA_MIRROR`` when set, else ``../shared/data`` next to the
   repository (layout ``mnist/*.gz``, ``fashion-mnist/*.gz``),
3. Debian's ``/usr/share/datasets/fashion-mnist/`` (package ``dataset-fashion-mnist``; Fashion-MNIST only),
4. torchvision's own download (needs the network; into a temporary folder, then checked like the others).

A source that lacks a file is passed over quietly. A source whose file is unusable (a truncated or damaged ``.gz``,
a wrong MD5 once decompressed), a file already there with a wrong MD5, or a ``STUDY_DATA_MIRROR`` that is not a
folder of the expected layout is named in a `DataSourceWarning` (file, expected MD5, what was found) and the next
source is tried. Only when no source gives a valid file does `ensure` raise `DataError`, naming the file, the
expected MD5, what each source gave and how to supply it.

Every file is decompressed under a temporary name beside its destination, hashed while written, and renamed to its
final name only when whole and correct: neither an interrupted fill nor a bad source leaves a partial or wrong file
under the final name.

`load` never downloads or copies anything: it verifies and reads what `ensure` put there (a missing or corrupt file
is a `DataError` that says to run ``make data``). Each split is decoded once into a uint8 tensor and kept in memory;
batches are sliced from tensors, never decoded per sample.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import tempfile
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where used, so that `python -m study.data` starts fast
    import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = REPO_ROOT / "data"
#: Environment variable naming a mirror folder (layout ``mnist/*.gz``, ``fashion-mnist/*.gz``).
MIRROR_ENV = "STUDY_DATA_MIRROR"
#: The mirror used when ``$STUDY_DATA_MIRROR`` is unset or empty (and only if it exists).
DEFAULT_MIRROR = REPO_ROOT.parent / "shared" / "data"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
_CHUNK = 1 << 20

#: Canonical MD5 sums of the *uncompressed* IDX files (LeCun et al.; Xiao et al. 2017).
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}
#: torchvision's folder name under root for each data set.
TV_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
#: File-name prefix of each split.
SPLIT_PREFIX = {"train": "train", "test": "t10k"}
CLASSES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}


class DataError(RuntimeError):
    """A data file is missing or corrupt; the message names the file, the expected MD5 and how to supply it."""


class DataSourceWarning(UserWarning):
    """A source could not give a file (corrupt or truncated, wrong MD5, bad ``$STUDY_DATA_MIRROR``); the next
    source is tried. The message names the file or variable, the expected MD5 and what was found."""


def _check_name(name: str) -> str:
    if name not in MD5:
        raise ValueError(f"dataset={name!r} is not known; accepted: {sorted(MD5)}")
    return name


def _check_split(split: str | None) -> str | None:
    if split is not None and split not in SPLIT_PREFIX:
        raise ValueError(f"split={split!r} is not accepted; use 'train' or 'test'")
    return split


def md5sum(path: Path, chunk: int = _CHUNK) -> str:
    """MD5 hex digest (32 lowercase hex characters) of a file's bytes.

    Raises:
        OSError: the file cannot be read.
    """
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def raw_folder(name: str, root: Path | str = DEFAULT_ROOT) -> Path:
    """``<root>/MNIST/raw`` or ``<root>/FashionMNIST/raw``: where torchvision reads the IDX files.

    Raises:
        ValueError: unknown `name`.
    """
    return Path(root) / TV_FOLDER[_check_name(name)] / "raw"


@dataclass(frozen=True)
class Source:
    """A folder a file can be taken from (``<folder>/<file>.gz`` or ``<folder>/<file>``), in the order of the
    module docstring. When the whole source is unusable, ``folder`` is None and ``problem`` says why; ``warn``
    marks a problem the user should hear about (a misconfigured ``$STUDY_DATA_MIRROR``), as opposed to a source
    that is simply not installed here."""

    label: str
    folder: Path | None
    problem: str | None = None
    warn: bool = False


def folder_sources(name: str) -> list[Source]:
    """The folder sources tried for data set `name`, in order (after the files already there, before the download).

    ``$STUDY_DATA_MIRROR`` when set and non-empty; a value that is not an existing folder, or a folder without a
    ``<name>/`` sub-folder, gives a `Source` whose problem names the variable and the value. Otherwise the default
    mirror ``../shared/data`` when it exists. Then Debian's folder, for Fashion-MNIST only.

    Raises:
        ValueError: unknown `name`.
    """
    _check_name(name)
    out = []
    env = os.environ.get(MIRROR_ENV)
    if env:
        base = Path(env).expanduser()
        label = f"mirror {MIRROR_ENV}={env!r}"
        layout = f"expected a folder holding {name}/<file>.gz (layout mnist/*.gz, fashion-mnist/*.gz)"
        if not base.exists():
            out.append(Source(label, None, f"{MIRROR_ENV}={env!r}: no such folder; {layout}", warn=True))
        elif not base.is_dir():
            out.append(Source(label, None, f"{MIRROR_ENV}={env!r} is a file, not a folder; {layout}", warn=True))
        elif not (base / name).is_dir():
            out.append(Source(label, None, f"{MIRROR_ENV}={env!r} has no sub-folder {name}/; {layout}", warn=True))
        else:
            out.append(Source(label, base / name))
    elif (DEFAULT_MIRROR / name).is_dir():
        out.append(Source(f"default mirror {DEFAULT_MIRROR}", DEFAULT_MIRROR / name))
    else:
        out.append(Source("default mirror", None, f"{DEFAULT_MIRROR / name} is not there and {MIRROR_ENV} is unset"))
    if name == "fashion-mnist":
        if DEBIAN_FASHION.is_dir():
            out.append(Source(f"Debian {DEBIAN_FASHION}", DEBIAN_FASHION))
        else:
            out.append(Source("Debian", None, f"{DEBIAN_FASHION} is not there (package dataset-fashion-mnist)"))
    return out


def _how_to_supply(name: str, root: Path) -> str:
    return (
        f"To supply it, run `make data` (`python -m study.data [root]`), which takes it from, in order: a mirror "
        f"folder named by {MIRROR_ENV} holding '{name}/<file>.gz' (default: the repository's sibling "
        f"../shared/data); "
        + (
            "Debian's package dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`); "
            if name == "fashion-mnist"
            else ""
        )
        + f"torchvision's download when the network is reachable. Or copy the uncompressed file into "
        f"{raw_folder(name, root)}/."
    )


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _decompress_checked(src: Path, dst: Path, expected: str) -> str | None:
    """Decompress (``.gz``) or copy `src` to `dst` whole, keeping it only when its MD5 is `expected`.

    Writes a temporary ``<dst>.<random>.part`` beside `dst`, hashing the bytes as they are written, and renames it
    to `dst` only when complete and correct; otherwise removes it and leaves `dst` as it was.

    Returns:
        None on success, else what was found in `src` (truncated or corrupt gzip, unreadable, wrong MD5).

    Raises:
        OSError: the destination cannot be written (permissions, disk full): not a problem of the source.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dst.name + ".", suffix=".part", dir=dst.parent)
    h, n = hashlib.md5(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                inp = gzip.open(src, "rb") if src.suffix == ".gz" else open(src, "rb")
            except OSError as exc:
                return f"unreadable ({_one_line(exc)})"
            with inp:
                while True:
                    try:
                        block = inp.read(_CHUNK)
                    except EOFError as exc:
                        return f"truncated gzip: it ends after {n} uncompressed bytes ({_one_line(exc)})"
                    except (OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
                        return f"corrupt after {n} uncompressed bytes ({_one_line(exc)})"
                    if not block:
                        break
                    h.update(block)
                    out.write(block)
                    n += len(block)
        got = h.hexdigest()
        if got != expected:
            return f"uncompressed MD5 {got} ({n} bytes)"
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
        return None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _warn(message: str) -> None:
    warnings.warn(message, DataSourceWarning, stacklevel=3)


def _torchvision_download(name: str, dest: Path) -> Path:
    """Download data set `name` with torchvision into the fresh folder `dest`; return the folder of its raw files.

    Needs the network. Raises whatever torchvision raises (RuntimeError, URLError, OSError, ...).
    """
    from torchvision import datasets

    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    cls(root=str(dest), train=True, download=True)  # fetches all four files
    return raw_folder(name, dest)


_VERIFIED: dict[Path, tuple[int, int, int]] = {}


def verify(
    name: str, root: Path | str = DEFAULT_ROOT, *, split: str | None = None, trust_unchanged: bool = False
) -> None:
    """Check the uncompressed IDX files of `name` under `root` against their canonical MD5 sums; copies nothing.

    Args:
        name: "mnist" or "fashion-mnist".
        root: the data folder (holds ``MNIST/raw``, ``FashionMNIST/raw``).
        split: None checks all four files; "train" or "test" only that split's images and labels.
        trust_unchanged: skip re-hashing a file this process already verified whose inode, size and modification
            time are unchanged (used by `load`; ``make data`` always re-hashes).

    Raises:
        ValueError: unknown `name` or `split`.
        DataError: a file is missing or its MD5 differs; the message names the file, the expected sum, says to run
            ``make data`` and lists the ways to supply it.
    """
    root = Path(root)
    prefix = SPLIT_PREFIX[split] + "-" if _check_split(split) else ""  # type: ignore[index]  # split checked not None
    for fname, expected in MD5[_check_name(name)].items():
        if not fname.startswith(prefix):
            continue
        path = raw_folder(name, root) / fname
        try:
            st = path.stat()
        except FileNotFoundError:
            raise DataError(
                f"{path} is missing (expected MD5 {expected} of the uncompressed IDX file). "
                + _how_to_supply(name, root)
            ) from None
        if not stat.S_ISREG(st.st_mode):
            raise DataError(
                f"{path} is not a file (a folder or a device stands where the uncompressed IDX file "
                f"with MD5 {expected} belongs); remove it, then `make data`. " + _how_to_supply(name, root)
            )
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        if trust_unchanged and _VERIFIED.get(path) == key:
            continue
        got = md5sum(path)
        if got != expected:
            _VERIFIED.pop(path, None)
            raise DataError(
                f"{path} is corrupt: MD5 {got}, expected {expected}; `make data` replaces it. "
                + _how_to_supply(name, root)
            )
        _VERIFIED[path] = key


def ensure(name: str, root: Path | str = DEFAULT_ROOT, *, download: bool = True, verbose: bool = True) -> Path:
    """Make sure `<root>` holds the verified raw IDX files of data set `name` ("mnist" or "fashion-mnist").

    Every file already there is re-hashed (about 0.1 s per 50 MB). A missing one, or one with a wrong MD5, is taken
    from the sources of the module docstring in order; a source's file that is corrupt, truncated or of the wrong
    MD5 is named in a `DataSourceWarning` and the next source is tried (see `folder_sources` for
    ``$STUDY_DATA_MIRROR``). Files are written whole (temporary name, then rename).

    Args:
        download: allow torchvision's download (the network) as the last source.
        verbose: print one line per file copied from a source.

    Returns:
        The raw folder ``<root>/MNIST/raw`` or ``<root>/FashionMNIST/raw``.

    Raises:
        ValueError: unknown `name`.
        DataError: no source gave a file with the canonical MD5; the message names each such file, its expected
            MD5, what every source gave, and how to supply it. A wrong file already there is left in place.
        OSError: the raw folder cannot be written.
    """
    root = Path(root)
    raw = raw_folder(name, root)
    expected = MD5[_check_name(name)]
    tried: dict[str, list[str]] = {}
    for fname, md5 in expected.items():
        dst = raw / fname
        if not dst.exists():
            tried[fname] = [f"already there: {dst} is missing"]
            continue
        got = md5sum(dst)
        if got != md5:
            _warn(f"{dst}: MD5 {got}, expected {md5}; trying to replace it from the next source")
            tried[fname] = [f"already there: {dst} has MD5 {got}"]

    def take(source: Source) -> list[tuple[Path, str]]:
        bad = []
        for fname in list(tried):
            cands = [p for p in (source.folder / f"{fname}.gz", source.folder / fname) if p.is_file()]  # type: ignore[operator]  # only sources with a folder are taken
            if not cands:
                tried[fname].append(f"{source.label}: no {fname}.gz or {fname} in {source.folder}")
            for src in cands:
                problem = _decompress_checked(src, raw / fname, expected[fname])
                if problem is None:
                    del tried[fname]
                    if verbose:
                        print(f"{name}: {fname} <- {src}")
                    break
                tried[fname].append(f"{source.label}: {src}: {problem}")
                bad.append((src, problem))
        return bad

    for source in folder_sources(name):
        if not tried:
            break
        if source.folder is None:
            if source.warn:
                _warn(f"{source.problem}; trying the next source for {sorted(tried)}")
            for fname in tried:
                tried[fname].append(f"{source.label}: {source.problem}")
            continue
        for src, problem in take(source):
            _warn(
                f"{src}: {problem} (expected MD5 {expected[src.name.removesuffix('.gz')]} "
                f"of the uncompressed file); trying the next source"
            )
    if tried and not download:
        for fname in tried:
            tried[fname].append("torchvision download: not tried (download=False)")
    elif tried:
        root.mkdir(parents=True, exist_ok=True)
        tmpdir = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
        try:
            try:
                folder = _torchvision_download(name, tmpdir)
            except Exception as exc:  # noqa: BLE001 - network errors come in many types; reported below
                for fname in tried:
                    tried[fname].append(f"torchvision download: failed ({_one_line(exc)})")
            else:
                for src, problem in take(Source("torchvision download", folder)):
                    _warn(f"{src}: {problem} (downloaded by torchvision)")
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if tried:
        lines = [f"{name}: no source gave a valid copy of {len(tried)} file(s) for {raw}:"]
        for fname, problems in tried.items():
            lines.append(f"- {fname} (expected MD5 {expected[fname]} of the uncompressed IDX file); sources tried:")
            lines += [f"    {i}. {p}" for i, p in enumerate(problems, 1)]
        lines.append(_how_to_supply(name, root))
        raise DataError("\n".join(lines))
    return raw


@dataclass
class Split:
    """One split held in memory. ``images``: uint8, shape (N, 1, 28, 28); ``labels``: int64, shape (N,)."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def float(self, mean: float | None = None, std: float | None = None) -> torch.Tensor:
        """Images as float32 in [0, 1], shape (N, 1, 28, 28); standardised by (x - mean) / std when given."""
        x = self.images.float().div_(255.0)
        if mean is not None and std is not None:
            x = x.sub_(mean).div_(std)
        return x

    def subset(self, idx: torch.Tensor) -> Split:
        return Split(self.images[idx], self.labels[idx], self.classes)


def load(name: str, split: str = "train", root: Path | str = DEFAULT_ROOT) -> Split:
    """Load a split of MNIST / Fashion-MNIST into memory with torchvision's IDX readers; never downloads or copies.

    Reads only what ``make data`` (`ensure`) put under `root`, after checking the split's two files against their
    MD5 sums (once per process while a file is unchanged).

    Args:
        name: "mnist" or "fashion-mnist".
        split: "train" (60,000 images) or "test" (10,000 images).
        root: the data folder (default ``data/``).

    Returns:
        A `Split`: ``images`` uint8 (N, 1, 28, 28) in 0..255, ``labels`` int64 (N,) in 0..9.

    Raises:
        ValueError: unknown `name` or `split`.
        DataError: a file is missing or corrupt; the message names it and its expected MD5 and says to run
            ``make data``.
    """
    _check_split(split)
    root = Path(root)
    verify(name, root, split=split, trust_unchanged=True)
    from torchvision.datasets.mnist import read_image_file, read_label_file

    raw, prefix = raw_folder(name, root), SPLIT_PREFIX[split]
    images = read_image_file(str(raw / f"{prefix}-images-idx3-ubyte"))
    labels = read_label_file(str(raw / f"{prefix}-labels-idx1-ubyte"))
    return Split(images.unsqueeze(1).contiguous(), labels.long(), CLASSES[name])


def balanced_indices(
    labels: torch.Tensor, per_class: int, *, generator: torch.Generator, exclude: torch.Tensor | None = None
) -> torch.Tensor:
    """Indices of a class-balanced random subset: `per_class` examples of every class, shuffled.

    Args:
        labels: int64, shape (N,).
        per_class: examples drawn per class, without replacement.
        generator: the seeded source of randomness.
        exclude: indices that must not be drawn (e.g. the training subset when drawing validation).

    Raises:
        ValueError: a class has fewer than `per_class` available examples.
    """
    import torch

    avail = torch.ones(len(labels), dtype=torch.bool)
    if exclude is not None:
        avail[exclude] = False
    out = []
    for c in torch.unique(labels).tolist():
        pool = torch.nonzero((labels == c) & avail).flatten()
        if len(pool) < per_class:
            raise ValueError(f"per_class={per_class} exceeds the {len(pool)} available examples of class {c}")
        out.append(pool[torch.randperm(len(pool), generator=generator)[:per_class]])
    idx = torch.cat(out)
    return idx[torch.randperm(len(idx), generator=generator)]


def main(argv: list[str] | None = None) -> int:
    """``python -m study.data [root]``: fill and verify MNIST and Fashion-MNIST under `root` (default ``data/``).

    Every call re-hashes every file (MD5 of 4 files, about 110 MB, per set), whatever stamp ``make`` keeps. Prints one
    line per set with the seconds it took, and each `DataSourceWarning` as ``warning: ...`` on stderr.

    Returns:
        0 when both sets are verified, else 1 after printing each set's `DataError` on stderr.
    """
    import sys

    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else DEFAULT_ROOT
    status = 0
    for name in MD5:
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataSourceWarning)
            try:
                raw = ensure(name, root)
            except DataError as exc:
                raw = None
                err = exc
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        if raw is None:
            print(f"error: {err}", file=sys.stderr)
            status = 1
        else:
            print(f"{name}: verified the MD5 of 4 IDX files in {raw} ({time.perf_counter() - start:.2f} s)")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
