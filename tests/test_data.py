"""keatingcore.data: CIFAR-10 from local archives (safely) and the embedded digits."""

from __future__ import annotations

import pickle
import sys
import tarfile

import numpy as np
import pytest

from keatingcore.data import (
    CIFAR10_CLASSES,
    ImageDataset,
    UnsafeArchiveError,
    _cifar,
    load_cifar10,
    load_digits,
)

CLASSES = tuple(f"class-{i}" for i in range(10))


@pytest.fixture
def splits(archives):
    """Two training batches of 20 images and a test batch of 10."""
    rng = np.random.default_rng(1234)
    train = [archives.random_split(rng, 20), archives.random_split(rng, 20)]
    return train, archives.random_split(rng, 10)


def assert_matches(ds, train, test, classes):
    assert isinstance(ds, ImageDataset)
    assert ds.name == "cifar10"
    assert ds.x_train.dtype == np.uint8 and ds.x_test.dtype == np.uint8
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert ds.image_shape == (32, 32, 3)
    np.testing.assert_array_equal(ds.x_train, np.concatenate([x for x, _ in train]))
    np.testing.assert_array_equal(ds.y_train, np.concatenate([y for _, y in train]))
    np.testing.assert_array_equal(ds.x_test, test[0])
    np.testing.assert_array_equal(ds.y_test, test[1])
    assert ds.classes == tuple(classes)


def make_copy(archives, root, fmt, layout, style, train, test, classes=CLASSES):
    """Write a CIFAR-10 copy under ``root`` and return the path to hand the loader."""
    files = archives.cifar_files(fmt, train, test, classes, style)
    top = archives.PY_DIR if fmt == "python" else archives.BIN_DIR
    archive = archives.PY_ARCHIVE if fmt == "python" else archives.BIN_ARCHIVE
    if layout == "archive":
        return archives.write_tar(root / archive, archives.cifar_members(top, files))
    if layout == "archive-parent":
        archives.write_tar(root / archive, archives.cifar_members(top, files))
        return root
    if layout == "folder":
        return archives.write_folder(root / top, files)
    if layout == "folder-parent":
        archives.write_folder(root / top, files)
        return root
    raise ValueError(layout)


# --------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["archive", "archive-parent", "folder",
                                    "folder-parent"])
@pytest.mark.parametrize("style", ["py2", "proto2", "str4", "str5"])
def test_python_version_round_trip(archives, tmp_path, splits, layout, style):
    train, test = splits
    path = make_copy(archives, tmp_path, "python", layout, style, train, test)
    before = archives.snapshot(tmp_path)
    ds = load_cifar10(path)
    assert_matches(ds, train, test, CLASSES)
    assert archives.snapshot(tmp_path) == before  # nothing extracted or written


@pytest.mark.parametrize("layout", ["archive", "archive-parent", "folder",
                                    "folder-parent"])
def test_binary_version_round_trip(archives, tmp_path, splits, layout):
    train, test = splits
    path = make_copy(archives, tmp_path, "binary", layout, None, train, test)
    before = archives.snapshot(tmp_path)
    ds = load_cifar10(str(path))
    assert_matches(ds, train, test, CLASSES)
    assert archives.snapshot(tmp_path) == before


def test_py2_pickle_has_the_legacy_layout(archives, splits):
    """The py2 writer produces Python 2 era bytes (no unicode, old numpy path)."""
    import pickletools

    x, y = splits[1]
    raw = archives.python_batch(x, y, "py2")
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(raw)]
    assert ("GLOBAL", "numpy.core.multiarray _reconstruct") in ops
    assert ("SHORT_BINSTRING", "data") in ops or ("SHORT_BINSTRING", b"data") in ops
    assert not any("UNICODE" in name for name, _ in ops)


