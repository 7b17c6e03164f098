"""Shipped YAML read through the marshal copy in the cache folder: the same data as PyYAML,
a new copy for new text, and parsing whenever a copy cannot be read or written."""

from __future__ import annotations

import sys
from importlib import resources

import pytest
import yaml

from generalbench import datafiles

TEXT = "a: [1, 2.5, x]\nb: {c: null, d: true}\n3: three\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENERALBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "yaml"


def _no_yaml(monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` now fails


def test_copy_written_then_read_without_yaml(cache, monkeypatch):
    assert datafiles.load_yaml(TEXT, "t") == yaml.safe_load(TEXT)
    assert len(list(cache.glob("t-*.marshal"))) == 1
    _no_yaml(monkeypatch)
    assert datafiles.load_yaml(TEXT, "t") == yaml.safe_load(TEXT)


def test_edited_text_gets_its_own_copy(cache):
    datafiles.load_yaml(TEXT, "t")
    assert datafiles.load_yaml(TEXT + "e: 1\n", "t")["e"] == 1
    assert len(list(cache.glob("t-*.marshal"))) == 2


def test_damaged_copy_is_parsed_again_and_replaced(cache):
    datafiles.load_yaml(TEXT, "t")
    (copy,) = cache.glob("t-*.marshal")
    copy.write_bytes(b"\xff\x00garbage")
    assert datafiles.load_yaml(TEXT, "t") == yaml.safe_load(TEXT)
    assert datafiles.load_yaml(TEXT, "t") == yaml.safe_load(TEXT)


def test_unwritable_cache_and_unmarshallable_data_still_load(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GENERALBENCH_CACHE", str(blocker))
    assert datafiles.load_yaml(TEXT, "t") == yaml.safe_load(TEXT)
    monkeypatch.setenv("GENERALBENCH_CACHE", str(tmp_path / "c"))
    dated = "when: 2024-01-02\n"
    assert datafiles.load_yaml(dated, "d") == yaml.safe_load(dated)
    assert not list((tmp_path / "c").rglob("*.marshal"))


def test_metric_specs_same_through_the_copy(cache, monkeypatch):
    from generalbench.metrics import specs

    text = resources.files("generalbench.metrics").joinpath("specs.yaml").read_text("utf-8")
    specs.load_specs.cache_clear()
    try:
        first = specs.load_specs()
        _no_yaml(monkeypatch)
        specs.load_specs.cache_clear()
        assert specs.load_specs() == first
        assert datafiles.load_yaml(text, "metric-specs") == yaml.safe_load(text)
    finally:
        specs.load_specs.cache_clear()


def test_one_cache_root_moves_every_cache(monkeypatch, tmp_path):
    """GENERALBENCH_CACHE moves every cache at once; XDG_CACHE_HOME, then ~/.cache, otherwise."""
    import generalbench.cli  # noqa: F401  (the commands package is imported through the CLI)
    from generalbench.commands.run_cmd import default_cache as run_cache
    from generalbench.data.archive import default_cache as unpacked
    from generalbench.datafiles import cache_folder, cache_root
    from generalbench.metricmodels.judges import default_cache_path
    from generalbench.metricmodels.statcache import default_cache_dir

    monkeypatch.setenv("GENERALBENCH_CACHE", str(tmp_path / "gb"))
    root = tmp_path / "gb"
    assert cache_root() == root
    for path in (run_cache(), unpacked(), cache_folder(), default_cache_path(), default_cache_dir()):
        assert path == root or root in path.parents
    monkeypatch.delenv("GENERALBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "generalbench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "generalbench"
