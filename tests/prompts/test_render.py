"""Prompts render for every task of the catalog and every mini-bench instance, state the answer
format the parsers expect, reference media by path, and carry a version and content hash."""

from __future__ import annotations

import json

import pytest
import yaml

from generalbench.answers.parse import parse
from generalbench.catalog import load_catalog
from generalbench.data.dataset import open_dataset
from generalbench.data.instances import Instance, MediaRef
from generalbench.prompts import (
    PROMPTS_VERSION,
    MediaPart,
    PromptError,
    TextPart,
    load_templates,
    render,
)

CATALOG = load_catalog()


def _task(task_id: str):
    return CATALOG.get(task_id)


@pytest.fixture(scope="module")
def mini_tasks(minibench):
    return open_dataset(minibench.root).tasks()


def test_every_mini_bench_instance_renders(mini_tasks):
    for td in mini_tasks:
        for inst in td.instances():
            prompt = render(td.task, inst, annotation_type=td.annotation_type)
            (message,) = prompt.messages
            assert message.role == "user"
            assert isinstance(message.parts[-1], TextPart)
            assert td.task.name in message.parts[-1].text
            media = [p for p in message.parts if isinstance(p, MediaPart)]
            assert [(p.kind, p.name) for p in media] == [(r.kind, r.path) for _, r in inst.media()]
            for part in media:
                assert part.path.startswith("/") and part.path.endswith(part.name)
            assert "base64" not in prompt.model_dump_json()
            assert prompt.version == PROMPTS_VERSION
            assert len(prompt.hash) == 16


@pytest.mark.parametrize("output", sorted({t.output for t in CATALOG}))
def test_every_catalog_output_type_renders(output):
    tasks = [t for t in CATALOG if t.output == output]
    for task in tasks:
        inst = Instance(id="1", task_id=task.id, inputs={
            "image": MediaRef(kind="image", path="images/1.png"), "question": "What is shown?"})
        prompt = render(task, inst)
        text = prompt.messages[0].text
        assert text.startswith(f"Task: {task.name}")
        assert "What is shown?" in text


def test_multiple_choice_asks_for_a_letter_and_the_parser_reads_it():
    task = _task("language-analogical-reasoning")
    inst = Instance(id="1", task_id=task.id, inputs={
        "question": "hot is to cold as big is to what?", "choices": ["tall", "small", "red"]})
    text = render(task, inst, annotation_type="MultipleChoiceQA").messages[0].text
    assert "A. tall\nB. small\nC. red" in text
    assert "letter of the correct option (A, B, C)" in text


def test_label_task_lists_its_choices_without_letters():
    task = _task("audio-comprehension-music-pitch-analysis")
    inst = Instance(id="1", task_id=task.id, inputs={
        "audio": MediaRef(kind="audio", path="a.wav"), "prompt": "Which note?",
        "choices": ["C4", "D4"]})
    text = render(task, inst).messages[0].text
    assert "exactly one label from this list and nothing else: C4, D4." in text
    assert "A. C4" not in text
    assert parse("label", "D4", labels=["C4", "D4"]).value == "D4"


def test_boxes_format_is_the_one_the_parser_reads():
    task = _task("image-comprehension-small-object-detection")
    inst = Instance(id="1", task_id=task.id, inputs={
        "image": MediaRef(kind="image", path="i.png"), "categories": ["circle", "square"]})
    text = render(task, inst).messages[0].text
    assert "circle, square" in text
    example = text[text.index("["):text.index("]", text.index("]") + 1) + 1]
    sample = example.replace("x, y, w, h", "1, 2, 3, 4").replace('"..."', '"circle"')
    parsed = parse("boxes", sample)
    assert parsed.ok and parsed.value[0]["bbox"] == [1, 2, 3, 4]


def test_number_and_label_set_formats_parse():
    for task_id, output, answer, expected in [
        ("image-comprehension-seed-counting", "number", "7", 7.0),
        ("language-temporal-ner", "label_set", "Monday, noon", ["Monday", "noon"]),
    ]:
        task = _task(task_id)
        text = render(task, Instance(id="1", task_id=task_id, inputs={"raw_text": "x"})).messages[0].text
        assert "nothing else" in text
        assert parse(output, answer).value == expected


def test_raw_text_is_substituted_into_the_published_prompt():
    task = _task("language-topic-classification")
    inst = Instance(id="1", task_id=task.id, inputs={
        "prompt": "Classify the topic.\nText: <<<raw_text>>>", "raw_text": "The team won."})
    text = render(task, inst, annotation_type="classification").messages[0].text
    assert "Text: The team won." in text
    assert text.count("The team won.") == 1
    assert "lower case" in text


def test_hash_is_stable_and_tracks_content():
    task = _task("language-triviaqa")
    a = render(task, Instance(id="1", task_id=task.id, inputs={"question": "Capital of Peru?"}))
    b = render(task, Instance(id="2", task_id=task.id, inputs={"question": "Capital of Peru?"}))
    c = render(task, Instance(id="1", task_id=task.id, inputs={"question": "Capital of Chad?"}))
    assert a.hash == b.hash != c.hash