def test_pixel_layout_is_channel_major_to_hwc(archives, tmp_path):
    """One hand-built record: R plane 0..., G plane, B plane -> (32, 32, 3)."""
    plane = np.arange(1024, dtype=np.uint32).reshape(32, 32)
    record = np.concatenate([[7], (plane % 251).ravel(), ((plane * 3) % 256).ravel(),
                             np.full(1024, 200)]).astype(np.uint8)
    folder = tmp_path / archives.BIN_DIR
    folder.mkdir()
    (folder / "data_batch_1.bin").write_bytes(record.tobytes())
    (folder / "test_batch.bin").write_bytes(record.tobytes())
    ds = load_cifar10(folder)
    img = ds.x_train[0]
    assert ds.y_train.tolist() == [7]
    np.testing.assert_array_equal(img[..., 0], plane % 251)
    np.testing.assert_array_equal(img[..., 1], (plane * 3) % 256)
    assert (img[..., 2] == 200).all()
    assert img[0, 1, 0] == 1 and img[1, 0, 0] == 32  # rows, then columns


@pytest.mark.parametrize("fmt", ["python", "binary"])
def test_classes_default_without_meta(archives, tmp_path, splits, fmt):
    train, test = splits
    files = archives.cifar_files(fmt, train, test, None, "py2")
    ds = load_cifar10(archives.write_folder(tmp_path / "cifar", files))
    assert ds.classes == CIFAR10_CLASSES
    assert_matches(ds, train, test, CIFAR10_CLASSES)


@pytest.mark.parametrize("compression", ["", "bz2", "xz"])
def test_other_tar_compressions_and_flat_archive(archives, tmp_path, splits,
                                                 compression):
    train, test = splits
    files = archives.cifar_files("python", train, test, CLASSES, "str4")
    archive = archives.write_tar(tmp_path / "my-cifar.tar",
                                 archives.cifar_members(None, files), compression)
    assert_matches(load_cifar10(archive), train, test, CLASSES)


def test_any_subset_of_training_batches(archives, tmp_path, splits):
    train, test = splits
    files = archives.cifar_files("python", train, test, CLASSES, "py2",
                                 train_ids=[3, 1])  # written out of order
    ds = load_cifar10(archives.write_folder(tmp_path / archives.PY_DIR, files))
    # batch 1 is train[1], batch 3 is train[0]: loaded in batch order
    assert_matches(ds, [train[1], train[0]], test, CLASSES)


@pytest.mark.parametrize("fmt", ["python", "binary"])
@pytest.mark.parametrize("layout", ["archive", "folder"])
def test_max_train_and_max_test(archives, tmp_path, splits, fmt, layout):
    train, test = splits
    path = make_copy(archives, tmp_path, fmt, layout, "py2", train, test)
    ds = load_cifar10(path, max_train=25, max_test=3)
    all_x = np.concatenate([x for x, _ in train])
    all_y = np.concatenate([y for _, y in train])
    np.testing.assert_array_equal(ds.x_train, all_x[:25])
    np.testing.assert_array_equal(ds.y_train, all_y[:25])
    np.testing.assert_array_equal(ds.x_test, test[0][:3])
    ds = load_cifar10(path, max_train=0, max_test=1000)
    assert ds.x_train.shape == (0, 32, 32, 3) and ds.y_train.shape == (0,)
    assert len(ds.y_test) == 10


def test_max_train_skips_later_batches(archives, tmp_path, splits):
    """With max_train within batch 1, a corrupt batch 2 is never parsed."""
    train, test = splits
    files = archives.cifar_files("python", train, test, CLASSES, "py2")
    files["data_batch_2"] = b"garbage"
    folder = archives.write_folder(tmp_path / archives.PY_DIR, files)
    assert len(load_cifar10(folder, max_train=20).y_train) == 20
    with pytest.raises(ValueError, match="data_batch_2"):
        load_cifar10(folder)


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), ("3", TypeError),
                                      (True, TypeError), (2.5, TypeError)])
def test_bad_limits(tmp_path, bad, exc):
    with pytest.raises(exc, match="max_train"):
        load_cifar10(tmp_path, max_train=bad)


