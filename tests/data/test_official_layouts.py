"""The official NLP, audio and video annotation layouts (official-format.md §2), written by hand
from the published field names, are read into the instance model correctly."""

from __future__ import annotations

import numpy as np
import pytest

from generalbench.data import MediaRef, load_native, open_dataset
from generalbench.data.media import encode_rle, save_flow, save_mask
from generalbench.errors import DataError

from .helpers import image, wav, write_task


def instances(root, catalog, task_id):
    ds = open_dataset(root, catalog)
    assert not ds.unmatched, ds.unmatched
    return list(ds.task(task_id).instances())


# --- NLP -----------------------------------------------------------------------------------------
NLP_CASES = [
    # (folder, task name, type, record, expected inputs subset, expected target)
    ("Legal-Question-Answering", "Legal Question Answering", "MultipleChoiceQA",
     {"id": 1, "input": {"question": "Q?", "options": ["A. x", "B. y"]}, "output": {"answer": "B"}},
     {"question": "Q?", "choices": ["A. x", "B. y"]}, "B"),
    ("Table-Question-Answering", "Table Question Answering", "OpenQA",
     {"id": "t1", "input": {"question": "how many?", "table": [["a", "1"]]}, "output": {"answer": ["1", "one"]}},
     {"question": "how many?", "table": [["a", "1"]]}, ["1", "one"]),
    ("Multi-Document-Summarization", "Multi-Document Summarization", "Summarization",
     {"id": 3, "document_list": ["d1", "d2"], "input": {}, "output": {"highlights": "h"}},
     {"documents": ["d1", "d2"]}, "h"),
    ("English-French-Translation", "English-French Translation", "Translation",
     {"id": 4, "in": "English", "out": "French", "input": "Hello", "output": {"translation": "Bonjour"}},
     {"source_language": "English", "target_language": "French", "text": "Hello"}, "Bonjour"),
    ("Story-Generation", "Story Generation", "Story Generation",
     {"id": 5, "input": {"prompt": "Once"}, "output": {"story": "upon"}}, {"prompt": "Once"}, "upon"),
    ("Multi-Turn-Daily-Dialogue-Generation", "Multi-Turn Daily Dialogue Generation", "Dialogue",
     {"id": 6, "dialog": ["hi", "hello"], "output": {"reference": "bye"}}, {"dialog": ["hi", "hello"]}, "bye"),
    ("Code-Generation", "Code Generation", "Code Generation",
     {"id": 7, "language": "python", "goal": "add", "context": [{"type": "description", "content": "x"}],
      "output": {"response": {"content": "def add(a, b): return a + b"}}},
     {"language": "python", "goal": "add"}, "def add(a, b): return a + b"),
    ("Code-Repair", "Code Repair", "Code Repair",
     {"id": 8, "input": {"prompt": "fix", "sourceCode": "x = "}, "output": {"repairCode": "x = 1"}},
     {"prompt": "fix", "source_code": "x = "}, "x = 1"),
    ("Code-Defect-Detection", "Code Defect Detection", "Code Defect Detection",
     {"id": 9, "func": "int f(){}", "output": {"target": 1}}, {"code": "int f(){}"}, "1"),
    ("Text-to-SQL-Generation", "Text-to-SQL Generation", "Text to SQL",
     {"id": 10, "input": {"context": "CREATE TABLE t(a)", "question": "all a"}, "output": {"sql": "SELECT a FROM t"}},
     {"question": "all a"}, "SELECT a FROM t"),
    ("Code-Explanation", "Code Explanation", "Code Explanation",
     {"id": 11, "code": "print(1)", "output": {"nl": "prints one"}}, {"code": "print(1)"}, "prints one"),
    ("Mathematical-Proof-Generation", "Mathematical Proof Generation", "Proof",
     {"id": 12, "statement": "1+1=2", "output": {"proof": {"steps": ["s1", "s2"], "conclusion": "done"}}},
     {"statement": "1+1=2"}, "s1\ns2\nConclusion: done"),
    ("Mathematical-Word-Problem-Solving", "Mathematical Word Problem Solving", "Mathematical Word Problem Solving",
     {"id": 13, "problem": {"text": "2+2?", "constraints": ["int"]}, "output": {"solution": {"final_answer": "4"}}},
     {"question": "2+2?", "constraints": ["int"]}, "4"),
    ("Paraphrase-Generation", "Paraphrase Generation", "Paraphrase Generation",
     {"id": 14, "input": {"originalSentence": "a b"}, "output": {"paraphraseSentence": "b a"}}, {"text": "a b"}, "b a"),
    ("Grammar-Correction", "Grammar Correction", "Grammar Correction",
     {"id": 15, "input": {"Error Type": "verb", "Ungrammatical Statement": "he go"},
      "output": {"Standard English": "he goes"}}, {"error_type": "verb", "text": "he go"}, "he goes"),
    ("Text-Style-Transfer", "Text Style Transfer", "Text Style Transfer",
     {"id": 16, "input": {"text": "hi", "style": "formal"}, "output": {"answer": "Good day"}},
     {"text": "hi", "style": "formal"}, "Good day"),
    ("Table-to-Text-Generation", "Table-to-Text Generation", "Table-to-Text Generation",
     {"id": 17, "input": {"table": [{"header": ["a"], "rows": [["1"]]}]}, "output": {"response": {"text": "a is 1"}}},
     {"table": [{"header": ["a"], "rows": [["1"]]}]}, "a is 1"),
    ("Time-Series", "Time Series", "Time Series",
     {"id": 18, "input": {"data": [1.0, 2.0, 3.0]}, "output": {"target": 4.0}}, {"series": [1.0, 2.0, 3.0]}, 4.0),
    ("Stance-Detection", "Stance Detection", "classification",
     {"id": 19, "input": {"prompt": "Stance of <<<raw_text>>> towards <<<target>>>?", "raw_text": "r",
                          "tweets": "tw", "target": "T"}, "output": {"stance": "FAVOR"}},
     {"prompt": "Stance of <<<raw_text>>> towards <<<target>>>?", "raw_text": "r", "tweets": "tw",
      "target": "T"}, "FAVOR"),
    ("Scientific-NER", "Scientific NER", "ner",
     {"id": 20, "input": {"prompt": "Entities in <<<raw_text>>>", "raw_text": "BERT on GLUE"},
      "output": {"entities": "BERT, GLUE"}}, {"raw_text": "BERT on GLUE"}, ["BERT", "GLUE"]),
    ("Scientific-Relation-Extraction", "Scientific Relation Extraction", "relation extraction",
     {"id": 21, "input": {"prompt": "p", "raw_text": "r"}, "output": {"relations": "used-for(a, b), part-of(c, d)"}},
     {"prompt": "p"}, ["used-for(a", "b)", "part-of(c", "d)"]),
    ("Event-Trigger-Detection", "Event Trigger Detection", "event detection",
     {"id": 22, "input": {"prompt": "p", "raw_text": "r"}, "output": {"trigger": "attack"}}, {"prompt": "p"},
     ["attack"]),  # the official "event detection" type is multi-label: a label set
    ("Dependency-Parsing", "Dependency Parsing", "parsing",
     {"id": 23, "input": {"prompt": "p", "raw_text": "r"}, "output": {"arcs": "nsubj, obj"}}, {"prompt": "p"},
     ["nsubj", "obj"]),
    ("Topic-Classification", "Topic Classification", "multiple choice",
     {"id": 24, "input": {"prompt": "p", "raw_text": "r"}, "output": {"label": "sports"}}, {"raw_text": "r"}, "sports"),
    ("Aspect-Term-Extraction", "Aspect Term Extraction", "extraction",
     {"id": 25, "input": {"prompt": "p", "raw_text": "r", "aspect": "x"}, "output": {"terms": "screen"}},
     {"aspect": "x"}, ["screen"]),
    ("Fact-Verification", "Fact Verification", "multi label classification",
     {"id": 26, "input": {"prompt": "p", "raw_text": "r"}, "output": {"labels": "supports, refutes"}},
     {"prompt": "p"}, ["supports", "refutes"]),
]


