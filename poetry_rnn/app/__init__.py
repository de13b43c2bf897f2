"""The web app (Gradio): 作诗 generate, 格律检测 check, 关于 about. `app.py` at the repository root starts it.

One module a role: `settings` (environment), `text` (choices, labels, examples, messages), `render` (HTML
and text of poems and analyses), `handlers` (form fields → GenerationRequest → answers, errors), `layout`
(the gr.Blocks page), `server` (command line, model loading, warm-up, launch); `style.css` the look.
"""

import os

# Before gradio / huggingface_hub are imported (by the submodules): no telemetry, no Hub look-ups (the
# app runs offline).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
