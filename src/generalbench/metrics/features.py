"""The model-based metrics, split by output family (this module only imports them, for code that
still names the old `features` family or module):

  image_models.py   FID, CLIP score, CLIP image score, zero-shot classifier accuracy
  video_models.py   FVD, CLIP-Style, DINO, frame accuracy, aesthetic, MUSIQ, temporal flicker,
                    Optical Flow Score, success rates (VBench, camera motion, video QA), I2V composite
  audio_models.py   FAD, CLAP, Style-CLAP, MOS, WER and CIDEr of speech, E-Acc
  motion_models.py  Motion FID
  model_common.py   the plumbing they share (settings, model loading, prompts, frames, VBench files)
"""

from __future__ import annotations

from generalbench.metrics import audio_models, image_models, motion_models, video_models

__all__ = ["audio_models", "image_models", "motion_models", "video_models"]
