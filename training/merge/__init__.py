"""Backbone merging (VisCodex, arXiv 2508.09945): a coding LLM's task vector added to a VLM's language model.

Given the VLM, the base LLM its language model came from, and a coder fine-tuned from that same base:

    merged = vlm + scale * (coder - base)   on the language model's tensors; the vision tower and projector untouched

`layout.py` maps VLM tensor names to LLM names, `recipe.py` is the recipe (scale, include / exclude patterns),
`shards.py` reads and writes safetensors a block of rows at a time, `task_vector.py` checks the three checkpoints
and writes the merged weights, `run.py` makes it a run (atomic output folder, `merge.yaml`, found again when
finished). Peak memory stays near a few blocks of rows plus the libraries, far below one model (README).
"""

from training.merge.recipe import MergeError, MergeRecipe
from training.merge.run import plan_merge, run_merge

__all__ = ["MergeError", "MergeRecipe", "plan_merge", "run_merge"]
