"""The stages over the store: classify (labels, summary, annotations, stories) in one loop."""
