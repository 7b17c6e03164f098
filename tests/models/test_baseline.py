"""The reference baselines follow their documented rules."""

from __future__ import annotations

import asyncio

from generalbench.data import Instance, MediaRef
from generalbench.models.api import ModelRequest
from generalbench.models.baseline import BaselineBackend, baseline_prediction, task_context
from generalbench.models.config import ModelConfig


def task_with(catalog, output):
    return next(t for t in catalog if t.output == output)


def test_label_is_the_most_frequent_choice(catalog):
    task = task_with(catalog, "label")
    insts = [Instance(id=str(i), task_id=task.id, inputs={"choices": ch}, target=ch[0])
             for i, ch in enumerate([["cat", "dog"], ["dog", "bird"], ["dog", "cat"]])]
    ctx = task_context(task, insts)
    assert [baseline_prediction(task, i, ctx, None) for i in insts] == ["dog", "dog", "dog"]
    lone = Instance(id="9", task_id=task.id, inputs={"choices": ["x", "y"]})
    assert baseline_prediction(task, lone, ctx, None) == "x"  # not a choice here: first choice


def test_label_without_choices_is_the_majority_reference(catalog):
    task = task_with(catalog, "label")
    insts = [Instance(id=str(i), task_id=task.id, target=t) for i, t in enumerate("aab")]
    ctx = task_context(task, insts)
    assert baseline_prediction(task, insts[2], ctx, None) == "a"


def test_number_is_the_mean_reference(catalog):
    task = task_with(catalog, "number")
    insts = [Instance(id=str(i), task_id=task.id, target=v) for i, v in enumerate([1, 2, 6])]
    assert baseline_prediction(task, insts[0], task_context(task, insts), None) == 3.0


def test_restoration_returns_a_copy_of_the_degraded_input(catalog, tmp_path):
    task = task_with(catalog, "image")
    src = tmp_path / "data" / "in.png"
    src.parent.mkdir()
    src.write_bytes(b"\x89PNG fake bytes")
    inst = Instance(id="a/1", task_id=task.id,
                    inputs={"image": MediaRef(kind="image", path="in.png", base=src.parent)})
    backend = BaselineBackend(ModelConfig(name="b", backend="baseline"))
    backend.prepare(task, [inst])
    out = asyncio.run(backend.generate([ModelRequest(key="k", task=task, instance=inst,
                                                     messages=[], artifact_dir=tmp_path / "run")]))
    path = out[0].prediction
    assert path.startswith(str(tmp_path / "run")) and open(path, "rb").read() == src.read_bytes()


def test_generation_without_matching_input_gives_no_prediction(catalog):
    task = task_with(catalog, "image")
    inst = Instance(id="1", task_id=task.id, inputs={"prompt": "a red square"})
    assert baseline_prediction(task, inst, task_context(task, [inst]), None) is None
    text_task = task_with(catalog, "text")
    assert baseline_prediction(text_task, inst, task_context(text_task, [inst]), None) == ""
