"""The super-resolution engine: LIIF (Chen, Liu, Wang, "Learning Continuous Image Representation
with Local Implicit Image Function", CVPR 2021, arXiv 2012.09161; reference code yinboc/liif).

Modules: `registry` (build models from {name, args} specs), `encoders` (EDSR-baseline, RDN),
`liif` (the implicit decoder and its fast CPU query path), `checkpoint` (the released file
format), `weights` (the local weights cache), `imageio` (safe image reading/writing),
`inference` (tiled, memory-bounded upscaling). This package knows nothing of prompts.
"""
