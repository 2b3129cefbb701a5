"""cnaps: answers questions about AI image models, and proves the answer by running the model.

Pipeline (one module per stage): prompt (parse) -> classify -> demo (run the model) -> answer
(render) -> report. The super-resolution engine lives in `cnaps.sr` and knows nothing of prompts.
"""

__version__ = "0.1.0"
