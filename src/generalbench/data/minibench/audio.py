"""Audio tasks of the mini-bench: tones, noise and chirps synthesised with numpy (16 kHz WAV).

The label or caption of each clip is the recipe it was synthesised from.
"""

from __future__ import annotations

import numpy as np

from generalbench.data.minibench.common import TaskContext

RATE = 16000
NOTES = {"C4": 261.63, "D4": 293.66, "E4": 329.63, "F4": 349.23, "G4": 392.00, "A4": 440.00,
         "B4": 493.88}
EVENTS = ("tone", "noise", "chirp", "clicks")


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(RATE * seconds)) / RATE


def _fade(x: np.ndarray) -> np.ndarray:
    """10 ms raised-cosine fades so clips start and end without a click."""
    n = min(len(x) // 2, int(0.01 * RATE))
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
    x = x.copy()
    x[:n] *= ramp
    x[len(x) - n:] *= ramp[::-1]
    return x


def tone(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    return _fade(amp * np.sin(2 * np.pi * freq * _t(seconds)))


def event(kind: str, rng: np.random.Generator, seconds: float = 0.5) -> np.ndarray:
    t = _t(seconds)
    if kind == "tone":
        return tone(float(rng.uniform(300, 900)), seconds)
    if kind == "noise":
        return _fade(0.3 * rng.standard_normal(len(t)))
    if kind == "chirp":
        f0, f1 = float(rng.uniform(200, 400)), float(rng.uniform(1500, 3000))
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * seconds))
        return _fade(0.5 * np.sin(phase))
    if kind == "clicks":
        x = np.zeros(len(t))
        step = int(RATE / rng.uniform(8, 15))
        for start in range(0, len(t) - 40, step):
            x[start:start + 40] = 0.8 * np.hanning(40)
        return x
    raise ValueError(f"unknown event {kind!r}")


def pitch(ctx: TaskContext) -> list[dict]:
    """Which note is played? A pure tone at the note's equal-temperament frequency."""
    out = []
    for i in range(ctx.n):
        name = str(ctx.rng.choice(list(NOTES)))
        out.append({"id": f"{i:04d}", "input": {
            "audio": ctx.wav(f"audios/{i:04d}.wav", tone(NOTES[name], 0.5), RATE),
            "prompt": "Which musical note is played?", "choices": list(NOTES)},
            "output": {"label": name}})
    return out


def sound_event(ctx: TaskContext) -> list[dict]:
    """Which kind of sound is it: a steady tone, white noise, a rising chirp or clicks?"""
    out = []
    for i in range(ctx.n):
        kind = EVENTS[i % len(EVENTS)] if i < len(EVENTS) else str(ctx.rng.choice(EVENTS))
        out.append({"id": f"{i:04d}", "input": {
            "audio": ctx.wav(f"audios/{i:04d}.wav", event(kind, ctx.rng), RATE),
            "prompt": "What kind of sound event is this?", "choices": list(EVENTS)},
            "output": {"label": kind}})
    return out


_DESCRIBE = {"tone": "a steady tone", "noise": "a burst of white noise",
             "chirp": "a rising chirp", "clicks": "a series of clicks"}


def caption(ctx: TaskContext) -> list[dict]:
    """Describe a clip of two events separated by silence; the caption names them in order."""
    out = []
    for i in range(ctx.n):
        a, b = (str(k) for k in ctx.rng.choice(EVENTS, size=2, replace=False))
        clip = np.concatenate([event(a, ctx.rng), np.zeros(RATE // 4), event(b, ctx.rng)])
        out.append({"id": f"{i:04d}", "input": {
            "audio": ctx.wav(f"audios/{i:04d}.wav", clip, RATE),
            "prompt": "Describe the audio clip."},
            "output": {"text": f"{_DESCRIBE[a]} followed by {_DESCRIBE[b]}"}})
    return out


def beep_qa(ctx: TaskContext) -> list[dict]:
    """Open-ended question about how many beeps are heard; judged against the reference answer."""
    words = ["one", "two", "three", "four", "five"]
    out = []
    for i in range(ctx.n):
        k = int(ctx.rng.integers(1, 6))
        freq = float(ctx.rng.uniform(500, 1000))
        parts = []
        for _ in range(k):
            parts += [tone(freq, 0.12), np.zeros(int(0.1 * RATE))]
        out.append({"id": f"{i:04d}", "input": {
            "audio": ctx.wav(f"audios/{i:04d}.wav", np.concatenate(parts), RATE),
            "question": "How many beeps do you hear, and are they all the same pitch?"},
            "output": {"text": f"There are {words[k - 1]} beeps, all at the same pitch."}})
    return out


# DNSMOS (this task's MOS) tiles a short clip by doubling until it spans its 9.01 s window and
# then slides that window in 1 s hops: a 0.75 s clip became 12 s and three network runs of ~1.4 s
# on a CPU; a 0.6 s clip becomes 9.6 s and one run, a third of the suite's time on this task.
NOTE_SECONDS = 0.2


def melody(ctx: TaskContext) -> list[dict]:
    """Synthesise the described note sequence; the reference is that sequence as pure tones."""
    out = []
    for i in range(ctx.n):
        names = [str(n) for n in ctx.rng.choice(list(NOTES), size=3)]
        clip = np.concatenate([tone(NOTES[n], NOTE_SECONDS) for n in names])
        out.append({"id": f"{i:04d}", "input": {
            "prompt": f"Synthesise the notes {', '.join(names)} as pure tones, {NOTE_SECONDS:g} s "
                      f"each, at {RATE} Hz."},
            "output": {"audio": ctx.wav(f"targets/{i:04d}.wav", clip, RATE)}})
    return out


def text_to_audio(ctx: TaskContext) -> list[dict]:
    """Generate the described sound event; the reference is a clip made from that description."""
    out = []
    for i in range(ctx.n):
        kind = str(ctx.rng.choice(EVENTS))
        out.append({"id": f"{i:04d}", "input": {"prompt": f"Generate {_DESCRIBE[kind]}."},
                    "output": {"audio": ctx.wav(f"targets/{i:04d}.wav",
                                                event(kind, ctx.rng, 1.0), RATE)}})
    return out
