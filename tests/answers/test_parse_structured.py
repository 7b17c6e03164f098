"""Structured outputs (tracks, poses, 3-D boxes) written by a text model as JSON."""

from __future__ import annotations

from generalbench.answers import parse


def test_track_json_in_prose_is_decoded():
    out = parse("track", 'Sure! The track is:\n```json\n[[1, 2, 3, 4], null, [2, 3, 3, 4]]\n```')
    assert out.ok and out.value == [[1, 2, 3, 4], None, [2, 3, 3, 4]]


def test_track_already_decoded_passes_and_garbage_fails():
    assert parse("track", [[0, 0, 1, 1]]).ok
    bad = parse("track", "the ball moves to the right")
    assert not bad.ok and "no JSON track" in bad.reason
    wrong = parse("track", "[[1, 2, 3]]")
    assert not wrong.ok and "[x, y, w, h]" in wrong.reason


def test_poses_and_3d_boxes():
    pose = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 2.5]]
    out = parse("poses", f"Answer: {[pose, pose]}")
    assert out.ok and len(out.value) == 2
    box = '{"box": [0, 0, 0, 1, 1, 1, 0], "label": "chair", "score": 0.9}'
    out = parse("boxes3d", f"I see one object: {box}")
    assert out.ok and out.value[0]["label"] == "chair"
    out = parse("tracks3d", '[{"box": [0,0,0,1,1,1,0], "frame": 0, "track_id": 3, "label": "car"}]')
    assert out.ok and out.value[0]["track_id"] == 3
    assert not parse("tracks3d", '[{"box": [0,0,0,1,1,1,0]}]').ok
