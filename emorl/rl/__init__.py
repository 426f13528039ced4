"""Reinforcement learning: GRPO core, B-GRPO, and the reward registry."""