@pytest.mark.parametrize("folder,name,typ,record,inputs,target", NLP_CASES, ids=[c[2] + ":" + c[0] for c in NLP_CASES])
def test_nlp_types(tmp_path, catalog, folder, name, typ, record, inputs, target):
    write_task(tmp_path, f"nlp/{folder}", {"task": name, "type": typ, "data": [record]})
    task = catalog.resolve(name)
    (inst,) = instances(tmp_path, catalog, task.id)
    assert inst.id == str(record["id"]) and inst.task_id == task.id
    for key, value in inputs.items():
        assert inst.inputs[key] == value, key
    assert inst.target == target


def test_all_26_nlp_types_covered():
    from generalbench.data.adapters import fields

    assert len(fields()["nlp"]) == 26
    assert {c[2] for c in NLP_CASES} == set(fields()["nlp"])


def test_nlp_closed_set_has_no_target(tmp_path, catalog):
    write_task(tmp_path, "NLP/Legal-Question-Answering", {
        "task": "Legal Question Answering", "type": "MultipleChoiceQA",
        "data": [{"id": 1, "input": {"question": "Q?", "options": ["a", "b"]}}]})
    (inst,) = instances(tmp_path, catalog, "language-legal-question-answering")
    assert inst.target is None and inst.inputs["choices"] == ["a", "b"]


