"""File formats of SPEC.md: documents, spaces, vectors, dictionaries, parallel text, records."""
