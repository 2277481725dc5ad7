"""What every stage shares and that imports nothing above it: the document model, errors,
settings, focus areas."""