def test_nlp_unknown_type_uses_first_output_value(tmp_path, catalog):
    write_task(tmp_path, "nlp/TriviaQA", {"task": "TriviaQA", "type": "SomethingNew",
                                          "data": [{"id": 1, "input": {"q": "x"}, "output": {"a": "y", "b": "z"}}]})
    (inst,) = instances(tmp_path, catalog, "language-triviaqa")
    assert inst.inputs == {"q": "x"} and inst.target == "y"


def test_nlp_missing_reference_names_field(tmp_path, catalog):
    folder = write_task(tmp_path, "nlp/Code-Repair", {"task": "Code Repair", "type": "Code Repair",
                                                      "data": [{"id": "c7", "input": {"prompt": "fix", "sourceCode": "x"},
                                                                "output": {"fixed": "x = 1"}}]})
    with pytest.raises(DataError) as err:
        instances(tmp_path, catalog, "language-code-repair")
    msg = str(err.value)
    assert str(folder / "annotation.json") in msg and "'c7'" in msg and "output.repairCode" in msg


# --- audio ---------------------------------------------------------------------------------------
def test_audio_comprehension_layout(tmp_path, catalog):
    folder = write_task(tmp_path, "audio/comprehension/AccentClassification", {
        "task": "Accent Classification", "type": "comprehension",
        "data": [{"id": "a1", "input": {"audio_file": "sub\\a1.wav", "prompt": "Which accent?"},
                  "output": {"text": "scottish"}}]}, name="accent_classification.json")
    wav(folder / "audios/sub/a1.wav")
    (inst,) = instances(tmp_path, catalog, "audio-comprehension-accent-classification")
    ref = inst.inputs["audio"]
    assert isinstance(ref, MediaRef) and ref.kind == "audio" and ref.path == "audios/sub/a1.wav"
    samples, rate = ref.load()
    assert rate == 8000 and samples.shape == (2000,)
    assert inst.inputs["prompt"] == "Which accent?" and inst.target == "scottish"


def test_audio_bird_detection_integer_label_and_folder_mapping(tmp_path, catalog):
    folder = write_task(tmp_path, "audio/comprehension/BirdSoundDetection", {
        "task": "BirdSoundDetection", "type": "comprehension",
        "data": [{"id": 0, "input": {"audio_file": "x.wav", "prompt": "Bird?"}, "output": {"text": 1}}]})
    wav(folder / "audios/x.wav")
    write_task(tmp_path, "audio/comprehension/AcousticSceneClassification", {
        "type": "comprehension", "data": [{"id": 0, "input": {"audio_file": "y.wav", "prompt": "?"},
                                           "output": {"text": "park"}}]})
    ds = open_dataset(tmp_path, catalog)
    ids = {td.task.id: td.matched_by for td in ds.tasks()}
    assert ids == {"audio-comprehension-bird-sound-detection": "task",
                   "audio-comprehension-acoustic-scene-recognition": "folder mapping"}
    (inst,) = ds.task("audio-comprehension-bird-sound-detection").instances()
    assert inst.target == "1"


def test_audio_generation_layout(tmp_path, catalog):
    folder = write_task(tmp_path, "audio/generation/VideoToAudio", {
        "task": "VideoToAudio", "type": "generation",
        "data": [{"id": "v1", "input": {"prompt": "make sound", "video_file": "v1.mp4"},
                  "output": {"audio_file": "v1.wav"}}]})
    wav(folder / "audios/v1.wav")
    (inst,) = instances(tmp_path, catalog, "audio-generation-videotoaudio")
    assert inst.inputs["video"].kind == "video" and inst.inputs["video"].path == "videos/v1.mp4"
    assert isinstance(inst.target, MediaRef) and inst.target.path == "audios/v1.wav"
    samples, rate = load_native("audio", inst.target)
    assert rate == 8000


