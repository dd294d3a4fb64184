"""KPIs and charts of the pipeline."""
