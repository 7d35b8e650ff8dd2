"""spaCy text tools: the pipeline, the medicine-name matcher and the pattern notation."""
