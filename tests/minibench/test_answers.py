"""Each reference follows from its media: re-derived here with independent tools (scipy, numpy FFT,
soundfile, the data layer's decoders) rather than the generator's own bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from scipy import ndimage

from generalbench.data.dataset import open_dataset
from generalbench.data.minibench.audio import NOTES
from generalbench.data.minibench.images import BACKGROUND, COLORS
from generalbench.data.minibench.nlp import _ANALOGIES
from generalbench.data.native import load_native


@pytest.fixture(scope="module")
def tasks(mini):
    root, _ = mini
    return {td.task.id: td for td in open_dataset(root).tasks()}


def _items(td):
    for inst in td.instances():
        yield inst, load_native(td.task.output, inst.target, td.folder)


def _foreground(image: np.ndarray) -> np.ndarray:
    return np.any(image != np.asarray(BACKGROUND, dtype=np.uint8), axis=-1)


def test_counting_equals_connected_components(tasks):
    for inst, count in _items(tasks["image-comprehension-seed-counting"]):
        _, n = ndimage.label(_foreground(inst.inputs["image"].load()))
        assert n == count


def test_detection_boxes_are_component_extents(tasks):
    for inst, boxes in _items(tasks["image-comprehension-small-object-detection"]):
        labels, n = ndimage.label(_foreground(inst.inputs["image"].load()))
        found = sorted([s[1].start, s[0].start, s[1].stop - s[1].start, s[0].stop - s[0].start]
                       for s in ndimage.find_objects(labels))
        assert found == sorted(b["bbox"] for b in boxes)


def test_grounding_box_holds_the_named_colour(tasks):
    for inst, boxes in _items(tasks["image-comprehension-short-expression-visual-grounding"]):
        image = inst.inputs["image"].load()
        (box,) = boxes
        x, y, w, h = box["bbox"]
        colour = inst.inputs["expression"].split()[1]
        crop = image[y:y + h, x:x + w].reshape(-1, 3)
        assert (crop == COLORS[colour]).all(axis=1).any()


def test_segmentation_mask_is_the_blue_pixels(tasks):
    for inst, mask in _items(tasks["image-comprehension-flood-area-segmentation"]):
        image = inst.inputs["image"].load()
        blue = (image == COLORS["blue"]).all(axis=-1)
        assert np.array_equal(mask.astype(bool), blue)


def test_restoration_target_is_cleaner_than_input(tasks):
    for task_id in ("image-generation-image-deblurring", "image-generation-image-shadow-removal"):
        for inst, clean in _items(tasks[task_id]):
            degraded = inst.inputs["image"].load().astype(float)
            assert clean.shape == degraded.shape
            mse = np.mean((clean.astype(float) - degraded) ** 2)
            assert 0 < mse < 255 ** 2


def test_pitch_label_is_the_spectral_peak(tasks):
    for inst, label in _items(tasks["audio-comprehension-music-pitch-analysis"]):
        samples, rate = sf.read(str(inst.inputs["audio"].resolve()))
        spectrum = np.abs(np.fft.rfft(samples))
        peak = np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()]
        nearest = min(NOTES, key=lambda n: abs(NOTES[n] - peak))
        assert nearest == label


def test_sound_events_differ_as_labelled(tasks):
    flatness = {}
    for inst, label in _items(tasks["audio-comprehension-sound-event-recognition"]):
        samples, _ = sf.read(str(inst.inputs["audio"].resolve()))
        power = np.abs(np.fft.rfft(samples)) ** 2 + 1e-12
        flatness.setdefault(label, []).append(np.exp(np.mean(np.log(power))) / np.mean(power))
    # white noise is spectrally flat, a pure tone is not
    assert min(flatness["noise"]) > 10 * max(flatness["tone"])


def test_track_boxes_follow_the_object(tasks):
    for inst, track in _items(tasks["video-comprehension-ball-tracking"]):
        frames = inst.inputs["video_folder"].load()
        assert len(frames) == len(track)
        for frame, box in zip(frames, track, strict=True):
            ys, xs = np.nonzero(_foreground(frame))
            assert box == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


def test_flow_warps_the_first_frame_onto_the_second(tasks):
    for inst, flow in _items(tasks["video-comprehension-optical-flow-in-simple-synthetic-scene"]):
        f0, f1 = inst.inputs["video_folder"].load()
        h, w = f0.shape[:2]
        ys, xs = np.mgrid[0:h, 0:w]
        u, v = flow[..., 0].astype(int), flow[..., 1].astype(int)
        inside = (ys + v >= 0) & (ys + v < h) & (xs + u >= 0) & (xs + u < w)
        assert inside.mean() > 0.1
        assert np.array_equal(f1[(ys + v)[inside], (xs + u)[inside]], f0[inside])
        assert np.all(np.hypot(flow[..., 0], flow[..., 1]) > 55)  # the specialist's EPE is 49.2


def test_video_masks_match_frames(tasks):
    for inst, masks in _items(tasks["video-comprehension-automobile-video-object-segmentation"]):
        frames = inst.inputs["video_folder"].load()
        for frame, mask in zip(frames, masks, strict=True):
            assert np.array_equal(mask.astype(bool), _foreground(frame))


def test_point_cloud_classes_have_their_geometry(tasks):
    for inst, label in _items(tasks["3d-comprehension-3d-structure-classification"]):
        pts = inst.inputs["pointcloud"].load()
        radius = np.linalg.norm(pts, axis=1)
        if label == "sphere":
            assert np.ptp(radius) < 1e-4 * radius.mean()
        else:
            assert np.ptp(radius) > 0.05 * radius.mean()
        if label == "cube":
            cheb = np.abs(pts).max(axis=1)
            assert np.ptp(cheb) < 1e-4 * cheb.mean()


def test_odometry_poses_map_scans_onto_the_first(tasks):
    for inst, poses in _items(tasks["3d-comprehension-3d-odometry"]):
        scans = [ref.load() for ref in inst.inputs["pointclouds"]]
        for scan, pose in zip(scans, poses, strict=True):
            pose = np.asarray(pose)
            world = scan @ pose[:, :3].T + pose[:, 3]
            assert np.allclose(world, scans[0], atol=1e-3)


def test_completion_target_contains_the_partial_input(tasks):
    for inst, full in _items(tasks["3d-generation-3d-point-cloud-completion"]):
        partial = inst.inputs["pointcloud"].load()
        assert len(partial) < len(full)
        d = np.min(np.linalg.norm(partial[:, None] - full[None], axis=-1), axis=1)
        assert d.max() < 1e-6


def test_mesh_target_encloses_its_sampled_points(tasks):
    for inst, mesh in _items(tasks["3d-generation-point-cloud-to-mesh-object-reconstruction"]):
        pts = inst.inputs["pointcloud"].load()
        half = np.abs(mesh.vertices).max(axis=0)
        assert np.allclose(np.abs(pts).max(axis=0), half, atol=1e-5)
        assert np.all(np.abs(pts) <= half + 1e-5)
        assert len(mesh.faces) == 12


def test_nlp_answers_are_computed(tasks):
    for inst, target in _items(tasks["language-time-series"]):
        series = np.asarray(inst.inputs["series"], dtype=float)
        steps = np.diff(series)
        assert np.allclose(steps, steps[0]) and target == pytest.approx(series[-1] + steps[0])
    for inst, target in _items(tasks["language-temporal-ner"]):
        assert all(t in inst.inputs["raw_text"] for t in target)
    for inst, target in _items(tasks["language-analogical-reasoning"]):
        a, b, c = (w for w in inst.inputs["question"].replace(" is to what?", "").split()
                   if w not in ("is", "to", "as"))
        answer = inst.inputs["choices"]["ABCD".index(target)]
        pairs = dict(_ANALOGIES)
        assert pairs[a] == b and pairs[c] == answer


def test_cracks_are_dark_pixels_only_when_labelled(tasks):
    for inst, label in _items(tasks["image-comprehension-marble-surface-anomaly-detection"]):
        image = inst.inputs["image"].load()
        assert label in inst.inputs["choices"]
        assert ((image < 60).all(axis=-1).any()) == (label == "crack")