# --------------------------------------------------------------------------------------
# Hostile pickles
# --------------------------------------------------------------------------------------

def write_python_copy_with(archives, folder, splits, batch_name, raw):
    train, test = splits
    files = archives.cifar_files("python", train, test, CLASSES, "py2")
    files[batch_name] = raw
    return archives.write_folder(folder, files)


@pytest.mark.parametrize("maker, global_name", [("hostile_system", "system"),
                                                ("hostile_eval", "builtins.eval")])
@pytest.mark.parametrize("batch", ["data_batch_1", "test_batch", "batches.meta"])
def test_hostile_pickle_is_refused_without_side_effect(archives, tmp_path, splits,
                                                       maker, global_name, batch):
    marker = tmp_path / "pwned"
    raw = getattr(archives, maker)(marker)
    folder = write_python_copy_with(archives, tmp_path / archives.PY_DIR, splits,
                                    batch, raw)
    with pytest.raises(UnsafeArchiveError, match="forbidden global") as info:
        load_cifar10(folder)
    assert global_name in str(info.value) and batch in str(info.value)
    assert not marker.exists()


def test_hostile_pickle_inside_tar_is_refused(archives, tmp_path, splits):
    marker = tmp_path / "pwned"
    train, test = splits
    files = archives.cifar_files("python", train, test, CLASSES, "py2")
    files["data_batch_2"] = archives.hostile_system(marker)
    archive = archives.write_tar(tmp_path / archives.PY_ARCHIVE,
                                 archives.cifar_members(archives.PY_DIR, files))
    with pytest.raises(UnsafeArchiveError, match=r"forbidden global posix\.system|"
                                                 r"forbidden global os\.system"):
        load_cifar10(archive)
    assert not marker.exists()


def test_plain_pickle_load_would_have_run_it(archives, tmp_path):
    """Sanity check of the test itself: the hostile file really is hostile."""
    marker = tmp_path / "pwned"
    raw = archives.hostile_eval(marker)
    pickle.loads(raw)  # noqa: S301 - deliberately, to prove the payload works
    assert marker.exists()


@pytest.mark.parametrize("module, name", [
    ("numpy", "load"),
    ("numpy", "frombuffer"),
    ("numpy.lib.format", "read_array"),
    ("builtins", "getattr"),
    ("copyreg", "_reconstructor"),
    ("subprocess", "Popen"),
    ("keatingcore_no_such_module", "anything"),
])
def test_any_other_global_is_refused(archives, tmp_path, splits, module, name):
    folder = write_python_copy_with(archives, tmp_path / "c", splits, "test_batch",
                                    archives.raw_call(module, name))
    with pytest.raises(UnsafeArchiveError, match=f"forbidden global {module}.{name}"):
        load_cifar10(folder)


def test_refused_module_is_not_imported(archives, tmp_path, splits, monkeypatch):
    # A canary module whose import leaves a mark: refusing must happen before import.
    marker = tmp_path / "imported"
    (tmp_path / "kc_canary_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef hook():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = write_python_copy_with(archives, tmp_path / "c", splits, "test_batch",
                                    archives.raw_call("kc_canary_module", "hook"))
    with pytest.raises(UnsafeArchiveError, match="kc_canary_module"):
        load_cifar10(folder)
    assert not marker.exists() and "kc_canary_module" not in sys.modules


@pytest.mark.parametrize("payload, match", [
    ({"data": np.array([1, None], dtype=object), "labels": [0]}, "dtype 'O"),
    ({"data": np.zeros(2, dtype=[("a", "u1"), ("b", "u1")]), "labels": []},
     "dtype|structured"),
    ({"data": np.zeros(2, dtype="U3"), "labels": []}, "dtype"),
])
def test_non_numeric_arrays_are_refused(archives, tmp_path, splits, payload, match):
    raw = pickle.dumps(payload, protocol=4)
    folder = write_python_copy_with(archives, tmp_path / "c", splits, "test_batch", raw)
    with pytest.raises(UnsafeArchiveError, match=match):
        load_cifar10(folder)


