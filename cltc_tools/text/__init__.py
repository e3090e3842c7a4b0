"""Text: the one tokenizer (``unicode`` and ``eltec`` styles) shared by every command."""
