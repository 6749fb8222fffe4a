"""The one package that knows ComfyUI's internals.

Node files call this package and the pure core (`spacetime/`, `layout_model/`) and nothing of ComfyUI beyond
`comfy_api`. Each module here has one job; `families/` holds one module per model family (where its text
attention is, its token grid and how the local prompts enter).
"""
