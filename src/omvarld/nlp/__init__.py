"""Language processing, pure: documents in, results out (text, encoder, classifier, head,
entities, links)."""
