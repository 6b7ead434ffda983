"""Training side of the pipeline. Today: the shared instruction templates (`training.prompts`).

SFT, drafts, ViRL, evaluation and backbone merging build on this package (see ARCHITECTURE.md).
"""
