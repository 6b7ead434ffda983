"""ViRL rewards (../shared/specs/reward.md): the coarse-to-fine visual reward, the alignment reward and their
0.9 / 0.1 combination, in TRL's reward-function shape."""
