"""The knowledge base: typed records loaded and validated from the YAML files in content/."""

from __future__ import annotations

from bot.knowledge.loader import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from bot.knowledge.schema import GENERAL, Drug, Fact

__all__ = ["GENERAL", "Drug", "Fact", "KnowledgeBase", "KnowledgeBaseError", "load_knowledge_base"]