@pytest.mark.parametrize("module, name", [("numpy", "ndarray"), ("numpy", "dtype"),
                                          ("_codecs", "encode")])
def test_whitelisted_globals_cannot_be_abused(archives, tmp_path, splits, module,
                                              name):
    """numpy.ndarray(...), numpy.dtype('O...'), _codecs.encode(b, 'rot13')."""
    folder = write_python_copy_with(archives, tmp_path / "c", splits, "test_batch",
                                    archives.raw_call(module, name, b"O"))
    with pytest.raises(UnsafeArchiveError):
        load_cifar10(folder)


# --------------------------------------------------------------------------------------
# Hostile tars
# --------------------------------------------------------------------------------------

def hostile_tar(archives, tmp_path, splits, extra):
    """A real CIFAR archive plus ``extra`` members, inside tmp_path/inner/."""
    train, test = splits
    files = archives.cifar_files("python", train, test, CLASSES, "py2")
    members = archives.cifar_members(archives.PY_DIR, files)
    return archives.write_tar(tmp_path / "inner" / archives.PY_ARCHIVE, extra + members)


def test_tar_with_parent_member_is_refused(archives, tmp_path, splits):
    evil = [archives.file_member("../evil", b"owned"),
            archives.file_member(f"{archives.PY_DIR}/../../evil2", b"owned")]
    for member in evil:
        archive = hostile_tar(archives, tmp_path, splits, [member])
        before = archives.snapshot(tmp_path)
        with pytest.raises(UnsafeArchiveError, match=r"contains '\.\.'"):
            load_cifar10(archive)
        assert archives.snapshot(tmp_path) == before
        assert not (tmp_path / "evil").exists() and not (tmp_path / "evil2").exists()


def test_tar_with_absolute_member_is_refused(archives, tmp_path, splits):
    target = tmp_path / "abs_evil"
    archive = hostile_tar(archives, tmp_path, splits,
                          [archives.file_member(str(target), b"owned")])
    with tarfile.open(archive) as tar:  # the name really is stored absolute
        assert str(target) in tar.getnames()
    with pytest.raises(UnsafeArchiveError, match="absolute path"):
        load_cifar10(archive)
    assert not target.exists()


@pytest.mark.parametrize("kind, name, linkname, match", [
    (tarfile.SYMTYPE, "cifar-10-batches-py/test_batch", "/etc/passwd", "link"),
    (tarfile.SYMTYPE, "innocent", "../../outside", "link"),
    (tarfile.LNKTYPE, "cifar-10-batches-py/data_batch_3", "/etc/passwd", "link"),
    (tarfile.CHRTYPE, "cifar-10-batches-py/dev", "", "device"),
    (tarfile.FIFOTYPE, "cifar-10-batches-py/fifo", "", "device or pipe"),
])
def test_tar_with_link_or_device_is_refused(archives, tmp_path, splits, kind, name,
                                            linkname, match):
    archive = hostile_tar(archives, tmp_path, splits,
                          [archives.special_member(name, kind, linkname)])
    before = archives.snapshot(tmp_path)
    with pytest.raises(UnsafeArchiveError, match=match):
        load_cifar10(archive)
    assert archives.snapshot(tmp_path) == before


def test_oversized_member_is_refused(archives, tmp_path, splits, monkeypatch):
    archive = hostile_tar(archives, tmp_path, splits, [])
    monkeypatch.setattr(_cifar, "_MAX_MEMBER_BYTES", 1000)
    with pytest.raises(UnsafeArchiveError, match="over the 1000-byte limit"):
        load_cifar10(archive)


def test_oversized_file_in_folder_is_refused(archives, tmp_path, splits, monkeypatch):
    train, test = splits
    folder = archives.write_folder(
        tmp_path / "c", archives.cifar_files("binary", train, test, None))
    monkeypatch.setattr(_cifar, "_MAX_MEMBER_BYTES", 1000)
    with pytest.raises(UnsafeArchiveError, match="1000-byte limit"):
        load_cifar10(folder)


