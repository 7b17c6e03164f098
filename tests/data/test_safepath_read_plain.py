"""`safepath.read_plain`, the mask lane of `load_relative`: a link or non-regular file is never
read through it, and what it declines gives the general path's value or message unchanged."""

from __future__ import annotations

import os

import numpy as np
import pytest

from generalbench.data.instances import load_relative
from generalbench.data.media import load_mask, save_mask
from generalbench.data.safepath import read_plain
from generalbench.errors import DataError


@pytest.fixture()
def tree(tmp_path):
    """root/masks/a.png (a real mask) and an answer key outside root."""
    root = tmp_path / "root"
    (root / "masks").mkdir(parents=True)
    save_mask(root / "masks" / "a.png", np.arange(12, dtype=np.uint8).reshape(3, 4))
    secret = tmp_path / "secret.png"
    save_mask(secret, np.full((3, 4), 7, dtype=np.uint8))
    return root, secret


def test_a_plain_file_is_read_and_decodes_as_load_mask(tree):
    root, _ = tree
    path, raw = read_plain(root, "masks/a.png")
    assert path == os.path.join(str(root), "masks/a.png")
    assert raw == (root / "masks" / "a.png").read_bytes()
    got = load_relative("mask", root, "masks/a.png")
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, load_mask(root / "masks" / "a.png"))


def test_a_symlinked_file_in_a_checked_folder_is_refused(tree):
    root, secret = tree
    load_relative("mask", root, "masks/a.png")  # the folder has been walked once
    (root / "masks" / "b.png").symlink_to(secret)
    assert read_plain(root, "masks/b.png") is None  # O_NOFOLLOW: never followed
    with pytest.raises(DataError, match="outside"):
        load_relative("mask", root, "masks/b.png")


def test_a_file_swapped_for_a_link_after_a_read_is_refused(tree):
    root, secret = tree
    assert read_plain(root, "masks/a.png") is not None
    (root / "masks" / "a.png").unlink()
    (root / "masks" / "a.png").symlink_to(secret)
    assert read_plain(root, "masks/a.png") is None
    with pytest.raises(DataError, match="outside"):
        load_relative("mask", root, "masks/a.png")


def test_a_symlinked_folder_is_left_to_the_general_rule(tree, tmp_path):
    root, _ = tree
    outside = tmp_path / "outside"
    outside.mkdir()
    save_mask(outside / "c.png", np.zeros((2, 2), dtype=np.uint8))
    (root / "linked").symlink_to(outside, target_is_directory=True)
    assert read_plain(root, "linked/c.png") is None
    with pytest.raises(DataError, match="outside"):
        load_relative("mask", root, "linked/c.png")


def test_a_link_inside_the_root_still_loads(tree):
    root, _ = tree
    (root / "masks" / "same.png").symlink_to("a.png")
    assert read_plain(root, "masks/same.png") is None
    np.testing.assert_array_equal(load_relative("mask", root, "masks/same.png"),
                                  load_mask(root / "masks" / "a.png"))


def test_a_fifo_is_declined_without_blocking(tree):
    root, _ = tree
    os.mkfifo(root / "masks" / "p.png")
    assert read_plain(root, "masks/p.png") is None
    with pytest.raises(DataError, match="not a regular file"):
        load_relative("mask", root, "masks/p.png")


@pytest.mark.parametrize("rel", ["masks", "masks/none.png", "masks/a.png/x", "../root/masks/a.png",
                                 "./masks/a.png", "masks\\a.png", "/etc/passwd"])
def test_odd_or_missing_paths_are_declined(tree, rel):
    root, _ = tree
    assert read_plain(root, rel) is None


def test_messages_for_declined_paths_are_the_general_ones(tree):
    root, _ = tree
    with pytest.raises(DataError, match="mask file not found"):
        load_relative("mask", root, "masks/none.png")
    (root / "masks" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot decode mask"):
        load_relative("mask", root, "masks/bad.png")