# --- video ---------------------------------------------------------------------------------------
def test_video_vos_layout(tmp_path, catalog):
    m1 = np.zeros((4, 5), np.uint8)
    m1[1:3, 1:4] = 1
    m2 = np.zeros((4, 5), np.uint8)
    m2[0, 0] = 1
    folder = write_task(tmp_path, "video/comprehension/AnimalVOS", {
        "task": "Animal Video Object Segmentation", "type": "VOS",
        "data": [{"id": "v0", "input": {"video_folder": "JPEGImages/v0"},
                  "output": {"10": {"mask": encode_rle(m2)}, "2": {"mask": encode_rle(m1)}}}]})
    for i in (2, 10):
        image(folder / f"JPEGImages/v0/{i:05d}.jpg")
    (inst,) = instances(tmp_path, catalog, "video-comprehension-animal-video-object-segmentation")
    assert inst.inputs["video_folder"].kind == "frames"
    assert inst.inputs["video_folder"].load().shape == (2, 8, 8, 3)
    masks = load_native("mask_series", inst.target)
    assert [m.tolist() for m in masks] == [m1.tolist(), m2.tolist()]  # natural order of mask ids


def test_video_rvos_prompt(tmp_path, catalog):
    m = np.ones((2, 2), np.uint8)
    folder = write_task(tmp_path, "video/comprehension/HumanRVOS", {
        "type": "RVOS", "data": [{"id": 0, "input": {"video_folder": "v0", "prompt": "the man in red"},
                                  "output": {"0": {"mask": encode_rle(m)}}}]})
    image(folder / "v0/0.jpg")
    (inst,) = instances(tmp_path, catalog, "video-comprehension-human-referring-video-object-segmentation")
    assert inst.inputs["prompt"] == "the man in red"


def test_video_hcstvg_and_vidstg_layouts(tmp_path, catalog):
    write_task(tmp_path, "video/comprehension/StaticActionDet", {
        "type": "ActionDet", "data": [{"original_video_id": "vid7", "video_path": "a.mp4", "frame_count": 5,
                                       "caption": "the woman sits", "tube_start_frame": 2,
                                       "tube_end_frame": 3, "trajectory": [[1, 2, 3, 4], [2, 3, 4, 5]]}]})
    write_task(tmp_path, "video/comprehension/HumanVG", {
        "type": "VG", "data": [{"id": "g1", "video_path": "b.mp4", "frame_count": 4, "caption": "who runs",
                                "tube_start_frame": 1, "tube_end_frame": 2,
                                "trajectory": {"1": {"bbox": [0, 0, 2, 2]}, "2": {"bbox": [1, 1, 2, 2]}}}]})
    ds = open_dataset(tmp_path, catalog)
    (hc,) = ds.task("video-comprehension-spatial-temporal-static-action-detection").instances()
    assert hc.id == "vid7" and hc.inputs["prompt"] == "the woman sits"
    assert hc.inputs["video"].path == "videos/a.mp4"
    assert hc.target == [None, [1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0], None, None]  # 1-based start
    (vg,) = ds.task("video-comprehension-human-video-grounding").instances()
    assert vg.target == [None, [0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0], None]


def test_video_depth_layout(tmp_path, catalog):
    folder = write_task(tmp_path, "video/comprehension/StaticVDE", {
        "type": "VDE", "data": [{"id": "d0", "input": "scene.mp4", "output": "scene.npz"}]})
    (folder / "depth").mkdir()
    disp = np.random.default_rng(0).random((3, 1, 4, 4))
    np.savez(folder / "depth/scene.npz", disparity=disp)
    (inst,) = instances(tmp_path, catalog, "video-comprehension-indoor-static-video-depth-estimation")
    assert inst.inputs["video"].path == "video/scene.mp4"
    assert np.allclose(load_native("dense_series", inst.target), disp[:, 0])


