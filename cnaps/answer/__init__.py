"""The answer pipeline: one prompt file in, one grounded answer out.

`pipeline.make_report` is the one entry; it runs each stage once and hands each stage's typed
result (a record of `records.py`, torch-free) to the later ones as required arguments:

    stage1_prompt     parse the prompt file: question, recommended models, related papers
    (catalog)         match each recommended model to a catalog family (catalog.py, catalog/*.toml)
    stage2_request    read the request: scale factors and the input's degradations, with the
                      words each came from and the numbers deliberately not read; factors in
                      other languages come from numbers.py (catalog/languages.toml), the
                      grammar's cue words from catalog/grammar.toml
    stage3_topics     what the question asks about, answered first (catalog/topics.toml; other
                      languages by meaning, semantic.embed_multilingual)
    stage4_classify   the user's task, with a confidence and its evidence
    stage5_related    judge each related paper: relevant, related or tangential, and why
                      (semantic.py: sentence embeddings; summary.py: what a paper does)
    stage6_demo       run the recommended model where cnaps can (demo_cache.py keeps results;
                      figure.py draws the comparison) — the only stage that needs torch
    stage7_write      render answer.md / answer.html from prompts/*.j2
    stage8_guard      keep only the prompt's own links
    folder            write the answer folder, all or nothing

Helpers used by several stages: lexicon.py (word stems, the one sentence splitter), links.py (URLs, Markdown escaping),
catalog_refresh.py (`cnaps catalog refresh`). Apps that use the pipeline sit beside this package:
cnaps/collection.py (many prompts), cnaps/serve/ (web page and HTTP API), cnaps/workflow.py.
"""