def test_too_many_members_or_bytes_is_refused(archives, tmp_path, splits,
                                              monkeypatch):
    archive = hostile_tar(archives, tmp_path, splits, [])
    with monkeypatch.context() as m:
        m.setattr(_cifar, "_MAX_MEMBERS", 3)
        with pytest.raises(UnsafeArchiveError, match="more than 3 members"):
            load_cifar10(archive)
    with monkeypatch.context() as m:
        m.setattr(_cifar, "_MAX_ARCHIVE_BYTES", 100_000)
        with pytest.raises(UnsafeArchiveError, match="add up to more than"):
            load_cifar10(archive)
    assert len(load_cifar10(archive).y_train) == 40


def test_duplicate_member_is_refused(archives, tmp_path, splits):
    archive = hostile_tar(archives, tmp_path, splits,
                          [archives.file_member("other/test_batch", b"x")])
    with pytest.raises(ValueError, match="more than one member named 'test_batch'"):
        load_cifar10(archive)


# --------------------------------------------------------------------------------------
# Corrupt and missing data
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.9])
def test_truncated_tar_gz(archives, tmp_path, splits, fraction):
    train, test = splits
    good = make_copy(archives, tmp_path / "good", "python", "archive", "py2", train,
                     test)
    data = good.read_bytes()
    bad = tmp_path / archives.PY_ARCHIVE
    bad.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(ValueError, match=str(bad)):
        load_cifar10(bad)


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz"])
def test_damaged_compressed_stream(archives, tmp_path, splits, compression):
    """A lost checksum trailer or a flipped byte is caught by the decompressor."""
    train, test = splits
    files = archives.cifar_files("binary", train, test, CLASSES)
    good = archives.write_tar(tmp_path / "good.tar", archives.cifar_members(
        archives.BIN_DIR, files), compression).read_bytes()
    no_trailer = tmp_path / "no_trailer.tar"
    no_trailer.write_bytes(good[:-4])
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x55
    flipped_path = tmp_path / "flipped.tar"
    flipped_path.write_bytes(bytes(flipped))
    for bad in (no_trailer, flipped_path):
        with pytest.raises(ValueError, match=str(bad)):
            load_cifar10(bad)


def test_trailing_data_after_tar_is_capped(archives, tmp_path, splits, monkeypatch):
    train, test = splits
    files = archives.cifar_files("binary", train, test, CLASSES)
    archive = archives.write_tar(tmp_path / "c.tar", archives.cifar_members(
        archives.BIN_DIR, files), "")
    with open(archive, "ab") as fh:
        fh.write(bytes(50_000))
    assert len(load_cifar10(archive).y_test) == 10
    monkeypatch.setattr(_cifar, "_MAX_TRAILING_BYTES", 20_000)
    with pytest.raises(UnsafeArchiveError, match="after the end of the tar"):
        load_cifar10(archive)


@pytest.mark.parametrize("content", [b"", b"not a tar at all" * 100,
                                     b"\x1f\x8b\x08\x00" + b"\x00" * 200])
def test_not_a_tar(tmp_path, content):
    bad = tmp_path / "cifar-10-python.tar.gz"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match="not a readable tar archive"):
        load_cifar10(bad)


@pytest.mark.parametrize("size", [1, 3072, 3073 * 2 + 5, 3074 * 3])
def test_binary_batch_with_wrong_size(archives, tmp_path, splits, size):
    train, test = splits
    files = archives.cifar_files("binary", train, test, CLASSES)
    files["data_batch_2.bin"] = bytes(size)
    folder = archives.write_folder(tmp_path / archives.BIN_DIR, files)
    with pytest.raises(ValueError, match=r"data_batch_2\.bin.*3073-byte"):
        load_cifar10(folder)


