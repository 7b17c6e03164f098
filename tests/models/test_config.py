"""Model configs are data: specs, files, presets, routing and fingerprints."""

from __future__ import annotations

import pytest

from generalbench.errors import ModelError
from generalbench.models.config import ModelConfig, parse_model_spec, preset_names


def test_openai_spec_needs_a_base_url(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ModelError, match="--base-url"):
        parse_model_spec("openai:gpt-x")
    cfg = parse_model_spec("openai:gpt-x", base_url="http://127.0.0.1:1/v1", api_key="sk-secret")
    assert cfg.backend == "openai" and cfg.params["model"] == "gpt-x"
    assert "sk-secret" not in str(cfg.public_dump())


def test_unknown_backend_and_missing_target_are_clear_errors():
    with pytest.raises(ModelError, match="BACKEND:TARGET"):
        parse_model_spec("nosuch:thing")
    with pytest.raises(ModelError, match="needs a target"):
        parse_model_spec("hf:")


def test_yaml_file_with_bad_field_names_the_field(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("name: m\nbackend: baseline\ngeneration: {max_tokens: many}\n")
    with pytest.raises(ModelError, match="generation.max_tokens"):
        parse_model_spec(str(path))


def test_fingerprint_ignores_runtime_params_but_not_generation():
    a = ModelConfig(name="m", backend="openai", params={"model": "m", "concurrency": 4,
                                                         "api_key": "x"})
    b = ModelConfig(name="m", backend="openai", params={"model": "m", "concurrency": 64})
    c = ModelConfig(name="m", backend="openai", params={"model": "m"},
                    generation={"max_tokens": 7})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_routing_by_modality_output_and_task_lists(catalog):
    text_model = ModelConfig(name="t", backend="hf", params={"path": "x"},
                             supports={"modalities": ["language"]},
                             fallback={"name": "b", "backend": "baseline"})
    nlp = next(t for t in catalog if t.modality == "language" and t.output == "text")
    img_gen = next(t for t in catalog if t.output == "image")
    assert text_model.route(nlp).name == "t"
    assert text_model.route(img_gen).name == "b"
    alone = text_model.model_copy(update={"fallback": None})
    assert alone.route(img_gen) is None
    only = ModelConfig(name="o", backend="openai", params={"model": "o"},
                       supports={"tasks": [nlp.id]})
    assert only.supports_task(nlp) and not only.supports_task(
        next(t for t in catalog if t.modality == "language" and t.id != nlp.id))


def test_demo_preset_is_shipped_and_routes_non_text_tasks_to_baselines(catalog):
    assert "demo" in preset_names()
    cfg = parse_model_spec("demo")
    assert cfg.backend == "hf" and cfg.fallback.backend == "baseline"
    assert all(cfg.route(t) is not None for t in catalog)


def test_supports_accepts_nlp_for_language():
    from generalbench.models.config import Supports

    assert Supports(modalities=["NLP", "image"]).modalities == ["language", "image"]


def test_runtime_params_are_type_checked():
    import pytest

    from generalbench.errors import ModelError
    from generalbench.models.config import parse_model_spec

    for bad in ({"timeout": "soon"}, {"timeout": 0}, {"concurrency": 0}, {"max_retries": -1},
                {"adaptive": "yes"}, {"batch_size": 1.5}):
        with pytest.raises(ModelError, match=next(iter(bad))):
            parse_model_spec("baseline", overrides=bad)
    ok = parse_model_spec("baseline", overrides={"timeout": 2.5, "concurrency": 4, "adaptive": False})
    assert ok.params["timeout"] == 2.5
