"""Case files (expedients): numbering, creation, editing with history, documents."""
