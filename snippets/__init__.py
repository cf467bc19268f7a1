"""Modern NLP & Transformers: the tested code behind every page of the guide.

One concept per module; the pages include these files by named section.
"""

__version__ = "0.1.0"