def test_video_match_track_flow_layouts(tmp_path, catalog):
    write_task(tmp_path, "video/comprehension/ColorMatch", {
        "type": "Match", "data": [{"id": 0, "input": {"prompt": "which?", "video_folder": "f0"},
                                   "output": {"answer": "(B)"}}]})
    write_task(tmp_path, "video/comprehension/BallTrack", {
        "type": "Track", "data": [{"id": 0, "input": {"prompt": "track", "video_folder": "f0"},
                                   "output": {"answer": [[1, 1, 2, 2], [], [2, 2, 2, 2]]}}]})
    folder = write_task(tmp_path, "video/comprehension/ComplexSceneFlowEstimate", {
        "type": "Flow", "data": [{"id": 0, "input": {"prompt": "flow", "video_folder": "f0"},
                                  "output": {"flow": "flow/0.flo"}}]}, name="ComplexSceneFlowEstimate.json")
    (folder / "flow").mkdir()
    flow = np.dstack([np.full((3, 4), 1.5), np.full((3, 4), -0.5)]).astype(np.float32)
    save_flow(folder / "flow/0.flo", flow)
    ds = open_dataset(tmp_path, catalog)
    assert not ds.unmatched
    (match,) = ds.task("video-comprehension-color-aware-object-matching").instances()
    assert match.target == "(B)" and match.inputs["video_folder"].kind == "frames"
    (track,) = ds.task("video-comprehension-ball-tracking").instances()
    assert track.target == [[1.0, 1.0, 2.0, 2.0], None, [2.0, 2.0, 2.0, 2.0]]
    (fl,) = ds.task("video-comprehension-optical-flow-in-complex-scene-estimation").instances()
    assert np.allclose(load_native("flow", fl.target), flow)


def test_video_frames_qa_and_generation(tmp_path, catalog):
    folder = write_task(tmp_path, "video/comprehension/AgricultureVideoQuestionAnswering", {
        "type": "QA", "data": [{"id": "q", "input": {"video_file_list": ["v/0.jpg", "v/1.jpg"], "prompt": "what?"},
                                "output": {"text": "a tractor"}}]})
    image(folder / "videos/v/0.jpg")
    image(folder / "videos/v/1.jpg")
    write_task(tmp_path, "video/generation/AthleticsT2V", {
        "type": "T2V", "data": [{"id": "p0", "input": {"prompt": "a runner"}}]})
    i2v = write_task(tmp_path, "video/generation/VehicleI2V", {
        "type": "I2V", "data": [{"id": "c", "input": {"prompt": "drive", "image": "images/c.png"}}]})
    image(i2v / "images/c.png")
    ds = open_dataset(tmp_path, catalog)
    assert not ds.unmatched, ds.unmatched
    (qa,) = ds.task("video-comprehension-agriculture-video-question-answering").instances()
    assert [r.path for r in qa.inputs["video_frames"]] == ["videos/v/0.jpg", "videos/v/1.jpg"]
    assert qa.target == "a tractor"
    (t2v,) = ds.task("Athletics T2V").instances()
    assert t2v.inputs == {"prompt": "a runner"} and t2v.target is None
    (iv,) = ds.task("video-generation-vehicle-image-to-video-generation").instances()
    assert iv.inputs["image"].load().shape == (8, 8, 3)


def test_video_restoration_and_salient_detection_layouts(tmp_path, catalog):
    den = write_task(tmp_path, "video/generation/VideoDenoising", {
        "task": "Video Denoising", "type": "VideoRestoration",
        "data": [{"id": "r0", "input": {"pred_dir": "preds/r0", "gt_dir": "gt/r0"}}]})
    for i in range(2):
        image(den / f"gt/r0/{i}.png", 10 * i)
    sal = write_task(tmp_path, "video/comprehension/VideoSalientObjectDetection", {
        "task": "Video Salient Object Detection", "type": "VideoObjectDetection",
        "data": [{"id": "s0", "input": {"pred_dir": "preds/s0", "gt_dir": "gt/s0", "video_folder": "frames/s0"}}]})
    for i in (10, 2):
        (sal / "gt/s0").mkdir(parents=True, exist_ok=True)
        save_mask(sal / f"gt/s0/{i}.png", np.full((3, 3), i, np.uint8))
        image(sal / f"frames/s0/{i}.jpg")
    ds = open_dataset(tmp_path, catalog)
    assert not ds.unmatched, ds.unmatched
    (r,) = ds.task("video-generation-video-denoising").instances()
    assert r.target.kind == "frames" and r.target.path == "gt/r0" and r.meta["pred_dir"] == "preds/r0"
    assert load_native("video", r.target).shape == (2, 8, 8, 3)
    (s,) = ds.task("video-comprehension-video-salient-object-detection").instances()
    assert [m.path for m in s.target] == ["gt/s0/2.png", "gt/s0/10.png"]
    assert [int(m[0, 0]) for m in load_native("mask_series", s.target)] == [2, 10]
    assert s.inputs["video_folder"].kind == "frames"