def test_binary_batch_with_bad_label(archives, tmp_path, splits):
    train, test = splits
    files = archives.cifar_files("binary", train, test, CLASSES)
    files["test_batch.bin"] = bytes([10]) + bytes(3072)
    folder = archives.write_folder(tmp_path / archives.BIN_DIR, files)
    with pytest.raises(ValueError, match=r"test_batch\.bin: label byte 10"):
        load_cifar10(folder)


def bad_batches(rng):
    rows = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
    return {
        "wrong width": ({"data": rows[:, :100], "labels": [0] * 4},
                        r"shape \(N, 3072\)"),
        "wrong dtype": ({"data": rows.astype(np.int16), "labels": [0] * 4}, "uint8"),
        "label range": ({"data": rows, "labels": [0, 1, 2, 10]}, r"\[0, 10\)"),
        "label count": ({"data": rows, "labels": [0, 1]}, "2 labels for 4 images"),
        "label type": ({"data": rows, "labels": ["a"] * 4}, "integers"),
        "no labels": ({"data": rows}, "no 'labels' entry"),
        "empty": ({"data": rows[:0], "labels": []}, "N >= 1"),
        "not a dict": ([rows, [0] * 4], "expected a dict"),
    }


@pytest.mark.parametrize("case", list(bad_batches(np.random.default_rng(0))))
def test_python_batch_with_bad_contents(archives, tmp_path, splits, case):
    payload, match = bad_batches(np.random.default_rng(0))[case]
    raw = pickle.dumps(payload, protocol=4)
    folder = write_python_copy_with(archives, tmp_path / "c", splits, "data_batch_1",
                                    raw)
    with pytest.raises(ValueError, match=match) as info:
        load_cifar10(folder)
    assert "data_batch_1" in str(info.value)
    assert not isinstance(info.value, UnsafeArchiveError)


def test_truncated_pickle(archives, tmp_path, splits):
    x, y = splits[1]
    raw = archives.python_batch(x, y, "py2")
    folder = write_python_copy_with(archives, tmp_path / "c", splits, "test_batch",
                                    raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="test_batch is not a valid CIFAR-10 pickle"):
        load_cifar10(folder)


@pytest.mark.parametrize("fmt, meta, content", [
    ("python", "batches.meta", None),
    ("binary", "batches.meta.txt", b"a\nb\nc\n"),
    ("binary", "batches.meta.txt", b"\xff\xfe" * 10),
])
def test_bad_meta(archives, tmp_path, splits, fmt, meta, content):
    train, test = splits
    files = archives.cifar_files(fmt, train, test, CLASSES)
    if content is None:
        content = archives.python_meta(CLASSES[:9], "py2")
    files[meta] = content
    with pytest.raises(ValueError, match=meta):
        load_cifar10(archives.write_folder(tmp_path / "c", files))


@pytest.mark.parametrize("drop, match", [("test_batch", "has no test_batch"),
                                         ("train", "no training batch")])
def test_incomplete_copy(archives, tmp_path, splits, drop, match):
    train, test = splits
    files = archives.cifar_files("python", train, test, CLASSES)
    if drop == "train":
        files = {k: v for k, v in files.items() if not k.startswith("data_batch")}
    else:
        del files[drop]
    for path in (archives.write_folder(tmp_path / "c", files),
                 archives.write_tar(tmp_path / "c.tar.gz",
                                    archives.cifar_members("x", files))):
        with pytest.raises(ValueError, match=match):
            load_cifar10(path)


def test_archive_without_cifar_files(archives, tmp_path):
    archive = archives.write_tar(tmp_path / "other.tar.gz",
                                 [archives.file_member("hello.txt", b"hi")])
    with pytest.raises(ValueError, match="holds no CIFAR-10 batch files"):
        load_cifar10(archive)


