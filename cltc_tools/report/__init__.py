"""Reports: the paper's tables from records, rendered as Markdown/CSV/LaTeX/HTML/JSON, and PNG figures."""
