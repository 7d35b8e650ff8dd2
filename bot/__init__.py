"""eczema-med-bot: knowledge base, retrieval, safety screen, handoff and channels."""
