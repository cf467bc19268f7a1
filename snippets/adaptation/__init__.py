"""Adaptation: fine-tuning pre-trained models (LoRA and other adapters, preference losses).

Imports from `training` and the floors below it.
"""