def test_media_hash_ignores_where_the_dataset_lives(tmp_path):
    task = _task("image-comprehension-seed-counting")
    one = MediaRef(kind="image", path="images/1.png").with_base(tmp_path / "x")
    two = MediaRef(kind="image", path="images/1.png").with_base(tmp_path / "y")
    p1 = render(task, Instance(id="1", task_id=task.id, inputs={"image": one}))
    p2 = render(task, Instance(id="1", task_id=task.id, inputs={"image": two}))
    assert p1.media[0].path != p2.media[0].path
    assert p1.hash == p2.hash


def test_serialised_instance_media_dicts_are_media_parts():
    task = _task("image-comprehension-seed-counting")
    inst = Instance(id="1", task_id=task.id,
                    inputs={"image": {"kind": "image", "path": "images/1.png", "sha256": None}})
    prompt = render(task, inst)
    assert prompt.media[0].kind == "image" and prompt.media[0].name == "images/1.png"


def test_override_file_changes_one_task_and_the_version(tmp_path):
    path = tmp_path / "prompts.yaml"
    path.write_text(yaml.safe_dump({"version": "site-7", "tasks": {
        "language-triviaqa": {"instruction": "Quiz time: {task}."}}}))
    templates = load_templates(path)
    task = _task("language-triviaqa")
    inst = Instance(id="1", task_id=task.id, inputs={"question": "Capital of Peru?"})
    prompt = render(task, inst, templates=templates)
    assert prompt.version == "site-7"
    assert prompt.messages[0].text.startswith("Quiz time: TriviaQA.")
    other = _task("language-time-series")
    assert render(other, Instance(id="1", task_id=other.id, inputs={"series": [1, 2]}),
                  templates=templates).messages[0].text == render(
        other, Instance(id="1", task_id=other.id, inputs={"series": [1, 2]})).messages[0].text
    assert templates.hash != load_templates().hash


def test_override_without_version_is_refused(tmp_path):
    path = tmp_path / "prompts.yaml"
    path.write_text(json.dumps({"tasks": {}}))
    with pytest.raises(PromptError, match="version"):
        load_templates(path)


def test_unfillable_alternative_falls_back_then_fails_naming_the_task(tmp_path):
    task = _task("language-triviaqa")
    inst = Instance(id="1", task_id=task.id, inputs={"question": "q"})
    path = tmp_path / "prompts.yaml"
    path.write_text(yaml.safe_dump({"version": "x", "tasks": {
        "language-triviaqa": {"instruction": "Use {nonexistent}."}}}))
    text = render(task, inst, templates=load_templates(path)).messages[0].text
    assert text.startswith("Task: TriviaQA.")  # the output type's wording, not a broken line
    path.write_text(yaml.safe_dump({"version": "x", "outputs": {
        "text": {"instruction": "Use {nonexistent}.", "answer_format": "Short."}}}))
    with pytest.raises(PromptError, match="language-triviaqa"):
        render(task, inst, templates=load_templates(path))


def test_skill_wording_only_for_its_output_type():
    odometry = _task("3d-comprehension-3d-odometry")
    assert odometry.skill == "3D Motion Analysis"
    text = render(odometry, Instance(id="1", task_id=odometry.id, inputs={})).messages[0].text
    assert "pose" in text and "Describe" not in text


def test_pre_lettered_options_are_not_lettered_twice():
    task = _task("language-legal-question-answering")
    inst = Instance(id="1", task_id=task.id, inputs={"question": "Q?", "choices": ["A. x", "B) y"]})
    text = render(task, inst, annotation_type="MultipleChoiceQA").messages[0].text
    assert "Options:\nA. x\nB) y" in text and "A. A." not in text


def test_every_published_placeholder_is_filled_and_not_repeated():
    task = _task("language-stance-detection")
    inst = Instance(id="1", task_id=task.id, inputs={
        "prompt": "Stance of <<<raw_text>>> towards <<<target>>>?", "raw_text": "tweet text",
        "target": "the law", "tweets": "tw"})
    text = render(task, inst, annotation_type="classification").messages[0].text
    assert "Stance of tweet text towards the law?" in text
    assert text.count("the law") == 1 and "<<<" not in text
    assert "Tweets: tw" in text


def test_generative_nlp_types_do_not_ask_for_a_short_answer():
    for task_id, typ, inputs in [
        ("language-story-generation", "Story Generation", {"prompt": "Once"}),
        ("language-mathematical-proof-generation", "Proof", {"statement": "1+1=2"}),
        ("language-text-style-transfer", "Text Style Transfer", {"text": "hi", "style": "formal"}),
    ]:
        task = _task(task_id)
        text = render(task, Instance(id="1", task_id=task_id, inputs=inputs),
                      annotation_type=typ).messages[0].text
        assert "as short as possible" not in text, task_id
    assert "style: formal" in text


def test_info_reports_version_and_templates_hash(tmp_path):
    from generalbench.prompts import info

    shipped = info()
    assert shipped["version"] == PROMPTS_VERSION and len(shipped["hash"]) == 16
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"version": "mine-1"}))
    assert info(path)["version"] == "mine-1"
