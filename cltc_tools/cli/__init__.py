"""Command-line layer: one thin module per command (parse flags, call the library, write records)."""