def test_missing_path_says_it_cannot_be_downloaded(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot be downloaded") as info:
        load_cifar10(tmp_path / "nowhere" / "cifar-10-python.tar.gz")
    message = str(info.value)
    assert "CIFAR-10 python version" in message and "University of Toronto" in message
    with pytest.raises(FileNotFoundError, match="cannot be downloaded"):
        load_cifar10(tmp_path)  # exists, but holds nothing


# --------------------------------------------------------------------------------------
# Digits
# --------------------------------------------------------------------------------------

def test_digits_shapes_and_values():
    pytest.importorskip("sklearn")
    ds = load_digits()
    assert ds.name == "digits"
    assert ds.classes == tuple(str(i) for i in range(10))
    assert ds.x_train.dtype == np.uint8 and ds.x_test.dtype == np.uint8
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    assert ds.image_shape == (8, 8, 1)
    n_train, n_test = len(ds.y_train), len(ds.y_test)
    assert n_train + n_test == 1797
    assert abs(n_test / 1797 - 0.3) < 0.01
    assert ds.x_train.max() <= 16 and ds.x_test.max() <= 16
    assert ds.x_train.max() == 16  # real data, not a blank array


def test_digits_split_is_stratified_and_a_partition():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits as sk_load_digits

    ds = load_digits(test_fraction=0.25, seed=3)
    per_class_total = np.bincount(np.concatenate([ds.y_train, ds.y_test]), minlength=10)
    per_class_test = np.bincount(ds.y_test, minlength=10)
    assert np.all(np.abs(per_class_test - 0.25 * per_class_total) <= 1)
    # train + test is exactly the bundled data set (as a multiset of image rows)
    sk = sk_load_digits()
    ours = np.concatenate([ds.x_train, ds.x_test]).reshape(1797, 64)
    ours_labeled = np.column_stack([ours, np.concatenate([ds.y_train, ds.y_test])])
    theirs = np.column_stack([sk.images.reshape(1797, 64).astype(np.uint8),
                              sk.target])
    np.testing.assert_array_equal(ours_labeled[np.lexsort(ours_labeled.T)],
                                  theirs[np.lexsort(theirs.T)])


def test_digits_seed():
    pytest.importorskip("sklearn")
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)
    assert not np.array_equal(a.x_test, c.x_test)


@pytest.mark.parametrize("kwargs, exc", [({"test_fraction": 0.0}, ValueError),
                                         ({"test_fraction": 1.0}, ValueError),
                                         ({"test_fraction": "0.3"}, TypeError),
                                         ({"seed": 1.5}, TypeError)])
def test_digits_bad_arguments(kwargs, exc):
    with pytest.raises(exc):
        load_digits(**kwargs)


def test_digits_without_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        load_digits()


@pytest.mark.parametrize("batch", ["data_batch_1", "batches.meta"])
def test_a_list_bomb_is_refused_quickly(archives, tmp_path, splits, batch):
    # 40 levels of a list holding itself twice: 3.6 KB that expand to 2**40 items.
    import pickle

    bomb = [0]
    for _ in range(40):
        bomb = [bomb, bomb]
    key = "labels" if batch == "data_batch_1" else "label_names"
    payload = {"data": np.zeros((1, 3072), np.uint8), "labels": [0],
               "label_names": list(CLASSES)}
    payload[key] = bomb
    raw = pickle.dumps(payload, protocol=2)
    assert len(raw) < 10_000
    folder = write_python_copy_with(archives, tmp_path / archives.PY_DIR, splits,
                                    batch, raw)
    with pytest.raises(UnsafeArchiveError, match="nests lists"):
        load_cifar10(folder)


def test_a_self_referencing_list_is_refused(archives, tmp_path, splits):
    import pickle

    loop: list = [0]
    loop.append(loop)
    raw = pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": loop},
                       protocol=2)
    folder = write_python_copy_with(archives, tmp_path / archives.PY_DIR, splits,
                                    "data_batch_1", raw)
    with pytest.raises(UnsafeArchiveError, match="nests lists"):
        load_cifar10(folder)
