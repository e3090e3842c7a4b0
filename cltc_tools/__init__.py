"""cltc-tools: cross-lingual text classification with multilingual word embeddings."""

__version__ = "0.1.0"
